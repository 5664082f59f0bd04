"""The books' part of a listing's archive: every journal line booked for it (records/ledger.csv) and its refunds."""
from __future__ import annotations

from sqlalchemy import select

from exchange.extensions import db
from exchange.ledger.models import JournalEntry, Refund


def archive_records(listing, d) -> None:
    entries = list(db.session.scalars(select(JournalEntry).where(JournalEntry.listing_id == listing.id)
                                      .order_by(JournalEntry.id)))
    rows = [[e.id, e.at, e.kind, e.memo, e.idempotency_key, line.account.code, line.account.name, str(line.amount)]
            for e in entries for line in e.lines]
    d.add("records/ledger.csv", d.csv(["分录号", "时间", "类型", "摘要", "幂等键", "科目代码", "科目名称",
                                       "金额（借正贷负）"], rows), "journal")
    d.objects("journal_entry", [e.id for e in entries])
    d.objects("refund", db.session.scalars(select(Refund.id).where(Refund.listing_id == listing.id)))
