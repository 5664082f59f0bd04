"""终结交易 (第二十四条): grounds and document, only the center's reviewer (during 结算 too: tests/test_termination_in_settlement.py); sessions cancelled,
deal and contract voided, every deposit put up for refund, nobody can pay any more."""
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied
from exchange.incidents import termination as xsvc
from exchange.ledger import refunds
from exchange.ledger import services as led
from exchange.ledger.models import Refund
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession
from tests.builders import PDF, applied, pay, to_trading
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text, token_headers

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.article("第二十四条")]

BASIS = "临湘市农业农村局 临农函〔2026〕88号：该地块涉及征收，终结交易"


def test_terminated_during_the_announcement(users, announced, db):
    paid = pay(users, announced, ["buyer"])["buyer"]
    waiting = applied(users, announced, key="buyer_org")
    rsvc.qualify(users["center_reviewer"], waiting)
    for who in ("point_a1", "station_a", "trading_officer", "finance", "supervisor", "buyer"):
        with pytest.raises(AccessDenied):
            xsvc.terminate(users[who], announced, ground="authority", basis=BASIS, document=PDF,
                           document_filename="批复.pdf")
    with pytest.raises(xsvc.TerminationError) as exc:
        xsvc.terminate(users["center_reviewer"], announced, ground="whim", basis=BASIS, document=PDF)
    assert "第二十四条" in exc.value.message
    with pytest.raises(xsvc.TerminationError) as exc:
        xsvc.terminate(users["center_reviewer"], announced, ground="authority", basis=BASIS)
    assert "上传" in exc.value.message
    with pytest.raises(xsvc.TerminationError):
        xsvc.terminate(users["center_reviewer"], announced, ground="authority", basis=BASIS,
                       document=b"MZ\x90 not a scan", document_filename="x.pdf")
    t = xsvc.terminate(users["center_reviewer"], announced, ground="authority", basis=BASIS, document=PDF,
                       document_filename="批复.pdf")
    db.session.commit()
    assert announced.state == "terminated" and t.refunds_opened == 1 and t.from_state == "announced"
    refund = db.session.scalar(select(Refund))
    assert refund.registration_id == paid.id and refund.reason == "terminated" and refund.amount == Decimal("16000.00")
    # the qualified buyer who had not paid yet cannot pay any more
    with pytest.raises(rsvc.RegistrationError) as exc:
        deposits.confirm_deposit(users["finance"], waiting, "16000", source_key="HX-T", receipt=PDF,
                             receipt_filename="r.pdf")
    assert "终结" in exc.value.message
    # twice: the listing is no longer in a state that can be terminated
    with pytest.raises(xsvc.TerminationError):
        xsvc.terminate(users["center_reviewer"], announced, ground="authority", basis=BASIS, document=PDF)
    refunds.record_transfer(users["finance"], refund, "TK-T1")
    refunds.approve(users["finance2"], refund)
    db.session.commit()
    assert led.listing_money(announced.id).held == 0


def test_terminated_during_bidding_and_after_the_deal(buyers, announced, db):
    regs = pay(buyers, announced, ["buyer", "buyer_org"])
    db.session.commit()
    listing = to_trading(announced)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=clock.now() + timedelta(minutes=1))
    db.session.commit()
    xsvc.terminate(buyers["center_reviewer"], listing, ground="court", basis="临湘市人民法院（2026）湘0682民初123号通知",
                   document=PDF, document_filename="通知书.pdf")
    db.session.commit()
    assert db.session.get(BiddingSession, s.id).state == "cancelled"
    assert {r.registration_id for r in db.session.scalars(select(Refund))} == {regs["buyer"].id, regs["buyer_org"].id}
    with pytest.raises(tsvc.TradingError):
        tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=clock.now() + timedelta(hours=1))


def test_the_page_for_the_center(client, users, announced, db):
    login(client, "t_trader", PASSWORD)
    assert client.get(f"/listings/{announced.id}/terminate").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})
    login(client, "t_reviewer", PASSWORD)
    detail = text(client.get(f"/listings/{announced.id}"))
    assert "终结交易（第二十四条）" in detail
    page = text(client.get(f"/listings/{announced.id}/terminate"))
    resp = client.post(f"/listings/{announced.id}/terminate",
                       data={"csrf_token": csrf_from(page), "ground": "center", "basis": BASIS},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "上传" in text(resp)
    resp = client.post(f"/listings/{announced.id}/terminate",
                       data={"csrf_token": csrf_from(page), "ground": "center", "basis": BASIS,
                             "document": (io.BytesIO(PDF), "同意终结的批复.pdf")},
                       content_type="multipart/form-data", follow_redirects=True)
    body = text(resp)
    assert "已终结交易" in body and "临农函〔2026〕88号" in body


def test_terminate_over_the_api(client, users, announced, db):
    reviewer, trader = token_headers(db, users, "center_reviewer"), token_headers(db, users, "trading_officer")
    form = {"ground": "party", "basis": BASIS, "document": (io.BytesIO(PDF), "批复.pdf")}
    assert client.post(f"/api/v1/listings/{announced.id}/terminate", headers=trader, data=dict(form),
                       content_type="multipart/form-data").status_code == 403
    bad = client.post(f"/api/v1/listings/{announced.id}/terminate", headers=reviewer,
                      data={"ground": "party", "basis": BASIS}, content_type="multipart/form-data")
    assert bad.status_code == 400 and "上传" in bad.get_json()["message"]
    ok = client.post(f"/api/v1/listings/{announced.id}/terminate", headers=reviewer,
                     data={"ground": "party", "basis": BASIS, "document": (io.BytesIO(PDF), "批复.pdf")},
                     content_type="multipart/form-data")
    assert ok.status_code == 201 and ok.get_json()["from_state"] == "announced"
