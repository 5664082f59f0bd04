"""Issue 3 in a real browser: a village clerk (on a phone) drafts and submits a listing with materials,
the town station passes it, the center approves it, and the public sees it with its 公告期."""
import pytest

from tests.browser.a11y import check_page
from tests.browser.conftest import save_step, shot, sign_in, sign_out, upload_materials
from tests.builders import PDF

pytestmark = pytest.mark.browser

SELLER_MATERIALS = ["农村产权转出申请书", "转让方资格证明（身份证、营业执照或登记证书）", "产权权属证明（承包经营权证、林权证等）",
                    "交易标的基本情况材料", "底价及作价依据",
                    "向发包方备案的回执或证明"]  # a household renting out its 承包地 (第十二条(四))


def test_point_station_center_public(browser, phone, page, live_server, demo, tmp_path):
    base = live_server
    # --- the village clerk, on a phone ---
    sign_in(phone, base, "cun_jiangnan_2")
    check_page(phone, "工作台（交易点）")
    phone.goto(base + "/listings/new")
    check_page(phone, "新建挂牌项目")
    phone.select_option("select[name=category_id]", label="农户承包土地经营权")
    phone.fill("input[name=title]", "团湖村三组 32 亩水田经营权出租")
    phone.click("button:has-text('建立草稿')")
    phone.wait_for_url("**/edit/basic")
    check_page(phone, "第 1 步 基本情况")
    phone.fill("input[name=location]", "江南镇团湖村三组")
    phone.fill("input[name=boundaries]", "东至渠道，南至山脚，西至村道，北至河堤")
    phone.fill("input[name=quantity]", "32")
    phone.fill("input[name=current_use]", "水稻种植")
    save_step(phone)
    check_page(phone, "第 2 步 期限与价格")
    phone.fill("input[name=right_cert_no]", "430682-演示-0001")
    phone.fill("input[name=right_end_date]", "2038-12-31")
    phone.fill("input[name=term_start]", "2027-01-01")
    phone.fill("input[name=term_end]", "2036-12-31")
    phone.check("input[name=price_mode][value=per_unit_year]")
    phone.fill("input[name=floor_unit_price]", "500")
    phone.fill("input[name=price_basis]", "参照周边近三年流转价格")
    save_step(phone)
    check_page(phone, "第 3 步 转让方")
    phone.select_option("select[name=transferor_kind]", "household")
    phone.fill("input[name=transferor_name]", "农户演示")
    from exchange.idcheck import make_resident_id
    phone.fill("input[name=transferor_id_no]", make_resident_id("43068219650315452"))
    phone.fill("input[name=transferor_mobile]", "13800000004")
    phone.fill("input[name=account_name]", "农户演示")
    phone.fill("input[name=account_bank]", "临湘农商银行")
    phone.fill("input[name=account_no]", "6210000000000001")
    save_step(phone)
    check_page(phone, "第 4 步 交易方式")
    phone.select_option("select[name=trading_method]", "online_bidding")
    phone.fill("input[name=bid_increment]", "500")
    save_step(phone)
    phone.wait_for_url("**/edit/materials")
    check_page(phone, "第 5 步 材料")
    assert "160,000.00" in phone.inner_text("body") or "缺" in phone.inner_text("body")
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(PDF)
    upload_materials(phone, SELLER_MATERIALS, pdf)
    assert "资料已齐全" in phone.inner_text("body")
    check_page(phone, "材料齐全")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"materials page is {width}px wide on a phone"
    shot(phone, "listing-materials-phone")
    phone.click("text=预览与提交")
    check_page(phone, "预览与提交")
    phone.click("button:has-text('提交交易站初审')")
    assert "已提交交易站初审" in phone.inner_text("body")
    check_page(phone, "受理回执")
    shot(phone, "listing-submitted-phone")

    # --- the town station ---
    sign_in(page, base, "zhan_jiangnan")
    check_page(page, "工作台（交易站）")
    page.click("a:has-text('待初审')")
    check_page(page, "待初审列表")
    page.click("text=团湖村三组 32 亩水田经营权出租")
    check_page(page, "交易站初审")
    page.fill("textarea[name=reason]", "材料齐全，情况属实")
    page.click("button:has-text('初审通过')")
    assert "已报送交易中心" in page.inner_text("body")
    check_page(page, "初审通过后")
    sign_out(page)

    # --- the center ---
    sign_in(page, base, "shenhe")
    check_page(page, "工作台（审核员）")
    page.click("a:has-text('待审核')")
    check_page(page, "待审核列表")
    page.click("text=团湖村三组 32 亩水田经营权出租")
    check_page(page, "中心审核")
    for name in ["ownership", "qualification", "planning", "decision_ok"]:
        page.check(f"input[name={name}]")
    page.check("input[name=decision][value=approve]")
    shot(page, "listing-center-review")
    page.click("button:has-text('提交审核结论')")
    body = page.inner_text("body")
    assert "已发布公告，项目编号 LXNCJY-" in body
    check_page(page, "审核通过后")
    sign_out(page)

    # --- the public ---
    page.goto(base + "/projects/")
    check_page(page, "项目列表")
    page.click("text=团湖村三组 32 亩水田经营权出租")
    check_page(page, "项目详情")
    body = page.inner_text("body")
    assert "公告期" in body and "32 亩" in body.replace("32.00", "32") and "160,000.00" in body
    assert "农户演示" not in body
    shot(page, "listing-public")


def test_direct_application_with_station_opinion_and_return(browser, page, live_server, demo, tmp_path):
    """A household applies straight to the center (第十一条); the center asks the town station, then
    returns the application with a reason, which the applicant sees."""
    base = live_server
    sign_in(page, base, "seller_household")
    check_page(page, "工作台（转让方）")
    page.click("text=我的转出申请")
    check_page(page, "我的转出申请")
    page.click("text=新建挂牌项目")
    check_page(page, "新建挂牌项目")
    page.select_option("select[name=category_id]", label="农户承包土地经营权")
    page.select_option("select[name=point_id]", label="江南镇 · 团湖村")
    page.fill("input[name=title]", "团湖村四组 6 亩菜地经营权出租")
    page.click("button:has-text('建立草稿')")
    page.wait_for_url("**/edit/basic")
    check_page(page, "第 1 步 基本情况")
    page.fill("input[name=location]", "江南镇团湖村四组")
    page.fill("input[name=quantity]", "6")
    page.fill("input[name=current_use]", "蔬菜种植")
    save_step(page)
    check_page(page, "第 2 步 期限与价格")
    page.fill("input[name=term_start]", "2027-01-01")
    page.fill("input[name=term_end]", "2029-12-31")
    page.fill("input[name=right_end_date]", "2038-12-31")
    page.fill("input[name=floor_price]", "7200")
    page.fill("input[name=price_basis]", "周边行情")
    save_step(page)
    check_page(page, "第 3 步 转让方")
    # the transferor's own identity was filled from the registration
    assert page.input_value("input[name=transferor_name]") == "农户演示"
    page.fill("input[name=account_name]", "农户演示")
    page.fill("input[name=account_no]", "6210000000000099")
    save_step(page)
    check_page(page, "第 4 步 交易方式")
    page.fill("input[name=bid_increment]", "100")
    save_step(page)
    check_page(page, "第 5 步 材料")
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(PDF)
    upload_materials(page, SELLER_MATERIALS, pdf)
    check_page(page, "材料齐全")
    page.click("text=预览与提交")
    check_page(page, "预览与提交")
    body = page.inner_text("body")
    assert "还需补正" not in body, body[:2000]
    page.click("button:has-text('提交交易中心审核')")
    assert "已提交交易中心审核" in page.inner_text("body")
    check_page(page, "受理回执")
    sign_out(page)

    sign_in(page, base, "shenhe")
    page.click("a:has-text('待审核')")
    check_page(page, "待审核列表")
    page.click("text=团湖村四组 6 亩菜地经营权出租")
    check_page(page, "中心审核（需征求意见）")
    assert "会同江南镇农村产权交易站" in page.inner_text("body")  # 第十四条: not approvable without the station
    page.fill("form[action$='/opinion/request'] textarea[name=reason]", "请核实该地块是否已被他人承包")
    page.click("button:has-text('征求江南镇交易站意见')")
    assert "已征求江南镇农村产权交易站意见" in page.inner_text("body")
    check_page(page, "已征求意见")
    sign_out(page)

    sign_in(page, base, "zhan_jiangnan")
    page.goto(base + "/listings/?state=center_review")
    check_page(page, "中心审核中列表")
    page.click("text=团湖村四组 6 亩菜地经营权出租")
    check_page(page, "交易站出具意见")
    page.check("form[action$='/opinion/give'] input[name=verdict][value=disagree]")
    page.fill("form[action$='/opinion/give'] textarea[name=reasons]", "经核实，该地块已于 2025 年流转给他人，尚未到期")
    page.click("button:has-text('送出本站意见')")
    assert "意见已送交易中心" in page.inner_text("body")
    check_page(page, "意见已送出")
    sign_out(page)

    sign_in(page, base, "shenhe")
    page.goto(base + "/listings/?state=center_review")
    page.click("text=团湖村四组 6 亩菜地经营权出租")
    check_page(page, "中心审核（已有意见）")
    assert "经核实，该地块已于 2025 年流转给他人" in page.inner_text("body")
    page.check("input[name=decision][value=return]")
    page.fill("form[action$='/center'] textarea[name=reason]", "该地块尚在他人流转期内，请核实后再申请")
    page.click("button:has-text('提交审核结论')")
    assert "已退回修改" in page.inner_text("body")
    check_page(page, "已退回")
    sign_out(page)

    sign_in(page, base, "seller_household")
    check_page(page, "工作台（被退回）")
    page.click("a:has-text('被退回待修改')")
    check_page(page, "被退回待修改列表")
    page.click("text=团湖村四组 6 亩菜地经营权出租")
    check_page(page, "被退回的申请")
    assert "退回理由：该地块尚在他人流转期内" in page.inner_text("body")
    shot(page, "listing-returned")
