"""Issue 17 items 3–6 in a real browser, on a 390×844 phone: the demo village clerk starts a listing from 我的工作台,
meets a bad ID number and a 7-digit phone refused beside the field at that step (what was typed kept), sees which
step of how many is current, uploads the materials with the 材料类型 moving to the next missing one, submits, opens
the 受理回执 (page and PDF) and follows its QR code to the public progress page; a session lost in the middle of the
form keeps the typed text.  axe-core on every page visited; 200 % zoom on the wizard."""
import re
import subprocess

import pytest

from exchange.idcheck import make_resident_id
from tests.browser.a11y import check_page, check_reflow
from tests.browser.conftest import ARTIFACTS, save_step, shot, sign_in
from tests.builders import PDF

pytestmark = pytest.mark.browser

GOOD_ID = make_resident_id("43068219700412361")
BAD_ID = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")
TITLE = "江南村二组 18 亩水田经营权出租"


def _tab_in_view(pg, label: str) -> None:
    box = pg.locator(".listing-steps a", has_text=label).bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, f"tab {label} out of view: {box}"


def test_clerk_journey_on_a_phone(phone, live_server, demo, tmp_path):
    pg, base = phone, live_server
    sign_in(pg, base, "cun_jiangnan_1")
    check_page(pg, "工作台")
    pg.click("a.btn:has-text('新建挂牌项目')")
    pg.wait_for_url("**/listings/new")
    check_page(pg, "新建挂牌项目")

    # a 300-character title: the browser takes 120 and says so beside the field — never a silent cut
    pg.select_option("select[name=category_id]", label="农户承包土地经营权")
    assert pg.get_attribute("input[name=title]", "maxlength") == "120"
    pg.fill("input[name=title]", "江南村二组水田经营权出租" * 25)
    assert len(pg.input_value("input[name=title]")) <= 120
    limit_note = pg.inner_text(".field-limit")
    assert "最多 120 个字" in limit_note and "没有填进去" in limit_note, limit_note
    shot(pg, "clerk-title-limit-phone")
    pg.fill("input[name=title]", TITLE)
    pg.click("button:has-text('建立草稿')")
    pg.wait_for_url("**/edit/basic")

    # 第 1 步
    assert "第 1 步，共 6 步" in pg.inner_text(".step-count")
    check_page(pg, "第 1 步")
    check_reflow(pg, "第 1 步")
    pg.fill("input[name=location]", "江南镇江南村二组")
    pg.fill("input[name=boundaries]", "东至渠道，南至山脚，西至村道，北至河堤")
    pg.fill("input[name=quantity]", "18")
    pg.fill("input[name=current_use]", "水稻种植")
    save_step(pg)
    # 第 2 步
    pg.fill("input[name=right_end_date]", "2038-12-31")
    pg.fill("input[name=term_start]", "2027-01-01")
    pg.fill("input[name=term_end]", "2031-12-31")
    pg.check("input[name=price_mode][value=per_unit_year]")
    pg.fill("input[name=floor_unit_price]", "450")
    pg.fill("input[name=price_basis]", "参照周边近三年流转价格")
    save_step(pg)
    # 第 3 步: a bad ID number and a 7-digit phone are refused here, beside their fields
    pg.wait_for_url("**/edit/transferor")
    pg.select_option("select[name=transferor_kind]", "household")
    pg.fill("input[name=transferor_name]", "农户演示江南")
    pg.fill("input[name=transferor_id_no]", BAD_ID)
    pg.fill("input[name=transferor_mobile]", "1380000")
    pg.fill("input[name=account_name]", "农户演示江南")
    pg.fill("input[name=account_bank]", "临湘农商银行")
    pg.fill("input[name=account_no]", "6210000000000123")
    save_step(pg)
    assert pg.url.endswith("/edit/transferor")
    assert "校验位不正确" in pg.inner_text("#transferor_id_no-error")
    assert "11位数字" in pg.inner_text("#transferor_mobile-error")
    assert pg.input_value("input[name=transferor_name]") == "农户演示江南"  # nothing typed is lost
    assert pg.input_value("input[name=transferor_id_no]") == BAD_ID
    assert pg.input_value("input[name=account_no]") == "6210000000000123"
    assert pg.get_attribute("input[name=transferor_id_no]", "aria-invalid") == "true"
    check_page(pg, "第 3 步（有错误）")
    shot(pg, "clerk-step3-errors-phone")
    pg.fill("input[name=transferor_id_no]", GOOD_ID)
    pg.fill("input[name=transferor_mobile]", "13800000123")
    save_step(pg)
    # 第 4 步: its tab is in view on the phone
    pg.wait_for_url("**/edit/trade")
    assert "第 4 步，共 6 步" in pg.inner_text(".step-count")
    _tab_in_view(pg, "4. 交易方式")
    check_page(pg, "第 4 步")
    check_reflow(pg, "第 4 步")
    shot(pg, "clerk-step4-phone")
    pg.select_option("select[name=trading_method]", "online_bidding")
    pg.fill("input[name=bid_increment]", "200")
    save_step(pg)
    # 第 5 步: materials; the type moves to the next missing one after each upload
    pg.wait_for_url("**/edit/materials")
    _tab_in_view(pg, "5. 材料")
    check_page(pg, "第 5 步")
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(PDF)
    seen = []
    for _ in range(10):
        if "资料已齐全" in pg.inner_text("body"):
            break
        kind = pg.eval_on_selector("select[name=kind]", "s => s.value")
        assert kind not in seen, f"the type went back to {kind} after {seen}"
        seen.append(kind)
        pg.set_input_files("input[name=file]", str(pdf))
        pg.click("button:has-text('上传')")
        pg.wait_for_load_state()
    assert seen[:5] == ["application", "qualification", "ownership", "object_info", "price_basis"], seen
    assert "资料已齐全" in pg.inner_text("body")
    check_page(pg, "材料齐全")
    shot(pg, "clerk-materials-phone")

    # submit: on to the 受理回执
    pg.click("text=预览与提交")
    check_page(pg, "预览与提交")
    pg.click("button:has-text('提交交易站初审')")
    pg.wait_for_url("**/receipt")
    body = pg.inner_text("body")
    assert "已提交交易站初审" in body and "受理回执" in body and TITLE in body
    assert "收到的材料（6 份）" in body and "接下来怎么办、要多久" in body and "交易站初审" in body
    check_page(pg, "受理回执")
    shot(pg, "clerk-receipt-phone")
    intake_no = re.search(r"LXSL-\d{4}-\d{6}", body).group(0)

    # the PDF to print: rendered to PNG for a look
    resp = pg.request.get(base + pg.get_attribute("a:has-text('下载打印')", "href"))
    assert resp.ok and resp.headers["content-type"] == "application/pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    pdf_path = ARTIFACTS / "clerk-receipt.pdf"
    pdf_path.write_bytes(resp.body())
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf_path), str(ARTIFACTS / "clerk-receipt-pdf")],
                   check=True, timeout=60)

    # "scan" the QR code: the image encodes exactly the printed address, which opens the public progress page
    progress_url = pg.inner_text(".receipt-qr a")
    assert f"/projects/progress/{intake_no}/" in progress_url
    import segno
    qr_src = pg.get_attribute(".receipt-qr img", "src")
    assert qr_src == segno.make(progress_url, error="m", micro=False).svg_data_uri(scale=4, border=1, dark="#000")
    visitor = pg.context.browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                             has_touch=True, device_scale_factor=2)
    try:
        v = visitor.new_page()
        v.goto(progress_url)
        vbody = v.inner_text("body")
        assert "办理进度" in vbody and intake_no in vbody and "初审" in vbody
        assert "农户演示江南" not in vbody and GOOD_ID not in vbody and TITLE not in vbody
        check_page(v, "办理进度")
        shot(v, "clerk-progress-public-phone")
    finally:
        visitor.close()


def test_a_lost_session_keeps_what_was_typed(phone, live_server, demo):
    pg, base = phone, live_server
    sign_in(pg, base, "cun_jiangnan_1")
    pg.goto(base + "/listings/new")
    pg.select_option("select[name=category_id]", label="农户承包土地经营权")
    pg.fill("input[name=title]", "江南村三组 9 亩旱地出租")
    pg.click("button:has-text('建立草稿')")
    pg.wait_for_url("**/edit/basic")
    form_url = pg.url
    pg.fill("input[name=location]", "江南镇江南村三组")
    pg.fill("textarea[name=description]", "地势平整，靠近机耕道，灌溉方便。")
    # the session is lost (signed out in another tab, or expired) while the clerk types
    pg.context.clear_cookies()
    save_step(pg)
    pg.wait_for_url("**/login**")
    assert "已填写的内容会自动填回" in pg.inner_text("body")
    check_page(pg, "重新登录")
    pg.fill("input[name=username]", "cun_jiangnan_1")
    from exchange.demo import DEMO_PASSWORD
    pg.fill("input[name=password]", DEMO_PASSWORD)
    pg.click("form:not([action='/logout']) button[type=submit]")
    pg.wait_for_url(form_url)
    assert pg.input_value("textarea[name=description]") == "地势平整，靠近机耕道，灌溉方便。"
    assert pg.input_value("input[name=location]") == "江南镇江南村三组"
    assert "已填回您刚才填写、还没有保存的内容" in pg.inner_text("body")
    check_page(pg, "填回的表单")
    shot(pg, "clerk-session-restored-phone")
    save_step(pg)
    pg.wait_for_url("**/edit/term")
    pg.goto(form_url)  # saved: nothing is filled in again any more
    assert "已填回" not in pg.inner_text("body")
    assert pg.input_value("textarea[name=description]") == "地势平整，靠近机耕道，灌溉方便。"
