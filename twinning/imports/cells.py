"""Cells and columns as the import's checks see them.

This room holds the small readings every other room of the checker shares: a cell as
normalised text, a row with nothing in it, a data row's cells by field (``DataRow``),
whether a mapped column holds figures, a field's Chinese name, and the two cell errors
written once: a value that cannot be read (a ``ParseError``) and a cell a record needs
left blank.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twinning.imports import register
from twinning.imports.headers import FIELDS, ColumnMap, field_label
from twinning.imports.problems import ParseError, Report
from twinning.imports.units import METRICS

Resolver = Callable[..., object]  # (name, within=None) -> Place; raises PlaceError


# a cell as normalised text: "" for None, 2019 for 2019.0 (the register reader's own)
cell_text = register.text_of


def is_blank_row(cells: list[object]) -> bool:
    """True when no cell of the row holds anything (text cells of spaces count as blank)."""
    return all(register.is_blank_cell(c) for c in cells)


def is_custom_metric(col: ColumnMap) -> bool:
    """A column mapped to a metric the atlas does not know (a new metric code)."""
    return bool(col.field) and col.field not in FIELDS and col.field not in METRICS


def is_figure_column(col: ColumnMap) -> bool:
    """A column whose cells are figures: a known metric or a new one."""
    return col.field in METRICS or is_custom_metric(col)


def field_zh(name: str | None) -> str:
    """The Chinese label of a field or metric, for Chinese messages (the code if unknown)."""
    return field_label(name, "zh")


def field_named_zh(name: str) -> str:
    """A field in a Chinese message, its label and its code: “帮扶资金”（funds_cny）."""
    return f"“{field_zh(name)}”（{name}）"


@dataclass
class DataRow:
    """One data row being checked: its number (as the person sees it), its cells, and
    the mapped columns by field."""

    number: int
    cells: list[object]
    cols: dict[str, ColumnMap]

    def cell(self, fld: str) -> object:
        """The row's cell of field ``fld``; None when no column has that field."""
        col = self.cols.get(fld)
        if col is None or col.index >= len(self.cells):
            return None
        return self.cells[col.index]

    def text(self, fld: str) -> str:
        """The row's cell of field ``fld`` as text ("" when none)."""
        return cell_text(self.cell(fld))


def report_unreadable(
    report: Report,
    code: str,
    exc: ParseError,
    *,
    row: int | None,
    column: str = "",
    value: str = "",
) -> None:
    """Report a value that did not read as an error carrying the ``ParseError``'s own
    words (both languages, with its suggestion); ``code`` is the problem's kind."""
    report.error(code, **exc.words(), row=row, column=column, value=value)


def report_blank(
    report: Report,
    row: int,
    column: ColumnMap | None,
    **words: str,
) -> None:
    """Report a cell a record needs (year, donor, recipient, metric) that is blank: the
    error ``missing_value`` in ``column`` (none when the table has no such column).
    ``words``: ``**texts("problem.missing_value.<what>", ...)``."""
    report.error("missing_value", **words, row=row, column=column.label if column else "")
