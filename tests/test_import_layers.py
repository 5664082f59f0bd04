"""DESIGN §4.1: the dependency order, checked by import-linter over the real code (functions' imports included) —
and a wrong import really fails the check."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
        "--no-cache"]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(LINT + ["--config", str(cwd / ".importlinter")], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_every_module_imports_only_from_the_layers_before_it():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_a_wrong_import_inside_a_function_fails_the_check(tmp_path):
    shutil.copytree(ROOT / "exchange", tmp_path / "exchange", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    with open(tmp_path / "exchange" / "listings" / "services.py", "a", encoding="utf-8") as fh:
        fh.write("\n\ndef _reaches_forward():\n    from exchange.contracts import services  # a later stage\n"
                 "    return services\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "exchange.listings.services -> exchange.contracts.services" in done.stdout


def test_an_observer_using_another_fails_the_independence_check(tmp_path):
    shutil.copytree(ROOT / "exchange", tmp_path / "exchange", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    with open(tmp_path / "exchange" / "archive" / "services.py", "a", encoding="utf-8") as fh:
        fh.write("\n\ndef _asks_the_statistics():\n    from exchange.supervision import stats  # a sibling observer\n"
                 "    return stats\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "exchange.archive.services -> exchange.supervision.stats" in done.stdout
