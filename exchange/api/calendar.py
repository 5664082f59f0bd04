"""The working-day calendar: day facts, deadline computation, admin overrides."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from exchange.access import require
from exchange.api.common import ApiError, make_blueprint, require_login
from exchange.extensions import db
from exchange.workdays import services as wd

blp = make_blueprint("api_calendar", "/calendar", "工作日历：法定节假日、调休与期限计算")


class DaySchema(Schema):
    day = fields.Date()
    is_workday = fields.Boolean()
    name = fields.String()
    source = fields.String(metadata={"description": "override 管理员设置 / statutory 国务院安排 / "
                                                    "confirmed 管理员已确认该年安排 / assumed 尚无该年数据，按周一至周五推定"})


class DaysArgs(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)

    @validates_schema
    def _range(self, data, **kw):
        if data["end"] < data["start"]:
            raise ValidationError("结束日期不能早于开始日期", "end")
        if (data["end"] - data["start"]).days > 400:
            raise ValidationError("一次最多查询 400 天", "end")


class DueArgs(Schema):
    start = fields.DateTime(required=True, metadata={"description": "起算时间（ISO 8601，带时区；不带按 UTC）"})
    working_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=366))
    days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=3660),
                          metadata={"description": "自然日（如结算 10 天）"})

    @validates_schema
    def _one(self, data, **kw):
        if (data.get("working_days") is None) == (data.get("days") is None):
            raise ValidationError("working_days 与 days 须且只能填一个", "working_days")


class DueSchema(Schema):
    due_at = fields.DateTime(metadata={"description": "截止时刻（UTC），即最后一天北京时间 24:00"})
    last_day = fields.Date(metadata={"description": "最后一天（北京时间）"})
    assumed_years = fields.List(fields.Integer(), metadata={"description": "按周一至周五推定的年份（尚无官方安排）"})


class OverrideSchema(Schema):
    is_workday = fields.Boolean(required=True, metadata={"description": "true 上班（调休）/ false 放假"})
    name = fields.String(load_default="", validate=validate.Length(max=60))


class YearSchema(Schema):
    year = fields.Integer()
    status = fields.String()
    warnings = fields.List(fields.String())


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
    return {"due_at": result.at, "last_day": result.last_day, "assumed_years": sorted(result.assumed_years)}


@blp.route("/years/<int:year>")
@blp.response(200, YearSchema)
def year(year):
    """某年节假日数据状态"""
    require(require_login(), "calendar.view")
    if not 1900 <= year <= 2200:
        raise ApiError(400, "invalid", "年份超出范围。")
    return {"year": year, "status": wd.year_status(year), "warnings": wd.calendar_warnings()}


@blp.route("/overrides/<string:day>", methods=["PUT"])
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


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid", "日期格式应为 YYYY-MM-DD。") from None
