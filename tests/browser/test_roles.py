"""Each role signs in through a real browser and sees its own work page."""
import pytest

from exchange.demo import DEMO_PASSWORD
from tests.browser.a11y import check_page
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser

ROLES = [
    ("admin", "中心管理员", ["组织机构", "用户管理", "工作日历", "审计日志"]),
    ("shenhe", "中心审核员", ["交易中心审核"]),
    ("jiaoyi", "中心交易员", ["组织交易"]),
    ("caiwu1", "中心财务", ["交易资金结算"]),
    ("jianguan", "监管人员", ["审计日志", "监督管理"]),
    ("zhan_changan", "交易站初审员", ["长安街道农村产权交易站", "本镇交易站"]),
    ("cun_changan_1", "交易点信息员", ["本村交易点"]),
    ("buyer_person", "交易主体", ["我的交易"]),
]


@pytest.fixture
def seeded(app, appctx):
    """The demo data (``flask seed-demo``)."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def sign_in(pg, base, username, password=DEMO_PASSWORD):
    pg.goto(base + "/login")
    check_page(pg, "登录")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", password)
    pg.click("button[type=submit]")


@pytest.mark.parametrize("username,role_label,expected", ROLES)
def test_role_signs_in_and_sees_its_work_page(page, live_server, seeded, username, role_label, expected):
    sign_in(page, live_server, username)
    page.wait_for_url("**/work")
    check_page(page, f"工作台（{role_label}）")
    body = page.inner_text("body")
    assert "我的工作台" in body and role_label in body
    for text in expected:
        assert text in body, f"{username}: {text!r} missing"
    shot(page, f"work-{username}")
    # sign out through the header's form
    page.click("form[action='/logout'] button")
    page.wait_for_url(live_server + "/")
    check_page(page, "退出后的首页")
    assert "您已安全退出" in page.inner_text("body")


def test_clerk_on_a_phone(phone, live_server, seeded):
    phone.goto(live_server + "/")
    check_page(phone, "首页")
    shot(phone, "home-phone")
    sign_in(phone, live_server, "cun_jiangnan_2")
    phone.wait_for_url("**/work")
    check_page(phone, "工作台（交易点）")
    assert "交易点信息员" in phone.inner_text("body")
    # nothing wider than the screen
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    shot(phone, "work-clerk-phone")


def test_wrong_password_message_in_browser(page, live_server, seeded):
    sign_in(page, live_server, "admin", "not-the-password")
    check_page(page, "登录（密码错误）")
    assert "账号或密码不正确" in page.inner_text("body")


def test_public_registration_in_browser(page, live_server, seeded):
    from exchange.idcheck import make_resident_id
    page.goto(live_server + "/register")
    check_page(page, "注册")
    page.check("input[name=kind][value=person]")
    page.fill("input[name=name]", "浏览器注册人")
    page.fill("input[name=id_number]", make_resident_id("43068219920202222"))
    page.fill("input[name=mobile]", "13787654321")
    page.fill("input[name=username]", "browser_person")
    page.fill("input[name=password]", "Browser2026ok")
    page.fill("input[name=confirm]", "Browser2026ok")
    page.check("input[name=foreign_kind][value=domestic]")
    page.check("input[name=agree]")
    page.click("form[data-register-form] button[type=submit]")
    page.wait_for_url("**/work")
    check_page(page, "注册成功后的工作台")
    assert "注册成功" in page.inner_text("body")
