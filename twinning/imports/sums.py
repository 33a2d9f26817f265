"""Sums: the exact totals of what an import stores, and the 合计 / 小计 rows of a table.

``Totals`` adds up, per metric and unit, what would be stored (the import summary).
``TotalRows`` recognises the rows that sum others (合计, 小计, a group's row numbered
一、二 above its items, a 其中 row) and, for a wide table, checks each 小计 against the
rows since the previous one and each 合计 against the whole table, keeping only
running sums per column, so that a long file stays cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from twinning import i18n
from twinning.imports import register
from twinning.imports.cells import cell_text, is_figure_column, report_unreadable
from twinning.imports.figures import units_of
from twinning.imports.layout import Layout
from twinning.imports.numbers import format_decimal, parse_number
from twinning.imports.problems import ParseError, Report, texts
from twinning.imports.units import METRICS, metric_for_unknown, parse_unit, to_canonical


@dataclass
class Totals:
    """Exact sums per (metric, canonical unit) of what would be stored."""

    sums: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    def add(self, metric: str, unit: str, value: Decimal) -> None:
        self.sums[(metric, unit)] = self.sums.get((metric, unit), Decimal(0)) + value

    def as_json(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        units_per_metric: dict[str, int] = {}
        for metric, _unit in self.sums:
            units_per_metric[metric] = units_per_metric.get(metric, 0) + 1
        for (metric, unit), value in sorted(self.sums.items()):
            key = metric if units_per_metric[metric] == 1 else f"{metric} [{unit}]"
            out[key] = {"value": _json_number(value), "unit": unit}
        return out


def _json_number(value: Decimal) -> int | float | str:
    if value == value.to_integral_value():
        return int(value)
    return float(value) if len(format_decimal(value)) < 16 else format_decimal(value)


# the fields whose cells say "合计" / "小计" / "其中" (not the figures, not free text)
_LABEL_SKIP = frozenset({"note", "source", "quote", "confidence", "unit", "metric", "value"})
_GROUP_SERIAL = re.compile(r"^[(（]?[一二三四五六七八九十]+[)）、.．]?$")
_PLACE_ORDER = ("recipient_province", "recipient_prefecture", "recipient_county")


@dataclass
class TotalRows:
    """Finds the rows that sum others and checks them against the rows they sum."""

    layout: Layout
    report: Report
    # per column: sums since the last 小计 and over the file, for checking 小计 / 合计 rows
    _col_section: dict[int, Decimal] = field(default_factory=dict)
    _col_file: dict[int, Decimal] = field(default_factory=dict)
    _section_rows: list[int] = field(default_factory=list)  # first and last data row
    _pending: list = field(default_factory=list)  # totals above their rows, checked later
    _leading: bool = False  # 小计 rows sit above their sections
    _first_data_row: int = 0

    # which rows --------------------------------------------------------------------------
    def kind(self, cells: list[object]) -> str | None:
        """subtotal / total / breakdown when a label cell says so (文山州小计, 合计, 其中：…)."""
        kinds = set()
        for c in self.layout.mapping.columns:
            if c.index >= len(cells) or c.field in _LABEL_SKIP:
                continue
            if is_figure_column(c):
                continue
            k = register.total_kind(cells[c.index])
            if k:
                kinds.add(k)
        for k in ("total", "subtotal", "breakdown"):
            if k in kinds:
                return k
        if self._group_row(cells):
            return "subtotal"
        return None

    def _group_row(self, cells: list[object]) -> bool:
        """ "一 | 汉中市 | (no county) | 1000": a group's row numbered 一、二 above its items
        (numbered 1, 2, 3), naming a prefecture where the items name counties: its sums."""
        cols = self.layout.mapping.fields()
        serial = cols.get("serial")
        if serial is None or serial.index >= len(cells):
            return False
        if not _GROUP_SERIAL.match(cell_text(cells[serial.index])):
            return False
        present = [f for f in _PLACE_ORDER if f in cols]
        if len(present) < 2:
            return False
        lowest = cols[present[-1]]
        return lowest.index >= len(cells) or not cell_text(cells[lowest.index])

    # the running sums --------------------------------------------------------------------
    def add(self, index: int, value: Decimal) -> None:
        """A figure of column ``index`` counted in a data row."""
        self._col_section[index] = self._col_section.get(index, Decimal(0)) + value
        self._col_file[index] = self._col_file.get(index, Decimal(0)) + value

    def note_data_row(self, number: int) -> None:
        """Row ``number`` was stored: the section and the table reach down to it."""
        self._first_data_row = self._first_data_row or number
        if not self._section_rows:
            self._section_rows = [number, number]
        else:
            self._section_rows[1] = number

    # checking ----------------------------------------------------------------------------
    def check(self, number: int, cells: list[object], kind: str = "total") -> None:
        """Check a 小计 / 合计 row (of a wide table) against the rows it sums.

        A 小计 is checked against the rows since the previous 小计 (or, when the 小计 rows
        sit above their rows, against the rows up to the next one); a 合计 against every
        row of the table (or, at the top of the table, against the rows below it).
        """
        if self.layout.form != "wide":
            return
        values = self._values(number, cells)
        section = dict(self._col_section)
        rows = list(self._section_rows)
        if kind == "subtotal":
            if self._leading:
                self._close_pending(section, rows)
            elif not rows:
                self._leading = True
            if self._leading:
                self._pending.append((number, values, "subtotal"))
            else:
                self._compare(number, values, section, rows, kind)
            self._col_section, self._section_rows = {}, []
            return
        if not self._col_file:  # a 合计 at the top: check it against the whole table
            self._pending.append((number, values, "total"))
            return
        if self._leading:
            self._close_pending(section, rows)
        whole = dict(self._col_file)
        self._compare(number, values, whole, self._all_rows(), kind, section, rows)
        self._col_section, self._section_rows = {}, []

    def finish(self) -> None:
        """Check the totals that sat above their rows, now that the rows are read."""
        if self._leading:
            self._close_pending(dict(self._col_section), list(self._section_rows))
        for number, values, _kind in self._pending:
            self._compare(number, values, dict(self._col_file), self._all_rows(), "total")
        self._pending = []

    def _values(self, number: int, cells: list[object]) -> list[tuple]:
        """The figures a total row states: (column, canonical value, text, unit multiplier)."""
        out = []
        for col in self.layout.mapping.columns:
            if not is_figure_column(col) or col.index >= len(cells):
                continue
            if col.role == "inside":
                continue
            raw = cells[col.index]
            if isinstance(raw, str) and raw.startswith("="):
                continue  # a formula without a saved result: nothing to check against
            try:
                num = parse_number(raw)
                if num is None:
                    continue
                column_unit = parse_unit(col.unit) if col.unit else None
                _cell_unit, _col_unit, unit = units_of(
                    num, column_unit, col.unit_from in ("title", "option")
                )
                metric = METRICS.get(col.field) or metric_for_unknown(col.field, unit)
                value, _cu = to_canonical(num.value, unit, metric)
            except ParseError as exc:
                report_unreadable(
                    self.report,
                    "not_a_number",
                    exc,
                    row=number,
                    column=col.label,
                    value=cell_text(raw),
                )
                continue
            out.append((col, value, cell_text(raw), unit.multiplier))
        return out

    @staticmethod
    def _span(rows: list[int], lang: str) -> str:
        """The rows a total sums, in words: rows 3-7, row 3, no rows."""
        if not (rows and rows[0]):
            return i18n.t("problem.total_mismatch.no_rows", lang)
        if rows[0] != rows[1]:
            return i18n.t("problem.total_mismatch.rows", lang, first=rows[0], last=rows[1])
        return i18n.t("problem.total_mismatch.row", lang, first=rows[0])

    def _all_rows(self) -> list[int]:
        return [self._first_data_row, self._section_rows[1] if self._section_rows else 0]

    def _close_pending(self, section: dict, rows: list[int]) -> None:
        keep = []
        for number, values, kind in self._pending:
            if kind == "subtotal":
                self._compare(number, values, section, rows, kind)
            else:
                keep.append((number, values, kind))
        self._pending = keep

    def _compare(
        self,
        number: int,
        values: list,
        sums: dict[int, Decimal],
        rows: list[int],
        kind: str,
        other: dict[int, Decimal] | None = None,
        other_rows: list[int] | None = None,
    ) -> None:
        for col, value, raw, multiplier in values:
            added = sums.get(col.index, Decimal(0))
            if value == added or (other is not None and value == other.get(col.index)):
                continue
            scale = Decimal(multiplier)
            shown = format_decimal(added / scale)
            diff = format_decimal((value - added) / scale)
            span = {lang: self._span(rows, lang) for lang in ("en", "zh")}
            total = {
                lang: i18n.t(
                    "problem.total_mismatch.subtotal"
                    if kind == "subtotal"
                    else "problem.total_mismatch.total",
                    lang,
                )
                for lang in ("en", "zh")
            }
            self.report.warning(
                "total_mismatch",
                **texts(
                    "problem.total_mismatch.sums",
                    "problem.total_mismatch.sums.fix",
                    value=raw,
                    added=shown,
                    difference=diff,
                    en={"total": total["en"], "span": span["en"]},
                    zh={"total": total["zh"], "span": span["zh"]},
                ),
                row=number,
                column=col.label,
                value=raw,
            )
