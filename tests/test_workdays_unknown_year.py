"""A deadline in a year chinese_calendar does not know (DESIGN §4.4), end to end: a listing published on Monday
2026-12-28 has its 5-工作日 公告期 run into 2027 (chinese_calendar 1.11.0 stops at 2026).  Until the admin
confirms the year, 2027 is *provisional*: its days off are the statutory holidays computed from the law (元旦
2027-01-01 is off) plus weekends, and every due date in it says so — on the listing (staff and public page,
"暂按法定节假日推算"), on the staff work pages and the calendar page, and in the API.  The admin's override is used
at once, and the running 公告期 counted across the changed day is recounted; confirming the year ends the mark and
the warnings.  The sweeper acts on whatever due date is stored; a passed one is never moved."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.audit.models import AuditEntry
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.workdays import services as wd
from tests.builders import ALL_OK, attach, new_household_listing
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")

WARNING = ("2027 年节假日安排尚未确认（当前按法定节假日推算）。国务院办公厅公布放假安排后，请中心管理员在"
           "“工作日历”中点“导入国务院放假通知”，粘贴通知全文并确认。")
MARK = '<span class="due-provisional">（暂按法定节假日推算）</span>'


def marked(shown: str) -> str:
    """A due date as a page shows it while its year is provisional."""
    return shown + MARK


@pytest.fixture
def year_end(users, db):
    """Monday 2026-12-28 09:00 Beijing time."""
    assert wd.STATUTORY_LAST == 2026 and wd.year_status(2027) == "provisional"  # (else move these dates on)
    clock.freeze(datetime(2026, 12, 28, 1, 0))
    return users


def publish(users) -> Listing:
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    return listing


def last_day(listing) -> date:
    return clock.to_local(listing.announce_end_at - timedelta(microseconds=1)).date()


def end_of(d: date) -> datetime:
    """"d 24:00" Beijing time, as stored."""
    return clock.local_datetime(d + timedelta(days=1))


def as_user(app, username):
    c = app.test_client()
    login(c, username, PASSWORD)
    return c


def recomputed(db) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "deadline.recomputed")
                                   .order_by(AuditEntry.seq)))


def test_provisional_then_overridden_then_confirmed(app, year_end, db):
    users = year_end
    first = publish(users)
    db.session.commit()
    assert first.announce_days == 5
    # 12-29, 12-30, 12-31, (2027-01-01 元旦 off by the law, a Friday), 01-04, 01-05
    assert wd.day_info(date(2027, 1, 1)) == wd.DayInfo(date(2027, 1, 1), False, "元旦", "law")
    assert last_day(first) == date(2027, 1, 5) and first.announce_end_at == end_of(date(2027, 1, 5))
    assert first.announce_assumed_years == "2027"
    assert clock.to_local(first.deposit_deadline_at) == clock.local_datetime(date(2027, 1, 5), 16, 0)

    # the warning where staff look, the mark on the listing's due dates (also its public page)
    reviewer, admin, clerk = (as_user(app, u) for u in ("t_reviewer", "t_admin", "t_point_a1"))
    for c in (reviewer, admin, as_user(app, "t_trader"), as_user(app, "t_finance")):
        assert WARNING in text(c.get("/work"))
    assert WARNING not in text(clerk.get("/work"))
    for c in (reviewer, clerk):
        page = text(c.get(f"/listings/{first.id}"))
        assert "正在计算的期限" in page
        assert marked("2027-01-05 24:00") in page and marked("2027-01-05 16:00") in page
        assert "公告期按周一至周五为工作日推算" not in page  # the old note is gone
    public = text(app.test_client().get(f"/projects/{first.project_no}"))
    assert marked("2027-01-05 24:00") in public and marked("2027-01-05 16:00") in public
    calendar = text(admin.get("/admin/calendar/?year=2027&month=1"))
    assert WARNING in calendar and "尚未确认，暂按法定节假日推算" in calendar
    assert "尚未录入，暂按周一至周五推定" not in calendar
    api = reviewer.get("/api/v1/calendar/years/2027").get_json()
    assert api["status"] == "provisional" and WARNING in api["warnings"]
    due = reviewer.get("/api/v1/calendar/due?start=2026-12-28T01:00:00Z&working_days=5").get_json()
    assert due["last_day"] == "2027-01-05" and due["provisional_years"] == due["assumed_years"] == [2027]

    # the admin enters New Year's Day 2027 on the calendar page: the law had it off already, nothing moves
    page = text(admin.get("/admin/calendar/?year=2027&month=1"))
    resp = admin.post("/admin/calendar/overrides", data={"csrf_token": csrf_from(page), "day": "2027-01-01",
                                                         "kind": "off", "name": "元旦"})
    assert resp.status_code == 302
    assert wd.day_info(date(2027, 1, 1)) == wd.DayInfo(date(2027, 1, 1), False, "元旦", "override")
    db.session.expire_all()
    assert db.session.get(Listing, first.id).announce_end_at == end_of(date(2027, 1, 5)) and recomputed(db) == []

    # … and Monday 2027-01-04 too (as if the holiday ran 01-01 … 01-04): used at once by a new listing, and the
    # first listing's running 公告期 and deposit deadline, counted across 01-04, are recounted (5 working days
    # from 12-28: 12-29, 12-30, 12-31, 01-05, 01-06); the year is still provisional
    page = text(admin.get("/admin/calendar/?year=2027&month=1"))
    resp = admin.post("/admin/calendar/overrides", data={"csrf_token": csrf_from(page), "day": "2027-01-04",
                                                         "kind": "off", "name": "元旦"})
    assert resp.status_code == 302
    assert wd.day_info(date(2027, 1, 4)) == wd.DayInfo(date(2027, 1, 4), False, "元旦", "override")
    db.session.expire_all()
    first = db.session.get(Listing, first.id)
    assert first.announce_end_at == end_of(date(2027, 1, 6))
    assert first.deposit_deadline_at == clock.local_datetime(date(2027, 1, 6), 16, 0)
    assert first.announce_assumed_years == "2027" and first.state == "announced"
    moved = recomputed(db)
    assert sorted(e.object_id for e in moved) == [str(first.id)] * 2
    assert {e.actor_id for e in moved} == {users["admin"].id}
    second = publish(users)
    db.session.commit()
    assert last_day(second) == date(2027, 1, 6) and second.announce_assumed_years == "2027"
    assert WARNING in text(reviewer.get("/work"))
    for listing in (first, second):
        page = text(reviewer.get(f"/listings/{listing.id}"))
        assert marked("2027-01-06 24:00") in page and marked("2027-01-06 16:00") in page
        assert "2027-01-05 24:00" not in page
    due = reviewer.get("/api/v1/calendar/due?start=2026-12-28T01:00:00Z&working_days=5").get_json()
    assert due["last_day"] == "2027-01-06" and due["provisional_years"] == [2027]

    # … and confirms the year: no more mark, no more warning
    page = text(admin.get("/admin/calendar/?year=2027&month=1"))
    resp = admin.post("/admin/calendar/years/2027/confirm",
                      data={"csrf_token": csrf_from(page), "note": "国办发明电〔2026〕演示号"}, follow_redirects=True)
    assert resp.status_code == 200 and "已确认 2027 年节假日安排" in text(resp)
    assert wd.year_status(2027) == "confirmed"
    # 01-01 and 01-04 were entered, so confirming moves no deadline in early January
    assert len(recomputed(db)) == 2
    third = publish(users)
    db.session.commit()
    assert last_day(third) == date(2027, 1, 6) and third.announce_assumed_years == ""
    for c in (reviewer, admin, as_user(app, "t_trader"), as_user(app, "t_finance")):
        assert WARNING not in text(c.get("/work"))
    calendar = text(admin.get("/admin/calendar/?year=2027&month=1"))
    assert WARNING not in calendar and "管理员已录入并确认" in calendar
    assert "尚未确认，暂按法定节假日推算" not in calendar
    for listing in (first, second, third):
        page = text(reviewer.get(f"/listings/{listing.id}"))
        assert "2027-01-06 24:00" in page and "2027-01-06 16:00" in page and MARK not in page
    assert MARK not in text(app.test_client().get(f"/projects/{first.project_no}"))
    due = reviewer.get("/api/v1/calendar/due?start=2026-12-28T01:00:00Z&working_days=5").get_json()
    assert due["last_day"] == "2027-01-06" and due["provisional_years"] == due["assumed_years"] == []
    api = reviewer.get("/api/v1/calendar/years/2027").get_json()
    assert api["status"] == "confirmed" and api["warnings"] == []

    # the stored due dates are those shown; each listing keeps the record of having been counted provisionally
    db.session.expire_all()
    assert [(last_day(l), l.announce_assumed_years)
            for l in db.session.scalars(select(Listing).order_by(Listing.id))] == [
        (date(2027, 1, 6), "2027"), (date(2027, 1, 6), "2027"), (date(2027, 1, 6), "")]


def test_the_sweeper_acts_on_the_stored_deadline(app, year_end, db):
    """The stored 公告期 is the one enforced: recounted while running (2027-01-04 entered as a holiday), the listing
    moves on (流拍 here: nobody paid) at the new end, not at the old one; once passed, a later change of the
    calendar does not move it."""
    from exchange.deadlines.sweeper import sweep
    users = year_end
    listing = publish(users)
    db.session.commit()
    old_end = listing.announce_end_at
    assert old_end == end_of(date(2027, 1, 5))
    wd.set_override(date(2027, 1, 4), False, "元旦", users["admin"])
    db.session.commit()
    db.session.expire_all()
    new_end = db.session.get(Listing, listing.id).announce_end_at
    assert new_end == end_of(date(2027, 1, 6))
    clock.freeze(old_end)
    sweep()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "announced"
    clock.freeze(new_end - timedelta(seconds=1))
    sweep()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "announced"
    # the end has come (not yet swept) when the admin clears 01-04 again: the passed 公告期 stays as stored
    clock.freeze(new_end)
    assert wd.remove_override(date(2027, 1, 4), users["admin"])
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).announce_end_at == new_end
    assert len(recomputed(db)) == 2  # the announcement's end and deposit deadline, moved once
    sweep()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "failed"


def test_only_staff_who_compute_deadlines_see_the_calendar_warning(app, year_end, db):
    for username in ("t_reviewer", "t_trader", "t_finance", "t_admin"):
        assert WARNING in text(as_user(app, username).get("/work")), username
    for username in ("t_point_a1", "t_station_a", "t_buyer"):
        assert WARNING not in text(as_user(app, username).get("/work")), username
    # every staff member may read the calendar page (and its warning); the public may not
    assert WARNING in text(as_user(app, "t_point_a1").get("/admin/calendar/?year=2027&month=1"))
    assert as_user(app, "t_buyer").get("/admin/calendar/").status_code == 403
