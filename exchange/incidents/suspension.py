"""中止与重启 (第二十三条).

**中止.**  The center's reviewer suspends a listing on one of the article's five grounds, with the approving
document (an upheld objection during 交易公示 suspends it too, the objection being the basis).  Every clock of the
listing still running at that moment is frozen: what was left of it is written down in ``Suspension.frozen`` —

* 工作日 clocks (公告期 and the deposit deadline, each buyer's review and deposit deadlines, 交易公示, the
  5 工作日 to sign, the 3 工作日 to certify) as the number of working days after the day of suspension up to the
  clock's last day, and the clock's time of day (16:00, or 24:00);
* calendar-day clocks (结算, 10 天) as the number of days after the day of suspension up to the last day;
* time clocks (a bidding session's start, free-period end, current end and hard cap) as seconds left.

While suspended nothing moves: the sweeper's due queries only take listings in the stage their clock belongs to
(a suspended listing is in none), bids are refused, payments are refused (``registrations.payable_problem``),
and the overdue flags skip it.  Refunds keep running: money that must go back goes back.

**重启.**  A party (the transferor, a buyer of the listing, or the staff who handle it on their behalf) applies;
the center's reviewer decides.  Every frozen clock gets its remaining time back from the restart moment: working
days are counted again from the day of restart (the restart day itself, like any starting day, not counted; a
clock suspended on its own last day gets one working day), days likewise, seconds from the restart instant — a
live bidding session goes on with the time it had left.  The listing returns to the state it was suspended in.

**终结** of a suspended listing (``incidents.termination.terminate``) closes the suspension.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select

from exchange import clock, stages
from exchange.access import can, require
from exchange.accounts.models import Role
from exchange.audit.services import record
from exchange.errors import ServiceError
from exchange.incidents.models import SUSPENSION_GROUNDS, Suspension
from exchange.incidents.states import SUSPENSION, SuspensionState
from exchange.extensions import db
from exchange.listings.workflow import TRANSITIONS, fire
from exchange.trading.services import objection_upheld
from exchange.stages import SECONDS, WORKDAYS
from exchange.workdays.services import add_working_days, join_due, split_due, working_days_between


class SuspensionError(ServiceError):
    """A suspension or restart that cannot be done as asked."""


def open_suspension(listing) -> Suspension | None:
    """The listing's suspension in force (active or waiting for the restart decision), if any."""
    return db.session.scalar(select(Suspension).where(Suspension.listing_id == listing.id,
                                                      Suspension.state.in_(SuspensionState.OPEN)))


def suspensions_of(listing) -> list[Suspension]:
    return list(db.session.scalars(select(Suspension).where(Suspension.listing_id == listing.id)
                                   .order_by(Suspension.id)))


# --- the clocks: each stage declares its own (exchange/stages.py) ---------------------------------------------

def _freeze_one(stage: str, spec: stages.Clock, due: datetime, now: datetime) -> dict:
    entry = {"model": stage, "field": spec.field, "kind": spec.kind, "label": spec.label,
             "due": clock.ensure_aware(due).isoformat()}
    today = clock.to_local(now).date()
    if spec.kind == SECONDS:
        entry["remaining"] = int((due - now).total_seconds())
    else:
        last, tod = split_due(due)
        entry["time"] = tod
        entry["remaining"] = (working_days_between(today, last) if spec.kind == WORKDAYS
                              else max((last - today).days, 0))
    return entry


def restored_due(entry: dict, restart_at: datetime) -> datetime:
    """The new due instant of one frozen clock when the listing restarts at ``restart_at``."""
    if entry["kind"] == SECONDS:
        return restart_at + timedelta(seconds=int(entry["remaining"]))
    start = clock.to_local(restart_at).date()
    n = max(int(entry["remaining"]), 1)  # a clock suspended on its last day gets that day back
    last = add_working_days(start, n) if entry["kind"] == WORKDAYS else start + timedelta(days=n)
    return join_due(last, entry["time"])


def freeze_clocks(listing, now: datetime) -> list[dict]:
    """What is left of every clock of the listing still running at ``now`` (those already run out stay run out)."""
    frozen = []
    for stage, row, spec, due in stages.running_clocks(listing, now, clock.ensure_aware):
        entry = _freeze_one(stage.name, spec, due, now)
        entry["id"] = row.id
        frozen.append(entry)
    return frozen


def frozen_clocks(s: Suspension) -> list[dict]:
    return json.loads(s.frozen or "[]")


# --- 中止 -------------------------------------------------------------------------------------------

def _begin(listing, *, ground: str, basis: str, actor, stored=None) -> Suspension:
    now = clock.now()
    s = Suspension(listing_id=listing.id, ground=ground, basis=basis, from_state=listing.state,
                   frozen=json.dumps(freeze_clocks(listing, now), ensure_ascii=False),
                   suspended_by_id=getattr(actor, "id", None), suspended_at=now)
    if stored is not None:
        s.document_key, s.document_filename = stored.key, stored.filename
        s.document_content_type, s.document_sha256 = stored.content_type, stored.sha256
    stages.suspended(listing, actor)  # each stage stops its rows (a deal's 交易公示: the public page says so)
    db.session.add(s)
    return s


def authorise_suspend(reviewer, listing) -> None:
    """The center's reviewer suspends, and decides a restart."""
    require(reviewer, "listings.suspend", listing.org)


def suspend(reviewer, listing, *, ground: str, basis: str, document=None,
            document_filename: str | None = None) -> Suspension:
    """中止交易 on one of the five grounds of 第二十三条, with the approving document."""
    authorise_suspend(reviewer, listing)
    from exchange.db import lock_row
    from exchange.listings.models import Listing
    listing = lock_row(db.session, Listing, listing.id)
    if listing.state not in TRANSITIONS["suspend"].sources:
        raise SuspensionError("只有公告、组织交易、交易公示、签约、结算或鉴证阶段的项目可以中止。")
    from exchange.incidents.decisions import grounded
    basis, stored = grounded(SuspensionError, SUSPENSION_GROUNDS, ground, basis, document, document_filename,
                             article="第二十三条", what="中止", basis_hint="提出或批准的机关、文号和主要理由",
                             document_hint="提出或批准中止的文件")
    s = _begin(listing, ground=ground, basis=basis, actor=reviewer, stored=stored)
    fire(listing, "suspend", reviewer, reason=f"{SUSPENSION_GROUNDS[ground]}：{basis}",
         data={"ground": ground, "document_sha256": stored.sha256})
    db.session.flush()
    record("listing.suspended", f"中止交易：{listing.project_no}（{SUSPENSION_GROUNDS[ground]}），"
           f"冻结期限 {len(frozen_clocks(s))} 项", obj_type="listing", obj_id=listing.id,
           after={"suspension": s.id, "ground": ground, "frozen": frozen_clocks(s)})
    return s


@objection_upheld.connect
def _on_objection_upheld(objection, *, reviewer, decision: str) -> None:
    suspend_for_objection(reviewer, objection.deal, decision)  # the deal's clocks frozen until a restart


def suspend_for_objection(reviewer, deal, decision: str) -> Suspension:
    """An objection upheld during 交易公示: the listing is suspended with the objection as its basis."""
    listing = deal.listing
    s = _begin(listing, ground="objection", basis=decision, actor=reviewer)
    fire(listing, "objection_upheld", reviewer, reason=decision)
    db.session.flush()
    record("listing.suspended", f"异议成立，中止交易：{listing.project_no}", obj_type="listing", obj_id=listing.id,
           after={"suspension": s.id, "ground": "objection", "frozen": frozen_clocks(s)})
    return s


# --- 重启 -------------------------------------------------------------------------------------------

def may_apply_restart(user, listing) -> bool:
    """交易相关方: the transferor (its own account), a buyer of the listing, or staff handling it for them."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role == Role.PUBLIC:
        if listing.transferor_user_id == user.id:
            return True
        from exchange.registrations.models import Registration
        return db.session.scalar(select(Registration.id).where(
            Registration.listing_id == listing.id, Registration.buyer_id == user.id,
            Registration.state.in_(("qualified", "paid")))) is not None
    return can(user, "listings.restart_apply", listing.org)


def authorise_restart_apply(user, listing) -> None:
    if not may_apply_restart(user, listing):
        from exchange.access import AccessDenied
        raise AccessDenied("只有交易相关方（或代其办理的工作人员）可以申请重启交易。")


def apply_restart(user, listing, *, reason: str) -> Suspension:
    """A party applies for the restart (第二十三条 second paragraph); the center decides."""
    authorise_restart_apply(user, listing)  # who asks first: a stranger learns nothing of the listing's state
    s = open_suspension(listing)
    if s is None or listing.state != "suspended":
        raise SuspensionError("该项目未处于中止状态。")
    if s.state != "active":
        raise SuspensionError("已有重启申请等待交易中心认定。")
    reason = (reason or "").strip()
    if len(reason) < 4 or len(reason) > 2000:
        raise SuspensionError("请写明申请重启的理由（例如中止情形已消除的依据）。", field="reason")
    SUSPENSION.fire(s, "request_restart", user, reason=reason, authorised=True)
    s.restart_reason = reason
    s.restart_requested_by_id, s.restart_requested_at = user.id, clock.now()
    db.session.flush()
    record("listing.restart_requested", f"申请重启交易：{listing.project_no}", obj_type="listing", obj_id=listing.id,
           after={"suspension": s.id, "reason": reason})
    return s


def decide_restart(reviewer, listing, *, approve: bool, decision: str) -> Suspension:
    """The center decides a restart application: approved → every frozen clock gets its remaining time back from
    now and the listing returns to its stage; refused → the suspension goes on (a new application is possible)."""
    authorise_suspend(reviewer, listing)
    from exchange.db import lock_row
    from exchange.listings.models import Listing
    listing = lock_row(db.session, Listing, listing.id)
    s = open_suspension(listing)
    if s is None or listing.state != "suspended":
        raise SuspensionError("该项目未处于中止状态。")
    if s.state != "restart_requested":
        raise SuspensionError("重启须经交易相关方申请；请先登记重启申请。")
    decision = (decision or "").strip()
    if len(decision) < 2 or len(decision) > 2000:
        raise SuspensionError("请写明认定意见（是否符合重启条件及理由）。", field="decision")
    if not approve:
        SUSPENSION.fire(s, "refuse_restart", reviewer, reason=decision, authorised=True)
        s.restart_decision = decision
        db.session.flush()
        record("listing.restart_refused", f"不予重启：{listing.project_no}（{decision}）", obj_type="listing",
               obj_id=listing.id, after={"suspension": s.id})
        return s
    now = clock.now()
    restored = []
    for entry in frozen_clocks(s):
        new = restored_due(entry, now)
        if stages.give_back(entry["model"], entry["id"], entry["field"], new):  # the row's own stage declared it
            restored.append({**entry, "restored": new.isoformat()})
    stages.restarted(listing, reviewer)
    s.frozen = json.dumps(restored, ensure_ascii=False)  # what was left of each clock, and its new due
    SUSPENSION.fire(s, "restart", reviewer, reason=decision, authorised=True)
    s.restart_decision, s.restarted_by_id, s.restarted_at = decision, reviewer.id, now
    fire(listing, "restart", reviewer, reason=decision, data={"suspension": s.id})
    db.session.flush()
    record("listing.restarted", f"重启交易：{listing.project_no}，恢复期限 {len(restored)} 项", obj_type="listing",
           obj_id=listing.id, after={"suspension": s.id, "restored": restored})
    return s


def close_on_termination(listing) -> Suspension | None:
    s = open_suspension(listing)
    if s is not None:
        SUSPENSION.fire(s, "terminate")
    return s


def frozen_rows(s: Suspension, now_fn: Callable[[], datetime] = clock.now) -> list[dict]:
    """For the page: each frozen clock with what was left and, while suspended, when it would end on a restart now."""
    rows = []
    for entry in frozen_clocks(s):
        unit = {"workdays": "个工作日", "days": "天", "seconds": "秒"}[entry["kind"]]
        remaining = int(entry["remaining"])
        if entry["kind"] == SECONDS and remaining >= 60:
            left = f"{remaining // 60} 分 {remaining % 60} 秒"
        else:
            left = f"{remaining} {unit}" + (f"（当日 {entry['time']} 前）" if entry["kind"] != SECONDS and remaining == 0
                                            else "")
        rows.append({**entry, "left": left, "due_dt": datetime.fromisoformat(entry["due"]),
                     "restored_dt": datetime.fromisoformat(entry["restored"]) if entry.get("restored") else None,
                     "if_restarted": restored_due(entry, now_fn()) if s.is_open
                     else None})
    return rows
