"""统一交易规则 (管理办法 第五条 "八统一"; DESIGN §3.11): the center's own trading rules as named settings, beside
the statutory clocks of the city's text, each declared once here and published on one page (``/rules``; the
center admin adjusts them on ``/admin/rules``).

Three kinds of rule:

* an **adjustable center rule** (中心规则 — not in the city's text: the 16:00 deposit cutoff, 交易公示 3 工作日,
  qualification review 2 工作日): its value is stored in ``trading_rule`` once the center changes it (audited with
  before and after and the basis of the change), else its declared default applies.  :func:`value` reads it when a
  clock starts; the clock's due instant is stored then, so a change applies to clocks started afterwards only —
  nothing already running is recomputed.  A value outside the declared range (one that makes no sense, or would
  make a clock start overdue: 0 工作日) is refused.
* a **fixed center rule** (one paid buyer → 协议转让; a transferor never buys its own listing): published with its
  reason, not adjustable — switching either off would only open a way around the law (see ``why_fixed``).
* a **statutory clock** (管理办法 第十六–十九条): published with its article, never adjustable here.

A module of the ``workdays`` layer: the stages that start a clock (registrations, listings, trading …) import it;
it imports only the layers below (access, audit, the foundation).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time
from typing import Union

from sqlalchemy import select

from exchange import clock
from exchange.access import require
from exchange.audit.models import AuditEntry
from exchange.audit.services import actor_for_user, record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.inputs import has_control, parse_int
from exchange.provisions import BY_KEY
from exchange.tradingrules.models import TradingRuleSetting

WORKDAYS, DAYS, TIME, FIXED = "workdays", "days", "time", "fixed"
CENTER = "中心规则"
BASIS_MAX = 200

Value = Union[int, time, bool]


class RulesError(ServiceError):
    """A value of a trading rule that cannot be set."""


@dataclass(frozen=True)
class TradingRule:
    key: str
    name: str                   # as the public page names it
    kind: str                   # WORKDAYS, DAYS, TIME or FIXED (a yes/no rule that always holds)
    default: Value
    explanation: str            # one line: what it means for a party
    starts: str = ""            # a clock: from when it counts
    editable: bool = False
    minimum: Value | None = None
    maximum: Value | None = None
    article: str | None = None  # the city's text (a key of exchange.provisions); None: 中心规则
    clause: str = ""            # 第十九条 "（二）"
    shown_fixed: str = ""       # how a FIXED rule reads
    why_fixed: str = ""         # a center rule that is not adjustable: why

    # --- reading --------------------------------------------------------------------------------------------------

    @property
    def statutory(self) -> bool:
        return self.article is not None

    @property
    def source(self) -> str:
        """``中心规则`` or where the city's text says it: ``管理办法 第十六条``."""
        if self.article is None:
            return CENTER
        return f"{BY_KEY[self.article].source} {self.article}{self.clause}"

    def show(self, v: Value) -> str:
        if self.kind == WORKDAYS:
            return f"{v} 个工作日"
        if self.kind == DAYS:
            return f"{v} 天"
        if self.kind == TIME:
            return f"{v:%H:%M}"
        return self.shown_fixed

    @property
    def range_text(self) -> str:
        if self.kind == TIME:
            return f"{self.minimum:%H:%M}–{self.maximum:%H:%M} 之间的整点或半点"
        return f"{self.minimum}–{self.maximum} 个工作日" if self.kind == WORKDAYS else f"{self.minimum}–{self.maximum} 天"

    # --- storing --------------------------------------------------------------------------------------------------

    def dump(self, v: Value) -> str:
        return f"{v:%H:%M}" if self.kind == TIME else str(int(v))

    def load(self, text: str) -> Value:
        """A stored value (checked when it was set; read as stored even if the range was narrowed since)."""
        return time.fromisoformat(text) if self.kind == TIME else int(text)

    def parse(self, raw) -> Value:
        """A value from outside (a form, the database): the rule's type within its range, else :class:`RulesError`
        next to the rule's field."""
        if not self.editable:
            raise RulesError(f"“{self.name}”是固定规则，不能调整。", self.key)
        if self.kind == TIME:
            return self._parse_time(raw)
        if raw is None or str(raw).strip() == "":
            raise RulesError(f"请填写{self.name}（{self.range_text}）。", self.key)
        try:
            return parse_int(raw, field=self.key, label=self.name, minimum=self.minimum, maximum=self.maximum)
        except ServiceError:
            raise RulesError(f"{self.name}应为 {self.range_text}。", self.key) from None

    def _parse_time(self, raw) -> time:
        text = unicodedata.normalize("NFKC", "" if raw is None else str(raw)).strip()
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", text, re.ASCII)
        if not m:
            raise RulesError(f"请按“时:分”填写{self.name}，如 16:00（{self.range_text}）。", self.key)
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute not in (0, 30):
            raise RulesError(f"{self.name}应为整点或半点，如 16:00、15:30。", self.key)
        t = time(hour, minute)
        if not self.minimum <= t <= self.maximum:
            raise RulesError(f"{self.name}应在 {self.minimum:%H:%M} 至 {self.maximum:%H:%M} 之间（工作时间内）。",
                             self.key)
        return t

    def choices(self) -> list[str]:
        """Every value a TIME rule may take, for a select."""
        out, t = [], self.minimum.hour * 60 + self.minimum.minute
        while t <= self.maximum.hour * 60 + self.maximum.minute:
            out.append(f"{t // 60:02d}:{t % 60:02d}")
            t += 30
        return out


RULES: tuple[TradingRule, ...] = (
    # --- the center's own rules it may adjust ------------------------------------------------------------------
    TradingRule(
        "deposit_cutoff", "保证金到账截止时间", TIME, time(16, 0), editable=True,
        minimum=time(8, 0), maximum=time(17, 30),
        starts="公告期最后一个工作日（北京时间）",
        explanation="资格审核通过的意向受让方，须在公告期最后一个工作日的这一时间前将保证金交到交易中心指定账户，"
                    "以到达指定账户为准（第十九条（一））；逾期未到账的，视为放弃受让意向。"),
    TradingRule(
        "publicity_working_days", "交易公示期", WORKDAYS, 3, editable=True, minimum=1, maximum=10,
        starts="成交之时起",
        explanation="成交结果在本平台公示（交易程序中的“交易公示”，公示期由本中心规定），公示期内任何人可以提出异议；"
                    "公示期满且没有待处理的异议，组织交易完成，开始计算签约期限。"),
    TradingRule(
        "qualification_review_working_days", "意向受让方资格审核时限", WORKDAYS, 2, editable=True,
        minimum=1, maximum=10, starts="意向受让方报名之时起",
        explanation="交易中心在此期限内审核意向受让方提交的申请和材料（第十三条），审核通过的发给缴款码、通知交纳保证金。"),
    TradingRule(
        "procurement_bid_working_days", "招标采购的投标期", WORKDAYS, 5, editable=True, minimum=3, maximum=30,
        starts="招标（采购、招商）公告发布之时起",
        explanation="村集体招标、采购、招商项目，从公告发布到投标截止（即网上开标时间）不少于这些工作日，"
                    "供应商在此期间报名、通过资格审核、交纳投标保证金并提交密封的投标文件。"),
    # --- the center's own rules that are fixed -----------------------------------------------------------------
    TradingRule(
        "single_buyer_agreement", "交易方式的确定", FIXED, True,
        shown_fixed="一个受让方：协议转让；两个以上：竞价",
        explanation="公告期满，只有一个合格且已交纳保证金的意向受让方的，按其意向报价（不低于底价）协议转让；"
                    "两个以上的，采取网络竞价、一次性报价等竞争方式（第十五条：依据意向交易信息确定交易方式）。",
        why_fixed="只有一个受让方时，竞价没有竞争对手，结果与协议转让相同、只是更慢；改为流拍则把合格的受让方拒之门外。"
                  "所以这条规则固定执行，不设开关。"),
    TradingRule(
        "no_own_listing", "转让方不得受让自己的项目", FIXED, True,
        shown_fixed="一律不得报名、不得竞买",
        explanation="转让方（包括用其身份证号或统一社会信用代码注册的账号）不能报名受让、也不能竞买自己挂牌的项目。",
        why_fixed="自买自卖是虚构交易、抬高或压低价格的行为，管理办法第二十五条明令禁止，不能关闭。"),
    # --- the city's statutory clocks (管理办法 第十六–十九条) ---------------------------------------------------------
    TradingRule(
        "contract_working_days", "签订合同", WORKDAYS, 5, article="第十六条",
        starts="组织交易完成之时起（交易公示期满且没有待处理的异议）",
        explanation="交易中心组织双方签订全国统一规范的制式流转交易合同，合同经转让方和受让方签字、盖章后生效。"),
    TradingRule(
        "settlement_days", "交易资金结算", DAYS, 10, article="第十七条",
        starts="合同生效（双方签字、盖章）之时起",
        explanation="交易中心完成交易价款等相关资金的结算，按自然日计算。"),
    TradingRule(
        "certificate_working_days", "出具鉴证书", WORKDAYS, 3, article="第十八条",
        starts="资金结算完成之时起",
        explanation="交易中心审查并出具《农村产权流转交易鉴证书》。"),
    TradingRule(
        "refund_working_days", "退还未成交者的保证金", WORKDAYS, 5, article="第十九条", clause="（二）",
        starts="成交、流拍或终结之时起",
        explanation="未成交的意向受让方交纳的保证金（意向受让金），由交易中心无息退还。"),
)

BY_RULE_KEY = {r.key: r for r in RULES}


def rule(key: str) -> TradingRule:
    try:
        return BY_RULE_KEY[key]
    except KeyError:  # a typo must never silently read a default
        raise LookupError(f"no trading rule '{key}' (exchange/tradingrules/services.py)") from None


def editable_rules() -> list[TradingRule]:
    return [r for r in RULES if r.editable]


def center_rules() -> list[TradingRule]:
    return [r for r in RULES if not r.statutory]


def statutory_rules() -> list[TradingRule]:
    return [r for r in RULES if r.statutory]


# --- reading -------------------------------------------------------------------------------------------------------

def value(key: str) -> Value:
    """The rule's value now: the center's setting, else its default (a fixed rule: always its default).  Read it
    when a clock starts and store the due instant; never recompute a running clock from it."""
    r = rule(key)
    if not r.editable:
        return r.default
    row = db.session.get(TradingRuleSetting, key)
    return r.default if row is None else r.load(row.value)


@dataclass(frozen=True)
class Current:
    """One rule as the pages show it: its value now, and since when and on what basis (None: the default)."""
    rule: TradingRule
    value: Value
    changed_at: datetime | None = None
    basis: str = ""

    @property
    def shown(self) -> str:
        return self.rule.show(self.value)

    @property
    def is_default(self) -> bool:
        return self.changed_at is None


def current(rules: list[TradingRule] | None = None) -> list[Current]:
    rows = {s.key: s for s in db.session.scalars(select(TradingRuleSetting))}
    out = []
    for r in RULES if rules is None else rules:
        row = rows.get(r.key) if r.editable else None
        out.append(Current(r, r.default, None, "") if row is None
                   else Current(r, r.load(row.value), row.changed_at, row.basis))
    return out


def digest() -> str:
    """A short fingerprint of the adjustable rules' values now: the form carries the one its page showed, so a
    change saved meanwhile by someone else is not silently undone."""
    text = ";".join(f"{r.key}={r.dump(value(r.key))}" for r in editable_rules())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def form_data() -> dict:
    """The edit form's initial data: every adjustable rule's value as typed, and the fingerprint."""
    return {**{r.key: r.dump(value(r.key)) for r in editable_rules()}, "seen": digest()}


def history(limit: int = 20) -> list[AuditEntry]:
    """The latest changes of the rules, newest first (from the audit trail)."""
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "trading_rule")
                                   .order_by(AuditEntry.seq.desc()).limit(limit)))


# --- changing ------------------------------------------------------------------------------------------------------

STALE = "交易规则刚被他人调整过，请核对下面的最新设置后重新填写。"


def _who(user):
    from flask import has_request_context, request
    return actor_for_user(user, request.remote_addr if has_request_context() else None)


def change(actor, values: dict, basis: str = "", *, seen: str | None = None) -> list[tuple[TradingRule, Value, Value]]:
    """Set adjustable rules (``key → value as typed``); returns ``(rule, before, after)`` of those that changed.
    Only the center admin (``rules.manage``).  Every value is checked first, nothing is saved unless all are
    right; a change needs its basis (published with the rule).  ``seen``: the fingerprint the form was filled
    from — refused if the rules changed since.  Applies to clocks started afterwards only."""
    require(actor, "rules.manage")
    parsed = {}
    for key, raw in values.items():
        if key not in BY_RULE_KEY:
            raise RulesError("没有这项交易规则。")
        parsed[key] = BY_RULE_KEY[key].parse(raw)
    if seen is not None and seen != digest():
        raise RulesError(STALE)
    changed = [(rule(k), value(k), v) for k, v in parsed.items() if v != value(k)]
    if not changed:
        return []
    basis = (basis or "").strip()
    if not basis:
        raise RulesError("请填写调整依据，如中心办公会议纪要的文号和日期。", "basis")
    if len(basis) > BASIS_MAX or has_control(basis):
        raise RulesError(f"调整依据不能超过 {BASIS_MAX} 个字，且不能含控制字符。", "basis")
    now = clock.now()
    for r, before, after in changed:
        row = db.session.get(TradingRuleSetting, r.key)
        was = {"value": r.dump(before), "default": row is None, "basis": row.basis if row else ""}
        if row is None:
            row = TradingRuleSetting(key=r.key)
            db.session.add(row)
        row.value, row.basis, row.changed_by_id, row.changed_at = r.dump(after), basis, actor.id, now
        db.session.flush()
        record("rules.change", f"调整交易规则“{r.name}”：{r.show(before)} → {r.show(after)}（依据：{basis}）",
               obj_type="trading_rule", obj_id=r.key, actor=_who(actor), before=was,
               after={"value": r.dump(after), "basis": basis})
    return changed
