"""Trading officer's forms."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from exchange.inputs import IdSelectField

WHEN_HINT = "北京时间，如 2026-12-10 09:30"


class OnlineForm(FlaskForm):
    starts_at = StringField("开始时间", validators=[DataRequired("请填写开始时间"), Length(max=16)])
    free_minutes = IntegerField("自由报价期（分钟）", default=30, validators=[NumberRange(1, 1440)])
    countdown_seconds = IntegerField("限时报价倒计时（秒）", default=300, validators=[NumberRange(10, 3600)])
    max_extension_minutes = IntegerField("延时上限（分钟）", default=120, validators=[NumberRange(0, 1440)])
    increment = StringField("加价幅度（元）", validators=[Optional(), Length(max=20)])
    max_steps = IntegerField("单次最多加价档数", default=10, validators=[NumberRange(1, 1000)])


class SealedForm(FlaskForm):
    starts_at = StringField("开始接受报价", validators=[DataRequired("请填写时间"), Length(max=16)])
    closes_at = StringField("报价截止", validators=[DataRequired("请填写时间"), Length(max=16)])
    opens_at = StringField("开标时间", validators=[DataRequired("请填写时间"), Length(max=16)])


class OfflineForm(FlaskForm):
    method = SelectField("交易方式", choices=[("auction", "拍卖"), ("tender", "招投标")])
    registration_id = IdSelectField("竞得人（竞买号）", validate_choice=False)
    price = StringField("成交价（元）", validators=[DataRequired("请填写成交价"), Length(max=20)])
    held_on = StringField("举行日期", validators=[DataRequired("请填写日期"), Length(max=10)])
    note = TextAreaField("说明（拍卖机构、招标代理等）", validators=[Optional(), Length(max=2000)])
    document = FileField("结果文件（成交确认书、中标通知书等，PDF/JPG/PNG）")


class BidForm(FlaskForm):
    amount = StringField("报价（元）", validators=[DataRequired("请填写报价"), Length(max=20)])
    key = StringField(validators=[DataRequired(), Length(min=8, max=64)])
