"""The State Council's notice in a real browser: the center admin pastes the 2027 notice, sees the whole year as a
grid and the list "将调整 N 个期限" with each deadline's old and new date, confirms; the village clerk on a phone
opens the listing and reads the new end of 交易公示 (the 签约 clock starts only when it ends), no longer marked
暂按法定节假日推算."""
import pytest

from exchange import clock
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in
from tests.builders import NOTICE_2027, beijing as bj, deal_concluded_on
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("uploads")]


def test_admin_imports_the_notice_and_the_clerk_sees_the_new_deadline(page, phone, live_server, users, db):
    base = live_server
    listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    clock.freeze(bj(2026, 12, 31, 9))

    sign_in(phone, base, "t_point_a1", PASSWORD)
    check_page(phone, "工作台（交易点，手机）")
    phone.goto(base + f"/listings/{listing.id}")
    check_page(phone, "项目（交易公示）")
    before = phone.inner_text("#deadlines")
    assert "交易公示期" in before and "2027-01-05 24:00" in before and "暂按法定节假日推算" in before
    assert "签约期限" not in before  # 第十六条: it starts when the publicity ends

    sign_in(page, base, "t_admin", PASSWORD)
    check_page(page, "工作台（管理员）")
    page.goto(base + "/admin/calendar/?year=2027&month=1")
    check_page(page, "工作日历")
    assert "尚未确认，暂按法定节假日推算" in page.inner_text("main")
    page.click("text=导入国务院放假通知")
    check_page(page, "导入国务院放假通知")
    page.fill("textarea[name=text]", NOTICE_2027)
    page.click("button:has-text('解析')")
    page.wait_for_selector("text=解析成功，尚未生效")
    check_page(page, "放假通知解析结果")
    main = page.inner_text("main")
    assert "将调整 2 个期限" in main and "2027 年 12 月" in main and "元旦调休上班" in main
    moves = page.inner_text("#moves")
    assert "交易公示期" in moves and "2027-01-05 24:00" in moves and "2027-01-06 24:00" in moves
    assert "保证金退还期限" in moves and "2027-01-07 24:00" in moves and "2027-01-08 24:00" in moves
    shot(page, "calendar-notice-preview")
    page.click("button:has-text('确认 2027 年安排并调整 2 个期限')")
    page.wait_for_selector("text=已按国务院办公厅通知确认 2027 年节假日安排，调整了 2 个期限并已通知当事人")
    check_page(page, "工作日历（已确认）")
    assert "管理员已录入并确认" in page.inner_text("main")

    phone.goto(base + f"/listings/{listing.id}")
    check_page(phone, "项目（期限已调整）")
    after = phone.inner_text("#deadlines")
    assert "2027-01-06 24:00" in after and "暂按法定节假日推算" not in after
    shot(phone, "calendar-notice-clerk")
    phone.goto(base + "/notifications/")
    check_page(phone, "消息通知")
    assert "因节假日安排调整" in phone.inner_text("main")
