"""统计分析 (第六条): the figures of the center and the supervisor, and the town ranking for 考评 (实施方案 四(六)).

Every function here is pure: it reads, never writes, takes a :class:`Filters` and returns plain dicts of
numbers (``Decimal`` for money and rates, ``float`` days for durations, ``int`` counts), so pages, the API,
the Excel reports and the open (masked) statistics all show the same numbers.  Authorisation is the
caller's job (``stats.view`` / ``reports.download``).  Everything is computed by the database with
aggregates and GROUP BY; Python only merges the handful of group rows.  The figures are read from the day/month
rollup (:mod:`exchange.supervision.rollup`, refreshed first); the tests compute them a second way, straight from
the base tables (``tests/stats_reference.py``), and compare.

What each figure counts (the period applies to the date of the event the figure is about, in Beijing
local time — ``[from 00:00, to + 1 day 00:00)``):

* 提交 (submitted): listings whose (last) submission falls in the period (``Listing.submitted_at``).
* 发布 (published): listings published in the period (``published_at``); 审核 stage = submitted → published.
* 成交 (concluded) and the deal figures: live deals (交易公示, 中止, 已确认 — not a defaulted or voided one)
  concluded in the period (``Deal.concluded_at``).  One live deal per listing, so 成交 listings = deals.
* 流拍 (failed): listings that ended 流拍 in the period (state ``failed``, ``state_since`` — a terminal state).
  流拍率 = 流拍 / (成交 + 流拍).
* 面积 (亩): the listing's ``quantity`` where its ``unit`` is 亩, or 平方米 converted (1 亩 = 10000/15 m², so
  m² × 0.0015); other units (台, 间, 套 …) are not areas and count 0.
* 溢价率: shown as Σ成交价 / Σ底价 − 1 over the deals whose listing has a 底价 (the amount-weighted rate the city
  reports); ``avg_premium_rate`` is the plain average of each deal's 成交价/底价 − 1, given beside it.
* 在途保证金 (deposits held): what the buyers' deposit accounts hold *now* (ledger), for the listings matching the
  town/village/category/method filters (the period does not apply: it is a balance).
* Stages: 审核 submitted → published (by published_at); 公告 published → announcement end (by the end, once
  past); 签约 deal concluded → contract effective (by effective_at); 结算 contract effective → settled (by
  settled_at); 鉴证 settled → first 鉴证书 issued (by issued_at).  Average and worst, in days.
* Clocks (the stored due timestamps, so working-day calendars are not recomputed in SQL): a clock counts in
  the period of its due date once it is decided — met when the act happened before ``due_at`` (the first instant
  after the deadline, as the sweeper reads it), missed when it happened later or has not happened and
  ``due_at`` has passed; clocks still running are left out.  签约: ``Contract.effective_at`` vs ``due_at`` (5
  工作日); 结算: ``Settlement.settled_at`` vs ``due_at`` (10 天); 鉴证: first certificate's ``issued_at`` vs
  ``Settlement.certificate_due_at`` (3 工作日); 退款: ``Refund.approved_at`` vs ``due_at`` (5 工作日).  Voided
  contracts and settlements (a terminated listing) are left out; refunds without a listing (unmatched bank
  lines) are left out.
* 方式 (method): the deal figures and the 签约 stage count by the method the deal was actually made
  (``Deal.method``: a listing announced for 网络竞价 with one paid buyer is concluded as 协议转让); the listing
  figures (提交, 发布, 流拍) and the later stages and clocks by the listing's 交易方式 as announced
  (``Listing.trading_method``).
* 招标采购 (procurement, 交易品种 8 by 招标/采购/招商; DESIGN §3.12) is reported apart: its price is money the collective
  pays a supplier (招商: an investor pays it), not the proceeds of a transfer.  The listing and deal figures above
  (提交, 发布, 成交, 流拍, 面积, 成交金额, 溢价率) and the ranking's 成交 count transfers only — every listing and deal
  whose method is not ``procurement``; the work of the center is counted for all (the stages, the clocks, the
  deposits held — 投标保证金 included — and the ranking's submissions and reviews).  The ``procurement`` block
  (:func:`procurement_sums`) has the projects' own figures by the same dates: 提交, 发布, 成交 (评标 concluded, candidate
  1 under 交易公示 or later), 流标 and its rate; 招标采购金额 (Σ 中标价 of 招标/采购) beside Σ 最高限价 of the same
  projects, 节约资金 = Σ 最高限价 − Σ 中标价 and its rate; 招商 apart (count and Σ price: money the collective receives).
  Read straight from the procurement tables (a project row each, a few hundred a year), not from the rollup.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Mapping

from sqlalchemy import Float, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from exchange import clock
from exchange.catalog.models import Category
from exchange.contracts.models import Contract
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.inputs import InputError, parse_id
from exchange.listings.models import Listing
from exchange.orgs.models import OrgUnit
from exchange.procurement.models import ProcurementProject
from exchange.settlement.models import Settlement
from exchange.trading.models import LIVE_DEAL_STATES, METHOD_LABELS, Deal


class StatsError(ServiceError):
    """A filter that cannot be understood (shown next to the field, 400)."""


GROUPS = {"month": "月份", "town": "乡镇（街道）", "village": "村（社区）", "category": "交易品种",
          "method": "交易方式"}
STAGES = {"review": "审核", "announce": "公告", "contract": "签约", "settle": "结算", "certify": "鉴证"}
STAGE_HINTS = {"review": "提交→发布公告", "announce": "发布→公告期满", "contract": "成交→合同生效",
               "settle": "合同生效→结算完成", "certify": "结算完成→出具鉴证书"}
CLOCKS = {"contract": "签约 ≤ 5 个工作日", "settle": "结算 ≤ 10 天", "certify": "鉴证 ≤ 3 个工作日",
          "refund": "退还保证金 ≤ 5 个工作日"}
RANK_KEYS = {"submissions": "提交次数", "returns": "退回次数", "return_rate": "退回率",
             "station_review_days": "交易站初审平均用时（天）", "center_review_days": "交易中心审核平均用时（天）",
             "deals": "成交宗数", "amount": "成交金额（元）"}
PROCUREMENT = "procurement"  # the method (Listing.trading_method, Deal.method) of a procurement project
SQM_PER_MU = Decimal(10000) / Decimal(15)
RATE_Q = Decimal("0.0001")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_QUARTER_RE = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")
_UTC_OFFSET_HOURS = 8  # Asia/Shanghai has had no daylight saving time since 1991


# --- filters --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """What the figures are restricted to.  ``date_to`` is inclusive (a local calendar date)."""

    date_from: date | None = None
    date_to: date | None = None
    station_id: int | None = None
    point_id: int | None = None
    category_id: int | None = None
    method: str | None = None
    # names for display, filled by parse_filters (not part of the restriction)
    labels: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def start(self) -> datetime | None:
        return clock.local_datetime(self.date_from) if self.date_from else None

    @property
    def end(self) -> datetime | None:
        """The first instant after the period (exclusive)."""
        return clock.local_datetime(self.date_to + timedelta(days=1)) if self.date_to else None

    def period_text(self) -> str:
        a, b = self.date_from, self.date_to
        if a and b:
            if a.day == 1 and b == _month_end(b) and (a.year, a.month) == (b.year, b.month):
                return f"{a.year}年{a.month}月"
            return f"{a:%Y-%m-%d} 至 {b:%Y-%m-%d}"
        if a:
            return f"{a:%Y-%m-%d} 起"
        if b:
            return f"截至 {b:%Y-%m-%d}"
        return "全部时间"

    def scope_text(self) -> str:
        parts = [self.labels.get(k) for k in ("town", "village", "category", "method")]
        return "，".join(p for p in parts if p) or "全市"

    def args(self, **override) -> dict[str, str]:
        """The query-string arguments that give these filters back (for links and CSV)."""
        out = {"from": self.date_from.isoformat() if self.date_from else None,
               "to": self.date_to.isoformat() if self.date_to else None,
               "town": self.station_id, "village": self.point_id,
               "category": self.labels.get("category_code"), "method": self.method}
        out.update(override)
        return {k: str(v) for k, v in out.items() if v not in (None, "")}

    def with_(self, **kw) -> Filters:
        return replace(self, **kw)


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _parse_day(text: str, field_name: str, *, end: bool) -> date:
    text = text.strip()
    try:
        m = _DATE_RE.match(text)
        if m:
            d = date(int(m[1]), int(m[2]), int(m[3]))
        else:
            m = _MONTH_RE.match(text)
            if not m:
                raise ValueError
            d = date(int(m[1]), int(m[2]), 1)
            if end:
                d = _month_end(d)
    except ValueError:
        raise StatsError(f"日期“{text[:20]}”看不懂，请写成 2026-11-05 或 2026-11 这样的格式。", field=field_name) from None
    if not 2000 <= d.year <= 2100:
        raise StatsError("日期应在 2000 年至 2100 年之间。", field=field_name)
    return d


def parse_month(text: str | None, field_name: str = "month") -> tuple[date, date]:
    """"2026-11" → (2026-11-01, 2026-11-30)."""
    m = _MONTH_RE.match((text or "").strip())
    if not m or not 1 <= int(m[2]) <= 12 or not 2000 <= int(m[1]) <= 2100:
        raise StatsError("月份请写成 2026-11 这样的格式。", field=field_name)
    first = date(int(m[1]), int(m[2]), 1)
    return first, _month_end(first)


def parse_quarter(text: str | None, field_name: str = "quarter") -> tuple[date, date]:
    """"2026Q4" → (2026-10-01, 2026-12-31)."""
    m = _QUARTER_RE.match((text or "").strip())
    if not m or not 2000 <= int(m[1]) <= 2100:
        raise StatsError("季度请写成 2026Q4 这样的格式（Q1–Q4）。", field=field_name)
    year, q = int(m[1]), int(m[2])
    first = date(year, 3 * q - 2, 1)
    return first, _month_end(date(year, 3 * q, 1))


def _parse_id(value: str, field_name: str, what: str) -> int:
    try:
        return parse_id(value, field=field_name, label=what)
    except InputError:
        raise StatsError(f"{what}参数应为编号（数字）。", field=field_name) from None


def parse_filters(args: Mapping[str, Any], *, default_period: bool = False) -> Filters:
    """Filters from request arguments: ``from``/``to`` (YYYY-MM-DD or YYYY-MM), or ``month`` (YYYY-MM) or
    ``quarter`` (2026Q4); ``town`` (a station's id), ``village`` (a point's id), ``category`` (code such as
    C01), ``method`` (agreement, online_bidding, sealed_bid, auction, tender).  Unknown values raise
    :class:`StatsError` with the field.  ``default_period``: no period given → this year so far."""
    def get(key: str) -> str:
        v = args.get(key)
        return "" if v is None else str(v).strip()

    labels: dict[str, str] = {}
    date_from = date_to = None
    if get("month"):
        date_from, date_to = parse_month(get("month"))
    elif get("quarter"):
        date_from, date_to = parse_quarter(get("quarter"))
    else:
        if get("from"):
            date_from = _parse_day(get("from"), "from", end=False)
        if get("to"):
            date_to = _parse_day(get("to"), "to", end=True)
        if date_from is None and date_to is None and default_period:
            today = clock.today_local()
            date_from, date_to = date(today.year, 1, 1), today
    if date_from and date_to and date_from > date_to:
        raise StatsError("结束日期不能早于开始日期。", field="to")

    station_id = point_id = category_id = None
    method = None
    if get("town"):
        station_id = _parse_id(get("town"), "town", "乡镇（交易站）")
        st = db.session.get(OrgUnit, station_id)
        if st is None or st.kind != "station":
            raise StatsError("没有这个乡镇（交易站），请从列表中选择。", field="town")
        labels["town"] = st.area_name
    if get("village"):
        point_id = _parse_id(get("village"), "village", "村（交易点）")
        pt = db.session.get(OrgUnit, point_id)
        if pt is None or pt.kind != "point":
            raise StatsError("没有这个村（交易点），请从列表中选择。", field="village")
        if station_id is not None and pt.parent_id != station_id:
            raise StatsError(f"{pt.area_name}不属于所选乡镇。", field="village")
        station_id = pt.parent_id
        labels.setdefault("town", pt.parent.area_name if pt.parent else "")
        labels["village"] = pt.area_name
    if get("category"):
        code = get("category").upper()
        cat = db.session.scalar(select(Category).where(Category.code == code)) if len(code) <= 20 else None
        if cat is None:
            raise StatsError("没有这个交易品种，请从列表中选择。", field="category")
        category_id = cat.id
        labels["category"], labels["category_code"] = cat.name, cat.code
    if get("method"):
        method = get("method")
        if method not in METHOD_LABELS:
            raise StatsError("交易方式应为协议转让、网络竞价、一次性报价、拍卖或招投标之一。", field="method")
        labels["method"] = METHOD_LABELS[method]
    return Filters(date_from, date_to, station_id, point_id, category_id, method, labels)


# --- dialect-aware SQL pieces ---------------------------------------------------------------------------

class seconds_between(FunctionElement):
    """Seconds from ``a`` to ``b`` (two naive-UTC timestamp columns)."""
    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between)
def _sb_default(element, compiler, **kw):
    a, b = list(element.clauses)
    # date_part (double precision), not EXTRACT (numeric since PostgreSQL 14, several times slower to average)
    return f"date_part('epoch', {compiler.process(b, **kw)} - {compiler.process(a, **kw)})"


@compiles(seconds_between, "sqlite")
def _sb_sqlite(element, compiler, **kw):
    a, b = list(element.clauses)
    return f"((julianday({compiler.process(b, **kw)}) - julianday({compiler.process(a, **kw)})) * 86400.0)"


class local_month(FunctionElement):
    """'YYYY-MM' of a naive-UTC timestamp in Beijing time."""
    name = "local_month"
    inherit_cache = True


@compiles(local_month)
def _lm_default(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"to_char({compiler.process(col, **kw)} + interval '{_UTC_OFFSET_HOURS} hours', 'YYYY-MM')"


@compiles(local_month, "sqlite")
def _lm_sqlite(element, compiler, **kw):
    (col,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(col, **kw)}, '+{_UTC_OFFSET_HOURS} hours')"


def _area_mu():
    return case((Listing.unit == "亩", Listing.quantity),
                (Listing.unit == "平方米", Listing.quantity * Decimal("0.0015")), else_=literal(0))


def _key(group: str | None, date_col, method_col=None):
    if group is None:
        return literal(0)
    return {"month": lambda: local_month(date_col), "town": lambda: Listing.station_id,
            "village": lambda: Listing.point_id, "category": lambda: Listing.category_id,
            "method": lambda: method_col if method_col is not None else Listing.trading_method}[group]()


def _where(f: Filters, date_col=None, method_col=None) -> list:
    conds = []
    if f.station_id is not None:
        conds.append(Listing.station_id == f.station_id)
    if f.point_id is not None:
        conds.append(Listing.point_id == f.point_id)
    if f.category_id is not None:
        conds.append(Listing.category_id == f.category_id)
    if f.method is not None:
        conds.append((method_col if method_col is not None else Listing.trading_method) == f.method)
    if date_col is not None:
        conds.append(date_col.is_not(None))
        if f.start is not None:
            conds.append(date_col >= f.start)
        if f.end is not None:
            conds.append(date_col < f.end)
    return conds


def _run(stmt, key):
    return db.session.execute(stmt.group_by(key) if key is not None else stmt).all()


# --- shaping ------------------------------------------------------------------------------------------------

def _money(v) -> Decimal:
    return Decimal(v or 0).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _days(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 86400.0, 2)


def _stage(n, avg, worst) -> dict:
    return {"count": int(n or 0), "avg_days": _days(avg), "max_days": _days(worst)}


def _clock_row(met, n) -> dict:
    met, n = int(met or 0), int(n or 0)
    return {"met": met, "missed": n - met, "total": n, "share": _ratio(met, n)}


def _ratio(a, b) -> Decimal | None:
    if not b:
        return None
    return (Decimal(a) / Decimal(b)).quantize(RATE_Q, rounding=ROUND_HALF_UP)


PROCUREMENT_COUNTS = ("submitted", "published", "failed", "purchase_count", "invest_count")
PROCUREMENT_AMOUNTS = ("purchase_amount", "limit_total", "invest_amount")


def _procurement_blank() -> dict:
    return {"submitted": 0, "published": 0, "concluded": 0, "failed": 0, "failed_rate": None,
            "purchase_count": 0, "purchase_amount": Decimal("0.00"), "limit_total": Decimal("0.00"),
            "savings": Decimal("0.00"), "savings_rate": None, "invest_count": 0, "invest_amount": Decimal("0.00")}


def _blank() -> dict:
    return {
        "listings": {"submitted": 0, "published": 0, "concluded": 0, "failed": 0, "failed_rate": None},
        "deals": {"count": 0, "area_mu": Decimal("0.00"), "amount": Decimal("0.00"), "floor_total": Decimal("0.00"),
                  "premium_rate": None, "avg_premium_rate": None},
        "procurement": _procurement_blank(),
        "deposits_held": Decimal("0.00"),
        "stages": {k: _stage(0, None, None) for k in STAGES},
        "clocks": {k: _clock_row(0, 0) for k in CLOCKS},
    }


def _finish_procurement(p: dict) -> dict:
    p["concluded"] = p["purchase_count"] + p["invest_count"]
    p["failed_rate"] = _ratio(p["failed"], p["concluded"] + p["failed"])
    p["savings"] = _money(p["limit_total"] - p["purchase_amount"])
    p["savings_rate"] = ((p["savings"] / p["limit_total"]).quantize(RATE_Q, rounding=ROUND_HALF_UP)
                         if p["limit_total"] else None)
    return p


def _finish(row: dict) -> dict:
    li, d = row["listings"], row["deals"]
    _finish_procurement(row.setdefault("procurement", _procurement_blank()))
    li["failed_rate"] = _ratio(li["failed"], li["concluded"] + li["failed"])
    floor = d["floor_total"]
    priced = d.pop("priced_amount", Decimal("0.00"))
    d["premium_rate"] = ((priced / floor - 1).quantize(RATE_Q, rounding=ROUND_HALF_UP) if floor else None)
    ratio = d.pop("avg_ratio", None)
    d.pop("with_floor", None)
    d["avg_premium_rate"] = (None if ratio is None
                             else (Decimal(str(ratio)) - 1).quantize(RATE_Q, rounding=ROUND_HALF_UP))
    return row


Collect = Callable[["Filters", "str | None"], dict]


def _collect(f: Filters, group: str | None, collect: Collect | None = None) -> dict:
    """group key → finished row, from the rollup (refreshed first) — or from ``collect``, the tests' reference that
    computes the same figures straight from the base tables (tests/stats_reference.py)."""
    if collect is not None:
        return collect(f, group)
    from exchange.supervision import rollup
    rollup.refresh()
    return rollup.collect(f, group)


def procurement_sums(f: Filters, group: str | None = None) -> dict:
    """group key → the ``procurement`` block (finished) of the projects matching the filters: one statement over the
    procurement projects (each joined to its listing by key and to its live deal by the listing's index), grouped
    as the rollup groups (the date of the event each figure is about; the method ``procurement``)."""
    from sqlalchemy import union_all
    P, L, D = ProcurementProject, Listing, Deal
    names = PROCUREMENT_COUNTS + PROCUREMENT_AMOUNTS
    branches = []

    def branch(from_, date_col, values: dict, *where, method_col=None):
        k = _key(group, date_col, method_col)
        cols = [k.label("k")] + [values.get(n, literal(0)).label(n) for n in names]
        branches.append(from_(select(*cols)).where(*_where(f, date_col, method_col), *where))

    projects = lambda s: s.select_from(P).join(L, L.id == P.listing_id)  # noqa: E731
    one, listed = literal(1), L.trading_method == PROCUREMENT
    branch(projects, L.submitted_at, {"submitted": one}, listed)
    branch(projects, L.published_at, {"published": one}, listed)
    branch(projects, L.state_since, {"failed": one}, listed, L.state == "failed")
    buying = P.direction == "lower"
    zero = literal(0)
    branch(lambda s: s.select_from(P).join(L, L.id == P.listing_id).join(D, D.listing_id == L.id), D.concluded_at,
           {"purchase_count": case((buying, 1), else_=0), "purchase_amount": case((buying, D.price), else_=zero),
            "limit_total": case((buying, func.coalesce(P.limit_price, zero)), else_=zero),
            "invest_count": case((buying, 0), else_=1), "invest_amount": case((buying, zero), else_=D.price)},
           D.method == PROCUREMENT, D.state.in_(LIVE_DEAL_STATES), method_col=D.method)
    u = union_all(*branches).subquery("p")
    stmt = select(u.c.k, *[func.sum(u.c[n]).label(n) for n in names])
    out: dict = {}
    for row in db.session.execute(stmt.group_by(u.c.k)):
        key = row.k if group else 0
        block = _procurement_blank()
        for n in PROCUREMENT_COUNTS:
            block[n] = int(getattr(row, n) or 0)
        for n in PROCUREMENT_AMOUNTS:
            block[n] = _money(getattr(row, n))
        if any(block[n] for n in names):
            out[key] = _finish_procurement(block)
    return out


def summary(f: Filters, collect: Collect | None = None) -> dict:
    """The headline figures for the filters (see the module docstring for what each one counts), from the
    day-level rollup (:mod:`exchange.supervision.rollup`); the procurement block from :func:`procurement_sums`."""
    rows = _collect(f, None, collect)
    row = rows.get(0) or _finish(_blank())
    row["procurement"] = procurement_sums(f).get(0) or _finish_procurement(_procurement_blank())
    return {"period": period_info(f), **row}


def period_info(f: Filters) -> dict:
    return {"from": f.date_from.isoformat() if f.date_from else None,
            "to": f.date_to.isoformat() if f.date_to else None, "text": f.period_text(), "scope": f.scope_text()}


def _grouped(f: Filters, group: str, keys: list[tuple[Any, str]], collect: Collect | None = None) -> list[dict]:
    data = _collect(f, group, collect)
    for key, block in procurement_sums(f, group).items():
        data.setdefault(key, _finish(_blank()))["procurement"] = block
    rows = []
    known = set()
    for key, label in keys:
        known.add(key)
        rows.append({"key": key, "label": label, **(data.get(key) or _finish(_blank()))})
    for key in sorted((k for k in data if k not in known), key=lambda k: (k is None, str(k))):
        rows.append({"key": key, "label": _other_label(group, key), **data[key]})
    return rows


def _other_label(group: str, key) -> str:
    if key is None:
        return "直接申请（未经交易点）" if group == "village" else "（未填）"
    if group == "village":
        unit = db.session.get(OrgUnit, key)
        return unit.area_name if unit else str(key)
    return str(key)


def _months(f: Filters) -> list[tuple[str, str]]:
    if not (f.date_from and f.date_to):
        return []
    out, y, m = [], f.date_from.year, f.date_from.month
    while (y, m) <= (f.date_to.year, f.date_to.month) and len(out) < 240:
        out.append((f"{y:04d}-{m:02d}", f"{y}年{m}月"))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def by_month(f: Filters, collect: Collect | None = None) -> list[dict]:
    """The measures per local calendar month (every month of a bounded period, empty ones included)."""
    rows = _grouped(f, "month", _months(f), collect)
    for r in rows:
        if r["label"] == r["key"] and isinstance(r["key"], str) and len(r["key"]) == 7:
            r["label"] = f"{int(r['key'][:4])}年{int(r['key'][5:])}月"
    rows.sort(key=lambda r: str(r["key"]))
    return rows


def towns(station_id: int | None = None) -> list[OrgUnit]:
    stmt = select(OrgUnit).where(OrgUnit.kind == "station").order_by(OrgUnit.sort_order, OrgUnit.code)
    if station_id is not None:
        stmt = stmt.where(OrgUnit.id == station_id)
    return list(db.session.scalars(stmt))


def villages(station_id: int | None = None, point_id: int | None = None) -> list[OrgUnit]:
    stmt = select(OrgUnit).where(OrgUnit.kind == "point").order_by(OrgUnit.code)
    if station_id is not None:
        stmt = stmt.where(OrgUnit.parent_id == station_id)
    if point_id is not None:
        stmt = stmt.where(OrgUnit.id == point_id)
    return list(db.session.scalars(stmt))


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.seq, Category.code)))


def by_town(f: Filters, collect: Collect | None = None) -> list[dict]:
    """The measures per 交易站 (town), every town listed."""
    return _grouped(f, "town", [(t.id, t.area_name) for t in towns(f.station_id)], collect)


def by_village(f: Filters, collect: Collect | None = None) -> list[dict]:
    """The measures per 交易点 (village) — of the filtered town if any; listings applied for directly
    (第十一条, no village point) form their own row."""
    return _grouped(f, "village", [(v.id, v.area_name) for v in villages(f.station_id, f.point_id)], collect)


def by_category(f: Filters, collect: Collect | None = None) -> list[dict]:
    cats = [c for c in categories() if f.category_id is None or c.id == f.category_id]
    return _grouped(f, "category", [(c.id, c.name) for c in cats], collect)


def by_method(f: Filters, collect: Collect | None = None) -> list[dict]:
    methods = [(k, v) for k, v in METHOD_LABELS.items() if f.method is None or k == f.method]
    return _grouped(f, "method", methods, collect)


BY = {"month": by_month, "town": by_town, "village": by_village, "category": by_category, "method": by_method}


def listings(f: Filters, limit: int = 500) -> list[dict]:
    """Drill-down to the listings: those submitted, published, concluded or failed in the period (newest first),
    with their deal, at most ``limit``."""
    conds = _where(f)
    periods = []
    for col in (Listing.submitted_at, Listing.published_at, Deal.concluded_at):
        p = [col.is_not(None)]
        if f.start is not None:
            p.append(col >= f.start)
        if f.end is not None:
            p.append(col < f.end)
        periods.append(and_(*p))
    stmt = (select(Listing.id, Listing.project_no, Listing.title, Listing.state, Listing.station_id,
                   Listing.point_id, Listing.trading_method, Listing.floor_price, Listing.quantity, Listing.unit,
                   Listing.submitted_at, Listing.published_at, Deal.price, Deal.concluded_at)
            .outerjoin(Deal, and_(Deal.listing_id == Listing.id, Deal.state.in_(LIVE_DEAL_STATES)))
            .where(*conds, or_(*periods))
            .order_by(func.coalesce(Deal.concluded_at, Listing.published_at, Listing.submitted_at).desc(),
                      Listing.id.desc())
            .limit(limit))
    names = dict(db.session.execute(select(OrgUnit.id, OrgUnit.area_name)).all())
    from exchange.listings.workflow import STATE_LABELS
    return [{"key": r.id, "id": r.id, "project_no": r.project_no or "", "title": r.title, "state": r.state,
             "state_label": STATE_LABELS.get(r.state, r.state), "town": names.get(r.station_id, ""),
             "village": names.get(r.point_id, "") if r.point_id else "", "method": METHOD_LABELS.get(r.trading_method, ""),
             "floor_price": r.floor_price, "quantity": r.quantity, "unit": r.unit,
             "submitted_at": r.submitted_at, "published_at": r.published_at, "price": r.price,
             "concluded_at": r.concluded_at} for r in db.session.execute(stmt)]


def deal_rows(f: Filters, limit: int = 20000) -> list[dict]:
    """成交明细 for the reports: the live deals of transfers concluded in the period (procurement apart:
    :func:`procurement_rows`)."""
    names = dict(db.session.execute(select(OrgUnit.id, OrgUnit.area_name)).all())
    cats = dict(db.session.execute(select(Category.id, Category.name)).all())
    stmt = (select(Deal.deal_no, Deal.concluded_at, Deal.price, Deal.method, Listing.project_no, Listing.title,
                   Listing.station_id, Listing.point_id, Listing.category_id, Listing.floor_price,
                   _area_mu().label("area"), Contract.effective_at, Settlement.settled_at)
            .join(Listing, Listing.id == Deal.listing_id)
            .outerjoin(Contract, Contract.deal_id == Deal.id).outerjoin(Settlement, Settlement.deal_id == Deal.id)
            .where(*_where(f, Deal.concluded_at), Deal.state.in_(LIVE_DEAL_STATES), Deal.method != PROCUREMENT)
            .order_by(Deal.concluded_at, Deal.id).limit(limit))
    out = []
    for r in db.session.execute(stmt):
        premium = ((r.price / r.floor_price - 1).quantize(RATE_Q, rounding=ROUND_HALF_UP)
                   if r.floor_price else None)
        out.append({"deal_no": r.deal_no, "concluded_at": r.concluded_at, "project_no": r.project_no or "",
                    "title": r.title, "town": names.get(r.station_id, ""),
                    "village": names.get(r.point_id, "") if r.point_id else "",
                    "category": cats.get(r.category_id, ""), "method": METHOD_LABELS.get(r.method, r.method),
                    "area_mu": _money(r.area), "floor_price": r.floor_price, "price": r.price, "premium_rate": premium,
                    "contract_effective_at": r.effective_at, "settled_at": r.settled_at})
    return out


def procurement_rows(f: Filters, limit: int = 20000) -> list[dict]:
    """招标采购明细 for the reports: the live procurement deals (评标 concluded) in the period, with the 最高限价 (招商:
    最低价), the 中标价 and what the collective saved against the limit (招标/采购)."""
    from exchange.catalog.models import TransferMethod
    from exchange.procurement.models import EVAL_KINDS, KINDS
    names = dict(db.session.execute(select(OrgUnit.id, OrgUnit.area_name)).all())
    stmt = (select(Deal.deal_no, Deal.concluded_at, Deal.price, Listing.project_no, Listing.title, Listing.station_id,
                   Listing.point_id, TransferMethod.name.label("mode"), ProcurementProject.kind,
                   ProcurementProject.eval_kind, ProcurementProject.direction, ProcurementProject.limit_price,
                   ProcurementProject.notice_no, Contract.effective_at)
            .select_from(ProcurementProject).join(Listing, Listing.id == ProcurementProject.listing_id)
            .join(Deal, Deal.listing_id == Listing.id).join(TransferMethod, TransferMethod.id == Listing.method_id)
            .outerjoin(Contract, Contract.deal_id == Deal.id)
            .where(*_where(f, Deal.concluded_at, Deal.method), Deal.state.in_(LIVE_DEAL_STATES),
                   Deal.method == PROCUREMENT)
            .order_by(Deal.concluded_at, Deal.id).limit(limit))
    out = []
    for r in db.session.execute(stmt):
        buying = r.direction == "lower"
        savings = _money(r.limit_price - r.price) if buying and r.limit_price else None
        out.append({"deal_no": r.deal_no, "concluded_at": r.concluded_at, "project_no": r.project_no or "",
                    "title": r.title, "town": names.get(r.station_id, ""),
                    "village": names.get(r.point_id, "") if r.point_id else "", "mode": r.mode,
                    "kind": KINDS.get(r.kind, ""), "eval_kind": EVAL_KINDS.get(r.eval_kind, r.eval_kind),
                    "limit_label": "最高限价" if buying else "最低价", "limit_price": r.limit_price, "price": r.price,
                    "savings": savings,
                    "savings_rate": ((savings / r.limit_price).quantize(RATE_Q, rounding=ROUND_HALF_UP)
                                     if savings is not None else None),
                    "notice_no": r.notice_no or "", "contract_effective_at": r.effective_at})
    return out


# --- 考评: the town ranking ---------------------------------------------------------------------------------

REVIEW_ACTIONS = ("submit", "relist_submit", "station_pass", "station_return", "center_approve", "center_return",
                  "center_reject")
REVIEW_LOOKBACK = timedelta(days=120)  # a review decision is paired with the step before it within this window


def ranking(f: Filters, level: str = "town", sort: str = "submissions", descending: bool = True,
            rank_data: Callable | None = None) -> list[dict]:
    """Per town (``level="town"``) or per village (``"village"``, of the filtered town if any): submissions
    (提交 and 重新挂牌 events in the period), returns (交易站 and 交易中心 退回), return rate, average time the
    station and the center took to decide (from the step that handed the listing to them to their decision,
    decisions in the period), live deals of transfers and their amount (procurement apart, as everywhere).  Sorted by ``sort`` (a key of ``RANK_KEYS``); the
    ``rank`` field is the position in that order."""
    if level not in ("town", "village"):
        raise StatsError("排名层级应为乡镇或村。", field="level")
    if sort not in RANK_KEYS:
        raise StatsError("排序字段不正确。", field="sort")
    group_col = Listing.station_id if level == "town" else Listing.point_id
    units = ([(t.id, t.area_name) for t in towns(f.station_id)] if level == "town"
             else [(v.id, v.area_name) for v in villages(f.station_id, f.point_id)])
    blank = {"submissions": 0, "returns": 0, "return_rate": None, "station_review_days": None,
             "station_reviews": 0, "center_review_days": None, "center_reviews": 0, "deals": 0,
             "amount": Decimal("0.00")}
    data: dict = {}
    if rank_data is None:
        from exchange.supervision import rollup
        rollup.refresh()
        for key, v in rollup.ranking_data(f, level).items():
            subs, rets, st_n, ce_n = (int(v[k]) for k in ("submissions", "returns", "station_reviews",
                                                         "center_reviews"))
            data[key] = dict(blank, submissions=subs, returns=rets, return_rate=_ratio(rets, subs),
                             station_review_days=_days(float(v["station_seconds_sum"]) / st_n) if st_n else None,
                             station_reviews=st_n,
                             center_review_days=_days(float(v["center_seconds_sum"]) / ce_n) if ce_n else None,
                             center_reviews=ce_n, deals=int(v["rank_deals"]), amount=_money(v["rank_amount"]))
    else:  # the tests' reference, from the base tables
        rank_data(f, group_col, blank, data)
    return _rank_rows(units, data, blank, level, sort, descending)


def _rank_rows(units, data: dict, blank: dict, level: str, sort: str, descending: bool) -> list[dict]:
    rows = [{"key": k, "label": label, **data.get(k, blank)} for k, label in units]
    official = {k: i for i, (k, _) in enumerate(units)}  # ties keep the city's order of towns / villages
    if level == "village" and None in data:
        rows.append({"key": None, "label": "直接申请（未经交易点）", **data[None]})

    def order(r):
        v = r[sort]
        missing = v is None
        v = 0 if v is None else v
        return (missing, -v if descending else v, official.get(r["key"], len(official)))
    rows.sort(key=order)
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return rows


from exchange.supervision import rollup as _rollup  # noqa: E402,F401  (registers the listener that marks changes)
