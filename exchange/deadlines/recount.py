"""Running deadlines recounted when the holiday calendar changes (DESIGN §4.4).

When a year's schedule changes — the State Council's notice confirmed, a day set or cleared by the admin, a year
confirmed or withdrawn — every stored due date that is still running and was counted across a changed day is
counted again, on the new calendar, from its start event:

* the start event of each clock is stored on its row (``CLOCKS``: the announcement's start, the application, the
  deal's conclusion for its 交易公示, the moment 组织交易 was complete for the 签约 clock (第十六条), the settlement,
  the refund's opening, the offer); a clock given back its remaining time by a restart after 中止 counts from the
  restart instead;
* the length is what the clock had on the old calendar: the working days from its start to its stored last day
  (so a length set by any rule — 5 工作日, a setting, what was left at a suspension — is kept exactly), and its
  time of day (24:00, or 16:00 for a deposit) stays;
* counted again on the calendar *with the change*, it gives the new last day.

A due date already passed is never moved (it was, or is being, acted on), nor is a clock shortened into the past;
clocks of a suspended listing are frozen (``Suspension.frozen`` keeps their remaining 工作日, counted on whatever
calendar holds at the restart), so they are not touched; 10 天 (calendar days) and seconds do not depend on holidays.

The admin sees the plan before confirming (``preview``, "将调整 N 个期限"); applying it writes each new due date,
one ``deadline.recomputed`` audit entry per clock, from which the parties are notified
("因节假日安排调整，签约期限由…调整为…").  :mod:`exchange.workdays.services` sends ``calendar_changing`` with the
change; :func:`init_app` subscribes :func:`plan_for` to it.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from exchange import clock
from exchange.audit.services import record
from exchange.extensions import db
from exchange.contracts.states import ContractState
from exchange.workdays import services as wd


@dataclass(frozen=True)
class Clock:
    model: str
    field: str
    label: str
    running: Callable[[], Select]      # rows of this clock that may be running (state), with their Listing
    anchor: Callable[[Any], datetime]  # the start event
    buyer: Callable[[Any], int | None] = lambda row: None
    frozen_by_suspension: bool = True  # a restart gives it back its remaining time (refunds keep running)


def _clocks() -> list[Clock]:
    from exchange.contracts.models import Contract
    from exchange.incidents.models import DefaultCase, RunnerUpOffer
    from exchange.ledger.models import Refund
    from exchange.listings.models import Listing
    from exchange.registrations.models import Registration
    from exchange.settlement.models import Settlement
    from exchange.trading.models import Deal

    def reg(state):
        return lambda: (select(Registration, Listing).join(Listing, Registration.listing_id == Listing.id)
                        .where(Registration.state == state))

    def deal_q(*states, listing_states=None):
        def q():
            stmt = select(Deal, Listing).join(Listing, Deal.listing_id == Listing.id).where(Deal.state.in_(states))
            return stmt if listing_states is None else stmt.where(Listing.state.in_(listing_states))
        return q

    listing_q = lambda: select(Listing).where(Listing.state == "announced")  # noqa: E731
    return [
        Clock("listing", "announce_end_at", "公告期", listing_q, lambda l: l.announce_start_at),
        Clock("listing", "deposit_deadline_at", "保证金交纳截止时间", listing_q, lambda l: l.announce_start_at),
        Clock("registration", "review_due_at", "资格审核期限", reg("applied"),
              lambda r: r.declaration_at or r.created_at, lambda r: r.buyer_id),
        Clock("registration", "deposit_deadline_at", "保证金交纳截止时间", reg("qualified"),
              lambda r: r.listing.announce_start_at, lambda r: r.buyer_id),
        Clock("deal", "publicity_end_at", "交易公示期", deal_q("publicity"), lambda d: d.concluded_at,
              lambda d: d.buyer_id),
        # 第十六条: the 5 工作日 to sign start when 组织交易 is complete (the end of 交易公示, objections decided)
        Clock("deal", "contract_due_at", "签约期限", deal_q("confirmed", listing_states=("contract",)),
              lambda d: _trade_complete(d), lambda d: d.buyer_id),
        Clock("contract", "due_at", "签约期限",
              lambda: select(Contract, Listing).join(Listing, Contract.listing_id == Listing.id)
              .where(Contract.state.in_(ContractState.UNSIGNED)),
              lambda c: _trade_complete(c.deal), lambda c: c.deal.buyer_id),
        Clock("settlement", "certificate_due_at", "鉴证书出具期限",
              lambda: select(Settlement, Listing).join(Listing, Settlement.listing_id == Listing.id)
              .where(Settlement.state == "settled", Listing.state == "certification"),
              lambda s: s.settled_at, lambda s: s.deal.buyer_id),
        Clock("refund", "due_at", "保证金退还期限",
              lambda: select(Refund, Listing).join(Listing, Refund.listing_id == Listing.id)
              .where(Refund.state.in_(("pending", "recorded"))),
              lambda r: r.created_at, _refund_buyer,
              frozen_by_suspension=False),
        Clock("offer", "due_at", "要约答复期限",
              lambda: select(RunnerUpOffer, Listing).join(DefaultCase, RunnerUpOffer.case_id == DefaultCase.id)
              .join(Listing, DefaultCase.listing_id == Listing.id).where(RunnerUpOffer.state == "pending"),
              lambda o: o.offered_at, lambda o: _offer_buyer(o)),
    ]


def _trade_complete(deal) -> datetime:
    from exchange.trading.services import trade_complete_at
    return trade_complete_at(deal)


def _refund_buyer(refund) -> int | None:
    from exchange.registrations.models import Registration
    reg = db.session.get(Registration, refund.registration_id) if refund.registration_id else None
    return reg.buyer_id if reg else None


def _offer_buyer(offer) -> int | None:
    from exchange.registrations.models import Registration
    reg = db.session.get(Registration, offer.registration_id)
    return reg.buyer_id if reg else None


@dataclass(frozen=True)
class Moved:
    """One running deadline the change moves."""

    model: str
    row_id: int
    field: str
    label: str
    listing_id: int
    project_no: str
    title: str
    buyer_id: int | None
    old: datetime
    new: datetime


def _restarts() -> dict[int, datetime]:
    """The latest restart of each listing that was suspended and restarted."""
    from exchange.incidents.models import Suspension
    out: dict[int, datetime] = {}
    for listing_id, at in db.session.execute(select(Suspension.listing_id, Suspension.restarted_at)
                                             .where(Suspension.restarted_at.is_not(None))):
        at = clock.ensure_aware(at)
        if listing_id not in out or at > out[listing_id]:
            out[listing_id] = at
    return out


def running_clocks(now: datetime, first_day: date | None = None, listing_id: int | None = None,
                   models: tuple[str, ...] | None = None):
    """(clock, row, listing, start instant, due) of every running deadline whose last day is on or after
    ``first_day`` (all when None; of one listing, of some models); clocks of suspended listings are frozen and left
    out (refunds go on)."""
    from exchange.listings.models import Listing
    restarts = _restarts()
    for spec in _clocks():
        if models is not None and spec.model not in models:
            continue
        model = spec.running().column_descriptions[0]["entity"]
        stmt = spec.running().where(getattr(model, spec.field) > now)
        if listing_id is not None:
            stmt = stmt.where(Listing.id == listing_id)
        for found in db.session.execute(stmt.order_by(model.id)).all():
            row, listing = (found[0], found[-1])
            if spec.frozen_by_suspension and listing.state == "suspended":
                continue
            due = clock.ensure_aware(getattr(row, spec.field))
            last, _ = wd.split_due(due)
            if first_day is not None and last < first_day:
                continue
            start = spec.anchor(row)
            if start is None:
                continue
            start = clock.ensure_aware(start)
            restarted = restarts.get(listing.id)
            if spec.frozen_by_suspension and restarted is not None and restarted > start:
                start = restarted
            yield spec, row, listing, start, due


@dataclass
class Plan:
    items: list[Moved]

    def apply(self, actor) -> list[Moved]:
        return apply_moves(self.items, actor)


def plan(before: Callable[[], AbstractContextManager] = nullcontext,
         after: Callable[[], AbstractContextManager] = nullcontext, first_day: date | None = None) -> Plan:
    """The running deadlines whose count differs between the calendar seen inside ``before()`` and inside
    ``after()`` (each a context manager, e.g. ``wd.proposed(change)``)."""
    now = clock.now()
    items = []
    for spec, row, listing, start, due in running_clocks(now, first_day):
        anchor = clock.to_local(start).date()
        old_last, tod = wd.split_due(due)
        if old_last <= anchor:
            continue
        with before():
            length = wd.working_days_between(anchor, old_last)
        if length == 0:
            continue
        with after():
            new_last = wd.add_working_days(anchor, length)
        new = wd.join_due(new_last, tod)
        if new_last == old_last or new <= now:  # unchanged, or never shortened into the past
            continue
        items.append(Moved(spec.model, row.id, spec.field, spec.label, listing.id, listing.project_no or "",
                           listing.title, spec.buyer(row), due, new))
    return Plan(items)


def plan_for(change: wd.Change, **_) -> Plan:
    """The plan of a calendar change (the receiver of ``calendar_changing``)."""
    changed = [a.day for b, a in wd.change_days(change) if b.is_workday != a.is_workday]
    if not changed:
        return Plan([])
    return plan(after=lambda: wd.proposed(change), first_day=min(changed))


def _models() -> dict[str, Any]:
    """The model class of each clock's rows (from the table above)."""
    return {spec.model: spec.running().column_descriptions[0]["entity"] for spec in _clocks()}


def apply_moves(items: list[Moved], actor) -> list[Moved]:
    """Write the new due dates (a row changed since the plan was made is left alone), one audit entry each."""
    from exchange.db import lock_row
    models = _models()
    done = []
    for m in items:
        row = lock_row(db.session, models[m.model], m.row_id)
        if row is None or clock.ensure_aware(getattr(row, m.field)) != m.old:
            continue
        setattr(row, m.field, m.new)
        if m.model == "listing" and m.field == "announce_end_at":
            row.announce_assumed_years = ",".join(str(y) for y in sorted(_provisional_years(row)))
        db.session.flush()
        record("deadline.recomputed", f"因节假日安排调整，{m.project_no or '#' + str(m.listing_id)} 的{m.label}"
               f"由 {wd.due_text(m.old)} 调整为 {wd.due_text(m.new)}", obj_type="listing", obj_id=m.listing_id,
               before={"model": m.model, "id": m.row_id, "field": m.field, "due": m.old},
               after={"model": m.model, "id": m.row_id, "field": m.field, "label": m.label, "due": m.new,
                      "old": wd.due_text(m.old), "new": wd.due_text(m.new), "buyer_id": m.buyer_id},
               actor=wd.audit_actor(actor))
        done.append(m)
    return done


def _provisional_years(listing) -> set[int]:
    start = clock.to_local(clock.ensure_aware(listing.announce_start_at)).date()
    last, _ = wd.split_due(listing.announce_end_at)
    return {info.day.year for info in wd.days_info(start + timedelta(days=1), last)
            if info.source in ("law", "provisional")}


def deadlines_of(listing) -> list[tuple[str, datetime]]:
    """The listing's own running clocks, for its page: (label, due) in due order — the announcement's, the deal's
    publicity and signing (the contract's once it is open), the certificate's."""
    seen: dict[str, tuple[str, datetime]] = {}
    for spec, row, _, _, due in running_clocks(clock.now(), listing_id=listing.id,
                                               models=("listing", "deal", "contract", "settlement")):
        key = "签约期限" if spec.field in ("contract_due_at",) or spec.model == "contract" else spec.label
        if key not in seen or spec.model == "contract":
            seen[key] = (spec.label, due)
    return sorted(seen.values(), key=lambda item: item[1])


def init_app(app) -> None:
    wd.calendar_changing.connect(plan_for, weak=False)
    app.jinja_env.globals["running_deadlines"] = deadlines_of
