"""Registers as offices keep them: title rows, multi-row headers, subtotal and note rows.

Why a module of its own: a cooperation office's 项目资金安排表 is not a tidy table. Above
the header sit a title ("2021年度上海市对口帮扶…项目资金安排表"), a 填报单位 line and
"单位：万元"; the header takes two or three rows with merged cells (帮扶资金 over 合计 /
财政援助资金 / 社会帮扶资金); 小计 and 合计 rows sit between the data rows and 注 lines
under them. This module reads those shapes into what the rest of the importer already
understands: one joined name per column ("帮扶资金/财政援助资金"), the unit and year the
title states, and the kind of each row that is not data. It decides nothing about
figures: validate.py applies what is read here and reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from twinning.imports.numbers import is_blank, normalise_text, parse_number
from twinning.imports.problems import ParseError
from twinning.imports.units import MONEY, parse_unit

MAX_HEADER_ROWS = 3

# (min_row, min_col, max_row, max_col), 1-based as in the sheet: an xlsx merged range
Merge = tuple[int, int, int, int]


def text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalise_text(str(value))


def is_blank_cell(value: object) -> bool:
    return is_blank(value) if isinstance(value, str) or value is None else False


def looks_like_label(value: object) -> bool:
    """Text that is not a number: "帮扶资金", "2019年" and "(万元)" are labels, 1200 is not."""
    text = text_of(value)
    if not text:
        return False
    if not isinstance(value, str) or value.lstrip().startswith("="):
        return False  # a number, or a formula (=SUM(E6:E9)) left without its result
    try:
        n = parse_number(text)
    except ParseError:
        return True
    return n is None or bool(n.unit_text)


def unit_only(text: str) -> bool:
    """A header part that is only a unit: "万元", "(万元)", "单位：万元", "人"."""
    t = text_of(text)
    if not t or len(t) > 16:
        return False
    try:
        u = parse_unit(t)
    except ParseError:
        return False
    return u.dimension is not None or u.multiplier != 1


# --- rows that are not data -------------------------------------------------------------

_TOTAL_AT_END = re.compile(
    r"(?P<word>小计|合计|总计|共计|总合计|累计)\s*(?:\([^)]*\))?\s*[:：]?$"
    r"|^(?P<en>sub-?total|grand ?total|total|sum)\s*(?:\([^)]*\))?\s*:?$",
    re.IGNORECASE,
)
_BREAKDOWN = re.compile(r"^\s*其中\s*[:：]?")
_NOTE = re.compile(
    r"^\s*(?:注|注释|说明|备注|附注|附件|填表说明|填表人|填报人|制表人|制表|审核人|审核|"
    r"负责人|单位负责人|分管领导|联系人|联系电话|电话|填报日期|制表日期|填表日期|日期|"
    r"数据来源|资料来源|来源|note|notes|source)\s*(?:\d+|[一二三四五六七八九十]+)?\s*[:：.、．]",
    re.IGNORECASE,
)
_NOTE_BARE = re.compile(r"^\s*(?:注|说明|备注)\s*\d*\s*[:：.、．]?\s*\S", re.IGNORECASE)
_SECTION_HEADING = re.compile(r"^\s*[一二三四五六七八九十]+\s*[、.．]\s*\S+$")


def total_kind(value: object) -> str | None:
    """subtotal (小计, 文山州小计), total (合计, 总计, Total), breakdown (其中：…) or None."""
    if not isinstance(value, str):
        return None
    if value.isascii():
        low = value.lower()
        if "total" not in low and "sum" not in low:
            return None
    elif "计" not in value and "其" not in value:
        return None  # the common case, a place or project name: no regex
    t = re.sub(r"\s+", "", text_of(value))
    if not t:
        return None
    if _BREAKDOWN.match(t):
        return "breakdown"
    if len(t) > 30:
        return None
    m = _TOTAL_AT_END.search(t)
    if not m:
        return None
    word = (m.group("word") or m.group("en")).lower()
    if word.startswith("sub") or word == "小计":
        return "subtotal"
    head = t[: m.start()]
    # "文山州合计": a part's total; "合计", "全省合计", "总计": the whole table's
    if head and not re.search(r"(全|总|共)", head) and word in ("合计", "累计", "total", "sum"):
        return "subtotal"
    return "total"


_NOTE_FIRST = frozenset("注说备附填制审负单分联电日数资来NnSs")


def note_text(cells: list[object]) -> str | None:
    """The text of a note row under the table (注：…, 说明…, 填表人：…), else None."""
    first = next((c for c in cells if not is_blank_cell(c)), None)
    if not isinstance(first, str) or first.lstrip()[:1] not in _NOTE_FIRST:
        return None  # the common case, a data row: no regex
    texts = []
    for c in cells:
        t = text_of(c)
        if t and (not texts or texts[-1] != t):  # a merged note repeats its text
            texts.append(t)
    if not texts:
        return None
    if any(not isinstance(c, str) and not is_blank_cell(c) for c in cells):
        return None  # a number in the row: data, not a note
    first = texts[0]
    if _NOTE.match(first) or (len(texts) == 1 and _NOTE_BARE.match(first)):
        written = []  # as written (not normalised): the report quotes the note
        for c in cells:
            t = str(c).strip() if isinstance(c, str) else ""
            if t and (not written or written[-1] != t):
                written.append(t)
        return " ".join(written)[:300]
    return None


_STEMS = "甲乙丙丁戊己庚辛壬癸"


def column_numbers(cells: list[object]) -> str | None:
    """A row numbering the columns under the header (栏次 | 甲 | 乙 | 1 | 2 | 3 …)."""
    values = [c for c in cells if not is_blank_cell(c)]
    if len(values) < 3:
        return None
    numbers = []
    for v in values:
        t = text_of(v)
        if t in _STEMS or t in ("栏次", "序号"):
            continue
        if not re.fullmatch(r"\d{1,3}", t):
            return None
        numbers.append(int(t))
    if len(numbers) < 2 or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    return " | ".join(text_of(v) for v in values)[:200]


def section_heading(cells: list[object]) -> str | None:
    """A heading row between data rows ("一、文山州") with nothing else in it."""
    first = next((c for c in cells if not is_blank_cell(c)), None)
    if not isinstance(first, str) or first.lstrip()[:1] not in "一二三四五六七八九十":
        return None
    texts = [text_of(c) for c in cells if text_of(c)]
    if len(set(texts)) == 1 and _SECTION_HEADING.match(texts[0]):
        return texts[0]
    return None


# --- the title ----------------------------------------------------------------------------

UNIT_IN_TITLE = re.compile(
    r"(?P<what>金额|资金|货币|价值|投资)?单位\s*[:：]\s*(?P<unit>[^\s,，;；、)）]+)"
)
_YEAR_IN_TITLE = re.compile(
    r"(?<!\d)(?P<a>(?:19|20)\d{2})\s*(?:年度?)?\s*(?:-|–|—|~|～|至|到)\s*(?P<b>(?:19|20)\d{2})\s*年"
    r"|(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?P<suffix>年度|年)(?!\s*\d{1,2}\s*月)"
)
_DATE_ROW = re.compile(r"(填报|制表|填表|报送|打印)?(日期|时间)\s*[:：]")
_CUMULATIVE = re.compile(r"累计|截至|截止|以来")


@dataclass
class TitleInfo:
    """What the rows above the header say: their text, the unit and year they state."""

    rows: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    unit: str = ""  # a money unit (万元, 亿元, 元), as written
    unit_row: int | None = None
    year: int | tuple[int, int] | None = None
    year_text: str = ""
    year_row: int | None = None
    year_problem: str = ""  # why a year seen in the title is not applied


def read_title(rows: list[tuple[int, list[object]]]) -> TitleInfo:
    """Read the unit (单位：万元, 金额单位：亿元) and the year (2021年度) of the title rows."""
    info = TitleInfo()
    years: list[tuple[int | tuple[int, int], str, int, bool]] = []
    for number, cells in rows:
        texts = []
        for c in cells:
            t = text_of(c)
            if t and t not in texts:
                texts.append(t)
        if not texts:
            continue
        info.rows.append(number)
        info.texts.append(" ".join(texts))
        for t in texts:
            for m in UNIT_IN_TITLE.finditer(t):
                unit = m.group("unit").strip("()（）")
                try:
                    u = parse_unit(unit)
                except ParseError:
                    continue
                if u.dimension == MONEY and not info.unit:
                    info.unit, info.unit_row = unit, number
            if _DATE_ROW.search(t):
                continue  # 填报日期：2022年3月: when it was filled in, not the year it covers
            for m in _YEAR_IN_TITLE.finditer(t):
                if m.group("a"):
                    a, b = int(m.group("a")), int(m.group("b"))
                    years.append(((a, b), m.group(0), number, _CUMULATIVE.search(t) is not None))
                else:
                    y = int(m.group("y"))
                    years.append((y, m.group(0), number, _CUMULATIVE.search(t) is not None))
    if years:
        distinct = {y for y, *_ in years}
        value, text, number, cumulative = years[0]
        if cumulative:
            info.year_problem = "cumulative"
            info.year_text = text
            info.year_row = number
        elif len(distinct) > 1:
            info.year_problem = "several"
            info.year_text = "; ".join(dict.fromkeys(t for _, t, *_ in years))
            info.year_row = number
        else:
            info.year, info.year_text, info.year_row = value, text, number
    return info


_TITLE_END = re.compile(r"(表|台账|清单|明细|汇总|统计|情况|计划|方案)[)）]?$")


def is_title_row(cells: list[object], score=None) -> bool:
    """A title line: one cell (a long merged title), or a 'label：value' line (填报单位：…).

    With ``score`` (validate's header score), a row whose other cells name fields is a
    header with a note in it ("序号 | 州（市） | … | 单位：万元"), not a title."""
    texts = [text_of(c) for c in cells if text_of(c)]
    if len(set(texts)) <= 1:
        return True
    if len(set(texts)) <= 3 and any(len(t) >= 6 and _TITLE_END.search(t) for t in texts):
        return True  # "…项目资金安排表" beside "2021年度": a title split over two cells
    labelled = [t for t in texts if re.search(r"[:：]", t)]
    if not labelled:
        return False
    others = [t for t in texts if t not in labelled]
    return score is None or score(others) < 4


# --- the header block ----------------------------------------------------------------------


def apply_merges(
    rows: list[tuple[int, list[object]]], merges: list[Merge]
) -> list[tuple[int, list[object]]]:
    """Copy each merged range's value into every cell of the range (header rows only)."""
    if not merges:
        return rows
    by_row = {n: list(c) for n, c in rows}
    for r0, c0, r1, c1 in merges:
        top = by_row.get(r0)
        if top is None or c0 - 1 >= len(top):
            continue
        value = top[c0 - 1]
        if is_blank_cell(value):
            continue
        for r in range(r0, r1 + 1):
            cells = by_row.get(r)
            if cells is None:
                continue
            if len(cells) < c1:
                cells.extend([None] * (c1 - len(cells)))
            for c in range(c0 - 1, c1):
                if is_blank_cell(cells[c]):
                    cells[c] = value
    return [(n, by_row[n]) for n, _ in rows]


def _labels_only(cells: list[object]) -> bool:
    non_blank = [c for c in cells if not is_blank_cell(c)]
    return bool(non_blank) and all(looks_like_label(c) for c in non_blank)


def _named(cells: list[object]) -> set[int]:
    return {i for i, c in enumerate(cells) if not is_blank_cell(c)}


def deeper_header(head: list[tuple[int, list[object]]], bottom: int) -> int | None:
    """The row number of a fourth header row under a three-row header, if there is one."""
    if bottom + 1 >= len(head):
        return None
    n_next, nxt = head[bottom + 1]
    if not _labels_only(nxt) or note_text(nxt):
        return None
    above = _named(head[bottom][1])
    if any(i not in above for i in _named(nxt)):
        return n_next
    return None


def header_block(
    head: list[tuple[int, list[object]]],
    best: int,
    score,
    merged_rows: set[int] | None = None,
) -> tuple[int, int]:
    """The rows (first, last index into ``head``) that make up the header around ``best``.

    A row below joins when it holds only labels and names columns the rows above leave
    blank (the parts under a merged 帮扶资金), or names fields itself, or states units; a
    row above joins when it holds group labels (资金情况 over 帮扶资金 / 项目数) and is not
    a title line. At most three rows.
    """
    merged_rows = merged_rows or set()
    top = bottom = best
    while bottom - top + 1 < MAX_HEADER_ROWS and bottom + 1 < len(head):
        n_next, nxt = head[bottom + 1]
        if not _labels_only(nxt) or note_text(nxt):
            break
        above = set().union(*(_named(head[i][1]) for i in range(top, bottom + 1)))
        width = max(above) + 1 if above else 0
        bottom_named = _named(head[bottom][1])
        under_blank = [i for i in _named(nxt) if i <= width and i not in bottom_named]
        units = all(unit_only(text_of(c)) for c in nxt if not is_blank_cell(c))
        if under_blank or score(nxt) >= 2 or units or n_next in merged_rows:
            bottom += 1
        else:
            break
    while bottom - top + 1 < MAX_HEADER_ROWS and top - 1 >= 0:
        n_prev, prev = head[top - 1]
        if not _labels_only(prev) or is_title_row(prev, score):
            break
        below = _named(head[top][1])
        spans = any(i not in below for i in _named(prev)) or len(_named(prev)) < len(below)
        if score(prev) >= 1 or spans or n_prev in merged_rows:
            top -= 1
        else:
            break
    return top, bottom


def total_kind_in(cells: list[object]) -> str | None:
    for c in cells:
        k = total_kind(c)
        if k:
            return k
    return None


def join_header(block: list[list[object]]) -> list[list[str]]:
    """The parts of each column's name, top to bottom ("帮扶资金", "财政援助资金").

    A blank cell in an upper row takes the name on its left when the row below
    subdivides both columns (a merged 帮扶资金 written once over its parts); a blank
    cell in a lower row is the upper name's (a column merged down).
    """
    width = max((len(r) for r in block), default=0)
    grid = [[text_of(r[i]) if i < len(r) else "" for i in range(width)] for r in block]
    for r in reversed(range(len(grid) - 1)):  # lowest first: its fills guide the row above
        row, below = grid[r], grid[r + 1]
        for j in range(1, width):
            if not row[j] and row[j - 1] and below[j] and below[j - 1]:
                row[j] = row[j - 1]
    out = []
    for j in range(width):
        parts: list[str] = []
        for r in range(len(grid)):
            t = grid[r][j]
            if t and (not parts or parts[-1] != t):
                parts.append(t)
        out.append(parts)
    return out


# --- the donor a title names ------------------------------------------------------------

_DONOR_IN_TITLE = re.compile(
    r"^(?:(?:19|20)\d{2}\s*(?:-|–|—|~|～|至)?\s*(?:(?:19|20)\d{2})?\s*(?:年度|年)?\s*)?"
    r"(?P<donor>[\u4e00-\u9fff]{1,10}?(?:省|市|区|县|自治区))"
    r"(?P<verb>对口帮扶|对口支援|对口援助|帮扶|支援|援助|援建|援疆|援藏|援青|东西部(?:扶贫)?协作)"
)
# The provinces that give in 东西部协作 (北京 天津 辽宁 上海 江苏 浙江 福建 山东 广东): a
# title "昭通市东西部协作…" is a recipient's register, not a donor's.
EAST_DONOR_PROVINCES = ("11", "12", "21", "31", "32", "33", "35", "37", "44")


def title_donor(info: TitleInfo) -> tuple[str, int, str] | None:
    """(donor, row, verb) when the title says who gives ("2021年度上海市对口帮扶…")."""
    for number, text in zip(info.rows, info.texts, strict=False):
        m = _DONOR_IN_TITLE.match(re.sub(r"\s+", "", text))
        if m:
            return m.group("donor"), number, m.group("verb")
    return None
