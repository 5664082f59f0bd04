"""The evaluation panel of a 综合评分法 project (评标委员会; issue 18 item 4, DESIGN §3.12): its draw, and each member's
score sheet, filled in and signed on the member's phone.

* **The draw** (:func:`draw_panel`, the trading officer after the 开标): an odd number ≥ 3 of experts of the project's
  specialty, at random, leaving out the deactivated and everyone tied to the village or to a bidder
  (:func:`exchange.procurement.panel.draw`); the draw is stored with its seed and eligible list, so anyone can repeat
  it (:func:`exchange.procurement.panel.redo`).
* **The slips.**  Each member gets a link (a random token; only its SHA-256 is stored) and a password (only its hash
  is stored), shown once to the officer, who hands each expert their slip at the evaluation.  The link opens the
  member's sheet once the password is given (:func:`open_sheet`); five wrong passwords lock the member out until the
  officer gives a new slip (:func:`new_slip`).
* **Scoring** (:func:`save_scores`): each member scores every valid bid on every criterion, 0 … its weight, each
  member alone (a member sees only their own sheet).  **Signing** (:func:`sign_sheet`): the password again; the sheet
  must be complete; it is then locked and its SHA-256 kept.  Once a member has signed, the set of valid bids is fixed
  (``services.mark_invalid`` refuses).
* **The result** (:func:`signed_sheets`): the signed sheets as :func:`exchange.procurement.evaluation.evaluate` takes
  them; ``services.complete_evaluation`` ranks with them once every member has signed.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from exchange import clock
from exchange.access import require
from exchange.audit.services import record
from exchange.db import lock_row
from exchange.extensions import db
from exchange.inputs import InputError, parse_money
from exchange.listings.models import Listing
from exchange.procurement import evaluation as ev
from exchange.procurement import experts as expert_pool
from exchange.procurement import panel as panel_draw
from exchange.procurement.models import PanelMember, PanelScore, ProcurementBid, ProcurementPanel
from exchange.procurement.services import ProcurementError, bids_of, project_of

MAX_FAILED = 5
PASSWORD_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a paper slip
PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Slip:
    """What a member is handed (shown once): 评委 n, the expert, the link's token and the password."""
    member: PanelMember
    token: str
    password: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_credentials() -> tuple[str, str]:
    return secrets.token_urlsafe(18), "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def panel_of(listing: Listing) -> ProcurementPanel | None:
    return db.session.scalar(select(ProcurementPanel).where(ProcurementPanel.listing_id == listing.id))


def valid_bids(listing: Listing) -> list[ProcurementBid]:
    """The opened bids the panel scores: every one not marked invalid."""
    return [b for b in bids_of(listing, states=("opened",)) if not b.invalid_reason]


def any_signed(listing: Listing) -> bool:
    panel = panel_of(listing)
    return panel is not None and any(m.signed_at for m in panel.members)


# --- the draw ---------------------------------------------------------------------------------------------------------

def draw_panel(officer, listing: Listing, *, seed: str | None = None) -> list[Slip]:
    """Draw the project's panel and give each member a slip (shown once)."""
    require(officer, "procurement.evaluate")
    listing = lock_row(db.session, Listing, listing.id)
    project = project_of(listing)
    if project is None or project.state != "opened" or project.eval_kind != ev.SCORED:
        raise ProcurementError("只有已开标的综合评分法项目需要抽取评标委员会。")
    if panel_of(listing) is not None:
        raise ProcurementError("该项目的评标委员会已经抽取。")
    bidders = {b.supplier.party.id for b in bids_of(listing, states=("opened",)) if b.supplier.party is not None}
    try:
        drawn = panel_draw.draw(expert_pool.pool(project.specialty), project.panel_size, project.specialty,
                                listing.point_id, bidders, seed=seed)
    except panel_draw.DrawError as exc:
        raise ProcurementError(exc.message) from None
    now = clock.now()
    panel = ProcurementPanel(listing_id=listing.id, specialty=project.specialty, size=project.panel_size,
                             seed=drawn.seed, eligible_json=json.dumps(list(drawn.eligible)),
                             excluded_json=json.dumps({str(k): v for k, v in drawn.excluded.items()},
                                                      ensure_ascii=False),
                             drawn_at=now, drawn_by_id=officer.id)
    db.session.add(panel)
    slips = []
    for seq, expert_id in enumerate(drawn.chosen, start=1):
        token, password = _new_credentials()
        member = PanelMember(expert_id=expert_id, seq=seq, token_hash=_digest(token),
                             password_hash=generate_password_hash(password))
        panel.members.append(member)
        slips.append(Slip(member, token, password))
    db.session.flush()
    record("procurement.panel", f"抽取评标委员会：{listing.project_no}，{project.panel_size} 人，种子 {drawn.seed}",
           obj_type="procurement_panel", obj_id=panel.id,
           after={"seed": drawn.seed, "eligible": list(drawn.eligible), "chosen": list(drawn.chosen),
                  "excluded": {str(k): v for k, v in drawn.excluded.items()}})
    return slips


def new_slip(officer, member: PanelMember) -> Slip:
    """A new link and password for a member who lost the slip or locked themselves out (before signing)."""
    require(officer, "procurement.evaluate")
    if member.signed_at is not None:
        raise ProcurementError("该评委已签署评分表，不能更换。")
    token, password = _new_credentials()
    member.token_hash, member.password_hash, member.failed = _digest(token), generate_password_hash(password), 0
    db.session.flush()
    record("procurement.slip", f"重发评委 {member.seq} 的评分链接和密码", obj_type="procurement_panel",
           obj_id=member.panel_id)
    return Slip(member, token, password)


# --- a member on a phone ---------------------------------------------------------------------------------------------

def member_by_token(token: str | None) -> PanelMember | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(PanelMember).where(PanelMember.token_hash == _digest(token)))


LOCKED = "密码错误次数过多，评分表已锁定，请找现场工作人员重新领取评分链接和密码。"


def attempt(member: PanelMember, password: str | None) -> bool:
    """Try the member's password and count the result on the row (a wrong one counts even when the caller's
    action is then refused: the page commits the attempt first).  False when wrong or locked."""
    if member.failed >= MAX_FAILED:
        return False
    if not password or not check_password_hash(member.password_hash, str(password).strip().upper()):
        member.failed += 1
        db.session.flush()
        return False
    if member.failed:
        member.failed = 0
        db.session.flush()
    return True


def password_problem(member: PanelMember) -> str:
    """What a refused password is told (after :func:`attempt` said False)."""
    if member.failed >= MAX_FAILED:
        return LOCKED
    left = MAX_FAILED - member.failed
    return f"密码不正确，还可以再试 {left} 次。"


def check_password(member: PanelMember, password: str | None) -> None:
    """The member's password, counted: five wrong ones lock the sheet until the center gives a new slip."""
    if not attempt(member, password):
        raise ProcurementError(password_problem(member), "password")


def open_sheet(member: PanelMember, password) -> PanelMember:
    check_password(member, password)
    _require_scoring(member, signing=False)
    return member


def _require_scoring(member: PanelMember, *, signing: bool = True) -> None:
    project = project_of(member.panel.listing)
    if project is None or project.state != "opened":
        raise ProcurementError("评标已经结束。")
    if signing and member.signed_at is not None:
        raise ProcurementError("您已签署评分表，不能再修改。")


def sheet(member: PanelMember) -> dict[int, dict[str, Decimal]]:
    """The member's scores so far: bid id → criterion key → score."""
    out: dict[int, dict[str, Decimal]] = {}
    for s in member.scores:
        out.setdefault(s.bid_id, {})[s.criterion] = s.score
    return out


def save_scores(member: PanelMember, scores: dict) -> PanelMember:
    """Keep the member's scores (bid id → criterion key → value as typed); each value 0 … the criterion's weight.
    Blank values are left unscored; the sheet is signed separately."""
    _require_scoring(member)
    listing = member.panel.listing
    project = project_of(listing)
    weights = {c["key"]: (c["name"], Decimal(c["weight"])) for c in project.criteria}
    bids = {b.id: b for b in valid_bids(listing)}
    existing = {(s.bid_id, s.criterion): s for s in member.scores}
    for raw_bid, row in (scores or {}).items():
        try:
            bid_id = int(raw_bid)
        except (TypeError, ValueError):
            raise ProcurementError("评分表中的投标不正确。") from None
        if bid_id not in bids or not isinstance(row, dict):
            raise ProcurementError("评分表中的投标不正确。")
        for key, raw in row.items():
            if key not in weights:
                raise ProcurementError("评分表中的评分因素不正确。")
            name, weight = weights[key]
            field = f"score-{bid_id}-{key}"
            if raw is None or str(raw).strip() == "":
                if (bid_id, key) in existing:
                    db.session.delete(existing.pop((bid_id, key)))
                continue
            try:
                value = parse_money(raw, field=field, label=f"“{name}”的得分", strict=True)
            except InputError as exc:
                raise ProcurementError(exc.message, field) from None
            if value < 0 or value > weight:
                raise ProcurementError(f"“{name}”的得分应在 0 至 {weight.normalize():f} 分之间。", field)
            if (bid_id, key) in existing:
                existing[(bid_id, key)].score = value
            else:
                row_obj = PanelScore(bid_id=bid_id, criterion=key, score=value)
                member.scores.append(row_obj)
                existing[(bid_id, key)] = row_obj
    db.session.flush()
    return member


def missing(member: PanelMember) -> list[str]:
    """What the member has not scored yet, in words (投标人 · 因素)."""
    listing = member.panel.listing
    project = project_of(listing)
    have = sheet(member)
    out = []
    for b in valid_bids(listing):
        for c in project.criteria:
            if c["key"] not in have.get(b.id, {}):
                out.append(f"{b.supplier.display_name} · {c['name']}")
    return out


def sheet_document(member: PanelMember) -> bytes:
    """The canonical bytes of a signed sheet (its digest is kept): project, member, every score."""
    listing = member.panel.listing
    scores = {str(bid): {k: f"{v:.2f}" for k, v in sorted(row.items())} for bid, row in sorted(sheet(member).items())}
    doc = {"project": listing.project_no, "member": member.seq, "expert": member.expert_id, "scores": scores}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign_sheet(member: PanelMember, password) -> PanelMember:
    """The member signs the complete sheet with the password: locked from now on."""
    lock_row(db.session, Listing, member.panel.listing_id)
    db.session.refresh(member)
    check_password(member, password)
    _require_scoring(member)
    gaps = missing(member)
    if gaps:
        raise ProcurementError(f"还有 {len(gaps)} 项没有打分：" + "；".join(gaps[:5]) + ("……" if len(gaps) > 5 else ""))
    member.signed_at = clock.now()
    member.sheet_digest = hashlib.sha256(sheet_document(member)).hexdigest()
    db.session.flush()
    record("procurement.sign", f"评委 {member.seq} 签署评分表：{member.panel.listing.project_no}",
           obj_type="procurement_panel", obj_id=member.panel_id, after={"digest": member.sheet_digest})
    return member


# --- the result --------------------------------------------------------------------------------------------------------

def signed_sheets(listing: Listing) -> dict[int, dict[int, dict[str, Decimal]]] | None:
    """Every member's signed sheet (member seq → bid id → key → score), or None while one is unsigned or the panel
    is not drawn."""
    panel = panel_of(listing)
    if panel is None or not panel.members or any(m.signed_at is None for m in panel.members):
        return None
    return {m.seq: sheet(m) for m in panel.members}

