"""终结交易 page: the center's reviewer decides it with the approving document."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from exchange.access import require
from exchange.errors import ServiceError
from exchange.exceptions import services as xsvc
from exchange.exceptions.models import TERMINATION_GROUNDS
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.web.helpers import apply_service_error

bp = Blueprint("exceptions", __name__, url_prefix="/listings")


class TerminateForm(FlaskForm):
    ground = SelectField("终结情形（第二十四条）", choices=list(TERMINATION_GROUNDS.items()))
    basis = TextAreaField("终结依据（批准或通知文件的机关、文号和主要内容）", validators=[Optional(), Length(max=2000)])
    document = FileField("批准文件或法院通知书扫描件（PDF、JPG 或 PNG）")


@bp.route("/<int:listing_id>/terminate", methods=["GET", "POST"])
@login_required
def terminate(listing_id: int):
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    require(current_user, "listings.terminate", listing.org)
    form = TerminateForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            t = xsvc.terminate(current_user, listing, ground=form.ground.data, basis=form.basis.data or "",
                               document=form.document.data or None)
        except ServiceError as exc:
            db.session.rollback()
            apply_service_error(form, exc)
        else:
            db.session.commit()
            flash(f"已终结交易，{t.refunds_opened} 笔保证金转入退款（5 个工作日内退还）。", "success")
            return redirect(url_for("listings.detail", listing_id=listing.id))
    return render_template("exceptions/terminate.html", listing=listing, form=form), \
        (400 if request.method == "POST" else 200)
