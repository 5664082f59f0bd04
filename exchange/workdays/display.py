"""How dates, times and deadlines are written on pages, in documents and in messages (the Jinja filters ``dt``,
``due`` and ``lastday``): Beijing time; a deadline at local midnight as the end of the day before (24:00); a
deadline whose last day is in a year whose holiday schedule is not yet confirmed marked 暂按法定节假日推算
(DESIGN §4.4).  In the ``workdays`` layer, so every stage may write a deadline the same way."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import g, has_app_context

from exchange import clock


def fmt_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return clock.to_local(value).strftime(fmt)


def fmt_due(value: datetime | None, mark: bool = True) -> str:
    """A due time: one that falls on local midnight is the end of the day before (2026-12-08 24:00), as
    Chinese notices write it; any other time as is (a deposit's 16:00).  Marked 暂按法定节假日推算 when its last
    day is in a year whose holiday schedule is not yet confirmed (DESIGN §4.4)."""
    if value is None:
        return ""
    local = clock.to_local(value)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        shown = fmt_dt(value - timedelta(microseconds=1), "%Y-%m-%d") + " 24:00"
    else:
        shown = fmt_dt(value)
    return provisional_marked(value, shown) if mark else shown


def fmt_lastday(value: datetime | None, fmt: str = "%Y-%m-%d", suffix: str = "") -> str:
    """A deadline stored as the instant its period ends (local midnight) shown as its last day (marked like
    :func:`fmt_due`)."""
    if value is None:
        return ""
    return provisional_marked(value, fmt_dt(value - timedelta(microseconds=1), fmt) + suffix)


def provisional_marked(value: datetime, shown: str):
    """``shown`` followed by the provisional mark when the due instant's last day is in a provisional year
    (years looked up once per request)."""
    from markupsafe import Markup, escape

    from exchange.workdays.services import PROVISIONAL_MARK, is_provisional_year
    year = clock.to_local(value - timedelta(microseconds=1)).year
    cache = g.setdefault("_provisional_years", {}) if has_app_context() else {}
    if year not in cache:
        cache[year] = is_provisional_year(year)
    if not cache[year]:
        return shown
    return Markup(f'{escape(shown)}<span class="due-provisional">（{PROVISIONAL_MARK}）</span>')
