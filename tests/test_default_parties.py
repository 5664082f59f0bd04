"""第二十二条, read as DESIGN §3.11 reads it: the party in default is the one that did not sign (or, for the buyer, did
not pay) — never the buyer by assumption.  The transferor in default: the buyer's deposit returned in full, the default
recorded against the transferor and shown on its next listing, no runner-up offered a deal the transferor will not
sign.  Both in default: the deposit forfeited, the transferor recorded too.  不可抗力 claimed with evidence holds the
declaration; accepted, the clock is extended.  Damages go to a mediation record (第二十七条), never decided here."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied
from exchange.audit.models import AuditEntry
from exchange.contracts import services as csvc
from exchange.incidents import breach as dsvc
from exchange.incidents import force_majeure as fm
from exchange.idcheck import make_resident_id
from exchange.incidents.models import Dispute
from exchange.ledger import services as led
from exchange.ledger.models import Refund
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.notifications.models import Notification
from tests.builders import DEPOSIT, PDF, category, end_publicity, household_fields, let_lapse
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.article("第二十二条")]

REASON = "转让方逾期未签署合同，经电话和书面催告仍未签署"


def _listing(db, deal) -> Listing:
    db.session.expire_all()
    return db.session.get(Listing, deal.listing_id)


def _contract_with(buyers, online_deal, db, *, buyer_signs: bool, seller_signs: bool):
    deal, regs = online_deal
    contract = end_publicity(deal)
    if buyer_signs:
        csvc.confirm(buyers["buyer"], contract, PASSWORD)
        db.session.commit()
    let_lapse(contract, seller_signs=seller_signs)
    return deal, regs, contract


def test_the_transferor_who_did_not_sign_is_in_default_and_the_buyer_gets_the_deposit_back(buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=True, seller_signs=False)
    listing = _listing(db, deal)
    o = dsvc.overdue_state(listing)
    assert o.passed and o.sides == ("seller",) and o.party == "seller" and o.problem == ""
    case = dsvc.declare_default(buyers["center_reviewer"], listing, reason=REASON)
    db.session.commit()
    assert case.party == "seller" and case.forfeited == 0 and case.forfeit_entry_id is None
    listing = _listing(db, deal)
    assert listing.state == "defaulted" and contract.state == "void"
    # the buyer's deposit: not forfeited, its return opened (5 工作日, four eyes) — with every other one still held
    assert led.held(led.forfeit_account(listing)) == 0
    refund = db.session.scalar(select(Refund).where(Refund.registration_id == deal.registration_id))
    assert refund is not None and refund.reason == "seller_default" and refund.amount == DEPOSIT
    # no runner-up is offered a deal the transferor will not sign; no compensation from a deposit
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id)
    assert "转让方违约" in exc.value.message
    db.session.rollback()
    with pytest.raises(dsvc.DefaultError):
        dsvc.pay_compensation(buyers["center_reviewer"], case)
    db.session.rollback()
    # the buyer is told who defaulted and that the deposit comes back
    note = db.session.scalar(select(Notification).where(Notification.user_id == buyers["buyer"].id,
                                                        Notification.kind == "deal.defaulted"))
    assert note is not None and "转让方违约" in note.title + note.body and "全额退还" in note.body
    assert "不予退还" not in note.body
    assert led.check() == []


def test_the_buyer_who_did_not_sign_is_in_default_and_forfeits(buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=False, seller_signs=True)
    case = dsvc.declare_default(buyers["center_reviewer"], _listing(db, deal), reason="买受人逾期未签署合同")
    db.session.commit()
    assert case.party == "buyer" and case.forfeited == DEPOSIT
    assert db.session.scalar(select(Refund).where(Refund.registration_id == deal.registration_id)) is None
    assert [c.registration.id for c in dsvc.runner_up_candidates(_listing(db, deal))][0] == regs["buyer_coop"].id


def test_neither_signed_both_are_in_default(buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=False, seller_signs=False)
    listing = _listing(db, deal)
    assert dsvc.overdue_state(listing).party == "both"
    case = dsvc.declare_default(buyers["center_reviewer"], listing, reason="双方均逾期未签署合同")
    db.session.commit()
    assert case.party == "both" and case.forfeited == DEPOSIT and case.buyer_in_default
    with pytest.raises(dsvc.DefaultError):
        dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id)
    db.session.rollback()
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.pay_compensation(buyers["center_reviewer"], case)
    assert "转让方同样违约" in exc.value.message


def test_a_default_is_recorded_against_the_transferor_and_shown_on_its_next_listing(app, buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=True, seller_signs=False)
    old = _listing(db, deal)
    dsvc.declare_default(buyers["center_reviewer"], old, reason=REASON)
    db.session.commit()
    again = lsvc.create_draft(buyers["point_a1"], category=category("C01"), **household_fields(
        title="同一农户的另一块地", transferor_id_no=old.transferor_id_no))
    other = lsvc.create_draft(buyers["point_a1"], category=category("C01"), **household_fields(
        title="别的农户", transferor_name="另一农户", account_name="另一农户",
        transferor_id_no=make_resident_id("43068219800202001")))
    db.session.commit()
    assert [c.listing_id for c in dsvc.transferor_record(again)] == [old.id]
    assert dsvc.transferor_record(other) == [] and dsvc.transferor_record(old) == []
    reviewer = app.test_client()
    login(reviewer, "t_reviewer", PASSWORD)
    page = text(reviewer.get(f"/listings/{again.id}"))
    assert "该转让方" in page and "曾在本平台违约 1 次" in page and old.project_no in page
    # the buyer of the other listing does not see it (a public account sees no staff notice)
    assert "曾在本平台违约" not in text(reviewer.get(f"/listings/{other.id}"))


def test_force_majeure_holds_the_declaration_and_accepted_extends_the_clock(buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=True, seller_signs=False)
    listing = _listing(db, deal)
    reviewer = buyers["center_reviewer"]
    # a party claims for its own side only; strangers cannot
    with pytest.raises(AccessDenied):
        fm.file_claim(buyers["buyer_org"], listing, side="buyer", facts="我也想申请不可抗力延期。" * 2, document=PDF)
    with pytest.raises(AccessDenied):
        fm.file_claim(buyers["buyer"], listing, side="seller", facts="替转让方申请不可抗力延期。" * 2, document=PDF)
    with pytest.raises(fm.ForceMajeureError) as exc:
        fm.file_claim(reviewer, listing, side="seller", facts="洪水", document=PDF)
    assert exc.value.field == "facts"
    with pytest.raises(fm.ForceMajeureError) as exc:
        fm.file_claim(reviewer, listing, side="seller", facts="7月特大洪水，转让方所在村组整体转移安置，无法到场签字。")
    assert exc.value.field == "document"
    db.session.rollback()
    claim = fm.file_claim(buyers["point_a1"], listing, side="seller",
                          facts="特大洪水，转让方所在村组整体转移安置，期限内无法到场签字。", document=PDF,
                          filename="乡镇转移安置证明.pdf")
    db.session.commit()
    # pending: no default against that party
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.declare_default(reviewer, _listing(db, deal), reason=REASON)
    assert "不可抗力" in exc.value.message
    db.session.rollback()
    with pytest.raises(fm.ForceMajeureError):
        fm.decide_claim(reviewer, claim, accept=True, decision="情况属实", extend_days="0")
    db.session.rollback()
    with pytest.raises(AccessDenied):
        fm.decide_claim(buyers["trading_officer"], claim, accept=True, decision="情况属实", extend_days="5")
    db.session.rollback()
    before = contract.due_at
    fm.decide_claim(reviewer, claim, accept=True, decision="洪灾属实，有乡镇证明", extend_days="5")
    db.session.commit()
    from exchange.workdays.services import due_after_working_days
    assert claim.is_accepted and claim.due_before == before
    assert contract.due_at == due_after_working_days(clock.now(), 5).at == deal.contract_due_at > clock.now()
    assert not csvc.is_overdue(contract)
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.declare_default(reviewer, _listing(db, deal), reason=REASON)
    assert "尚未届满" in exc.value.message
    db.session.rollback()
    # the transferor signs within the extension: in force, nobody in default
    csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "签字页.pdf")
    db.session.commit()
    assert contract.is_in_force and _listing(db, deal).state == "settlement"


def test_a_rejected_claim_lets_the_default_be_declared(buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=True, seller_signs=False)
    listing = _listing(db, deal)
    claim = fm.file_claim(buyers["center_reviewer"], listing, side="seller",
                          facts="转让方称外出务工，无法回村签字，提交了车票。", document=PDF)
    db.session.commit()
    with pytest.raises(fm.ForceMajeureError):
        fm.decide_claim(buyers["center_reviewer"], claim, accept=False, decision="")
    db.session.rollback()
    fm.decide_claim(buyers["center_reviewer"], claim, accept=False, decision="外出务工不属于不可抗力")
    db.session.commit()
    case = dsvc.declare_default(buyers["center_reviewer"], _listing(db, deal), reason=REASON)
    db.session.commit()
    assert case.party == "seller" and claim.is_rejected


def test_damages_go_to_a_mediation_record_once(buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=True, seller_signs=False)
    listing = _listing(db, deal)
    case = dsvc.declare_default(buyers["center_reviewer"], listing, reason=REASON)
    db.session.commit()
    dispute = dsvc.open_damages_dispute(buyers["center_reviewer"], case)
    db.session.commit()
    assert dsvc.open_damages_dispute(buyers["center_reviewer"], case).id == dispute.id
    assert db.session.scalars(select(Dispute)).all() == [dispute]
    assert case.dispute_id == dispute.id and dispute.applicant == buyers["buyer"].display_name
    assert dispute.respondent == listing.transferor_name and "第二十二条" in dispute.claims


def test_the_center_page_names_the_party_and_the_buyer_sees_why(app, buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=True, seller_signs=False)
    reviewer = app.test_client()
    login(reviewer, "t_reviewer", PASSWORD)
    url = f"/listings/{deal.listing_id}/default"
    page = text(reviewer.get(url))
    assert "未签署的一方" in page and "认定转让方违约" in page and "全额退还" in page and "不可抗力" in page
    resp = reviewer.post(f"{url}/declare", data={"csrf_token": csrf_from(page), "reason": REASON})
    assert resp.status_code == 302
    page = text(reviewer.get(url))
    assert "违约方" in page and "转让方" in page and "全额退还" in page and "次高报价人（按报价从高到低）" not in page
    buyer = app.test_client()
    login(buyer, "t_buyer", PASSWORD)
    inbox = text(buyer.get("/notifications/"))
    assert "转让方违约" in inbox and "全额退还" in inbox
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "default.declared"))
    assert json.loads(entry.after)["party"] == "seller"
    assert Decimal(json.loads(entry.after)["forfeited"]) == 0


def test_a_late_signature_before_the_declaration_leaves_nobody_in_default(buyers, online_deal, db):
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=True, seller_signs=False)
    clock.advance(days=3)
    csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "签字页.pdf")
    db.session.commit()
    assert csvc.signed_late(contract)
    o = dsvc.overdue_state(_listing(db, deal))
    assert o.stage == "settlement" and not o.passed
    with pytest.raises(dsvc.DefaultError):
        dsvc.declare_default(buyers["center_reviewer"], _listing(db, deal), reason=REASON)
    assert timedelta(0) < contract.effective_at - contract.due_at


def test_the_claim_and_its_evidence_are_in_the_archive(app, buyers, online_deal, db):
    import io
    import zipfile
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=True, seller_signs=False)
    claim = fm.file_claim(buyers["center_reviewer"], _listing(db, deal), side="seller",
                          facts="特大洪水，转让方所在村组整体转移安置，期限内无法到场签字。", document=PDF,
                          filename="转移安置证明.pdf")
    fm.decide_claim(buyers["center_reviewer"], claim, accept=True, decision="洪灾属实", extend_days="3")
    db.session.commit()
    client = app.test_client()
    login(client, "t_supervisor", PASSWORD)
    resp = client.get(f"/listings/{deal.listing_id}/archive.zip")
    assert resp.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(resp.data))
    [record] = [n for n in z.namelist() if n.endswith(f"不可抗力申请-{claim.id:04d}.txt")]
    body = z.read(record).decode("utf-8")
    assert "转让方" in body and "不可抗力成立" in body and "洪灾属实" in body
    assert any(n.endswith("转移安置证明.pdf") and z.read(n) == PDF for n in z.namelist())


def test_a_party_claims_force_majeure_from_its_contract_page(app, buyers, online_deal, db):
    import io
    deal, regs, contract = _contract_with(buyers, online_deal, db, buyer_signs=False, seller_signs=True)
    url = f"/contracts/{contract.id}"
    buyer = app.test_client()
    login(buyer, "t_buyer", PASSWORD)
    page = text(buyer.get(url))
    assert "提出不可抗力申请" in page
    form = f"/listings/{deal.listing_id}/force-majeure"
    resp = buyer.post(form, data={"csrf_token": csrf_from(page), "facts": "洪水",
                                  "document": (io.BytesIO(PDF), "证明.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302 and fm.pending_claim(deal) is None  # refused: the facts are too short
    assert "10 至 2000 字" in text(buyer.get(url))
    resp = buyer.post(form, data={"csrf_token": csrf_from(page), "facts": "受让方所在村遭遇特大洪水，道路中断，无法到场签署。",
                                  "document": (io.BytesIO(PDF), "乡镇证明.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    claim = fm.pending_claim(deal)
    assert claim is not None and claim.side == "buyer" and claim.filed_by_id == buyers["buyer"].id
    assert "等待交易中心决定" in text(buyer.get(url))
    # a stranger cannot claim for this deal
    other = app.test_client()
    login(other, "t_buyer_org", PASSWORD)
    token = csrf_from(text(other.get("/work")))
    assert other.post(form, data={"csrf_token": token, "facts": "我也想延期签约，因为下雨了很多天。"}).status_code == 403
