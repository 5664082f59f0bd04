"""Contract pages and API, like a user and an attacker: the buyer finds the contract from 我的报名, reads the
due date and the PDF, confirms with its password (wrong password, twice, after the deadline refused); the
village clerk confirms for the household; strangers, losing bidders and other villages are refused; a renamed
.exe is refused; the center edits clauses only before confirmation and checks the scan; the listing moves on
to 结算."""
import io
from datetime import timedelta

import pytest

from exchange import clock
from exchange.contracts.models import Contract
from exchange.listings.models import Listing
from tests.builders import EXE, PDF, end_publicity
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture
def drafted(online_deal, db):
    """(contract, regs): the contract draft of ``online_deal``, committed."""
    deal, regs = online_deal
    c = end_publicity(deal)
    db.session.commit()
    return c, regs


def as_user(app, username):
    c = app.test_client()
    login(c, username, PASSWORD)
    return c


def post(client, url, data, page):
    token = csrf_from(text(client.get(page)))
    return client.post(url, data={**data, "csrf_token": token})


def test_buyer_reaches_the_contract_and_confirms(app, drafted, db):
    c, regs = drafted
    url = f"/contracts/{c.id}"
    buyer = as_user(app, "t_buyer")
    page = text(buyer.get(f"/registrations/{regs['buyer'].id}"))
    assert "查看合同" in page and f"/contracts/deal/{c.deal_id}" in page
    resp = buyer.get(f"/contracts/deal/{c.deal_id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(url)
    page = text(buyer.get(url))
    due = clock.to_local(c.due_at - timedelta(microseconds=1)).strftime("%Y-%m-%d") + " 24:00"
    assert "签约期限" in page and due in page and "签署合同" in page and "农村土地经营权流转合同" in page
    assert "交易公示期满之日起 5 个工作日内" in page
    assert "保存约定条款" not in page and "核验签章合同" not in page  # the center's forms are not for the buyer
    pdf = buyer.get(f"/contracts/{c.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    # wrong password: 400, nothing stored
    resp = post(buyer, f"{url}/confirm", {"password": "not-my-password"}, url)
    assert resp.status_code == 400 and "密码不正确" in text(resp)
    assert db.session.get(Contract, c.id).buyer_confirmed_at is None
    resp = post(buyer, f"{url}/confirm", {"password": ""}, url)
    assert resp.status_code == 400
    resp = post(buyer, f"{url}/confirm", {"password": PASSWORD}, url)
    assert resp.status_code == 302
    assert "您已签署合同，等待对方签署" in text(buyer.get(url))
    assert db.session.get(Contract, c.id).buyer_confirmed_at is not None
    # twice
    token = csrf_from(text(buyer.get(f"/registrations/{regs['buyer'].id}")))
    resp = buyer.post(f"{url}/confirm", data={"password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 400 and "无需重复确认" in text(resp)
    assert db.session.get(Listing, c.listing_id).state == "contract"  # one signature: not in force
    # no CSRF token: refused
    assert buyer.post(f"{url}/confirm", data={"password": PASSWORD}).status_code == 400


def test_outsiders_are_refused(app, client, drafted, orgs, db):
    c, regs = drafted
    url = f"/contracts/{c.id}"
    assert client.get(url).status_code == 302  # anonymous → login
    assert client.get(f"{url}.pdf").status_code == 302
    for username in ("t_buyer_org", "t_coop", "t_point_b1", "t_station_b"):  # losing bidders, other town
        other = as_user(app, username)
        assert other.get(url).status_code == 403, username
        assert other.get(f"{url}.pdf").status_code == 403, username
        assert other.get(f"/contracts/deal/{c.deal_id}").status_code == 403, username
        token = csrf_from(text(other.get("/work")))
        resp = other.post(f"{url}/confirm", data={"password": PASSWORD, "csrf_token": token})
        assert resp.status_code == 403, username
    assert db.session.get(Contract, c.id).buyer_confirmed_at is None
    # the staff list is for the center (and the supervisor); clerks see only their own area's contracts
    assert as_user(app, "t_buyer").get("/contracts").status_code == 403
    own = as_user(app, "t_point_a1").get("/contracts")
    assert own.status_code == 200 and c.listing.title in text(own)
    other_town = as_user(app, "t_point_b1").get("/contracts")
    assert other_town.status_code == 200 and c.listing.title not in text(other_town)
    assert as_user(app, "t_supervisor").get("/contracts").status_code == 200
    assert app.test_client().get("/contracts/999999").status_code in (302, 404)
    assert as_user(app, "t_reviewer").get("/contracts/999999").status_code == 404


@pytest.mark.article("第十六条")
def test_clerk_records_the_household_signature_and_the_contract_is_in_force(app, drafted, db):
    c, regs = drafted
    url = f"/contracts/{c.id}"
    reviewer = as_user(app, "t_reviewer")
    page = text(reviewer.get(url))
    assert "保存约定条款" in page and "签署合同" not in page
    resp = post(reviewer, f"{url}/clauses", {"payment": "分两期支付。", "delivery": "现场交付。",
                                             "dispute": "向人民法院起诉。", "other": ""}, url)
    assert resp.status_code == 400  # every clause is required ("无" when nothing is agreed)
    resp = post(reviewer, f"{url}/clauses", {"payment": "分两期支付。", "delivery": "现场交付。",
                                             "dispute": "向人民法院起诉。", "other": "无。"}, url)
    assert resp.status_code == 302
    assert "分两期支付。" in db.session.get(Contract, c.id).clauses
    post(as_user(app, "t_buyer"), f"{url}/confirm", {"password": PASSWORD}, url)
    # the clauses are frozen now
    resp = post(reviewer, f"{url}/clauses", {"payment": "改了", "delivery": "x", "dispute": "x", "other": "x"}, url)
    assert resp.status_code == 400 and "不能再修改" in text(resp)
    clerk = as_user(app, "t_point_a1")
    page = text(clerk.get(url))
    assert "代为登记" in page and "交易点代为确认（转让方已书面签字）" in page and "代转让方登记签字" in page
    # the signed page is required, and only a real PDF/JPG/PNG
    assert post(clerk, f"{url}/confirm", {"password": PASSWORD}, url).status_code == 400
    token = csrf_from(text(clerk.get(url)))
    resp = clerk.post(f"{url}/confirm", data={"csrf_token": token, "password": PASSWORD,
                                              "file": (io.BytesIO(EXE), "签字页.pdf")},
                      content_type="multipart/form-data")
    assert resp.status_code == 400 and "只能上传" in text(resp)
    assert db.session.get(Contract, c.id).state == "draft"
    resp = clerk.post(f"{url}/confirm", data={"csrf_token": token, "password": PASSWORD,
                                              "file": (io.BytesIO(PDF), "签字页.pdf")},
                      content_type="multipart/form-data")
    assert resp.status_code == 302
    follow = text(clerk.get(resp.headers["Location"]))
    assert "合同已生效" in follow
    row = db.session.get(Contract, c.id)
    assert row.state == "signed" and row.contract_no.startswith("临农交合〔") and row.effective_at == clock.now()
    assert db.session.get(Listing, c.listing_id).state == "settlement"
    signed_page = clerk.get(f"{url}/signature")
    assert signed_page.status_code == 200 and signed_page.data == PDF
    assert as_user(app, "t_buyer_org").get(f"{url}/signature").status_code == 403
    assert clerk.get(f"{url}/scan").status_code == 404  # the signed contract itself is not in yet
    buyer = as_user(app, "t_buyer")
    page = text(buyer.get(url))
    assert row.contract_no in page and "已生效" in page and "纸质签字页" in page and "上传签字盖章的合同" in page
    token = csrf_from(page)
    resp = buyer.post(f"{url}/scan", data={"csrf_token": token, "file": (io.BytesIO(PDF), "双方签章合同.pdf")},
                      content_type="multipart/form-data")
    assert resp.status_code == 302 and db.session.get(Contract, c.id).state == "uploaded"
    assert "等待交易中心核验" in text(buyer.get(url))
    assert as_user(app, "t_buyer_org").get(f"{url}/scan").status_code == 403
    # only the center checks the scan (鉴证); a return keeps the contract in force
    token = csrf_from(page)
    assert buyer.post(f"{url}/check", data={"csrf_token": token, "decision": "approve"}).status_code == 403
    resp = post(reviewer, f"{url}/check", {"decision": "return", "note": ""}, url)
    assert resp.status_code == 400
    assert post(reviewer, f"{url}/check", {"decision": "return", "note": "缺乙方盖章"}, url).status_code == 302
    assert "缺乙方盖章" in text(buyer.get(url)) and db.session.get(Contract, c.id).is_in_force
    token = csrf_from(text(buyer.get(url)))
    resp = buyer.post(f"{url}/scan", data={"csrf_token": token, "file": (io.BytesIO(PDF), "全本.pdf")},
                      content_type="multipart/form-data")
    assert resp.status_code == 302 and db.session.get(Contract, c.id).state == "uploaded"
    assert post(reviewer, f"{url}/check", {"decision": "approve"}, url).status_code == 302
    row = db.session.get(Contract, c.id)
    assert row.state == "checked" and "签章合同已核验" in text(buyer.get(url))


@pytest.mark.article("第十六条")
def test_deadline_is_shown_and_a_late_signature_marked(app, drafted, db):
    c, regs = drafted
    url = f"/contracts/{c.id}"
    clock.freeze(c.due_at + timedelta(hours=1))
    buyer = as_user(app, "t_buyer")
    page = text(buyer.get(url))
    assert "已超期" in page and "已超过签约期限" in page and "认定违约之前仍可签署" in page
    listing_page = text(as_user(app, "t_trader").get("/contracts"))
    assert c.listing.title in listing_page and "已超期" in listing_page
    assert post(buyer, f"{url}/confirm", {"password": PASSWORD}, url).status_code == 302
    clerk = as_user(app, "t_point_a1")
    token = csrf_from(text(clerk.get(url)))
    resp = clerk.post(f"{url}/confirm", data={"csrf_token": token, "password": PASSWORD,
                                              "file": (io.BytesIO(PDF), "签字页.pdf")},
                      content_type="multipart/form-data")
    assert resp.status_code == 302
    page = text(buyer.get(url))
    assert "逾期签署" in page and "已生效" in page


def test_api(app, client, buyers, drafted, db):
    c, regs = drafted
    base = f"/api/v1/contracts/{c.id}"
    buyer, clerk = token_headers(db, buyers, "buyer"), token_headers(db, buyers, "point_a1")
    reviewer, loser = token_headers(db, buyers, "center_reviewer"), token_headers(db, buyers, "buyer_org")
    body = client.get(base, headers=buyer).get_json()
    assert body["state"] == "draft" and body["template"] == "land" and body["price"] == "160500.00"
    assert body["price_upper"] == "壹拾陆万零伍佰元整" and body["pdf_url"] == f"/contracts/{c.id}.pdf"
    assert set(body["clauses"]) == {"payment", "delivery", "dispute", "other"}
    assert client.get(base, headers=loser).status_code == 403
    assert client.get("/api/v1/contracts/999999", headers=reviewer).status_code == 404
    assert client.get(base).status_code == 401
    # clauses: the center only; unknown fields refused
    assert client.patch(f"{base}/clauses", headers=buyer, json={"other": "x"}).status_code == 403
    assert client.patch(f"{base}/clauses", headers=reviewer, json={"price": "1"}).status_code == 422
    resp = client.patch(f"{base}/clauses", headers=reviewer, json={"other": "乙方雇用本村劳动力。"})
    assert resp.status_code == 200 and resp.get_json()["clauses"]["other"] == "乙方雇用本村劳动力。"
    # confirm
    resp = client.post(f"{base}/confirm", headers=buyer, json={"password": "wrong"})
    assert resp.status_code == 400 and resp.get_json()["fields"]["password"]
    assert client.post(f"{base}/confirm", headers=buyer, json={}).status_code == 422
    assert client.post(f"{base}/confirm", headers=loser, json={"password": PASSWORD}).status_code == 403
    assert client.post(f"{base}/confirm", headers=buyer, json={"password": PASSWORD}).status_code == 200
    resp = client.post(f"{base}/confirm", headers=buyer, json={"password": PASSWORD})
    assert resp.status_code == 400 and "无需重复确认" in resp.get_json()["message"]
    resp = client.patch(f"{base}/clauses", headers=reviewer, json={"other": "改"})
    assert resp.status_code == 400 and "不能再修改" in resp.get_json()["message"]
    # the clerk records the household's paper signature: the signed page is required (multipart)
    resp = client.post(f"{base}/confirm", headers=clerk, json={"password": PASSWORD})
    assert resp.status_code == 400 and resp.get_json()["fields"]["file"]
    resp = client.post(f"{base}/paper-signature", headers=clerk, data={"password": PASSWORD,
                       "file": (io.BytesIO(EXE), "签字页.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "只能上传" in resp.get_json()["message"]
    resp = client.post(f"{base}/paper-signature", headers=clerk, data={"password": PASSWORD,
                       "file": (io.BytesIO(PDF), "签字页.pdf")}, content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["state"] == "signed" and body["seller_confirmed_as"] == "交易点代为确认（转让方已书面签字）"
    assert body["seller_signature_filename"] == "签字页.pdf" and len(body["seller_signature_sha256"]) == 64
    assert body["contract_no"].endswith("第000001号") and body["effective_at"] and body["signed_late"] is False
    assert len(body["text_sha256"]) == 64 and db.session.get(Listing, c.listing_id).state == "settlement"
    # the signed contract, then check (鉴证): the center only; a return keeps it in force, the scan again, checked
    resp = client.post(f"{base}/scan", headers=clerk, data={"file": (io.BytesIO(PDF), "双方签章合同.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and resp.get_json()["state"] == "uploaded"
    assert client.post(f"{base}/check", headers=buyer, json={"approve": True}).status_code == 403
    resp = client.post(f"{base}/check", headers=reviewer, json={"approve": False})
    assert resp.status_code == 400 and resp.get_json()["fields"]["note"]
    body = client.post(f"{base}/check", headers=reviewer, json={"approve": False, "note": "缺甲方签字"}).get_json()
    assert body["state"] == "signed" and body["check_note"] == "缺甲方签字" and body["effective_at"]
    resp = client.post(f"{base}/scan", headers=buyer, data={"file": (io.BytesIO(EXE), "合同.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "只能上传" in resp.get_json()["message"]
    resp = client.post(f"{base}/scan", headers=buyer, data={}, content_type="multipart/form-data")
    assert resp.status_code == 400
    resp = client.post(f"{base}/scan", headers=buyer, data={"file": (io.BytesIO(PDF), "合同.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and resp.get_json()["state"] == "uploaded"
    body = client.post(f"{base}/check", headers=reviewer, json={"approve": True}).get_json()
    assert body["state"] == "checked"
    resp = client.post(f"{base}/check", headers=reviewer, json={"approve": True})
    assert resp.status_code == 400


def test_openapi_documents_the_contract_endpoints(client, db):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for p in ("/api/v1/contracts/{contract_id}", "/api/v1/contracts/{contract_id}/confirm",
              "/api/v1/contracts/{contract_id}/scan", "/api/v1/contracts/{contract_id}/check",
              "/api/v1/contracts/{contract_id}/paper-signature",
              "/api/v1/contracts/{contract_id}/clauses"):
        assert p in paths, p


def test_work_pages_show_the_contract_queues(client, users, db):
    from tests.helpers import login, text
    from tests.factories import PASSWORD
    for username, words in (("t_point_a1", "待代转让方登记签字的合同"), ("t_reviewer", "待核验的合同签章件"),
                            ("t_finance", "待付价款的结算"), ("t_buyer", "待签署的合同")):
        login(client, username, PASSWORD)
        assert words in text(client.get("/work")), username
        client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})
    login(client, "t_point_a1", PASSWORD)
    assert client.get("/contracts").status_code == 200
