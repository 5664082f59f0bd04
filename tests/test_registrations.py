"""意向受让登记, 资格确认 and deposits at the service level (第十三条, 第十九条)."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied
from exchange.extensions import db as _db
from exchange.ledger import services as led
from exchange.listings import services as lsvc
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from exchange.registrations.models import Registration
from tests.builders import ALL_OK, PDF, applied, attach, household_fields, station_agrees
from tests.helpers import token_headers

pytestmark = pytest.mark.usefixtures("uploads")


def test_apply_qualify_pay(users, announced, db):
    reg = applied(users, announced)
    assert reg.state == "applied" and reg.review_due_at > clock.now()
    rsvc.qualify(users["center_reviewer"], reg, "材料齐全")
    assert reg.state == "qualified" and reg.payment_ref.startswith("LX") and len(reg.payment_ref) == 12
    assert reg.deposit_amount == Decimal("16000.00") and reg.deposit_deadline_at == announced.deposit_deadline_at
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="回单-0001", receipt=PDF, receipt_filename="回单.pdf")
    db.session.commit()
    assert reg.state == "paid" and len(reg.bidder_no) == 4
    assert led.held(led.deposit_account(announced, users["buyer"])) == Decimal("16000.00")
    # confirming the same bank line again changes nothing
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="回单-0001", receipt=PDF, receipt_filename="回单.pdf")
    assert led.held(led.deposit_account(announced, users["buyer"])) == Decimal("16000.00")


@pytest.mark.article("第十三条")
def test_transferor_cannot_apply(users, db, frozen, orgs):
    seller = users["buyer"]
    listing = lsvc.create_draft(seller, category=lsvc.db.session.scalar(
        select(lsvc.Category).where(lsvc.Category.code == "C01")), point=orgs.point_b1,
        **household_fields(
            transferor_name=seller.party.name, transferor_id_no=seller.party.id_number,
            account_name=seller.party.name))
    attach(listing, seller)
    lsvc.submit(seller, listing)
    station_agrees(users, listing)  # 第十四条: a direct application, reviewed with the town's station
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.apply(seller, listing, accept_declaration=True)
    assert "转让方不能报名" in exc.value.message


@pytest.mark.article("交易程序")
def test_apply_twice_and_after_the_period(users, announced, db):
    applied(users, announced)
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.apply(users["buyer"], announced, accept_declaration=True)
    assert "已报名" in exc.value.message
    clock.advance(days=9)
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.apply(users["buyer_org"], announced, accept_declaration=True)
    assert "不在公告期" in exc.value.message


@pytest.mark.article("第十三条")
def test_declaration_and_staff_accounts(users, announced):
    with pytest.raises(rsvc.RegistrationError):
        rsvc.apply(users["buyer"], announced, accept_declaration=False)
    with pytest.raises(AccessDenied):
        rsvc.apply(users["point_a1"], announced, accept_declaration=True)


@pytest.mark.article("第九条")
@pytest.mark.article("第十三条")
def test_commercial_capital_on_farmland_is_flagged(users, announced):
    reg = rsvc.apply(users["buyer_org"], announced, accept_declaration=True)
    assert "工商资本租赁农地" in reg.flags


@pytest.mark.article("第十三条")
def test_incomplete_materials_block_qualification(users, announced):
    reg = rsvc.apply(users["buyer"], announced, accept_declaration=True, by_agent=True, agent_name="代理人",
                     agent_id_no="430682199001010011")
    rsvc.add_material(users["buyer"], reg, "application", PDF, "a.pdf")
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.qualify(users["center_reviewer"], reg)
    assert "授权委托书" in exc.value.message and reg.state == "applied"


@pytest.mark.article("第十三条")
def test_only_center_reviewer_qualifies_and_reject_needs_reason(users, announced):
    reg = applied(users, announced)
    for key in ["station_a", "finance", "supervisor", "buyer"]:
        with pytest.raises(AccessDenied):
            rsvc.qualify(users[key], reg)
    with pytest.raises(rsvc.RegistrationError):
        rsvc.reject(users["center_reviewer"], reg, "")
    rsvc.reject(users["center_reviewer"], reg, "资信证明不符合受让条件")
    assert reg.state == "rejected"


@pytest.mark.article("第十九条")
def test_deposit_must_arrive_by_the_deadline(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    clock.freeze(announced.deposit_deadline_at + timedelta(seconds=1))  # 16:00:01 on the last day
    with pytest.raises(rsvc.RegistrationError) as exc:
        deposits.confirm_deposit(users["finance"], reg, "16000", source_key="late-1", receipt=PDF, receipt_filename="回单.pdf")
    assert "视为放弃" in exc.value.message
    # arrived at 16:00:00 exactly: in time
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="ontime-1", receipt=PDF, receipt_filename="回单.pdf",
                         arrived_at=announced.deposit_deadline_at)
    assert reg.state == "paid"


def test_wrong_amount_is_not_guessed(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    for amount in ["15999.99", "16000.01", "abc"]:
        with pytest.raises(rsvc.RegistrationError):
            deposits.confirm_deposit(users["finance"], reg, amount, source_key=f"x-{amount}", receipt=PDF, receipt_filename="回单.pdf")
    assert reg.state == "qualified" and led.check() == []
    with pytest.raises(AccessDenied):
        deposits.confirm_deposit(users["center_reviewer"], reg, "16000", source_key="y", receipt=PDF, receipt_filename="回单.pdf")


@pytest.mark.article("第十九条")
def test_unpaid_at_the_deadline_is_abandoned(users, announced, db):
    paid, unpaid = applied(users, announced), applied(users, announced, key="buyer_org")
    for r in (paid, unpaid):
        rsvc.qualify(users["center_reviewer"], r)
    deposits.confirm_deposit(users["finance"], paid, "16000", source_key="p-1", receipt=PDF, receipt_filename="回单.pdf")
    clock.freeze(announced.deposit_deadline_at - timedelta(seconds=1))
    assert rsvc.abandon_unpaid() == 0
    clock.freeze(announced.deposit_deadline_at)
    assert rsvc.abandon_unpaid() == 1
    assert unpaid.state == "abandoned" and paid.state == "paid"
    assert rsvc.abandon_unpaid() == 0  # idempotent


def test_bidder_numbers_are_unique_per_listing(users, announced, db):
    regs = [applied(users, announced), applied(users, announced, key="buyer_org")]
    for i, r in enumerate(regs):
        rsvc.qualify(users["center_reviewer"], r)
        deposits.confirm_deposit(users["finance"], r, "16000", source_key=f"b-{i}", receipt=PDF, receipt_filename="回单.pdf")
    assert len({r.bidder_no for r in regs}) == 2


@pytest.mark.concurrency
def test_two_finance_users_confirm_at_once(app, users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    reg_id = reg.id
    finance_ids = [users["finance"].id, users["finance2"].id]
    barrier = threading.Barrier(2)
    results = []

    def confirm(i):
        with app.app_context():
            from exchange.accounts.models import User
            r = _db.session.get(Registration, reg_id)
            who = _db.session.get(User, finance_ids[i])
            barrier.wait()
            try:
                deposits.confirm_deposit(who, r, "16000", source_key=f"same-arrival-{i}", receipt=PDF, receipt_filename="回单.pdf")
                _db.session.commit()
                results.append("ok")
            except Exception as exc:  # noqa: BLE001 — a refusal of the second is the point
                _db.session.rollback()
                results.append(type(exc).__name__)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    db.session.expire_all()
    assert led.held(led.deposit_account(announced, users["buyer"])) == Decimal("16000.00")


# --- over the API ---------------------------------------------------------------------------------

@pytest.mark.article("第十三条")
def test_api_apply_qualify_and_confirm(client, users, announced, db):
    import io
    buyer, reviewer = token_headers(db, users, "buyer"), token_headers(db, users, "center_reviewer")
    finance = token_headers(db, users, "finance")
    resp = client.post(f"/api/v1/listings/{announced.id}/registrations", headers=buyer,
                       json={"accept_declaration": True})
    assert resp.status_code == 201, resp.get_json()
    reg = resp.get_json()
    assert reg["state"] == "applied" and "农村产权受让申请书" in reg["missing_materials"]
    # not qualifiable yet: materials missing
    resp = client.post(f"/api/v1/registrations/{reg['id']}/qualify", headers=reviewer, json={})
    assert resp.status_code == 400 and "材料不齐全" in resp.get_json()["message"]
    for kind in ["application", "declaration", "credit", "qualification"]:
        resp = client.post(f"/api/v1/registrations/{reg['id']}/materials", headers=buyer,
                           data={"kind": kind, "file": (io.BytesIO(PDF), f"{kind}.pdf")},
                           content_type="multipart/form-data")
        assert resp.status_code == 201, resp.get_json()
    body = client.post(f"/api/v1/registrations/{reg['id']}/qualify", headers=reviewer, json={}).get_json()
    assert body["state"] == "qualified" and body["payment_ref"].startswith("LX")
    # another buyer cannot see it; the buyer cannot confirm its own deposit
    other = token_headers(db, users, "buyer_org")
    assert client.get(f"/api/v1/registrations/{reg['id']}", headers=other).status_code == 403
    def receipt_form(amount, key, receipt=PDF):
        data = {"amount": amount, "source_key": key}
        if receipt is not None:
            data["receipt"] = (io.BytesIO(receipt), "回单.pdf")
        return {"data": data, "content_type": "multipart/form-data"}

    resp = client.post(f"/api/v1/registrations/{reg['id']}/deposit", headers=buyer, **receipt_form("16000", "x"))
    assert resp.status_code == 403
    resp = client.post(f"/api/v1/registrations/{reg['id']}/deposit", headers=finance, **receipt_form("15000", "r-1"))
    assert resp.status_code == 400 and "不符" in resp.get_json()["message"]
    resp = client.post(f"/api/v1/registrations/{reg['id']}/deposit", headers=finance,
                       **receipt_form("16000", "r-1", receipt=None))
    assert resp.status_code == 400 and "银行回单" in resp.get_json()["message"]
    resp = client.post(f"/api/v1/registrations/{reg['id']}/deposit", headers=finance,
                       **receipt_form("16000", "r-1", receipt=b"MZ\x90\x00 not a receipt"))
    assert resp.status_code == 400 and "银行回单" in resp.get_json()["message"]
    body = client.post(f"/api/v1/registrations/{reg['id']}/deposit", headers=finance,
                       **receipt_form("16000.00", "r-1")).get_json()
    assert body["state"] == "paid" and body["bidder_no"] is None  # the 竞买号 is the buyer's alone until bidding ends
    mine = client.get("/api/v1/registrations", headers=buyer).get_json()
    assert mine["items"][0]["bidder_no"]
    assert mine["total"] == 1 and client.get("/api/v1/registrations", headers=other).get_json()["total"] == 0
