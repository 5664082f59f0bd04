"""中止与重启 in a real browser: the center suspends a listing in the middle of online bidding (with the approving
document); the bidder on a phone sees the room paused with its remaining time and no bid form; the bidder applies
for the restart; the center approves; the room resumes with the time it had left and the bidder's bid is accepted."""
from datetime import timedelta
from pathlib import Path

import pytest

from exchange import clock
from exchange.extensions import db as _db
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in
from tests.builders import PDF, key, pay, to_trading
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("uploads")]


def _wait_text(pg, selector, words, timeout=8000):
    pg.wait_for_function("([s, w]) => { const e = document.querySelector(s); return e && e.textContent.includes(w); }",
                         arg=[selector, words], timeout=timeout)


def test_suspend_mid_bidding_and_restart(browser, page, phone, live_server, buyers, announced, db, tmp_path):
    base = live_server
    regs = pay(buyers, announced, ["buyer", "buyer_org"])
    db.session.commit()
    listing = to_trading(announced)
    start = clock.now() + timedelta(minutes=1)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=5,
                             countdown_seconds=60, max_extension_minutes=10)
    db.session.commit()
    clock.freeze(start + timedelta(seconds=5))
    tsvc.place_bid(buyers["buyer_org"], s.id, "160000", key=key())
    db.session.commit()
    clock.freeze(s.free_end_at + timedelta(seconds=20))  # 40 s left in the timed period

    sign_in(phone, base, "t_buyer", PASSWORD)
    check_page(phone, "工作台（受让方，手机）")
    phone.goto(base + f"/trading/sessions/{s.id}")
    _wait_text(phone, "[data-field=phase_label]", "限时报价期")
    check_page(phone, "竞价室（限时报价期）")

    # the center suspends (a dispute over the title), with the document
    doc = Path(tmp_path) / "中止通知.pdf"
    doc.write_bytes(PDF)
    sign_in(page, base, "t_reviewer", PASSWORD)
    check_page(page, "工作台（审核员）")
    page.goto(base + f"/listings/{listing.id}")
    check_page(page, "项目（竞价中）")
    page.click("text=中止交易（第二十三条）")
    check_page(page, "中止交易")
    page.select_option("select[name=ground]", "title_dispute")
    page.fill("textarea[name=basis]", "村民委员会来函：该地块四至存在争议，待核实")
    page.set_input_files("input[name=document]", str(doc))
    page.once("dialog", lambda d: d.accept())
    page.click("button:has-text('中止交易')")
    page.wait_for_selector("text=已中止交易")
    check_page(page, "已中止交易")
    assert "竞价结束" in page.inner_text("main")
    shot(page, "suspension-center")

    _wait_text(phone, "[data-field=phase_label]", "交易已中止")
    _wait_text(phone, "[data-field=countdown]", "0:40")
    assert phone.is_hidden("[data-bid-form]")
    check_page(phone, "竞价室（已中止）")
    shot(phone, "suspension-room-phone")

    # two days later the bidder applies for the restart, the center approves
    clock.advance(timedelta(days=2))
    sign_in(phone, base, "t_buyer", PASSWORD)  # the sessions timed out meanwhile
    sign_in(page, base, "t_reviewer", PASSWORD)
    phone.goto(base + f"/listings/{listing.id}/suspension")
    check_page(phone, "申请重启")
    phone.fill("textarea[name=reason]", "争议已由村委会调解解决，申请重启竞价")
    phone.click("button:has-text('提交重启申请')")
    phone.wait_for_selector("text=重启申请已提交")
    check_page(phone, "重启申请已提交")
    page.goto(base + f"/listings/{listing.id}/suspension")
    check_page(page, "认定重启申请")
    page.select_option("select[name=approve]", "yes")
    page.fill("textarea[name=decision]", "争议已解决，符合重启条件")
    page.click("button:has-text('确认认定')")
    page.wait_for_selector("text=已重启交易")
    check_page(page, "已重启交易")
    shot(page, "suspension-restarted")

    _db.session.expire_all()
    session = _db.session.get(BiddingSession, s.id)
    assert (session.ends_at - clock.now()).total_seconds() == pytest.approx(40, abs=1)
    phone.goto(base + f"/trading/sessions/{s.id}")
    _wait_text(phone, "[data-field=phase_label]", "限时报价期")
    check_page(phone, "竞价室（已重启）")
    phone.click("[data-bid-actions] button")
    phone.click("button:has-text('确认报价')")
    _wait_text(phone, "[data-field=bid_message]", "已被接受")
    assert regs["buyer"].bidder_no in phone.inner_text("[data-field=leader_bidder_no]")
