"""档案管理: one ZIP per listing with every material, decision record, generated PDF, the ledger entries and
the audit trail of that listing (DESIGN §3.7), downloadable by the center's staff and the supervisor.

Layout of the ZIP::

    README.txt                      what is inside
    manifest.json                   every file with its size and SHA-256 (and the listing's key facts)
    SHA256SUMS                      the same digests in ``sha256sum -c`` format
    01-挂牌材料/…                    the listing's materials (第十二条)
    02-受让登记/<竞买号或登记号>/…     registration materials and deposit receipts
    03-交易文书/…                    announcement, 成交确认书, 竞价记录, offline result document
    04-合同/…                        contract PDF (when the contracts module renders one) and the signed scan
    05-结算/…                        settlement statement (when available) and the balance's receipt
    06-鉴证书/…                      every certificate issued (valid and revoked)
    records/listing.json            the listing's own record
    records/history.csv|json        ListingEvent: every transition and decision
    records/decisions.json          registrations' reviews, objections and their decisions
    records/ledger.csv              every journal line booked for the listing
    records/audit.csv|json          the audit entries of the listing and of every object that belongs to it

Built in memory: a listing's archive is small (a few MB).  Documents that cannot be produced (a module not
yet there, a missing blob) are listed in ``manifest.json`` under ``missing`` instead of failing the download.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import or_, select

from exchange import clock
from exchange.extensions import db
from exchange.listings.models import Listing

EXT = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default).encode("utf-8")


def _csv(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else (v.isoformat() if isinstance(v, (datetime, date)) else v) for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly


def _row_dict(obj) -> dict:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


class _Zip:
    def __init__(self):
        self.buf = io.BytesIO()
        self.zf = zipfile.ZipFile(self.buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self.files: list[dict] = []
        self.missing: list[str] = []
        self._names: set[str] = set()

    def add(self, name: str, data: bytes, source: str = "") -> None:
        base, dot, ext = name.rpartition(".")
        candidate, n = name, 1
        while candidate in self._names:
            n += 1
            candidate = f"{base}-{n}.{ext}" if dot else f"{name}-{n}"
        self._names.add(candidate)
        info = zipfile.ZipInfo(candidate, date_time=clock.to_local(clock.now()).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.flag_bits |= 0x800  # UTF-8 file names
        self.zf.writestr(info, data)
        self.files.append({"path": candidate, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                           "source": source})

    def add_stored(self, name: str, key: str | None, source: str, expected_sha256: str | None = None) -> None:
        if not key:
            return
        from exchange.storage import get_storage
        try:
            data = get_storage().open(key)
        except (FileNotFoundError, ValueError):
            self.missing.append(f"{name}：存储中找不到文件（{source}）")
            return
        if expected_sha256 and hashlib.sha256(data).hexdigest() != expected_sha256:
            self.missing.append(f"{name}：文件指纹与登记不符（{source}）")
        self.add(name, data, source)

    def add_generated(self, name: str, make, source: str) -> None:
        try:
            data = make()
        except Exception as exc:  # noqa: BLE001 — one document that cannot be made must not stop the archive
            self.missing.append(f"{name}：无法生成（{type(exc).__name__}: {exc}）"[:300])
            return
        if data:
            self.add(name, data, source)


def _safe(name: str) -> str:
    return "".join(ch for ch in (name or "") if ch not in '/\\:*?"<>|\x00').strip() or "附件"


def build_archive(listing: Listing) -> bytes:
    from exchange.audit.models import AuditEntry
    from exchange.certificates.models import Certificate
    from exchange.ledger.models import JournalEntry, JournalLine, LedgerAccount, Refund
    from exchange.payments.models import DepositArrival
    from exchange.registrations.models import Registration
    from exchange.trading import documents as docs
    from exchange.trading.models import BiddingSession, Deal, Objection

    z = _Zip()
    # 01 listing materials
    for m in listing.materials:
        z.add_stored(f"01-挂牌材料/{m.id:04d}-{_safe(m.kind)}-{_safe(m.filename)}", m.storage_key,
                     f"listing_material#{m.id}", m.sha256)

    # 02 registrations: materials and deposit receipts
    regs = list(db.session.scalars(select(Registration).where(Registration.listing_id == listing.id)
                                   .order_by(Registration.id)))
    decisions: dict = {"registrations": [], "objections": []}
    for reg in regs:
        folder = f"02-受让登记/{reg.id:04d}-{reg.bidder_no or '未编号'}"
        for m in getattr(reg, "materials", []):
            z.add_stored(f"{folder}/{_safe(m.kind)}-{_safe(m.filename)}", m.storage_key,
                         f"registration_material#{m.id}", m.sha256)
        arrival = db.session.scalar(select(DepositArrival).where(DepositArrival.registration_id == reg.id))
        if arrival is not None and arrival.receipt_key:
            z.add_stored(f"{folder}/保证金回单-{_safe(arrival.receipt_filename)}", arrival.receipt_key,
                         f"deposit_arrival#{arrival.id}", arrival.receipt_sha256 or None)
        decisions["registrations"].append({
            "id": reg.id, "buyer_id": reg.buyer_id, "bidder_no": reg.bidder_no, "state": reg.state,
            "reviewed_by_id": reg.reviewed_by_id, "reviewed_at": reg.reviewed_at, "review_note": reg.review_note,
            "priority_right": reg.priority_right, "priority_basis": reg.priority_basis,
            "deposit_amount": reg.deposit_amount, "paid_at": reg.paid_at,
            "deposit_arrival": None if arrival is None else {"source": arrival.source, "source_ref": arrival.source_ref,
                                                              "amount": arrival.amount, "arrived_at": arrival.arrived_at}})

    # 03 trading documents
    if listing.project_no:
        def announcement():
            from exchange.pdf import render_pdf
            return render_pdf("public/announcement_pdf.html", listing=listing)
        z.add_generated(f"03-交易文书/挂牌公告-{listing.project_no}.pdf", announcement, "announcement")
    from exchange.trading.services import deal_for
    deal = deal_for(listing)
    sessions = list(db.session.scalars(select(BiddingSession).where(BiddingSession.listing_id == listing.id)))
    contract = settlement = None
    certs: list = []
    if deal is not None:
        z.add_generated(f"03-交易文书/成交确认书-{deal.deal_no}.pdf", lambda: docs.confirmation_pdf(deal), "deal")
        if deal.session is not None:
            z.add_generated(f"03-交易文书/竞价记录-{deal.deal_no}.pdf",
                            lambda: docs.bidding_record_pdf(deal, with_names=True), "bidding_record")
        if deal.document_key:
            z.add_stored(f"03-交易文书/线下交易结果-{_safe(deal.document_filename)}", deal.document_key, f"deal#{deal.id}")
        for o in db.session.scalars(select(Objection).where(Objection.deal_id == deal.id).order_by(Objection.id)):
            decisions["objections"].append({"id": o.id, "filed_at": o.filed_at, "name": o.name, "content": o.content,
                                            "state": o.state, "decision": o.decision,
                                            "decided_by_id": o.decided_by_id, "decided_at": o.decided_at})
        # 04 contract
        from exchange.contracts.models import Contract
        contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
        if contract is not None:
            def contract_doc(c=contract):
                from exchange.contracts import services as contracts
                return contracts.contract_pdf(c)
            z.add_generated(f"04-合同/合同文本-{contract.contract_no or contract.id}.pdf", contract_doc, "contract")
            if contract.scan_key:
                z.add_stored(f"04-合同/签章扫描件-{_safe(contract.scan_filename)}", contract.scan_key,
                             f"contract#{contract.id}", contract.scan_sha256 or None)
        # 05 settlement
        from exchange.settlement.models import Payout, Settlement
        settlement = db.session.scalar(select(Settlement).where(Settlement.deal_id == deal.id))
        if settlement is not None:
            def statement(s=settlement):
                from exchange.settlement import documents as sdocs
                return sdocs.statement_pdf(s, full_account=True)
            z.add_generated(f"05-结算/结算单-{settlement.payment_ref}.pdf", statement, "settlement")
            if settlement.receipt_key:
                z.add_stored(f"05-结算/价款回单-{_safe(settlement.receipt_filename)}", settlement.receipt_key,
                             f"settlement#{settlement.id}")
        # 06 certificates
        certs = list(db.session.scalars(select(Certificate).where(Certificate.deal_id == deal.id)
                                        .order_by(Certificate.id)))
        for c in certs:
            z.add_stored(f"06-鉴证书/鉴证书-{c.year}-{c.seq:06d}-{c.state_label}.pdf", c.pdf_key,
                         f"certificate#{c.id}", c.pdf_sha256)

    # records
    z.add("records/listing.json", _dumps(_row_dict(listing)), "listing")
    events = list(listing.events)
    z.add("records/history.csv", _csv(["时间", "操作", "原状态", "新状态", "操作人", "说明", "数据"],
                                      [[e.at, e.action, e.from_state, e.to_state, e.actor_name, e.note, e.data]
                                       for e in events]), "listing_event")
    z.add("records/history.json", _dumps([_row_dict(e) for e in events]), "listing_event")
    z.add("records/decisions.json", _dumps(decisions), "decisions")

    entries = list(db.session.scalars(select(JournalEntry).where(JournalEntry.listing_id == listing.id)
                                      .order_by(JournalEntry.id)))
    ledger_rows = []
    for e in entries:
        for line in e.lines:
            ledger_rows.append([e.id, e.at, e.kind, e.memo, e.idempotency_key, line.account.code, line.account.name,
                                str(line.amount)])
    z.add("records/ledger.csv", _csv(["分录号", "时间", "类型", "摘要", "幂等键", "科目代码", "科目名称",
                                      "金额（借正贷负）"], ledger_rows), "journal")

    # the audit entries of the listing and of every object that belongs to it
    objects: dict[str, set[str]] = {"listing": {str(listing.id)}}

    def add_obj(kind: str, ids) -> None:
        objects.setdefault(kind, set()).update(str(i) for i in ids if i is not None)

    add_obj("registration", [r.id for r in regs])
    add_obj("journal_entry", [e.id for e in entries])
    add_obj("bidding_session", [s.id for s in sessions])
    add_obj("refund", db.session.scalars(select(Refund.id).where(Refund.listing_id == listing.id)))
    if deal is not None:
        add_obj("deal", [deal.id])
        add_obj("objection", [o["id"] for o in decisions["objections"]])
        add_obj("certificate", [c.id for c in certs])
        if contract is not None:
            add_obj("contract", [contract.id])
        if settlement is not None:
            add_obj("settlement", [settlement.id])
            add_obj("payout", db.session.scalars(select(Payout.id).where(Payout.settlement_id == settlement.id)))
    conds = [(AuditEntry.object_type == kind) & AuditEntry.object_id.in_(sorted(ids))
             for kind, ids in objects.items() if ids]
    audit = list(db.session.scalars(select(AuditEntry).where(or_(*conds)).order_by(AuditEntry.seq)))
    z.add("records/audit.csv", _csv(["序号", "时间", "操作人", "角色", "IP", "操作", "对象类型", "对象", "摘要",
                                     "变更前", "变更后", "前一哈希", "哈希"],
                                    [[a.seq, a.at, a.actor_name, a.actor_role, a.ip, a.action, a.object_type,
                                      a.object_id, a.summary, a.before, a.after, a.prev_hash, a.hash]
                                     for a in audit]), "audit")
    z.add("records/audit.json", _dumps([_row_dict(a) for a in audit]), "audit")

    readme = (f"临湘市农村产权流转交易平台 项目档案\n项目编号：{listing.project_no or '—'}\n项目名称：{listing.title}\n"
              f"生成时间：{clock.to_local(clock.now()):%Y-%m-%d %H:%M:%S}（北京时间）\n\n"
              "manifest.json 与 SHA256SUMS 列出每个文件的 SHA-256；审计记录（records/audit.*）带哈希链，"
              "可用 flask audit verify 在平台上核验整条审计链。\n")
    z.add("README.txt", readme.encode("utf-8"), "readme")
    sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in z.files)
    z.add("SHA256SUMS", sums.encode("utf-8"), "manifest")
    manifest = {"listing": {"id": listing.id, "project_no": listing.project_no, "title": listing.title,
                            "state": listing.state},
                "deal_no": deal.deal_no if deal is not None else None,
                "certificates": [{"cert_no": c.cert_no, "state": c.state, "sha256": c.pdf_sha256} for c in certs],
                "generated_at": clock.now().isoformat(), "files": list(z.files), "missing": z.missing}
    z.zf.writestr(_info("manifest.json"), _dumps(manifest))
    z.zf.close()
    return z.buf.getvalue()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=clock.to_local(clock.now()).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
