"""The 专家库 in a real browser (issue 18): the reviewer opens it from the 系统 menu, adds an expert (a mistyped mobile
shown beside its field first), ties them to a village chosen under its town and to a company found by its USCC;
every page passes the accessibility check."""
import pytest

from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_reviewer_adds_an_expert_and_their_ties(page, live_server, users, orgs, db):
    base, company = live_server, users["buyer_org"].party
    sign_in(page, base, "t_reviewer", PASSWORD)
    page.locator(".site-nav summary:has-text('系统')").click()
    page.click(".site-nav a:text-is('专家库')")
    page.wait_for_url("**/admin/experts")
    check_page(page, "专家库（空）")

    page.click("text=新增专家")
    page.fill("input[name=name]", "王建国")
    page.fill("input[name=mobile]", "1380000111")
    page.fill("input[name=employer]", "临湘市水利局")
    page.check("label:has-text('道路与水利工程') input")
    page.click("button:has-text('保存')")
    assert "手机号码应为11位数字" in page.inner_text("#mobile-error")
    check_page(page, "新增专家（手机号码有误）")
    page.fill("input[name=mobile]", "13800001111")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=已将“王建国”加入专家库")
    check_page(page, "专家详情")

    page.select_option("select[name=org_unit_id]", label="团湖村")
    page.fill("input[name=reason]", "户籍在该村")
    page.click("button:has-text('登记利害关系')")
    page.wait_for_selector("text=该村的项目抽取评标专家时回避")
    page.fill("input[aria-label=查找交易主体]", company.uscc)
    page.click("button:has-text('查找交易主体')")
    page.fill(f"#reason-{company.id}", "在该公司任技术负责人")
    page.click(f"form:has(#reason-{company.id}) button")
    page.wait_for_selector("text=其参与投标的项目抽取评标专家时回避")
    check_page(page, "专家详情（已登记回避关系）")
    body = page.inner_text("main")
    assert "团湖村" in body and company.name in body
    shot(page, "expert-pool-detail")
    page.goto(base + "/admin/experts")
    check_page(page, "专家库")
