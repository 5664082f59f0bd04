"""The rules of a procurement project's terms (issue 18 item 1; DESIGN §3.12), as plain checks on plain values: the
service that saves a project's terms calls :func:`problems` and refuses on the first, the announcement prints what
they fixed.

* **The kind** (``works`` 工程 / ``goods`` 货物 / ``services`` 服务) decides the national threshold of compulsory
  tendering: a project estimated at or above it (工程施工 400 万元, 货物 200 万元, 服务 100 万元 — 《必须招标的工程项目规定》
  国家发展改革委令第 16 号 第五条; :class:`Thresholds`, a setting the center may update when the State changes them)
  belongs to the public resources trading center and is refused here with that reason.  招商 (the collective receives
  money) has no such threshold.
* **The limit**: 招标/采购 publish a 最高限价 (the collective's budget caps it; a bid above it is invalid); 招商 a 最低价
  (the least rent or investment accepted).
* **The bond** (投标保证金): at most 2 % of the 最高限价 (招标投标法实施条例 第二十六条), none is allowed too.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WORKS, GOODS, SERVICES = "works", "goods", "services"
KIND_LABELS = {WORKS: "工程", GOODS: "货物", SERVICES: "服务"}
TENDER, PURCHASE, INVEST = "招标", "采购", "招商"
BOND_SHARE = Decimal("0.02")


@dataclass(frozen=True)
class Thresholds:
    """The national thresholds of compulsory tendering, in 元 (国家发展改革委令第 16 号 第五条)."""

    works: Decimal = Decimal("4000000")
    goods: Decimal = Decimal("2000000")
    services: Decimal = Decimal("1000000")

    def of(self, kind: str) -> Decimal:
        return {WORKS: self.works, GOODS: self.goods, SERVICES: self.services}[kind]


def yuan_text(amount: Decimal) -> str:
    """400 万元 / 12.5 万元 / 9,800 元: how a threshold or a budget reads in a refusal."""
    if amount >= 10000 and amount % 100 == 0:
        wan = (amount / 10000).normalize()
        return f"{wan:f} 万元"
    return f"{amount:,.2f} 元".replace(".00 元", " 元")


def problems(method: str, kind: str | None, budget: Decimal | None, limit: Decimal | None, bond: Decimal | None,
             thresholds: Thresholds = Thresholds()) -> list[tuple[str, str]]:
    """What is wrong with a project's terms, as (field, message) in the order a clerk fills them in; [] when none."""
    out: list[tuple[str, str]] = []
    if method not in (TENDER, PURCHASE, INVEST):
        return [("method", "交易方式只能是招标、采购或招商。")]
    buying = method != INVEST
    if buying and kind not in KIND_LABELS:
        out.append(("kind", "请选择项目类别：工程、货物或服务。"))
    for name, value, label in (("budget", budget, "预算金额"), ("limit", limit, "最高限价" if buying else "最低价")):
        if name == "budget" and not buying and value is None:
            continue  # 招商: the collective receives; an expected investment is optional
        if value is None:
            out.append((name, f"请填写{label}。"))
        elif value <= 0:
            out.append((name, f"{label}应大于 0。"))
    if buying and kind in KIND_LABELS and budget is not None and budget > 0:
        line = thresholds.of(kind)
        if budget >= line:
            out.append(("budget", f"{KIND_LABELS[kind]}项目估算金额达到 {yuan_text(line)}，依法必须招标，"
                                  "应进入公共资源交易中心交易，本平台不予受理（《必须招标的工程项目规定》第五条）。"))
    if buying and budget and limit and budget > 0 and limit > budget:
        out.append(("limit", f"最高限价不能高于预算金额 {yuan_text(budget)}。"))
    if bond is not None:
        if bond < 0:
            out.append(("bond", "投标保证金不能为负数。"))
        elif limit is not None and limit > 0:
            cap = (limit * BOND_SHARE).quantize(Decimal("0.01"))
            if bond > cap:
                base = "最高限价" if buying else "最低价"
                out.append(("bond", f"投标保证金不得超过{base}的 2%，即 {yuan_text(cap)}（参照《招标投标法实施条例》第二十六条）。"))
    return out
