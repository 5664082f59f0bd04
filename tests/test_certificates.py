"""农村产权流转交易鉴证书 (第十八条; DESIGN §3.7): preconditions, one certificate per deal (also under
concurrency), gap-free numbers, revocation and reissue, the PAdES signature, the PDF's text and the public
verification page."""
import hashlib
import io
import subprocess
import threading
from decimal import Decimal
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.certificates import services as csvc
from exchange.certificates import signing
from exchange.certificates.models import Certificate
from exchange.extensions import db as _db
from exchange.ledger import services as led
from exchange.listings.models import Listing, ProjectCounter
from exchange.listings.workflow import fire
from exchange.settlement.models import Settlement
from exchange.trading.models import Deal
from tests.builders import DEPOSIT, PDF, TENDER_FEE, TENDER_PRICE, concluded, make_contract_effective
from tests.factories import PASSWORD
from tests.helpers import login, text

pytestmark = pytest.mark.usefixtures("uploads", "signing_key")


def pdftotext(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


# --- preconditions ------------------------------------------------------------------------------------

def test_refused_before_settlement_with_the_list_of_what_is_missing(buyers, trading, db):
    listing, regs = trading
    deal = concluded(buyers, listing, regs, db)
    with pytest.raises(csvc.CertificateError) as exc:
        csvc.issue(buyers["center_reviewer"], deal)
    problems = exc.value.problems
    assert any("尚未进入鉴证阶段" in p for p in problems)
    assert any(p.startswith(("尚未签订合同", "合同尚未生效")) for p in problems) and "尚未办理资金结算。" in problems
    db.session.rollback()
    make_contract_effective(buyers, deal, db)
    with pytest.raises(csvc.CertificateError) as exc:
        csvc.issue(buyers["center_reviewer"], db.session.get(Deal, deal.id))
    assert "尚未办理资金结算。" in exc.value.problems and not any(p.startswith(("尚未签订合同", "合同尚未生效")) for p in exc.value.problems)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Certificate.id))) == 0
    # a refused attempt consumes no number
    assert db.session.scalar(select(ProjectCounter).where(ProjectCounter.kind == "certificate")) is None


def test_fees_not_charged_are_missing(buyers, trading, db):
    listing, regs = trading
    deal = concluded(buyers, listing, regs, db)
    make_contract_effective(buyers, deal, db)
    led.convert_deposit(listing, deal.registration.buyer)
    led.record_price_payment(listing, TENDER_PRICE - DEPOSIT, key="JS-nofee")
    led.pay_out(listing, TENDER_PRICE, key="PO-nofee")
    now = clock.now()
    s = db.session.scalar(select(Settlement).where(Settlement.deal_id == deal.id))
    if s is None:
        s = Settlement(deal_id=deal.id, listing_id=listing.id, payment_ref="JSNOFEE0001", due_at=now)
        db.session.add(s)
    s.state, s.price, s.deposit_converted, s.balance_due = "settled", TENDER_PRICE, DEPOSIT, TENDER_PRICE - DEPOSIT
    s.buyer_fee, s.seller_fee, s.settled_at = TENDER_FEE, Decimal("0.00"), now
    fire(listing, "settled", buyers["finance"])
    db.session.commit()
    with pytest.raises(csvc.CertificateError) as exc:
        csvc.issue(buyers["center_reviewer"], db.session.get(Deal, deal.id))
    assert exc.value.problems == ["服务费尚未收齐：应收 1,700.00 元，已收 0.00 元。"]


def test_only_the_center_reviewer_issues(buyers, certifiable, db):
    for who in ("trading_officer", "finance", "supervisor", "point_a1", "buyer"):
        with pytest.raises(AccessDenied):
            csvc.issue(buyers[who], certifiable)
        db.session.rollback()


# --- issue, twice, revoke, reissue --------------------------------------------------------------------

def test_issue_numbers_signs_stores_and_completes(buyers, certifiable, db):
    cert = csvc.issue(buyers["center_reviewer"], certifiable)
    db.session.commit()
    assert cert.cert_no == "临农交鉴〔2026〕第000001号" and (cert.year, cert.seq) == (2026, 1)
    assert cert.state == "valid" and cert.state_label == "有效"
    data = csvc.pdf_bytes(cert)
    assert hashlib.sha256(data).hexdigest() == cert.pdf_sha256 and len(data) == cert.pdf_size
    assert db.session.get(Listing, certifiable.listing_id).state == "completed"
    assert signing.verify(data).ok
    # never twice for one deal
    with pytest.raises(csvc.CertificateError, match="已出具鉴证书 临农交鉴〔2026〕第000001号"):
        csvc.issue(buyers["center_reviewer"], db.session.get(Deal, certifiable.id))
    db.session.rollback()
    assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_pdf_text_has_the_fields_and_the_capital_amount(buyers, certifiable, db):
    cert = csvc.issue(buyers["center_reviewer"], certifiable)
    db.session.commit()
    data = csvc.pdf_bytes(cert)
    body = pdftotext(data)
    flat = "".join(body.split())
    for expected in ("农村产权流转交易鉴证书", "临农交鉴〔2026〕第000001号", certifiable.listing.project_no,
                     certifiable.deal_no, "测试受让人", certifiable.listing.transferor_name, "LXHT-2026-000001",
                     "170,000.00元", "壹拾柒万元整", "鉴证结论", "特予鉴证", "临湘市农村产权交易中心", "2026年",
                     "招投标", "已收取", "扫码核验"):
        assert expected in flat, expected
    assert "1,700.00" in flat  # the buyer's fee
    assert data[:5] == b"%PDF-" and b"/ByteRange" in data and b"/ETSI.CAdES.detached" in data
    # A4
    info = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert "595.276 x 841.89" in info or "595 x 842" in info


def test_one_byte_altered_copy_fails_verification(buyers, certifiable, db):
    cert = csvc.issue(buyers["center_reviewer"], certifiable)
    db.session.commit()
    data = csvc.pdf_bytes(cert)
    assert signing.verify(data).ok
    # one byte inside the page content (signed range) changed
    pos = data.index(b"stream") + 20
    altered = data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]
    check = signing.verify(altered)
    assert not check.ok and "改动" in check.message
    # one byte of the signed range cut off
    assert not signing.verify(data[:100] + data[101:]).ok
    result = csvc.check_upload(cert, altered)
    assert not result.genuine and not result.hash_matches and "核验未通过" in result.message
    good = csvc.check_upload(cert, data)
    assert good.genuine and good.signature_ok and "核验通过" in good.message
    assert not signing.verify(b"not a pdf").ok
    assert not signing.verify(PDF).ok  # unsigned


def test_revoke_then_reissue_gets_a_new_number(buyers, certifiable, db):
    reviewer = buyers["center_reviewer"]
    first = csvc.issue(reviewer, certifiable)
    db.session.commit()
    with pytest.raises(csvc.CertificateError):
        csvc.reissue(reviewer, first)  # still valid
    db.session.rollback()
    with pytest.raises(csvc.CertificateError):
        csvc.revoke(reviewer, first, "")
    db.session.rollback()
    with pytest.raises(AccessDenied):
        csvc.revoke(buyers["supervisor"], first, "面积登记有误，需要更正")
    db.session.rollback()
    csvc.revoke(reviewer, first, "面积登记有误，需要更正")
    db.session.commit()
    assert first.state == "revoked" and first.state_label == "已撤销"
    second = csvc.reissue(reviewer, first)
    db.session.commit()
    assert second.cert_no == "临农交鉴〔2026〕第000002号" and second.replaces_id == first.id
    assert second.state == "valid" and db.session.get(Listing, certifiable.listing_id).state == "completed"
    assert "替代已撤销的临农交鉴〔2026〕第000001号" in "".join(pdftotext(csvc.pdf_bytes(second)).split())
    with pytest.raises(csvc.CertificateError):
        csvc.revoke(reviewer, first, "再次撤销同一份")
    db.session.rollback()


def test_two_simultaneous_requests_give_one_certificate_and_one_number(app, buyers, certifiable, db):
    deal_id = certifiable.id
    reviewer_id = buyers["center_reviewer"].id
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt():
        from exchange.accounts.models import User
        with app.app_context():
            try:
                user = _db.session.get(User, reviewer_id)
                deal = _db.session.get(Deal, deal_id)
                _db.session.commit()  # end the read transaction: both start from the same point
                barrier.wait(timeout=30)
                csvc.issue(user, deal)
                _db.session.commit()
                outcomes.append("ok")
            except csvc.CertificateError as exc:
                _db.session.rollback()
                outcomes.append("refused:" + exc.message)
            except Exception as exc:  # noqa: BLE001
                _db.session.rollback()
                outcomes.append(repr(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["ok", "refused"], outcomes
    db.session.expire_all()
    certs = db.session.scalars(select(Certificate)).all()
    assert len(certs) == 1 and certs[0].seq == 1
    counter = db.session.scalar(select(ProjectCounter).where(ProjectCounter.kind == "certificate"))
    assert counter.last_no == 1  # the refused request consumed no number


def test_numbers_parse():
    assert csvc.parse_number("临农交鉴〔2026〕第000123号") == (2026, 123)
    assert csvc.parse_number("2026-000123") == (2026, 123)
    for bad in ("", "临农交鉴〔2026〕第000000号", "临农交鉴〔26〕第000123号", "x" * 500, "2026-12", None,
                "临农交鉴〔2026〕第000123号'; DROP TABLE certificate;--", "../../etc/passwd"):
        assert csvc.parse_number(bad) is None


# --- the public verification page --------------------------------------------------------------------

def _url(cert_no: str) -> str:
    return "/verify/" + quote(cert_no, safe="")


def test_verify_page_shows_masked_key_fields_hash_and_status(client, buyers, certifiable, db):
    cert = csvc.issue(buyers["center_reviewer"], certifiable)
    db.session.commit()
    resp = client.get(_url(cert.cert_no))
    assert resp.status_code == 200
    page = text(resp)
    assert "有效" in page and cert.pdf_sha256 in page and cert.cert_no in page
    assert "170,000.00" in page and "LXHT-2026-000001" in page and certifiable.listing.project_no in page
    assert "测试受让人" not in page and "测****" in page  # natural persons masked
    name = certifiable.listing.transferor_name
    assert name not in page and name[0] + "*" * (len(name) - 1) in page
    # the QR in the PDF points here
    assert client.get("/verify/2026-000001").status_code == 200
    csvc.revoke(buyers["center_reviewer"], db.session.get(Certificate, cert.id), "受让方名称录入错误")
    db.session.commit()
    page = text(client.get(_url(cert.cert_no)))
    assert "已撤销" in page and "受让方名称录入错误" in page


@pytest.mark.parametrize("number", ["临农交鉴〔2026〕第999999号", "2026-000777", "abc", "临农交鉴〔2026〕第0001号",
                                    "%E4%B8%B4" * 30, "1' OR '1'='1", "<script>alert(1)</script>"])
def test_verify_made_up_or_malformed_number_is_a_chinese_404(client, db, number):
    resp = client.get("/verify/" + quote(number, safe="%"))
    assert resp.status_code == 404
    page = text(resp)
    assert "未找到" in page or "不存在" in page
    assert "<script>alert(1)</script>" not in resp.get_data(as_text=True)


def test_verify_upload_tells_genuine_from_altered(client, buyers, certifiable, db):
    cert = csvc.issue(buyers["center_reviewer"], certifiable)
    db.session.commit()
    data = csvc.pdf_bytes(cert)
    from tests.helpers import csrf_from
    page = client.get(_url(cert.cert_no))
    token = csrf_from(page.get_data(as_text=True))
    resp = client.post(_url(cert.cert_no), data={"csrf_token": token, "file": (io.BytesIO(data), "鉴证书.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200 and "核验通过" in text(resp)
    pos = data.index(b"stream") + 20
    altered = data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]
    resp = client.post(_url(cert.cert_no), data={"csrf_token": token, "file": (io.BytesIO(altered), "鉴证书.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200
    page = text(resp)
    assert "核验未通过" in page and "改动" in page
    resp = client.post(_url(cert.cert_no), data={"csrf_token": token, "file": (io.BytesIO(b""), "x.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "请选择" in text(resp)


# --- pages and API ------------------------------------------------------------------------------------

def test_reviewer_issues_from_the_page_and_downloads(client, buyers, certifiable, db):
    from tests.helpers import post_form
    login(client, "t_reviewer", PASSWORD)
    page = client.get(f"/certificates/deals/{certifiable.id}")
    assert page.status_code == 200 and "出具鉴证书" in text(page)
    resp = post_form(client, f"/certificates/deals/{certifiable.id}/issue", {}, page=f"/certificates/deals/{certifiable.id}")
    assert resp.status_code == 302
    cert = db.session.scalar(select(Certificate))
    assert cert is not None
    pdf = client.get(f"/certificates/{cert.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == cert.pdf_sha256
    assert "临农交鉴" in text(client.get("/certificates/"))


def test_clerk_cannot_issue_or_download(client, buyers, certifiable, db):
    cert = csvc.issue(buyers["center_reviewer"], certifiable)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    assert client.get(f"/certificates/{cert.id}.pdf").status_code == 403
    assert client.get(f"/certificates/deals/{certifiable.id}").status_code == 403


def test_api_issue_and_public_lookup(client, buyers, certifiable, db):
    from tests.helpers import api_login
    api_login(client, "t_reviewer", PASSWORD)
    from tests.helpers import api_csrf
    headers = {"X-CSRFToken": api_csrf(client)}
    resp = client.post(f"/api/v1/deals/{certifiable.id}/certificate", headers=headers)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["cert_no"] == "临农交鉴〔2026〕第000001号" and body["state"] == "valid"
    again = client.post(f"/api/v1/deals/{certifiable.id}/certificate", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"] == "workflow"
    pub = client.get("/api/v1/public/certificates/2026-000001")
    assert pub.status_code == 200 and pub.get_json()["transferee"] == "测****"
    assert client.get("/api/v1/public/certificates/nonsense").status_code == 404
