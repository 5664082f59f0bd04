"""The holiday calendar page: month view, overrides, confirming a year's schedule.

Everyone with ``calendar.view`` (all staff) sees the page read-only; the forms are shown to, and the
POST routes accepted from, ``calendar.manage`` (the center admin) only.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from exchange import clock
from exchange.access import can, require
from exchange.extensions import db
from exchange.workdays import services as wd
from exchange.workdays.forms import ConfirmYearForm, DeleteOverrideForm, OverrideForm

bp = Blueprint("workdays", __name__, url_prefix="/admin/calendar")


def _month_from_args() -> tuple[int, int]:
    """?year=YYYY&month=M; defaults: today's month (or January of another year)."""
    today = clock.today_local()
    year = request.args.get("year", type=int)
    year = today.year if year is None else year
    month = request.args.get("month", type=int)
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
    if form.validate_on_submit():
        try:
            wd.set_override(form.day.data, form.is_workday, form.name.data or "", current_user)
        except wd.CalendarError as exc:
            db.session.rollback()
            getattr(form, exc.field or "day", form.day).errors = [exc.message]
        else:
            db.session.commit()
            d = form.day.data
            flash(f"已设置 {d.isoformat()} 为{'上班（调休）' if form.is_workday else '放假'}。", "success")
            return redirect(url_for("workdays.calendar", year=d.year, month=d.month))
    year, month = _month_from_args()
    return _render(year, month, form=form, status=400)


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
    try:
        removed = wd.remove_override(d, current_user)
    except wd.CalendarError:
        abort(404)
    if removed:
        db.session.commit()
        flash(f"已删除 {d.isoformat()} 的设置，该日恢复系统默认安排。", "success")
    else:
        flash(f"{d.isoformat()} 没有管理员设置，无需删除。", "info")
    return redirect(url_for("workdays.calendar", year=d.year, month=d.month))


@bp.route("/years/<int:year>/confirm", methods=["POST"])
@login_required
def confirm_year(year: int):
    require(current_user, "calendar.manage")
    if not wd.MIN_ADMIN_YEAR <= year <= wd.MAX_ADMIN_YEAR:
        abort(404)
    form = ConfirmYearForm()
    if not form.validate_on_submit():
        return _render(year, 1, confirm_form=form, status=400)
    try:
        wd.confirm_year(year, current_user, form.note.data or "")
    except wd.CalendarError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"已确认 {year} 年节假日安排，该年期限不再按“推定”计算。", "success")
    return redirect(url_for("workdays.calendar", year=year, month=1))
