"""The settlement's part of a listing's archive (05): each deal's 结算单 and the balance's bank receipt; the payouts."""
from __future__ import annotations

from sqlalchemy import select

from exchange.extensions import db
from exchange.settlement.models import Payout, Settlement


def archive_records(listing, d) -> None:
    settlements = []
    for dl in d.data.get("deals", []):
        settlement = db.session.scalar(select(Settlement).where(Settlement.deal_id == dl.id))
        if settlement is None:
            continue
        settlements.append(settlement)

        def statement(st=settlement):
            from exchange.settlement import documents as sdocs
            return sdocs.statement_pdf(st, full_account=True)
        d.add_generated(f"05-结算/结算单-{settlement.payment_ref}.pdf", statement, "settlement")
        if settlement.receipt_key:
            d.add_stored(f"05-结算/价款回单-{d.safe(settlement.receipt_filename)}", settlement.receipt_key,
                         f"settlement#{settlement.id}")
    d.objects("settlement", [st.id for st in settlements])
    if settlements:
        d.objects("payout", db.session.scalars(select(Payout.id).where(
            Payout.settlement_id.in_([st.id for st in settlements]))))
