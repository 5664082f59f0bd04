"""What each role sees on 我的工作台: its duties and queues.

Each panel names a queue of the role's work.  Domains add their queues here as they arrive
(listings, qualifications, deposits, trading, contracts …); a queue's ``count`` is computed by
that domain's service within the user's scope.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from exchange.accounts.models import Role
from exchange.workdays.services import calendar_warnings


@dataclass
class Queue:
    label: str
    count: int = 0
    url: str | None = None
    overdue: int = 0


@dataclass
class Panel:
    title: str
    description: str
    queues: list[Queue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)  # (label, url): the role's first buttons


DUTIES = {
    Role.POINT_CLERK: ("本村交易点", "收集本村（社区）农村产权流转交易信息，指导农户和村集体准备材料，初审后报送交易站。"),
    Role.STATION_REVIEWER: ("本镇交易站", "对本镇（街道）各交易点报送的项目进行初审：材料齐全、信息属实的报送交易中心，否则退回并说明理由。"),
    Role.CENTER_REVIEWER: ("交易中心审核", "审核权属、出让方资格、规划和用途、民主决策程序，发布交易公告；审查意向受让方资格。"),
    Role.TRADING_OFFICER: ("组织交易", "确定交易方式，安排并主持网络竞价，录入拍卖、招投标结果，确认成交。"),
    Role.FINANCE: ("交易资金结算", "保证金到账确认、银行流水对账、退款、价款结算和划付（划付需另一名财务复核）。"),
    Role.ADMIN: ("平台管理", "维护组织机构、工作人员账号、节假日与调休安排、API 访问令牌。"),
    Role.SUPERVISOR: ("监督管理", "查看全市交易情况、统计数据、预警信息和审计日志（只读）。"),
    Role.PUBLIC: ("我的交易", "报名参与交易、交纳保证金、参加竞价、签订合同；也可直接向交易中心申请转出产权。"),
}


# (label, states) of the listing queues each role watches
LISTING_QUEUES = {
    Role.POINT_CLERK: [("草稿", ("draft",)), ("被退回待修改", ("returned",)), ("交易站初审中", ("station_review",)),
                       ("交易中心审核中", ("center_review",)), ("公告中", ("announced",))],
    Role.STATION_REVIEWER: [("待初审", ("station_review",)), ("交易中心审核中", ("center_review",)),
                            ("已退回交易点", ("returned",)), ("公告中", ("announced",))],
    Role.CENTER_REVIEWER: [("待审核", ("center_review",)), ("交易站初审中", ("station_review",)),
                           ("公告中", ("announced",))],
    Role.TRADING_OFFICER: [("公告中", ("announced",))],
    Role.SUPERVISOR: [("审核中", ("station_review", "center_review")), ("公告中", ("announced",))],
    Role.PUBLIC: [("我的草稿", ("draft",)), ("被退回待修改", ("returned",)), ("审核中", ("center_review",)),
                  ("公告中", ("announced",))],
}


REG_QUEUES = {
    Role.CENTER_REVIEWER: [("待资格审核的报名", "applied")],
    Role.FINANCE: [("待确认到账的保证金", "qualified"), ("保证金已到账", "paid")],
    Role.PUBLIC: [("我的报名·待审核", "applied"), ("我的报名·待交保证金", "qualified")],
}


def work_panels(user) -> list[Panel]:
    from flask import url_for

    from exchange.listings.services import queue_counts
    role = Role(user.role)
    title, description = DUTIES[role]
    panel = Panel(title=title, description=description)
    if role == Role.POINT_CLERK:  # a village clerk's daily work begins with a new listing (信息收集)
        panel.actions.append(("新建挂牌项目", url_for("listings.new")))
    if role in (Role.POINT_CLERK, Role.CENTER_REVIEWER):  # the collective buys: 招标/采购/招商 (issue 18)
        panel.actions.append(("新建招标采购项目", url_for("procurement.new")))
    from exchange.registrations.services import queue_count
    for label, state in REG_QUEUES.get(role, []):
        panel.queues.append(Queue(label, queue_count(user, state), url_for("registrations.index", state=state)))
    for label, states in LISTING_QUEUES.get(role, []):
        panel.queues.append(Queue(label, queue_counts(user, states),
                                  url_for("listings.index", state=states[0]) if len(states) == 1 else
                                  url_for("listings.index")))
    if role in (Role.TRADING_OFFICER, Role.SUPERVISOR, Role.CENTER_REVIEWER, Role.PUBLIC):
        from exchange.trading.services import work_counts
        c = work_counts(user)
        if role == Role.PUBLIC:
            panel.queues.append(Queue("我的竞价", c["my_sessions"], url_for("registrations.index", state="paid")))
        else:
            panel.queues.append(Queue("待组织交易的项目", c["trading"], url_for("trading.index")))
            panel.queues.append(Queue("已安排的竞价", c["sessions"], url_for("trading.index")))
            panel.queues.append(Queue("交易公示中", c["publicity"], url_for("publicity.index")))
            if role in (Role.CENTER_REVIEWER, Role.SUPERVISOR):
                panel.queues.append(Queue("待处理的异议", c["objections"],
                                          url_for("publicity.objection_queue", state="pending"),
                                          overdue=c["objections"]))
                from exchange.incidents.disputes import applied_count
                panel.queues.append(Queue("待受理的调解申请", applied_count(),
                                          url_for("disputes.index", state="applied")))
    _deal_queues(panel, user, role)
    if role in (Role.FINANCE, Role.SUPERVISOR):
        from exchange.ledger.queries import refund_counts
        from exchange.payments.statements import open_lines_count
        panel.queues.append(Queue("待处理的银行流水", open_lines_count(), url_for("payments.statements")))
        c = refund_counts()
        panel.queues.append(Queue("待登记转账的退款", c["pending"], url_for("ledger.refunds", state="pending")))
        panel.queues.append(Queue("待复核的退款", c["recorded"], url_for("ledger.refunds", state="recorded")))
        panel.queues.append(Queue("逾期未退的款项", c["overdue"], url_for("ledger.refunds", overdue=1),
                                  overdue=c["overdue"]))
    if role in (Role.ADMIN, Role.CENTER_REVIEWER, Role.TRADING_OFFICER, Role.FINANCE):
        panel.warnings.extend(calendar_warnings())
    return [panel]


def _deal_queues(panel: Panel, user, role) -> None:
    """Contracts to confirm, check or follow; settlements to handle (第十六–十七条)."""
    from flask import url_for
    from sqlalchemy import func, or_, select

    from exchange import clock
    from exchange.access import scope_clause
    from exchange.contracts.models import Contract
    from exchange.contracts.states import ContractState
    from exchange.extensions import db
    from exchange.listings.models import Listing
    from exchange.settlement.models import Settlement
    from exchange.trading.models import Deal

    def count(stmt) -> int:
        return db.session.scalar(stmt) or 0

    now = clock.now()
    if role == Role.PUBLIC:
        mine = (select(func.count(Contract.id)).join(Deal, Deal.id == Contract.deal_id).join(Listing)
                .where(Contract.state == "draft",
                       or_(Deal.buyer_id == user.id, Listing.transferor_user_id == user.id)))
        panel.queues.append(Queue("待签署的合同", count(mine), url_for("registrations.index", state="paid")))
        from exchange.incidents.models import RunnerUpOffer
        from exchange.registrations.models import Registration
        offers = count(select(func.count(RunnerUpOffer.id)).join(Registration,
                                                                 Registration.id == RunnerUpOffer.registration_id)
                       .where(RunnerUpOffer.state == "pending", Registration.buyer_id == user.id))
        if offers:  # 第二十二条: the deal offered to this buyer after the winner's default
            panel.queues.append(Queue("待答复的成交要约", offers, url_for("defaults.my_offers")))
        from exchange.incidents.disputes import applications_of
        from exchange.incidents.conduct import against
        mine = applications_of(user)
        if mine:  # 第二十七条: its own mediation applications
            panel.queues.append(Queue("我的调解申请", sum(1 for d in mine if d.is_active), url_for("mediation.mine")))
        found = against(user)
        if found:  # 第二十五条: the findings against this account, newest first
            panel.queues.append(Queue("禁止行为认定", len(found), url_for("conduct.detail", finding_id=found[0].id),
                                      overdue=len(found)))
        return
    if role in (Role.POINT_CLERK, Role.STATION_REVIEWER):
        stmt = (select(func.count(Contract.id)).join(Listing, Listing.id == Contract.listing_id)
                .where(Contract.state == "draft", Listing.transferor_user_id.is_(None),
                       scope_clause(user, Listing.org_path)))
        panel.queues.append(Queue("待代转让方登记签字的合同", count(stmt), url_for("contracts.index", state="draft")))
        return
    if role in (Role.CENTER_REVIEWER, Role.TRADING_OFFICER, Role.SUPERVISOR):
        panel.queues.append(Queue("待核验的合同签章件", count(select(func.count(Contract.id))
                                                             .where(Contract.state == "uploaded")),
                                  url_for("contracts.index")))
        overdue = count(select(func.count(Contract.id)).join(Listing, Listing.id == Contract.listing_id)
                        .where(Contract.state.in_(ContractState.UNSIGNED), Contract.due_at < now,
                               Listing.state != "suspended"))
        panel.queues.append(Queue("逾期未签约", overdue, url_for("contracts.index"), overdue=overdue))
    if role in (Role.FINANCE, Role.SUPERVISOR):
        panel.queues.append(Queue("待付价款的结算", count(select(func.count(Settlement.id))
                                                           .where(Settlement.state == "awaiting")),
                                  url_for("settlement.index")))
        overdue = count(select(func.count(Settlement.id)).join(Listing, Listing.id == Settlement.listing_id)
                        .where(Settlement.state.in_(("awaiting", "paid")), Settlement.due_at < now,
                               Listing.state != "suspended"))
        panel.queues.append(Queue("逾期未结算", overdue, url_for("settlement.index"), overdue=overdue))
