"""The audit trail viewer (admin and the supervisor, ``audit.view``): search by listing (project number or id:
the entries of the listing and of everything that belongs to it), person, action, period and keyword; the
chain's verification status on top; paging; CSV export of the filtered entries.

A supervision page, not part of ``audit``: it reads the rows of every stage, and the audit trail itself sits at the
bottom of the house, below them all (DESIGN §4.1)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import String, cast, or_, select

from exchange import clock, labels
from exchange.access import require
from exchange.audit import services as audit
from exchange.audit.models import AuditEntry
from exchange.extensions import db
from exchange.inputs import InputError, arg_page, parse_id

bp = Blueprint("audit", __name__, url_prefix="/audit")

PER_PAGE = 50
EXPORT_MAX = 100_000


def listing_objects_clause(listing_id: int):
    """The entries whose object is the listing or belongs to it: registrations, bidding sessions, deals (their
    objections, certificates, default cases and runner-up offers), contracts, settlements (payouts), refunds,
    journal entries, disputes and warnings — as far as the audit rows name their objects."""
    from exchange.certificates.models import Certificate
    from exchange.contracts.models import Contract
    from exchange.incidents.models import DefaultCase, Dispute, RunnerUpOffer
    from exchange.ledger.models import JournalEntry, Refund
    from exchange.registrations.models import Registration
    from exchange.settlement.models import Payout, Settlement
    from exchange.supervision.models import SupervisionAlert
    from exchange.trading.models import BiddingSession, Deal, Objection

    deals = select(Deal.id).where(Deal.listing_id == listing_id)
    settlements = select(Settlement.id).where(Settlement.listing_id == listing_id)
    cases = select(DefaultCase.id).where(DefaultCase.listing_id == listing_id)

    def ids(column, *conds):
        return select(cast(column, String)).where(*conds)

    objects = {
        "registration": ids(Registration.id, Registration.listing_id == listing_id),
        "bidding_session": ids(BiddingSession.id, BiddingSession.listing_id == listing_id),
        "deal": ids(Deal.id, Deal.listing_id == listing_id),
        "objection": ids(Objection.id, Objection.deal_id.in_(deals)),
        "certificate": ids(Certificate.id, Certificate.deal_id.in_(deals)),
        "contract": ids(Contract.id, Contract.listing_id == listing_id),
        "settlement": ids(Settlement.id, Settlement.listing_id == listing_id),
        "payout": ids(Payout.id, Payout.settlement_id.in_(settlements)),
        "refund": ids(Refund.id, Refund.listing_id == listing_id),
        "journal_entry": ids(JournalEntry.id, JournalEntry.listing_id == listing_id),
        "default_case": ids(DefaultCase.id, DefaultCase.listing_id == listing_id),
        "runner_up_offer": ids(RunnerUpOffer.id, RunnerUpOffer.case_id.in_(cases)),
        "dispute": ids(Dispute.id, Dispute.listing_id == listing_id),
        "supervision_alert": ids(SupervisionAlert.id, SupervisionAlert.listing_id == listing_id),
    }
    return or_((AuditEntry.object_type == "listing") & (AuditEntry.object_id == str(listing_id)),
               *[(AuditEntry.object_type == kind) & AuditEntry.object_id.in_(sub) for kind, sub in objects.items()])


def actions_present() -> list[tuple[str, str]]:
    """The actions present, as (code, Chinese name), in the order of their names."""
    codes = db.session.scalars(select(AuditEntry.action).distinct())
    return sorted(((a, labels.label("action", a)) for a in codes), key=lambda pair: (pair[1], pair[0]))


@dataclass
class Search:
    listing: str = ""
    person: str = ""
    action: str = ""
    date_from: str = ""
    date_to: str = ""
    q: str = ""
    listing_obj: object = None
    problem: str = ""  # a search that names nothing (unknown project): shown, no rows

    def params(self) -> dict:
        return {"listing": self.listing or None, "person": self.person or None, "action": self.action or None,
                "from": self.date_from or None, "to": self.date_to or None, "q": self.q or None}

    @property
    def active(self) -> bool:
        return any(self.params().values())


def _day(raw: str, label: str) -> date | None:
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"{label}“{raw[:20]}”格式不正确，应为 YYYY-MM-DD，如 2026-10-08。")
    if not 2000 <= value.year <= 2100:
        abort(400, description=f"{label}“{raw}”超出范围。")
    return value


def _as_id(text: str) -> int | None:
    try:
        return parse_id(text)
    except InputError:
        return None


def parse_search(args) -> tuple[Search, object]:
    """The filters from the query string and the statement they give; nonsense dates → 400."""
    from exchange.listings.models import Listing
    s = Search(listing=(args.get("listing") or "").strip()[:40], person=(args.get("person") or "").strip()[:60],
               action=(args.get("action") or "").strip()[:60], date_from=(args.get("from") or "").strip()[:20],
               date_to=(args.get("to") or "").strip()[:20], q=(args.get("q") or "").strip()[:60])
    start, end = _day(s.date_from, "开始日期"), _day(s.date_to, "结束日期")
    if start and end and start > end:
        abort(400, description="开始日期不能晚于结束日期。")
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if s.listing:
        listing = None
        listing_id = _as_id(s.listing)
        if listing_id is not None:
            listing = db.session.get(Listing, listing_id)
        if listing is None:
            listing = db.session.scalar(select(Listing).where(Listing.project_no == s.listing.upper()))
        if listing is None:
            s.problem = f"没有找到项目编号或编号为“{s.listing}”的项目。"
            stmt = stmt.where(AuditEntry.id.is_(None))
        else:
            s.listing_obj = listing
            stmt = stmt.where(listing_objects_clause(listing.id))
    if s.person:
        stmt = stmt.where(AuditEntry.actor_name.contains(s.person, autoescape=True))
    if s.action:
        stmt = stmt.where(AuditEntry.action == s.action)
    if start:
        stmt = stmt.where(AuditEntry.at >= clock.local_datetime(start))
    if end:
        stmt = stmt.where(AuditEntry.at < clock.local_datetime(end + timedelta(days=1)))
    if s.q:
        stmt = stmt.where(AuditEntry.summary.contains(s.q, autoescape=True)
                          | AuditEntry.actor_name.contains(s.q, autoescape=True))
    return s, stmt


@bp.route("/")
@login_required
def index():
    require(current_user, "audit.view")
    search, stmt = parse_search(request.args)
    page = db.paginate(stmt, page=arg_page(), per_page=PER_PAGE, error_out=False)
    return render_template("audit/index.html", page=page, result=audit.verify(), search=search,
                           actions=actions_present(), params=search.params())


# every column a person reads is in Chinese (exchange.labels); the stored codes, which the hashes cover, stay in the
# archive's audit.json and the API
CSV_HEADER = ["序号", "时间（北京时间）", "操作人", "角色", "机构编号", "IP", "操作", "对象类型", "对象编号", "摘要",
              "变更前", "变更后", "前一哈希", "哈希"]


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/export.csv")
@login_required
def export():
    require(current_user, "audit.view")
    _search, stmt = parse_search(request.args)
    buf = io.StringIO()
    buf.write("\ufeff")  # Excel opens UTF-8 with a BOM
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    for e in db.session.scalars(stmt.limit(EXPORT_MAX).execution_options(yield_per=1000)):
        writer.writerow([_cell(v) for v in (
            e.seq, clock.to_local(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, labels.label("role", e.actor_role),
            e.org_id, e.ip, labels.label("action", e.action), labels.label("object", e.object_type), e.object_id,
            e.summary, e.before, e.after, e.prev_hash, e.hash)])
    name = f"audit-{clock.to_local(clock.now()):%Y%m%d-%H%M%S}.csv"
    return Response(buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
