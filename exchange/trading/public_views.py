"""Public 交易公示 pages, objections, and the deal documents (成交确认书, 竞价记录).

* ``/publicity`` and ``/deals/<deal_no>``: open to everyone; natural persons' names masked, no ID numbers,
  phones or accounts; bidders appear only as 竞买号.  While the deal is in publicity anyone (signed in or
  not) may file an objection (异议); its content is never shown publicly.
* ``/deals/<deal_no>/objections``: the center's handling (中心审核员 decides; staff who may view trading
  and the supervisor read).
* The PDFs are for the parties and the center: staff who may view trading, the winning buyer and the
  listing's transferor account; the 竞价记录 also for every bidder of its session (竞买号 only).  Pages link a
  document only for those who may open it; a visitor who follows a link from elsewhere is told why to sign in.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from exchange import clock
from exchange.access import AccessDenied, can
from exchange.accounts.models import Role
from exchange.extensions import db
from exchange.inputs import arg_page
from exchange.trading import documents as docs
from exchange.trading import services as tsvc
from exchange.trading.models import OBJECTION_STATES, Deal, Objection
from exchange.pages import apply_service_error, run_action

bp = Blueprint("publicity", __name__)


@bp.app_template_global("deal_of")
def deal_of(listing):
    """A listing's deal, for pages of earlier stages (the public project page shows its 成交 and 公示)."""
    from exchange.trading.services import deal_for
    return deal_for(listing)


@bp.app_template_global("session_of")
def session_of(listing):
    """A listing's bidding session still to come or running, for a bidder's registration page."""
    return tsvc.active_session(listing)


@bp.app_template_global("public_session")
def public_session(listing):
    """What anyone may see of a listing's bidding session on its public project page: its phase, when it starts
    and ends and, for 网络竞价, the current highest price and how many bids were accepted — never who bid, nor
    their 竞买号 (第十五条: bidders are anonymous until the end)."""
    from exchange.trading import room
    bidding = tsvc.active_session(listing)
    if bidding is None:
        return None
    ph = room.phase(bidding, clock.now())
    online = bidding.method == "online_bidding"
    return {"method": bidding.method, "phase": ph, "phase_label": room.PHASE_LABELS[ph],
            "starts_at": bidding.starts_at, "free_end_at": bidding.free_end_at, "ends_at": bidding.ends_at,
            "hard_end_at": bidding.hard_end_at, "countdown_seconds": bidding.countdown_seconds,
            "start_price": bidding.start_price, "increment": bidding.increment,
            "current_price": bidding.current_price if online else None, "bids": bidding.seq if online else None}


from exchange.trading.models import LIVE_DEAL_STATES as PUBLIC_DEAL_STATES  # noqa: E402  (one list)
RECENT_CONFIRMED = 20


class ObjectionForm(FlaskForm):
    name = StringField("异议人姓名或单位名称", validators=[DataRequired("请填写异议人姓名或单位名称"), Length(max=60)])
    contact = StringField("联系电话或地址", validators=[DataRequired("请填写联系电话或地址"), Length(max=60)])
    content = TextAreaField("异议的事实和理由", validators=[DataRequired("请写明异议的事实和理由"), Length(max=2000)],
                            render_kw={"rows": 6})


class DecisionForm(FlaskForm):
    upheld = RadioField("处理结论", choices=[("1", "异议成立（中止交易）"), ("0", "异议不成立")],
                        validators=[InputRequired("请选择处理结论")])
    decision = TextAreaField("处理意见", validators=[DataRequired("请写明处理意见"), Length(max=2000)],
                             render_kw={"rows": 3})


def _deal(deal_no: str) -> Deal:
    deal = db.session.scalar(select(Deal).where(Deal.deal_no == deal_no[:30]))
    if deal is None:
        abort(404)
    return deal


def _public_deal(deal_no: str) -> Deal:
    deal = _deal(deal_no)
    if deal.state not in PUBLIC_DEAL_STATES:
        abort(404)
    return deal


# --- public pages ----------------------------------------------------------------------------------

@bp.route("/publicity")
def index():
    current = db.session.scalars(select(Deal).where(Deal.state == "publicity")
                                 .order_by(Deal.concluded_at.desc(), Deal.id.desc()).limit(200)).all()
    confirmed = db.session.scalars(select(Deal).where(Deal.state == "confirmed")
                                   .order_by(Deal.publicity_end_at.desc(), Deal.id.desc())
                                   .limit(RECENT_CONFIRMED)).all()
    return render_template("trading/publicity_index.html", current=current, confirmed=confirmed, docs=docs,
                           now=clock.now())


def _render_deal(deal: Deal, form: ObjectionForm, status: int = 200):
    rows = docs.bid_rows(deal)
    return render_template("trading/publicity_deal.html", deal=deal, listing=deal.listing, rows=rows, form=form,
                           docs=docs, open_for_objections=docs.in_publicity(deal),
                           may_documents=_may_see_documents(current_user, deal),
                           may_record=deal.session is not None and _may_see_record(current_user, deal),
                           may_handle=_may_view_objections(current_user, deal)), status


@bp.route("/deals/<deal_no>")
def deal(deal_no: str):
    return _render_deal(_public_deal(deal_no), ObjectionForm())


@bp.route("/deals/<deal_no>/objection", methods=["POST"])
def file_objection(deal_no: str):
    deal = _public_deal(deal_no)
    form = ObjectionForm()

    def refused(exc):
        apply_service_error(form, exc)
        return _render_deal(_public_deal(deal_no), form, 400)

    if not form.validate_on_submit():
        return _render_deal(deal, form, 400)
    return run_action(lambda: tsvc.file_objection(current_user, deal, name=form.name.data, contact=form.contact.data,
                                                  content=form.content.data, ip=request.remote_addr or ""),
                      refused=refused, back=url_for("publicity.deal", deal_no=deal.deal_no, _anchor="main"),
                      done="您的异议已提交。交易中心将依规核实处理，并通过您留下的联系方式告知处理结果；"
                           "处理完毕前，本项目不进入签约。")


# --- the center's handling of objections -------------------------------------------------------------

def _may_view_objections(user, deal: Deal) -> bool:
    return can(user, "objections.decide", deal.listing.org) or can(user, "trading.view")


@bp.route("/publicity/objections")
@login_required
def objection_queue():
    """Objections across deals: the pending ones first (the 工作台 queue links here)."""
    if not can(current_user, "trading.view"):
        raise AccessDenied("您没有权限查看异议。")
    state = request.args.get("state") if request.args.get("state") in OBJECTION_STATES else None
    stmt = select(Objection).join(Deal, Deal.id == Objection.deal_id)
    if state:
        stmt = stmt.where(Objection.state == state)
    stmt = stmt.order_by((Objection.state == "pending").desc(), Objection.filed_at.desc(), Objection.id.desc())
    page = db.paginate(stmt, page=arg_page(), per_page=30, error_out=False)
    return render_template("trading/objection_queue.html", page=page, state=state, states=OBJECTION_STATES)


@bp.route("/deals/<deal_no>/objections")
@login_required
def objections(deal_no: str):
    deal = _deal(deal_no)
    if not _may_view_objections(current_user, deal):
        raise AccessDenied("您没有权限查看异议。")
    items = db.session.scalars(select(Objection).where(Objection.deal_id == deal.id)
                               .order_by(Objection.filed_at, Objection.id)).all()
    return render_template("trading/objection_list.html", deal=deal, listing=deal.listing, items=items,
                           may_decide=can(current_user, "objections.decide", deal.listing.org),
                           form=DecisionForm(), docs=docs)


@bp.route("/deals/<deal_no>/objections/<int:objection_id>/decision", methods=["POST"])
@login_required
def decide(deal_no: str, objection_id: int):
    deal = _deal(deal_no)
    obj = db.session.get(Objection, objection_id)
    if obj is None or obj.deal_id != deal.id:
        abort(404)
    if not can(current_user, "objections.decide", deal.listing.org):
        raise AccessDenied("您没有权限处理异议。")
    form = DecisionForm()
    back = url_for("publicity.objections", deal_no=deal.deal_no)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e if isinstance(e, str) else "提交未成功，请重试。", "error")
        return redirect(back)
    return run_action(lambda: tsvc.decide_objection(current_user, obj, upheld=form.upheld.data == "1",
                                                    decision=form.decision.data),
                      stale="数据已被他人修改，请刷新后重试。", back=back,
                      done=lambda _: "已处理：异议成立，交易已中止。" if obj.state == "upheld" else "已处理：异议不成立。")


# --- documents -------------------------------------------------------------------------------------

def _may_see_documents(user, deal: Deal) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if can(user, "trading.view"):
        return True
    if user.role != Role.PUBLIC or not user.is_active:
        return False
    return user.id == deal.buyer_id or (deal.listing.transferor_user_id is not None
                                        and user.id == deal.listing.transferor_user_id)


def _may_see_record(user, deal: Deal) -> bool:
    """竞价记录: also every bidder of the session (they watched each of its bids in the room and may check the record
    of their own session); it shows them 竞买号 only, names being for staff.  The public reads the same bids (竞买号,
    amount, time) on the deal's page, not the document."""
    if _may_see_documents(user, deal):
        return True
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return tsvc.listing_bidder_registration(user, deal.listing_id) is not None


def _document_deal(deal_no: str, may=_may_see_documents,
                   who: str = "成交文书仅限交易双方和交易中心工作人员查看") -> Deal:
    deal = _deal(deal_no)
    if not current_user.is_authenticated:  # a link followed from outside: say why a sign-in page comes
        flash(f"{who}，请先登录；不是交易当事人的，可在成交公示页查看公开的成交结果和报价记录。", "info")
        abort(redirect(url_for("accounts.login", next=request.path)))
    if not may(current_user, deal):
        raise AccessDenied(f"{who}。")
    return deal


def _pdf(data: bytes, filename: str) -> Response:
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{filename}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/deals/<deal_no>/confirmation.pdf")
def confirmation_pdf(deal_no: str):
    deal = _document_deal(deal_no)
    return _pdf(docs.confirmation_pdf(deal), f"{deal.deal_no}-confirmation.pdf")


@bp.route("/deals/<deal_no>/bidding-record.pdf")
def bidding_record_pdf(deal_no: str):
    deal = _document_deal(deal_no, _may_see_record, "竞价记录仅限交易双方、本场竞买人和交易中心工作人员查看")
    if deal.session is None:
        abort(404)
    return _pdf(docs.bidding_record_pdf(deal, with_names=can(current_user, "trading.view")),
                f"{deal.deal_no}-bidding-record.pdf")
