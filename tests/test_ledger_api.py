"""Refunds and the ledger over the JSON API: finance acts, the supervisor reads, everyone else is refused."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.ledger.models import JournalEntry, Refund
from tests.builders import FORBIDDEN, deposit_held
from tests.factories import PASSWORD
from tests.helpers import api_csrf, api_login

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture
def tokens(users, db):
    from exchange.accounts.services import create_token
    out = {}
    for key in ["finance", "finance2", "supervisor", *FORBIDDEN]:
        _t, secret = create_token(users["admin"], users[key], f"t-{key}")
        out[key] = {"Authorization": f"Bearer {secret}"}
    db.session.commit()
    return out


def reads(m) -> list[str]:
    return ["/api/v1/refunds", f"/api/v1/refunds/{m.refund_id}", f"/api/v1/ledger/listings/{m.listing_id}",
            "/api/v1/ledger/check", "/api/v1/refunds?state=pending", "/api/v1/refunds?overdue=true"]


def writes(m) -> list[tuple[str, dict]]:
    return [(f"/api/v1/refunds/{m.refund_id}/transfer", {"bank_ref": "TK-1"}),
            (f"/api/v1/refunds/{m.refund_id}/approve", {})]


def test_finance_reads_refunds_and_ledger(client, money, tokens):
    h = tokens["finance"]
    body = client.get("/api/v1/refunds", headers=h).get_json()
    assert body["total"] == 1 and body["page"] == 1  # the deposit (the suspense money has no refund yet)
    first = body["items"][0]
    assert first["id"] == money.refund_id and first["amount"] == "16000.00" and first["state"] == "pending"
    assert first["state_label"] == "待登记转账" and first["reason_label"] == "未成交" and first["payee"] == "测试受让人"
    assert first["overdue"] is False and first["recorded_by"] is None
    assert first["listing"]["project_no"] == money.listing.project_no
    assert first["account"]["code"] == f"DEP-L{money.listing_id}-U{money.buyer_id}"
    one = client.get(f"/api/v1/refunds/{money.refund_id}", headers=h).get_json()
    assert one["due_at"].endswith("+00:00") and one["registration_id"] == money.reg.id
    ledger = client.get(f"/api/v1/ledger/listings/{money.listing_id}", headers=h).get_json()
    assert ledger["money"] == {"money_in": "16000.00", "money_out": "0.00", "held": "16000.00"}
    dep = [a for a in ledger["accounts"] if a["kind"] == "deposit"][0]
    assert dep["held"] == "16000.00" and dep["kind_label"] == "保证金" and dep["refund_id"] == money.refund_id
    [entry] = ledger["entries"]
    assert entry["kind"] == "deposit_in" and entry["kind_label"] == "保证金到账"
    assert {(ln["account_code"], ln["side"], ln["amount"]) for ln in entry["lines"]} == {
        ("BANK", "debit", "16000.00"), (dep["code"], "credit", "16000.00")}
    assert client.get("/api/v1/ledger/check", headers=h).get_json() == {"ok": True, "problems": []}


@pytest.fixture
def money2(money, users, db):
    """Add a suspense return so there are two refunds."""
    from exchange.ledger import refunds
    refunds.open_return(money.suspense, "unmatched", "李某某（农行 6228…1234）")
    db.session.commit()
    return money


def test_filters_and_pagination(client, money2, tokens):
    h = tokens["finance"]
    body = client.get("/api/v1/refunds?per_page=1", headers=h).get_json()
    assert body["total"] == 2 and len(body["items"]) == 1 and body["per_page"] == 1
    second = client.get("/api/v1/refunds?per_page=1&page=2", headers=h).get_json()["items"]
    assert second and second[0]["id"] != body["items"][0]["id"]
    assert client.get("/api/v1/refunds?state=approved", headers=h).get_json()["total"] == 0
    assert client.get("/api/v1/refunds?state=pending", headers=h).get_json()["total"] == 2
    assert client.get("/api/v1/refunds?overdue=true", headers=h).get_json()["total"] == 0
    resp = client.get("/api/v1/refunds?state=lost", headers=h)
    assert resp.status_code == 422 and "state" in resp.get_json()["fields"]
    assert client.get("/api/v1/refunds?per_page=500", headers=h).status_code == 422


def test_overdue_filter_after_the_due_time(client, money, tokens):
    clock.freeze(money.refund.due_at)
    clock.advance(seconds=1)
    body = client.get("/api/v1/refunds?overdue=true", headers=tokens["supervisor"]).get_json()
    assert body["total"] == 1 and body["items"][0]["overdue"] is True


def test_supervisor_reads_and_cannot_write(client, money, tokens, db):
    h = tokens["supervisor"]
    for url in reads(money):
        assert client.get(url, headers=h).status_code == 200, url
    for url, data in writes(money):
        resp = client.post(url, json=data, headers=h)
        assert resp.status_code == 403, url
        assert resp.get_json() == {"error": "forbidden", "message": "您没有权限办理保证金退款。"}
    db.session.expire_all()
    assert db.session.get(Refund, money.refund_id).state == "pending"


def test_everyone_else_is_refused_every_route(client, money, tokens, db):
    for key in FORBIDDEN:
        for url in reads(money):
            resp = client.get(url, headers=tokens[key])
            assert resp.status_code == 403 and resp.get_json()["error"] == "forbidden", (key, url)
        for url, data in writes(money):
            assert client.post(url, json=data, headers=tokens[key]).status_code == 403, (key, url)
    # unknown ids are refused before they are looked up (no probing)
    assert client.get("/api/v1/refunds/99999", headers=tokens["buyer"]).status_code == 403
    db.session.expire_all()
    assert db.session.get(Refund, money.refund_id).state == "pending"
    assert deposit_held(money) == Decimal("16000.00")


def test_signed_out_is_401(client, money):
    for url in reads(money):
        assert client.get(url).status_code == 401, url


def test_maker_checker_over_the_api(client, money, tokens, users, db):
    base = f"/api/v1/refunds/{money.refund_id}"
    resp = client.post(f"{base}/transfer", json={"bank_ref": "TK2026112301"}, headers=tokens["finance"])
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["state"] == "recorded" and body["bank_ref"] == "TK2026112301"
    assert body["recorded_by"] == {"id": users["finance"].id, "name": "测试finance"}
    # recording twice is refused
    resp = client.post(f"{base}/transfer", json={"bank_ref": "TK-2"}, headers=tokens["finance2"])
    assert resp.status_code == 400 and resp.get_json()["message"] == "该退款已登记转账。"
    # the maker cannot approve
    resp = client.post(f"{base}/approve", headers=tokens["finance"])
    assert resp.status_code == 400
    assert resp.get_json()["message"] == "登记人和复核人不能是同一人，请由另一名财务人员复核。"
    assert deposit_held(money) == Decimal("16000.00")
    # a second finance user approves
    resp = client.post(f"{base}/approve", headers=tokens["finance2"])
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["state"] == "approved" and body["approved_by"]["id"] == users["finance2"].id
    assert body["journal_entry_id"] and body["bank_ref"] == "TK2026112301"
    # again: harmless
    again = client.post(f"{base}/approve", headers=tokens["finance2"]).get_json()
    assert again["state"] == "approved" and again["journal_entry_id"] == body["journal_entry_id"]
    assert db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.kind == "refund")) == 1
    ledger = client.get(f"/api/v1/ledger/listings/{money.listing_id}", headers=tokens["supervisor"]).get_json()
    assert ledger["money"] == {"money_in": "16000.00", "money_out": "16000.00", "held": "0.00"}
    assert [e["kind"] for e in ledger["entries"]] == ["deposit_in", "refund"]
    assert ledger["entries"][1]["created_by"]["id"] == users["finance2"].id
    assert all(a["held"] == "0.00" for a in ledger["accounts"])
    assert client.get("/api/v1/ledger/check", headers=tokens["finance"]).get_json()["ok"] is True


def test_bad_input_changes_nothing(client, money, tokens, db):
    base = f"/api/v1/refunds/{money.refund_id}"
    h = tokens["finance"]
    resp = client.post(f"{base}/transfer", json={}, headers=h)
    assert resp.status_code == 422 and "bank_ref" in resp.get_json()["fields"]
    resp = client.post(f"{base}/transfer", json={"bank_ref": "x" * 101}, headers=h)
    assert resp.status_code == 422
    resp = client.post(f"{base}/transfer", json={"bank_ref": "   "}, headers=h)
    assert resp.status_code == 400 and resp.get_json()["fields"] == {"bank_ref": ["请填写退款的银行回单号。"]}
    resp = client.post(f"{base}/approve", headers=tokens["finance2"])
    assert resp.status_code == 400 and "请先登记退款转账" in resp.get_json()["message"]
    db.session.expire_all()
    refund = db.session.get(Refund, money.refund_id)
    assert refund.state == "pending" and refund.bank_ref == ""


def test_unknown_ids_are_404(client, money, tokens):
    h = tokens["finance"]
    for url in ["/api/v1/refunds/99999", "/api/v1/ledger/listings/99999"]:
        resp = client.get(url, headers=h)
        assert resp.status_code == 404 and resp.get_json()["error"] == "not_found", url
    assert client.post("/api/v1/refunds/99999/approve", headers=h).status_code == 404
    assert client.post("/api/v1/refunds/99999/transfer", json={"bank_ref": "x"}, headers=h).status_code == 404


def test_session_writes_need_the_csrf_header(client, money, db):
    assert api_login(client, "t_finance", PASSWORD).status_code == 200
    resp = client.post(f"/api/v1/refunds/{money.refund_id}/transfer", json={"bank_ref": "TK-9"})
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf_failed"
    db.session.expire_all()
    assert db.session.get(Refund, money.refund_id).state == "pending"
    resp = client.post(f"/api/v1/refunds/{money.refund_id}/transfer", json={"bank_ref": "TK-9"},
                       headers={"X-CSRFToken": api_csrf(client)})
    assert resp.status_code == 200 and resp.get_json()["state"] == "recorded"


def test_openapi_documents_the_ledger_routes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ["/api/v1/refunds", "/api/v1/refunds/{refund_id}", "/api/v1/refunds/{refund_id}/transfer",
                 "/api/v1/refunds/{refund_id}/approve", "/api/v1/ledger/listings/{listing_id}", "/api/v1/ledger/check"]:
        assert path in spec["paths"], path
    assert spec["paths"]["/api/v1/refunds/{refund_id}/approve"]["post"]["summary"].startswith("复核退款")
