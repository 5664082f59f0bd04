"""The trade's part of a listing's archive: every deal's 成交确认书 and 竞价记录 and the offline result (03), the
objections and their decisions, the deals themselves (records/deals.json) and the bidding sessions."""
from __future__ import annotations

from sqlalchemy import select

from exchange.extensions import db
from exchange.trading import documents as docs
from exchange.trading.models import BiddingSession, Deal, Objection
from exchange.trading.services import deal_for


def archive_records(listing, d) -> None:
    current = deal_for(listing)  # after a default, the runner-up's
    # every deal of the listing: a defaulted or voided one stays on record beside the one that followed it
    deals = list(db.session.scalars(select(Deal).where(Deal.listing_id == listing.id).order_by(Deal.id)))
    d.data["deals"], d.data["current_deal"] = deals, current
    for dl in deals:
        d.add_generated(f"03-交易文书/成交确认书-{dl.deal_no}.pdf", lambda x=dl: docs.confirmation_pdf(x), "deal")
        if dl.session is not None:
            d.add_generated(f"03-交易文书/竞价记录-{dl.deal_no}.pdf",
                            lambda x=dl: docs.bidding_record_pdf(x, with_names=True), "bidding_record")
        if dl.document_key:
            d.add_stored(f"03-交易文书/线下交易结果-{d.safe(dl.document_filename)}", dl.document_key, f"deal#{dl.id}")
        for o in db.session.scalars(select(Objection).where(Objection.deal_id == dl.id).order_by(Objection.id)):
            d.data["decisions"]["objections"].append({
                "id": o.id, "deal_no": dl.deal_no, "filed_at": o.filed_at, "name": o.name, "content": o.content,
                "state": o.state, "decision": o.decision, "decided_by_id": o.decided_by_id,
                "decided_at": o.decided_at})
    d.add("records/deals.json", d.dumps([{**d.row(dl), "current": current is not None and dl.id == current.id}
                                         for dl in deals]), "deal")
    d.objects("deal", [dl.id for dl in deals])
    d.objects("objection", [o["id"] for o in d.data["decisions"]["objections"]])
    d.objects("bidding_session", db.session.scalars(select(BiddingSession.id)
                                                    .where(BiddingSession.listing_id == listing.id)))
