"""Deal documents (成交确认书, 竞价记录) rendered to PDF, and the facts about a deal that the public
pages, the API and the documents share — in one place, so each shows a natural person's name the same way.

* 成交确认书: for the parties and the center's staff; names in full.
* 竞价记录: every accepted bid in order (seq, 竞买号, amount, time to the second in Beijing time,
  priority-match marker), the SHA-256 of the bids exactly as ``tsvc.bids_digest`` computes it for the audit
  entry written at the end of the session, and — for staff only — the table 竞买号 → name.
* Public views (pages, open API) show natural persons masked (张*), organisations in full.
"""
from __future__ import annotations

from dataclasses import dataclass

from exchange import clock
from exchange.idcheck import mask_name
from exchange.listings.rules import TRANSFEROR_KINDS
from exchange.trading import services as tsvc
from exchange.trading.models import Bid, Deal

CENTER_FALLBACK = "临湘市农村产权交易中心"


def center_name(deal: Deal) -> str:
    """The 交易中心 above the listing's station in the org tree (the tree is data, DESIGN §1)."""
    unit = deal.listing.station
    while unit is not None:
        if unit.kind == "center":
            return unit.name
        unit = unit.parent
    return CENTER_FALLBACK


def _party(user):
    return getattr(user, "party", None) if user is not None else None


def is_person(user) -> bool:
    party = _party(user)
    return party is None or party.kind == "person"  # unknown: treat as a person (mask rather than leak)


def full_name(user) -> str:
    party = _party(user)
    if party is not None:
        return party.name
    return getattr(user, "display_name", "") or ""


def public_name(user) -> str:
    """A buyer's name as the public sees it: natural persons masked, organisations in full."""
    return mask_name(full_name(user)) if is_person(user) else full_name(user)


def winner_full(deal: Deal) -> str:
    return full_name(deal.registration.buyer)


def winner_public(deal: Deal) -> str:
    return public_name(deal.registration.buyer)


def transferor_public(deal: Deal) -> str:
    listing = deal.listing
    if listing.transferor_kind == "household":
        return mask_name(listing.transferor_name)
    return listing.transferor_name


def transferor_kind_label(deal: Deal) -> str:
    return TRANSFEROR_KINDS.get(deal.listing.transferor_kind, "")


def in_publicity(deal: Deal, now=None) -> bool:
    """Objections may be filed (the service decides again when one is filed)."""
    return deal.state == "publicity" and (now or clock.now()) < deal.publicity_end_at


@dataclass(frozen=True)
class BidRow:
    seq: int
    bidder_no: str
    amount: object
    at: object
    priority_match: bool
    name: str


def bid_rows(deal: Deal, bids: list[Bid] | None = None) -> list[BidRow]:
    """The accepted bids of the deal's session in order (empty without a session)."""
    if bids is None:
        bids = tsvc.bids_of(deal.session) if deal.session is not None else []
    return [BidRow(b.seq, b.registration.bidder_no or "", b.amount, b.at, b.priority_match,
                   full_name(b.registration.buyer)) for b in bids]


def bids_and_digest(deal: Deal) -> tuple[list[Bid], str]:
    bids = tsvc.bids_of(deal.session) if deal.session is not None else []
    return bids, tsvc.bids_digest(bids)


def bidders(rows: list[BidRow]) -> list[tuple[str, str]]:
    """竞买号 → name, one row per bidder, in the order of their first bid."""
    seen: dict[str, str] = {}
    for r in rows:
        seen.setdefault(r.bidder_no, r.name)
    return list(seen.items())


def confirmation_pdf(deal: Deal) -> bytes:
    """成交确认书 (for the parties and the center; names in full)."""
    from exchange.pdf import render_pdf
    return render_pdf("trading/pdf_confirmation.html", deal=deal, listing=deal.listing, center=center_name(deal),
                      transferee=winner_full(deal), transferor_kind=transferor_kind_label(deal),
                      printed_at=clock.now())


def bidding_record_pdf(deal: Deal, *, with_names: bool) -> bytes:
    """竞价记录 of the deal's session; ``with_names`` adds the 竞买号 → name table (staff only)."""
    from exchange.pdf import render_pdf
    if deal.session is None:
        raise ValueError("该成交没有网络竞价或一次性报价记录。")
    bids, digest = bids_and_digest(deal)
    rows = bid_rows(deal, bids)
    winning = [b.seq for b in bids if b.registration_id == deal.registration_id and b.amount == deal.price]
    return render_pdf("trading/pdf_bidding_record.html", deal=deal, listing=deal.listing, bidding=deal.session,
                      rows=rows, digest=digest, count=len(bids), winning_seq=min(winning) if winning else None,
                      names=bidders(rows) if with_names else None,
                      center=center_name(deal), printed_at=clock.now())
