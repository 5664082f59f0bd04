"""Small server-side SVG charts for the statistics pages (no JavaScript, no CDN: government intranets).

Each chart is one ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` listing every value, every bar or point
labelled with its number, and a ``viewBox`` so it scales to a phone's width.  Only presentation attributes are
used (the Content-Security-Policy forbids inline styles).  The numbers are the caller's; the same ones appear in
the table beside each chart.
"""
from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Callable, Iterable, Sequence

from markupsafe import Markup, escape

COLOR = "#0f3d6e"
ACCENT = "#b8231b"
GRID = "#d9dee5"
TEXT = "#333"
_ids = itertools.count(1)


def _num(v) -> float:
    if v is None:
        return 0.0
    return float(v)


def plain(v) -> str:
    """A number as people write it: thousands separated, no trailing zeros beyond 2 decimals."""
    if v is None:
        return "—"
    if isinstance(v, int):
        return f"{v:,}"
    d = Decimal(str(v)).quantize(Decimal("0.01"))
    text = f"{d:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def percent(v) -> str:
    return "—" if v is None else f"{Decimal(str(v)) * 100:.1f}%"


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    import math
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _head(uid: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-labelledby="{uid}-t {uid}-d" preserveAspectRatio="xMinYMin meet">',
            f'<title id="{uid}-t">{escape(title)}</title>', f'<desc id="{uid}-d">{escape(desc)}</desc>']


def bar_chart(title: str, items: Sequence[tuple[str, object]], *, unit: str = "",
              fmt: Callable[[object], str] = plain, width: int = 640) -> Markup:
    """Horizontal bars, one per (label, value), the value written at the end of each bar."""
    items = list(items)
    desc = "；".join(f"{label}：{fmt(v)}{unit}" for label, v in items) or "没有数据"
    longest = max((len(str(label)) for label, _ in items), default=4)
    label_w = min(236, max(64, 14 * min(longest, 16) + 12))  # room for the whole label (up to 16 characters)
    value_w, row_h, top = 96, 26, 8
    height = top * 2 + max(1, len(items)) * row_h
    uid = f"ch{next(_ids)}"
    out = _head(uid, title, desc, width, height)
    if not items:
        out.append(f'<text x="{width / 2:.0f}" y="{height / 2 + 5:.0f}" text-anchor="middle" fill="{TEXT}" '
                   'font-size="14">没有数据</text></svg>')
        return Markup("".join(out))
    vmax = _nice_max(max(_num(v) for _, v in items))
    span = width - label_w - value_w
    out.append(f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{height - top}" stroke="{GRID}"/>')
    for i, (label, v) in enumerate(items):
        y = top + i * row_h
        w = max(0.0, _num(v)) / vmax * span
        text = str(label) if len(str(label)) <= 16 else str(label)[:15] + "…"
        out.append(f'<g><text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="13" fill="{TEXT}">'
                   f'{escape(text)}</text>'
                   f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" fill="{COLOR}" rx="2">'
                   f'<title>{escape(label)}：{escape(fmt(v))}{escape(unit)}</title></rect>'
                   f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" font-size="12" fill="{TEXT}">'
                   f'{escape(fmt(v))}{escape(unit)}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))


def line_chart(title: str, points: Sequence[tuple[str, object]], *, unit: str = "",
               fmt: Callable[[object], str] = plain, width: int = 640, height: int = 240,
               bars: Iterable[tuple[str, object]] | None = None, bar_label: str = "",
               line_label: str = "金额") -> Markup:
    """A trend over months: a line with a labelled dot per point (and optionally bars of a second measure,
    e.g. deal counts under the amount line, labelled in the description)."""
    points = list(points)
    desc = "；".join(f"{label}：{fmt(v)}{unit}" for label, v in points) or "没有数据"
    bars = list(bars or [])
    if bars:
        desc += "。" + (bar_label or "柱") + "：" + "；".join(f"{label}：{plain(v)}" for label, v in bars)
    uid = f"ch{next(_ids)}"
    out = _head(uid, title, desc, width, height)
    if not points:
        out.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="{TEXT}" '
                   'font-size="14">没有数据</text></svg>')
        return Markup("".join(out))
    left, right, top, bottom = 12, 12, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(points)
    step = plot_w / n
    vmax = _nice_max(max(_num(v) for _, v in points))
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{GRID}"/>')
    if bars:  # a legend, so the grey bars are not a riddle
        out.append(f'<g font-size="11" fill="{TEXT}"><rect x="{left}" y="4" width="10" height="10" fill="{GRID}"/>'
                   f'<text x="{left + 14}" y="13">{escape(bar_label or "柱")}</text>'
                   f'<circle cx="{left + 100}" cy="9" r="3.5" fill="{ACCENT}"/>'
                   f'<text x="{left + 108}" y="13">{escape(line_label)}</text></g>')
        bmax = _nice_max(max(_num(v) for _, v in bars))
        for i, (label, v) in enumerate(bars):
            h = max(0.0, _num(v)) / bmax * plot_h * 0.5
            x = left + i * step + step * 0.3
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.4:.1f}" height="{h:.1f}" '
                       f'fill="{GRID}"><title>{escape(label)} {escape(bar_label)}：{plain(v)}</title></rect>')
    coords = []
    for i, (label, v) in enumerate(points):
        x = left + i * step + step / 2
        y = top + plot_h - max(0.0, _num(v)) / vmax * plot_h
        coords.append((x, y, label, v))
    if n > 1:
        out.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            ACCENT, " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in coords)))
    every = max(1, (n + 11) // 12)  # at most ~12 axis labels on a phone
    for i, (x, y, label, v) in enumerate(coords):
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{ACCENT}">'
                   f'<title>{escape(label)}：{escape(fmt(v))}{escape(unit)}</title></circle>')
        if i % every == 0 or i == n - 1:
            out.append(f'<text x="{x:.1f}" y="{max(12.0, y - 7):.1f}" text-anchor="middle" font-size="11" '
                       f'fill="{TEXT}">{escape(fmt(v))}</text>')
            short = str(label).replace("年", "-").replace("月", "") if len(str(label)) > 5 else str(label)
            out.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" font-size="11" '
                       f'fill="{TEXT}">{escape(short)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
