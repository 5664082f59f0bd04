"""结算 opens by itself (第十七条): the last party's signature puts the contract in force (第十六条) and, in the same
transaction, moves the listing to 结算 and opens the settlement (缴款码, deposit converted, the 10 days counted from
the signature) — nobody has to open finance's list first, and the center's later check of the scan changes none of
it.  A fee table that cannot price the settlement does not stop the contract: it is audited and finance's list opens
the settlement once the table is corrected."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.audit.models import AuditEntry
from exchange.contracts import services as csvc
from exchange.ledger import services as led
from exchange.listings.models import Listing
from exchange.settlement import services as stl
from exchange.settlement.models import Settlement
from exchange.workdays.services import due_after_days
from tests.builders import PDF
from tests.factories import PASSWORD
from tests.helpers import login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")

PRICE, DEPOSIT = Decimal("160500.00"), Decimal("16000.00")


def _seller_signs(users, c):
    csvc.confirm(users["point_a1"], c, PASSWORD, PDF, "转让方签字页.pdf")


def _count(db):
    return db.session.scalar(select(func.count(Settlement.id)))


@pytest.mark.article("第十七条")
def test_the_settlement_opens_with_the_last_signature(buyers, contract, db):
    users, c = buyers, contract
    _seller_signs(users, c)
    db.session.commit()
    assert _count(db) == 0 and c.listing.state == "contract"  # one signature is not a contract
    clock.advance(hours=3)
    csvc.confirm(users["buyer"], c, PASSWORD)
    # the same transaction: rolled back, neither the effect nor the settlement stays
    s = stl.for_deal(c.deal)
    assert s is not None and s.state == "awaiting"
    db.session.rollback()
    assert _count(db) == 0 and db.session.get(Listing, c.listing_id).state == "contract"
    csvc.confirm(users["buyer"], c, PASSWORD)
    db.session.commit()
    s = stl.for_deal(c.deal)
    assert c.is_in_force and c.listing.state == "settlement" and c.effective_at == clock.now()
    assert s.price == PRICE and s.deposit_converted == DEPOSIT and s.balance_due == PRICE - DEPOSIT
    # 第十七条: 10 days from the contract taking effect — the signature, not the center's check of the scan
    assert s.payment_ref.startswith("JS") and s.due_at == due_after_days(clock.now(), 10).at
    assert led.held(led.deposit_account(c.listing, users["buyer"])) == 0
    assert led.held(led.price_account(c.listing)) == DEPOSIT
    opened = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "settlement.open")).all()
    assert len(opened) == 1 and opened[0].actor_id == users["buyer"].id
    # the center's check two days later moves nothing
    due = s.due_at
    clock.advance(days=2)
    csvc.upload_scan(users["point_a1"], c, PDF, "签章合同.pdf")
    csvc.check(users["center_reviewer"], c, approve=True)
    db.session.commit()
    assert c.is_checked and stl.for_deal(c.deal).due_at == due == due_after_days(c.effective_at, 10).at
    # nothing left for finance's list to open; asking again gives the same one
    assert stl.open_missing() == 0 and stl.ensure_settlement(c.deal).id == s.id and _count(db) == 1


def test_a_fee_table_that_cannot_price_it_does_not_stop_the_contract(buyers, contract, db):
    users, c = buyers, contract
    stl.save_fee_rule(users["admin"], None, basis="fixed", fixed_amount="200000", payer="seller")
    _seller_signs(users, c)
    csvc.confirm(users["buyer"], c, PASSWORD)
    db.session.commit()
    assert c.is_in_force and c.listing.state == "settlement" and _count(db) == 0
    assert led.held(led.deposit_account(c.listing, users["buyer"])) == DEPOSIT  # not converted half-way
    [flag] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "settlement.not_opened")).all()
    assert flag.object_type == "deal" and flag.object_id == str(c.deal_id) and "服务费" in flag.summary
    # finance corrects the fee table; its list opens the settlement
    stl.save_fee_rule(users["admin"], None, basis="rate", rate="0.01", payer="buyer")
    db.session.commit()
    assert stl.open_missing() == 1
    db.session.commit()
    s = stl.for_deal(c.deal)
    assert s.buyer_fee == Decimal("1605.00") and s.deposit_converted == DEPOSIT


def test_over_the_api_and_the_page(app, client, buyers, contract, db):
    users, c = buyers, contract
    _seller_signs(users, c)
    db.session.commit()
    buyer_token = token_headers(db, users, "buyer")
    body = client.post(f"/api/v1/contracts/{c.id}/confirm", headers=buyer_token, json={"password": PASSWORD}).get_json()
    assert body["state"] == "signed" and body["effective_at"]  # in force; the signed contract's scan still to come
    db.session.expire_all()
    s = stl.for_deal(c.deal)
    assert s is not None and s.state == "awaiting"
    # the buyer sees the amount and the 缴款码 straight away
    buyer = app.test_client()
    login(buyer, "t_buyer", PASSWORD)
    resp = buyer.get(f"/settlements/deal/{c.deal_id}", follow_redirects=True)
    assert resp.status_code == 200 and s.payment_ref in text(resp)
    assert _count(db) == 1


def test_the_sweeper_is_not_needed_and_changes_nothing(buyers, contract, db):
    from exchange.deadlines.sweeper import sweep
    users, c = buyers, contract
    _seller_signs(users, c)
    csvc.confirm(users["buyer"], c, PASSWORD)
    db.session.commit()
    clock.advance(minutes=5)
    result = sweep()
    assert result.failed == {} and _count(db) == 1
    clock.freeze(stl.for_deal(c.deal).due_at + timedelta(minutes=1))
    assert sweep().counts["settlements.overdue"] == 1  # its clock runs from the contract's effect
