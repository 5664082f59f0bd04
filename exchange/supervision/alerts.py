"""监督预警 (第六条, 第二十五条; DESIGN §3.9): the detector that finds what the supervisor must look at, and the
center's acknowledge / resolve record of each warning.

Kinds (``exchange.supervision.models.ALERT_KINDS``):

* ``overdue`` — a statutory clock ran out and the thing is not done: 签约 (第十六条), 结算 (第十七条),
  鉴证 (第十八条), 退还保证金 (第十九条(二)).  The same conditions as the sweeper's overdue flags
  (:mod:`exchange.deadlines.overdue`): what its ``due`` queries find (overdue, not yet flagged) plus what it
  already flagged in the audit trail and is still not done.
* ``low_price`` — a deal's price below ``ALERT_LOW_PRICE_SHARE`` (default 70 %) of the listing's appraisal.
* ``shared_contact`` — two or more buyers of one listing share a mobile number (account or party), an IP
  address (their bids, or the request that filed the application — from the audit trail) or the bank account
  their deposit came from (imported bank statement lines).
* ``repeat_winner`` — one buyer won ``ALERT_REPEAT_WINNER_MIN`` (default 3) deals without competition (the
  only paid buyer, or the only one who bid) within ``ALERT_REPEAT_WINNER_DAYS`` (default 365) days.
* ``repeated_failure`` — one asset failed (流拍) ``ALERT_FAILURES_MIN`` (default 2) times along its relisting
  chain (``Listing.relisted_from_id``).

``kind`` + ``subject`` identify a warning: finding the same thing again only moves ``last_seen_at`` (and
refreshes the facts of a warning nobody has resolved yet).  The two kinds that grow (a buyer's next
uncontested win, an asset's next 流拍) have a subject with the newest case in it and a *group* without:
while a warning of the group is unresolved it absorbs the new facts; once resolved, a new case is a new row.

Every detector is a handful of set-based queries (no per-row loops over the database); ``detect`` runs them
all, upserts, flushes and returns the number of new warnings.  The sweeper runs it every pass
(``alerts.detect`` in :data:`exchange.deadlines.sweeper.HANDLERS`), ``flask --app wsgi alerts detect`` on
demand.  Details are stored masked (138****5678, 10.3.*.*, ************7890, 张*).
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app, has_app_context
from sqlalchemy import Integer, String, and_, cast, distinct, func, literal, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from exchange import clock
from exchange.access import require
from exchange.audit.services import usable_ip
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.idcheck import mask_bank_account, mask_mobile, mask_name
from exchange.ledger.states import RefundState
from exchange.registrations.states import RegState
from exchange.supervision.models import ALERT_KINDS, ALERT_STATES, SupervisionAlert
from exchange.supervision.states import ALERT, AlertState

DEFAULTS = {
    "ALERT_LOW_PRICE_SHARE": "0.70",
    "ALERT_REPEAT_WINNER_MIN": 3,
    "ALERT_REPEAT_WINNER_DAYS": 365,
    "ALERT_FAILURES_MIN": 2,
    "ALERT_LOOKBACK_DAYS": 365,
}


class AlertError(ServiceError):
    pass


def setting(key: str):
    if has_app_context():
        return current_app.config.get(key, DEFAULTS[key])
    return DEFAULTS[key]


def low_price_share() -> Decimal:
    try:
        share = Decimal(str(setting("ALERT_LOW_PRICE_SHARE")))
    except (InvalidOperation, ValueError):
        share = Decimal(DEFAULTS["ALERT_LOW_PRICE_SHARE"])
    return share if Decimal("0") < share <= Decimal("1") else Decimal(DEFAULTS["ALERT_LOW_PRICE_SHARE"])


def _int_setting(key: str, minimum: int = 1) -> int:
    try:
        return max(minimum, int(setting(key)))
    except (TypeError, ValueError):
        return int(DEFAULTS[key])


# --- masking --------------------------------------------------------------------------------------------

def mask_ip(value: str) -> str:
    """``10.3.25.7`` → ``10.3.*.*``; IPv6 keeps its first two groups."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return "***"
    if ip.version == 4:
        a, b, _c, _d = str(ip).split(".")
        return f"{a}.{b}.*.*"
    groups = ip.exploded.split(":")
    return f"{groups[0]}:{groups[1]}:*"


CONTACT_LABELS = {"phone": "手机号码", "ip": "IP 地址", "account": "银行账户"}
MASKS = {"phone": mask_mobile, "ip": mask_ip, "account": mask_bank_account}


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def _yuan(value) -> str:
    from exchange.money import format_yuan
    return format_yuan(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else clock.ensure_aware(value).isoformat()


# --- findings -------------------------------------------------------------------------------------------

@dataclass
class Finding:
    kind: str
    subject: str
    summary: str
    listing_id: int | None = None
    severity: str = "medium"
    details: dict = field(default_factory=dict)
    group: str | None = None  # see the module docstring


def _buyer_names(buyer_ids) -> dict[int, str]:
    """Buyers' names for the details: organisations as registered, natural persons masked (张*)."""
    from exchange.accounts.models import Party, User
    ids = sorted({i for i in buyer_ids if i})
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name, Party.kind, Party.name)
                              .outerjoin(Party, Party.user_id == User.id).where(User.id.in_(ids)))
    out = {}
    for uid, display, kind, name in rows:
        out[uid] = name if kind == "organisation" and name else mask_name(name or display)
    return out


# overdue ------------------------------------------------------------------------------------------------

def _flagged_ids(action: str, obj_type: str, id_column, *conds) -> list[int]:
    """Objects the sweeper already flagged (``action`` on ``obj_type`` in the audit trail) and still not done."""
    return list(db.session.scalars(select(id_column).where(id_column.in_(_flagged(action, obj_type)), *conds)))


def _flagged(action: str, obj_type: str):
    """The ids (integers) of the objects with an ``action`` entry in the audit trail (indexed by action)."""
    from exchange.audit.models import AuditEntry
    return select(cast(AuditEntry.object_id, Integer)).where(AuditEntry.action == action,
                                                             AuditEntry.object_type == obj_type)


def _overdue(now: datetime) -> list[Finding]:
    from exchange.certificates.models import Certificate
    from exchange.contracts.models import Contract
    from exchange.deadlines import overdue as od
    from exchange.workdays.services import due_text
    from exchange.ledger.models import Refund
    from exchange.listings.models import Listing
    from exchange.settlement.models import Settlement
    from exchange.trading.models import Deal

    found: list[Finding] = []
    # 签约 (第十六条)
    ids = set(od.CONTRACTS.due(now)) | set(_flagged_ids(od.CONTRACT_OVERDUE, "contract", Contract.id,
                                                        Contract.state.in_(od.CONTRACT_OPEN)))
    if ids:
        for c_id, due, state, lid, no, title, deal_no in db.session.execute(
                select(Contract.id, Contract.due_at, Contract.state, Listing.id, Listing.project_no, Listing.title,
                       Deal.deal_no).join(Listing, Listing.id == Contract.listing_id)
                .join(Deal, Deal.id == Contract.deal_id).where(Contract.id.in_(ids))):
            found.append(Finding(
                "overdue", f"contract:{c_id}",
                f"合同逾期未签订：{no} {title}（成交 {deal_no}），应于 {due_text(due)} 前签订（第十六条）",
                lid, "high", {"clock": "contract", "clock_label": "签约（5 个工作日，第十六条）", "project_no": no,
                              "deal_no": deal_no, "contract_id": c_id, "due_at": _iso(due), "state": state}))
    # 结算 (第十七条)
    ids = set(od.SETTLEMENTS.due(now)) | set(_flagged_ids(od.SETTLEMENT_OVERDUE, "settlement", Settlement.id,
                                                          Settlement.state != "settled"))
    if ids:
        for s_id, due, state, lid, no, title, deal_no, deal_id in db.session.execute(
                select(Settlement.id, Settlement.due_at, Settlement.state, Listing.id, Listing.project_no,
                       Listing.title, Deal.deal_no, Deal.id).join(Listing, Listing.id == Settlement.listing_id)
                .join(Deal, Deal.id == Settlement.deal_id).where(Settlement.id.in_(ids))):
            found.append(Finding(
                "overdue", f"settlement:{s_id}",
                f"资金结算逾期：{no} {title}（成交 {deal_no}），应于 {due_text(due)} 前完成结算（第十七条）",
                lid, "high", {"clock": "settlement", "clock_label": "结算（10 天，第十七条）", "project_no": no,
                              "deal_no": deal_no, "deal_id": deal_id, "settlement_id": s_id, "due_at": _iso(due),
                              "state": state}))
    # 鉴证 (第十八条): flagged on the deal
    valid = select(Certificate.id).where(Certificate.deal_id == Settlement.deal_id,
                                         Certificate.state == "valid").exists()
    ids = set(od.CERTIFICATES.due(now)) | set(db.session.scalars(
        select(Settlement.id).where(Settlement.deal_id.in_(_flagged(od.CERTIFICATE_OVERDUE, "deal")), ~valid)))
    if ids:
        for s_id, due, lid, no, title, deal_no, deal_id in db.session.execute(
                select(Settlement.id, Settlement.certificate_due_at, Listing.id, Listing.project_no, Listing.title,
                       Deal.deal_no, Deal.id).join(Listing, Listing.id == Settlement.listing_id)
                .join(Deal, Deal.id == Settlement.deal_id).where(Settlement.id.in_(ids))):
            found.append(Finding(
                "overdue", f"certificate:deal:{deal_id}",
                f"鉴证书逾期未出具：{no} {title}（成交 {deal_no}），应于 {due_text(due)} 前出具（第十八条）",
                lid, "medium", {"clock": "certificate", "clock_label": "鉴证（3 个工作日，第十八条）",
                                "project_no": no, "deal_no": deal_no, "deal_id": deal_id, "settlement_id": s_id,
                                "due_at": _iso(due)}))
    # 退还保证金 (第十九条(二))
    ids = set(od.REFUNDS.due(now)) | set(_flagged_ids(od.REFUND_OVERDUE, "refund", Refund.id,
                                                      Refund.state.in_(RefundState.UNPAID)))
    if ids:
        for r_id, due, state, amount, lid, no, title in db.session.execute(
                select(Refund.id, Refund.due_at, Refund.state, Refund.amount, Listing.id, Listing.project_no,
                       Listing.title).outerjoin(Listing, Listing.id == Refund.listing_id).where(Refund.id.in_(ids))):
            where = f"{no} {title}" if no else f"退款 #{r_id}"
            found.append(Finding(
                "overdue", f"refund:{r_id}",
                f"保证金退款逾期：{where}，{_yuan(amount)} 元，应于 {due_text(due)} 前退还（第十九条）",
                lid, "high", {"clock": "refund", "clock_label": "退还保证金（5 个工作日，第十九条）",
                              "project_no": no, "refund_id": r_id, "amount": _yuan(amount), "due_at": _iso(due),
                              "state": state}))
    return found


# low price ----------------------------------------------------------------------------------------------

def _low_price(now: datetime) -> list[Finding]:
    from exchange.listings.models import Listing
    from exchange.trading.models import LIVE_DEAL_STATES, Deal
    share = low_price_share()
    since = now - timedelta(days=_int_setting("ALERT_LOOKBACK_DAYS"))
    rows = db.session.execute(
        select(Deal.id, Deal.deal_no, Deal.price, Deal.concluded_at, Listing.id, Listing.project_no, Listing.title,
               Listing.appraisal_value, Listing.floor_price)
        .join(Listing, Listing.id == Deal.listing_id)
        .where(Deal.state.in_(LIVE_DEAL_STATES), Deal.concluded_at >= since, Listing.appraisal_value.is_not(None),
               Deal.price < Listing.appraisal_value * share))
    found = []
    for deal_id, deal_no, price, concluded, lid, no, title, appraisal, floor in rows:
        pct = (Decimal(price) / Decimal(appraisal) * 100).quantize(Decimal("0.1"))
        line = f"{share * 100:.0f}%"
        found.append(Finding(
            "low_price", f"deal:{deal_id}",
            f"成交价明显低于评估价：{no} {title}，成交价 {_yuan(price)} 元，为评估价 {_yuan(appraisal)} 元的 {pct}%"
            f"（预警线 {line}）", lid, "medium",
            {"project_no": no, "deal_no": deal_no, "deal_id": deal_id, "price": _yuan(price),
             "appraisal": _yuan(appraisal), "floor_price": None if floor is None else _yuan(floor),
             "percent_of_appraisal": str(pct), "threshold": line, "concluded_at": _iso(concluded)}))
    return found


# shared phone / IP / bank account ------------------------------------------------------------------------

# a buyer the reviewer refused does not count as a bidder sharing contacts (one who let the deposit lapse does)
SHARED_REG_EXCLUDED = (RegState.REJECTED.value,)


def _contacts(since: datetime):
    """(listing_id, registration_id, buyer_id, kind, value) for every buyer of a listing: mobile numbers of the
    account and of the party, IP addresses of the bids and of the application request, the bank accounts the
    deposit came from."""
    from exchange.accounts.models import Party, User
    from exchange.audit.models import AuditEntry
    from exchange.payments.models import StatementLine
    from exchange.registrations.models import Registration
    from exchange.trading.models import Bid

    live = and_(Registration.state.not_in(SHARED_REG_EXCLUDED), Registration.created_at >= since)
    cols = (Registration.listing_id.label("listing_id"), Registration.id.label("reg_id"),
            Registration.buyer_id.label("buyer_id"))
    phone_user = (select(*cols, literal("phone").label("kind"), func.trim(User.mobile).label("value"))
                  .join(User, User.id == Registration.buyer_id).where(live, User.mobile.is_not(None)))
    phone_party = (select(*cols, literal("phone"), func.trim(Party.mobile))
                   .join(Party, Party.user_id == Registration.buyer_id).where(live))
    ip_bid = (select(*cols, literal("ip"), func.trim(Bid.ip))
              .join(Bid, Bid.registration_id == Registration.id).where(live))
    ip_apply = (select(*cols, literal("ip"), func.trim(AuditEntry.ip))
                .join(AuditEntry, and_(AuditEntry.action == "registration.apply",
                                       AuditEntry.object_type == "registration",
                                       AuditEntry.object_id == cast(Registration.id, String)))
                .where(live, AuditEntry.ip.is_not(None)))
    account = (select(*cols, literal("account"), func.replace(func.trim(StatementLine.payer_account), " ", ""))
               .join(StatementLine, StatementLine.registration_id == Registration.id)
               .where(live, StatementLine.amount > 0))
    return union_all(phone_user, phone_party, ip_bid, ip_apply, account).cte("contact")


def _shared_contacts(now: datetime) -> list[Finding]:
    from exchange.listings.models import Listing
    from exchange.registrations.models import Registration
    since = now - timedelta(days=_int_setting("ALERT_LOOKBACK_DAYS"))
    c = _contacts(since)
    shared = (select(c.c.listing_id, c.c.kind, c.c.value).where(c.c.value.is_not(None), c.c.value != "")
              .group_by(c.c.listing_id, c.c.kind, c.c.value)
              .having(func.count(distinct(c.c.buyer_id)) >= 2).subquery())
    rows = db.session.execute(
        select(c.c.listing_id, c.c.kind, c.c.value, c.c.buyer_id, c.c.reg_id)
        .join(shared, and_(shared.c.listing_id == c.c.listing_id, shared.c.kind == c.c.kind,
                           shared.c.value == c.c.value)).distinct()).all()
    groups: dict[tuple, dict[int, int]] = {}
    for lid, kind, value, buyer_id, reg_id in rows:
        if kind == "ip" and not usable_ip(value):
            continue
        groups.setdefault((lid, kind, value), {})[buyer_id] = reg_id
    groups = {k: v for k, v in groups.items() if len(v) >= 2}
    if not groups:
        return []
    listing_ids = {k[0] for k in groups}
    listings = {lid: (no, title) for lid, no, title in db.session.execute(
        select(Listing.id, Listing.project_no, Listing.title).where(Listing.id.in_(listing_ids)))}
    reg_ids = {r for v in groups.values() for r in v.values()}
    bidder_nos = dict(db.session.execute(select(Registration.id, Registration.bidder_no)
                                         .where(Registration.id.in_(reg_ids))).all())
    names = _buyer_names({b for v in groups.values() for b in v})
    found = []
    for (lid, kind, value), buyers in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        no, title = listings.get(lid, ("", ""))
        label, masked = CONTACT_LABELS[kind], MASKS[kind](value)
        people = [{"registration_id": reg, "bidder_no": bidder_nos.get(reg), "name": names.get(buyer, "")}
                  for buyer, reg in sorted(buyers.items(), key=lambda kv: kv[1])]
        found.append(Finding(
            "shared_contact", f"listing:{lid}:{kind}:{_digest(value)}",
            f"竞买人共用{label}：{no} {title} 有 {len(buyers)} 个意向受让方使用同一{label} {masked}（第二十五条）",
            lid, "high", {"project_no": no, "contact": kind, "contact_label": label, "value": masked,
                          "buyers": people}))
    return found


# the same buyer winning without competition ----------------------------------------------------------------

def _uncontested_deals(since: datetime):
    from exchange.registrations.models import Registration
    from exchange.trading.models import LIVE_DEAL_STATES, Bid, Deal
    paid = (select(func.count(Registration.id)).where(Registration.listing_id == Deal.listing_id,
                                                      Registration.paid_at.is_not(None))
            .correlate(Deal).scalar_subquery())
    bidders = (select(func.count(distinct(Bid.registration_id))).where(Bid.session_id == Deal.session_id)
               .correlate(Deal).scalar_subquery())
    return and_(Deal.state.in_(LIVE_DEAL_STATES), Deal.concluded_at >= since,
                or_(paid <= 1, and_(Deal.session_id.is_not(None), bidders <= 1)))


def _repeat_winners(now: datetime) -> list[Finding]:
    from exchange.listings.models import Listing
    from exchange.trading.models import Deal
    days, n_min = _int_setting("ALERT_REPEAT_WINNER_DAYS"), _int_setting("ALERT_REPEAT_WINNER_MIN", 2)
    cond = _uncontested_deals(now - timedelta(days=days))
    buyers = list(db.session.scalars(select(Deal.buyer_id).where(cond).group_by(Deal.buyer_id)
                                     .having(func.count(Deal.id) >= n_min)))
    if not buyers:
        return []
    deals: dict[int, list] = {}
    for buyer_id, deal_id, deal_no, price, concluded, method, lid, no, title in db.session.execute(
            select(Deal.buyer_id, Deal.id, Deal.deal_no, Deal.price, Deal.concluded_at, Deal.method, Listing.id,
                   Listing.project_no, Listing.title).join(Listing, Listing.id == Deal.listing_id)
            .where(cond, Deal.buyer_id.in_(buyers)).order_by(Deal.concluded_at, Deal.id)):
        deals.setdefault(buyer_id, []).append({"deal_id": deal_id, "deal_no": deal_no, "listing_id": lid,
                                               "project_no": no, "title": title, "price": _yuan(price),
                                               "method": method, "concluded_at": _iso(concluded)})
    names = _buyer_names(buyers)
    found = []
    for buyer_id in sorted(deals):
        items = deals[buyer_id]
        latest = max(items, key=lambda d: d["deal_id"])
        name = names.get(buyer_id, f"用户 #{buyer_id}")
        found.append(Finding(
            "repeat_winner", f"buyer:{buyer_id}#deal:{latest['deal_id']}",
            f"同一受让方多次无竞争成交：{name} 近 {days} 天内 {len(items)} 次作为唯一竞买人成交（预警线 {n_min} 次）",
            latest["listing_id"], "medium",
            {"buyer_id": buyer_id, "buyer": name, "count": len(items), "days": days, "threshold": n_min,
             "deals": items}, group=f"buyer:{buyer_id}"))
    return found


# repeated 流拍 of one asset --------------------------------------------------------------------------------

def _repeated_failures(now: datetime) -> list[Finding]:
    from exchange.listings.models import Listing
    n_min = _int_setting("ALERT_FAILURES_MIN", 2)
    # walk up from every failed listing to the first listing of its relisting chain
    up = (select(Listing.id.label("start"), Listing.id.label("node"), Listing.relisted_from_id.label("parent"))
          .where(Listing.state == "failed").cte("chain_up", recursive=True))
    parent = aliased(Listing)
    up = up.union_all(select(up.c.start, parent.id, parent.relisted_from_id)
                      .join(parent, parent.id == up.c.parent))
    roots = select(up.c.start, up.c.node.label("root")).where(up.c.parent.is_(None)).subquery()
    chains = list(db.session.execute(select(roots.c.root, func.count(roots.c.start), func.max(roots.c.start))
                                     .group_by(roots.c.root).having(func.count(roots.c.start) >= n_min)))
    if not chains:
        return []
    chain_of = {}
    for start, root in db.session.execute(select(roots.c.start, roots.c.root)
                                          .where(roots.c.root.in_([r for r, _n, _l in chains]))):
        chain_of.setdefault(root, []).append(start)
    all_ids = {i for ids in chain_of.values() for i in ids}
    info = {lid: (no, title, floor, since) for lid, no, title, floor, since in db.session.execute(
        select(Listing.id, Listing.project_no, Listing.title, Listing.floor_price, Listing.state_since)
        .where(Listing.id.in_(all_ids)))}
    found = []
    for root, n, latest in chains:
        failed = sorted(chain_of.get(root, []))
        no, title, _floor, _since = info.get(latest, ("", "", None, None))
        items = [{"listing_id": i, "project_no": info[i][0], "floor_price": None if info[i][2] is None
                  else _yuan(info[i][2]), "failed_at": _iso(info[i][3])} for i in failed if i in info]
        found.append(Finding(
            "repeated_failure", f"asset:{root}#failed:{latest}",
            f"同一标的多次流拍：{title} 已流拍 {n} 次（最近一次 {no}），请关注底价和挂牌条件是否合理",
            latest, "low", {"root_listing_id": root, "count": n, "threshold": n_min, "failures": items},
            group=f"asset:{root}"))
    return found


DETECTORS = (_overdue, _low_price, _shared_contacts, _repeat_winners, _repeated_failures)


# --- upsert ---------------------------------------------------------------------------------------------

def _dumps(details: dict) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _chunks(items: list, n: int = 500):
    for i in range(0, len(items), n):
        yield items[i:i + n]


def upsert(findings: list[Finding], now: datetime) -> list[SupervisionAlert]:
    """Store the findings (see the module docstring); returns the new alerts (flushed)."""
    from exchange.audit.services import record
    from exchange.db import savepoint
    if not findings:
        return []
    existing: dict[tuple[str, str], SupervisionAlert] = {}
    for kind in {f.kind for f in findings}:
        subjects = sorted({f.subject for f in findings if f.kind == kind})
        for part in _chunks(subjects):
            for a in db.session.scalars(select(SupervisionAlert).where(SupervisionAlert.kind == kind,
                                                                       SupervisionAlert.subject.in_(part))):
                existing[(a.kind, a.subject)] = a
    open_groups: dict[tuple[str, str], SupervisionAlert] = {}
    for kind in {f.kind for f in findings if f.group}:
        for a in db.session.scalars(select(SupervisionAlert).where(SupervisionAlert.kind == kind,
                                                                   SupervisionAlert.state.in_(AlertState.UNRESOLVED))
                                    .order_by(SupervisionAlert.id)):
            open_groups.setdefault((kind, a.subject.split("#", 1)[0]), a)
    seen_ids: list[int] = []
    new: list[SupervisionAlert] = []
    for f in findings:
        alert = existing.get((f.kind, f.subject))
        if alert is None and f.group:
            alert = open_groups.get((f.kind, f.group))
            if alert is not None:  # the unresolved warning of the group takes the newest case's subject
                alert.subject = f.subject[:120]
                existing[(f.kind, f.subject)] = alert
        if alert is not None:
            seen_ids.append(alert.id)
            if alert.is_unresolved:
                text = _dumps(f.details)
                if alert.details != text or alert.summary != f.summary[:300] or alert.severity != f.severity:
                    alert.details, alert.summary, alert.severity = text, f.summary[:300], f.severity
                    alert.listing_id = f.listing_id
            continue
        alert = SupervisionAlert(kind=f.kind, subject=f.subject[:120], listing_id=f.listing_id, severity=f.severity,
                                 summary=f.summary[:300], details=_dumps(f.details),
                                 detected_at=now, last_seen_at=now)
        try:
            with savepoint(db.session):
                db.session.add(alert)
                db.session.flush()
        except IntegrityError:  # another process (the CLI beside the sweeper) stored it a moment ago
            continue
        existing[(f.kind, f.subject)] = alert
        if f.group:
            open_groups[(f.kind, f.group)] = alert
        record("alert.detected", f"监督预警（{ALERT_KINDS[f.kind]}）：{f.summary}"[:500], obj_type="supervision_alert",
               obj_id=alert.id, after={"kind": f.kind, "subject": alert.subject, "listing_id": f.listing_id,
                                       "severity": f.severity})
        new.append(alert)
    for part in _chunks(sorted(set(seen_ids))):
        db.session.execute(update(SupervisionAlert).where(SupervisionAlert.id.in_(part))
                           .values(last_seen_at=now).execution_options(synchronize_session=False))
    db.session.flush()
    return new


def find(now: datetime | None = None) -> list[Finding]:
    now = now or clock.now()
    out: list[Finding] = []
    for detector in DETECTORS:
        out.extend(detector(now))
    return out


def detect(now: datetime | None = None) -> int:
    """Find and store every warning; the number of new ones.  Flushes; the caller commits (the sweeper
    commits it as one unit)."""
    now = now or clock.now()
    return len(upsert(find(now), now))


# --- the center's record ------------------------------------------------------------------------------

NOTE_MAX = 2000


def _locked(alert: SupervisionAlert) -> SupervisionAlert:
    from exchange.db import lock_row
    fresh = lock_row(db.session, SupervisionAlert, alert.id)
    if fresh is None:
        raise AlertError("该预警不存在。")
    return fresh


def acknowledge(user, alert: SupervisionAlert, note: str = "") -> SupervisionAlert:
    """知悉: the center has seen the warning and is looking into it (note optional)."""
    from exchange.audit.services import record
    require(user, "alerts.handle")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise AlertError(f"说明不能超过 {NOTE_MAX} 字。", field="note")
    alert = _locked(alert)
    if alert.state != "open":
        raise AlertError(f"该预警当前为“{ALERT_STATES[alert.state]}”，不能再标记为已知悉。")
    ALERT.fire(alert, "acknowledge", user, authorised=True)
    alert.acknowledged_by_id, alert.acknowledged_at = user.id, clock.now()
    alert.acknowledge_note = note
    record("alert.acknowledge", f"知悉监督预警 #{alert.id}（{alert.kind_label}）" + (f"：{note}" if note else ""),
           obj_type="supervision_alert", obj_id=alert.id, before={"state": "open"},
           after={"state": "acknowledged", "note": note})
    return alert


def resolve(user, alert: SupervisionAlert, resolution: str) -> SupervisionAlert:
    """处理完毕: how the center dealt with it (required)."""
    from exchange.audit.services import record
    require(user, "alerts.handle")
    resolution = (resolution or "").strip()
    if len(resolution) < 2:
        raise AlertError("请填写处理结果（如何核实、采取了哪些措施）。", field="resolution")
    if len(resolution) > NOTE_MAX:
        raise AlertError(f"处理结果不能超过 {NOTE_MAX} 字。", field="resolution")
    alert = _locked(alert)
    if alert.state == "resolved":
        raise AlertError("该预警已处理完毕，不能重复处理。")
    before = alert.state
    ALERT.fire(alert, "resolve", user, reason=resolution, authorised=True)
    alert.resolved_by_id, alert.resolved_at, alert.resolution = user.id, clock.now(), resolution
    record("alert.resolve", f"处理监督预警 #{alert.id}（{alert.kind_label}）：{resolution}"[:500],
           obj_type="supervision_alert", obj_id=alert.id, before={"state": before},
           after={"state": "resolved", "resolution": resolution})
    return alert


# --- reading -------------------------------------------------------------------------------------------

def details_of(alert: SupervisionAlert) -> dict:
    try:
        value = json.loads(alert.details or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class FilterError(ServiceError):
    pass


@dataclass
class AlertFilter:
    kind: str | None = None
    state: str | None = None
    severity: str | None = None
    date_from: object = None  # date (local)
    date_to: object = None

    @classmethod
    def parse(cls, kind=None, state=None, severity=None, date_from=None, date_to=None) -> AlertFilter:
        """Filters from a query string; nonsense → FilterError (a 400 for pages and API)."""
        from datetime import date
        kind, state, severity = (kind or "").strip(), (state or "").strip(), (severity or "").strip()
        if kind and kind not in ALERT_KINDS:
            raise FilterError(f"预警类型“{kind[:20]}”不存在。", field="kind")
        if state and state not in ALERT_STATES:
            raise FilterError(f"处理状态“{state[:20]}”不存在。", field="state")
        if severity and severity not in SEVERITIES:
            raise FilterError(f"风险等级“{severity[:20]}”不存在。", field="severity")
        f = cls(kind=kind or None, state=state or None, severity=severity or None)
        for name, raw in (("date_from", date_from), ("date_to", date_to)):
            raw = (raw or "").strip()
            if not raw:
                continue
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                raise FilterError(f"日期“{raw[:20]}”格式不正确，应为 YYYY-MM-DD，如 2026-10-08。",
                                  field=name) from None
            if not 2000 <= value.year <= 2100:
                raise FilterError(f"日期“{raw}”超出范围。", field=name)
            setattr(f, name, value)
        if f.date_from and f.date_to and f.date_from > f.date_to:
            raise FilterError("开始日期不能晚于结束日期。", field="date_from")
        return f

    def statement(self):
        stmt = select(SupervisionAlert)
        if self.kind:
            stmt = stmt.where(SupervisionAlert.kind == self.kind)
        if self.state:
            stmt = stmt.where(SupervisionAlert.state == self.state)
        if self.severity:
            stmt = stmt.where(SupervisionAlert.severity == self.severity)
        if self.date_from:
            stmt = stmt.where(SupervisionAlert.detected_at >= clock.local_datetime(self.date_from))
        if self.date_to:
            stmt = stmt.where(SupervisionAlert.detected_at < clock.local_datetime(self.date_to + timedelta(days=1)))
        return stmt.order_by(
            (SupervisionAlert.state == "resolved"), SupervisionAlert.detected_at.desc(), SupervisionAlert.id.desc())


SEVERITIES = {"high": "高", "medium": "中", "low": "低"}


def counts() -> dict[str, int]:
    out = {s: 0 for s in ALERT_STATES}
    for state, n in db.session.execute(select(SupervisionAlert.state, func.count(SupervisionAlert.id))
                                       .group_by(SupervisionAlert.state)):
        out[state] = n
    return out
