"""违约 in a real browser: the winner did not sign in 5 工作日; the center declares the default from the listing page
(the transferor signed: the buyer is the party in default, the deposit is forfeited), offers the deal to the next-highest bidder, who sees the offer on a phone, reads the price
in figures and 大写 and accepts with the password; the new deal is in 交易公示."""
import pytest
from sqlalchemy import select

from exchange.extensions import db as _db
from exchange.trading.models import Deal
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("uploads")]


def test_default_then_the_runner_up_accepts(browser, page, phone, live_server, buyers, overdue_contract, db):
    deal, regs = overdue_contract
    base = live_server
    sign_in(page, base, "t_reviewer", PASSWORD)
    check_page(page, "工作台（审核员）")
    page.goto(base + f"/listings/{deal.listing_id}")
    check_page(page, "项目（逾期未签约）")
    page.click("text=违约处理（第二十二条）")
    check_page(page, "违约处理")
    page.fill("textarea[name=reason]", "买受人逾期未签订合同，经电话和书面催告仍未签订")
    page.once("dialog", lambda d: d.accept())
    assert "未签署的一方" in page.inner_text("main")
    page.click("button:has-text('认定受让方（买受人）违约')")
    page.wait_for_selector("text=已认定受让方（买受人）违约")
    check_page(page, "已认定受让方违约")
    assert "16,000.00" in page.inner_text("main")  # the forfeited deposit
    page.click("button:has-text('发出要约')")
    page.wait_for_selector("text=已向次高报价人发出要约")
    check_page(page, "已发出要约")
    shot(page, "default-center")

    sign_in(phone, base, "t_coop", PASSWORD)
    phone.goto(base + "/work")
    check_page(phone, "工作台（次高报价人）")
    phone.click("text=待答复的成交要约")
    check_page(phone, "待答复的成交要约")
    phone.click("main a[href^='/offers/']")
    check_page(phone, "成交要约")
    body = phone.inner_text("main")
    assert "160,000.00" in body and "壹拾陆万元整" in body
    phone.check("input[name=decision][value=accept]")
    phone.fill("input[name=password]", "wrong-password")
    phone.click("button:has-text('提交答复')")
    phone.wait_for_selector("text=密码不正确")
    check_page(phone, "成交要约（密码不正确）")
    phone.check("input[name=decision][value=accept]")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button:has-text('提交答复')")
    phone.wait_for_selector("text=您已接受要约")
    check_page(phone, "已接受要约")
    shot(phone, "default-offer-phone")
    _db.session.expire_all()
    new = _db.session.scalar(select(Deal).where(Deal.listing_id == deal.listing_id, Deal.state == "publicity"))
    assert new is not None and new.registration_id == regs["buyer_coop"].id and str(new.price) == "160000.00"


@pytest.mark.article("第二十二条")
def test_the_transferor_does_not_sign_and_the_buyer_gets_the_deposit_back(browser, page, phone, live_server, buyers,
                                                                          online_deal, db):
    """The buyer signs on a phone; the transferor never does; the center declares the transferor's default; the
    buyer's deposit goes back in full and the buyer reads why, on the phone."""
    from datetime import timedelta

    from exchange import clock
    from exchange.ledger.models import Refund
    from tests.builders import end_publicity
    deal, regs = online_deal
    contract = end_publicity(deal)
    base = live_server
    sign_in(phone, base, "t_buyer", PASSWORD)
    check_page(phone, "工作台（受让方，手机）")
    phone.goto(base + f"/contracts/{contract.id}")
    check_page(phone, "合同")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button:has-text('签署合同')")
    phone.wait_for_selector("text=等待对方签署")
    check_page(phone, "合同（等待对方签署）")
    clock.freeze(contract.due_at + timedelta(hours=2))

    sign_in(page, base, "t_reviewer", PASSWORD)
    check_page(page, "工作台（审核员）")
    page.goto(base + f"/listings/{deal.listing_id}/default")
    check_page(page, "违约处理（转让方未签）")
    main = page.inner_text("main")
    assert "未签署的一方" in main and "转让方" in main and "全额退还" in main
    page.fill("textarea[name=reason]", "转让方逾期未签署合同，经村干部两次上门催告仍未签署")
    page.once("dialog", lambda d: d.accept())
    page.click("button:has-text('认定转让方违约')")
    page.wait_for_selector("text=已认定转让方违约")
    check_page(page, "已认定转让方违约")
    shot(page, "default-transferor-center")
    _db.session.expire_all()
    refund = _db.session.scalar(select(Refund).where(Refund.registration_id == deal.registration_id))
    assert refund is not None and refund.reason == "seller_default" and str(refund.amount) == "16000.00"

    sign_in(phone, base, "t_buyer", PASSWORD)  # a week later: the phone's session has expired
    phone.goto(base + "/notifications/")
    check_page(phone, "消息通知")
    body = phone.inner_text("main")
    assert "转让方" in body and "违约" in body and "全额退还" in body and "不予退还" not in body
    shot(phone, "default-transferor-buyer-phone")
