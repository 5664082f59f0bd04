"""tests/builders.py's Lifecycle takes a listing to each stage of its life through the services, as the fixtures of
tests/lifecycle.py do — a short tour of the stages and of what each one holds."""
from __future__ import annotations

from decimal import Decimal

import pytest

from exchange import clock
from tests.builders import DEPOSIT, PRICE, TENDER_PRICE, Lifecycle

pytestmark = pytest.mark.usefixtures("uploads", "signing_key")


@pytest.mark.parametrize("stage, via, state", [
    ("announced", None, "announced"),
    ("trading", None, "trading"),
    ("publicity", None, "publicity"),
    ("publicity", "agreement", "publicity"),
    ("contract", None, "contract"),
    ("contract_overdue", None, "contract"),
    ("settlement", None, "settlement"),
    ("certification", None, "certification"),
    ("completed", None, "completed"),
])
def test_each_stage(users, db, frozen, stage, via, state):
    life = Lifecycle(users, db, via=via).to(stage)
    db.session.expire_all()
    assert life.stage == stage and life.listing.state == state


def test_the_online_route_is_the_fixtures_online_deal(users, db, frozen, buyers, online_deal):
    deal, regs = online_deal
    life = Lifecycle(users, db).to("publicity")
    assert life.via == "online" and set(life.regs) == set(regs) == {"buyer", "buyer_org", "buyer_coop"}
    assert life.deal.price == deal.price == Decimal("160500.00")
    assert life.deal.registration_id == life.regs["buyer"].id


def test_going_further_along_the_route(users, db, frozen):
    life = Lifecycle(users, db).to("contract")
    assert life.contract.state == "draft" and clock.now() < life.contract.due_at
    life.to("contract_overdue")
    assert clock.now() > life.contract.due_at
    with pytest.raises(ValueError):
        life.to("settlement")  # not on the online route
    with pytest.raises(ValueError):
        life.to("trading")  # already past it


def test_settlement_is_the_agreement_at_the_floor_price(users, db, frozen):
    life = Lifecycle(users, db).to("settlement")
    assert life.via == "agreement" and life.deal.method == "agreement" and life.deal.price == PRICE
    assert set(life.regs) == {"buyer_org"} and life.contract.is_in_force
    assert "buyer_coop" not in users  # the agreement needs no more buyers


def test_completed_is_the_tender_with_its_certificate(users, db, frozen):
    life = Lifecycle(users, db).to("completed")
    assert life.via == "tender" and life.deal.price == TENDER_PRICE and life.settlement.state == "settled"
    assert life.settlement.deposit_converted == DEPOSIT and life.certificate.cert_no
