"""The working-day calendar: day facts, deadline computation, admin overrides, the State Council's notice."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from exchange.access import require
from exchange.api.common import ApiError, Day, Int, Moment, make_blueprint, require_login
from exchange.api.common import authorise
from exchange.extensions import db
from exchange.workdays import notice as notices
from exchange.workdays import services as wd

blp = make_blueprint("api_calendar", "/calendar", "工作日历：法定节假日、调休与期限计算")


class DaySchema(Schema):
    day = fields.Date()
    is_workday = fields.Boolean()
    name = fields.String()
    source = fields.String(metadata={"description": "override 管理员设置 / notice 国务院通知（已确认年度）/ "
                                                    "statutory 国务院安排（内置）/ confirmed 已确认年度的其他日子 / "
                                                    "law 按《全国年节及纪念日放假办法》推算的法定节假日或补假 / "
                                                    "provisional 尚未确认年度的其他日子"})


class DaysArgs(Schema):
    start = Day(required=True)
    end = Day(required=True)

    @validates_schema
    def _range(self, data, **kw):
        if data["end"] < data["start"]:
            raise ValidationError("结束日期不能早于开始日期", "end")
        if (data["end"] - data["start"]).days > 400:
            raise ValidationError("一次最多查询 400 天", "end")


class DueArgs(Schema):
    start = Moment(required=True, metadata={"description": "起算时间（ISO 8601，带时区；不带按 UTC）"})
    working_days = Int(load_default=None, maximum=366)
    days = Int(load_default=None, maximum=3660,
                          metadata={"description": "自然日（如结算 10 天）"})

    @validates_schema
    def _one(self, data, **kw):
        if (data.get("working_days") is None) == (data.get("days") is None):
            raise ValidationError("working_days 与 days 须且只能填一个", "working_days")


class DueSchema(Schema):
    due_at = fields.DateTime(metadata={"description": "截止时刻（UTC），即最后一天北京时间 24:00"})
    last_day = fields.Date(metadata={"description": "最后一天（北京时间）"})
    provisional_years = fields.List(fields.Integer(), metadata={
        "description": "期限经过的、尚未确认放假安排的年份（暂按法定节假日推算）"})
    assumed_years = fields.List(fields.Integer(), metadata={"description": "同 provisional_years（旧名，保留兼容）"})


class OverrideSchema(Schema):
    is_workday = fields.Boolean(required=True, metadata={"description": "true 上班（调休）/ false 放假"})
    name = fields.String(load_default="", validate=validate.Length(max=60))


class YearSchema(Schema):
    year = fields.Integer()
    status = fields.String(metadata={"description": "statutory 内置国务院安排 / confirmed 已确认 / "
                                                    "provisional 尚未确认，按法定节假日推算"})
    warnings = fields.List(fields.String())


class NoticeArgs(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=20000),
                         metadata={"description": "国务院办公厅《关于YYYY年部分节假日安排的通知》全文"})


class NoticeConfirmArgs(NoticeArgs):
    note = fields.String(load_default="", validate=validate.Length(max=200),
                         metadata={"description": "依据，如通知文号"})


class MovedSchema(Schema):
    project_no = fields.String()
    title = fields.String()
    label = fields.String(metadata={"description": "期限名称，如 签约期限"})
    old = fields.DateTime(metadata={"description": "原截止时刻（UTC）"})
    new = fields.DateTime(metadata={"description": "调整后的截止时刻（UTC）"})


class ChangedDaySchema(Schema):
    day = fields.Date()
    before = fields.Nested(DaySchema)
    after = fields.Nested(DaySchema)


class NoticeSchema(Schema):
    year = fields.Integer()
    title = fields.String()
    holidays = fields.List(fields.Date(), metadata={"description": "放假的日子（含假期中的周末）"})
    workdays = fields.List(fields.Date(), metadata={"description": "调休上班的周末"})
    status = fields.String(metadata={"description": "该年目前的状态（见 YearSchema）"})
    changed_days = fields.List(fields.Nested(ChangedDaySchema), metadata={"description": "与目前安排相比有变化的日子"})
    moves = fields.List(fields.Nested(MovedSchema), metadata={"description": "确认后将（已）调整的期限"})


class ConfirmSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=200))


@blp.route("/days")
@blp.arguments(DaysArgs, location="query")
@blp.response(200, DaySchema(many=True))
def days(args):
    """逐日查询是否为工作日"""
    require(require_login(), "calendar.view")
    return wd.days_info(args["start"], args["end"])


@blp.route("/due")
@blp.arguments(DueArgs, location="query")
@blp.response(200, DueSchema)
def due(args):
    """计算期限：N 个工作日内或 N 天内"""
    require(require_login(), "calendar.view")
    from exchange import clock
    start = clock.ensure_aware(args["start"])
    result = (wd.due_after_working_days(start, args["working_days"]) if args.get("working_days") is not None
              else wd.due_after_days(start, args["days"]))
    years = sorted(result.provisional_years)
    return {"due_at": result.at, "last_day": result.last_day, "provisional_years": years, "assumed_years": years}


@blp.route("/years/<int:year>")
@blp.response(200, YearSchema)
def year(year):
    """某年节假日数据状态"""
    require(require_login(), "calendar.view")
    if not 1900 <= year <= 2200:
        raise ApiError(400, "invalid", "年份超出范围。")
    return {"year": year, "status": wd.year_status(year), "warnings": wd.calendar_warnings()}


@blp.route("/overrides/<string:day>", methods=["PUT"])
@authorise("calendar.manage")
@blp.arguments(OverrideSchema)
@blp.response(200, DaySchema)
def put_override(args, day):
    """设置某日放假或调休上班（中心管理员）"""
    actor = require_login()
    require(actor, "calendar.manage")
    d = _parse_day(day)
    try:
        wd.set_override(d, args["is_workday"], args["name"], actor)
    except wd.CalendarError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    db.session.commit()
    return wd.day_info(d)


@blp.route("/overrides/<string:day>", methods=["DELETE"])
@blp.response(200, DaySchema)
def delete_override(day):
    """删除某日的设置，恢复国务院安排（中心管理员）"""
    actor = require_login()
    require(actor, "calendar.manage")
    d = _parse_day(day)
    if not wd.remove_override(d, actor):
        raise ApiError(404, "not_found", "该日没有管理员设置。")
    db.session.commit()
    return wd.day_info(d)


@blp.route("/years/<int:year>/confirm", methods=["POST"])
@authorise("calendar.manage")
@blp.arguments(ConfirmSchema)
@blp.response(200, YearSchema)
def confirm_year(args, year):
    """确认某年节假日安排已录入完整（中心管理员）"""
    actor = require_login()
    require(actor, "calendar.manage")
    try:
        wd.confirm_year(year, actor, args["note"])
    except wd.CalendarError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    db.session.commit()
    return {"year": year, "status": wd.year_status(year), "warnings": wd.calendar_warnings()}


def _parse_notice(text: str):
    try:
        parsed = notices.parse_notice(text)
        change = wd.notice_change(parsed)
    except notices.NoticeError as exc:
        quoted = f"{exc.message}「{exc.line}」" if exc.line else exc.message
        raise ApiError(422, "notice_unreadable", exc.message, fields={"text": [quoted]}) from None
    except wd.CalendarError as exc:
        raise ApiError(422, "invalid", exc.message) from None
    return parsed, change


def _notice_body(parsed, days, moves) -> dict:
    return {"year": parsed.year, "title": parsed.title, "holidays": parsed.holidays, "workdays": parsed.workdays,
            "status": wd.year_status(parsed.year),
            "changed_days": [{"day": a.day, "before": b, "after": a} for b, a in days],
            "moves": [{"project_no": m.project_no, "title": m.title, "label": m.label, "old": m.old, "new": m.new}
                      for m in moves]}


@blp.route("/notice", methods=["POST"])
@authorise("calendar.manage")
@blp.arguments(NoticeArgs)
@blp.response(200, NoticeSchema)
def notice(args):
    """解析国务院办公厅放假通知并预览（不保存）：全年安排、有变化的日子、将调整的期限（中心管理员）"""
    actor = require_login()
    require(actor, "calendar.manage")
    parsed, change = _parse_notice(args["text"])
    return _notice_body(parsed, wd.change_days(change), wd.preview_change(change))


@blp.route("/notice/confirm", methods=["POST"])
@authorise("calendar.manage")
@blp.arguments(NoticeConfirmArgs)
@blp.response(200, NoticeSchema)
def confirm_notice(args):
    """按国务院办公厅放假通知确认该年安排，调整正在计算的期限并通知当事人（中心管理员）"""
    actor = require_login()
    require(actor, "calendar.manage")
    parsed, change = _parse_notice(args["text"])
    days = wd.change_days(change)
    moved = wd.apply_notice(parsed, args["text"], actor, args["note"])
    db.session.commit()
    return _notice_body(parsed, days, moved)


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid", "日期格式应为 YYYY-MM-DD。") from None
