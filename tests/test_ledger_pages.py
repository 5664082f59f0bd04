"""The finance workbench over HTTP: refunds (maker-checker) and the ledger pages, as finance staff, the
supervisor (read-only) and everyone else (refused)."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.ledger import refunds
from exchange.ledger import services as led
from exchange.ledger.models import JournalEntry, Refund
from tests.builders import FORBIDDEN, deposit_held
from tests.factories import PASSWORD
from tests.helpers import csrf_from, get_csrf, login, post_form, text

pytestmark = pytest.mark.usefixtures("uploads")


def pages(m) -> list[str]:
    return ["/finance/refunds", f"/finance/refunds/{m.refund_id}", "/finance/ledger",
            f"/finance/ledger/listing/{m.listing_id}", f"/finance/ledger/buyer/{m.buyer_id}", "/finance/ledger/suspense"]


def posts(m) -> list[tuple[str, dict]]:
    return [(f"/finance/refunds/{m.refund_id}/transfer", {"bank_ref": "TK-1"}),
            (f"/finance/refunds/{m.refund_id}/approve", {})]


def refund_state(db, refund_id):
    db.session.expire_all()
    return db.session.get(Refund, refund_id)


def relogin(client, username):
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    assert login(client, username, PASSWORD).status_code == 302


# --- who sees what ----------------------------------------------------------------------------------

def test_every_page_renders_for_finance(client, users, money):
    login(client, "t_finance", PASSWORD)
    for url in pages(money):
        resp = client.get(url)
        assert resp.status_code == 200, url
    listing_page = text(client.get("/finance/refunds"))
    assert money.listing.project_no in listing_page and "测试受让人" in listing_page
    assert "16,000.00" in listing_page and "未成交" in listing_page and "待登记转账" in listing_page
    detail = text(client.get(f"/finance/refunds/{money.refund_id}"))
    assert "登记退款转账" in detail and 'name="bank_ref"' in detail
    assert "（保证金）" in detail and "当前在账 16,000.00 元" in detail
    assert f"DEP-L{money.listing_id}" not in detail  # the account's code is for the books, not for people (issue 17)
    assert f"/registrations/{money.reg.id}" in detail and f"/finance/ledger/listing/{money.listing_id}" in detail
    suspense = text(client.get("/finance/ledger/suspense"))
    assert "银行流水第 7 行：付款人不明" in suspense and "SUS-STMT" not in suspense and "300.00" in suspense and "未办理退回" in suspense


def test_supervisor_reads_everything_and_changes_nothing(client, users, money, db):
    login(client, "t_supervisor", PASSWORD)
    for url in pages(money):
        assert client.get(url).status_code == 200, url
    detail = text(client.get(f"/finance/refunds/{money.refund_id}"))
    assert "/transfer" not in detail and 'name="bank_ref"' not in detail and "复核通过并记账" not in detail
    for url, data in posts(money):
        resp = post_form(client, url, data, page=f"/finance/refunds/{money.refund_id}")
        assert resp.status_code == 403, url
        assert "没有权限办理保证金退款" in text(resp)
    refund = refund_state(db, money.refund_id)
    assert refund.state == "pending" and refund.bank_ref == "" and deposit_held(money) == Decimal("16000.00")


def test_other_roles_are_refused_every_page_and_action(client, users, money, db):
    for key in FORBIDDEN:
        login(client, users[key].username, PASSWORD)
        for url in pages(money):
            resp = client.get(url)
            assert resp.status_code == 403, (key, url)
            assert "16,000.00" not in text(resp)
        token = get_csrf(client, "/work")
        for url, data in posts(money):
            assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, (key, url)
        client.post("/logout", data={"csrf_token": token})
    assert refund_state(db, money.refund_id).state == "pending"
    assert deposit_held(money) == Decimal("16000.00")


def test_signed_out_visitors_are_sent_to_login(client, money):
    for url in pages(money):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


def test_finance_menu_links_between_pages(client, users, money):
    login(client, "t_finance", PASSWORD)
    page = text(client.get("/finance/ledger"))
    for href in ["/finance/refunds", "/finance/ledger/suspense", f"/finance/ledger/listing/{money.listing_id}"]:
        assert f'href="{href}"' in page
    listing_page = text(client.get(f"/finance/ledger/listing/{money.listing_id}"))
    assert f'href="/finance/ledger/buyer/{money.buyer_id}"' in listing_page
    assert f'href="/finance/refunds/{money.refund_id}"' in listing_page


# --- maker-checker ----------------------------------------------------------------------------------

def test_full_maker_checker_path_with_two_finance_users(client, users, money, db):
    detail_url = f"/finance/refunds/{money.refund_id}"
    login(client, "t_finance", PASSWORD)
    resp = post_form(client, f"{detail_url}/transfer", {"bank_ref": "TK2026112301"}, follow=True,
                     page=detail_url)
    page = text(resp)
    assert "已登记退款转账（回单号 TK2026112301）" in page
    assert "待复核" in page and "您是本笔退款的登记人，不能复核" in page
    assert "复核通过并记账" not in page  # the maker sees no approve button
    assert "登记人以外的另一名财务人员" in page
    refund = refund_state(db, money.refund_id)
    assert refund.state == "recorded" and refund.recorded_by_id == users["finance"].id

    # the maker approves anyway (a forged POST): refused with the service's message, nothing changes
    resp = client.post(f"{detail_url}/approve", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "登记人和复核人不能是同一人，请由另一名财务人员复核。" in text(resp)
    refund = refund_state(db, money.refund_id)
    assert refund.state == "recorded" and refund.approved_by_id is None and refund.journal_entry_id is None
    assert deposit_held(money) == Decimal("16000.00")

    relogin(client, "t_finance2")
    page = text(client.get(detail_url))
    assert "复核通过并记账" in page and "您是本笔退款的登记人" not in page
    assert "测试finance 登记退款转账，回单号" in page and "待另一名财务人员复核" in page
    resp = post_form(client, f"{detail_url}/approve", {}, page=detail_url, follow=True)
    page = text(resp)
    assert "复核通过：16,000.00 元已退还 测试受让人" in page
    assert "已退还" in page and "测试finance 登记退款转账" in page and "测试finance2 复核通过" in page
    refund = refund_state(db, money.refund_id)
    assert refund.state == "approved" and refund.approved_by_id == users["finance2"].id
    assert deposit_held(money) == Decimal("0.00")

    # approving twice posts nothing more
    resp = post_form(client, f"{detail_url}/approve", {}, page=detail_url, follow=True)
    assert "此前已复核通过，未重复记账" in text(resp)
    n = db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.kind == "refund"))
    assert n == 1

    # the ledger pages show it
    ledger_page = text(client.get(f"/finance/ledger/listing/{money.listing_id}"))
    assert "退还保证金" in ledger_page and "保证金到账" in ledger_page and "TK2026112301" in ledger_page
    assert "测试finance2" in ledger_page and "已退还" in ledger_page
    assert ledger_page.count("16,000.00") >= 4  # in, out, and the two lines of each entry
    buyer_page = text(client.get(f"/finance/ledger/buyer/{money.buyer_id}"))
    assert "退还保证金" in buyer_page and "在账保证金" in buyer_page
    index = text(client.get("/finance/ledger"))
    assert "账实相符" in index and "300.00" in index  # only the suspense money is left in the bank
    assert text(client.get("/finance/refunds?state=approved")).count("测试受让人") == 1
    assert "没有符合条件的退款" in text(client.get("/finance/refunds?state=pending"))


def test_transfer_needs_a_bank_reference(client, users, money, db):
    login(client, "t_finance", PASSWORD)
    url = f"/finance/refunds/{money.refund_id}"
    resp = post_form(client, f"{url}/transfer", {"bank_ref": ""}, page=url)
    assert resp.status_code == 400 and "请填写退款的银行回单号" in text(resp)
    resp = post_form(client, f"{url}/transfer", {"bank_ref": "   "}, page=url, follow=True)
    assert "请填写退款的银行回单号" in text(resp)
    resp = post_form(client, f"{url}/transfer", {"bank_ref": "x" * 101}, page=url)
    assert resp.status_code == 400
    assert refund_state(db, money.refund_id).state == "pending"


def test_approve_before_transfer_is_refused(client, users, money, db):
    login(client, "t_finance2", PASSWORD)
    url = f"/finance/refunds/{money.refund_id}"
    assert "复核通过并记账" not in text(client.get(url))
    resp = post_form(client, f"{url}/approve", {}, page=url, follow=True)
    assert "请先登记退款转账" in text(resp)
    assert refund_state(db, money.refund_id).state == "pending"


def test_posts_without_csrf_token_are_refused(client, users, money, db):
    login(client, "t_finance", PASSWORD)
    url = f"/finance/refunds/{money.refund_id}"
    resp = client.post(f"{url}/transfer", data={"bank_ref": "TK-X"})
    assert resp.status_code == 400 and "页面已过期" in text(resp)
    refunds.record_transfer(users["finance"], db.session.get(Refund, money.refund_id), "TK-Y")
    db.session.commit()
    relogin(client, "t_finance2")
    resp = client.post(f"{url}/approve", data={})
    assert resp.status_code == 400
    refund = refund_state(db, money.refund_id)
    assert refund.state == "recorded" and refund.bank_ref == "TK-Y"
    assert deposit_held(money) == Decimal("16000.00")


# --- overdue, unknown, broken -----------------------------------------------------------------------

def test_overdue_refund_is_flagged(client, users, money, db):
    clock.freeze(money.refund.due_at)
    login(client, "t_finance", PASSWORD)
    page = text(client.get("/finance/refunds"))
    assert "已超期" not in page and "没有逾期的退款" in text(client.get("/finance/refunds?overdue=1"))
    clock.advance(seconds=1)
    relogin(client, "t_finance")  # the frozen clock moved: sign in again
    page = text(client.get("/finance/refunds"))
    assert "已超期" in page and "deadline overdue" in page and "逾期" in page
    assert "有 1 笔退款已超过期限仍未退还" in page
    assert "测试受让人" in text(client.get("/finance/refunds?overdue=1"))
    detail = text(client.get(f"/finance/refunds/{money.refund_id}"))
    assert "本笔退款已超过退款期限" in detail
    assert "测试受让人" not in text(client.get("/finance/refunds?state=approved"))


def test_unknown_ids_are_404(client, users, money):
    login(client, "t_finance", PASSWORD)
    for url in ["/finance/refunds/99999", "/finance/ledger/listing/99999", "/finance/ledger/buyer/99999"]:
        assert client.get(url).status_code == 404, url
    token = get_csrf(client, "/finance/refunds")
    for url in ["/finance/refunds/99999/transfer", "/finance/refunds/99999/approve"]:
        assert client.post(url, data={"csrf_token": token, "bank_ref": "x"}).status_code == 404, url


def test_empty_books_render(client, users):
    login(client, "t_finance", PASSWORD)
    assert "没有符合条件的退款" in text(client.get("/finance/refunds"))
    page = text(client.get("/finance/ledger"))
    assert "账实相符" in page and "还没有项目发生资金往来" in page
    assert "没有挂账款项" in text(client.get("/finance/ledger/suspense"))
    assert "该账户没有保证金记录" in text(client.get(f"/finance/ledger/buyer/{users['buyer'].id}"))


@pytest.mark.ledger_broken
def test_ledger_page_shows_problems(client, users, money, db):
    from exchange.ledger.models import JournalLine
    entry = JournalEntry(kind="deposit_in", listing_id=money.listing_id, memo="篡改")
    entry.lines = [JournalLine(account=led.bank_account(), amount=Decimal("5.00"))]
    db.session.add(entry)
    db.session.commit()
    login(client, "t_finance", PASSWORD)
    page = text(client.get("/finance/ledger"))
    assert "账实不符" in page and f"分录 #{entry.id} 借贷不平衡" in page
