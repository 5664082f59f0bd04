"""A 综合评分法 project's panel in a real browser (issue 18): the trading officer draws a 3-member panel from the
专家库 and prints the slips; each expert opens the slip's link on a phone (390×844), gives the password, scores every
valid bid on every criterion (a score above the criterion's maximum said beside its box), and signs; the officer
confirms the evaluation and the ranking shows the panel's scores.  Every page passes the accessibility check."""
import re

import pytest

from exchange.procurement import services as psvc
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in
from tests.factories import PASSWORD
from tests.procurement_builders import opened_scored  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("frozen", "uploads", "bid_vault")]

SLIP = re.compile(r"/panel/([A-Za-z0-9_-]+)")


def test_a_three_member_panel_scores_on_their_phones(page, browser, live_server, users, orgs, db):
    base = live_server
    listing = opened_scored(users, orgs, db)
    db.session.commit()
    sign_in(page, base, "t_trader", PASSWORD)
    page.goto(f"{base}/procurement/{listing.id}/panel")
    check_page(page, "评标委员会（未抽取）")
    page.click("button:has-text('抽取评标委员会')")
    page.wait_for_selector("text=只显示这一次")
    check_page(page, "评委评分链接和密码")
    shot(page, "procurement-slips")
    slips = []
    for card in page.locator(".slip").all():
        url = card.locator(".slip-url").inner_text().strip()
        password = card.locator(".slip-password").inner_text().strip()
        slips.append((url, password))
    assert len(slips) == 3

    marks = {"buyer_coop": ("34", "24"), "buyer_org": ("30", "20"), "buyer_3": ("20", "15")}
    for i, (url, password) in enumerate(slips):
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                      has_touch=True, device_scale_factor=2)
        phone = context.new_page()
        phone.set_default_timeout(15000)
        phone.goto(base + "/panel/" + SLIP.search(url).group(1))  # the slip names the public address
        check_page(phone, "评分表（输入密码）")
        phone.fill("input[name=password]", "WRONG123")
        phone.click("button:has-text('进入评分表')")
        phone.wait_for_selector("text=还可以再试 4 次")
        phone.fill("input[name=password]", password.lower())
        phone.click("button:has-text('进入评分表')")
        phone.wait_for_selector("text=价格分由系统按公式计算")
        check_page(phone, "评分表")
        for k, (c1, c2) in marks.items():
            bid = next(b for b in psvc.opening_record(listing) if b.supplier_id == users[k].id)
            phone.fill(f"#score-{bid.id}-c1", "36" if (i == 0 and k == "buyer_org") else c1)
            phone.fill(f"#score-{bid.id}-c2", c2)
        phone.click("button:has-text('保存，稍后继续')")
        if i == 0:
            phone.wait_for_selector("text=0 至 35 分")
            check_page(phone, "评分表（分数超过满分）")
            bid = next(b for b in psvc.opening_record(listing) if b.supplier_id == users["buyer_org"].id)
            phone.fill(f"#score-{bid.id}-c1", "30")
            phone.click("button:has-text('保存，稍后继续')")
        phone.wait_for_selector("text=已全部打分")
        phone.fill("input[name=password]", password)
        phone.click("button:has-text('签署提交评分表')")
        phone.wait_for_selector("text=不能再修改")
        check_page(phone, "评分表（已签署）")
        if i == 0:
            shot(phone, "procurement-sheet-signed")
        context.close()

    page.goto(f"{base}/procurement/{listing.id}/panel")
    assert page.locator("text=已签署").count() == 3
    page.goto(f"{base}/procurement/{listing.id}/evaluation")
    preview = page.locator("table").last.inner_text()  # the ranking before it is confirmed: with the panel's scores
    assert preview.index(users["buyer_coop"].display_name) < preview.index(users["buyer_org"].display_name) \
        < preview.index(users["buyer_3"].display_name) and "94.92" in preview
    page.once("dialog", lambda d: d.accept())  # "确认评标结果吗？确认后排名不能再改。"
    page.click("button:has-text('确认评标结果')")
    page.wait_for_selector(f"text=评标完成：第一中标候选人 {users['buyer_coop'].display_name}")
    check_page(page, "评标结果")
    shot(page, "procurement-evaluated")
