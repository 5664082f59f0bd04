"""A procurement project's documents (issue 18): the 评标报告 (the opening, every bid, the invalid ones with why, each
member's totals, the ranking and the three 中标候选人, the panel's draw with its seed) and the 中标通知书 to the winner
(with the results the others are told).  One context per document, for the PDF, the page and the archive."""
from __future__ import annotations

import json
from decimal import Decimal

from exchange import clock
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.pdf import render_pdf
from exchange.procurement import scoring
from exchange.procurement.models import EVAL_KINDS
from exchange.procurement.services import bids_of, candidates, project_of
from exchange.registrations.models import Registration
from exchange.trading.documents import CENTER_FALLBACK


def _center(listing: Listing) -> str:
    unit = listing.station
    while unit is not None:
        if unit.kind == "center":
            return unit.name
        unit = unit.parent
    return CENTER_FALLBACK


def report_context(listing: Listing) -> dict:
    project = project_of(listing)
    outcome = json.loads(project.outcome_json) if project.outcome_json else {"ranked": [], "invalid": []}
    panel = scoring.panel_of(listing)
    return dict(listing=listing, project=project, center=_center(listing), method_label=EVAL_KINDS[project.eval_kind],
                bids=bids_of(listing, states=("opened",)), ranked=outcome["ranked"], invalid=outcome["invalid"],
                candidates=outcome["ranked"][:3], panel=panel, criteria=project.criteria,
                opened_at=clock.to_local(project.opened_at), evaluated_at=clock.to_local(project.evaluated_at),
                printed_at=clock.local_now())


def report_pdf(listing: Listing) -> bytes:
    return render_pdf("procurement/report_pdf.html", **report_context(listing))


def notice_context(listing: Listing) -> dict:
    from exchange.trading.services import deal_for
    project = project_of(listing)
    deal = deal_for(listing)
    winner = db.session.get(Registration, project.winner_registration_id)
    others = [c for c in candidates(project) if c["registration"] != winner.id]
    return dict(listing=listing, project=project, deal=deal, winner=winner, others=others, center=_center(listing),
                price=Decimal(deal.price), awarded_at=clock.to_local(project.awarded_at),
                contract_due=clock.to_local(deal.contract_due_at))


def notice_pdf(listing: Listing) -> bytes:
    return render_pdf("procurement/notice_pdf.html", **notice_context(listing))
