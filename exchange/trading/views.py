"""Trading pages: the trading officer's work (schedule sessions, confirm agreements, record offline results)
and the bidding room for bidders (staff and the supervisor watch it read-only)."""
from __future__ import annotations

import uuid
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.accounts.models import Role
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.listings.workflow import STATE_LABELS
from exchange.trading import room
from exchange.trading import services as tsvc
from exchange.trading.forms import WHEN_HINT, BidForm, OfflineForm, OnlineForm, SealedForm
from exchange.trading.models import METHOD_LABELS, BiddingSession, Deal
from exchange.pages import ActionForm, apply_service_error, run_action

bp = Blueprint("trading", __name__, url_prefix="/trading")


def _local(text: str, field: str) -> datetime:
    try:
        return datetime.strptime((text or "").strip(), "%Y-%m-%d %H:%M").replace(tzinfo=clock.LOCAL_TZ)
    except ValueError:
        raise tsvc.TradingError(f"时间格式应为 {WHEN_HINT[3:]}。", field=field) from None


@bp.route("/")
@login_required
def index():
    require(current_user, "trading.view")
    listings = db.session.scalars(select(Listing).where(Listing.state == "trading").order_by(Listing.state_since)).all()
    sessions = db.session.scalars(select(BiddingSession).where(BiddingSession.state == "scheduled")
                                  .order_by(BiddingSession.starts_at)).all()
    deals = db.session.scalars(select(Deal).where(Deal.state.in_(("publicity", "suspended")))
                               .order_by(Deal.publicity_end_at)).all()
    rows = [(listing, tsvc.paid_registrations(listing), tsvc.active_session(listing)) for listing in listings]
    return render_template("trading/index.html", rows=rows, sessions=sessions, deals=deals, now=clock.now(),
                           methods=METHOD_LABELS, phase=room.phase, phase_labels=room.PHASE_LABELS)


def _listing(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    require(current_user, "trading.view")
    return listing


def _forms(listing: Listing, paid) -> dict:
    """The trading officer's three forms of the listing's page (prefixed: they share the page)."""
    online, sealed, offline = OnlineForm(prefix="on"), SealedForm(prefix="se"), OfflineForm(prefix="off")
    offline.registration_id.choices = [(r.id, f"竞买号 {r.bidder_no} · {r.buyer.display_name}") for r in paid]
    if online.increment.data is None and listing.bid_increment:
        online.increment.data = str(listing.bid_increment)
    return {"online": online, "sealed": sealed, "offline": offline}


def _listing_page(listing: Listing, paid, forms: dict, status: int = 200):
    return render_template("trading/listing.html", listing=listing, paid=paid, bidding=tsvc.active_session(listing),
                           deal=tsvc.deal_for(listing), **forms,
                           can_manage=can(current_user, "trading.manage"), hint=WHEN_HINT,
                           way=tsvc.way_of_trading(listing) if paid else None, methods=METHOD_LABELS,
                           phase=room.phase, phase_labels=room.PHASE_LABELS, now=clock.now(),
                           state_labels=STATE_LABELS, can_relist=can(current_user, "listings.relist", listing.org)
                           ), status


@bp.route("/listings/<int:listing_id>")
@login_required
def listing(listing_id: int):
    listing = _listing(listing_id)
    if listing.is_procurement:  # sealed bids opened online: its 评标 page (exchange.procurement, by endpoint)
        return redirect(url_for("procurement.evaluation", listing_id=listing.id))
    paid = tsvc.paid_registrations(listing)
    return _listing_page(listing, paid, _forms(listing, paid))


def _arrange(listing_id: int, name: str, action, done):
    """One of the trading officer's actions on the listing's page (``name``: its form): the form checked, the
    service run; a refusal shown in that form on the page again (400)."""
    listing = _listing(listing_id)
    require(current_user, "trading.manage")  # who asks first, then what was sent
    paid = tsvc.paid_registrations(listing)
    forms = _forms(listing, paid)
    form = forms[name]

    def refused(exc):
        apply_service_error(form, exc)
        return _listing_page(db.session.get(Listing, listing.id), paid, forms, 400)

    if not form.validate_on_submit():
        return refused(tsvc.TradingError("请检查填写的内容。"))
    return run_action(lambda: action(listing, form), refused=refused, done=done,
                      back=url_for("trading.listing", listing_id=listing.id))


@bp.route("/listings/<int:listing_id>/online", methods=["POST"])
@login_required
def schedule_online(listing_id: int):
    """安排网络竞价."""
    return _arrange(
        listing_id, "online",
        lambda listing, f: tsvc.schedule_online(current_user, listing, starts_at=_local(f.starts_at.data, "starts_at"),
                                                free_minutes=f.free_minutes.data,
                                                countdown_seconds=f.countdown_seconds.data,
                                                max_extension_minutes=f.max_extension_minutes.data,
                                                increment=f.increment.data, max_steps=f.max_steps.data),
        lambda s: f"已安排网络竞价，{clock.to_local(s.starts_at):%Y-%m-%d %H:%M} 开始。竞买人可在“我的报名”进入竞价室。")


@bp.route("/listings/<int:listing_id>/sealed", methods=["POST"])
@login_required
def schedule_sealed(listing_id: int):
    """安排一次性报价."""
    return _arrange(
        listing_id, "sealed",
        lambda listing, f: tsvc.schedule_sealed(current_user, listing, starts_at=_local(f.starts_at.data, "starts_at"),
                                                closes_at=_local(f.closes_at.data, "closes_at"),
                                                opens_at=_local(f.opens_at.data, "opens_at")),
        lambda s: f"已安排一次性报价，{clock.to_local(s.hard_end_at):%Y-%m-%d %H:%M} 开标。")


@bp.route("/listings/<int:listing_id>/offline", methods=["POST"])
@login_required
def record_offline(listing_id: int):
    """录入拍卖、招投标结果."""
    return _arrange(
        listing_id, "offline",
        lambda listing, f: tsvc.record_offline(current_user, listing, method=f.method.data,
                                               registration_id=f.registration_id.data, price=f.price.data,
                                               held_on=f.held_on.data, note=f.note.data or "",
                                               document=f.document.data or None),
        lambda deal: f"已录入{deal.method_label}结果，成交价 {deal.price:,.2f} 元，进入交易公示。")


@bp.route("/listings/<int:listing_id>/agreement", methods=["POST"])
@login_required
def confirm_agreement(listing_id: int):
    """确认协议转让成交 (第十五条: one qualified, paid applicant)."""
    listing = _listing(listing_id)
    require(current_user, "trading.manage")
    paid = tsvc.paid_registrations(listing)

    def refused(exc):
        flash(exc.message, "error")
        return _listing_page(db.session.get(Listing, listing.id), paid, _forms(listing, paid), 400)

    return run_action(lambda: tsvc.confirm_agreement(current_user, listing), form=ActionForm(), refused=refused,
                      done=lambda deal: f"已确认协议转让成交，成交价 {deal.price:,.2f} 元，进入交易公示。",
                      back=url_for("trading.listing", listing_id=listing.id))


def _room_session(session_id: int) -> BiddingSession:
    bidding = db.session.get(BiddingSession, session_id)
    if bidding is None:
        abort(404)
    if current_user.role == Role.PUBLIC:
        if tsvc.bidder_registration(current_user, bidding) is None:
            raise AccessDenied("您不是本场竞价的竞买人。")
    else:
        require(current_user, "trading.view")
    return bidding


@bp.route("/sessions/<int:session_id>")
@login_required
def session_room(session_id: int):
    """The bidding room.  Works without JavaScript (the form posts to :func:`bid`); with it, room.js polls the
    state every second and bids through the API.  Only read: a session whose time is up shows 已结束, and its
    result once the deadline sweeper (or the room's state poll) has concluded it."""
    bidding = _room_session(session_id)
    form = BidForm()
    form.key.data = uuid.uuid4().hex
    return render_template("trading/room.html", bidding=bidding, state=room.state(bidding, current_user), form=form,
                           methods=METHOD_LABELS)


@bp.route("/sessions/<int:session_id>", methods=["POST"])
@login_required
def bid(session_id: int):
    """A bid from the room's form (without JavaScript)."""
    bidding = _room_session(session_id)
    if tsvc.bidder_registration(current_user, bidding) is None:
        raise AccessDenied("只有本场竞价已交纳保证金的竞买人可以报价。")
    form = BidForm()
    return run_action(lambda: tsvc.place_bid(current_user, bidding.id, form.amount.data, key=form.key.data,
                                             ip=request.remote_addr or ""),
                      form=form, invalid="请填写报价金额。",
                      done=lambda b: f"报价 {b.amount:,.2f} 元已被接受（第 {b.seq} 次报价）。",
                      back=url_for("trading.session_room", session_id=bidding.id))


@bp.route("/listings/<int:listing_id>/relist", methods=["POST"])
@login_required
def relist(listing_id: int):
    """重新挂牌 after 流拍 (center reviewer): a new listing to the center's review."""
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    require(current_user, "listings.relist", listing.org)  # who asks first, then what was sent
    back = url_for("trading.listing", listing_id=listing.id)

    def refused(exc):  # with the rule's problems (the two-thirds resolution …)
        flash(exc.message + (" " + "；".join(exc.problems) if getattr(exc, "problems", None) else ""), "error")
        return redirect(back)

    return run_action(lambda: tsvc.relist(current_user, listing, floor_price=request.form.get("floor_price") or None,
                                          reps_for=request.form.get("reps_for") or None,
                                          reps_total=request.form.get("reps_total") or None),
                      form=ActionForm(), refused=refused, back=back,
                      done="已重新挂牌并提交审核，审核通过后发布新的公告。",
                      then=lambda copy: url_for("listings.detail", listing_id=copy.id))
