"""What each stage of a listing's life declares about its own rows, so the cross-cutting decisions — 中止 and 重启
(第二十三条), 终结 (第二十四条), 违约 (第二十二条) — ask the stages instead of reaching into their tables.

A stage (the listing itself, the buyers' registrations, the bidding sessions, the deal, the contract, the settlement)
declares, when its package is imported:

* its **clocks**: which stored due timestamps of its rows run (``field``), counted in what unit (工作日, 天 or
  seconds), and whether a given row's clock is still counting;
* its **rows** of a listing whose clocks may be running, and how to load one back by id;
* what it does to its own rows when the listing is **suspended**, **restarted**, **terminated** or when the buyer
  **defaults** — each through its own state machine.

``exchange.incidents`` freezes and restores the clocks it is given here and calls the hooks; it imports no other
stage's models.  A foundation module: it knows no stage, the stages know it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator

WORKDAYS, DAYS, SECONDS = "workdays", "days", "seconds"


@dataclass(frozen=True)
class Clock:
    field: str
    kind: str  # WORKDAYS, DAYS or SECONDS
    label: str
    running: Callable[[Any], bool] = lambda row: True  # whether this row's clock is still counting


Hook = Callable[..., None]


@dataclass(frozen=True)
class Stage:
    name: str                               # the key a frozen clock is stored under ("registration", "deal" …)
    order: int                              # stages are asked in this order (the order of a listing's life)
    rows: Callable[[Any], list]             # listing → its rows whose clocks may be running
    load: Callable[[int], Any]              # id → row (to give a frozen clock back)
    clocks: tuple[Clock, ...] = ()
    on_suspend: Hook | None = None          # (listing, actor): its rows stop (a deal's 交易公示 is suspended)
    on_restart: Hook | None = None          # (listing, actor): they go on
    on_terminate: Hook | None = None        # (listing, actor): 终结 — cancelled, voided
    on_default: Hook | None = None          # (listing, deal, actor, reason): 违约 of the deal's buyer


_STAGES: dict[str, Stage] = {}


def declare(stage: Stage) -> None:
    _STAGES[stage.name] = stage


def stages() -> list[Stage]:
    return sorted(_STAGES.values(), key=lambda s: s.order)


def get(name: str) -> Stage:
    try:
        return _STAGES[name]
    except KeyError:
        raise LookupError(f"no stage '{name}' declared: is its package imported?") from None


def running_clocks(listing, now: datetime, ensure_aware: Callable[[datetime], datetime]) \
        -> Iterator[tuple[Stage, Any, Clock, datetime]]:
    """Every clock of the listing still counting at ``now`` (a clock already run out stays run out)."""
    for stage in stages():
        for row in stage.rows(listing):
            for c in stage.clocks:
                due = getattr(row, c.field)
                if not c.running(row) or due is None or ensure_aware(due) <= now:
                    continue
                yield stage, row, c, ensure_aware(due)


def give_back(stage_name: str, row_id: int, field: str, due: datetime) -> bool:
    """Set one frozen clock's new due instant on its row (the stage declared the field); False when the row is
    gone."""
    stage = get(stage_name)
    if field not in {c.field for c in stage.clocks}:
        raise ValueError(f"{stage_name}.{field} is not a clock its stage declared")
    row = stage.load(row_id)
    if row is None:
        return False
    setattr(row, field, due)
    return True


def _each(hook: str, *args, latest_first: bool = False) -> None:
    for stage in (reversed(stages()) if latest_first else stages()):
        fn = getattr(stage, hook)
        if fn is not None:
            fn(*args)


def suspended(listing, actor) -> None:
    _each("on_suspend", listing, actor)


def restarted(listing, actor) -> None:
    _each("on_restart", listing, actor)


def terminated(listing, actor) -> None:
    """终结: each stage ends its own rows, the latest first (a contract is voided while its deal still stands)."""
    _each("on_terminate", listing, actor, latest_first=True)


def defaulted(listing, deal, actor, reason: str) -> None:
    """违约 of ``deal``'s buyer, the latest stage first (the settlement, the contract, then the deal itself)."""
    _each("on_default", listing, deal, actor, reason, latest_first=True)
