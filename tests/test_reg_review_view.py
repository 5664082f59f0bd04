"""/registrations/<id> for each role (issue 17, items 1 and 15): the center reviewer sees the buyer's identity, the
system's own checks and opens every material in the browser; finance sees the payment facts and never the buyer's
instructions; the 竞买号 stays with the buyer while bidding is not over; the papers open only for those who may
review them — not for another buyer, a stranger, or staff who do not review."""
import re

import pytest
from sqlalchemy import select

from exchange.registrations import services as rsvc
from exchange.registrations.models import Registration
from exchange.storage import get_storage
from tests.builders import PDF, applied, pay
from tests.factories import PASSWORD
from tests.helpers import get_csrf, login, text

pytestmark = pytest.mark.usefixtures("uploads")

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def _as(client, who):
    """Sign out whoever is signed in, then sign in as ``who``."""
    if client.get("/work").status_code == 200:
        client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    login(client, who, PASSWORD)


def _material_links(page_html: str, reg_id: int) -> list[str]:
    return sorted(set(re.findall(rf'href="(/registrations/{reg_id}/materials/\d+\?inline=1)"', page_html)))


def test_the_reviewer_sees_identity_checks_and_opens_every_material(client, users, announced, db):
    reg = applied(users, announced)
    rsvc.add_material(users["buyer"], reg, "other", PNG, "宗地照片.png")
    db.session.commit()
    party = users["buyer"].party
    login(client, "t_reviewer", PASSWORD)
    resp = client.get(f"/registrations/{reg.id}")
    page = text(resp)
    # who the buyer is: name, 证件号, contact and phone
    assert party.name in page and party.id_number in page and party.mobile in page and "居民身份证号" in page
    # the system's own checks
    assert "身份证号格式和校验位正确" in page and "本项目其他报名人没有使用相同的手机号码" in page
    assert "报名时声明：否（境内主体）" in page
    # every material opens in the browser: PDFs and images inline, with their own type
    links = _material_links(resp.get_data(as_text=True), reg.id)
    assert len(links) == len(reg.materials) == len(rsvc.required_materials(reg)) + 1
    for link in links:
        got = client.get(link)
        assert got.status_code == 200
        assert got.headers["Content-Disposition"].startswith("inline;")
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert got.mimetype in ("application/pdf", "image/png")
    png = next(m for m in reg.materials if m.kind == "other")
    got = client.get(f"/registrations/{reg.id}/materials/{png.id}?inline=1")
    assert got.mimetype == "image/png" and got.get_data() == PNG
    # without ?inline=1: a download
    assert client.get(f"/registrations/{reg.id}/materials/{png.id}").headers["Content-Disposition"].startswith(
        "attachment;")


def test_the_reviewer_sees_the_company_identity(client, users, announced, db):
    reg = applied(users, announced, key="buyer_org")
    db.session.commit()
    party = users["buyer_org"].party
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/registrations/{reg.id}"))
    assert "统一社会信用代码" in page and party.uscc in page and "法定代表人" in page
    assert party.contact_name in page and party.mobile in page
    assert "代码格式和校验位正确（GB 32100）" in page


def test_a_bad_check_digit_is_shown_to_the_reviewer(client, users, announced, db):
    reg = applied(users, announced)
    party = users["buyer"].party
    good = party.id_number
    party.id_number = good[:-1] + ("0" if good[-1] != "0" else "1")  # a number that slipped in before the checks
    db.session.commit()
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/registrations/{reg.id}"))
    assert "居民身份证号校验" in page and "校验未通过" in page


@pytest.mark.article("第二十五条")
def test_the_same_phone_on_one_listing_is_a_warning(client, users, announced, db):
    users["buyer_org"].party.mobile = users["buyer"].party.mobile
    first = applied(users, announced)
    second = applied(users, announced, key="buyer_org")
    db.session.commit()
    login(client, "t_reviewer", PASSWORD)
    resp = client.get(f"/registrations/{second.id}")
    page = text(resp)
    assert "同一手机号码" in page and "串通" in page and users["buyer"].display_name in page
    assert f'href="/registrations/{first.id}"' in resp.get_data(as_text=True)


@pytest.mark.article("第二十五条")
def test_the_same_application_address_on_one_listing_is_a_warning(app, client, users, announced, db):
    for key in ("buyer", "buyer_org"):
        with app.test_request_context("/registrations/apply", environ_base={"REMOTE_ADDR": "10.3.25.7"}):
            applied(users, announced, key=key)
    db.session.commit()
    reg = db.session.scalar(select(Registration).where(Registration.buyer_id == users["buyer"].id))
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/registrations/{reg.id}"))
    assert "同一网络地址报名" in page and "10.3.25.7" in page and users["buyer_org"].display_name in page


def test_a_foreign_declaration_is_shown(client, users, announced, db):
    reg = applied(users, announced, key="buyer_org", foreign_kind="foreign_enterprise")
    db.session.commit()
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/registrations/{reg.id}"))
    assert "外资企业或境外投资者" in page and "须按外商投资法律法规核验审批或备案文件" in page


# --- who may open the papers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who,status", [("t_buyer", 200), ("t_reviewer", 200), ("t_supervisor", 200),
                                        ("t_buyer_org", 403), ("t_station_a", 403), ("t_point_a1", 403),
                                        ("t_trader", 403), ("t_finance", 403), ("t_admin", 403)])
def test_only_the_buyer_and_the_reviewers_open_the_materials(client, users, announced, db, who, status):
    reg = applied(users, announced)
    db.session.commit()
    m = reg.materials[0]
    login(client, who, PASSWORD)
    assert client.get(f"/registrations/{reg.id}/materials/{m.id}?inline=1").status_code == status


def test_attackers_get_nothing(client, users, announced, db):
    reg = applied(users, announced)
    other = applied(users, announced, key="buyer_org")
    db.session.commit()
    theirs = other.materials[0]
    # anonymous: the sign-in page, never the file
    resp = client.get(f"/registrations/{reg.id}/materials/{reg.materials[0].id}?inline=1")
    assert resp.status_code in (302, 401) and resp.get_data() != PDF
    login(client, "t_buyer", PASSWORD)
    # its own registration with another buyer's material id: not found
    assert client.get(f"/registrations/{reg.id}/materials/{theirs.id}?inline=1").status_code == 404
    # the other buyer's registration: refused
    assert client.get(f"/registrations/{other.id}/materials/{theirs.id}").status_code == 403
    # path tricks never reach the storage
    for path in (f"/registrations/{reg.id}/materials/..%2F..%2Fetc%2Fpasswd",
                 f"/registrations/{reg.id}/materials/../../{theirs.id}",
                 f"/registrations/{reg.id}/materials/-1", f"/registrations/{reg.id}/materials/1e3"):
        resp = client.get(path)
        assert resp.status_code in (404, 403, 308, 301) and resp.get_data() != PDF


def test_a_stored_file_that_is_not_what_it_claims_is_never_shown_inline(client, users, announced, db):
    reg = applied(users, announced)
    db.session.commit()
    m = reg.materials[0]
    path = get_storage().path(m.storage_key)  # someone changed the stored bytes into a web page
    path.write_bytes(b"<html><script>alert(1)</script></html>")
    login(client, "t_reviewer", PASSWORD)
    resp = client.get(f"/registrations/{reg.id}/materials/{m.id}?inline=1")
    assert resp.mimetype == "application/octet-stream"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in resp.headers["Content-Security-Policy"]


# --- each role sees what it needs (item 15) -------------------------------------------------------------------------

def test_finance_sees_the_payment_facts_not_the_buyers_instructions(client, users, announced, db):
    regs = pay(users, announced, ["buyer"])
    reg = regs["buyer"]
    db.session.commit()
    assert reg.bidder_no
    _as(client, "t_finance")
    page = text(client.get(f"/registrations/{reg.id}"))
    assert reg.payment_ref in page and "16,000.00" in page and "已到账" in page and "退款" in page
    assert "请交纳保证金" not in page and "请勿告知他人" not in page and "您的竞买号" not in page
    assert reg.bidder_no not in page  # bidding is not over: the 竞买号 is the buyer's secret
    assert users["buyer"].party.id_number not in page  # finance needs no 证件号
    _as(client, "t_buyer")
    mine = text(client.get(f"/registrations/{reg.id}"))
    assert "您的竞买号" in mine and reg.bidder_no in mine


def test_the_reviewer_and_station_do_not_see_the_bidder_number(client, users, announced, db):
    reg = pay(users, announced, ["buyer"])["buyer"]
    db.session.commit()
    for who in ("t_reviewer", "t_station_a", "t_trader", "t_supervisor", "t_admin"):
        _as(client, who)
        page = text(client.get(f"/registrations/{reg.id}"))
        assert reg.bidder_no not in page and "竞买号" not in page, who
        assert "竞买号" not in text(client.get("/registrations/")), who


def test_the_bidder_number_is_shown_to_center_staff_once_bidding_is_over(client, users, announced, db):
    reg = pay(users, announced, ["buyer"])["buyer"]
    announced.state = "publicity"  # the deal is being publicised: the 竞买号 is no longer a secret
    db.session.commit()
    _as(client, "t_trader")
    assert reg.bidder_no in text(client.get(f"/registrations/{reg.id}"))
    _as(client, "t_station_a")
    assert reg.bidder_no not in text(client.get(f"/registrations/{reg.id}"))


def test_the_reviewer_sees_no_payment_instructions(client, users, qualified, db):
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/registrations/{qualified.id}"))
    assert "请交纳保证金" not in page and "网上支付" not in page and "报名人身份" in page


def test_the_station_sees_neither_identity_nor_papers(client, users, announced, db):
    reg = applied(users, announced)
    db.session.commit()
    login(client, "t_station_a", PASSWORD)
    resp = client.get(f"/registrations/{reg.id}")
    page = text(resp)
    assert resp.status_code == 200 and users["buyer"].party.id_number not in page
    assert not _material_links(resp.get_data(as_text=True), reg.id)
    assert "资格审核" not in page or "确认受让资格" not in page

