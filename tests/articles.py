"""Which tests prove which provision of the city's rules: read from the ``@pytest.mark.article("…")`` markers of the
test modules (decorators on test functions and classes, and a module's ``pytestmark``), without running them.

``python -m tests.articles`` prints the README's 法规对照 section; ``python -m tests.articles --write`` puts it into
README.md between its two markers (``make articles``).  ``tests/test_articles.py`` checks that every provision of
``exchange.provisions`` has a marked test, that no marker names an unknown provision, and that the README is current.
"""
from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

from exchange.provisions import PROVISIONS

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
README = ROOT / "README.md"
START, END = "<!-- 法规对照:start -->", "<!-- 法规对照:end -->"


def _article_keys(node: ast.AST) -> list[str]:
    """The keys of every ``pytest.mark.article("…")`` call inside ``node`` (a decorator or a pytestmark value)."""
    keys = []
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "article"
                and isinstance(call.func.value, ast.Attribute) and call.func.value.attr == "mark"):
            for arg in call.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    keys.append(arg.value)
    return keys


def _tests_in(node: ast.AST) -> list[str]:
    return [n.name for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.name.startswith("test")]


def collect(tests_dir: Path = TESTS) -> dict[str, list[str]]:
    """provision key → the node ids (``tests/test_x.py::test_y``) of the tests marked with it, sorted."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(tests_dir.rglob("test_*.py")):
        rel = path.relative_to(tests_dir.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module_keys: list[str] = []
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                    for t in stmt.targets):
                module_keys += _article_keys(stmt.value)
        for key in module_keys:
            for name in _tests_in(tree):
                found[key].add(f"{rel}::{name}")
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                keys = [k for d in stmt.decorator_list for k in _article_keys(d)]
                for key in keys:
                    for name in (_tests_in(stmt) if isinstance(stmt, ast.ClassDef) else [stmt.name]):
                        found[key].add(f"{rel}::{stmt.name}::{name}" if isinstance(stmt, ast.ClassDef)
                                       else f"{rel}::{name}")
                if isinstance(stmt, ast.ClassDef):  # methods marked one by one
                    for item in stmt.body:
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            for key in (k for d in item.decorator_list for k in _article_keys(d)):
                                found[key].add(f"{rel}::{stmt.name}::{item.name}")
    return {k: sorted(v) for k, v in found.items()}


def section(found: dict[str, list[str]] | None = None) -> str:
    """The README's 法规对照 table: provision → what it asks → code → tests (a count and the test modules)."""
    found = collect() if found is None else found
    lines = [START, "", "| 条款 | 要求 | 代码 | 证明它的测试 |", "|---|---|---|---|"]
    for p in PROVISIONS:
        tests = found.get(p.key, [])
        modules: dict[str, int] = defaultdict(int)
        for node in tests:
            modules[node.split("::", 1)[0]] += 1
        where = "、".join(f"`{m.removeprefix('tests/')}` ({n})" for m, n in sorted(modules.items())) or "**无**"
        code = "、".join(f"`{c}`" for c in p.code)
        lines.append(f"| {p.key}（{p.source}） | {p.title} | {code} | {len(tests)} 个：{where} |")
    lines += ["", END]
    return "\n".join(lines)


def readme_with_section(text: str, block: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} … {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def main(argv: list[str]) -> int:
    block = section()
    if "--write" in argv:
        README.write_text(readme_with_section(README.read_text(encoding="utf-8"), block), encoding="utf-8")
        print("README.md: 法规对照 updated")
    else:
        print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
