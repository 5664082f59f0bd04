"""Holiday calendar forms (center admin)."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import DateField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

KIND_CHOICES = [("off", "放假（休息日）"), ("work", "上班（调休工作日）")]


class OverrideForm(FlaskForm):
    """Mark one date as 放假 or 调休上班 (replaces an earlier setting of the same date)."""

    day = DateField("日期", format="%Y-%m-%d",
                    validators=[DataRequired("请选择日期（格式 2027-01-01）")])
    kind = RadioField("类型", choices=KIND_CHOICES, default="off",
                      validators=[DataRequired("请选择放假或上班")])
    name = StringField("名称", validators=[Optional(), Length(max=60, message="名称不能超过 60 个字")])

    @property
    def is_workday(self) -> bool:
        return self.kind.data == "work"


class ConfirmYearForm(FlaskForm):
    note = StringField("依据", validators=[Optional(), Length(max=200, message="依据不能超过 200 个字")])


class DeleteOverrideForm(FlaskForm):
    """Just the CSRF token: the date is in the URL (``ui.confirm_button`` posts it)."""


NOTICE_MAX_CHARS = 20000


class NoticeForm(FlaskForm):
    """The State Council's notice, pasted or uploaded as a .txt file (one of the two)."""

    text = TextAreaField("通知全文", validators=[Optional(), Length(max=NOTICE_MAX_CHARS,
                                                               message="通知全文过长，请只粘贴通知本身")])
    file = FileField("或上传文本文件（.txt）", validators=[
        Optional(), FileAllowed(["txt"], "只能上传 .txt 文本文件；Word 或 PDF 请先复制其中的文字粘贴到上面")])


class ConfirmNoticeForm(FlaskForm):
    """The parsed notice confirmed: its text again (hidden) and the digest of what the admin saw."""

    text = HiddenField(validators=[DataRequired("通知全文丢失，请重新粘贴"), Length(max=NOTICE_MAX_CHARS)])
    digest = HiddenField(validators=[DataRequired("请先解析通知")])
    note = StringField("文号或说明", validators=[Optional(), Length(max=200, message="不能超过 200 个字")])
