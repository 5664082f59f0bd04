"""Working days (工作日) and statutory deadlines.

Where a day's status comes from, first match wins (``DayInfo.source``):

``override``   an admin row in ``CalendarDay`` (放假 or 调休上班), for any year;
``statutory``  ``chinese_calendar`` for the years it knows (statutory holidays and 调休 make-up working
               days; 2004–2026 in the installed chinesecalendar 1.11.0, which raises for later years);
``confirmed``  a year the admin has confirmed (``CalendarYear``): its holidays and make-up days were
               entered as overrides, so every other day is a plain weekday (on) or weekend day (off);
``assumed``    none of these: Monday–Friday are *assumed* to be working days.  Every deadline computed
               across such a day says so (``Due.assumed_years``) and :func:`calendar_warnings` tells the
               admin to enter the State Council's schedule (DESIGN §4.4: never silently a plain calendar).

"在N个工作日内" counts from the day after the event: the deadline is the end (Beijing 24:00, i.e. 00:00
of the next calendar day) of the N-th working day after the event's Beijing date.  "N天内" counts
calendar days the same way.

Example, National Day 2026 (as chinese_calendar 1.11.0 has it): 中秋节 09-25 … 09-27 and 国庆节
10-01 … 10-07 are off; Sunday 09-20 and Saturday 10-10 are worked (both named "国庆节调休上班").  A trade
concluded on Wednesday 2026-09-30 at 15:00 Beijing time must be signed within 5 working days (第十六条):
10-08 (1), 10-09 (2), 10-10 (3, the Saturday worked), 10-12 (4), 10-13 (5), so the contract is due by
2026-10-13 24:00 Beijing time = 2026-10-13T16:00Z; ``Due.last_day`` is 2026-10-13.

Performance: every computation loads the overrides and confirmed years of its whole date window with
one query each (two queries per call however many days are counted); ``chinese_calendar`` is in-memory.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar
from chinese_calendar.constants import Holiday
from sqlalchemy import select

from exchange import clock
from exchange.audit.services import actor_for_user, current_actor, record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.workdays.models import CalendarDay, CalendarYear

__all__ = [
    "HOLIDAY_NAMES",
    "STATUTORY_FIRST",
    "STATUTORY_LAST",
    "CalendarError",
    "DayInfo",
    "Due",
    "add_working_days",
    "calendar_warnings",
    "confirm_year",
    "confirmed_year",
    "day_info",
    "days_info",
    "due_after_days",
    "due_after_working_days",
    "due_at_local_time",
    "is_workday",
    "month_grid",
    "overrides_of_year",
    "remove_override",
    "set_override",
    "unconfirm_year",
    "working_days_between",
    "year_status",
]

MIN_ADMIN_YEAR, MAX_ADMIN_YEAR = 2000, 2100
NAME_MAX, NOTE_MAX = 60, 200


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


@dataclass(frozen=True)
class DayInfo:
    day: date
    is_workday: bool
    name: str    # 国庆节 / 国庆节调休上班 / 周末 / "" (plain working day) / the admin's name
    source: str  # override / statutory / confirmed / assumed


@dataclass(frozen=True)
class Due:
    at: datetime  # aware UTC: Beijing midnight at the end of last_day
    last_day: date
    assumed_years: frozenset[int]


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


class _Window:
    """Overrides and confirmed years of ``start … end``, loaded with one query each."""

    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        rows = db.session.execute(select(CalendarDay.day, CalendarDay.is_workday, CalendarDay.name)
                                  .where(CalendarDay.day >= start, CalendarDay.day <= end)).all()
        self.overrides = {r.day: (r.is_workday, r.name) for r in rows}
        self.confirmed = set(db.session.scalars(select(CalendarYear.year).where(
            CalendarYear.year >= start.year, CalendarYear.year <= end.year)))

    def covers(self, d: date) -> bool:
        return self.start <= d <= self.end

    def info(self, d: date) -> DayInfo:
        if d in self.overrides:
            workday, name = self.overrides[d]
            return DayInfo(d, bool(workday), name or "", "override")
        if _is_statutory_year(d.year):
            return _statutory_info(d)
        weekend = d.weekday() >= 5
        source = "confirmed" if d.year in self.confirmed else "assumed"
        return DayInfo(d, not weekend, "周末" if weekend else "", source)


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


# --- counting -----------------------------------------------------------------------------------

def _walk_working_days(start: date, n: int) -> tuple[date, frozenset[int]]:
    start = _as_date(start)
    if n < 0:
        raise ValueError("工作日数不能为负数")
    if n == 0:
        return start, frozenset()
    assumed: set[int] = set()
    span = n * 2 + 30  # the longest holiday run (春节 with weekends) is ~10 days: one window nearly always
    window = _window(start, span)
    d, counted = start, 0
    while counted < n:
        d = _next_day(d)
        if not window.covers(d):
            window = _window(d, span)
        info = window.info(d)
        if info.source == "assumed":
            assumed.add(d.year)
        if info.is_workday:
            counted += 1
    return d, frozenset(assumed)


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
    last, assumed = _walk_working_days(_local_date(start), n)
    return Due(_end_of(last), last, assumed)


def due_after_days(start: datetime, n: int) -> Due:
    """Deadline of "n 天内" (calendar days, holidays included) counted from the Beijing date of ``start``."""
    if n < 0:
        raise ValueError("天数不能为负数")
    local = _local_date(start)
    if (date.max - local).days <= n:
        raise CalendarError("日期超出可计算范围。")
    last = local + timedelta(days=n)
    return Due(_end_of(last), last, frozenset())


def due_at_local_time(d: date, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock instant on ``d`` as aware UTC (e.g. 16:00 on the last announcement day)."""
    return clock.local_datetime(_as_date(d), hour, minute)


# --- year status and warnings -------------------------------------------------------------------

def year_status(year: int) -> str:
    """'statutory' (chinese_calendar knows it), 'confirmed' (admin confirmed) or 'unknown'."""
    if _is_statutory_year(year):
        return "statutory"
    if MIN_ADMIN_YEAR <= year <= MAX_ADMIN_YEAR and db.session.get(CalendarYear, year) is not None:
        return "confirmed"
    return "unknown"


def confirmed_year(year: int) -> CalendarYear | None:
    return db.session.get(CalendarYear, year)


def calendar_warnings(today: date | None = None) -> list[str]:
    """Chinese warnings for this year and next (Beijing dates) when their schedule is not known."""
    today = today or clock.today_local()
    out = []
    for year in (today.year, today.year + 1):
        if year_status(year) == "unknown":
            out.append(f"{year}年的法定节假日安排尚未录入：系统暂按周一至周五为工作日计算期限。"
                       f"国务院办公厅公布安排后，请在“节假日设置”中录入放假和调休上班日期并确认。")
    return out


# --- admin operations (flush only; the caller commits; each one audited) ------------------------

def _audit_actor(actor):
    """The acting user for the audit entry: the request's user (with its IP) or the ``actor`` given."""
    cur = current_actor()
    if actor is None or getattr(actor, "id", None) is None or cur.id == actor.id:
        return cur
    try:
        return actor_for_user(actor, cur.ip)
    except AttributeError:  # not a User (an API token holder, a stub): fall back to the context
        return cur


def _check_year(year: int, field: str = "year") -> None:
    if not MIN_ADMIN_YEAR <= year <= MAX_ADMIN_YEAR:
        raise CalendarError(f"年份应在 {MIN_ADMIN_YEAR} 至 {MAX_ADMIN_YEAR} 之间。", field)


def _check_day(day) -> date:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise CalendarError("请填写有效的日期。", "day")
    _check_year(day.year, "day")
    return day


def set_override(day: date, is_workday: bool, name: str, actor) -> CalendarDay:
    """Mark ``day`` as a holiday (放假) or a working day (调休上班), replacing any earlier setting."""
    day = _check_day(day)
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise CalendarError(f"名称不能超过 {NAME_MAX} 个字。", "name")
    row = db.session.get(CalendarDay, day)
    before = {"is_workday": row.is_workday, "name": row.name} if row else None
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    row.is_workday = bool(is_workday)
    row.name = name or ("调休上班" if is_workday else "放假")
    row.updated_by_id = getattr(actor, "id", None)
    row.updated_at = clock.now()
    db.session.flush()
    record("calendar.override",
           f"设置 {day.isoformat()} 为{'工作日' if row.is_workday else '休息日'}（{row.name}）",
           obj_type="calendar_day", obj_id=day.isoformat(), before=before,
           after={"is_workday": row.is_workday, "name": row.name}, actor=_audit_actor(actor))
    return row


def remove_override(day: date, actor) -> bool:
    """Delete the admin setting of ``day`` (back to the statutory/default schedule); False if none."""
    day = _check_day(day)
    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    before = {"is_workday": row.is_workday, "name": row.name}
    db.session.delete(row)
    db.session.flush()
    record("calendar.override_removed", f"删除 {day.isoformat()} 的节假日设置", obj_type="calendar_day",
           obj_id=day.isoformat(), before=before, actor=_audit_actor(actor))
    return True


def confirm_year(year: int, actor, note: str = "") -> CalendarYear:
    """Record that ``year``'s holidays and make-up days have all been entered as overrides."""
    _check_year(year)
    if _is_statutory_year(year):
        raise CalendarError(f"{year}年的放假安排系统已内置，无需确认；如有变动，请逐日设置。")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise CalendarError(f"依据不能超过 {NOTE_MAX} 个字。", "note")
    row = db.session.get(CalendarYear, year)
    before = {"note": row.note} if row else None
    if row is None:
        row = CalendarYear(year=year)
        db.session.add(row)
    row.confirmed_by_id = getattr(actor, "id", None)
    row.confirmed_at = clock.now()
    row.note = note
    db.session.flush()
    record("calendar.confirm_year", f"确认 {year} 年节假日安排已录入完整", obj_type="calendar_year",
           obj_id=year, before=before, after={"note": note}, actor=_audit_actor(actor))
    return row


def unconfirm_year(year: int, actor) -> bool:
    """Withdraw the confirmation of ``year`` (its weekdays become *assumed* again); False if none."""
    _check_year(year)
    row = db.session.get(CalendarYear, year)
    if row is None:
        return False
    before = {"note": row.note}
    db.session.delete(row)
    db.session.flush()
    record("calendar.unconfirm_year", f"撤销 {year} 年节假日安排的确认", obj_type="calendar_year",
           obj_id=year, before=before, actor=_audit_actor(actor))
    return True


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
