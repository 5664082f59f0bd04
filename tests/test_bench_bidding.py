"""The bidding benchmark's invariant checker (bench/bidding.py) on a tiny real session: a clean run has no
violation, and each kind of broken record is reported.  Not timed."""
from copy import copy
from datetime import timedelta
from decimal import Decimal

import pytest

from bench.bidding import check_invariants, load_session
from exchange import clock
from exchange.trading import services as tsvc
from tests.builders import key, live

pytestmark = pytest.mark.usefixtures("uploads")


def test_checker_passes_a_real_session_and_catches_each_broken_rule(buyers, trading, db):
    listing, _ = trading
    s = live(buyers, listing)
    sid, free_end = s.id, s.free_end_at
    tsvc.place_bid(buyers["buyer"], sid, "160000", key=key())  # 自由报价期
    tsvc.place_bid(buyers["buyer_org"], sid, "161500", key=key())  # three steps
    clock.freeze(free_end + timedelta(seconds=10))  # 限时报价期: each bid restarts the countdown
    tsvc.place_bid(buyers["buyer"], sid, "162000", key=key())
    clock.advance(seconds=100)
    tsvc.place_bid(buyers["buyer_coop"], sid, "162000", key=key())  # 优先权: matches
    clock.advance(seconds=100)
    tsvc.place_bid(buyers["buyer_org"], sid, "162500", key=key())
    db.session.commit()

    session, bids, priority = load_session(sid)
    assert len(bids) == 5 and check_invariants(session, bids, priority) == []

    def broken(change):
        ss, bb = copy(session), [copy(b) for b in bids]
        change(ss, bb)
        return check_invariants(ss, bb, priority)

    def dup(ss, bb):
        bb[2].seq = 2
    assert any("duplicate seq" in v for v in broken(dup))
    assert any("outbid itself" in v for v in broken(lambda ss, bb: setattr(bb[1], "registration_id",
                                                                          bb[0].registration_id)))
    assert any("is not" in v for v in broken(lambda ss, bb: setattr(bb[2], "amount", Decimal("162100"))))
    assert any("is not" in v for v in broken(lambda ss, bb: setattr(bb[4], "amount", Decimal("168000"))))
    assert any("priority match" in v for v in broken(lambda ss, bb: setattr(bb[3], "amount", Decimal("161500"))))
    assert any("ends_at" in v for v in broken(lambda ss, bb: setattr(ss, "ends_at", ss.ends_at - timedelta(seconds=1))))
    assert any("current_price" in v for v in broken(lambda ss, bb: setattr(ss, "current_price", Decimal("162000"))))
    assert any("leader" in v for v in broken(lambda ss, bb: setattr(ss, "leader_registration_id",
                                                                   bb[3].registration_id)))
    assert any("after the end" in v for v in broken(lambda ss, bb: setattr(bb[4], "at", bb[3].at + timedelta(hours=1))))
    assert any("missing" in v for v in broken(lambda ss, bb: bb.pop(1)))
