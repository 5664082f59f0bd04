"""档案管理: one ZIP per listing with every material, decision record, generated PDF, the ledger entries and
the audit trail of that listing (DESIGN §3.7), downloadable by the center's staff and the supervisor.

Layout of the ZIP::

    README.txt                      what is inside
    manifest.json                   every file with its size and SHA-256 (and the listing's key facts)
    SHA256SUMS                      the same digests in ``sha256sum -c`` format
    01-挂牌材料/…                    the listing's materials (第十二条)
    02-受让登记/<竞买号或登记号>/…     registration materials and deposit receipts
    03-交易文书/…                    announcement, 成交确认书, 竞价记录, offline result document; a procurement
                                    project's terms, 开标记录 (each opened bid document, its sealed bytes and files),
                                    评标委员会抽取记录, 评标报告 and 中标通知书 (exchange/archive/procurement.py)
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
    records/procurement.json        a procurement project's terms, bids, panel (draw, members, scores), outcome, award
    records/ledger.csv              every journal line booked for the listing
    records/audit.csv|json          the audit entries of the listing and of every object that belongs to it

Each stage writes its own part through a :class:`Dossier` — ``archive_records(listing, dossier)`` in its package's
``records.py`` (listings, registrations, payments, trading, contracts, settlement, certificates, incidents, ledger) —
so the archive knows no stage's tables; it adds the decisions, the audit entries of the objects the stages named,
the README, the manifest and the digests.  Built in memory: a listing's archive is small (a few MB).  Documents that cannot be produced (a module not
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

from exchange import clock, labels
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


class Dossier:
    """What a stage writes its part of a listing's archive with (each package's ``archive_records(listing, d)``):
    files into the ZIP, readable texts, the data of ``records/*.json`` and the manifest (``data``), and the objects
    whose audit entries belong to the listing (``objects``).  The stages receive it; they never import the archive."""

    def __init__(self, z: _Zip):
        self._z = z
        self.data: dict = {"decisions": {"registrations": [], "objections": []}}
        self._objects: dict[str, set[str]] = {}

    def add(self, name: str, data: bytes, source: str = "") -> None:
        self._z.add(name, data, source)

    def add_stored(self, name: str, key: str | None, source: str, expected_sha256: str | None = None) -> None:
        self._z.add_stored(name, key, source, expected_sha256)

    def add_generated(self, name: str, make, source: str) -> None:
        self._z.add_generated(name, make, source)

    def problem(self, note: str) -> None:
        """Something the archive found wrong while writing (a digest that does not match): listed in the manifest
        under ``missing``, beside the documents that could not be produced."""
        self._z.missing.append(note[:300])

    def objects(self, kind: str, ids) -> None:
        self._objects.setdefault(kind, set()).update(str(i) for i in ids if i is not None)

    # the shared ways of writing a record
    dumps = staticmethod(_dumps)
    csv = staticmethod(_csv)
    row = staticmethod(_row_dict)
    safe = staticmethod(_safe)
    local = staticmethod(_local)
    txt = staticmethod(_txt)
    people = staticmethod(_people)
    frozen_lines = staticmethod(_frozen_lines)


def _sections():
    """Each stage's ``archive_records(listing, dossier)``, in the order of a listing's life (the trade first: the
    later stages read its deals; a procurement project's 开标, 评标 and 定标 after its deal)."""
    from exchange.archive import procurement
    from exchange.certificates import records as certificates
    from exchange.contracts import records as contracts
    from exchange.incidents import records as incidents
    from exchange.ledger import records as ledger
    from exchange.listings import records as listings
    from exchange.payments import records as payments
    from exchange.registrations import records as registrations
    from exchange.settlement import records as settlement
    from exchange.trading import records as trading
    return (listings, registrations, payments, trading, procurement, contracts, settlement, certificates, incidents,
            ledger)


def build_archive(listing: Listing) -> bytes:
    """The listing's ZIP: each stage writes its part through a :class:`Dossier`; the archive adds the decisions, the
    audit entries of every object the stages named, the README and the digests."""
    from exchange.audit.models import AuditEntry

    z = _Zip()
    d = Dossier(z)
    for section in _sections():
        section.archive_records(listing, d)
    z.add("records/decisions.json", _dumps(d.data["decisions"]), "decisions")

    # the audit entries of the listing and of every object that belongs to it
    conds = [(AuditEntry.object_type == kind) & AuditEntry.object_id.in_(sorted(ids))
             for kind, ids in d._objects.items() if ids]
    audit = list(db.session.scalars(select(AuditEntry).where(or_(*conds)).order_by(AuditEntry.seq)))
    z.add("records/audit.csv", _csv(["序号", "时间", "操作人", "角色", "IP", "操作", "对象类型", "对象", "摘要",
                                     "变更前", "变更后", "前一哈希", "哈希"],
                                    [[a.seq, a.at, a.actor_name, labels.label("role", a.actor_role), a.ip,
                                      labels.label("action", a.action), labels.label("object", a.object_type),
                                      a.object_id, a.summary, a.before, a.after, a.prev_hash, a.hash]
                                     for a in audit]), "audit")
    z.add("records/audit.json", _dumps([_row_dict(a) for a in audit]), "audit")

    readme = (f"临湘市农村产权流转交易平台 项目档案\n项目编号：{listing.project_no or '—'}\n项目名称：{listing.title}\n"
              f"生成时间：{clock.to_local(clock.now()):%Y-%m-%d %H:%M:%S}（北京时间）\n\n"
              "manifest.json 与 SHA256SUMS 列出每个文件的 SHA-256；审计记录 records/audit.json 保留原始数据和哈希链"
              "（records/audit.csv 是供阅读的中文版本），可用 flask audit verify 在平台上核验整条审计链。\n")
    z.add("README.txt", readme.encode("utf-8"), "readme")
    sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in z.files)
    z.add("SHA256SUMS", sums.encode("utf-8"), "manifest")
    deal, deals, certs = d.data.get("current_deal"), d.data.get("deals", []), d.data.get("certificates", [])
    manifest = {"listing": {"id": listing.id, "project_no": listing.project_no, "title": listing.title,
                            "state": listing.state},
                "deal_no": deal.deal_no if deal is not None else None,
                "deals": [{"deal_no": dl.deal_no, "state": dl.state, "price": str(dl.price)} for dl in deals],
                "exceptions": d.data.get("exception_counts"),
                "procurement": d.data.get("procurement"),
                "certificates": [{"cert_no": c.cert_no, "state": c.state, "sha256": c.pdf_sha256} for c in certs],
                "generated_at": clock.now().isoformat(), "files": list(z.files), "missing": z.missing}
    z.zf.writestr(_info("manifest.json"), _dumps(manifest))
    z.zf.close()
    return z.buf.getvalue()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=clock.to_local(clock.now()).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
