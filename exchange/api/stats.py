"""统计分析 as JSON (center staff and the supervisor, ``stats.view``): the same figures as the 统计监督 pages,
from :mod:`exchange.supervision.stats`.  Money and rates are strings (two decimals for 元, four for a rate:
"0.1234" = 12.34 %), durations are days."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from exchange.access import require
from exchange.api.common import ApiError, Exact, make_blueprint, require_login
from exchange.supervision import stats

blp = make_blueprint("api_stats", "/stats", "统计分析与考评排名（交易中心、监管只读）")

METHODS = list(stats.METHOD_LABELS)


class FilterArgs(Schema):
    from_ = fields.String(data_key="from", load_default=None,
                          metadata={"description": "开始日期 YYYY-MM-DD 或月份 YYYY-MM（北京时间）"})
    to = fields.String(load_default=None, metadata={"description": "结束日期（含）YYYY-MM-DD 或月份 YYYY-MM"})
    month = fields.String(load_default=None, metadata={"description": "整月 YYYY-MM（代替 from/to）"})
    quarter = fields.String(load_default=None, metadata={"description": "整季 2026Q4（代替 from/to）"})
    town = fields.String(load_default=None, metadata={"description": "乡镇（交易站）编号"})
    village = fields.String(load_default=None, metadata={"description": "村（交易点）编号"})
    category = fields.String(load_default=None, metadata={"description": "交易品种代码，如 C01"})
    method = fields.String(load_default=None, metadata={"description": "交易方式：" + "、".join(METHODS)})


class RankArgs(FilterArgs):
    level = fields.String(load_default="town", validate=validate.OneOf(["town", "village"]),
                          metadata={"description": "town 乡镇 / village 村"})
    sort = fields.String(load_default="submissions", validate=validate.OneOf(list(stats.RANK_KEYS)),
                         metadata={"description": "排序字段"})
    order = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))


def Rate(**kwargs) -> Exact:  # noqa: N802 (reads like the field it is)
    """A share or rate (0.1234 = 12.34 %) as an exact decimal string, its decimals as computed."""
    return Exact(places=None, **kwargs)


class StageSchema(Schema):
    count = fields.Integer()
    avg_days = fields.Float(allow_none=True)
    max_days = fields.Float(allow_none=True)


class ClockSchema(Schema):
    met = fields.Integer()
    missed = fields.Integer()
    total = fields.Integer()
    share = Rate(allow_none=True, metadata={"description": "按时率（0–1）"})


class ListingFigures(Schema):
    """挂牌项目（流转交易；招标采购项目另计，见 ProcurementFigures）"""

    submitted = fields.Integer()
    published = fields.Integer()
    concluded = fields.Integer()
    failed = fields.Integer()
    failed_rate = Rate(allow_none=True, metadata={"description": "流拍 / (成交 + 流拍)"})


class DealFigures(Schema):
    count = fields.Integer()
    area_mu = Exact(places=None, metadata={"description": "成交面积（亩）"})
    amount = Exact(places=None, metadata={"description": "成交金额（元；流转交易，不含招标采购的中标价）"})
    floor_total = Exact(places=None, metadata={"description": "有底价的成交的底价合计（元）"})
    premium_rate = Rate(allow_none=True, metadata={"description": "Σ成交价/Σ底价 − 1"})
    avg_premium_rate = Rate(allow_none=True, metadata={"description": "逐宗 成交价/底价 − 1 的平均"})


class ProcurementFigures(Schema):
    """招标采购（招标、采购、招商），与流转交易分开统计：中标价是村集体支付（招商为收取）的款项，不计入成交金额"""

    submitted = fields.Integer(metadata={"description": "提交的招标采购项目"})
    published = fields.Integer(metadata={"description": "发布公告的招标采购项目"})
    concluded = fields.Integer(metadata={"description": "评标确定中标候选人的项目（招标、采购和招商）"})
    failed = fields.Integer(metadata={"description": "流标的项目"})
    failed_rate = Rate(allow_none=True, metadata={"description": "流标 / (成交 + 流标)"})
    purchase_count = fields.Integer(metadata={"description": "招标、采购成交宗数"})
    purchase_amount = Exact(places=None, metadata={"description": "招标采购金额（元）：招标、采购的中标价合计（村集体支付）"})
    limit_total = Exact(places=None, metadata={"description": "同一批项目的最高限价合计（元）"})
    savings = Exact(places=None, metadata={"description": "节约资金（元）：最高限价合计 − 中标价合计"})
    savings_rate = Rate(allow_none=True, metadata={"description": "节约率：节约资金 / 最高限价合计"})
    invest_count = fields.Integer(metadata={"description": "招商成交宗数"})
    invest_amount = Exact(places=None, metadata={"description": "招商金额（元）：招商项目的中选报价合计（村集体收取）"})


class Figures(Schema):
    # listings and deals: the transfers (流转交易); procurement (招标、采购、招商) apart — its price is never in 成交金额
    listings = fields.Nested(ListingFigures)
    deals = fields.Nested(DealFigures)
    procurement = fields.Nested(ProcurementFigures)
    deposits_held = Exact(places=None, metadata={"description": "当前在途保证金（元）"})
    stages = fields.Dict(keys=fields.String(), values=fields.Nested(StageSchema),
                         metadata={"description": "review 审核, announce 公告, contract 签约, settle 结算, certify 鉴证"})
    clocks = fields.Dict(keys=fields.String(), values=fields.Nested(ClockSchema),
                         metadata={"description": "contract 签约5工作日, settle 结算10天, certify 鉴证3工作日, "
                                                  "refund 退款5工作日"})


class PeriodSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    text = fields.String()
    scope = fields.String()


class SummarySchema(Figures):
    period = fields.Nested(PeriodSchema)


class GroupRow(Figures):
    key = fields.Raw(allow_none=True, metadata={"description": "分组键：月份 YYYY-MM、机构编号、品种编号或方式代码"})
    label = fields.String()


class GroupSchema(Schema):
    period = fields.Nested(PeriodSchema)
    items = fields.List(fields.Nested(GroupRow))


class RankRow(Schema):
    rank = fields.Integer()
    key = fields.Integer(allow_none=True)
    label = fields.String()
    submissions = fields.Integer()
    returns = fields.Integer()
    return_rate = Rate(allow_none=True)
    station_review_days = fields.Float(allow_none=True)
    station_reviews = fields.Integer()
    center_review_days = fields.Float(allow_none=True)
    center_reviews = fields.Integer()
    deals = fields.Integer()
    amount = Exact(places=None, metadata={"description": "成交金额（元，流转交易）"})


class RankSchema(Schema):
    period = fields.Nested(PeriodSchema)
    level = fields.String()
    sort = fields.String()
    order = fields.String()
    items = fields.List(fields.Nested(RankRow))


def _filters(args: dict) -> stats.Filters:
    require(require_login(), "stats.view")
    return parse(args)


def parse(args: dict) -> stats.Filters:
    """The filters of FilterArgs (also the open statistics'), a bad one as a 400 naming the field."""
    raw = {k: v for k, v in args.items() if k not in ("level", "sort", "order")}
    if "from_" in raw:
        raw["from"] = raw.pop("from_")
    try:
        return stats.parse_filters(raw, default_period=True)
    except stats.StatsError as exc:
        raise ApiError(400, "invalid", exc.message, fields={exc.field: [exc.message]} if exc.field else {}) from None


def _period(f: stats.Filters) -> dict:
    return stats.period_info(f)


@blp.route("/summary")
@blp.arguments(FilterArgs, location="query")
@blp.response(200, SummarySchema)
def summary(args):
    """主要指标（默认本年至今、全市）"""
    return stats.summary(_filters(args))


def _group(name: str, args: dict) -> dict:
    f = _filters(args)
    return {"period": _period(f), "items": stats.BY[name](f)}


@blp.route("/by-month")
@blp.arguments(FilterArgs, location="query")
@blp.response(200, GroupSchema)
def by_month(args):
    """按月份"""
    return _group("month", args)


@blp.route("/by-town")
@blp.arguments(FilterArgs, location="query")
@blp.response(200, GroupSchema)
def by_town(args):
    """按乡镇（街道）；带 town 时仍只列该乡镇，各村见 /by-village"""
    return _group("town", args)


@blp.route("/by-village")
@blp.arguments(FilterArgs, location="query")
@blp.response(200, GroupSchema)
def by_village(args):
    """按村（社区）"""
    return _group("village", args)


@blp.route("/by-category")
@blp.arguments(FilterArgs, location="query")
@blp.response(200, GroupSchema)
def by_category(args):
    """按交易品种"""
    return _group("category", args)


@blp.route("/by-method")
@blp.arguments(FilterArgs, location="query")
@blp.response(200, GroupSchema)
def by_method(args):
    """按交易方式"""
    return _group("method", args)


@blp.route("/ranking")
@blp.arguments(RankArgs, location="query")
@blp.response(200, RankSchema)
def ranking(args):
    """考评排名（按乡镇或村）"""
    f = _filters(args)
    rows = stats.ranking(f, args["level"], args["sort"], args["order"] == "desc")
    return {"period": _period(f), "level": args["level"], "sort": args["sort"], "order": args["order"], "items": rows}
