"""Working days (工作日) and statutory deadlines.

Where a day's status comes from, first match wins (``DayInfo.source``):

``override``     an admin's own setting in ``CalendarDay`` (放假 or 调休上班), for any year;
``notice``       a day of the State Council's notice that confirmed its year (also a ``CalendarDay``);
``statutory``    ``chinese_calendar`` for the years it knows (statutory holidays and 调休 make-up working days;
                 2004–2026 in the installed chinesecalendar 1.11.0, which raises for later years);
``confirmed``    any other day of a year whose schedule is confirmed (``CalendarYear``): weekday on, weekend off;
``law``          a year that is neither (*provisional*): a festival day or a 补假 day computed from the law
                 (:mod:`exchange.workdays.law`, 《全国年节及纪念日放假办法》);
``provisional``  any other day of a provisional year: weekday on, weekend off.  No 调休 is ever guessed.

Every deadline computed across a provisional day says so (``Due.provisional_years``), pages and PDFs mark such a
due date 暂按法定节假日推算, and from 1 November :func:`calendar_warnings` asks the admin to enter next year's notice.

A change of the calendar (a notice confirmed, a day set or cleared, a year confirmed or withdrawn) is a
:class:`Change`, applied by :func:`apply_change` alone.  Before it writes, it sends ``calendar_changing`` with the
change: a later stage (``exchange.deadlines.recount``) answers with a plan of the running deadlines the change
moves, computed with the change *proposed* (:func:`proposed`: the change laid over the stored calendar, nothing
written), and applies it once the calendar is written.  :func:`preview_change` asks for the plan only.

"在N个工作日内" counts from the day after the event: the deadline is the end (Beijing 24:00, i.e. 00:00
of the next calendar day) of the N-th working day after the event's Beijing date.  "N天内" counts
calendar days the same way.

Example, National Day 2026 (as chinese_calendar 1.11.0 has it): 中秋节 09-25 … 09-27 and 国庆节
10-01 … 10-07 are off; Sunday 09-20 and Saturday 10-10 are worked (both named "国庆节调休上班").  A trade
concluded on Wednesday 2026-09-30 at 15:00 Beijing time must be signed within 5 working days (第十六条):
10-08 (1), 10-09 (2), 10-10 (3, the Saturday worked), 10-12 (4), 10-13 (5), so the contract is due by
2026-10-13 24:00 Beijing time = 2026-10-13T16:00Z; ``Due.last_day`` is 2026-10-13.

Performance: every computation loads the overrides and confirmed years of its whole date window with
one query each (two queries per call however many days are counted); ``chinese_calendar`` and the law are
in-memory.
"""
from __future__ import annotations

import calendar
import contextvars
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import chinese_calendar
from blinker import Namespace
from chinese_calendar.constants import Holiday
from sqlalchemy import delete, select

from exchange import clock
from exchange.audit.services import actor_for_user, current_actor, record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.workdays import law
from exchange.workdays.models import CalendarDay, CalendarYear

__all__ = [
    "HOLIDAY_NAMES",
    "STATUTORY_FIRST",
    "STATUTORY_LAST",
    "CalendarError",
    "Change",
    "DayInfo",
    "Due",
    "add_working_days",
    "apply_change",
    "apply_notice",
    "calendar_changing",
    "calendar_warnings",
    "change_days",
    "confirm_year",
    "confirmed_year",
    "day_info",
    "days_info",
    "due_after_days",
    "due_after_working_days",
    "due_at_local_time",
    "due_text",
    "is_provisional_year",
    "is_workday",
    "join_due",
    "month_grid",
    "notice_change",
    "overrides_of_year",
    "preview_change",
    "proposed",
    "remove_override",
    "set_override",
    "split_due",
    "unconfirm_year",
    "working_days_between",
    "year_status",
]

MIN_ADMIN_YEAR, MAX_ADMIN_YEAR = 2000, 2100
NAME_MAX, NOTE_MAX = 60, 200
WARN_FROM_MONTH = 11  # from 1 November the admin and the center are asked for next year's notice
PROVISIONAL_MARK = "暂按法定节假日推算"


class CalendarError(ServiceError):
    """A rejected calendar operation (a ValueError); ``message`` is Chinese and safe to show."""


HOLIDAY_NAMES = {
    Holiday.new_years_day: "元旦",
    Holiday.spring_festival: "春节",
    Holiday.tomb_sweeping_day: "清明节",
    Holiday.labour_day: "劳动节",
    Holiday.dragon_boat_festival: "端午节",
    Holiday.national_day: "国庆节",
    Holiday.mid_autumn_festival: "中秋节",
    Holiday.anti_fascist_70th_day: "抗战胜利纪念日",
}
# get_holiday_detail returns the enum's value (the English name) in 1.x; accept the member too
_NAME_BY_VALUE = {h.value: n for h, n in HOLIDAY_NAMES.items()}

SOURCE_LABELS = {"override": "管理员设置", "notice": "国务院通知", "statutory": "国务院安排（内置）",
                 "confirmed": "已确认年度", "law": "法定节假日推算", "provisional": "推算"}

# Sent with a Change before it is written; a receiver returns an object with ``items`` (what the change would
# move, for the admin to see) and ``apply(actor)`` (called once the calendar is written), or None.
_signals = Namespace()
calendar_changing = _signals.signal("calendar-changing")


@dataclass(frozen=True)
class DayInfo:
    day: date
    is_workday: bool
    name: str    # 国庆节 / 国庆节调休上班 / 周末 / "" (plain working day) / the admin's name
    source: str  # override / notice / statutory / confirmed / law / provisional

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS[self.source]


@dataclass(frozen=True)
class Due:
    at: datetime  # aware UTC: Beijing midnight at the end of last_day
    last_day: date
    provisional_years: frozenset[int]

    @property
    def assumed_years(self) -> frozenset[int]:  # the name the API and older code use
        return self.provisional_years


def _statutory_range() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays] + [d.year for d in chinese_calendar.workdays]
    return min(years), max(years)


STATUTORY_FIRST, STATUTORY_LAST = _statutory_range()


def _is_statutory_year(year: int) -> bool:
    return STATUTORY_FIRST <= year <= STATUTORY_LAST


def _as_date(d) -> date:
    if isinstance(d, datetime):
        raise TypeError("expected a date, not a datetime (convert with clock.to_local(dt).date())")
    if not isinstance(d, date):
        raise TypeError(f"expected a date, not {type(d).__name__}")
    return d


def _statutory_info(d: date) -> DayInfo:
    on_holiday, holiday = chinese_calendar.get_holiday_detail(d)
    workday = not on_holiday
    label = _NAME_BY_VALUE.get(getattr(holiday, "value", holiday), "") if holiday else ""
    if workday and d.weekday() >= 5:
        name = f"{label}调休上班" if label else "调休上班"
    elif not workday:
        name = label or "周末"
    else:
        name = ""
    return DayInfo(d, workday, name, "statutory")


def _plain(d: date, source: str) -> DayInfo:
    weekend = d.weekday() >= 5
    return DayInfo(d, not weekend, "周末" if weekend else "", source)


@contextmanager
def _setting(var: contextvars.ContextVar, value) -> Iterator[None]:
    """``var`` set to ``value`` inside the block."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


_WEEKDAY_GUESS: contextvars.ContextVar[bool] = contextvars.ContextVar("weekday_guess", default=False)


def weekday_guess():
    """Inside this block provisional years count as the platform did before the law was computed (every
    weekday a working day): to recount, once, the deadlines stored by that version (``flask calendar recount``)."""
    return _setting(_WEEKDAY_GUESS, True)


def _law_info(d: date) -> DayInfo:
    if _WEEKDAY_GUESS.get():
        return _plain(d, "provisional")
    if law.MIN_YEAR <= d.year <= law.MAX_YEAR:
        s = law.provisional_days_off(d.year).get(d)
        if s is not None:
            return DayInfo(d, False, s.name, "law")
    return _plain(d, "provisional")


# --- a change of the calendar ----------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """What an admin operation does to the stored calendar, as data (so it can be proposed before it is written).

    ``clear_years``: every setting of these years is removed first (a notice replaces its year's settings);
    ``set_days``: day → (is_workday, name, origin); ``remove_days``: settings removed; ``confirm``: year → how it
    was confirmed (``notice``/``manual``); ``unconfirm``: confirmations withdrawn."""

    summary: str
    clear_years: frozenset[int] = frozenset()
    set_days: Mapping[date, tuple[bool, str, str]] = field(default_factory=dict)
    remove_days: frozenset[date] = frozenset()
    confirm: Mapping[int, str] = field(default_factory=dict)
    unconfirm: frozenset[int] = frozenset()

    def years(self) -> set[int]:
        return (set(self.clear_years) | {d.year for d in self.set_days} | {d.year for d in self.remove_days}
                | set(self.confirm) | set(self.unconfirm))

    def lay_over(self, overrides: dict, confirmed: set[int]) -> None:
        """Apply the change to a window's loaded settings (``overrides``: day → (is_workday, name, origin))."""
        for d in [d for d in overrides if d.year in self.clear_years or d in self.remove_days]:
            del overrides[d]
        overrides.update(self.set_days)
        confirmed |= set(self.confirm)
        confirmed -= set(self.unconfirm)


_PROPOSED: contextvars.ContextVar[Change | None] = contextvars.ContextVar("proposed_calendar_change", default=None)


def proposed(change: Change):
    """Inside this block every computation sees the calendar as it would be with ``change`` (nothing written)."""
    return _setting(_PROPOSED, change)


class _Window:
    """Settings and confirmed years of ``start … end``, loaded with one query each (and a proposed change)."""

    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        rows = db.session.execute(select(CalendarDay.day, CalendarDay.is_workday, CalendarDay.name,
                                         CalendarDay.origin)
                                  .where(CalendarDay.day >= start, CalendarDay.day <= end)).all()
        self.overrides = {r.day: (bool(r.is_workday), r.name or "", r.origin) for r in rows}
        self.confirmed = set(db.session.scalars(select(CalendarYear.year).where(
            CalendarYear.year >= start.year, CalendarYear.year <= end.year)))
        change = _PROPOSED.get()
        if change is not None:
            change.lay_over(self.overrides, self.confirmed)

    def covers(self, d: date) -> bool:
        return self.start <= d <= self.end

    def info(self, d: date) -> DayInfo:
        if d in self.overrides:
            workday, name, origin = self.overrides[d]
            return DayInfo(d, workday, name, "notice" if origin == "notice" else "override")
        if _is_statutory_year(d.year):
            return _statutory_info(d)
        if d.year in self.confirmed:
            return _plain(d, "confirmed")
        return _law_info(d)


def _window(start: date, days: int) -> _Window:
    """A window of ``days`` days from ``start``, clamped to the representable dates."""
    end = date.max if (date.max - start).days <= days else start + timedelta(days=days)
    return _Window(start, end)


def _next_day(d: date) -> date:
    if d == date.max:
        raise CalendarError("日期超出可计算范围。")
    return d + timedelta(days=1)


# --- facts about days ---------------------------------------------------------------------------

def day_info(d: date) -> DayInfo:
    d = _as_date(d)
    return _Window(d, d).info(d)


def is_workday(d: date) -> bool:
    return day_info(d).is_workday


def days_info(start: date, end: date) -> list[DayInfo]:
    """:class:`DayInfo` of every day from ``start`` to ``end`` inclusive (empty if end < start), two queries."""
    start, end = _as_date(start), _as_date(end)
    if end < start:
        return []
    window = _Window(start, end)
    out, d = [], start
    while True:
        out.append(window.info(d))
        if d == end:
            return out
        d += timedelta(days=1)


def _provisional(info: DayInfo) -> bool:
    return info.source in ("law", "provisional")


# --- counting -----------------------------------------------------------------------------------

def _walk_working_days(start: date, n: int) -> tuple[date, frozenset[int]]:
    start = _as_date(start)
    if n < 0:
        raise ValueError("工作日数不能为负数")
    if n == 0:
        return start, frozenset()
    provisional: set[int] = set()
    span = n * 2 + 30  # the longest holiday run (春节 with weekends) is ~10 days: one window nearly always
    window = _window(start, span)
    d, counted = start, 0
    while counted < n:
        d = _next_day(d)
        if not window.covers(d):
            window = _window(d, span)
        info = window.info(d)
        if _provisional(info):
            provisional.add(d.year)
        if info.is_workday:
            counted += 1
    return d, frozenset(provisional)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start`` (``start`` itself is not counted); n == 0 gives ``start``."""
    return _walk_working_days(start, n)[0]


def working_days_between(a: date, b: date) -> int:
    """How many working days d with a < d ≤ b (0 when b ≤ a).  Used to freeze/restore clocks on 中止."""
    a, b = _as_date(a), _as_date(b)
    if b <= a:
        return 0
    window = _Window(a + timedelta(days=1), b)
    count, d = 0, a
    while d < b:
        d += timedelta(days=1)
        count += window.info(d).is_workday
    return count


# --- deadlines ----------------------------------------------------------------------------------

def _local_date(start: datetime) -> date:
    """The Beijing date of an instant (naive datetimes are taken as UTC, like everywhere else)."""
    if not isinstance(start, datetime):
        raise TypeError("expected a datetime (an instant), not a date")
    return clock.to_local(clock.ensure_aware(start)).date()


def _end_of(d: date) -> datetime:
    if d == date.max:
        raise CalendarError("日期超出可计算范围。")
    return clock.local_datetime(d + timedelta(days=1))


def due_after_working_days(start: datetime, n: int) -> Due:
    """Deadline of "在 n 个工作日内" counted from the Beijing date of the instant ``start``."""
    last, provisional = _walk_working_days(_local_date(start), n)
    return Due(_end_of(last), last, provisional)


def due_after_days(start: datetime, n: int) -> Due:
    """Deadline of "n 天内" (calendar days, holidays included) counted from the Beijing date of ``start``."""
    if n < 0:
        raise ValueError("天数不能为负数")
    local = _local_date(start)
    if (date.max - local).days <= n:
        raise CalendarError("日期超出可计算范围。")
    last = local + timedelta(days=n)
    return Due(_end_of(last), last, frozenset())


def split_due(due: datetime) -> tuple[date, str]:
    """A due instant as (its last Beijing day, "HH:MM" — or "24:00" for the end of that day)."""
    local = clock.to_local(clock.ensure_aware(due))
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return local.date() - timedelta(days=1), "24:00"
    return local.date(), f"{local:%H:%M}"


def join_due(last: date, time_of_day: str) -> datetime:
    """The inverse of :func:`split_due`."""
    if time_of_day == "24:00":
        return _end_of(last)
    hour, minute = (int(x) for x in time_of_day.split(":"))
    return clock.local_datetime(last, hour, minute)


def due_text(due: datetime) -> str:
    """A deadline as every page, document and message writes it (issue 17 item 13, one way everywhere, as the
    ``|due`` filter): 2027-01-08 24:00 (the end of the day) or 2027-01-05 16:00."""
    last, time_of_day = split_due(due)
    return f"{last:%Y-%m-%d} {time_of_day}"


def due_at_local_time(d: date, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock instant on ``d`` as aware UTC (e.g. 16:00 on the last announcement day)."""
    return clock.local_datetime(_as_date(d), hour, minute)


# --- year status and warnings -------------------------------------------------------------------

def year_status(year: int) -> str:
    """'statutory' (chinese_calendar knows it), 'confirmed' (the center confirmed it) or 'provisional'."""
    if _is_statutory_year(year):
        return "statutory"
    if MIN_ADMIN_YEAR <= year <= MAX_ADMIN_YEAR and db.session.get(CalendarYear, year) is not None:
        return "confirmed"
    return "provisional"


def is_provisional_year(year: int) -> bool:
    return year_status(year) == "provisional"


def confirmed_year(year: int) -> CalendarYear | None:
    return db.session.get(CalendarYear, year)


def calendar_warnings(today: date | None = None) -> list[str]:
    """Chinese warnings for the admin and the center: this year when it is provisional, and from 1 November next
    year until its schedule is confirmed."""
    today = today or clock.today_local()
    years = [today.year] + ([today.year + 1] if today.month >= WARN_FROM_MONTH else [])
    return [f"{year} 年节假日安排尚未确认（当前按法定节假日推算）。国务院办公厅公布放假安排后，请中心管理员在"
            f"“工作日历”中点“导入国务院放假通知”，粘贴通知全文并确认。" for year in years if year_status(year) == "provisional"]


# --- applying a change (flush only; the caller commits; audited) --------------------------------

def audit_actor(actor):
    """The acting user for the audit entry: the request's user (with its IP) or the ``actor`` given."""
    cur = current_actor()
    if actor is None or getattr(actor, "id", None) is None or cur.id == actor.id:
        return cur
    try:
        return actor_for_user(actor, cur.ip)
    except AttributeError:  # not a User (an API token holder, a stub): fall back to the context
        return cur


def change_days(change: Change) -> list[tuple[DayInfo, DayInfo]]:
    """(before, after) of every day of the change's years whose status or name the change alters."""
    out = []
    for year in sorted(change.years()):
        first, last = date(year, 1, 1), date(year, 12, 31)
        before = days_info(first, last)
        with proposed(change):
            after = days_info(first, last)
        out += [(b, a) for b, a in zip(before, after) if (b.is_workday, b.name) != (a.is_workday, a.name)]
    return out


def preview_change(change: Change) -> list:
    """What the change would move (the receivers' plan items, e.g. running deadlines), nothing written."""
    return [item for _, plan in calendar_changing.send(change) if plan is not None for item in plan.items]


def _settings_of(years) -> dict[date, CalendarDay]:
    rows = {}
    for year in years:
        rows.update({r.day: r for r in overrides_of_year(year)})
    return rows


def apply_change(change: Change, actor, *, notice_source: tuple[str, str] | None = None, note: str = "",
                 audit: tuple | None = None) -> list:
    """Write ``change`` (one audit entry), then let the receivers of ``calendar_changing`` apply their plans
    (deadlines recomputed, parties notified); returns what they changed.  ``notice_source`` is the (title, text)
    of the State Council's notice the change comes from, kept with the confirmed year.  ``audit`` = (action,
    object type, object id, before, after) of the audit entry; by default a ``calendar.changed`` entry with every
    day the change alters."""
    years = change.years()
    for year in years:
        _check_year(year)
    plans = [plan for _, plan in calendar_changing.send(change) if plan is not None]
    days = change_days(change)
    before = {d.isoformat(): [r.is_workday, r.name, r.origin] for d, r in _settings_of(years).items()}
    for year in change.clear_years:
        db.session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                     CalendarDay.day <= date(year, 12, 31))
                           .execution_options(synchronize_session="fetch"))
    for d in change.remove_days:
        row = db.session.get(CalendarDay, d)
        if row is not None:
            db.session.delete(row)
    db.session.flush()
    for d, (workday, name, origin) in sorted(change.set_days.items()):
        row = db.session.get(CalendarDay, d)
        if row is None:
            row = CalendarDay(day=d)
            db.session.add(row)
        row.is_workday, row.name, row.origin = bool(workday), name[:NAME_MAX], origin
        row.updated_by_id = getattr(actor, "id", None)
        row.updated_at = clock.now()
    for year, source in change.confirm.items():
        row = db.session.get(CalendarYear, year)
        if row is None:
            row = CalendarYear(year=year)
            db.session.add(row)
        row.confirmed_by_id, row.confirmed_at = getattr(actor, "id", None), clock.now()
        row.source, row.note = source, note[:NOTE_MAX]
        title, text = notice_source or ("", "")
        row.notice_title, row.notice_text = title[:200], text
        row.notice_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest() if text else ""
    for year in change.unconfirm:
        row = db.session.get(CalendarYear, year)
        if row is not None:
            db.session.delete(row)
    db.session.flush()
    if audit is not None:
        action, obj_type, obj_id, before_, after_ = audit
        record(action, change.summary, obj_type=obj_type, obj_id=obj_id, before=before_, after=after_,
               actor=audit_actor(actor))
    else:
        _record_change(change, actor, before, days, note, notice_source)
    out = []
    for plan in plans:
        out += plan.apply(actor)
    return out


def _record_change(change, actor, before, days, note, notice_source) -> None:
    record("calendar.notice" if notice_source else "calendar.changed", change.summary, obj_type="calendar_year",
           obj_id=min(change.years()),
           before={"settings": before,
                   "days": {b.day.isoformat(): [b.is_workday, b.name, b.source] for b, _ in days}},
           after={"days": {a.day.isoformat(): [a.is_workday, a.name, a.source] for _, a in days},
                  "confirm": dict(change.confirm), "unconfirm": sorted(change.unconfirm), "note": note,
                  "notice_sha256": hashlib.sha256(notice_source[1].encode("utf-8")).hexdigest()
                  if notice_source else ""},
           actor=audit_actor(actor))


# --- the admin's operations -------------------------------------------------------------------------

def _check_year(year: int, field: str = "year") -> None:
    if not MIN_ADMIN_YEAR <= year <= MAX_ADMIN_YEAR:
        raise CalendarError(f"年份应在 {MIN_ADMIN_YEAR} 至 {MAX_ADMIN_YEAR} 之间。", field)


def _check_day(day) -> date:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise CalendarError("请填写有效的日期。", "day")
    _check_year(day.year, "day")
    return day


def override_change(day: date, is_workday: bool, name: str) -> Change:
    day = _check_day(day)
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise CalendarError(f"名称不能超过 {NAME_MAX} 个字。", "name")
    name = name or ("调休上班" if is_workday else "放假")
    return Change(f"设置 {day.isoformat()} 为{'工作日' if is_workday else '休息日'}（{name}）",
                  set_days={day: (bool(is_workday), name, "manual")})


def set_override(day: date, is_workday: bool, name: str, actor) -> CalendarDay:
    """Mark ``day`` as a holiday (放假) or a working day (调休上班), replacing any earlier setting."""
    change = override_change(day, is_workday, name)
    row = db.session.get(CalendarDay, day)
    before = {"is_workday": row.is_workday, "name": row.name} if row else None
    workday, name, _ = change.set_days[day]
    apply_change(change, actor, audit=("calendar.override", "calendar_day", day.isoformat(), before,
                                       {"is_workday": workday, "name": name}))
    return db.session.get(CalendarDay, day)


def remove_override(day: date, actor) -> bool:
    """Delete the admin setting of ``day`` (back to the year's other sources); False if none."""
    day = _check_day(day)
    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    apply_change(Change(f"删除 {day.isoformat()} 的节假日设置", remove_days=frozenset({day})), actor,
                 audit=("calendar.override_removed", "calendar_day", day.isoformat(),
                        {"is_workday": row.is_workday, "name": row.name}, None))
    return True


def confirm_change(year: int) -> Change:
    _check_year(year)
    if _is_statutory_year(year):
        raise CalendarError(f"{year}年的放假安排系统已内置，无需确认；如有变动，请逐日设置。")
    return Change(f"确认 {year} 年节假日安排已录入完整", confirm={year: "manual"})


def confirm_year(year: int, actor, note: str = "") -> CalendarYear:
    """Record that ``year``'s holidays and make-up days have all been entered as settings by hand."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise CalendarError(f"依据不能超过 {NOTE_MAX} 个字。", "note")
    row = db.session.get(CalendarYear, year)
    apply_change(confirm_change(year), actor, note=note,
                 audit=("calendar.confirm_year", "calendar_year", year, {"note": row.note} if row else None,
                        {"note": note}))
    return db.session.get(CalendarYear, year)


def unconfirm_year(year: int, actor) -> bool:
    """Withdraw the confirmation of ``year`` (back to provisional: the law's holidays); False if none."""
    _check_year(year)
    row = db.session.get(CalendarYear, year)
    if row is None:
        return False
    apply_change(Change(f"撤销 {year} 年节假日安排的确认", unconfirm=frozenset({year})), actor,
                 audit=("calendar.unconfirm_year", "calendar_year", year, {"note": row.note}, None))
    return True


def notice_change(notice) -> Change:
    """The change confirming ``notice``'s year from the parsed State Council notice (:mod:`.notice`): its settings
    replaced by the notice's days, the year confirmed."""
    _check_year(notice.year)
    if _is_statutory_year(notice.year):
        raise CalendarError(f"{notice.year}年的放假安排系统已内置（国务院办公厅通知），无需再导入。")
    # days of a run crossing the new year (2024: 元旦 from 2023-12-30) are set too, in their own year
    days = {d: (workday, name, "notice") for d, (workday, name) in notice.day_names().items()}
    for d in days:
        _check_year(d.year, "text")
    return Change(f"按国务院办公厅通知确认 {notice.year} 年节假日安排：放假 {len(notice.holidays)} 天、"
                  f"调休上班 {len(notice.workdays)} 天", clear_years=frozenset({notice.year}), set_days=days,
                  confirm={notice.year: "notice"})


def apply_notice(notice, text: str, actor, note: str = "") -> list:
    """Confirm the notice's year (see :func:`notice_change`), keeping its ``text``; returns the deadlines moved."""
    return apply_change(notice_change(notice), actor, notice_source=(notice.title, text), note=note)


# --- the admin page -----------------------------------------------------------------------------

def overrides_of_year(year: int) -> list[CalendarDay]:
    if not MIN_ADMIN_YEAR <= year <= MAX_ADMIN_YEAR:
        return []
    return list(db.session.scalars(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)).order_by(CalendarDay.day)))


def month_grid(year: int, month: int) -> list[list[DayInfo | None]]:
    """Weeks (Monday first, 7 cells each) of the month; cells of neighbouring months are ``None``."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    days = days_info(first, last)
    cells: list[DayInfo | None] = [None] * first.weekday() + days
    cells += [None] * (-len(cells) % 7)
    return [cells[i:i + 7] for i in range(0, len(cells), 7)]
