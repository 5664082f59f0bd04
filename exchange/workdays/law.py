"""The statutory holidays of any year, computed from the law (《全国年节及纪念日放假办法》, as amended in 2024,
in force from 2025-01-01).

第二条 (全体公民放假的节日): 元旦 1 day (1月1日); 春节 4 days (农历除夕、正月初一至初三); 清明节 1 day (农历清明当日);
劳动节 2 days (5月1日、2日); 端午节 1 day (农历端午当日); 中秋节 1 day (农历中秋当日); 国庆节 3 days (10月1日至3日).
第六条: 全体公民放假的假日，如果适逢星期六、星期日，应当在工作日补假.

Lunar dates (除夕, 正月初一, 五月初五, 八月十五) and the 清明 solar term come from ``lunar-python`` (6tail's
``lunar``), not from astronomy written here.

This is what the platform uses for a year that ``chinese_calendar`` does not know and the center has not confirmed
(a *provisional* year, DESIGN §4.4): the State Council's yearly notice adds 调休 (weekend days worked to make longer
breaks), which the law cannot predict; until it is entered, the year counts the statutory holidays, their 补假 and
weekends, and nothing else.

补假, as the platform reads 第六条: every holiday day that falls on a Saturday or Sunday — and every holiday day
that falls on a day already a holiday of another festival (中秋 inside 国庆, as in 2028 and 2001) — is made up by
one working day off, taken on the first weekdays after the holiday's run of days off (the run includes the weekends
adjacent to it).  Example 2027: 劳动节 5-1 (Sat) and 5-2 (Sun) → 补假 Mon 5-3 and Tue 5-4; 国庆节 10-1 (Fri), 10-2
(Sat), 10-3 (Sun) → 补假 10-4 and 10-5; 春节 除夕 2-5 (Fri) … 初三 2-8 (Mon), 初一 and 初二 on the weekend → 补假
2-9 and 2-10.  2028: 国庆节 10-1 (Sun) … 10-3 (Tue) with 中秋节 on 10-3 → 补假 10-4 and 10-5.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from lunar_python import Lunar

__all__ = ["LAW", "StatutoryDay", "festival_days", "provisional_days_off"]

LAW = "《全国年节及纪念日放假办法》（2024年修订）"
FIRST_YEAR_OF_LAW = 2025  # the 2024 amendment (春节 4 days, 劳动节 2 days) applies from 2025

MIN_YEAR, MAX_YEAR = 1901, 2100  # the platform's calendar years (lunar-python covers them)


@dataclass(frozen=True)
class StatutoryDay:
    day: date
    name: str         # 春节 / 国庆节、中秋节 / 劳动节补假
    makeup: bool      # a 补假 day (第六条), not the festival itself


def _lunar(year: int, month: int, day: int) -> date:
    s = Lunar.fromYmd(year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def _qingming(year: int) -> date:
    # the 清明 of the lunar year that starts in ``year`` falls in April of ``year``
    s = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    d = date(s.getYear(), s.getMonth(), s.getDay())
    if d.year != year:  # never for the supported range; refuse rather than guess
        raise ValueError(f"清明 of {year} computed as {d}")
    return d


def _check(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year {year} outside {MIN_YEAR}–{MAX_YEAR}")


@lru_cache(maxsize=256)
def festival_days(year: int) -> tuple[tuple[str, tuple[date, ...]], ...]:
    """The festivals of 第二条 with their days, in calendar order: (("元旦", (2027-01-01,)), ("春节", (…4 days…)), …)."""
    _check(year)
    new_year = _lunar(year, 1, 1)
    spring = tuple(new_year + timedelta(days=i) for i in (-1, 0, 1, 2))  # 除夕, 初一, 初二, 初三
    return (
        ("元旦", (date(year, 1, 1),)),
        ("春节", spring),
        ("清明节", (_qingming(year),)),
        ("劳动节", (date(year, 5, 1), date(year, 5, 2))),
        ("端午节", (_lunar(year, 5, 5),)),
        ("中秋节", (_lunar(year, 8, 15),)),
        ("国庆节", (date(year, 10, 1), date(year, 10, 2), date(year, 10, 3))),
    )


def _weekend(d: date) -> bool:
    return d.weekday() >= 5


@lru_cache(maxsize=256)
def _computed(year: int) -> tuple[StatutoryDay, ...]:
    names: dict[date, list[str]] = {}
    owed: list[tuple[date, str]] = []  # (a day owed as 补假, the festival it is for)
    for name, days in festival_days(year):
        for d in days:
            if d in names or _weekend(d):
                owed.append((d, name))
            names.setdefault(d, []).append(name)
    off: dict[date, StatutoryDay] = {d: StatutoryDay(d, "、".join(_order(n)), False) for d, n in names.items()}
    for d, name in sorted(owed):
        # the first weekday after the run of days off (holidays, 补假 already given, weekends) containing d
        m = d
        while m in off or _weekend(m):
            m += timedelta(days=1)
        off[m] = StatutoryDay(m, f"{name}补假", True)
    return tuple(sorted(off.values(), key=lambda s: s.day))


# 国庆节、中秋节 is how the State Council names the combined run
_ORDER = ["元旦", "春节", "清明节", "劳动节", "端午节", "国庆节", "中秋节"]


def _order(names: list[str]) -> list[str]:
    return sorted(set(names), key=_ORDER.index)


def provisional_days_off(year: int) -> dict[date, StatutoryDay]:
    """The days off other than plain weekends that the law alone gives in ``year``: the festivals' days (weekend
    ones included, named) and their 补假 days.  Days of the previous year's festivals that spill over are not
    included (they never do: 补假 of 国庆 ends by mid-October)."""
    return {s.day: s for s in _computed(year) if s.day.year == year}
