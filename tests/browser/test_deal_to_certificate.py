"""Issue 6 in a real browser: a concluded deal goes through signing (both parties confirm with their
password, the scan is uploaded and checked), settlement with a fee and a payout (two finance users),
and — once certificates are issued — the 鉴证书."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.contracts.models import Contract
from exchange.deadlines.sweeper import sweep
from exchange.listings.models import Listing
from exchange.settlement.models import Settlement
from exchange.trading import services as tsvc
from tests.browser.a11y import check_page
from tests.browser.conftest import shot, sign_in, sign_out
from tests.builders import PDF, pay, to_trading
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("uploads")]


def _in(pg, base, username):
    sign_in(pg, base, username, PASSWORD)


@pytest.fixture
def center_key(app, tmp_path, monkeypatch):
    from exchange.certificates import signing
    signing.generate_key(tmp_path / "key.pem", tmp_path / "cert.pem", "临湘市农村产权交易中心")
    monkeypatch.setitem(app.config, "CERT_KEY_PATH", str(tmp_path / "key.pem"))
    monkeypatch.setitem(app.config, "CERT_PATH", str(tmp_path / "cert.pem"))


def test_deal_signing_settlement_certificate(browser, page, phone, live_server, users, announced, db, tmp_path,
                                             center_key):
    base = live_server
    regs = pay(users, announced, ["buyer"])
    db.session.commit()
    listing = to_trading(announced)
    deal = tsvc.confirm_agreement(users["trading_officer"], listing)
    db.session.commit()
    # the admin sets the fee: 1 % paid by the buyer, at least 100 元
    _in(page, base, "t_admin")
    check_page(page, "工作台（管理员）")
    page.goto(base + "/admin/fees/default")
    check_page(page, "服务费标准")
    page.select_option("select[name=basis]", "rate")
    page.fill("input[name=rate]", "1")  # a percentage (issue 17)
    page.fill("input[name=min_fee]", "100")
    page.select_option("select[name=payer]", "buyer")
    page.click("button:has-text('保存')")
    check_page(page, "服务费标准已保存")
    sign_out(page)

    clock.freeze(deal.publicity_end_at + timedelta(minutes=1))
    sweep()
    contract = db.session.scalar(select(Contract))
    assert contract is not None and contract.state == "draft"
    scan = tmp_path / "合同签章件.pdf"
    scan.write_bytes(PDF)

    # the buyer signs on a phone, re-entering the password
    _in(phone, base, "t_buyer")
    check_page(phone, "工作台（受让方）")
    phone.goto(base + f"/registrations/{regs['buyer'].id}")
    check_page(phone, "报名详情（待签约）")
    phone.click("text=查看合同")
    check_page(phone, "合同")
    body = phone.inner_text("body")
    assert "签约期限" in body and "交易公示期满之日起 5 个工作日内" in body
    phone.fill("input[name=password]", "wrong-password")
    phone.click("button:has-text('签署合同')")
    assert "密码" in phone.inner_text("body")
    check_page(phone, "合同（密码错误）")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button:has-text('签署合同')")
    phone.wait_for_selector("text=等待对方签署")
    check_page(phone, "合同（等待对方签署）")
    shot(phone, "contract-buyer-signed")
    # the village clerk records the household's paper signature (it has no account) with the signed page:
    # the last signature, the contract is in force (第十六条)
    _in(page, base, "t_point_a1")
    check_page(page, "工作台（交易点）")
    page.goto(base + f"/contracts/{contract.id}")
    check_page(page, "合同（代转让方登记签字）")
    page.set_input_files("input[name=file]", str(scan))
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('代转让方登记签字')")
    page.wait_for_selector("text=合同已生效")
    check_page(page, "合同已生效")
    assert "临农交合" in page.inner_text("body")
    # then the contract both parties signed and sealed on paper, scanned
    page.set_input_files("#scan input[name=file]", str(scan))
    page.click("button:has-text('上传扫描件')")
    page.wait_for_selector("text=扫描件已上传")
    check_page(page, "扫描件已上传")
    sign_out(page)
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "settlement"
    # the center checks the scan (part of 鉴证)
    _in(page, base, "t_reviewer")
    check_page(page, "工作台（审核员）")
    page.goto(base + f"/contracts/{contract.id}")
    check_page(page, "合同（核验扫描件）")
    page.check("input[value=approve]")
    page.click("button:has-text('提交核验结论')")
    page.wait_for_selector("text=签章合同核验无误")
    check_page(page, "合同核验无误")
    sign_out(page)

    # the buyer pays the balance and the buyer's fee through the sandbox bank
    phone.goto(base + f"/registrations/{regs['buyer'].id}")
    check_page(phone, "报名详情（待结算）")
    phone.click("text=资金结算")
    check_page(phone, "资金结算")
    phone.click("button:has-text('网上支付')")
    phone.wait_for_url("**/payments/sandbox/**")
    check_page(phone, "模拟网银")
    phone.click("button:has-text('确认付款')")
    check_page(phone, "结算款已支付")
    shot(phone, "settlement-paid")
    s = db.session.scalar(select(Settlement))
    db.session.refresh(s)
    assert s.state == "paid" and s.buyer_fee == s.price / 100

    # finance charges the fee and records the payout; a second finance user approves it
    _in(page, base, "t_finance")
    check_page(page, "工作台（财务）")
    page.goto(base + f"/settlements/{s.id}")
    check_page(page, "结算单")
    page.click("button:has-text('收取服务费并生成划付')")
    check_page(page, "结算单（已生成划付）")
    page.fill("input[name=bank_ref]", "HK2026120100088")
    page.click("button:has-text('登记划付转账')")
    check_page(page, "结算单（已登记划付）")
    assert "复核通过划付" not in page.inner_text("body")  # not for the one who recorded it
    sign_out(page)
    _in(page, base, "t_finance2")
    check_page(page, "工作台（复核财务）")
    page.goto(base + f"/settlements/{s.id}")
    check_page(page, "结算单（待复核）")
    page.click("button:has-text('复核通过划付')")
    check_page(page, "结算单（已结清）")
    shot(page, "settlement-settled")
    db.session.expire_all()
    assert db.session.get(Settlement, s.id).state == "settled"
    assert db.session.get(Listing, listing.id).state == "certification"
    check = page.context.request.get(base + f"/settlements/{s.id}.pdf")
    assert check.status == 200 and check.headers["content-type"].startswith("application/pdf")
    sign_out(page)

    # the center issues the 鉴证书; its PDF looks official; the QR's page says 有效 with the same hash
    _in(page, base, "t_reviewer")
    page.goto(base + "/certificates/")
    check_page(page, "鉴证书")
    page.goto(base + f"/certificates/deals/{deal.id}")
    check_page(page, "出具鉴证书")
    page.click("button:has-text('出具鉴证书')")
    check_page(page, "鉴证书已出具")
    from exchange.certificates.models import Certificate
    db.session.expire_all()
    cert = db.session.scalar(select(Certificate))
    assert cert is not None and cert.cert_no.startswith("临农交鉴〔")
    assert db.session.get(Listing, listing.id).state == "completed"
    pdf = page.context.request.get(base + f"/certificates/{cert.id}.pdf")
    assert pdf.status == 200
    pdf_path = tmp_path / "鉴证书.pdf"
    pdf_path.write_bytes(pdf.body())
    import hashlib
    import subprocess
    assert hashlib.sha256(pdf.body()).hexdigest() == cert.pdf_sha256
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True).stdout
    assert "农村产权流转交易鉴证书" in text and cert.cert_no in text and "壹拾陆万" in text
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-singlefile", str(pdf_path),
                    str(shot(page, "certificate-issuer").parent / "certificate-page")], check=True)
    # the address the QR code carries, as a phone would open it
    from exchange.certificates.services import verify_url
    target = verify_url(cert.cert_no)
    path = target[target.index("/verify/"):]
    phone.goto(base + path)
    check_page(phone, "鉴证书核验")
    body = phone.inner_text("body")
    assert "有效" in body and cert.pdf_sha256 in body and "测试受让人" not in body  # the buyer's name is masked
    phone.set_input_files("input[name=file]", str(pdf_path))
    phone.click("form[enctype] button[type=submit]")
    check_page(phone, "鉴证书文件核验结果")
    assert "未被篡改" in phone.inner_text("body") or "一致" in phone.inner_text("body")
    shot(phone, "certificate-verified")
    # the archive ZIP opens and holds the listing's documents
    archive = page.context.request.get(base + f"/listings/{listing.id}/archive.zip")
    assert archive.status == 200
    import io
    import zipfile
    with zipfile.ZipFile(io.BytesIO(archive.body())) as z:
        names = z.namelist()
        assert z.testzip() is None
    joined = "\n".join(names)
    for part in ("manifest", "SHA256SUMS", "鉴证书", "合同", "结算"):
        assert part in joined, (part, names)
