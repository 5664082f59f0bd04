"""The archive download (档案管理): the center's staff take a listing's whole file as one ZIP."""
from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_login import current_user, login_required

from exchange.access import require
from exchange.archive.services import build_archive
from exchange.audit.services import record
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.uploads import content_disposition

bp = Blueprint("archive", __name__)


@bp.route("/listings/<int:listing_id>/archive.zip")
@login_required
def archive(listing_id: int):
    require(current_user, "archive.download")
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    data = build_archive(listing)
    record("archive.download", f"下载项目档案：{listing.project_no or listing.id} {listing.title}",
           obj_type="listing", obj_id=listing.id, after={"bytes": len(data)})
    db.session.commit()
    resp = Response(data, mimetype="application/zip")
    resp.headers["Content-Disposition"] = content_disposition(f"档案-{listing.project_no or listing.id}.zip")
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
