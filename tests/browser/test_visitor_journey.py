"""Issue 17 items 18 and 21 in a real browser: a first-time visitor on a 390×844 phone opens the home page, looks
for projects (the filters folded behind 筛选, a mistyped price named on the page), follows a project in 交易中 to its
bidding session and its announcement PDF (no sign-in), reads the rules and the open-data guide, reaches the
register and sign-in pages and verifies a 鉴证书 by its number.  axe-core (WCAG 2 A/AA) finds nothing on any of
these pages, body text is at least 16 px, and nothing is lost at 200 % zoom; the same pages pass axe at 1280 px."""
from __future__ import annotations

import pytest

from exchange import clock
from exchange.certificates import services as csvc
from exchange.trading import services as tsvc
from tests import builders as b
from tests.browser.a11y import check_page, check_reflow
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("uploads", "signing_key")]

TRADING_TITLE = "桃林镇 45 亩油茶林经营权出租"


@pytest.fixture
def world(users, db, frozen):
    """A completed deal with its 鉴证书; a listing in 交易中 whose 网络竞价 runs with two bids; one being announced."""
    life = b.Lifecycle(users, db).to("completed")
    cert_no = life.certificate.cert_no
    listing = b.published(users, title=TRADING_TITLE, location="六组")
    regs = b.pay(users, listing, ["buyer", "buyer_org"])
    db.session.commit()
    listing = b.to_trading(listing)
    session = b.live(users, listing)
    tsvc.place_bid(users["buyer_org"], session.id, "160000", key=b.key())
    clock.advance(seconds=40)
    tsvc.place_bid(users["buyer"], session.id, "161000", key=b.key())
    db.session.commit()
    clock.advance(seconds=20)
    announced = b.published(users, title="团湖村 12 亩旱地经营权出租")
    db.session.commit()
    return {"cert_no": cert_no, "short": csvc.short_number(cert_no), "trading": listing, "regs": regs,
            "announced": announced}


def visit(pg, url: str, name: str) -> str:
    pg.goto(url)
    check_page(pg, name)
    check_reflow(pg, name)
    shot(pg, f"visitor-{name}")
    return pg.inner_text("main")


def test_a_first_time_visitor_on_a_phone(phone, live_server, world):
    base, pg = live_server, phone

    # the home page: short, no wrapping rows
    body = visit(pg, base + "/", "home")
    assert "最新交易公告" in body and "交易程序" in body and world["announced"].title in body
    height = pg.evaluate("document.documentElement.scrollHeight")
    assert height <= 4 * 844, f"the home page is {height / 844:.1f} phone screens long"
    assert not pg.is_visible("text=农户承包土地经营权：")  # the categories are folded

    # the project list: results first, the filters behind one 筛选 button
    body = visit(pg, base + "/projects/", "projects")
    assert TRADING_TITLE in body
    summary = pg.locator("summary:has-text('筛选')")
    first_card = pg.locator(".project-card").first
    assert summary.is_visible() and not pg.is_visible("#category")
    assert first_card.bounding_box()["y"] < 844 * 1.2, "the first result is not near the top of the page"
    summary.click()
    assert pg.is_visible("#category")
    check_page(pg, "projects-filters-open")
    pg.select_option("#method", label="网络竞价")
    pg.click("button:has-text('按条件查询')")
    pg.wait_for_load_state()
    body = pg.inner_text("main")
    assert TRADING_TITLE in body and "筛选（已选 1 项）" in body
    # a price that is no number: said on the page, beside the field, the other filters kept
    pg.click("summary:has-text('筛选')")
    pg.fill("#price_min", "abc")
    pg.click("button:has-text('按条件查询')")
    pg.wait_for_load_state()
    body = pg.inner_text("main")
    assert "筛选条件填写有误" in body and "最低底价：金额格式不正确" in body and TRADING_TITLE in body
    assert pg.get_attribute("#price_min", "aria-invalid") == "true" and pg.input_value("#price_min") == "abc"
    check_page(pg, "projects-bad-price")
    check_reflow(pg, "projects-bad-price")
    shot(pg, "visitor-projects-bad-price")

    # a project in 交易中: its session, without the bidders
    pg.click(f"text={TRADING_TITLE}")
    pg.wait_for_load_state()
    body = pg.inner_text("main")
    check_page(pg, "project-trading")
    check_reflow(pg, "project-trading")
    shot(pg, "visitor-project-trading")
    assert "网络竞价" in body and "自由报价期" in body and "开始时间" in body and "当前最高价" in body
    assert "161,000.00" in body and "已有 2 次有效报价" in body and "最迟" in body
    for reg in world["regs"].values():
        assert reg.bidder_no not in body
    assert "长安街道新建村六组" in body  # 坐落: the town and the village once each

    # its announcement PDF opens without signing in
    href = pg.get_attribute("a:has-text('下载交易公告')", "href")
    resp = pg.request.get(base + href if href.startswith("/") else href)
    assert resp.status == 200 and resp.headers["content-type"].startswith("application/pdf")
    assert resp.body().startswith(b"%PDF")

    body = visit(pg, base + "/rules", "rules")
    assert "交易规则" in body
    body = visit(pg, base + "/open-data", "open-data")
    assert "开放数据" in body
    # the wide block of the guide scrolls inside its card and is reachable by keyboard
    region = pg.locator(".table-wrap[role=region]").first
    assert region.get_attribute("tabindex") == "0" and region.get_attribute("aria-label")
    body = visit(pg, base + "/register", "register")
    assert "注册" in body
    body = visit(pg, base + "/login", "login")
    assert "注册参与交易" in body
    underline = pg.evaluate("getComputedStyle(document.querySelector(\"main p a[href='/register']\"))"
                            ".textDecorationLine")
    assert "underline" in underline

    # a certificate verified by its number
    body = visit(pg, base + "/verify", "verify")
    assert "鉴证书编号" in body
    pg.fill("#number", "2026-999999")
    pg.click("button:has-text('核验')")
    pg.wait_for_load_state()
    assert "没有找到编号为“2026-999999”的鉴证书" in pg.inner_text("main")
    check_page(pg, "verify-not-found")
    pg.fill("#number", world["cert_no"])
    pg.click("button:has-text('核验')")
    pg.wait_for_url(f"**/verify/{world['short']}")
    body = pg.inner_text("main")
    assert "有效" in body and world["cert_no"] in body
    check_page(pg, "verify-certificate")
    check_reflow(pg, "verify-certificate")
    shot(pg, "visitor-verify-certificate")

    # an error page: its big code readable (contrast)
    pg.goto(base + "/projects/LXNCJY-0000-000000")
    check_page(pg, "error-404")


def test_the_public_pages_on_a_desktop(page, live_server, world):
    base = live_server
    trading = world["trading"]
    for name, url in [("home", "/"), ("projects", "/projects/"), ("projects-bad-price", "/projects/?price_min=abc"),
                      ("project-trading", f"/projects/{trading.project_no}"),
                      ("project-announced", f"/projects/{world['announced'].project_no}"),
                      ("publicity", "/publicity"), ("rules", "/rules"), ("open-data", "/open-data"),
                      ("register", "/register"), ("login", "/login"), ("verify", "/verify"),
                      ("verify-certificate", f"/verify/{world['short']}"), ("error-404", "/no-such-page")]:
        page.goto(base + url)
        check_page(page, f"desktop {name}")
        check_reflow(page, f"desktop {name}")
    shot(page, "visitor-desktop-last")
    page.goto(base + "/")
    shot(page, "visitor-desktop-home")
