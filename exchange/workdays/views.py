"""The holiday calendar page: month view, overrides, confirming a year's schedule."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from exchange import clock
from exchange.access import can, require
from exchange.admin.forms import ActionForm
from exchange.extensions import db
from exchange.workdays import services as wd
from exchange.workdays.forms import ConfirmYearForm, OverrideForm

bp = Blueprint("workdays", __name__, url_prefix="/admin/calendar")


def _month_from_args() -> tuple[int, int]:
    today = clock.today_local()
    year = request.args.get("year", type=int) or today.year
    month = request.args.get("month", type=int) or (today.month if year == today.year else 1)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        abort(404)
    return year, month


def _render(form: OverrideForm, year: int, month: int, status: int = 200):
    prev_y, prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
    next_y, next_m = (year, month + 1) if month < 12 else (year + 1, 1)
    return render_template(
        "workdays/calendar.html", form=form, confirm_form=ConfirmYearForm(), action_form=ActionForm(),
        year=year, month=month, weeks=wd.month_grid(year, month), overrides=wd.overrides_of_year(year),
        status=wd.year_status(year), warnings=wd.calendar_warnings(), today=clock.today_local(),
        prev=(prev_y, prev_m), next=(next_y, next_m), manage=can(current_user, "calendar.manage"),
    ), status


@bp.route("/")
@login_required
def calendar():
    require(current_user, "calendar.view")
    year, month = _month_from_args()
    return _render(OverrideForm(), year, month)


@bp.route("/overrides", methods=["POST"])
@login_required
def add_override():
    require(current_user, "calendar.manage")
    form = OverrideForm()
    if form.validate_on_submit():
        try:
            wd.set_override(form.day.data, form.kind.data == "work", form.name.data or "", current_user)
        except wd.CalendarError as exc:
            db.session.rollback()
            form.day.errors = [str(exc)]
        else:
            db.session.commit()
            flash(f"已设置 {form.day.data.isoformat()} 为{'上班' if form.kind.data == 'work' else '放假'}。", "success")
            return redirect(url_for("workdays.calendar", year=form.day.data.year, month=form.day.data.month))
    year, month = _month_from_args()
    return _render(form, year, month, status=400)


@bp.route("/overrides/<day>/delete", methods=["POST"])
@login_required
def delete_override(day: str):
    require(current_user, "calendar.manage")
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        d = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if wd.remove_override(d, current_user):
        db.session.commit()
        flash(f"已删除 {d.isoformat()} 的设置。", "success")
    return redirect(url_for("workdays.calendar", year=d.year, month=d.month))


@bp.route("/years/<int:year>/confirm", methods=["POST"])
@login_required
def confirm_year(year: int):
    require(current_user, "calendar.manage")
    form = ConfirmYearForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        wd.confirm_year(year, current_user, form.note.data or "")
    except wd.CalendarError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"已确认 {year} 年节假日安排。", "success")
    return redirect(url_for("workdays.calendar", year=year, month=1))
