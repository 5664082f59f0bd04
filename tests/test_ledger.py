"""The double-entry ledger of the designated account: movements, invariants, idempotency, concurrency."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from exchange.extensions import db as _db
from exchange.ledger import services as led
from exchange.ledger.models import JournalEntry
from tests.builders import new_household_listing

D = Decimal


@pytest.fixture
def listing(users, db):
    listing = new_household_listing(users)
    db.session.commit()
    return listing


def test_a_whole_deal_balances(users, listing, db):
    winner, loser = users["buyer"], users["buyer_org"]
    led.record_deposit(listing, winner, D("16000"), key="bank-1")
    led.record_deposit(listing, loser, D("16000"), key="bank-2")
    led.refund_deposit(listing, loser)
    led.convert_deposit(listing, winner)
    led.record_price_payment(listing, D("144000"), key="bank-3")
    led.charge_fee(listing, D("1600"))
    led.pay_out(listing, D("158400"))
    db.session.commit()
    m = led.listing_money(listing.id)
    assert (m.money_in, m.money_out, m.held) == (D("176000.00"), D("174400.00"), D("1600.00"))
    assert led.held(led.fee_account(listing)) == D("1600.00")
    assert led.held(led.price_account(listing)) == D("0.00")
    assert led.balance(led.bank_account()) == D("1600.00")
    assert led.check() == []


def test_same_bank_line_is_booked_once(users, listing, db):
    a = led.record_deposit(listing, users["buyer"], D("16000"), key="line-42")
    b = led.record_deposit(listing, users["buyer"], D("16000"), key="line-42")
    db.session.commit()
    assert a.id == b.id and led.held(led.deposit_account(listing, users["buyer"])) == D("16000.00")


def test_no_double_refund_and_no_overdraw(users, listing, db):
    led.record_deposit(listing, users["buyer"], D("500"), key="k1")
    led.refund_deposit(listing, users["buyer"])
    with pytest.raises(led.LedgerError):
        led.refund_deposit(listing, users["buyer"])
    with pytest.raises(led.LedgerError):
        led.convert_deposit(listing, users["buyer"])
    led.record_price_payment(listing, D("100"), key="k2")
    with pytest.raises(led.LedgerError) as exc:
        led.pay_out(listing, D("100.01"))
    assert "余额不足" in exc.value.message
    db.session.commit()
    assert led.check() == []


@pytest.mark.parametrize("bad", [D("0"), D("-5"), D("1.005"), "abc"])
def test_bad_amounts_post_nothing(users, listing, db, bad):
    with pytest.raises((led.LedgerError, ValueError)):
        led.record_deposit(listing, users["buyer"], bad, key="bad")
    db.session.rollback()
    assert _db.session.query(JournalEntry).count() == 0


def test_float_is_refused(users, listing):
    with pytest.raises(TypeError):
        led.record_deposit(listing, users["buyer"], 100.0, key="float")


def test_unbalanced_entry_is_refused(listing, db):
    with pytest.raises(led.LedgerError):
        led.post("manual", [(led.bank_account(), D("10")), (led.price_account(listing), D("-9"))])


@pytest.mark.ledger_broken
def test_check_finds_tampering(users, listing, db):
    led.record_deposit(listing, users["buyer"], D("800"), key="t1")
    db.session.commit()
    db.session.execute(text("UPDATE journal_line SET amount = 900 WHERE amount = 800"))
    db.session.commit()
    problems = led.check()
    assert any("借贷不平衡" in p for p in problems)
    assert any("进账" in p for p in problems)


@pytest.mark.ledger_broken
def test_cli_ledger_check(app, users, listing, db):
    led.record_deposit(listing, users["buyer"], D("800"), key="c1")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0 and "OK" in result.output
    db.session.execute(text("UPDATE journal_line SET amount = -700 WHERE amount = -800"))
    db.session.commit()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1 and "不平衡" in result.output


@pytest.mark.concurrency
def test_concurrent_refunds_pay_once(app, users, listing, db):
    led.record_deposit(listing, users["buyer"], D("16000"), key="cc")
    db.session.commit()
    listing_id, buyer_id = listing.id, users["buyer"].id
    barrier = threading.Barrier(5)
    ok, refused = [], []

    def refund():
        with app.app_context():
            from exchange.accounts.models import User
            from exchange.listings.models import Listing
            lst, buyer = _db.session.get(Listing, listing_id), _db.session.get(User, buyer_id)
            led.deposit_account(lst, buyer)
            _db.session.commit()
            barrier.wait()
            try:
                led.refund_deposit(lst, buyer)
                _db.session.commit()
                ok.append(1)
            except led.LedgerError:
                _db.session.rollback()
                refused.append(1)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=refund) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(ok), len(refused)) == (1, 4)
    db.session.expire_all()
    assert led.held(led.deposit_account(listing, users["buyer"])) == D("0.00")
    assert led.check() == []
