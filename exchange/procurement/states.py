"""A procurement project's own stage (DESIGN §3.12), beside its listing's state: the listing says where the project
stands in the platform's one lifecycle (公告 → 组织交易 → 交易公示 → 签约 …), this says where the tender stands inside
it — bids accepted, bids opened and under evaluation, candidates published, the winner confirmed, or 流标.

=============  ==============================  ========================================================
stage          the listing                      what happens
=============  ==============================  ========================================================
``bidding``    公告中 (announced)               suppliers register, are qualified, pay the bond, submit
                                               sealed bids until the 开标 time
``opened``     交易中 (trading)                 bids opened in public; the center marks invalid bids,
                                               the panel scores (综合评分法)
``evaluated``  交易公示 (publicity)             中标候选人 published 3 days; objections
``awarded``    签约中 … (contract onwards)      the collective confirmed the winner, 中标通知书 issued
``failed``     流拍 (failed)                    流标: too few bids, or none valid
``cancelled``  已终结 (terminated)              the listing was terminated (第二十四条)
=============  ==============================  ========================================================
"""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


class ProcState(States):
    BIDDING = "bidding", "接受投标"
    OPENED = "opened", "已开标，评标中"
    EVALUATED = "evaluated", "中标候选人公示"
    AWARDED = "awarded", "已确定中标人"
    FAILED = "failed", "流标"
    CANCELLED = "cancelled", "已终止"

    # bids may still be sealed, withdrawn and resubmitted
    OPEN_FOR_BIDS = nonmember(frozenset({"bidding"}))
    # the bids are open: the opening record is public
    OPENED_SET = nonmember(frozenset({"opened", "evaluated", "awarded"}))


PROCUREMENT = Machine("procurement", ProcState, [
    # the 开标 time came (the sweeper): the project's key is published and every sealed bid opened
    Transition("open", "开标", frozenset({"bidding"}), "opened"),
    # too few bids at the opening, or none valid after the evaluation (流标; the sweeper or the evaluation)
    Transition("fail", "流标", frozenset({"bidding", "opened"}), "failed"),
    # the evaluation is complete: 中标候选人 ranked, 公示 begins (the trading officer, after the panel's sheets)
    Transition("evaluate", "评标完成，公示中标候选人", frozenset({"opened"}), "evaluated", "procurement.evaluate"),
    # the collective confirmed the winner after the 公示 (the service authorised the village's clerk or the center)
    Transition("award", "确定中标人", frozenset({"evaluated"}), "awarded"),
    # the listing was terminated (第二十四条)
    Transition("cancel", "终止招标采购", frozenset({"bidding", "opened", "evaluated", "awarded"}), "cancelled"),
], scope=lambda p: p.listing.org, what=lambda p: "招标采购")


class BidState(States):
    SEALED = "sealed", "已密封提交"
    WITHDRAWN = "withdrawn", "已撤回"
    OPENED = "opened", "已开标"

    # the supplier's bid that counts (one per registration: a partial unique index)
    STANDING = nonmember(frozenset({"sealed", "opened"}))


BID = Machine("procurement_bid", BidState, [
    Transition("withdraw", "撤回投标", frozenset({"sealed"}), "withdrawn"),
    Transition("open", "开标", frozenset({"sealed"}), "opened"),
], scope=lambda b: b.listing.org, what=lambda b: "投标")
