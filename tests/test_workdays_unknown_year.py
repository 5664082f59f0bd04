"""A deadline in a year chinese_calendar does not know (DESIGN §4.4), end to end: a listing published on Monday
2026-12-28 has its 5-工作日 公告期 run into 2027 (chinese_calendar 1.11.0 stops at 2026).  Until the admin enters
the year, Monday–Friday are *assumed* working days and it says so — on the listing (staff and public page), on
the staff work pages and the calendar page, and in the API.  The admin's override (2027-01-01 元旦) is used at
once; confirming the year ends the assumption and the warnings.  A due date already stored stays as it was."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.workdays import services as wd
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text
from tests.test_listings import ALL_OK, attach, new_household_listing
from tests.test_registrations import _uploads  # noqa: F401  (autouse fixture)

WARNING = "2027年的法定节假日安排尚未录入"
NOTE = "注：2027 年的节假日安排发布前，公告期按周一至周五为工作日推算。"


@pytest.fixture
def year_end(users, db):
    """Monday 2026-12-28 09:00 Beijing time."""
    assert wd.STATUTORY_LAST == 2026 and wd.year_status(2027) == "unknown"  # (else move these dates on)
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


def as_user(app, username):
    c = app.test_client()
    login(c, username, PASSWORD)
    return c


def test_assumed_then_overridden_then_confirmed(app, year_end, db):
    users = year_end
    first = publish(users)
    db.session.commit()
    assert first.announce_days == 5
    # 12-29, 12-30, 12-31, then 2027 assumed: 01-01 (a Friday), 01-04
    assert last_day(first) == date(2027, 1, 4) and first.announce_assumed_years == "2027"
    assert clock.to_local(first.deposit_deadline_at) == clock.local_datetime(date(2027, 1, 4), 16, 0)
    first_end, first_deposit = first.announce_end_at, first.deposit_deadline_at

    # the warning where staff look, the note on the listing itself (also its public page)
    reviewer, admin, clerk = (as_user(app, u) for u in ("t_reviewer", "t_admin", "t_point_a1"))
    assert WARNING in text(reviewer.get("/work")) and WARNING in text(admin.get("/work"))
    assert WARNING in text(as_user(app, "t_trader").get("/work")) and WARNING in text(as_user(app, "t_finance").get("/work"))
    assert NOTE in text(reviewer.get(f"/listings/{first.id}")) and NOTE in text(clerk.get(f"/listings/{first.id}"))
    assert NOTE in text(app.test_client().get(f"/projects/{first.project_no}"))
    calendar = text(admin.get("/admin/calendar/?year=2027&month=1"))
    assert WARNING in calendar and "尚未录入，暂按周一至周五推定" in calendar
    api = reviewer.get("/api/v1/calendar/years/2027").get_json()
    assert api["status"] == "unknown" and any(WARNING in w for w in api["warnings"])
    due = reviewer.get("/api/v1/calendar/due?start=2026-12-28T01:00:00Z&working_days=5").get_json()
    assert due["last_day"] == "2027-01-04" and due["assumed_years"] == [2027]

    # the admin enters New Year's Day 2027 on the calendar page: used at once, the year is still assumed
    page = text(admin.get("/admin/calendar/?year=2027&month=1"))
    resp = admin.post("/admin/calendar/overrides", data={"csrf_token": csrf_from(page), "day": "2027-01-01",
                                                         "kind": "off", "name": "元旦"})
    assert resp.status_code == 302
    second = publish(users)
    db.session.commit()
    assert last_day(second) == date(2027, 1, 5) and second.announce_assumed_years == "2027"
    assert wd.day_info(date(2027, 1, 1)) == wd.DayInfo(date(2027, 1, 1), False, "元旦", "override")
    assert WARNING in text(reviewer.get("/work")) and NOTE in text(reviewer.get(f"/listings/{second.id}"))

    # … and confirms the year: no more assumption, no more warning
    page = text(admin.get("/admin/calendar/?year=2027&month=1"))
    resp = admin.post("/admin/calendar/years/2027/confirm",
                      data={"csrf_token": csrf_from(page), "note": "国办发明电〔2026〕演示号"}, follow_redirects=True)
    assert resp.status_code == 200 and "已确认 2027 年节假日安排" in text(resp)
    assert wd.year_status(2027) == "confirmed"
    third = publish(users)
    db.session.commit()
    assert last_day(third) == date(2027, 1, 5) and third.announce_assumed_years == ""
    for c in (reviewer, admin):
        assert WARNING not in text(c.get("/work"))
    assert WARNING not in text(admin.get("/admin/calendar/?year=2027&month=1"))
    assert NOTE not in text(reviewer.get(f"/listings/{third.id}"))
    due = reviewer.get("/api/v1/calendar/due?start=2026-12-28T01:00:00Z&working_days=5").get_json()
    assert due["last_day"] == "2027-01-05" and due["assumed_years"] == []
    assert reviewer.get("/api/v1/calendar/years/2027").get_json()["warnings"] == []

    # stored due timestamps are not recomputed behind the parties' backs: the first listing keeps its 公告期,
    # and says it was computed on the assumption
    db.session.expire_all()
    first = db.session.get(Listing, first.id)
    assert (first.announce_end_at, first.deposit_deadline_at) == (first_end, first_deposit)
    assert NOTE in text(reviewer.get(f"/listings/{first.id}"))
    assert [l.announce_assumed_years for l in db.session.scalars(select(Listing).order_by(Listing.id))] == [
        "2027", "2027", ""]


def test_the_sweeper_acts_on_the_assumed_deadline(app, year_end, db):
    """The 公告期 computed on the assumption is the one enforced: at its end the listing moves on (流拍 here:
    nobody paid), not a day later, even though 2027-01-01 turned out to be a holiday entered afterwards."""
    from exchange.deadlines.sweeper import sweep
    users = year_end
    listing = publish(users)
    db.session.commit()
    wd.set_override(date(2027, 1, 1), False, "元旦", users["admin"])
    db.session.commit()
    clock.freeze(listing.announce_end_at - timedelta(seconds=1))
    sweep()
    assert db.session.get(Listing, listing.id).state == "announced"
    clock.freeze(listing.announce_end_at)
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
