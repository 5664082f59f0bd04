"""The contract's state machine (第十六条, DESIGN §3.7 and §3.11): a draft both parties sign — online with their
password, or, for a household without an account, the village clerk's record of its paper signature — and in force
from the last signature; its signed and sealed scan then uploaded and checked by the center as part of 鉴证
(returned for a new scan, or checked); void with its deal (违约, 终结)."""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


class ContractState(States):
    DRAFT = "draft", "待双方签署"
    SIGNED = "signed", "已生效，待上传签章合同"
    UPLOADED = "uploaded", "已生效，签章合同待核验"
    CHECKED = "checked", "已生效，签章合同已核验"
    VOID = "void", "已作废"

    # not signed by both parties yet: the signing deadline (5 工作日, 第十六条) counts
    UNSIGNED = nonmember(frozenset({"draft"}))
    # in force (第十六条: 经转让方和受让方签字、盖章后生效): the settlement's 10 days count from its effect
    IN_FORCE = nonmember(frozenset({"signed", "uploaded", "checked"}))
    # in force, the signed scan still to be uploaded or checked before the 鉴证书
    SCAN_DUE = nonmember(frozenset({"signed", "uploaded"}))


CONTRACT = Machine("contract", ContractState, [
    # the second party's signature (the service authorised the party or the clerk recording a paper signature)
    Transition("sign", "双方签署，合同生效", frozenset({"draft"}), "signed"),
    # the signed scan uploaded (a party, or the center); with the clerk's record it may come with the signature
    Transition("upload", "上传签章合同扫描件", frozenset({"signed"}), "uploaded"),
    # the center checks the scan (鉴证): returned for a new one, or checked
    Transition("return", "退回签章合同扫描件", frozenset({"uploaded"}), "signed", "contracts.manage",
               reason_required=True),
    Transition("check", "核验签章合同", frozenset({"uploaded"}), "checked", "contracts.manage"),
    # the deal is defaulted (第二十二条) or the listing terminated (第二十四条, until the 鉴证书)
    Transition("void", "作废合同", frozenset({"draft", "signed", "uploaded", "checked"}), "void"),
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
            Deal.listing_id == listing.id, Deal.state.in_(DealState.LIVE), Contract.state.in_(ContractState.UNSIGNED))))

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
