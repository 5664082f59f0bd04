"""Issue 17 (14): every code a person can see has a Chinese name in the one table of :mod:`exchange.labels`.

The codes are collected from the code itself — the audit actions and object types of every ``record(…)`` call (and
the sweeper's ``_flag``), the transitions of every state machine and the lines of a listing's history, the states of
every :class:`~exchange.machine.States` enum, the roles, the ledger's entry kinds and account codes — so that a new
code without a name fails here, before anyone reads it raw on a page, in a CSV or a spreadsheet."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from exchange import labels

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "exchange"


# --- reading the code -------------------------------------------------------------------------------------------

def _modules() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _module_constants(tree: ast.Module) -> dict[str, str]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def _strings(node: ast.AST, consts: dict[str, str]) -> list[str] | None:
    """The strings an expression can be: a literal, a module constant, either branch of ``a if c else b``; None when
    it is something else (a variable, an f-string)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in consts:
        return [consts[node.id]]
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body, consts), _strings(node.orelse, consts)
        return None if a is None or b is None else a + b
    return None


def _calls(trees, *names: str):
    """(path, call, module constants) of every call to a function or method named one of ``names``."""
    for path, tree in trees.items():
        consts = _module_constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in names:
                    yield path, node, consts


def _arg(call: ast.Call, index: int, keyword: str | None = None) -> ast.AST | None:
    if keyword:
        for kw in call.keywords:
            if kw.arg == keyword:
                return kw.value
    return call.args[index] if len(call.args) > index else None


def _constant_args(trees, name: str, index: int, keyword: str | None = None) -> set[str]:
    found = set()
    for _path, call, consts in _calls(trees, name):
        arg = _arg(call, index, keyword)
        if arg is not None:
            found.update(_strings(arg, consts) or [])
    return found


@pytest.fixture(scope="module")
def trees():
    return _modules()


@pytest.fixture(scope="module")
def registered(app):
    """The app (every domain imported: each has registered its names) and the listing's transition table."""
    from exchange.listings.workflow import TRANSITIONS
    return TRANSITIONS


def ledger_entry_kinds(trees) -> set[str]:
    """Every journal entry kind the ledger can post: the first argument of ``post`` / ``_take`` / ``_take_all``, and
    what ``return_from`` picks."""
    kinds = set()
    for name in ("post", "_take", "_take_all"):
        kinds |= {k for k in _constant_args(trees, name, 0) if re.fullmatch(r"[a-z_]+", k)}
    return kinds | {"refund", "return"}


def transfer_object_types(trees) -> set[str]:
    return _constant_args(trees, "TransferKind", 99, "obj_type")


def listing_history_actions(trees, transitions) -> set[str]:
    """The ``action`` of every line of a listing's history: its transitions and what ``log_event`` writes."""
    actions = set(transitions) | _constant_args(trees, "log_event", 1)
    actions |= _constant_args(trees, "_record_opinion", 4)  # log_event(listing, action, …) inside it
    return actions


def audit_actions(trees, transitions) -> set[str]:
    """Every action the audit trail can be given: literal and constant arguments of ``record`` and ``_flag``, the
    audit tuples of the calendar (``audit=("calendar.override", …)``) and the f-strings expanded below."""
    expansions = {
        ("listings/workflow.py", "name"): lambda: set(transitions),
        ("listings/services.py", "action"): lambda: _constant_args(trees, "_record_opinion", 4),
        ("ledger/services.py", "kind"): lambda: ledger_entry_kinds(trees),
        ("ledger/transfers.py", "kind.obj_type"): lambda: transfer_object_types(trees),
        ("payments/services.py", "outcome"): lambda: _constant_args(trees, "_finish", 1),
    }
    found, unknown = set(), []
    for path, call, consts in _calls(trees, "record", "_flag"):
        if not call.args:
            continue
        arg, where = call.args[0], str(path.relative_to(PACKAGE))
        values = _strings(arg, consts)
        if values is not None:
            found.update(values)
        elif isinstance(arg, ast.JoinedStr):
            patterns = [""]
            for part in arg.values:
                if isinstance(part, ast.Constant):
                    patterns = [p + part.value for p in patterns]
                    continue
                expand = expansions.get((where, ast.unparse(part.value)))
                if expand is None:
                    unknown.append(f"{where}:{call.lineno} {ast.unparse(arg)}")
                    break
                patterns = [p + v for p in patterns for v in sorted(expand())]
            else:
                found.update(patterns)
        elif not (isinstance(arg, ast.Name) and arg.id == "action"):  # _flag(action, …) / record(action, …) relays
            unknown.append(f"{where}:{call.lineno} {ast.unparse(arg)}")
    for _path, call, consts in _calls(trees, "apply_change"):
        tup = _arg(call, 99, "audit")
        if isinstance(tup, ast.Tuple) and tup.elts:
            found.update(_strings(tup.elts[0], consts) or [])
    assert not unknown, ("an audit action this test cannot read: name its values in audit_actions' expansions",
                         unknown)
    return found


def audit_object_types(trees) -> set[str]:
    found = _constant_args(trees, "record", 99, "obj_type") | _constant_args(trees, "_flag", 2)
    found |= transfer_object_types(trees)
    for _path, call, consts in _calls(trees, "apply_change"):
        tup = _arg(call, 99, "audit")
        if isinstance(tup, ast.Tuple) and len(tup.elts) > 1:
            found.update(_strings(tup.elts[1], consts) or [])
    found |= _constant_args(trees, "dict", 99, "obj_type")  # dict(obj_type="login", …) handed to record(…)
    return found


def ledger_account_prefixes(trees) -> set[str]:
    """The prefix of every account code ``_account(code, …)`` opens (``DEP-L{…}`` → DEP)."""
    found = set()
    for _path, call, consts in _calls(trees, "_account"):
        arg = _arg(call, 0)
        if isinstance(arg, ast.JoinedStr):
            arg = arg.values[0]
        text = (_strings(arg, consts) or [""])[0] if arg is not None else ""
        if text:
            found.add(re.split(r"[-{]", text, maxsplit=1)[0])
    return found


# --- the tests --------------------------------------------------------------------------------------------------

def test_the_collectors_find_what_they_should(trees, registered):
    """A guard on the guard: the collectors see the codes the issue named."""
    actions = audit_actions(trees, registered)
    assert {"auth.login", "payment.notification_booked", "listing.start_trading", "listing.conclude",
            "ledger.deposit_in", "refund.approve", "payout.record", "contract.overdue", "calendar.override",
            "org.deactivate", "listing.opinion_given"} <= actions
    assert {"login", "listing", "payout", "calendar_day", "journal_entry"} <= audit_object_types(trees)
    assert {"BANK", "DEP", "PRICE", "FEE", "FORFEIT", "SUS"} <= ledger_account_prefixes(trees)
    assert {"deposit_in", "excess", "fee_return", "terminated"} <= ledger_entry_kinds(trees)


def test_every_audit_action_has_a_name(trees, registered):
    missing = sorted(a for a in audit_actions(trees, registered) if not labels.known("action", a))
    assert not missing, f"audit actions without a Chinese name (add them to exchange/labels.py ACTIONS): {missing}"


def test_every_audit_object_type_has_a_name(trees, registered):
    missing = sorted(o for o in audit_object_types(trees) if not labels.known("object", o))
    assert not missing, f"audit object types without a Chinese name (exchange/labels.py OBJECTS): {missing}"


def test_every_transition_and_history_line_has_a_name(trees, registered):
    from exchange.machine import MACHINES
    unnamed = [f"{m.name}.{t.name}" for m in MACHINES.values() for t in m.transitions.values()
               if not labels.known(f"event.{m.name}", t.name) or labels.label(f"event.{m.name}", t.name) == t.name]
    assert not unnamed, unnamed
    missing = sorted(a for a in listing_history_actions(trees, registered) if not labels.known("listing_event", a))
    assert not missing, f"lines of a listing's history without a name (listings/workflow.py EVENT_LABELS): {missing}"


def test_every_state_has_a_name(registered):
    from exchange.machine import MACHINES, States

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    raw = [f"{cls.__name__}.{m.value}" for cls in subclasses(States) for m in cls if not m.label or m.label == m.value]
    assert not raw, f"states whose label is their code: {raw}"
    for machine in MACHINES.values():
        for state in machine.states:
            assert labels.label(f"state.{machine.name}", state.value) == state.label


def test_every_role_has_a_name(registered):
    from exchange.accounts.models import Role
    assert all(labels.known("role", r.value) for r in Role)
    assert labels.label("role", "finance") == "中心财务"


def test_every_ledger_code_has_a_name(trees, registered):
    from exchange.ledger.models import ACCOUNT_KINDS
    assert all(labels.known("account", k) for k in ACCOUNT_KINDS)
    missing = sorted(k for k in ledger_entry_kinds(trees) if not labels.known("entry", k))
    assert not missing, f"journal entry kinds without a name (ledger/models.py ENTRY_KIND_LABELS): {missing}"
    prefixes = ledger_account_prefixes(trees)
    assert prefixes == set(labels.ACCOUNT_CODE_PREFIXES), "an account code prefix without its kind in exchange/labels.py"
    assert labels.label("account", "BANK") == "银行存款"
    assert labels.label("account", "DEP-L7-U53") == "保证金"


def test_the_lookup(registered):
    assert labels.label("action", "auth.login") == "登录"
    assert labels.label("action", "listing.start_trading") == "公告期满，进入组织交易"  # from the machine
    assert labels.label("action", "ledger.deposit_in") == "记账：保证金到账"                # from the ledger
    assert labels.label("listing_event", "conclude") == "成交，进入交易公示"
    assert labels.label("state.listing", "trading") == "交易中"
    # an unknown code is never shown raw, nor is a missing object number
    assert labels.label("action", "test.event") == "其他操作"
    assert labels.audit_object("login", None) == "登录尝试" and labels.audit_object("listing", "7") == "挂牌项目 #7"
    assert labels.audit_object(None, None) == "" and labels.label("role", None) == ""
