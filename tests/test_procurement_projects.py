"""Procurement projects (issue 18): intake, publication, sealed bids, 开标 and 最低价法 评标 — services on both
databases."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import text

from exchange import clock
from exchange.procurement import services as psvc
from exchange.procurement import vault
from tests.procurement_builders import (LIMIT, SCORED, SUPPLIERS, draft, evaluated,  # noqa: F401
                                        experts, pay_bonds, pdf_upload, published_project, suppliers, to_opening)

pytestmark = pytest.mark.usefixtures("frozen", "uploads", "bid_vault", "signing_key")


def test_a_road_repair_from_intake_to_its_first_candidate(users, db):
    listing = published_project(users, db)
    project = psvc.project_of(listing)
    assert listing.state == "announced" and project.state == "bidding"
    assert listing.announce_end_at == project.opens_at == listing.deposit_deadline_at
    assert project.public_key and project.wrapped_key and project.opened_key is None
    suppliers(users)
    pay_bonds(users, listing)
    prices = {"buyer_org": "256000", "buyer_3": "249800.50", "buyer_coop": "261000"}
    receipts = {k: psvc.submit_bid(users[k], listing, price=p).receipt for k, p in prices.items()}
    db.session.commit()

    rows = db.session.execute(text("SELECT price, document, sealed FROM procurement_bid")).all()
    assert len(rows) == 3 and all(r.price is None and r.document is None for r in rows)
    for r in rows:
        raw = bytes(r.sealed)
        assert all(p.encode() not in raw and p.replace(".50", "").encode() not in raw for p in prices.values())
    with pytest.raises(vault.VaultError):
        vault.unwrap_private_key(vault.vault_key(current_app.config), project.wrapped_key, listing.project_no,
                                 project.opens_at, clock.now())

    to_opening(listing)
    db.session.expire_all()
    assert project.state == "opened" and listing.state == "trading" and project.opened_key
    opened = psvc.opening_record(listing)
    assert {b.supplier_id: b.price for b in opened} == {users[k].id: Decimal(p) for k, p in prices.items()}
    for b in opened:
        assert vault.receipt(b.document.encode("utf-8")) == b.receipt == receipts[
            next(k for k in SUPPLIERS if users[k].id == b.supplier_id)]

    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    assert deal.price == Decimal("249800.50") and deal.buyer_id == users["buyer_3"].id
    assert deal.method == "procurement" and listing.state == "publicity" and project.state == "evaluated"
    assert [r["supplier"] for r in project_outcome(project)["ranked"]] == [
        users[k].display_name for k in ("buyer_3", "buyer_org", "buyer_coop")]


def project_outcome(project):
    import json
    return json.loads(project.outcome_json)


# --- the terms -------------------------------------------------------------------------------------------------------

def test_a_works_project_at_the_national_threshold_is_refused_with_the_reason(users, db):
    listing = draft(users)
    db.session.commit()  # each refusal below is a request of its own: nothing of it is kept
    with pytest.raises(psvc.ProcurementError) as exc:
        psvc.save_terms(users["point_a1"], listing, budget="4000000")
    assert exc.value.field == "budget" and "公共资源交易中心" in exc.value.message and "400 万元" in exc.value.message
    db.session.rollback()
    with pytest.raises(psvc.ProcurementError) as exc:
        psvc.save_terms(users["point_a1"], listing, bond="5600.01")  # 2 % of 280 000 is 5 600
    assert exc.value.field == "bond" and "5,600 元" in exc.value.message
    db.session.rollback()
    with pytest.raises(psvc.ProcurementError) as exc:
        psvc.save_terms(users["point_a1"], listing, limit_price="300000.01")
    assert exc.value.field == "limit_price"
    db.session.rollback()
    with pytest.raises(psvc.ProcurementError) as exc:
        psvc.save_terms(users["point_a1"], listing, opens_at="2026-12-05 09:30")  # a Saturday
    assert exc.value.field == "opens_at" and "工作日" in exc.value.message


def test_the_publication_refuses_an_opening_too_soon_for_the_bid_period(users, db):
    from exchange.listings import services as lsvc
    from tests.builders import ALL_OK, attach
    listing = draft(users)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    clock.freeze(clock.now().replace(day=30))  # Monday 30 Nov: 5 working days end on 7 Dec 24:00 > 7 Dec 09:30
    with pytest.raises(psvc.ProcurementError) as exc:
        lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    assert exc.value.field == "opens_at" and "5 个工作日" in exc.value.message


# --- bids -------------------------------------------------------------------------------------------------------------

def test_only_a_supplier_whose_bond_arrived_bids_and_never_over_the_ceiling_nor_after_the_deadline(users, db):
    listing = published_project(users, db)
    suppliers(users)
    assert "报名" in psvc.bid_refusal(users["buyer_org"], listing)
    pay_bonds(users, listing, ("buyer_org",))
    with pytest.raises(psvc.ProcurementError) as exc:
        psvc.submit_bid(users["buyer_org"], listing, price=str(LIMIT + Decimal("0.01")))
    assert exc.value.field == "price" and "最高限价" in exc.value.message
    with pytest.raises(psvc.ProcurementError):
        psvc.submit_bid(users["buyer_org"], listing, price="abc")
    clock.freeze(psvc.project_of(listing).opens_at)
    assert psvc.bid_refusal(users["buyer_org"], listing) == "投标已截止。"
    with pytest.raises(psvc.ProcurementError):
        psvc.submit_bid(users["buyer_org"], listing, price="250000")


def test_a_supplier_withdraws_and_resubmits_and_only_the_last_bid_is_opened(users, db):
    listing = published_project(users, db)
    suppliers(users)
    pay_bonds(users, listing)
    first = psvc.submit_bid(users["buyer_org"], listing, price="270000")
    psvc.withdraw_bid(users["buyer_org"], first)
    assert first.state == "withdrawn"
    second = psvc.submit_bid(users["buyer_org"], listing, price="260000")
    third = psvc.submit_bid(users["buyer_org"], listing, price="255000")  # replaces the second
    assert second.state == "withdrawn" and third.state == "sealed" and len({first.receipt, second.receipt,
                                                                            third.receipt}) == 3
    psvc.submit_bid(users["buyer_3"], listing, price="258000")
    psvc.submit_bid(users["buyer_coop"], listing, price="259000")
    db.session.commit()
    to_opening(listing)
    opened = {b.supplier_id: b for b in psvc.opening_record(listing)}
    assert opened[users["buyer_org"].id].price == Decimal("255000") and opened[users["buyer_org"].id].id == third.id


def test_fewer_than_three_tenders_is_a_failed_tender_and_the_bonds_go_back(users, db):
    from exchange.ledger.models import Refund
    listing = published_project(users, db)
    suppliers(users)
    regs = pay_bonds(users, listing)
    psvc.submit_bid(users["buyer_org"], listing, price="250000")
    psvc.submit_bid(users["buyer_3"], listing, price="251000")
    db.session.commit()
    to_opening(listing)
    db.session.expire_all()
    assert listing.state == "failed" and psvc.project_of(listing).state == "failed"
    assert db.session.query(Refund).filter(Refund.listing_id == listing.id).count() == len(regs)


# --- the winner, the contract and the bonds ---------------------------------------------------------------------------



def test_the_collective_confirms_candidate_one_after_the_publicity_and_the_contract_follows(users, db):
    from exchange.contracts import services as csvc
    from exchange.ledger.models import Refund
    from exchange.procurement import documents
    from tests.builders import PDF, end_publicity
    from tests.factories import PASSWORD
    listing, deal = evaluated(users, db)
    with pytest.raises(psvc.ProcurementError):
        psvc.award(users["point_a1"], listing)  # still in 公示
    assert end_publicity(deal) is None  # no contract before the award
    db.session.expire_all()
    assert listing.state == "contract"
    project = psvc.award(users["point_a1"], listing)
    assert project.state == "awarded" and project.notice_no and project.winner.buyer_id == users["buyer_3"].id
    contract = csvc.contract_for_deal(deal)
    assert contract.template == "procurement_works" and "村级建设工程施工合同" in csvc.render_text(contract)
    assert documents.notice_pdf(listing).startswith(b"%PDF") and documents.report_pdf(listing).startswith(b"%PDF")
    csvc.confirm(users["point_a1"], contract, PASSWORD, PDF, "采购人签字页.pdf")
    csvc.confirm(users["buyer_3"], contract, PASSWORD)
    db.session.commit()
    refunds = db.session.query(Refund).filter(Refund.listing_id == listing.id).all()
    assert len(refunds) == 3 and {r.reason for r in refunds} == {"bond"}
    for r in refunds:
        assert r.amount == Decimal("5000.00") and r.interest > 0
        assert (r.due_at - contract.effective_at).days <= 5
    from exchange.settlement import services as stl
    s = stl.for_deal(deal)
    assert s.balance_due == 0 and s.amount_to_pay == s.buyer_fee + s.seller_fee  # the price is paid outside
    if s.state == "awaiting":
        stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key=f"fee-{s.id}", receipt=PDF,
                            receipt_filename="回单.pdf")
    assert stl.charge_fees(users["finance"], s) is None
    db.session.commit()
    db.session.expire_all()
    assert s.state == "settled" and listing.state == "certification"
    from exchange.certificates import services as certs
    csvc.upload_scan(users["point_a1"], contract, PDF, "签章合同.pdf")
    csvc.check(users["center_reviewer"], contract, approve=True)
    cert = certs.issue(users["center_reviewer"], deal)
    db.session.commit()
    f = certs.facts(deal, cert.cert_no, cert.issued_at)
    assert (f.transferor_label, f.transferee_label, f.price_label, f.floor_label) == ("采购人", "中标人", "中标价", "最高限价")
    assert f.price == Decimal("249800.50") and f.floor_price == LIMIT and "公开招标" in f.conclusion
    assert "直接收付" in f.settlement and listing.state == "completed"


def test_another_candidate_needs_a_reason_and_the_centers_approval(users, db):
    from tests.builders import end_publicity
    listing, deal = evaluated(users, db)
    end_publicity(deal)
    project = psvc.project_of(listing)
    second = psvc.candidates(project)[1]
    with pytest.raises(psvc.ProcurementError) as exc:
        psvc.award(users["point_a1"], listing, second["registration"])
    assert exc.value.field == "reason"
    psvc.award(users["point_a1"], listing, second["registration"], reason="第一中标候选人书面放弃中标")
    assert psvc.award_pending(project) and project.state == "evaluated"
    with pytest.raises(Exception):
        psvc.decide_award(users["point_a1"], listing, True)  # the collective cannot approve itself
    psvc.decide_award(users["center_reviewer"], listing, True, "核实放弃声明属实")
    assert project.state == "awarded" and deal.buyer_id == users["buyer_org"].id and deal.price == Decimal("256000")


# --- 综合评分法: the panel draws, scores on phones and signs ---------------------------------------------------------------





def test_a_scored_project_with_a_three_member_panel_drawn_without_conflicts(users, orgs, db):
    from exchange.procurement import experts as pool
    from exchange.procurement import panel as panel_draw
    from exchange.procurement import scoring
    from tests.procurement_builders import road_terms
    made = experts(users, orgs)
    listing = published_project(users, db, terms=road_terms(**SCORED))
    suppliers(users)
    pay_bonds(users, listing)
    pool.add_party_tie(users["admin"], made[1], users["buyer_org"].party.id, "曾任该公司技术顾问")
    for k, p in {"buyer_org": "250000", "buyer_3": "240000", "buyer_coop": "260000"}.items():
        with pytest.raises(psvc.ProcurementError):  # 综合评分法: the proposal is required
            psvc.submit_bid(users[k], listing, price=p)
        psvc.submit_bid(users[k], listing, price=p, files=[pdf_upload(f"{k}-技术方案.pdf")])
    db.session.commit()
    to_opening(listing)
    with pytest.raises(psvc.ProcurementError):
        psvc.complete_evaluation(users["trading_officer"], listing)  # no panel yet
    slips = scoring.draw_panel(users["trading_officer"], listing)
    panel = scoring.panel_of(listing)
    chosen = {s.member.expert_id for s in slips}
    assert len(slips) == 3 and not chosen & {made[0].id, made[1].id}
    assert set(panel.excluded) == {made[0].id, made[1].id}
    assert panel_draw.redo(panel_draw.Draw(panel.seed, tuple(panel.eligible), tuple(s.member.expert_id for s in slips))
                           ) == tuple(s.member.expert_id for s in slips)
    bids = {b.supplier_id: b.id for b in psvc.opening_record(listing)}
    org, b3, coop = (bids[users[k].id] for k in ("buyer_org", "buyer_3", "buyer_coop"))
    sheets = [{org: ("30", "20"), b3: ("20", "15"), coop: ("34", "24")},
              {org: ("31", "21"), b3: ("22", "16"), coop: ("33", "23")},
              {org: ("29", "20"), b3: ("21", "14"), coop: ("35", "25")}]
    for slip, marks in zip(slips, sheets):
        member = scoring.member_by_token(slip.token)
        with pytest.raises(psvc.ProcurementError):
            scoring.open_sheet(member, "WRONGPW1")
        scoring.open_sheet(member, slip.password)
        scoring.save_scores(member, {bid: {"c1": a, "c2": b} for bid, (a, b) in marks.items()})
        with pytest.raises(psvc.ProcurementError):
            scoring.save_scores(member, {org: {"c1": "35.5"}})  # above the criterion's weight
        scoring.sign_sheet(member, slip.password.lower())
        with pytest.raises(psvc.ProcurementError):
            scoring.save_scores(member, {org: {"c1": "1"}})  # signed: locked
    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    ranked = psvc.candidates(psvc.project_of(listing))
    # price: 基准价 240 000 → 40 × 240000 / p; coop 40×0.923… = 36.92 + panel 58 = 94.92; b3 40 + 36 = 76; org 38.4 + 50.33
    assert [r["bid"] for r in ranked] == [coop, org, b3]
    assert ranked[0]["total"] == "94.92" and deal.buyer_id == users["buyer_coop"].id and deal.price == Decimal("260000")




def test_a_bid_document_is_sealed_and_opened_with_its_name_and_digest(users, orgs, db):
    import hashlib
    from exchange.storage import get_storage
    from tests.builders import PDF
    from tests.procurement_builders import road_terms
    listing = published_project(users, db, terms=road_terms(**SCORED))
    suppliers(users)
    pay_bonds(users, listing)
    bid = psvc.submit_bid(users["buyer_org"], listing, price="250000", files=[pdf_upload("技术方案.pdf")])
    stored = get_storage().open(bid.files[0].sealed_key)
    assert PDF not in stored and "技术方案".encode() not in stored and bid.files[0].filename is None
    for k in ("buyer_3", "buyer_coop"):
        psvc.submit_bid(users[k], listing, price="251000", files=[pdf_upload("方案.pdf")])
    db.session.commit()
    to_opening(listing)
    db.session.expire_all()
    f = bid.files[0]
    assert f.filename == "技术方案.pdf" and get_storage().open(f.open_key) == PDF
    assert f.sha256 == hashlib.sha256(PDF).hexdigest() and f.sha256 in bid.document


# --- 中止 and 重启 (第二十三条) during the bidding: the 开标 moves, the bids stay sealed --------------------------------------

def test_a_suspension_during_the_bidding_moves_the_opening_and_keeps_the_bids_sealed(users, db):
    from datetime import timedelta
    from exchange.incidents import suspension as ssvc
    from tests.builders import PDF
    listing = published_project(users, db)
    suppliers(users)
    pay_bonds(users, listing)
    for k, p in {"buyer_org": "256000", "buyer_3": "249800", "buyer_coop": "261000"}.items():
        psvc.submit_bid(users[k], listing, price=p)
    project = psvc.project_of(listing)
    first_opening = project.opens_at
    clock.freeze(clock.now() + timedelta(days=2))  # Wednesday 25 Nov
    ssvc.suspend(users["center_reviewer"], listing, ground="authority", basis="镇人民政府来函核查民主决策程序",
                 document=PDF, document_filename="来函.pdf")
    db.session.commit()
    clock.freeze(first_opening + timedelta(hours=1))
    from exchange.deadlines.sweeper import sweep
    sweep()
    assert project.state == "bidding" and project.opened_key is None  # nothing opens while suspended
    ssvc.apply_restart(users["center_reviewer"], listing, reason="核查完毕，程序合规")
    ssvc.decide_restart(users["center_reviewer"], listing, approve=True, decision="同意重启")
    db.session.commit()
    assert listing.state == "announced" and project.opens_at > first_opening
    assert listing.announce_end_at == project.opens_at
    to_opening(listing)
    db.session.expire_all()
    assert project.state == "opened" and len(psvc.opening_record(listing)) == 3


# --- 中标候选人公示 with an objection (招标投标法实施条例 第五十四条; the objection machinery of 交易公示) -------------------------

def test_an_objection_in_the_publicity_holds_the_award_until_the_center_decides(users, db):
    from datetime import timedelta
    from exchange.trading import services as tsvc
    listing, deal = evaluated(users, db)
    objection = tsvc.file_objection(users["buyer_org"], deal, name="t_buyer_org 测试公司", contact="13900000002",
                                    content="第一中标候选人的资质证书已过有效期，请核实。")
    db.session.commit()
    clock.freeze(deal.publicity_end_at + timedelta(minutes=1))
    from exchange.deadlines.sweeper import sweep
    sweep()
    db.session.expire_all()
    assert listing.state == "publicity"  # the publicity does not end while the objection is pending
    with pytest.raises(psvc.ProcurementError):
        psvc.award(users["point_a1"], listing)
    tsvc.decide_objection(users["center_reviewer"], objection, upheld=False,
                          decision="经核实，资质证书在有效期内，异议不成立。")
    db.session.commit()
    sweep()
    db.session.expire_all()
    assert listing.state == "contract"
    project = psvc.award(users["point_a1"], listing)
    assert project.state == "awarded" and project.winner.buyer_id == users["buyer_3"].id


def test_an_upheld_objection_suspends_the_project_and_no_one_is_awarded(users, db):
    from exchange.trading import services as tsvc
    listing, deal = evaluated(users, db)
    objection = tsvc.file_objection(users["buyer_coop"], deal, name="t_coop 测试公司", contact="13900000002",
                                    content="第一中标候选人与采购人的村干部存在亲属关系。")
    tsvc.decide_objection(users["center_reviewer"], objection, upheld=True,
                          decision="经核实，第一中标候选人法定代表人系该村村委会主任的近亲属，异议成立，中止交易。")
    db.session.commit()
    db.session.expire_all()
    assert listing.state == "suspended" and psvc.project_of(listing).state == "evaluated"
    with pytest.raises(psvc.ProcurementError):
        psvc.award(users["point_a1"], listing)


# --- a bid racing the opening (both databases; on PostgreSQL two real transactions) -----------------------------------

def test_a_bid_sent_as_the_opening_starts_is_either_opened_or_refused_never_left_sealed(app, users, db):
    from datetime import timedelta
    from exchange.accounts.models import User
    from exchange.extensions import db as _db
    from exchange.listings.models import Listing
    from tests.helpers import run_at_once
    listing = published_project(users, db)
    suppliers(users)
    pay_bonds(users, listing)
    psvc.submit_bid(users["buyer_3"], listing, price="251000")
    psvc.submit_bid(users["buyer_coop"], listing, price="252000")
    psvc.submit_bid(users["buyer_org"], listing, price="255000")  # its new bid (250 000) races the opening
    db.session.commit()
    project = psvc.project_of(listing)
    opens_at, listing_id, project_id, supplier_id = project.opens_at, listing.id, project.id, users["buyer_org"].id
    clock.freeze(opens_at - timedelta(milliseconds=1))  # the last instant bids are taken

    def work(i):
        with app.app_context():
            try:
                if i == 0:
                    bid = psvc.submit_bid(_db.session.get(User, supplier_id), _db.session.get(Listing, listing_id),
                                          price="250000")
                    _db.session.commit()
                    return ("bid", bid.id)
                opened = psvc.open_project(project_id, opens_at)
                _db.session.commit()
                return ("opened", opened)
            except psvc.ProcurementError as exc:
                _db.session.rollback()
                return ("refused", exc.message)
            finally:
                _db.session.remove()

    bid, opening = run_at_once(2, work)
    assert opening == ("opened", True)
    db.session.expire_all()
    assert psvc.project_of(listing).state == "opened"
    assert not psvc.bids_of(listing, states=("sealed",))  # nothing sealed is left behind
    opened = {b.supplier_id: b.price for b in psvc.opening_record(listing)}
    assert len(opened) == 3  # one standing bid per supplier, whichever came first
    if bid[0] == "bid":
        assert opened[supplier_id] == Decimal("250000")
    else:
        assert bid == ("refused", "该项目不在投标期内。") and opened[supplier_id] == Decimal("255000")


# --- 招商: the same path, the price direction reversed (item 7) --------------------------------------------------------

def test_an_investment_project_takes_the_highest_rent_and_refuses_one_under_its_minimum(users, db):
    from tests.procurement_builders import road_terms
    terms = road_terms(kind="", budget="", limit_price="60000", bond="1200",
                       scope="新建村闲置村部改建为农产品加工厂房，招引投资方投资经营，按年交纳租金。",
                       requirements="具有独立法人资格的农业企业或农民专业合作社，近三年无不良信用记录。")
    listing = published_project(users, db, mode="招商", title="新建村闲置村部招商", terms=terms)
    project = psvc.project_of(listing)
    assert project.direction == "higher" and project.kind == "" and project.limit_label == "最低价"
    suppliers(users)
    pay_bonds(users, listing)
    with pytest.raises(psvc.ProcurementError) as exc:
        psvc.submit_bid(users["buyer_org"], listing, price="59999.99")
    assert exc.value.field == "price" and "最低价" in exc.value.message
    for k, p in {"buyer_org": "66000", "buyer_3": "72500", "buyer_coop": "61000"}.items():
        psvc.submit_bid(users[k], listing, price=p)
    db.session.commit()
    to_opening(listing)
    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    assert deal.buyer_id == users["buyer_3"].id and deal.price == Decimal("72500")
    assert [c["supplier"] for c in psvc.candidates(project)] == [
        users[k].display_name for k in ("buyer_3", "buyer_org", "buyer_coop")]
