"""招标采购 in open data (issue 18 item 8; DESIGN §3.10, §3.12): a procurement project's public representation — the
terms its announcement publishes, the 开标 record once the bids are opened, the 中标候选人 once evaluated, the winner
and the 中标通知书 number once the collective confirmed it — built here, and only here, from an explicit allow-list,
used by the open data (``/api/v1/open/procurement``, the announcements and the changes feed) and the business API's
public reads (``/api/v1/procurement/projects``).

* **Nothing of a bid before the 开标.**  Until the project's ``opened_at`` the representation has no bid at all: no
  price, no receipt, no file, not even how many suppliers bid (《招标投标法》第二十二条: 招标人不得向他人透露已获取招标文件的
  潜在投标人的名称、数量).  The database holds nothing readable anyway (the vault); this module does not even count rows.
* **Masking as everywhere in open data.**  A supplier that is a natural person is shown by the surname only (``张*``),
  a company or cooperative in full; the 采购人 is a collective (its name is public).  No ID number, phone or account of
  anyone; no panel member's name (the 评标委员会 名单 stays confidential, 《招标投标法》第三十七条; the archive keeps it).
* **What is published once opened** is what the public 开标 page shows: each opened bid's bidder, price, submission
  time, receipt (SHA-256) and the opened bid document itself (so anyone can recompute the receipt), the attached files'
  names and digests, the project's public key and the private key published at the opening (to re-open the sealed
  bytes).  After the evaluation: the 中标候选人 (at most three, their scores) and the bids found invalid with the reason
  (中标候选人公示, 招标投标法实施条例 第五十四条).  After the award: the winner, its price and the 中标通知书 number.
* The award moves no listing state, so it is a change of its own in the changes feed (:func:`_award_feed`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from exchange.accounts.models import User
from exchange.audit.services import recorded
from exchange.catalog.models import TransferMethod
from exchange.extensions import db
from exchange.idcheck import mask_name
from exchange.listings.models import Listing
from exchange.listings.workflow import PUBLIC_STATES, STATE_LABELS
from exchange.opendata.models import OpenDataChange
from exchange.procurement import services as psvc
from exchange.procurement.models import (DIRECTIONS, EVAL_KINDS, KINDS, ProcurementBid, ProcurementProject)
from exchange.procurement.states import ProcState

MODES = ("招标", "采购", "招商")
STAGES = ProcState.labels()
# the changes feed's kinds that are not a listing transition (exchange.opendata.services.changes names them)
CHANGE_KINDS = {"procurement_award": "确定中标人（中标通知书）"}

PRICE_FORMULA = {
    "lower": "基准价为有效投标中的最低报价；价格分 = 基准价 ÷ 投标报价 × 价格分值（最低价得满分）",
    "higher": "基准价为有效投标中的最高报价；价格分 = 投标报价 ÷ 基准价 × 价格分值（最高价得满分）",
}


# --- names as the public reads them ----------------------------------------------------------------------------------

def _party(user):
    return getattr(user, "party", None) if user is not None else None


def is_person(user) -> bool:
    party = _party(user)
    return party is None or party.kind == "person"  # unknown: a person (mask rather than leak)


def supplier_public(user) -> str:
    """A supplier (投标人) as the public sees it: a natural person by the surname only, an organisation in full."""
    party = _party(user)
    name = party.name if party is not None and party.name else (getattr(user, "display_name", "") or "")
    return mask_name(name) if is_person(user) else name


def supplier_kind(user) -> str:
    return "person" if is_person(user) else "organisation"


def purchaser_public(listing: Listing) -> str:
    """The 采购人 (招商方): the village collective, an organisation — in full; anything else masked."""
    from exchange.opendata.services import transferor_public
    return transferor_public(listing)


# --- the representation ---------------------------------------------------------------------------------------------

def _money(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def terms_public(listing: Listing, project: ProcurementProject) -> dict:
    """What the announcement publishes and fixes (DESIGN §3.12): method, kind, budget, limit, bond, the evaluation
    method with its criteria, weights and price formula, the 开标 time."""
    scored = project.eval_kind == "scored"
    no = listing.project_no
    return {
        "mode": listing.method.name if listing.method else "",
        "stage": project.state,
        "stage_label": STAGES.get(project.state, project.state),
        "kind": project.kind or None,
        "kind_label": KINDS.get(project.kind, ""),
        "purchaser": purchaser_public(listing),
        "budget": project.budget,
        "limit_price": project.limit_price,
        "limit_label": project.limit_label,
        "bond": listing.deposit_amount,
        "eval_kind": project.eval_kind,
        "eval_label": EVAL_KINDS.get(project.eval_kind, project.eval_kind),
        "direction": project.direction,
        "direction_label": DIRECTIONS.get(project.direction, project.direction),
        "price_weight": project.price_weight if scored else None,
        "price_formula": PRICE_FORMULA.get(project.direction, "") if scored else "",
        "criteria": [{"key": c["key"], "name": c["name"], "weight": Decimal(str(c["weight"]))}
                     for c in project.criteria] if scored else [],
        "trim_extremes": bool(project.trim_extremes) if scored else False,
        "panel_size": project.panel_size if scored else None,
        "min_bids": psvc.min_bids(project),
        "scope": project.scope or "",
        "requirements": project.requirements or "",
        "published_at": listing.published_at,
        "opens_at": project.opens_at,
        "bond_deadline_at": listing.deposit_deadline_at,
        "opening_url": f"/projects/{no}/opening" if no else None,
    }


def _opened_bids(listing: Listing) -> list[ProcurementBid]:
    """The opened bids, in submission order, with their files and suppliers loaded (no other state is ever read)."""
    return list(db.session.scalars(
        select(ProcurementBid).where(ProcurementBid.listing_id == listing.id, ProcurementBid.state == "opened")
        .options(selectinload(ProcurementBid.files),
                 selectinload(ProcurementBid.supplier).selectinload(User.party))
        .order_by(ProcurementBid.submitted_at, ProcurementBid.id)))


def _bid_public(listing: Listing, bid: ProcurementBid) -> dict:
    base = f"/projects/{listing.project_no}/opening/bids/{bid.id}"
    return {
        "bid_id": bid.id,
        "bidder": supplier_public(bid.supplier),
        "bidder_kind": supplier_kind(bid.supplier),
        "price": bid.price,
        "submitted_at": bid.submitted_at,
        "receipt": bid.receipt,
        "document": bid.document or "",
        "document_url": f"{base}.json",
        "sealed_url": f"{base}.sealed",
        "files": [{"seq": f.seq, "filename": f.filename or "", "content_type": f.content_type or "",
                   "sha256": f.sha256 or "", "url": f"{base}/files/{f.seq}"} for f in bid.files if f.open_key],
    }


def opening_public(listing: Listing, project: ProcurementProject, bids: list[ProcurementBid] | None = None
                   ) -> dict | None:
    """The public 开标 record: None until the project's bids were opened (nothing before, not even a count)."""
    if project.opened_at is None:
        return None
    bids = _opened_bids(listing) if bids is None else bids
    return {
        "opened_at": project.opened_at,
        "bid_count": len(bids),
        "public_key": project.public_key.hex() if project.public_key else "",
        "opened_key": project.opened_key.hex() if project.opened_key else "",
        "bids": [_bid_public(listing, b) for b in bids],
    }


def evaluation_public(listing: Listing, project: ProcurementProject, bids: list[ProcurementBid] | None = None
                      ) -> dict | None:
    """The 中标候选人 (at most three, with their scores) and the invalid bids with why: None until the evaluation
    was completed (a project evaluated without a valid bid — 流标 — shows no candidate and its invalid bids)."""
    if project.evaluated_at is None or not project.outcome_json:
        return None
    outcome = json.loads(project.outcome_json)
    by_id = {b.id: b for b in (_opened_bids(listing) if bids is None else bids)}

    def bidder(bid_id):
        bid = by_id.get(bid_id)
        return (supplier_public(bid.supplier), supplier_kind(bid.supplier)) if bid is not None else ("", "person")

    candidates = []
    for c in psvc.candidates(project):
        name, kind = bidder(c["bid"])
        candidates.append({"rank": c["rank"], "bid_id": c["bid"], "bidder": name, "bidder_kind": kind,
                           "price": _money(c["price"]), "price_score": _money(c.get("price_score")),
                           "panel_score": _money(c.get("panel_score")), "total": _money(c.get("total"))})
    invalid = []
    for i in outcome.get("invalid", []):
        name, kind = bidder(i["bid"])
        invalid.append({"bid_id": i["bid"], "bidder": name, "bidder_kind": kind, "price": _money(i.get("price")),
                        "reason": i.get("reason") or ""})
    return {"evaluated_at": project.evaluated_at, "eval_kind": outcome.get("method", project.eval_kind),
            "candidates": candidates, "invalid": invalid}


def award_public(listing: Listing, project: ProcurementProject) -> dict | None:
    """The winner the collective confirmed (and the center approved, for another than candidate 1), its price and
    the 中标通知书 number: None before the award (a pending request for another candidate is not public)."""
    if project.awarded_at is None or project.winner_registration_id is None:
        return None
    chosen = next((c for c in psvc.candidates(project) if c["registration"] == project.winner_registration_id), None)
    winner = project.winner.buyer if project.winner is not None else None
    return {"winner": supplier_public(winner), "winner_kind": supplier_kind(winner),
            "rank": chosen["rank"] if chosen else None, "price": _money(chosen["price"]) if chosen else None,
            "notice_no": project.notice_no, "awarded_at": project.awarded_at}


def procurement_public(listing: Listing, project: ProcurementProject | None = None) -> dict | None:
    """A published procurement project as the public sees it (terms, opening, evaluation, award); None for a listing
    that is no procurement project, has no terms or is not public."""
    if not listing.is_procurement or listing.state not in PUBLIC_STATES:
        return None
    project = project or psvc.project_of(listing)
    if project is None:
        return None
    bids = _opened_bids(listing) if project.opened_at is not None else []
    return {**terms_public(listing, project), "opening": opening_public(listing, project, bids),
            "evaluation": evaluation_public(listing, project, bids), "award": award_public(listing, project)}


def project_public(listing: Listing, project: ProcurementProject | None = None, *, with_id: bool = False
                   ) -> dict | None:
    """The project with the listing's public summary (number, title, where) beside its procurement part; ``with_id``
    adds the listing's id (the business API: a supplier registers with it), which open data does not give."""
    from exchange.opendata.services import _location
    part = procurement_public(listing, project)
    if part is None:
        return None
    ids = {"listing_id": listing.id} if with_id else {}
    return {"project_no": listing.project_no, **ids, "title": listing.title,
            "state": listing.state, "state_label": STATE_LABELS.get(listing.state, listing.state),
            "category": listing.category.name, "category_code": listing.category.code,
            **_location(listing), "location": listing.location or "", "url": f"/projects/{listing.project_no}",
            **part}


# --- reading ------------------------------------------------------------------------------------------------------

@dataclass
class Query:
    """Which published procurement projects: by stage, mode (招标/采购/招商), towns (station ids), published between
    two local dates; a page of them."""
    stage: str | None = None
    mode: str | None = None
    station_ids: list[int] | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    per_page: int = 20


def _conditions(q: Query, start: datetime | None, end: datetime | None) -> list:
    conds = [Listing.state.in_(PUBLIC_STATES), Listing.trading_method == "procurement"]
    if q.stage:
        conds.append(ProcurementProject.state == q.stage)
    if q.mode:
        conds.append(Listing.method_id.in_(select(TransferMethod.id).where(TransferMethod.name == q.mode)))
    if q.station_ids is not None:
        conds.append(Listing.station_id.in_(q.station_ids))
    if start is not None:
        conds.append(Listing.published_at >= start)
    if end is not None:
        conds.append(Listing.published_at < end)
    return conds


def find(q: Query, start: datetime | None = None, end: datetime | None = None, *, with_id: bool = False
         ) -> tuple[list[dict], int]:
    """(the page's projects, how many in all), newest publication first.  The callers check their own arguments."""
    conds = _conditions(q, start, end)
    base = select(Listing, ProcurementProject).join(ProcurementProject, ProcurementProject.listing_id == Listing.id)
    total = db.session.scalar(select(func.count(Listing.id)).join(
        ProcurementProject, ProcurementProject.listing_id == Listing.id).where(*conds)) or 0
    rows = db.session.execute(base.where(*conds).options(
        selectinload(Listing.category), selectinload(Listing.method), selectinload(Listing.station),
        selectinload(Listing.point)).order_by(Listing.published_at.desc(), Listing.id.desc())
        .offset((q.page - 1) * q.per_page).limit(q.per_page)).all()
    return [project_public(listing, project, with_id=with_id) for listing, project in rows], total


def projects(f, *, stage: str | None = None, mode: str | None = None):
    """Open data: published procurement projects, newest first — filters town, stage, mode, published between two
    dates (``f``: :class:`exchange.opendata.services.Filters`; its category and state are not used).  Bad input is an
    :class:`~exchange.opendata.services.OpenDataError` naming the field."""
    from exchange.opendata.services import OpenDataError, Page, _check_paging, _period, _towns
    _check_paging(f)
    if stage is not None and stage not in STAGES:
        raise OpenDataError("stage 应为：" + "、".join(STAGES) + "。", field="stage")
    if mode is not None and mode not in MODES:
        raise OpenDataError("mode 应为：" + "、".join(MODES) + "。", field="mode")
    start, end = _period(f)
    q = Query(stage=stage, mode=mode, station_ids=_towns(f.town) if f.town else None, page=f.page,
              per_page=f.per_page)
    items, total = find(q, start, end)
    return Page(items, total, f.page, f.per_page)


def by_number(project_no: str | None, *, with_id: bool = False) -> dict | None:
    """One published procurement project by its number (None: no such project, or not public)."""
    if not project_no:
        return None
    listing = db.session.scalar(select(Listing).where(Listing.project_no == project_no[:30]))
    if listing is None:
        return None
    return project_public(listing, with_id=with_id)


# --- the changes feed: the award changes no listing state ------------------------------------------------------------

@recorded.connect
def _award_feed(entry) -> None:
    """The 中标通知书 is a change of the project's public representation (the winner) that no listing transition
    marks: it enters the changes feed at the number of its audit entry, like every other change."""
    if entry.action != "procurement.award" or entry.object_type != "listing" or not entry.object_id:
        return
    db.session.add(OpenDataChange(seq=entry.seq, listing_id=int(entry.object_id), kind="procurement_award",
                                  at=entry.at))
