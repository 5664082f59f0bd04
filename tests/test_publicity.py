"""交易公示 over HTTP, as citizens, bidders, clerks and the center use it (and as an attacker tries it):
public pages with masked names, objections during publicity only, the center's handling, the API."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.deadlines.sweeper import sweep
from exchange.listings.models import Listing
from exchange.trading import services as tsvc
from exchange.trading.models import Deal, Objection
from tests.factories import PASSWORD
from tests.helpers import api_csrf, api_login, csrf_from, get_csrf, login, text

pytestmark = pytest.mark.usefixtures("uploads")

CONTENT = "该地块东侧约三亩属于我家承包范围，请交易中心核实权属后再签约。"


def _file(client, deal, **data):
    page = client.get(f"/deals/{deal.deal_no}")
    token = csrf_from(text(page))
    return client.post(f"/deals/{deal.deal_no}/objection",
                       data={"name": "某村民", "contact": "13900001111", "content": CONTENT, **data,
                             "csrf_token": token})


# --- public pages ----------------------------------------------------------------------------------

def test_publicity_list_and_deal_page_mask_natural_persons(client, online_deal):
    deal, regs = online_deal
    listing = deal.listing
    for url in ("/publicity", f"/deals/{deal.deal_no}"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        page = text(resp)
        assert listing.project_no in page and listing.title in page and "网络竞价" in page
        assert "160,500.00" in page and "壹拾陆万零伍佰元整" in page
        assert "测****" in page  # the natural person who won, masked like the project pages
        assert "测试受让人" not in page
        assert listing.transferor_id_no not in page and listing.transferor_mobile not in page
        assert regs["buyer"].buyer.party.id_number not in page and "13900000001" not in page
        assert listing.account_no not in page
    page = text(client.get(f"/deals/{deal.deal_no}"))
    assert "农***" in page and "农户演示" not in page  # the household transferor, masked
    # the bidding record by 竞买号, with amounts and times; no bidder's name
    for reg in regs.values():
        assert reg.bidder_no in page
    assert "160,000.00" in page and "优先权人跟价" in page
    assert "测试公司" not in page
    bids = tsvc.bids_of(deal.session)
    assert all(clock.to_local(b.at).strftime("%Y-%m-%d %H:%M:%S") in page for b in bids)
    assert "提交异议" in page
    # no link an anonymous visitor cannot open (issue 17 item 12): the PDFs are for the parties, said in words
    assert "confirmation.pdf" not in page and "bidding-record.pdf" not in page and "/login?next=" in page
    assert "仅限交易双方、本场竞买人和交易中心工作人员查看" in page
    assert "异议处理" not in page  # the link to the center's handling only for staff


def test_the_project_page_shows_its_deal_during_publicity(client, online_deal):
    deal, _ = online_deal
    page = text(client.get(f"/projects/{deal.listing.project_no}"))
    assert "网络竞价成交，成交价 160,500.00 元（壹拾陆万零伍佰元整）" in page and "公示期内可提出异议" in page
    assert f"/deals/{deal.deal_no}" in page and "查看成交公示" in page


def test_organisation_winner_shown_in_full(client, agreement_deal):
    deal = agreement_deal
    page = text(client.get("/publicity"))
    assert "t_buyer_org 测试公司" in page and "协议转让" in page
    page = text(client.get(f"/deals/{deal.deal_no}"))
    assert "bidding-record.pdf" not in page and "报价明细" not in page and "竞价记录" not in page
    assert client.get("/deals/CJ-nope").status_code == 404


def test_confirmed_deals_listed_and_no_longer_open_to_objections(client, online_deal, db):
    deal, _ = online_deal
    clock.freeze(deal.publicity_end_at)
    sweep()
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).state == "confirmed"
    assert db.session.get(Listing, deal.listing_id).state == "contract"
    page = text(client.get("/publicity"))
    assert "公示期满" in page and deal.listing.project_no in page
    page = text(client.get(f"/deals/{deal.deal_no}"))
    assert "提交异议" not in page and "不再受理异议" in page


# --- objections ------------------------------------------------------------------------------------

def test_anyone_files_an_objection_during_publicity(client, online_deal, db):
    deal, _ = online_deal
    resp = _file(client, deal)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/deals/{deal.deal_no}#main")
    page = text(client.get(resp.headers["Location"]))
    assert "您的异议已提交" in page and "交易中心将依规核实处理" in page
    obj = db.session.scalar(select(Objection))
    assert obj.deal_id == deal.id and obj.filed_by_id is None and obj.content == CONTENT and obj.state == "pending"
    # the content and the objector's contact are not public
    page = text(client.get(f"/deals/{deal.deal_no}"))
    assert CONTENT not in page and "13900001111" not in page and "某村民" not in page


def test_signed_in_buyer_files_an_objection(client, buyers, online_deal, db):
    deal, _ = online_deal
    login(client, "t_buyer_org", PASSWORD)
    assert _file(client, deal, name="t_buyer_org 测试公司").status_code == 302
    obj = db.session.scalar(select(Objection))
    assert obj.filed_by_id == buyers["buyer_org"].id


def test_bad_objection_is_refused_with_a_chinese_message(client, online_deal, db):
    deal, _ = online_deal
    resp = _file(client, deal, content="太短了")
    assert resp.status_code == 400 and "10 至 2000 字" in text(resp)
    resp = _file(client, deal, contact="")
    assert resp.status_code == 400 and "请填写联系电话或地址" in text(resp)
    assert db.session.scalar(select(func.count(Objection.id))) == 0


def test_objection_after_publicity_is_refused(client, online_deal, db):
    deal, _ = online_deal
    token = get_csrf(client, f"/deals/{deal.deal_no}")
    clock.freeze(deal.publicity_end_at + timedelta(seconds=1))  # nothing swept yet: still "publicity" in the table
    page = text(client.get(f"/deals/{deal.deal_no}"))
    assert "提交异议" not in page
    resp = client.post(f"/deals/{deal.deal_no}/objection",
                       data={"name": "某村民", "contact": "13900001111", "content": CONTENT, "csrf_token": token})
    assert resp.status_code == 400 and "该项目不在交易公示期内，不能提出异议。" in text(resp)
    assert db.session.scalar(select(func.count(Objection.id))) == 0


def test_objection_without_csrf_token_is_refused(client, online_deal, db):
    deal, _ = online_deal
    client.get(f"/deals/{deal.deal_no}")
    resp = client.post(f"/deals/{deal.deal_no}/objection",
                       data={"name": "某村民", "contact": "13900001111", "content": CONTENT})
    assert resp.status_code == 400
    resp = client.post(f"/deals/{deal.deal_no}/objection",
                       data={"name": "某村民", "contact": "13900001111", "content": CONTENT, "csrf_token": "forged"})
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count(Objection.id))) == 0


# --- the center's handling -------------------------------------------------------------------------

@pytest.fixture
def objection(online_deal, db):
    deal, regs = online_deal
    obj = tsvc.file_objection(None, deal, name="某村民", contact="13900001111", content=CONTENT)
    db.session.commit()
    return deal, obj


def test_only_the_center_and_supervision_open_the_handling_page(app, objection):
    deal, obj = objection
    url = f"/deals/{deal.deal_no}/objections"
    anonymous = app.test_client()
    resp = anonymous.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    for username in ("t_buyer", "t_buyer_org", "t_point_a1", "t_station_a"):
        c = app.test_client()
        login(c, username, PASSWORD)
        assert c.get(url).status_code == 403, username
    for username, decides in (("t_reviewer", True), ("t_supervisor", False), ("t_trader", False)):
        c = app.test_client()
        login(c, username, PASSWORD)
        resp = c.get(url)
        assert resp.status_code == 200, username
        page = text(resp)
        assert CONTENT in page and "13900001111" in page and "测试受让人" in page
        assert ("提交处理结论" in page) is decides, username
        assert ("异议处理" in text(c.get(f"/deals/{deal.deal_no}"))) is True


def test_decision_needs_the_reviewer(app, objection, db):
    deal, obj = objection
    url = f"/deals/{deal.deal_no}/objections/{obj.id}/decision"
    for username in ("t_supervisor", "t_trader", "t_buyer", "t_point_a1"):
        c = app.test_client()
        login(c, username, PASSWORD)
        token = get_csrf(c, f"/deals/{deal.deal_no}")
        resp = c.post(url, data={"upheld": "1", "decision": "越权处理", "csrf_token": token})
        assert resp.status_code == 403, username
    assert db.session.get(Objection, obj.id).state == "pending"


@pytest.mark.article("第二十三条")
def test_upheld_objection_suspends_the_listing(client, objection, db):
    deal, obj = objection
    login(client, "t_reviewer", PASSWORD)
    page_url = f"/deals/{deal.deal_no}/objections"
    token = get_csrf(client, page_url)
    url = f"/deals/{deal.deal_no}/objections/{obj.id}/decision"
    resp = client.post(url, data={"upheld": "1", "decision": "", "csrf_token": token}, follow_redirects=True)
    assert "请写明处理意见" in text(resp)
    assert db.session.get(Objection, obj.id).state == "pending"
    resp = client.post(url, data={"upheld": "1", "decision": "经核实，异议成立，中止交易，依法调查处理。",
                                  "csrf_token": token}, follow_redirects=True)
    assert "异议成立，交易已中止" in text(resp)
    db.session.expire_all()
    assert db.session.get(Objection, obj.id).state == "upheld"
    assert db.session.get(Deal, deal.id).state == "suspended"
    assert db.session.get(Listing, deal.listing_id).state == "suspended"
    # a second decision on the same objection: the service's refusal, flashed
    resp = client.post(url, data={"upheld": "0", "decision": "再次处理", "csrf_token": token}, follow_redirects=True)
    assert "该异议已处理" in text(resp)
    page = text(client.get(f"/deals/{deal.deal_no}"))
    assert "提交异议" not in page and "已中止交易" in page


def test_dismissed_objection_keeps_the_deal_and_the_contract_follows(client, objection, db):
    deal, obj = objection
    login(client, "t_reviewer", PASSWORD)
    token = get_csrf(client, f"/deals/{deal.deal_no}/objections")
    resp = client.post(f"/deals/{deal.deal_no}/objections/{obj.id}/decision",
                       data={"upheld": "0", "decision": "经核实，权属清楚，异议不成立。", "csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Objection, obj.id).state == "dismissed"
    assert db.session.get(Deal, deal.id).state == "publicity"
    assert db.session.get(Listing, deal.listing_id).state == "publicity"
    clock.freeze(deal.publicity_end_at)
    sweep()
    db.session.expire_all()
    assert db.session.get(Listing, deal.listing_id).state == "contract"


def test_objection_of_another_deal_is_not_found(client, objection):
    deal, obj = objection
    login(client, "t_reviewer", PASSWORD)
    token = get_csrf(client, f"/deals/{deal.deal_no}/objections")
    resp = client.post(f"/deals/{deal.deal_no}/objections/{obj.id + 99}/decision",
                       data={"upheld": "0", "decision": "x", "csrf_token": token})
    assert resp.status_code == 404


# --- API -------------------------------------------------------------------------------------------

def test_public_deals_api_without_personal_data(client, online_deal):
    deal, regs = online_deal
    resp = client.get("/api/v1/public/deals")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["deal_no"] == deal.deal_no and item["price"] == "160500.00" and item["winner"] == "测****"
    assert item["price_upper"] == "壹拾陆万零伍佰元整" and item["transferor"] == "农***"
    assert item["method_label"] == "网络竞价" and item["objections_open"] is True
    raw = resp.get_data(as_text=True)
    for secret in ("测试受让人", "农户演示", deal.listing.transferor_id_no, deal.listing.transferor_mobile,
                   regs["buyer"].buyer.party.id_number, "13900000001", deal.listing.account_no):
        assert secret not in raw
    detail = client.get(f"/api/v1/public/deals/{deal.deal_no}").get_json()
    assert [b["amount"] for b in detail["bids"]] == ["160000.00", "160000.00", "160500.00"]
    assert detail["bids"][1]["priority_match"] is True and "name" not in detail["bids"][0]
    assert "测试公司" not in client.get(f"/api/v1/public/deals/{deal.deal_no}").get_data(as_text=True)
    assert client.get("/api/v1/public/deals?state=void").status_code == 422
    assert client.get("/api/v1/public/deals/CJ-x").status_code == 404


def test_objections_over_the_api(app, client, online_deal, db):
    deal, _ = online_deal
    url = f"/api/v1/deals/{deal.deal_no}/objections"
    body = {"name": "某村民", "contact": "13900001111", "content": CONTENT}
    assert client.post(url, json=body).status_code == 400  # no CSRF header on a browser session
    resp = client.post(url, json=body, headers={"X-CSRFToken": api_csrf(client)})
    assert resp.status_code == 201, resp.get_json()
    oid = resp.get_json()["id"]
    bad = client.post(url, json={**body, "content": "短"}, headers={"X-CSRFToken": api_csrf(client)})
    assert bad.status_code == 400 and "10 至 2000 字" in bad.get_json()["message"]
    # who may read them
    assert client.get(url).status_code == 401
    buyer = app.test_client()
    api_login(buyer, "t_buyer", PASSWORD)
    assert buyer.get(url).status_code == 403
    resp = buyer.post(f"/api/v1/objections/{oid}/decision", json={"upheld": True, "decision": "越权"},
                      headers={"X-CSRFToken": api_csrf(buyer)})
    assert resp.status_code == 403
    supervisor = app.test_client()
    api_login(supervisor, "t_supervisor", PASSWORD)
    items = supervisor.get(url).get_json()
    assert items[0]["content"] == CONTENT and items[0]["state"] == "pending"
    resp = supervisor.post(f"/api/v1/objections/{oid}/decision", json={"upheld": True, "decision": "x"},
                           headers={"X-CSRFToken": api_csrf(supervisor)})
    assert resp.status_code == 403
    reviewer = app.test_client()
    api_login(reviewer, "t_reviewer", PASSWORD)
    resp = reviewer.post(f"/api/v1/objections/{oid}/decision", json={"upheld": False, "decision": ""},
                         headers={"X-CSRFToken": api_csrf(reviewer)})
    assert resp.status_code == 400 and "处理意见" in resp.get_json()["message"]
    resp = reviewer.post(f"/api/v1/objections/{oid}/decision",
                         json={"upheld": True, "decision": "异议成立，中止交易。"},
                         headers={"X-CSRFToken": api_csrf(reviewer)})
    assert resp.status_code == 200 and resp.get_json()["state"] == "upheld"
    db.session.expire_all()
    assert db.session.get(Listing, deal.listing_id).state == "suspended"
    assert reviewer.post("/api/v1/objections/999999/decision", json={"upheld": True, "decision": "x"},
                         headers={"X-CSRFToken": api_csrf(reviewer)}).status_code == 404


def test_api_objection_after_publicity_is_refused(client, online_deal, db):
    deal, _ = online_deal
    clock.freeze(deal.publicity_end_at)
    resp = client.post(f"/api/v1/deals/{deal.deal_no}/objections",
                       json={"name": "某村民", "contact": "13900001111", "content": CONTENT},
                       headers={"X-CSRFToken": api_csrf(client)})
    assert resp.status_code == 400 and resp.get_json()["message"] == "该项目不在交易公示期内，不能提出异议。"
    assert db.session.scalar(select(func.count(Objection.id))) == 0


def test_the_objection_queue_lists_pending_objections_for_the_center(app, objection):
    deal, obj = objection
    anonymous = app.test_client()
    assert anonymous.get("/publicity/objections").status_code == 302
    for username in ("t_buyer", "t_point_a1", "t_station_a"):
        c = app.test_client()
        login(c, username, PASSWORD)
        assert c.get("/publicity/objections").status_code == 403, username
    for username in ("t_reviewer", "t_supervisor"):
        c = app.test_client()
        login(c, username, PASSWORD)
        page = text(c.get("/publicity/objections?state=pending"))
        assert deal.listing.project_no in page and "某村民" in page and "待处理" in page
        assert f"/deals/{deal.deal_no}/objections" in page
        assert "某村民" not in text(c.get("/publicity/objections?state=upheld"))
