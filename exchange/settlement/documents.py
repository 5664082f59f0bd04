"""结算单 (the settlement statement) rendered to PDF in the house style.

The buyer's copy masks the payee's account number except its last four digits; staff (and the
transferor, whose account it is) see it in full.
"""
from __future__ import annotations

from exchange import clock
from exchange.payments.center_account import receiving_account
from exchange.settlement import services as stl
from exchange.settlement.models import FEE_PAYERS, Settlement
from exchange.trading.documents import center_name, full_name, transferor_kind_label


def statement_context(s: Settlement, *, full_account: bool) -> dict:
    listing = s.listing
    payout = stl.payout_of(s)
    account_no = payout.payee_account if payout else listing.account_no
    rule = stl.fee_rule_for(listing.category_id)
    contract = stl.effective_contract(s.deal)
    return dict(s=s, deal=s.deal, listing=listing, payout=payout, contract=contract,
                center=center_name(s.deal), transferee=full_name(s.deal.registration.buyer),
                transferor_kind=transferor_kind_label(s.deal),
                payee_name=payout.payee_name if payout else listing.account_name,
                payee_bank=payout.payee_bank if payout else listing.account_bank,
                payee_account=account_no if full_account else stl.mask_account(account_no),
                fee_rule=stl.fee_rule_label(rule), payers=FEE_PAYERS, sources=stl.SOURCES,
                payout_states=stl.PAYOUT_STATES, printed_at=clock.now(),
                receiving=receiving_account(listing.org))  # where the buyer pays, with the 缴款码


def statement_pdf(s: Settlement, *, full_account: bool) -> bytes:
    from exchange.pdf import render_pdf
    return render_pdf("settlement/pdf_statement.html", **statement_context(s, full_account=full_account))
