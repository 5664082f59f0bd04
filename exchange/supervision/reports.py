"""The statistics as tables: one column definition per table serves the page, its CSV and the Excel workbooks,
so what the clerk sees, what Excel opens and what is reported to the city are the same rows.

* CSV: UTF-8 with a BOM (Excel on Windows then reads the Chinese correctly), numbers unformatted.
* Workbooks (openpyxl): monthly and quarterly, sheets 汇总, 按乡镇, 按品种, 按方式, 成交明细, 期限执行 (and 招标采购明细
  when the period has procurement deals); a title row with the period, a frozen header row, number formats for money,
  area, percentages and days.
* 招标采购 apart (:mod:`exchange.supervision.stats`): 成交金额 is the transfers'; the 招标采购金额, the 最高限价 it is set
  against and the 节约资金 have their own lines, columns and sheet.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

from exchange import clock
from exchange.supervision import stats
from exchange.supervision.charts import percent, plain


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[dict], Any]
    kind: str = "int"  # int / money / area / rate / days / text / datetime

    def text(self, row: dict) -> str:
        """As shown on the page."""
        if self.kind == "mixed":  # a key/value table: each row says its kind
            return Column(self.header, self.get, row.get("kind", "text")).text(row)
        v = self.get(row)
        if v is None:
            return "—" if self.kind in ("rate", "days") else ""
        if self.kind == "rate":
            return percent(v)
        if self.kind == "days":
            return f"{float(v):,.2f}"  # 0.00 like 1.25, never a bare 0
        if self.kind in ("money", "area"):
            return plain(v)
        if self.kind == "int":
            return f"{v:,}"
        if self.kind == "datetime":
            return clock.to_local(v).strftime("%Y-%m-%d %H:%M")
        return str(v)

    def raw(self, row: dict):
        """As written to CSV/Excel: plain numbers (a rate as a fraction, 0.1234), local times."""
        v = self.get(row)
        if isinstance(v, datetime):
            return clock.to_local(v).replace(tzinfo=None)
        return v


def _g(*path):
    def get(row):
        v = row
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        return v
    return get


def group_columns(first: str, deposits: bool = True) -> list[Column]:
    cols = [Column(first, _g("label"), "text"),
            Column("提交项目", _g("listings", "submitted")),
            Column("发布公告", _g("listings", "published")),
            Column("成交宗数", _g("listings", "concluded")),
            Column("流拍宗数", _g("listings", "failed")),
            Column("流拍率", _g("listings", "failed_rate"), "rate"),
            Column("成交面积（亩）", _g("deals", "area_mu"), "area"),
            Column("成交金额（元）", _g("deals", "amount"), "money"),
            Column("溢价率", _g("deals", "premium_rate"), "rate"),
            Column("招标采购成交（宗）", _g("procurement", "concluded")),
            Column("招标采购金额（元）", _g("procurement", "purchase_amount"), "money")]
    if deposits:
        cols.append(Column("在途保证金（元）", _g("deposits_held"), "money"))
    return cols


STAGE_COLUMNS = [Column("阶段", _g("label"), "text"), Column("区间", _g("hint"), "text"),
                 Column("宗数", _g("count")), Column("平均用时（天）", _g("avg_days"), "days"),
                 Column("最长用时（天）", _g("max_days"), "days")]
CLOCK_COLUMNS = [Column("法定时限", _g("label"), "text"), Column("按时", _g("met")), Column("超时", _g("missed")),
                 Column("按时率", _g("share"), "rate")]


def clock_group_columns(first: str) -> list[Column]:
    cols = [Column(first, _g("label"), "text")]
    for key, label in stats.CLOCKS.items():
        short = label.split(" ")[0]
        cols += [Column(f"{short}应办", _g("clocks", key, "total")), Column(f"{short}超时", _g("clocks", key, "missed")),
                 Column(f"{short}按时率", _g("clocks", key, "share"), "rate")]
    return cols


def rank_columns(level: str) -> list[Column]:
    return [Column("名次", _g("rank")), Column("乡镇（街道）" if level == "town" else "村（社区）", _g("label"), "text"),
            Column("提交次数", _g("submissions")), Column("退回次数", _g("returns")),
            Column("退回率", _g("return_rate"), "rate"),
            Column("交易站初审平均用时（天）", _g("station_review_days"), "days"),
            Column("交易中心审核平均用时（天）", _g("center_review_days"), "days"),
            Column("成交宗数", _g("deals")), Column("成交金额（元）", _g("amount"), "money")]


LISTING_COLUMNS = [Column("项目编号", _g("project_no"), "text"), Column("项目名称", _g("title"), "text"),
                   Column("乡镇", _g("town"), "text"), Column("村", _g("village"), "text"),
                   Column("交易方式", _g("method"), "text"), Column("状态", _g("state_label"), "text"),
                   Column("底价（元）", _g("floor_price"), "money"), Column("成交价（元）", _g("price"), "money"),
                   Column("提交时间", _g("submitted_at"), "datetime"), Column("发布时间", _g("published_at"), "datetime"),
                   Column("成交时间", _g("concluded_at"), "datetime")]
DEAL_COLUMNS = [Column("成交编号", _g("deal_no"), "text"), Column("成交时间", _g("concluded_at"), "datetime"),
                Column("项目编号", _g("project_no"), "text"), Column("项目名称", _g("title"), "text"),
                Column("乡镇", _g("town"), "text"), Column("村", _g("village"), "text"),
                Column("交易品种", _g("category"), "text"), Column("交易方式", _g("method"), "text"),
                Column("面积（亩）", _g("area_mu"), "area"), Column("底价（元）", _g("floor_price"), "money"),
                Column("成交价（元）", _g("price"), "money"), Column("溢价率", _g("premium_rate"), "rate"),
                Column("合同生效", _g("contract_effective_at"), "datetime"),
                Column("结算完成", _g("settled_at"), "datetime")]
PROCUREMENT_COLUMNS = [Column("成交编号", _g("deal_no"), "text"), Column("评标完成", _g("concluded_at"), "datetime"),
                       Column("项目编号", _g("project_no"), "text"), Column("项目名称", _g("title"), "text"),
                       Column("乡镇", _g("town"), "text"), Column("村", _g("village"), "text"),
                       Column("方式", _g("mode"), "text"), Column("类别", _g("kind"), "text"),
                       Column("评标办法", _g("eval_kind"), "text"), Column("限价类别", _g("limit_label"), "text"),
                       Column("限价（元）", _g("limit_price"), "money"), Column("中标价（元）", _g("price"), "money"),
                       Column("节约资金（元）", _g("savings"), "money"), Column("节约率", _g("savings_rate"), "rate"),
                       Column("中标通知书", _g("notice_no"), "text"),
                       Column("合同生效", _g("contract_effective_at"), "datetime")]


def summary_rows(s: dict) -> list[dict]:
    """The headline figures as (指标, 数值, kind) rows, for the 汇总 table and sheet."""
    li, d = s["listings"], s["deals"]
    items = [("提交项目（宗）", li["submitted"], "int"), ("发布公告（宗）", li["published"], "int"),
             ("成交（宗）", li["concluded"], "int"), ("流拍（宗）", li["failed"], "int"),
             ("流拍率", li["failed_rate"], "rate"), ("成交面积（亩）", d["area_mu"], "area"),
             ("成交金额（元）", d["amount"], "money"), ("对应底价合计（元）", d["floor_total"], "money"),
             ("溢价率（Σ成交价/Σ底价−1）", d["premium_rate"], "rate"),
             ("逐宗溢价率平均", d["avg_premium_rate"], "rate"), ("在途保证金（元，当前）", s["deposits_held"], "money")]
    p = s["procurement"]  # apart from the transfers above: money the collective pays (招商: receives)
    items += [("招标采购项目发布（宗）", p["published"], "int"), ("招标采购成交（宗）", p["concluded"], "int"),
              ("流标（宗）", p["failed"], "int"), ("招标采购金额（元，招标和采购的中标价）", p["purchase_amount"], "money"),
              ("对应最高限价合计（元）", p["limit_total"], "money"), ("节约资金（元）", p["savings"], "money"),
              ("节约率", p["savings_rate"], "rate"), ("招商成交（宗）", p["invest_count"], "int"),
              ("招商金额（元）", p["invest_amount"], "money")]
    return [{"label": a, "value": b, "kind": c} for a, b, c in items]


SUMMARY_COLUMNS = [Column("指标", _g("label"), "text"), Column("数值", _g("value"), "mixed")]


def stage_rows(s: dict) -> list[dict]:
    return [{"key": k, "label": label, "hint": stats.STAGE_HINTS[k], **s["stages"][k]}
            for k, label in stats.STAGES.items()]


def clock_rows(s: dict) -> list[dict]:
    return [{"key": k, "label": label, **s["clocks"][k]} for k, label in stats.CLOCKS.items()]


# --- tables by name (pages and CSV) ---------------------------------------------------------------------

TABLES = {"summary": "汇总", "stages": "各环节用时", "clocks": "法定时限执行", "month": "按月份", "town": "按乡镇",
          "village": "按村", "category": "按交易品种", "method": "按交易方式", "clocks_town": "各乡镇期限执行",
          "ranking": "考评排名", "listings": "项目明细", "deals": "成交明细", "procurement": "招标采购明细"}


def table(name: str, f: stats.Filters, **opts) -> tuple[str, list[Column], list[dict]]:
    """(title, columns, rows) of a named table for the filters."""
    if name == "summary":
        return TABLES[name], SUMMARY_COLUMNS, summary_rows(stats.summary(f))
    if name == "stages":
        return TABLES[name], STAGE_COLUMNS, stage_rows(stats.summary(f))
    if name == "clocks":
        return TABLES[name], CLOCK_COLUMNS, clock_rows(stats.summary(f))
    if name in stats.BY:
        return TABLES[name], group_columns(stats.GROUPS[name], deposits=name != "month"), stats.BY[name](f)
    if name == "clocks_town":
        return TABLES[name], clock_group_columns("乡镇（街道）"), stats.by_town(f)
    if name == "ranking":
        level = opts.get("level", "town")
        return TABLES[name], rank_columns(level), stats.ranking(f, level, opts.get("sort", "submissions"),
                                                                   opts.get("descending", True))
    if name == "listings":
        return TABLES[name], LISTING_COLUMNS, stats.listings(f)
    if name == "deals":
        return TABLES[name], DEAL_COLUMNS, stats.deal_rows(f)
    if name == "procurement":
        return TABLES[name], PROCUREMENT_COLUMNS, stats.procurement_rows(f)
    raise stats.StatsError("没有这张统计表。", field="table")


def _cell(col: Column, row: dict):
    if col.kind == "mixed":
        v = row["value"]
        return v
    return col.raw(row)


def to_csv(columns: list[Column], rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([c.header for c in columns])
    for r in rows:
        out = []
        for c in columns:
            v = _cell(c, r)
            if v is None:
                out.append("")
            elif isinstance(v, datetime):
                out.append(v.strftime("%Y-%m-%d %H:%M"))
            elif isinstance(v, Decimal):
                out.append(format(v, "f"))
            else:
                out.append(str(v))
        w.writerow(out)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# --- Excel --------------------------------------------------------------------------------------------------

FORMATS = {"money": "#,##0.00", "area": "#,##0.00", "rate": "0.00%", "days": "0.00", "int": "#,##0",
           "datetime": "yyyy-mm-dd hh:mm"}


def _sheet(wb, title: str, heading: str, columns: list[Column], rows: list[dict], total: dict | None = None):
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    ws = wb.create_sheet(title)
    ws.cell(row=1, column=1, value=heading).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(1, len(columns)))
    fill = PatternFill("solid", fgColor="DCE6F1")
    for j, c in enumerate(columns, start=1):
        cell = ws.cell(row=2, column=j, value=c.header)
        cell.font, cell.fill = Font(bold=True), fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(j)].width = max(10, min(40, len(c.header) * 2 + 2))
    all_rows = list(rows) + ([total] if total else [])
    for i, r in enumerate(all_rows, start=3):
        for j, c in enumerate(columns, start=1):
            v = _cell(c, r)
            if isinstance(v, Decimal):
                v = float(v) if c.kind == "rate" or r.get("kind") == "rate" else v
            cell = ws.cell(row=i, column=j, value=v)
            kind = r.get("kind") if c.kind == "mixed" else c.kind
            if kind in FORMATS:
                cell.number_format = FORMATS[kind]
        if total is not None and r is total:
            for j in range(1, len(columns) + 1):
                ws.cell(row=i, column=j).font = Font(bold=True)
    ws.freeze_panes = "A3"
    return ws


def workbook(f: stats.Filters, title: str) -> bytes:
    """The report for the period of ``f`` (a month or a quarter) as an .xlsx file."""
    from openpyxl import Workbook
    wb = Workbook()
    wb.remove(wb.active)
    s = stats.summary(f)
    heading = f"临湘市农村产权流转交易{title}（{f.period_text()}，{f.scope_text()}）"
    ws = _sheet(wb, "汇总", heading, SUMMARY_COLUMNS, summary_rows(s))
    # stages and clocks below the headline figures on the same sheet
    row = ws.max_row + 2
    for cols, rows in ((STAGE_COLUMNS, stage_rows(s)), (CLOCK_COLUMNS, clock_rows(s))):
        from openpyxl.styles import Font
        for j, c in enumerate(cols, start=1):
            ws.cell(row=row, column=j, value=c.header).font = Font(bold=True)
        for r in rows:
            row += 1
            for j, c in enumerate(cols, start=1):
                v = c.raw(r)
                cell = ws.cell(row=row, column=j, value=float(v) if c.kind == "rate" and v is not None else v)
                if c.kind in FORMATS:
                    cell.number_format = FORMATS[c.kind]
        row += 2
    ws.cell(row=row, column=1, value=f"生成时间：{clock.local_now():%Y-%m-%d %H:%M}（北京时间）。口径：成交按成交日期、"
                                       "流拍按流拍日期、期限按到期日期计入统计期；面积为亩（平方米按 1 亩 = 666.67 平方米折算）；"
                                       "招标采购（招标、采购、招商）另行统计，其中标价不计入成交金额。")

    total = _total(s, "合计")
    _sheet(wb, "按乡镇", heading, group_columns("乡镇（街道）"), stats.by_town(f), total)
    _sheet(wb, "按品种", heading, group_columns("交易品种"), stats.by_category(f), total)
    _sheet(wb, "按方式", heading, group_columns("交易方式"), stats.by_method(f), total)
    _sheet(wb, "成交明细", heading, DEAL_COLUMNS, stats.deal_rows(f))
    _sheet(wb, "期限执行", heading, clock_group_columns("乡镇（街道）"), stats.by_town(f), _total(s, "全市"))
    procurement = stats.procurement_rows(f)
    if procurement:  # the period's procurement deals, apart from the transfers' 成交明细
        _sheet(wb, "招标采购明细", heading, PROCUREMENT_COLUMNS, procurement)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _total(s: dict, label: str) -> dict:
    return {"label": label, **{k: v for k, v in s.items() if k != "period"}}


def monthly(month: str) -> tuple[str, bytes]:
    first, last = stats.parse_month(month)
    f = stats.Filters(first, last)
    return f"临湘农村产权交易月报-{first:%Y-%m}.xlsx", workbook(f, "月度统计报表")


def quarterly(quarter: str) -> tuple[str, bytes]:
    first, last = stats.parse_quarter(quarter)
    q = (first.month - 1) // 3 + 1
    f = stats.Filters(first, last)
    return f"临湘农村产权交易季报-{first.year}Q{q}.xlsx", workbook(f, "季度统计报表")


def default_month() -> str:
    today = clock.today_local()
    return f"{today.year:04d}-{today.month:02d}"


def default_quarter() -> str:
    today: date = clock.today_local()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"
