"""Public home page and each account's work page (我的工作台)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from exchange.access import can, require
from exchange.web.work import work_panels

bp = Blueprint("web", __name__)

PROCESS_STEPS = ["信息收集", "交易申请", "材料审核", "信息公告", "意向受让登记", "交纳交易保证金",
                 "组织交易", "交易公示", "成交签约", "交易资金结算", "出具交易鉴证"]

# 交易品种 as the city's rules list them (实施方案 二(三)); the editable data arrives with listings.
CATEGORIES = [
    ("农户承包土地经营权", "出租、入股"),
    ("林权", "出租、转让、入股、作价出资、合作"),
    ("“四荒”使用权", "转让、出租、入股、抵押"),
    ("农村集体资源性资产经营权", "出租、转让、入股、作价出资、合作"),
    ("农村集体经营性资产", "承包、租赁、出让、入股、合资、合作"),
    ("农业生产设施设备所有权", "转让、租赁、拍卖"),
    ("小型水利设施使用权", "承包、租赁、转让、抵押、合作"),
    ("农村建设项目招标、采购、招商和转让", "招标、采购、招商、转让"),
    ("农村闲置宅基地使用权和住宅", "转让、出租、合作建房"),
    ("国有农牧渔场、农业产业化企业等涉农产权", "依法流转"),
    ("其他涉农产权", "转让、出租、合作"),
]


@bp.route("/")
def home():
    from exchange.listings.services import latest_announcements, public_figures
    return render_template("web/home.html", steps=PROCESS_STEPS, categories=CATEGORIES,
                           latest=latest_announcements(), figures=public_figures())


@bp.route("/work")
@login_required
def work():
    require(current_user, "work.view")
    return render_template("web/work.html", panels=work_panels(current_user),
                           can_audit=can(current_user, "audit.view"))
