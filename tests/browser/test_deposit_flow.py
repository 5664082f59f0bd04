"""Issue 4's whole path in a real browser: three buyers apply and are qualified; one pays through the
sandbox bank, one by a bank transfer that finance imports from the statement, the third misses the
deadline and the sweeper marks it 视为放弃; the books check out."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.listings.models import Listing
from exchange.registrations.models import Registration
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in, sign_out, upload_materials
from tests.builders import PDF

pytestmark = pytest.mark.browser
TITLE = "团湖村三组 32 亩水田经营权出租"
MATERIALS = ["农村产权受让申请书", "意向受让方声明与保证", "资信证明（资产规模、信用评价等）", "符合受让条件的资质证明"]


def _apply(page, base, username, pdf):
    sign_in(page, base, username)
    check_page(page, f"工作台（{username}）")
    page.goto(base + "/projects/")
    check_page(page, "项目列表")
    page.click(f"text={TITLE}")
    check_page(page, "项目详情")
    page.click("text=报名参与")
    check_page(page, "报名参与")
    page.check("input[name=accept_declaration]")
    page.click("button:has-text('提交报名')")
    assert "报名已提交" in page.inner_text("body")
    check_page(page, "报名已提交")
    upload_materials(page, MATERIALS, pdf)
    check_page(page, "报名材料已上传")
    sign_out(page)


def test_three_buyers_sandbox_statement_and_abandoned(app, browser, page, phone, live_server, demo, db,
                                                      tmp_path):
    base = live_server
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(PDF)
    for username in ("buyer_person", "buyer_company", "buyer_coop"):
        _apply(page, base, username, pdf)

    # the center reviewer qualifies all three
    sign_in(page, base, "shenhe")
    for _ in range(3):
        page.goto(base + "/registrations/?state=applied")
        check_page(page, "待资格审核的报名")
        page.click(f"text={TITLE} >> nth=0")
        check_page(page, "资格审核")
        page.click("button:has-text('确认受让资格')")
        assert "已确认资格，缴款码 LX" in page.inner_text("body")
        check_page(page, "已确认资格")
    sign_out(page)
    listing = db.session.scalar(select(Listing).where(Listing.title == TITLE))
    regs = {r.buyer.username: r for r in db.session.scalars(select(Registration)
                                                              .where(Registration.listing_id == listing.id))}
    assert {r.state for r in regs.values()} == {"qualified"}

    # buyer_person pays online, on a phone, through the sandbox bank
    sign_in(phone, base, "buyer_person")
    check_page(phone, "工作台（受让方，手机）")
    phone.goto(base + f"/registrations/{regs['buyer_person'].id}")
    check_page(phone, "报名详情（待交保证金）")
    phone.click("button:has-text('网上支付')")
    phone.wait_for_url("**/payments/sandbox/**")
    assert "模拟网银" in phone.inner_text("body")
    check_page(phone, "模拟网银")
    shot(phone, "deposit-sandbox-bank")
    phone.click("button:has-text('确认付款')")
    body = phone.inner_text("body")
    assert "保证金已入账" in body and "您的竞买号" in body
    check_page(phone, "网上支付后")
    shot(phone, "deposit-paid-online")

    # buyer_company transferred at the bank; finance imports the statement and books the matched line
    company = regs["buyer_company"]
    when = clock.to_local(clock.now() - timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S")
    csv = tmp_path / "流水.csv"
    csv.write_text("交易流水号,交易时间,借方金额,贷方金额,对方户名,对方账号,附言\n"
                   f"NH20261124001,{when},,{company.deposit_amount},演示农业发展有限公司,6228480000000001,"
                   f"保证金{company.payment_ref}\n"
                   f"NH20261124002,{when},,500.00,无名氏,6228480000000002,转账\n", encoding="gbk")
    sign_in(page, base, "caiwu1")
    page.click("nav summary:has-text('资金')")  # the staff menu's groups (issue 17)
    check_page(page, "工作台（财务，资金菜单展开）")
    page.click("nav >> text=银行流水对账")
    check_page(page, "银行流水对账")
    page.set_input_files("input[name=file]", str(csv))
    page.click("button:has-text('导入并比对')")
    body = page.inner_text("body")
    assert "已导入 2 笔流水" in body and "无法识别缴款码" in body
    check_page(page, "流水比对结果")
    page.click("button:has-text('确认入账全部 1 笔')")
    assert "已入账 1 笔" in page.inner_text("body")
    check_page(page, "流水已入账")
    # the unknown line is held and its return opened, never guessed into a deposit
    page.locator("section.card", has_text="NH20261124002").locator("button:has-text('挂账并退回付款人')").click()
    assert "挂账并退回付款人" in page.inner_text("body")
    check_page(page, "挂账并退回")
    shot(page, "deposit-statement")
    page.goto(base + "/finance/refunds")
    check_page(page, "退款")
    assert "无名氏" in page.inner_text("body")
    sign_out(page)

    # the deadline passes; the sweeper marks the unpaid buyer 视为放弃
    clock.freeze(listing.deposit_deadline_at + timedelta(seconds=1))
    result = app.test_cli_runner().invoke(args=["sweep"])
    # buyer_coop here, and the demo's buyer_person who never paid for the forest listing (same deadline)
    assert "deposits.abandon_unpaid: 2" in result.output, result.output
    sign_in(page, base, "buyer_coop")
    page.goto(base + "/registrations/")
    check_page(page, "我的报名（视为放弃）")
    assert "逾期未交保证金，视为放弃" in page.inner_text("body")
    sign_out(page)
    db.session.expire_all()
    states = {r.buyer.username: r.state for r in db.session.scalars(select(Registration)
                                                                     .where(Registration.listing_id == listing.id))}
    assert states == {"buyer_person": "paid", "buyer_company": "paid", "buyer_coop": "abandoned"}
    check = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert check.exit_code == 0, check.output
