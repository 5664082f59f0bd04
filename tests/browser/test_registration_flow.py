"""A buyer applies to an announced demo listing in the browser, the center qualifies the buyer, finance
confirms the deposit's arrival, and the buyer sees the 竞买号."""
import pytest

from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in, sign_out, upload_materials
from tests.builders import PDF

pytestmark = pytest.mark.browser


def test_apply_qualify_confirm(browser, page, live_server, demo, tmp_path):
    base = live_server
    sign_in(page, base, "buyer_company")
    check_page(page, "工作台（受让方）")
    page.goto(base + "/projects/")
    check_page(page, "项目列表")
    page.click("text=团湖村三组 32 亩水田经营权出租")
    check_page(page, "项目详情")
    page.click("text=报名参与")
    check_page(page, "报名参与")
    page.check("input[name=accept_declaration]")
    page.click("button:has-text('提交报名')")
    assert "报名已提交" in page.inner_text("body")
    check_page(page, "报名已提交")
    pdf = tmp_path / "受让材料.pdf"
    pdf.write_bytes(PDF)
    upload_materials(page, ["农村产权受让申请书", "意向受让方声明与保证", "资信证明（资产规模、信用评价等）",
                            "符合受让条件的资质证明"], pdf)
    check_page(page, "报名材料已上传")
    shot(page, "registration-buyer")
    sign_out(page)

    sign_in(page, base, "shenhe")
    check_page(page, "工作台（审核员）")
    page.click("a:has-text('待资格审核的报名')")
    check_page(page, "待资格审核的报名")
    page.click("text=团湖村三组 32 亩水田经营权出租")
    check_page(page, "资格审核")
    body = page.inner_text("body")
    assert "工商资本租赁农地" in body  # an enterprise renting farmland is flagged for the reviewer
    page.fill("textarea[name=note]", "材料齐全，已核实经营能力")
    page.click("button:has-text('确认受让资格')")
    assert "已确认资格，缴款码 LX" in page.inner_text("body")
    check_page(page, "已确认资格")
    sign_out(page)

    sign_in(page, base, "caiwu1")
    check_page(page, "工作台（财务）")
    page.click("a:has-text('待确认到账的保证金')")
    check_page(page, "待确认到账的保证金")
    page.click("text=团湖村三组 32 亩水田经营权出租")
    check_page(page, "确认保证金到账")
    amount = page.inner_text(".card:has(h2:has-text('确认保证金到账')) p.muted")
    due = amount.split("应交 ")[1].split(" 元")[0].replace(",", "")
    page.fill("input[name=amount]", "1.00")
    page.fill("input[name=source_key]", "HX2026112300017")
    page.set_input_files("input[name=receipt]", str(pdf))
    page.click("button:has-text('确认到账')")
    assert "不符" in page.inner_text("body")
    check_page(page, "到账金额不符")
    page.fill("input[name=amount]", due)
    page.fill("input[name=source_key]", "HX2026112300017")
    page.set_input_files("input[name=receipt]", str(pdf))
    page.click("button:has-text('确认到账')")
    assert "保证金已入账，系统已把竞买号通知报名人" in page.inner_text("body")
    check_page(page, "保证金已入账")
    sign_out(page)

    sign_in(page, base, "buyer_company")
    page.click("text=我的报名")
    check_page(page, "我的报名")
    page.click("text=团湖村三组 32 亩水田经营权出租")
    check_page(page, "报名详情（已交保证金）")
    assert "您的竞买号" in page.inner_text("body")
    shot(page, "registration-paid")
