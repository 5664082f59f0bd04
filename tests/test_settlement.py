"""资金结算 at the service level (第十七条, 第十九条(二), 第二十一条; DESIGN §3.5, §3.7): the fee table's
arithmetic, the balance due after the deposit converts, the three ways the balance arrives (exact amounts
only), fees, the payout with four eyes, and the listing reaching 鉴证."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.ledger import services as led
from exchange.ledger.models import Refund
from exchange.listings.models import Listing
from exchange.payments import services as psvc
from exchange.payments import statements as ssvc
from exchange.payments.models import PaymentOrder
from exchange.payments.providers import SandboxProvider
from exchange.settlement import services as stl
from exchange.settlement.models import FeeRule, Payout, Settlement
from exchange.trading import services as tsvc
from tests.builders import DEPOSIT, PDF, PRICE, csv_bytes, full_path, local, pay, set_fee, to_trading

pytestmark = pytest.mark.usefixtures("uploads")


# --- fee arithmetic --------------------------------------------------------------------------------

def rule(**kw):
    return FeeRule(**{"basis": "rate", "rate": None, "fixed_amount": None, "min_fee": None, "max_fee": None,
                      "payer": "buyer", **kw})


@pytest.mark.parametrize("kw, price, fee", [
    ({"rate": Decimal("0.01")}, "160000", "1600.00"),
    ({"rate": Decimal("0.01"), "max_fee": Decimal("1000")}, "160000", "1000.00"),   # clamped to the maximum
    ({"rate": Decimal("0.01"), "min_fee": Decimal("500")}, "20000", "500.00"),      # raised to the minimum
    ({"rate": Decimal("0.00333")}, "1000.50", "3.33"),                               # to the 分, half up
    ({"rate": Decimal("0.005")}, "101", "0.51"),
    ({"basis": "fixed", "fixed_amount": Decimal("300")}, "160000", "300.00"),
    ({"basis": "fixed", "fixed_amount": Decimal("300"), "max_fee": Decimal("200")}, "160000", "200.00"),
    ({"rate": Decimal("0")}, "160000", "0.00"),                                      # zero allowed
])
def test_fee_amount(kw, price, fee):
    assert stl.fee_amount(rule(**kw), Decimal(price)) == Decimal(fee)


def test_fee_split():
    assert stl.split_fee(Decimal("100.01"), "both") == (Decimal("50.01"), Decimal("50.00"))  # odd 分 to the buyer
    assert stl.split_fee(Decimal("0.01"), "both") == (Decimal("0.01"), Decimal("0.00"))
    assert stl.split_fee(Decimal("100.00"), "both") == (Decimal("50.00"), Decimal("50.00"))
    assert stl.split_fee(Decimal("7.00"), "seller") == (Decimal("0.00"), Decimal("7.00"))
    assert stl.split_fee(Decimal("7.00"), "buyer") == (Decimal("7.00"), Decimal("0.00"))
    assert stl.fee_amount(None, Decimal("1")) == 0


def test_fee_table_validation_and_category_precedence(users, db):
    for kw, field in [({"rate": "1"}, "rate"), ({"rate": "-0.1"}, "rate"), ({"rate": "abc"}, "rate"),
                      ({"rate": ""}, "rate"), ({"rate": "0.01", "min_fee": "10", "max_fee": "5"}, "min_fee"),
                      ({"rate": "0.01", "payer": "center"}, "payer"), ({"basis": "x"}, "basis"),
                      ({"basis": "fixed", "fixed_amount": ""}, "fixed_amount"),
                      ({"basis": "fixed", "fixed_amount": "-1"}, "fixed_amount")]:
        with pytest.raises(stl.SettlementError) as exc:
            set_fee(users, **kw)
        assert exc.value.field == field, kw
        db.session.rollback()
    with pytest.raises(AccessDenied):
        stl.save_fee_rule(users["finance"], None, basis="rate", rate="0.01", payer="buyer")
    db.session.rollback()
    set_fee(users, rate="0.02", payer="seller")  # the default row
    set_fee(users, category_id=1, basis="fixed", fixed_amount="100", payer="both")
    assert stl.fee_rule_for(1).basis == "fixed" and stl.fee_rule_for(2).rate == Decimal("0.02")
    assert db.session.scalar(select(func.count(FeeRule.id))) == 2  # the default row was updated, not added


# --- the settlement ---------------------------------------------------------------------------------

def test_settlement_needs_an_effective_contract(users, announced, db):
    pay(users, announced, ["buyer_org"])
    db.session.commit()
    deal = tsvc.confirm_agreement(users["trading_officer"], to_trading(announced))
    with pytest.raises(stl.SettlementError):
        stl.ensure_settlement(deal)


@pytest.mark.article("第十七条")
def test_deposit_converts_and_the_balance_is_due_in_10_days(users, effective, db):
    deal = effective
    set_fee(users, category_id=deal.listing.category_id, rate="0.01", max_fee="1000", payer="both")
    s = stl.ensure_settlement(deal)
    db.session.commit()
    assert stl.ensure_settlement(deal).id == s.id  # idempotent
    assert db.session.scalar(select(func.count(Settlement.id))) == 1
    assert s.price == PRICE and s.deposit_converted == DEPOSIT and s.balance_due == PRICE - DEPOSIT
    assert (s.buyer_fee, s.seller_fee) == (Decimal("500.00"), Decimal("500.00"))
    assert s.amount_to_pay == Decimal("144500.00")
    assert s.payment_ref.startswith("JS") and len(s.payment_ref) == 12
    assert clock.to_local(s.due_at - timedelta(seconds=1)).date() == clock.to_local(clock.now()).date() + timedelta(days=10)
    listing = deal.listing
    assert led.held(led.price_account(listing)) == DEPOSIT
    assert led.held(led.deposit_account(listing, users["buyer_org"])) == 0


def test_a_deposit_above_the_price_converts_up_to_the_price_and_the_rest_is_returned(users, effective, db):
    deal = effective
    deal.price = Decimal("10000.00")  # (an offline price below the deposit, for the arithmetic)
    db.session.commit()
    s = stl.ensure_settlement(deal)
    db.session.commit()
    assert s.deposit_converted == Decimal("10000.00") and s.balance_due == 0 and s.state == "paid"
    refund = db.session.scalar(select(Refund).where(Refund.reason == "other"))
    assert refund.amount == Decimal("6000.00")
    assert led.held(led.price_account(deal.listing)) == Decimal("10000.00")


def test_receipt_fees_payout_four_eyes_and_certification(users, effective, db):
    deal = effective
    set_fee(users, rate="0.01", min_fee="2000", payer="both")  # default row: 1600 → 2000, split 1000/1000
    s = stl.ensure_settlement(deal)
    db.session.commit()
    assert s.amount_to_pay == Decimal("145000.00")
    for amount, code in [("144999.99", "partial"), ("145000.01", "excess")]:
        with pytest.raises(stl.NotPayable) as exc:
            stl.confirm_receipt(users["finance"], s, amount, source_key="R-1", receipt=PDF, receipt_filename="r.pdf")
        assert exc.value.code == code
        db.session.rollback()
    with pytest.raises(AccessDenied):
        stl.confirm_receipt(users["center_reviewer"], s, "145000", source_key="R-1", receipt=PDF,
                            receipt_filename="r.pdf")
    db.session.rollback()
    with pytest.raises(stl.SettlementError):
        stl.charge_fees(users["finance"], s)  # nothing paid yet
    db.session.rollback()
    with pytest.raises(stl.SettlementError):
        stl.confirm_receipt(users["finance"], s, "145000", source_key="R-1")  # no receipt
    db.session.rollback()
    stl.confirm_receipt(users["finance"], s, "145000", source_key="R-1", receipt=PDF, receipt_filename="r.pdf")
    db.session.commit()
    assert s.state == "paid" and s.source == "receipt" and s.receipt_key
    assert stl.confirm_receipt(users["finance"], s, "145000", source_key="R-1", receipt=PDF,
                               receipt_filename="r.pdf") is s  # the same receipt twice: once
    payout = full_path(users, s, db)
    listing = deal.listing
    assert payout.amount == Decimal("159000.00") and payout.payee_account == listing.account_no
    assert payout.state == "approved" and payout.recorded_by_id != payout.approved_by_id
    assert s.state == "settled" and s.certificate_due_at > s.settled_at
    assert db.session.get(Listing, listing.id).state == "certification"
    assert led.held(led.price_account(listing)) == 0
    assert led.held(led.fee_account(listing)) == Decimal("2000.00")
    assert db.session.scalar(select(func.count(led.JournalEntry.id)).where(led.JournalEntry.kind == "payout")) == 1


def test_the_database_refuses_the_same_user_as_maker_and_checker(users, effective, db):
    s = stl.ensure_settlement(effective)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-2", receipt=PDF,
                        receipt_filename="r.pdf")
    payout = stl.charge_fees(users["finance"], s)
    stl.record_transfer(users["finance"], payout, "HK-2")
    db.session.commit()
    from sqlalchemy.exc import IntegrityError
    payout.approved_by_id = payout.recorded_by_id
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_zero_fee_and_the_sandbox_payment(users, effective, db):
    s = stl.ensure_settlement(effective)  # the reseeded default row: rate 0
    db.session.commit()
    assert s.buyer_fee == 0 and s.seller_fee == 0 and s.amount_to_pay == PRICE - DEPOSIT
    with pytest.raises(AccessDenied):
        psvc.start_price_payment(users["buyer"], s)  # not the winner
    order = psvc.start_price_payment(users["buyer_org"], s)
    assert psvc.start_price_payment(users["buyer_org"], s).id == order.id
    db.session.commit()
    provider = SandboxProvider()
    body, headers = provider.notification_for(order)
    result = psvc.receive_notification("sandbox", body, headers)
    db.session.commit()
    assert result.outcome == "booked" and s.state == "paid" and s.source == "online"
    again = psvc.receive_notification("sandbox", body, headers)  # the provider retrying
    assert again.outcome == "duplicate"
    # a second, different payment of the same order is held and returned
    body2, headers2 = provider.notification_for(order)
    assert psvc.receive_notification("sandbox", body2, headers2).outcome == "suspense"
    db.session.commit()
    with pytest.raises(psvc.PaymentError):
        psvc.start_price_payment(users["buyer_org"], s)
    payout = full_path(users, s, db)
    assert payout.amount == PRICE and led.held(led.fee_account(effective.listing)) == 0


def test_online_payment_of_the_wrong_amount_is_held_and_returned(users, effective, db):
    s = stl.ensure_settlement(effective)
    order = psvc.start_price_payment(users["buyer_org"], s)
    db.session.commit()
    body, headers = SandboxProvider().notification_for(order, amount=Decimal("100.00"))
    result = psvc.receive_notification("sandbox", body, headers)
    db.session.commit()
    assert result.outcome == "suspense" and s.state == "awaiting"
    assert db.session.scalar(select(Refund).where(Refund.reason == "unmatched")).amount == Decimal("100.00")


def test_statement_lines_with_the_js_reference(users, effective, db):
    s = stl.ensure_settlement(effective)
    db.session.commit()
    t = local(clock.now() - timedelta(minutes=30))
    due = s.amount_to_pay
    data = csv_bytes([
        ["P001", t, "", str(due - 1), "测试公司", "6222", f"价款 {s.payment_ref}"],
        ["P002", t, "", str(due + 1), "测试公司", "6222", f"{s.payment_ref}"],
        ["P003", t, "", str(due), "测试公司", "6222", f"价款{s.payment_ref}"],
        ["P004", t, "", str(due), "测试公司", "6222", "JS0000000000"],
    ])
    stmt = ssvc.import_statement(users["finance"], data, "流水.csv")
    db.session.commit()
    lines = {line.bank_txn_id: line for line in stmt.lines}
    assert [lines[k].match for k in ("P001", "P002", "P003", "P004")] == ["partial", "excess", "matched", "unknown"]
    assert lines["P003"].settlement_id == s.id and lines["P003"].payment_ref == s.payment_ref
    assert ssvc.allowed_decisions(lines["P002"]) == ["suspense"]  # over is never booked as the price
    with pytest.raises(ssvc.StatementError):
        ssvc.decide(users["finance"], lines["P001"], "book")
    db.session.rollback()
    ssvc.decide(users["finance"], lines["P001"], "suspense")
    ssvc.decide(users["finance"], lines["P002"], "suspense")
    ssvc.decide(users["finance"], lines["P003"], "book")
    db.session.commit()
    assert s.state == "paid" and s.source == "statement" and s.source_ref == "P003"
    assert db.session.scalar(select(func.count(Refund.id)).where(Refund.reason == "unmatched")) == 2
    assert led.held(led.price_account(effective.listing)) == PRICE


@pytest.mark.article("第二十一条")
def test_collective_payee_must_be_the_collective(users, effective, db):
    s = stl.ensure_settlement(effective)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-3", receipt=PDF,
                        receipt_filename="r.pdf")
    listing = effective.listing
    listing.transferor_kind, listing.transferor_name, listing.account_name = "collective", "某村股份经济合作社", "张三"
    with pytest.raises(stl.SettlementError) as exc:
        stl.charge_fees(users["finance"], s)
    assert "第二十一条" in exc.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(Payout.id))) == 0


def test_the_finance_list_opens_missing_settlements(users, effective, db):
    assert stl.open_missing() == 1 and stl.open_missing() == 0
    db.session.commit()
    q = stl.queues()
    assert len(q["awaiting"]) == 1
    clock.advance(days=11)
    assert len(stl.queues()["overdue"]) == 1 and stl.overdue()
    assert db.session.scalar(select(func.count(PaymentOrder.id))) == 0
