"""The evaluation panel's draw (评标委员会抽取; issue 18 item 4): an odd number (≥ 3) of experts drawn at random from the
center's 专家库 by specialty, leaving out every expert tied to the village or to a bidder — and recorded so that anyone
can repeat it: the list of eligible experts (in id order), the excluded ones with why, and the seed.

:func:`draw` is plain arithmetic on plain values; the service that stores the panel passes the experts it read and
records the :class:`Draw` it gets back.  The seed is 128 random bits from the operating system unless one is given
(the test and a re-check give it): with the seed and the eligible list, ``random.Random(seed).sample`` gives the same
panel again, so the draw can be audited without trusting the person who pressed the button.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field

from exchange.errors import ServiceError
from exchange.labels import label

MIN_PANEL = 3


class DrawError(ServiceError):
    """A panel that cannot be drawn (its size, or too few experts left)."""


@dataclass(frozen=True)
class Expert:
    id: int
    name: str
    specialties: frozenset[str]
    villages: frozenset[int] = frozenset()     # org units (villages) the expert is tied to: lives, works, kin
    parties: frozenset[int] = frozenset()      # parties (companies, people) the expert is tied to
    active: bool = True


@dataclass(frozen=True)
class Draw:
    seed: str
    eligible: tuple[int, ...]                  # in id order: what the seed draws from
    chosen: tuple[int, ...]                    # in the order drawn
    excluded: dict[int, str] = field(default_factory=dict)


def draw(experts: list[Expert], size: int, specialty: str, village_id: int | None, bidder_party_ids: set[int],
         seed: str | None = None) -> Draw:
    if size < MIN_PANEL or size % 2 == 0:
        raise DrawError(f"评标委员会应为 {MIN_PANEL} 人以上的单数。")
    excluded: dict[int, str] = {}
    eligible = []
    for e in sorted(experts, key=lambda e: e.id):
        if specialty not in e.specialties:
            continue  # not of this specialty: not a candidate at all, nothing to record
        if not e.active:
            excluded[e.id] = "已停用"
        elif village_id is not None and village_id in e.villages:
            excluded[e.id] = "与项目所在村（社区）有利害关系，回避"
        elif tied := sorted(e.parties & set(bidder_party_ids)):
            excluded[e.id] = f"与投标人有利害关系，回避（投标人 {', '.join(map(str, tied))}）"
        else:
            eligible.append(e.id)
    if len(eligible) < size:
        name = label("specialty", specialty, default=specialty)  # the 专家库's name of a code (道路与水利工程)
        raise DrawError(f"专家库中“{name}”专业可抽取的专家只有 {len(eligible)} 人，不足 {size} 人，"
                        "请补充专家库后再抽取。")
    seed = seed or secrets.token_hex(16)
    chosen = tuple(random.Random(seed).sample(eligible, size))
    return Draw(seed=seed, eligible=tuple(eligible), chosen=chosen, excluded=excluded)


def redo(record: Draw) -> tuple[int, ...]:
    """The panel a recorded draw gives again from its seed and eligible list (the audit's check)."""
    return tuple(random.Random(record.seed).sample(list(record.eligible), len(record.chosen)))
