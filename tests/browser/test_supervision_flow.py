"""Issue 8 in a real browser: the supervisor sees the dashboard with its charts and the town ranking, opens a
warning and the case behind it (read-only: no buttons to act), and downloads the monthly Excel report, which
opens and whose totals match what the dashboard shows."""
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from exchange import clock
from exchange.extensions import db as _db
from exchange.supervision import alerts, stats
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("uploads")]


def test_supervisor_dashboard_warning_and_report(browser, page, live_server, buyers, online_deal, db, tmp_path):
    deal, regs = online_deal  # 网络竞价 won at 160 500 元 by 测试受让人; two buyers share a phone number
    alerts.detect()  # the sweeper has run it already (nothing new); the shared phone is on record
    _db.session.commit()
    from exchange.supervision.models import SupervisionAlert
    assert _db.session.query(SupervisionAlert).filter_by(kind="shared_contact").count() >= 1
    month = clock.to_local(deal.concluded_at).strftime("%Y-%m")
    expected = stats.summary(stats.parse_filters({"month": month}))
    assert expected["deals"]["count"] == 1 and expected["deals"]["amount"] == deal.price
    clock.advance(timedelta(minutes=1))
    base = live_server
    sign_in(page, base, "t_supervisor", PASSWORD)

    check_page(page, "工作台（监管）")
    page.click("nav summary:has-text('监管')")  # the staff menu's groups (issue 17)
    page.click("nav >> text=统计监督")
    check_page(page, "统计监督")
    page.goto(base + f"/supervision/?month={month}")
    check_page(page, "统计监督（按月）")
    main = page.inner_text("main")
    assert "成交金额\n160,500元" in main and "成交\n1宗" in main  # the headline figures
    assert page.locator("main svg").count() >= 3  # trend by month, by town, by category
    assert "江" in page.locator("main svg").first.inner_html() or page.locator("main svg title").count() >= 1
    shot(page, "supervision-dashboard")

    page.click("text=考评排名")
    page.wait_for_load_state()
    check_page(page, "考评排名")
    assert "提交次数" in page.inner_text("main") or "提交" in page.inner_text("main")
    shot(page, "supervision-ranking")

    # a warning, and the case behind it; the supervisor can look, not act
    page.goto(base + "/supervision/alerts")
    check_page(page, "预警")
    page.click("main table a >> nth=0")
    page.wait_for_load_state()
    check_page(page, "预警详情")
    detail = page.inner_text("main")
    assert "共用" in detail or "逾期" in detail
    assert page.locator("button:has-text('知悉')").count() == 0 and page.locator("button:has-text('处理')").count() == 0
    shot(page, "supervision-alert")
    page.click(f"main a[href='/listings/{deal.listing_id}']")
    page.wait_for_load_state()
    check_page(page, "项目（监管只读）")
    assert deal.listing.title in page.inner_text("main")

    # the monthly report: it opens and its totals are the dashboard's
    page.goto(base + "/supervision/reports/")
    check_page(page, "月报")
    page.fill("input[name=month]", month)
    with page.expect_download() as dl:
        page.click("button:has-text('下载月报')")
    path = tmp_path / "monthly.xlsx"
    dl.value.save_as(path)
    ws = load_workbook(path)["汇总"]
    values = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(3, 30)}
    assert values["成交金额（元）"] == expected["deals"]["amount"]
    assert values["成交（宗）"] == expected["deals"]["count"]
