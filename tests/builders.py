"""Test data built through the services the platform uses, step by step along a listing's life.

A listing's life, stage by stage, with the fixture of ``tests/lifecycle.py`` that stops there:

* ``announced`` (fixture ``announced``): a household listing (团湖村 32 亩水田, 底价 160 000 元, deposit 16 000 元)
  drafted by the clerk of 新建村, passed by the station, approved and published by the center — on the frozen clock
  (2026-11-23 09:00);
* ``trading`` (``trading``): three buyers paid the deposit (测试受让人, buyer_org and the cooperative with a priority
  right); the 公告期 over: 组织交易;
* ``publicity``: 网络竞价 won by 测试受让人 at 160 500 元 (route ``online``: ``online_deal``), or 协议转让 to
  buyer_org, its only paid buyer, at 160 000 元 (route ``agreement``: ``agreement_deal``);
* ``contract`` (``contract``): the 交易公示 over, the contract drafted: 签约;
* ``contract_overdue`` (``overdue_contract``): … the transferor signed, the buyer did not, its 5-工作日 deadline passed;
* ``settlement`` (``effective``): the agreement's contract in force: 结算;
* ``certification`` (``certifiable``): an offline tender at 170 000 元 (route ``tender``), its contract in force and
  the money settled: 鉴证;
* ``completed``: … and the 鉴证书 issued.

:class:`Lifecycle` takes a listing to any of these stages in one call, e.g. ``Lifecycle(users, db).to("contract")``,
and keeps what it built (``listing``, ``regs``, ``deal``, ``contract``, ``certificate`` …) as attributes.
"""
from __future__ import annotations

import hashlib
import inspect
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.catalog.models import Category
from exchange.contracts.models import Contract
from exchange.deadlines.sweeper import sweep
from exchange.extensions import db as _db
from exchange.idcheck import make_org_code, make_resident_id, make_uscc
from exchange.ledger import refunds
from exchange.ledger import services as led
from exchange.listings import rules
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.listings.workflow import fire
from exchange.payments import deposits
from exchange.registrations import services as rsvc
from exchange.settlement import services as stl
from exchange.settlement.models import Settlement
from exchange.trading import services as tsvc
from exchange.trading.models import Deal
from tests.factories import make_org_buyer

# --- files and constants ----------------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64  # a Windows program
ALL_OK = {k: {"ok": True} for k in lsvc.CENTER_CHECKLIST}  # the center's checklist, every item ticked

PRICE = Decimal("160000.00")  # the household listing's 底价: the agreement deal's price
DEPOSIT = Decimal("16000.00")  # its deposit (10 %)

TENDER_PRICE = Decimal("170000.00")  # the offline tender of the ``tender`` route
TENDER_FEE = Decimal("1700.00")  # the buyer's fee on it

BIDDERS = ("buyer", "buyer_org", "buyer_coop")  # who pays the deposit on the way to ``trading``


# --- 挂牌: listings -----------------------------------------------------------------------------------------------------

def category(code):
    return _db.session.scalar(select(Category).where(Category.code == code))


def household_fields(**kw):
    """A household's 32 亩 paddy field in 团湖村 for rent, 500 元/亩/年 for 10 years (底价 160 000 元)."""
    f = dict(title="团湖村 32 亩水田经营权出租", location="江南镇团湖村三组", boundaries="东至渠道，西至村道",
             quantity="32", unit="亩", current_use="水稻种植", right_cert_no="430682xxxx", right_end_date="2038-12-31",
             term_start="2027-01-01", term_end="2036-12-31", price_mode="per_unit_year", floor_unit_price="500",
             price_basis="参照周边近三年流转价格", transferor_kind="household", transferor_name="农户演示",
             transferor_id_no=make_resident_id("43068219650315452"), transferor_mobile="13800000004",
             account_name="农户演示", account_bank="临湘农商银行", account_no="6210000000000001",
             trading_method="online_bidding", bid_increment="500")
    f.update(kw)
    return f


# 新建村股份经济合作社: a village-level collective economic organisation (登记管理部门 N, 类别 2), 临湘 430682
COLLECTIVE_USCC = make_uscc("N2430682" + make_org_code("MA4L0001"))


def collective_fields(**kw):
    """新建村's collective warehouse for lease, 底价 50 000 元 below its appraisal of 60 000 元; the proceeds to the
    collective's own 法人账户 (第二十一条)."""
    f = dict(title="新建村集体仓库租赁", location="长安街道新建村", quantity="1", unit="处", current_use="闲置（原村部仓库）",
             price_mode="total",
             floor_price="50000", price_basis="评估报告", appraisal_value="60000", appraisal_agency="湖南某评估公司",
             appraisal_report_no="评字2026-88", transferor_kind="collective", transferor_name="新建村股份经济合作社",
             transferor_id_no=COLLECTIVE_USCC, account_name="新建村股份经济合作社", account_no="43001000000001",
             decision_type="村民代表会议", decision_date="2026-11-01", reps_total="30", reps_for="19",
             trading_method="online_bidding", bid_increment="1000", announce_days="10")
    f.update(kw)
    return f


def attach(listing, actor, kinds=None):
    """Upload a PDF for each of ``kinds`` (default: every material the listing needs)."""
    for kind in kinds or rules.required_materials(listing):
        lsvc.add_material(actor, listing, kind, PDF, f"{kind}.pdf")


def new_household_listing(users, **kw):
    """A draft of :func:`household_fields` by the clerk of 新建村 (point_a1)."""
    clerk = users["point_a1"]
    listing = lsvc.create_draft(clerk, category=category("C01"), **household_fields(**kw))
    return listing


def station_agrees(users, listing, verdict="agree",
                   reasons="经实地核实，权属清晰，四至和利用现状与材料一致，无承包纠纷"):
    """第十四条: the center asks the station of the listing's town, whose reviewer answers — what a listing that did
    not pass a station's 初审 (a direct application) needs before the center may approve it."""
    reviewer = next(u for k, u in users.items() if k.startswith("station") and u.org_unit_id == listing.station_id)
    lsvc.request_station_opinion(users["center_reviewer"], listing, "请核实权属、四至、利用现状及有无纠纷")
    return lsvc.give_station_opinion(reviewer, listing, reasons, verdict=verdict)


def published(users, **kw) -> Listing:
    """A household listing through intake and review to its announcement, now (not committed)."""
    listing = new_household_listing(users, **kw)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    return listing


def announce(users, db) -> Listing:
    """Stage ``announced``: :func:`published`, committed."""
    listing = published(users)
    db.session.commit()
    return listing


# --- 意向受让登记: buyers, registrations and deposits -----------------------------------------------------------------------

def add_buyers(users) -> dict:
    """Two more public buyers in ``users``: the cooperative ``buyer_coop`` and the company ``buyer_3``."""
    users["buyer_coop"] = make_org_buyer("t_coop", "9343068200000011", org_type="cooperative")
    users["buyer_3"] = make_org_buyer("t_buyer3", "9143068200000025")
    return users


def applied(users, listing, key="buyer", **kw):
    """``users[key]`` applies for ``listing`` with every material it needs."""
    reg = rsvc.apply(users[key], listing, accept_declaration=True, **kw)
    for kind in rsvc.required_materials(reg):
        rsvc.add_material(users[key], reg, kind, PDF, f"{kind}.pdf")
    return reg


def qualify(users, listing, db, key="buyer"):
    """``users[key]`` applied and qualified (the deposit not paid yet)."""
    reg = applied(users, listing, key=key)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    return reg


def pay(users, listing, keys, priority=()):
    """Each of ``keys`` applies, is qualified (with a priority right if in ``priority``) and pays the deposit at
    the counter (a bank receipt); their registrations by key."""
    regs = {}
    for i, k in enumerate(keys):
        reg = applied(users, listing, key=k)
        rsvc.qualify(users["center_reviewer"], reg, priority_right=k in priority,
                     priority_basis="原承包方" if k in priority else "")
        deposits.confirm_deposit(users["finance"], reg, "16000", source_key=f"{listing.id}-{k}", receipt=PDF,
                                 receipt_filename="回单.pdf")
        regs[k] = reg
    return regs


def confirm_deposit(finance, reg, source_key):
    """Finance confirms the deposit (with a bank receipt where the service takes one)."""
    kw = {}
    if "receipt" in inspect.signature(deposits.confirm_deposit).parameters:
        kw = {"receipt": PDF, "receipt_filename": "回单.pdf"}
    return deposits.confirm_deposit(finance, reg, "16000", source_key=source_key, **kw)


FORBIDDEN = ["point_a1", "station_a", "center_reviewer", "trading_officer", "admin", "buyer"]  # no finance pages


def refund_and_suspense(users, listing, db) -> SimpleNamespace:
    """A paid deposit of 16,000 on a lost registration (refund pending) and 300 held in suspense."""
    reg = applied(users, listing)
    rsvc.qualify(users["center_reviewer"], reg)
    confirm_deposit(users["finance"], reg, "回单-L1")
    refund = refunds.open_refund(reg, "lost")
    sus = led.suspense_account("STMT-1-7", "银行流水第 7 行：付款人不明 300.00 元")
    led.hold_in_suspense(sus, Decimal("300"), key="stmt:1:7")
    db.session.commit()
    return SimpleNamespace(reg=reg, refund=refund, listing=listing, buyer=users["buyer"], suspense=sus,
                           refund_id=refund.id, listing_id=listing.id, buyer_id=users["buyer"].id)


def deposit_held(m):
    return led.held(led.deposit_account(m.listing, m.buyer))


# --- bank statements --------------------------------------------------------------------------------------------------

HEADER = "交易流水号,交易时间,借方金额,贷方金额,对方户名,对方账号,附言\n"


def local(dt) -> str:
    """An instant as the bank writes it: Beijing wall-clock time."""
    return clock.to_local(dt).strftime("%Y-%m-%d %H:%M:%S")


def csv_bytes(rows, encoding="utf-8", header=HEADER, preamble="") -> bytes:
    """A bank statement in CSV."""
    return (preamble + header + "".join(",".join(map(str, r)) + "\n" for r in rows)).encode(encoding)


# --- 组织交易 and 交易公示 ----------------------------------------------------------------------------------------------------

def key() -> str:
    """A fresh idempotency key for a bid."""
    return uuid.uuid4().hex


def to_trading(listing):
    """The clock one minute past the end of the announcement, the sweeper run: the listing reloaded."""
    clock.freeze(listing.announce_end_at + timedelta(minutes=1))
    sweep()
    _db.session.expire_all()
    return _db.session.get(Listing, listing.id)


def open_trading(users, listing, db, keys=BIDDERS, priority=("buyer_coop",)):
    """Stage ``trading``: :func:`pay` for ``keys``, then the end of the announcement; (listing, regs)."""
    regs = pay(users, listing, list(keys), priority=priority)
    db.session.commit()
    listing = to_trading(listing)
    assert listing.state == "trading"
    return listing, regs


def live(users, listing, **kw):
    """An online bidding session scheduled 5 minutes ahead (10 free minutes, 300 s countdown, 30 min cap), and the
    clock at its start."""
    start = clock.now() + timedelta(minutes=5)
    s = tsvc.schedule_online(users["trading_officer"], listing, starts_at=start, free_minutes=10,
                             countdown_seconds=300, max_extension_minutes=30, **kw)
    _db.session.commit()
    clock.freeze(start)
    return s


def win_online(users, listing, regs, db) -> Deal:
    """Stage ``publicity`` (route ``online``), from :func:`open_trading`: 网络竞价 — buyer_org opens at the start
    price, the cooperative (priority right) matches, the natural person 测试受让人 raises and wins at 160 500 元."""
    s = live(users, listing)
    tsvc.place_bid(users["buyer_org"], s.id, "160000", key=key())
    clock.advance(seconds=7)
    tsvc.place_bid(users["buyer_coop"], s.id, "160000", key=key())
    clock.advance(seconds=13)
    tsvc.place_bid(users["buyer"], s.id, "160500", key=key())
    db.session.commit()
    clock.freeze(s.ends_at)
    sweep()
    db.session.expire_all()
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    assert deal.price == Decimal("160500.00") and deal.registration_id == regs["buyer"].id
    return deal


def agree(users, listing, db) -> Deal:
    """Stage ``publicity`` (route ``agreement``), from :func:`open_trading` with one paid buyer: the officer
    confirms the 协议转让 at the floor price."""
    deal = tsvc.confirm_agreement(users["trading_officer"], listing)
    db.session.commit()
    return deal


# --- 成交签约 -------------------------------------------------------------------------------------------------------------

def end_publicity(deal) -> Contract:
    """Stage ``contract``: the clock a minute past the deal's 交易公示, the sweeper run: its contract draft."""
    clock.freeze(deal.publicity_end_at + timedelta(minutes=1))
    sweep()
    _db.session.expire_all()
    return _db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))


def let_lapse(contract, *, seller_signs: bool = True):
    """Stage ``contract_overdue``: the transferor signed in time (the household's village clerk recording its paper
    signature), the buyer did not; the clock a minute past the contract's deadline (nothing swept).  With
    ``seller_signs=False`` neither signed."""
    if seller_signs:
        from exchange.accounts.models import User
        from exchange.contracts import services as csvc
        from tests.factories import PASSWORD
        clerk = _db.session.scalar(select(User).where(User.username == "t_point_a1"))
        csvc.confirm(clerk, contract, PASSWORD, PDF, "转让方签字页.pdf")
        _db.session.commit()
    clock.freeze(contract.due_at + timedelta(minutes=1))


def make_effective(users, deal):
    """Stage ``settlement``: the 交易公示 over, the contract row set directly to state "signed" (both signed, in force,
    no scan yet), then the listing's "contract_effective" transition (which opens the settlement)."""
    clock.freeze(deal.publicity_end_at + timedelta(minutes=1))
    sweep()
    _db.session.expire_all()
    listing = _db.session.get(Listing, deal.listing_id)
    assert listing.state == "contract"
    now = clock.now()
    contract = _db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    if contract is None:  # (the contracts module may open the draft itself when publicity ends)
        contract = Contract(deal_id=deal.id, listing_id=listing.id, template="land", due_at=deal.contract_due_at)
        _db.session.add(contract)
    contract.state, contract.contract_no = "signed", f"HT-{deal.id}"
    contract.signed_on, contract.effective_at = clock.to_local(now).date(), now
    fire(listing, "contract_effective", users["trading_officer"])
    _db.session.commit()
    return deal


# --- 资金结算 -------------------------------------------------------------------------------------------------------------

def set_fee(users, **kw):
    """The admin sets the fee table's rule (default: a rate paid by the buyer)."""
    args = dict(basis="rate", rate=None, fixed_amount=None, min_fee=None, max_fee=None, payer="buyer")
    args.update(kw)
    category_id = args.pop("category_id", None)
    rule = stl.save_fee_rule(users["admin"], category_id, **args)
    _db.session.commit()
    return rule


def full_path(users, s, db):
    """From a settlement whose price is received: fees charged, the transfer recorded by finance and approved by
    finance2 (not by the same person; twice changes nothing); the payout."""
    payout = stl.charge_fees(users["finance"], s)
    db.session.commit()
    stl.record_transfer(users["finance"], payout, "HK-0001")
    db.session.commit()
    with pytest.raises(stl.SettlementError) as exc:
        stl.approve(users["finance"], payout)
    assert "不能是同一人" in exc.value.message
    db.session.rollback()
    stl.approve(users["finance2"], payout)
    db.session.commit()
    stl.approve(users["finance2"], payout)  # a second approval changes nothing
    db.session.commit()
    return payout


# --- the ``tender`` route to 鉴证 ---------------------------------------------------------------------------------------

def concluded(users, listing, regs, db):
    """A tender result recorded offline (测试受让人 at 170 000 元), its publicity over without objection: the listing
    is in 签约."""
    deal = tsvc.record_offline(users["trading_officer"], listing, method="tender", registration_id=regs["buyer"].id,
                               price=str(TENDER_PRICE), held_on=clock.today_local().isoformat(), document=PDF,
                               document_filename="中标通知书.pdf")
    db.session.commit()
    clock.freeze(deal.publicity_end_at + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    assert deal.listing.state == "contract"
    return deal


def make_contract_effective(users, deal, db):
    """The Contract row written directly (in force, its signed scan checked: state 'checked')."""
    from exchange.storage import get_storage
    stored = get_storage().save(PDF)
    contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    if contract is None:  # (the contracts service may already have drafted it when the publicity ended)
        contract = Contract(deal_id=deal.id, listing_id=deal.listing_id, template="land",
                            due_at=deal.contract_due_at or clock.now())
        db.session.add(contract)
    contract.contract_no, contract.state = "LXHT-2026-000001", "checked"
    contract.signed_on, contract.effective_at = clock.today_local(), clock.now()
    contract.scan_key, contract.scan_filename, contract.scan_content_type = stored, "合同签章件.pdf", "application/pdf"
    contract.scan_sha256 = hashlib.sha256(PDF).hexdigest()
    fire(deal.listing, "contract_effective", users["center_reviewer"])
    db.session.commit()
    return contract


def settle(users, deal, db):
    """The money moved through exchange.ledger.services so the books balance (deposit converted, the balance
    and the buyer's fee paid in, the fee charged, the proceeds paid out), then the Settlement row written
    directly in state 'settled'."""
    listing = deal.listing
    buyer = deal.registration.buyer
    led.convert_deposit(listing, buyer)
    led.record_price_payment(listing, TENDER_PRICE - DEPOSIT + TENDER_FEE, key=f"JS-{uuid.uuid4().hex[:8]}")
    led.charge_fee(listing, TENDER_FEE)
    led.pay_out(listing, TENDER_PRICE, key=f"PO-{uuid.uuid4().hex[:8]}")
    now = clock.now()
    s = db.session.scalar(select(Settlement).where(Settlement.deal_id == deal.id))
    if s is None:  # (the settlement service may already have opened it when the contract took effect)
        s = Settlement(deal_id=deal.id, listing_id=listing.id, payment_ref=f"JS{uuid.uuid4().hex[:10].upper()}",
                       due_at=now + timedelta(days=10))
        db.session.add(s)
    s.state, s.price, s.deposit_converted, s.balance_due = "settled", TENDER_PRICE, DEPOSIT, TENDER_PRICE - DEPOSIT
    s.buyer_fee, s.seller_fee, s.paid_at, s.settled_at = TENDER_FEE, Decimal("0.00"), now, now
    s.certificate_due_at, s.source, s.source_ref = now + timedelta(days=3), "receipt", "BANK-0001"
    fire(listing, "settled", users["finance"])
    db.session.commit()
    return s


def certifiable(users, listing, regs, db) -> Deal:
    """Stage ``certification`` from :func:`open_trading`: :func:`concluded`, :func:`make_contract_effective`,
    :func:`settle` — the listing is in 鉴证.  (Contract and Settlement rows are written directly, with the ledger
    moves done through exchange.ledger.services so the books balance.)"""
    deal = concluded(users, listing, regs, db)
    make_contract_effective(users, deal, db)
    settle(users, deal, db)
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    assert deal.listing.state == "certification"
    return deal


# --- the whole life ---------------------------------------------------------------------------------------------------

class Lifecycle:
    """Takes a listing to a stage of its life through the services, the way the fixtures of ``tests/lifecycle.py``
    do it, and keeps what was built::

        life = Lifecycle(users, db).to("contract")      # 网络竞价, 交易公示 over, the contract drafted
        life.listing, life.regs, life.deal, life.contract

    ``users`` is the staff set of ``tests.factories`` (the ``users`` fixture); buyer_coop and buyer_3 are added
    where the route needs them.  The clock must be frozen (the ``frozen`` fixture); the steps move it as the
    fixtures do.  Each stage is reached along a route (``via``):

    * ``online`` (the default): announced → trading → publicity → contract → contract_overdue;
    * ``agreement`` (the default for settlement): announced → trading (buyer_org alone paid) → publicity →
      contract → settlement;
    * ``tender`` (the default for certification and completed): announced → trading → contract (an offline
      tender result, its publicity over) → settlement → certification → completed.

    ``to`` may be called again to go further along the same route.
    """

    ROUTES = {
        "online": ("announced", "trading", "publicity", "contract", "contract_overdue"),
        "agreement": ("announced", "trading", "publicity", "contract", "settlement"),
        "tender": ("announced", "trading", "contract", "settlement", "certification", "completed"),
    }
    DEFAULT_ROUTE = {"settlement": "agreement", "certification": "tender", "completed": "tender"}

    def __init__(self, users, db, via: str | None = None):
        self.users, self.db, self.via = users, db, via
        self.stage: str | None = None
        self.listing = self.regs = self.deal = self.contract = self.settlement = self.certificate = None

    def to(self, stage: str, via: str | None = None) -> "Lifecycle":
        route = via or self.via or self.DEFAULT_ROUTE.get(stage, "online")
        if self.via and route != self.via:
            raise ValueError(f"this listing went along route {self.via!r}, not {route!r}")
        steps = self.ROUTES[route]
        if stage not in steps:
            raise ValueError(f"stage {stage!r} is not on route {route!r}: {steps}")
        self.via = route
        done = steps.index(self.stage) + 1 if self.stage else 0
        if steps.index(stage) < done - 1:
            raise ValueError(f"already past {stage!r} (at {self.stage!r})")
        if self.stage is None and stage != "announced":
            self._buyers()  # as the ``buyers`` fixture: before the listing
        for name in steps[done:steps.index(stage) + 1]:
            getattr(self, f"_{name}")()
            self.stage = name
        return self

    # the steps -------------------------------------------------------------------------------------------------------

    def _buyers(self):
        if self.via != "agreement" and "buyer_coop" not in self.users:  # the agreement has buyer_org alone
            add_buyers(self.users)

    def _announced(self):
        self.listing = announce(self.users, self.db)

    def _trading(self):
        self._buyers()
        if self.via == "agreement":
            self.listing, self.regs = open_trading(self.users, self.listing, self.db, keys=("buyer_org",), priority=())
        else:
            self.listing, self.regs = open_trading(self.users, self.listing, self.db)

    def _publicity(self):
        if self.via == "agreement":
            self.deal = agree(self.users, self.listing, self.db)
        else:
            self.deal = win_online(self.users, self.listing, self.regs, self.db)
        self.listing = self.deal.listing

    def _contract(self):
        if self.via == "tender":
            self.deal = concluded(self.users, self.listing, self.regs, self.db)
            self.contract = self.db.session.scalar(select(Contract).where(Contract.deal_id == self.deal.id))
        else:
            self.contract = end_publicity(self.deal)
            assert self.contract is not None
        self.listing = self.deal.listing

    def _contract_overdue(self):
        let_lapse(self.contract)
        self.deal = self.db.session.get(Deal, self.deal.id)

    def _settlement(self):
        if self.via == "tender":
            self.contract = make_contract_effective(self.users, self.deal, self.db)
        else:
            make_effective(self.users, self.deal)
            self.contract = self.db.session.scalar(select(Contract).where(Contract.deal_id == self.deal.id))
        self.settlement = self.db.session.scalar(select(Settlement).where(Settlement.deal_id == self.deal.id))
        self.listing = self.deal.listing

    def _certification(self):
        self.settlement = settle(self.users, self.deal, self.db)
        self.db.session.expire_all()
        self.deal = self.db.session.get(Deal, self.deal.id)
        assert self.deal.listing.state == "certification"
        self.listing = self.deal.listing

    def _completed(self):
        from exchange.certificates import services as csvc
        self.certificate = csvc.issue(self.users["center_reviewer"], self.deal)
        self.db.session.commit()
        self.db.session.expire_all()
        self.listing = self.db.session.get(Listing, self.deal.listing_id)


# --- 统计分析: a known November 2026 --------------------------------------------------------------------------------------

D = Decimal
NOV = {"from": "2026-11-01", "to": "2026-11-30"}


def bj(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    """A Beijing wall-clock time (default: 2026, 09:00) as the aware UTC instant the database stores."""
    return clock.local_datetime(datetime(year, month, day).date(), hour)


def stats_listing(orgs, key, *, station, point, cat="C01", method="online_bidding", floor=None, qty="10", unit="亩",
                   submitted=None, published=None, announce_end=None, state="announced", state_since=None,
                   events=()) -> Listing:
    from exchange.catalog.models import TransferMethod
    from exchange.listings.models import ListingEvent
    category_ = _db.session.scalar(select(Category).where(Category.code == cat))
    tm = _db.session.scalar(select(TransferMethod).where(TransferMethod.category_id == category_.id))
    st, pt = getattr(orgs, station), (getattr(orgs, point) if point else None)
    listing = Listing(project_no=f"LXNCJY-T-{key}", title=f"测试项目{key}", state=state, category_id=category_.id,
                      method_id=tm.id, station_id=st.id, point_id=pt.id if pt else None,
                      org_path=(pt or st).path, quantity=D(qty), unit=unit,
                      floor_price=D(floor) if floor else None, trading_method=method, submitted_at=submitted,
                      published_at=published, announce_start_at=published, announce_end_at=announce_end,
                      state_since=state_since or published or submitted or clock.now(),
                      origin="point" if pt else "direct")
    _db.session.add(listing)
    _db.session.flush()
    for action, at in events:
        _db.session.add(ListingEvent(listing_id=listing.id, action=action, at=at, actor_name="测试"))
    return listing


def stats_deal(users, listing, key, price, concluded, *, contract_due, effective=None, settle_due=None,
                settled=None, cert_due=None, issued=None, method=None) -> Deal:
    from exchange.certificates.models import Certificate
    from exchange.registrations.models import Registration
    buyer = users["buyer"]
    reg = Registration(listing_id=listing.id, buyer_id=buyer.id)
    _db.session.add(reg)
    _db.session.flush()
    deal = Deal(deal_no=f"CJ-T-{key}", listing_id=listing.id, registration_id=reg.id, buyer_id=buyer.id,
                method=method or listing.trading_method, price=D(price), concluded_at=concluded, state="confirmed",
                publicity_end_at=concluded + timedelta(days=1), contract_due_at=contract_due)
    _db.session.add(deal)
    _db.session.flush()
    _db.session.add(Contract(deal_id=deal.id, listing_id=listing.id, template="land", due_at=contract_due,
                             effective_at=effective, state="checked" if effective else "draft"))
    if settle_due:
        _db.session.add(Settlement(deal_id=deal.id, listing_id=listing.id, price=D(price), deposit_converted=D(0),
                                   balance_due=D(price), buyer_fee=D(0), seller_fee=D(0), payment_ref=f"JS-T-{key}",
                                   due_at=settle_due, settled_at=settled, certificate_due_at=cert_due,
                                   state="settled" if settled else "awaiting"))
    if issued:
        _db.session.add(Certificate(cert_no=f"鉴-T-{key}", year=2026, seq=int(key), deal_id=deal.id, issued_at=issued,
                                    pdf_key="k", pdf_sha256="0" * 64, pdf_size=1))
    _db.session.flush()
    return deal


def stats_refund(users, listing, due, approved=None, who="buyer"):
    from exchange.ledger.models import Refund
    acc = led.deposit_account(listing, users[who])
    _db.session.add(Refund(account_id=acc.id, listing_id=listing.id, amount=D("100"), reason="lost", due_at=due,
                           approved_at=approved, state="approved" if approved else "pending"))


def stats_data(users, orgs, db) -> SimpleNamespace:
    """Two towns: 长安街道 (A: villages 新建村 a1, 茶园村 a2) and 江南镇 (B: 团湖村 b1, 山峰村 b2).  Now is
    2026-12-15 10:00 Beijing time; November 2026 is the month the figures of tests/test_stats.py are worked out
    for.  Rows written directly (``L``: the listings L1…L7 by number)."""
    clock.freeze(bj(12, 15, 10))
    L1 = stats_listing(orgs, 1, station="station_a", point="point_a1", floor="100000", qty="50",
                        submitted=bj(11, 2), published=bj(11, 4), announce_end=bj(11, 11), state="completed",
                        events=[("submit", bj(11, 2)), ("station_pass", bj(11, 2, 15)), ("center_approve", bj(11, 4))])
    L2 = stats_listing(orgs, 2, station="station_a", point="point_a2", method="agreement", floor="50000", qty="2000",
                        unit="平方米", submitted=bj(11, 3), published=bj(11, 6), announce_end=bj(11, 13),
                        state="settlement",
                        events=[("submit", bj(11, 1)), ("station_return", bj(11, 1, 21)), ("submit", bj(11, 3)),
                                ("station_pass", bj(11, 4)), ("center_approve", bj(11, 6))])
    L3 = stats_listing(orgs, 3, station="station_a", point="point_a1", cat="C06", floor="30000", qty="2", unit="台",
                        submitted=bj(11, 5), published=bj(11, 9), announce_end=bj(11, 16), state="failed",
                        state_since=bj(11, 17),
                        events=[("submit", bj(11, 5)), ("station_pass", bj(11, 6)), ("center_return", bj(11, 7)),
                                ("submit", bj(11, 8)), ("station_pass", bj(11, 8, 21)), ("center_approve", bj(11, 9))])
    L4 = stats_listing(orgs, 4, station="station_b", point="point_b1", cat="C02", method="sealed_bid",
                        floor="200000", qty="100", submitted=bj(10, 20), published=bj(10, 28),
                        announce_end=bj(11, 4), state="completed",
                        events=[("submit", bj(10, 20)), ("station_pass", bj(10, 21)), ("center_approve", bj(10, 28))])
    L5 = stats_listing(orgs, 5, station="station_b", point=None, method="agreement", qty="10", submitted=bj(11, 20),
                        published=bj(11, 25), announce_end=bj(12, 2), state="trading",
                        events=[("submit", bj(11, 20)), ("center_approve", bj(11, 25))])
    L6 = stats_listing(orgs, 6, station="station_b", point="point_b2", submitted=bj(12, 1), state="station_review",
                        events=[("submit", bj(12, 1))])
    L7 = stats_listing(orgs, 7, station="station_a", point="point_a1", method="agreement", floor="10000", qty="5",
                        submitted=bj(11, 25), published=bj(11, 27), announce_end=bj(12, 4), state="contract",
                        events=[("submit", bj(11, 25)), ("station_pass", bj(11, 26)), ("center_approve", bj(11, 27))])
    stats_deal(users, L1, 1, "120000", bj(11, 12, 10), contract_due=bj(11, 19, 10), effective=bj(11, 16, 10),
                settle_due=bj(11, 26, 10), settled=bj(11, 20, 10), cert_due=bj(11, 25, 10), issued=bj(11, 21, 10))
    stats_deal(users, L2, 2, "50000", bj(11, 14, 10), contract_due=bj(11, 21, 10), effective=bj(11, 24, 10),  # late
                settle_due=bj(12, 4, 10))  # never settled: missed in December
    stats_deal(users, L4, 4, "260000", bj(11, 5, 10), contract_due=bj(11, 12, 10), effective=bj(11, 10, 10),
                settle_due=bj(11, 20, 10), settled=bj(11, 18, 10), cert_due=bj(11, 23, 10),
                issued=bj(11, 25, 10))  # late
    stats_deal(users, L7, 7, "11000", bj(12, 5, 10), contract_due=bj(12, 12, 10))  # December; contract overdue
    stats_refund(users, L1, bj(11, 20), bj(11, 19))
    stats_refund(users, L4, bj(11, 10), bj(11, 12))
    stats_refund(users, L7, bj(12, 20))  # still running: not counted
    led.record_deposit(L7, users["buyer_org"], D("2000"), key="dep-L7")
    db.session.commit()
    return SimpleNamespace(L=[None, L1, L2, L3, L4, L5, L6, L7])


# --- working days after 2026 ------------------------------------------------------------------------------------------

# The 2027 notice, invented for the tests: 元旦 1-1…1-4 with Saturday 1-9 worked, so a clock across the New Year moves.
NOTICE_2027 = (Path(__file__).parent / "data" / "notices" / "2027-test.txt").read_text(encoding="utf-8")


def beijing(y, m, d, h=10, mi=0) -> datetime:
    """A Beijing wall-clock time as aware UTC."""
    return clock.local_datetime(date(y, m, d), h, mi)


def deal_concluded_on(users, when: datetime):
    """A household listing published 2026-12-14, two paid buyers, an auction result concluded at ``when`` (测试受让人
    at 170 000 元); (listing, deal)."""
    clock.freeze(beijing(2026, 12, 14, 9))
    listing = published(users)
    regs = pay(users, listing, ["buyer", "buyer_org"])
    _db.session.commit()
    listing = to_trading(listing)
    clock.freeze(when)
    deal = tsvc.record_offline(users["trading_officer"], listing, method="auction", registration_id=regs["buyer"].id,
                               price="170000", held_on=clock.today_local().isoformat(), document=PDF,
                               document_filename="拍卖记录.pdf")
    _db.session.commit()
    return listing, deal
