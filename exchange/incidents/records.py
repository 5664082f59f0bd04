"""The incidents' part of a listing's archive (07-异常处理): one readable text per objection, dispute, suspension,
the termination and each default case, with their documents; the same as data in ``records/exceptions.json``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from exchange.extensions import db


def archive_records(listing, ar) -> None:
    """Folder 07: one readable text per objection, dispute (with its notes), suspension (frozen clocks, restart),
    the termination and each default case (with the runner-up offers), plus their stored documents; and the
    same records as JSON for ``records/exceptions.json`` and their counts for the manifest."""
    from exchange.incidents.disputes import notes_of
    from exchange.incidents.models import (DISPUTE_STATES, DefaultCase, Dispute, RunnerUpOffer, Suspension,
                                            Termination)
    from exchange.registrations.models import Registration
    from exchange.trading.models import Objection
    from exchange.listings.workflow import STATE_LABELS

    folder = "07-异常处理"
    deals = ar.data.get("deals", [])
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
    people = ar.people([o.decided_by_id for o in objections] + [d.opened_by_id for d in disputes]
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
        ar.add(f"{folder}/异议/异议-{o.id:04d}-{deal_no[o.deal_id]}.txt", ar.txt(
            f"交易公示异议 #{o.id}", [("成交编号", deal_no[o.deal_id]), ("项目编号", listing.project_no),
                                  ("异议人", o.name), ("联系方式", o.contact), ("提出时间", ar.local(o.filed_at)),
                                  ("事实和理由", o.content), ("处理结果", o.state_label), ("处理意见", o.decision),
                                  ("处理人", people.get(o.decided_by_id)), ("处理时间", ar.local(o.decided_at))]),
              f"objection#{o.id}")
        out["objections"].append({**ar.row(o), "deal_no": deal_no[o.deal_id], "state_label": o.state_label})
    for d in disputes:
        notes = notes_of(d)
        name = f"{folder}/纠纷调解/纠纷调解-{d.id:04d}"
        ar.add(f"{name}.txt", ar.txt(
            f"纠纷调解记录 #{d.id}（第二十七条）",
            [("项目编号", listing.project_no), ("状态", DISPUTE_STATES.get(d.state, d.state)), ("申请人", d.applicant),
             ("被申请人", d.respondent), ("其他当事人", d.parties), ("调解请求和事实理由", d.claims),
             *([("申请方式", f"当事人在线申请（{d.applicant_side_label}）"), ("调解请求", d.requests),
                ("申请人的证据", f"{d.evidence_filename}（SHA-256 {d.evidence_sha256}）" if d.evidence_key else None),
                ("受理时间", ar.local(d.accepted_at))] if d.applied_online else []),
             ("登记人", people.get(d.opened_by_id)), ("登记时间", ar.local(d.opened_at)),
             ("调解结果", d.outcome), ("结案人", people.get(d.closed_by_id)), ("结案时间", ar.local(d.closed_at)),
             ("调解文书", f"{d.document_filename}（SHA-256 {d.document_sha256}）" if d.document_key else None)],
            [("调解记录", [f"{i}. {ar.local(datetime.fromisoformat(n['at'])) if n.get('at') else '—'} {n.get('by', '')}："
                           f"{n.get('text', '')}" for i, n in enumerate(notes, start=1)])]), f"dispute#{d.id}")
        if d.document_key:
            ar.add_stored(f"{name}-调解文书-{ar.safe(d.document_filename)}", d.document_key, f"dispute#{d.id}",
                         d.document_sha256 or None)
        if d.evidence_key:
            ar.add_stored(f"{name}-申请人证据-{ar.safe(d.evidence_filename)}", d.evidence_key, f"dispute#{d.id}",
                         d.evidence_sha256 or None)
        row = ar.row(d)
        row.pop("mediation", None)
        out["disputes"].append({**row, "state_label": d.state_label, "notes": notes})
    for s in suspensions:
        frozen, frozen_lines = ar.frozen_lines(s.frozen)
        name = f"{folder}/中止/中止-{s.id:04d}"
        ar.add(f"{name}.txt", ar.txt(
            f"中止交易 #{s.id}（第二十三条）",
            [("项目编号", listing.project_no), ("状态", s.state_label), ("中止情形", s.ground_label), ("依据", s.basis),
             ("中止前环节", state_label(s.from_state)), ("决定人", people.get(s.suspended_by_id)),
             ("中止时间", ar.local(s.suspended_at)),
             ("批准文件", f"{s.document_filename}（SHA-256 {s.document_sha256}）" if s.document_key else None),
             ("重启申请", s.restart_reason), ("申请人", people.get(s.restart_requested_by_id)),
             ("申请时间", ar.local(s.restart_requested_at)), ("重启决定", s.restart_decision),
             ("重启决定人", people.get(s.restarted_by_id)), ("重启时间", ar.local(s.restarted_at))],
            [("冻结的期限", frozen_lines)]), f"suspension#{s.id}")
        if s.document_key:
            ar.add_stored(f"{name}-批准文件-{ar.safe(s.document_filename)}", s.document_key, f"suspension#{s.id}",
                         s.document_sha256 or None)
        row = ar.row(s)
        row["frozen"] = frozen
        out["suspensions"].append({**row, "state_label": s.state_label, "ground_label": s.ground_label})
    if termination is not None:
        t = termination
        ar.add(f"{folder}/终结/终结交易.txt", ar.txt(
            "终结交易（第二十四条）",
            [("项目编号", listing.project_no), ("终结情形", t.ground_label), ("依据", t.basis),
             ("终结前环节", state_label(t.from_state)), ("决定人", people.get(t.decided_by_id)),
             ("决定时间", ar.local(t.decided_at)), ("转入退款的保证金", f"{t.refunds_opened} 笔"),
             ("批准文件", f"{t.document_filename}（SHA-256 {t.document_sha256}）")]), f"termination#{t.id}")
        ar.add_stored(f"{folder}/终结/终结交易-批准文件-{ar.safe(t.document_filename)}", t.document_key,
                     f"termination#{t.id}", t.document_sha256 or None)
        out["termination"] = {**ar.row(t), "ground_label": t.ground_label}
    for c in cases:
        mine = [o for o in offers if o.case_id == c.id]
        ar.add(f"{folder}/违约/违约-{c.id:04d}-{deal_no.get(c.deal_id, c.deal_id)}.txt", ar.txt(
            f"认定违约 #{c.id}（第二十二条）",
            [("项目编号", listing.project_no), ("违约的成交", deal_no.get(c.deal_id)),
             ("违约方", c.party_label + (f"（竞买号 {bidder.get(c.registration_id)}）" if c.buyer_in_default else "")),
             ("违约情形", c.stage_label), ("处理状态", c.state_label),
             ("认定理由", c.reason),
             ("受让方保证金", f"没收 {c.forfeited} 元" if c.buyer_in_default else "全额退还"),
             ("损失赔偿", f"纠纷调解 #{c.dispute_id}" if c.dispute_id else None), ("认定人", people.get(c.declared_by_id)),
             ("认定时间", ar.local(c.declared_at)), ("次高报价人的新成交", deal_no.get(c.new_deal_id, c.new_deal_id)),
             ("重新挂牌的项目", f"#{c.relisting_id}" if c.relisting_id else None)],
            [("向次高报价人的要约", [f"要约 #{o.id}：竞买号 {bidder.get(o.registration_id)}，价格 {o.price} 元，"
                                     f"{o.state_label}；发出 {ar.local(o.offered_at)}（{people.get(o.offered_by_id, '')}），"
                                     f"答复期限 {ar.local(o.due_at)}，答复 {ar.local(o.answered_at)}"
                                     + (f"，说明：{o.answer_note}" if o.answer_note else "") for o in mine])]),
              f"default_case#{c.id}")
        out["defaults"].append({**ar.row(c), "deal_no": deal_no.get(c.deal_id), "stage_label": c.stage_label,
                                "state_label": c.state_label, "party_label": c.party_label,
                                "offers": [{**ar.row(o), "bidder_no": bidder.get(o.registration_id),
                                            "state_label": o.state_label} for o in mine]})
    from exchange.incidents.force_majeure import claims_of
    claims = claims_of(listing)
    claim_people = ar.people([cl.decided_by_id for cl in claims] + [cl.filed_by_id for cl in claims])
    for cl in claims:
        ar.add(f"{folder}/违约/不可抗力申请-{cl.id:04d}.txt", ar.txt(
            f"不可抗力申请 #{cl.id}（第二十二条）",
            [("项目编号", listing.project_no), ("申请方", cl.side_label), ("事实", cl.facts),
             ("证明材料", f"{cl.document_filename}（SHA-256 {cl.document_sha256}）"), ("提出时间", ar.local(cl.filed_at)),
             ("决定", cl.state_label), ("理由", cl.decision or None),
             ("期限", f"{ar.local(cl.due_before)} → {ar.local(cl.due_after)}" if cl.due_after else None),
             ("登记人", claim_people.get(cl.filed_by_id)),
             ("决定人", claim_people.get(cl.decided_by_id)), ("决定时间", ar.local(cl.decided_at))]),
            f"force_majeure_claim#{cl.id}")
        ar.add_stored(f"{folder}/违约/不可抗力申请-{cl.id:04d}-证明材料-{ar.safe(cl.document_filename)}",
                      cl.document_key, f"force_majeure_claim#{cl.id}", cl.document_sha256 or None)
    out["force_majeure"] = [{**ar.row(cl), "state_label": cl.state_label, "side_label": cl.side_label}
                            for cl in claims]
    ar.data["exceptions"] = out
    ar.data["exception_counts"] = {
        "objections": len(objections), "disputes": len(disputes), "suspensions": len(suspensions),
        "termination": termination is not None, "defaults": len(cases), "runner_up_offers": len(offers)}
    ar.add("records/exceptions.json", ar.dumps(out), "exceptions")
    for kind, ids in (("objection", [o.id for o in objections]), ("dispute", [x.id for x in disputes]),
                      ("suspension", [x.id for x in suspensions]),
                      ("termination", [termination.id] if termination else []),
                      ("default_case", [c.id for c in cases]), ("runner_up_offer", [o.id for o in offers])):
        ar.objects(kind, ids)
    _conduct_records(listing, ar, folder)


def _conduct_records(listing, ar, folder: str) -> None:
    """禁止行为认定 (第二十五条): one text per finding with its evidence, and ``records/conduct.json``."""
    from exchange.incidents.models import ConductFinding
    findings = list(db.session.scalars(select(ConductFinding).where(ConductFinding.listing_id == listing.id)
                                       .order_by(ConductFinding.id)))
    if not findings:
        return
    people = ar.people([f.decided_by_id for f in findings])
    rows = []
    for f in findings:
        name = f"{folder}/禁止行为认定/认定-{f.id:04d}"
        ar.add(f"{name}.txt", ar.txt(
            f"禁止行为认定 #{f.id}（第二十五条）",
            [("项目编号", listing.project_no), ("当事人", f"{f.subject_name}（{f.side_label}）"),
             ("认定的情形", f.ground_item), ("认定的事实", f.facts),
             ("证据材料", f"{f.evidence_filename}（SHA-256 {f.evidence_sha256}）"),
             ("监督预警", f"#{f.alert_id}" if f.alert_id else None),
             ("取消报名资格", f.void_outcome_label if f.void_requested else "不取消"),
             ("禁止报名", f"{f.ban_days} 天" if f.ban_days else "不禁止"),
             ("认定人", people.get(f.decided_by_id)), ("认定时间", ar.local(f.decided_at))]), f"conduct_finding#{f.id}")
        ar.add_stored(f"{name}-证据-{ar.safe(f.evidence_filename)}", f.evidence_key, f"conduct_finding#{f.id}",
                      f.evidence_sha256 or None)
        rows.append({**ar.row(f), "ground_item": f.ground_item, "void_outcome_label": f.void_outcome_label})
    ar.add("records/conduct.json", ar.dumps(rows), "conduct")
    ar.objects("conduct_finding", [f.id for f in findings])
