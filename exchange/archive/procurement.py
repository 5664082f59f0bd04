"""A procurement project's part of its listing's archive (招标/采购/招商, issue 18 item 8; DESIGN §3.7, §3.12).

Written like every stage's ``archive_records(listing, dossier)`` (see :mod:`exchange.archive.services`); it lives here
rather than in ``exchange/procurement/records.py`` only because that package was being changed at the same time —
it reads the procurement services and tables and nothing of the archive but the :class:`Dossier` it is handed.

Under ``03-交易文书/`` (the trade's documents)::

    招标采购公告-<项目编号>.pdf                    the announcement as published (terms, limit, method, 开标 time)
    招标采购条款.txt                              the terms in words: what the announcement fixed
    开标记录.txt                                  every bid as the opening left it (and the withdrawn ones)
    开标记录/<序号>-<投标人>-投标文件.json          an opened bid document, byte for byte (its SHA-256 is the receipt)
    开标记录/<序号>-<投标人>-密封原件.bin           the sealed bytes kept until the opening (open with the key)
    开标记录/<序号>-<投标人>-附件<n>-<文件名>        each opened file (its SHA-256 checked against the bid document)
    评标委员会抽取记录.txt                         the draw: specialty, size, seed, eligible, excluded with why, members,
                                                 each signed sheet's digest (recomputed and compared)
    评标报告-<项目编号>.pdf                       documents.report_pdf, once the evaluation is complete
    中标通知书-<编号>.pdf                          documents.notice_pdf, once the winner is confirmed

and ``records/procurement.json``: the same as data (terms, bids, panel with the members' scores, the outcome, the
award).  The audit entries of the bids and of the panel join the listing's (``records/audit.*``).

Checks made while writing, never silently: an opened document whose SHA-256 is not its receipt, a file whose digest
is not the one in its bid document, a draw that the seed does not give again, a signed sheet whose digest does not
match its scores — each is listed under ``missing`` in the manifest (the file is kept).
"""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exchange.extensions import db
from exchange.procurement import documents, scoring
from exchange.procurement import panel as panel_draw
from exchange.procurement import services as psvc
from exchange.procurement.models import (DIRECTIONS, EVAL_KINDS, KINDS, SPECIALTIES, Expert, ProcurementBid,
                                         ProcurementPanel)
from exchange.procurement.states import BidState, ProcState

FOLDER = "03-交易文书"


def _hex(value) -> str | None:
    return bytes(value).hex() if value else None


def _terms(listing, project) -> dict:
    scored = project.eval_kind == "scored"
    return {
        "project_no": listing.project_no, "title": listing.title,
        "mode": listing.method.name if listing.method else "", "stage": project.state,
        "stage_label": ProcState.label_of(project.state),
        "kind": project.kind, "kind_label": KINDS.get(project.kind, ""),
        "purchaser": listing.transferor_name, "budget": project.budget, "limit_price": project.limit_price,
        "limit_label": project.limit_label, "bond": listing.deposit_amount,
        "eval_kind": project.eval_kind, "eval_label": EVAL_KINDS.get(project.eval_kind, project.eval_kind),
        "direction": project.direction, "direction_label": DIRECTIONS.get(project.direction, project.direction),
        "price_weight": project.price_weight if scored else None, "criteria": project.criteria if scored else [],
        "trim_extremes": project.trim_extremes, "specialty": project.specialty,
        "specialty_label": SPECIALTIES.get(project.specialty, ""), "panel_size": project.panel_size,
        "min_bids": psvc.min_bids(project), "scope": project.scope, "requirements": project.requirements,
        "published_at": listing.published_at, "opens_at": project.opens_at, "opened_at": project.opened_at,
        "evaluated_at": project.evaluated_at, "public_key": _hex(project.public_key),
        "opened_key": _hex(project.opened_key),  # NULL before the opening: the private key is never archived earlier
    }


def _terms_text(d, t: dict) -> bytes:
    rows = [("项目编号", t["project_no"]), ("项目名称", t["title"]), ("方式", t["mode"]), ("阶段", t["stage_label"]),
            ("项目类别", t["kind_label"]), ("采购人", t["purchaser"]), ("预算金额（元）", t["budget"]),
            (f"{t['limit_label']}（元）", t["limit_price"]), ("投标保证金（元）", t["bond"]),
            ("评标办法", t["eval_label"]), ("报价方向", t["direction_label"])]
    if t["eval_kind"] == "scored":
        rows += [("价格分值", t["price_weight"]),
                 ("评分因素", "；".join(f"{c['name']} {c['weight']} 分" for c in t["criteria"])),
                 ("去掉最高最低分", "是" if t["trim_extremes"] else "否"),
                 ("评标专家专业", t["specialty_label"]), ("评标委员会人数", t["panel_size"])]
    rows += [("开标所需最少投标数", t["min_bids"]), ("采购内容", t["scope"]), ("投标人资格要求", t["requirements"]),
             ("公告发布", d.local(t["published_at"])), ("投标截止暨开标时间", d.local(t["opens_at"])),
             ("开标", d.local(t["opened_at"])), ("评标完成", d.local(t["evaluated_at"])),
             ("项目公钥", t["public_key"]), ("开标时公布的私钥", t["opened_key"])]
    return d.txt("招标采购条款", rows)


def _bid_name(bid) -> str:
    return bid.supplier.display_name if bid.supplier is not None else f"投标人{bid.supplier_id}"


def _bids(listing, project, d, problems: list[str]) -> list[dict]:
    bids = list(db.session.scalars(select(ProcurementBid).where(ProcurementBid.listing_id == listing.id)
                                   .options(selectinload(ProcurementBid.files), selectinload(ProcurementBid.supplier))
                                   .order_by(ProcurementBid.submitted_at, ProcurementBid.id)))
    out, lines = [], []
    for n, bid in enumerate(bids, start=1):
        name = _bid_name(bid)
        row = {"id": bid.id, "seq": n, "registration_id": bid.registration_id, "supplier_id": bid.supplier_id,
               "supplier": name, "state": bid.state, "state_label": BidState.label_of(bid.state),
               "receipt": bid.receipt, "submitted_at": bid.submitted_at, "withdrawn_at": bid.withdrawn_at,
               "opened_at": bid.opened_at, "price": bid.price, "invalid_reason": bid.invalid_reason,
               "invalid_by_id": bid.invalid_by_id, "invalid_at": bid.invalid_at,
               "files": [{"seq": f.seq, "filename": f.filename, "content_type": f.content_type, "sha256": f.sha256}
                         for f in bid.files]}
        out.append(row)
        price = f"{bid.price:,.2f} 元" if bid.price is not None else "（开标前密封，无从读取）"
        lines.append(f"{n}. {name}（{row['state_label']}）报价 {price}；递交 {d.local(bid.submitted_at)}；"
                     f"回执 {bid.receipt}" + (f"；撤回 {d.local(bid.withdrawn_at)}" if bid.withdrawn_at else "")
                     + (f"；否决：{bid.invalid_reason}" if bid.invalid_reason else ""))
        if bid.state != "opened":
            continue
        base = f"{FOLDER}/开标记录/{n:02d}-{d.safe(name)}"
        document = (bid.document or "").encode("utf-8")
        if hashlib.sha256(document).hexdigest() != bid.receipt:
            problems.append(f"{base}-投标文件.json：SHA-256 与回执不符（procurement_bid#{bid.id}）")
        d.add(f"{base}-投标文件.json", document, f"procurement_bid#{bid.id}")
        d.add(f"{base}-密封原件.bin", bytes(bid.sealed), f"procurement_bid#{bid.id}")
        expected = json.loads(bid.document).get("documents", {}) if bid.document else {}
        for f in bid.files:
            if expected.get(f"{f.seq}-{f.filename}") != f.sha256:
                problems.append(f"{base}-附件{f.seq}：摘要与投标文件所列不符（procurement_bid_file#{f.id}）")
            d.add_stored(f"{base}-附件{f.seq}-{d.safe(f.filename)}", f.open_key, f"procurement_bid_file#{f.id}",
                         f.sha256)
    head = [f"开标时间：{d.local(project.opened_at)}" if project.opened_at else "尚未开标：投标均为密封状态，无从读取报价。",
            f"开标时公布的私钥：{_hex(project.opened_key) or '—'}"]
    d.add(f"{FOLDER}/开标记录.txt", d.txt("开标记录", [("项目编号", listing.project_no), ("项目名称", listing.title)],
                                         [("开标", head), ("投标（按递交时间）", lines)]), "procurement_bid")
    return out


def _panel(listing, d, problems: list[str]) -> dict | None:
    panel = db.session.scalar(select(ProcurementPanel).where(ProcurementPanel.listing_id == listing.id))
    if panel is None:
        return None
    experts = {e.id: e for e in db.session.scalars(select(Expert).where(
        Expert.id.in_({m.expert_id for m in panel.members} | set(panel.eligible) | set(panel.excluded))))}
    chosen = tuple(m.expert_id for m in panel.members)
    redone = panel_draw.redo(panel_draw.Draw(panel.seed, tuple(panel.eligible), chosen))
    if redone != chosen:
        problems.append(f"{FOLDER}/评标委员会抽取记录.txt：按记录的种子和候选名单重抽的结果与记录不符")

    def who(expert_id) -> str:
        e = experts.get(expert_id)
        return f"{e.name}（{e.employer}）" if e is not None else f"专家 #{expert_id}"

    members = []
    for m in panel.members:
        digest = hashlib.sha256(scoring.sheet_document(m)).hexdigest() if m.signed_at else None
        if m.signed_at and digest != m.sheet_digest:
            problems.append(f"{FOLDER}/评标委员会抽取记录.txt：评委 {m.seq} 的评分表摘要与其评分不符")
        e = experts.get(m.expert_id)
        members.append({"seq": m.seq, "expert_id": m.expert_id, "name": e.name if e else "",
                        "employer": e.employer if e else "", "signed_at": m.signed_at, "sheet_digest": m.sheet_digest,
                        "digest_recomputed": digest,
                        "scores": {str(b): {k: str(v) for k, v in row.items()}
                                   for b, row in sorted(scoring.sheet(m).items())}})
    record = {"id": panel.id, "specialty": panel.specialty, "specialty_label": SPECIALTIES.get(panel.specialty, ""),
              "size": panel.size, "seed": panel.seed, "eligible": panel.eligible,
              "excluded": {str(k): v for k, v in panel.excluded.items()}, "drawn_at": panel.drawn_at,
              "drawn_by_id": panel.drawn_by_id, "chosen": list(chosen), "redo": list(redone),
              "redo_matches": redone == chosen, "members": members}
    d.add(f"{FOLDER}/评标委员会抽取记录.txt", d.txt("评标委员会抽取记录", [
        ("项目编号", listing.project_no), ("专业", record["specialty_label"]), ("人数", panel.size),
        ("抽取时间", d.local(panel.drawn_at)), ("抽取人", d.people([panel.drawn_by_id]).get(panel.drawn_by_id, "—")),
        ("随机种子", panel.seed), ("以种子重抽核对", "一致" if redone == chosen else "不一致")], [
        ("可抽取的专家（按编号）", [who(i) for i in panel.eligible]),
        ("回避的专家", [f"{who(i)}：{why}" for i, why in sorted(panel.excluded.items())]),
        ("评标委员会成员（按抽取顺序）",
         [f"评委 {m['seq']}：{who(m['expert_id'])}；"
          + (f"{d.local(m['signed_at'])} 签署，评分表 SHA-256 {m['sheet_digest']}"
             + ("（核对一致）" if m["digest_recomputed"] == m["sheet_digest"] else "（核对不一致）")
             if m["signed_at"] else "未签署") for m in members])]), "procurement_panel")
    return record


def archive_records(listing, d) -> None:
    if not listing.is_procurement:
        return
    project = psvc.project_of(listing)
    if project is None:
        return
    problems: list[str] = []
    terms = _terms(listing, project)
    if listing.project_no:
        from exchange.pdf import render_pdf
        d.add_generated(f"{FOLDER}/招标采购公告-{listing.project_no}.pdf",
                        lambda: render_pdf("procurement/announcement_pdf.html", listing=listing),
                        "procurement_announcement")
    d.add(f"{FOLDER}/招标采购条款.txt", _terms_text(d, terms), "procurement_project")
    bids = _bids(listing, project, d, problems)
    panel = _panel(listing, d, problems)
    outcome = json.loads(project.outcome_json) if project.outcome_json else None
    if project.evaluated_at is not None:
        d.add_generated(f"{FOLDER}/评标报告-{listing.project_no}.pdf", lambda: documents.report_pdf(listing),
                        "procurement_report")
    award = None
    if project.awarded_at is not None and project.winner_registration_id is not None:
        award = {"registration_id": project.winner_registration_id, "awarded_at": project.awarded_at,
                 "awarded_by_id": project.awarded_by_id, "reason": project.award_reason,
                 "approved_by_id": project.award_approved_by_id, "notice_no": project.notice_no}
        d.add_generated(f"{FOLDER}/中标通知书-{d.safe(project.notice_no or listing.project_no)}.pdf",
                        lambda: documents.notice_pdf(listing), "procurement_notice")
    d.add("records/procurement.json", d.dumps({"terms": terms, "bids": bids, "panel": panel, "outcome": outcome,
                                               "award": award, "checks": problems}), "procurement_project")
    for p in problems:
        d.problem(p)
    d.data["procurement"] = {"stage": project.state, "opened_bids": sum(1 for b in bids if b["state"] == "opened"),
                             "panel_seed": panel["seed"] if panel else None, "notice_no": project.notice_no,
                             "checks": problems}
    d.objects("procurement_bid", [b["id"] for b in bids])
    d.objects("procurement_panel", [panel["id"]] if panel else [])
