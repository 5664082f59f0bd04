"""The certificates' part of a listing's archive (06): every 鉴证书 issued for its deals, valid and revoked."""
from __future__ import annotations

from sqlalchemy import select

from exchange.certificates.models import Certificate
from exchange.extensions import db


def archive_records(listing, d) -> None:
    certs = []
    for dl in d.data.get("deals", []):
        for c in db.session.scalars(select(Certificate).where(Certificate.deal_id == dl.id).order_by(Certificate.id)):
            certs.append(c)
            d.add_stored(f"06-鉴证书/鉴证书-{c.year}-{c.seq:06d}-{c.state_label}.pdf", c.pdf_key,
                         f"certificate#{c.id}", c.pdf_sha256)
    d.data["certificates"] = certs
    d.objects("certificate", [c.id for c in certs])
