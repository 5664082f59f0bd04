"""Trading pages and API: the officer schedules and confirms, bidders bid in the room (with and without
JavaScript), staff watch read-only, outsiders are refused."""
import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession, Deal
from tests.builders import PDF, open_trading, pay, to_trading
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture
def two_bidders(buyers, announced, db):
    """(listing, regs): 测试受让人 and buyer_org paid (no priority right), the announcement over — 组织交易."""
    return open_trading(buyers, announced, db, keys=("buyer", "buyer_org"), priority=())


def logout(client):
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})


def test_officer_schedules_online_bidding_on_the_page(client, buyers, two_bidders, db):
    listing, regs = two_bidders
    login(client, "t_trader", PASSWORD)
    page = text(client.get("/trading/"))
    assert listing.title in page and "待安排" in page
    page = text(client.get(f"/trading/listings/{listing.id}"))
    assert "安排网络竞价" in page and regs["buyer"].bidder_no in page
    start = clock.to_local(clock.now() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    bad = client.post(f"/trading/listings/{listing.id}/online", data={
        "csrf_token": csrf_from(page), "on-starts_at": "明天上午", "on-free_minutes": "10",
        "on-countdown_seconds": "300", "on-max_extension_minutes": "60", "on-increment": "500", "on-max_steps": "10"})
    assert bad.status_code == 400 and "时间格式" in text(bad)
    resp = client.post(f"/trading/listings/{listing.id}/online", data={
        "csrf_token": csrf_from(page), "on-starts_at": start, "on-free_minutes": "10",
        "on-countdown_seconds": "300", "on-max_extension_minutes": "60", "on-increment": "500", "on-max_steps": "10"},
        follow_redirects=True)
    assert "已安排网络竞价" in text(resp)
    s = db.session.scalar(select(BiddingSession))
    assert s.increment == Decimal("500.00") and s.countdown_seconds == 300
    # only the trading officer schedules
    logout(client)
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/trading/listings/{listing.id}"))
    assert "安排网络竞价" not in page
    resp = client.post(f"/trading/listings/{listing.id}/agreement", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 403


def test_outsiders_cannot_see_trading(client, buyers, two_bidders, db):
    listing, _ = two_bidders
    for username in ("t_point_a1", "t_station_a", "t_buyer"):
        login(client, username, PASSWORD)
        assert client.get("/trading/").status_code == 403
        assert client.get(f"/trading/listings/{listing.id}").status_code == 403
        logout(client)


@pytest.fixture
def room(buyers, two_bidders, db):
    listing, regs = two_bidders
    start = clock.now() + timedelta(minutes=1)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=5,
                             countdown_seconds=60, max_extension_minutes=10)
    db.session.commit()
    clock.freeze(start)
    return s, regs


def test_bidding_in_the_room_without_javascript(client, buyers, room, db):
    s, regs = room
    login(client, "t_buyer", PASSWORD)
    detail = text(client.get(f"/registrations/{regs['buyer'].id}"))
    assert "进入竞价室" in detail
    page = text(client.get(f"/trading/sessions/{s.id}"))
    assert "竞价室" in page and "自由报价期" in page and regs["buyer"].bidder_no in page
    assert 'value="160000.00"' in page  # the next valid amount is prefilled
    k = uuid.uuid4().hex
    resp = client.post(f"/trading/sessions/{s.id}", data={"csrf_token": csrf_from(page), "amount": "160000", "key": k},
                       follow_redirects=True)
    assert "已被接受" in text(resp)
    again = client.post(f"/trading/sessions/{s.id}", data={"csrf_token": csrf_from(page), "amount": "160000",
                                                           "key": k}, follow_redirects=True)
    assert db.session.get(BiddingSession, s.id).seq == 1  # a resubmitted form is accepted once
    assert "已被接受（第 1 次报价）" in text(again)
    bad = client.post(f"/trading/sessions/{s.id}", data={"csrf_token": csrf_from(page), "amount": "160100",
                                                         "key": uuid.uuid4().hex}, follow_redirects=True)
    assert "已是最高报价人" in text(bad)


def test_bidding_over_the_api_and_the_state(client, buyers, room, db):
    s, regs = room
    a, b = token_headers(db, buyers, "buyer"), token_headers(db, buyers, "buyer_org")
    trader = token_headers(db, buyers, "trading_officer")
    outsider = token_headers(db, buyers, "buyer_coop")
    resp = client.post(f"/api/v1/sessions/{s.id}/bids", headers=a, json={"amount": "160000", "key": uuid.uuid4().hex})
    assert resp.status_code == 201 and resp.get_json()["state"]["leader_bidder_no"] == regs["buyer"].bidder_no
    resp = client.post(f"/api/v1/sessions/{s.id}/bids", headers=b, json={"amount": "160300", "key": uuid.uuid4().hex})
    assert resp.status_code == 400 and "整数倍" in resp.get_json()["message"]
    resp = client.post(f"/api/v1/sessions/{s.id}/bids", headers=b, json={"amount": "161000", "key": "x"})
    assert resp.status_code == 422 or resp.status_code == 400
    assert client.post(f"/api/v1/sessions/{s.id}/bids", headers=trader,
                       json={"amount": "161000", "key": uuid.uuid4().hex}).status_code == 403
    assert client.post(f"/api/v1/sessions/{s.id}/bids", headers=outsider,
                       json={"amount": "161000", "key": uuid.uuid4().hex}).status_code == 403
    assert client.get(f"/api/v1/sessions/{s.id}/state", headers=outsider).status_code == 403
    assert client.post("/api/v1/sessions/999/bids", headers=a, json={"amount": "1", "key": uuid.uuid4().hex}
                       ).status_code == 404
    st = client.get(f"/api/v1/sessions/{s.id}/state", headers=b).get_json()
    assert st["phase"] == "free" and st["current_price"] == "160000.00" and st["me"]["next_min"] == "160500.00"
    assert "name" not in st["history"][0]  # bidders are 竞买号 only until the end
    staff = client.get(f"/api/v1/sessions/{s.id}/state", headers=trader).get_json()
    assert staff["me"] is None and staff["leader_bidder_no"] == regs["buyer"].bidder_no
    # asking to conclude before the end changes nothing
    early = client.post(f"/api/v1/sessions/{s.id}/close", headers=b)
    assert early.status_code == 200 and early.get_json()["phase"] == "free"
    assert db.session.scalar(select(Deal)) is None
    # after the end, reading the state writes nothing: the result waits for the close (the room asks) or the sweeper
    clock.freeze(db.session.get(BiddingSession, s.id).ends_at)
    st = client.get(f"/api/v1/sessions/{s.id}/state", headers=b).get_json()
    assert st["phase"] == "ended" and not st["outcome"] and not st["deal_no"]
    assert db.session.scalar(select(Deal)) is None
    assert client.post(f"/api/v1/sessions/{s.id}/close", headers=outsider).status_code == 403
    st = client.post(f"/api/v1/sessions/{s.id}/close", headers=b).get_json()
    assert st["phase"] == "ended" and st["deal_no"] and "竞得" in st["outcome"]
    again = client.post(f"/api/v1/sessions/{s.id}/close", headers=trader).get_json()  # idempotent
    assert again["deal_no"] == st["deal_no"]
    assert st["history"][0]["name"] == "测试受让人"
    deal = db.session.scalar(select(Deal))
    assert deal.price == Decimal("160000.00") and deal.registration_id == regs["buyer"].id
    late = client.post(f"/api/v1/sessions/{s.id}/bids", headers=b, json={"amount": "160500", "key": uuid.uuid4().hex})
    assert late.status_code == 400 and "已结束" in late.get_json()["message"]


def test_staff_watch_read_only(client, buyers, room, db):
    s, _ = room
    login(client, "t_supervisor", PASSWORD)
    page = text(client.get(f"/trading/sessions/{s.id}"))
    assert "竞价室" in page and "确认报价" not in page
    resp = client.post(f"/trading/sessions/{s.id}", data={"csrf_token": csrf_from(page), "amount": "160000",
                                                          "key": uuid.uuid4().hex}, follow_redirects=True)
    assert "只有竞买人可以报价" in text(resp) or resp.status_code == 403
    assert db.session.get(BiddingSession, s.id).seq == 0


@pytest.mark.article("第十五条")
def test_agreement_and_offline_result_on_the_page(client, users, announced, db):
    regs = pay(users, announced, ["buyer"])
    db.session.commit()
    listing = to_trading(announced)
    login(client, "t_trader", PASSWORD)
    page = text(client.get(f"/trading/listings/{listing.id}"))
    assert "协议转让" in page and "安排网络竞价" not in page
    resp = client.post(f"/trading/listings/{listing.id}/agreement", data={"csrf_token": csrf_from(page)},
                       follow_redirects=True)
    assert "已确认协议转让成交" in text(resp) and "交易公示至" in text(resp)
    assert db.session.scalar(select(Deal)).registration_id == regs["buyer"].id


@pytest.mark.article("第十条")
def test_offline_result_needs_its_document(client, buyers, two_bidders, db):
    listing, regs = two_bidders
    login(client, "t_trader", PASSWORD)
    page = text(client.get(f"/trading/listings/{listing.id}"))
    data = {"csrf_token": csrf_from(page), "off-method": "auction",
            "off-registration_id": str(regs["buyer_org"].id), "off-price": "171000",
            "off-held_on": clock.today_local().isoformat(), "off-note": "演示拍卖行"}
    resp = client.post(f"/trading/listings/{listing.id}/offline", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and "结果文件" in text(resp)
    resp = client.post(f"/trading/listings/{listing.id}/offline", data={**data, "off-document": (io.BytesIO(PDF), "确认书.pdf")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "已录入拍卖结果" in text(resp)
    assert db.session.scalar(select(Deal)).price == Decimal("171000.00")


def test_failed_listing_is_relisted_from_its_trading_page(client, users, announced, db):
    listing = to_trading(announced)
    assert listing.state == "failed"
    login(client, "t_trader", PASSWORD)
    assert "重新挂牌并提交审核" not in text(client.get(f"/trading/listings/{listing.id}"))
    logout(client)
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/trading/listings/{listing.id}"))
    assert "重新挂牌并提交审核" in page
    resp = client.post(f"/trading/listings/{listing.id}/relist", data={"csrf_token": csrf_from(page),
                                                                       "floor_price": "abc"}, follow_redirects=True)
    assert "底价" in text(resp)
    resp = client.post(f"/trading/listings/{listing.id}/relist", data={"csrf_token": csrf_from(page),
                                                                       "floor_price": "150000"}, follow_redirects=True)
    assert "已重新挂牌并提交审核" in text(resp)
    from exchange.listings.models import Listing
    copy = db.session.scalar(select(Listing).where(Listing.relisted_from_id == listing.id))
    assert copy.state == "center_review" and copy.floor_price == Decimal("150000.00")


def test_work_page_counts_for_the_trading_officer_and_the_bidder(client, buyers, room, db):
    login(client, "t_trader", PASSWORD)
    page = text(client.get("/work"))
    assert "已安排的竞价" in page and "待组织交易的项目" in page
    logout(client)
    login(client, "t_buyer", PASSWORD)
    assert "我的竞价" in text(client.get("/work"))


@pytest.mark.article("第十五条")
def test_trading_actions_over_the_api(client, buyers, two_bidders, db):
    listing, regs = two_bidders
    trader, reviewer = token_headers(db, buyers, "trading_officer"), token_headers(db, buyers, "center_reviewer")
    buyer = token_headers(db, buyers, "buyer")
    start = (clock.now() + timedelta(hours=1)).isoformat()
    body = {"starts_at": start, "free_minutes": 10, "countdown_seconds": 120}
    assert client.post(f"/api/v1/listings/{listing.id}/sessions/online", headers=buyer, json=body).status_code == 403
    assert client.post(f"/api/v1/listings/{listing.id}/sessions/online", headers=reviewer, json=body).status_code == 403
    bad = client.post(f"/api/v1/listings/{listing.id}/sessions/online", headers=trader,
                      json={**body, "countdown_seconds": 5})
    assert bad.status_code == 400 and "倒计时" in bad.get_json()["message"]
    resp = client.post(f"/api/v1/listings/{listing.id}/sessions/online", headers=trader, json=body)
    assert resp.status_code == 201 and resp.get_json()["increment"] == "500.00"
    again = client.post(f"/api/v1/listings/{listing.id}/sessions/online", headers=trader, json=body)
    assert again.status_code == 400 and "已安排" in again.get_json()["message"]
    resp = client.post(f"/api/v1/listings/{listing.id}/agreement", headers=trader)
    assert resp.status_code == 400 and "恰有一个" in resp.get_json()["message"]
    assert client.get(f"/api/v1/listings/{listing.id}/deal", headers=trader).status_code == 404
    assert client.post("/api/v1/listings/9999/relist", headers=reviewer, json={}).status_code == 404
    resp = client.post(f"/api/v1/listings/{listing.id}/relist", headers=reviewer, json={})
    assert resp.status_code == 400 and "流拍" in resp.get_json()["message"]


def test_a_refused_bid_says_where_the_price_stands(client, buyers, room, db):
    s, regs = room
    a, b = token_headers(db, buyers, "buyer"), token_headers(db, buyers, "buyer_org")
    client.post(f"/api/v1/sessions/{s.id}/bids", headers=a, json={"amount": "160000", "key": uuid.uuid4().hex})
    resp = client.post(f"/api/v1/sessions/{s.id}/bids", headers=b, json={"amount": "160000", "key": uuid.uuid4().hex})
    body = resp.get_json()
    assert resp.status_code == 400 and body["current_price"] == "160000.00" and body["next_min"] == "160500.00"
    assert body["seq"] == 1
