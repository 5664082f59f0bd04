"""中止与重启 (第二十三条): every running clock frozen with what was left of it; nothing moves while suspended (the
sweeper, bids, payments); a restart on a party's application, decided by the center, gives the remaining time back
from the restart moment — working days counted against the statutory calendar (checked with chinese_calendar
itself), a live bidding session with its remaining seconds."""
import io
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied
from exchange.audit.models import AuditEntry
from exchange.deadlines.sweeper import sweep
from exchange.incidents import termination as xsvc
from exchange.incidents import suspension as ssvc
from exchange.incidents.models import Suspension
from exchange.extensions import db as _db
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from exchange.registrations.models import Registration
from exchange.trading import room
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession, Deal
from tests.builders import ALL_OK, PDF, applied, attach, key, live, new_household_listing, pay
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")

BASIS = "临湘市农业农村局 临农函〔2026〕101号：该地块权属待核实，中止交易"


def _suspend(users, listing, ground="authority"):
    s = ssvc.suspend(users["center_reviewer"], listing, ground=ground, basis=BASIS, document=PDF,
                     document_filename="中止通知.pdf")
    _db.session.commit()
    return s


def _restart(users, listing, applicant="center_reviewer"):
    ssvc.apply_restart(users[applicant], listing, reason="权属已核实清楚，申请重启交易")
    s = ssvc.decide_restart(users["center_reviewer"], listing, approve=True, decision="中止情形已消除，同意重启")
    _db.session.commit()
    return s


def _nth_workday_after(d: date, n: int) -> date:
    """The statutory calendar itself, independent of exchange.workdays."""
    while n:
        d += timedelta(days=1)
        n -= chinese_calendar.is_workday(d)
    return d


def _local(dt):
    return clock.to_local(dt)


# --- rules ------------------------------------------------------------------------------------------

@pytest.mark.article("第二十三条")
def test_who_may_suspend_and_what_it_needs(users, announced, db):
    for who in ("point_a1", "station_a", "trading_officer", "finance", "admin", "supervisor", "buyer"):
        with pytest.raises(AccessDenied):
            ssvc.suspend(users[who], announced, ground="authority", basis=BASIS, document=PDF)
    with pytest.raises(ssvc.SuspensionError) as exc:
        ssvc.suspend(users["center_reviewer"], announced, ground="objection", basis=BASIS, document=PDF)
    assert "第二十三条" in exc.value.message  # the objection ground is the center's decision on an objection only
    with pytest.raises(ssvc.SuspensionError) as exc:
        ssvc.suspend(users["center_reviewer"], announced, ground="authority", basis=" ", document=PDF)
    assert exc.value.field == "basis"
    with pytest.raises(ssvc.SuspensionError) as exc:
        ssvc.suspend(users["center_reviewer"], announced, ground="authority", basis=BASIS)
    assert exc.value.field == "document"
    with pytest.raises(ssvc.SuspensionError):
        ssvc.suspend(users["center_reviewer"], announced, ground="authority", basis=BASIS,
                     document=b"MZ\x90 not a scan", document_filename="x.pdf")
    draft = new_household_listing(users)
    with pytest.raises(ssvc.SuspensionError):
        ssvc.suspend(users["center_reviewer"], draft, ground="authority", basis=BASIS, document=PDF)
    s = _suspend(users, announced)
    assert announced.state == "suspended" and s.from_state == "announced" and s.document_sha256
    with pytest.raises(ssvc.SuspensionError):  # not twice
        ssvc.suspend(users["center_reviewer"], announced, ground="authority", basis=BASIS, document=PDF)


@pytest.mark.article("第二十三条")
def test_restart_needs_an_application_from_a_party_and_the_centers_decision(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    _suspend(users, announced)
    with pytest.raises(ssvc.SuspensionError) as exc:
        ssvc.decide_restart(users["center_reviewer"], announced, approve=True, decision="同意重启")
    assert "申请" in exc.value.message
    for who in ("trading_officer", "finance", "supervisor", "buyer_org"):  # buyer_org has no registration here
        with pytest.raises(AccessDenied):
            ssvc.apply_restart(users[who], announced, reason="请求重启交易")
    with pytest.raises(ssvc.SuspensionError):
        ssvc.apply_restart(users["buyer"], announced, reason="x")
    ssvc.apply_restart(users["buyer"], announced, reason="权属争议已经解决，请求重启")  # a qualified buyer is a party
    with pytest.raises(ssvc.SuspensionError):  # one application at a time
        ssvc.apply_restart(users["point_a1"], announced, reason="代转让方申请重启")
    for who in ("point_a1", "station_a", "trading_officer", "buyer"):
        with pytest.raises(AccessDenied):
            ssvc.decide_restart(users[who], announced, approve=True, decision="同意重启")
    s = ssvc.decide_restart(users["center_reviewer"], announced, approve=False, decision="争议尚未解决")
    db.session.commit()
    assert s.state == "active" and announced.state == "suspended"
    ssvc.apply_restart(users["point_a1"], announced, reason="村委会出具说明，争议已解决")  # the clerk for the village
    s = ssvc.decide_restart(users["center_reviewer"], announced, approve=True, decision="同意重启")
    db.session.commit()
    assert s.state == "restarted" and announced.state == "announced"
    assert [e.action for e in announced.events][-2:] == ["suspend", "restart"]


# --- the clocks ---------------------------------------------------------------------------------------

@pytest.mark.article("第二十三条")
def test_announcement_frozen_across_national_day_and_given_back(users, db):
    """Published Thu 2026-09-24 with a 5-工作日 公告期 (last day Thu 10-08, after the holiday); suspended Mon 09-28;
    restarted Fri 10-09: the 3 工作日 left run from 10-09 — Saturday 10-10 is a worked day."""
    clock.freeze(datetime(2026, 9, 24, 1, 0))  # 09:00 Beijing
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    first_last = _nth_workday_after(date(2026, 9, 24), listing.announce_days)
    assert _local(listing.deposit_deadline_at).date() == first_last
    reg = applied(users, listing)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()

    clock.freeze(datetime(2026, 9, 28, 2, 0))  # Monday 10:00 Beijing
    s = _suspend(users, listing)
    frozen = {(c["model"], c["field"]): c for c in ssvc.frozen_clocks(s)}
    left = sum(chinese_calendar.is_workday(date(2026, 9, 28) + timedelta(days=i))
               for i in range(1, (first_last - date(2026, 9, 28)).days + 1))
    assert frozen[("listing", "announce_end_at")]["remaining"] == left
    assert frozen[("listing", "deposit_deadline_at")] == {**frozen[("listing", "deposit_deadline_at")],
                                                         "remaining": left, "time": "16:00"}
    assert frozen[("registration", "deposit_deadline_at")]["remaining"] == left

    # the whole holiday passes: nothing moves while suspended
    clock.freeze(datetime(2026, 10, 9, 7, 0))  # Friday 15:00 Beijing
    result = sweep()
    assert not result.failed
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "suspended"
    assert db.session.get(Registration, reg.id).state == "qualified"  # not 视为放弃
    with pytest.raises(rsvc.RegistrationError):
        deposits.confirm_deposit(users["finance"], db.session.get(Registration, reg.id), "16000", source_key="HX-S",
                             receipt=PDF, receipt_filename="r.pdf")
    db.session.rollback()

    listing = db.session.get(Listing, listing.id)
    _restart(users, listing, applicant="buyer")
    new_last = _nth_workday_after(date(2026, 10, 9), left)
    assert date(2026, 10, 10) <= new_last  # the worked Saturday counts
    listing = db.session.get(Listing, listing.id)
    assert listing.state == "announced"
    assert _local(listing.deposit_deadline_at) == datetime(new_last.year, new_last.month, new_last.day, 16, 0,
                                                           tzinfo=_local(listing.deposit_deadline_at).tzinfo)
    assert _local(listing.announce_end_at).date() == new_last + timedelta(days=1)
    assert _local(listing.announce_end_at).hour == 0
    assert db.session.get(Registration, reg.id).deposit_deadline_at == listing.deposit_deadline_at
    restarted = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "listing.restarted"))
    assert restarted is not None and '"restored"' in restarted.after
    # the clock runs again: unpaid at the new deadline → 视为放弃; the 公告期 then ends → 流拍
    clock.freeze(listing.announce_end_at + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).state == "abandoned"
    assert db.session.get(Listing, listing.id).state == "failed"


@pytest.mark.article("第二十三条")
def test_no_deadline_of_a_suspended_listing_runs_out(users, announced, db):
    """Suspended during the 公告期: weeks after the deposit deadline and the 公告期 would have ended, the qualified
    buyer who has not paid is not 视为放弃 and the listing is neither 流拍 nor traded — it waits for a restart."""
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    _suspend(users, announced)
    clock.freeze(announced.announce_end_at + timedelta(days=30))
    result = sweep()
    assert not result.failed
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).state == "qualified"
    assert db.session.get(Listing, announced.id).state == "suspended"


@pytest.mark.article("第二十三条")
def test_a_clock_suspended_on_its_last_day_gets_one_working_day(users, announced, db):
    clock.freeze(announced.deposit_deadline_at - timedelta(hours=2))  # 14:00 on the last day
    s = _suspend(users, announced)
    entry = {c["field"]: c for c in ssvc.frozen_clocks(s) if c["model"] == "listing"}["deposit_deadline_at"]
    assert entry["remaining"] == 0
    restart_at = clock.now() + timedelta(days=20)
    new = ssvc.restored_due(entry, restart_at)
    expected = _nth_workday_after(_local(restart_at).date(), 1)
    assert _local(new).date() == expected and _local(new).hour == 16


@pytest.mark.article("第二十三条")
def test_calendar_day_and_second_clocks():
    restart = clock.ensure_aware(datetime(2026, 9, 30, 4, 0))
    days = {"kind": "days", "remaining": 4, "time": "24:00"}
    # 结算 counts calendar days, holidays included: 4 days after 09-30 → end of 10-04
    assert _local(ssvc.restored_due(days, restart)) == _local(clock.local_datetime(date(2026, 10, 5)))
    secs = {"kind": "seconds", "remaining": 125}
    assert ssvc.restored_due(secs, restart) == restart + timedelta(seconds=125)


@pytest.mark.article("第二十三条")
def test_a_live_bidding_session_resumes_with_its_remaining_time(buyers, trading, db):
    listing, regs = trading
    s = live(buyers, listing)
    tsvc.place_bid(buyers["buyer"], s.id, s.start_price, key=key())
    db.session.commit()
    clock.advance(timedelta(minutes=12))  # into the timed period
    session = db.session.get(BiddingSession, s.id)
    left = (session.ends_at - clock.now()).total_seconds()
    assert 0 < left <= 300
    susp = _suspend(buyers, listing, ground="center")
    assert {c["field"] for c in ssvc.frozen_clocks(susp) if c["model"] == "session"} == {"ends_at", "hard_end_at"}
    st = room.state(db.session.get(BiddingSession, s.id), buyers["buyer_org"])
    assert st["phase"] == "suspended" and st["seconds_left"] == pytest.approx(left)

    clock.advance(timedelta(days=3))
    sweep()
    db.session.expire_all()
    assert db.session.get(BiddingSession, s.id).state == "scheduled"  # not closed while suspended
    with pytest.raises(tsvc.BidRefused) as exc:
        tsvc.place_bid(buyers["buyer_org"], s.id, s.start_price + s.increment, key=key())
    assert "中止" in exc.value.message
    db.session.rollback()

    listing = db.session.get(Listing, listing.id)
    _restart(buyers, listing, applicant="buyer_org")  # a paid bidder is a party
    session = db.session.get(BiddingSession, s.id)
    assert listing.state == "trading"
    assert (session.ends_at - clock.now()).total_seconds() == pytest.approx(left, abs=1)
    assert room.state(session, buyers["buyer_org"])["phase"] == "timed"
    bid = tsvc.place_bid(buyers["buyer_org"], s.id, s.start_price + s.increment, key=key())
    db.session.commit()
    assert bid.seq == 2
    clock.freeze(db.session.get(BiddingSession, s.id).ends_at + timedelta(seconds=1))
    sweep()
    db.session.expire_all()
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    assert deal is not None and deal.registration_id == regs["buyer_org"].id


@pytest.mark.article("第二十三条")
def test_objection_upheld_suspends_publicity_and_restart_gives_it_back(buyers, trading, db):
    listing, regs = trading
    deal = tsvc.record_offline(buyers["trading_officer"], listing, method="auction", registration_id=regs["buyer"].id,
                               price="170000", held_on=clock.today_local().isoformat(), document=PDF,
                               document_filename="a.pdf")
    db.session.commit()
    obj = tsvc.file_objection(None, deal, name="某村民", contact="139", content="竞买人之间存在串通行为，请调查。")
    tsvc.decide_objection(buyers["center_reviewer"], obj, upheld=True, decision="异议成立，中止交易，调查处理。")
    db.session.commit()
    s = ssvc.open_suspension(listing)
    assert s.ground == "objection" and s.ground_label == "交易公示期间异议成立" and deal.state == "suspended"
    left = {c["field"]: c["remaining"] for c in ssvc.frozen_clocks(s) if c["model"] == "deal"}
    assert left["publicity_end_at"] >= 1
    clock.advance(timedelta(days=10))
    sweep()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "suspended"
    listing = db.session.get(Listing, listing.id)
    _restart(buyers, listing)
    deal = db.session.get(Deal, deal.id)
    assert listing.state == "publicity" and deal.state == "publicity"
    assert _local(deal.publicity_end_at).date() == _nth_workday_after(clock.today_local(),
                                                                       left["publicity_end_at"]) + timedelta(days=1)
    clock.freeze(deal.publicity_end_at)
    sweep()
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "contract"


@pytest.mark.article("第二十三条")
def test_terminating_a_suspended_listing_closes_the_suspension(users, announced, db):
    pay(users, announced, ["buyer"])
    db.session.commit()
    s = _suspend(users, announced)
    xsvc.terminate(users["center_reviewer"], announced, ground="authority", basis=BASIS, document=PDF,
                   document_filename="批复.pdf")
    db.session.commit()
    assert announced.state == "terminated" and db.session.get(Suspension, s.id).state == "terminated"
    with pytest.raises(ssvc.SuspensionError):
        ssvc.apply_restart(users["point_a1"], announced, reason="申请重启交易")


# --- pages and API ------------------------------------------------------------------------------------

@pytest.mark.article("第二十三条")
def test_pages(client, users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    login(client, "t_trader", PASSWORD)
    assert client.get(f"/listings/{announced.id}/suspend").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})
    login(client, "t_reviewer", PASSWORD)
    assert "中止交易（第二十三条）" in text(client.get(f"/listings/{announced.id}"))
    page = text(client.get(f"/listings/{announced.id}/suspend"))
    resp = client.post(f"/listings/{announced.id}/suspend", data={"csrf_token": csrf_from(page), "ground": "party",
                                                                  "basis": BASIS}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "上传" in text(resp)
    resp = client.post(f"/listings/{announced.id}/suspend",
                       data={"csrf_token": csrf_from(page), "ground": "title_dispute", "basis": BASIS,
                             "document": (io.BytesIO(PDF), "中止通知.pdf")},
                       content_type="multipart/form-data", follow_redirects=True)
    body = text(resp)
    assert "已中止交易" in body and "产权存在权属争议" in body and "公告期" in body and "保证金截止" in body
    s = ssvc.open_suspension(announced)
    assert client.get(f"/listings/{announced.id}/suspension/{s.id}/document").data == PDF
    # the center cannot restart without an application; the buyer applies on the same page
    assert "认定重启申请" not in body
    client.post("/logout", data={"csrf_token": csrf_from(body)})
    login(client, "t_buyer", PASSWORD)
    page = text(client.get(f"/listings/{announced.id}/suspension"))
    assert "申请重启交易" in page and "冻结的期限" in page
    assert client.get(f"/listings/{announced.id}/suspension/{s.id}/document").status_code == 403
    resp = client.post(f"/listings/{announced.id}/suspension/apply", data={"csrf_token": csrf_from(page),
                                                                           "reason": "短"})
    assert resp.status_code == 400 and "理由" in text(resp)
    resp = client.post(f"/listings/{announced.id}/suspension/apply",
                       data={"csrf_token": csrf_from(page), "reason": "权属争议已经调解解决，申请重启"},
                       follow_redirects=True)
    assert "重启申请已提交" in text(resp)
    assert client.post(f"/listings/{announced.id}/suspension/decide",
                       data={"csrf_token": csrf_from(page), "approve": "yes", "decision": "同意"}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    login(client, "t_buyer_org", PASSWORD)  # not a party to this listing
    assert client.get(f"/listings/{announced.id}/suspension").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/listings/{announced.id}/suspension"))
    assert "认定重启申请" in page and "权属争议已经调解解决" in page
    resp = client.post(f"/listings/{announced.id}/suspension/decide",
                       data={"csrf_token": csrf_from(page), "approve": "yes", "decision": "争议已解决，同意重启"},
                       follow_redirects=True)
    assert "已重启交易" in text(resp) and "以往的中止" in text(resp)
    db.session.expire_all()
    assert db.session.get(Listing, announced.id).state == "announced"


@pytest.mark.article("第二十三条")
def test_api(client, users, announced, db):
    reviewer, trader, buyer = (token_headers(db, users, "center_reviewer"), token_headers(db, users, "trading_officer"),
                               token_headers(db, users, "buyer"))
    url = f"/api/v1/listings/{announced.id}"
    def form():
        return {"ground": "authority", "basis": BASIS, "document": (io.BytesIO(PDF), "通知.pdf")}
    assert client.post(f"{url}/suspend", headers=trader, data=form(),
                       content_type="multipart/form-data").status_code == 403
    bad = client.post(f"{url}/suspend", headers=reviewer, data={"ground": "whim", "basis": BASIS,
                                                               "document": (io.BytesIO(PDF), "通知.pdf")},
                      content_type="multipart/form-data")
    assert bad.status_code in (400, 422)
    ok = client.post(f"{url}/suspend", headers=reviewer, data=form(), content_type="multipart/form-data")
    assert ok.status_code == 201, ok.get_json()
    body = ok.get_json()
    assert body["state"] == "active" and body["from_state"] == "announced"
    assert {c["field"] for c in body["clocks"]} >= {"announce_end_at", "deposit_deadline_at"}
    assert client.get(f"{url}/suspensions", headers=buyer).status_code == 403  # not a party yet
    assert client.post(f"{url}/restart-decision", headers=reviewer,
                       json={"approve": True, "decision": "同意"}).status_code == 400  # no application
    resp = client.post(f"{url}/restart-application", headers=reviewer, json={"reason": "主管部门来函同意恢复交易"})
    assert resp.status_code == 200 and resp.get_json()["state"] == "restart_requested"
    assert client.post(f"{url}/restart-decision", headers=trader,
                       json={"approve": True, "decision": "同意"}).status_code == 403
    resp = client.post(f"{url}/restart-decision", headers=reviewer, json={"approve": True, "decision": "同意重启"})
    assert resp.status_code == 200 and resp.get_json()["state"] == "restarted"
    assert all(c["restored"] for c in resp.get_json()["clocks"])
    listed = client.get(f"{url}/suspensions", headers=reviewer).get_json()
    assert len(listed) == 1 and listed[0]["restart_decision"] == "同意重启"
