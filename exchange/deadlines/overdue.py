"""Overdue flags (DESIGN §2 clocks, §4.5): a clock that ran out is written once to the audit trail.

* ``contracts.overdue`` — 签约 (第十六条): ``Contract.due_at`` passed, the contract still draft or confirmed
  (an uploaded scan waits for the center's check, which refuses a signing date after the deadline and
  returns it); audit ``contract.overdue`` on the contract, to the center.
* ``settlements.overdue`` — 结算 (第十七条): ``Settlement.due_at`` passed, not settled; audit
  ``settlement.overdue`` on the settlement, to the center.
* ``certificates.overdue`` — 鉴证 (第十八条): ``Settlement.certificate_due_at`` passed, no valid 鉴证书 for
  the deal; audit ``certificate.overdue`` on the deal, to the center.
* ``refunds.overdue`` — 退还保证金 (第十九条(二)): ``Refund.due_at`` passed, not approved; audit
  ``refund.overdue`` on the refund, to finance.

Only while the listing is still at that stage (``contract`` / ``settlement`` / ``certification``): a
中止 or 终结 listing has its clocks frozen or gone.  Refunds are flagged whatever the listing's state —
money held must go back.

No state changes here: the default flow (违约, 第二十二条) acts on these itself.  "Written once" needs no
table of its own: the audit trail is the marker.  ``due`` leaves out items that already have an entry of
the action for the object, and ``act`` checks again after taking the item's lock, so repeated passes,
a pass interrupted and restarted, or two sweepers at once write one entry per item.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, select

from exchange.deadlines.handlers import ItemHandler, lock_row
from exchange.extensions import db
from exchange.workdays.services import due_text
from exchange.contracts.states import ContractState


def _not_flagged(action: str, obj_type: str, id_column):
    from exchange.audit.models import AuditEntry
    return ~select(AuditEntry.id).where(AuditEntry.action == action, AuditEntry.object_type == obj_type,
                                        AuditEntry.object_id == cast(id_column, String)).exists()


def is_flagged(action: str, obj_type: str, obj_id: int) -> bool:
    from exchange.audit.models import AuditEntry
    return db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == action,
                                                         AuditEntry.object_type == obj_type,
                                                         AuditEntry.object_id == str(obj_id)).limit(1)) is not None


def _flag(action: str, summary: str, obj_type: str, obj_id: int, *, to: str, due_at: datetime, **after) -> None:
    from exchange.audit.services import record
    record(action, summary, obj_type=obj_type, obj_id=obj_id, after={"to": to, "due_at": due_at, **after})


# --- 签约: 5 工作日 (第十六条) ----------------------------------------------------------------------------

CONTRACT_OVERDUE = "contract.overdue"
CONTRACT_OPEN = tuple(sorted(ContractState.UNSIGNED))  # not signed by both: the 5 工作日 count


def _contracts_due(now: datetime) -> list[int]:
    from exchange.contracts.models import Contract
    from exchange.listings.models import Listing
    return list(db.session.scalars(
        select(Contract.id).join(Listing, Listing.id == Contract.listing_id)
        .where(Contract.state.in_(CONTRACT_OPEN), Contract.due_at <= now, Listing.state == "contract",
               _not_flagged(CONTRACT_OVERDUE, "contract", Contract.id))
        .order_by(Contract.due_at, Contract.id)))


def _flag_contract(contract_id: int, now: datetime) -> bool:
    from exchange.contracts.models import Contract
    c = lock_row(Contract, contract_id)
    if (c is None or c.state not in CONTRACT_OPEN or c.due_at > now or c.listing.state != "contract"
            or is_flagged(CONTRACT_OVERDUE, "contract", c.id)):
        return False
    deal = c.deal
    _flag(CONTRACT_OVERDUE, f"合同逾期未签订：{c.listing.project_no} {c.listing.title}（成交 {deal.deal_no}，"
          f"{c.state_label}），应于 {due_text(c.due_at)} 前签订（第十六条），转入违约处理",
          "contract", c.id, to="center", due_at=c.due_at, deal=deal.deal_no, state=c.state)
    return True


# --- 结算: 10 天 (第十七条) ---------------------------------------------------------------------------------

SETTLEMENT_OVERDUE = "settlement.overdue"


def _settlements_due(now: datetime) -> list[int]:
    from exchange.listings.models import Listing
    from exchange.settlement.models import Settlement
    return list(db.session.scalars(
        select(Settlement.id).join(Listing, Listing.id == Settlement.listing_id)
        .where(Settlement.state != "settled", Settlement.due_at <= now, Listing.state == "settlement",
               _not_flagged(SETTLEMENT_OVERDUE, "settlement", Settlement.id))
        .order_by(Settlement.due_at, Settlement.id)))


def _flag_settlement(settlement_id: int, now: datetime) -> bool:
    from exchange.money import format_yuan
    from exchange.settlement.models import Settlement
    s = lock_row(Settlement, settlement_id)
    if (s is None or s.state == "settled" or s.due_at > now or s.listing.state != "settlement"
            or is_flagged(SETTLEMENT_OVERDUE, "settlement", s.id)):
        return False
    what = (f"受让方应付 {format_yuan(s.amount_to_pay)} 元（缴款码 {s.payment_ref}）尚未到账" if s.state == "awaiting"
            else "价款已到账，尚未完成划付")
    _flag(SETTLEMENT_OVERDUE, f"资金结算逾期：{s.listing.project_no} {s.listing.title}（成交 {s.deal.deal_no}），{what}，"
          f"应于 {due_text(s.due_at)} 前完成结算（第十七条），转入违约处理",
          "settlement", s.id, to="center", due_at=s.due_at, deal=s.deal.deal_no, state=s.state)
    return True


# --- 鉴证: 3 工作日 (第十八条) ------------------------------------------------------------------------------

CERTIFICATE_OVERDUE = "certificate.overdue"


def _certificates_due(now: datetime) -> list[int]:
    from exchange.certificates.models import Certificate
    from exchange.listings.models import Listing
    from exchange.settlement.models import Settlement
    valid = select(Certificate.id).where(Certificate.deal_id == Settlement.deal_id,
                                         Certificate.state == "valid").exists()
    return list(db.session.scalars(
        select(Settlement.id).join(Listing, Listing.id == Settlement.listing_id)
        .where(Settlement.state == "settled", Settlement.certificate_due_at.is_not(None),
               Settlement.certificate_due_at <= now, Listing.state == "certification", ~valid,
               _not_flagged(CERTIFICATE_OVERDUE, "deal", Settlement.deal_id))
        .order_by(Settlement.certificate_due_at, Settlement.id)))


def _flag_certificate(settlement_id: int, now: datetime) -> bool:
    from exchange.certificates.models import Certificate
    from exchange.settlement.models import Settlement
    s = lock_row(Settlement, settlement_id)
    if (s is None or s.state != "settled" or s.certificate_due_at is None or s.certificate_due_at > now
            or s.listing.state != "certification" or is_flagged(CERTIFICATE_OVERDUE, "deal", s.deal_id)):
        return False
    if db.session.scalar(select(Certificate.id).where(Certificate.deal_id == s.deal_id, Certificate.state == "valid")):
        return False
    _flag(CERTIFICATE_OVERDUE, f"鉴证书逾期未出具：{s.listing.project_no} {s.listing.title}（成交 {s.deal.deal_no}），"
          f"应于 {due_text(s.certificate_due_at)} 前出具（第十八条），请交易中心尽快出具",
          "deal", s.deal_id, to="center", due_at=s.certificate_due_at, settlement=s.id)
    return True


# --- 退还保证金: 5 工作日 (第十九条(二)) ------------------------------------------------------------------

REFUND_OVERDUE = "refund.overdue"


def _refunds_due(now: datetime) -> list[int]:
    from exchange.ledger.models import Refund
    return list(db.session.scalars(
        select(Refund.id).where(Refund.state != "approved", Refund.due_at <= now,
                                _not_flagged(REFUND_OVERDUE, "refund", Refund.id))
        .order_by(Refund.due_at, Refund.id)))


def _flag_refund(refund_id: int, now: datetime) -> bool:
    from exchange.ledger.models import Refund
    from exchange.ledger.refunds import REASONS
    from exchange.listings.models import Listing
    from exchange.money import format_yuan
    r = lock_row(Refund, refund_id)
    if r is None or r.state == "approved" or r.due_at > now or is_flagged(REFUND_OVERDUE, "refund", r.id):
        return False
    listing = db.session.get(Listing, r.listing_id) if r.listing_id else None
    where = f"，{listing.project_no}" if listing is not None and listing.project_no else ""
    state = "已登记转账，待复核" if r.state == "recorded" else "尚未退还"
    _flag(REFUND_OVERDUE, f"保证金退款逾期：{r.payee} {format_yuan(r.amount)} 元（{REASONS.get(r.reason, r.reason)}{where}），"
          f"{state}，应于 {due_text(r.due_at)} 前退还（第十九条），请财务尽快办理",
          "refund", r.id, to="finance", due_at=r.due_at, amount=r.amount, state=r.state)
    return True


CONTRACTS = ItemHandler(_contracts_due, _flag_contract, "合同逾期未签订")
SETTLEMENTS = ItemHandler(_settlements_due, _flag_settlement, "资金结算逾期")
CERTIFICATES = ItemHandler(_certificates_due, _flag_certificate, "鉴证书逾期未出具")
REFUNDS = ItemHandler(_refunds_due, _flag_refund, "保证金退款逾期")
