"""DESIGN §4.2: every stateful entity is a state machine (exchange/machine.py) and its ``fire()`` is the only writer of
its state — read from the code's syntax tree — and templates ask the entity, never compare its state to a literal."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATE_COLUMNS = {"state", "status"}
THE_WRITER = ROOT / "exchange" / "machine.py"


def _writes(tree: ast.AST, models: set[str]) -> list[tuple[int, str]]:
    """(line, what) of every place that sets a state column: ``x.state = …`` (also in tuples and augmented),
    ``setattr(x, "state", …)``, ``Model(state=…)`` for a mapped model and ``.values(state=…)``.  ``self.status``
    inside a class that is not a model (an HTTP status) is not a state."""
    found: list[tuple[int, str]] = []

    def targets(node):
        if isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                yield from targets(elt)
        else:
            yield node

    def visit(node, cls: str | None):
        if isinstance(node, ast.ClassDef):
            cls = node.name
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                for t in targets(target):
                    if isinstance(t, ast.Attribute) and t.attr in STATE_COLUMNS and not (
                            isinstance(t.value, ast.Name) and t.value.id == "self" and cls not in models):
                        found.append((node.lineno, f"{ast.unparse(t)} = …"))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "setattr" and len(node.args) >= 2 \
                    and isinstance(node.args[1], ast.Constant) and node.args[1].value in STATE_COLUMNS:
                found.append((node.lineno, "setattr(…, state)"))
            if (isinstance(func, ast.Name) and func.id in models) or (
                    isinstance(func, ast.Attribute) and func.attr == "values"):
                for kw in node.keywords:
                    if kw.arg in STATE_COLUMNS:
                        found.append((node.lineno, f"{ast.unparse(func)}({kw.arg}=…)"))
        for child in ast.iter_child_nodes(node):
            visit(child, cls)

    visit(tree, None)
    return sorted(found)


@pytest.fixture(scope="module")
def models(app) -> set[str]:
    """The mapped classes that have a state column (their constructors must not set it: the column's default is
    the machine's first state)."""
    from exchange.extensions import db
    return {m.class_.__name__ for m in db.Model.registry.mappers if STATE_COLUMNS & set(m.columns.keys())}


def state_writes(models: set[str], root: Path = ROOT / "exchange") -> dict[str, list[tuple[int, str]]]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        if path == THE_WRITER:
            continue
        hits = _writes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), models)
        if hits:
            out[str(path.relative_to(ROOT))] = hits
    return out


def test_no_state_is_assigned_outside_its_machine(models):
    assert {"Listing", "Deal", "Contract", "Settlement", "Refund", "Delivery"} <= models
    writes = state_writes(models)
    assert not writes, "state assigned outside exchange/machine.py:\n" + "\n".join(
        f"  {path}:{line}: {what}" for path, hits in writes.items() for line, what in hits)


def test_the_check_finds_an_assignment_in_any_of_its_forms():
    code = ("def f(deal, s, Model, q):\n"
            "    deal.state = 'void'\n"
            "    s.state, s.paid_at = 'paid', 1\n"
            "    setattr(deal, 'state', 'x')\n"
            "    Model(listing_id=1, state='draft')\n"
            "    q.values(status='failed')\n"
            "    deal.state_label = 'fine'\n"
            "    error, status = 'fine', 400\n"
            "    Response(status=304)\n"
            "class Model:\n"
            "    def void(self):\n"
            "        self.state = 'void'\n"
            "class ApiError(Exception):\n"
            "    def __init__(self, status):\n"
            "        self.status = status\n")
    assert [line for line, _ in _writes(ast.parse(code), {"Model"})] == [2, 3, 4, 5, 6, 12]


# --- templates ---------------------------------------------------------------------------------------------------

LITERAL = re.compile(r"""\.(state|status)\s*(==|!=|\bin\b|\bnot in\b)\s*[("']""")


def template_literals(root: Path = ROOT / "templates") -> dict[str, list[int]]:
    out = {}
    for path in sorted(root.rglob("*.html")):
        lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if LITERAL.search(line)]
        if lines:
            out[str(path.relative_to(ROOT))] = lines
    return out


def test_no_template_compares_a_state_to_a_literal():
    found = template_literals()
    assert not found, "templates comparing a state to a literal (ask the entity instead):\n" + "\n".join(
        f"  {path}: lines {lines}" for path, lines in found.items())


def test_the_template_check_finds_a_comparison():
    assert LITERAL.search('{% if deal.state == "confirmed" %}')
    assert LITERAL.search("{% if reg.state in ('rejected', 'abandoned') %}")
    assert not LITERAL.search("{% if contract.is_open %}")


# --- every machine is whole --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def machines(app):
    from exchange.machine import MACHINES
    return MACHINES


def test_every_machine_names_only_its_own_states_and_reaches_each_of_them(machines):
    assert machines, "no machine declared"
    for name, machine in machines.items():
        targets = {t.target for t in machine.transitions.values() if not callable(t.target)}
        sources = set().union(*(t.sources for t in machine.transitions.values()))
        for state in machine.states:
            assert state in targets | sources, f"{name}: state {state} is neither left nor reached"


def _stateful(app):
    from exchange.extensions import db
    return [m.class_ for m in db.Model.registry.mappers if STATE_COLUMNS & set(m.columns.keys())]


def test_every_state_column_is_kept_by_an_enum_and_a_machine(app, machines):
    kept = {m.states for m in machines.values()}
    for model in _stateful(app):
        states = getattr(model, "__states__", None)
        assert states is not None, f"{model.__name__} has a state column but no States mixin"
        assert states in kept, f"{model.__name__}: no machine runs {states.__name__}"
        column = model.__table__.c[model.__state_column__]
        assert column.default.arg == next(iter(states)).value, f"{model.__name__}: the default is not the first state"


def _db_checks(conn, table: str) -> str:
    """The text of the table's CHECK constraints as the database holds them."""
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE c.contype = 'c' AND t.relname = %s", (table,)).scalars().all()
        return "\n".join(rows)
    return conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (table,)).scalar_one()


def test_the_database_refuses_a_state_outside_the_enum(app, db):
    """The migrations' CHECK constraints name exactly the enum's states: each value appears, no other."""
    for model in _stateful(app):
        states, column = model.__states__, model.__state_column__
        text = _db_checks(db.session.connection(), model.__tablename__)
        for value in states:
            assert f"'{value}'" in text, f"{model.__tablename__}.{column}: the database refuses '{value}'"
        # a state the enum no longer has is not allowed by the database either
        m = re.search(rf"\(?{column}\)?(?:::text)?\s+IN\s*\(([^)]*)\)|{column}\)?(?:::text)?\s*=\s*ANY\s*\(\(?ARRAY\[([^\]]*)\]",
                      text)
        assert m, f"{model.__tablename__}: no CHECK on {column}"
        allowed = set(re.findall(r"'([^']+)'", m.group(1) or m.group(2)))
        assert allowed == {s.value for s in states}, (model.__tablename__, allowed ^ {s.value for s in states})
