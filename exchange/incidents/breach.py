"""违约 (第二十二条) and the offer to the runner-up (DESIGN §3.5, §3.11).

**认定违约 — and who defaulted.**  The center's reviewer (``defaults.decide``) declares a default, with a reason the
parties see, only when a clock has really run out, and the defaulting party is the one the facts name (never
chosen, never assumed to be the buyer):

* stage ``contract`` — the contract's ``due_at`` (第十六条, 5 工作日 from the end of 交易公示) passed and the contract
  is not signed by both: the party that has not signed is in default — the transferor, the buyer, or both
  (a contract both signed is in force, late or not, and nobody is in default);
* stage ``settlement`` — the settlement's ``due_at`` (第十七条, 10 天 from the contract's effect) passed and the
  balance has not arrived (settlement ``awaiting``): the buyer is in default.

不可抗力 (``force_majeure``): a party's claim with evidence, pending, holds the declaration; accepted by the center,
that party bears no liability and its clock is extended (or the center terminates, 第二十四条).

The deal becomes ``defaulted``, its contract ``void``, an awaiting settlement ``void``; the listing goes to
``defaulted`` (违约处理中) through the workflow's ``default`` transition; a :class:`DefaultCase` records it with
the party.  **The buyer in default**: its deposit is forfeited as the announcement stated (below), then the runner-up
or a relisting.  **The transferor in default** (alone): the buyer's deposit is returned in full (a refund of reason
``seller_default``), nothing is forfeited, no runner-up is offered a deal the transferor will not sign; the default
is recorded against the transferor (by its ID number / 统一社会信用代码, shown to the center on its next listing:
:func:`transferor_record`), and the listing is relisted on the transferor's new application or terminated.  Damages
(造成对方经济损失) are not decided here: the case links to a dispute record (第二十七条, :func:`open_damages_dispute`).

The deal becomes ``defaulted``, its contract ``void``, an awaiting settlement ``void``; the listing goes to
``defaulted`` (违约处理中) through the workflow's ``default`` transition; a :class:`DefaultCase` records it.

**没收保证金 — where the money is, and where it goes.**  The winner's deposit is forfeited as the announcement
stated.  It is found where it is: still on the buyer's deposit account (contract stage, or a settlement never
opened) → ``ledger.forfeit_deposit`` (DEP → FORFEIT); already converted into the price when the settlement was
opened → the converted amount is moved from the listing's price account to the same forfeit account
(PRICE → FORFEIT).  Nothing else is touched: a deposit above the price was already put on a suspense account
with its return opened by the settlement; a balance that arrives after the settlement is void cannot be
booked (``settlement.payable_problem``) and the payment paths hold it on suspense and open its return — money
that arrived is never lost.  A deposit whose refund is already under way (the transfer recorded by finance) is
not forfeited: that money is going back.

The forfeited money stays on the listing's ``FORFEIT-L<id>`` account (kind ``forfeit``): a liability of the
指定账户, visible on the listing's ledger page and in ``ledger.check()`` (money in = money out + held).  The
fee table (统一收费标准) has no line for forfeitures, so it is *not* booked as the center's income;
第二十二条 makes the defaulting party answer for the loss it caused the other party, so the forfeit account is
held for the transferor's compensation.  Paying it out needs a ledger movement FORFEIT → BANK that does not
exist yet (a decision outside this flow; see the report).

**次高报价人.**  :func:`runner_up_candidates` lists the other qualified bidders of the defaulted deal's session
(网络竞价 / 一次性报价) with their own last (highest) accepted bid, highest first (at equal price the priority
holder who matched, then the earliest bid), at or above the 底价, leaving out everyone who defaulted on this
listing or already had an offer.  Agreement, auction and tender deals have no bids here: relisting only.
The center offers in that order (:func:`offer_to_runner_up`, at the bidder's own price, to answer within 1–10
工作日, default 3; one pending offer at a time).  The bidder answers with their password (:func:`answer_offer`):

* accepting makes a new :class:`Deal` (number: the listing's first deal number + ``-n``; the original method
  and session; 交易公示 and the 签约 clock computed as the trading service does) and fires ``runner_up_accept``
  (→ 交易公示; its end opens the contract as for any deal).  The bidder's deposit: a refund opened at the
  conclusion and not yet paid (``pending``) is withdrawn, so the deposit stays and converts at settlement; a
  refund already paid or with its transfer recorded leaves nothing to convert and the settlement asks for the
  full price;
* declining, or letting the deadline pass (the sweeper's ``offers.expire``), puts the case back to ``open``:
  the center offers to the next bidder or relists.

**重新挂牌.**  :func:`relist_after_default`: ``default_relist`` (→ 流拍), any deposit still held put up for refund,
then ``trading.services.relist`` (a new listing in the center's review).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from exchange import clock, stages
from exchange.access import AccessDenied, require
from exchange.accounts.models import Role
from exchange.audit.services import record
from exchange.db import lock_row
from exchange.errors import ServiceError
from exchange.incidents.models import DEFAULT_STAGES, DefaultCase, RunnerUpOffer
from exchange.incidents.states import DEFAULT_CASE, RUNNER_UP_OFFER
from exchange.extensions import db
from exchange.ledger import refunds
from exchange.ledger import services as ledger
from exchange.ledger.models import LedgerAccount
from exchange.listings.workflow import fire
from exchange.money import format_yuan
from exchange.registrations.models import Registration
from exchange.trading.models import Bid, Deal
from exchange.workdays.services import due_after_days, due_after_working_days

OFFER_DAYS_DEFAULT = 3
OFFER_DAYS_MIN, OFFER_DAYS_MAX = 1, 10
REASON_MIN, REASON_MAX = 4, 2000


class DefaultError(ServiceError):
    """A default step that cannot be taken as asked."""


# --- reads ----------------------------------------------------------------------------------------

def cases_of(listing) -> list[DefaultCase]:
    return list(db.session.scalars(select(DefaultCase).where(DefaultCase.listing_id == listing.id)
                                   .order_by(DefaultCase.id)))


def current_case(listing) -> DefaultCase | None:
    """The listing's latest default case (a runner-up who defaults in turn makes a second one)."""
    return db.session.scalar(select(DefaultCase).where(DefaultCase.listing_id == listing.id)
                             .order_by(DefaultCase.id.desc()).limit(1))


def offers_of(case: DefaultCase) -> list[RunnerUpOffer]:
    return list(db.session.scalars(select(RunnerUpOffer).where(RunnerUpOffer.case_id == case.id)
                                   .order_by(RunnerUpOffer.id)))


def pending_offer(case: DefaultCase) -> RunnerUpOffer | None:
    return db.session.scalar(select(RunnerUpOffer).where(RunnerUpOffer.case_id == case.id,
                                                         RunnerUpOffer.state == "pending"))


def offers_for_buyer(user) -> list[RunnerUpOffer]:
    """The offers made to this public account, newest first (its work and offer pages)."""
    return list(db.session.scalars(select(RunnerUpOffer).join(Registration,
                                                              Registration.id == RunnerUpOffer.registration_id)
                                   .where(Registration.buyer_id == user.id).order_by(RunnerUpOffer.id.desc())))


def registration_of(offer: RunnerUpOffer) -> Registration:
    return db.session.get(Registration, offer.registration_id)


def deal_of(case: DefaultCase) -> Deal:
    return db.session.get(Deal, case.deal_id)


def forfeit_held(listing) -> Decimal:
    """What the listing's forfeit account holds (every forfeiture on it); nothing when none was ever forfeited."""
    account = ledger.existing_forfeit_account(listing)
    return ledger.held(account) if account is not None else Decimal("0.00")


def compensation_of(listing):
    """The payout of the forfeited money to the transferor, once decided (a refund of reason ``forfeit``)."""
    from exchange.ledger.models import Refund
    account = ledger.existing_forfeit_account(listing)
    return None if account is None else db.session.scalar(select(Refund).where(Refund.account_id == account.id))


def pay_compensation(reviewer, case: DefaultCase):
    """The center decides to pay what was forfeited to the transferor (第二十二条: the defaulting party answers
    for the other party's loss): finance pays it to the listing's registered account with the same four-eyes
    steps as a refund (recorded by one finance user, approved by another), within 5 工作日."""
    from exchange.listings.models import Listing
    listing = db.session.get(Listing, case.listing_id)
    require(reviewer, "defaults.decide", listing.org)
    if case.party != "buyer":
        raise DefaultError("转让方同样违约，没收的保证金不划付转让方，由交易中心另行处理。")
    if compensation_of(listing) is not None:
        raise DefaultError("已决定将没收的保证金划付转让方，请由财务办理。")
    if forfeit_held(listing) <= 0:
        raise DefaultError("本项目没有没收的保证金可划付。")
    name, account_no = (listing.account_name or "").strip(), (listing.account_no or "").strip()
    from exchange.listings.proceeds import payee_problem
    problem = payee_problem(listing)  # 第二十一条: the transferor's own account (or the collective's 法人账户)
    if problem:
        raise DefaultError(f"不能划付：{problem}")
    payee = f"{name} {(listing.account_bank or '').strip()} {account_no}".replace("  ", " ")
    refund = refunds.open_return(ledger.forfeit_account(listing), "forfeit", payee)
    record("default.compensation", f"没收的保证金 {format_yuan(refund.amount)} 元划付转让方：{name}",
           obj_type="default_case", obj_id=case.id, after={"refund": refund.id, "amount": refund.amount})
    return refund


def open_damages_dispute(reviewer, case: DefaultCase):
    """造成对方经济损失 is not decided by the platform (第二十二条: 协商追索、赔偿; 第二十七条: 调解): the case opens a
    mediation record between the party harmed (applicant) and the party in default (respondent), linked to the case;
    once only."""
    from exchange.incidents import disputes
    from exchange.incidents.models import Dispute
    case = _lock_case(case)
    listing = case.listing
    require(reviewer, "defaults.decide", listing.org)
    if case.dispute_id is not None:
        return db.session.get(Dispute, case.dispute_id)
    deal = deal_of(case)
    buyer = deal.registration.buyer.display_name
    seller = listing.transferor_name
    if case.party == "both":
        raise DefaultError("双方均违约，损失由双方自行协商；如一方申请调解，请在纠纷调解中登记。")
    applicant, respondent = (buyer, seller) if case.party == "seller" else (seller, buyer)
    dispute = disputes.open_dispute(
        reviewer, listing, applicant=applicant, respondent=respondent,
        claims=f"{PARTIES[case.party]}{case.stage_label}（成交 {deal.deal_no}，认定理由：{case.reason}），"
               f"{applicant}请求违约方赔偿由此造成的经济损失（第二十二条），申请交易中心调解（第二十七条）。")
    case.dispute_id = dispute.id
    db.session.flush()
    record("default.dispute", f"违约损失赔偿转入纠纷调解：{listing.project_no}", obj_type="default_case",
           obj_id=case.id, after={"dispute": dispute.id})
    return dispute


def close_on_termination(listing, actor) -> None:
    """The listing is terminated while its default case is undecided (a transferor in default who will not relist):
    the case is closed (a pending offer is left to expire; its expiry closes the case)."""
    case = current_case(listing)
    if case is not None and case.is_open:
        DEFAULT_CASE.fire(case, "close", actor, authorised=True)


# --- is the deal overdue? -------------------------------------------------------------------------

@dataclass
class Overdue:
    stage: str        # contract / settlement
    due_at: datetime  # the deadline that ran out (or will)
    passed: bool      # the deadline has passed and the step is still undone
    problem: str      # why a default cannot be declared ("" when it can)
    sides: tuple[str, ...] = ()  # who has not done its part: "seller" (the transferor), "buyer"

    @property
    def party(self) -> str:
        """The DefaultCase's party: seller, buyer or both."""
        return "both" if len(self.sides) == 2 else (self.sides[0] if self.sides else "")


def _contract_of(deal):
    from exchange.contracts.services import contract_for_deal
    return contract_for_deal(deal)


def _settlement_of(deal):
    from exchange.settlement.services import for_deal
    return for_deal(deal)


def overdue_state(listing, deal=None, now: datetime | None = None) -> Overdue | None:
    """Where the listing's live deal stands against its 签约 / 结算 deadline; None outside those stages."""
    if listing.state not in DEFAULT_STAGES:
        return None
    from exchange.trading.services import deal_for
    deal = deal or deal_for(listing)
    if deal is None or deal.state != "confirmed":
        return None
    now = now or clock.now()
    if listing.state == "contract":
        contract = _contract_of(deal)
        due = contract.due_at if contract is not None else deal.contract_due_at
        if due is None:
            return None
        if contract is not None and contract.is_in_force:
            return Overdue("contract", due, False, "双方均已签署，合同已经生效，不属于逾期未签订。")
        from exchange.contracts.services import unsigned_sides
        sides = tuple(unsigned_sides(contract)) if contract is not None else ("seller", "buyer")
        passed = now >= due
        if not passed:
            return Overdue("contract", due, False, f"签约期限（{_due_text(due)}）尚未届满，不能认定违约。", sides)
        return Overdue("contract", due, True, _claim_problem(deal, sides), sides)
    s = _settlement_of(deal)
    if s is not None:
        if s.state != "awaiting":
            return Overdue("settlement", s.due_at, False, "受让方的价款已经到账，不属于逾期未付款。", ())
        due = s.due_at
    else:
        contract = _contract_of(deal)
        if contract is None or contract.effective_at is None:
            return None
        from exchange.settlement.services import SETTLEMENT_DAYS
        due = due_after_days(contract.effective_at, SETTLEMENT_DAYS).at
    if now < due:
        return Overdue("settlement", due, False, f"结算期限（{_due_text(due)}）尚未届满，不能认定违约。", ("buyer",))
    return Overdue("settlement", due, True, _claim_problem(deal, ("buyer",)), ("buyer",))


def _claim_problem(deal, sides) -> str:
    """A pending 不可抗力 claim of a party in default holds the declaration until the center decides it."""
    from exchange.incidents.force_majeure import pending_claim
    claim = pending_claim(deal)
    if claim is not None and claim.side in sides:
        return f"{claim.side_label}提出了不可抗力申请，尚未处理：请先作出决定（成立的，延长期限或终结交易）。"
    return ""


PARTIES = {"buyer": "受让方（买受人）", "seller": "转让方", "both": "转让方和受让方"}


def transferor_record(listing) -> list[DefaultCase]:
    """The transferor's defaults on other listings (by its ID number / 统一社会信用代码), newest first: shown to the
    center when it reviews the transferor's next listing (第二十二条)."""
    from exchange.listings.models import Listing
    id_no = (listing.transferor_id_no or "").strip()
    if not id_no:
        return []
    return list(db.session.scalars(
        select(DefaultCase).join(Listing, Listing.id == DefaultCase.listing_id)
        .where(Listing.transferor_id_no == id_no, Listing.id != listing.id,
               DefaultCase.party.in_(("seller", "both"))).order_by(DefaultCase.id.desc())))


def _due_text(due: datetime) -> str:
    from exchange.workdays.services import due_text
    return due_text(due)


def may_declare(user, listing) -> bool:
    """For the link on the listing page: the user decides defaults and the deal is overdue (or defaulted)."""
    from exchange.access import can
    if not can(user, "defaults.decide", listing.org):
        return False
    if listing.state == "defaulted":
        return True
    o = overdue_state(listing)
    return o is not None and o.passed


# --- declaring the default ------------------------------------------------------------------------

def _clean_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN or len(reason) > REASON_MAX:
        raise DefaultError(f"请写明{what}（{REASON_MIN} 至 {REASON_MAX} 字），当事人将看到它。", field="reason")
    return reason


def _refund_under_way(account) -> bool:
    return refunds.unpaid_refund_of(account) is not None


def declare_default(reviewer, listing, *, reason: str) -> DefaultCase:
    """认定违约: deal defaulted, contract (and an awaiting settlement) void; the party in default is the one that did
    not sign (or pay): the buyer's deposit forfeited when the buyer is in default, returned in full when only the
    transferor is."""
    require(reviewer, "defaults.decide", listing.org)
    if listing.state not in DEFAULT_STAGES:
        raise DefaultError("只有签约中或结算中的项目才能认定违约。")
    reason = _clean_reason(reason, "违约的事实和理由")
    from exchange.trading.services import deal_for
    deal = deal_for(listing)
    if deal is None:
        raise DefaultError("该项目没有成交记录。")
    deal = lock_row(db.session, Deal, deal.id)  # one declaration at a time
    if deal.state != "confirmed" or listing.state not in DEFAULT_STAGES:
        raise DefaultError("该成交已不在签约或结算阶段，可能已被他人处理，请刷新页面。")
    settlement = _settlement_of(deal)
    if settlement is not None:  # serialises with a balance being booked at the same moment
        db.session.refresh(settlement, with_for_update=True)
    o = overdue_state(listing, deal)
    if o is None:
        raise DefaultError("找不到该成交的签约或结算期限。")
    if o.problem:
        raise DefaultError(o.problem)
    stage, party = o.stage, o.party
    reg = db.session.get(Registration, deal.registration_id)
    buyer = reg.buyer
    contract = _contract_of(deal)
    # each stage answers for its own rows: an awaiting settlement and the contract void, the deal defaulted
    stages.defaulted(listing, deal, reviewer, reason)
    db.session.flush()
    # the deposit, where it is: forfeited when the buyer is in default, returned when only the transferor is
    forfeited, entry_id = Decimal("0.00"), None
    dep = ledger.deposit_account(listing, buyer)
    if party == "seller":
        pass  # refunded below, once the listing is in 违约处理中
    elif ledger.held(dep) > 0 and not _refund_under_way(dep):
        entry = ledger.forfeit_deposit(listing, buyer, actor=reviewer)
        forfeited += sum(line.amount for line in entry.lines if line.account_id == dep.id)
        entry_id = entry.id
    if party != "seller" and settlement is not None and settlement.deposit_converted > 0:
        price_acc = ledger.price_account(listing)
        lock_row(db.session, LedgerAccount, price_acc.id)
        amount = min(settlement.deposit_converted, ledger.held(price_acc))
        if amount > 0:
            entry = ledger.post("forfeit", [(price_acc, amount), (ledger.forfeit_account(listing), -amount)],
                                listing=listing, actor=reviewer, idempotency_key=f"default:{deal.id}:price",
                                memo=f"没收已转为价款的保证金 {buyer.display_name}")
            forfeited += amount
            entry_id = entry_id or entry.id
    fire(listing, "default", reviewer, reason=f"{PARTIES[party]}{DEFAULT_STAGES[stage]}：{reason}",
         data={"deal": deal.deal_no, "stage": stage, "party": party, "forfeited": str(forfeited)})
    returned = []
    if party == "seller":  # the buyer did its part: every deposit still held goes back in full, within 5 工作日
        returned = [r.id for r in refunds.open_for_listing(listing, "seller_default")]
    case = DefaultCase(listing_id=listing.id, deal_id=deal.id, registration_id=reg.id, stage=stage, party=party,
                       reason=reason, forfeited=forfeited, forfeit_entry_id=entry_id, declared_by_id=reviewer.id,
                       declared_at=clock.now())
    db.session.add(case)
    db.session.flush()
    money = (f"退还受让方保证金（{len(returned)} 笔）" if party == "seller"
             else f"没收保证金 {format_yuan(forfeited)} 元")
    record("default.declared", f"认定{PARTIES[party]}违约：{listing.project_no}（成交 {deal.deal_no}，"
           f"{DEFAULT_STAGES[stage]}），{money}", obj_type="default_case", obj_id=case.id,
           before={"deal": "confirmed", "contract": getattr(contract, "id", None),
                   "settlement": getattr(settlement, "id", None)},
           after={"stage": stage, "party": party, "deal": deal.deal_no, "buyer": reg.bidder_no,
                  "forfeited": forfeited, "entry": entry_id, "refunds": returned, "due_at": o.due_at,
                  "reason": reason})
    return case


# --- the runner-up --------------------------------------------------------------------------------

@dataclass
class Candidate:
    registration: Registration
    price: Decimal
    bid_at: datetime
    priority_match: bool
    offered: str = ""  # the state of an earlier offer to this bidder on this listing ("" none)

    @property
    def bidder_no(self) -> str:
        return self.registration.bidder_no or ""


def _excluded(listing) -> tuple[set[int], dict[int, str]]:
    """Registrations that defaulted on the listing, and those already offered (→ the offer's state)."""
    defaulted = set(db.session.scalars(select(DefaultCase.registration_id)
                                       .where(DefaultCase.listing_id == listing.id)))
    offered = {}
    for reg_id, state in db.session.execute(
            select(RunnerUpOffer.registration_id, RunnerUpOffer.state).join(DefaultCase)
            .where(DefaultCase.listing_id == listing.id).order_by(RunnerUpOffer.id)):
        offered[reg_id] = state
    return defaulted, offered


def runner_up_candidates(listing, *, include_offered: bool = False) -> list[Candidate]:
    """The other qualified bidders of the defaulted deal's session with their own last (highest) accepted bid,
    highest first; at or above the 底价.  Offline and agreement deals: none (relisting only)."""
    from exchange.trading.services import deal_for
    deal = deal_for(listing)
    if deal is None or deal.session_id is None:
        return []
    defaulted, offered = _excluded(listing)
    bids = db.session.scalars(select(Bid).where(Bid.session_id == deal.session_id).order_by(Bid.seq)).all()
    best: dict[int, Bid] = {}
    for b in bids:
        if b.registration_id not in best or b.amount > best[b.registration_id].amount:
            best[b.registration_id] = b  # the first bid at the bidder's highest price
    out = []
    for reg_id, b in best.items():
        if reg_id in defaulted or b.amount < listing.floor_price:
            continue
        reg = db.session.get(Registration, reg_id)
        if reg is None or reg.state != "paid":
            continue
        if reg_id in offered and not include_offered:
            continue
        out.append(Candidate(reg, b.amount, b.at, b.priority_match, offered.get(reg_id, "")))
    # highest price; at equal price the priority holder who matched it (同等条件优先), then the earliest bid
    best_seq = {reg_id: b.seq for reg_id, b in best.items()}
    out.sort(key=lambda c: (-c.price, not c.priority_match, best_seq[c.registration.id]))
    return out


def _lock_case(case: DefaultCase) -> DefaultCase:
    case = lock_row(db.session, DefaultCase, case.id)
    if case is None:
        raise DefaultError("违约处理记录不存在。")
    return case


def _parse_days(days) -> int:
    if days in (None, ""):
        return OFFER_DAYS_DEFAULT
    try:
        n = int(str(days).strip())
    except (TypeError, ValueError):
        raise DefaultError(f"答复期限应为 {OFFER_DAYS_MIN} 至 {OFFER_DAYS_MAX} 个工作日的整数。", field="days") from None
    if isinstance(days, float) or not OFFER_DAYS_MIN <= n <= OFFER_DAYS_MAX:
        raise DefaultError(f"答复期限应为 {OFFER_DAYS_MIN} 至 {OFFER_DAYS_MAX} 个工作日。", field="days")
    return n


def offer_to_runner_up(reviewer, case: DefaultCase, registration_id, *, days=OFFER_DAYS_DEFAULT) -> RunnerUpOffer:
    """要约: the deal offered to the next-highest bidder at their own last price, answer due in ``days`` 工作日."""
    listing = case.listing
    require(reviewer, "defaults.decide", listing.org)
    n = _parse_days(days)
    try:
        reg_id = int(registration_id)
    except (TypeError, ValueError):
        raise DefaultError("请选择要约的次高报价人。", field="registration_id") from None
    case = _lock_case(case)
    if listing.state != "defaulted":
        raise DefaultError("项目不在违约处理中，不能发出要约。")
    if case.state == "offered" or pending_offer(case) is not None:
        raise DefaultError("已有一份要约等待答复，请待其答复或逾期后再处理。")
    if case.state != "open":
        raise DefaultError(f"该违约处理已{case.state_label}，不能再发出要约。")
    if case.party != "buyer":
        raise DefaultError("转让方违约（未签署合同），不能向次高报价人要约：请待转让方重新申请后重新挂牌，或终结交易。")
    candidates = runner_up_candidates(listing)
    if not candidates:
        raise DefaultError("没有可以要约的次高报价人（协议转让、拍卖、招投标或其他报价人均已放弃），请重新挂牌。")
    chosen = next((c for c in candidates if c.registration.id == reg_id), None)
    if chosen is None:
        raise DefaultError("该报名人不是本项目可要约的次高报价人。", field="registration_id")
    first = candidates[0]
    if chosen is not first:
        raise DefaultError(f"须按报价从高到低依次要约：请先向竞买号 {first.bidder_no}（{format_yuan(first.price)} 元）"
                           "发出要约。", field="registration_id")
    now = clock.now()
    offer = RunnerUpOffer(case_id=case.id, registration_id=reg_id, price=chosen.price,
                          due_at=due_after_working_days(now, n).at, offered_by_id=reviewer.id, offered_at=now)
    db.session.add(offer)
    DEFAULT_CASE.fire(case, "offer", reviewer, authorised=True)
    db.session.flush()
    record("default.offer", f"向次高报价人发出要约：{listing.project_no}，竞买号 {chosen.bidder_no}，"
           f"{format_yuan(chosen.price)} 元，{n} 个工作日内答复", obj_type="runner_up_offer", obj_id=offer.id,
           after={"case": case.id, "registration": reg_id, "price": chosen.price, "due_at": offer.due_at, "days": n})
    return offer


def is_offer_buyer(user, offer: RunnerUpOffer) -> bool:
    return (user is not None and getattr(user, "is_authenticated", False) and user.role == Role.PUBLIC
            and user.is_active and registration_of(offer).buyer_id == user.id)


def may_view_offer(user, offer: RunnerUpOffer) -> bool:
    from exchange.access import can
    if is_offer_buyer(user, offer):
        return True
    return (user is not None and getattr(user, "is_authenticated", False) and user.role != Role.PUBLIC
            and can(user, "listings.view", offer.case.listing.org))


def _next_deal_no(listing) -> str:
    """The listing's first deal number (the trading service's numbering) with ``-n`` for its n-th deal."""
    first = db.session.scalar(select(Deal.deal_no).where(Deal.listing_id == listing.id).order_by(Deal.id).limit(1))
    n = db.session.scalar(select(func.count(Deal.id)).where(Deal.listing_id == listing.id)) or 0
    return f"{first}-{n + 1}"


def _new_deal(offer: RunnerUpOffer, old: Deal, reg: Registration) -> Deal:
    """The runner-up's deal, with 交易公示 and the 签约 clock as ``trading.services`` computes them for a deal."""
    listing = old.listing
    now = clock.now()
    from exchange.tradingrules import services as trading_rules
    publicity_days = trading_rules.value("publicity_working_days")  # 中心规则: 交易公示 3 工作日
    deal = Deal(deal_no=_next_deal_no(listing), listing_id=listing.id, registration_id=reg.id, buyer_id=reg.buyer_id,
                method=old.method, price=offer.price, session_id=old.session_id, concluded_at=now,
                confirmed_by_id=offer.offered_by_id,
                publicity_end_at=due_after_working_days(now, publicity_days).at,
                offline_note=f"原成交 {old.deal_no} 买受人违约，次高报价人接受要约")
    db.session.add(deal)
    db.session.flush()
    return deal


def _keep_deposit(reg: Registration) -> str:
    """The runner-up's deposit after accepting: a refund not yet paid is withdrawn so the deposit stays."""
    from exchange.ledger.models import Refund
    refund = db.session.scalar(select(Refund).where(Refund.registration_id == reg.id))
    if refund is not None:
        refund = lock_row(db.session, Refund, refund.id)
    if refund is None:
        held = ledger.held(ledger.deposit_account(reg.listing, reg.buyer))
        return "kept" if held > 0 else "none"
    if refund.state == "pending":
        refunds.withdraw(refund, "次高报价人接受要约，保证金留作成交价款")
        return "kept"
    return "refunded"  # transfer recorded or approved: the money went back; the settlement asks the full price


def authorise_answer(buyer, offer: RunnerUpOffer) -> None:
    """Only the bidder the offer was made to answers it."""
    if not is_offer_buyer(buyer, offer):
        raise AccessDenied("这份要约不是发给您的。")


def answer_offer(buyer, offer: RunnerUpOffer, accept: bool, note: str = "", *,
                 password: str | None = None) -> RunnerUpOffer:
    """The offer's bidder accepts (a new deal in 交易公示) or declines, before the deadline, with their password."""
    authorise_answer(buyer, offer)
    note = (note or "").strip()
    if len(note) > 500:
        raise DefaultError("说明不能超过 500 字。", field="note")
    offer = lock_row(db.session, RunnerUpOffer, offer.id)
    if offer.state != "pending":
        raise DefaultError(f"该要约已{offer.state_label}，不能再答复。")
    if clock.now() >= offer.due_at:
        raise DefaultError(f"已超过答复期限（{_due_text(offer.due_at)}），不能再答复。")
    case = _lock_case(offer.case)
    listing = case.listing
    if listing.state != "defaulted" or case.state != "offered":
        raise DefaultError("该项目已不在违约处理中，要约失效。")
    if not password or not check_password_hash(buyer.password_hash, password):
        record("default.answer_failed", f"答复要约时密码错误：{listing.project_no}", obj_type="runner_up_offer",
               obj_id=offer.id)
        raise DefaultError("密码不正确，请输入您登录本平台的密码。", field="password")
    now = clock.now()
    offer.answered_at, offer.answer_note = now, note
    reg = registration_of(offer)
    if not accept:
        RUNNER_UP_OFFER.fire(offer, "decline", buyer, reason=note, authorised=True)
        DEFAULT_CASE.fire(case, "reopen", buyer, authorised=True)
        db.session.flush()
        record("default.offer_declined", f"次高报价人放弃要约：{listing.project_no}，竞买号 {reg.bidder_no}",
               obj_type="runner_up_offer", obj_id=offer.id, after={"note": note})
        return offer
    old = deal_of(case)
    deal = _new_deal(offer, old, reg)
    deposit = _keep_deposit(reg)
    RUNNER_UP_OFFER.fire(offer, "accept", buyer, reason=note, authorised=True)
    DEFAULT_CASE.fire(case, "accept", buyer, authorised=True)
    case.new_deal_id = deal.id
    db.session.flush()
    fire(listing, "runner_up_accept", buyer, reason=f"次高报价人接受要约（{format_yuan(offer.price)} 元）",
         data={"deal": deal.deal_no, "price": str(offer.price), "bidder_no": reg.bidder_no, "deposit": deposit})
    record("default.offer_accepted", f"次高报价人接受要约：{listing.project_no}，新成交 {deal.deal_no}，"
           f"{format_yuan(offer.price)} 元，进入交易公示", obj_type="runner_up_offer", obj_id=offer.id,
           after={"deal": deal.deal_no, "deposit": deposit, "publicity_end_at": deal.publicity_end_at})
    return offer


# --- expiry (the sweeper) -------------------------------------------------------------------------

def offers_due_ids(now: datetime) -> list[int]:
    """Pending offers whose answer deadline has passed (a plain read)."""
    return list(db.session.scalars(select(RunnerUpOffer.id).where(RunnerUpOffer.state == "pending",
                                                                  RunnerUpOffer.due_at <= now)
                                   .order_by(RunnerUpOffer.due_at, RunnerUpOffer.id)))


def expire_offer(offer_id: int, now: datetime) -> bool:
    """One pending offer past its deadline → 逾期未答复, its case back to ``open``; False when not due."""
    offer = lock_row(db.session, RunnerUpOffer, offer_id)
    if offer is None or offer.state != "pending" or offer.due_at > now:
        return False
    RUNNER_UP_OFFER.fire(offer, "expire")
    case = lock_row(db.session, DefaultCase, offer.case_id)
    if case.state == "offered":  # the center offers to the next one or relists (a listing ended meanwhile: closed)
        DEFAULT_CASE.fire(case, "reopen" if case.listing.state == "defaulted" else "close")
    db.session.flush()
    reg = registration_of(offer)
    record("default.offer_expired", f"次高报价人逾期未答复要约：{case.listing.project_no}，竞买号 {reg.bidder_no}，"
           f"视为放弃", obj_type="runner_up_offer", obj_id=offer.id, after={"due_at": offer.due_at})
    return True


# --- relisting ------------------------------------------------------------------------------------

def relist_after_default(reviewer, case: DefaultCase, reason: str, *, floor_price=None, reps_for=None,
                         reps_total=None):
    """违约后重新挂牌: 流拍, deposits still held put up for refund, then a new listing in the center's review."""
    listing = case.listing
    require(reviewer, "defaults.decide", listing.org)
    reason = _clean_reason(reason, "重新挂牌的理由")
    case = _lock_case(case)
    if case.state == "offered" or pending_offer(case) is not None:
        raise DefaultError("还有一份要约等待次高报价人答复，请待其答复或逾期后再重新挂牌。")
    if case.state != "open" or listing.state != "defaulted":
        raise DefaultError(f"该违约处理已{case.state_label}，不能重新挂牌。")
    from exchange.trading import services as tsvc
    fire(listing, "default_relist", reviewer, reason=reason, data={"case": case.id})
    opened = refunds.open_for_listing(listing, "lost")
    copy = tsvc.relist(reviewer, listing, floor_price=floor_price, reps_for=reps_for, reps_total=reps_total)
    DEFAULT_CASE.fire(case, "relist", reviewer, reason=reason, authorised=True)
    case.relisting_id = copy.id
    db.session.flush()
    record("default.relisted", f"违约后重新挂牌：{listing.project_no} → 新项目 #{copy.id}", obj_type="default_case",
           obj_id=case.id, after={"relisting": copy.id, "refunds": [r.id for r in opened], "reason": reason})
    return copy


def _expire_handler():
    from exchange.deadlines.handlers import ItemHandler
    return ItemHandler(offers_due_ids, expire_offer, "次高报价人逾期未答复要约")


# the sweeper's ``offers.expire`` (exchange/deadlines/sweeper.py)
EXPIRE_OFFERS = _expire_handler()
