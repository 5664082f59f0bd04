"""A supervision warning (监督预警) as a state machine: found open by the detector; the center acknowledges it (知悉)
and records how it was resolved (处理完毕) — resolving an open one directly is allowed too."""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


class AlertState(States):
    OPEN = "open", "待处理"
    ACKNOWLEDGED = "acknowledged", "已知悉"
    RESOLVED = "resolved", "已处理"

    # still to be dealt with: the detector keeps it current, the center may still act on it
    UNRESOLVED = nonmember(frozenset({"open", "acknowledged"}))


ALERT = Machine("alert", AlertState, [
    Transition("acknowledge", "标记为已知悉", frozenset({"open"}), "acknowledged", "alerts.handle"),
    Transition("resolve", "处理", frozenset({"open", "acknowledged"}), "resolved", "alerts.handle",
               reason_required=True),
], what=lambda alert: "该预警")
