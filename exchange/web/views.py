"""Public home page and each account's work page (我的工作台)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from exchange.access import can, require
from exchange.web.work import work_panels

bp = Blueprint("web", __name__)

PROCESS_STEPS = ["信息收集", "交易申请", "材料审核", "信息公告", "意向受让登记", "交纳交易保证金",
                 "组织交易", "交易公示", "成交签约", "交易资金结算", "出具交易鉴证"]

@bp.route("/")
def home():
    from exchange.catalog.services import categories
    from exchange.listings.services import latest_announcements, public_figures
    rows = [(c.name, "、".join(m.name for m in c.active_methods())) for c in categories(include_inactive=False)]
    return render_template("web/home.html", steps=PROCESS_STEPS, categories=rows,
                           latest=latest_announcements(), figures=public_figures())


@bp.route("/rules")
def rules():
    """统一交易规则 (管理办法 第五条): every rule the platform applies to a trade, with its source — the statutory
    clocks, the center's own rules (exchange/tradingrules) and each category's 公告期.  Public; only reads."""
    from exchange.catalog.services import categories
    from exchange.tradingrules import services as trading_rules
    return render_template("web/rules.html", statutory=trading_rules.current(trading_rules.statutory_rules()),
                           center=trading_rules.current(trading_rules.center_rules()),
                           announce=[(c.name, c.announce_days) for c in categories(include_inactive=False)])


@bp.route("/work")
@login_required
def work():
    require(current_user, "work.view")
    return render_template("web/work.html", panels=work_panels(current_user),
                           can_audit=can(current_user, "audit.view"))
