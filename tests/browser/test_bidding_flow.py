"""Issue 5 in a real browser: two bidders bid against each other in the bidding room (one on a phone),
the countdown extends and ends, the winner and the bidding record appear and 交易公示 starts; a
single-bidder listing completes as 协议转让; a sealed-bid listing opens correctly."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.listings.models import Listing
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession, Deal
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in
from tests.builders import pay, to_trading
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("uploads")]


def _sign_in(pg, base, username):
    sign_in(pg, base, username, PASSWORD)


def _wait_text(pg, selector, words, timeout=8000):
    pg.wait_for_function("([s, w]) => { const e = document.querySelector(s); return e && e.textContent.includes(w); }",
                         arg=[selector, words], timeout=timeout)


def test_two_bidders_in_the_room(browser, page, phone, live_server, buyers, announced, db):
    base = live_server
    regs = pay(buyers, announced, ["buyer", "buyer_org"])
    db.session.commit()
    listing = to_trading(announced)
    start = clock.now() + timedelta(minutes=1)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=5,
                             countdown_seconds=60, max_extension_minutes=10)
    db.session.commit()
    clock.freeze(start + timedelta(seconds=5))

    _sign_in(phone, base, "t_buyer")
    check_page(phone, "工作台（受让方，手机）")
    phone.goto(base + f"/registrations/{regs['buyer'].id}")
    check_page(phone, "报名详情（竞价中）")
    phone.click("text=进入竞价室")
    _wait_text(phone, "[data-field=phase_label]", "自由报价期")
    check_page(phone, "竞价室（自由报价期）")
    assert phone.input_value("input[name=amount]") == "160000.00"
    phone.click("[data-bid-actions] button")
    assert "壹拾陆万元整" in phone.inner_text("[data-bid-confirm]")
    phone.click("button:has-text('确认报价')")
    _wait_text(phone, "[data-field=bid_message]", "已被接受")

    _sign_in(page, base, "t_buyer_org")
    check_page(page, "工作台（受让方）")
    page.goto(base + f"/trading/sessions/{s.id}")
    _wait_text(page, "[data-field=leader_bidder_no]", regs["buyer"].bidder_no)
    check_page(page, "竞价室")
    assert page.input_value("input[name=amount]") == "160500.00"
    page.fill("input[name=amount]", "160300")
    page.click("[data-bid-actions] button")
    page.click("button:has-text('确认报价')")
    _wait_text(page, "[data-field=bid_message]", "整数倍")

    # the timed period: each accepted bid restarts the 60-second countdown
    clock.freeze(s.free_end_at + timedelta(seconds=30))
    _wait_text(page, "[data-field=phase_label]", "限时报价期")
    page.fill("input[name=amount]", "161000")
    page.click("[data-bid-actions] button")
    page.click("button:has-text('确认报价')")
    _wait_text(page, "[data-field=bid_message]", "已被接受")
    db.session.expire_all()
    extended = db.session.get(BiddingSession, s.id).ends_at
    assert extended == s.free_end_at + timedelta(seconds=90)  # 30 s into the timed period + 60 s
    _wait_text(phone, "[data-field=leader_bidder_no]", regs["buyer_org"].bidder_no)
    _wait_text(phone, "[data-field=current_price_upper]", "壹拾陆万壹仟元整")
    shot(phone, "bidding-room-phone")
    shot(page, "bidding-room")

    # the countdown runs out: the room shows the winner and the names, 交易公示 starts
    clock.freeze(extended + timedelta(seconds=1))
    _wait_text(page, "[data-field=outcome]", "竞得")
    _wait_text(phone, "[data-field=phase_label]", "已结束")
    assert "测试受让人" in page.inner_text("[data-field=history]")
    _wait_text(page, "[data-field=deal_links]", "竞价记录")
    check_page(page, "竞价室（已结束）")
    with page.expect_download() as dl:  # the winner downloads the bidding record
        page.evaluate("document.querySelector('[data-link=record]').setAttribute('download', '')")
        page.click("[data-link=record]")
    assert dl.value.suggested_filename.endswith(".pdf")
    db.session.expire_all()
    deal = db.session.scalar(select(Deal))
    assert deal.registration_id == regs["buyer_org"].id and str(deal.price) == "161000.00"
    assert db.session.get(Listing, listing.id).state == "publicity"
    page.goto(base + f"/registrations/{regs['buyer_org'].id}")
    check_page(page, "报名详情（竞得）")
    assert "恭喜，您已竞得本项目" in page.inner_text("body")
    phone.goto(base + f"/registrations/{regs['buyer'].id}")
    check_page(phone, "报名详情（未竞得）")
    assert "您未竞得" in phone.inner_text("body")
    shot(page, "bidding-won")


def test_agreement_and_sealed_bid(browser, page, live_server, buyers, announced, db):
    base = live_server
    regs = pay(buyers, announced, ["buyer", "buyer_org", "buyer_coop"])
    db.session.commit()
    listing = to_trading(announced)
    _sign_in(page, base, "t_trader")
    check_page(page, "工作台（交易员）")
    page.goto(base + f"/trading/listings/{listing.id}")
    check_page(page, "组织交易（安排报价）")
    start = clock.to_local(clock.now() + timedelta(minutes=10))
    page.fill("input[name=se-starts_at]", start.strftime("%Y-%m-%d %H:%M"))
    page.fill("input[name=se-closes_at]", (start + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"))
    page.fill("input[name=se-opens_at]", (start + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"))
    page.click("button:has-text('安排一次性报价')")
    assert "已安排一次性报价" in page.inner_text("body")
    check_page(page, "已安排一次性报价")
    s = db.session.scalar(select(BiddingSession))
    clock.freeze(s.starts_at + timedelta(minutes=1))
    for key, amount in (("t_buyer", "170000"), ("t_buyer_org", "175000"), ("t_coop", "172000")):
        ctx = browser.new_context(locale="zh-CN")
        pg = ctx.new_page()
        _sign_in(pg, base, key)
        pg.goto(base + f"/trading/sessions/{s.id}")
        _wait_text(pg, "[data-field=phase_label]", "接受报价中")
        check_page(pg, "一次性报价室")
        pg.fill("input[name=amount]", amount)
        pg.click("[data-bid-actions] button")
        pg.click("button:has-text('确认报价')")
        _wait_text(pg, "[data-field=bid_message]", "已被接受")
        ctx.close()
    # staff see only how many offers came in, never the amounts, before the opening
    page.goto(base + f"/trading/sessions/{s.id}")
    _wait_text(page, "[data-field=offers]", "3")
    check_page(page, "一次性报价室（工作人员）")
    assert "175000" not in page.inner_text("body") and "175,000" not in page.inner_text("body")
    clock.freeze(s.hard_end_at)
    _sign_in(page, base, "t_trader")  # two hours later: the idle staff session has expired
    page.goto(base + f"/trading/sessions/{s.id}")
    _wait_text(page, "[data-field=outcome]", "竞得")
    check_page(page, "一次性报价室（已开启）")
    assert "175,000.00" in page.inner_text("[data-field=history]")
    shot(page, "sealed-opened")
    db.session.expire_all()
    assert db.session.scalar(select(Deal)).registration_id == regs["buyer_org"].id


def test_single_bidder_completes_as_agreement(browser, page, live_server, users, announced, db):
    base = live_server
    regs = pay(users, announced, ["buyer"])
    db.session.commit()
    listing = to_trading(announced)
    _sign_in(page, base, "t_trader")
    page.click("nav summary:has-text('业务')")  # the staff menu's groups (issue 17)
    page.click("nav >> text=组织交易")
    check_page(page, "组织交易")
    assert "协议转让，待确认" in page.inner_text("body")
    page.click(f"text={listing.title}")
    check_page(page, "组织交易（协议转让）")
    page.on("dialog", lambda d: d.accept())
    page.click("button:has-text('确认协议转让成交')")
    check_page(page, "已确认协议转让成交")
    body = page.inner_text("body")
    assert "已确认协议转让成交" in body and "交易公示至" in body
    db.session.expire_all()
    deal = db.session.scalar(select(Deal))
    assert deal.method == "agreement" and deal.registration_id == regs["buyer"].id
    assert db.session.get(Listing, listing.id).state == "publicity"
