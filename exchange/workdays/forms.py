"""Holiday calendar forms (center admin)."""
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional


class OverrideForm(FlaskForm):
    day = DateField("日期", validators=[DataRequired("请选择日期（格式 2027-01-01）")],
                    format="%Y-%m-%d")
    kind = RadioField("类型", choices=[("off", "放假（休息日）"), ("work", "上班（调休工作日）")], default="off",
                      validators=[DataRequired("请选择放假或上班")])
    name = StringField("名称", validators=[Optional(), Length(max=60, message="名称不能超过 60 个字")])


class ConfirmYearForm(FlaskForm):
    note = StringField("依据", validators=[Optional(), Length(max=200)])
