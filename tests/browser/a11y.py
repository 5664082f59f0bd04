"""Accessibility checks the browser journeys run on every page they visit (issue 17 item 21).

* :func:`check_page` runs axe-core (shipped by ``axe-playwright-python``) with the WCAG 2 A and AA rules on the
  page as it is now and fails with axe's own report (rule, why, the offending elements) when anything is found;
  it also checks that the body text is not smaller than 16 CSS px on a phone (older villagers read it).
* :func:`check_reflow` shows the page as it would be at 200 % zoom (half the CSS width of the current viewport)
  and checks that nothing is pushed off the side: the page itself does not scroll sideways (wide tables scroll
  inside their own card, which is allowed) — then puts the viewport back.
"""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

_AXE = Axe()
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
           "resultTypes": ["violations"]}


def violations(page) -> list[dict]:
    """axe-core's WCAG 2 A/AA violations on the page as it is now."""
    return _AXE.run(page, options=WCAG_AA).response["violations"]


def report(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def check_page(page, where: str = "") -> None:
    """0 axe-core violations (WCAG 2 A/AA) and, on a phone, body text of at least 16 px."""
    page.wait_for_load_state()  # a click or submit may have only started loading the next page
    found = violations(page)
    assert not found, f"axe-core on {where or page.url}:\n{report(found)}"
    width = page.viewport_size["width"] if page.viewport_size else 1280
    if width <= 480:
        size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 16, f"body text {size}px on a phone at {where or page.url}"


def check_reflow(page, where: str = "") -> None:
    """At 200 % zoom (half the CSS width) the page itself does not scroll sideways."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    page.set_viewport_size({"width": max(320, size["width"] // 2), "height": size["height"]})
    try:
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"at 200% zoom {where or page.url} scrolls sideways by {overflow}px"
    finally:
        page.set_viewport_size(size)
