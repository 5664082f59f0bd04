"""The working-day calendar (DESIGN §2 clocks, §4.4): services, admin operations, the admin page.

Every statutory fact used below is re-derived from ``chinese_calendar`` itself (chinesecalendar 1.11.0
knows 2004–2026), so a test never encodes a date from memory alone.  For later (provisional) years the days off
are counted by hand from the law (《全国年节及纪念日放假办法》: 元旦 1, 春节 4 = 除夕 + 初一至初三, 清明 1, 劳动节 2,
端午 1, 中秋 1, 国庆 3, a holiday on a weekend made up by 补假), with the lunar dates re-derived from ``lunar_python``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from chinese_calendar.constants import Holiday
from sqlalchemy import event, func, select

from exchange.audit.models import AuditEntry
from exchange.audit.services import verify
from exchange.workdays import law
from exchange.workdays import services as wd
from exchange.workdays.models import CalendarDay, CalendarYear
from tests.factories import PASSWORD
from tests.helpers import get_csrf, login, post_form, text


def beijing(y, m, d, hh=0, mm=0) -> datetime:
    """A Beijing wall-clock time as aware UTC (Beijing is UTC+8 all year)."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=8)


def nth_workday_after(d: date, n: int) -> date:
    """An independent count straight from chinese_calendar."""
    while n:
        d += timedelta(days=1)
        n -= chinese_calendar.is_workday(d)
    return d


@contextlib.contextmanager
def count_queries(db):
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def audit_rows(db, action: str | None = None) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.seq)
    if action:
        q = q.where(AuditEntry.action == action)
    return list(db.session.scalars(q))


# --- pure facts (no database) ---------------------------------------------------------------------

def test_chinese_calendar_facts_the_docstring_relies_on():
    # National Day 2026: 10-01 … 10-07 off, Sunday 09-20 and Saturday 10-10 worked; 中秋 09-25 … 09-27
    for day in range(1, 8):
        assert not chinese_calendar.is_workday(date(2026, 10, day))
    assert date(2026, 9, 20).weekday() == 6 and chinese_calendar.is_workday(date(2026, 9, 20))
    assert date(2026, 10, 10).weekday() == 5 and chinese_calendar.is_workday(date(2026, 10, 10))
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 10)) == (False, Holiday.national_day.value)
    assert {d for d in chinese_calendar.holidays if d.year == 2026 and d.month == 9} == {
        date(2026, 9, 25), date(2026, 9, 26), date(2026, 9, 27)}
    assert chinese_calendar.get_holiday_detail(date(2026, 9, 25))[1] == Holiday.mid_autumn_festival.value
    assert (wd.STATUTORY_FIRST, wd.STATUTORY_LAST) == (2004, 2026)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_lunar_facts_the_provisional_tests_rely_on():
    from lunar_python import Lunar

    def solar(y, m, d):
        s = Lunar.fromYmd(y, m, d).getSolar()
        return date(s.getYear(), s.getMonth(), s.getDay())

    # 2027: 正月初一 Saturday 02-06 (除夕 Friday 02-05), 端午 06-09, 中秋 09-15; 2030: 正月初一 Sunday 02-03
    assert solar(2027, 1, 1) == date(2027, 2, 6) and date(2027, 2, 6).weekday() == 5
    assert (solar(2027, 5, 5), solar(2027, 8, 15)) == (date(2027, 6, 9), date(2027, 9, 15))
    assert solar(2030, 1, 1) == date(2030, 2, 3) and date(2030, 2, 3).weekday() == 6
    assert date(2027, 1, 1).weekday() == 4 and date(2027, 5, 1).weekday() == 5 and date(2027, 10, 1).weekday() == 4
    assert date(2030, 10, 1).weekday() == 1  # a Tuesday: 国庆 10-01 … 10-03 all on weekdays, no 补假


def test_every_holiday_enum_has_a_chinese_name():
    assert set(wd.HOLIDAY_NAMES) == set(Holiday)
    assert {wd.HOLIDAY_NAMES[h] for h in (Holiday.new_years_day, Holiday.spring_festival, Holiday.tomb_sweeping_day,
                                          Holiday.labour_day, Holiday.dragon_boat_festival, Holiday.mid_autumn_festival,
                                          Holiday.national_day)} == {
        "元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}


def test_value_types_are_frozen():
    info = wd.DayInfo(date(2026, 1, 1), False, "元旦", "statutory")
    due = wd.Due(datetime(2026, 1, 1, tzinfo=UTC), date(2026, 1, 1), frozenset())
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.is_workday = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        due.last_day = date(2026, 1, 2)  # type: ignore[misc]


def test_calendar_error_is_a_value_error():
    assert issubclass(wd.CalendarError, ValueError)


# --- days ---------------------------------------------------------------------------------------

def test_weekends_and_plain_weekdays(db):
    sat, sun, mon, fri = date(2026, 11, 21), date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 20)
    assert wd.day_info(sat) == wd.DayInfo(sat, False, "周末", "statutory")
    assert wd.day_info(sun) == wd.DayInfo(sun, False, "周末", "statutory")
    assert wd.day_info(mon) == wd.DayInfo(mon, True, "", "statutory")
    assert wd.add_working_days(fri, 1) == mon
    assert wd.add_working_days(sat, 1) == mon
    assert wd.add_working_days(fri, 5) == date(2026, 11, 27)


def test_every_statutory_day_matches_chinese_calendar(db):
    first, last = date(wd.STATUTORY_FIRST, 1, 1), date(wd.STATUTORY_LAST, 12, 31)
    with count_queries(db) as queries:
        infos = wd.days_info(first, last)
    assert len(queries) == 2  # one window, however many days
    assert len(infos) == (last - first).days + 1
    for info in infos:
        assert info.source == "statutory"
        assert info.is_workday == chinese_calendar.is_workday(info.day), info


def test_holiday_names_of_2026(db):
    infos = wd.days_info(date(2026, 1, 1), date(2026, 12, 31))
    holiday_names = {i.name for i in infos if not i.is_workday and i.name != "周末"}
    assert holiday_names == {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"}
    assert wd.day_info(date(2026, 10, 1)) == wd.DayInfo(date(2026, 10, 1), False, "国庆节", "statutory")
    assert wd.day_info(date(2026, 10, 3)).name == "国庆节"  # a Saturday inside the holiday
    assert wd.day_info(date(2026, 2, 17)).name == "春节"
    assert wd.day_info(date(2026, 9, 26)).name == "中秋节"


@pytest.mark.parametrize("day, name", [
    (date(2026, 1, 4), "元旦调休上班"),     # Sunday
    (date(2026, 2, 14), "春节调休上班"),    # Saturday
    (date(2026, 2, 28), "春节调休上班"),    # Saturday
    (date(2026, 5, 9), "劳动节调休上班"),   # Saturday
    (date(2026, 9, 20), "国庆节调休上班"),  # Sunday
    (date(2026, 10, 10), "国庆节调休上班"),  # Saturday
])
def test_make_up_working_weekend_days(db, day, name):
    assert day.weekday() >= 5 and chinese_calendar.is_workday(day)  # re-derived
    assert wd.day_info(day) == wd.DayInfo(day, True, name, "statutory")
    assert wd.is_workday(day)


def test_a_statutory_holiday_week(db):
    # 劳动节 2026: 05-01 … 05-05 off (re-derived), Saturday 05-09 worked
    off = [date(2026, 5, d) for d in range(1, 6)]
    assert all(not chinese_calendar.is_workday(d) for d in off)
    assert [wd.is_workday(d) for d in off] == [False] * 5
    assert {wd.day_info(d).name for d in off} == {"劳动节"}
    assert wd.add_working_days(date(2026, 4, 30), 1) == date(2026, 5, 6) == nth_workday_after(date(2026, 4, 30), 1)
    # 05-06, 05-07, 05-08, 05-09 (Saturday worked), 05-11
    assert wd.add_working_days(date(2026, 4, 30), 5) == date(2026, 5, 11) == nth_workday_after(date(2026, 4, 30), 5)
    assert wd.working_days_between(date(2026, 4, 30), date(2026, 5, 10)) == 4


# --- deadlines ----------------------------------------------------------------------------------

def test_national_day_2026_contract_deadline(db):
    concluded = beijing(2026, 9, 30, 15, 0)  # Wednesday 15:00 Beijing
    due = wd.due_after_working_days(concluded, 5)  # 签约: 5 工作日 (第十六条)
    assert due.last_day == nth_workday_after(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert due.at == datetime(2026, 10, 13, 16, 0, tzinfo=UTC)  # 10-14 00:00 Beijing
    assert due.at.utcoffset() == timedelta(0)
    assert due.provisional_years == frozenset()
    # 公示 3 工作日 and the first working day after the holiday
    assert wd.due_after_working_days(concluded, 3).last_day == date(2026, 10, 10) == nth_workday_after(
        date(2026, 9, 30), 3)
    assert wd.due_after_working_days(concluded, 1).last_day == date(2026, 10, 8)


def test_deadline_across_spring_festival_2026(db):
    # the trade concluded Friday 2026-02-13; 02-14 (Saturday) is worked, 02-15 … 02-23 are off
    assert all(not chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))
    due = wd.due_after_working_days(beijing(2026, 2, 13, 10, 30), 5)
    # 02-14 (1), 02-24 (2), 02-25 (3), 02-26 (4), 02-27 (5)
    assert due.last_day == nth_workday_after(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert due.at == datetime(2026, 2, 27, 16, 0, tzinfo=UTC)
    # refund of losing deposits, 5 工作日 from the Friday before: the holiday does not count
    assert wd.working_days_between(date(2026, 2, 13), date(2026, 2, 27)) == 5


def test_many_starts_match_chinese_calendar(db):
    start = date(2025, 12, 1)
    while start <= date(2026, 12, 10):
        for n in (1, 3, 5, 10):
            assert wd.add_working_days(start, n) == nth_workday_after(start, n), (start, n)
        start += timedelta(days=3)


def test_the_beijing_date_of_the_instant_decides_the_start(db):
    # Sunday 23:59 Beijing → the count starts on Monday 11-23, the first working day is Monday itself
    assert wd.due_after_working_days(beijing(2026, 11, 22, 23, 59), 1).last_day == date(2026, 11, 23)
    # Monday 00:00 Beijing (still Sunday in UTC) → Monday is the start, Tuesday the first working day
    assert wd.due_after_working_days(datetime(2026, 11, 22, 16, 0, tzinfo=UTC), 1).last_day == date(2026, 11, 24)
    # a naive datetime is taken as UTC, like everywhere on the platform
    assert wd.due_after_working_days(datetime(2026, 11, 22, 16, 0), 1).last_day == date(2026, 11, 24)


def test_n_zero_and_negative_n(db):
    assert wd.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)
    due = wd.due_after_working_days(beijing(2026, 10, 3, 9), 0)
    assert due.last_day == date(2026, 10, 3) and due.at == datetime(2026, 10, 3, 16, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        wd.add_working_days(date(2026, 1, 1), -1)
    with pytest.raises(ValueError):
        wd.due_after_working_days(beijing(2026, 1, 1), -3)
    with pytest.raises(ValueError):
        wd.due_after_days(beijing(2026, 1, 1), -1)


def test_calendar_days_and_local_times(db):
    due = wd.due_after_days(beijing(2026, 9, 30, 15), 10)  # 结算 10 天: holidays count
    assert due.last_day == date(2026, 10, 10) and due.at == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)
    assert due.provisional_years == frozenset()
    # 23:30 Beijing on 12-31 is still 2026 there; the 10 days end on 2027-01-10
    assert wd.due_after_days(datetime(2026, 12, 31, 15, 30, tzinfo=UTC), 10).last_day == date(2027, 1, 10)
    # deposits must arrive by 16:00 Beijing on the last announcement day
    assert wd.due_at_local_time(date(2026, 10, 13), 16, 0) == datetime(2026, 10, 13, 8, 0, tzinfo=UTC)
    assert wd.due_at_local_time(date(2026, 10, 13), 16, 30).tzinfo is not None


def test_working_days_between(db):
    assert wd.working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
    assert wd.working_days_between(date(2026, 10, 13), date(2026, 9, 30)) == 0
    assert wd.working_days_between(date(2026, 10, 13), date(2026, 10, 13)) == 0
    assert wd.working_days_between(date(2026, 10, 1), date(2026, 10, 7)) == 0  # the whole holiday
    # a < d ≤ b: the end day counts, the start day does not
    assert wd.working_days_between(date(2026, 11, 23), date(2026, 11, 24)) == 1
    # the inverse of add_working_days from many starts (suspend → restore gives the time back)
    for start in (date(2026, 1, 30), date(2026, 9, 18), date(2026, 12, 20)):
        for n in range(1, 25):
            assert wd.working_days_between(start, wd.add_working_days(start, n)) == n
    # a year of 2026 working days, cross-checked
    expected = sum(chinese_calendar.is_workday(date(2026, 1, 1) + timedelta(days=i)) for i in range(1, 365))
    assert wd.working_days_between(date(2026, 1, 1), date(2026, 12, 31)) == expected


def test_suspension_freezes_and_restores_the_remaining_working_days(db):
    # a 5-day contract clock started 09-30, suspended on 10-09 (2 working days used: 10-08, 10-09),
    # restarted on 11-20: the remaining 3 working days run from 11-20
    used = wd.working_days_between(date(2026, 9, 30), date(2026, 10, 9))
    assert used == 2
    assert wd.add_working_days(date(2026, 11, 20), 5 - used) == date(2026, 11, 25)


# --- overrides ----------------------------------------------------------------------------------

def test_overrides_beat_chinese_calendar_both_ways(users, db):
    admin = users["admin"]
    # a statutory holiday made a working day, a statutory working day made a holiday
    wd.set_override(date(2026, 10, 5), True, "临时上班", admin)
    wd.set_override(date(2026, 10, 9), False, "临时放假", admin)
    assert wd.day_info(date(2026, 10, 5)) == wd.DayInfo(date(2026, 10, 5), True, "临时上班", "override")
    assert wd.day_info(date(2026, 10, 9)) == wd.DayInfo(date(2026, 10, 9), False, "临时放假", "override")
    # 10-05 (1), 10-08 (2), 10-10 (3), 10-12 (4), 10-13 (5)
    assert wd.due_after_working_days(beijing(2026, 9, 30, 15), 5).last_day == date(2026, 10, 13)
    assert wd.due_after_working_days(beijing(2026, 9, 30, 15), 2).last_day == date(2026, 10, 8)
    assert wd.working_days_between(date(2026, 10, 4), date(2026, 10, 9)) == 2  # 10-05, 10-08
    # a plain Saturday worked and a plain Wednesday off
    wd.set_override(date(2026, 12, 26), True, "", admin)
    wd.set_override(date(2026, 12, 23), False, "", admin)
    assert wd.day_info(date(2026, 12, 26)) == wd.DayInfo(date(2026, 12, 26), True, "调休上班", "override")
    assert wd.day_info(date(2026, 12, 23)) == wd.DayInfo(date(2026, 12, 23), False, "放假", "override")
    # removing the settings gives the statutory schedule back
    assert wd.remove_override(date(2026, 10, 9), admin) is True
    assert wd.remove_override(date(2026, 10, 9), admin) is False
    assert wd.day_info(date(2026, 10, 9)) == wd.DayInfo(date(2026, 10, 9), True, "", "statutory")


def test_set_override_replaces_the_earlier_setting(users, db):
    admin = users["admin"]
    wd.set_override(date(2027, 2, 6), False, " 春节 ", admin)
    row = wd.set_override(date(2027, 2, 6), True, "春节调休上班", admin)
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 1
    assert (row.is_workday, row.name, row.updated_by_id) == (True, "春节调休上班", admin.id)
    first, second = audit_rows(db, "calendar.override")
    assert json.loads(first.after) == {"is_workday": False, "name": "春节"}  # trimmed
    assert json.loads(second.before) == {"is_workday": False, "name": "春节"}
    assert json.loads(second.after) == {"is_workday": True, "name": "春节调休上班"}
    assert second.object_type == "calendar_day" and second.object_id == "2027-02-06"


def test_admin_changes_are_audited_with_the_actor(users, db):
    admin = users["admin"]
    before = len(audit_rows(db))
    wd.set_override(date(2027, 1, 1), False, "元旦", admin)
    wd.remove_override(date(2027, 1, 1), admin)
    wd.confirm_year(2027, admin, "国办发明电〔2026〕演示号")
    assert wd.unconfirm_year(2027, admin) is True
    assert wd.unconfirm_year(2027, admin) is False  # nothing to undo: no entry
    new = audit_rows(db)[before:]
    assert [e.action for e in new] == ["calendar.override", "calendar.override_removed",
                                       "calendar.confirm_year", "calendar.unconfirm_year"]
    assert all(e.actor_id == admin.id for e in new)
    assert json.loads(new[1].before) == {"is_workday": False, "name": "元旦"}
    assert json.loads(new[2].after) == {"note": "国办发明电〔2026〕演示号"}
    assert new[2].object_type == "calendar_year" and new[2].object_id == "2027"
    assert verify().ok


def test_bad_admin_input_is_refused_and_changes_nothing(users, db):
    admin = users["admin"]
    before = len(audit_rows(db))
    cases = [
        (lambda: wd.set_override(date(1999, 12, 31), False, "x", admin), "年份应在 2000 至 2100 之间"),
        (lambda: wd.set_override(date(2101, 1, 1), True, "x", admin), "年份应在 2000 至 2100 之间"),
        (lambda: wd.set_override(date(2027, 1, 1), False, "长" * 61, admin), "名称不能超过 60 个字"),
        (lambda: wd.set_override(datetime(2027, 1, 1, 8), False, "元旦", admin), "有效的日期"),
        (lambda: wd.confirm_year(2026, admin), "系统已内置"),
        (lambda: wd.confirm_year(1999, admin), "年份应在 2000 至 2100 之间"),
        (lambda: wd.confirm_year(2101, admin), "年份应在 2000 至 2100 之间"),
        (lambda: wd.confirm_year(2027, admin, "文" * 201), "依据不能超过 200 个字"),
        (lambda: wd.unconfirm_year(1900, admin), "年份应在 2000 至 2100 之间"),
    ]
    for call, message in cases:
        with pytest.raises(wd.CalendarError) as exc:
            call()
        assert message in str(exc.value)
    assert wd.set_override(date(2027, 1, 1), False, "长" * 60, admin).name == "长" * 60  # the limit itself is fine
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0
    assert db.session.scalar(select(func.count()).select_from(CalendarYear)) == 0
    assert len(audit_rows(db)) == before


# --- years chinese_calendar does not know: provisional, counted from the law --------------------------

def warning(year: int) -> str:
    return (f"{year} 年节假日安排尚未确认（当前按法定节假日推算）。国务院办公厅公布放假安排后，请中心管理员在"
            "“工作日历”中点“导入国务院放假通知”，粘贴通知全文并确认。")


def test_a_provisional_year_follows_the_law_and_is_warned(users, db, frozen):
    assert wd.year_status(2027) == "provisional" and wd.is_provisional_year(2027)
    assert wd.day_info(date(2027, 3, 3)) == wd.DayInfo(date(2027, 3, 3), True, "", "provisional")
    assert wd.day_info(date(2027, 3, 6)) == wd.DayInfo(date(2027, 3, 6), False, "周末", "provisional")
    # the festivals of the law, weekend ones included, and their 补假 on the first weekdays after the run
    law_days = {
        date(2027, 1, 1): "元旦",                                   # Friday
        date(2027, 2, 5): "春节", date(2027, 2, 6): "春节", date(2027, 2, 7): "春节", date(2027, 2, 8): "春节",
        date(2027, 2, 9): "春节补假", date(2027, 2, 10): "春节补假",  # for 初一 (Sat) and 初二 (Sun)
        date(2027, 5, 1): "劳动节", date(2027, 5, 2): "劳动节",       # Saturday and Sunday
        date(2027, 5, 3): "劳动节补假", date(2027, 5, 4): "劳动节补假",
        date(2027, 10, 1): "国庆节", date(2027, 10, 2): "国庆节", date(2027, 10, 3): "国庆节",
        date(2027, 10, 4): "国庆节补假", date(2027, 10, 5): "国庆节补假",  # for 10-02 (Sat) and 10-03 (Sun)
        date(2027, 6, 9): "端午节", date(2027, 9, 15): "中秋节",
    }
    for d, name in law_days.items():
        assert wd.day_info(d) == wd.DayInfo(d, False, name, "law"), d
    # no 调休 is guessed: the weekends around the holidays stay off, plain
    for d in (date(2027, 2, 13), date(2027, 5, 8), date(2027, 10, 9)):
        assert wd.day_info(d) == wd.DayInfo(d, False, "周末", "provisional"), d
    assert wd.day_info(date(2027, 2, 11)) == wd.DayInfo(date(2027, 2, 11), True, "", "provisional")
    # Monday 12-28 10:00 Beijing, 5 working days: 12-29, 12-30, 12-31, (01-01 元旦 off), 01-04, 01-05
    due = wd.due_after_working_days(beijing(2026, 12, 28, 10), 5)
    assert due.last_day == date(2027, 1, 5) and due.at == datetime(2027, 1, 5, 16, 0, tzinfo=UTC)
    assert due.provisional_years == frozenset({2027}) and due.assumed_years == due.provisional_years
    # across 春节 2027 from Thursday 02-04: 02-05 … 02-10 off, then 02-11, 02-12, 02-15, 02-16, 02-17
    assert wd.add_working_days(date(2027, 2, 4), 5) == date(2027, 2, 17)
    # across 国庆节 2027 from Thursday 09-30: 10-01 … 10-05 off, then 10-06, 10-07, 10-08
    assert wd.add_working_days(date(2027, 9, 30), 3) == date(2027, 10, 8)
    assert wd.working_days_between(date(2027, 9, 30), date(2027, 10, 8)) == 3
    # a deadline entirely inside 2026 is not provisional
    assert wd.due_after_working_days(beijing(2026, 12, 1, 10), 5).provisional_years == frozenset()
    # today is 2026-11-23 (frozen): 2026 is statutory, 2027 provisional and asked for from 1 November
    assert wd.calendar_warnings() == [warning(2027)]


def test_confirming_the_year_ends_the_provisional_count(users, db, frozen):
    admin = users["admin"]
    wd.set_override(date(2027, 1, 1), False, "元旦", admin)
    # an override alone is an admin fact, the other days are still provisional
    assert wd.day_info(date(2027, 1, 1)) == wd.DayInfo(date(2027, 1, 1), False, "元旦", "override")
    assert wd.day_info(date(2027, 2, 5)) == wd.DayInfo(date(2027, 2, 5), False, "春节", "law")
    assert wd.due_after_working_days(beijing(2026, 12, 28, 10), 5).provisional_years == frozenset({2027})
    row = wd.confirm_year(2027, admin, "国办发明电〔2026〕演示号")
    assert (row.confirmed_by_id, row.note) == (admin.id, "国办发明电〔2026〕演示号")
    assert row.confirmed_at == frozen.now()
    assert wd.year_status(2027) == "confirmed" and not wd.is_provisional_year(2027)
    assert wd.confirmed_year(2027) is row
    assert wd.day_info(date(2027, 3, 3)) == wd.DayInfo(date(2027, 3, 3), True, "", "confirmed")
    assert wd.day_info(date(2027, 3, 6)) == wd.DayInfo(date(2027, 3, 6), False, "周末", "confirmed")
    # a confirmed year is what was entered: the law no longer adds days (春节 was not entered here)
    assert wd.day_info(date(2027, 2, 5)) == wd.DayInfo(date(2027, 2, 5), True, "", "confirmed")
    due = wd.due_after_working_days(beijing(2026, 12, 28, 10), 5)
    assert due.provisional_years == frozenset() and due.last_day == date(2027, 1, 5)  # 01-01 off by the setting
    assert wd.calendar_warnings() == []
    # confirming again updates the note; unconfirming brings the law (and the warning) back
    assert wd.confirm_year(2027, admin, "更正文号").note == "更正文号"
    assert db.session.scalar(select(func.count()).select_from(CalendarYear)) == 1
    wd.unconfirm_year(2027, admin)
    assert wd.year_status(2027) == "provisional" and wd.calendar_warnings() == [warning(2027)]
    assert wd.day_info(date(2027, 2, 5)) == wd.DayInfo(date(2027, 2, 5), False, "春节", "law")


def test_warnings_for_a_later_year(db):
    # this year when provisional; next year only from 1 November
    assert wd.calendar_warnings(date(2030, 5, 1)) == [warning(2030)]
    assert wd.calendar_warnings(date(2030, 10, 31)) == [warning(2030)]
    assert wd.calendar_warnings(date(2030, 11, 1)) == [warning(2030), warning(2031)]
    assert wd.calendar_warnings(date(2030, 12, 31)) == [warning(2030), warning(2031)]
    assert wd.calendar_warnings(date(2025, 6, 1)) == []  # 2025 and 2026 are both statutory
    assert wd.calendar_warnings(date(2026, 1, 1)) == []  # 2027 is not asked for before November
    assert wd.calendar_warnings(date(2026, 10, 31)) == []
    assert wd.calendar_warnings(date(2026, 11, 1)) == [warning(2027)]


def test_a_deadline_in_2030(db):
    # 国庆节 2030: Tuesday 10-01 … Thursday 10-03 by the law, all on weekdays, so no 补假
    days_off = law.provisional_days_off(2030)
    assert {d for d in days_off if d.month == 10} == {date(2030, 10, 1), date(2030, 10, 2), date(2030, 10, 3)}
    assert all(days_off[date(2030, 10, d)].name == "国庆节" for d in (1, 2, 3))
    due = wd.due_after_working_days(beijing(2030, 9, 30, 15), 5)
    # 10-01 … 10-03 off, then 10-04 (Fri), 10-07, 10-08, 10-09, 10-10
    assert due.last_day == date(2030, 10, 10) and due.provisional_years == frozenset({2030})
    assert wd.day_info(date(2030, 10, 2)) == wd.DayInfo(date(2030, 10, 2), False, "国庆节", "law")


def test_far_dates_never_crash(db):
    # none of these is a festival or 补假 day (1900 and before are outside the law's years, 1901–2100)
    for d in (date(1900, 1, 1), date(1900, 6, 30), date(2003, 12, 31), date(2100, 12, 31), date(1, 1, 1),
              date(9999, 12, 31)):
        info = wd.day_info(d)
        assert info.source == "provisional" and info.is_workday == (d.weekday() < 5)
    assert wd.year_status(1900) == "provisional" and wd.year_status(2100) == "provisional"
    assert wd.year_status(2004) == "statutory"
    assert wd.add_working_days(date(1900, 1, 1), 5) == date(1900, 1, 8)
    due = wd.due_after_working_days(beijing(2099, 12, 30, 10), 3)
    assert due.last_day.year == 2100 and due.provisional_years == frozenset({2099, 2100})
    assert wd.due_after_working_days(beijing(1900, 3, 1, 10), 1).provisional_years == frozenset({1900})
    assert wd.working_days_between(date(1900, 1, 1), date(1900, 1, 31)) == 22
    assert wd.calendar_warnings(date(2100, 1, 1)) == [warning(2100)]
    assert wd.calendar_warnings(date(1900, 1, 1)) == [warning(1900)]
    assert wd.calendar_warnings(date(2100, 11, 1)) == [warning(2100), warning(2101)]
    assert sum(1 for w in wd.month_grid(1900, 2) for c in w if c) == 28
    assert sum(1 for w in wd.month_grid(2100, 2) for c in w if c) == 28  # 2100 is not a leap year
    # the very end of the calendar is refused with a clear error, not an OverflowError
    with pytest.raises(wd.CalendarError):
        wd.add_working_days(date(9999, 12, 28), 5)
    with pytest.raises(wd.CalendarError):
        wd.due_after_days(datetime(9999, 12, 1, tzinfo=UTC), 60)


# --- the month grid -----------------------------------------------------------------------------

def test_month_grid_october_2026(db):
    weeks = wd.month_grid(2026, 10)
    assert all(len(w) == 7 for w in weeks)
    assert weeks[0][:3] == [None, None, None]  # Monday-first; 10-01 is a Thursday
    assert weeks[0][3].day == date(2026, 10, 1)
    days = [c for w in weeks for c in w if c]
    assert [c.day for c in days] == [date(2026, 10, d) for d in range(1, 32)]
    assert weeks[-1][-1] is None  # 10-31 is a Saturday
    assert days[9] == wd.DayInfo(date(2026, 10, 10), True, "国庆节调休上班", "statutory")


def test_month_grid_shapes(db):
    assert len(wd.month_grid(2027, 2)) == 4  # starts on a Monday, 28 days
    assert all(c is not None for w in wd.month_grid(2027, 2) for c in w)
    assert len(wd.month_grid(2026, 3)) == 6  # 03-01 is a Sunday, 31 days
    cells = [c for w in wd.month_grid(2027, 5) for c in w if c]
    assert {c.source for c in cells} == {"law", "provisional"}
    # 劳动节 05-01 (Sat), 05-02 (Sun) and their 补假 05-03, 05-04
    assert [c.day for c in cells if c.source == "law"] == [date(2027, 5, d) for d in (1, 2, 3, 4)]


def test_month_grid_shows_overrides(users, db):
    wd.set_override(date(2027, 2, 6), False, "春节", users["admin"])
    cells = {c.day: c for w in wd.month_grid(2027, 2) for c in w if c}
    assert cells[date(2027, 2, 6)] == wd.DayInfo(date(2027, 2, 6), False, "春节", "override")
    assert [o.day for o in wd.overrides_of_year(2027)] == [date(2027, 2, 6)]
    assert wd.overrides_of_year(2026) == []


# --- performance: one window, few queries ---------------------------------------------------------

def test_query_counts(users, db):
    admin = users["admin"]
    for d in (date(2026, 12, 24), date(2027, 3, 1), date(2027, 6, 1)):
        wd.set_override(d, False, "放假", admin)
    db.session.commit()
    with count_queries(db) as q:
        wd.add_working_days(date(2026, 11, 23), 250)
    assert len(q) <= 4, q
    with count_queries(db) as q:
        due = wd.due_after_working_days(beijing(2026, 11, 23, 9), 250)
    assert len(q) <= 4 and due.provisional_years == frozenset({2027})
    with count_queries(db) as q:
        wd.working_days_between(date(2026, 1, 1), date(2027, 12, 31))
    assert len(q) <= 2
    with count_queries(db) as q:
        wd.month_grid(2027, 3)
    assert len(q) <= 2
    with count_queries(db) as q:
        wd.add_working_days(date(2020, 1, 1), 2000)
    assert len(q) <= 6


def test_override_counted_in_a_long_walk(users, db):
    # one override far inside the window must still be seen (the window is loaded once)
    base = wd.add_working_days(date(2026, 11, 23), 250)
    wd.set_override(date(2027, 6, 1), False, "放假", users["admin"])  # a Tuesday inside the span
    assert wd.add_working_days(date(2026, 11, 23), 250) == wd.add_working_days(base, 1)


# --- the admin page -------------------------------------------------------------------------------

CAL = "/admin/calendar/"


def test_page_for_the_admin(client, users, frozen):
    login(client, "t_admin", PASSWORD)
    body = text(client.get(CAL + "?year=2026&month=10"))
    assert "2026 年 10 月" in body and "国庆节" in body and "国庆节调休上班" in body
    assert "已内置国务院安排" in body
    assert "设置某一天" in body and 'name="day"' in body and 'name="kind"' in body
    assert warning(2027) in body  # today is 2026-11-23: next year's warning
    assert 'href="/admin/calendar/?year=2026&amp;month=9"' in body
    assert 'href="/admin/calendar/?year=2026&amp;month=11"' in body
    assert 'style="' not in body and "<script>" not in body  # strict CSP
    # the default month is today's (frozen 2026-11-23), with today marked
    body = text(client.get(CAL))
    assert "2026 年 11 月" in body and "today" in body
    # January wraps to the previous December
    body = text(client.get(CAL + "?year=2027&month=1"))
    assert 'href="/admin/calendar/?year=2026&amp;month=12"' in body
    assert "确认 2027 年安排" in body and "尚未确认，暂按法定节假日推算" in body
    assert "尚未录入，暂按周一至周五推定" not in body
    # the built-in year carries its own badge, not the provisional one
    assert "尚未确认，暂按法定节假日推算" not in text(client.get(CAL + "?year=2026&month=10"))
    # the built-in year has nothing to confirm
    assert "确认 2026 年安排" not in text(client.get(CAL + "?year=2026&month=1"))


@pytest.mark.parametrize("query", ["?year=2026&month=13", "?year=2026&month=0", "?year=1999&month=1",
                                   "?year=2101&month=1"])
def test_page_rejects_impossible_months(client, users, query):
    login(client, "t_admin", PASSWORD)
    assert client.get(CAL + query).status_code == 404


def test_page_read_only_for_a_station_reviewer(client, users, db):
    login(client, "t_station_a", PASSWORD)
    resp = client.get(CAL + "?year=2026&month=10")
    body = text(resp)
    assert resp.status_code == 200 and "国庆节" in body
    assert "设置某一天" not in body and 'name="day"' not in body
    assert "/admin/calendar/overrides" not in body and "/confirm" not in body
    assert "由交易中心管理员维护" in body
    # the admin's settings are listed for readers too, without the delete button
    wd.set_override(date(2026, 12, 24), False, "临时放假", users["admin"])
    db.session.commit()
    body = text(client.get(CAL + "?year=2026&month=12"))
    assert "临时放假" in body and "/delete" not in body


def test_a_station_reviewer_cannot_change_the_calendar(client, users, db):
    login(client, "t_station_a", PASSWORD)
    token = get_csrf(client, CAL)  # the page's own logout form carries a valid token
    wd.set_override(date(2027, 1, 1), False, "元旦", users["admin"])
    db.session.commit()
    audit_before = len(audit_rows(db))
    r = client.post("/admin/calendar/overrides", data={"csrf_token": token, "day": "2027-02-06", "kind": "off",
                                                       "name": "春节"})
    assert r.status_code == 403
    assert client.post("/admin/calendar/overrides/2027-01-01/delete", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/calendar/years/2027/confirm", data={"csrf_token": token}).status_code == 403
    assert [o.day for o in wd.overrides_of_year(2027)] == [date(2027, 1, 1)]
    assert wd.year_status(2027) == "provisional"
    assert len(audit_rows(db)) == audit_before


def test_anonymous_and_public_users_are_kept_out(client, users):
    r = client.get(CAL)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    login(client, "t_buyer", PASSWORD)
    assert client.get(CAL).status_code == 403


def test_admin_adds_replaces_and_removes_an_override(client, users, db):
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, "/admin/calendar/overrides?year=2027&month=2",
                     {"day": "2027-02-06", "kind": "off", "name": "春节"}, page=CAL + "?year=2027&month=2",
                     follow=True)
    body = text(resp)
    assert resp.status_code == 200 and "已设置 2027-02-06 为放假" in body
    assert "2027 年 2 月" in body and "2027-02-06（周六）" in body and "春节" in body
    row = db.session.get(CalendarDay, date(2027, 2, 6))
    assert (row.is_workday, row.name, row.updated_by_id) == (False, "春节", users["admin"].id)
    entry = audit_rows(db, "calendar.override")[-1]
    assert entry.actor_id == users["admin"].id and entry.object_id == "2027-02-06"
    # the same day again as a working day replaces the setting
    resp = post_form(client, "/admin/calendar/overrides", {"day": "2027-02-06", "kind": "work", "name": ""},
                     page=CAL, follow=True)
    assert "已设置 2027-02-06 为上班（调休）" in text(resp)
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 1
    assert db.session.get(CalendarDay, date(2027, 2, 6)).name == "调休上班"
    # delete it
    resp = post_form(client, "/admin/calendar/overrides/2027-02-06/delete", {}, page=CAL, follow=True)
    assert "已删除 2027-02-06 的设置" in text(resp)
    assert db.session.get(CalendarDay, date(2027, 2, 6)) is None
    resp = post_form(client, "/admin/calendar/overrides/2027-02-06/delete", {}, page=CAL, follow=True)
    assert "没有管理员设置" in text(resp)
    assert post_form(client, "/admin/calendar/overrides/2027-99-06/delete", {}, page=CAL).status_code == 404


@pytest.mark.parametrize("data, message", [
    ({"day": "2027-13-01", "kind": "off"}, "请选择日期（格式 2027-01-01）"),
    ({"day": "明年春节", "kind": "off"}, "请选择日期（格式 2027-01-01）"),
    ({"day": "", "kind": "off"}, "请选择日期（格式 2027-01-01）"),
    ({"day": "1999-10-01", "kind": "off"}, "年份应在 2000 至 2100 之间"),
    ({"day": "2027-02-06", "kind": "maybe"}, "请选择有效的选项"),
    ({"day": "2027-02-06", "kind": "off", "name": "长" * 61}, "名称不能超过 60 个字"),
])
def test_bad_override_input_shows_a_chinese_error(client, users, db, data, message):
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, "/admin/calendar/overrides", data, page=CAL)
    body = text(resp)
    assert resp.status_code == 400 and message in body and "提交未成功" in body
    assert 'name="day"' in body  # the form is shown again
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0


def test_a_post_without_csrf_token_changes_nothing(client, users, db):
    login(client, "t_admin", PASSWORD)
    resp = client.post("/admin/calendar/overrides", data={"day": "2027-02-06", "kind": "off"})
    assert resp.status_code == 400
    assert client.post("/admin/calendar/years/2027/confirm", data={}).status_code == 400
    assert client.post("/admin/calendar/overrides/2027-02-06/delete", data={}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0
    assert wd.year_status(2027) == "provisional"


def test_admin_confirms_a_year(client, users, db, frozen):
    login(client, "t_admin", PASSWORD)
    assert warning(2027) in text(client.get(CAL))
    resp = post_form(client, "/admin/calendar/years/2027/confirm", {"note": "国办发明电〔2026〕演示号"},
                     page=CAL + "?year=2027&month=1", follow=True)
    body = text(resp)
    assert "已确认 2027 年节假日安排" in body and "管理员已录入并确认" in body and "国办发明电〔2026〕演示号" in body
    assert warning(2027) not in body and "2027 年节假日安排尚未确认" not in body and "确认 2027 年安排" not in body
    assert "尚未确认，暂按法定节假日推算" not in body
    assert wd.year_status(2027) == "confirmed"
    assert audit_rows(db, "calendar.confirm_year")[-1].actor_id == users["admin"].id
    # a built-in year is refused with a message; an absurd year is not a page
    resp = post_form(client, "/admin/calendar/years/2026/confirm", {"note": ""}, page=CAL, follow=True)
    assert "系统已内置" in text(resp)
    assert post_form(client, "/admin/calendar/years/1999/confirm", {}, page=CAL).status_code == 404
    resp = post_form(client, "/admin/calendar/years/2028/confirm", {"note": "文" * 201}, page=CAL)
    assert resp.status_code == 400 and "依据不能超过 200 个字" in text(resp)
    assert wd.year_status(2028) == "provisional"
