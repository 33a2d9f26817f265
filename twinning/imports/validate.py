"""Checking a table: its layout first (``find_layout``), then its rows (``Checker``).

This module only puts the rooms of the check together, in their order:

- layout.py: the header (one to three rows, title rows above it) and its mapping;
- columns.py: the mapped columns as a whole (合计 groups, doubles, units, the form,
  the columns each form needs);
- defaults.py: what the title, the sheet's name or an option gives every row
  (unit, year, donor, the area short names are looked for in);
- rows.py: the row checker, with figures.py (a row's figures), places.py (its
  places), sums.py (合计 / 小计 rows and the import's totals), duplicates.py
  (repeated rows, records already stored) and years.py (year cells).

Three layouts are recognised from the mapped fields:
- wide: one row per project or year, one column per metric (帮扶资金(万元), 项目数 ...);
- long: one row per figure (指标 / 数值 / 单位);
- pairings: donor -> recipient rows with years and no figures.

The names below are re-exported for the modules that import them from here
(keep.py, cli.py, jobs.py, template.py, components/import_page.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from twinning.imports import columns, defaults
from twinning.imports.cells import Resolver
from twinning.imports.duplicates import DigestIndex, figure_key, pairing_key
from twinning.imports.layout import (
    HEADER_SEARCH_ROWS,
    Layout,
    ReadOptions,
    read_header,
    rest_then,
)
from twinning.imports.problems import Report
from twinning.imports.rows import EXAMPLE_MARK, Checker
from twinning.imports.sums import Totals
from twinning.imports.years import parse_year

__all__ = [
    "EXAMPLE_MARK",
    "Checker",
    "DigestIndex",
    "Layout",
    "ReadOptions",
    "Totals",
    "figure_key",
    "find_layout",
    "pairing_key",
    "parse_year",
]


def find_layout(
    rows: Iterator[tuple[int, list[object]]],
    report: Report,
    overrides: dict[str, dict] | None = None,
    merges: list | None = None,
    options: ReadOptions | None = None,
    resolver: Resolver | None = None,
) -> tuple[Layout | None, Iterator[tuple[int, list[object]]]]:
    """Find the header (one to three rows; title rows may sit above it) and map it.

    Returns the layout (None when the file cannot be read further) and the row
    iterator positioned after the header.
    """
    options = options or ReadOptions()
    head: list[tuple[int, list[object]]] = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
    found = read_header(head, report, overrides, merges)
    if found is None:
        return None, iter(())
    layout, rest = found
    defaults.apply_units(layout, options, report)
    columns.find_groups(layout, report)
    columns.check_columns(layout.mapping, layout.header_row, report)
    layout.form = columns.form_of(layout.mapping)
    defaults.apply_year(layout, options, report)
    defaults.apply_donor(layout, options, resolver)
    defaults.apply_within(layout, options, resolver)
    columns.check_required(layout, report)
    return layout, rest_then(rest, rows)
