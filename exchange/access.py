"""Access control: one table of actions, checked by role *and* organisational scope.

Every service calls :func:`require` before acting; views and API endpoints only translate the
resulting :class:`AccessDenied` into a 403.  Scope follows the org tree: a 交易点 clerk sees its
own village, a 交易站 its own town (itself and its villages), the center and the supervisor
everything under the center.  The supervisor (监管) may perform every *read* action and no
write action.

Later domains add their actions to ``ACTIONS``; the test matrix walks the whole table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, true

from exchange.accounts.models import Role, STAFF_ROLES
from exchange.orgs.models import OrgUnit

R = Role
# the exchange's own staff (a financial institution's officer is not one of them: see LENDERS)
ALL_STAFF = frozenset(r for r in STAFF_ROLES if r is not R.LENDER)
LENDERS = frozenset({R.LENDER})
CENTER_STAFF = frozenset({R.CENTER_REVIEWER, R.TRADING_OFFICER, R.FINANCE, R.ADMIN})


class AccessDenied(Exception):
    """The actor may not perform this action on this object."""

    def __init__(self, message: str = "您没有权限执行此操作。"):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    label: str
    # read-only actions are also open to the supervisor
    read: bool = False
    # scoped actions must name the org unit the object belongs to
    scoped: bool = False
    # open to public (buyer/transferor) accounts as well
    public: bool = False
    extra: dict = field(default_factory=dict)

    def allows_role(self, role: str) -> bool:
        if role == R.SUPERVISOR:
            return self.read
        if role == R.PUBLIC:
            return self.public
        return role in self.roles


ACTIONS: dict[str, Rule] = {
    # my work page (every signed-in account has one)
    "work.view": Rule(ALL_STAFF | LENDERS, "查看我的工作台", read=True, public=True),
    # org tree
    "orgs.view": Rule(ALL_STAFF, "查看组织机构", read=True, scoped=True),
    "orgs.manage": Rule(frozenset({R.ADMIN}), "管理组织机构"),
    # accounts
    "users.view": Rule(frozenset({R.ADMIN}), "查看用户", read=True),
    "users.manage": Rule(frozenset({R.ADMIN}), "管理用户"),
    "tokens.manage": Rule(frozenset({R.ADMIN}), "管理 API 访问令牌"),
    # holiday calendar
    "calendar.view": Rule(ALL_STAFF, "查看工作日历", read=True),
    "calendar.manage": Rule(frozenset({R.ADMIN}), "维护节假日与调休"),
    # the center's own trading rules (统一交易规则: 16:00 cutoff, 交易公示, review); published to everyone at /rules
    "rules.manage": Rule(frozenset({R.ADMIN}), "调整中心交易规则"),
    # audit trail
    "audit.view": Rule(frozenset({R.ADMIN}), "查看审计日志", read=True),
    # catalogue of 交易品种 and 流转方式
    "catalog.manage": Rule(frozenset({R.ADMIN}), "维护交易品种和流转方式"),
    # listings (the public transferor's own direct applications are checked by ownership in the workflow)
    "listings.view": Rule(ALL_STAFF, "查看挂牌项目", read=True, scoped=True),
    "listings.edit": Rule(frozenset({R.POINT_CLERK, R.CENTER_REVIEWER}), "录入和修改挂牌项目", scoped=True),
    "listings.submit": Rule(frozenset({R.POINT_CLERK, R.CENTER_REVIEWER}), "提交挂牌项目", scoped=True),
    "listings.station_review": Rule(frozenset({R.STATION_REVIEWER}), "初审挂牌项目", scoped=True),
    "listings.center_review": Rule(frozenset({R.CENTER_REVIEWER}), "审核和发布挂牌项目", scoped=True),
    # buyers' applications and deposits
    "registrations.review": Rule(frozenset({R.CENTER_REVIEWER}), "审核意向受让方资格", scoped=True),
    "deposits.confirm": Rule(frozenset({R.FINANCE}), "确认保证金到账"),
    "refunds.manage": Rule(frozenset({R.FINANCE}), "办理保证金退款"),
    "statements.import": Rule(frozenset({R.FINANCE}), "导入银行流水并处理对账差异"),
    "ledger.view": Rule(frozenset({R.FINANCE}), "查看资金台账", read=True),
    # organised trading (第十五条)
    "trading.view": Rule(frozenset({R.TRADING_OFFICER, R.CENTER_REVIEWER, R.FINANCE}), "查看组织交易", read=True),
    "trading.manage": Rule(frozenset({R.TRADING_OFFICER}), "组织交易（安排竞价、确认成交、录入线下结果）"),
    "objections.decide": Rule(frozenset({R.CENTER_REVIEWER}), "处理交易公示期间的异议"),
    "listings.relist": Rule(frozenset({R.CENTER_REVIEWER}), "流拍项目重新挂牌"),
    "listings.terminate": Rule(frozenset({R.CENTER_REVIEWER}), "终结交易", scoped=True),
    # 中止 / 重启 (第二十三条): decided by the center; a restart is applied for by a party, or by the staff who
    # handle the listing on its behalf (the transferor's own public account is checked by ownership in the service)
    "listings.suspend": Rule(frozenset({R.CENTER_REVIEWER}), "中止和重启交易", scoped=True),
    "listings.restart_apply": Rule(frozenset({R.POINT_CLERK, R.STATION_REVIEWER, R.CENTER_REVIEWER}),
                                   "代为申请重启交易", scoped=True),
    # 违约 (第二十二条): forfeiture, the offer to the runner-up, or relisting
    "defaults.decide": Rule(frozenset({R.CENTER_REVIEWER}), "认定违约和处理（不可抗力、没收或退还保证金、向次高报价人要约、重新挂牌）"),
    # 纠纷调解 (第二十七条)
    "disputes.view": Rule(frozenset({R.CENTER_REVIEWER, R.TRADING_OFFICER}), "查看纠纷调解记录", read=True),
    "disputes.manage": Rule(frozenset({R.CENTER_REVIEWER}), "登记和办理纠纷调解"),
    # 禁止行为 (第二十五条): the center's finding against a participant (取消报名资格, 禁止报名), read by the supervisor
    "conduct.view": Rule(frozenset({R.CENTER_REVIEWER, R.TRADING_OFFICER}), "查看禁止行为认定", read=True),
    "conduct.decide": Rule(frozenset({R.CENTER_REVIEWER}), "认定禁止行为（取消报名资格、禁止报名）"),
    # contract, settlement, certificate, archive (第十六–十八条)
    "contracts.manage": Rule(frozenset({R.CENTER_REVIEWER, R.TRADING_OFFICER}), "办理合同签订（编辑条款、审核签章件）"),
    "settlement.manage": Rule(frozenset({R.FINANCE}), "办理交易资金结算和划付"),
    "fees.manage": Rule(frozenset({R.ADMIN}), "维护收费标准"),
    "certificates.issue": Rule(frozenset({R.CENTER_REVIEWER}), "出具和撤销鉴证书"),
    # supervision (第六条, 第二十六条): statistics, rankings, warnings and reports — read-only for the supervisor
    "stats.view": Rule(frozenset({R.CENTER_REVIEWER, R.TRADING_OFFICER, R.FINANCE, R.ADMIN}),
                       "查看统计分析和考评排名", read=True),
    "reports.download": Rule(frozenset({R.CENTER_REVIEWER, R.FINANCE, R.ADMIN}), "下载统计报表", read=True),
    "alerts.view": Rule(frozenset({R.CENTER_REVIEWER, R.ADMIN}), "查看监督预警", read=True),
    "alerts.handle": Rule(frozenset({R.CENTER_REVIEWER}), "处理监督预警（知悉、记录处理结果）"),
    # open data (gov-data-rules): read tokens of government data consumers
    "datatokens.manage": Rule(frozenset({R.ADMIN}), "管理开放数据访问令牌"),
    # the center's 专家库 (issue 18): the evaluation panels are drawn from it; kept by the admin and the reviewer
    "experts.view": Rule(frozenset({R.CENTER_REVIEWER, R.ADMIN}), "查看专家库", read=True),
    "experts.manage": Rule(frozenset({R.CENTER_REVIEWER, R.ADMIN}), "维护专家库（专家、专业和回避关系）"),
    # procurement projects (招标/采购/招商, issue 18): the center opens and evaluates, the collective confirms the winner
    # (its village clerk acting for it), the center approves a winner other than candidate 1
    "procurement.view": Rule(frozenset({R.TRADING_OFFICER, R.CENTER_REVIEWER, R.FINANCE}), "查看招标采购的开标和评标",
                             read=True),
    "procurement.evaluate": Rule(frozenset({R.TRADING_OFFICER}), "组织评标（否决无效投标、抽取评标委员会、确认评标结果）"),
    "procurement.award": Rule(frozenset({R.POINT_CLERK, R.CENTER_REVIEWER}), "代采购人确定中标人", scoped=True),
    "procurement.approve_award": Rule(frozenset({R.CENTER_REVIEWER}), "批准采购人确定排名第一以外的中标候选人",
                                      scoped=True),
    # 抵押登记与融资 (issue 19, DESIGN §3.13): the holder applies (its village point for it), the center checks and
    # registers, the institution's officer decides, releases and applies to dispose — each on its own institution
    "mortgages.apply": Rule(frozenset({R.POINT_CLERK}), "申请抵押登记（本人，或交易点代本村农户）", public=True),
    "mortgages.review": Rule(frozenset({R.CENTER_REVIEWER}), "审查和办理抵押登记", scoped=True),
    "mortgages.decide": Rule(LENDERS, "审批贷款、解除抵押和申请处置（本机构）", scoped=True),
    "mortgages.view": Rule(frozenset({R.CENTER_REVIEWER, R.LENDER}), "查看抵押登记", read=True, scoped=True),
    "archive.download": Rule(frozenset({R.CENTER_REVIEWER, R.TRADING_OFFICER, R.FINANCE, R.ADMIN}), "下载项目档案",
                             read=True),
}


def _rule(action: str) -> Rule:
    try:
        return ACTIONS[action]
    except KeyError:  # a typo must never silently allow
        raise AccessDenied(f"未定义的操作：{action}") from None


def in_scope(user, org: OrgUnit | None) -> bool:
    """True when ``org`` lies inside the user's organisational scope."""
    if org is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == R.PUBLIC or user.org_unit is None:
        return False
    return user.org_unit.contains(org)


def can(user, action: str, org: OrgUnit | None = None) -> bool:
    rule = _rule(action)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not rule.allows_role(user.role):
        return False
    if rule.scoped:
        if org is None:
            return False
        return in_scope(user, org)
    return True


def require(user, action: str, org: OrgUnit | None = None) -> None:
    rule = _rule(action)
    if not can(user, action, org):
        if user is not None and getattr(user, "is_authenticated", False) and rule.allows_role(user.role) and rule.scoped:
            raise AccessDenied("该事项不在您的管辖范围内。")
        raise AccessDenied(f"您没有权限{rule.label}。")


def scope_clause(user, path_column) -> ColumnElement[bool]:
    """An SQL condition restricting rows whose org path column lies in the user's scope."""
    if user is None or not getattr(user, "is_authenticated", False) or user.org_unit is None:
        return false()
    if not user.org_unit.path:
        return false()
    return path_column.startswith(user.org_unit.path, autoescape=True) if user.org_unit.path else true()
