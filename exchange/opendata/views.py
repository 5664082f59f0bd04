"""Pages of open data: the admin's read tokens (``/admin/data-tokens``) and the integration guide (``/open-data``).

The open endpoints' rate limiter is exchange/web/ratelimit.py (an HTTP concern, started by ``create_app``).
"""
from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, flash, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from exchange.access import require
from exchange.catalog.models import Category
from exchange.extensions import db
from exchange.listings.workflow import PUBLIC_STATES, STATE_LABELS
from exchange.opendata import services as svc
from exchange.orgs.models import OrgUnit
from exchange.pages import ActionForm, apply_service_error, run_action

bp = Blueprint("opendata", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


class DataTokenForm(FlaskForm):
    name = StringField("对接系统名称", validators=[DataRequired("请填写对接系统名称"), Length(max=80)])
    consumer = StringField("使用单位", validators=[DataRequired("请填写使用单位"), Length(max=120)])
    contact = StringField("联系人及电话", validators=[Optional(), Length(max=120)])
    per_minute = IntegerField("每分钟请求上限", default=600,
                              validators=[InputRequired("请填写每分钟请求上限"),
                                          NumberRange(min=1, max=svc.PER_MINUTE_MAX,
                                                      message=f"每分钟请求上限应为 1–{svc.PER_MINUTE_MAX} 次")])
    days = IntegerField("有效天数", validators=[Optional(), NumberRange(min=1, max=3660, message="有效期应为 1–3660 天")])


@bp.route("/admin/data-tokens", methods=["GET", "POST"])
@login_required
def tokens():
    require(current_user, "datatokens.manage")
    form = DataTokenForm()
    secret = None
    status = 200
    if form.validate_on_submit():
        try:
            token, secret = svc.create_token(current_user, name=form.name.data, consumer=form.consumer.data,
                                             contact=form.contact.data or "", per_minute=form.per_minute.data,
                                             days=form.days.data)
        except svc.OpenDataError as exc:
            db.session.rollback()
            apply_service_error(form, exc)
            status = 400
        else:
            db.session.commit()
            flash(f"已为“{token.consumer}”生成开放数据访问令牌。请立即复制并安全地交给对方，离开本页后将无法再次查看。",
                  "warning")
            form = DataTokenForm(formdata=None)
    elif form.is_submitted():
        status = 400
    return render_template("opendata/tokens.html", form=form, tokens=svc.tokens(), secret=secret,
                           anon_limit=svc.anonymous_limit()), status


@bp.route("/admin/data-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    require(current_user, "datatokens.manage")
    return run_action(lambda: svc.revoke_token(current_user, token_id), form=ActionForm(),
                      refused=lambda exc: abort(404),  # no such token
                      done=lambda token: f"已吊销令牌“{token.name}”（{token.prefix}…），使用它的系统将立即无法访问。",
                      back=url_for("opendata.tokens"))


@bp.route("/open-data")
def guide():
    """开放数据接口对接指南 (gov-data-rules 第十一条: 对新建业务系统…编制对接文档)."""
    towns = db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "station", OrgUnit.active.is_(True))
                               .order_by(OrgUnit.sort_order, OrgUnit.code)).all()
    categories = db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.seq)).all()
    return render_template("opendata/guide.html", towns=towns, categories=categories,
                           states=[(s, STATE_LABELS[s]) for s in PUBLIC_STATES],
                           anon_limit=svc.anonymous_limit(), feed_max=svc.FEED_MAX_LIMIT,
                           per_page_max=svc.MAX_PER_PAGE,
                           storage_shared=not str(current_app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
                           .startswith("memory://"))
