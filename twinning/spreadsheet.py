"""Cells a spreadsheet will not run: the one rule for every file the atlas writes.

Spreadsheet programs run a text cell that starts with = + - @ (or a tab or a carriage
return) as a formula (CSV injection). Every CSV and workbook the atlas writes, and the
import report and template, put an apostrophe before such text. Numbers are left alone,
so negative numbers stay numbers.
"""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with an apostrophe;
    anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
