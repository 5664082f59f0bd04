"""第二十四条 until the 鉴证书 (DESIGN §3.11): a court's written notice can be carried out while the money is being
settled — the settlement void, a payout nobody recorded cancelled, the fees charged returned, the price the buyer paid
put up for return through the four-eyes refund; the books still balance.  Once the proceeds were paid out (or their
transfer recorded) termination is refused with the reason and the way forward (a dispute; after the 鉴证书, revocation).
"""
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange.incidents import termination as xsvc
from exchange.ledger import refunds
from exchange.ledger import services as led
from exchange.ledger.models import Refund
from exchange.listings.models import Listing
from exchange.settlement import services as stl
from exchange.settlement.models import Payout
from tests.builders import PDF, full_path, set_fee

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.article("第二十四条")]

COURT = "临湘市人民法院（2026）湘0682民初1234号协助执行通知书：该地块承包经营权存在权属争议，终止交易"


def _paid(users, deal, db):
    set_fee(users, rate="0.01", min_fee="2000", payer="both")  # 2000: 1000 from each side
    s = stl.ensure_settlement(deal)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-T", receipt=PDF,
                        receipt_filename="回单.pdf")
    db.session.commit()
    return s


def _terminate(users, listing):
    return xsvc.terminate(users["center_reviewer"], listing, ground="court", basis=COURT, document=PDF,
                          document_filename="法院通知书.pdf")


def test_a_court_notice_during_settlement_unwinds_the_money(users, effective, db):
    deal = effective
    s = _paid(users, deal, db)
    payout = stl.charge_fees(users["finance"], s)
    db.session.commit()
    listing = db.session.get(Listing, deal.listing_id)
    paid_in = led.held(led.price_account(listing)) + led.held(led.fee_account(listing))
    assert listing.state == "settlement" and payout.state == "pending" and paid_in == Decimal("161000.00")
    t = _terminate(users, listing)
    db.session.commit()
    assert listing.state == "terminated" and t.from_state == "settlement"
    assert s.state == "void" and db.session.get(Payout, payout.id).state == "cancelled"
    assert deal.state == "void" and listing.events[-1].action == "terminate"
    # nothing kept: the fees went back and everything the buyer paid is to be returned to it
    assert led.held(led.fee_account(listing)) == 0 and led.held(led.price_account(listing)) == 0
    [refund] = db.session.scalars(select(Refund).where(Refund.listing_id == listing.id)).all()
    assert refund.reason == "terminated" and refund.amount == paid_in
    assert refund.payee == deal.registration.buyer.display_name
    # returned with the same four eyes as any refund
    refunds.record_transfer(users["finance"], refund, "TK-COURT-1")
    refunds.approve(users["finance2"], refund)
    db.session.commit()
    money = led.listing_money(listing.id)
    assert money.held == 0 and money.money_in == money.money_out and led.check() == []


def test_terminated_before_the_balance_arrived(users, effective, db):
    deal = effective
    s = stl.ensure_settlement(deal)
    db.session.commit()
    listing = db.session.get(Listing, deal.listing_id)
    converted = led.held(led.price_account(listing))
    assert s.state == "awaiting" and converted == Decimal("16000.00")
    _terminate(users, listing)
    db.session.commit()
    [refund] = db.session.scalars(select(Refund).where(Refund.listing_id == listing.id)).all()
    assert s.state == "void" and refund.amount == converted and led.check() == []


def test_refused_once_the_proceeds_left_the_designated_account(users, effective, db):
    deal = effective
    s = _paid(users, deal, db)
    payout = stl.charge_fees(users["finance"], s)
    stl.record_transfer(users["finance"], payout, "HK-1")
    db.session.commit()
    listing = db.session.get(Listing, deal.listing_id)
    with pytest.raises(xsvc.TerminationError) as exc:
        _terminate(users, listing)
    assert "已登记划付转账" in exc.value.message and "纠纷调解" in exc.value.message
    db.session.rollback()
    stl.approve(users["finance2"], payout)
    db.session.commit()
    assert listing.state == "certification"
    with pytest.raises(xsvc.TerminationError) as exc:
        _terminate(users, listing)
    assert "已划付" in exc.value.message and "纠纷调解" in exc.value.message
    db.session.rollback()
    assert db.session.get(Listing, listing.id).state == "certification" and s.state == "settled"


def test_after_the_certificate_it_is_revocation_and_a_dispute(users, db, frozen, signing_key):
    from tests.builders import Lifecycle
    life = Lifecycle(users, db).to("completed")
    with pytest.raises(xsvc.TerminationError) as exc:
        _terminate(users, life.listing)
    assert "撤销鉴证书" in exc.value.message and "纠纷调解" in exc.value.message


def test_full_path_then_refused_over_the_page(app, users, effective, db):
    from tests.factories import PASSWORD
    from tests.helpers import csrf_from, login, text
    deal = effective
    s = _paid(users, deal, db)
    full_path(users, s, db)
    client = app.test_client()
    login(client, "t_reviewer", PASSWORD)
    url = f"/listings/{deal.listing_id}/terminate"
    page = text(client.get(url))
    assert "交易收益已经划付的不能终结" in page
    resp = client.post(url, data={"csrf_token": csrf_from(page), "ground": "court", "basis": COURT,
                                  "document": (__import__("io").BytesIO(PDF), "法院通知书.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "已划付" in text(resp)
