"""Statement import and line decision forms."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length, Optional


class StatementForm(FlaskForm):
    file = FileField("银行流水文件（CSV 或 XLSX）", validators=[FileRequired("请选择银行导出的流水文件")])


class DecisionForm(FlaskForm):
    decision = HiddenField()
    note = TextAreaField("处理说明", validators=[Optional(), Length(max=300)])


