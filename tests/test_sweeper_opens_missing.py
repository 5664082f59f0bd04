"""The deadline sweeper's fallback for what a step's signal should have opened (issue 15 item 6): a deal in 签约 without
its contract draft gets it (``contracts.open_missing``), an effective contract without its settlement gets it once
the fee table can price it (``settlements.open_missing``) — each once, by 定时任务, never twice; pages no longer open
them on GET (tests/test_get_reads_only.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from exchange.audit.models import AuditEntry
from exchange.contracts import services as csvc
from exchange.contracts.models import Contract
from exchange.deadlines import sweeper
from exchange.settlement import services as stl
from exchange.settlement.models import Settlement
from exchange.trading.models import Deal
from tests.factories import PASSWORD
from tests.helpers import login

pytestmark = pytest.mark.usefixtures("uploads")

SWEEPER = "定时任务"


def _count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _audits(db, action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def _without_contract(db, contract) -> Deal:
    """The deal of ``contract`` in 签约 as if the end of its publicity had not opened the draft."""
    deal_id = contract.deal_id
    db.session.delete(contract)
    db.session.commit()
    return db.session.get(Deal, deal_id)


def test_the_handlers_run_after_the_step_that_should_have_opened_and_before_the_clocks():
    names = list(sweeper.HANDLERS)
    contracts, settlements = names.index("contracts.open_missing"), names.index("settlements.open_missing")
    assert names.index("trading.end_publicity") < contracts < names.index("contracts.overdue")
    assert contracts < names.index("notify.contract_due")
    assert settlements < names.index("settlements.overdue") and settlements < names.index("notify.settlement_due")


def test_a_missing_contract_draft_is_opened_once(app, buyers, contract, db):
    due = contract.due_at
    deal = _without_contract(db, contract)
    assert csvc.unopened_deal_ids() == [deal.id]
    result = sweeper.sweep()
    assert result.failed == {} and result.counts["contracts.open_missing"] == 1
    c = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    assert c.state == "draft" and c.due_at == due  # the deal's own 5-工作日 deadline, not a new one
    opened = _audits(db, "contract.open")
    assert len(opened) == 2 and opened[-1].actor_name == SWEEPER  # the first was the fixture's, since deleted
    assert sweeper.sweep().counts["contracts.open_missing"] == 0 and _count(db, Contract) == 1
    buyer = app.test_client()
    login(buyer, "t_buyer", PASSWORD)
    resp = buyer.get(f"/contracts/deal/{deal.id}")
    assert resp.status_code == 302 and resp.location.endswith(f"/contracts/{c.id}")


def test_a_deal_not_in_signing_or_with_its_contract_is_left_alone(buyers, online_deal, contract, db):
    deal, _regs = online_deal
    assert csvc.unopened_deal_ids() == []  # the contract exists
    assert csvc.open_late(deal.id) is False  # the signal got there first: nothing opened twice
    assert sweeper.sweep().counts["contracts.open_missing"] == 0 and _count(db, Contract) == 1


def test_a_deal_still_in_publicity_gets_no_contract(buyers, online_deal, db):
    deal, _regs = online_deal
    assert db.session.get(Deal, deal.id).state == "publicity"
    assert csvc.unopened_deal_ids() == [] and csvc.open_late(deal.id) is False
    assert _count(db, Contract) == 0


def test_a_missing_settlement_is_opened_once(users, effective, db):
    deal = effective
    assert _count(db, Settlement) == 0
    result = sweeper.sweep()
    assert result.failed == {} and result.counts["settlements.open_missing"] == 1
    s = stl.for_deal(db.session.get(Deal, deal.id))
    assert s is not None and s.state == "awaiting" and s.payment_ref.startswith("JS")
    [opened] = _audits(db, "settlement.open")
    assert opened.actor_name == SWEEPER
    assert sweeper.sweep().counts["settlements.open_missing"] == 0 and _count(db, Settlement) == 1


def test_a_fee_table_that_cannot_price_it_waits_for_the_correction(users, effective, db):
    stl.save_fee_rule(users["admin"], None, basis="fixed", fixed_amount="200000", payer="seller")
    db.session.commit()
    for _ in range(2):  # refused quietly each pass: not a failure, nothing written
        result = sweeper.sweep()
        assert result.failed == {} and result.counts["settlements.open_missing"] == 0
    assert _count(db, Settlement) == 0
    stl.save_fee_rule(users["admin"], None, basis="rate", rate="0.01", payer="buyer")
    db.session.commit()
    assert sweeper.sweep().counts["settlements.open_missing"] == 1 and _count(db, Settlement) == 1
