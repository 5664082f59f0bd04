"""The shape of the test suite itself: a test module takes its data from ``tests/builders.py``, ``tests/helpers.py``
and ``tests/factories.py`` and its fixtures from the conftest files (``tests/lifecycle.py``) — never from another
test module, whose fixtures would then run only where they were imported, under names a linter calls unused."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(name: str | None) -> bool:
    """``tests.test_x``, ``tests.browser.test_x``, ``.test_x`` (relative to a package of tests) or a bare ``test_x``."""
    parts = (name or "").split(".")
    if parts[0] not in ("tests", ""):
        return parts[0].startswith("test_")
    return any(p.startswith("test_") for p in parts[1:])


def cross_imports(source: str, filename: str = "<test module>") -> list[str]:
    """Every import of (or from) a test module in ``source``: ``import tests.test_x``, ``from tests.test_x import
    y``, ``from tests.browser.test_x import y``, ``from .test_x import y``, ``from tests import test_x``,
    ``__import__("tests.test_x")`` and ``importlib.import_module("tests.test_x")`` — anywhere, functions included."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where} import {a.name}" for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            in_tests = node.level > 0 or module.split(".")[0] == "tests"
            if _is_test_module(module) or in_tests and any(a.name.startswith("test_") for a in node.names):
                found.append(f"{where} from {'.' * node.level}{node.module or ''} import "
                             + ", ".join(a.name for a in node.names))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) and _is_test_module(node.args[0].value):
                found.append(f"{where} {name}({node.args[0].value!r})")
    return found


def test_no_test_module_imports_from_another():
    modules = sorted(TESTS.glob("test_*.py")) + sorted((TESTS / "browser").glob("test_*.py"))
    assert len(modules) > 70
    found = []
    for path in modules:
        found += cross_imports(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS.parent)))
    assert not found, "move what these use to tests/builders.py, tests/helpers.py or tests/lifecycle.py:\n" + \
        "\n".join(found)


def test_the_shared_modules_import_no_test_module_either():
    for name in ("conftest.py", "lifecycle.py", "snapshots.py", "builders.py", "helpers.py", "factories.py",
                 "browser/conftest.py"):
        assert cross_imports((TESTS / name).read_text(encoding="utf-8"), name) == []


def test_every_way_of_importing_a_test_module_is_found():
    source = '''
import tests.test_trading
from tests.browser.test_listing_flow import demo
from tests.test_registrations import announced  # noqa: F401
from tests import test_publicity
from .test_settlement import effective


def helper():
    from tests.test_listings import PDF
    return __import__("tests.test_contracts", fromlist=["x"]).end_publicity, importlib.import_module("tests.test_x")

from tests.builders import PDF, announce  # allowed
from tests.helpers import login  # allowed
import tests.factories  # allowed
'''
    found = cross_imports(source)
    assert len(found) == 8, found
    assert not any("builders" in f or "helpers" in f or "factories" in f for f in found)
