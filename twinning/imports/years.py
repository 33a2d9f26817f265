"""Years and periods: reading a year cell and writing a period back as text.

A year cell may hold 2019, '2019年', 2019.0, an Excel date or a period '2006-2010';
years before ``MIN_YEAR`` or after this year are refused with a reason.
"""

from __future__ import annotations

import datetime as dt
import re

from twinning.filters import FIRST_PAIRING_YEAR
from twinning.imports.numbers import is_blank, normalise_text
from twinning.imports.problems import ParseError, quote_zh

MIN_YEAR = FIRST_PAIRING_YEAR  # an earlier year is a slip of the digits

_PERIOD = re.compile(r"^\s*(\d{4})\s*年?\s*(?:-|–|—|~|～|至|到|to)\s*(\d{4})\s*年?\s*$")


def parse_year(value: object, this_year: int | None = None) -> int | tuple[int, int] | None:
    """A year cell: 2019, '2019年', 2019.0, an Excel date, or a period '2006-2010'."""
    this_year = this_year or dt.date.today().year
    if value is None:
        return None
    if isinstance(value, dt.date):
        years: tuple[int, ...] = (value.year,)
    elif isinstance(value, bool):
        raise _not_a_year(value)
    elif isinstance(value, (int, float)):
        if float(value) != int(value):
            raise _not_a_year(value)
        years = (int(value),)
    else:
        s = normalise_text(str(value))
        if is_blank(s):
            return None
        m = _PERIOD.match(s)
        if m:
            years = (int(m.group(1)), int(m.group(2)))
        else:
            m2 = re.fullmatch(r"(\d{4})(?:\.0+)?\s*(?:年|年度)?", s)
            if not m2:
                raise ParseError(
                    f"{s!r} is not a year",
                    "write a year such as 2019 (or a period 2006-2010 in the year column)",
                    message_zh=f"{quote_zh(s)}不是年份",
                    suggestion_zh="请填写年份，如 2019（年份列也可填写时段，如 2006-2010）",
                )
            years = (int(m2.group(1)),)
    for y in years:
        if y > this_year:
            raise ParseError(
                f"year {y} is in the future (it is {this_year} now)",
                "check the year; figures can only be imported for years that have passed",
                message_zh=f"{y} 年是未来的年份（今年是 {this_year} 年）",
                suggestion_zh="请检查年份；只能导入已经过去的年份的数字",
            )
        if y < MIN_YEAR:
            raise ParseError(
                f"year {y} is before {MIN_YEAR}",
                f"pairing assistance data starts in {MIN_YEAR}; check the digits",
                message_zh=f"{y} 年早于 {MIN_YEAR} 年",
                suggestion_zh=f"对口帮扶数据从 {MIN_YEAR} 年开始；请检查数字",
            )
    if len(years) == 2:
        if years[0] > years[1]:
            raise ParseError(
                f"the period starts in {years[0]} but ends in {years[1]}",
                "swap the two years",
                message_zh=f"时段的起始年为 {years[0]} 年，结束年却为 {years[1]} 年",
                suggestion_zh="请对调两个年份",
            )
        return years[0], years[1]
    return years[0]


def _not_a_year(value: object) -> ParseError:
    return ParseError(
        f"{value!r} is not a year",
        "write a year such as 2019",
        message_zh=f"{quote_zh(value)}不是年份",
        suggestion_zh="请填写年份，如 2019",
    )


def period_text(period: int | tuple[int, int] | None) -> str:
    """2019 -> "2019", (2006, 2010) -> "2006-2010", None -> ""."""
    if isinstance(period, tuple):
        return f"{period[0]}-{period[1]}"
    return "" if period is None else str(period)
