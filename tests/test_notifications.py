"""Notifications (站内通知 + e-mail + SMS): each mapped event reaches the right people and nobody else, outbid is
not notified, reminders go out once at the right time (weekends, the National Day holiday), a rolled-back
operation leaves nothing, deliveries go out after commit through the configured backends (retried, then
failed), and every person sees their own centre — over the pages and the API — and nobody else's."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.accounts.models import User
from exchange.deadlines.sweeper import HANDLERS, sweep
from exchange.incidents.models import Suspension
from exchange.extensions import db as _db
from exchange.ledger import refunds as rfd
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.listings.workflow import fire
from exchange.notifications import channels
from exchange.notifications import reminders, rules, texts
from exchange.notifications import services as nsvc
from exchange.notifications.models import Delivery, Notification
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from exchange.settlement import services as stl
from exchange.trading import services as tsvc
from exchange.trading.models import Deal
from tests.builders import (ALL_OK, PDF, applied, attach, category, end_publicity, full_path, household_fields, key, live,
                            new_household_listing, pay)
from tests.factories import PASSWORD
from tests.helpers import api_csrf, api_login, csrf_from, get_csrf, login, text

pytestmark = pytest.mark.usefixtures("signing_key", "uploads")


@pytest.fixture(autouse=True)
def _outboxes(app):
    """Fresh memory backends (the TestConfig default) for every test."""
    app.extensions.pop("notification_backends", None)
    yield
    app.extensions.pop("notification_backends", None)


def notes(user, kind=None) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(_db.session.scalars(stmt.order_by(Notification.id)))


def who_got(kind) -> set[int]:
    return set(_db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def total() -> int:
    return _db.session.scalar(select(func.count(Notification.id)))


def local(y, m, d, h=0, mi=0):
    return clock.local_datetime(date(y, m, d), h, mi)


# --- events: 挂牌 ----------------------------------------------------------------------------------------

def test_listing_returned_approved_published_reach_the_clerk_only(users, db, frozen):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    db.session.commit()
    assert total() == 0  # submitting tells nobody
    lsvc.station_decide(users["station_a"], listing, False, "四至填写不完整，请核实东至")
    db.session.commit()
    [n] = notes(users["point_a1"])
    assert n.kind == "listing.returned" and "退回" in n.title and "四至填写不完整" in n.body
    assert n.link == f"/listings/{listing.id}" and n.listing_id == listing.id and n.read_at is None
    assert who_got("listing.returned") == {users["point_a1"].id}

    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "return", note="请补充作价依据")
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    kinds = [n.kind for n in notes(users["point_a1"])]
    assert kinds == ["listing.returned", "listing.approved", "listing.returned", "listing.approved",
                     "listing.published"]
    published = notes(users["point_a1"], "listing.published")[0]
    assert listing.project_no in published.body and "公告期至" in published.body
    assert "请补充作价依据" in notes(users["point_a1"], "listing.returned")[1].body
    assert _db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id != users["point_a1"].id)) == 0  # nobody else


def test_a_direct_application_tells_the_transferors_own_account(users, db, frozen, orgs):
    seller = users["buyer"]
    listing = lsvc.create_draft(seller, category=category("C01"), point=orgs.point_b1, **household_fields(
        transferor_name=seller.party.name, transferor_id_no=seller.party.id_number,
        account_name=seller.party.name))  # 第二十一条: the proceeds to the household's own account
    attach(listing, seller)
    lsvc.submit(seller, listing)
    lsvc.center_decide(users["center_reviewer"], listing, "reject", note="权属证明与申请人不一致")
    db.session.commit()
    [n] = notes(seller)
    assert n.kind == "listing.rejected" and "权属证明与申请人不一致" in n.body
    assert total() == 1


# --- events: 意向受让登记 -------------------------------------------------------------------------------

def test_qualification_deposit_and_rejection_reach_that_buyer_only(users, announced, db):
    base = total()  # the clerk was told the listing was approved and published
    reg = applied(users, announced)
    other = applied(users, announced, key="buyer_org")
    db.session.commit()
    assert total() == base  # applying tells nobody
    rsvc.qualify(users["center_reviewer"], reg, "材料齐全")
    db.session.commit()
    [n] = notes(users["buyer"])
    assert n.kind == "registration.qualified" and reg.payment_ref in n.body and "16,000.00" in n.body
    assert "2026-11-30 16:00" in n.body and n.link == f"/registrations/{reg.id}"
    assert who_got("registration.qualified") == {users["buyer"].id}
    rsvc.reject(users["center_reviewer"], other, "资信证明不符合受让条件")
    db.session.commit()
    [r] = notes(users["buyer_org"])
    assert r.kind == "registration.rejected" and "资信证明不符合受让条件" in r.body
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="回单-1", receipt=PDF, receipt_filename="回单.pdf")
    db.session.commit()
    [d] = notes(users["buyer"], "deposit.received")
    assert reg.bidder_no in d.body and "16,000.00" in d.body
    assert total() == base + 3
    for staff in ("center_reviewer", "finance", "station_a", "supervisor"):
        assert notes(users[staff]) == []
    assert {n.kind for n in notes(users["point_a1"])} == {"listing.approved", "listing.published"}


def test_a_rolled_back_operation_leaves_no_notification_and_sends_nothing(app, users, announced, db):
    reg = applied(users, announced)
    db.session.commit()
    base = total()
    rsvc.qualify(users["center_reviewer"], reg)
    _db.session.flush()
    assert total() == base + 1 and _db.session.scalar(select(func.count(Delivery.id))) == 1  # in the transaction
    db.session.rollback()
    assert total() == base and _db.session.scalar(select(func.count(Delivery.id))) == 0
    sweep()
    assert channels.sms_backend().outbox == [] and channels.email_backend().outbox == []


# --- events: 组织交易, outbid, 成交 --------------------------------------------------------------------

def test_outbid_is_not_notified_and_the_deal_reaches_winner_and_losers(buyers, trading, db):
    listing, regs = trading
    s = live(buyers, listing)
    before = total()
    tsvc.place_bid(buyers["buyer_org"], s.id, "160000", key=key())
    clock.advance(seconds=7)
    tsvc.place_bid(buyers["buyer_coop"], s.id, "160000", key=key())
    clock.advance(seconds=13)
    tsvc.place_bid(buyers["buyer"], s.id, "160500", key=key())
    tsvc.place_bid(buyers["buyer_org"], s.id, "161000", key=key())
    tsvc.place_bid(buyers["buyer"], s.id, "161500", key=key())
    db.session.commit()
    assert total() == before  # nobody is told they were outbid
    clock.freeze(s.ends_at)
    sweep()
    deal = db.session.scalar(select(Deal))
    assert deal.buyer_id == buyers["buyer"].id
    [won] = notes(buyers["buyer"], "deal.concluded")
    assert won.title.startswith("恭喜您成交") and "161,500.00" in won.body and "交易公示" in won.body
    for k in ("buyer_org", "buyer_coop"):
        [lost] = notes(buyers[k], "deal.concluded")
        assert "您未成交" in lost.title and "5 个工作日内无息退还" in lost.body
        assert lost.link == f"/registrations/{regs[k].id}"
    assert who_got("deal.concluded") == {buyers[k].id for k in ("buyer", "buyer_org", "buyer_coop")}


def test_bidding_starts_reminder_30_minutes_before_once_to_each_paid_bidder(buyers, trading, db):
    listing, regs = trading
    start = clock.now() + timedelta(hours=3)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=10,
                             countdown_seconds=300, max_extension_minutes=30)
    db.session.commit()
    assert sweep().counts["notify.bidding_starts"] == 0
    clock.freeze(start - timedelta(minutes=30, seconds=1))
    assert sweep().counts["notify.bidding_starts"] == 0
    clock.freeze(start - timedelta(minutes=30))
    result = sweep()
    assert result.counts["notify.bidding_starts"] == 1
    assert who_got("bidding.starts") == {buyers[k].id for k in ("buyer", "buyer_org", "buyer_coop")}
    n = notes(buyers["buyer_org"], "bidding.starts")[0]
    assert regs["buyer_org"].bidder_no in n.body and n.link == f"/trading/sessions/{s.id}"
    clock.advance(minutes=10)
    assert sweep().counts["notify.bidding_starts"] == 0
    clock.freeze(start)
    assert sweep().counts["notify.bidding_starts"] == 0
    assert len(notes(buyers["buyer"], "bidding.starts")) == 1


# --- reminders: 保证金, 1 工作日 before -----------------------------------------------------------------

def test_remind_from_counts_working_days(db):
    # a deposit due Monday 16:00 is reminded on Friday 08:00
    assert reminders.remind_from(local(2026, 11, 30, 16)) == local(2026, 11, 27, 8)
    # due Thursday 8 October 16:00, after the National Day holiday: Wednesday 30 September 08:00
    assert reminders.remind_from(local(2026, 10, 8, 16)) == local(2026, 9, 30, 8)
    # a stored midnight deadline (签约 by 12 October 24:00): the day before its last day is Saturday 10 October,
    # a make-up working day (调休上班)
    assert reminders.remind_from(local(2026, 10, 13)) == local(2026, 10, 10, 8)
    # an ordinary Wednesday 24:00 deadline: Tuesday 08:00
    assert reminders.remind_from(local(2026, 11, 26)) == local(2026, 11, 24, 8)


def test_deposit_reminder_once_on_the_working_day_before_across_a_weekend(users, announced, db):
    reg = applied(users, announced)
    paid = applied(users, announced, key="buyer_org")
    rsvc.qualify(users["center_reviewer"], reg)
    rsvc.qualify(users["center_reviewer"], paid)
    deposits.confirm_deposit(users["finance"], paid, "16000", source_key="回单-9", receipt=PDF, receipt_filename="回单.pdf")
    db.session.commit()
    assert reg.deposit_deadline_at == local(2026, 11, 30, 16)  # Monday
    for at in (local(2026, 11, 26, 23, 59), local(2026, 11, 27, 7, 59)):
        clock.freeze(at)
        assert sweep().counts["notify.deposit_due"] == 0
    clock.freeze(local(2026, 11, 27, 8))  # Friday 08:00
    assert sweep().counts["notify.deposit_due"] == 1
    [n] = notes(users["buyer"], "deposit.due")
    assert "2026-11-30 16:00" in n.body and reg.payment_ref in n.body
    for at in (local(2026, 11, 27, 9), local(2026, 11, 28, 10), local(2026, 11, 30, 15, 59)):
        clock.freeze(at)
        assert sweep().counts["notify.deposit_due"] == 0
    assert len(notes(users["buyer"], "deposit.due")) == 1
    assert notes(users["buyer_org"], "deposit.due") == []  # paid: nothing to remind


def test_deposit_reminder_across_the_national_day_holiday(users, db):
    clock.freeze(local(2026, 9, 28, 9))  # Monday before the holiday
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    reg = applied(users, listing)
    rsvc.qualify(users["center_reviewer"], reg)
    reg.deposit_deadline_at = local(2026, 10, 8, 16)  # the first working day after the holiday
    db.session.commit()
    clock.freeze(local(2026, 9, 29, 20))
    assert sweep().counts["notify.deposit_due"] == 0
    clock.freeze(local(2026, 9, 30, 7, 59))
    assert sweep().counts["notify.deposit_due"] == 0
    clock.freeze(local(2026, 9, 30, 8))
    assert sweep().counts["notify.deposit_due"] == 1
    clock.freeze(local(2026, 10, 5, 12))
    assert sweep().counts["notify.deposit_due"] == 0
    assert len(notes(users["buyer"], "deposit.due")) == 1


def test_suspension_stops_reminders_and_tells_the_parties_restart_resumes(users, announced, db):
    reg = applied(users, announced)
    waiting = applied(users, announced, key="buyer_org")
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    fire(announced, "suspend", users["center_reviewer"], reason="产权存在权属争议")
    db.session.add(Suspension(listing_id=announced.id, state="active", ground="title_dispute", basis="权属争议",
                              from_state="announced", frozen="[]", suspended_by_id=users["center_reviewer"].id))
    db.session.commit()
    expected = {users["point_a1"].id, users["buyer"].id, users["buyer_org"].id}
    assert who_got("listing.suspended") == expected
    n = notes(users["buyer_org"], "listing.suspended")[0]
    assert "产权存在权属争议" in n.body and n.link == f"/registrations/{waiting.id}"
    clock.freeze(local(2026, 11, 27, 9))
    assert sweep().counts["notify.deposit_due"] == 0  # 中止: the clock is frozen, no reminder
    fire(_db.session.get(Listing, announced.id), "restart", users["center_reviewer"], reason="争议已解决")
    db.session.commit()
    assert who_got("listing.restarted") == expected
    assert sweep().counts["notify.deposit_due"] == 1


def test_termination_tells_parties_and_live_buyers_and_the_refund_made_its_buyer(users, announced, db):
    from exchange.incidents import termination as xsvc
    regs = pay(users, announced, ["buyer"])
    rejected = applied(users, announced, key="buyer_org")
    rsvc.reject(users["center_reviewer"], rejected, "不符合受让条件")
    db.session.commit()
    xsvc.terminate(users["center_reviewer"], announced, ground="court", basis="临湘市人民法院（2026）湘0682民初1号通知",
                   document=PDF, document_filename="通知书.pdf")
    db.session.commit()
    assert who_got("listing.terminated") == {users["point_a1"].id, users["buyer"].id}  # not the rejected buyer
    n = notes(users["buyer"], "listing.terminated")[0]
    assert "法院" in n.body and "退还" in n.body
    refund = _db.session.scalar(select(rfd.Refund).where(rfd.Refund.registration_id == regs["buyer"].id))
    rfd.record_transfer(users["finance"], refund, "TK-0001")
    db.session.commit()
    assert notes(users["buyer"], "refund.made") == []  # recorded, not yet made
    rfd.approve(users["finance2"], refund)
    db.session.commit()
    [made] = notes(users["buyer"], "refund.made")
    assert "16,000.00" in made.body and "TK-0001" in made.body
    assert who_got("refund.made") == {users["buyer"].id}


# --- contract, settlement, certificate: due and done ------------------------------------------------------

def test_contract_due_notice_reminder_and_done(buyers, trading, db):
    from exchange.contracts import services as csvc
    listing, regs = trading
    # concluded Tuesday 2026-12-01 00:01; 交易公示 12-2, 12-3, 12-4 (over 12-4 24:00)
    deal = tsvc.record_offline(buyers["trading_officer"], listing, method="tender", registration_id=regs["buyer"].id,
                               price="170000", held_on=clock.today_local().isoformat(), document=PDF,
                               document_filename="中标通知书.pdf")
    db.session.commit()
    assert deal.contract_due_at is None and who_got("contract.due") == set()  # nothing to sign during the publicity
    contract = end_publicity(deal)
    # 第十六条: 5 工作日 from the end of the publicity — 12-7, 12-8, 12-9, 12-10, 12-11
    assert contract.due_at == local(2026, 12, 12) and _db.session.get(Deal, deal.id).contract_due_at == contract.due_at
    parties = {buyers["buyer"].id, buyers["point_a1"].id}  # the buyer; the clerk confirms for the household
    assert who_got("contract.due") == parties
    n = notes(buyers["buyer"], "contract.due")[0]
    assert n.link == f"/contracts/{contract.id}" and n.title == f"请签订合同：{listing.title}"
    assert n.body == (f"项目 {listing.project_no}「{listing.title}」交易公示期满，合同草稿已生成。请于 2026-12-11 24:00 前"
                      "签署合同（在线确认并在纸质合同上签字盖章，第十六条），逾期未签署的一方按违约处理。")
    remind = reminders.remind_from(contract.due_at)
    clock.freeze(remind - timedelta(minutes=1))
    assert sweep().counts["notify.contract_due"] == 0
    clock.freeze(remind)
    assert sweep().counts["notify.contract_due"] == 1
    assert sweep().counts["notify.contract_due"] == 0
    assert all(len(notes(_db.session.get(User, uid), "contract.due")) == 2 for uid in parties)
    assert who_got("contract.done") == set()
    contract = _db.session.get(type(contract), contract.id)
    csvc.confirm(buyers["buyer"], contract, PASSWORD)
    db.session.commit()
    assert contract.state == "draft" and who_got("contract.done") == set()  # one signature: not in force yet
    clock.advance(minutes=30)
    # the second signature — the clerk recording the household's paper signature — puts it in force
    csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "转让方签字页.pdf")
    db.session.commit()
    signed_at = clock.now()
    assert contract.effective_at == signed_at and contract.contract_no.startswith("临农交合〔2026〕第")
    assert who_got("contract.done") == parties
    assert [d.body for d in notes(buyers["buyer"], "contract.done")] == [
        f"项目 {listing.project_no}「{listing.title}」的合同 {contract.contract_no} 经双方签署已生效，进入交易资金结算，"
        "请于 10 日内交清价款（第十七条）。"]
    # the center's check of the signed scan (鉴证), a day later, changes nothing of that: nobody is told again
    clock.advance(days=1)
    csvc.upload_scan(buyers["buyer"], contract, PDF, "双方签章合同.pdf")
    csvc.check(buyers["center_reviewer"], contract, approve=True)
    db.session.commit()
    assert contract.state == "checked" and contract.effective_at == signed_at
    assert all(len(notes(_db.session.get(User, uid), "contract.done")) == 1 for uid in parties)
    assert sweep().counts["notify.contract_due"] == 0  # signed: nothing more to remind


def test_settlement_due_and_done_certificate_reminder_and_issue(users, effective, db):
    from exchange.certificates import services as csvc
    from exchange.contracts import services as ctsvc
    deal = effective
    s = stl.ensure_settlement(deal)
    db.session.commit()
    [due] = notes(users["buyer_org"], "settlement.due")
    assert s.payment_ref in due.body and "144,000.00" in due.body and due.link == f"/settlements/{s.id}"
    assert who_got("settlement.due") == {users["buyer_org"].id}
    remind = reminders.remind_from(s.due_at)
    clock.freeze(remind - timedelta(seconds=1))
    assert sweep().counts["notify.settlement_due"] == 0
    clock.freeze(remind)
    assert sweep().counts["notify.settlement_due"] == 1
    assert sweep().counts["notify.settlement_due"] == 0
    stl.confirm_receipt(users["finance"], s, "144000", source_key="R-1", receipt=PDF, receipt_filename="r.pdf")
    db.session.commit()
    full_path(users, s, db)
    assert who_got("settlement.done") == {users["buyer_org"].id, users["point_a1"].id}
    done = notes(users["buyer_org"], "settlement.done")[0]
    assert texts.when(s.certificate_due_at) in done.body
    # 鉴证 is the center's: its reviewers are reminded, once
    remind = reminders.remind_from(s.certificate_due_at)
    clock.freeze(max(remind, clock.now()))
    assert sweep().counts["notify.certificate_due"] == 1
    assert sweep().counts["notify.certificate_due"] == 0
    assert who_got("certificate.due") == {users["center_reviewer"].id}
    # 鉴证 checks the signed scan of the contract (in force since both signed, its scan not yet uploaded)
    with pytest.raises(csvc.CertificateError) as refused:
        csvc.issue(users["center_reviewer"], _db.session.get(Deal, deal.id))
    assert refused.value.problems == ["签字盖章的合同扫描件尚未核验：请先在合同页上传并核验。"]
    db.session.rollback()
    contract = ctsvc.contract_for_deal(_db.session.get(Deal, deal.id))
    ctsvc.upload_scan(users["buyer_org"], contract, PDF, "签章合同.pdf")
    ctsvc.check(users["center_reviewer"], contract, approve=True)
    db.session.commit()
    cert = csvc.issue(users["center_reviewer"], _db.session.get(Deal, deal.id))
    db.session.commit()
    assert who_got("certificate.issued") == {users["buyer_org"].id, users["point_a1"].id}
    issued = notes(users["buyer_org"], "certificate.issued")[0]
    assert cert.cert_no in issued.body and issued.link.startswith("/verify/")


def test_default_tells_the_defaulter_and_the_offer_reaches_the_runner_up(buyers, overdue_contract, db):
    from exchange.incidents import breach as dsvc
    deal, regs = overdue_contract
    case = dsvc.declare_default(buyers["center_reviewer"], _db.session.get(Listing, deal.listing_id),
                                reason="逾期未签订合同，经催告仍未签订")
    db.session.commit()
    assert who_got("deal.defaulted") == {buyers["buyer"].id, buyers["point_a1"].id}
    assert "逾期未签订合同" in notes(buyers["buyer"], "deal.defaulted")[0].body
    offer = dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id)
    db.session.commit()
    [n] = notes(buyers["buyer_coop"], "default.offer")
    assert "160,000.00" in n.body and texts.when(offer.due_at) in n.body and n.link == f"/offers/{offer.id}"
    assert who_got("default.offer") == {buyers["buyer_coop"].id}


# --- delivery -------------------------------------------------------------------------------------------

class FailingSms(channels.SmsBackend):
    calls = 0

    def send(self, mobile, text):
        FailingSms.calls += 1
        raise ConnectionError("短信网关无响应")


def test_delivery_after_commit_with_masked_addresses(app, users, announced, db):
    users["buyer"].email = "zhangsan@example.com"
    db.session.commit()
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    [n] = notes(users["buyer"])
    assert sorted((d.channel, d.address, d.status) for d in n.deliveries) == [
        ("email", "z***@example.com", "pending"), ("sms", "139****0001", "pending")]
    assert channels.sms_backend().outbox == []  # nothing is sent before the sweeper
    assert sweep().counts["notify.deliver"] == 2
    [sms] = channels.sms_backend().outbox
    assert sms["to"] == "13900000001" and n.title in sms["text"]
    [mail] = channels.email_backend().outbox
    assert mail["to"] == "zhangsan@example.com" and n.title in mail["subject"]
    assert f"/registrations/{reg.id}" in mail["body"]
    _db.session.expire_all()
    assert {d.status for d in notes(users["buyer"])[0].deliveries} == {"sent"}
    assert all(d.sent_at == clock.now() and d.attempts == 1 for d in notes(users["buyer"])[0].deliveries)
    assert sweep().counts["notify.deliver"] == 0  # sent once
    assert len(channels.sms_backend().outbox) == 1
    # staff without an address: in-app only
    lsvc_listing = new_household_listing(users)
    attach(lsvc_listing, users["point_a1"])
    lsvc.submit(users["point_a1"], lsvc_listing)
    lsvc.station_decide(users["station_a"], lsvc_listing, False, "请补正")
    db.session.commit()
    assert notes(users["point_a1"])[0].deliveries == []


def test_a_failing_backend_is_retried_then_marked_failed(app, users, announced, db, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "tests.test_notifications:FailingSms")
    users["buyer"].email = "buyer@example.com"
    db.session.commit()
    FailingSms.calls = 0
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    for attempt in (1, 2):
        sweep()
        _db.session.expire_all()
        sms = _db.session.scalar(select(Delivery).where(Delivery.channel == "sms"))
        assert sms.status == "pending" and sms.attempts == attempt and "短信网关无响应" in sms.error
    sweep()
    _db.session.expire_all()
    sms = _db.session.scalar(select(Delivery).where(Delivery.channel == "sms"))
    assert sms.status == "failed" and sms.attempts == 3 and "ConnectionError" in sms.error
    mail = _db.session.scalar(select(Delivery).where(Delivery.channel == "email"))
    assert mail.status == "sent" and mail.attempts == 1  # the other channel is unaffected
    sweep()
    assert FailingSms.calls == 3  # never again after failing


def test_backend_configuration(app, monkeypatch):
    with app.app_context():
        monkeypatch.setitem(app.config, "MAIL_BACKEND", "nonsense")
        app.extensions.pop("notification_backends", None)
        with pytest.raises(channels.ChannelError):
            channels.email_backend()
        monkeypatch.setitem(app.config, "SMS_BACKEND", "tests.test_notifications:Nope")
        with pytest.raises(channels.ChannelError):
            channels.sms_backend()
        monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")
        monkeypatch.setitem(app.config, "SMS_BACKEND", "log")
        app.extensions.pop("notification_backends", None)
        assert isinstance(channels.email_backend(), channels.ConsoleEmailBackend)
        assert isinstance(channels.sms_backend(), channels.LogSmsBackend)
        channels.email_backend().send("a@example.com", "主题", "正文")
        channels.sms_backend().send("13900000001", "短信")


def test_smtp_backend_builds_a_utf8_message(monkeypatch):
    sent = {}

    class FakeSMTP:
        def __init__(self, host, port, timeout=None):
            sent["server"] = (host, port)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self, context=None):
            sent["tls"] = True

        def login(self, user, password):
            sent["login"] = (user, password)

        def send_message(self, msg):
            sent["msg"] = msg

    monkeypatch.setattr(channels.smtplib, "SMTP", FakeSMTP)
    backend = channels.SmtpEmailBackend({"MAIL_SERVER": "smtp.linxiang.example", "MAIL_PORT": 587,
                                         "MAIL_USE_TLS": True, "MAIL_USERNAME": "jy", "MAIL_PASSWORD": "pw",
                                         "MAIL_FROM": "noreply@linxiang.example"})
    backend.send("buyer@example.com", "【临湘农村产权交易】受让资格已确认", "请于期限前交纳保证金。")
    msg = sent["msg"]
    assert sent["server"] == ("smtp.linxiang.example", 587) and sent["tls"] and sent["login"] == ("jy", "pw")
    assert msg["To"] == "buyer@example.com" and "noreply@linxiang.example" in msg["From"]
    assert msg["Subject"] == "【临湘农村产权交易】受让资格已确认"
    assert "请于期限前交纳保证金" in msg.get_content()


def test_masks():
    assert nsvc.mask_email("zhangsan@example.com") == "z***@example.com"
    assert nsvc.mask_email("") == ""
    assert nsvc.masked("sms", "13812341234") == "138****1234"


def test_reminder_insert_is_once_per_person_even_when_raced(users, db):
    first = nsvc.notify(users["buyer"], "deposit.due", "提醒", dedupe_key="deposit.due:reg:1")
    assert first is not None
    assert nsvc.notify(users["buyer"], "deposit.due", "提醒", dedupe_key="deposit.due:reg:1") is None
    # the check passed in a racing process: the unique index refuses, the savepoint keeps the transaction
    real = nsvc.already_sent
    nsvc.already_sent = lambda uid, k: False
    try:
        assert nsvc.notify(users["buyer"], "deposit.due", "提醒", dedupe_key="deposit.due:reg:1") is None
    finally:
        nsvc.already_sent = real
    assert nsvc.notify(users["buyer_org"], "deposit.due", "提醒", dedupe_key="deposit.due:reg:1") is not None
    db.session.commit()
    assert total() == 2


def test_a_broken_rule_never_breaks_the_operation_but_fails_loudly_in_tests(app, users, announced, db,
                                                                           monkeypatch):
    def broken(entry):
        raise KeyError("programming error")

    monkeypatch.setitem(rules.RULES, "registration.qualify", rules.Rule("x", broken, ()))
    reg = applied(users, announced)
    db.session.commit()
    base = total()
    with pytest.raises(KeyError):
        rsvc.qualify(users["center_reviewer"], reg)
    db.session.rollback()
    monkeypatch.setitem(app.config, "TESTING", False)
    rsvc.qualify(users["center_reviewer"], reg)  # production: logged, the qualification stands
    db.session.commit()
    assert _db.session.get(type(reg), reg.id).state == "qualified" and total() == base


def test_the_sweeper_delivers_after_the_reminders_and_the_state_changing_clocks():
    names = list(HANDLERS)
    deliver = names.index("notify.deliver")
    assert deliver > max(names.index(n) for n in names if n.startswith("notify.") and n != "notify.deliver")
    assert deliver > names.index("trading.close_sessions")  # a deal concluded by this pass is sent by it too


# --- pages ----------------------------------------------------------------------------------------------

def _two_notices(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    deposits.confirm_deposit(users["finance"], reg, "16000", source_key="回单-2", receipt=PDF, receipt_filename="回单.pdf")
    db.session.commit()
    return notes(users["buyer"])


def test_the_page_lists_own_notifications_with_deliveries_and_marks_read(client, users, announced, db):
    qualified, deposit = _two_notices(users, announced, db)
    mine = nsvc.notify(users["buyer_org"], "test", "别人的通知")
    db.session.commit()
    sweep()
    login(client, "t_buyer", PASSWORD)
    page = text(client.get("/notifications/"))
    assert qualified.title in page and deposit.title in page and "别人的通知" not in page
    assert "139****0001" in page and "13900000001" not in page and "已发送" in page
    assert page.index(deposit.title) < page.index(qualified.title)  # newest first
    assert "未读" in page and "data-unread-count>2<" in page  # the bell
    token = csrf_from(page)
    assert client.post(f"/notifications/{qualified.id}/read").status_code == 400  # no CSRF token
    assert client.post(f"/notifications/{mine.id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post("/notifications/999999/read", data={"csrf_token": token}).status_code == 404
    assert _db.session.get(Notification, mine.id).read_at is None
    resp = client.post(f"/notifications/{qualified.id}/read", data={"csrf_token": token, "go": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(qualified.link)
    assert _db.session.get(Notification, qualified.id).read_at is not None
    unread = text(client.get("/notifications/?show=unread"))
    assert deposit.title in unread and qualified.title not in unread
    resp = client.post("/notifications/read-all", data={"csrf_token": get_csrf(client, "/notifications/")},
                       follow_redirects=True)
    assert "已将 1 条通知标为已读" in text(resp)
    assert nsvc.unread_count(_db.session.get(User, users["buyer"].id)) == 0
    assert _db.session.get(Notification, mine.id).read_at is None  # someone else's untouched
    assert "data-unread-count" not in text(client.get("/notifications/"))
    assert client.get("/notifications/?page=abc").status_code == 200


def test_every_role_has_its_own_centre(app, users, db):
    for key_, user in users.items():
        nsvc.notify(user, "test", f"给{key_}的通知")
    db.session.commit()
    for key_, user in users.items():
        client = app.test_client()
        login(client, user.username, PASSWORD)
        resp = client.get("/notifications/")
        assert resp.status_code == 200, key_
        body = text(resp)
        assert f"给{key_}的通知" in body
        assert all(f"给{other}的通知" not in body for other in users if other != key_)
    anonymous = app.test_client().get("/notifications/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


# --- API ------------------------------------------------------------------------------------------------

def test_api_lists_own_and_marks_read(app, users, announced, db):
    qualified, deposit = _two_notices(users, announced, db)
    other = nsvc.notify(users["supervisor"], "test", "监管人员的通知")
    db.session.commit()
    client = app.test_client()
    assert client.get("/api/v1/notifications").status_code == 401
    api_login(client, "t_buyer", PASSWORD)
    body = client.get("/api/v1/notifications").get_json()
    assert body["total"] == 2 and body["unread"] == 2
    assert [i["id"] for i in body["items"]] == [deposit.id, qualified.id]
    assert body["items"][0]["deliveries"][0]["address"] == "139****0001"
    assert body["items"][0]["deliveries"][0]["status"] == "pending"
    assert client.get("/api/v1/notifications?page=abc").status_code == 422
    assert client.get("/api/v1/notifications?per_page=1000").status_code == 422
    assert client.post(f"/api/v1/notifications/{qualified.id}/read").status_code == 400  # CSRF
    token = api_csrf(client)
    resp = client.post(f"/api/v1/notifications/{qualified.id}/read", headers={"X-CSRFToken": token})
    assert resp.status_code == 200 and resp.get_json()["read_at"]
    assert client.post(f"/api/v1/notifications/{other.id}/read", headers={"X-CSRFToken": token}).status_code == 404
    assert client.post("/api/v1/notifications/0/read", headers={"X-CSRFToken": token}).status_code == 404
    unread = client.get("/api/v1/notifications?unread=true").get_json()
    assert [i["id"] for i in unread["items"]] == [deposit.id] and unread["unread"] == 1
    assert _db.session.get(Notification, other.id).read_at is None
    sup = app.test_client()
    api_login(sup, "t_supervisor", PASSWORD)
    assert [i["title"] for i in sup.get("/api/v1/notifications").get_json()["items"]] == ["监管人员的通知"]
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert "/api/v1/notifications" in spec["paths"] and "/api/v1/notifications/{notification_id}/read" in spec["paths"]


def test_links_and_deadline_texts(db):
    assert nsvc.safe_link("/registrations/1") == "/registrations/1"
    for bad in ("//evil.example/x", "https://evil.example", "", None, "/\\evil"):
        assert nsvc.safe_link(bad) is None
    assert texts.when(None) == "—"
    assert texts.when(local(2026, 12, 9)) == "2026-12-08 24:00"
    assert texts.when(local(2026, 11, 30, 16)) == "2026-11-30 16:00"


def test_an_unpaid_buyer_is_told_of_the_abandonment(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    clock.freeze(announced.deposit_deadline_at + timedelta(minutes=1))
    sweep()
    [n] = notes(users["buyer"], "deposit.abandoned")
    assert "视为放弃" in n.body and "2026-11-30 16:00" in n.body and n.link == f"/registrations/{reg.id}"
    assert who_got("deposit.abandoned") == {users["buyer"].id}


def test_the_log_sms_backend_masks_the_number(caplog):
    import logging
    with caplog.at_level(logging.INFO, logger="exchange.notifications.channels"):
        channels.LogSmsBackend({}).send("13912345678", "测试短信")
    assert "139****5678" in caplog.text and "13912345678" not in caplog.text
