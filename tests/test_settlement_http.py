"""资金结算 over HTTP and the API: the buyer pays through the sandbox bank and downloads the 结算单 (account
masked), finance confirms, charges, records and another finance user approves; attackers are refused."""
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange.deadlines.sweeper import sweep
from exchange.listings.models import Listing
from exchange.settlement import services as stl
from exchange.settlement.models import FeeRule, Payout, Settlement
from tests.builders import PDF
from tests.factories import PASSWORD
from tests.helpers import api_csrf, api_login, csrf_from, login, pdf_text, post_form, text

pytestmark = pytest.mark.usefixtures("uploads")


def test_buyer_pays_online_and_gets_the_statement(client, users, effective, db):
    deal = effective
    login(client, "t_buyer_org", PASSWORD)
    reg_page = text(client.get(f"/registrations/{deal.registration_id}"))
    assert "资金结算" in reg_page
    sweep()  # the fixture's contract was made effective by hand: the sweeper opens its settlement, no page does
    resp = client.get(f"/settlements/deal/{deal.id}")
    assert resp.status_code == 302
    page = text(client.get(resp.location))
    s = db.session.scalar(select(Settlement))
    assert s.payment_ref in page and "144,000.00" in page and "网上支付" in page
    assert deal.listing.account_no not in page and deal.listing.account_no[-4:] in page  # masked for the buyer
    resp = client.post(f"/settlements/{s.id}/pay", data={"csrf_token": csrf_from(page), "provider": "sandbox"})
    assert resp.status_code == 302 and "/payments/sandbox/PO" in resp.location
    bank = text(client.get(resp.location))
    assert s.payment_ref in bank and "144,000.00" in bank
    done = client.post(resp.location, data={"csrf_token": csrf_from(bank), "action": "pay"}, follow_redirects=True)
    assert "价款已入账" in text(done)
    db.session.expire_all()
    assert db.session.get(Settlement, s.id).state == "paid"
    pdf = client.get(f"/settlements/{s.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    body = pdf_text(pdf.data).replace(" ", "")
    assert "结算单" in body and s.payment_ref in body and "壹拾陆万元整" in body
    assert deal.listing.account_no not in body


@pytest.mark.parametrize("who", ["t_buyer", "t_station_a", "t_reviewer"])
def test_others_cannot_see_or_pay(client, users, effective, who, db):
    s = stl.ensure_settlement(effective)
    db.session.commit()
    login(client, who, PASSWORD)
    assert client.get(f"/settlements/{s.id}").status_code == 403
    assert client.get(f"/settlements/{s.id}.pdf").status_code == 403
    assert client.get("/settlements").status_code == 403
    token = api_csrf(client)
    assert client.get(f"/api/v1/settlements/{s.id}").status_code == 404
    assert client.post(f"/api/v1/settlements/{s.id}/pay", json={}, headers={"X-CSRFToken": token}).status_code == 404
    assert client.post(f"/api/v1/settlements/{s.id}/charge-fees", headers={"X-CSRFToken": token}).status_code == 403


def test_finance_pages_receipt_fees_and_four_eyes(client, users, effective, db):
    login(client, "t_finance", PASSWORD)
    sweep()  # opens the missing settlement (the list only reads)
    listing_page = text(client.get("/settlements"))
    s = db.session.scalar(select(Settlement))
    assert s is not None and s.payment_ref in listing_page
    url = f"/settlements/{s.id}"
    page = text(client.get(url))
    assert effective.listing.account_no in page  # staff see the account in full
    short = post_form(client, f"{url}/receipt", {"amount": "100", "source_key": "R-9",
                                                 "receipt": (io.BytesIO(PDF), "r.pdf")}, page=url, follow=True)
    assert "不符" in text(short)
    db.session.expire_all()
    assert db.session.get(Settlement, s.id).state == "awaiting"
    data = {"amount": str(s.amount_to_pay), "source_key": "R-9", "receipt": (io.BytesIO(PDF), "r.pdf")}
    ok = client.post(f"{url}/receipt", data={**data, "csrf_token": csrf_from(page)}, follow_redirects=True,
                     content_type="multipart/form-data")
    assert "价款已确认到账" in text(ok), re.findall(r"alert[^>]*>([^<]*)<", text(ok))
    post_form(client, f"{url}/charge-fees", {}, page=url)
    payout = db.session.scalar(select(Payout))
    post_form(client, f"/payouts/{payout.id}/transfer", {"bank_ref": "HK-77"}, page=url)
    same = post_form(client, f"/payouts/{payout.id}/approve", {}, page=url, follow=True)
    assert "不能是同一人" in text(same) or "另一名财务人员复核" in text(same)
    db.session.expire_all()
    assert db.session.get(Payout, payout.id).state == "recorded"
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get(url)))})
    login(client, "t_finance2", PASSWORD)
    done = post_form(client, f"/payouts/{payout.id}/approve", {}, page=url, follow=True)
    assert "结算完成" in text(done)
    db.session.expire_all()
    assert db.session.get(Listing, effective.listing_id).state == "certification"


def test_api_flow(client, users, effective, db):
    s = stl.ensure_settlement(effective)
    db.session.commit()
    api_login(client, "t_buyer_org", PASSWORD)
    token = api_csrf(client)
    got = client.get(f"/api/v1/settlements/{s.id}").get_json()
    assert got["amount_to_pay"] == "144000.00" and got["payment_ref"] == s.payment_ref and got["payout"] is None
    order = client.post(f"/api/v1/settlements/{s.id}/pay", json={}, headers={"X-CSRFToken": token})
    assert order.status_code == 201 and order.get_json()["checkout_url"].startswith("/payments/sandbox/")
    assert client.post(f"/api/v1/settlements/{s.id}/receipt", headers={"X-CSRFToken": token},
                       data={"amount": "144000", "source_key": "X"}).status_code == 403
    client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token})

    api_login(client, "t_finance", PASSWORD)
    token = api_csrf(client)
    over = client.post(f"/api/v1/settlements/{s.id}/receipt", headers={"X-CSRFToken": token},
                       data={"amount": "144000.01", "source_key": "A-1", "receipt": (io.BytesIO(PDF), "r.pdf")},
                       content_type="multipart/form-data")
    assert over.status_code == 400 and "超出" in over.get_json()["message"], over.get_json()
    ok = client.post(f"/api/v1/settlements/{s.id}/receipt", headers={"X-CSRFToken": token},
                     data={"amount": "144000.00", "source_key": "A-1", "receipt": (io.BytesIO(PDF), "r.pdf")},
                     content_type="multipart/form-data")
    assert ok.status_code == 200 and ok.get_json()["state"] == "paid"
    charged = client.post(f"/api/v1/settlements/{s.id}/charge-fees", headers={"X-CSRFToken": token}).get_json()
    pid = charged["payout"]["id"]
    assert charged["payout"]["amount"] == "160000.00"
    assert client.post(f"/api/v1/payouts/{pid}/transfer", json={"bank_ref": ""},
                       headers={"X-CSRFToken": token}).status_code in (400, 422)
    assert client.post(f"/api/v1/payouts/{pid}/transfer", json={"bank_ref": "HK-1"},
                       headers={"X-CSRFToken": token}).get_json()["state"] == "recorded"
    same = client.post(f"/api/v1/payouts/{pid}/approve", headers={"X-CSRFToken": token})
    assert same.status_code == 400 and "同一人" in same.get_json()["message"]
    client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token})

    api_login(client, "t_finance2", PASSWORD)
    token = api_csrf(client)
    first = client.post(f"/api/v1/payouts/{pid}/approve", headers={"X-CSRFToken": token})
    again = client.post(f"/api/v1/payouts/{pid}/approve", headers={"X-CSRFToken": token})
    assert first.get_json()["state"] == "approved" and again.status_code == 200
    db.session.expire_all()
    assert db.session.get(Listing, effective.listing_id).state == "certification"


def test_fee_table_pages_and_api(client, users, db):
    login(client, "t_admin", PASSWORD)
    assert "收费标准" in text(client.get("/admin/fees"))
    # the form takes percentages as people write them (issue 17): "1.5" is 1.5 %, kept as the rate 0.015
    ok = post_form(client, "/admin/fees/default", {"basis": "rate", "rate": "1.5", "payer": "buyer", "active": "y"})
    assert ok.status_code == 302
    assert db.session.scalar(select(FeeRule).where(FeeRule.category_id.is_(None))).rate == Decimal("0.015")
    form = text(client.get("/admin/fees/default"))
    assert 'value="1.5"' in form and "费率" in form and "%" in form
    for raw, words in (("abc", "不是一个数"), ("100", "应小于 100%"), ("-1", "不能为负数"), ("0.1234", "最多保留 3 位小数"),
                       ("", "请填写费率")):
        bad = post_form(client, "/admin/fees/default", {"basis": "rate", "rate": raw, "payer": "buyer", "active": "y"})
        assert bad.status_code == 400 and words in text(bad), raw
    assert db.session.scalar(select(FeeRule).where(FeeRule.category_id.is_(None))).rate == Decimal("0.015")
    bad = post_form(client, "/admin/fees/1", {"basis": "rate", "rate": "1", "min_fee": "9", "max_fee": "1",
                                              "payer": "buyer", "active": "y"})
    assert bad.status_code == 400 and "最低收费不能高于最高收费" in text(bad)
    ok = post_form(client, "/admin/fees/1", {"basis": "fixed", "fixed_amount": "0", "payer": "both", "active": "y"})
    assert ok.status_code == 302
    assert db.session.scalar(select(FeeRule).where(FeeRule.category_id == 1)).fixed_amount == 0
    token = api_csrf(client)
    put = client.put("/api/v1/fees", json={"category_id": None, "basis": "rate", "rate": "0.005", "min_fee": "100",
                                           "payer": "seller"}, headers={"X-CSRFToken": token})
    assert put.status_code == 200 and put.get_json()["payer"] == "seller"
    assert len(client.get("/api/v1/fees").get_json()) == 2
    bad = client.put("/api/v1/fees", json={"basis": "rate", "rate": "1", "payer": "buyer"}, headers={"X-CSRFToken": token})
    assert bad.status_code == 400


def test_finance_cannot_edit_fees(client, users, db):
    login(client, "t_finance", PASSWORD)
    assert client.get("/admin/fees").status_code == 403
    token = api_csrf(client)
    assert client.put("/api/v1/fees", json={"basis": "rate", "rate": "0.1", "payer": "buyer"},
                      headers={"X-CSRFToken": token}).status_code == 403
    assert db.session.scalar(select(FeeRule)).rate == Decimal("0")
