"""The contract's state machine (第十六条, DESIGN §3.7): a draft both parties confirm online, its signed and sealed
scan uploaded, checked by the center (returned for a new scan, or effective), or voided with its deal (违约,
终结)."""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


class ContractState(States):
    DRAFT = "draft", "待双方确认"
    CONFIRMED = "confirmed", "双方已确认，待上传签章扫描件"
    UPLOADED = "uploaded", "待交易中心审核"
    EFFECTIVE = "effective", "已生效"
    VOID = "void", "已作废"

    # still to be signed, uploaded or checked: the signing deadline (5 工作日) counts
    OPEN = nonmember(frozenset({"draft", "confirmed", "uploaded"}))
    # no signed scan in yet: the parties still have to act before the deadline
    UNSIGNED = nonmember(frozenset({"draft", "confirmed"}))


CONTRACT = Machine("contract", ContractState, [
    # the second party's online confirmation (the service authorised the party or the clerk confirming for it)
    Transition("confirm", "确认合同", frozenset({"draft"}), "confirmed"),
    # the signed scan uploaded (a party, or the center)
    Transition("upload", "上传签章合同扫描件", frozenset({"confirmed"}), "uploaded"),
    # the center checks the scan: returned for a new one, or the contract takes effect
    Transition("return", "退回签章合同扫描件", frozenset({"uploaded"}), "confirmed", "contracts.manage",
               reason_required=True),
    Transition("approve", "审核生效", frozenset({"uploaded"}), "effective", "contracts.manage"),
    # the deal is defaulted (第二十二条) or the listing terminated (第二十四条)
    Transition("void", "作废合同", frozenset({"draft", "confirmed", "uploaded", "effective"}), "void"),
], scope=lambda c: c.listing.org, what=lambda c: "合同")


# --- the 5 工作日 to sign, and the contract when its deal is terminated or defaulted (exchange/stages.py) ---------

def _declare_stage() -> None:
    from sqlalchemy import select

    from exchange import stages
    from exchange.extensions import db

    def rows(listing):
        from exchange.contracts.models import Contract
        from exchange.trading.models import Deal
        from exchange.trading.states import DealState
        return list(db.session.scalars(select(Contract).join(Deal, Deal.id == Contract.deal_id).where(
            Deal.listing_id == listing.id, Deal.state.in_(DealState.LIVE), Contract.state.in_(ContractState.OPEN))))

    def load(contract_id):
        from exchange.contracts.models import Contract
        return db.session.get(Contract, contract_id)

    def void_of(deal, actor) -> None:
        from exchange.contracts.models import Contract
        contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
        if contract is not None and not contract.is_void:  # a defaulted deal's contract is void already
            CONTRACT.fire(contract, "void", actor, authorised=True)

    def on_terminate(listing, actor) -> None:
        from exchange.trading.services import deal_for
        deal = deal_for(listing)
        if deal is not None:
            void_of(deal, actor)

    stages.declare(stages.Stage(
        "contract", 50, rows=rows, load=load, on_terminate=on_terminate,
        on_default=lambda listing, deal, actor, reason: void_of(deal, actor),
        clocks=(stages.Clock("due_at", stages.WORKDAYS, "签约期限（5 个工作日）"),)))


_declare_stage()
