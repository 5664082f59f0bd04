"""Issue 17 item 13: one way of writing a due time everywhere — the ``due`` filter (exchange/workdays/display.py):
a deadline at local midnight is the end of the day before, "2026-12-09 24:00", never "2026-12-10 00:00"; any other
due time "2026-12-09 16:00".  The templates are scanned so a page or a PDF that formats a due time its own way fails
here, and the pages that once differed are rendered."""
import re
from datetime import datetime
from pathlib import Path

import pytest

from exchange import clock
from exchange.workdays.display import fmt_due
from tests.factories import PASSWORD
from tests.helpers import login, text

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# the stored due instants (a period's end or a deadline): shown only through |due
DUE_FIELD = r"\b\w*(?:due_at|deadline_at|publicity_end_at|announce_end_at)\b"
# the bidding clock's instants (to the second, inside one session) are times of day, not due times
NOT_DUE = {"free_end_at", "hard_end_at", "ends_at"}


def _expressions():
    """(template, line number, expression) of every {{ … }} and {% … %} in the templates."""
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for m in re.finditer(r"\{\{.*?\}\}|\{%.*?%\}", source, re.S):
            yield path.relative_to(TEMPLATES), source.count("\n", 0, m.start()) + 1, m.group(0)


def test_no_template_writes_a_due_time_its_own_way():
    wrong = []
    for where, line, expr in _expressions():
        if re.search(r"\|\s*lastday\b", expr):
            wrong.append(f"{where}:{line}: |lastday — use |due: {expr}")
        if re.search(r"""["']\s*24:00["']|["']\s*00:00["']""", expr):
            wrong.append(f"{where}:{line}: a home-made 24:00 / 00:00 — use |due: {expr}")
        for m in re.finditer(DUE_FIELD + r"(\s*\|\s*(\w+)|\.strftime|\s*\.isoformat)?", expr):
            name, how = m.group(0).split("|")[0].split(".")[0].strip(), m.group(1)
            if name in NOT_DUE or how is None:
                continue  # compared or passed on, not written
            if how.strip().startswith("|") and m.group(2) == "due":
                continue
            wrong.append(f"{where}:{line}: {name} written with {how.strip()} — use |due: {expr}")
    assert not wrong, "due times written outside the |due filter:\n" + "\n".join(wrong)


def test_the_due_filter_writes_midnight_as_24_00_of_the_day_before(appctx):
    midnight = datetime(2026, 12, 10, 0, 0, tzinfo=clock.LOCAL_TZ)
    assert fmt_due(midnight, mark=False) == "2026-12-09 24:00"
    four = datetime(2026, 12, 9, 16, 0, tzinfo=clock.LOCAL_TZ)
    assert fmt_due(four, mark=False) == "2026-12-09 16:00"


@pytest.mark.usefixtures("uploads")
def test_the_trading_page_the_deal_page_and_the_list_agree(client, online_deal, db):
    deal, _ = online_deal
    shown = fmt_due(deal.publicity_end_at, mark=False)
    assert shown.endswith(" 24:00")
    next_day = clock.to_local(deal.publicity_end_at).strftime("%Y-%m-%d %H:%M")
    assert next_day.endswith("00:00")
    login(client, "t_trader", PASSWORD)
    for url in (f"/trading/listings/{deal.listing_id}", "/trading/", f"/deals/{deal.deal_no}", "/publicity"):
        page = text(client.get(url))
        assert shown in page, url
        assert next_day not in page, url
