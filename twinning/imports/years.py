"""Years and periods: reading a year cell and writing a period back as text.

A year cell may hold 2019, '2019年', 2019.0, an Excel date or a period '2006-2010';
years before ``MIN_YEAR`` or after this year are refused with a reason.
"""

from __future__ import annotations

import datetime as dt
import re

from twinning.filters import FIRST_PAIRING_YEAR
from twinning.imports.numbers import is_blank, normalise_text
from twinning.imports.problems import ParseError, texts

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
                    **texts("problem.bad_year.not_a_year", "problem.bad_year.text_fix", value=s)
                )
            years = (int(m2.group(1)),)
    for y in years:
        if y > this_year:
            raise ParseError(
                **texts(
                    "problem.bad_year.future",
                    "problem.bad_year.future.fix",
                    year=y,
                    this_year=this_year,
                )
            )
        if y < MIN_YEAR:
            raise ParseError(
                **texts(
                    "problem.bad_year.too_early",
                    "problem.bad_year.too_early.fix",
                    year=y,
                    first=MIN_YEAR,
                )
            )
    if len(years) == 2:
        if years[0] > years[1]:
            raise ParseError(
                **texts(
                    "problem.period_order.reversed",
                    "problem.period_order.swap_years",
                    start=years[0],
                    end=years[1],
                )
            )
        return years[0], years[1]
    return years[0]


def _not_a_year(value: object) -> ParseError:
    return ParseError(
        **texts("problem.bad_year.not_a_year", "problem.bad_year.not_a_year.fix", value=value)
    )


def period_text(period: int | tuple[int, int] | None) -> str:
    """2019 -> "2019", (2006, 2010) -> "2006-2010", None -> ""."""
    if isinstance(period, tuple):
        return f"{period[0]}-{period[1]}"
    return "" if period is None else str(period)
