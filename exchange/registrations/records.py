"""The buyers' part of a listing's archive: each registration's materials (02) and its review (records/decisions.json).
Payments adds the deposit receipts to the same folders."""
from __future__ import annotations

from sqlalchemy import select

from exchange.extensions import db
from exchange.registrations.models import Registration


def folder(reg: Registration) -> str:
    return f"02-受让登记/{reg.id:04d}-{reg.bidder_no or '未编号'}"


def archive_records(listing, d) -> None:
    regs = list(db.session.scalars(select(Registration).where(Registration.listing_id == listing.id)
                                   .order_by(Registration.id)))
    for reg in regs:
        for m in getattr(reg, "materials", []):
            d.add_stored(f"{folder(reg)}/{d.safe(m.kind)}-{d.safe(m.filename)}", m.storage_key,
                         f"registration_material#{m.id}", m.sha256)
        d.data["decisions"]["registrations"].append({
            "id": reg.id, "buyer_id": reg.buyer_id, "bidder_no": reg.bidder_no, "state": reg.state,
            "reviewed_by_id": reg.reviewed_by_id, "reviewed_at": reg.reviewed_at, "review_note": reg.review_note,
            "priority_right": reg.priority_right, "priority_basis": reg.priority_basis,
            "deposit_amount": reg.deposit_amount, "paid_at": reg.paid_at, "deposit_arrival": None,
            # 外资企业 / 境外投资者 (实施方案 二(四)3): the declaration and the reviewer's check of its documents
            "foreign_kind": reg.foreign_kind or None, "foreign_checked_by_id": reg.foreign_checked_by_id,
            "foreign_checked_at": reg.foreign_checked_at, "foreign_check_note": reg.foreign_check_note or None})
    d.objects("registration", [r.id for r in regs])
