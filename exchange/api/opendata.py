"""开放数据接口 ``/api/v1/open/``: announcements, results, procurement projects (招标/采购/招商) and the changes feed,
without sign-in.

* Anonymous callers are limited per IP; government consumers send ``Authorization: Bearer lxod_…`` (a read
  token the admin issues at ``/admin/data-tokens``) for their own, higher limit.  A bad, revoked or expired token
  is a 401, never a silent fall back to anonymous.
* Everything comes from :mod:`exchange.opendata.services` (the allow-list and the masking); the schemas below
  are a second allow-list: a key they do not name is never sent.
* Bad input — an unknown town or category, a nonsense date, a page size out of range, a cursor this platform did
  not issue — is a 400 ``{"error": "invalid", "message": 中文说明, "fields": {...}}``.
* The integration guide for data platforms is the page ``/open-data``.
"""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from exchange.api import procurement as procurement_api
from exchange.api import stats as stats_api
from exchange.api.common import API_PREFIX, ApiError, Day, ErrorSchema, Exact, Int, not_found
from exchange.listings.workflow import PUBLIC_STATES
from exchange.web import ratelimit
from exchange.opendata import procurement as procurement_svc
from exchange.opendata import services as svc

blp = Blueprint("api_opendata", __name__, url_prefix=API_PREFIX + "/open",
                description="开放数据（无需登录）：挂牌公告、成交结果、招标采购（公告条款、开标记录、中标人）和变更订阅；"
                            "自然人姓名脱敏，不含身份证号、电话和银行账号")

SECURITY_SCHEME = "openDataToken"
# anonymous, or a read token for a higher limit
OPEN_SECURITY = [{}, {SECURITY_SCHEME: []}]

RATE_HEADERS = {
    "X-RateLimit-Limit": {"description": "本时间窗（1 分钟）允许的请求次数", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "本时间窗剩余的请求次数", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "本时间窗结束的时刻（Unix 秒）", "schema": {"type": "integer"}},
}


def register(api) -> None:
    """Called once per application by exchange.api.init_api: the token's security scheme and the blueprint."""
    api.spec.components.security_scheme(SECURITY_SCHEME, {
        "type": "http", "scheme": "bearer",
        "description": "开放数据访问令牌（lxod_ 开头），由交易中心管理员在“开放数据令牌”页面发放，仅显示一次。"
                       "不带令牌为匿名访问（按 IP 限流，默认每分钟 60 次）；带令牌按令牌的每分钟上限计。"
                       "令牌无效、已吊销或已过期时返回 401，不会降级为匿名访问。"})
    api.register_blueprint(blp)


@blp.before_request
def _authenticate():
    token = ratelimit.client()  # 401 for a bad token (the limiter has usually asked already)
    if token is not None and svc.touch(token):
        from exchange.extensions import db
        db.session.commit()
    return None


@blp.after_request
def _rate_headers(response):
    return ratelimit.rate_headers(response)


@blp.errorhandler(400)
def _bad_request(exc):
    """Query parameters that do not parse (webargs) get our error body, in Chinese, with the fields."""
    from exchange.api import _chinese_field_errors
    from exchange.extensions import db
    db.session.rollback()
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or {}
    flat: dict = {}
    for location in messages.values():
        if isinstance(location, dict):
            flat.update(location)
    if not flat:
        return {"error": "bad_request", "message": "请求有误。"}, 400
    flat = _chinese_field_errors(flat)
    parts = []
    for key, value in flat.items():
        text = str(value[0] if isinstance(value, list) and value else value)
        parts.append(text if text.startswith(key) else f"{key}：{text}")
    first = "；".join(parts)
    return {"error": "invalid", "message": f"查询参数有误（{first}）。", "fields": flat}, 400


@blp.errorhandler(429)
def _too_many(exc):
    return ratelimit.too_many(exc)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except svc.OpenDataError as exc:
        extra = {"fields": {exc.field: [exc.message]}} if exc.field else {}
        raise ApiError(400, "invalid", exc.message, **extra) from None


def _docs(fn):
    """The shared documentation of every open endpoint: anonymous or token, and its errors."""
    fn = blp.alt_response(429, schema=ErrorSchema, description="请求过于频繁；Retry-After 头给出需等待的秒数",
                          headers={"Retry-After": {"description": "需等待的秒数", "schema": {"type": "integer"}}})(fn)
    fn = blp.alt_response(401, schema=ErrorSchema,
                          description="Authorization 头格式不对，或令牌无效、已吊销、已过期（不会降级为匿名访问）")(fn)
    fn = blp.alt_response(400, schema=ErrorSchema, description="查询参数有误（未知的镇或品种、日期格式、分页或游标）")(fn)
    return blp.doc(security=OPEN_SECURITY)(fn)


# --- schemas ---------------------------------------------------------------------------------------------------

def _date(description: str):
    return Day(load_default=None, metadata={"description": description},
               error_messages={"invalid": "日期格式应为 YYYY-MM-DD"})


def _int(default: int, lo: int, hi: int, description: str, name: str):
    return Int(load_default=default, validate=validate.Range(min=lo, max=hi, error=f"{name} 应为 {lo}–{hi} 的整数"),
               metadata={"description": description})


class _FilterArgs(Schema):
    category = fields.String(load_default=None, validate=validate.Length(max=60),
                             metadata={"description": "交易品种：代码（如 C01）或全称"})
    town = fields.String(load_default=None, validate=validate.Length(max=60),
                         metadata={"description": "镇（街道）：名称（如 江南镇）或交易站编码（如 LX-05）"})
    page = _int(1, 1, 100000, "页码，从 1 开始", "page")
    per_page = _int(20, 1, svc.MAX_PER_PAGE, f"每页条数，1–{svc.MAX_PER_PAGE}", "per_page")


class AnnouncementArgs(_FilterArgs):
    state = fields.String(load_default=None,
                          validate=validate.OneOf(list(PUBLIC_STATES), error="state 应为：" + "、".join(PUBLIC_STATES)),
                          metadata={"description": "项目状态：announced 公告中、trading 交易中、publicity 交易公示、"
                                                   "contract 签约中、settlement 结算中、certification 鉴证中、"
                                                   "completed 已完成、suspended 已中止、terminated 已终结、"
                                                   "failed 流拍、defaulted 违约处理中；不填为全部"})
    date_from = _date("发布日期起（北京时间，含当日），YYYY-MM-DD")
    date_to = _date("发布日期止（北京时间，含当日），YYYY-MM-DD")


class ResultArgs(_FilterArgs):
    state = fields.String(load_default=None,
                          validate=validate.OneOf(list(svc.PUBLIC_DEAL_STATES),
                                                  error="state 应为：" + "、".join(svc.PUBLIC_DEAL_STATES)),
                          metadata={"description": "publicity 交易公示中、suspended 已中止、confirmed 公示期满；"
                                                   "不填为全部"})
    date_from = _date("成交日期起（北京时间，含当日），YYYY-MM-DD")
    date_to = _date("成交日期止（北京时间，含当日），YYYY-MM-DD")


class ProcurementArgs(Schema):
    town = fields.String(load_default=None, validate=validate.Length(max=60),
                         metadata={"description": "镇（街道）：名称（如 江南镇）或交易站编码（如 LX-05）"})
    stage = fields.String(load_default=None,
                          validate=validate.OneOf(list(procurement_svc.STAGES),
                                                  error="stage 应为：" + "、".join(procurement_svc.STAGES)),
                          metadata={"description": "招标采购的阶段：" + "、".join(
                              f"{k} {v}" for k, v in procurement_svc.STAGES.items()) + "；不填为全部"})
    mode = fields.String(load_default=None,
                         validate=validate.OneOf(list(procurement_svc.MODES),
                                                 error="mode 应为：" + "、".join(procurement_svc.MODES)),
                         metadata={"description": "招标 / 采购 / 招商；不填为全部"})
    date_from = _date("公告发布日期起（北京时间，含当日），YYYY-MM-DD")
    date_to = _date("公告发布日期止（北京时间，含当日），YYYY-MM-DD")
    page = _int(1, 1, 100000, "页码，从 1 开始", "page")
    per_page = _int(20, 1, svc.MAX_PER_PAGE, f"每页条数，1–{svc.MAX_PER_PAGE}", "per_page")


class ChangesArgs(Schema):
    since = fields.String(load_default=None, validate=validate.Length(max=64),
                          metadata={"description": "游标：上一页响应中的 next_cursor，原样传回；首次同步不带此参数"})
    limit = _int(svc.FEED_DEFAULT_LIMIT, 1, svc.FEED_MAX_LIMIT, f"本页最多读取的变更条数，1–{svc.FEED_MAX_LIMIT}",
                 "limit")


class ResultSchema(Schema):
    deal_no = fields.String(metadata={"description": "成交编号"})
    state = fields.String(metadata={"description": "publicity 交易公示中 / suspended 已中止 / confirmed 公示期满"})
    state_label = fields.String()
    method = fields.String(metadata={"description": "agreement 协议转让 / online_bidding 网络竞价 / sealed_bid "
                                                    "一次性报价 / auction 拍卖 / tender 招投标"})
    method_label = fields.String()
    price = Exact(allow_none=True, metadata={"description": "成交价（元）"})
    concluded_at = fields.DateTime(metadata={"description": "成交时间（UTC）"})
    concluded_date = fields.Date(metadata={"description": "成交日期（北京时间）"})
    publicity_end_at = fields.DateTime(allow_none=True, metadata={"description": "交易公示截止（UTC）"})
    transferee = fields.String(metadata={"description": "受让方：自然人仅显示姓氏（张*），单位显示全称"})
    transferee_kind = fields.String(metadata={"description": "person 自然人 / organisation 单位"})
    url = fields.String(metadata={"description": "公示页面的路径"})


class ResultDetailSchema(ResultSchema):
    project_no = fields.String(metadata={"description": "项目编号"})
    title = fields.String()
    category = fields.String(metadata={"description": "交易品种"})
    category_code = fields.String()
    transfer_method = fields.String(metadata={"description": "流转方式"})
    town = fields.String(metadata={"description": "镇（街道）"})
    town_code = fields.String(metadata={"description": "交易站编码"})
    village = fields.String(allow_none=True, metadata={"description": "村（社区）"})
    village_code = fields.String(allow_none=True, metadata={"description": "交易点编码"})
    quantity = Exact(allow_none=True, metadata={"description": "面积或数量"})
    unit = fields.String(metadata={"description": "单位，如 亩"})
    floor_price = Exact(allow_none=True, metadata={"description": "底价（元）；未公开底价的项目为 null"})
    transferor = fields.String(metadata={"description": "转让方：农户仅显示姓氏（张*），集体经济组织和单位显示全称"})


class AnnouncementSchema(Schema):
    project_no = fields.String(metadata={"description": "项目编号"})
    public = fields.Boolean(metadata={"description": "false 表示项目已不在公开状态，只给出编号和状态"})
    title = fields.String()
    state = fields.String(metadata={"description": "项目状态代码"})
    state_label = fields.String(metadata={"description": "项目状态（中文）"})
    category = fields.String(metadata={"description": "交易品种"})
    category_code = fields.String()
    transfer_method = fields.String(metadata={"description": "流转方式，如 出租、入股"})
    town = fields.String(metadata={"description": "镇（街道）"})
    town_code = fields.String(metadata={"description": "交易站编码"})
    village = fields.String(allow_none=True, metadata={"description": "村（社区）"})
    village_code = fields.String(allow_none=True, metadata={"description": "交易点编码"})
    quantity = Exact(allow_none=True, metadata={"description": "面积或数量"})
    unit = fields.String(metadata={"description": "单位，如 亩"})
    current_use = fields.String(metadata={"description": "利用现状（《管理办法》第十四条（一））；早于该项必填的项目可能为空"})
    term_start = fields.Date(allow_none=True, metadata={"description": "流转期限起"})
    term_end = fields.Date(allow_none=True, metadata={"description": "流转期限止"})
    price_mode = fields.String(metadata={"description": "total 总价 / per_unit_year 按单位面积每年计价"})
    price_mode_label = fields.String()
    floor_price_public = fields.Boolean(metadata={"description": "转让方是否同意公开底价"})
    floor_price = Exact(allow_none=True, metadata={"description": "底价（元，总价）；未公开时为 null"})
    floor_unit_price = Exact(allow_none=True, metadata={"description": "单价（元/单位/年）；按年计价且公开时给出"})
    deposit_amount = Exact(allow_none=True, metadata={"description": "交易保证金（元）"})
    trading_method = fields.String(metadata={"description": "交易方式代码"})
    trading_method_label = fields.String()
    transferor_kind = fields.String(allow_none=True, metadata={"description": "household 农户 / collective 集体经济"
                                                                              "组织 / enterprise 企业 / other 其他组织"})
    transferor_kind_label = fields.String()
    transferor = fields.String(metadata={"description": "转让方：农户仅显示姓氏（张*），集体经济组织和单位显示全称"})
    published_at = fields.DateTime(allow_none=True, metadata={"description": "发布时间（UTC）"})
    announce_start_at = fields.DateTime(allow_none=True, metadata={"description": "公告期起（UTC）"})
    announce_end_at = fields.DateTime(allow_none=True, metadata={"description": "公告期止（UTC，不含）"})
    announce_days = fields.Integer(metadata={"description": "公告期（工作日）"})
    deposit_deadline_at = fields.DateTime(allow_none=True, metadata={"description": "保证金到账截止（UTC）"})
    url = fields.String(metadata={"description": "公告页面的路径"})
    result = fields.Nested(ResultSchema, allow_none=True,
                           metadata={"description": "成交结果（交易公示中或公示期满的成交）；没有时为 null"})
    procurement = fields.Nested(procurement_api.ProcurementPartSchema, allow_none=True,
                                metadata={"description": "招标采购项目（招标、采购、招商）的公告条款、开标记录、中标候选人"
                                                         "和中标人；其他项目为 null"})


class _PageSchema(Schema):
    total = fields.Integer(metadata={"description": "符合条件的总条数"})
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer(metadata={"description": "总页数"})


class AnnouncementPageSchema(_PageSchema):
    items = fields.List(fields.Nested(AnnouncementSchema))


class ResultPageSchema(_PageSchema):
    items = fields.List(fields.Nested(ResultDetailSchema))


class ProcurementOpenPageSchema(_PageSchema):
    items = fields.List(fields.Nested(procurement_api.OpenProcurementProjectSchema))


class ChangeSchema(Schema):
    seq = fields.Integer(metadata={"description": "变更序号（递增，与审计日志序号一致；同一页内同一项目只给最新一次）"})
    change = fields.String(metadata={"description": "变更类型，如 center_approve 发布公告、conclude 成交、terminate 终结、"
                                                    "open_bids 开标、procurement_award 确定中标人（招标采购）"})
    change_label = fields.String(metadata={"description": "变更类型（中文）"})
    changed_at = fields.DateTime(metadata={"description": "变更时间（UTC）"})
    listing = fields.Nested(AnnouncementSchema, metadata={"description": "项目当前的公开信息（含成交结果）"})


class ChangesSchema(Schema):
    items = fields.List(fields.Nested(ChangeSchema))
    next_cursor = fields.String(metadata={"description": "下次请求的 since；没有新变更时与本次相同"})
    has_more = fields.Boolean(metadata={"description": "true 表示还有更多变更，应立即用 next_cursor 继续读取"})


def _page(page: svc.Page) -> dict:
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": page.per_page,
            "pages": page.pages}


def _filters(args: dict) -> svc.Filters:
    return svc.Filters(category=args.get("category") or None, town=args.get("town") or None,
                       state=args.get("state") or None, date_from=args.get("date_from"),
                       date_to=args.get("date_to"), page=args["page"], per_page=args["per_page"])


# --- endpoints -------------------------------------------------------------------------------------------------

@blp.route("/announcements")
@blp.arguments(AnnouncementArgs, location="query", error_status_code=400)
@blp.response(200, AnnouncementPageSchema, headers=RATE_HEADERS)
@_docs
def announcements(args):
    """挂牌公告（公告中及其后各公开状态的项目），新发布的在前"""
    return _page(_call(svc.announcements, _filters(args)))


@blp.route("/announcements/<string:project_no>")
@blp.response(200, AnnouncementSchema, headers=RATE_HEADERS)
@blp.alt_response(404, schema=ErrorSchema, description="没有该项目，或项目未公开")
@_docs
def announcement(project_no):
    """一个挂牌项目的公开信息（含成交结果）"""
    item = svc.announcement(project_no)
    if item is None:
        raise not_found("项目")
    return item


@blp.route("/results")
@blp.arguments(ResultArgs, location="query", error_status_code=400)
@blp.response(200, ResultPageSchema, headers=RATE_HEADERS)
@_docs
def results(args):
    """成交结果（交易公示中和公示期满的成交），新的在前；受让方为自然人的仅显示姓氏"""
    return _page(_call(svc.results, _filters(args)))


@blp.route("/results/<string:deal_no>")
@blp.response(200, ResultDetailSchema, headers=RATE_HEADERS)
@blp.alt_response(404, schema=ErrorSchema, description="没有该成交，或成交未公开")
@_docs
def result(deal_no):
    """一项成交结果"""
    item = svc.result(deal_no)
    if item is None:
        raise not_found("成交")
    return item


@blp.route("/procurement")
@blp.arguments(ProcurementArgs, location="query", error_status_code=400)
@blp.response(200, ProcurementOpenPageSchema, headers=RATE_HEADERS)
@_docs
def procurement_projects(args):
    """招标采购项目（招标、采购、招商），新发布的在前：公告条款（限价、保证金、评标办法及分值、开标时间）；开标后的开标记录
    （投标人、报价、回执）；评标后的中标候选人；定标后的中标人和中标通知书编号。开标前不公开任何投标信息（包括投标数量）"""
    f = svc.Filters(town=args.get("town") or None, date_from=args.get("date_from"), date_to=args.get("date_to"),
                    page=args["page"], per_page=args["per_page"])
    return _page(_call(procurement_svc.projects, f, stage=args.get("stage"), mode=args.get("mode")))


@blp.route("/procurement/<string:project_no>")
@blp.response(200, procurement_api.OpenProcurementProjectSchema, headers=RATE_HEADERS)
@blp.alt_response(404, schema=ErrorSchema, description="没有该招标采购项目，或项目未公开")
@_docs
def procurement_project(project_no):
    """一个招标采购项目：公告条款、开标记录、中标候选人和中标人"""
    item = procurement_svc.by_number(project_no)
    if item is None:
        raise not_found("招标采购项目")
    return item


@blp.route("/changes")
@blp.arguments(ChangesArgs, location="query", error_status_code=400)
@blp.response(200, ChangesSchema, headers=RATE_HEADERS)
@_docs
def changes(args):
    """变更订阅：since 之后的变更，按序号递增；用 next_cursor 增量同步，has_more 为 true 时继续读取"""
    page = _call(svc.changes, args.get("since"), args["limit"])
    return {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}


def _stats_schemas():
    class OpenStatsSchema(Schema):
        summary = fields.Nested(stats_api.SummarySchema)
        by_month = fields.List(fields.Nested(stats_api.GroupRow))
        by_town = fields.List(fields.Nested(stats_api.GroupRow))
        by_category = fields.List(fields.Nested(stats_api.GroupRow))
        by_method = fields.List(fields.Nested(stats_api.GroupRow))
    return OpenStatsSchema


@blp.route("/statistics")
@blp.arguments(stats_api.FilterArgs, location="query", error_status_code=400)
@blp.response(200, _stats_schemas(), headers=RATE_HEADERS)
@_docs
def statistics(args):
    """交易统计（汇总数字，不含个人信息）：挂牌、成交、流拍、面积、金额、溢价率、各环节用时和法定期限按时率，
    以及按月、按乡镇、按品种、按方式的分组；招标采购（招标采购金额、节约资金、招商金额）另计，不计入成交金额；
    口径与交易中心统计页面相同；不填期间为本年初至今"""
    from exchange.supervision import stats
    f = stats_api.parse(args)
    return {"summary": stats.summary(f), "by_month": stats.by_month(f), "by_town": stats.by_town(f),
            "by_category": stats.by_category(f), "by_method": stats.by_method(f)}


__all__ = ["blp", "register"]
