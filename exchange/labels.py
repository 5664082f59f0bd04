"""The Chinese name of every code a person can see: one table, one lookup (:func:`label`).

Codes are what the platform stores and the API speaks (``auth.login``, ``start_trading``, ``finance``,
``deposit_in``, ``DEP-L7-U53``); people — center staff reading a page, a supervisor opening a CSV in Excel —
read the names here.  The table is keyed by (kind, code):

=================  ============================================================  ==========================
kind               what                                                          filled by
=================  ============================================================  ==========================
``action``         an audit entry's action (``listing.create``)                  :data:`ACTIONS` below
``object``         an audit entry's object type (``registration``)               :data:`OBJECTS` below
``role``           a user's role (``finance``)                                   ``accounts.models``
``state.<m>``      a state of machine ``m`` (``state.listing`` ``trading``)      each :class:`machine.Machine`
``event.<m>``      a transition of machine ``m`` (``event.listing``              each :class:`machine.Machine`
                   ``start_trading``)
``listing_event``  a line of a listing's 办理记录 (a transition, or an entry    ``listings.workflow``
                   that changes no state: 上传材料 …)
``entry``          a ledger journal entry's kind (``deposit_in``)                ``ledger.models``
``account``        a ledger account's kind (``deposit``) — and, by its code's     ``ledger.models``
                   prefix, an account code (``DEP-L7-U53`` → 保证金)
=================  ============================================================  ==========================

Labels that already live with their domain (states and transitions on their machine, roles on the account model,
ledger kinds in the ledger) are *registered* here by their owner at import, never copied.  Audit actions and
object types belong to no one domain (the audit trail, at the bottom of the house, knows them as plain strings):
their table is here.  An audit action without an entry of its own is named by its machine's transition
(``listing.start_trading`` → 公告期满，进入组织交易) or its ledger entry (``ledger.refund`` → 记账：退还保证金).
``tests/test_labels.py`` walks every code the code can produce and fails on one without a name.

This module sits in the foundation layer (DESIGN §4.1): it imports nothing of the platform.
"""
from __future__ import annotations

from typing import Iterable, Mapping

_TABLE: dict[tuple[str, str], str] = {}


def register(kind: str, mapping: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
    """Add (or update) the names of ``kind``'s codes — called by the module that owns them."""
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    for code, name in items:
        if name:
            _TABLE[(kind, str(code))] = str(name)


def known(kind: str, code) -> bool:
    """Whether ``code`` of ``kind`` has a Chinese name (directly or derived, as :func:`label` finds it)."""
    return _find(kind, code) is not None


def codes(kind: str) -> dict[str, str]:
    """Every named code of ``kind`` (e.g. the options of a filter)."""
    return {code: name for (k, code), name in _TABLE.items() if k == kind}


def label(kind: str, code, default: str | None = None) -> str:
    """The Chinese name of ``code``; an unnamed code gives ``default`` (when given) or a neutral 其他 — never the
    raw code (the test suite makes sure no reachable code is unnamed)."""
    if code is None or code == "":
        return "" if default is None else default
    found = _find(kind, code)
    if found is not None:
        return found
    return default if default is not None else _FALLBACK.get(kind.split(".")[0], "其他")


_FALLBACK = {"action": "其他操作", "object": "其他对象", "role": "其他角色", "state": "其他状态", "event": "其他操作",
             "listing_event": "其他办理事项", "entry": "其他记账", "account": "其他账户"}


def _find(kind: str, code) -> str | None:
    code = str(code)
    hit = _TABLE.get((kind, code))
    if hit is not None:
        return hit
    if kind == "action":
        return _derived_action(code)
    if kind == "account":
        return _account_by_code(code)
    return None


def _derived_action(action: str) -> str | None:
    domain, _, name = action.partition(".")
    if not name:
        return None
    if domain == "ledger":
        entry = _TABLE.get(("entry", name))
        return f"记账：{entry}" if entry else None
    if domain == "listing":
        return _TABLE.get(("event.listing", name)) or _TABLE.get(("listing_event", name))
    return _TABLE.get((f"event.{domain}", name))


# the prefix of a ledger account's code (exchange.ledger.services) → its kind
ACCOUNT_CODE_PREFIXES = {"BANK": "bank", "DEP": "deposit", "PRICE": "price", "FEE": "fee", "FORFEIT": "forfeit",
                         "SUS": "suspense"}


def _account_by_code(code: str) -> str | None:
    kind = ACCOUNT_CODE_PREFIXES.get(code.split("-", 1)[0])
    return _TABLE.get(("account", kind)) if kind else None


def audit_object(object_type: str | None, object_id) -> str:
    """An audit entry's object as people read it: 挂牌项目 #7, 登录尝试 (no number when there is none)."""
    if not object_type:
        return ""
    name = label("object", object_type)
    if object_id in (None, "", "None"):
        return name
    return f"{name} #{object_id}"


# --- audit actions (exchange.audit.services.record) --------------------------------------------------------------

ACTIONS = {
    # sign-in and accounts
    "auth.login": "登录", "auth.login_failed": "登录失败", "auth.login_inactive": "已停用账号尝试登录",
    "auth.login_throttled": "登录尝试被限制", "auth.locked": "暂停登录（多次失败）",
    "user.create": "新建工作人员账号", "user.update": "修改账号", "user.register": "注册交易主体账号",
    "user.change_password": "修改密码", "user.reset_password": "重置密码", "user.unlock": "解除登录限制",
    "token.create": "签发 API 令牌", "token.revoke": "吊销 API 令牌",
    "datatoken.create": "签发数据共享令牌", "datatoken.revoke": "吊销数据共享令牌",
    "party.foreign_kind": "声明外资身份",
    # the center's settings
    "org.create": "新建机构", "org.update": "修改机构", "org.activate": "启用机构", "org.deactivate": "停用机构",
    "catalog.update": "修改交易品种", "catalog.method_add": "新增流转方式", "catalog.method_enable": "启用流转方式",
    "catalog.method_disable": "停用流转方式", "fees.save": "修改收费标准", "rules.change": "调整交易规则",
    "payments.center_account": "设置交易中心收款账户",
    "calendar.notice": "导入放假通知", "calendar.changed": "调整工作日历", "calendar.override": "设置节假日或调休",
    "calendar.override_removed": "删除节假日或调休设置", "calendar.confirm_year": "确认全年节假日安排",
    "calendar.unconfirm_year": "撤销全年节假日确认", "deadline.recomputed": "因节假日调整重算期限",
    # listings (their transitions are named by the listing's machine)
    "listing.create": "新建挂牌项目", "listing.edit": "修改挂牌项目", "listing.material_add": "上传项目材料",
    "listing.material_remove": "删除项目材料", "listing.relist": "流拍后重新挂牌",
    "listing.suspended": "中止交易", "listing.restart_requested": "申请重启交易",
    "listing.restart_refused": "不同意重启交易", "listing.restarted": "重启交易", "listing.terminated": "终结交易",
    # registrations and money in
    "registration.apply": "提交意向受让登记", "registration.material_add": "上传受让材料",
    "registration.qualify": "资格确认通过", "registration.reject": "资格确认不通过",
    "registration.disqualify": "取消受让资格", "registration.abandoned": "逾期未交保证金，视为放弃",
    "registration.deposit_paid": "保证金到账", "registration.ban": "禁止报名",
    "payment.order": "发起网上支付", "payment.notification_booked": "支付通知：已入账",
    "payment.notification_duplicate": "支付通知：重复通知", "payment.notification_failed": "支付通知：支付未成功",
    "payment.notification_refused": "支付通知：拒收", "payment.notification_suspense": "支付通知：挂账待退",
    "statement.import": "导入银行流水", "statement.decide": "处理银行流水",
    # trading
    "trading.schedule": "安排交易", "trading.session_end": "竞价结束", "deal.concluded": "确认成交",
    "objection.file": "提出异议", "objection.decide": "处理异议",
    # contract, settlement, certificate
    "contract.open": "生成合同", "contract.clauses": "修改合同约定条款", "contract.confirm": "确认合同",
    "contract.confirm_failed": "确认合同时密码错误", "contract.scan": "上传签章合同扫描件",
    "contract.return": "退回签章合同扫描件", "contract.checked": "核验签章合同", "contract.effective": "合同生效",
    "contract.overdue": "合同逾期未签订",
    "settlement.open": "开始资金结算", "settlement.not_opened": "未能开始资金结算", "settlement.fees": "收取服务费",
    "settlement.paid": "价款结清", "settlement.terminated": "结算作废（交易终结）", "settlement.overdue": "资金结算逾期",
    "certificate.issue": "出具鉴证书", "certificate.revoke": "撤销鉴证书", "certificate.overdue": "鉴证书逾期未出具",
    # refunds and payouts (four eyes)
    "refund.open": "登记应退款项", "refund.withdraw": "撤回应退款项", "refund.record": "登记退款转账",
    "refund.approve": "复核退款", "refund.overdue": "保证金退款逾期",
    "payout.record": "登记价款划付", "payout.approve": "复核价款划付",
    # exceptions
    "default.declared": "认定违约", "default.offer": "向次高报价人发出要约", "default.offer_accepted": "次高报价人接受要约",
    "default.offer_declined": "次高报价人拒绝要约", "default.offer_expired": "要约逾期未答复",
    "default.answer_failed": "答复要约时密码错误", "default.relisted": "违约后重新挂牌",
    "default.compensation": "没收的保证金划付转让方", "default.dispute": "违约赔偿转入纠纷调解",
    "force_majeure.file": "提出不可抗力申请", "force_majeure.decide": "处理不可抗力申请",
    "conduct.decide": "认定禁止行为",
    "dispute.open": "登记纠纷", "dispute.apply": "申请纠纷调解", "dispute.accept": "受理纠纷调解",
    "dispute.decline": "不予受理纠纷调解", "dispute.note": "记录调解情况", "dispute.close": "结束纠纷调解",
    # supervision and archive
    "alert.detected": "发现监督预警", "alert.acknowledge": "签收监督预警", "alert.resolve": "办结监督预警",
    "archive.download": "下载项目档案",
    # the 专家库 (procurement)
    "expert.create": "新增评标专家", "expert.update": "修改评标专家", "expert.activate": "启用评标专家",
    "expert.deactivate": "停用评标专家", "expert.village_tie_add": "登记专家与村的利害关系",
    "expert.village_tie_remove": "删除专家与村的利害关系", "expert.party_tie_add": "登记专家与交易主体的利害关系",
    "expert.party_tie_remove": "删除专家与交易主体的利害关系",
    "procurement.terms": "修改招标采购条款", "procurement.publish": "发布招标采购公告", "procurement.bid": "提交密封投标",
    "procurement.withdraw": "撤回投标", "procurement.open": "开标", "procurement.invalid": "否决投标",
    "procurement.valid": "撤销否决投标", "procurement.evaluated": "评标完成",
    "procurement.panel": "抽取评标委员会", "procurement.slip": "重发评委评分链接和密码", "procurement.sign": "评委签署评分表",
    "procurement.award_request": "申请确定其他中标候选人", "procurement.award_refused": "不同意确定其他中标候选人",
    "procurement.award": "确定中标人", "deal.winner_changed": "中标人改为其他中标候选人",
    "mortgage.apply": "申请抵押登记", "mortgage.material": "上传抵押材料", "mortgage.check": "审查抵押申请",
    "mortgage.approve": "金融机构批准贷款", "mortgage.refuse": "金融机构不批准贷款", "mortgage.register": "办理抵押登记",
    "mortgage.release": "解除抵押", "mortgage.withdraw": "撤回抵押申请",
}

OBJECTS = {
    "listing": "挂牌项目", "registration": "意向受让登记", "registration_ban": "禁止报名记录", "party": "交易主体",
    "bidding_session": "竞价会", "deal": "成交", "objection": "异议", "contract": "合同", "settlement": "结算",
    "payout": "价款划付", "refund": "退款", "journal_entry": "记账分录", "certificate": "鉴证书",
    "default_case": "违约处理", "runner_up_offer": "次高报价人要约", "dispute": "纠纷", "force_majeure_claim": "不可抗力申请",
    "conduct_finding": "禁止行为认定", "supervision_alert": "监督预警", "payment_notification": "支付通知",
    "bank_statement": "银行流水", "statement_line": "银行流水明细", "center_account": "交易中心收款账户",
    "user": "账号", "login": "登录尝试", "api_token": "API 令牌", "data_token": "数据共享令牌", "org": "机构",
    "category": "交易品种", "fee_rule": "收费标准", "trading_rule": "交易规则", "calendar_year": "年度工作日历",
    "calendar_day": "工作日历日期", "expert": "评标专家",
    "procurement_bid": "投标文件", "procurement_panel": "评标委员会", "procurement_sheet": "评分表",
    "mortgage": "抵押登记",
}

register("action", ACTIONS)
register("object", OBJECTS)
