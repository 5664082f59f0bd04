"""Issue 17 item 10: a bid is checked against the rules in the order a bidder thinks of them and the FIRST rule that
fails is the one said — below the start price / the highest price before the 整数倍 rule, that before the cap on
steps — for any input, hostile ones included; a refused bid stores nothing."""
from datetime import timedelta

import pytest

from exchange import clock
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession
from tests.builders import key, live


def _refused(user, sid, amount) -> str:
    with pytest.raises(tsvc.BidRefused) as exc:
        tsvc.place_bid(user, sid, amount, key=key())
    return exc.value.message


def _seq(db, sid) -> int:
    db.session.expire_all()
    return db.session.get(BiddingSession, sid).seq


# start price 160,000.00, increment 500.00, at most 10 steps at once (tests/builders.py)

@pytest.mark.parametrize("amount,says,never", [
    ("100", "报价低于起始价 160,000.00 元，请至少报 160,000.00 元", "整数倍"),
    ("159999.99", "低于起始价", "整数倍"),
    ("160100", "首次报价须为起始价 160,000.00 元加加价幅度 500.00 元的整数倍", "低于"),
    ("160000.50", "整数倍", "低于"),
    ("165500", "单次加价不能超过 10 个加价幅度，首次报价最多为 165,000.00 元", "整数倍"),
    ("165100", "单次加价不能超过", "整数倍"),  # too much and not a multiple: the amount first
    ("99999999999999", "单次加价不能超过", "整数倍"),
    ("abc", "报价金额", "整数倍"),
    ("一万", "报价金额", "整数倍"),
    ("160000.001", "报价金额", "整数倍"),
    ("1e5", "报价金额", "整数倍"),
    ("NaN", "报价金额", "整数倍"),
    ("999999999999999999999", "报价金额", "整数倍"),
    ("", "报价金额", "整数倍"),
    ("-160000", "报价必须大于零", "整数倍"),
    ("0", "报价必须大于零", "整数倍"),
])
def test_the_first_bid_is_told_the_first_rule_it_breaks(buyers, trading, db, amount, says, never):
    listing, _ = trading
    s = live(buyers, listing)
    message = _refused(buyers["buyer"], s.id, amount)
    assert says in message and never not in message, message
    assert _seq(db, s.id) == 0


def test_later_bids_are_told_the_first_rule_they_break(buyers, trading, db):
    listing, regs = trading
    s = live(buyers, listing)
    tsvc.place_bid(buyers["buyer"], s.id, "160000", key=key())
    db.session.commit()
    org = buyers["buyer_org"]
    cases = [
        ("100", "报价低于当前最高价 160,000.00 元，请至少报 160,500.00 元"),       # not the 整数倍 message
        ("159800", "报价低于当前最高价 160,000.00 元，请至少报 160,500.00 元"),
        ("160000", "报价须高于当前最高价 160,000.00 元，请至少报 160,500.00 元"),
        ("160300", "报价须为当前最高价 160,000.00 元加加价幅度 500.00 元的整数倍，如 160,500.00 元、161,000.00 元"),
        ("166000", "单次加价不能超过 10 个加价幅度（5,000.00 元），本次最多报 165,000.00 元"),
        ("1000000000000", "单次加价不能超过"),
    ]
    for amount, says in cases:
        message = _refused(org, s.id, amount)
        assert says in message, (amount, message)
    # the leader is told it leads, whatever the amount
    assert "您当前已是最高报价人" in _refused(buyers["buyer"], s.id, "100")
    # a priority holder may match the highest price (同等条件优先): below it, told the price to match
    message = _refused(buyers["buyer_coop"], s.id, "159000")
    assert "报价低于当前最高价 160,000.00 元，请至少报 160,000.00 元" in message, message
    assert _seq(db, s.id) == 1
    tsvc.place_bid(org, s.id, "160500", key=key())  # the amount the message named is accepted
    assert _seq(db, s.id) == 2


def test_early_and_late_bids_are_refused(buyers, trading, db):
    listing, _ = trading
    start = clock.now() + timedelta(minutes=5)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=10,
                             countdown_seconds=300, max_extension_minutes=30)
    db.session.commit()
    assert "竞价尚未开始" in _refused(buyers["buyer"], s.id, "160000")
    clock.freeze(s.ends_at)
    assert "竞价已结束" in _refused(buyers["buyer"], s.id, "160000")
    clock.freeze(s.ends_at + timedelta(days=1))
    assert "竞价已结束" in _refused(buyers["buyer"], s.id, "100")  # late first, not the amount
    assert _seq(db, s.id) == 0
