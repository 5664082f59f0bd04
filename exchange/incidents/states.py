"""The state machines of the incidents (第二十二–二十四条, 第二十七条): a suspension (中止 until a party's restart
application is approved, or the listing is terminated), a default case and the offer to the runner-up, and a
dispute brought to mediation."""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


# ---- 中止 (第二十三条) -------------------------------------------------------------------------------------------

class SuspensionState(States):
    ACTIVE = "active", "中止中"
    RESTART_REQUESTED = "restart_requested", "已申请重启"
    RESTARTED = "restarted", "已重启"
    TERMINATED = "terminated", "已终结"

    # in force: the listing's clocks are frozen (one per listing)
    OPEN = nonmember(frozenset({"active", "restart_requested"}))


SUSPENSION = Machine("suspension", SuspensionState, [
    # a party (or the staff handling it for them) applies; the service authorised them
    Transition("request_restart", "申请重启", frozenset({"active"}), "restart_requested", reason_required=True),
    # the center decides the application
    Transition("refuse_restart", "不予重启", frozenset({"restart_requested"}), "active", "listings.suspend",
               reason_required=True),
    Transition("restart", "重启交易", frozenset({"restart_requested"}), "restarted", "listings.suspend",
               reason_required=True),
    # the listing is terminated while suspended (第二十四条)
    Transition("terminate", "终结交易", frozenset({"active", "restart_requested"}), "terminated"),
], scope=lambda s: s.listing.org, what=lambda s: "中止")


# ---- 违约 (第二十二条) and the offer to the runner-up ------------------------------------------------------------

class DefaultState(States):
    OPEN = "open", "待处理"
    OFFERED = "offered", "已向次高报价人发出要约"
    ACCEPTED = "accepted", "次高报价人已接受"
    RELISTED = "relisted", "重新挂牌"
    CLOSED = "closed", "已结案"

    # not resolved yet: the center offers to the next bidder or relists, or waits for the answer
    UNRESOLVED = nonmember(frozenset({"open", "offered"}))


DEFAULT_CASE = Machine("default_case", DefaultState, [
    Transition("offer", "向次高报价人发出要约", frozenset({"open"}), "offered", "defaults.decide"),
    # the runner-up declined or let the deadline pass: the center offers to the next one or relists
    Transition("reopen", "重新处理", frozenset({"offered"}), "open"),
    # the runner-up accepted: a new deal (the service authorised the buyer the offer was made to)
    Transition("accept", "接受要约", frozenset({"offered"}), "accepted"),
    Transition("relist", "重新挂牌", frozenset({"open"}), "relisted", "defaults.decide", reason_required=True),
    # the listing left 违约处理 otherwise (terminated, 第二十四条; an offer expired after it): nothing left to decide
    Transition("close", "结案", frozenset({"open", "offered"}), "closed"),
], scope=lambda case: case.listing.org, what=lambda case: "违约处理")


class OfferState(States):
    PENDING = "pending", "待答复"
    ACCEPTED = "accepted", "已接受"
    DECLINED = "declined", "已放弃"
    EXPIRED = "expired", "逾期未答复"


RUNNER_UP_OFFER = Machine("runner_up_offer", OfferState, [
    # answered by the bidder it was made to (the service authorised them, with their password)
    Transition("accept", "接受要约", frozenset({"pending"}), "accepted"),
    Transition("decline", "放弃要约", frozenset({"pending"}), "declined"),
    # the sweeper, at the answer deadline
    Transition("expire", "视为放弃", frozenset({"pending"}), "expired"),
], scope=lambda offer: offer.case.listing.org, what=lambda offer: "要约")


# ---- 纠纷调解 (第二十七条) -----------------------------------------------------------------------------------------

class DisputeState(States):
    APPLIED = "applied", "待受理"
    OPEN = "open", "调解中"
    SETTLED = "settled", "调解成功"
    FAILED = "failed", "调解不成"
    WITHDRAWN = "withdrawn", "已撤回"
    DECLINED = "declined", "不予受理"

    # closed: the record is read-only
    CLOSED = nonmember(frozenset({"settled", "failed", "withdrawn", "declined"}))
    # in hand: a party's application waits for the center, or the mediation goes on (one per party and listing)
    ACTIVE = nonmember(frozenset({"applied", "open"}))


DISPUTE = Machine("dispute", DisputeState, [
    # a party applied online (第二十七条) and the center accepts it into mediation — or the center's reviewer
    # registers an application brought to the counter, accepted at once
    Transition("accept", "受理调解申请", frozenset({"applied"}), "open", "disputes.manage"),
    Transition("decline", "不予受理", frozenset({"applied"}), "declined", "disputes.manage", reason_required=True),
    Transition("settle", "调解成功结案", frozenset({"open"}), "settled", "disputes.manage"),
    Transition("fail", "调解不成结案", frozenset({"open"}), "failed", "disputes.manage"),
    Transition("withdraw", "撤回结案", frozenset({"open"}), "withdrawn", "disputes.manage"),
], scope=lambda d: d.listing.org, what=lambda d: "纠纷调解")


# ---- 不可抗力 (第二十二条: 非不可抗原因逾期未签订 …) ------------------------------------------------------------------

class ForceMajeureState(States):
    PENDING = "pending", "待交易中心决定"
    ACCEPTED = "accepted", "不可抗力成立"
    REJECTED = "rejected", "不可抗力不成立"


FORCE_MAJEURE = Machine("force_majeure", ForceMajeureState, [
    Transition("accept", "认定不可抗力成立", frozenset({"pending"}), "accepted", "defaults.decide",
               reason_required=True),
    Transition("reject", "认定不可抗力不成立", frozenset({"pending"}), "rejected", "defaults.decide",
               reason_required=True),
], scope=lambda claim: claim.listing.org, what=lambda claim: "不可抗力申请")
