"""违约 (第二十二条): the center declares the default only once the 签约 / 结算 clock ran out; the deposit is forfeited
where it is (deposit account, or already converted into the price); the deal is offered to the runner-up at their
own last price (accept → a new deal in 交易公示, then its contract; decline / expiry → next one or relisting);
the ledger balances after each step."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.contracts.models import Contract
from exchange.deadlines.sweeper import HANDLERS, sweep
from exchange.incidents import breach as dsvc
from exchange.incidents.models import DefaultCase, RunnerUpOffer
from exchange.ledger import refunds
from exchange.ledger import services as led
from exchange.ledger.models import Refund
from exchange.listings.models import Listing
from exchange.settlement import services as stl
from exchange.trading.models import Deal
from tests.builders import DEPOSIT, PDF, end_publicity, let_lapse, make_effective
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text, token_headers

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.article("第二十二条")]

REASON = "买受人逾期未签订合同，经电话和书面催告仍未签订"


def _listing(db, deal) -> Listing:
    db.session.expire_all()
    return db.session.get(Listing, deal.listing_id)


def _declare(users, db, deal):
    case = dsvc.declare_default(users["center_reviewer"], _listing(db, deal), reason=REASON)
    db.session.commit()
    return case


def _books_ok():
    assert led.check() == []


# --- declaring ---------------------------------------------------------------------------------------------------

def test_not_before_the_deadline_and_only_the_center(buyers, online_deal, db):
    deal, regs = online_deal
    contract = end_publicity(deal)
    listing = _listing(db, deal)
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.declare_default(buyers["center_reviewer"], listing, reason=REASON)
    assert "尚未届满" in exc.value.message
    clock.freeze(contract.due_at + timedelta(minutes=1))
    for who in ("trading_officer", "finance", "supervisor", "station_a", "point_a1", "buyer", "buyer_coop"):
        with pytest.raises(AccessDenied):
            dsvc.declare_default(buyers[who], listing, reason=REASON)
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.declare_default(buyers["center_reviewer"], listing, reason="  ")
    assert exc.value.field == "reason"
    # the buyer signing late, before any default, puts the contract in force: nobody is in default (第十六条)
    from exchange.contracts import services as csvc
    contract = db.session.get(Contract, contract.id)
    csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "转让方签字页.pdf")
    csvc.confirm(buyers["buyer"], contract, PASSWORD)
    assert listing.state == "settlement"
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.declare_default(buyers["center_reviewer"], listing, reason=REASON)
    assert "结算期限" in exc.value.message and "尚未届满" in exc.value.message
    db.session.rollback()
    assert _listing(db, deal).state == "contract"
    _books_ok()


def test_default_at_contract_stage_then_the_runner_up_accepts(buyers, overdue_contract, db):
    deal, regs = overdue_contract
    sweep()  # the overdue flag is written; the sweeper never declares the default itself
    listing = _listing(db, deal)
    assert listing.state == "contract" and dsvc.may_declare(buyers["center_reviewer"], listing)
    assert not dsvc.may_declare(buyers["trading_officer"], listing)

    case = _declare(buyers, db, deal)
    listing = _listing(db, deal)
    assert listing.state == "defaulted" and case.stage == "contract" and case.state == "open"
    assert db.session.get(Deal, deal.id).state == "defaulted"
    assert db.session.scalar(select(Contract).where(Contract.deal_id == deal.id)).state == "void"
    assert case.forfeited == DEPOSIT and case.forfeit_entry_id is not None
    assert led.held(led.forfeit_account(listing)) == DEPOSIT
    assert led.held(led.deposit_account(listing, buyers["buyer"])) == 0
    _books_ok()
    with pytest.raises(dsvc.DefaultError):  # twice
        dsvc.declare_default(buyers["center_reviewer"], listing, reason=REASON)
    db.session.rollback()

    # the runners-up: the priority holder who matched 160 000 first, then the earlier bidder at 160 000
    cands = dsvc.runner_up_candidates(listing)
    assert [c.registration.id for c in cands] == [regs["buyer_coop"].id, regs["buyer_org"].id]
    assert all(c.price == Decimal("160000.00") for c in cands)
    case = db.session.get(DefaultCase, case.id)
    with pytest.raises(dsvc.DefaultError) as exc:  # in order, highest first
        dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_org"].id)
    assert "从高到低" in exc.value.message
    with pytest.raises(dsvc.DefaultError):  # the defaulter is no candidate
        dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer"].id)
    for bad in (0, 11, "x", "2.5", -1):
        with pytest.raises(dsvc.DefaultError) as exc:
            dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id, days=bad)
        assert exc.value.field == "days"
    with pytest.raises(AccessDenied):
        dsvc.offer_to_runner_up(buyers["trading_officer"], case, regs["buyer_coop"].id)
    db.session.rollback()
    offer = dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id)
    db.session.commit()
    assert offer.price == Decimal("160000.00") and offer.state == "pending" and offer.due_at > clock.now()
    assert db.session.get(DefaultCase, case.id).state == "offered"
    with pytest.raises(dsvc.DefaultError) as exc:  # one pending offer at a time
        dsvc.offer_to_runner_up(buyers["center_reviewer"], db.session.get(DefaultCase, case.id), regs["buyer_org"].id)
    assert "等待答复" in exc.value.message
    with pytest.raises(dsvc.DefaultError):  # nor relisting while it waits
        dsvc.relist_after_default(buyers["center_reviewer"], db.session.get(DefaultCase, case.id), "重新挂牌试试")
    db.session.rollback()

    # only the offer's bidder answers, with their own password
    offer = db.session.get(RunnerUpOffer, offer.id)
    for who in ("buyer_org", "buyer", "center_reviewer"):
        with pytest.raises(AccessDenied):
            dsvc.answer_offer(buyers[who], offer, True, password=PASSWORD)
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.answer_offer(buyers["buyer_coop"], offer, True, password="wrong")
    assert exc.value.field == "password"
    db.session.rollback()

    coop_refund = db.session.scalar(select(Refund).where(Refund.registration_id == regs["buyer_coop"].id))
    assert coop_refund.state == "pending"  # opened for the losers at the conclusion
    offer = dsvc.answer_offer(buyers["buyer_coop"], db.session.get(RunnerUpOffer, offer.id), True, "同意按此价格受让",
                              password=PASSWORD)
    db.session.commit()
    listing = _listing(db, deal)
    case = db.session.get(DefaultCase, case.id)
    new = db.session.get(Deal, case.new_deal_id)
    assert offer.state == "accepted" and case.state == "accepted"
    assert listing.state == "publicity"
    assert new.registration_id == regs["buyer_coop"].id and new.price == Decimal("160000.00")
    assert new.state == "publicity" and new.method == "online_bidding" and new.session_id == deal.session_id
    assert new.deal_no == f"{deal.deal_no}-2" and new.publicity_end_at > clock.now()
    assert db.session.get(Deal, deal.id).state == "defaulted"
    from exchange.trading.services import deal_for
    assert deal_for(listing).id == new.id
    # the runner-up's refund is withdrawn: the deposit stays, to convert into the price later
    assert db.session.scalar(select(Refund).where(Refund.registration_id == regs["buyer_coop"].id)) is None
    assert led.held(led.deposit_account(listing, buyers["buyer_coop"])) == DEPOSIT
    assert db.session.scalar(select(Refund).where(Refund.registration_id == regs["buyer_org"].id)).state == "pending"
    _books_ok()
    with pytest.raises(dsvc.DefaultError):  # answered once
        dsvc.answer_offer(buyers["buyer_coop"], db.session.get(RunnerUpOffer, offer.id), False, password=PASSWORD)
    db.session.rollback()

    # the end of 交易公示 opens the contract with the runner-up (the sweeper, as for any deal)
    contract = end_publicity(new)
    assert contract is not None and contract.deal_id == new.id and contract.state == "draft"
    assert _listing(db, deal).state == "contract"
    assert contract.deal.buyer_id == buyers["buyer_coop"].id

    # then through to the settlement: the kept deposit converts
    make_effective(buyers, db.session.get(Deal, new.id))
    s = stl.ensure_settlement(db.session.get(Deal, new.id))
    db.session.commit()
    assert s.deposit_converted == DEPOSIT and s.balance_due == Decimal("144000.00")
    _books_ok()


def test_runner_up_declines_the_next_lets_it_expire_then_relisting(buyers, overdue_contract, db):
    deal, regs = overdue_contract
    case = _declare(buyers, db, deal)
    offer = dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id, days="2")
    db.session.commit()
    dsvc.answer_offer(buyers["buyer_coop"], offer, False, "资金不足，放弃", password=PASSWORD)
    db.session.commit()
    case = db.session.get(DefaultCase, case.id)
    assert case.state == "open" and db.session.get(RunnerUpOffer, offer.id).state == "declined"
    assert _listing(db, deal).state == "defaulted"
    assert [c.registration.id for c in dsvc.runner_up_candidates(_listing(db, deal))] == [regs["buyer_org"].id]

    second = dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_org"].id, days=1)
    db.session.commit()
    clock.freeze(second.due_at + timedelta(seconds=1))
    with pytest.raises(dsvc.DefaultError) as exc:  # too late to answer
        dsvc.answer_offer(buyers["buyer_org"], db.session.get(RunnerUpOffer, second.id), True, password=PASSWORD)
    assert "期限" in exc.value.message
    db.session.rollback()
    assert "offers.expire" in HANDLERS
    result = sweep()
    assert result.counts["offers.expire"] == 1
    db.session.expire_all()
    assert db.session.get(RunnerUpOffer, second.id).state == "expired"
    case = db.session.get(DefaultCase, case.id)
    assert case.state == "open"
    assert sweep().counts["offers.expire"] == 0  # idempotent

    listing = _listing(db, deal)
    assert dsvc.runner_up_candidates(listing) == []
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_org"].id)
    assert "重新挂牌" in exc.value.message
    with pytest.raises(AccessDenied):
        dsvc.relist_after_default(buyers["trading_officer"], case, "重新公开挂牌")
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.relist_after_default(buyers["center_reviewer"], case, "")
    assert exc.value.field == "reason"
    db.session.rollback()
    copy = dsvc.relist_after_default(buyers["center_reviewer"], db.session.get(DefaultCase, case.id),
                                     "次高报价人均放弃，重新公开挂牌")
    db.session.commit()
    listing = _listing(db, deal)
    case = db.session.get(DefaultCase, case.id)
    assert listing.state == "failed" and case.state == "relisted" and case.relisting_id == copy.id
    copy = db.session.get(Listing, copy.id)
    assert copy.state == "center_review" and copy.relisted_from_id == listing.id
    # the forfeiture stays, the losers' refunds go on as opened at the conclusion
    assert led.held(led.forfeit_account(listing)) == DEPOSIT
    assert db.session.scalar(select(func.count(Refund.id)).where(Refund.listing_id == listing.id)) == 2
    _books_ok()
    with pytest.raises(dsvc.DefaultError):
        dsvc.relist_after_default(buyers["center_reviewer"], case, "再挂一次")


def test_a_runner_up_already_refunded_pays_the_full_price(buyers, overdue_contract, db):
    deal, regs = overdue_contract
    refund = db.session.scalar(select(Refund).where(Refund.registration_id == regs["buyer_coop"].id))
    refunds.record_transfer(buyers["finance"], refund, "TK-COOP")
    refunds.approve(buyers["finance2"], refund)
    org_refund = db.session.scalar(select(Refund).where(Refund.registration_id == regs["buyer_org"].id))
    refunds.record_transfer(buyers["finance"], org_refund, "TK-ORG")  # transfer recorded, not approved yet
    db.session.commit()
    case = _declare(buyers, db, deal)
    offer = dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id)
    db.session.commit()
    dsvc.answer_offer(buyers["buyer_coop"], offer, True, password=PASSWORD)
    db.session.commit()
    new = db.session.get(Deal, db.session.get(DefaultCase, case.id).new_deal_id)
    make_effective(buyers, new)
    s = stl.ensure_settlement(db.session.get(Deal, new.id))
    db.session.commit()
    assert s.deposit_converted == 0 and s.balance_due == Decimal("160000.00")
    _books_ok()


def test_a_runner_up_whose_refund_transfer_is_recorded_keeps_it_going_back(buyers, overdue_contract, db):
    """The transfer is recorded (the money is on its way back): not withdrawn, not converted at settlement."""
    deal, regs = overdue_contract
    refund = db.session.scalar(select(Refund).where(Refund.registration_id == regs["buyer_coop"].id))
    refunds.record_transfer(buyers["finance"], refund, "TK-COOP")
    db.session.commit()
    case = _declare(buyers, db, deal)
    offer = dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id)
    db.session.commit()
    dsvc.answer_offer(buyers["buyer_coop"], offer, True, password=PASSWORD)
    db.session.commit()
    new = db.session.get(Deal, db.session.get(DefaultCase, case.id).new_deal_id)
    make_effective(buyers, new)
    s = stl.ensure_settlement(db.session.get(Deal, new.id))
    db.session.commit()
    assert s.deposit_converted == 0 and s.balance_due == Decimal("160000.00")
    refunds.approve(buyers["finance2"], db.session.get(Refund, refund.id))
    db.session.commit()
    assert led.held(led.deposit_account(new.listing, buyers["buyer_coop"])) == 0
    _books_ok()


def test_default_at_settlement_stage_forfeits_the_converted_deposit(users, effective, db):
    deal = effective
    s = stl.ensure_settlement(deal)
    db.session.commit()
    listing = _listing(db, deal)
    assert led.held(led.price_account(listing)) == DEPOSIT  # the deposit became part of the price
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.declare_default(users["center_reviewer"], listing, reason="逾期未交清价款")
    assert "尚未届满" in exc.value.message
    clock.freeze(s.due_at + timedelta(minutes=1))
    case = dsvc.declare_default(users["center_reviewer"], listing, reason="逾期未交清价款，催告无果")
    db.session.commit()
    listing = _listing(db, deal)
    assert case.stage == "settlement" and case.forfeited == DEPOSIT and listing.state == "defaulted"
    assert db.session.get(type(s), s.id).state == "void"
    assert db.session.scalar(select(Contract).where(Contract.deal_id == deal.id)).state == "void"
    assert led.held(led.price_account(listing)) == 0
    assert led.held(led.forfeit_account(listing)) == DEPOSIT
    _books_ok()
    # the balance arriving now cannot be booked (the payment paths hold it on suspense and return it)
    s = db.session.get(type(s), s.id)
    assert stl.payable_problem(s, s.amount_to_pay) is not None
    # an agreement deal has no runner-up: relisting only
    assert dsvc.runner_up_candidates(listing) == []
    copy = dsvc.relist_after_default(users["center_reviewer"], case, "买受人违约，重新公开挂牌")
    db.session.commit()
    assert db.session.get(Listing, copy.id).state == "center_review"
    _books_ok()


def test_settlement_stage_without_a_settlement_opened_forfeits_from_the_deposit(users, effective, db):
    deal = effective
    contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    clock.freeze(contract.effective_at + timedelta(days=11))
    case = dsvc.declare_default(users["center_reviewer"], _listing(db, deal), reason="逾期未交清价款，催告无果")
    db.session.commit()
    listing = _listing(db, deal)
    assert case.forfeited == DEPOSIT and led.held(led.deposit_account(listing, users["buyer_org"])) == 0
    assert led.held(led.forfeit_account(listing)) == DEPOSIT
    _books_ok()


def test_a_paid_balance_is_no_default(users, effective, db):
    deal = effective
    s = stl.ensure_settlement(deal)
    stl.book_balance(s, s.amount_to_pay, source="receipt", source_ref="HX-1", key="price:HX-1",
                     arrived_at=clock.now())
    db.session.commit()
    clock.freeze(s.due_at + timedelta(days=1))
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.declare_default(users["center_reviewer"], _listing(db, deal), reason="逾期未完成结算")
    assert "已经到账" in exc.value.message


# --- pages ---------------------------------------------------------------------------------------------------------

def _logout(client):
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})


def test_the_pages(client, buyers, overdue_contract, db):
    deal, regs = overdue_contract
    listing_id = deal.listing_id
    login(client, "t_trader", PASSWORD)
    assert client.get(f"/listings/{listing_id}/default").status_code == 403
    assert "违约处理（第二十二条）" not in text(client.get(f"/listings/{listing_id}"))
    _logout(client)

    login(client, "t_reviewer", PASSWORD)
    assert "违约处理（第二十二条）" in text(client.get(f"/listings/{listing_id}"))
    page = text(client.get(f"/listings/{listing_id}/default"))
    assert "认定违约" in page and "160,500.00" in page
    resp = client.post(f"/listings/{listing_id}/default/declare", data={"csrf_token": csrf_from(page), "reason": ""})
    assert resp.status_code == 400 and "4 至 2000 字" in text(resp)
    assert client.post(f"/listings/{listing_id}/default/declare", data={"reason": REASON}).status_code == 400  # CSRF
    resp = client.post(f"/listings/{listing_id}/default/declare",
                       data={"csrf_token": csrf_from(page), "reason": REASON}, follow_redirects=True)
    body = text(resp)
    assert resp.status_code == 200 and "已认定受让方（买受人）违约" in body and "16,000.00" in body
    assert "向次高报价人要约" in body and regs["buyer_coop"].bidder_no in body
    resp = client.post(f"/listings/{listing_id}/default/offer",
                       data={"csrf_token": csrf_from(body), "registration_id": regs["buyer_coop"].id, "days": "abc"})
    assert resp.status_code == 400 and "答复期限应为 1 至 10" in text(resp)
    resp = client.post(f"/listings/{listing_id}/default/offer",
                       data={"csrf_token": csrf_from(body), "registration_id": regs["buyer_org"].id, "days": "3"})
    assert resp.status_code == 400 and "请先向竞买号" in text(resp)
    resp = client.post(f"/listings/{listing_id}/default/offer",
                       data={"csrf_token": csrf_from(body), "registration_id": regs["buyer_coop"].id, "days": "3"},
                       follow_redirects=True)
    assert "已向次高报价人发出要约" in text(resp)
    offer = db.session.scalar(select(RunnerUpOffer))
    _logout(client)

    # another bidder may not see or answer it
    login(client, "t_buyer_org", PASSWORD)
    assert client.get(f"/offers/{offer.id}").status_code == 403
    token = csrf_from(text(client.get("/offers")))
    assert client.post(f"/offers/{offer.id}/answer", data={"csrf_token": token, "decision": "accept",
                                                         "password": PASSWORD}).status_code == 403
    _logout(client)

    login(client, "t_coop", PASSWORD)
    mine = text(client.get("/offers"))
    assert "160,000.00" in mine and "待答复" in mine
    page = text(client.get(f"/offers/{offer.id}"))
    assert "壹拾陆万元整" in page and "24:00" in page and "接受" in page
    resp = client.post(f"/offers/{offer.id}/answer",
                       data={"csrf_token": csrf_from(page), "decision": "accept", "password": "wrong"})
    assert resp.status_code == 400 and "密码不正确" in text(resp)
    resp = client.post(f"/offers/{offer.id}/answer",
                       data={"csrf_token": csrf_from(page), "decision": "maybe", "password": PASSWORD})
    assert resp.status_code == 400
    resp = client.post(f"/offers/{offer.id}/answer",
                       data={"csrf_token": csrf_from(page), "decision": "accept", "password": PASSWORD},
                       follow_redirects=True)
    assert "您已接受要约" in text(resp)
    assert db.session.get(RunnerUpOffer, offer.id).state == "accepted"
    assert db.session.get(Listing, listing_id).state == "publicity"
    _logout(client)

    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/listings/{listing_id}/default"))
    assert "次高报价人已接受" in page and f"{deal.deal_no}-2" in page


def test_relisting_page(client, users, effective, db):
    deal = effective
    contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    clock.freeze(contract.effective_at + timedelta(days=11))
    dsvc.declare_default(users["center_reviewer"], _listing(db, deal), reason="逾期未交清价款，催告无果")
    db.session.commit()
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/listings/{deal.listing_id}/default"))
    assert "没有可要约的次高报价人" in page and "重新挂牌" in page
    resp = client.post(f"/listings/{deal.listing_id}/default/relist",
                       data={"csrf_token": csrf_from(page), "reason": "重新挂牌", "reps_for": "x"})
    assert resp.status_code == 400 and "请填写整数人数" in text(resp)
    resp = client.post(f"/listings/{deal.listing_id}/default/relist",
                       data={"csrf_token": csrf_from(page), "reason": "买受人违约，重新公开挂牌"})
    assert resp.status_code == 302
    copy = db.session.scalar(select(Listing).where(Listing.relisted_from_id == deal.listing_id))
    assert copy is not None and copy.state == "center_review"


# --- API -----------------------------------------------------------------------------------------------------------

def test_the_api(client, buyers, overdue_contract, db):
    deal, regs = overdue_contract
    reviewer, trader = token_headers(db, buyers, "center_reviewer"), token_headers(db, buyers, "trading_officer")
    coop, org = token_headers(db, buyers, "buyer_coop"), token_headers(db, buyers, "buyer_org")
    lid = deal.listing_id
    assert client.post(f"/api/v1/listings/{lid}/default", headers=trader, json={"reason": REASON}).status_code == 403
    bad = client.post(f"/api/v1/listings/{lid}/default", headers=reviewer, json={"reason": "短"})
    assert bad.status_code == 400 and "reason" in bad.get_json()["fields"]
    assert client.post(f"/api/v1/listings/{lid}/default", headers=reviewer, json={}).status_code == 422
    assert client.get(f"/api/v1/listings/{lid}/default", headers=reviewer).status_code == 404
    ok = client.post(f"/api/v1/listings/{lid}/default", headers=reviewer, json={"reason": REASON})
    assert ok.status_code == 201, ok.get_json()
    case = ok.get_json()
    assert case["stage"] == "contract" and case["forfeited"] == "16000.00" and case["state"] == "open"
    assert [c["registration_id"] for c in case["candidates"]] == [regs["buyer_coop"].id, regs["buyer_org"].id]
    assert client.get(f"/api/v1/defaults/{case['id']}", headers=coop).status_code == 403
    assert client.get(f"/api/v1/defaults/{case['id']}", headers=trader).status_code == 200
    bad = client.post(f"/api/v1/defaults/{case['id']}/offers", headers=reviewer,
                      json={"registration_id": regs["buyer_coop"].id, "days": 0})
    assert bad.status_code == 400 and "days" in bad.get_json()["fields"]
    assert client.post(f"/api/v1/defaults/{case['id']}/offers", headers=reviewer,
                       json={"registration_id": "abc"}).status_code == 422
    assert client.post(f"/api/v1/defaults/999999/offers", headers=reviewer,
                       json={"registration_id": 1}).status_code == 404
    made = client.post(f"/api/v1/defaults/{case['id']}/offers", headers=reviewer,
                       json={"registration_id": regs["buyer_coop"].id, "days": 3})
    assert made.status_code == 201
    offer = made.get_json()
    assert offer["price"] == "160000.00" and offer["price_upper"] == "壹拾陆万元整" and offer["state"] == "pending"
    again = client.post(f"/api/v1/defaults/{case['id']}/offers", headers=reviewer,
                        json={"registration_id": regs["buyer_org"].id})
    assert again.status_code == 400
    assert client.get(f"/api/v1/offers/{offer['id']}", headers=org).status_code == 403
    assert client.get(f"/api/v1/offers/{offer['id']}", headers=coop).status_code == 200
    assert client.post(f"/api/v1/offers/{offer['id']}/answer", headers=org,
                       json={"accept": True, "password": PASSWORD}).status_code == 403
    assert client.post(f"/api/v1/offers/{offer['id']}/answer", headers=coop, json={"accept": True}).status_code == 422
    wrong = client.post(f"/api/v1/offers/{offer['id']}/answer", headers=coop, json={"accept": True, "password": "x"})
    assert wrong.status_code == 400 and "密码" in wrong.get_json()["message"]
    yes = client.post(f"/api/v1/offers/{offer['id']}/answer", headers=coop,
                      json={"accept": True, "password": PASSWORD, "note": "同意"})
    assert yes.status_code == 200 and yes.get_json()["state"] == "accepted"
    read = client.get(f"/api/v1/listings/{lid}/default", headers=reviewer).get_json()
    assert read["state"] == "accepted" and read["new_deal_id"]
    late = client.post(f"/api/v1/defaults/{case['id']}/relist", headers=reviewer, json={"reason": "重新挂牌一次"})
    assert late.status_code == 400


def test_relist_over_the_api(client, users, effective, db):
    deal = effective
    contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    clock.freeze(contract.effective_at + timedelta(days=11))
    reviewer = token_headers(db, users, "center_reviewer")
    case = client.post(f"/api/v1/listings/{deal.listing_id}/default", headers=reviewer,
                       json={"reason": "逾期未交清价款，催告无果"}).get_json()
    assert case["stage"] == "settlement" and case["candidates"] == []
    assert client.post(f"/api/v1/defaults/{case['id']}/offers", headers=reviewer,
                       json={"registration_id": case["registration_id"]}).status_code == 400
    resp = client.post(f"/api/v1/defaults/{case['id']}/relist", headers=reviewer,
                       json={"reason": "买受人违约，重新公开挂牌"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["relisting_state"] == "center_review" and body["case"]["state"] == "relisted"


def test_a_runner_up_who_defaults_in_turn(buyers, overdue_contract, db):
    """The runner-up's own deal can default too: a second case, its kept deposit forfeited, the next bidder."""
    deal, regs = overdue_contract
    case = _declare(buyers, db, deal)
    offer = dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id)
    db.session.commit()
    dsvc.answer_offer(buyers["buyer_coop"], offer, True, password=PASSWORD)
    db.session.commit()
    new = db.session.get(Deal, db.session.get(DefaultCase, case.id).new_deal_id)
    contract = end_publicity(new)
    let_lapse(contract)  # the transferor signed again; the runner-up did not
    second = _declare(buyers, db, new)
    assert second.party == "buyer"
    listing = _listing(db, deal)
    assert second.id != case.id and second.deal_id == new.id and second.forfeited == DEPOSIT
    assert dsvc.current_case(listing).id == second.id
    assert led.held(led.forfeit_account(listing)) == 2 * DEPOSIT
    assert [c.registration.id for c in dsvc.runner_up_candidates(listing)] == [regs["buyer_org"].id]
    third = dsvc.offer_to_runner_up(buyers["center_reviewer"], second, regs["buyer_org"].id)
    db.session.commit()
    dsvc.answer_offer(buyers["buyer_org"], third, True, password=PASSWORD)
    db.session.commit()
    latest = db.session.get(Deal, db.session.get(DefaultCase, second.id).new_deal_id)
    assert latest.deal_no == f"{deal.deal_no}-3" and latest.registration_id == regs["buyer_org"].id
    _books_ok()


def test_forfeited_deposit_paid_to_the_transferor_with_four_eyes(buyers, overdue_contract, db):
    """The center decides to pay what was forfeited to the transferor's registered account; finance pays it like a
    refund (recorded by one, approved by another); the forfeit account is then empty and the books balance."""
    deal, regs = overdue_contract
    case = _declare(buyers, db, deal)
    listing = _listing(db, deal)
    with pytest.raises(AccessDenied):
        dsvc.pay_compensation(buyers["finance"], case)
    refund = dsvc.pay_compensation(buyers["center_reviewer"], case)
    db.session.commit()
    assert refund.reason == "forfeit" and refund.amount == DEPOSIT and listing.account_no in refund.payee
    with pytest.raises(dsvc.DefaultError):  # decided once
        dsvc.pay_compensation(buyers["center_reviewer"], case)
    db.session.rollback()
    refunds.record_transfer(buyers["finance"], refund, "HD-WY-0001")
    db.session.commit()
    with pytest.raises(refunds.RefundError):
        refunds.approve(buyers["finance"], refund)  # the same person cannot approve
    db.session.rollback()
    refunds.approve(buyers["finance2"], db.session.get(Refund, refund.id))
    db.session.commit()
    assert led.held(led.forfeit_account(_listing(db, deal))) == 0
    _books_ok()
    with pytest.raises(dsvc.DefaultError) as exc:
        dsvc.pay_compensation(buyers["center_reviewer"], db.session.get(DefaultCase, case.id))
    assert "划付" in exc.value.message


def test_compensation_page(client, buyers, overdue_contract, db):
    deal, regs = overdue_contract
    _declare(buyers, db, deal)
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/listings/{deal.listing_id}/default"))
    assert "划付转让方（弥补损失）" in page
    resp = client.post(f"/listings/{deal.listing_id}/default/compensation", data={"csrf_token": csrf_from(page)},
                       follow_redirects=True)
    body = text(resp)
    assert resp.status_code == 200 and "由财务在 5 个工作日内办理" in body and "待财务登记转账" in body
