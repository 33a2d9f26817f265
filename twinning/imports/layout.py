"""The layout of a table: where its header is and what its columns are mapped to.

``read_header`` looks through the first ``HEADER_SEARCH_ROWS`` rows for the header (one
to three rows, merged cells filled in; title rows such as 填报单位：… or 单位：万元 may
sit above it), maps its names to fields and reads the title. ``Layout`` carries what
was found, and what the rest of ``find_layout`` (validate.py) adds to it; ``ReadOptions``
is what the person says about the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from twinning.imports import register
from twinning.imports.cells import cell_text, is_blank_row
from twinning.imports.headers import (
    ColumnMap,
    Mapping,
    apply_overrides,
    auto_mapping,
    column_letter,
    header_score,
)
from twinning.imports.numbers import is_blank
from twinning.imports.problems import ParseError, Report, texts
from twinning.imports.units import MONEY, parse_unit
from twinning.imports.years import period_text

HEADER_SEARCH_ROWS = 30

Rows = Iterator[tuple[int, list[object]]]


@dataclass
class Layout:
    """The header row found, the mapping in force, and the layout it implies."""

    header_row: int  # the last header row (data starts below it)
    mapping: Mapping
    form: str  # wide | long | pairings
    preview: list[tuple[int, list[object]]] = field(default_factory=list)
    header_rows: list[int] = field(default_factory=list)  # one to three rows
    title: register.TitleInfo = field(default_factory=register.TitleInfo)
    unit_default: str = ""  # the money unit of columns that state none
    unit_from: str = ""  # title | option
    period: int | tuple[int, int] | None = None  # the year of rows without a year column
    period_from: str = ""  # title | option | sheet | header
    donor: str = ""  # the donor of rows without a donor column
    donor_from: str = ""  # title | option
    within: str = ""  # the area the title or sheet names: short names are looked for there
    within_from: str = ""  # title | sheet
    sheets: list[str] = field(default_factory=list)  # every sheet of the workbook (preview)

    def read_summary(self) -> dict:
        """How the header and title were read (the import summary's ``read`` part)."""
        return {
            "header_rows": self.header_rows or [self.header_row],
            "columns": [
                {
                    "column": column_letter(c.index),
                    "name": c.label,
                    "field": c.field,
                    "unit": c.unit or None,
                    "unit_from": c.unit_from or None,
                    "year": c.year,
                    "role": c.role or None,
                }
                for c in self.mapping.columns
                if c.header
            ],
            "title": {
                "rows": self.title.rows,
                "text": self.title.texts,
                "unit": self.title.unit or None,
                "year": period_text(self.title.year) or None,
            },
            "unit": self.unit_default or None,
            "unit_from": self.unit_from or None,
            "year": period_text(self.period) or None,
            "year_from": self.period_from or None,
            "donor": self.donor or None,
            "donor_from": self.donor_from or None,
            "within": self.within or None,
            "within_from": self.within_from or None,
        }


@dataclass
class ReadOptions:
    """What the person says about the whole file (CLI --year / --unit, the web page)."""

    year: int | tuple[int, int] | None = None
    unit: str = ""
    donor: str = ""
    sheet_year: int | tuple[int, int] | None = None  # from a sheet's name ("2021年")
    sheet_name: str = ""  # a sheet named for a prefecture ("文山州") places short names
    sheet_year_text: str = ""


def read_header(
    head: list[tuple[int, list[object]]],
    report: Report,
    overrides: dict[str, dict] | None = None,
    merges: list | None = None,
) -> tuple[Layout, Rows] | None:
    """Find and map the header among ``head`` (the first rows of the table).

    Returns the layout (its form still to be decided) and the rows of ``head`` below the
    header, or None (an error reported) when no header can be found.
    """
    non_blank = [(n, c) for n, c in head if not is_blank_row(c)]
    if not non_blank:
        report.error(
            "empty",
            **texts("problem.empty.no_content", "problem.empty.no_content.fix"),
        )
        return None
    best_i, best_score = _best_header_row(head, overrides)
    if best_score < 2:
        first_n, first_cells = non_blank[0]
        shown = ", ".join(cell_text(c) for c in first_cells if not is_blank(cell_text(c)))[:200]
        report.error(
            "no_header",
            **texts("problem.no_header.not_found", "problem.no_header.not_found.fix"),
            row=first_n,
            value=shown,
        )
        return None
    merged = register.apply_merges(head, [m for m in merges or () if m[0] <= head[-1][0]])
    merged_rows = {
        r for m in merges or () if m[2] > m[0] for r in range(m[0], m[2] + 1)
    }  # rows a vertically merged range spans
    top, bottom = register.header_block(merged, best_i, header_score, merged_rows)
    if bottom - top + 1 == register.MAX_HEADER_ROWS:
        _check_depth(merged, top, bottom, report)
    block = [cells for _n, cells in merged[top : bottom + 1]]
    header_rows = [n for n, _c in merged[top : bottom + 1]]
    header_n = header_rows[-1]
    if len(block) > 1:
        parts = register.join_header(block)
        header_cells: list[object] = ["/".join(p) for p in parts]
        mapping = auto_mapping(header_cells, parts)
    else:
        header_cells = list(merged[best_i][1])
        mapping = auto_mapping(header_cells)
    if overrides:
        for missing in apply_overrides(mapping, overrides):
            report.warning(
                "mapping_unused",
                **texts(
                    "problem.mapping_unused.column",
                    "problem.mapping_unused.column.fix",
                    column=missing,
                ),
                row=header_n,
                column=missing,
            )
    rest = iter(head[bottom + 1 :])
    title = register.read_title([(n, c) for n, c in merged[:top] if not is_blank_row(c)])
    if title.rows:
        _report_title(title, header_rows[0], report)
    for col in mapping.columns:
        _unit_note(col, title, header_n)
    layout = Layout(header_n, mapping, "wide", header_rows=header_rows, title=title)
    return layout, rest


def _best_header_row(
    head: list[tuple[int, list[object]]], overrides: dict[str, dict] | None
) -> tuple[int, int]:
    """The index in ``head`` of the row that names fields best, and its score."""
    best_i, best_score = 0, -1
    named = {k for k, v in (overrides or {}).items() if v.get("field")}
    for i, (_n, cells) in enumerate(head):
        if register.is_title_row(cells, header_score):
            continue  # 填报单位：… / 单位：万元 / a one-cell title
        score = header_score(cells) + 2 * sum(1 for c in cells if cell_text(c) in named)
        if score > best_score:
            best_i, best_score = i, score
    return best_i, best_score


def _check_depth(merged: list, top: int, bottom: int, report: Report) -> None:
    """A header of the most rows read may go on below: say so (the error of a deeper one)."""
    deeper = register.deeper_header(merged, bottom)
    if deeper is None:
        return
    report.error(
        "merged_header",
        **texts(
            "problem.merged_header.too_deep",
            "problem.merged_header.too_deep.fix",
            most=register.MAX_HEADER_ROWS,
            first=merged[top][0],
            last=deeper,
        ),
        row=deeper,
        value=" | ".join(cell_text(c) for c in merged[bottom + 1][1] if cell_text(c))[:200],
    )


def _report_title(title: register.TitleInfo, header_row: int, report: Report) -> None:
    titles = title.rows
    report.warning(
        "title_rows",
        **texts(
            "problem.title_rows.one" if len(titles) == 1 else "problem.title_rows.several",
            "problem.title_rows.fix",
            row=header_row,
            first=titles[0],
            last=titles[-1],
        ),
        row=header_row,
        value=" | ".join(title.texts)[:200],
    )


def _unit_note(col: ColumnMap, title: register.TitleInfo, header_n: int) -> None:
    """单位：万元 written in a cell of the header row: the unit of the table, not a column."""
    if col.field not in (None, "unit") or col.how == "user":
        return
    m = register.UNIT_IN_TITLE.match(col.header)
    if m and not title.unit:
        try:
            if parse_unit(m.group("unit")).dimension == MONEY:
                title.unit, title.unit_row = m.group("unit"), header_n
                col.field, col.unit, col.how = None, "", "unit_note"
        except ParseError:
            pass


def rest_then(first: Iterable, then: Iterator) -> Iterator:
    """The rows of ``first``, then those of ``then``."""
    yield from first
    yield from then
