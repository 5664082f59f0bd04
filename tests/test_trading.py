"""组织交易 at the service level (第十五条; DESIGN §3.6): from the end of the announcement to 流拍 or a deal,
online ascending bidding with its countdown and priority right, sealed bids, agreement, offline results,
publicity, objections and relisting."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.deadlines.sweeper import sweep
from exchange.extensions import db as _db
from exchange.ledger import services as led
from exchange.ledger.models import Refund
from exchange.listings.models import Listing
from exchange.registrations import services as rsvc
from exchange.trading import services as tsvc
from exchange.trading.models import Bid, BiddingSession, Deal
from tests.builders import ALL_OK, PDF, applied, attach, category, collective_fields, key, live, pay, to_trading

pytestmark = pytest.mark.usefixtures("uploads")

FLOOR = Decimal("160000.00")


@pytest.mark.article("第十五条")
def test_no_paid_buyer_is_failed_at_the_end_of_the_announcement(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    clock.freeze(announced.deposit_deadline_at)
    sweep()
    assert db.session.get(Listing, announced.id).state == "announced"  # the 公告期 runs to the end of the day
    listing = to_trading(announced)
    assert listing.state == "failed" and listing.events[-1].note.startswith("公告期满")


@pytest.mark.article("第十五条")
def test_one_paid_buyer_is_an_agreement_at_its_offer(users, announced, db):
    regs = pay(users, announced, ["buyer"])
    db.session.commit()
    listing = to_trading(announced)
    assert listing.state == "trading" and tsvc.way_of_trading(listing) == "agreement"
    with pytest.raises(tsvc.TradingError):
        tsvc.schedule_online(users["trading_officer"], listing, starts_at=clock.now() + timedelta(hours=1))
    with pytest.raises(AccessDenied):
        tsvc.confirm_agreement(users["center_reviewer"], listing)
    deal = tsvc.confirm_agreement(users["trading_officer"], listing)
    assert deal.method == "agreement" and deal.price == FLOOR and deal.registration_id == regs["buyer"].id
    assert listing.state == "publicity" and deal.publicity_end_at > clock.now()
    assert db.session.scalar(select(func.count(Refund.id))) == 0  # the only buyer keeps the deposit


def test_online_bidding_rules(buyers, trading, db):
    listing, regs = trading
    users = buyers
    s = live(users, listing)
    sid = s.id
    with pytest.raises(AccessDenied):
        tsvc.place_bid(users["buyer_3"], sid, "160000", key=key())  # did not pay
    with pytest.raises(AccessDenied):
        tsvc.place_bid(users["trading_officer"], sid, "160000", key=key())
    for bad, words in [("159500", "低于起始价"), ("160100", "整数倍"), ("165500", "单次加价不能超过"), ("abc", "报价金额"),
                       ("-1", "大于零"), ("160000.001", "报价金额")]:
        with pytest.raises(tsvc.BidRefused) as exc:
            tsvc.place_bid(users["buyer"], sid, bad, key=key())
        assert words in exc.value.message, (bad, exc.value.message)
    b1 = tsvc.place_bid(users["buyer"], sid, "160000", key=key())  # k = 0: the start price
    assert b1.seq == 1
    with pytest.raises(tsvc.BidRefused) as exc:
        tsvc.place_bid(users["buyer"], sid, "160500", key=key())
    assert "已是最高报价人" in exc.value.message
    for bad in ("160000", "160200", "166000"):  # equal (no priority), not a multiple, more than 10 steps
        with pytest.raises(tsvc.BidRefused):
            tsvc.place_bid(users["buyer_org"], sid, bad, key=key())
    tsvc.place_bid(users["buyer_org"], sid, "165000", key=key())  # 10 steps: the maximum
    # the priority holder matches and leads at the same price; others must raise
    b3 = tsvc.place_bid(users["buyer_coop"], sid, "165000", key=key())
    assert b3.priority_match and db.session.get(BiddingSession, sid).leader_registration_id == regs["buyer_coop"].id
    with pytest.raises(tsvc.BidRefused):
        tsvc.place_bid(users["buyer"], sid, "165000", key=key())
    tsvc.place_bid(users["buyer"], sid, "165500", key=key())
    db.session.commit()
    s = db.session.get(BiddingSession, sid)
    assert s.current_price == Decimal("165500.00") and s.seq == 4


def test_the_same_request_twice_is_accepted_once(buyers, trading, db):
    listing, _ = trading
    s = live(buyers, listing)
    k = key()
    first = tsvc.place_bid(buyers["buyer"], s.id, "160000", key=k)
    again = tsvc.place_bid(buyers["buyer"], s.id, "160000", key=k)
    assert first.id == again.id and db.session.scalar(select(func.count(Bid.id))) == 1
    with pytest.raises(tsvc.BidRefused):
        tsvc.place_bid(buyers["buyer"], s.id, "160000", key="short")


@pytest.mark.article("第十九条")
def test_countdown_restarts_with_each_bid_up_to_the_cap_and_ends(buyers, trading, db):
    listing, regs = trading
    s = live(buyers, listing)
    sid, free_end = s.id, s.free_end_at
    assert s.ends_at == free_end + timedelta(seconds=300)
    tsvc.place_bid(buyers["buyer"], sid, "160000", key=key())  # free period: the end does not move
    assert db.session.get(BiddingSession, sid).ends_at == free_end + timedelta(seconds=300)
    clock.freeze(free_end + timedelta(seconds=200))
    tsvc.place_bid(buyers["buyer_org"], sid, "160500", key=key())
    s = db.session.get(BiddingSession, sid)
    assert s.ends_at == free_end + timedelta(seconds=500)  # restarted: 300 s from the bid
    # bids every 4 minutes: the end never passes the cap (30 minutes of extension)
    who = ["buyer_org", "buyer"]
    price = Decimal("160500")
    i = 0
    while clock.now() + timedelta(seconds=240) < s.ends_at:
        i += 1
        clock.advance(seconds=240)
        price += 500
        tsvc.place_bid(buyers[who[i % 2]], sid, str(price), key=key())
        s = db.session.get(BiddingSession, sid)
        assert s.ends_at <= s.hard_end_at
    assert s.ends_at == s.hard_end_at and i == 7  # extended 7 more times, then held at the cap
    clock.freeze(s.ends_at - timedelta(microseconds=1))
    tsvc.place_bid(buyers[who[(i + 1) % 2]], sid, str(price + 500), key=key())  # just in time
    price += 500
    clock.freeze(s.ends_at)
    with pytest.raises(tsvc.BidRefused) as exc:
        tsvc.place_bid(buyers["buyer_coop"], sid, str(price + 500), key=key())
    assert "已结束" in exc.value.message
    db.session.commit()
    sweep()
    db.session.expire_all()
    s = db.session.get(BiddingSession, sid)
    deal = db.session.scalar(select(Deal))
    assert s.state == "ended" and deal.price == price and deal.method == "online_bidding"
    assert db.session.get(Listing, listing.id).state == "publicity"
    # losers' deposits are up for refund within 5 working days; the winner's stays
    refunded = {r.registration_id for r in db.session.scalars(select(Refund))}
    assert deal.registration_id not in refunded and len(refunded) == 2
    assert all(r.reason == "lost" for r in db.session.scalars(select(Refund)))


@pytest.mark.article("第十九条")
def test_no_bid_is_failed_and_everyone_refunded(buyers, trading, db):
    listing, _ = trading
    s = live(buyers, listing)
    clock.freeze(s.ends_at)
    sweep()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "failed"
    assert db.session.scalar(select(func.count(Refund.id))) == 3


def test_sealed_bid_hidden_until_opening_then_highest_earliest(buyers, trading, db):
    listing, regs = trading
    start = clock.now() + timedelta(minutes=1)
    s = tsvc.schedule_sealed(buyers["trading_officer"], listing, starts_at=start,
                             closes_at=start + timedelta(hours=1), opens_at=start + timedelta(hours=2))
    db.session.commit()
    with pytest.raises(tsvc.BidRefused) as exc:
        tsvc.place_bid(buyers["buyer"], s.id, "170000", key=key())
    assert "尚未开始" in exc.value.message
    clock.freeze(start)
    tsvc.place_bid(buyers["buyer"], s.id, "170000", key=key())
    clock.advance(seconds=10)
    tsvc.place_bid(buyers["buyer_org"], s.id, "170000", key=key())  # a tie: the earlier wins
    with pytest.raises(tsvc.BidRefused) as exc:
        tsvc.place_bid(buyers["buyer_org"], s.id, "180000", key=key())
    assert "只能报一次" in exc.value.message
    with pytest.raises(tsvc.BidRefused):
        tsvc.place_bid(buyers["buyer_coop"], s.id, "150000", key=key())  # below the floor
    s = db.session.get(BiddingSession, s.id)
    assert s.current_price is None and s.leader_registration_id is None  # nothing visible before opening
    clock.freeze(start + timedelta(hours=1))
    with pytest.raises(tsvc.BidRefused):
        tsvc.place_bid(buyers["buyer_coop"], s.id, "190000", key=key())
    db.session.commit()
    clock.freeze(start + timedelta(hours=2))
    sweep()
    deal = db.session.scalar(select(Deal))
    assert deal.registration_id == regs["buyer"].id and deal.price == Decimal("170000.00")


@pytest.mark.article("第十条")
def test_offline_auction_result(buyers, trading, db):
    listing, regs = trading
    officer = buyers["trading_officer"]
    with pytest.raises(tsvc.TradingError) as exc:
        tsvc.record_offline(officer, listing, method="auction", registration_id=regs["buyer"].id, price="170000",
                            held_on=clock.today_local().isoformat())
    assert "结果文件" in exc.value.message or "上传" in exc.value.message
    with pytest.raises(tsvc.TradingError):
        tsvc.record_offline(officer, listing, method="auction", registration_id=regs["buyer"].id, price="150000",
                            held_on=clock.today_local().isoformat(), document=PDF, document_filename="成交确认书.pdf")
    deal = tsvc.record_offline(officer, listing, method="auction", registration_id=regs["buyer_org"].id,
                               price="171000", held_on=clock.today_local().isoformat(), note="拍卖行：演示",
                               document=PDF, document_filename="成交确认书.pdf")
    assert deal.method == "auction" and deal.price == Decimal("171000.00") and listing.state == "publicity"


@pytest.mark.article("第十条")
def test_only_an_auction_or_a_tender_held_offline_is_entered_as_its_result(buyers, trading, db):
    """拍卖 and 招投标 are held offline under their own laws (第十条); the platform records their result with its
    document.  No other way of trading can be entered as an offline result, nor one held on a day still to come."""
    listing, regs = trading
    officer, today = buyers["trading_officer"], clock.today_local()
    result = dict(registration_id=regs["buyer"].id, price="170000", document=PDF, document_filename="中标通知书.pdf")
    for method in ("agreement", "online_bidding", "sealed_bid"):
        with pytest.raises(tsvc.TradingError) as exc:
            tsvc.record_offline(officer, listing, method=method, held_on=today.isoformat(), **result)
        assert exc.value.field == "method"
    with pytest.raises(tsvc.TradingError) as exc:
        tsvc.record_offline(officer, listing, method="tender", held_on=(today + timedelta(days=1)).isoformat(), **result)
    assert exc.value.field == "held_on"
    assert db.session.scalar(select(func.count(Deal.id))) == 0 and listing.state == "trading"
    deal = tsvc.record_offline(officer, listing, method="tender", held_on=today.isoformat(), note="招标代理：演示",
                               **result)
    assert deal.method == "tender" and deal.offline_date == today.isoformat() and deal.document_key
    assert deal.document_filename == "中标通知书.pdf" and listing.state == "publicity"


def test_publicity_objection_and_the_way_to_the_contract(buyers, trading, db):
    listing, regs = trading
    deal = tsvc.record_offline(buyers["trading_officer"], listing, method="tender", registration_id=regs["buyer"].id,
                               price="170000", held_on=clock.today_local().isoformat(), document=PDF,
                               document_filename="中标通知书.pdf")
    db.session.commit()
    with pytest.raises(tsvc.TradingError):
        tsvc.file_objection(None, deal, name="某村民", contact="13900001111", content="太短")
    obj = tsvc.file_objection(None, deal, name="某村民", contact="13900001111",
                              content="该地块有部分属于我家承包范围，请核实权属。")
    db.session.commit()
    clock.freeze(deal.publicity_end_at)
    sweep()
    assert db.session.get(Listing, listing.id).state == "publicity"  # waits for the center's decision
    with pytest.raises(AccessDenied):
        tsvc.decide_objection(buyers["trading_officer"], obj, upheld=False, decision="x")
    tsvc.decide_objection(buyers["center_reviewer"], obj, upheld=False, decision="经核实，权属清楚，异议不成立。")
    db.session.commit()
    sweep()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "contract"
    assert db.session.get(Deal, deal.id).state == "confirmed"
    with pytest.raises(tsvc.TradingError):
        tsvc.file_objection(None, db.session.get(Deal, deal.id), name="a", contact="b", content="公示期已过的异议内容")


@pytest.mark.article("第二十三条")
def test_upheld_objection_suspends(buyers, trading, db):
    listing, regs = trading
    deal = tsvc.record_offline(buyers["trading_officer"], listing, method="auction", registration_id=regs["buyer"].id,
                               price="170000", held_on=clock.today_local().isoformat(), document=PDF,
                               document_filename="a.pdf")
    obj = tsvc.file_objection(None, deal, name="某村民", contact="139", content="竞买人之间存在串通行为，请调查。")
    tsvc.decide_objection(buyers["center_reviewer"], obj, upheld=True, decision="异议成立，中止交易，调查处理。")
    assert listing.state == "suspended" and deal.state == "suspended"


@pytest.mark.article("第二十条")
def test_relisting_after_failure_keeps_the_two_thirds_rule(users, db, frozen):
    from exchange.listings import services as lsvc
    from exchange.demo import _demo_uscc
    listing = lsvc.create_draft(users["point_a1"], category=category("C05"),
                                **collective_fields(reps_for="20", transferor_id_no=_demo_uscc("N2430682MA000001")))
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    listing = to_trading(listing)
    assert listing.state == "failed"
    with pytest.raises(AccessDenied):
        tsvc.relist(users["trading_officer"], listing)
    # below the appraisal without a two-thirds resolution: refused
    from exchange.listings.workflow import WorkflowError
    with pytest.raises(WorkflowError) as exc:
        tsvc.relist(users["center_reviewer"], listing, floor_price="40000", reps_for="10", reps_total="30")
    assert any("三分之二" in p or "2/3" in p for p in exc.value.problems), exc.value.problems
    db.session.rollback()
    listing = db.session.get(Listing, listing.id)
    copy = tsvc.relist(users["center_reviewer"], listing, floor_price="40000", reps_for="21", reps_total="30")
    assert copy.state == "center_review" and copy.relisted_from_id == listing.id and copy.project_no is None
    assert copy.floor_price == Decimal("40000.00") and copy.deposit_amount == Decimal("4000.00")
    with pytest.raises(tsvc.TradingError):
        tsvc.relist(users["center_reviewer"], listing)


@pytest.mark.concurrency
def test_fifty_threads_bid_the_same_amount_exactly_one_accepted(app, buyers, trading, db):
    listing, regs = trading
    s = live(buyers, listing)
    sid = s.id
    tsvc.place_bid(buyers["buyer_coop"], sid, "160000", key=key())
    db.session.commit()
    bidder_ids = [buyers["buyer"].id, buyers["buyer_org"].id]
    barrier = threading.Barrier(50)
    outcomes = []
    now = clock.now()

    def bid(i):
        from types import SimpleNamespace
        user = SimpleNamespace(id=bidder_ids[i % 2], role="public")
        with app.app_context():
            barrier.wait(timeout=60)  # all fifty ready; the pool hands out connections as bids finish
            try:
                tsvc.place_bid(user, sid, "160500", key=key())
                _db.session.commit()
                outcomes.append("ok")
            except tsvc.BidRefused:
                _db.session.rollback()
                outcomes.append("refused")
            except Exception as exc:  # noqa: BLE001
                _db.session.rollback()
                outcomes.append(repr(exc))
            finally:
                _db.session.remove()

    assert clock.now() == now
    threads = [threading.Thread(target=bid, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 49, set(outcomes)
    db.session.expire_all()
    s = db.session.get(BiddingSession, sid)
    assert s.seq == 2 and s.current_price == Decimal("160500.00")
    assert [b.amount for b in tsvc.bids_of(s)] == [Decimal("160000.00"), Decimal("160500.00")]
    assert led.check() == []


def test_objections_from_one_address_are_limited(buyers, trading, db):
    listing, regs = trading
    deal = tsvc.record_offline(
        buyers["trading_officer"], listing, method="auction", registration_id=regs["buyer"].id, price="170000",
        held_on=clock.today_local().isoformat(), document=PDF, document_filename="a.pdf")
    for i in range(5):
        tsvc.file_objection(None, deal, name=f"村民{i}", contact="139", content="请核实本项目的权属情况。", ip="10.0.0.9")
    with pytest.raises(tsvc.TradingError) as exc:
        tsvc.file_objection(None, deal, name="村民", contact="139", content="请核实本项目的权属情况。", ip="10.0.0.9")
    assert "过于频繁" in exc.value.message
    tsvc.file_objection(None, deal, name="村民", contact="139", content="请核实本项目的权属情况。", ip="10.0.0.10")
    clock.advance(hours=1, seconds=1)
    tsvc.file_objection(None, deal, name="村民", contact="139", content="请核实本项目的权属情况。", ip="10.0.0.9")
