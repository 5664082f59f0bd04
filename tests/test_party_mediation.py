"""纠纷调解 applied for by a party (第二十七条): the transferor (its own account) or the buyer of a deal applies online
from its listing, deal, contract or registration page — what the dispute is about, what it asks, optional evidence
(sniffed) — and the record waits (待受理) until the center accepts it into mediation or declines it with a reason the
applicant reads; one application in hand per party and listing; every step audited.  Staff still register one
directly, accepted at once.  Service and pages, for the parties and for strangers."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from exchange.access import AccessDenied
from exchange.audit.models import AuditEntry
from exchange.incidents import disputes as dsvc
from exchange.incidents.models import Dispute
from tests.builders import EXE, PDF
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")

CLAIMS = "成交后转让方迟迟不交付地块，称地上还有去年的晚稻未收割，双方多次协商未果。"
REQUESTS = "请求交易中心组织调解，限转让方于 12 月 15 日前清场交付地块。"


def audits(db, action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def disputes(db):
    return db.session.scalar(select(func.count(Dispute.id)))


@pytest.fixture
def direct(buyers, online_deal, db):
    """The online deal (测试受让人 won) on a listing whose transferor applied directly with buyer_3's account."""
    deal, regs = online_deal
    deal.listing.transferor_user_id = buyers["buyer_3"].id
    db.session.commit()
    return deal, regs


# --- the service ----------------------------------------------------------------------------------------

@pytest.mark.article("第二十七条")
def test_the_buyer_of_the_deal_applies_and_the_center_accepts_it_into_mediation(users, online_deal, db):
    deal, _ = online_deal
    listing = deal.listing
    buyer, reviewer = users["buyer"], users["center_reviewer"]
    assert dsvc.side_of(buyer, listing) == "buyer" and dsvc.may_apply(buyer, listing)
    d = dsvc.apply(buyer, listing, claims=CLAIMS, requests=REQUESTS, evidence=PDF, evidence_filename="照片.pdf")
    db.session.commit()
    assert d.state == "applied" and d.state_label == "待受理" and d.applied_online and d.applicant_side == "buyer"
    assert d.applicant == buyer.display_name and d.respondent == listing.transferor_name  # the other party
    assert (d.claims, d.requests) == (CLAIMS, REQUESTS) and d.opened_by_id == buyer.id and d.accepted_at is None
    assert d.evidence_content_type == "application/pdf" and len(d.evidence_sha256) == 64
    after = json.loads(audits(db, "dispute.apply")[0].after)
    assert after["side"] == "buyer" and after["requests"] == REQUESTS and after["evidence_sha256"] == d.evidence_sha256
    # not yet in mediation: no notes, no closing
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.add_note(reviewer, d, "电话联系双方，约定下周调解。")
    assert "还没有受理" in exc.value.message
    db.session.rollback()
    d = dsvc.accept(reviewer, db.session.get(Dispute, d.id), "已电话联系双方，约定 12 月 2 日在村部调解。")
    db.session.commit()
    assert d.state == "open" and d.accepted_by_id == reviewer.id and d.accepted_at is not None
    assert dsvc.notes_of(d)[0]["text"].startswith("受理：已电话联系双方")
    assert [a.object_id for a in audits(db, "dispute.accept")] == [str(d.id)]
    dsvc.add_note(reviewer, d, "在村部调解，转让方同意 12 月 10 日前收割清场。")
    dsvc.close(reviewer, d, outcome="settled", text="转让方于 12 月 10 日前收割晚稻并交付地块，受让方不再追究。")
    db.session.commit()
    assert d.state == "settled" and dsvc.may_apply(buyer, listing)  # closed: a new application may be made


@pytest.mark.article("第二十七条")
def test_the_transferor_applies_from_its_own_account(users, buyers, direct, db):
    deal, _ = direct
    seller = buyers["buyer_3"]
    assert dsvc.side_of(seller, deal.listing) == "transferor"
    d = dsvc.apply(seller, deal.listing, claims=CLAIMS, requests=REQUESTS)
    db.session.commit()
    assert d.applicant_side == "transferor" and d.applicant_side_label == "转让方"
    assert d.respondent == users["buyer"].display_name and d.evidence_key is None  # evidence is optional


@pytest.mark.article("第二十七条")
def test_a_stranger_may_not_apply(users, buyers, online_deal, db):
    deal, _regs = online_deal
    listing = deal.listing
    # a losing bidder, a buyer of nothing here, staff, the listing's transferor without its own account (the clerk's)
    for who in ("buyer_org", "buyer_coop", "buyer_3", "center_reviewer", "point_a1", "supervisor", "finance"):
        assert dsvc.side_of(users[who], listing) is None and not dsvc.may_apply(users[who], listing)
        with pytest.raises(AccessDenied):
            dsvc.apply(users[who], listing, claims=CLAIMS, requests=REQUESTS)
        db.session.rollback()
    with pytest.raises(AccessDenied):
        dsvc.apply(None, listing, claims=CLAIMS, requests=REQUESTS)
    assert disputes(db) == 0


@pytest.mark.article("第二十七条")
def test_one_application_in_hand_per_party_and_listing(users, buyers, direct, db):
    deal, _ = direct
    listing, buyer = deal.listing, users["buyer"]
    d = dsvc.apply(buyer, listing, claims=CLAIMS, requests=REQUESTS)
    db.session.commit()
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.apply(buyer, listing, claims=CLAIMS, requests="另一个请求：赔偿误工损失。")
    assert "已有一件调解申请正在办理" in exc.value.message
    db.session.rollback()
    assert not dsvc.may_apply(buyer, listing)
    # the other party applies on its own
    assert dsvc.apply(buyers["buyer_3"], listing, claims=CLAIMS, requests=REQUESTS).applicant_side == "transferor"
    db.session.commit()
    # accepted: still in hand
    dsvc.accept(users["center_reviewer"], d)
    db.session.commit()
    with pytest.raises(dsvc.DisputeError):
        dsvc.apply(buyer, listing, claims=CLAIMS, requests=REQUESTS)
    db.session.rollback()
    # the database refuses a second one in hand too (two requests at once)
    db.session.add(Dispute(listing_id=listing.id, applicant="测试受让人", respondent="农户演示", claims=CLAIMS,
                           applicant_user_id=buyer.id, applicant_side="buyer", opened_by_id=buyer.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # once closed, a new application may be made — up to the cap
    dsvc.close(users["center_reviewer"], db.session.get(Dispute, d.id), outcome="withdrawn",
               text="申请人电话撤回调解申请。")
    db.session.commit()
    assert dsvc.may_apply(buyer, listing)
    for i in range(dsvc.APPLICATIONS_MAX - 1):
        again = dsvc.apply(buyer, listing, claims=CLAIMS, requests=f"第 {i + 2} 次申请的调解请求。")
        dsvc.decline(users["center_reviewer"], again, "所述事项已调解结案，不再重复受理。")
    db.session.commit()
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.apply(buyer, listing, claims=CLAIMS, requests=REQUESTS)
    assert "仲裁" in exc.value.message and "人民法院" in exc.value.message


@pytest.mark.article("第二十七条")
def test_the_center_declines_with_a_reason_the_applicant_reads(users, online_deal, db):
    deal, _ = online_deal
    d = dsvc.apply(users["buyer"], deal.listing, claims=CLAIMS, requests=REQUESTS)
    db.session.commit()
    for reason in ("", "  ", "不", None):
        with pytest.raises(dsvc.DisputeError) as exc:
            dsvc.decline(users["center_reviewer"], d, reason)
        assert exc.value.field == "reason"
    for who in ("trading_officer", "supervisor", "buyer", "finance"):
        with pytest.raises(AccessDenied):
            dsvc.decline(users[who], d, "越权作出的不予受理决定")
        with pytest.raises(AccessDenied):
            dsvc.accept(users[who], d)
    db.session.rollback()
    assert db.session.get(Dispute, d.id).state == "applied"
    dsvc.decline(users["center_reviewer"], d, "所述事项属于合同履行中的质量争议，请先依合同约定协商。")
    db.session.commit()
    assert d.state == "declined" and d.is_closed and d.outcome.startswith("所述事项属于")
    assert d.closed_by_id == users["center_reviewer"].id
    with pytest.raises(dsvc.DisputeError):  # decided once
        dsvc.accept(users["center_reviewer"], d)
    assert [a.object_id for a in audits(db, "dispute.decline")] == [str(d.id)]
    from exchange.notifications.models import Notification
    (n,) = db.session.scalars(select(Notification).where(Notification.kind == "dispute.declined")).all()
    assert n.user_id == users["buyer"].id and "合同履行中的质量争议" in n.body and n.link == f"/mediation/{d.id}"


def test_bad_applications_change_nothing(users, online_deal, db):
    deal, _ = online_deal
    for kw, field in [({"claims": "太短"}, "claims"), ({"claims": "理" * 4001}, "claims"), ({"requests": ""}, "requests"),
                      ({"requests": "请" * 2001}, "requests"), ({"respondent": "测试受让人"}, "respondent"),
                      ({"respondent": "长" * 101}, "respondent"), ({"evidence": EXE, "evidence_filename": "x.pdf"},
                                                                  "evidence")]:
        with pytest.raises(dsvc.DisputeError) as exc:
            dsvc.apply(users["buyer"], deal.listing, **{"claims": CLAIMS, "requests": REQUESTS, **kw})
        assert exc.value.field == field, kw
        db.session.rollback()
    assert disputes(db) == 0


def test_staff_still_register_one_accepted_at_once(users, announced, db):
    d = dsvc.open_dispute(users["center_reviewer"], announced, applicant="某村民", respondent="农户演示",
                          claims="申请人主张地块东侧三亩属其承包范围，请求调解。")
    db.session.commit()
    assert d.state == "open" and not d.applied_online and d.accepted_by_id == users["center_reviewer"].id


# --- pages ----------------------------------------------------------------------------------------------

def _post(client, url, data, page_url=None, **kw):
    token = csrf_from(text(client.get(page_url or url)))
    return client.post(url, data={**data, "csrf_token": token}, **kw)


@pytest.mark.article("第二十七条")
def test_a_party_applies_and_follows_it_through_the_pages(app, users, buyers, direct, db):
    deal, regs = direct
    listing = deal.listing
    me = app.test_client()
    login(me, "t_buyer", PASSWORD)
    apply_url = f"/listings/{listing.id}/mediation/apply"
    # the way in from the buyer's pages: the registration and the deal
    assert apply_url in text(me.get(f"/registrations/{regs['buyer'].id}"))
    assert apply_url in text(me.get(f"/deals/{deal.deal_no}"))
    form = text(me.get(apply_url))
    assert listing.transferor_name in form and "第二十七条" in form  # the respondent suggested
    resp = _post(me, apply_url, {"claims": "太短", "requests": REQUESTS, "respondent": listing.transferor_name})
    assert resp.status_code == 400 and "请写明纠纷的事实和理由" in text(resp)
    resp = _post(me, apply_url, {"claims": CLAIMS, "requests": REQUESTS, "respondent": listing.transferor_name,
                                 "evidence": (io.BytesIO(EXE), "照片.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "证据材料：" in text(resp)
    assert disputes(db) == 0
    resp = _post(me, apply_url, {"claims": CLAIMS, "requests": REQUESTS, "respondent": listing.transferor_name,
                                 "evidence": (io.BytesIO(PDF), "照片.pdf")}, content_type="multipart/form-data",
                 follow_redirects=True)
    body = text(resp)
    assert resp.status_code == 200 and "调解申请已提交" in body and "正等待交易中心决定是否受理" in body
    d = db.session.scalar(select(Dispute))
    assert me.get(f"/mediation/{d.id}/evidence").data == PDF
    assert f"/mediation/{d.id}" in text(me.get("/mediation")) and "待受理" in text(me.get("/mediation"))
    assert "/mediation" in text(me.get("/work"))
    # a second one while this is in hand: told, refused
    assert "已有一件调解申请正在办理" in text(me.get(apply_url))
    resp = _post(me, apply_url, {"claims": CLAIMS, "requests": REQUESTS, "respondent": listing.transferor_name})
    assert resp.status_code == 400 and disputes(db) == 1
    # the center declines it with a reason; the applicant reads it
    rev = app.test_client()
    login(rev, "t_reviewer", PASSWORD)
    assert "待受理的调解申请" in text(rev.get("/work"))
    assert listing.title in text(rev.get("/disputes?state=applied"))
    url = f"/disputes/{d.id}"
    page = text(rev.get(url))
    assert "受理，开始调解" in page and "不予受理" in page and REQUESTS in page and "照片.pdf" in page
    assert rev.get(f"{url}/evidence").data == PDF
    resp = _post(rev, f"{url}/decline", {"reason": ""}, url)
    assert resp.status_code == 400 and "请写明不予受理的理由" in text(resp)
    resp = _post(rev, f"{url}/decline", {"reason": "所述事项属于合同履行中的争议，请先协商。"}, url, follow_redirects=True)
    assert "已作出不予受理的决定" in text(resp)
    mine = text(me.get(f"/mediation/{d.id}"))
    assert "不予受理" in mine and "所述事项属于合同履行中的争议，请先协商。" in mine and "人民法院" in mine
    # the transferor, from its own listing page, applies and the center accepts
    seller = app.test_client()
    login(seller, "t_buyer3", PASSWORD)
    assert apply_url in text(seller.get(f"/listings/{listing.id}"))
    resp = _post(seller, apply_url, {"claims": CLAIMS, "requests": REQUESTS, "respondent": "测试受让人"},
                 follow_redirects=True)
    assert "调解申请已提交" in text(resp)
    d2 = db.session.scalar(select(Dispute).where(Dispute.applicant_side == "transferor"))
    resp = _post(rev, f"/disputes/{d2.id}/accept", {"note": "约定 12 月 2 日在村部调解。"}, f"/disputes/{d2.id}",
                 follow_redirects=True)
    assert "已受理调解申请" in text(resp) and "保存记录" in text(resp)
    assert "正在组织调解" in text(seller.get(f"/mediation/{d2.id}"))


def test_the_contract_page_offers_mediation_to_its_parties(app, users, buyers, contract, db):
    c = app.test_client()
    login(c, "t_buyer", PASSWORD)
    assert f"/listings/{contract.listing_id}/mediation/apply" in text(c.get(f"/contracts/{contract.id}"))


@pytest.mark.article("第二十七条")
def test_strangers_over_http(app, users, buyers, direct, db):
    deal, _ = direct
    listing = deal.listing
    d = dsvc.apply(users["buyer"], listing, claims=CLAIMS, requests=REQUESTS, evidence=PDF, evidence_filename="照片.pdf")
    db.session.commit()
    apply_url = f"/listings/{listing.id}/mediation/apply"
    data = {"claims": CLAIMS, "requests": REQUESTS, "respondent": "测试受让人"}
    # a losing bidder and staff: no form, no posting, no one else's record
    for username in ("t_buyer_org", "t_coop", "t_point_a1", "t_supervisor"):
        c = app.test_client()
        login(c, username, PASSWORD)
        assert apply_url not in text(c.get(f"/deals/{deal.deal_no}"))
        assert c.get(apply_url).status_code == 403, username
        token = csrf_from(text(c.get("/work")))
        assert c.post(apply_url, data={**data, "csrf_token": token}).status_code == 403, username
        assert c.get(f"/mediation/{d.id}").status_code == 404 and c.get(f"/mediation/{d.id}/evidence").status_code == 404
        assert f"/mediation/{d.id}" not in text(c.get("/mediation"))
    # the supervisor reads the center's record; may not accept or decline
    sup = app.test_client()
    login(sup, "t_supervisor", PASSWORD)
    assert sup.get(f"/disputes/{d.id}").status_code == 200
    token = csrf_from(text(sup.get(f"/disputes/{d.id}")))
    assert sup.post(f"/disputes/{d.id}/accept", data={"csrf_token": token}).status_code == 403
    assert sup.post(f"/disputes/{d.id}/decline", data={"reason": "越权作出的决定", "csrf_token": token}).status_code == 403
    # the transferor (the other party) does not read the buyer's own application page
    seller = app.test_client()
    login(seller, "t_buyer3", PASSWORD)
    assert seller.get(f"/mediation/{d.id}").status_code == 404
    # nobody signed in; forged ids
    anonymous = app.test_client()
    for u in (apply_url, f"/mediation/{d.id}", "/mediation", f"/mediation/{d.id}/evidence"):
        assert anonymous.get(u).status_code in (302, 401), u
    assert anonymous.post(apply_url, data=data).status_code in (302, 400, 401)
    me = app.test_client()
    login(me, "t_buyer", PASSWORD)
    assert me.get("/listings/999999/mediation/apply").status_code == 404
    assert me.get("/mediation/999999").status_code == 404
    token = csrf_from(text(me.get("/work")))
    assert me.post("/listings/999999/mediation/apply", data={**data, "csrf_token": token}).status_code == 404
    # the center's own pages stay the center's
    assert me.get(f"/disputes/{d.id}").status_code == 403
    assert me.post(f"/disputes/{d.id}/accept", data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Dispute, d.id).state == "applied" and disputes(db) == 1


def test_the_application_and_its_evidence_are_in_the_listings_archive(app, users, online_deal, db):
    import hashlib
    import zipfile
    deal, _ = online_deal
    d = dsvc.apply(users["buyer"], deal.listing, claims=CLAIMS, requests=REQUESTS, evidence=PDF,
                   evidence_filename="照片.pdf")
    dsvc.accept(users["center_reviewer"], d)
    db.session.commit()
    c = app.test_client()
    login(c, "t_supervisor", PASSWORD)
    z = zipfile.ZipFile(io.BytesIO(c.get(f"/listings/{deal.listing_id}/archive.zip").data))
    (txt,) = [n for n in z.namelist() if n.startswith("07-异常处理/纠纷调解/") and n.endswith(".txt")]
    body = z.read(txt).decode()
    assert "当事人在线申请（受让方）" in body and REQUESTS in body and d.evidence_sha256 in body
    (ev,) = [n for n in z.namelist() if "申请人证据" in n]
    assert hashlib.sha256(z.read(ev)).hexdigest() == d.evidence_sha256
    assert {"dispute.apply", "dispute.accept"} <= {a["action"] for a in json.loads(z.read("records/audit.json"))}


@pytest.mark.concurrency
def test_two_applications_at_once_only_one_is_kept(app, users, online_deal, db, monkeypatch):
    """Both requests held after the "one in hand?" check until each has made it: only the database's partial unique
    index can refuse the second — a 409 with the sentence the rule says."""
    import threading

    from tests.helpers import get_csrf, run_at_once
    deal, _ = online_deal
    barrier, original = threading.Barrier(2), dsvc.active_application

    def checked_then_wait(*args, **kwargs):
        found = original(*args, **kwargs)
        barrier.wait(timeout=30)
        return found

    monkeypatch.setattr(dsvc, "active_application", checked_then_wait)
    url = f"/listings/{deal.listing_id}/mediation/apply"
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        login(c, "t_buyer", PASSWORD)
    monkeypatch.setattr(dsvc, "active_application", original)  # the GET of the token is not held
    tokens = [get_csrf(c, url) for c in clients]
    monkeypatch.setattr(dsvc, "active_application", checked_then_wait)
    responses = run_at_once(2, lambda i: clients[i].post(url, data={"csrf_token": tokens[i], "claims": CLAIMS,
                                                                    "requests": REQUESTS, "respondent": "农户演示"}))
    assert sorted(r.status_code for r in responses) == [302, 409], [r.status_code for r in responses]
    assert "已有一件调解申请正在办理" in text(next(r for r in responses if r.status_code == 409))
    db.session.expire_all()
    assert disputes(db) == 1
