"""The event rules: the audit actions worth telling someone about (``RULES``), each with its recipients, title/body
templates and link.  :func:`on_audit` receives every audit entry (the audit trail's ``recorded`` signal) and
writes the notifications in the audited operation's own transaction.  See :mod:`exchange.notifications.services`."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable

from flask import current_app

from exchange.db import savepoint
from exchange.audit.services import recorded as audit_recorded
from exchange.extensions import db
from exchange.notifications.models import Notification

from exchange.notifications.recipients import (buyer_and_parties, listing_people, load_certificate, load_contract,
                                               load_deal, load_default, load_listing, load_offer, load_recount,
                                               load_refund, load_registration, load_settled_listing, load_settlement,
                                               losers, offer_link, parties_and_buyers, recount_people, the_buyer,
                                               transferor)
from exchange.notifications.recipients import dispute_link, load_dispute
from exchange.notifications.recipients import bidders, load_procurement, opening_link, reviewers, winner
from exchange.notifications.services import notify
from exchange.notifications.texts import (certificate_link, contract_link, fill, listing_link, registration_link,
                                          settlement_link)

log = logging.getLogger(__name__)


# --- the table ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Send:
    """One group of recipients of an event, with their title, body and link."""

    to: Callable[[dict], Iterable[int]]  # user ids
    title: str  # str.format templates over the context's text fields
    body: str
    link: Callable[[dict, int], str] = listing_link


@dataclass(frozen=True)
class Rule:
    kind: str
    load: Callable[[object], dict | None]
    sends: tuple[Send, ...]


_SUSPENDED = Rule("listing.suspended", load_listing, (Send(
    parties_and_buyers, "交易中止：{title}",
    "项目 {no}「{title}」已中止交易（第二十三条）。中止事由：{reason}。中止期间各项期限暂停计算，"
    "重启后按剩余时间继续；请留意后续通知。"),))
_RETURNED = "{by}退回了挂牌项目 {no}「{title}」，理由：{reason}。请按要求补正材料后重新提交。"

RULES: dict[str, Rule] = {
    # 挂牌: returned / approved / published (to the clerk who submitted it and the transferor's account)
    "listing.station_return": Rule("listing.returned", load_listing, (Send(
        listing_people, "项目被退回修改：{title}", _RETURNED),)),
    "listing.center_return": Rule("listing.returned", load_listing, (Send(
        listing_people, "项目被退回修改：{title}", _RETURNED),)),
    "listing.center_reject": Rule("listing.rejected", load_listing, (Send(
        listing_people, "项目不予受理：{title}", "交易中心对挂牌项目 {no}「{title}」作出不予受理的决定，理由：{reason}。"),)),
    "listing.station_pass": Rule("listing.approved", load_listing, (Send(
        listing_people, "项目已通过初审：{title}", "挂牌项目「{title}」已通过{station}初审，已报送交易中心审核。"),)),
    "listing.center_approve": Rule("listing.published", load_listing, (Send(
        listing_people, "项目已发布公告：{title}",
        "项目「{title}」已审核通过并发布公告，项目编号 {no}。{publish_text}"),)),
    "listing.fail": Rule("listing.failed", load_listing, (Send(
        parties_and_buyers, "项目{failed_word}：{title}",
        "项目 {no}「{title}」{failed_word}（{reason}）。已交纳的{deposit_word}将在 5 个工作日内无息退还；{relist_hint}"),)),
    # 意向受让登记: qualification result, deposit received (to that buyer only)
    "registration.qualify": Rule("registration.qualified", load_registration, (Send(
        the_buyer, "受让资格已确认：{title}",
        "您报名的项目 {no}「{title}」资格审核通过。请于 {deadline} 前交纳保证金 {deposit} 元（缴款码 {payment_ref}），"
        "以到账时间为准，逾期视为放弃受让意向（第十九条）。{pay_to}", registration_link),)),
    "registration.reject": Rule("registration.rejected", load_registration, (Send(
        the_buyer, "受让资格未通过：{title}", "您报名的项目 {no}「{title}」资格审核未通过，理由：{note}。",
        registration_link),)),
    "registration.deposit_paid": Rule("deposit.received", load_registration, (Send(
        the_buyer, "保证金已到账：{title}",
        "您为项目 {no}「{title}」交纳的{deposit_word} {deposit} 元已于 {paid_at} 到账。{after_paid}", registration_link),)),
    "registration.abandoned": Rule("deposit.abandoned", load_registration, (Send(
        the_buyer, "逾期未交保证金，视为放弃：{title}",
        "您报名的项目 {no}「{title}」的保证金未在 {deadline} 前到账，按公告约定视为放弃受让意向（第十九条）。"
        "如款项已汇出，到账后将原路退还。", registration_link),)),
    # 禁止行为 (第二十五条): the buyer whose registration the center disqualified
    "registration.disqualify": Rule("registration.disqualified", load_registration, (Send(
        the_buyer, "报名资格被取消：{title}",
        "交易中心认定您在项目 {no}「{title}」中存在《管理办法》第二十五条禁止的行为，取消您在该项目的报名资格。"
        "如已交纳保证金，将在 5 个工作日内无息原路退还。认定的事实和理由请在报名页面查看。", registration_link),)),
    # 纠纷调解 (第二十七条): the party that applied online is told whether the center accepts it
    "dispute.accept": Rule("dispute.accepted", load_dispute, (Send(
        the_buyer, "调解申请已受理：{title}",
        "您就项目 {no}「{title}」提出的纠纷调解申请已受理，交易中心将联系各方组织调解，请保持电话畅通。", dispute_link),)),
    "dispute.decline": Rule("dispute.declined", load_dispute, (Send(
        the_buyer, "调解申请不予受理：{title}",
        "您就项目 {no}「{title}」提出的纠纷调解申请不予受理，理由：{reason}。您仍可以依照合同约定申请仲裁，"
        "或依法向人民法院提起诉讼（第二十七条）。", dispute_link),)),
    # 成交: the winner, the other paid bidders, the transferor's account
    "deal.concluded": Rule("deal.concluded", load_deal, (
        Send(the_buyer, "恭喜您成交：{title}",
             "项目 {no}「{title}」以 {price} 元成交（{method}），现进入交易公示，公示期至 {publicity_end}。"
             "公示期满之日起 5 个工作日内签订合同（第十六条），届时另行通知具体期限。"),
        Send(losers, "项目已成交，您未成交：{title}",
             "项目 {no}「{title}」已成交，您未成交。您交纳的保证金将在 5 个工作日内无息退还（第十九条）。"),
        Send(transferor, "您的项目已成交：{title}",
             "项目 {no}「{title}」以 {price} 元成交（{method}），现进入交易公示，公示期至 {publicity_end}。"),
    )),
    # 签约 / 结算 / 鉴证: due and done
    "contract.open": Rule("contract.due", load_contract, (Send(
        buyer_and_parties, "请签订合同：{title}",
        "项目 {no}「{title}」{contract_start}，合同草稿已生成。请于 {due} 前签署合同（在线确认并在纸质合同上签字盖章，"
        "第十六条），逾期未签署的一方按违约处理。", contract_link),)),
    "contract.effective": Rule("contract.done", load_contract, (Send(
        buyer_and_parties, "合同已生效：{title}",
        "项目 {no}「{title}」的合同 {contract_no} 经双方签署已生效，{settle_hint}。",
        contract_link),)),
    "settlement.open": Rule("settlement.due", load_settlement, (Send(
        the_buyer, "请交付价款：{title}", "项目 {no}「{title}」开始结算。{pay_text}", settlement_link),)),
    "listing.settled": Rule("settlement.done", load_settled_listing, (Send(
        buyer_and_parties, "资金结算完成：{title}",
        "项目 {no}「{title}」的交易资金已结算完毕，交易中心将于 {cert_due} 前出具鉴证书（第十八条）。", settlement_link),)),
    "certificate.issue": Rule("certificate.issued", load_certificate, (Send(
        buyer_and_parties, "鉴证书已出具：{title}",
        "项目 {no}「{title}」的农村产权流转交易鉴证书已出具，编号 {cert_no}，可凭编号在平台查验真伪。",
        certificate_link),)),
    # 退款 made (to the buyer whose deposit it was)
    "refund.approve": Rule("refund.made", load_refund, (Send(
        the_buyer, "保证金已退还：{title}",
        "您为项目 {no}「{title}」交纳的{deposit_word} {amount} 元已退还（银行回单号 {bank_ref}），{interest_text}请注意查收。",
        registration_link),)),
    # 违约 (第二十二条): the buyer and the transferor's side, told who defaulted; the runner-up who is offered the deal
    "listing.default": Rule("deal.defaulted", load_default, (Send(
        buyer_and_parties, "认定违约：{title}",
        "交易中心认定项目 {no}「{title}」的{who}违约（{reason}）。{deposit_text}（第二十二条）。"),)),
    "default.offer": Rule("default.offer", load_offer, (Send(
        the_buyer, "您收到成交要约：{title}",
        "项目 {no}「{title}」的原买受人违约，交易中心按您的最后报价 {price} 元向您发出成交要约。"
        "请于 {due} 前登录平台答复（接受或放弃），逾期未答复视为放弃。", offer_link),)),
    # 招标/采购/招商 (DESIGN §3.12): the opening, the candidates, the winner, a request to pass over candidate 1
    "procurement.open": Rule("procurement.opened", load_procurement, (Send(
        bidders, "已开标：{title}",
        "项目 {no}「{title}」已于 {opened} 网上开标。请在开标记录中核对：您手中的投标回执（SHA-256）应与公布的一致；"
        "如不一致，请立即联系交易中心。", opening_link),)),
    "procurement.evaluated": Rule("procurement.evaluated", load_procurement, (
        Send(bidders, "评标结果公示：{title}",
             "项目 {no}「{title}」评标完成，中标候选人公示至 {publicity_end}：{candidates_text}。"
             "对结果有异议的，可在公示期内提出。"),
        Send(listing_people, "评标完成，请在公示期满后确定中标人：{title}",
             "项目 {no}「{title}」评标完成，中标候选人公示至 {publicity_end}：{candidates_text}。"
             "公示期满且无异议后，请在平台上确定中标人（一般为第一中标候选人）。"),
    )),
    "procurement.award": Rule("procurement.awarded", load_procurement, (
        Send(winner, "中标通知：{title}",
             "您已被确定为项目 {no}「{title}」的中标人，中标价 {price} 元，中标通知书可在平台下载。"
             "请于 {contract_due} 前签订合同（第十六条）。"),
        Send(bidders, "中标结果：{title}",
             "项目 {no}「{title}」的中标人为 {winner_name}（{price} 元）。您的投标保证金将在合同签订后 5 日内"
             "连同银行同期存款利息退还。"),
    )),
    "procurement.award_request": Rule("procurement.award_request", load_procurement, (Send(
        reviewers, "请审批中标人的确定：{title}",
        "项目 {no}「{title}」的采购人申请确定第 {rank} 中标候选人 {supplier} 为中标人，理由：{reason}。请核实后审批。"),)),
    # a deadline moved by a change of the holiday calendar (the State Council's notice confirmed)
    "deadline.recomputed": Rule("deadline.moved", load_recount, (Send(
        recount_people, "期限调整：{title}",
        "因节假日安排调整，项目 {no}「{title}」的{label}由 {old} 调整为 {new}。请按新的期限办理。"),)),
    # 中止 / 重启 / 终结 (the transferor's side and every buyer still in play)
    "listing.suspend": _SUSPENDED,
    "listing.objection_upheld": _SUSPENDED,
    "listing.restart": Rule("listing.restarted", load_listing, (Send(
        parties_and_buyers, "交易重启：{title}",
        "项目 {no}「{title}」已重启交易（{reason}）。中止时暂停的各项期限按剩余时间继续计算，请按页面显示的新期限办理。"),)),
    "listing.terminate": Rule("listing.terminated", load_listing, (Send(
        parties_and_buyers, "交易终结：{title}",
        "项目 {no}「{title}」已终结交易（第二十四条）：{reason}。已交纳的保证金将在 5 个工作日内无息退还。"),)),
}


@audit_recorded.connect
def on_audit(entry) -> None:
    """The receiver of ``exchange.audit.services.recorded``: every entry, inside its transaction.

    Unmapped actions cost one dict lookup.  Mapped ones write their notifications inside a savepoint: if
    that fails, the audited operation goes on without them (logged) — except under ``TESTING``, where the
    error is raised so a mistake in a rule cannot hide.
    """
    rule = RULES.get(entry.action)
    if rule is None:
        return
    try:
        with savepoint(db.session):
            _apply(rule, entry)
    except Exception:
        log.exception("notifications for audit entry %s (%s) failed", entry.seq, entry.action)
        if current_app.testing:
            raise


def _apply(rule: Rule, entry) -> list[Notification]:
    if entry.object_id is None:
        return []
    ctx = rule.load(entry)
    if ctx is None:
        return []
    done: set[int] = set()
    if entry.actor_id is not None:
        done.add(entry.actor_id)  # nobody is told about their own action
    out = []
    for send in rule.sends:
        for uid in send.to(ctx):
            if uid is None or uid in done:
                continue
            done.add(uid)
            n = notify(uid, rule.kind, fill(send.title, ctx), fill(send.body, ctx), link=send.link(ctx, uid),
                       listing_id=ctx.get("listing_id"))
            if n is not None:
                out.append(n)
    return out
