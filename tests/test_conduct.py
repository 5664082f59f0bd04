"""禁止行为认定 (第二十五条): the center's reviewer finds a prohibited act against a participant of a published listing —
on one of the article's three items, with the facts and the evidence (sniffed), optionally prompted by a supervision
warning — and its consequences as decided: the registration in the listing voided (取消资格, only before a deal; a
deposit held goes back through the normal refund; the bids stop counting) and a ban from registering for new
listings until a stated day.  The supervisor reads every finding; the participant sees the one against them.
Service and pages, for those who may and those who may not."""
from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.audit.models import AuditEntry
from exchange.incidents import conduct as csvc
from exchange.incidents.models import ConductFinding
from exchange.ledger import services as led
from exchange.ledger.models import Refund
from exchange.listings.models import Listing
from exchange.registrations import services as rsvc
from exchange.registrations.models import Registration, RegistrationBan
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession, Deal
from tests import builders as b
from tests.builders import EXE, PDF
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")

FACTS = "2026年11月25日，该竞买人在交易现场大声喧哗并阻挠其他竞买人报价，经劝阻不听，有现场录像和两名工作人员的记录为证。"


def finding(users, listing, reg=None, **kw):
    args = dict(participant=f"registration:{reg.id}" if reg is not None else "transferor", ground="order",
                facts=FACTS, evidence=PDF, evidence_filename="现场记录.pdf")
    args.update(kw)
    return csvc.decide(users["center_reviewer"], listing, **args)


def audits(db, action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def count(db, model):
    return db.session.scalar(select(func.count(model.id)))


# --- the finding itself ---------------------------------------------------------------------------------

@pytest.mark.article("第二十五条")
def test_a_paid_bidder_is_disqualified_and_the_deposit_goes_back_through_the_refund(users, trading, db):
    listing, regs = trading
    reg = regs["buyer_org"]
    account = led.deposit_account(listing, reg.buyer)
    assert led.held(account) == Decimal("16000.00")
    f = finding(users, listing, reg, void=True)
    db.session.commit()
    reg = db.session.get(Registration, reg.id)
    assert reg.state == "disqualified" and reg.state_label.startswith("取消资格") and reg.is_out
    assert f.void_outcome == "voided" and f.voided and f.side == "buyer" and f.user_id == reg.buyer_id
    assert f.ground_item == "第二十五条（一）操纵交易现场或者扰乱交易秩序"
    # the deposit is put up for refund, as any refund (5 工作日, four eyes): nothing is forfeited
    refund = db.session.get(Refund, f.refund_id)
    assert refund.reason == "disqualified" and refund.amount == Decimal("16000.00") and refund.state == "pending"
    assert refund.registration_id == reg.id and led.held(account) == Decimal("16000.00")
    assert refund.due_at > clock.now()
    # the others stay in the race; the listing goes on
    assert {r.state for k, r in regs.items() if k != "buyer_org"} == {"paid"}
    assert db.session.get(Listing, listing.id).state == "trading"
    # audited: the finding (with the evidence's digest) and the registration's transition
    (entry,) = audits(db, "conduct.decide")
    after = json.loads(entry.after)
    assert after["ground"] == "order" and after["evidence_sha256"] == f.evidence_sha256 and after["refund"] == refund.id
    assert [a.object_id for a in audits(db, "registration.disqualify")] == [str(reg.id)]
    assert f.evidence_content_type == "application/pdf" and len(f.evidence_sha256) == 64
    # the buyer is told, and sent to its registration page
    from exchange.notifications.models import Notification
    (n,) = db.session.scalars(select(Notification).where(Notification.kind == "registration.disqualified")).all()
    assert n.user_id == reg.buyer_id and "第二十五条" in n.body and n.link == f"/registrations/{reg.id}"


@pytest.mark.article("第二十五条")
def test_the_ground_is_one_of_the_three_items(users, trading, db):
    listing, regs = trading
    for bad in ("other", "", None, "（四）", "ORDER"):
        with pytest.raises(csvc.ConductError) as exc:
            finding(users, listing, regs["buyer"], ground=bad)
        assert exc.value.field == "ground"
    db.session.rollback()
    assert count(db, ConductFinding) == 0
    made = [finding(users, listing, regs[k], ground=g) for k, g in
            (("buyer", "order"), ("buyer_org", "fairness"), ("buyer_coop", "law"))]
    assert [m.ground_item for m in made] == ["第二十五条（一）操纵交易现场或者扰乱交易秩序",
                                             "第二十五条（二）有损于转让方、受让方进行公平交易",
                                             "第二十五条（三）有关法律、法规、规章禁止的其他行为"]
    # the same participant on the same ground once only; another ground is another finding
    with pytest.raises(csvc.ConductError) as exc:
        finding(users, listing, regs["buyer"], ground="order")
    assert "不能重复认定" in exc.value.message
    assert finding(users, listing, regs["buyer"], ground="fairness").id


@pytest.mark.article("第二十五条")
def test_the_facts_and_the_evidence_are_required_and_the_evidence_is_sniffed(users, trading, db):
    listing, regs = trading
    reg = regs["buyer"]
    for kw, field in [({"facts": ""}, "facts"), ({"facts": "扰乱秩序"}, "facts"), ({"facts": "事" * 4001}, "facts"),
                      ({"facts": None}, "facts"), ({"evidence": None}, "evidence"), ({"evidence": b""}, "evidence"),
                      ({"evidence": EXE, "evidence_filename": "录像.pdf"}, "evidence"),
                      ({"evidence": b"<html><script>alert(1)</script>", "evidence_filename": "x.png"}, "evidence"),
                      ({"participant": "registration:999999"}, "participant"), ({"participant": "somebody"},
                                                                                  "participant"),
                      ({"ban_days": "-1"}, "ban_days"), ({"ban_days": "3651"}, "ban_days"),
                      ({"ban_days": "三十"}, "ban_days")]:
        with pytest.raises(csvc.ConductError) as exc:
            finding(users, listing, reg, void=True, **kw)
        assert exc.value.field == field, kw
        db.session.rollback()
    assert count(db, ConductFinding) == 0 and db.session.get(Registration, reg.id).state == "paid"
    assert count(db, Refund) == 0


@pytest.mark.article("第二十五条")
def test_only_the_center_reviewer_decides(users, buyers, trading, db):
    listing, regs = trading
    for who in ("trading_officer", "finance", "supervisor", "admin", "station_a", "point_a1", "buyer", "buyer_3"):
        for consequences in ({"void": True, "ban_days": 30}, {}):  # a finding alone is the reviewer's too
            with pytest.raises(AccessDenied):
                csvc.decide(users[who], listing, participant=f"registration:{regs['buyer'].id}", ground="order",
                            facts=FACTS, evidence=PDF, **consequences)
            db.session.rollback()
    with pytest.raises(AccessDenied):  # nor through the registrations' own way in
        rsvc.ban_from_registering(users["trading_officer"], user=users["buyer"], name="x", days=3, reason="x")
    assert count(db, ConductFinding) == 0 and count(db, RegistrationBan) == 0
    assert db.session.get(Registration, regs["buyer"].id).state == "paid"


def test_only_a_published_listing(users, db, frozen):
    draft = b.new_household_listing(users)
    db.session.commit()
    with pytest.raises(csvc.ConductError) as exc:
        finding(users, draft)
    assert "还没有发布交易公告" in exc.value.message


# --- voiding: only before a deal ------------------------------------------------------------------------

@pytest.mark.article("第二十五条")
def test_an_unpaid_registration_is_voided_without_a_refund_and_its_deposit_cannot_arrive(users, qualified, db):
    reg = qualified
    f = finding(users, reg.listing, reg, ground="fairness", void=True)
    db.session.commit()
    assert f.void_outcome == "voided" and f.refund_id is None and reg.state == "disqualified"
    problem = rsvc.payable_problem(reg, reg.deposit_amount, clock.now())
    assert problem is not None and problem.code == "not_payable"
    assert rsvc.unpaid_due_ids(reg.deposit_deadline_at + timedelta(minutes=1)) == []  # no 视为放弃 later


@pytest.mark.article("第二十五条")
def test_after_the_deal_nothing_is_voided_and_the_buyer_of_the_deal_is_sent_to_default_or_termination(
        users, online_deal, db):
    deal, regs = online_deal
    listing = deal.listing
    assert listing.state == "publicity"
    winner = finding(users, listing, regs["buyer"], void=True)
    loser = finding(users, listing, regs["buyer_org"], ground="fairness", void=True)
    db.session.commit()
    assert winner.void_outcome == "deal_buyer" and "第二十二条" in winner.void_outcome_label
    assert "第二十四条" in winner.void_outcome_label
    assert loser.void_outcome == "after_deal"
    # the finding is recorded; no registration, deal or refund changed
    assert {db.session.get(Registration, r.id).state for r in regs.values()} == {"paid"}
    assert db.session.get(Deal, deal.id).state == "publicity" and listing.state == "publicity"
    assert winner.refund_id is None and loser.refund_id is None
    assert count(db, ConductFinding) == 2


def test_a_rejected_registration_is_not_voided_again_and_the_transferor_has_none(users, announced, db):
    reg = b.applied(users, announced)
    rsvc.reject(users["center_reviewer"], reg, "资信证明系伪造")
    f = finding(users, announced, reg, ground="law", void=True)
    t = finding(users, announced, None, ground="fairness", void=True)
    db.session.commit()
    assert f.void_outcome == "not_live" and reg.state == "rejected"
    assert t.void_outcome == "transferor" and t.side == "transferor" and t.registration_id is None
    assert t.subject_name == announced.transferor_name


@pytest.mark.article("第二十五条")
def test_a_disqualified_bidders_bids_stop_counting(users, trading, db):
    listing, regs = trading
    s = b.live(users, listing)
    tsvc.place_bid(users["buyer_org"], s.id, "160000", key=b.key())
    clock.advance(seconds=5)
    tsvc.place_bid(users["buyer"], s.id, "160500", key=b.key())
    db.session.commit()
    assert db.session.get(BiddingSession, s.id).leader_registration_id == regs["buyer"].id
    finding(users, listing, regs["buyer"], void=True)
    db.session.commit()
    s = db.session.get(BiddingSession, s.id)
    assert s.current_price == Decimal("160000.00") and s.leader_registration_id == regs["buyer_org"].id
    with pytest.raises(AccessDenied):  # no longer a bidder
        tsvc.place_bid(users["buyer"], s.id, "161000", key=b.key())
    clock.freeze(s.ends_at)
    tsvc.close_session(s.id)
    db.session.commit()
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    assert deal.registration_id == regs["buyer_org"].id and deal.price == Decimal("160000.00")


def test_the_last_paid_buyer_disqualified_in_trading_the_listing_fails(users, announced, db):
    listing, regs = b.open_trading(users, announced, db, keys=("buyer_org",), priority=())
    f = finding(users, listing, regs["buyer_org"], void=True)
    db.session.commit()
    assert f.voided and db.session.get(Listing, listing.id).state == "failed"
    assert db.session.get(Refund, f.refund_id).reason == "disqualified"  # refunded once, as disqualified


# --- the ban --------------------------------------------------------------------------------------------

@pytest.mark.article("第二十五条")
def test_the_ban_refuses_a_new_registration_until_its_end(users, buyers, trading, db):
    listing, regs = trading
    decided = clock.today_local()
    f = finding(users, listing, regs["buyer"], ban_days=30)
    db.session.commit()
    ban = csvc.ban_of(f)
    last = decided + timedelta(days=30)
    assert ban.last_day == last and f.ban_days == 30 and ban.user_id == users["buyer"].id
    assert ban.ident == users["buyer"].party.id_number.upper()
    # the registration in this listing stays (not voided: the decision did not ask for it)
    assert db.session.get(Registration, regs["buyer"].id).state == "paid" and f.void_outcome == ""
    other = b.published(users, title="新建村 8 亩旱地经营权出租")
    db.session.commit()
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.apply(users["buyer"], other, accept_declaration=True)
    assert f"{last.year}年{last.month}月{last.day}日（含）" in exc.value.message and "第二十五条" in exc.value.message
    assert db.session.scalar(select(func.count(Registration.id)).where(Registration.listing_id == other.id)) == 0
    b.applied(users, other, key="buyer_3")  # others apply as before
    # the last day itself is still barred; the next morning they may apply again
    clock.freeze(clock.local_datetime(last, 23, 59))
    assert rsvc.active_ban(users["buyer"]) is not None
    clock.freeze(clock.local_datetime(last + timedelta(days=1), 0, 0))
    assert rsvc.active_ban(users["buyer"]) is None
    later = b.published(users, title="新建村 6 亩旱地经营权出租")
    assert b.applied(users, later).state == "applied"


def test_no_ban_when_zero_days_and_a_transferor_is_banned_by_account_and_identity(users, buyers, announced, db):
    f = finding(users, announced, None, ban_days=0)
    assert f.ban_id is None and csvc.ban_of(f) is None
    announced.transferor_user_id = buyers["buyer_3"].id  # a party that applied directly (第十一条)
    announced.transferor_id_no = buyers["buyer_3"].party.uscc
    db.session.commit()
    t = finding(users, announced, None, ground="law", ban_days=10)
    db.session.commit()
    ban = csvc.ban_of(t)
    assert t.user_id == buyers["buyer_3"].id and ban.ident == buyers["buyer_3"].party.uscc.upper()
    assert rsvc.active_ban(buyers["buyer_3"]) is not None and rsvc.active_ban(users["buyer"]) is None


# --- the warning that prompted it; the supervisor's view ------------------------------------------------

def test_a_warning_of_the_listing_may_be_linked(users, buyers, overdue_world, db):
    from exchange.supervision.models import SupervisionAlert
    listing = db.session.get(Listing, overdue_world["listing_id"])
    alert = db.session.get(SupervisionAlert, overdue_world["alert_id"])
    reg = db.session.get(Registration, overdue_world["reg_id"])
    if alert.listing_id not in (None, listing.id):
        alert.listing_id = listing.id
        db.session.commit()
    f = finding(users, listing, reg, alert_id=str(alert.id))
    assert csvc.alert_of(f).id == alert.id
    elsewhere = b.published(users, title="另一个项目")
    other = SupervisionAlert(kind="shared_contact", subject="listing:x:phone", listing_id=elsewhere.id,
                             summary="另一个项目的预警", details="{}")
    db.session.add(other)
    db.session.flush()
    for bad in (str(other.id), "999999", "abc"):
        with pytest.raises(csvc.ConductError) as exc:
            finding(users, listing, reg, ground="law", alert_id=bad)
        assert exc.value.field == "alert_id"


@pytest.mark.article("第二十五条")
def test_the_supervisor_reads_every_finding_and_the_participant_their_own(users, buyers, trading, db):
    listing, regs = trading
    f1 = finding(users, listing, regs["buyer"])
    f2 = finding(users, listing, regs["buyer_org"], ground="fairness")
    db.session.commit()
    for who in ("supervisor", "center_reviewer", "trading_officer"):
        assert db.session.scalars(csvc.search(users[who])).all() == [f2, f1]
        assert csvc.may_view(users[who], f1)
    assert db.session.scalars(csvc.search(users["supervisor"], ground="order")).all() == [f1]
    for who in ("finance", "admin", "point_a1", "station_a", "buyer"):
        with pytest.raises(AccessDenied):
            csvc.search(users[who])
    assert csvc.may_view(users["buyer"], f1) and not csvc.may_view(users["buyer"], f2)
    assert not csvc.may_view(users["buyer_3"], f1) and not csvc.may_view(users["finance"], f1)
    assert csvc.against(users["buyer"]) == [f1] and csvc.of_registration(regs["buyer_org"]) == [f2]


# --- pages ----------------------------------------------------------------------------------------------

def _post(client, url, data, page_url=None, **kw):
    token = csrf_from(text(client.get(page_url or url)))
    return client.post(url, data={**data, "csrf_token": token}, **kw)


def _form(reg, **kw):
    return {"participant": f"registration:{reg.id}", "ground": "order", "facts": FACTS, "void": "y",
            "ban_days": "30", "evidence": (io.BytesIO(PDF), "现场记录.pdf"), **kw}


@pytest.mark.article("第二十五条")
def test_the_reviewer_finds_through_the_pages(client, users, trading, db):
    listing, regs = trading
    reg = regs["buyer_org"]
    login(client, "t_reviewer", PASSWORD)
    assert "禁止行为认定（第二十五条）" in text(client.get(f"/listings/{listing.id}"))
    assert "认定禁止行为" in text(client.get(f"/conduct?listing_id={listing.id}"))
    url = f"/listings/{listing.id}/conduct/new"
    page = text(client.get(url))
    assert f"registration:{reg.id}" in page and "（一）操纵交易现场或者扰乱交易秩序" in page and "transferor" in page
    # no evidence: refused next to the field, nothing written
    resp = _post(client, url, _form(reg, evidence=(io.BytesIO(b""), "")), content_type="multipart/form-data")
    assert resp.status_code == 400 and "请上传证据材料" in text(resp)
    resp = _post(client, url, _form(reg, evidence=(io.BytesIO(EXE), "录像.pdf")), content_type="multipart/form-data")
    assert resp.status_code == 400 and "证据材料：" in text(resp)
    resp = _post(client, url, _form(reg, ground="nonsense"), content_type="multipart/form-data")
    assert resp.status_code == 400 and "第二十五条规定的情形" in text(resp)
    assert count(db, ConductFinding) == 0 and db.session.get(Registration, reg.id).state == "paid"
    resp = _post(client, url, _form(reg), content_type="multipart/form-data", follow_redirects=True)
    body = text(resp)
    assert resp.status_code == 200 and "已认定" in body and "已取消其在本项目的报名资格" in body
    f = db.session.scalar(select(ConductFinding))
    assert f.voided and f.ban_days == 30 and db.session.get(Registration, reg.id).state == "disqualified"
    assert "转入退款" in body and "禁止报名新项目 30 天" in body and f.evidence_filename in body
    ev = client.get(f"/conduct/{f.id}/evidence")
    assert ev.status_code == 200 and ev.data == PDF
    assert f.subject_name in text(client.get("/conduct")) and f.subject_name in text(client.get("/conduct?ground=order"))
    assert f.subject_name not in text(client.get("/conduct?ground=law"))


def test_the_buyer_of_the_deal_page_says_what_to_use_instead(client, users, online_deal, db):
    deal, regs = online_deal
    f = finding(users, deal.listing, regs["buyer"], void=True)
    db.session.commit()
    login(client, "t_reviewer", PASSWORD)
    body = text(client.get(f"/conduct/{f.id}"))
    assert "成交没有在此撤销" in body and "违约处理" in body and "终结交易" in body


@pytest.mark.article("第二十五条")
def test_who_sees_a_finding_over_http(app, users, buyers, trading, db):
    listing, regs = trading
    f = finding(users, listing, regs["buyer"], void=True, ban_days=15)
    db.session.commit()
    detail, evidence = f"/conduct/{f.id}", f"/conduct/{f.id}/evidence"
    # the supervisor: the list, the finding, the evidence; never the form
    sup = app.test_client()
    login(sup, "t_supervisor", PASSWORD)
    assert f.subject_name in text(sup.get("/conduct"))
    assert FACTS in text(sup.get(detail)) and sup.get(evidence).status_code == 200
    assert sup.get(f"/listings/{listing.id}/conduct/new").status_code == 403
    token = csrf_from(text(sup.get("/work")))
    assert sup.post(f"/listings/{listing.id}/conduct/new", data={**_form(regs["buyer_org"]), "csrf_token": token},
                    content_type="multipart/form-data").status_code == 403
    # the participant: the finding on their registration page, their work page and its own page — not the evidence
    me = app.test_client()
    login(me, "t_buyer", PASSWORD)
    reg_page = text(me.get(f"/registrations/{regs['buyer'].id}"))
    assert "第二十五条（一）" in reg_page and "取消报名资格" in reg_page and detail in reg_page
    assert detail in text(me.get("/work"))
    mine = text(me.get(detail))
    assert FACTS in mine and "禁止报名新项目 15 天" in mine and "现场记录.pdf" not in mine
    assert me.get(evidence).status_code == 403 and me.get("/conduct").status_code == 403
    # another buyer, a forged id, a stranger to the center, nobody signed in
    other = app.test_client()
    login(other, "t_buyer_org", PASSWORD)
    assert other.get(detail).status_code == 404 and other.get(evidence).status_code == 403
    assert other.get(f"/conduct/{f.id + 1000}").status_code == 404
    for username in ("t_finance", "t_point_a1", "t_admin"):
        c = app.test_client()
        login(c, username, PASSWORD)
        assert c.get(detail).status_code == 404 and c.get("/conduct").status_code == 403, username
        token = csrf_from(text(c.get("/work")))
        assert c.post(f"/listings/{listing.id}/conduct/new", data={**_form(regs["buyer_org"]), "csrf_token": token},
                      content_type="multipart/form-data").status_code == 403
    anonymous = app.test_client()
    for u in (detail, evidence, "/conduct", f"/listings/{listing.id}/conduct/new"):
        assert anonymous.get(u).status_code in (302, 401), u
    assert anonymous.post(f"/listings/{listing.id}/conduct/new", data=_form(regs["buyer_org"]),
                          content_type="multipart/form-data").status_code in (302, 400, 401)
    reviewer = app.test_client()
    login(reviewer, "t_reviewer", PASSWORD)
    assert reviewer.get("/conduct/999999").status_code == 404 and reviewer.get("/conduct/999999/evidence").status_code == 404
    assert reviewer.get("/listings/999999/conduct/new").status_code == 404
    assert count(db, ConductFinding) == 1


@pytest.mark.article("第二十五条")
def test_the_banned_buyer_is_told_on_the_apply_page_and_refused_on_posting(app, users, trading, db):
    listing, regs = trading
    finding(users, listing, regs["buyer"], ban_days=20)
    other = b.published(users, title="新建村 8 亩旱地经营权出租")
    db.session.commit()
    c = app.test_client()
    login(c, "t_buyer", PASSWORD)
    url = f"/registrations/apply/{other.id}"
    page = text(c.get(url))
    assert "不能报名新的项目" in page
    resp = c.post(url, data={"accept_declaration": "y", "foreign_kind": "domestic", "csrf_token": csrf_from(page)})
    assert resp.status_code == 400 and "不能报名新的项目" in text(resp)
    assert db.session.scalar(select(func.count(Registration.id)).where(Registration.listing_id == other.id)) == 0


def test_the_warning_page_links_to_the_form(app, users, buyers, overdue_world, db):
    from exchange.supervision.models import SupervisionAlert
    alert = db.session.get(SupervisionAlert, overdue_world["alert_id"])
    alert.listing_id = overdue_world["listing_id"]
    db.session.commit()
    c = app.test_client()
    login(c, "t_reviewer", PASSWORD)
    link = f"/listings/{alert.listing_id}/conduct/new?alert_id={alert.id}"
    assert link in text(c.get(f"/supervision/alerts/{alert.id}"))
    assert f"监督预警 #{alert.id}" in text(c.get(link))


def test_the_finding_and_its_evidence_are_in_the_listings_archive(app, users, trading, db):
    import hashlib
    import zipfile
    listing, regs = trading
    f = finding(users, listing, regs["buyer_org"], void=True, ban_days=7)
    db.session.commit()
    c = app.test_client()
    login(c, "t_supervisor", PASSWORD)
    resp = c.get(f"/listings/{listing.id}/archive.zip")
    assert resp.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(resp.data))
    names = z.namelist()
    (txt,) = [n for n in names if n.startswith("07-异常处理/禁止行为认定/") and n.endswith(".txt")]
    body = z.read(txt).decode()
    assert f.ground_item in body and FACTS in body and "已取消其在本项目的报名资格" in body and "7 天" in body
    (ev,) = [n for n in names if n.startswith("07-异常处理/禁止行为认定/") and n.endswith(".pdf")]
    assert hashlib.sha256(z.read(ev)).hexdigest() == f.evidence_sha256
    assert json.loads(z.read("records/conduct.json"))[0]["void_outcome"] == "voided"
    actions = {a["action"] for a in json.loads(z.read("records/audit.json"))}
    assert {"conduct.decide", "registration.disqualify"} <= actions
