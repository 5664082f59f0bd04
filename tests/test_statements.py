"""Bank statement import and reconciliation (第十九条; DESIGN §3.5): lines matched to 缴款码; partial,
excess, late, duplicate and unknown lines shown for a decision, never guessed; the books stay whole."""
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.ledger import refunds
from exchange.ledger import services as led
from exchange.ledger.models import Refund
from exchange.payments import statements as ssvc
from exchange.payments.models import BankStatement, DepositArrival, StatementLine
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from tests.builders import PDF, applied, csv_bytes, local
from tests.factories import PASSWORD, make_org_buyer
from tests.helpers import csrf_from, login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture
def three(users, announced, db):
    """Three qualified buyers of one listing (deposit 16000.00 each)."""
    users["buyer_coop"] = make_org_buyer("t_buyer_coop", "9343068200000011", org_type="cooperative")
    regs = [applied(users, announced, key=k) for k in ("buyer", "buyer_org", "buyer_coop")]
    for r in regs:
        rsvc.qualify(users["center_reviewer"], r)
    db.session.commit()
    return regs


def by_txn(stmt):
    return {line.bank_txn_id: line for line in stmt.lines}


def test_lines_are_classified_and_nothing_is_booked_before_a_decision(users, three, db):
    a, b, c = three
    t = local(clock.now() - timedelta(hours=1))
    data = csv_bytes([
        ["B001", t, "", '"16,000.00"', "测试受让人", "6222000011112222", f"保证金 {a.payment_ref}"],
        ["B002", t, "", "15000.00", "公司", "6222000033334444", f"{b.payment_ref}"],
        ["B003", t, "", "16500.00", "合作社", "6222000055556666", f"缴款码{c.payment_ref}"],
        ["B004", t, "", "800.00", "某人", "6222", "房租"],
        ["B004", t, "", "800.00", "某人", "6222", "房租"],
        ["B005", t, "200.00", "", "退款", "6222", "退款"],
        ["B006", t, "", "16000.00", "某人", "6222", "LX0000000000"],
    ])
    stmt = ssvc.import_statement(users["finance"], data, "流水.csv")
    db.session.commit()
    lines = by_txn(stmt)
    assert [line.match for line in stmt.lines] == ["matched", "partial", "excess", "unknown", "duplicate",
                                                  "outgoing", "unknown"]
    assert lines["B006"].match_note == "缴款码 LX0000000000 不存在。"
    assert lines["B005"].state == "ignored" and all(line.state == "open" for line in stmt.lines if line.amount > 0)
    assert lines["B001"].registration_id == a.id and lines["B001"].amount == Decimal("16000.00")
    assert led.balance(led.bank_account()) == 0  # nothing booked by the import itself
    assert ssvc.allowed_decisions(lines["B002"]) == ["suspense"]
    assert ssvc.allowed_decisions(lines["B003"]) == ["book_excess", "suspense"]
    assert ssvc.allowed_decisions(stmt.lines[3]) == ["suspense"] and ssvc.allowed_decisions(stmt.lines[4]) == ["ignore"]


def test_decisions_book_hold_and_ignore(users, three, db):
    a, b, c = three
    t = local(clock.now() - timedelta(hours=1))
    stmt = ssvc.import_statement(users["finance"], csv_bytes([
        ["S1", t, "", "16000", "测试受让人", "6222000011112222", a.payment_ref],
        ["S2", t, "", "15000", "公司", "6222000033334444", b.payment_ref],
        ["S3", t, "", "16500", "合作社", "6222000055556666", c.payment_ref],
        ["S1", t, "", "16000", "测试受让人", "6222000011112222", a.payment_ref],
    ]), "s.csv")
    booked, problems = ssvc.book_all_matched(users["finance"], stmt)
    assert booked == 1 and problems == []
    db.session.commit()
    assert a.state == "paid" and a.bidder_no
    arrival = db.session.scalar(select(DepositArrival).where(DepositArrival.registration_id == a.id))
    assert arrival.source == "statement" and arrival.source_ref == "S1"
    lines = {(line.bank_txn_id, line.line_no): line for line in stmt.lines}
    partial, excess, dup = lines[("S2", 3)], lines[("S3", 4)], lines[("S1", 5)]
    # a partial payment cannot be booked as the deposit
    with pytest.raises(ssvc.StatementError) as exc:
        ssvc.decide(users["finance"], partial, "book")
    assert "不能“确认入账”" in exc.value.message
    db.session.rollback()
    ssvc.decide(users["finance"], partial, "suspense", "少交 1000 元，原路退回")
    # an excess payment on time: the deposit is booked and the excess returned
    ssvc.decide(users["finance"], excess, "book_excess")
    # a duplicate line can only be ignored, and only with a reason
    with pytest.raises(ssvc.StatementError):
        ssvc.decide(users["finance"], dup, "ignore")
    ssvc.decide(users["finance"], dup, "ignore", "与第 2 行为同一笔")
    db.session.commit()
    assert b.state == "qualified" and c.state == "paid"
    assert led.held(led.deposit_account(c.listing, c.buyer)) == Decimal("16000.00")
    returns = {r.reason: r for r in db.session.scalars(select(Refund))}
    assert returns["unmatched"].amount == Decimal("15000.00") and "公司" in returns["unmatched"].payee
    assert returns["other"].amount == Decimal("500.00") and "合作社" in returns["other"].payee
    assert led.listing_money(a.listing_id).money_in == Decimal("47500.00")
    assert led.check() == []
    # a decided line cannot be decided again
    with pytest.raises(ssvc.StatementError) as exc:
        ssvc.decide(users["finance"], partial, "suspense")
    assert "已处理" in exc.value.message


@pytest.mark.article("第十九条")
def test_late_line_is_held_and_the_unpaid_buyer_abandoned(users, three, db, announced):
    a, b, _c = three
    deadline = announced.deposit_deadline_at
    clock.freeze(deadline + timedelta(hours=2))
    stmt = ssvc.import_statement(users["finance"], csv_bytes([
        ["L1", local(deadline), "", "16000", "测试受让人", "", a.payment_ref],              # 16:00:00: in time
        ["L2", local(deadline + timedelta(seconds=1)), "", "16000", "公司", "", b.payment_ref],  # 16:00:01
    ]), "late.csv")
    lines = by_txn(stmt)
    assert lines["L1"].match == "matched" and lines["L2"].match == "late"
    assert "视为放弃" in lines["L2"].match_note
    ssvc.decide(users["finance"], lines["L1"], "book")
    ssvc.decide(users["finance"], lines["L2"], "suspense")
    assert rsvc.abandon_unpaid() == 2  # B (late money is not a deposit) and the third buyer
    db.session.commit()
    assert a.state == "paid" and b.state == "abandoned"
    refund = db.session.scalar(select(Refund).where(Refund.reason == "late"))
    refunds.record_transfer(users["finance"], refund, "TK-9")
    refunds.approve(users["finance2"], refund)
    db.session.commit()
    assert led.listing_money(a.listing_id).held == Decimal("16000.00")


def test_a_receipt_already_booked_makes_the_statement_line_a_duplicate(users, three, db):
    a = three[0]
    deposits.confirm_deposit(users["finance"], a, "16000", source_key="HX777", receipt=PDF, receipt_filename="回单.pdf")
    t = local(clock.now() - timedelta(minutes=5))
    stmt = ssvc.import_statement(users["finance"], csv_bytes([["HX777", t, "", "16000", "测试受让人", "",
                                                                a.payment_ref]]), "d.csv")
    assert stmt.lines[0].match == "duplicate"


def test_a_matched_line_paid_meanwhile_is_refused_at_decision_time(users, three, db):
    a = three[0]
    t = local(clock.now() - timedelta(minutes=5))
    stmt = ssvc.import_statement(users["finance"], csv_bytes([["M1", t, "", "16000", "x", "", a.payment_ref]]), "m.csv")
    deposits.confirm_deposit(users["finance"], a, "16000", source_key="OTHER", receipt=PDF, receipt_filename="r.pdf")
    db.session.commit()
    with pytest.raises(ssvc.StatementError) as exc:
        ssvc.decide(users["finance"], stmt.lines[0], "book")
    assert "已经到账" in exc.value.message or "该缴款码已到账" in exc.value.message
    db.session.rollback()
    line = db.session.get(StatementLine, stmt.lines[0].id)
    ssvc.decide(users["finance"], line, "suspense")  # the second payment goes back to the payer
    db.session.commit()
    assert led.listing_money(a.listing_id).held == Decimal("32000.00")


def test_same_file_once_and_bad_files_refused_whole(users, three, db):
    t = local(clock.now() - timedelta(minutes=5))
    data = csv_bytes([["F1", t, "", "16000", "x", "", three[0].payment_ref]])
    ssvc.import_statement(users["finance"], data, "f.csv")
    with pytest.raises(ssvc.StatementError) as exc:
        ssvc.import_statement(users["finance"], data, "again.csv")
    assert "已于" in exc.value.message and "导入过" in exc.value.message
    bad = csv_bytes([["G1", t, "", "16000", "x", "", ""], ["G2", t, "", "一万六", "x", "", ""],
                     ["G3", "昨天下午", "", "100", "x", "", ""], ["G4", t, "", "", "x", "", ""],
                     ["G5", t, "", "1.005", "x", "", ""]])
    with pytest.raises(ssvc.StatementError) as exc:
        ssvc.import_statement(users["finance"], bad, "bad.csv")
    msg = exc.value.message
    assert "第 3 行" in msg and "第 4 行" in msg and "第 5 行" in msg and "第 6 行" in msg and "第 2 行" not in msg
    future = csv_bytes([["H1", local(clock.now() + timedelta(hours=1)), "", "100", "x", "", ""]])
    with pytest.raises(ssvc.StatementError) as exc:
        ssvc.import_statement(users["finance"], future, "future.csv")
    assert "晚于当前时间" in exc.value.message
    for junk, words in [(b"", "空"), (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, ".xls"), (PDF, "CSV 或 XLSX"),
                        (b"a,b,c\n1,2,3\n", "找不到表头"), (b"PK\x03\x04broken", "损坏")]:
        with pytest.raises(ssvc.StatementError) as exc:
            ssvc.import_statement(users["finance"], junk, "x")
        assert words in exc.value.message, (junk[:10], exc.value.message)
    assert db.session.scalar(select(func.count(BankStatement.id))) == 1


def test_gbk_csv_with_bank_preamble_and_date_time_columns(users, three, db):
    a = three[0]
    when = clock.to_local(clock.now() - timedelta(hours=1))
    header = "交易日期,交易时间,交易金额（元）,付款人名称,付款人账号,摘要,流水号\n"
    rows = [[when.strftime("%Y%m%d").replace("", "")[:8], when.strftime("%H:%M:%S"), "16000.00", "测试受让人",
             "6222", f"缴保证金{a.payment_ref}", "GBK-1"]]
    preamble = "中国农业银行账户明细\n账号：1818 0101 0400 12345,户名：临湘市农村产权交易中心\n\n"
    data = csv_bytes(rows, encoding="gbk", header=header, preamble=preamble)
    # the date column in YYYYMMDD needs the date and time joined: the importer reads both
    stmt = ssvc.import_statement(users["finance"], data.replace(when.strftime("%Y%m%d").encode(),
                                                                when.strftime("%Y-%m-%d").encode()), "农行.csv")
    line = stmt.lines[0]
    assert line.match == "matched" and line.payer_name == "测试受让人" and line.line_no == 5


def test_xlsx_statement(users, three, db):
    from openpyxl import Workbook
    a = three[0]
    wb = Workbook()
    ws = wb.active
    ws.append(["账户明细查询"])
    ws.append(["交易流水号", "交易时间", "收入金额", "支出金额", "对方户名", "对方账号", "用途"])
    when = clock.to_local(clock.now() - timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
    ws.append(["X1", when, 16000.0, None, "测试受让人", "6222000011112222", f"保证金{a.payment_ref}"])
    ws.append(["X2", when, 12.345, None, "某人", "", "利息"])  # fractions of a 分 are refused, never rounded
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ssvc.StatementError) as exc:
        ssvc.import_statement(users["finance"], buf.getvalue(), "x.xlsx")
    assert "第 4 行" in exc.value.message
    ws.delete_rows(4)
    buf = io.BytesIO()
    wb.save(buf)
    stmt = ssvc.import_statement(users["finance"], buf.getvalue(), "明细.xlsx")
    assert stmt.file_format == "xlsx" and stmt.lines[0].match == "matched"
    assert stmt.lines[0].amount == Decimal("16000.00")


def test_only_finance_imports_and_decides(users, three, db):
    t = local(clock.now() - timedelta(minutes=5))
    data = csv_bytes([["P1", t, "", "16000", "x", "", three[0].payment_ref]])
    for key in ("center_reviewer", "supervisor", "buyer", "admin"):
        with pytest.raises(AccessDenied):
            ssvc.import_statement(users[key], data, "p.csv")
    stmt = ssvc.import_statement(users["finance"], data, "p.csv")
    with pytest.raises(AccessDenied):
        ssvc.decide(users["supervisor"], stmt.lines[0], "book")


# --- pages and API ---------------------------------------------------------------------------------

def test_finance_imports_and_books_on_the_pages(client, users, three, db):
    a, b, _ = three
    t = local(clock.now() - timedelta(minutes=30))
    data = csv_bytes([["W1", t, "", "16000", "测试受让人", "", a.payment_ref],
                      ["W2", t, "", "100", "某人", "", b.payment_ref]])
    login(client, "t_finance", PASSWORD)
    page = text(client.get("/payments/statements"))
    resp = client.post("/payments/statements", data={"csrf_token": csrf_from(page),
                                                     "file": (io.BytesIO(data), "流水.csv")},
                       content_type="multipart/form-data", follow_redirects=True)
    body = text(resp)
    assert "已导入 2 笔流水" in body and "与缴款码一致" in body and "金额不足" in body
    stmt = db.session.scalar(select(BankStatement))
    resp = client.post(f"/payments/statements/{stmt.id}/book-matched", data={"csrf_token": csrf_from(body)},
                       follow_redirects=True)
    assert "已入账 1 笔" in text(resp)
    line = by_txn(stmt)["W2"]
    resp = client.post(f"/payments/lines/{line.id}/decide", data={"csrf_token": csrf_from(body),
                                                                  "decision": "book", "note": ""},
                       follow_redirects=True)
    assert "不能“确认入账”" in text(resp)
    resp = client.post(f"/payments/lines/{line.id}/decide", data={"csrf_token": csrf_from(body),
                                                                  "decision": "suspense", "note": "少交，退回"},
                       follow_redirects=True)
    assert "挂账并退回付款人" in text(resp)
    db.session.expire_all()
    assert db.session.get(type(a), a.id).state == "paid"
    # the same file again is refused on the page with the reason
    page = text(client.get("/payments/statements"))
    resp = client.post("/payments/statements", data={"csrf_token": csrf_from(page),
                                                     "file": (io.BytesIO(data), "流水.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "导入过" in text(resp)


def test_supervisor_reads_others_are_refused(client, users, three, db):
    t = local(clock.now() - timedelta(minutes=5))
    stmt = ssvc.import_statement(users["finance"], csv_bytes([["V1", t, "", "16000", "x", "", "?"]]), "v.csv")
    db.session.commit()
    login(client, "t_supervisor", PASSWORD)
    page = text(client.get(f"/payments/statements/{stmt.id}"))
    assert "无法识别缴款码" in page and "挂账并退回付款人" not in page
    listing = text(client.get("/payments/statements"))
    assert "导入并比对" not in listing
    resp = client.post(f"/payments/lines/{stmt.lines[0].id}/decide",
                       data={"csrf_token": csrf_from(listing), "decision": "suspense"})
    assert resp.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(listing)})
    login(client, "t_point_a1", PASSWORD)
    assert client.get("/payments/statements").status_code == 403
    assert client.get(f"/payments/statements/{stmt.id}").status_code == 403


def test_statement_api(client, users, three, db):
    finance, buyer = token_headers(db, users, "finance"), token_headers(db, users, "buyer")
    t = local(clock.now() - timedelta(minutes=5))
    data = csv_bytes([["A1", t, "", "16000", "x", "", three[0].payment_ref],
                      ["A2", t, "", "999", "y", "", "无"]])
    resp = client.post("/api/v1/statements", headers=buyer, data={"file": (io.BytesIO(data), "a.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 403
    resp = client.post("/api/v1/statements", headers=finance, data={"file": (io.BytesIO(data), "a.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["summary"] == {"matched": 1, "unknown": 1}
    assert body["lines"][1]["allowed_decisions"] == ["suspense"]
    resp = client.post(f"/api/v1/statements/{body['id']}/book-matched", headers=finance)
    assert resp.get_json() == {"booked": 1, "problems": []}
    line_id = body["lines"][1]["id"]
    resp = client.post(f"/api/v1/statement-lines/{line_id}/decision", headers=finance, json={"decision": "ignore"})
    assert resp.status_code == 400 and "不能" in resp.get_json()["message"]
    resp = client.post(f"/api/v1/statement-lines/{line_id}/decision", headers=finance,
                       json={"decision": "guess"})
    assert resp.status_code == 422 or resp.status_code == 400
    resp = client.post(f"/api/v1/statement-lines/{line_id}/decision", headers=finance, json={"decision": "suspense"})
    assert resp.status_code == 200 and resp.get_json()["state"] == "suspense"
    assert client.get("/api/v1/statements", headers=finance).get_json()[0]["line_count"] == 2
    assert client.get(f"/api/v1/statements/{body['id']}", headers=buyer).status_code == 403
