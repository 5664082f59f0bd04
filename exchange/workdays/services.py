"""Working days (工作日) and statutory deadlines.

A day's status comes, in this order, from: an admin override (``CalendarDay``); ``chinese_calendar``
for the years it knows (statutory holidays and 调休 make-up working days, 2004–2026 in the installed
version); a year the admin has confirmed (``CalendarYear``: its holidays entered as overrides, the rest
weekends off); otherwise weekdays are *assumed* to be working days, and every deadline computed across
such a day says so (``Due.assumed_years``) and the admin is warned.

"在N个工作日内" counts from the day after the event: the deadline is the end (Beijing 24:00) of the
N-th working day after the event's Beijing date.  Example, National Day 2026: 10-01 … 10-07 are off,
Sunday 09-20 and Saturday 10-10 are worked.  A trade concluded on Wednesday 2026-09-30 at 15:00 must be
signed within 5 working days: 10-08 (1), 10-09 (2), 10-10 (3, a Saturday worked), 10-12 (4), 10-13 (5),
so the contract is due by 2026-10-13 24:00 Beijing time (2026-10-13T16:00Z).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar
from chinese_calendar.constants import Holiday
from sqlalchemy import select

from exchange import clock
from exchange.audit.services import record
from exchange.extensions import db
from exchange.workdays.models import CalendarDay, CalendarYear


class CalendarError(ValueError):
    pass


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
_NAME_BY_VALUE = {h.value: n for h, n in HOLIDAY_NAMES.items()}


@dataclass(frozen=True)
class DayInfo:
    day: date
    is_workday: bool
    name: str
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


class _Lookup:
    """Overrides and confirmed years for a window of dates, loaded with one query each."""

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
            return DayInfo(d, workday, name, "override")
        weekend = d.weekday() >= 5
        if STATUTORY_FIRST <= d.year <= STATUTORY_LAST:
            on_holiday, holiday = chinese_calendar.get_holiday_detail(d)
            workday = not on_holiday
            label = _NAME_BY_VALUE.get(getattr(holiday, "value", holiday), "") if holiday else ""
            if workday and weekend:
                name = f"{label}调休上班" if label else "调休上班"
            elif not workday:
                name = label or "周末"
            else:
                name = ""
            return DayInfo(d, workday, name, "statutory")
        source = "confirmed" if d.year in self.confirmed else "assumed"
        return DayInfo(d, not weekend, "周末" if weekend else "", source)


def day_info(d: date) -> DayInfo:
    return _Lookup(d, d).info(d)


def is_workday(d: date) -> bool:
    return day_info(d).is_workday


def _walk_working_days(start: date, n: int) -> tuple[date, frozenset[int]]:
    if n < 0:
        raise ValueError("n must not be negative")
    if n == 0:
        return start, frozenset()
    assumed: set[int] = set()
    window = max(30, n * 2 + 30)
    lookup = _Lookup(start, start + timedelta(days=window))
    d, counted = start, 0
    while counted < n:
        d += timedelta(days=1)
        if not lookup.covers(d):
            lookup = _Lookup(d, d + timedelta(days=window))
        info = lookup.info(d)
        if info.source == "assumed":
            assumed.add(d.year)
        if info.is_workday:
            counted += 1
    return d, frozenset(assumed)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after ``start`` (``start`` itself is not counted)."""
    return _walk_working_days(start, n)[0]


def _end_of(d: date) -> datetime:
    return clock.local_datetime(d + timedelta(days=1))


def due_after_working_days(start: datetime, n: int) -> Due:
    """Deadline of "在 n 个工作日内" counted from the Beijing date of ``start``."""
    local_start = clock.to_local(clock.ensure_aware(start)).date()
    last, assumed = _walk_working_days(local_start, n)
    return Due(_end_of(last), last, assumed)


def due_after_days(start: datetime, n: int) -> Due:
    """Deadline of "n 天内" (calendar days) counted from the Beijing date of ``start``."""
    if n < 0:
        raise ValueError("n must not be negative")
    last = clock.to_local(clock.ensure_aware(start)).date() + timedelta(days=n)
    return Due(_end_of(last), last, frozenset())


def due_at_local_time(d: date, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock instant on ``d`` as aware UTC (e.g. 16:00 on the last announcement day)."""
    return clock.local_datetime(d, hour, minute)


def working_days_between(a: date, b: date) -> int:
    """How many working days d with a < d ≤ b."""
    if b <= a:
        return 0
    lookup = _Lookup(a + timedelta(days=1), b)
    count, d = 0, a
    while d < b:
        d += timedelta(days=1)
        count += lookup.info(d).is_workday
    return count


def year_status(year: int) -> str:
    if STATUTORY_FIRST <= year <= STATUTORY_LAST:
        return "statutory"
    if db.session.get(CalendarYear, year) is not None:
        return "confirmed"
    return "unknown"


def calendar_warnings(today: date | None = None) -> list[str]:
    today = today or clock.today_local()
    out = []
    for year in (today.year, today.year + 1):
        if year_status(year) == "unknown":
            out.append(f"{year}年的法定节假日安排尚未录入：系统暂按周一至周五为工作日计算期限。"
                       f"国务院办公厅公布安排后，请在“节假日设置”中录入放假和调休上班日期并确认。")
    return out


# --- admin operations (flush only; the caller commits) ------------------------------------------

def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise CalendarError("年份应在 2000 至 2100 之间。")


def set_override(day: date, is_workday: bool, name: str, actor) -> CalendarDay:
    _check_year(day.year)
    name = (name or "").strip()
    if len(name) > 60:
        raise CalendarError("名称不能超过 60 个字。")
    row = db.session.get(CalendarDay, day)
    before = {"is_workday": row.is_workday, "name": row.name} if row else None
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    row.is_workday = bool(is_workday)
    row.name = name or ("调休上班" if is_workday else "放假")
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    record("calendar.override", f"设置 {day.isoformat()} 为{'工作日' if is_workday else '休息日'}（{row.name}）",
           obj_type="calendar_day", obj_id=day.isoformat(), before=before,
           after={"is_workday": row.is_workday, "name": row.name})
    return row


def remove_override(day: date, actor) -> bool:
    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    before = {"is_workday": row.is_workday, "name": row.name}
    db.session.delete(row)
    db.session.flush()
    record("calendar.override_removed", f"删除 {day.isoformat()} 的节假日设置", obj_type="calendar_day",
           obj_id=day.isoformat(), before=before)
    return True


def confirm_year(year: int, actor, note: str = "") -> CalendarYear:
    _check_year(year)
    if STATUTORY_FIRST <= year <= STATUTORY_LAST:
        raise CalendarError(f"{year}年的安排系统已内置，无需确认；如有变动，请逐日设置。")
    note = (note or "").strip()[:200]
    row = db.session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        db.session.add(row)
    row.confirmed_by_id = getattr(actor, "id", None)
    row.confirmed_at = clock.now()
    row.note = note
    db.session.flush()
    record("calendar.confirm_year", f"确认 {year} 年节假日安排已录入完整", obj_type="calendar_year", obj_id=year,
           after={"note": note})
    return row


def unconfirm_year(year: int, actor) -> bool:
    row = db.session.get(CalendarYear, year)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    record("calendar.unconfirm_year", f"撤销 {year} 年节假日安排的确认", obj_type="calendar_year", obj_id=year)
    return True


def overrides_of_year(year: int) -> list[CalendarDay]:
    return list(db.session.scalars(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)).order_by(CalendarDay.day)))


def month_grid(year: int, month: int) -> list[list[DayInfo | None]]:
    """Weeks (Monday first) of the month; days of neighbouring months are None."""
    first = date(year, month, 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    lookup = _Lookup(first, last)
    weeks: list[list[DayInfo | None]] = []
    week: list[DayInfo | None] = [None] * first.weekday()
    d = first
    while d <= last:
        week.append(lookup.info(d))
        if len(week) == 7:
            weeks.append(week)
            week = []
        d += timedelta(days=1)
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    return weeks
