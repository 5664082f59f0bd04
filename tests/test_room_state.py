"""Issue 17 items 7, 9 and 12 on the server side: what the bidding room tells each bidder — before the start the time
to the start and the start time; leading, outbid (one loud message with the amount to bid next) or not yet bid; at
the end won or not won (with the refund), never "领先" — and that the end reaches every bidder as a notification,
also the one whose page asked the server to conclude; the deal page links only what the viewer may open."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.audit.models import AuditEntry
from exchange.notifications.models import Notification
from exchange.trading import room
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession, Deal
from tests.builders import key, open_trading
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture
def two_bidders(buyers, announced, db):
    """(listing, regs): 测试受让人 (buyer) and the company (buyer_org), no priority right; 组织交易."""
    return open_trading(buyers, announced, db, keys=("buyer", "buyer_org"), priority=())


@pytest.fixture
def session(buyers, two_bidders, db):
    listing, regs = two_bidders
    start = clock.now() + timedelta(hours=2, minutes=3, seconds=4)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=10,
                             countdown_seconds=120, max_extension_minutes=30)
    db.session.commit()
    return s, regs


def _state(db, sid, user):
    db.session.expire_all()
    return room.state(db.session.get(BiddingSession, sid), user)


def test_before_the_start_the_room_counts_down_to_the_start(client, buyers, session, db):
    s, regs = session
    st = _state(db, s.id, buyers["buyer"])
    assert st["phase"] == "waiting" and st["countdown_label"] == "距开始"
    assert st["countdown_seconds"] == pytest.approx(2 * 3600 + 3 * 60 + 4)
    assert st["countdown_text"] == "2:03:04"  # not the time to the end (2 h 15 min away)
    start = clock.to_local(s.starts_at).strftime("%Y-%m-%d %H:%M")
    assert st["starts_at_text"] == start and start in st["me"]["status"]["text"]
    login(client, "t_buyer", PASSWORD)
    page = text(client.get(f"/trading/sessions/{s.id}"))
    assert "距开始" in page and f"开始时间 <strong data-field=\"starts_at_text\">{start}</strong>" in page
    assert "2:03:04" in page and "剩余时间" not in page
    api = client.get(f"/api/v1/sessions/{s.id}/state").get_json()
    assert api["countdown_label"] == "距开始" and api["me"]["status"]["tone"] == "info"


def test_countdown_text_is_written_like_the_room_script(appctx):
    assert [room.countdown_text(x) for x in (0, 0.2, 59.5, 61, 3600, 90061)] == [
        "0:00", "0:01", "1:00", "1:01", "1:00:00", "1 天 1:01:01"]


def test_leading_outbid_and_not_yet_bid_each_read_one_plain_sentence(buyers, session, db):
    s, regs = session
    clock.freeze(s.starts_at + timedelta(seconds=1))
    fresh = _state(db, s.id, buyers["buyer"])["me"]
    assert not fresh["outbid"] and "您还没有报价，最低可报 160,000.00 元" in fresh["status"]["text"]
    tsvc.place_bid(buyers["buyer"], s.id, "160000", key=key())
    db.session.commit()
    lead = _state(db, s.id, buyers["buyer"])["me"]
    assert lead["leading"] and lead["status"]["tone"] == "success" and "您是当前最高报价人" in lead["status"]["text"]
    tsvc.place_bid(buyers["buyer_org"], s.id, "161000", key=key())
    db.session.commit()
    out = _state(db, s.id, buyers["buyer"])["me"]
    assert out["outbid"] and not out["leading"] and out["next_min"] == "161500.00"
    assert out["status"]["tone"] == "error"
    said = out["status"]["text"]
    assert said.startswith("您的报价已被超过！") and "161,000.00" in said and "请报 161,500.00 元或更高" in said
    assert "最高报价人" not in said and "领先" not in said
    org = _state(db, s.id, buyers["buyer_org"])["me"]
    assert org["leading"] and not org["outbid"]


def test_the_end_tells_the_winner_and_the_loser_and_notifies_both(client, buyers, session, db):
    s, regs = session
    clock.freeze(s.starts_at + timedelta(seconds=1))
    tsvc.place_bid(buyers["buyer"], s.id, "160000", key=key())
    tsvc.place_bid(buyers["buyer_org"], s.id, "160500", key=key())
    db.session.commit()
    clock.freeze(s.ends_at + timedelta(seconds=1))
    # the loser's room asks the server to conclude (its countdown reached zero)
    login(client, "t_buyer", PASSWORD)
    page = text(client.get(f"/trading/sessions/{s.id}"))
    resp = client.post(f"/api/v1/sessions/{s.id}/close", headers={"X-CSRFToken": csrf_from(page)})
    assert resp.status_code == 200
    me = resp.get_json()["me"]
    assert me["result"] == "lost" and me["status"]["tone"] == "info"
    lost = me["status"]["text"]
    assert "您未竞得本项目" in lost and "160,500.00" in lost and "16,000.00 元将于" in lost and "无息原路退还" in lost
    assert "领先" not in lost and "已被超过" not in lost
    assert resp.get_json()["price_label"] == "成交价" and resp.get_json()["leader_label"] == "竞得竞买号"
    won = _state(db, s.id, buyers["buyer_org"])["me"]
    assert won["result"] == "won" and won["status"]["tone"] == "success"
    assert "您竞得本项目" in won["status"]["text"] and "领先" not in won["status"]["text"]
    assert "交易公示" in won["status"]["text"] and "24:00" in won["status"]["text"]
    # the clock ended it, not the bidder who asked: both are told (nobody is told of their own act)
    db.session.expire_all()
    for who, words in (("buyer", "您未成交"), ("buyer_org", "恭喜您成交")):
        notes = db.session.scalars(select(Notification).where(Notification.user_id == buyers[who].id,
                                                              Notification.kind == "deal.concluded")).all()
        assert len(notes) == 1 and words in notes[0].title, (who, [n.title for n in notes])
    [lost_note] = db.session.scalars(select(Notification).where(Notification.user_id == buyers["buyer"].id,
                                                                Notification.kind == "deal.concluded")).all()
    assert "保证金" in lost_note.body and "退还" in lost_note.body
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "deal.concluded"))
    assert entry.actor_id is None and entry.actor_name == "系统"
    # a second close changes nothing
    again = client.post(f"/api/v1/sessions/{s.id}/close", headers={"X-CSRFToken": csrf_from(page)})
    assert again.status_code == 200
    assert db.session.scalar(select(Deal.id).where(Deal.listing_id == s.listing_id)) is not None
    assert len(db.session.scalars(select(Deal)).all()) == 1


def test_a_failed_session_tells_each_bidder_the_deposit_comes_back(client, buyers, session, db):
    s, regs = session
    clock.freeze(s.ends_at + timedelta(seconds=1))
    tsvc.close_session(s.id)
    db.session.commit()
    me = _state(db, s.id, buyers["buyer"])["me"]
    assert me["result"] == "failed" and "流拍" in me["status"]["text"] and "退还" in me["status"]["text"]


def test_the_deal_page_links_only_what_the_viewer_may_open(client, buyers, session, db):
    s, regs = session
    clock.freeze(s.starts_at + timedelta(seconds=1))
    tsvc.place_bid(buyers["buyer"], s.id, "160000", key=key())
    tsvc.place_bid(buyers["buyer_org"], s.id, "160500", key=key())
    db.session.commit()
    clock.freeze(s.ends_at + timedelta(seconds=1))
    tsvc.close_session(s.id)
    db.session.commit()
    deal = db.session.scalar(select(Deal))
    url = f"/deals/{deal.deal_no}"
    anonymous = text(client.get(url))
    assert ".pdf" not in anonymous and "请<a href=\"/login?next=" in anonymous
    resp = client.get(url + "/bidding-record.pdf")  # a link followed from elsewhere: why the sign-in page
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert "竞价记录仅限交易双方、本场竞买人和交易中心工作人员查看，请先登录" in text(client.get(resp.headers["Location"]))
    login(client, "t_buyer", PASSWORD)  # the loser
    page = text(client.get(url))
    assert "bidding-record.pdf" in page and "confirmation.pdf" not in page
    assert client.get(url + "/bidding-record.pdf").status_code == 200
    assert client.get(url + "/confirmation.pdf").status_code == 403
    room_page = text(client.get(f"/trading/sessions/{s.id}"))
    assert "bidding-record.pdf" in room_page and "confirmation.pdf" not in room_page
