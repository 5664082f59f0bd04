"""Working days and statutory deadlines (DESIGN §4.4), checked against chinese_calendar itself."""
from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest
from sqlalchemy import select

from exchange.audit.models import AuditEntry
from exchange.workdays import services as wd


def nth_workday_after(d: date, n: int) -> date:
    """An independent count straight from chinese_calendar."""
    while n:
        d += timedelta(days=1)
        n -= chinese_calendar.is_workday(d)
    return d


def test_national_day_2026_example(db):
    # the docstring's example, re-derived from chinese_calendar
    assert chinese_calendar.is_workday(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5
    assert not chinese_calendar.is_workday(date(2026, 10, 5))
    due = wd.due_after_working_days(datetime(2026, 9, 30, 7, 0, tzinfo=timezone.utc), 5)  # 15:00 Beijing
    assert due.last_day == nth_workday_after(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert due.at == datetime(2026, 10, 13, 16, 0, tzinfo=timezone.utc)  # 10-14 00:00 Beijing
    assert due.provisional_years == frozenset()


@pytest.mark.parametrize("start", [date(2026, 1, 30), date(2026, 2, 13), date(2026, 4, 30), date(2026, 6, 18),
                                   date(2026, 9, 24), date(2026, 12, 10), date(2025, 9, 26)])
@pytest.mark.parametrize("n", [1, 3, 5, 10])
def test_matches_chinese_calendar(db, start, n):
    assert wd.add_working_days(start, n) == nth_workday_after(start, n)


def test_day_info_names(db):
    assert wd.day_info(date(2026, 10, 1)) == wd.DayInfo(date(2026, 10, 1), False, "国庆节", "statutory")
    info = wd.day_info(date(2026, 10, 10))
    assert info.is_workday and "调休上班" in info.name
    assert wd.day_info(date(2026, 11, 21)).name == "周末"


def test_beijing_date_decides_the_start(db):
    # 2026-11-22 17:00 UTC is already Monday 11-23 01:00 in Beijing: counting starts from Monday
    due = wd.due_after_working_days(datetime(2026, 11, 22, 17, 0, tzinfo=timezone.utc), 1)
    assert due.last_day == date(2026, 11, 24)


def test_calendar_days_for_settlement(db):
    due = wd.due_after_days(datetime(2026, 9, 30, 7, 0, tzinfo=timezone.utc), 10)
    assert due.last_day == date(2026, 10, 10)  # holidays count for "10 天"


def test_provisional_year_follows_the_law_and_is_warned(users, db, frozen):
    due = wd.due_after_working_days(datetime(2026, 12, 28, 2, 0, tzinfo=timezone.utc), 5)
    assert due.provisional_years == due.assumed_years == frozenset({2027})  # the old name is an alias
    # 12-29, 12-30, 12-31, (01-01 元旦 off by the law), 01-04, 01-05
    assert due.last_day == date(2027, 1, 5)
    assert wd.day_info(date(2027, 1, 1)) == wd.DayInfo(date(2027, 1, 1), False, "元旦", "law")
    assert wd.calendar_warnings() == [  # frozen on 2026-11-23: from 1 November next year is asked for
        "2027 年节假日安排尚未确认（当前按法定节假日推算）。国务院办公厅公布放假安排后，请中心管理员在“工作日历”中"
        "点“导入国务院放假通知”，粘贴通知全文并确认。"]
    # the admin enters New Year's Day 2027 and confirms the year
    wd.set_override(date(2027, 1, 1), False, "元旦", users["admin"])
    wd.confirm_year(2027, users["admin"], "国办发明电〔2026〕演示号")
    due = wd.due_after_working_days(datetime(2026, 12, 28, 2, 0, tzinfo=timezone.utc), 5)
    assert due.provisional_years == frozenset() and due.last_day == date(2027, 1, 5)
    assert wd.day_info(date(2027, 1, 1)).source == "override"
    assert wd.calendar_warnings() == []
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"calendar.override", "calendar.confirm_year"} <= actions


def test_override_beats_statutory_both_ways(users, db):
    wd.set_override(date(2026, 12, 24), False, "临时放假", users["admin"])
    wd.set_override(date(2026, 12, 26), True, "补班", users["admin"])  # a Saturday
    assert not wd.is_workday(date(2026, 12, 24)) and wd.is_workday(date(2026, 12, 26))
    assert wd.working_days_between(date(2026, 12, 23), date(2026, 12, 27)) == 2  # 25th and 26th
    assert wd.remove_override(date(2026, 12, 24), users["admin"])
    assert wd.is_workday(date(2026, 12, 24))


def test_working_days_between(db):
    assert wd.working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
    assert wd.working_days_between(date(2026, 10, 13), date(2026, 9, 30)) == 0


def test_never_crashes_on_far_dates(db):
    # days on which no festival falls, at the edges of the years the law is computed for (1901–2100)
    for d in (date(1900, 1, 1), date(2100, 12, 31)):
        assert wd.day_info(d) == wd.DayInfo(d, d.weekday() < 5, "" if d.weekday() < 5 else "周末", "provisional")
    assert wd.add_working_days(date(2099, 12, 30), 3).year == 2100


def test_bad_input(users, db):
    with pytest.raises(ValueError):
        wd.add_working_days(date(2026, 1, 1), -1)
    with pytest.raises(wd.CalendarError):
        wd.set_override(date(1999, 1, 1), False, "x", users["admin"])
    with pytest.raises(wd.CalendarError):
        wd.set_override(date(2027, 1, 1), False, "长" * 61, users["admin"])
    with pytest.raises(wd.CalendarError):
        wd.confirm_year(2026, users["admin"])  # built in


def test_month_grid_shape(db):
    weeks = wd.month_grid(2026, 10)
    assert all(len(w) == 7 for w in weeks)
    days = [d for w in weeks for d in w if d]
    assert len(days) == 31 and days[0].day == date(2026, 10, 1) and weeks[0][3].day == date(2026, 10, 1)


def test_calendar_page_for_admin_and_reader(client, users, db):
    from tests.factories import PASSWORD
    from tests.helpers import get_csrf, login, post_form, text
    login(client, "t_station_a", PASSWORD)
    body = text(client.get("/admin/calendar/?year=2026&month=10"))
    assert "国庆节" in body and "设置某一天" not in body
    assert client.post("/admin/calendar/overrides", data={}).status_code in (400, 403)
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, "/admin/calendar/overrides?year=2027&month=2",
                     {"day": "2027-02-06", "kind": "off", "name": "春节"}, page="/admin/calendar/", follow=True)
    assert "已设置 2027-02-06 为放假" in text(resp)
    resp = post_form(client, "/admin/calendar/overrides", {"day": "2027-13-01", "kind": "off"},
                     page="/admin/calendar/")
    assert resp.status_code == 400 and "请选择日期（格式 2027-01-01）" in text(resp)
