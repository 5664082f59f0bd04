"""The holiday calendar page: month view, overrides, confirming a year's schedule, importing the State Council's
notice (paste → parsed grid and the deadlines it moves → confirm).

Everyone with ``calendar.view`` (all staff) sees the page read-only; the forms are shown to, and the
POST routes accepted from, ``calendar.manage`` (the center admin) only.
"""
from __future__ import annotations

import hashlib
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from exchange import clock, inputs
from exchange.access import can, require
from exchange.pages import Message, run_action
from exchange.workdays import services as wd
from exchange.workdays import notice as notices
from exchange.workdays.forms import (ConfirmNoticeForm, ConfirmYearForm, DeleteOverrideForm, NoticeForm,
                                     OverrideForm)

bp = Blueprint("workdays", __name__, url_prefix="/admin/calendar")


def _arg_int(name: str) -> int | None:
    """An optional whole number from the query string (the shared parser; nonsense → 404 like a wrong month)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return inputs.parse_int(raw, field=name)
    except inputs.InputError:
        abort(404)


def _month_from_args() -> tuple[int, int]:
    """?year=YYYY&month=M; defaults: today's month (or January of another year)."""
    today = clock.today_local()
    year = _arg_int("year")
    year = today.year if year is None else year
    month = _arg_int("month")
    month = (today.month if year == today.year else 1) if month is None else month
    if not (wd.MIN_ADMIN_YEAR <= year <= wd.MAX_ADMIN_YEAR and 1 <= month <= 12):
        abort(404)
    return year, month


def _render(year: int, month: int, *, form: OverrideForm | None = None,
            confirm_form: ConfirmYearForm | None = None, status: int = 200):
    prev_y, prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
    next_y, next_m = (year, month + 1) if month < 12 else (year + 1, 1)
    return render_template(
        "workdays/calendar.html",
        form=form or OverrideForm(), confirm_form=confirm_form or ConfirmYearForm(),
        year=year, month=month, weeks=wd.month_grid(year, month), overrides=wd.overrides_of_year(year),
        status=wd.year_status(year), confirmed=wd.confirmed_year(year), warnings=wd.calendar_warnings(),
        today=clock.today_local(),
        prev=(prev_y, prev_m) if prev_y >= wd.MIN_ADMIN_YEAR else None,
        next=(next_y, next_m) if next_y <= wd.MAX_ADMIN_YEAR else None,
        manage=can(current_user, "calendar.manage"),
    ), status


@bp.route("/")
@login_required
def calendar():
    require(current_user, "calendar.view")
    year, month = _month_from_args()
    return _render(year, month)


@bp.route("/overrides", methods=["POST"])
@login_required
def add_override():
    require(current_user, "calendar.manage")
    form = OverrideForm()

    def refused(exc=None):
        if exc is not None:
            getattr(form, exc.field or "day", form.day).errors = [exc.message]
        year, month = _month_from_args()
        return _render(year, month, form=form, status=400)

    if not form.validate_on_submit():
        return refused()
    d = form.day.data
    return run_action(lambda: wd.set_override(d, form.is_workday, form.name.data or "", current_user),
                      refused=refused, back=url_for("workdays.calendar", year=d.year, month=d.month),
                      done=f"已设置 {d.isoformat()} 为{'上班（调休）' if form.is_workday else '放假'}。")


@bp.route("/overrides/<day>/delete", methods=["POST"])
@login_required
def delete_override(day: str):
    require(current_user, "calendar.manage")
    if not DeleteOverrideForm().validate_on_submit():
        abort(400)
    try:
        d = date.fromisoformat(day)
    except ValueError:
        abort(404)
    return run_action(lambda: wd.remove_override(d, current_user), refused=lambda exc: abort(404),
                      done=lambda removed: f"已删除 {d.isoformat()} 的设置，该日恢复系统默认安排。" if removed else
                      Message(f"{d.isoformat()} 没有管理员设置，无需删除。", "info"),
                      back=url_for("workdays.calendar", year=d.year, month=d.month))


@bp.route("/years/<int:year>/confirm", methods=["POST"])
@login_required
def confirm_year(year: int):
    require(current_user, "calendar.manage")
    if not wd.MIN_ADMIN_YEAR <= year <= wd.MAX_ADMIN_YEAR:
        abort(404)
    form = ConfirmYearForm()
    if not form.validate_on_submit():
        return _render(year, 1, confirm_form=form, status=400)
    return run_action(lambda: wd.confirm_year(year, current_user, form.note.data or ""),
                      done=f"已确认 {year} 年节假日安排，该年期限不再按法定节假日推算。",
                      back=url_for("workdays.calendar", year=year, month=1))


# --- the State Council's notice ---------------------------------------------------------------------------

def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _notice_page(form: NoticeForm, *, parsed=None, error: notices.NoticeError | None = None, text: str = "",
                 confirm_form: ConfirmNoticeForm | None = None, status: int = 200):
    ctx: dict = {"form": form, "error": error, "parsed": parsed, "warnings": wd.calendar_warnings()}
    if parsed is not None:
        change = wd.notice_change(parsed)
        with wd.proposed(change):
            ctx["months"] = [(m, wd.month_grid(parsed.year, m)) for m in range(1, 13)]
        ctx["changed_days"] = [(b, a) for b, a in wd.change_days(change) if b.is_workday != a.is_workday]
        ctx["moves"] = wd.preview_change(change)
        ctx["status"] = wd.year_status(parsed.year)
        ctx["confirm_form"] = confirm_form or ConfirmNoticeForm(formdata=None, text=text, digest=_digest(text))
    return render_template("workdays/notice.html", today=clock.today_local(), **ctx), status


@bp.route("/notice", methods=["GET", "POST"])
@login_required
def notice():
    """Paste (or upload) the notice; POST parses it and shows what it would do — nothing is saved."""
    require(current_user, "calendar.manage")
    form = NoticeForm()
    if request.method == "GET":
        return _notice_page(form)
    if not form.validate_on_submit():
        return _notice_page(form, status=400)
    text = form.text.data or ""
    if form.file.data:
        try:
            text = notices.decode(form.file.data.read(notices.MAX_BYTES + 1))
        except ValueError as exc:
            form.file.errors = [str(exc)]
            return _notice_page(form, status=400)
    if not text.strip():
        form.text.errors = ["请粘贴国务院办公厅通知的全文，或上传通知的 .txt 文件。"]
        return _notice_page(form, status=400)
    try:
        parsed = notices.parse_notice(text)
        wd.notice_change(parsed)
    except notices.NoticeError as exc:
        form.text.data = text
        return _notice_page(form, error=exc, status=400)
    except wd.CalendarError as exc:
        form.text.data = text
        form.text.errors = [exc.message]
        return _notice_page(form, status=400)
    return _notice_page(form, parsed=parsed, text=text)


@bp.route("/notice/confirm", methods=["POST"])
@login_required
def confirm_notice():
    """Confirm the year from the notice exactly as previewed (its digest must match)."""
    require(current_user, "calendar.manage")
    form = ConfirmNoticeForm()
    if not form.validate_on_submit() or _digest(form.text.data or "") != form.digest.data:
        flash("确认的内容与解析预览不一致，请重新粘贴通知并解析。", "error")
        return redirect(url_for("workdays.notice"))
    text = form.text.data
    try:
        parsed = notices.parse_notice(text)
    except notices.NoticeError as exc:
        flash(exc.message, "error")
        return redirect(url_for("workdays.notice"))
    return run_action(lambda: wd.apply_notice(parsed, text, current_user, form.note.data or ""),
                      done=lambda moved: f"已按国务院办公厅通知确认 {parsed.year} 年节假日安排"
                      + (f"，调整了 {len(moved)} 个期限并已通知当事人。" if moved else "，没有需要调整的期限。"),
                      back=url_for("workdays.notice"), then=lambda _: url_for("workdays.calendar", year=parsed.year, month=1))
