"""评标 (issue 18 item 4; DESIGN §3.12): ranking the opened bids of a procurement project — the arithmetic only, on plain
values, so that the services, the 评标报告 PDF and the tests compute one way.

Two methods, both published in the announcement and fixed once published:

* **最低价法** (``lowest_price``): the valid bids ranked by price — the lowest first for 招标/采购, the highest first for
  招商 (``direction``: ``lower`` or ``higher``, part of the method, not another code path).
* **综合评分法** (``scored``): each bid's score is its price score plus the panel's score on the other criteria.  The
  price score is computed by the system: 基准价 = the best valid price (the lowest, or the highest for 招商), price score
  = 基准价 / 报价 × price weight (招商: 报价 / 基准价 × weight), so the best price gets the whole weight.  Each member of
  the panel scores each criterion of each valid bid between 0 and the criterion's weight; a bid's panel score is the
  average of the members' totals — with ``trim_extremes`` (a setting; only with 5 members or more) the highest and the
  lowest total are left out first, as 评标 rules commonly do against one member's outlying score.

A bid over the 最高限价 (招标/采购) or under the 最低限价 (招商) is invalid and not ranked; so is a bid the panel marked
invalid with a reason.  Ties: the better price first, then the earlier submission.  The first three are the
中标候选人 (招标投标法实施条例 第五十四条 publishes up to three).  Scores are Decimals rounded half up to 2 places.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping

from exchange.errors import ServiceError

LOWEST_PRICE, SCORED = "lowest_price", "scored"
LOWER, HIGHER = "lower", "higher"      # which price is better: 招标/采购 lower, 招商 higher
CENT = Decimal("0.01")
HUNDRED = Decimal("100")
CANDIDATES = 3
TRIM_FROM = 5                            # members needed before the extreme totals are left out


class EvaluationError(ServiceError):
    """A method or a score sheet that cannot be used."""


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    weight: Decimal


@dataclass(frozen=True)
class Method:
    kind: str                                  # LOWEST_PRICE or SCORED
    direction: str = LOWER
    limit: Decimal | None = None               # 最高限价 (lower) or 最低限价 (higher); None: no limit
    price_weight: Decimal = Decimal("0")       # SCORED: the price criterion's weight
    criteria: tuple[Criterion, ...] = ()       # SCORED: the panel's criteria
    trim_extremes: bool = False

    def check(self) -> None:
        """A method as the announcement may publish it."""
        if self.kind not in (LOWEST_PRICE, SCORED):
            raise EvaluationError("评标办法只能是最低价法或综合评分法。")
        if self.direction not in (LOWER, HIGHER):
            raise EvaluationError("报价方向只能是“低者优”或“高者优”。")
        if self.limit is not None and self.limit <= 0:
            raise EvaluationError("限价应大于 0。")
        if self.kind == LOWEST_PRICE:
            if self.criteria or self.price_weight:
                raise EvaluationError("最低价法只比较价格，不设评分因素。")
            return
        if not self.criteria:
            raise EvaluationError("综合评分法须列出价格以外的评分因素。")
        keys = [c.key for c in self.criteria]
        if len(set(keys)) != len(keys):
            raise EvaluationError("评分因素不能重复。")
        if self.price_weight <= 0 or any(c.weight <= 0 for c in self.criteria):
            raise EvaluationError("每个评分因素（含价格）的分值都应大于 0。")
        total = self.price_weight + sum((c.weight for c in self.criteria), Decimal("0"))
        if total != HUNDRED:
            raise EvaluationError(f"各评分因素分值合计应为 100 分，现为 {total} 分。")


@dataclass(frozen=True)
class Bid:
    id: int
    price: Decimal
    submitted_at: datetime
    invalid_reason: str = ""                   # marked by the panel (e.g. 缺少资质证明); "" when valid


@dataclass
class Ranked:
    bid: Bid
    price_score: Decimal | None = None
    panel_score: Decimal | None = None
    total: Decimal | None = None
    rank: int = 0
    members: dict[int, Decimal] = field(default_factory=dict)  # SCORED: each member's total for this bid


@dataclass
class Outcome:
    ranked: list[Ranked]                       # the valid bids, best first
    invalid: list[tuple[Bid, str]]             # the bids not ranked, with why

    @property
    def candidates(self) -> list[Ranked]:
        return self.ranked[:CANDIDATES]


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _limit_reason(method: Method, price: Decimal) -> str:
    if method.limit is None:
        return ""
    if method.direction == LOWER and price > method.limit:
        return f"报价超过最高限价 {method.limit} 元"
    if method.direction == HIGHER and price < method.limit:
        return f"报价低于最低限价 {method.limit} 元"
    return ""


def _split(method: Method, bids: Iterable[Bid]) -> tuple[list[Bid], list[tuple[Bid, str]]]:
    valid, invalid = [], []
    for b in bids:
        if b.price <= 0:
            invalid.append((b, "报价应大于 0"))
        elif reason := (b.invalid_reason.strip() or _limit_reason(method, b.price)):
            invalid.append((b, reason))
        else:
            valid.append(b)
    return valid, invalid


def _price_key(method: Method, price: Decimal) -> Decimal:
    return price if method.direction == LOWER else -price


def evaluate(method: Method, bids: Iterable[Bid],
             sheets: Mapping[int, Mapping[int, Mapping[str, Decimal]]] | None = None) -> Outcome:
    """The valid bids ranked by ``method``; ``sheets`` (综合评分法): member id → bid id → criterion key → score, one
    sheet per member of the panel, each scoring every criterion of every valid bid."""
    method.check()
    valid, invalid = _split(method, bids)
    if method.kind == LOWEST_PRICE:
        ranked = [Ranked(b) for b in sorted(valid, key=lambda b: (_price_key(method, b.price), b.submitted_at, b.id))]
    else:
        ranked = _scored(method, valid, sheets or {})
    for i, r in enumerate(ranked, start=1):
        r.rank = i
    return Outcome(ranked=ranked, invalid=invalid)


def _scored(method: Method, valid: list[Bid], sheets: Mapping[int, Mapping[int, Mapping[str, Decimal]]]) -> list[Ranked]:
    if not valid:
        return []
    members = sorted(sheets)
    if len(members) < 3 or len(members) % 2 == 0:
        raise EvaluationError("评标委员会应为 3 人以上的单数，且每人都提交了评分表。")
    weights = {c.key: c.weight for c in method.criteria}
    best = min(b.price for b in valid) if method.direction == LOWER else max(b.price for b in valid)
    out = []
    for b in valid:
        totals = {}
        for m in members:
            sheet = sheets[m].get(b.id)
            if sheet is None or set(sheet) != set(weights):
                raise EvaluationError(f"评委 {m} 对投标 {b.id} 的评分不完整：须对每个评分因素打分。")
            for key, score in sheet.items():
                if not isinstance(score, Decimal) or not score.is_finite() or score < 0 or score > weights[key]:
                    raise EvaluationError(f"评委 {m} 对投标 {b.id} 的“{key}”打分应在 0 至 {weights[key]} 分之间。")
            totals[m] = sum(sheet.values(), Decimal("0"))
        counted = sorted(totals.values())
        if method.trim_extremes and len(counted) >= TRIM_FROM:
            counted = counted[1:-1]
        panel = _round(sum(counted, Decimal("0")) / len(counted))
        ratio = best / b.price if method.direction == LOWER else b.price / best
        price_score = _round(ratio * method.price_weight)
        out.append(Ranked(b, price_score=price_score, panel_score=panel, total=price_score + panel, members=totals))
    out.sort(key=lambda r: (-r.total, _price_key(method, r.bid.price), r.bid.submitted_at, r.bid.id))
    return out
