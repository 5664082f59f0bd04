"""Issue 17 items 1, 2 and 15 in the browser: the center reviewer (desktop 1366×768) opens an application, opens each
material, sees the buyer's identity and the system's checks, and qualifies; finance (desktop) sees the payment facts
and not the buyer's instructions; the buyer on a phone (390×844) sees the center's account and the 缴款码."""
import pytest
from sqlalchemy import select

from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.registrations import services as rsvc
from exchange.registrations.models import Registration
from exchange.accounts.models import User
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in, sign_out

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
# a 2×2 PNG (a phone photo of a paper, as buyers send them)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00\xfd\xd4\x9as"
       b"\x00\x00\x00\x16IDATx\x9cc\xf8\xcf\xc0\xf0\x9f\x81\xe1?\x03\x03\x03\x00\x1c\xf0\x04\xfc\xf2\x8b\xd5\xb6"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def _an_application() -> Registration:
    """An application waiting for the reviewer: the demo's own, or buyer_company's on an announced listing."""
    reg = db.session.scalar(select(Registration).where(Registration.state == "applied").order_by(Registration.id))
    if reg is None:
        buyer = db.session.scalar(select(User).where(User.username == "buyer_company"))
        taken = set(db.session.scalars(select(Registration.listing_id).where(Registration.buyer_id == buyer.id)))
        listing = next(x for x in db.session.scalars(select(Listing).where(Listing.state == "announced")
                                                     .order_by(Listing.id)) if x.id not in taken)
        reg = rsvc.apply(buyer, listing, accept_declaration=True)
        for kind in rsvc.required_materials(reg):
            rsvc.add_material(buyer, reg, kind, b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n"
                              b"%%EOF\n", f"{rsvc.BUYER_MATERIALS[kind]}.pdf")
    rsvc.add_material(reg.buyer, reg, "other", PNG, "营业执照照片.png")
    db.session.commit()
    return reg


def test_reviewer_finance_and_buyer(browser, live_server, demo):
    base = live_server
    reg = _an_application()
    reg_id, title, buyer = reg.id, reg.listing.title, reg.buyer
    party = buyer.party
    desk = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    pg = desk.new_page()
    pg.set_default_timeout(15000)

    # --- the reviewer: the queue, the application, every paper, the identity and checks, then 资格确认
    sign_in(pg, base, "shenhe")
    pg.goto(base + "/registrations/?state=applied")
    check_page(pg, "reviewer queue")
    pg.click(f"a[href='/registrations/{reg_id}']")
    pg.wait_for_url(f"**/registrations/{reg_id}")
    body = pg.inner_text("body")
    ident = party.id_number or party.uscc
    assert "报名人身份" in body and ident in body and party.mobile in body and "系统核查" in body
    if party.kind == "organisation":
        assert "统一社会信用代码" in body and (party.legal_rep or "") in body
        assert "代码格式和校验位正确" in body
    assert "同一手机号码" in body and "外资企业或境外投资者" in body
    check_page(pg, "reviewer: application")
    shot(pg, "reviewer-application")
    links = pg.eval_on_selector_all("a[data-material-open]", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) == len(reg.materials) >= 5
    for href in links:
        resp = pg.request.get(base + href)  # a PDF opened in headless Chromium is a download: check what it is sent as
        assert resp.status == 200, href
        assert resp.headers["content-disposition"].startswith("inline;")
        assert resp.headers["content-type"] in ("application/pdf", "image/png")
        assert resp.headers["x-content-type-options"] == "nosniff"
    with desk.expect_page() as opened:  # an image opens in a new tab and shows
        pg.click("tr:has-text('营业执照照片.png') a[data-material-open]")
    photo = opened.value
    photo.wait_for_load_state()
    assert photo.evaluate("document.contentType") == "image/png"
    photo.close()
    pg.fill("textarea[name=note]", "证照、资信材料齐全，已电话核实联系人")
    pg.click("button:has-text('确认受让资格')")
    body = pg.inner_text("body")
    assert "已确认资格，缴款码 LX" in body
    check_page(pg, "reviewer: qualified")
    sign_out(pg)

    db.session.expire_all()
    reg = db.session.get(Registration, reg_id)
    ref = reg.payment_ref

    # --- finance: the payment facts, never the buyer's instructions
    sign_in(pg, base, "caiwu1")
    pg.goto(base + f"/registrations/{reg_id}")
    body = pg.inner_text("body")
    assert ref in body and "应交金额" in body and "未到账" in body and "确认保证金到账" in body
    assert "请交纳保证金" not in body and "请勿告知他人" not in body and "竞买号" not in body
    assert ident not in body
    check_page(pg, "finance: registration")
    shot(pg, "finance-registration")
    sign_out(pg)

    # --- the admin's page for the account
    sign_in(pg, base, "admin")
    assert pg.locator("a[href='/admin/center-account']").count() >= 1  # the admin finds it in the menu (系统)
    pg.goto(base + "/admin/center-account")
    assert "现行账户" in pg.inner_text("body")
    check_page(pg, "admin: center account")
    shot(pg, "admin-center-account")
    desk.close()

    # --- the buyer on a phone: the account and the 缴款码 on the payment page
    mobile = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                 has_touch=True, device_scale_factor=2)
    ph = mobile.new_page()
    ph.set_default_timeout(15000)
    sign_in(ph, base, buyer.username)
    ph.goto(base + "/registrations/")
    check_page(ph, "buyer: my registrations")
    ph.click(f"a[href='/registrations/{reg_id}']")
    ph.wait_for_url(f"**/registrations/{reg_id}")
    body = ph.inner_text("body")
    assert "请交纳保证金" in body and title in body
    assert "户名" in body and "开户行" in body and "账号" in body and "附言（缴款码）" in body and ref in body
    assert "尚未公布收款账户" not in body and "截止时间 截止" not in body
    box = ph.locator("[data-pay-to]")
    assert box.is_visible() and ref in box.inner_text()
    check_page(ph, "buyer: payment page")
    shot(ph, "buyer-payment-phone")
    mobile.close()
