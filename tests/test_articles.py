"""Every provision of the city's rules the platform implements has a test that proves it, and the README's
法规对照 says which (generated from the ``@pytest.mark.article`` markers: ``make articles``)."""
from __future__ import annotations

from pathlib import Path

from exchange.provisions import BY_KEY, PROVISIONS
from tests import articles


def test_every_provision_is_proven_by_a_marked_test():
    found = articles.collect()
    missing = [p.key for p in PROVISIONS if not found.get(p.key)]
    assert not missing, f"no test is marked @pytest.mark.article for: {'、'.join(missing)}"


def test_markers_name_only_known_provisions():
    unknown = {k: v for k, v in articles.collect().items() if k not in BY_KEY}
    assert not unknown, f"markers naming no provision of exchange/provisions.py: {unknown}"


def test_code_named_for_each_provision_exists():
    root = Path(articles.ROOT) / "exchange"
    absent = [(p.key, c) for p in PROVISIONS for c in p.code if not (root / c).exists()]
    assert not absent, absent


def test_readme_table_is_generated_from_the_markers():
    text = articles.README.read_text(encoding="utf-8")
    assert articles.readme_with_section(text, articles.section()) == text, \
        "README.md 法规对照 is stale: run `make articles`"


def test_collect_reads_decorators_classes_and_pytestmark(tmp_path):
    (tmp_path / "test_x.py").write_text(
        'import pytest\n'
        'pytestmark = [pytest.mark.usefixtures("a"), pytest.mark.article("第九条")]\n'
        '@pytest.mark.article("第十条")\n'
        'def test_one():\n    pass\n'
        'class TestTwo:\n'
        '    @pytest.mark.article("第十一条")\n'
        '    def test_three(self):\n        pass\n'
        '    def test_four(self):\n        pass\n', encoding="utf-8")
    found = articles.collect(tmp_path)
    assert set(found) == {"第九条", "第十条", "第十一条"}
    assert len(found["第九条"]) == 3  # the module's marker covers every test in it
    assert [n.split("::", 1)[1] for n in found["第十条"]] == ["test_one"]
    assert [n.split("::", 1)[1] for n in found["第十一条"]] == ["TestTwo::test_three"]
