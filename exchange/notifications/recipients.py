"""Who is told, and the context a rule's texts are filled from: the people of a listing (the clerk who submitted it,
the transferor, the buyers still in play, the winner, the losers …) and each audited object loaded into a context."""
from __future__ import annotations


from sqlalchemy import select

from exchange.accounts.models import Role, User
from exchange.extensions import db
from exchange.money import format_yuan

from exchange.notifications.texts import path_for, when
from exchange.payments.center_account import pay_to_text


# --- who ------------------------------------------------------------------------------------------

def _submitter_id(listing) -> int | None:
    from exchange.listings.models import ListingEvent
    actor = db.session.scalar(select(ListingEvent.actor_id).where(
        ListingEvent.listing_id == listing.id, ListingEvent.action.in_(("submit", "relist_submit")),
        ListingEvent.actor_id.is_not(None)).order_by(ListingEvent.id.desc()).limit(1))
    return actor or listing.created_by_id


def listing_people(ctx: dict) -> list[int]:
    """Those who brought the listing: the clerk (or staff) who submitted it and the transferor's own account."""
    listing = ctx["listing"]
    return [uid for uid in (_submitter_id(listing), listing.transferor_user_id) if uid]


def live_buyers(ctx: dict) -> list[int]:
    """Buyers whose registration is still in play (applied, qualified or paid)."""
    from exchange.registrations.models import Registration
    from exchange.registrations.states import RegState
    return list(db.session.scalars(select(Registration.buyer_id).where(
        Registration.listing_id == ctx["listing"].id, Registration.state.in_(RegState.LIVE))
        .order_by(Registration.id)))


def parties_and_buyers(ctx: dict) -> list[int]:
    return listing_people(ctx) + live_buyers(ctx)


def the_buyer(ctx: dict) -> list[int]:
    return [ctx["buyer_id"]]


def losers(ctx: dict) -> list[int]:
    """Paid bidders of the listing other than the winner."""
    from exchange.registrations.models import Registration
    deal = ctx["deal"]
    return list(db.session.scalars(select(Registration.buyer_id).where(
        Registration.listing_id == deal.listing_id, Registration.state == "paid",
        Registration.id != deal.registration_id).order_by(Registration.id)))


def transferor(ctx: dict) -> list[int]:
    uid = ctx["listing"].transferor_user_id
    return [uid] if uid else []


def buyer_and_parties(ctx: dict) -> list[int]:
    return [ctx["buyer_id"]] + listing_people(ctx)


def center_reviewers() -> list[int]:
    return list(db.session.scalars(select(User.id).where(User.role == Role.CENTER_REVIEWER.value,
                                                         User.active.is_(True)).order_by(User.id)))


# --- what: loading the audited object into a context ---------------------------------------------

def _listing_fields(listing) -> dict:
    procurement = listing.is_procurement  # 招标/采购/招商 (DESIGN §3.12): its own words where a transfer's would mislead
    return {"listing": listing, "listing_id": listing.id, "no": listing.project_no or f"#{listing.id}",
            "title": listing.title, "failed_word": "流标" if procurement else "流拍",
            "deposit_word": "投标保证金" if procurement else "保证金",
            "relist_hint": "采购人可以重新发起招标采购。" if procurement else "转让方可申请重新挂牌。"}


def _procurement(listing):
    from exchange.procurement.services import project_of
    return project_of(listing) if listing.is_procurement else None


def load_listing(entry) -> dict | None:
    from exchange.listings.models import Listing, ListingEvent
    listing = db.session.get(Listing, int(entry.object_id))
    if listing is None:
        return None
    ctx = _listing_fields(listing)
    name = entry.action.partition(".")[2]
    event = db.session.scalar(select(ListingEvent).where(ListingEvent.listing_id == listing.id,
                                                         ListingEvent.action == name)
                              .order_by(ListingEvent.id.desc()).limit(1))
    ctx["reason"] = (event.note if event is not None else "") or "未填写"
    ctx["by"] = "交易站" if name.startswith("station_") else "交易中心"
    ctx["station"] = listing.station.name if listing.station else "交易站"
    ctx["announce_end"] = when(listing.announce_end_at)
    ctx["deposit_deadline"] = when(listing.deposit_deadline_at)
    project = _procurement(listing)
    ctx["publish_text"] = (
        f"投标截止暨网上开标时间为 {when(project.opens_at)}，供应商须在此前报名、通过资格审核、交纳投标保证金并提交密封投标。"
        if project is not None else
        f"公告期至 {ctx['announce_end']}，意向受让方须在 {ctx['deposit_deadline']} 前交纳保证金。")
    return ctx


def load_registration(entry) -> dict | None:
    from exchange.registrations.models import Registration
    reg = db.session.get(Registration, int(entry.object_id))
    if reg is None:
        return None
    ctx = _listing_fields(reg.listing)
    ctx.update(reg=reg, buyer_id=reg.buyer_id, payment_ref=reg.payment_ref or "",
               deposit=format_yuan(reg.deposit_amount) if reg.deposit_amount is not None else "",
               deadline=when(reg.deposit_deadline_at), paid_at=when(reg.paid_at), bidder_no=reg.bidder_no or "",
               note=reg.review_note or "未填写",
               pay_to=pay_to_text(reg.payment_ref, reg.listing.org) if reg.payment_ref else "")
    project = _procurement(reg.listing)
    ctx["after_paid"] = (f"现在可以提交密封投标，投标截止时间为 {when(project.opens_at)}；开标前任何人都无法看到您的报价。"
                         if project is not None else
                         f"您的竞买号为 {reg.bidder_no or ''}，请妥善保管，不要告诉他人。")
    return ctx


def load_deal(entry) -> dict | None:
    from exchange.trading.models import Deal
    deal = db.session.get(Deal, int(entry.object_id))
    if deal is None or deal.method == "procurement":  # a procurement's result is told by its evaluation and award
        return None
    ctx = _listing_fields(deal.listing)
    ctx.update(deal=deal, buyer_id=deal.buyer_id, price=format_yuan(deal.price), method=deal.method_label,
               publicity_end=when(deal.publicity_end_at))
    return ctx


def load_contract(entry) -> dict | None:
    from exchange.contracts.models import Contract
    contract = db.session.get(Contract, int(entry.object_id))
    if contract is None:
        return None
    ctx = _listing_fields(contract.listing)
    ctx.update(contract=contract, buyer_id=contract.deal.buyer_id, due=when(contract.due_at),
               contract_no=contract.contract_no or "")
    procurement = contract.listing.is_procurement
    ctx["contract_start"] = "中标通知书已发出" if procurement else "交易公示期满"
    ctx["settle_hint"] = ("合同价款由双方按合同直接收付；投标保证金将在 5 日内连同银行同期存款利息退还，交易服务费请按结算通知交纳"
                          if procurement else "进入交易资金结算，请于 10 日内交清价款（第十七条）")
    return ctx


def load_settlement(entry) -> dict | None:
    from exchange.settlement.models import Settlement
    s = db.session.get(Settlement, int(entry.object_id))
    if s is None:
        return None
    return _settlement_fields(s)


def _settlement_fields(s) -> dict:
    ctx = _listing_fields(s.listing)
    to_pay = s.amount_to_pay
    ctx.update(settlement=s, buyer_id=s.deal.buyer_id, due=when(s.due_at), cert_due=when(s.certificate_due_at),
               pay_text=(f"请于 {when(s.due_at)} 前交付 {format_yuan(to_pay)} 元（缴款码 {s.payment_ref}），"
                         "以到账时间为准（第十七条）。" + pay_to_text(s.payment_ref, s.listing.org)
                         if to_pay > 0 else ("本项目无需交纳服务费。" if s.listing.is_procurement
                                             else "您交纳的保证金已足额抵作价款，无需另行付款。")))
    return ctx


def load_settled_listing(entry) -> dict | None:
    """``listing.settled``: the listing's settlement (for the 鉴证 deadline)."""
    ctx = load_listing(entry)
    if ctx is None:
        return None
    from exchange.settlement.models import Settlement
    s = db.session.scalar(select(Settlement).where(Settlement.listing_id == ctx["listing_id"],
                                                   Settlement.state == "settled").order_by(Settlement.id.desc()))
    if s is None:
        return None
    fields = _settlement_fields(s)
    fields["reason"] = ctx["reason"]
    return fields


def load_certificate(entry) -> dict | None:
    from exchange.certificates.models import Certificate
    cert = db.session.get(Certificate, int(entry.object_id))
    if cert is None:
        return None
    from exchange.trading.models import Deal
    deal = db.session.get(Deal, cert.deal_id)
    ctx = _listing_fields(deal.listing)
    ctx.update(cert=cert, cert_no=cert.cert_no, buyer_id=deal.buyer_id)
    return ctx


def load_refund(entry) -> dict | None:
    """A deposit refund to a buyer (returns of unmatched money have no account to tell)."""
    from exchange.ledger.models import Refund
    from exchange.registrations.models import Registration
    refund = db.session.get(Refund, int(entry.object_id))
    if refund is None or refund.registration_id is None:
        return None
    reg = db.session.get(Registration, refund.registration_id)
    ctx = _listing_fields(reg.listing)
    ctx.update(reg=reg, buyer_id=reg.buyer_id, amount=format_yuan(refund.amount), bank_ref=refund.bank_ref or "",
               interest_text=(f"另付银行同期存款利息 {format_yuan(refund.interest)} 元，" if refund.interest
                              else "不计利息，"))
    return ctx


# --- procurement (招标/采购/招商) ---------------------------------------------------------------------------------

def bidders(ctx: dict) -> list[int]:
    """The suppliers whose bids were opened."""
    from exchange.procurement.services import bids_of
    return [b.supplier_id for b in bids_of(ctx["listing"], states=("opened",))]


def winner(ctx: dict) -> list[int]:
    return [ctx["buyer_id"]] if ctx.get("buyer_id") else []


def reviewers(ctx: dict) -> list[int]:
    return center_reviewers()


def load_procurement(entry) -> dict | None:
    """A procurement project's event (its listing is the audited object): the opening, the candidates, the winner."""
    from exchange.listings.models import Listing
    from exchange.procurement.services import candidates, project_of
    from exchange.trading.services import deal_for
    listing = db.session.get(Listing, int(entry.object_id))
    project = project_of(listing) if listing is not None else None
    if project is None:
        return None
    ctx = _listing_fields(listing)
    ranked = candidates(project)
    ctx.update(project=project, opened=when(project.opened_at),
               candidates_text="；".join(f"第{c['rank']}名 {c['supplier']}（{format_yuan(c['price'])} 元）" for c in ranked)
               or "无")
    deal = deal_for(listing)
    if deal is not None:
        ctx.update(deal=deal, buyer_id=deal.buyer_id, price=format_yuan(deal.price),
                   publicity_end=when(deal.publicity_end_at), contract_due=when(deal.contract_due_at),
                   winner_name=deal.registration.buyer.display_name)
    import json
    after = json.loads(entry.after) if entry.after else {}
    if isinstance(after, dict) and after.get("rank"):
        ctx["rank"] = str(after["rank"])
        chosen = next((c for c in ranked if c["registration"] == after.get("registration")), None)
        ctx["supplier"] = chosen["supplier"] if chosen else ""
        ctx["reason"] = str(after.get("reason") or "")
    return ctx


def opening_link(ctx: dict, user_id: int) -> str:
    """The public record of the opening, where each supplier checks its receipt."""
    return path_for("procurement.opening", project_no=ctx["listing"].project_no)


def load_default(entry) -> dict | None:
    """``listing.default``: the buyer is the listing's latest deal's; who defaulted (第二十二条) and what happens to
    the buyer's deposit come from the transition's data (party: buyer / seller / both)."""
    import json
    ctx = load_listing(entry)
    if ctx is None:
        return None
    from exchange.trading.services import deal_for
    deal = deal_for(ctx["listing"])
    if deal is None:
        return None
    ctx["buyer_id"] = deal.buyer_id
    try:
        party = (json.loads(entry.after or "{}").get("data") or {}).get("party", "buyer")
    except (ValueError, AttributeError):
        party = "buyer"
    ctx["who"] = {"seller": "转让方", "both": "转让方和受让方"}.get(party, "受让方（买受人）")
    ctx["deposit_text"] = (
        "受让方交纳的保证金将在 5 个工作日内全额退还，不承担违约责任；交易中心将在转让方重新申请后重新挂牌，或终结交易"
        if party == "seller" else
        "受让方交纳的保证金按公告约定不予退还" + ("；交易中心将重新挂牌或终结交易" if party == "both"
                                                 else "；交易中心将向次高报价人发出要约或重新挂牌"))
    return ctx


def load_offer(entry) -> dict | None:
    """``default.offer``: the deal offered to a runner-up at their own last price (第二十二条)."""
    from exchange.incidents.models import RunnerUpOffer
    from exchange.registrations.models import Registration
    offer = db.session.get(RunnerUpOffer, int(entry.object_id))
    if offer is None:
        return None
    reg = db.session.get(Registration, offer.registration_id)
    ctx = _listing_fields(reg.listing)
    ctx.update(offer=offer, buyer_id=reg.buyer_id, price=format_yuan(offer.price), due=when(offer.due_at))
    return ctx


def load_recount(entry) -> dict | None:
    """A deadline moved by a change of the holiday calendar (``deadline.recomputed``): the listing, what moved."""
    import json
    ctx = load_listing(entry)
    if ctx is None:
        return None
    after = json.loads(entry.after or "{}")
    ctx.update(label=after.get("label", "期限"), old=after.get("old", ""), new=after.get("new", ""),
               buyer_id=after.get("buyer_id"), model=after.get("model", ""))
    return ctx


def recount_people(ctx: dict) -> list[int]:
    """A buyer's own clock (review, deposit, refund, offer) to that buyer; a listing's or deal's clock to the
    transferor's side and the buyer concerned (every buyer in play for the announcement's clocks)."""
    if ctx["model"] in ("registration", "refund", "offer"):
        return [ctx["buyer_id"]] if ctx["buyer_id"] else []
    if ctx["model"] == "listing":
        return parties_and_buyers(ctx)
    return ([ctx["buyer_id"]] if ctx["buyer_id"] else []) + listing_people(ctx)


def offer_link(ctx: dict, user_id: int) -> str:
    return path_for("defaults.offer_page", offer_id=ctx["offer"].id)


def load_dispute(entry) -> dict | None:
    """A mediation application accepted or declined (第二十七条): told to the party that applied online."""
    from exchange.incidents.models import Dispute
    d = db.session.get(Dispute, int(entry.object_id))
    if d is None or d.applicant_user_id is None:
        return None
    ctx = _listing_fields(d.listing)
    ctx.update(dispute=d, buyer_id=d.applicant_user_id, reason=d.outcome or "未填写")
    return ctx


def dispute_link(ctx: dict, user_id: int) -> str:
    return path_for("mediation.detail", dispute_id=ctx["dispute"].id)
