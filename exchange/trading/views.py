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
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.listings.workflow import STATE_LABELS
from exchange.trading import room
from exchange.trading import services as tsvc
from exchange.trading.forms import WHEN_HINT, BidForm, OfflineForm, OnlineForm, SealedForm
from exchange.trading.models import METHOD_LABELS, BiddingSession, Deal
from exchange.pages import apply_service_error

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


@bp.route("/listings/<int:listing_id>", methods=["GET", "POST"])
@login_required
def listing(listing_id: int):
    listing = _listing(listing_id)
    paid = tsvc.paid_registrations(listing)
    online, sealed, offline = OnlineForm(prefix="on"), SealedForm(prefix="se"), OfflineForm(prefix="off")
    offline.registration_id.choices = [(r.id, f"竞买号 {r.bidder_no} · {r.buyer.display_name}") for r in paid]
    if online.increment.data is None and listing.bid_increment:
        online.increment.data = str(listing.bid_increment)
    status = 200
    if request.method == "POST":
        require(current_user, "trading.manage")
        what = request.form.get("what")
        form = {"online": online, "sealed": sealed, "offline": offline}.get(what)
        try:
            if what == "agreement":
                from exchange.pages import ActionForm
                if not ActionForm().validate_on_submit():
                    abort(400)
                deal = tsvc.confirm_agreement(current_user, listing)
                message = f"已确认协议转让成交，成交价 {deal.price:,.2f} 元，进入交易公示。"
            elif form is None or not form.validate_on_submit():
                raise tsvc.TradingError("请检查填写的内容。")
            elif what == "online":
                s = tsvc.schedule_online(current_user, listing, starts_at=_local(online.starts_at.data, "starts_at"),
                                         free_minutes=online.free_minutes.data,
                                         countdown_seconds=online.countdown_seconds.data,
                                         max_extension_minutes=online.max_extension_minutes.data,
                                         increment=online.increment.data, max_steps=online.max_steps.data)
                message = f"已安排网络竞价，{clock.to_local(s.starts_at):%Y-%m-%d %H:%M} 开始。竞买人可在“我的报名”进入竞价室。"
            elif what == "sealed":
                s = tsvc.schedule_sealed(current_user, listing, starts_at=_local(sealed.starts_at.data, "starts_at"),
                                         closes_at=_local(sealed.closes_at.data, "closes_at"),
                                         opens_at=_local(sealed.opens_at.data, "opens_at"))
                message = f"已安排一次性报价，{clock.to_local(s.hard_end_at):%Y-%m-%d %H:%M} 开标。"
            else:
                deal = tsvc.record_offline(current_user, listing, method=offline.method.data,
                                           registration_id=offline.registration_id.data, price=offline.price.data,
                                           held_on=offline.held_on.data, note=offline.note.data or "",
                                           document=offline.document.data or None)
                message = f"已录入{deal.method_label}结果，成交价 {deal.price:,.2f} 元，进入交易公示。"
        except ServiceError as exc:
            db.session.rollback()
            if form is not None:
                apply_service_error(form, exc)
            else:
                flash(exc.message, "error")
            status = 400
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("trading.listing", listing_id=listing.id))
    return render_template("trading/listing.html", listing=listing, paid=paid, session=tsvc.active_session(listing),
                           deal=tsvc.deal_for(listing), online=online, sealed=sealed, offline=offline,
                           can_manage=can(current_user, "trading.manage"), hint=WHEN_HINT,
                           way=tsvc.way_of_trading(listing) if paid else None, methods=METHOD_LABELS,
                           phase=room.phase, phase_labels=room.PHASE_LABELS, now=clock.now(),
                           state_labels=STATE_LABELS, can_relist=can(current_user, "listings.relist", listing.org)
                           ), status


def _room_session(session_id: int) -> BiddingSession:
    session = db.session.get(BiddingSession, session_id)
    if session is None:
        abort(404)
    if current_user.role == Role.PUBLIC:
        if tsvc.bidder_registration(current_user, session) is None:
            raise AccessDenied("您不是本场竞价的竞买人。")
    else:
        require(current_user, "trading.view")
    return session


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
@login_required
def session_room(session_id: int):
    """The bidding room.  Works without JavaScript (the form posts here); with it, room.js polls the
    state every second and bids through the API."""
    session = _room_session(session_id)
    form = BidForm()
    if request.method == "POST":
        if tsvc.bidder_registration(current_user, session) is None:
            raise AccessDenied("只有本场竞价已交纳保证金的竞买人可以报价。")
        if form.validate_on_submit():
            try:
                bid = tsvc.place_bid(current_user, session.id, form.amount.data, key=form.key.data,
                                     ip=request.remote_addr or "")
            except ServiceError as exc:
                db.session.rollback()
                flash(exc.message, "error")
            else:
                db.session.commit()
                flash(f"报价 {bid.amount:,.2f} 元已被接受（第 {bid.seq} 次报价）。", "success")
        else:
            flash("请填写报价金额。", "error")
        return redirect(url_for("trading.session_room", session_id=session.id))
    if session.state == "scheduled" and room.phase(session) == "ended":
        tsvc.close_session(session.id)
        db.session.commit()
        session = db.session.get(BiddingSession, session_id)
    form.key.data = uuid.uuid4().hex
    return render_template("trading/room.html", session=session, state=room.state(session, current_user), form=form,
                           methods=METHOD_LABELS)


@bp.route("/listings/<int:listing_id>/relist", methods=["POST"])
@login_required
def relist(listing_id: int):
    """重新挂牌 after 流拍 (center reviewer): a new listing to the center's review."""
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    from exchange.pages import ActionForm
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        copy = tsvc.relist(current_user, listing, floor_price=request.form.get("floor_price") or None,
                           reps_for=request.form.get("reps_for") or None, reps_total=request.form.get("reps_total") or None)
    except ServiceError as exc:
        db.session.rollback()
        message = exc.message
        if getattr(exc, "problems", None):
            message += " " + "；".join(exc.problems)
        flash(message, "error")
        return redirect(url_for("trading.listing", listing_id=listing.id))
    db.session.commit()
    flash("已重新挂牌并提交审核，审核通过后发布新的公告。", "success")
    return redirect(url_for("listings.detail", listing_id=copy.id))
