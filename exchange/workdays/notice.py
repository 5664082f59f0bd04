"""Parse the State Council's yearly holiday notice (《国务院办公厅关于YYYY年部分节假日安排的通知》).

The admin pastes the notice (or uploads it as .txt); :func:`parse_notice` reads every line and refuses,
with the line quoted (:class:`NoticeError`), anything it cannot read.  It never guesses.

Lines
    The text is split into lines (``\\r\\n``/``\\r``/``\\n``; a BOM and zero-width spaces are dropped) and
    each line is stripped (full-width spaces included).  Full-width ASCII (``１０月１日``, ``（周三）``,
    ``：``, ``，``, ``；``, ``～``) is read as half-width, character for character.

    * The **title line** contains ``关于YYYY年部分节假日安排的通知`` and gives the notice's year Y; without
      it the notice is refused.  Two titles naming different years are refused.
    * An **entry line** starts with a Chinese ordinal and ``、``: ``一、元旦：<body>``.  Ordinals run
      一、二、三… without gaps or repeats.  The name before the colon is one holiday or several joined by
      ``、`` (``国庆节、中秋节``), each one of :data:`HOLIDAYS`.
    * Any **other line** (文号, greeting, intro, closing paragraph, signature, date, blank) is ignored,
      unless it holds a date ``M月D日`` together with 放假/上班/调休/休息: such a line is most likely a
      piece of an entry broken off by the paste, and is refused rather than silently dropped.

Sentences of an entry body
    The body is cut into sentences at ``。`` (and ``;``, ``.``).  A sentence starting with ``鼓励`` is kept
    as a note.  Every other sentence is tokenized (whitespace ignored) into

    ====  ==========================================================================================
    D     a date ``[[YYYY年]M月]D日`` with an optional bracket ``（农历除夕、周二）``/``（星期日）``
    R     a range mark: ``至`` (what the notices use), also ``~ - — –``
    O     ``放假`` or ``放假调休``
    U     ``上班``
    N     a day count: ``共8天`` or ``1天`` (as in ``放假1天``)
    X     ``不调休``          W  ``与周末连休``          S  ``、``          C  ``,``
    ====  ==========================================================================================

    and the token string must match one of two sentences::

        off   D (R D)? O N? (C (N|X|W))*      1月28日（…）至2月4日（…）放假调休，共8天
        work  D ((S|C) D)* U                 9月28日（周日）、10月11日（周六）上班

    Each entry has exactly one *off* sentence and any number of *work* sentences.

Meaning and checks
    * A date without a year is in year Y; ``2022年12月31日`` is taken as written.  A range end without a
      month (``至6日``) takes the start's month and year; one without a year takes the start's year, and
      must not be before the start.  Runs are at most :data:`MAX_RUN` days.
    * ``与周末连休`` adds the Saturday/Sunday directly before and after the stated day(s) to the run
      (2024: ``1月1日放假，与周末连休`` is 2023-12-30 … 2024-01-01).
    * A weekday in brackets must be the date's weekday; 农历 annotations are kept unchecked (checking
      them needs a lunar calendar).  ``共N天``/``放假N天`` must equal the run's length.
    * A 上班 day must be a Saturday or Sunday; ``不调休`` with a 上班 day is refused.
    * Every day is within Y-1 … Y+1; no day is both off and worked, or claimed by two entries.

Deliberately refused: holiday names other than the seven of the yearly notice (one-off days such as
the 2015 抗战胜利纪念日 came in notices of their own and are entered as overrides), Arabic-numbered
entries (``1、元旦``), day counts in Chinese numerals (``共三天``), a date written with a year but not a
month, ``12月31日至1月2日`` with no years (the end would be before the start).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["HOLIDAYS", "MAX_RUN", "Notice", "NoticeEntry", "NoticeError", "parse_notice"]

HOLIDAYS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
MAX_RUN = 14
WEEKDAYS = "一二三四五六日"

# full-width ASCII (U+FF01…U+FF5E) -> ASCII and the ideographic space -> space: one character for one
_HALF = {0xFF01 + i: 0x21 + i for i in range(94)}
_HALF.update({0x3000: " ", 0x00A0: " ", 0xFE30: ":", 0x2236: ":"})
_DROP = {0xFEFF: None, 0x200B: None}

_TITLE = re.compile(r"关于\s*(\d{4})\s*年部分节假日安排的通知")
_ORDINALS = "一二三四五六七八九十"  # seven holidays at most, each in one entry
_ENTRY = re.compile(r"([一二三四五六七八九十]+)\s*[、.]")
_HEAD = re.compile(r"([^:]+?)\s*:\s*(.*)")
_LOOSE_DATE = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*日")
_DAY_WORDS = re.compile(r"放假|上班|调休|休息")
_SENTENCE_END = re.compile(r"[。;.]")
_DATE = re.compile(r"(?:(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月)?(?P<d>\d{1,2})日(?:\((?P<br>[^()]*)\))?")
_COUNT = re.compile(r"(共)?(\d{1,2})天")
_WORDS = (("与周末连休", "W"), ("放假调休", "O"), ("不调休", "X"), ("放假", "O"), ("上班", "U"),
          ("至", "R"), ("~", "R"), ("-", "R"), ("—", "R"), ("–", "R"), ("、", "S"), (",", "C"))
_OFF = re.compile(r"D(RD)?ON?(C[NXW])*")
_WORK = re.compile(r"D([SC]D)*U")
_WEEKDAY = re.compile(r"(周|星期)([一二三四五六日天])")


class NoticeError(ValueError):
    """A notice that cannot be read.  ``message`` is a Chinese sentence for the admin (prefixed with
    ``第N行：`` when one line is to blame), ``line_no`` the 1-based line (0: the whole notice) and
    ``line`` that line as pasted ("" for the whole notice)."""

    def __init__(self, reason: str, line_no: int = 0, line: str = ""):
        self.reason = reason
        self.line_no = line_no
        self.line = line
        self.message = f"第{line_no}行：{reason}" if line_no else reason
        super().__init__(self.message)


@dataclass(frozen=True)
class NoticeEntry:
    number: int             # 1 for 一、, 2 for 二、 …
    name: str               # "国庆节、中秋节"
    line_no: int            # 1-based line number in the pasted text
    line: str               # the line as pasted (stripped)
    off: tuple[date, ...]   # every day of the holiday run, weekends inside it included, sorted
    work: tuple[date, ...]  # the 调休 working days (weekend days that are worked), sorted
    days: int | None        # the 共N天 figure if given
    notes: tuple[str, ...]  # sentences kept but not turned into days (鼓励…)


@dataclass(frozen=True)
class Notice:
    year: int
    title: str
    entries: tuple[NoticeEntry, ...]

    @property
    def holidays(self) -> list[date]:
        return sorted({d for e in self.entries for d in e.off})

    @property
    def workdays(self) -> list[date]:
        return sorted({d for e in self.entries for d in e.work})

    def day_names(self) -> dict[date, tuple[bool, str]]:
        """date -> (is_workday, name): 春节 for a day off, 春节调休上班 for a weekend day worked."""
        names: dict[date, tuple[bool, str]] = {}
        for e in self.entries:
            names.update({d: (False, e.name) for d in e.off})
            names.update({d: (True, f"{e.name}调休上班") for d in e.work})
        return dict(sorted(names.items()))

    def as_json(self) -> dict:
        return {"year": self.year,
                "holidays": [d.isoformat() for d in self.holidays],
                "workdays": [d.isoformat() for d in self.workdays]}


class _Reader:
    """Reads one notice; ``fail`` raises a NoticeError on the line being read."""

    def __init__(self, year: int):
        self.year = year
        self.line_no = 0
        self.line = ""
        self.sentence = ""  # the sentence being read, as pasted

    def fail(self, reason: str):
        raise NoticeError(reason, self.line_no, self.line)

    def show(self, d: date) -> str:
        return f"{d.month}月{d.day}日" if d.year == self.year else f"{d.year}年{d.month}月{d.day}日"

    # -- tokens ---------------------------------------------------------------------------------------
    def tokens(self, sentence: str) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        i = 0
        while i < len(sentence):
            m = _DATE.match(sentence, i) or _COUNT.match(sentence, i)
            if m and m.re is _DATE:
                out.append(("D", m))
            elif m:
                out.append(("N", int(m.group(2))))
            else:
                word = next(((w, k) for w, k in _WORDS if sentence.startswith(w, i)), None)
                if word is None:
                    self.fail(f"看不懂“{sentence[i:]}”（在“{self.sentence}”中）。")
                out.append((word[1], word[0]))
                i += len(word[0])
                continue
            i = m.end()
        return out

    def date(self, m: re.Match, start: date | None = None) -> date:
        """The date of a D token; a range end (``start`` given) may omit the year and the month."""
        text = m.group(0)
        if m.group("m") is None and start is None:
            self.fail(f"“{text}”没有写月份。")
        year = int(m.group("y")) if m.group("y") else (start.year if start else self.year)
        month = int(m.group("m")) if m.group("m") else start.month
        try:
            d = date(year, month, int(m.group("d")))
        except ValueError:
            self.fail(f"没有“{text}”这一天。")
        if not self.year - 1 <= d.year <= self.year + 1:
            self.fail(f"{self.show(d)}不在{self.year}年前后，不属于{self.year}年的放假安排。")
        for part in re.split(r"[、,]", m.group("br") or ""):
            if not part or part.startswith("农历"):
                continue  # 农历 annotations are not checked (that needs a lunar calendar)
            wd = _WEEKDAY.fullmatch(part)
            if wd is None:
                self.fail(f"看不懂{self.show(d)}后面括号里的“{part}”。")
            written = WEEKDAYS.index(wd.group(2).replace("天", "日"))
            if written != d.weekday():
                self.fail(f"{self.show(d)}是周{WEEKDAYS[d.weekday()]}，通知写的是{part}。")
        return d

    # -- sentences ------------------------------------------------------------------------------------
    def off(self, toks) -> tuple[list[date], int | None, bool]:
        kinds = "".join(k for k, _ in toks)
        if kinds.count("N") > 1 or kinds.count("X") > 1 or kinds.count("W") > 1:
            self.fail(f"“{self.sentence}”里天数或“不调休”“与周末连休”写了不止一次。")
        start = self.date(toks[0][1])
        end = self.date(toks[2][1], start) if kinds.startswith("DRD") else start
        if end < start:
            self.fail(f"“{self.sentence}”的结束日期{self.show(end)}早于开始日期{self.show(start)}。")
        if (end - start).days >= MAX_RUN:
            self.fail(f"“{self.sentence}”放假{(end - start).days + 1}天，超过{MAX_RUN}天，请核对日期。")
        if "W" in kinds:
            before, after = start, end
            while (before - timedelta(1)).weekday() >= 5:
                before -= timedelta(1)
            while (after + timedelta(1)).weekday() >= 5:
                after += timedelta(1)
            if (before, after) == (start, end):
                self.fail(f"“{self.sentence}”写了“与周末连休”，但{self.show(start)}前后都不是周末。")
            start, end = before, after
        days = next((v for k, v in toks if k == "N"), None)
        return [start + timedelta(i) for i in range((end - start).days + 1)], days, "X" in kinds

    def work(self, toks) -> list[date]:
        days = [self.date(v) for k, v in toks if k == "D"]
        for d in days:
            if d.weekday() < 5:
                self.fail(f"{self.show(d)}是周{WEEKDAYS[d.weekday()]}，本来就要上班，不是调休上班的周末。")
        if len(set(days)) < len(days):
            self.fail(f"“{self.sentence}”里同一天写了两次。")
        return days

    def entry(self, number: int, line: str, half: str, at: int) -> NoticeEntry:
        """The entry whose ``名称：正文`` starts at ``at`` of the line (``half``: its half-width twin)."""
        m = _HEAD.fullmatch(half, at)
        if m is None:
            self.fail("看不懂这一条：应写成“一、元旦：1月1日（周三）放假1天，不调休。”这样的格式。")
        name = re.sub(r"\s+", "", m.group(1))
        parts = name.split("、")
        unknown = [p for p in parts if p not in HOLIDAYS]
        if unknown:
            self.fail(f"“{unknown[0]}”不是年度放假通知里的节日（只认{'、'.join(HOLIDAYS)}）。")
        if len(set(parts)) < len(parts):
            self.fail(f"节日名称“{name}”里有重复。")
        off: list[date] | None = None
        days: int | None = None
        no_swap = False
        work: list[date] = []
        notes: list[str] = []
        start = m.start(2)
        for piece in _SENTENCE_END.split(m.group(2)):
            self.sentence, start = line[start:start + len(piece)].strip(), start + len(piece) + 1
            sentence = re.sub(r"\s+", "", piece)
            if not sentence:
                continue
            if sentence.startswith("鼓励"):
                notes.append(self.sentence)
                continue
            toks = self.tokens(sentence)
            kinds = "".join(k for k, _ in toks)
            if _OFF.fullmatch(kinds):
                if off is not None:
                    self.fail(f"这一条有两句放假安排（“{self.sentence}”），无法判断以哪句为准。")
                off, days, no_swap = self.off(toks)
            elif _WORK.fullmatch(kinds):
                work += self.work(toks)
            else:
                self.fail(f"看不懂“{self.sentence}”：应为“4月4日（周五）至6日（周日）放假，共3天”"
                          f"或“4月27日（周日）上班”，或以“鼓励”开头的说明。")
        if off is None:
            self.fail(f"“{name}”这一条没有写放假日期（如“5月1日至5日放假调休，共5天”）。")
        if days is not None and days != len(off):
            self.fail(f"通知写共{days}天，但{self.show(off[0])}至{self.show(off[-1])}是{len(off)}天。")
        if no_swap and work:
            self.fail("这一条写了“不调休”，又写了上班日期，前后矛盾。")
        if len(set(work)) < len(work):
            self.fail("同一个上班日期写了两次。")
        both = sorted(set(off) & set(work))
        if both:
            self.fail(f"{self.show(both[0])}既是放假日又是上班日。")
        return NoticeEntry(number, name, self.line_no, self.line, tuple(off), tuple(sorted(work)),
                           days, tuple(notes))


MAX_BYTES = 200_000  # a notice is a few KB; anything this large is the wrong file


def decode(data: bytes) -> str:
    """A notice saved as a text file: UTF-8 (with or without BOM), else GB18030 (what Chinese Windows saves).
    Raises :class:`ValueError` with a Chinese message for a file too large or in neither encoding."""
    if len(data) > MAX_BYTES:
        raise ValueError("文件过大：通知全文不会超过 200 KB，请检查是否选错了文件。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("无法识别文件的文字编码，请打开文件复制全文粘贴到输入框。")


def parse_notice(text: str) -> Notice:
    """The notice in ``text``, or a :class:`NoticeError` naming the first line that cannot be read."""
    lines = text.translate(_DROP).splitlines()
    halves = [line.translate(_HALF) for line in lines]  # same length as the line: indices carry over
    titles = [(n, m) for n, h in enumerate(halves, 1) if (m := _TITLE.search(h))]
    if not titles:
        raise NoticeError("未找到通知标题（“国务院办公厅关于YYYY年部分节假日安排的通知”），无法确定年份。")
    title_no, title_m = titles[0]
    year = int(title_m.group(1))
    for n, m in titles[1:]:
        if int(m.group(1)) != year:
            raise NoticeError(f"这里写的是{m.group(1)}年，而标题是{year}年的通知。", n, lines[n - 1].strip())
    reader = _Reader(year)
    entries: list[NoticeEntry] = []
    claimed: dict[date, NoticeEntry] = {}
    for n, (line, half) in enumerate(zip(lines, halves), 1):
        reader.line_no, reader.line = n, line.strip()
        if n == title_no:
            continue
        lead = len(half) - len(half.lstrip())
        m = _ENTRY.match(half, lead)
        if m is None:
            if _LOOSE_DATE.search(half) and _DAY_WORDS.search(half):
                reader.fail("这一行写了日期和放假/上班，但不是以“一、”“二、”……开头的一条，"
                            "无法判断属于哪个节日（是否从上一行断开了？）。")
            continue
        number = _ORDINALS.find(m.group(1)) + 1 if len(m.group(1)) == 1 else 0
        expected = len(entries) + 1
        if number != expected:
            got, want = f"“{m.group(1)}、”", f"“{_ORDINALS[expected - 1]}、”"  # <= 8: one entry per holiday
            if number and number < expected:
                reader.fail(f"序号{got}重复或倒序，这里应为{want}。")
            reader.fail(f"序号{got}不对，这里应为{want}。")
        entry = reader.entry(number, line, half, m.end())
        for e in entries:
            same = [p for p in entry.name.split("、") if p in e.name.split("、")]
            if same:
                reader.fail(f"{same[0]}已经在第{e.line_no}行安排过了。")
        for d in sorted(set(entry.off) | set(entry.work)):
            if d in claimed:
                reader.fail(f"{reader.show(d)}已经在第{claimed[d].line_no}行（{claimed[d].name}）安排过了。")
            claimed[d] = entry
        entries.append(entry)
    if not entries:
        raise NoticeError("通知里没有找到任何放假安排（应有“一、元旦：……”这样的行）。")
    return Notice(year, lines[title_no - 1].strip(), tuple(entries))
