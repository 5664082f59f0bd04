"""The contracts' part of a listing's archive (04): each deal's contract text and its signed scan."""
from __future__ import annotations

from sqlalchemy import select

from exchange.contracts.models import Contract
from exchange.extensions import db


def archive_records(listing, d) -> None:
    contracts = []
    for dl in d.data.get("deals", []):
        contract = db.session.scalar(select(Contract).where(Contract.deal_id == dl.id))
        if contract is None:
            continue
        contracts.append(contract)

        def text(c=contract):
            from exchange.contracts.services import contract_pdf
            return contract_pdf(c)
        d.add_generated(f"04-合同/合同文本-{contract.contract_no or dl.deal_no}.pdf", text, "contract")
        if contract.seller_signature_key:
            d.add_stored(f"04-合同/转让方纸质签字页-{d.safe(contract.seller_signature_filename)}",
                         contract.seller_signature_key, f"contract#{contract.id}",
                         contract.seller_signature_sha256 or None)
        if contract.scan_key:
            d.add_stored(f"04-合同/签章扫描件-{d.safe(contract.scan_filename)}", contract.scan_key,
                         f"contract#{contract.id}", contract.scan_sha256 or None)
    d.objects("contract", [c.id for c in contracts])
