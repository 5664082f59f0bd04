"""The State Council's yearly holiday notice parser (exchange.workdays.notice), checked against chinese_calendar.

tests/data/notices/2025.txt is the notice as published (国办发明电〔2024〕12号); 2023.txt and 2024.txt are
the published notices as remembered; 2026.txt is reconstructed in the same style from the 2026 schedule
(its 文号 and signature date are not verified, and the parser ignores them).  All four are checked
against chinesecalendar 1.11.0 below.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from exchange.workdays.notice import HOLIDAYS, Notice, NoticeEntry, NoticeError, parse_notice

DATA = Path(__file__).parent / "data" / "notices"
D = date


def read(year: int) -> str:
    return (DATA / f"{year}.txt").read_text(encoding="utf-8")


def cc_holidays(year: int) -> set[date]:
    return {d for d in chinese_calendar.holidays if d.year == year}


def cc_workdays(year: int) -> set[date]:
    return {d for d in chinese_calendar.workdays if d.year == year}


def notice(*lines: str, year: int = 2025) -> str:
    """A notice with its title on line 1 and ``lines`` from line 2."""
    return "\n".join([f"国务院办公厅关于{year}年部分节假日安排的通知", *lines])


def refused(text: str) -> NoticeError:
    with pytest.raises(NoticeError) as info:
        parse_notice(text)
    return info.value


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(i) for i in range((last - first).days + 1)]


# -- chinese_calendar itself ---------------------------------------------------------------------------

def test_chinese_calendar_holidays_include_the_weekend_days_of_a_run_and_nothing_else():
    """What the comparison below relies on: ``holidays`` holds every day of each run, Saturdays and
    Sundays inside it included, and no ordinary weekend; ``workdays`` only the weekend days worked."""
    assert D(2025, 2, 1) in chinese_calendar.holidays and D(2025, 2, 2) in chinese_calendar.holidays
    assert D(2025, 1, 4) not in chinese_calendar.holidays  # a plain Saturday
    assert all(d.weekday() >= 5 for d in chinese_calendar.workdays)
    assert len(cc_holidays(2025)) == 28 and len(cc_holidays(2026)) == 33
    # its inconsistency for 2024's "与周末连休": New Year's weekend is in, Dragon Boat's is not
    assert {D(2023, 12, 30), D(2023, 12, 31)} <= set(chinese_calendar.holidays)
    assert not {D(2024, 6, 8), D(2024, 6, 9)} & set(chinese_calendar.holidays)


# -- the real notices against chinese_calendar ---------------------------------------------------------

@pytest.mark.parametrize("year", [2025, 2026])
def test_notice_equals_chinese_calendar(year):
    n = parse_notice(read(year))
    assert n.year == year
    assert n.title == f"国务院办公厅关于{year}年部分节假日安排的通知"
    assert set(n.holidays) == cc_holidays(year)
    assert set(n.workdays) == cc_workdays(year)
    assert len(n.holidays) == len(set(n.holidays)) and n.holidays == sorted(n.holidays)


def test_2024_with_weekend_continuation():
    """``与周末连休``: the Saturday and Sunday next to the stated day belong to the run.  chinese_calendar
    has 2023-12-30/31 (under 2023) but lacks 2024-06-08/09; everything else is equal."""
    n = parse_notice(read(2024))
    new_year, dragon = n.entries[0], n.entries[4]
    assert new_year.off == (D(2023, 12, 30), D(2023, 12, 31), D(2024, 1, 1)) and new_year.days is None
    assert dragon.off == (D(2024, 6, 8), D(2024, 6, 9), D(2024, 6, 10))
    assert set(n.holidays) - set(chinese_calendar.holidays) == {D(2024, 6, 8), D(2024, 6, 9)}
    assert set(n.holidays) & set(chinese_calendar.holidays) == cc_holidays(2024) | {D(2023, 12, 30),
                                                                                      D(2023, 12, 31)}
    assert set(n.workdays) == cc_workdays(2024)
    spring = n.entries[1]
    assert spring.notes == ("鼓励各单位结合带薪年休假等制度落实，安排职工在除夕（2月9日）休息",)
    assert D(2024, 2, 9) not in n.holidays


def test_2023_run_across_the_year_boundary():
    n = parse_notice(read(2023))
    assert n.entries[0].off == (D(2022, 12, 31), D(2023, 1, 1), D(2023, 1, 2))
    # chinese_calendar files 2023-12-30/31 under 2023; they belong to the 2024 notice
    assert set(n.holidays) == cc_holidays(2023) - {D(2023, 12, 30), D(2023, 12, 31)} | {D(2022, 12, 31)}
    assert D(2022, 12, 31) in chinese_calendar.holidays
    assert set(n.workdays) == cc_workdays(2023)


def test_2025_entries():
    n = parse_notice(read(2025))
    assert [e.number for e in n.entries] == [1, 2, 3, 4, 5, 6]
    assert [e.name for e in n.entries] == ["元旦", "春节", "清明节", "劳动节", "端午节", "国庆节、中秋节"]
    spring = n.entries[1]
    assert isinstance(spring, NoticeEntry)
    assert spring.line_no == 6
    assert spring.line.startswith("二、春节：1月28日（农历除夕、周二）至2月4日")  # stripped of the 　　
    assert spring.off == tuple(days(D(2025, 1, 28), D(2025, 2, 4)))
    assert spring.work == (D(2025, 1, 26), D(2025, 2, 8))
    assert spring.days == 8 and spring.notes == ()
    assert n.entries[0].off == (D(2025, 1, 1),) and n.entries[0].days == 1 and n.entries[0].work == ()
    assert n.entries[4].off == (D(2025, 5, 31), D(2025, 6, 1), D(2025, 6, 2))


def test_day_names():
    names = parse_notice(read(2025)).day_names()
    assert names[D(2025, 10, 6)] == (False, "国庆节、中秋节")
    assert names[D(2025, 2, 1)] == (False, "春节")
    assert names[D(2025, 1, 26)] == (True, "春节调休上班")
    assert names[D(2025, 10, 11)] == (True, "国庆节、中秋节调休上班")
    assert len(names) == 28 + 5 and list(names) == sorted(names)
    names26 = parse_notice(read(2026)).day_names()
    assert names26[D(2026, 9, 20)] == (True, "国庆节调休上班")
    assert names26[D(2026, 9, 26)] == (False, "中秋节")


def test_json_shape():
    n = parse_notice(read(2026))
    data = n.as_json()
    assert set(data) == {"year", "holidays", "workdays"}
    assert data["year"] == 2026
    assert data["holidays"][:4] == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-02-15"]
    assert data["workdays"] == ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20",
                                "2026-10-10"]
    assert json.loads(json.dumps(data)) == data
    assert isinstance(n, Notice) and n.holidays == [D.fromisoformat(s) for s in data["holidays"]]


# -- format variants -----------------------------------------------------------------------------------

def test_windows_line_endings_bom_and_blank_lines():
    text = "\ufeff" + read(2025).replace("\n", "\r\n\r\n")
    n = parse_notice(text)
    assert set(n.holidays) == cc_holidays(2025) and set(n.workdays) == cc_workdays(2025)
    assert n.title == "国务院办公厅关于2025年部分节假日安排的通知"
    assert n.entries[1].line_no == 11


def test_full_width_and_half_width_mixed():
    n = parse_notice(notice(
        "一、元旦:１月１日(周三)放假１天,不调休.",
        "二、国庆节、中秋节：１０月１日（星期三）至８日（周三）放假调休，共８天。９月２８日(星期日)，10月11日（周六）上班；",
        "  三、清明节 ： 4 月 4 日（周五） 至 6 日（周日） 放假 ， 共 3 天 。",
    ))
    assert n.entries[0].off == (D(2025, 1, 1),) and n.entries[0].days == 1
    assert n.entries[1].off == tuple(days(D(2025, 10, 1), D(2025, 10, 8)))
    assert n.entries[1].work == (D(2025, 9, 28), D(2025, 10, 11))
    assert n.entries[2].off == (D(2025, 4, 4), D(2025, 4, 5), D(2025, 4, 6))
    assert n.entries[2].name == "清明节"


@pytest.mark.parametrize("mark", ["至", "~", "～", "—", "-", "－", "–"])
def test_range_marks(mark):
    n = parse_notice(notice(f"一、劳动节：5月1日（周四）{mark}5日（周一）放假调休，共5天。4月27日（周日）上班。"))
    assert n.holidays == days(D(2025, 5, 1), D(2025, 5, 5))
    assert n.workdays == [D(2025, 4, 27)]


def test_full_width_title_digits_and_no_surrounding_text():
    n = parse_notice("国务院办公厅关于２０２７年部分节假日安排的通知\n一、元旦：1月1日（周五）至3日（周日）放假，共3天。")
    assert n.year == 2027 and n.holidays == days(D(2027, 1, 1), D(2027, 1, 3))


def test_dates_with_years_and_cross_year_range():
    n = parse_notice(notice(
        "一、元旦：2018年12月30日（星期日）至2019年1月1日（星期二）放假调休，共3天。2018年12月29日（星期六）上班。",
        year=2019))
    assert n.holidays == days(D(2018, 12, 30), D(2019, 1, 1)) and n.workdays == [D(2018, 12, 29)]
    n = parse_notice(notice("一、元旦：2026年12月31日至2027年1月2日放假，共3天。", year=2027))
    assert n.holidays == days(D(2026, 12, 31), D(2027, 1, 2))
    n = parse_notice(notice("一、元旦：2027年1月1日至3日放假，共3天。", year=2027))  # end takes the start's year
    assert n.holidays == days(D(2027, 1, 1), D(2027, 1, 3))


def test_weekend_continuation_after_a_friday():
    n = parse_notice(notice("一、端午节：6月7日放假，与周末连休。", year=2019))
    assert n.holidays == [D(2019, 6, 7), D(2019, 6, 8), D(2019, 6, 9)]
    assert n.entries[0].days is None


def test_weekend_continuation_with_a_count():
    n = parse_notice(notice("一、端午节：6月10日放假，共3天，与周末连休。", year=2024))
    assert n.entries[0].days == 3 and len(n.holidays) == 3


def test_notes_and_lunar_annotations():
    n = parse_notice(notice("一、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七，周二）放假调休，共8天。"
                            "鼓励各单位安排职工在1月27日休息。1月26日（周日）、2月8日（周六）上班。"))
    assert n.entries[0].notes == ("鼓励各单位安排职工在1月27日休息",)
    assert n.workdays == [D(2025, 1, 26), D(2025, 2, 8)]


def test_combined_names_and_weekday_forms():
    n = parse_notice(notice("一、中秋节、国庆节：9月29日（星期五）至10月6日（周五）放假调休，共8天。"
                            "10月7日（星期六）、10月8日（星期天）上班。", year=2023))
    assert n.entries[0].name == "中秋节、国庆节"
    assert n.workdays == [D(2023, 10, 7), D(2023, 10, 8)]


def test_several_work_sentences():
    n = parse_notice(notice("一、劳动节：5月1日至5日放假调休，共5天。4月27日（周日）上班。", "二、春节：1月28日至2月4日放假。"
                            "1月26日（周日）上班；2月8日（周六）上班。"))
    assert n.workdays == [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27)]
    assert n.entries[1].work == (D(2025, 1, 26), D(2025, 2, 8))


def test_surrounding_text_is_ignored():
    text = read(2025)
    for line in ["国办发明电〔2024〕12号", "国务院办公厅", "2024年11月12日", "各省、自治区、直辖市人民政府"]:
        assert line in text
    assert len(parse_notice(text).entries) == 6


# -- refused -------------------------------------------------------------------------------------------

def test_no_title():
    e = refused("一、元旦：1月1日（周三）放假1天，不调休。")
    assert e.message.startswith("未找到通知标题") and e.line_no == 0 and e.line == ""
    assert str(e) == e.message and isinstance(e, ValueError)


def test_two_titles_with_different_years():
    e = refused(notice("一、元旦：1月1日放假。", "国务院办公厅关于2026年部分节假日安排的通知"))
    assert e.line_no == 3 and "2026" in e.message


def test_no_entries():
    e = refused(notice("各省、自治区、直辖市人民政府：", "国务院办公厅"))
    assert e.message.startswith("通知里没有找到任何放假安排") and e.line == ""


def test_weekday_mismatch():
    text = read(2025).replace("4月4日（周五）", "4月4日（周六）")
    e = refused(text)
    assert e.message == "第7行：4月4日是周五，通知写的是周六。"
    assert e.line == "三、清明节：4月4日（周六）至6日（周日）放假，共3天。" and e.line_no == 7
    e = refused(notice("一、清明节：4月4日（周五）至6日（周五）放假，共3天。"))
    assert e.message == "第2行：4月6日是周日，通知写的是周五。"


def test_the_2024_notice_as_quoted_in_the_brief_is_refused():
    """2024-02-18 was a Sunday; "2月18日（星期六）" is a misquote and is refused, not corrected."""
    e = refused(read(2024).replace("2月18日（星期日）", "2月18日（星期六）"))
    assert e.message == "第6行：2月18日是周日，通知写的是星期六。"


def test_day_count_mismatch():
    e = refused(notice("一、春节：1月28日至2月4日放假调休，共7天。"))
    assert e.message == "第2行：通知写共7天，但1月28日至2月4日是8天。"
    assert e.line == "一、春节：1月28日至2月4日放假调休，共7天。"
    e = refused(notice("一、元旦：1月1日放假2天。"))
    assert "共2天" in e.message


def test_work_day_not_a_weekend():
    e = refused(notice("一、国庆节：10月1日至8日放假调休，共8天。9月28日（周日）、10月9日上班。"))
    assert e.message.startswith("第2行：10月9日是周四，本来就要上班")


def test_day_outside_the_year():
    e = refused(notice("一、元旦：2023年12月31日放假。"))
    assert e.message.startswith("第2行：2023年12月31日不在2025年前后") and e.line.startswith("一、元旦")
    e = refused(notice("一、元旦：1月1日放假。2027年1月2日（周六）上班。"))
    assert "2027年1月2日" in e.message


def test_day_both_off_and_worked():
    e = refused(notice("一、春节：1月28日至2月4日放假调休，共8天。2月1日（周六）上班。"))
    assert e.message == "第2行：2月1日既是放假日又是上班日。"


def test_two_entries_claim_the_same_day():
    e = refused(notice("一、劳动节：5月1日至5日放假。", "二、端午节：5月5日至6日放假。"))
    assert e.message == "第3行：5月5日已经在第2行（劳动节）安排过了。" and e.line == "二、端午节：5月5日至6日放假。"
    e = refused(notice("一、劳动节：5月1日至5日放假。", "二、端午节：5月31日至6月2日放假。5月3日（周六）上班。"))
    assert e.line_no == 3 and "5月3日已经在第2行" in e.message


def test_same_holiday_twice():
    e = refused(notice("一、国庆节：10月1日至3日放假。", "二、中秋节、国庆节：10月6日放假。"))
    assert e.message == "第3行：国庆节已经在第2行安排过了。"
    e = refused(notice("一、国庆节、国庆节：10月1日至3日放假。"))
    assert "重复" in e.message


@pytest.mark.parametrize("name", ["抗战胜利纪念日", "国庆", "五一劳动节", "妇女节", "国庆节和中秋节"])
def test_unknown_holiday_name(name):
    e = refused(notice(f"一、{name}：9月3日至5日放假。"))
    assert e.line_no == 2 and "不是年度放假通知里的节日" in e.message and e.line.startswith(f"一、{name}")
    assert all(h in e.message for h in HOLIDAYS)


@pytest.mark.parametrize("sentence, quoted", [
    ("1月1日放假，共三天", "共三天"),
    ("1月1日调整为放假", "调整为放假"),
    ("1月1日至3日放假调休，共3天，另行通知", "另行通知"),
])
def test_unreadable_words(sentence, quoted):
    e = refused(notice(f"一、元旦：{sentence}。"))
    assert e.message == f"第2行：看不懂“{quoted}”（在“{sentence}”中）。" and e.line == f"一、元旦：{sentence}。"


@pytest.mark.parametrize("sentence", [
    "放假1天",                             # no date
    "1月1日",                              # no verb
    "1月1日至放假",                         # range without an end
    "1月1日上班放假",
    "1月4日（周六）、放假",
    "共3天1月1日放假",
    "1月1日放假，共3天，共3天",
])
def test_unreadable_sentences(sentence):
    e = refused(notice(f"一、元旦：{sentence}。"))
    assert e.line_no == 2 and e.line == f"一、元旦：{sentence}。"
    assert e.message.startswith("第2行：")


def test_bracket_that_is_not_a_weekday():
    e = refused(notice("一、元旦：1月1日（假日）放假。"))
    assert e.message == "第2行：看不懂1月1日后面括号里的“假日”。"


def test_no_month_and_impossible_date():
    assert refused(notice("一、元旦：1日放假。")).message == "第2行：“1日”没有写月份。"
    assert refused(notice("一、春节：2月29日放假。")).message == "第2行：没有“2月29日”这一天。"
    assert "没有写月份" in refused(notice("一、元旦：1月1日放假。4日（周六）上班。")).message


def test_range_end_before_start_or_too_long():
    e = refused(notice("一、元旦：12月31日至1月2日放假。", year=2027))
    assert "早于开始日期" in e.message
    e = refused(notice("一、春节：1月28日至12月4日放假。"))
    assert "超过14天" in e.message


def test_no_swap_with_a_work_day():
    e = refused(notice("一、元旦：1月1日放假1天，不调休。1月4日（周六）上班。"))
    assert e.message == "第2行：这一条写了“不调休”，又写了上班日期，前后矛盾。"


def test_weekend_continuation_without_a_weekend():
    e = refused(notice("一、元旦：1月1日放假，与周末连休。"))  # a Wednesday
    assert "前后都不是周末" in e.message


def test_two_off_sentences_or_none():
    e = refused(notice("一、元旦：1月1日放假。1月2日放假。"))
    assert "两句放假安排" in e.message
    e = refused(notice("一、春节：1月26日（周日）上班。"))
    assert e.message == "第2行：“春节”这一条没有写放假日期（如“5月1日至5日放假调休，共5天”）。"


def test_duplicate_work_day():
    assert "写了两次" in refused(notice("一、春节：1月28日至2月4日放假。1月26日（周日）、1月26日（周日）上班。")).message
    assert "写了两次" in refused(notice("一、春节：1月28日至2月4日放假。1月26日上班。1月26日上班。")).message


def test_entry_line_without_colon():
    e = refused(notice("一、元旦1月1日放假。"))
    assert e.message.startswith("第2行：看不懂这一条") and e.line == "一、元旦1月1日放假。"


@pytest.mark.parametrize("numbers, line_no, message", [
    (["二", "三"], 2, "序号“二、”不对，这里应为“一、”"),
    (["一", "三"], 3, "序号“三、”不对，这里应为“二、”"),
    (["一", "一"], 3, "序号“一、”重复或倒序，这里应为“二、”"),
    (["一", "二", "二"], 4, "序号“二、”重复或倒序，这里应为“三、”"),
    (["一", "十一"], 3, "序号“十一、”不对，这里应为“二、”"),
])
def test_numbering(numbers, line_no, message):
    entries = ["元旦：1月1日放假。", "清明节：4月4日至6日放假。", "端午节：5月31日至6月2日放假。"]
    e = refused(notice(*(f"{n}、{body}" for n, body in zip(numbers, entries))))
    assert e.line_no == line_no and e.message == f"第{line_no}行：{message}。"
    assert e.line == f"{numbers[line_no - 2]}、{entries[line_no - 2]}"


def test_a_broken_off_line_is_refused_not_dropped():
    text = read(2025).replace("共8天。1月26日", "共8天。\n1月26日")
    e = refused(text)
    assert e.line_no == 7 and e.line == "1月26日（周日）、2月8日（周六）上班。"
    assert "不是以“一、”“二、”……开头" in e.message
    e = refused(notice("元旦：1月1日放假1天。"))
    assert e.line_no == 2


def test_arabic_numbering_is_refused():
    e = refused(notice("1、元旦：1月1日（周三）放假1天，不调休。"))
    assert e.line_no == 2 and e.line == "1、元旦：1月1日（周三）放假1天，不调休。"


def test_title_repeated_with_the_same_year_and_old_mac_line_endings():
    text = "\r".join(["国务院办公厅关于2025年部分节假日安排的通知", "", "国务院办公厅关于2025年部分节假日安排的通知",
                      "\t一、元旦：1月1日（周三）放假1天，不调休。"])
    n = parse_notice(text)
    assert n.holidays == [D(2025, 1, 1)] and n.entries[0].line_no == 4
    assert n.entries[0].line == "一、元旦：1月1日（周三）放假1天，不调休。"
