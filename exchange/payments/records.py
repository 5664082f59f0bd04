"""Payments' part of a listing's archive: each deposit's arrival and its bank receipt, in the registration's folder
(02) and in its review record."""
from __future__ import annotations

from sqlalchemy import select

from exchange.extensions import db
from exchange.payments.models import DepositArrival
from exchange.registrations.models import Registration
from exchange.registrations.records import folder


def archive_records(listing, d) -> None:
    for entry in d.data["decisions"]["registrations"]:
        arrival = db.session.scalar(select(DepositArrival).where(DepositArrival.registration_id == entry["id"]))
        if arrival is None:
            continue
        if arrival.receipt_key:
            reg = db.session.get(Registration, entry["id"])
            d.add_stored(f"{folder(reg)}/保证金回单-{d.safe(arrival.receipt_filename)}", arrival.receipt_key,
                         f"deposit_arrival#{arrival.id}", arrival.receipt_sha256 or None)
        entry["deposit_arrival"] = {"source": arrival.source, "source_ref": arrival.source_ref,
                                    "amount": arrival.amount, "arrived_at": arrival.arrived_at}
