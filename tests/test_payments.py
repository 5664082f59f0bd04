"""Online deposit payments through the provider interface and the sandbox bank (第十九条; DESIGN §3.5):
signed callbacks verified, idempotent and replay-safe; money that cannot be a deposit held and returned."""
import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.extensions import db as _db
from exchange.ledger import services as led
from exchange.ledger.models import JournalEntry, Refund
from exchange.payments import services as psvc
from exchange.payments.models import DepositArrival, PaymentNotification, PaymentOrder
from exchange.payments.providers import SandboxProvider
from exchange.payments import deposits
from exchange.registrations.models import Registration
from tests.builders import PDF
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")

CALLBACK = "/api/v1/payments/callback/sandbox"


def _entries() -> int:
    return _db.session.scalar(select(func.count(JournalEntry.id)))


def _post(client, body: bytes, headers: dict):
    return client.post(CALLBACK, data=body, headers={**headers, "Content-Type": "application/json"})


def test_buyer_pays_through_the_sandbox_bank(client, users, qualified, db):
    login(client, "t_buyer", PASSWORD)
    page = text(client.get(f"/registrations/{qualified.id}"))
    assert "网上支付" in page and qualified.payment_ref in page
    resp = client.post(f"/payments/registrations/{qualified.id}/online", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302 and "/payments/sandbox/PO" in resp.location
    bank = text(client.get(resp.location))
    assert "模拟网银" in bank and "16,000.00" in bank and "壹万陆仟元整" in bank
    resp = client.post(resp.location, data={"csrf_token": csrf_from(bank), "action": "pay"}, follow_redirects=True)
    body = text(resp)
    assert "保证金已入账" in body and "您的竞买号" in body
    reg = db.session.get(Registration, qualified.id)
    assert reg.state == "paid" and len(reg.bidder_no) == 4
    assert led.held(led.deposit_account(reg.listing, users["buyer"])) == Decimal("16000.00")
    arrival = db.session.scalar(select(DepositArrival).where(DepositArrival.registration_id == reg.id))
    assert arrival.source == "online" and arrival.amount == Decimal("16000.00")
    order = db.session.scalar(select(PaymentOrder))
    assert order.state == "paid" and order.provider_txn_id.startswith("SBX")
    # the sandbox refuses to pay the same order again
    again = client.post(f"/payments/sandbox/{order.order_no}", data={"csrf_token": csrf_from(bank), "action": "pay"},
                        follow_redirects=True)
    assert "不能重复支付" in text(again)
    assert led.held(led.deposit_account(reg.listing, users["buyer"])) == Decimal("16000.00")


def test_failed_payment_leaves_the_registration_payable(client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    body, headers = SandboxProvider().notification_for(order, status="FAILED")
    resp = _post(client, body, headers)
    assert resp.status_code == 200 and resp.get_json()["result"] == "failed"
    db.session.expire_all()
    assert db.session.get(PaymentOrder, order.id).state == "failed"
    assert db.session.get(Registration, qualified.id).state == "qualified" and _entries() == 0
    # a new attempt gets a new order
    order2 = psvc.start_online_payment(users["buyer"], db.session.get(Registration, qualified.id))
    assert order2.id != order.id


def test_pressing_pay_twice_reuses_the_open_order(users, qualified):
    assert psvc.start_online_payment(users["buyer"], qualified).id == \
        psvc.start_online_payment(users["buyer"], qualified).id


def test_only_the_buyer_before_the_deadline(users, qualified, db):
    with pytest.raises(AccessDenied):
        psvc.start_online_payment(users["buyer_org"], qualified)
    with pytest.raises(AccessDenied):
        psvc.start_online_payment(users["finance"], qualified)
    clock.freeze(qualified.deposit_deadline_at)
    with pytest.raises(psvc.PaymentError) as exc:
        psvc.start_online_payment(users["buyer"], qualified)
    assert "截止" in exc.value.message


def test_another_user_cannot_open_the_sandbox_page_of_an_order(client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    from exchange.accounts.models import User  # noqa: F401
    login(client, "t_buyer_org", PASSWORD)
    assert client.get(f"/payments/sandbox/{order.order_no}").status_code == 403
    assert client.get("/payments/sandbox/PO0000").status_code == 404


def test_forged_callback_is_refused_and_logged(client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    body, headers = SandboxProvider().notification_for(order)
    forged = dict(headers, **{"X-Sandbox-Signature": "0" * 64})
    resp = _post(client, body, forged)
    assert resp.status_code == 401 and resp.get_json()["error"] == "bad_signature"
    assert "签名无效" in resp.get_json()["message"]
    # a correctly signed body with a changed amount is also forged
    tampered = body.replace(b'"16000.00"', b'"1.00"')
    assert _post(client, tampered, headers).status_code == 401
    # unsigned
    assert _post(client, body, {}).status_code == 401
    db.session.expire_all()
    assert _entries() == 0 and db.session.get(Registration, qualified.id).state == "qualified"
    # none of them could be the bank's: counted per reason, not stored one by one (issue 14, item 11)
    assert db.session.scalars(select(PaymentNotification)).all() == []
    from exchange.payments.models import RefusedCallbacks
    assert {r.reason: r.count for r in db.session.scalars(select(RefusedCallbacks))} == \
        {"bad_signature": 2, "unsigned": 1}


def test_callback_retry_is_idempotent_and_a_reused_nonce_is_a_replay(client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    provider = SandboxProvider()
    body, headers = provider.notification_for(order)
    first = _post(client, body, headers)
    assert first.status_code == 200 and first.get_json()["result"] == "booked"
    retry = _post(client, body, headers)  # the provider did not see our answer and sends it again
    assert retry.status_code == 200 and retry.get_json()["result"] == "duplicate"
    # the same nonce on another body (signed with the secret: only the provider could do it, so a bug or
    # an attack) is refused
    other = json.loads(body)
    other["txn_id"] = "SBXOTHER"
    other_body = json.dumps(other, sort_keys=True, ensure_ascii=False).encode()
    ts, nonce = headers["X-Sandbox-Timestamp"], headers["X-Sandbox-Nonce"]
    replay = _post(client, other_body, {"X-Sandbox-Timestamp": ts, "X-Sandbox-Nonce": nonce,
                                        "X-Sandbox-Signature": provider.sign(other_body, ts, nonce)})
    assert replay.status_code == 409 and replay.get_json()["error"] == "replayed"
    # a fresh notification of the same transaction (new nonce) books nothing either
    body2, headers2 = provider.notification_for(order, txn_id=json.loads(body)["txn_id"])
    assert _post(client, body2, headers2).get_json()["result"] == "duplicate"
    db.session.expire_all()
    assert led.held(led.deposit_account(qualified.listing, users["buyer"])) == Decimal("16000.00")
    assert _entries() == 1


def test_stale_notification_is_refused(client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    clock.freeze(clock.now() - timedelta(minutes=6))
    body, headers = SandboxProvider().notification_for(order)
    clock.freeze(clock.now() + timedelta(minutes=6))
    resp = _post(client, body, headers)
    assert resp.status_code == 400 and resp.get_json()["error"] == "stale"
    assert _entries() == 0


def test_callback_for_an_unknown_order(client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    order.order_no = "PO20261123NOSUCHORDER"  # not flushed: only the notification carries it
    body, headers = SandboxProvider().notification_for(order)
    db.session.rollback()
    resp = _post(client, body, headers)
    assert resp.status_code == 404 and "未知的支付订单号" in resp.get_json()["message"]
    assert _entries() == 0


def test_unknown_provider_and_malformed_body(client, users, qualified, db):
    assert client.post("/api/v1/payments/callback/alipay", data=b"{}").status_code == 400
    provider = SandboxProvider()
    body = b"not json"
    ts, nonce = str(int(clock.now().timestamp())), "n1"
    resp = _post(client, body, {"X-Sandbox-Timestamp": ts, "X-Sandbox-Nonce": nonce,
                                "X-Sandbox-Signature": provider.sign(body, ts, nonce)})
    assert resp.status_code == 400 and resp.get_json()["error"] == "malformed"


@pytest.mark.article("第十九条")
def test_late_online_payment_is_held_and_returned(client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    clock.freeze(qualified.deposit_deadline_at + timedelta(seconds=1))  # paid at 16:00:01
    body, headers = SandboxProvider().notification_for(order)
    resp = _post(client, body, headers)
    assert resp.status_code == 200 and resp.get_json()["result"] == "suspense"
    assert "视为放弃" in resp.get_json()["message"]
    db.session.expire_all()
    reg = db.session.get(Registration, qualified.id)
    assert reg.state == "qualified" and reg.bidder_no is None
    assert led.held(led.deposit_account(reg.listing, users["buyer"])) == 0
    refund = db.session.scalar(select(Refund))
    assert refund.reason == "late" and refund.amount == Decimal("16000.00") and refund.account.kind == "suspense"
    assert "测试受让人" in refund.payee
    # returned by two finance users: the suspense account is empty and the bank back to zero
    from exchange.ledger import refunds
    refunds.record_transfer(users["finance"], refund, "TK-001")
    refunds.approve(users["finance2"], refund)
    db.session.commit()
    assert led.held(refund.account) == 0 and led.balance(led.bank_account()) == 0


def test_wrong_amount_online_is_held_not_guessed(client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    body, headers = SandboxProvider().notification_for(order, amount=Decimal("15000.00"))
    assert _post(client, body, headers).get_json()["result"] == "suspense"
    db.session.expire_all()
    assert db.session.get(Registration, qualified.id).state == "qualified"
    assert db.session.scalar(select(Refund)).reason == "unmatched"
    assert led.listing_money(qualified.listing_id).held == Decimal("15000.00")


def test_receipt_then_online_payment_of_the_same_deposit(client, users, qualified, db):
    """The buyer paid at the counter and online: the second arrival is held and returned."""
    order = psvc.start_online_payment(users["buyer"], qualified)
    deposits.confirm_deposit(users["finance"], qualified, "16000", source_key="HX-1", receipt=PDF,
                         receipt_filename="回单.pdf")
    db.session.commit()
    body, headers = SandboxProvider().notification_for(order)
    assert _post(client, body, headers).get_json()["result"] == "suspense"
    db.session.expire_all()
    assert led.listing_money(qualified.listing_id).held == Decimal("32000.00")
    assert db.session.scalar(select(Refund)).amount == Decimal("16000.00")


def test_api_start_payment_and_read_order(client, users, qualified, db):
    buyer, other = token_headers(db, users, "buyer"), token_headers(db, users, "buyer_org")
    resp = client.post(f"/api/v1/registrations/{qualified.id}/payments", headers=buyer, json={})
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    assert order["amount"] == "16000.00" and order["checkout_url"].startswith("/payments/sandbox/")
    assert client.get(f"/api/v1/payments/orders/{order['order_no']}", headers=buyer).status_code == 200
    assert client.get(f"/api/v1/payments/orders/{order['order_no']}", headers=other).status_code == 403
    assert client.post(f"/api/v1/registrations/{qualified.id}/payments", headers=other, json={}).status_code == 403
    resp = client.post(f"/api/v1/registrations/{qualified.id}/payments", headers=buyer, json={"provider": "nope"})
    assert resp.status_code == 400


def test_notification_log_page_for_finance_only(client, users, qualified, db, frozen):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    body, headers = SandboxProvider().notification_for(order)
    _post(client, body, dict(headers, **{"X-Sandbox-Signature": "f" * 64}))  # counted, not listed
    clock.advance(seconds=400)
    _post(client, body, headers)  # signed, but too late: listed as refused (a possible replay)
    login(client, "t_finance", PASSWORD)
    page = text(client.get("/payments/notifications"))
    assert "已拒绝" in page and "疑似重放" in page
    assert "无法验证的回调" in page and "签名无效" in page
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})
    login(client, "t_buyer", PASSWORD)
    assert client.get("/payments/notifications").status_code == 403


@pytest.mark.concurrency
def test_the_same_notification_twice_at_once_books_once(app, client, users, qualified, db):
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    body, headers = SandboxProvider().notification_for(order)
    barrier = threading.Barrier(2)
    outcomes = []

    def deliver():
        with app.app_context():
            barrier.wait()
            try:
                result = psvc.receive_notification("sandbox", body, headers)
                _db.session.commit()
                outcomes.append(result.outcome)
            except Exception as exc:  # noqa: BLE001
                _db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["booked", "duplicate"], outcomes
    db.session.expire_all()
    assert led.held(led.deposit_account(qualified.listing, users["buyer"])) == Decimal("16000.00")


def test_a_price_order_is_readable_by_its_buyer(client, users, qualified, db):
    """Orders of a settlement have no registration: the owner check must not depend on it."""
    from exchange.payments.services import order_owner_id
    order = psvc.start_online_payment(users["buyer"], qualified)
    assert order_owner_id(order) == users["buyer"].id
