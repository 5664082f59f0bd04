"""Working days after 2026 (DESIGN §4.4): the statutory holidays computed from the law for a provisional year, the
State Council's notice confirmed (page, API, CLI), running deadlines recounted from their start when the calendar
changes — a passed one left alone, a suspended one keeping its remaining 工作日 — the parties notified, the warning
from 1 November and the 暂按法定节假日推算 mark on due dates.

The 2027 notice used here (``tests/data/notices/2027-test.txt``) is invented for the test: 元旦 1-1…1-4 with
Saturday 1-9 worked, so a clock counted across the New Year moves.
"""
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.audit.models import AuditEntry
from exchange.contracts.models import Contract
from exchange.deadlines import recount
from exchange.deadlines.sweeper import sweep
from exchange.extensions import db as _db
from exchange.incidents import suspension as ssvc
from exchange.listings.models import Listing
from exchange.notifications.models import Notification
from exchange.trading.models import Deal
from exchange.workdays import law
from exchange.workdays import notice as notices
from exchange.workdays import services as wd
from exchange.workdays.models import CalendarDay, CalendarYear
from tests.builders import NOTICE_2027, PDF, applied, deal_concluded_on, published
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")

NOTICES = Path(__file__).parent / "data" / "notices"


def bj(y, m, d, h=10, mi=0) -> datetime:
    """A Beijing wall-clock time as aware UTC."""
    return clock.local_datetime(date(y, m, d), h, mi)


def end_of(y, m, d) -> datetime:
    """The deadline "y-m-d 24:00" Beijing time."""
    return clock.local_datetime(date(y, m, d) + timedelta(days=1))


def plain(html: str) -> str:
    """The page's text without tags (a due date and its mark are in separate elements)."""
    import re
    return re.sub(r"<[^>]+>", "", html)


def as_user(app, username):
    c = app.test_client()
    login(c, username, PASSWORD)
    return c


# --- the law ----------------------------------------------------------------------------------------

def test_2027_from_the_law():
    off = law.provisional_days_off(2027)
    festivals = {d for d, s in off.items() if not s.makeup}
    assert festivals == {date(2027, 1, 1), *(date(2027, 2, d) for d in (5, 6, 7, 8)), date(2027, 4, 5),
                         date(2027, 5, 1), date(2027, 5, 2), date(2027, 6, 9), date(2027, 9, 15),
                         date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3)}
    assert off[date(2027, 2, 5)].name == "春节"  # 除夕 (Friday) … 初三 (Monday 2-8)
    assert off[date(2027, 4, 5)].name == "清明节" and off[date(2027, 6, 9)].name == "端午节"
    assert off[date(2027, 9, 15)].name == "中秋节"
    # 第六条: the festival days on a weekend are made up on the next weekdays
    makeup = {d: s.name for d, s in off.items() if s.makeup}
    assert makeup == {date(2027, 2, 9): "春节补假", date(2027, 2, 10): "春节补假",
                      date(2027, 5, 3): "劳动节补假", date(2027, 5, 4): "劳动节补假",
                      date(2027, 10, 4): "国庆节补假", date(2027, 10, 5): "国庆节补假"}


def test_2028_mid_autumn_inside_national_day():
    off = law.provisional_days_off(2028)
    assert off[date(2028, 10, 3)].name == "国庆节、中秋节"  # 八月十五 = 10-03
    assert [d for d in off if d.month == 10] == [date(2028, 10, d) for d in (1, 2, 3, 4, 5)]
    # 10-1 is a Sunday and 中秋 shares 10-3: two days made up, 10-4 and 10-5
    assert off[date(2028, 10, 4)].makeup and off[date(2028, 10, 5)].makeup
    assert off[date(2028, 1, 3)].name == "元旦补假"  # 1-1 is a Saturday
    assert off[date(2028, 5, 29)].name == "端午节补假"  # 端午 5-28 is a Sunday
    assert {d for d, s in off.items() if s.name == "春节"} == {date(2028, 1, d) for d in (25, 26, 27, 28)}


def test_the_law_matches_the_state_councils_holidays_where_both_exist():
    """From 2025 (the amended law) every statutory festival day is a day off in chinese_calendar's data."""
    import chinese_calendar
    for year in (2025, 2026):
        for d, s in law.provisional_days_off(year).items():
            if not s.makeup:
                assert not chinese_calendar.is_workday(d), (d, s.name)


def test_a_provisional_year_counts_the_law_and_weekends_only(db):
    assert wd.year_status(2027) == "provisional"
    assert wd.day_info(date(2027, 1, 1)) == wd.DayInfo(date(2027, 1, 1), False, "元旦", "law")
    assert wd.day_info(date(2027, 2, 9)) == wd.DayInfo(date(2027, 2, 9), False, "春节补假", "law")
    assert wd.day_info(date(2027, 1, 4)) == wd.DayInfo(date(2027, 1, 4), True, "", "provisional")
    assert wd.day_info(date(2027, 1, 9)) == wd.DayInfo(date(2027, 1, 9), False, "周末", "provisional")  # no 调休
    due = wd.due_after_working_days(bj(2026, 12, 30), 5)
    assert due.last_day == date(2027, 1, 7) and due.provisional_years == {2027}
    assert wd.due_after_working_days(bj(2026, 12, 1), 5).provisional_years == frozenset()


# --- the notice ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("year", [2025, 2026])
def test_notices_of_2025_and_2026_are_chinese_calendars_data(year):
    import chinese_calendar
    parsed = notices.parse_notice((NOTICES / f"{year}.txt").read_text(encoding="utf-8"))
    assert parsed.year == year
    assert set(parsed.holidays) == {d for d in chinese_calendar.holidays if d.year == year}
    assert set(parsed.workdays) == {d for d in chinese_calendar.workdays if d.year == year}


def test_confirming_the_notice_makes_it_the_years_calendar(users, db):
    parsed = notices.parse_notice(NOTICE_2027)
    wd.apply_notice(parsed, NOTICE_2027, users["admin"], "测试通知")
    db.session.commit()
    assert wd.year_status(2027) == "confirmed"
    row = db.session.get(CalendarYear, 2027)
    assert (row.source, row.notice_title, row.confirmed_by_id) == ("notice", "国务院办公厅关于2027年部分节假日安排的通知",
                                                                   users["admin"].id)
    assert row.notice_text == NOTICE_2027 and len(row.notice_sha256) == 64
    days = wd.days_info(date(2027, 1, 1), date(2027, 12, 31))
    assert [i.day for i in days if not i.is_workday and i.day.weekday() < 5] == sorted(
        d for d in parsed.holidays if d.weekday() < 5)
    assert [i.day for i in days if i.is_workday and i.day.weekday() >= 5] == parsed.workdays
    assert wd.day_info(date(2027, 1, 9)) == wd.DayInfo(date(2027, 1, 9), True, "元旦调休上班", "notice")
    # the law's 补假 days are not in this notice: they are working days now
    assert wd.day_info(date(2027, 2, 9)).is_workday is False  # inside the notice's 春节 run
    assert wd.day_info(date(2027, 10, 8)) == wd.DayInfo(date(2027, 10, 8), True, "", "confirmed")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "calendar.notice"))
    assert entry.actor_id == users["admin"].id and "2027" in entry.summary
    # a statutory year is refused: chinese_calendar already has it
    with pytest.raises(wd.CalendarError, match="系统已内置"):
        wd.notice_change(notices.parse_notice((NOTICES / "2026.txt").read_text(encoding="utf-8")))


# --- running deadlines recounted ------------------------------------------------------------------------
#
# The 2027 notice against the law's provisional 2027: 元旦 1-1 (Fri) … 1-4 (Mon) off instead of 1-1 only, and
# Saturday 1-9 worked.  A deal concluded on Wednesday 2026-12-30 is in 交易公示 (3 工作日) until 1-5 24:00 on the
# provisional calendar (12-31, [1-1 元旦, weekend], 1-4, 1-5); its 签约 clock (5 工作日, 第十六条) only starts when the
# publicity ends — before that ``deal.contract_due_at`` is None and nothing of it is recounted.  The losing
# bidder's deposit is refunded within 5 工作日 of the deal (12-31, 1-4, 1-5, 1-6, 1-7).

def contract_of(deal) -> Contract | None:
    return _db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))


def test_a_deal_concluded_2026_12_30_is_recounted_when_2027_is_confirmed(users, db):
    listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    assert deal.publicity_end_at == end_of(2027, 1, 5)  # provisional: 12-31, (元旦 1-1, weekend), 1-4, 1-5
    assert deal.contract_due_at is None  # 第十六条: the 签约 clock starts when the publicity ends
    clock.freeze(bj(2026, 12, 31, 9))
    parsed = notices.parse_notice(NOTICE_2027)
    preview = wd.preview_change(wd.notice_change(parsed))
    assert {(m.model, m.field, m.old, m.new) for m in preview} == {
        # the notice: 12-31, (1-1 … 1-4 元旦), 1-5, 1-6
        ("deal", "publicity_end_at", end_of(2027, 1, 5), end_of(2027, 1, 6)),
        # the loser's deposit, 5 工作日 from the deal: 12-31, 1-5, 1-6, 1-7, 1-8
        ("refund", "due_at", end_of(2027, 1, 7), end_of(2027, 1, 8))}
    assert db.session.get(Deal, deal.id).publicity_end_at == end_of(2027, 1, 5)  # a preview writes nothing

    moved = wd.apply_notice(parsed, NOTICE_2027, users["admin"])
    db.session.commit()
    assert moved == preview
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    assert deal.publicity_end_at == end_of(2027, 1, 6) and deal.contract_due_at is None
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "deadline.recomputed")))
    assert len(entries) == 2 and all(e.object_id == str(listing.id) for e in entries)
    assert any("交易公示期由 2027-01-05 24:00 调整为 2027-01-06 24:00" in e.summary for e in entries)
    # the parties are told: the buyer, the clerk who submitted it
    told = {(n.user_id, n.body) for n in db.session.scalars(select(Notification).where(
        Notification.kind == "deadline.moved"))}
    for person in ("buyer", "point_a1"):
        assert [b for uid, b in told if uid == users[person].id] == [
            f"因节假日安排调整，项目 {listing.project_no}「{listing.title}」的交易公示期由 2027-01-05 24:00 调整为 "
            "2027-01-06 24:00。请按新的期限办理。"], person
    # the loser is told of the refund's date only
    assert [b for uid, b in told if uid == users["buyer_org"].id] == [
        f"因节假日安排调整，项目 {listing.project_no}「{listing.title}」的保证金退还期限由 2027-01-07 24:00 调整为 "
        "2027-01-08 24:00。请按新的期限办理。"]

    # the clock really runs on the new date: the publicity is not over at the old 1-5 24:00 …
    clock.freeze(end_of(2027, 1, 5) + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).state == "publicity" and contract_of(deal) is None
    # … but at 1-6 24:00; the contract opens due 5 工作日 later on the confirmed calendar:
    # 1-7, 1-8, Saturday 1-9 worked, 1-11, 1-12 (provisional, without 1-9, it would have been 1-13)
    clock.freeze(end_of(2027, 1, 6) + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    assert db.session.get(Listing, listing.id).state == "contract"
    assert deal.contract_due_at == end_of(2027, 1, 12) and contract_of(deal).due_at == end_of(2027, 1, 12)


def test_a_passed_deadline_is_left_alone(users, db):
    listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    clock.freeze(bj(2027, 1, 6, 10))  # publicity ended 1-5 24:00 (provisional)
    # even before the sweeper has acted on it, a passed deadline is not moved (and no 签约 clock runs yet)
    preview = wd.preview_change(wd.notice_change(notices.parse_notice(NOTICE_2027)))
    assert db.session.get(Deal, deal.id).state == "publicity"
    assert {(m.model, m.field, m.old, m.new) for m in preview} == {
        ("refund", "due_at", end_of(2027, 1, 7), end_of(2027, 1, 8))}
    sweep()  # the publicity ends as it was counted; the contract opens
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "contract"
    deal = db.session.get(Deal, deal.id)
    contract = contract_of(deal)
    # 5 工作日 from the publicity's end (provisional): 1-6, 1-7, 1-8, (weekend 1-9, 1-10), 1-11, 1-12
    assert deal.contract_due_at == end_of(2027, 1, 12) and contract.due_at == end_of(2027, 1, 12)
    moved = wd.apply_notice(notices.parse_notice(NOTICE_2027), NOTICE_2027, users["admin"])
    db.session.commit()
    # the 签约 clock is counted again from the moment 组织交易 was complete — the publicity's end as it happened,
    # 1-5 24:00 — on the confirmed calendar: 1-6, 1-7, 1-8, Saturday 1-9 worked, 1-11.  (元旦 1-4, a day of the
    # publicity already over, changes nothing.)
    assert {(m.model, m.field, m.old, m.new) for m in moved} == {
        ("deal", "contract_due_at", end_of(2027, 1, 12), end_of(2027, 1, 11)),
        ("contract", "due_at", end_of(2027, 1, 12), end_of(2027, 1, 11)),
        ("refund", "due_at", end_of(2027, 1, 7), end_of(2027, 1, 8))}
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    assert deal.publicity_end_at == end_of(2027, 1, 5)  # passed and acted on: never moved
    assert deal.contract_due_at == end_of(2027, 1, 11)
    assert db.session.get(Contract, contract.id).due_at == end_of(2027, 1, 11)


def test_a_suspended_clock_keeps_its_remaining_working_days(users, db):
    listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    # suspended in 交易公示: its clock is frozen; the 签约 clock has not started, so there is none to freeze
    clock.freeze(bj(2026, 12, 31, 10))
    s = ssvc.suspend(users["center_reviewer"], listing, ground="authority", basis="临农函〔2026〕9号：权属待核实",
                     document=PDF, document_filename="中止通知.pdf")
    db.session.commit()
    frozen = {(c["model"], c["field"]): c["remaining"] for c in ssvc.frozen_clocks(s)
              if c["model"] in ("deal", "contract")}
    assert frozen == {("deal", "publicity_end_at"): 2}  # after 12-31: 1-4, 1-5

    moved = wd.apply_notice(notices.parse_notice(NOTICE_2027), NOTICE_2027, users["admin"])
    db.session.commit()
    assert [(m.model, m.field) for m in moved] == [("refund", "due_at")]  # refunds keep running; the rest is frozen
    db.session.expire_all()
    assert {(c["model"], c["field"]): c["remaining"] for c in ssvc.frozen_clocks(ssvc.open_suspension(listing))
            if c["model"] in ("deal", "contract")} == frozen
    deal = db.session.get(Deal, deal.id)
    assert deal.publicity_end_at == end_of(2027, 1, 5) and deal.contract_due_at is None

    # restarted on Wednesday 2027-01-06: the remaining days counted on the confirmed calendar
    clock.freeze(bj(2027, 1, 6, 10))
    listing = db.session.get(Listing, listing.id)
    ssvc.apply_restart(users["center_reviewer"], listing, reason="权属已核实，申请重启")
    ssvc.decide_restart(users["center_reviewer"], listing, approve=True, decision="同意重启")
    db.session.commit()
    deal = db.session.get(Deal, deal.id)
    assert deal.publicity_end_at == end_of(2027, 1, 8) and deal.contract_due_at is None  # 1-7, 1-8

    # the publicity ends on 1-8: 5 工作日 to sign — Saturday 1-9 worked, 1-11, 1-12, 1-13, 1-14
    clock.freeze(end_of(2027, 1, 8) + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    contract = contract_of(deal)
    assert deal.contract_due_at == end_of(2027, 1, 14) and contract.due_at == end_of(2027, 1, 14)

    # suspended again in 签约 on Monday 1-11: the deal's and the contract's signing clock are frozen
    clock.freeze(bj(2027, 1, 11, 10))
    listing = db.session.get(Listing, listing.id)
    s = ssvc.suspend(users["center_reviewer"], listing, ground="authority", basis="临农函〔2027〕2号：权属待核实",
                     document=PDF, document_filename="中止通知.pdf")
    db.session.commit()
    assert {(c["model"], c["field"]): c["remaining"] for c in ssvc.frozen_clocks(s)
            if c["model"] in ("deal", "contract")} == {
        ("deal", "contract_due_at"): 3, ("contract", "due_at"): 3}  # after 1-11: 1-12, 1-13, 1-14

    # restarted on Wednesday 1-13: 1-14, 1-15, (weekend 1-16, 1-17), 1-18
    clock.freeze(bj(2027, 1, 13, 10))
    listing = db.session.get(Listing, listing.id)
    ssvc.apply_restart(users["center_reviewer"], listing, reason="权属已核实，申请重启")
    ssvc.decide_restart(users["center_reviewer"], listing, approve=True, decision="同意重启")
    db.session.commit()
    deal = db.session.get(Deal, deal.id)
    assert deal.contract_due_at == end_of(2027, 1, 18)
    assert db.session.get(Contract, contract.id).due_at == end_of(2027, 1, 18)

    # a later change recounts a restored clock from the restart, not from the deal nor the publicity's end: a day
    # of the suspension changed afterwards moves nothing, a day after the restart does
    wd.set_override(date(2027, 1, 12), False, "临时放假", users["admin"])
    db.session.commit()
    assert db.session.get(Deal, deal.id).contract_due_at == end_of(2027, 1, 18)
    assert db.session.get(Contract, contract.id).due_at == end_of(2027, 1, 18)
    wd.set_override(date(2027, 1, 15), False, "临时放假", users["admin"])
    db.session.commit()
    # 1-14, (1-15 off, weekend), 1-18, 1-19
    assert db.session.get(Deal, deal.id).contract_due_at == end_of(2027, 1, 19)
    assert db.session.get(Contract, contract.id).due_at == end_of(2027, 1, 19)


@pytest.mark.article("第二十三条")
def test_a_suspended_announcement_keeps_its_buyers_clocks(users, db):
    """Suspended during the 公告期: the listing's and the qualified buyer's deposit deadline stay frozen."""
    from exchange.registrations import services as rsvc
    from exchange.registrations.models import Registration
    clock.freeze(bj(2026, 12, 28, 9))
    listing = published(users)
    reg = applied(users, listing)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    assert reg.deposit_deadline_at == bj(2027, 1, 5, 16)
    clock.freeze(bj(2026, 12, 30, 10))
    ssvc.suspend(users["center_reviewer"], listing, ground="authority", basis="临农函〔2026〕9号：权属待核实",
                 document=PDF, document_filename="中止通知.pdf")
    db.session.commit()
    assert wd.apply_notice(notices.parse_notice(NOTICE_2027), NOTICE_2027, users["admin"]) == []
    db.session.commit()
    assert db.session.get(Registration, reg.id).deposit_deadline_at == bj(2027, 1, 5, 16)


def test_an_override_and_its_removal_recount_too(users, db):
    listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    # in 交易公示 (12-31, 1-4, 1-5 provisional): 1-5 off → 12-31, 1-4, 1-6
    wd.set_override(date(2027, 1, 5), False, "临时放假", users["admin"])
    db.session.commit()
    deal = db.session.get(Deal, deal.id)
    assert deal.publicity_end_at == end_of(2027, 1, 6) and deal.contract_due_at is None
    assert wd.remove_override(date(2027, 1, 5), users["admin"])
    db.session.commit()
    deal = db.session.get(Deal, deal.id)
    assert deal.publicity_end_at == end_of(2027, 1, 5) and deal.contract_due_at is None
    # confirming by hand with nothing entered drops the law's 元旦 → earlier (12-31, 1-1, 1-4); withdrawing gives
    # it back
    wd.confirm_year(2027, users["admin"], "")
    db.session.commit()
    assert db.session.get(Deal, deal.id).publicity_end_at == end_of(2027, 1, 4)
    wd.unconfirm_year(2027, users["admin"])
    db.session.commit()
    assert db.session.get(Deal, deal.id).publicity_end_at == end_of(2027, 1, 5)

    # in 签约: the publicity over 1-5 24:00, 5 工作日 to sign — 1-6, 1-7, 1-8, 1-11, 1-12
    clock.freeze(bj(2027, 1, 6, 10))
    sweep()
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    contract = contract_of(deal)
    assert deal.contract_due_at == end_of(2027, 1, 12) and contract.due_at == end_of(2027, 1, 12)
    # 1-8 off → 1-6, 1-7, 1-11, 1-12, 1-13 (the deal's clock and the contract's alike); removed → back
    wd.set_override(date(2027, 1, 8), False, "临时放假", users["admin"])
    db.session.commit()
    assert db.session.get(Deal, deal.id).contract_due_at == end_of(2027, 1, 13)
    assert db.session.get(Contract, contract.id).due_at == end_of(2027, 1, 13)
    assert wd.remove_override(date(2027, 1, 8), users["admin"])
    db.session.commit()
    assert db.session.get(Deal, deal.id).contract_due_at == end_of(2027, 1, 12)
    assert db.session.get(Contract, contract.id).due_at == end_of(2027, 1, 12)


def test_an_announcement_and_its_deposit_deadline_move_together(users, db):
    clock.freeze(bj(2026, 12, 28, 9))
    listing = published(users)
    db.session.commit()
    assert listing.announce_days == 5 and listing.announce_assumed_years == "2027"
    # 12-29, 12-30, 12-31, (元旦), 1-4, 1-5
    assert listing.announce_end_at == end_of(2027, 1, 5)
    assert listing.deposit_deadline_at == bj(2027, 1, 5, 16)
    moved = wd.apply_notice(notices.parse_notice(NOTICE_2027), NOTICE_2027, users["admin"])
    db.session.commit()
    assert {m.field for m in moved} == {"announce_end_at", "deposit_deadline_at"}
    listing = db.session.get(Listing, listing.id)
    assert listing.announce_end_at == end_of(2027, 1, 6) and listing.deposit_deadline_at == bj(2027, 1, 6, 16)
    assert listing.announce_assumed_years == ""


def test_deadlines_stored_on_the_weekday_guess_are_recounted_once(users, db, app):
    """Deadlines stored by the version that took every weekday of 2027 for a working day."""
    with wd.weekday_guess():
        listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    assert deal.publicity_end_at == end_of(2027, 1, 4)  # 12-31, 元旦 1-1 counted as a working day, 1-4
    assert deal.contract_due_at is None
    result = app.test_cli_runner().invoke(args=["calendar", "recount", "--from-weekday-guess", "--dry-run"])
    # the publicity (→ 12-31, 1-4, 1-5) and the loser's refund (12-31, 1-1, 1-4, 1-5, 1-6 → … 1-7)
    assert result.exit_code == 0 and "将调整 2 个期限" in result.output
    assert "交易公示期：2027-01-04 24:00 → 2027-01-05 24:00" in result.output
    assert "保证金退还期限：2027-01-06 24:00 → 2027-01-07 24:00" in result.output
    assert db.session.get(Deal, deal.id).publicity_end_at == end_of(2027, 1, 4)
    result = app.test_cli_runner().invoke(args=["calendar", "recount", "--from-weekday-guess"])
    assert result.exit_code == 0 and "调整了 2 个期限" in result.output
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).publicity_end_at == end_of(2027, 1, 5)
    # the publicity ends on the recounted day, not on the guessed one; the 签约 clock starts from it:
    # 1-6, 1-7, 1-8, 1-11, 1-12
    clock.freeze(end_of(2027, 1, 4) + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).state == "publicity"
    clock.freeze(end_of(2027, 1, 5) + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    assert deal.contract_due_at == end_of(2027, 1, 12) and contract_of(deal).due_at == end_of(2027, 1, 12)


# --- warnings and marks ---------------------------------------------------------------------------------

def test_the_warning_runs_from_1_november_until_next_year_is_confirmed(users, db):
    warning = "2027 年节假日安排尚未确认（当前按法定节假日推算）"
    assert not any(warning in w for w in wd.calendar_warnings(date(2026, 10, 31)))
    assert any(warning in w for w in wd.calendar_warnings(date(2026, 11, 1)))
    assert any(warning in w for w in wd.calendar_warnings(date(2027, 3, 1)))  # still provisional, in the year
    wd.apply_notice(notices.parse_notice(NOTICE_2027), NOTICE_2027, users["admin"])
    db.session.commit()
    assert wd.calendar_warnings(date(2026, 11, 1)) == []


def test_work_page_warns_the_admin_and_the_center_only(app, users, db):
    clock.freeze(bj(2026, 11, 2, 9))
    warning = "2027 年节假日安排尚未确认（当前按法定节假日推算）"
    for username in ("t_admin", "t_reviewer"):
        assert warning in text(as_user(app, username).get("/work")), username
    assert warning not in text(as_user(app, "t_point_a1").get("/work"))


def test_due_dates_in_a_provisional_year_are_marked(app, users, db):
    listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    # in 交易公示: its end is the running clock (the 签约 clock has not started)
    page = plain(text(as_user(app, "t_point_a1").get(f"/listings/{listing.id}")))
    assert "交易公示期" in page and "2027-01-05 24:00（暂按法定节假日推算）" in page
    assert "签约期限" not in page
    public = plain(text(app.test_client().get(f"/projects/{listing.project_no}")))
    assert "公示至 2027-01-05 24:00（暂按法定节假日推算）" in public
    # in 签约: 1-6, 1-7, 1-8, 1-11, 1-12 on the provisional calendar
    clock.freeze(bj(2027, 1, 6, 10))
    sweep()
    db.session.commit()
    page = plain(text(as_user(app, "t_point_a1").get(f"/listings/{listing.id}")))
    assert "签约期限" in page and "2027-01-12 24:00（暂按法定节假日推算）" in page
    wd.apply_notice(notices.parse_notice(NOTICE_2027), NOTICE_2027, users["admin"])
    db.session.commit()
    db.session.expire_all()
    page = plain(text(as_user(app, "t_point_a1").get(f"/listings/{listing.id}")))
    due = clock.to_local(db.session.get(Deal, deal.id).contract_due_at - timedelta(microseconds=1))
    assert f"{due:%Y-%m-%d} 24:00" in page and "暂按法定节假日推算" not in page


# --- the admin's page ---------------------------------------------------------------------------------

def test_admin_pastes_previews_and_confirms_the_notice(app, users, db):
    listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    clock.freeze(bj(2026, 12, 31, 9))
    admin = as_user(app, "t_admin")
    page = text(admin.get("/admin/calendar/notice"))
    assert "导入国务院办公厅放假通知" in page
    resp = admin.post("/admin/calendar/notice", data={"csrf_token": csrf_from(page), "text": NOTICE_2027})
    body = text(resp)
    assert resp.status_code == 200 and "解析成功，尚未生效" in body
    # the deal's 交易公示 1-5 → 1-6 and the loser's refund 1-7 → 1-8 (no 签约 clock runs yet)
    assert "将调整 2 个期限" in body
    moves = plain(body.split('id="moves"', 1)[1].split("</table>", 1)[0])
    assert "交易公示期" in moves and "2027-01-05 24:00" in moves and "2027-01-06 24:00" in moves
    assert "保证金退还期限" in moves and "2027-01-07 24:00" in moves and "2027-01-08 24:00" in moves
    assert "签约期限" not in moves
    assert "2027 年 12 月" in body and "元旦调休上班" in body  # the whole year's grid
    assert db.session.get(CalendarYear, 2027) is None  # nothing saved yet
    resp = admin.post("/admin/calendar/notice/confirm", data={
        "csrf_token": csrf_from(body), "text": NOTICE_2027, "digest": csrf_digest(body), "note": "测试"},
        follow_redirects=True)
    assert resp.status_code == 200 and "已按国务院办公厅通知确认 2027 年节假日安排，调整了 2 个期限" in text(resp)
    assert wd.year_status(2027) == "confirmed"
    deal = db.session.get(Deal, deal.id)
    assert deal.publicity_end_at == end_of(2027, 1, 6) and deal.contract_due_at is None


def csrf_digest(html: str) -> str:
    import re
    return re.search(r'name="digest"[^>]*value="([0-9a-f]{64})"', html).group(1)


def test_a_notice_that_cannot_be_read_is_refused_with_the_line(app, users, db):
    admin = as_user(app, "t_admin")
    page = text(admin.get("/admin/calendar/notice"))
    bad = NOTICE_2027.replace("4月3日（周六）", "4月3日（周五）")
    resp = admin.post("/admin/calendar/notice", data={"csrf_token": csrf_from(page), "text": bad})
    body = text(resp)
    assert resp.status_code == 400 and "通知无法解析，未作任何修改" in body
    assert "三、清明节：4月3日（周五）至5日（周一）放假，共3天。" in body and "周六" in body
    assert db.session.scalar(select(CalendarDay).limit(1)) is None


def test_a_confirmation_must_be_what_was_previewed(app, users, db):
    admin = as_user(app, "t_admin")
    page = text(admin.get("/admin/calendar/notice"))
    body = text(admin.post("/admin/calendar/notice", data={"csrf_token": csrf_from(page), "text": NOTICE_2027}))
    resp = admin.post("/admin/calendar/notice/confirm", data={
        "csrf_token": csrf_from(body), "text": NOTICE_2027.replace("1月9日", "1月16日"),
        "digest": csrf_digest(body)}, follow_redirects=True)
    assert "确认的内容与解析预览不一致" in text(resp) and wd.year_status(2027) == "provisional"


def test_only_the_admin_imports_a_notice(app, users, db):
    reviewer = as_user(app, "t_reviewer")
    assert reviewer.get("/admin/calendar/notice").status_code == 403
    assert as_user(app, "t_point_a1").get("/admin/calendar/notice").status_code == 403


def test_a_txt_upload_in_gb18030(app, users, db):
    import io
    admin = as_user(app, "t_admin")
    page = text(admin.get("/admin/calendar/notice"))
    resp = admin.post("/admin/calendar/notice", data={
        "csrf_token": csrf_from(page), "text": "",
        "file": (io.BytesIO(NOTICE_2027.encode("gb18030")), "通知.txt")}, content_type="multipart/form-data")
    assert resp.status_code == 200 and "解析成功，尚未生效" in text(resp)


# --- API and CLI --------------------------------------------------------------------------------------

def test_api_preview_and_confirm(app, users, db):
    from tests.helpers import api_csrf, api_login
    listing, deal = deal_concluded_on(users, bj(2026, 12, 30))
    clock.freeze(bj(2026, 12, 31, 9))
    c = app.test_client()
    api_login(c, "t_admin", PASSWORD)
    headers = {"X-CSRFToken": api_csrf(c)}
    bad = c.post("/api/v1/calendar/notice", json={"text": NOTICE_2027.replace("（周五）至4日", "（周四）至4日")},
                 headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"] == "notice_unreadable"
    assert "一、元旦" in bad.get_json()["fields"]["text"][0]
    body = c.post("/api/v1/calendar/notice", json={"text": NOTICE_2027}, headers=headers).get_json()
    assert body["year"] == 2027 and body["status"] == "provisional"
    assert "2027-01-09" in body["workdays"] and any(d["day"] == "2027-01-04" for d in body["changed_days"])

    def moves(found):
        return {(m["project_no"], m["label"], datetime.fromisoformat(m["old"]), datetime.fromisoformat(m["new"]))
                for m in found["moves"]}
    # the deal's 交易公示 and the loser's refund; no 签约 clock runs yet
    expected = {(listing.project_no, "交易公示期", end_of(2027, 1, 5), end_of(2027, 1, 6)),
                (listing.project_no, "保证金退还期限", end_of(2027, 1, 7), end_of(2027, 1, 8))}
    assert moves(body) == expected
    done = c.post("/api/v1/calendar/notice/confirm", json={"text": NOTICE_2027, "note": "api"}, headers=headers)
    assert done.status_code == 200 and done.get_json()["status"] == "confirmed" and moves(done.get_json()) == expected
    assert c.get("/api/v1/calendar/years/2027").get_json()["status"] == "confirmed"
    assert db.session.get(Deal, deal.id).publicity_end_at == end_of(2027, 1, 6)
    reviewer = app.test_client()
    api_login(reviewer, "t_reviewer", PASSWORD)
    assert reviewer.post("/api/v1/calendar/notice", json={"text": NOTICE_2027},
                         headers={"X-CSRFToken": api_csrf(reviewer)}).status_code == 403


def test_cli_notice_show_and_apply(app, users, db, tmp_path):
    import chinese_calendar
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calendar", "notice", str(NOTICES / "2026.txt")])
    assert result.exit_code == 0
    data = json.loads(result.stdout.splitlines()[0])
    assert data == {"year": 2026,
                    "holidays": sorted(d.isoformat() for d in chinese_calendar.holidays if d.year == 2026),
                    "workdays": sorted(d.isoformat() for d in chinese_calendar.workdays if d.year == 2026)}
    shown = json.loads(runner.invoke(args=["calendar", "show", "2027"]).stdout)
    assert shown["status"] == "provisional" and "2027-01-01" in shown["days_off_on_weekdays"]
    assert "2027-02-09" in shown["days_off_on_weekdays"] and shown["working_weekends"] == []
    path = tmp_path / "2027.txt"
    path.write_text(NOTICE_2027, encoding="utf-8")
    result = runner.invoke(args=["calendar", "notice", str(path)])
    assert result.exit_code == 0 and wd.year_status(2027) == "provisional"  # nothing saved
    result = runner.invoke(args=["calendar", "notice", str(path), "--apply"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert wd.year_status(2027) == "confirmed"
    shown = json.loads(runner.invoke(args=["calendar", "show", "2027"]).stdout)
    assert shown["status"] == "confirmed" and shown["working_weekends"][0] == "2027-01-09"
    bad = tmp_path / "bad.txt"
    bad.write_text(NOTICE_2027.replace("共4天", "共5天"), encoding="utf-8")
    result = runner.invoke(args=["calendar", "notice", str(bad)])
    assert result.exit_code == 1 and "一、元旦：1月1日（周五）至4日（周一）放假调休，共5天。" in result.output
    assert runner.invoke(args=["calendar", "show", "1999"]).exit_code == 2
