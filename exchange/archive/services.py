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
    07-异常处理/…                    exceptions, one readable text per record plus its document: 异议 (objections and
                                    their decisions), 纠纷调解 (notes, outcome, scan), 中止 (frozen clocks, restart,
                                    approving document), 终结 (+ document), 违约 (with the runner-up offers)
    records/listing.json            the listing's own record
    records/history.csv|json        ListingEvent: every transition and decision
    records/decisions.json          registrations' reviews, objections and their decisions
    records/deals.json              every deal of the listing (a defaulted one beside the runner-up's; ``current``)
    records/exceptions.json         the records of 07 as data
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


def _local(value) -> str:
    if value is None:
        return "—"
    return f"{clock.to_local(clock.ensure_aware(value)):%Y-%m-%d %H:%M:%S}（北京时间）"


def _txt(title: str, rows: list[tuple[str, object]], sections: list[tuple[str, list[str]]] = ()) -> bytes:
    """A plain-text record a clerk can read in any viewer: ``标签：值`` lines, then titled sections."""
    out = [title, "=" * 20]
    for label, value in rows:
        text = "—" if value in (None, "") else str(value)
        out.append(f"{label}：{text}" if "\n" not in text else f"{label}：\n  " + text.replace("\n", "\n  "))
    for heading, lines in sections:
        out += ["", f"【{heading}】"] + (lines or ["（无）"])
    return ("\n".join(out) + "\n").encode("utf-8")


def _people(ids) -> dict:
    from exchange.accounts.models import User
    ids = sorted({i for i in ids if i})
    if not ids:
        return {}
    return {u.id: f"{u.display_name}（{u.role_label}）" for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _frozen_lines(raw: str) -> tuple[list, list[str]]:
    """The frozen clocks of a suspension (JSON) and a readable line for each."""
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        return [raw], [raw]
    if not isinstance(items, list):
        items = [items]
    units = {"workdays": "个工作日", "days": "天", "seconds": "秒"}
    lines = []
    for e in items:
        if not isinstance(e, dict):
            lines.append(str(e))
            continue
        what = e.get("label") or f"{e.get('model', '')}.{e.get('field', '')}"
        left = f"剩余 {e.get('remaining')} {units.get(e.get('kind'), e.get('kind') or '')}" if "remaining" in e else ""
        due = f"原到期 {_local(datetime.fromisoformat(e['due']))}" if e.get("due") else ""
        restored = f"重启后到期 {_local(datetime.fromisoformat(e['restored']))}" if e.get("restored") else ""
        lines.append("；".join(x for x in (f"{what}（#{e.get('id', '')}）", left, due, restored) if x))
    return items, lines


def _exception_records(z: _Zip, listing: Listing, deals: list) -> dict:
    """Folder 07: one readable text per objection, dispute (with its notes), suspension (frozen clocks, restart),
    the termination and each default case (with the runner-up offers), plus their stored documents; and the
    same records as JSON for ``records/exceptions.json``."""
    from exchange.incidents.disputes import notes_of
    from exchange.incidents.models import (DISPUTE_STATES, DefaultCase, Dispute, RunnerUpOffer, Suspension,
                                            Termination)
    from exchange.registrations.models import Registration
    from exchange.trading.models import Objection
    from exchange.listings.workflow import STATE_LABELS

    folder = "07-异常处理"
    deal_no = {d.id: d.deal_no for d in deals}
    objections = list(db.session.scalars(select(Objection).where(Objection.deal_id.in_(list(deal_no) or [-1]))
                                         .order_by(Objection.id)))
    disputes = list(db.session.scalars(select(Dispute).where(Dispute.listing_id == listing.id).order_by(Dispute.id)))
    suspensions = list(db.session.scalars(select(Suspension).where(Suspension.listing_id == listing.id)
                                          .order_by(Suspension.id)))
    termination = db.session.scalar(select(Termination).where(Termination.listing_id == listing.id))
    cases = list(db.session.scalars(select(DefaultCase).where(DefaultCase.listing_id == listing.id)
                                    .order_by(DefaultCase.id)))
    offers = list(db.session.scalars(select(RunnerUpOffer).where(RunnerUpOffer.case_id.in_([c.id for c in cases] or [-1]))
                                     .order_by(RunnerUpOffer.id)))
    people = _people([o.decided_by_id for o in objections] + [d.opened_by_id for d in disputes]
                     + [d.closed_by_id for d in disputes]
                     + [x for s in suspensions for x in (s.suspended_by_id, s.restart_requested_by_id, s.restarted_by_id)]
                     + ([termination.decided_by_id] if termination else []) + [c.declared_by_id for c in cases]
                     + [o.offered_by_id for o in offers])
    reg_ids = {c.registration_id for c in cases} | {o.registration_id for o in offers}
    bidder = {r.id: r.bidder_no or f"登记#{r.id}" for r in db.session.scalars(
        select(Registration).where(Registration.id.in_(sorted(reg_ids) or [-1])))}
    state_label = lambda s: STATE_LABELS.get(s, s)  # noqa: E731

    out: dict = {"objections": [], "disputes": [], "suspensions": [], "termination": None, "defaults": []}
    for o in objections:
        z.add(f"{folder}/异议/异议-{o.id:04d}-{deal_no[o.deal_id]}.txt", _txt(
            f"交易公示异议 #{o.id}", [("成交编号", deal_no[o.deal_id]), ("项目编号", listing.project_no),
                                  ("异议人", o.name), ("联系方式", o.contact), ("提出时间", _local(o.filed_at)),
                                  ("事实和理由", o.content), ("处理结果", o.state_label), ("处理意见", o.decision),
                                  ("处理人", people.get(o.decided_by_id)), ("处理时间", _local(o.decided_at))]),
              f"objection#{o.id}")
        out["objections"].append({**_row_dict(o), "deal_no": deal_no[o.deal_id], "state_label": o.state_label})
    for d in disputes:
        notes = notes_of(d)
        name = f"{folder}/纠纷调解/纠纷调解-{d.id:04d}"
        z.add(f"{name}.txt", _txt(
            f"纠纷调解记录 #{d.id}（第二十七条）",
            [("项目编号", listing.project_no), ("状态", DISPUTE_STATES.get(d.state, d.state)), ("申请人", d.applicant),
             ("被申请人", d.respondent), ("其他当事人", d.parties), ("调解请求和事实理由", d.claims),
             ("登记人", people.get(d.opened_by_id)), ("登记时间", _local(d.opened_at)),
             ("调解结果", d.outcome), ("结案人", people.get(d.closed_by_id)), ("结案时间", _local(d.closed_at)),
             ("调解文书", f"{d.document_filename}（SHA-256 {d.document_sha256}）" if d.document_key else None)],
            [("调解记录", [f"{i}. {_local(datetime.fromisoformat(n['at'])) if n.get('at') else '—'} {n.get('by', '')}："
                           f"{n.get('text', '')}" for i, n in enumerate(notes, start=1)])]), f"dispute#{d.id}")
        if d.document_key:
            z.add_stored(f"{name}-调解文书-{_safe(d.document_filename)}", d.document_key, f"dispute#{d.id}",
                         d.document_sha256 or None)
        row = _row_dict(d)
        row.pop("mediation", None)
        out["disputes"].append({**row, "state_label": d.state_label, "notes": notes})
    for s in suspensions:
        frozen, frozen_lines = _frozen_lines(s.frozen)
        name = f"{folder}/中止/中止-{s.id:04d}"
        z.add(f"{name}.txt", _txt(
            f"中止交易 #{s.id}（第二十三条）",
            [("项目编号", listing.project_no), ("状态", s.state_label), ("中止情形", s.ground_label), ("依据", s.basis),
             ("中止前环节", state_label(s.from_state)), ("决定人", people.get(s.suspended_by_id)),
             ("中止时间", _local(s.suspended_at)),
             ("批准文件", f"{s.document_filename}（SHA-256 {s.document_sha256}）" if s.document_key else None),
             ("重启申请", s.restart_reason), ("申请人", people.get(s.restart_requested_by_id)),
             ("申请时间", _local(s.restart_requested_at)), ("重启决定", s.restart_decision),
             ("重启决定人", people.get(s.restarted_by_id)), ("重启时间", _local(s.restarted_at))],
            [("冻结的期限", frozen_lines)]), f"suspension#{s.id}")
        if s.document_key:
            z.add_stored(f"{name}-批准文件-{_safe(s.document_filename)}", s.document_key, f"suspension#{s.id}",
                         s.document_sha256 or None)
        row = _row_dict(s)
        row["frozen"] = frozen
        out["suspensions"].append({**row, "state_label": s.state_label, "ground_label": s.ground_label})
    if termination is not None:
        t = termination
        z.add(f"{folder}/终结/终结交易.txt", _txt(
            "终结交易（第二十四条）",
            [("项目编号", listing.project_no), ("终结情形", t.ground_label), ("依据", t.basis),
             ("终结前环节", state_label(t.from_state)), ("决定人", people.get(t.decided_by_id)),
             ("决定时间", _local(t.decided_at)), ("转入退款的保证金", f"{t.refunds_opened} 笔"),
             ("批准文件", f"{t.document_filename}（SHA-256 {t.document_sha256}）")]), f"termination#{t.id}")
        z.add_stored(f"{folder}/终结/终结交易-批准文件-{_safe(t.document_filename)}", t.document_key,
                     f"termination#{t.id}", t.document_sha256 or None)
        out["termination"] = {**_row_dict(t), "ground_label": t.ground_label}
    for c in cases:
        mine = [o for o in offers if o.case_id == c.id]
        z.add(f"{folder}/违约/违约-{c.id:04d}-{deal_no.get(c.deal_id, c.deal_id)}.txt", _txt(
            f"买受人违约 #{c.id}（第二十二条）",
            [("项目编号", listing.project_no), ("违约的成交", deal_no.get(c.deal_id)),
             ("违约方", bidder.get(c.registration_id)), ("违约情形", c.stage_label), ("处理状态", c.state_label),
             ("认定理由", c.reason), ("没收保证金", f"{c.forfeited} 元"), ("认定人", people.get(c.declared_by_id)),
             ("认定时间", _local(c.declared_at)), ("次高报价人的新成交", deal_no.get(c.new_deal_id, c.new_deal_id)),
             ("重新挂牌的项目", f"#{c.relisting_id}" if c.relisting_id else None)],
            [("向次高报价人的要约", [f"要约 #{o.id}：竞买号 {bidder.get(o.registration_id)}，价格 {o.price} 元，"
                                     f"{o.state_label}；发出 {_local(o.offered_at)}（{people.get(o.offered_by_id, '')}），"
                                     f"答复期限 {_local(o.due_at)}，答复 {_local(o.answered_at)}"
                                     + (f"，说明：{o.answer_note}" if o.answer_note else "") for o in mine])]),
              f"default_case#{c.id}")
        out["defaults"].append({**_row_dict(c), "deal_no": deal_no.get(c.deal_id), "stage_label": c.stage_label,
                                "state_label": c.state_label,
                                "offers": [{**_row_dict(o), "bidder_no": bidder.get(o.registration_id),
                                            "state_label": o.state_label} for o in mine]})
    return {"json": out,
            "objects": {"objection": [o.id for o in objections], "dispute": [d.id for d in disputes],
                        "suspension": [s.id for s in suspensions],
                        "termination": [termination.id] if termination else [],
                        "default_case": [c.id for c in cases], "runner_up_offer": [o.id for o in offers]},
            "counts": {"objections": len(objections), "disputes": len(disputes), "suspensions": len(suspensions),
                       "termination": termination is not None, "defaults": len(cases), "runner_up_offers": len(offers)}}


def build_archive(listing: Listing) -> bytes:
    from exchange.audit.models import AuditEntry
    from exchange.certificates.models import Certificate
    from exchange.ledger.models import JournalEntry, Refund
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
    deal = deal_for(listing)  # the current one (after a default, the runner-up's)
    # every deal of the listing: a defaulted or voided one stays on record beside the one that followed it
    deals = list(db.session.scalars(select(Deal).where(Deal.listing_id == listing.id).order_by(Deal.id)))
    sessions = list(db.session.scalars(select(BiddingSession).where(BiddingSession.listing_id == listing.id)))
    contracts: list = []
    settlements: list = []
    certs: list = []
    from exchange.contracts.models import Contract
    from exchange.settlement.models import Payout, Settlement
    for dl in deals:
        z.add_generated(f"03-交易文书/成交确认书-{dl.deal_no}.pdf", lambda d=dl: docs.confirmation_pdf(d), "deal")
        if dl.session is not None:
            z.add_generated(f"03-交易文书/竞价记录-{dl.deal_no}.pdf",
                            lambda d=dl: docs.bidding_record_pdf(d, with_names=True), "bidding_record")
        if dl.document_key:
            z.add_stored(f"03-交易文书/线下交易结果-{_safe(dl.document_filename)}", dl.document_key, f"deal#{dl.id}")
        for o in db.session.scalars(select(Objection).where(Objection.deal_id == dl.id).order_by(Objection.id)):
            decisions["objections"].append({"id": o.id, "deal_no": dl.deal_no, "filed_at": o.filed_at, "name": o.name,
                                            "content": o.content, "state": o.state, "decision": o.decision,
                                            "decided_by_id": o.decided_by_id, "decided_at": o.decided_at})
        # 04 contract
        contract = db.session.scalar(select(Contract).where(Contract.deal_id == dl.id))
        if contract is not None:
            contracts.append(contract)

            def contract_doc(c=contract):
                from exchange.contracts import services as contracts_svc
                return contracts_svc.contract_pdf(c)
            z.add_generated(f"04-合同/合同文本-{contract.contract_no or dl.deal_no}.pdf", contract_doc, "contract")
            if contract.scan_key:
                z.add_stored(f"04-合同/签章扫描件-{_safe(contract.scan_filename)}", contract.scan_key,
                             f"contract#{contract.id}", contract.scan_sha256 or None)
        # 05 settlement
        settlement = db.session.scalar(select(Settlement).where(Settlement.deal_id == dl.id))
        if settlement is not None:
            settlements.append(settlement)

            def statement(st=settlement):
                from exchange.settlement import documents as sdocs
                return sdocs.statement_pdf(st, full_account=True)
            z.add_generated(f"05-结算/结算单-{settlement.payment_ref}.pdf", statement, "settlement")
            if settlement.receipt_key:
                z.add_stored(f"05-结算/价款回单-{_safe(settlement.receipt_filename)}", settlement.receipt_key,
                             f"settlement#{settlement.id}")
        # 06 certificates
        for c in db.session.scalars(select(Certificate).where(Certificate.deal_id == dl.id).order_by(Certificate.id)):
            certs.append(c)
            z.add_stored(f"06-鉴证书/鉴证书-{c.year}-{c.seq:06d}-{c.state_label}.pdf", c.pdf_key,
                         f"certificate#{c.id}", c.pdf_sha256)

    # 07 exceptions: objections, disputes, suspensions, termination, defaults and runner-up offers
    exceptions = _exception_records(z, listing, deals)

    # records
    z.add("records/listing.json", _dumps(_row_dict(listing)), "listing")
    events = list(listing.events)
    z.add("records/history.csv", _csv(["时间", "操作", "原状态", "新状态", "操作人", "说明", "数据"],
                                      [[e.at, e.action, e.from_state, e.to_state, e.actor_name, e.note, e.data]
                                       for e in events]), "listing_event")
    z.add("records/history.json", _dumps([_row_dict(e) for e in events]), "listing_event")
    z.add("records/decisions.json", _dumps(decisions), "decisions")
    z.add("records/deals.json", _dumps([{**_row_dict(dl), "current": deal is not None and dl.id == deal.id}
                                        for dl in deals]), "deal")
    z.add("records/exceptions.json", _dumps(exceptions["json"]), "exceptions")

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
    add_obj("deal", [dl.id for dl in deals])
    add_obj("objection", [o["id"] for o in decisions["objections"]])
    add_obj("certificate", [c.id for c in certs])
    add_obj("contract", [c.id for c in contracts])
    add_obj("settlement", [st.id for st in settlements])
    if settlements:
        add_obj("payout", db.session.scalars(select(Payout.id).where(
            Payout.settlement_id.in_([st.id for st in settlements]))))
    for kind, ids in exceptions["objects"].items():
        add_obj(kind, ids)
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
                "deals": [{"deal_no": dl.deal_no, "state": dl.state, "price": str(dl.price)} for dl in deals],
                "exceptions": exceptions["counts"],
                "certificates": [{"cert_no": c.cert_no, "state": c.state, "sha256": c.pdf_sha256} for c in certs],
                "generated_at": clock.now().isoformat(), "files": list(z.files), "missing": z.missing}
    z.zf.writestr(_info("manifest.json"), _dumps(manifest))
    z.zf.close()
    return z.buf.getvalue()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=clock.to_local(clock.now()).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
