"""State machines: the one mechanism every stateful entity's lifecycle runs on (DESIGN §4.2).

An entity's states are a :class:`States` enum — each member its stored value and its Chinese label, the named
sets (``LIVE``, ``OPEN``, ``FINAL`` …) declared on the enum with ``nonmember`` and nowhere else.  Its lifecycle is
one :class:`Machine`: a table of :class:`Transition` rows (from, to, who may, guard, required reason, effects) and
one :meth:`Machine.fire`, the only code in the platform that assigns the state column (``tests/test_state_machines``
reads the code's syntax tree to keep it so).  Each transition is sent as a signal (:data:`transitioned`, with the
machine's name), on which later stages and the observers act without the machine knowing them; the service that
fires it writes the audit entry in the words of its domain.

The listing's workflow (:mod:`exchange.listings.workflow`) is one such machine with its own history table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable

from blinker import Namespace

from exchange import labels
from exchange.access import AccessDenied, can
from exchange.errors import ServiceError


class States(StrEnum):
    """An entity's states.  ``Member = "value", "标签"``; compare and store as plain strings.  The first member is
    the state a new row starts in."""

    label: str

    def __new__(cls, value: str, label: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """value → label, in the enum's order (for filters and ``state_label`` properties)."""
        return {m.value: m.label for m in cls}

    @classmethod
    def label_of(cls, value: str | None) -> str:
        try:
            return cls(value).label
        except ValueError:
            return value or ""

    @classmethod
    def sets(cls) -> dict[str, frozenset[str]]:
        """The named state sets declared on the enum (``LIVE = nonmember(frozenset({...}))``)."""
        return {name: value for name, value in vars(cls).items()
                if name.isupper() and isinstance(value, frozenset)}

    @classmethod
    def mixin(cls, column: str = "state") -> type:
        """A base class for the model that gives it ``state_label``, ``is_<state>`` for each state and
        ``is_<set>`` for each named set, so pages ask the row (``reg.is_paid``, ``deal.is_live``), never compare
        strings."""
        def is_state(value):
            return property(lambda self: getattr(self, column) == value, doc=f"{column} is {value}")

        def in_set(values):
            return property(lambda self: getattr(self, column) in values)

        attrs: dict[str, Any] = {f"is_{m.value}": is_state(m.value) for m in cls}
        for name, values in cls.sets().items():
            attrs[f"is_{name.lower()}"] = in_set(values)
        attrs[f"{column}_label"] = property(lambda self: cls.label_of(getattr(self, column)))
        initial = next(iter(cls)).value

        def __init__(self, **kwargs):
            super(mixin, self).__init__(**kwargs)
            if getattr(self, column) is None:  # a new row starts in the first state, readable before the flush
                setattr(self, column, initial)

        attrs["__init__"] = __init__
        attrs["__states__"], attrs["__state_column__"] = cls, column  # which enum keeps which column (tests read it)
        mixin = type(f"{cls.__name__}Mixin", (), attrs)
        return mixin

    @classmethod
    def check(cls, column: str = "state") -> str:
        """The SQL of the CHECK constraint that keeps the column inside the enum (migrations use it)."""
        return f"{column} IN ({', '.join(repr(m.value) for m in cls)})"


class TransitionError(ServiceError):
    """A transition out of order, or whose guard or reason is missing; ``problems`` lists what is missing."""

    def __init__(self, message: str, problems: list[str] | None = None, field: str | None = None):
        super().__init__(message, field)
        self.problems = problems or []


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str | Callable[[Any], str]
    # the access action (exchange.access) that authorises a person; None: the service that fires it has
    # authorised its actor itself (a buyer on their own row, finance's four eyes) or it is the system's
    action: str | None = None
    reason_required: bool = False
    guard: Callable[[Any], list[str]] | None = None
    effects: tuple[Callable[[Any, Any], None], ...] = field(default_factory=tuple)

    def target_for(self, obj) -> str:
        return str(self.target(obj) if callable(self.target) else self.target)


# Sent by every machine after each transition, inside the transaction: sender is the row; keyword arguments
# ``machine`` (its name), ``name`` (the transition), ``before``, ``after``, ``actor``, ``reason``, ``data``.
signals = Namespace()
transitioned = signals.signal("transitioned")

MACHINES: dict[str, "Machine"] = {}


class Machine:
    """One entity's lifecycle: its transition table and the only writer of its state column."""

    def __init__(self, name: str, states: type[States], transitions: list[Transition], *, column: str = "state",
                 scope: Callable[[Any], Any] | None = None, what: Callable[[Any], str] | None = None):
        self.name = name
        self.states = states
        self.column = column
        self.scope = scope or (lambda obj: None)  # the org an access action is checked against
        self.what = what or (lambda obj: "")       # how a refusal names the row (项目 XXX 的合同 …)
        self.transitions: dict[str, Transition] = {}
        for t in transitions:
            for state in (*t.sources, *([] if callable(t.target) else [t.target])):
                states(state)  # every state named in the table is one of the enum's: a typo fails at import
            if t.name in self.transitions:
                raise ValueError(f"{name}: transition {t.name} declared twice")
            self.transitions[t.name] = t
        MACHINES[name] = self
        # the names people read (exchange.labels): 状态 and 操作 of this machine, from the enum and the table
        labels.register(f"state.{name}", states.labels())
        labels.register(f"event.{name}", {t.name: t.label for t in transitions})

    def __getitem__(self, name: str) -> Transition:
        return self.transitions[name]

    def state_of(self, obj) -> str:
        return getattr(obj, self.column)

    def can_fire(self, obj, name: str) -> bool:
        t = self.transitions[name]
        return self.state_of(obj) in t.sources and not (t.guard and t.guard(obj))

    def allowed(self, obj, actor) -> list[Transition]:
        """The transitions this actor may fire on this row now (for buttons)."""
        return [t for t in self.transitions.values() if self.state_of(obj) in t.sources
                and t.action is not None and actor is not None and can(actor, t.action, self.scope(obj))]

    def fire(self, obj, name: str, actor=None, *, reason: str = "", data: dict | None = None,
             authorised: bool = False) -> str:
        """Perform transition ``name``: authorise (``action``, unless the caller has), check the source state, the
        reason and the guard, assign the target, run the effects, send :data:`transitioned`.  Returns the state
        left."""
        try:
            t = self.transitions[name]
        except KeyError:
            raise TransitionError(f"未知的操作：{name}") from None
        if t.action is not None and actor is not None and not authorised and not can(actor, t.action, self.scope(obj)):
            raise AccessDenied(f"您没有权限执行“{t.label}”。")
        before = self.state_of(obj)
        if before not in t.sources:
            raise TransitionError(f"{self.what(obj)}当前状态为“{self.states.label_of(before)}”，不能{t.label}。")
        reason = (reason or "").strip()
        if t.reason_required and not reason:
            raise TransitionError(f"请填写“{t.label}”的理由。", field="reason")
        if t.guard:
            problems = t.guard(obj)
            if problems:
                raise TransitionError(f"不能{t.label}：{problems[0]}", problems)
        after = t.target_for(obj)
        self.states(after)
        setattr(obj, self.column, after)  # the one assignment of a state column in the platform
        for effect in t.effects:
            effect(obj, actor)
        transitioned.send(obj, machine=self.name, name=name, before=before, after=after, actor=actor,
                          reason=reason, data=data)
        return before
