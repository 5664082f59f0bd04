"""One way a page runs an action (issue 15 item 6): ``exchange.pages.run_action`` — the form checked, one service,
commit, the message (in its tone, or none), the redirect; a refusal and a row changed meanwhile rolled back and said
— and one POST route per action: the trading officer's page, which dispatched one POST on a ``what`` field to four
services, now posts each form to its own route (the old POST is gone), and a bid from the room's form has its own
view beside the room, which only reads."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from flask import get_flashed_messages
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from exchange import clock
from exchange.errors import ServiceError
from exchange.pages import Message, run_action
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession, Deal
from tests.builders import open_trading
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")


# --- run_action ---------------------------------------------------------------------------------------------------------

def _run(app, action, **kw):
    with app.test_request_context("/", method="POST"):
        resp = run_action(action, **{"back": "/back", **kw})
        return resp, get_flashed_messages(with_categories=True)


def test_run_action_says_done_in_its_tone_or_not_at_all(app, db):
    resp, flashed = _run(app, lambda: 7, done=lambda n: f"完成 {n} 项。", then=lambda n: f"/item/{n}")
    assert resp.status_code == 302 and resp.location == "/item/7" and flashed == [("success", "完成 7 项。")]
    resp, flashed = _run(app, lambda: "pw", done=lambda pw: Message(f"临时密码 {pw}", "warning"))
    assert resp.location == "/back" and flashed == [("warning", "临时密码 pw")]
    resp, flashed = _run(app, lambda: None, done=None, then=lambda _: "https://bank.example/checkout")
    assert resp.location == "https://bank.example/checkout" and flashed == []


def test_run_action_rolls_back_a_refusal_and_a_stale_row(app, db):
    def refuse():
        exc = ServiceError("材料不齐。")
        exc.problems = ["缺少身份证明", "缺少权属证明"]
        raise exc

    resp, flashed = _run(app, refuse, done="不会出现")
    assert resp.location == "/back" and flashed == [("error", "材料不齐。 缺少身份证明 缺少权属证明")]
    with app.test_request_context("/", method="POST"):
        shown = run_action(refuse, done="不会出现", back="/back", refused=lambda exc: (exc.message, 400))
        assert shown == ("材料不齐。", 400) and get_flashed_messages() == []

    def stale():
        raise StaleDataError("version")

    resp, flashed = _run(app, stale, done="不会出现", stale="该退款刚被他人处理，请查看最新状态。")
    assert resp.location == "/back" and flashed == [("error", "该退款刚被他人处理，请查看最新状态。")]


# --- the trading officer's page: one POST route per action -----------------------------------------------------------

@pytest.fixture
def two_bidders(buyers, announced, db):
    return open_trading(buyers, announced, db, keys=("buyer", "buyer_org"), priority=())


@pytest.fixture
def one_bidder(buyers, announced, db):
    return open_trading(buyers, announced, db, keys=("buyer",), priority=())


def _actions(page: str) -> set[str]:
    return set(re.findall(r'<form method="post" action="([^"]+)"', page))


def test_each_form_of_the_trading_page_posts_to_its_own_route(client, two_bidders, db):
    listing, _regs = two_bidders
    login(client, "t_trader", PASSWORD)
    page = text(client.get(f"/trading/listings/{listing.id}"))
    base = f"/trading/listings/{listing.id}"
    assert {f"{base}/online", f"{base}/sealed", f"{base}/offline"} <= _actions(page)
    assert 'name="what"' not in page
    # the old dispatching POST is gone
    for what in ("online", "sealed", "offline", "agreement"):
        assert client.post(base, data={"csrf_token": csrf_from(page), "what": what}).status_code == 405


def test_sealed_bid_is_arranged_on_its_route_and_a_bad_form_stays_on_the_page(client, two_bidders, db):
    listing, _regs = two_bidders
    login(client, "t_trader", PASSWORD)
    url = f"/trading/listings/{listing.id}"
    page = text(client.get(url))
    start = clock.to_local(clock.now() + timedelta(hours=1))
    when = {"se-starts_at": start.strftime("%Y-%m-%d %H:%M"),
            "se-closes_at": (start + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "se-opens_at": (start + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")}
    bad = client.post(f"{url}/sealed", data={"csrf_token": csrf_from(page), **when, "se-opens_at": ""})
    assert bad.status_code == 400 and "请检查填写的内容" in text(bad) and "安排一次性报价" in text(bad)
    assert db.session.scalar(select(BiddingSession)) is None
    resp = client.post(f"{url}/sealed", data={"csrf_token": csrf_from(page), **when})
    assert resp.status_code == 302 and resp.location.endswith(url)
    assert "已安排一次性报价" in text(client.get(resp.location))
    assert db.session.scalar(select(BiddingSession)).method == "sealed_bid"


def test_the_agreement_has_its_own_route_and_is_refused_to_others(app, client, one_bidder, db):
    listing, regs = one_bidder
    url = f"/trading/listings/{listing.id}"
    reviewer = app.test_client()
    login(reviewer, "t_reviewer", PASSWORD)
    token = csrf_from(text(reviewer.get(url)))
    assert reviewer.post(f"{url}/agreement", data={"csrf_token": token}).status_code == 403
    login(client, "t_trader", PASSWORD)
    page = text(client.get(url))
    assert f"{url}/agreement" in _actions(page)
    resp = client.post(f"{url}/agreement", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "已确认协议转让成交" in text(resp)
    assert db.session.scalar(select(Deal)).registration_id == regs["buyer"].id
    again = client.post(f"{url}/agreement", data={"csrf_token": csrf_from(page)})
    assert again.status_code == 400 and len(db.session.scalars(select(Deal)).all()) == 1


def test_a_bid_from_the_rooms_form_has_its_own_view(app, client, buyers, two_bidders, db):
    listing, regs = two_bidders
    start = clock.now() + timedelta(minutes=1)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=5,
                             countdown_seconds=60, max_extension_minutes=10)
    db.session.commit()
    clock.freeze(start)
    assert {r.endpoint for r in app.url_map.iter_rules() if r.rule == "/trading/sessions/<int:session_id>"} \
        == {"trading.session_room", "trading.bid"}
    login(client, "t_buyer", PASSWORD)
    room = f"/trading/sessions/{s.id}"
    page = text(client.get(room))
    empty = client.post(room, data={"csrf_token": csrf_from(page), "amount": "", "key": uuid.uuid4().hex},
                        follow_redirects=True)
    assert "请填写报价金额" in text(empty) and db.session.get(BiddingSession, s.id).seq == 0
    resp = client.post(room, data={"csrf_token": csrf_from(page), "amount": "160000", "key": uuid.uuid4().hex})
    assert resp.status_code == 302 and resp.location.endswith(room)
    assert "已被接受（第 1 次报价）" in text(client.get(room))
