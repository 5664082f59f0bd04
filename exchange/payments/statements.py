"""Bank statement import and reconciliation (银行流水对账, DESIGN §3.5).

Finance imports the designated account's statement as exported by the bank (CSV in UTF-8 or GBK, or
XLSX).  Each incoming line is compared with what the platform expects: the 缴款码 in the memo (附言), the
amount due, the deadline (money must *arrive* by it, 第十九条(一)).  Exact, timely lines are matched and
booked when finance confirms them; partial, excess, late, duplicate and unknown lines are shown for a
decision, never guessed:

* book        a matched line becomes the deposit (the same ledger entry as a receipt or an online payment);
* book_excess an excess line on time: the deposit is booked and the excess held and returned;
* suspense    the money is held on a suspense account and a return to the payer is opened (maker-checker);
* ignore      only for lines that are not new money (a duplicate of a line already seen, an outgoing line).

A malformed file is refused whole, with the rows at fault; the same file is imported once.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import select

from exchange import clock
from exchange.access import require
from exchange.audit.services import record
from exchange.db import savepoint
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.ledger import refunds
from exchange.ledger import services as ledger
from exchange.money import format_yuan, to_money
from exchange.payments import payables
from exchange.payments.models import BankStatement, StatementLine
from exchange.payments.states import STATEMENT_LINE
from exchange.registrations import services as rsvc
from exchange.payments import deposits
from exchange.registrations.models import Registration

MAX_BYTES = 5 * 1024 * 1024
MAX_LINES = 5000
MAX_UNZIPPED = 60 * 1024 * 1024
REF_RE = re.compile(r"LX\d{10}")

COLUMNS = {
    "txn": ("交易流水号", "银行流水号", "流水号", "交易序号", "交易参考号", "凭证号", "流水号码"),
    "datetime": ("交易时间", "入账时间", "记账时间", "到账时间", "交易日期时间"),
    "date": ("交易日期", "记账日期", "入账日期"),
    "credit": ("贷方金额", "收入金额", "入账金额", "贷方发生额", "收入"),
    "debit": ("借方金额", "支出金额", "借方发生额", "支出"),
    "amount": ("交易金额", "金额", "发生额"),
    "payer": ("对方户名", "付款人名称", "对方名称", "对方账户名称", "付款人", "付款方"),
    "payer_account": ("对方账号", "付款人账号", "对方账户", "付款账号"),
    "memo": ("附言", "交易附言", "摘要", "用途", "备注"),
}


class StatementError(ServiceError):
    """A statement refused, or a decision on a line that cannot be taken."""


@dataclass
class ParsedLine:
    line_no: int
    txn: str
    arrived_at: datetime
    amount: Decimal
    payer: str
    payer_account: str
    memo: str


# --- reading the file ----------------------------------------------------------------------------

def _rows_csv(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise StatementError("无法识别文件编码，请导出为 UTF-8 或 GBK 编码的 CSV。")
    if "\x00" in text:
        raise StatementError("文件不是文本格式的 CSV。")
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _rows_xlsx(data: bytes) -> list[list]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_UNZIPPED:
                raise StatementError("Excel 文件解压后过大，请只导出需要对账的期间。")
    except zipfile.BadZipFile:
        raise StatementError("Excel 文件已损坏，无法读取。") from None
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 — openpyxl raises many kinds for a bad workbook
        raise StatementError("无法读取该 Excel 文件，请确认是银行导出的 .xlsx 流水。") from None
    try:
        ws = wb.worksheets[0]
        rows = []
        for row in ws.iter_rows(values_only=True, max_col=30):
            rows.append(list(row))
            if len(rows) > MAX_LINES + 20:
                break
        return rows
    finally:
        wb.close()


def _norm(cell) -> str:
    text = "" if cell is None else str(cell)
    return re.sub(r"[\s（(]*(人民币)?元[）)]?$|\s", "", text.strip())


def _find_header(rows: list[list]) -> tuple[int, dict[str, int]]:
    for idx, row in enumerate(rows[:20]):
        names = [_norm(c) for c in row]
        found: dict[str, int] = {}
        for key, synonyms in COLUMNS.items():
            for syn in synonyms:
                if syn in names:
                    found.setdefault(key, names.index(syn))
                    break
        has_amount = "amount" in found or "credit" in found
        if "txn" in found and has_amount and ("datetime" in found or "date" in found):
            return idx, found
    raise StatementError("找不到表头：流水中应有“交易流水号”“交易时间”和“贷方金额”（或“交易金额”）等列。")


def _cell(row: list, col: int | None):
    if col is None or col >= len(row):
        return None
    return row[col]


def _money(value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    return to_money(text, strict=True)


def _when(row: list, cols: dict[str, int]) -> datetime:
    value = _cell(row, cols.get("datetime"))
    day = _cell(row, cols.get("date"))
    if isinstance(value, datetime):
        local = value
    elif isinstance(value, time) and isinstance(day, (date, datetime)):
        local = datetime.combine(day if isinstance(day, date) and not isinstance(day, datetime) else day.date(), value)
    else:
        text = str(value or "").strip()
        if day is not None and text and len(text) <= 8 and ":" in text:  # a time column beside a date column
            d = day.date() if isinstance(day, datetime) else day if isinstance(day, date) else None
            text = (d.isoformat() if d else str(day).strip()) + " " + text
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                    "%Y%m%d %H%M%S", "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M"):
            try:
                local = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError("交易时间无法识别（需精确到分钟，如 2026-11-27 15:20:03）")
    when = local.replace(tzinfo=clock.LOCAL_TZ).astimezone(clock.UTC)
    if when > clock.now():
        raise ValueError("交易时间晚于当前时间")
    return when


def parse(data: bytes) -> list[ParsedLine]:
    """The statement's lines, or StatementError naming the rows at fault (nothing is half-read)."""
    if not data:
        raise StatementError("文件是空的。")
    if len(data) > MAX_BYTES:
        raise StatementError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请分期间导出。")
    if data.startswith(b"PK\x03\x04"):
        rows = _rows_xlsx(data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise StatementError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx，或从网银导出 CSV。")
    elif data.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"MZ", b"\x7fELF")):
        raise StatementError("请上传银行导出的 CSV 或 XLSX 格式流水。")
    else:
        rows = _rows_csv(data)
    header_idx, cols = _find_header(rows)
    width = len([c for c in rows[header_idx] if c not in (None, "")])
    lines: list[ParsedLine] = []
    errors: list[str] = []
    for idx in range(header_idx + 1, len(rows)):
        row = rows[idx]
        if not any(c not in (None, "") and str(c).strip() for c in row):
            continue
        line_no = idx + 1
        first = str(_cell(row, 0) or "").strip()
        if first.startswith(("合计", "总计", "本页合计", "累计")):
            continue
        if len(lines) >= MAX_LINES:
            raise StatementError(f"流水超过 {MAX_LINES} 行，请分期间导出。")
        try:
            if any(c not in (None, "") for c in row[width:]):
                raise ValueError("列数多于表头（金额中的千分位逗号须加引号，或导出为 XLSX）")
            txn = str(_cell(row, cols["txn"]) or "").strip()
            if not txn:
                raise ValueError("缺少交易流水号")
            if len(txn) > 64:
                raise ValueError("交易流水号过长")
            arrived = _when(row, cols)
            if "amount" in cols:
                amount = _money(_cell(row, cols["amount"]))
            else:
                credit, debit = _money(_cell(row, cols["credit"])), _money(_cell(row, cols.get("debit")))
                if credit and debit:
                    raise ValueError("同一行既有收入又有支出")
                amount = credit if credit else (-debit if debit else None)
            if amount is None or amount == 0:
                raise ValueError("金额为空或为零")
            lines.append(ParsedLine(line_no, txn, arrived, amount,
                                    str(_cell(row, cols.get("payer")) or "").strip()[:120],
                                    str(_cell(row, cols.get("payer_account")) or "").strip()[:40],
                                    str(_cell(row, cols.get("memo")) or "").strip()[:200]))
        except (ValueError, TypeError, ArithmeticError) as exc:
            errors.append(f"第 {line_no} 行：{getattr(exc, 'message', None) or exc}")
            if len(errors) >= 10:
                break
    if errors:
        raise StatementError("流水文件有错误，未导入：" + "；".join(errors))
    if not lines:
        raise StatementError("流水中没有交易记录。")
    return lines


# --- matching ------------------------------------------------------------------------------------

def _txn_seen(txn: str, exclude_line_id: int | None = None) -> bool:
    stmt = select(StatementLine.id).where(StatementLine.bank_txn_id == txn)
    if exclude_line_id is not None:
        stmt = stmt.where(StatementLine.id < exclude_line_id)
    if db.session.scalar(stmt.limit(1)):
        return True
    return bool(db.session.scalar(select(ledger.JournalEntry.id).where(
        ledger.JournalEntry.idempotency_key.in_((f"deposit:{txn}", f"bankline:{txn}", f"price:{txn}")))))


def classify(line: StatementLine) -> None:
    """Set ``match``, ``match_note`` and ``registration`` of a line from what the platform expects now."""
    line.registration_id, line.settlement_id, line.payment_ref = None, None, None
    if line.amount < 0:
        line.match, line.match_note = "outgoing", "支出（如退款、划付），不涉及保证金到账。"
        return
    if _txn_seen(line.bank_txn_id, line.id):
        line.match, line.match_note = "duplicate", f"流水号 {line.bank_txn_id} 已导入或已凭回单入账，是同一笔款项。"
        return
    memo = line.memo.upper()
    refs = REF_RE.findall(memo)
    price_refs = payables.get("settlement").ref_pattern.findall(memo)
    if price_refs and refs:
        line.match, line.match_note = "unknown", "附言中同时有保证金和价款的缴款码：" + "、".join(sorted(set(refs + price_refs)))
        return
    if price_refs:
        _classify_price(line, price_refs)
        return
    if not refs:
        line.match, line.match_note = "unknown", "附言中没有缴款码。"
        return
    if len(set(refs)) > 1:
        line.match, line.match_note = "unknown", "附言中有多个缴款码：" + "、".join(sorted(set(refs)))
        return
    line.payment_ref = refs[0]
    reg = db.session.scalar(select(Registration).where(Registration.payment_ref == refs[0]))
    if reg is None:
        line.match, line.match_note = "unknown", f"缴款码 {refs[0]} 不存在。"
        return
    line.registration_id = reg.id
    problem = rsvc.payable_problem(reg, line.amount, line.arrived_at)
    if problem is None:
        line.match = "matched"
        line.match_note = f"{reg.buyer.display_name} · {reg.listing.project_no} 应交 {format_yuan(reg.deposit_amount)} 元"
    else:
        line.match, line.match_note = problem.code, problem.message[:300]


def _settlement(line: StatementLine):
    return payables.get("settlement").load(line.settlement_id) if line.settlement_id else None


def _classify_price(line: StatementLine, refs: list[str]) -> None:
    """A line paying a settlement's balance (JS… in the memo): exact amount only."""
    price = payables.get("settlement")
    if len(set(refs)) > 1:
        line.match, line.match_note = "unknown", "附言中有多个缴款码：" + "、".join(sorted(set(refs)))
        return
    line.payment_ref = refs[0]
    s = price.find(refs[0])
    if s is None:
        line.match, line.match_note = "unknown", f"缴款码 {refs[0]} 不存在。"
        return
    line.settlement_id = s.id
    problem = price.problem(s, line.amount)
    if problem is None:
        line.match = "matched"
        line.match_note = (f"{price.what} · {price.payer(s).display_name} · {price.listing(s).project_no} 应付 "
                           f"{format_yuan(price.amount_due(s))} 元")
    else:
        line.match, line.match_note = problem.code, problem.message[:300]


def import_statement(actor, data: bytes, filename: str) -> BankStatement:
    require(actor, "statements.import")
    parsed = parse(data)
    digest = hashlib.sha256(data).hexdigest()
    earlier = db.session.scalar(select(BankStatement).where(BankStatement.sha256 == digest))
    if earlier is not None:
        raise StatementError(f"该流水文件已于 {clock.to_local(earlier.imported_at):%Y-%m-%d %H:%M} 导入过"
                             f"（{earlier.filename}），不能重复导入。")
    from exchange.storage import get_storage
    key = get_storage().save(data)
    stmt = BankStatement(filename=(filename or "流水")[:120], sha256=digest, storage_key=key,
                         file_format="xlsx" if data.startswith(b"PK") else "csv", line_count=len(parsed),
                         imported_by_id=actor.id)
    db.session.add(stmt)
    db.session.flush()
    for p in parsed:
        line = StatementLine(statement_id=stmt.id, line_no=p.line_no, bank_txn_id=p.txn, arrived_at=p.arrived_at,
                             amount=p.amount, payer_name=p.payer, payer_account=p.payer_account, memo=p.memo,
                             match="unknown")
        db.session.add(line)
        db.session.flush()
        classify(line)
        if line.match == "outgoing":
            STATEMENT_LINE.fire(line, "ignore", actor, authorised=True)
            line.decision_note = "支出，无需处理。"
    db.session.flush()
    counts = summary(stmt)
    record("statement.import", f"导入银行流水 {stmt.filename}：{len(parsed)} 笔，其中可入账 {counts.get('matched', 0)} 笔",
           obj_type="bank_statement", obj_id=stmt.id, after={"sha256": digest, "matches": counts})
    return stmt


def summary(stmt: BankStatement) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in stmt.lines:
        counts[line.match] = counts.get(line.match, 0) + 1
    return counts


# --- decisions -----------------------------------------------------------------------------------

DECISIONS = {"book": "确认入账", "book_excess": "按应交金额入账，超出部分退回", "suspense": "挂账并退回付款人",
             "ignore": "忽略（非新到款项）"}


def allowed_decisions(line: StatementLine) -> list[str]:
    if line.state != "open":
        return []
    if line.match in ("duplicate", "outgoing"):
        return ["ignore"]
    if line.match == "matched":
        return ["book", "suspense"]
    if line.match == "excess":  # a price balance is booked only at its exact amount
        return ["suspense"] if line.settlement_id else ["book_excess", "suspense"]
    return ["suspense"]


def _payee(line: StatementLine) -> str:
    return "，".join(x for x in (line.payer_name or "付款人", line.payer_account) if x)


def _hold(line: StatementLine, amount: Decimal, key: str, actor, reason: str) -> None:
    reg = line.registration
    s = _settlement(line)
    listing = reg.listing if reg else (payables.get("settlement").listing(s) if s else None)
    account = ledger.suspense_account(f"BANK-{line.bank_txn_id}"[:56] + (":x" if key.endswith(":excess") else ""),
                                      f"银行流水 {line.bank_txn_id} 挂账待退（{_payee(line)}）", listing=listing)
    ledger.hold_in_suspense(account, amount, key=key, listing=listing, actor=actor,
                            memo=f"银行流水 {line.bank_txn_id} 挂账待退")
    refunds.open_return(account, reason, payee=_payee(line))


def decide(actor, line: StatementLine, decision: str, note: str = "") -> StatementLine:
    require(actor, "statements.import")
    db.session.refresh(line, with_for_update=True)
    if line.state != "open":
        raise StatementError(f"该笔流水已处理（{line.state_label}）。")
    classify(line)  # what is true now (a registration may have been paid or abandoned since the import)
    if decision not in allowed_decisions(line):
        db.session.flush()
        raise StatementError(f"该笔流水（{line.match_label}）不能“{DECISIONS.get(decision, decision)}”：{line.match_note}")
    note = (note or "").strip()[:300]
    if decision == "ignore" and not note:
        raise StatementError("忽略流水须写明理由。", field="note")
    if line.settlement_id and decision in ("book", "book_excess"):
        price = payables.get("settlement")
        s = _settlement(line)
        due = line.amount if decision == "book" else price.amount_due(s)
        price.book(s, due, source="statement", source_ref=line.bank_txn_id, key=f"price:{line.bank_txn_id}",
                   arrived_at=line.arrived_at, actor=actor,
                   memo=f"银行流水 {line.bank_txn_id}" + ("，超出部分另行退回" if decision == "book_excess" else ""))
        if decision == "book_excess":
            _hold(line, line.amount - due, f"bankline:{line.bank_txn_id}:excess", actor, "other")
        STATEMENT_LINE.fire(line, "book", actor, authorised=True)
    elif decision == "book":
        deposits.book_deposit(line.registration, line.amount, source="statement", source_ref=line.bank_txn_id,
                          key=f"deposit:{line.bank_txn_id}", arrived_at=line.arrived_at, actor=actor,
                          statement_line=line, memo=f"保证金到账（银行流水 {line.bank_txn_id}）")
        STATEMENT_LINE.fire(line, "book", actor, authorised=True)
    elif decision == "book_excess":
        reg = line.registration
        due = reg.deposit_amount
        deposits.book_deposit(reg, due, source="statement", source_ref=line.bank_txn_id, key=f"deposit:{line.bank_txn_id}",
                          arrived_at=line.arrived_at, actor=actor, statement_line=line,
                          memo=f"保证金到账（银行流水 {line.bank_txn_id}，超出部分另行退回）")
        _hold(line, line.amount - due, f"bankline:{line.bank_txn_id}:excess", actor, "other")
        STATEMENT_LINE.fire(line, "book", actor, authorised=True)
    elif decision == "suspense":
        _hold(line, line.amount, f"bankline:{line.bank_txn_id}",
              actor, "late" if line.match == "late" else "unmatched")
        STATEMENT_LINE.fire(line, "hold", actor, authorised=True)
    else:
        STATEMENT_LINE.fire(line, "ignore", actor, authorised=True)
    line.decided_by_id, line.decided_at, line.decision_note = actor.id, clock.now(), note or DECISIONS[decision]
    db.session.flush()
    record("statement.decide", f"流水 {line.bank_txn_id}（{format_yuan(line.amount)} 元，{line.match_label}）：{DECISIONS[decision]}",
           obj_type="statement_line", obj_id=line.id, after={"decision": decision, "note": note})
    return line


def book_all_matched(actor, stmt: BankStatement) -> tuple[int, list[str]]:
    """Confirm every open matched line; each on its own, so one refusal leaves the others booked."""
    require(actor, "statements.import")
    booked, problems = 0, []
    for line in list(stmt.lines):
        if line.state != "open" or line.match != "matched":
            continue
        try:
            with savepoint(db.session):
                decide(actor, line, "book")
            booked += 1
        except ServiceError as exc:
            db.session.refresh(line)
            classify(line)
            problems.append(f"流水 {line.bank_txn_id}：{exc.message}")
    db.session.flush()
    return booked, problems


def open_lines_count() -> int:
    from sqlalchemy import func
    return db.session.scalar(select(func.count(StatementLine.id)).where(StatementLine.state == "open")) or 0
