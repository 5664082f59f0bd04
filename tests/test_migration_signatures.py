"""The data side of migration 16a1c0de0001 (第十六条: a contract is in force at the last signature): a contract both
parties had signed but the center had not approved yet is in force from its last signature once the database is
upgraded — numbered, its listing in 结算, and the sweeper opens its settlement (10 days from that signature); an
approved one is 'checked'; a deal still in 交易公示 forgets the signing date computed at its conclusion."""
from datetime import timedelta

import pytest
from sqlalchemy import text as sql

from exchange import clock
from exchange.contracts.models import Contract
from exchange.listings.models import Listing
from exchange.settlement import services as stl
from exchange.trading.models import Deal
from exchange.workdays.services import due_after_days

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.article("第十六条")]


def test_contracts_signed_by_both_are_in_force_after_the_upgrade(app, buyers, contract, db):
    from flask_migrate import downgrade, upgrade
    deal_id, listing_id, contract_id = contract.deal_id, contract.listing_id, contract.id
    buyer_at = clock.now() - timedelta(hours=5)
    seller_at = clock.now() - timedelta(hours=2)
    db.session.commit()
    db.session.remove()
    try:
        downgrade(revision="5e1a7c0d9b42")
        with db.engine.begin() as conn:  # the old world: both confirmed, the scan not approved yet
            conn.execute(sql("UPDATE contract SET state = 'confirmed', buyer_confirmed_at = :b, seller_confirmed_at = :s "
                             "WHERE id = :id"), {"b": buyer_at.replace(tzinfo=None), "s": seller_at.replace(tzinfo=None),
                                                 "id": contract_id})
    finally:
        upgrade()
    db.session.remove()
    c = db.session.get(Contract, contract_id)
    assert c.state == "signed" and c.is_in_force
    assert c.effective_at == seller_at.replace(microsecond=seller_at.microsecond)
    assert c.contract_no.startswith("临农交合〔") and c.signed_on == clock.to_local(seller_at).date()
    assert db.session.get(Listing, listing_id).state == "settlement"
    assert stl.open_missing() == 1
    db.session.commit()
    s = stl.for_deal(db.session.get(Deal, deal_id))
    assert s.due_at == due_after_days(seller_at, 10).at


def test_a_deal_in_publicity_forgets_its_old_signing_date(app, buyers, online_deal, db):
    from flask_migrate import downgrade, upgrade
    deal, regs = online_deal
    deal_id = deal.id
    assert deal.state == "publicity" and deal.contract_due_at is None
    db.session.commit()
    db.session.remove()
    try:
        downgrade(revision="5e1a7c0d9b42")
        with db.engine.begin() as conn:  # the old reading stored 5 工作日 from the conclusion
            conn.execute(sql("UPDATE deal SET contract_due_at = publicity_end_at WHERE id = :id"), {"id": deal_id})
    finally:
        upgrade()
    db.session.remove()
    assert db.session.get(Deal, deal_id).contract_due_at is None
