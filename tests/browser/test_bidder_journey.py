"""Issue 17 items 7–12 in a real browser: two bidders, each on a 390×844 phone, in one online bidding session —
before the start (距开始 and the start time), bidding (price, countdown, amount and 报价 on the first screen), being
outbid (one loud message, the next valid amount refilled, the old "已被接受" gone), a too-low bid (the first rule
that fails), a dropped connection (the reconnect banner, the countdown stopped), and the end (the winner and the
loser each told plainly; every link the loser is shown opens; an anonymous visitor meets no unexplained sign-in).
Every state is checked with axe-core and photographed."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.notifications.models import Notification
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession, Deal
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in
from tests.builders import pay, to_trading
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("uploads")]

PHONE = {"locale": "zh-CN", "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


@pytest.fixture
def phone2(browser, appctx):
    """A second phone (its own cookies: the other bidder)."""
    context = browser.new_context(**PHONE)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def _wait_text(pg, selector, words, timeout=8000):
    pg.wait_for_function("([s, w]) => { const e = document.querySelector(s); return e && e.textContent.includes(w); }",
                         arg=[selector, words], timeout=timeout)


def _text(pg, selector) -> str:
    return pg.inner_text(selector)


def _on_first_screen(pg, selectors) -> None:
    """Each of ``selectors`` is entirely inside the 390×844 viewport with the page scrolled to its top."""
    pg.evaluate("window.scrollTo(0, 0)")
    height = pg.viewport_size["height"]
    for sel in selectors:
        box = pg.locator(sel).first.bounding_box()
        assert box is not None, f"{sel} is not shown"
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{sel} is off the first screen: {box}"


FIRST_SCREEN = ["[data-field=countdown]", "[data-field=current_price_text]", "[data-field=my_status]",
                "input[name=amount]", "[data-bid-actions] button"]


def _bid(pg, amount: str) -> None:
    pg.fill("input[name=amount]", amount)
    pg.click("[data-bid-actions] button")
    pg.click("button:has-text('确认报价')")


def _links_open(pg) -> list[str]:
    """Every link in the page's main content, opened with the viewer's cookies: all answer 200."""
    hrefs = pg.eval_on_selector_all("main a[href]", "els => els.filter(e => e.offsetParent !== null)"
                                                    ".map(e => e.getAttribute('href'))")
    hrefs = [h for h in hrefs if h and h.startswith("/") and not h.startswith("/logout")]
    for href in hrefs:
        resp = pg.request.get(pg.url.split("/", 3)[0] + "//" + pg.url.split("/", 3)[2] + href, max_redirects=0)
        assert resp.status == 200, f"{href} answers {resp.status} to {pg.url}"
    return hrefs


def test_two_bidders_on_phones_from_the_start_to_the_result(browser, phone, phone2, live_server, buyers,
                                                            announced, db):
    base = live_server
    regs = pay(buyers, announced, ["buyer", "buyer_org"])
    db.session.commit()
    listing = to_trading(announced)
    start = clock.now() + timedelta(minutes=10)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=5,
                             countdown_seconds=60, max_extension_minutes=10)
    db.session.commit()
    room = base + f"/trading/sessions/{s.id}"
    a, b = phone, phone2  # a: 测试受让人 (t_buyer), b: the company (t_buyer_org)
    no_a, no_b = regs["buyer"].bidder_no, regs["buyer_org"].bidder_no
    sign_in(a, base, "t_buyer", PASSWORD)
    sign_in(b, base, "t_buyer_org", PASSWORD)

    # --- before the start: the time to the start and the start time, not the time to the end ---------------------
    a.goto(room)
    _wait_text(a, "[data-field=phase_label]", "等待开始")
    assert _text(a, "[data-field=countdown_label]") == "距开始"
    start_text = clock.to_local(start).strftime("%Y-%m-%d %H:%M")
    assert start_text in _text(a, "[data-field=starts_line]")
    assert _text(a, "[data-field=countdown]").startswith(("10:00", "9:5"))
    assert "尚未开始" in _text(a, "[data-field=my_status]")
    _on_first_screen(a, FIRST_SCREEN + ["[data-field=starts_line]"])
    check_page(a, "竞价室（开始前）")
    shot(a, "bidder-room-before-start")

    # --- bidding: the first bid at the start price --------------------------------------------------------------
    clock.freeze(start + timedelta(seconds=5))
    _wait_text(a, "[data-field=phase_label]", "自由报价期")
    _wait_text(a, "[data-field=countdown_label]", "剩余时间")
    assert a.is_hidden("[data-field=starts_line]")
    assert a.input_value("input[name=amount]") == "160000.00"
    _bid(a, "160000")
    _wait_text(a, "[data-field=bid_message]", "已被接受")
    _wait_text(a, "[data-field=my_status]", "您是当前最高报价人")
    assert a.is_disabled("[data-bid-actions] button")  # the highest bidder is not invited to outbid itself
    _on_first_screen(a, FIRST_SCREEN)
    check_page(a, "竞价室（领先）")
    shot(a, "bidder-room-leading")

    # --- the other bidder: a too-low bid is told the first rule that fails ---------------------------------------
    b.goto(room)
    _wait_text(b, "[data-field=leader_bidder_no]", no_a)
    assert b.input_value("input[name=amount]") == "160500.00"
    assert "您还没有报价" in _text(b, "[data-field=my_status]")
    _bid(b, "100")
    _wait_text(b, "[data-field=bid_message]", "低于当前最高价")
    message = _text(b, "[data-field=bid_message]")
    assert "整数倍" not in message and "160,500.00" in message, message
    assert b.input_value("input[name=amount]") == "160500.00"  # refilled with the lowest amount accepted now
    b.fill("input[name=amount]", "一万")  # not a number: said before anything is sent
    b.click("[data-bid-actions] button")
    _wait_text(b, "[data-field=bid_message]", "请填写正确的金额")
    assert b.is_hidden("[data-bid-confirm]")
    _on_first_screen(b, FIRST_SCREEN)
    check_page(b, "竞价室（报价过低）")
    shot(b, "bidder-room-too-low")
    _bid(b, "160500")
    _wait_text(b, "[data-field=bid_message]", "已被接受")

    # --- outbid: one loud message, the next valid amount refilled, the old "已被接受" gone ------------------------
    _wait_text(a, "[data-field=my_status]", "您的报价已被超过")
    _wait_text(a, "[data-field=leader_bidder_no]", no_b)
    status = _text(a, "[data-field=my_status]")
    assert "161,000.00" in status and "160,500.00" in status, status
    assert "已被接受" not in _text(a, "[data-field=bid_message]")
    body = _text(a, "main")
    assert "已是最高报价人" not in body and "您当前领先" not in body and "您是当前最高报价人" not in body
    assert a.input_value("input[name=amount]") == "161000.00"
    assert "alert-error" in a.get_attribute("[data-field=my_status]", "class")
    assert a.is_enabled("[data-bid-actions] button")
    _on_first_screen(a, FIRST_SCREEN)
    check_page(a, "竞价室（被超过）")
    shot(a, "bidder-room-outbid")

    # --- a dropped connection: the banner, and the countdown stops until the server answers again ---------------
    a.context.set_offline(True)
    a.wait_for_selector("[data-field=offline]", state="visible", timeout=8000)
    assert "网络已断开，正在重连" in _text(a, "[data-field=offline]")
    _wait_text(a, "[data-field=countdown_note]", "已暂停")
    frozen = _text(a, "[data-field=countdown]")
    a.wait_for_timeout(2500)
    assert _text(a, "[data-field=countdown]") == frozen  # stopped, not running on a stale price
    assert a.is_disabled("[data-bid-actions] button")
    check_page(a, "竞价室（断网）")
    shot(a, "bidder-room-offline")
    a.context.set_offline(False)
    a.wait_for_selector("[data-field=offline]", state="hidden", timeout=8000)
    a.wait_for_function("() => document.querySelector('[data-field=countdown_note]').textContent === ''")
    assert a.is_enabled("[data-bid-actions] button")

    # --- the end: b wins at 160,500; each is told plainly --------------------------------------------------------
    db.session.expire_all()
    ends_at = db.session.get(BiddingSession, s.id).ends_at
    clock.freeze(ends_at + timedelta(seconds=1))
    _wait_text(b, "[data-field=my_status]", "您竞得本项目", timeout=12000)
    _wait_text(a, "[data-field=my_status]", "您未竞得本项目", timeout=12000)
    won, lost = _text(b, "main"), _text(a, "main")
    assert "您当前领先" not in won and "您是当前最高报价人" not in won and "160,500.00" in won
    assert "您当前领先" not in lost and "已被超过" not in lost
    assert "保证金" in _text(a, "[data-field=my_status]") and "退还" in _text(a, "[data-field=my_status]")
    assert _text(a, "[data-field=price_label]") == "成交价"
    _wait_text(a, "[data-field=deal_links]", "竞价记录")
    assert a.is_hidden("[data-bid-form]") or a.locator("[data-bid-form]").count() == 0
    check_page(a, "竞价室（未竞得）")
    check_page(b, "竞价室（竞得）")
    shot(a, "bidder-room-lost")
    shot(b, "bidder-room-won")
    opened = _links_open(a)  # the loser is shown no link that answers 403
    assert any(h.endswith("/bidding-record.pdf") for h in opened) and any(h.startswith("/deals/") for h in opened)

    db.session.expire_all()
    deal = db.session.scalar(select(Deal))
    assert deal.registration_id == regs["buyer_org"].id
    # both are told the result, whichever page asked the server to conclude the session
    for who, words in (("buyer", "您未成交"), ("buyer_org", "恭喜您成交")):
        titles = db.session.scalars(select(Notification.title).where(Notification.user_id == buyers[who].id,
                                                                     Notification.kind == "deal.concluded")).all()
        assert len(titles) == 1 and words in titles[0], (who, titles)
    lost_note = db.session.scalar(select(Notification).where(Notification.user_id == buyers["buyer"].id,
                                                             Notification.kind == "deal.concluded"))
    assert "退还" in lost_note.body

    # the loser's deal page: only the links they may open
    a.goto(base + f"/deals/{deal.deal_no}")
    body = _text(a, "main")
    assert "成交确认书（PDF）" not in body and "竞价记录（PDF）" in body
    _links_open(a)
    check_page(a, "成交公示（未竞得的竞买人）")
    shot(a, "bidder-deal-page-lost")

    # an anonymous visitor: no PDF link to a sign-in page; a link followed from elsewhere says why
    anon = browser.new_context(**PHONE)
    try:
        v = anon.new_page()
        v.goto(base + f"/deals/{deal.deal_no}")
        assert v.locator("main a[href$='.pdf']").count() == 0
        assert "请登录后打开" in _text(v, "main")
        check_page(v, "成交公示（未登录）")
        shot(v, "bidder-deal-page-anonymous")
        v.goto(base + f"/deals/{deal.deal_no}/bidding-record.pdf")
        assert "/login" in v.url
        assert "竞价记录仅限交易双方、本场竞买人和交易中心工作人员查看" in _text(v, "body")
        check_page(v, "登录（来自文书链接）")
        shot(v, "bidder-pdf-link-anonymous")
    finally:
        anon.close()
