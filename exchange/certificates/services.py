"""农村产权流转交易鉴证书 (第十八条; DESIGN §3.7): issue, revoke, reissue, verify.

* :func:`issue` — the center's reviewer, after 资金结算, checks the preconditions (the contract is
  effective, the money settled, the fees charged) and issues the certificate: the deal row is locked
  first, so two simultaneous requests give one certificate (the partial unique index
  ``uq_certificate_valid_deal`` backs it); the number comes from the transactional, gap-free counter
  (``next_number("certificate", year)``: a rolled-back attempt consumes nothing); the PDF is rendered,
  signed with the center's key (:mod:`exchange.certificates.signing`), stored, and its SHA-256 kept.
* :func:`revoke` marks a certificate revoked with a reason; :func:`issue` on the same deal then gives a
  corrected one with a new number and ``replaces_id`` pointing at the revoked one.
* :func:`public_facts` / :func:`check_upload` — the public verification page (/verify/<number>).

Services flush, never commit.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from urllib.parse import quote

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from exchange import clock
from exchange.access import require
from exchange.audit.services import record
from exchange.db import savepoint
from exchange.extensions import db
from exchange.pdf import qr_data_uri
from exchange.listings.workflow import WorkflowError, fire
from exchange.trading import documents as docs
from exchange.trading.models import Deal

from exchange.certificates.models import Certificate
from exchange.certificates.states import CERTIFICATE

NUMBER_RE = re.compile(r"临农交鉴〔(\d{4})〕第(\d{6})号")
SHORT_RE = re.compile(r"(\d{4})-(\d{6})")
MAX_NUMBER_LEN = 40


class CertificateError(WorkflowError):
    """A certificate refused; ``problems`` lists what is missing."""


def format_number(year: int, seq: int) -> str:
    return f"临农交鉴〔{year}〕第{seq:06d}号"


def parse_number(text: str | None) -> tuple[int, int] | None:
    """(year, seq) of ``临农交鉴〔2026〕第000123号`` or its short form ``2026-000123``; None when malformed."""
    if not isinstance(text, str) or len(text) > MAX_NUMBER_LEN:
        return None
    text = text.strip()
    m = NUMBER_RE.fullmatch(text) or SHORT_RE.fullmatch(text)
    if not m:
        return None
    year, seq = int(m.group(1)), int(m.group(2))
    if seq < 1 or not 2000 <= year <= 2999:
        return None
    return year, seq


def find(number: str | None) -> Certificate | None:
    parsed = parse_number(number)
    if parsed is None:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.year == parsed[0], Certificate.seq == parsed[1]))


def short_number(cert_no: str) -> str:
    """``临农交鉴〔2026〕第000123号`` → ``2026-000123`` (the form in the QR code: short and plain ASCII)."""
    parsed = parse_number(cert_no)
    return f"{parsed[0]}-{parsed[1]:06d}" if parsed else cert_no


def verify_url(cert_no: str) -> str:
    """PUBLIC_BASE_URL + /verify/<number> (built without a request: the CLI and the bench render too)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/verify/{quote(short_number(cert_no), safe='')}"


# --- the facts --------------------------------------------------------------------------------------

def contract_of(deal: Deal):
    from exchange.contracts.models import Contract
    return db.session.scalar(select(Contract).where(Contract.deal_id == deal.id)
                             .execution_options(populate_existing=True))


def settlement_of(deal: Deal):
    from exchange.settlement.models import Settlement
    return db.session.scalar(select(Settlement).where(Settlement.deal_id == deal.id)
                             .execution_options(populate_existing=True))


def fees_charged(listing_id: int) -> Decimal:
    """What the ledger has taken as 服务费 for the listing (the debit side of its ``fee`` entries)."""
    from exchange.ledger.models import JournalEntry, JournalLine
    total = db.session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0)).join(JournalEntry)
                              .where(JournalEntry.listing_id == listing_id, JournalEntry.kind == "fee",
                                     JournalLine.amount > 0))
    return Decimal(total or 0).quantize(Decimal("0.01"))


def valid_certificate(deal: Deal) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.deal_id == deal.id, Certificate.state == "valid")
                             .execution_options(populate_existing=True))


def certificates_of(deal: Deal) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.deal_id == deal.id).order_by(Certificate.id)))


def latest_revoked(deal: Deal) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.deal_id == deal.id, Certificate.state == "revoked")
                             .order_by(Certificate.id.desc()).limit(1))


def missing(deal: Deal) -> list[str]:
    """What still stands between the deal and its certificate (empty: it may be issued)."""
    problems: list[str] = []
    listing = deal.listing
    reissue = listing.state == "completed" and latest_revoked(deal) is not None
    if deal.state == "void":
        problems.append("该成交已撤销。")
    if listing.state != "certification" and not reissue:
        from exchange.listings.workflow import STATE_LABELS
        problems.append(f"项目当前状态为“{STATE_LABELS.get(listing.state, listing.state)}”，尚未进入鉴证阶段"
                        "（须合同生效并完成资金结算）。")
    contract = contract_of(deal)
    if contract is None:
        problems.append("尚未签订合同。")
    elif not contract.is_in_force:
        problems.append(f"合同尚未生效（当前：{contract.state_label}）。")
    elif not contract.is_checked:  # 鉴证 checks the signed scan against the text both parties signed
        problems.append("签字盖章的合同扫描件尚未核验：请先在合同页上传并核验。")
    elif not contract.contract_no:
        problems.append("合同没有编号。")
    settlement = settlement_of(deal)
    if settlement is None:
        problems.append("尚未办理资金结算。")
    elif settlement.state != "settled":
        problems.append(f"资金尚未结算完毕（当前：{settlement.state_label}）。")
    else:
        due = (settlement.buyer_fee or 0) + (settlement.seller_fee or 0)
        charged = fees_charged(listing.id)
        if charged < due:
            problems.append(f"服务费尚未收齐：应收 {due:,.2f} 元，已收 {charged:,.2f} 元。")
    return problems


@dataclass
class Facts:
    """Everything the certificate and the verification page show."""

    cert_no: str
    project_no: str
    title: str
    category: str
    transfer_method: str
    location: str
    quantity: str
    term: str
    trading_method: str
    transferor: str
    transferor_kind: str
    transferee: str
    appraisal: Decimal | None
    appraisal_note: str
    floor_price: Decimal | None
    price: Decimal
    contract_no: str
    contract_date: str
    listing_period: str
    settlement: str
    conclusion: str
    center: str
    issued_on: str
    deal_no: str
    # the parties and the prices as the trade calls them: a procurement (招标/采购/招商, DESIGN §3.12) has an 采购人
    # and a 中标人, a 最高限价 (招商: 最低价) for the 底价 and a 中标价
    transferor_label: str = "转让方"
    transferee_label: str = "受让方"
    floor_label: str = "挂牌底价"
    price_label: str = "成交价"


def _num(value) -> str:
    text = f"{value:,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _date(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def facts(deal: Deal, cert_no: str, issued_at: datetime, *, public: bool = False) -> Facts:
    listing = deal.listing
    contract = contract_of(deal)
    settlement = settlement_of(deal)
    location = listing.place  # the town and the village once each, whatever the clerk typed
    term = (f"{_date(listing.term_start)}至{_date(listing.term_end)}" if listing.term_start and listing.term_end
            else "—")
    if listing.announce_start_at and listing.announce_end_at:
        period = (f"{_date(clock.to_local(listing.announce_start_at))}至"
                  f"{_date(clock.to_local(listing.announce_end_at - timedelta(microseconds=1)))}")  # its last day
    else:
        period = "—"
    if settlement is not None and settlement.state == "settled":
        fee_parts = []
        if settlement.buyer_fee:
            fee_parts.append(f"受让方服务费 {settlement.buyer_fee:,.2f} 元")
        if settlement.seller_fee:
            fee_parts.append(f"转让方服务费 {settlement.seller_fee:,.2f} 元")
        when = _date(clock.to_local(settlement.settled_at)) if settlement.settled_at else ""
        settled = (f"成交价款 {deal.price:,.2f} 元已通过交易中心指定账户全额结算"
                   + (f"（{when}）" if when else "") + "；"
                   + ("、".join(fee_parts) + " 已收取" if fee_parts else "本项目不收取服务费") + "。")
    else:
        settled = "未结算"
    if listing.appraisal_value:
        note = "，".join(x for x in (listing.appraisal_agency, listing.appraisal_report_no and
                                      f"报告编号 {listing.appraisal_report_no}") if x)
    else:
        note = ""
    labels = {}
    floor_price = listing.floor_price
    if listing.is_procurement:
        from exchange.procurement.services import project_of
        project = project_of(listing)
        investing = not project.buying
        labels = dict(transferor_label="招商方" if investing else "采购人", transferee_label="投资方" if investing else "中标人",
                      floor_label=project.limit_label, price_label="中选报价" if investing else "中标价")
        floor_price = project.limit_price
        if settlement is not None and settlement.state == "settled":
            fees = settlement.buyer_fee + settlement.seller_fee
            settled = (f"{labels['price_label']} {deal.price:,.2f} 元由双方按合同直接收付，不经交易中心结算；"
                       + (f"交易服务费 {fees:,.2f} 元已收取" if fees else "本项目不收取服务费")
                       + "；投标保证金在合同签订后 5 日内连同利息退还。")
    transferor = docs.transferor_public(deal) if public else listing.transferor_name
    transferee = docs.winner_public(deal) if public else docs.winner_full(deal)
    center = docs.center_name(deal)
    conclusion = (f"经审查，本项目已按《临湘市农村产权流转交易市场管理办法》规定的程序在{center}公开挂牌、"
                  f"组织交易并经交易公示，交易双方已签订流转合同，交易资金已完成结算。交易程序合法合规，"
                  f"特予鉴证。")
    if listing.is_procurement:
        conclusion = (f"经审查，本项目经村民（代表）会议决议，按《临湘市农村产权流转交易市场管理办法》规定的程序在{center}"
                      f"公开{listing.method.name}，网上开标，按{project.eval_label}评审并公示中标候选人无异议，"
                      f"{labels['transferor_label']}已确定{labels['transferee_label']}并签订合同，交易服务费已结算。"
                      f"交易程序合法合规，特予鉴证。")
    return Facts(
        cert_no=cert_no, project_no=listing.project_no or "", title=listing.title,
        category=listing.category.name, transfer_method=listing.method.name, location=location,
        quantity=f"{_num(listing.quantity)} {listing.unit}", term=term, trading_method=deal.method_label,
        transferor=transferor, transferor_kind=docs.transferor_kind_label(deal), transferee=transferee,
        appraisal=listing.appraisal_value, appraisal_note=note, floor_price=floor_price, price=deal.price,
        contract_no=(contract.contract_no if contract else "") or "—",
        contract_date=_date(contract.signed_on) if contract and contract.signed_on else "—",
        listing_period=period, settlement=settled, conclusion=conclusion, center=center,
        issued_on=_date(clock.to_local(issued_at)), deal_no=deal.deal_no, **labels)


# --- rendering --------------------------------------------------------------------------------------

def seal_svg(center: str) -> str:
    """The seal area: a red round stamp drawn as SVG (production may replace it with the center's seal image)."""
    from markupsafe import escape
    r, cx, cy = 70, 80, 80
    chars = list(center)
    n = len(chars)
    span = 230.0 if n > 6 else 150.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160">',
             f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="#c8161d" stroke-width="4"/>']
    for i, ch in enumerate(chars):
        angle = -span / 2 + (span * (i + 0.5) / n if n else 0)
        parts.append(f'<text x="{cx}" y="{cy - r + 24}" font-size="17" fill="#c8161d" text-anchor="middle" '
                     f'font-family="AR PL UMing CN" transform="rotate({angle:.1f} {cx} {cy})">{escape(ch)}</text>')
    parts.append(f'<text x="{cx}" y="{cy + 14}" font-size="40" fill="#c8161d" text-anchor="middle">★</text>')
    parts.append(f'<text x="{cx}" y="{cy + 48}" font-size="14" fill="#c8161d" text-anchor="middle" '
                 f'font-family="AR PL UMing CN">鉴证专用章</text></svg>')
    return "".join(parts)


def render_html(deal: Deal, cert_no: str, issued_at: datetime, *, replaces: Certificate | None = None) -> str:
    from flask import render_template
    import base64
    f = facts(deal, cert_no, issued_at)
    seal = "data:image/svg+xml;base64," + base64.b64encode(seal_svg(f.center).encode()).decode()
    return render_template("certificates/pdf_certificate.html", f=f, qr=qr_data_uri(verify_url(cert_no)),
                           url=verify_url(cert_no), seal=seal, replaces=replaces)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML
    from exchange.pdf import FONT_CSS
    return HTML(string=html).write_pdf(stylesheets=[CSS(string=FONT_CSS)])


def render_signed(deal: Deal, cert_no: str, issued_at: datetime, *, replaces: Certificate | None = None) -> bytes:
    from exchange.certificates import signing
    pdf = html_to_pdf(render_html(deal, cert_no, issued_at, replaces=replaces))
    return signing.sign(pdf, name=docs.center_name(deal))


# --- issue, revoke ----------------------------------------------------------------------------------

def _lock(deal: Deal) -> None:
    """Serialise certificate work on one deal: this UPDATE takes the deal's row lock (PostgreSQL) or the
    write lock (SQLite) until the transaction ends; a second request waits here and then sees the first's
    certificate."""
    db.session.execute(update(Deal).where(Deal.id == deal.id).values(deal_no=Deal.deal_no)
                       .execution_options(synchronize_session=False))
    db.session.refresh(deal)
    db.session.refresh(deal.listing)


def issue(reviewer, deal: Deal) -> Certificate:
    """Issue the deal's 鉴证书 (or, after a revocation, the corrected one with a new number)."""
    require(reviewer, "certificates.issue")
    _lock(deal)
    existing = valid_certificate(deal)
    if existing is not None:
        raise CertificateError(f"该成交已出具鉴证书 {existing.cert_no}，不能重复出具。",
                               [f"已出具 {existing.cert_no}"])
    problems = missing(deal)
    if problems:
        raise CertificateError(f"不能出具鉴证书：还有 {len(problems)} 项条件未满足。", problems)
    listing = deal.listing
    replaces = latest_revoked(deal) if listing.state == "completed" else None
    now = clock.now()
    year = clock.to_local(now).year
    from exchange.listings.services import next_number
    seq = next_number("certificate", year)
    cert_no = format_number(year, seq)
    pdf = render_signed(deal, cert_no, now, replaces=replaces)
    from exchange.storage import get_storage
    storage = get_storage()
    key = storage.save(pdf)
    cert = Certificate(cert_no=cert_no, year=year, seq=seq, deal_id=deal.id, issued_at=now,
                       issued_by_id=getattr(reviewer, "id", None), pdf_key=key,
                       pdf_sha256=hashlib.sha256(pdf).hexdigest(), pdf_size=len(pdf),
                       replaces_id=replaces.id if replaces else None)
    try:
        with savepoint(db.session):
            db.session.add(cert)
    except IntegrityError:  # the database's own guard (one valid certificate per deal)
        storage.delete(key)
        raise CertificateError("该成交已出具鉴证书，不能重复出具。", ["已出具"]) from None
    try:
        if listing.state == "certification":
            fire(listing, "certified", reviewer, data={"certificate": cert_no})
        record("certificate.issue", f"出具鉴证书 {cert_no}：{listing.project_no} {listing.title}"
               + (f"（更正并替代 {replaces.cert_no}）" if replaces else ""),
               obj_type="certificate", obj_id=cert.id,
               after={"cert_no": cert_no, "deal": deal.deal_no, "listing": listing.id, "sha256": cert.pdf_sha256,
                      "replaces": replaces.cert_no if replaces else None})
    except BaseException:
        storage.delete(key)
        raise
    return cert


def revoke(reviewer, cert: Certificate, reason: str) -> Certificate:
    """Mark ``cert`` revoked (the verification page says so, with the reason)."""
    require(reviewer, "certificates.issue")
    _lock(cert.deal)
    db.session.refresh(cert)
    reason = (reason or "").strip()
    if cert.state != "valid":
        raise CertificateError(f"鉴证书 {cert.cert_no} 已撤销。", [f"{cert.cert_no} 已撤销"])
    if len(reason) < 4:
        raise CertificateError("请填写撤销理由（至少 4 个字），核验页面将公开显示。", ["撤销理由"])
    if len(reason) > 500:
        raise CertificateError("撤销理由不能超过 500 字。", ["撤销理由"])
    CERTIFICATE.fire(cert, "revoke", reviewer, reason=reason, authorised=True)
    cert.revoked_at = clock.now()
    cert.revoked_by_id = getattr(reviewer, "id", None)
    cert.revoked_reason = reason
    db.session.flush()
    listing = cert.deal.listing
    from exchange.listings.workflow import log_event
    log_event(listing, "certificate_revoked", reviewer, note=f"撤销鉴证书 {cert.cert_no}：{reason}")
    record("certificate.revoke", f"撤销鉴证书 {cert.cert_no}（{reason}）", obj_type="certificate", obj_id=cert.id,
           before={"state": "valid"}, after={"state": "revoked", "reason": reason})
    return cert


def reissue(reviewer, cert: Certificate) -> Certificate:
    """The corrected certificate for a revoked one: a new number, ``replaces_id`` = the revoked one."""
    require(reviewer, "certificates.issue")  # who asks first, then the certificate's state
    if cert.state != "revoked":
        raise CertificateError(f"鉴证书 {cert.cert_no} 仍然有效，须先撤销才能重新出具。", ["先撤销原鉴证书"])
    return issue(reviewer, cert.deal)


def pdf_bytes(cert: Certificate) -> bytes:
    from exchange.storage import get_storage
    return get_storage().open(cert.pdf_key)


# --- verification -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class UploadCheck:
    genuine: bool  # the very file this certificate was issued as, and its signature holds
    hash_matches: bool
    sha256: str
    signature_ok: bool
    signature_message: str
    message: str
    other: Certificate | None = None  # the uploaded file is another certificate's


def check_upload(cert: Certificate, data: bytes) -> UploadCheck:
    """Compare an uploaded PDF with the registered one (SHA-256) and validate its signature."""
    from exchange.certificates import signing
    digest = hashlib.sha256(data).hexdigest()
    sig = signing.verify(data)
    same = digest == cert.pdf_sha256
    other = None
    if not same:
        other = db.session.scalar(select(Certificate).where(Certificate.pdf_sha256 == digest))
    if same and sig.ok:
        state = "" if cert.state == "valid" else f"但该鉴证书已于{_date(clock.to_local(cert.revoked_at))}撤销，不再有效。"
        message = "核验通过：上传的文件与交易中心出具的鉴证书原件完全一致，数字签名有效，未被改动。" + state
        return UploadCheck(cert.state == "valid", True, digest, True, sig.message, message)
    if other is not None:
        message = f"上传的文件不是本鉴证书，而是鉴证书 {other.cert_no}。"
    elif same:
        message = "文件指纹一致，但数字签名验证未通过：" + sig.message
    elif sig.ok:
        message = "核验未通过：文件的数字签名有效，但与本鉴证书登记的原件指纹（SHA-256）不一致，不是本鉴证书原件。"
    else:
        message = "核验未通过：上传的文件与本鉴证书原件不一致（SHA-256 不同），且" + sig.message
    return UploadCheck(False, same, digest, sig.ok, sig.message, message, other)
