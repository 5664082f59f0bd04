"""The listing lifecycle: one transition table, and the only code that assigns ``Listing.state``.

Each transition names the states it leaves from, the state it goes to, the access action that
authorises it (role and org scope, :mod:`exchange.access`), whether a reason is required, a guard
that must pass, and the effects it runs (numbering, clocks).  Pages, the API, the CLI and the
sweeper all call :func:`fire`.  Later stages (trading, contract, settlement, suspension …) add their
rows here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from blinker import Namespace

from exchange import clock, labels
from exchange.access import AccessDenied, can, require
from exchange.accounts.models import Role
from exchange.audit.services import canonical_json, record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.listings.models import Listing, ListingEvent
from exchange.listings.states import ListingState
from exchange.machine import Machine
from exchange.machine import Transition as Step

STATE_LABELS = ListingState.labels()
PUBLIC_STATES = tuple(sorted(ListingState.PUBLIC, key=list(ListingState).index))


class WorkflowError(ServiceError):
    """A step out of order or incomplete; ``problems`` lists what is missing."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str | Callable[[Listing], str]
    action: str  # exchange.access action
    reason_required: bool = False
    guard: Callable[[Listing], list[str]] | None = None
    effects: tuple[Callable[[Listing, object], None], ...] = field(default_factory=tuple)
    public_owner: bool = False  # the listing's own transferor (public account) may fire it
    # the service that fires it has itself authorised the actor (a buyer answering an offer made to them)
    service_authorised: bool = False
    system: bool = False  # the deadline sweeper may fire it (actor None)

    def target_for(self, listing: Listing) -> str:
        return self.target(listing) if callable(self.target) else self.target


def _submit_target(listing: Listing) -> str:
    return "station_review" if listing.origin == "point" else "center_review"


def _guard_complete(listing: Listing) -> list[str]:
    from exchange.listings.rules import problems
    return problems(listing, for_submit=True)


def _guard_center(listing: Listing) -> list[str]:
    """Complete (第十二条), and reviewed together with the town's station (第十四条: its 初审, or its opinion)."""
    from exchange.listings.rules import problems
    from exchange.listings.services import station_problems
    return problems(listing, for_submit=True) + station_problems(listing)


def _effect_submitted(listing: Listing, actor) -> None:
    listing.submitted_at = clock.now()
    from exchange.listings.services import give_intake_no
    give_intake_no(listing)  # the 受理回执's number, once (a resubmission after 退回 keeps it)


def _restart_target(listing: Listing) -> str:
    """Back to the stage it was suspended in: read from the listing's own history (the transition into 已中止)."""
    from sqlalchemy import select
    before = db.session.scalar(select(ListingEvent.from_state).where(
        ListingEvent.listing_id == listing.id, ListingEvent.to_state == "suspended",
        ListingEvent.from_state != "suspended").order_by(ListingEvent.id.desc()).limit(1))
    if before is None:
        raise WorkflowError("找不到该项目的中止记录。")
    return before


def _effect_publish(listing: Listing, actor) -> None:
    from exchange.listings.services import start_announcement
    start_announcement(listing)


TRANSITIONS: dict[str, Transition] = {t.name: t for t in [
    Transition("submit", "提交审核", frozenset({"draft", "returned"}), _submit_target, "listings.submit",
               guard=_guard_complete, effects=(_effect_submitted,), public_owner=True),
    Transition("station_pass", "初审通过，报送交易中心", frozenset({"station_review"}), "center_review",
               "listings.station_review"),
    Transition("station_return", "退回交易点", frozenset({"station_review"}), "returned", "listings.station_review",
               reason_required=True),
    Transition("center_approve", "审核通过并发布公告", frozenset({"center_review"}), "announced",
               "listings.center_review", guard=_guard_center, effects=(_effect_publish,)),
    Transition("center_return", "退回修改", frozenset({"center_review"}), "returned", "listings.center_review",
               reason_required=True),
    Transition("center_reject", "不予受理", frozenset({"center_review"}), "rejected", "listings.center_review",
               reason_required=True),
    # 组织交易 (第十五条): the sweeper moves a listing on when its announcement and deposit deadline are over
    Transition("start_trading", "公告期满，进入组织交易", frozenset({"announced"}), "trading", "trading.manage",
               system=True),
    # a procurement project's 开标 (exchange.procurement; the sweeper at the opening time): bids opened, 评标 begins
    Transition("open_bids", "开标，进入评标", frozenset({"announced"}), "trading", "procurement.evaluate",
               system=True),
    Transition("fail", "流拍", frozenset({"announced", "trading"}), "failed", "trading.manage",
               reason_required=True, system=True),
    Transition("conclude", "成交，进入交易公示", frozenset({"trading"}), "publicity", "trading.manage", system=True),
    Transition("publicity_end", "公示期满，进入签约", frozenset({"publicity"}), "contract", "trading.manage",
               system=True),
    Transition("objection_upheld", "异议成立，中止交易", frozenset({"publicity"}), "suspended", "objections.decide",
               reason_required=True),
    # 签约 → 结算 → 鉴证 → 完成 (第十六–十八条)
    # the last party's signature (第十六条): the contracts service authorised the party or the clerk
    Transition("contract_effective", "双方签署，合同生效，进入结算", frozenset({"contract"}), "settlement",
               "contracts.manage", service_authorised=True),
    Transition("settled", "资金结算完成，进入鉴证", frozenset({"settlement"}), "certification", "settlement.manage"),
    Transition("certified", "出具鉴证书，交易完成", frozenset({"certification"}), "completed", "certificates.issue"),
    # 中止 / 重启 (第二十三条): every running clock frozen; a restart gives the remaining time back
    Transition("suspend", "中止交易", frozenset({"announced", "trading", "publicity", "contract", "settlement",
                                             "certification"}), "suspended", "listings.suspend",
               reason_required=True),
    Transition("restart", "重启交易", frozenset({"suspended"}), _restart_target, "listings.suspend",
               reason_required=True),
    # 违约 (第二十二条): a party did not sign (or the buyer did not pay) in time; after the buyer's default the center
    # offers the deal to the runner-up (who accepts: a new deal and its 交易公示) or relists (流拍, then 重新挂牌); after
    # the transferor's, it relists on the transferor's new application or terminates
    Transition("default", "认定违约", frozenset({"contract", "settlement"}), "defaulted", "defaults.decide",
               reason_required=True),
    Transition("runner_up_accept", "次高报价人接受，进入交易公示", frozenset({"defaulted"}), "publicity",
               "defaults.decide", service_authorised=True),
    Transition("default_relist", "违约后转为流拍，重新挂牌", frozenset({"defaulted"}), "failed", "defaults.decide",
               reason_required=True),
    # 终结 (第二十四条): decided by the center until the 鉴证书 is issued (once the proceeds were paid out the service
    # refuses: a dispute)
    Transition("terminate", "终结交易", frozenset({"announced", "trading", "publicity", "contract", "settlement",
                                             "certification", "suspended", "defaulted"}),
               "terminated", "listings.terminate", reason_required=True),
    # a relisting after 流拍 goes straight to the center's review
    Transition("relist_submit", "重新挂牌，提交审核", frozenset({"draft"}), "center_review", "listings.center_review",
               guard=_guard_complete, effects=(_effect_submitted,)),
]}


# The generic machine under the table above: the one writer of ``Listing.state`` (checked again there) and the
# sender of the platform-wide ``exchange.machine.transitioned`` signal.  Authorisation, guards, effects and the
# listing's own history stay here.
LISTING = Machine("listing", ListingState, [
    Step(t.name, t.label, t.sources, t.target, None, t.reason_required) for t in TRANSITIONS.values()],
    scope=lambda listing: listing.org, what=lambda listing: "项目")


def allowed(listing: Listing, user) -> list[Transition]:
    """The transitions this user may fire on this listing now (for buttons)."""
    return [t for t in TRANSITIONS.values()
            if listing.state in t.sources and not t.service_authorised and _authorised(t, listing, user)]


def _authorised(t: Transition, listing: Listing, user) -> bool:
    if user is None:
        return t.system  # the sweeper
    if not getattr(user, "is_authenticated", False):
        return False
    if t.service_authorised and user.is_active:
        return True
    if user.role == Role.PUBLIC:
        return t.public_owner and listing.transferor_user_id == user.id and user.is_active
    return can(user, t.action, listing.org)


# Sent by :func:`fire` after each transition, inside its transaction, with the transition's name, the states before
# and after and its audit entry.  Later layers react (the open-data changes feed) without the workflow knowing them.
transitioned = Namespace().signal("listing-transitioned")


def fire(listing: Listing, name: str, actor, *, reason: str = "", data: dict | None = None) -> ListingEvent:
    """Perform transition ``name`` on ``listing`` as ``actor``: authorise, check, assign, record."""
    try:
        t = TRANSITIONS[name]
    except KeyError:
        raise WorkflowError(f"未知的操作：{name}") from None
    if not _authorised(t, listing, actor):  # who asks first: a caller without the right learns nothing more
        if actor is not None and getattr(actor, "role", None) != Role.PUBLIC:
            require(actor, t.action, listing.org)  # raises with the precise message
        raise AccessDenied(f"您没有权限对该项目执行“{t.label}”。")
    if name == "relist_submit" and not listing.relisted_from_id:
        raise WorkflowError("只有流拍后重新挂牌的项目可以直接提交交易中心审核。")
    if listing.state not in t.sources:
        raise WorkflowError(f"项目当前状态为“{STATE_LABELS[listing.state]}”，不能执行“{t.label}”。")
    reason = (reason or "").strip()
    if t.reason_required and not reason:
        raise WorkflowError(f"请填写“{t.label}”的理由，提交人将看到它。")
    if t.guard:
        problems = t.guard(listing)
        if problems:
            raise WorkflowError(f"不能{t.label}：还有 {len(problems)} 处需要补正。", problems)
    before = listing.state
    after = t.target_for(listing)
    LISTING.fire(listing, name, actor, reason=reason, data=data, authorised=True)  # assigns ``after``
    listing.state_since = clock.now()
    for effect in t.effects:
        effect(listing, actor)
    event = ListingEvent(listing=listing, action=name, from_state=before, to_state=after,
                         actor_id=getattr(actor, "id", None),
                         actor_name=_actor_name(actor), note=reason,
                         data=canonical_json(data) if data else None)
    db.session.add(event)
    db.session.flush()
    entry = record(f"listing.{name}", f"{t.label}：{listing.project_no or ('#' + str(listing.id))} {listing.title}"
           + (f"（{reason}）" if reason else ""), obj_type="listing", obj_id=listing.id,
           before={"state": before}, after={"state": after, **({"data": data} if data else {})})
    transitioned.send(listing, name=name, before=before, after=after, entry=entry)
    return event


# The lines of a listing's 办理记录 (its history, :class:`ListingEvent`) by their ``action``: a transition is named by the
# table above; the history entries that change no state (:func:`log_event`) are named here (exchange.labels).
EVENT_LABELS = {
    "create": "新建草稿", "edit": "修改信息", "material_add": "上传材料", "material_remove": "删除材料",
    "opinion_requested": "征求交易站意见", "opinion_given": "交易站出具意见",
    "opinion_unavailable": "记录未能取得交易站意见的原因",
    "contract_clauses": "修改合同约定条款", "contract_confirm": "确认合同", "contract_scan": "上传签章合同扫描件",
    "contract_return": "退回签章合同扫描件", "contract_checked": "核验签章合同",
    "force_majeure_file": "提出不可抗力申请", "force_majeure_decide": "处理不可抗力申请",
    "certificate_revoked": "撤销鉴证书",
}
labels.register("listing_event", {t.name: t.label for t in TRANSITIONS.values()})
labels.register("listing_event", EVENT_LABELS)


def log_event(listing: Listing, action: str, actor, note: str = "", data: dict | None = None) -> ListingEvent:
    """A history entry that does not change the state (edits, materials, opinions)."""
    event = ListingEvent(listing=listing, action=action, from_state=listing.state, to_state=listing.state,
                         actor_id=getattr(actor, "id", None), actor_name=_actor_name(actor), note=note,
                         data=json.dumps(data, ensure_ascii=False, default=str) if data else None)
    db.session.add(event)
    return event


def _actor_name(actor) -> str:
    if actor is None:
        return "系统"
    return f"{actor.display_name}（{actor.role_label}）"
