"""The listing's part of its archive (档案, DESIGN §3.7): its materials (01), its announcement (03), its own record and
its history (records/listing.json, records/history.*)."""
from __future__ import annotations


def archive_records(listing, d) -> None:
    for m in listing.materials:
        d.add_stored(f"01-挂牌材料/{m.id:04d}-{d.safe(m.kind)}-{d.safe(m.filename)}", m.storage_key,
                     f"listing_material#{m.id}", m.sha256)
    if listing.project_no and not listing.is_procurement:  # a procurement's 招标公告 is in its own part of the archive
        def announcement():
            from exchange.pdf import render_pdf
            return render_pdf("public/announcement_pdf.html", listing=listing)
        d.add_generated(f"03-交易文书/挂牌公告-{listing.project_no}.pdf", announcement, "announcement")
    d.add("records/listing.json", d.dumps(d.row(listing)), "listing")
    events = list(listing.events)
    d.add("records/history.csv", d.csv(["时间", "操作", "原状态", "新状态", "操作人", "说明", "数据"],
                                       [[e.at, e.action, e.from_state, e.to_state, e.actor_name, e.note, e.data]
                                        for e in events]), "listing_event")
    d.add("records/history.json", d.dumps([d.row(e) for e in events]), "listing_event")
    # 第十四条: the station's opinions (or the center's record that one could not be had), one per submission
    from sqlalchemy import select

    from exchange.extensions import db
    from exchange.listings.models import StationOpinion
    opinions = list(db.session.scalars(select(StationOpinion).where(StationOpinion.listing_id == listing.id)
                                       .order_by(StationOpinion.id)))
    d.add("records/station_opinions.json", d.dumps([d.row(o) for o in opinions]), "station_opinion")
    d.objects("listing", [listing.id])
