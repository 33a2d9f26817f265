"""The figures of one row: a cell read as a number in a unit, and stored canonical.

A wide row gives one figure per figure column (of a 合计 and its parts, the parts,
checked against the 合计); a long row gives the one figure its 指标 / 数值 / 单位 name;
a project list's row also counts one project. ``FigureReader.one`` reads a value,
its unit (the cell's, the row's 单位 column, the column's or the title's), refuses
what cannot be an amount, and returns the record's figure fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from twinning.imports import register
from twinning.imports.cells import (
    DataRow,
    cell_text,
    is_figure_column,
    report_blank,
    report_unreadable,
)
from twinning.imports.headers import FIELDS, ColumnMap, match_header
from twinning.imports.layout import Layout
from twinning.imports.numbers import EXACT, Number, format_decimal, is_blank, parse_number
from twinning.imports.problems import ParseError, Report, texts
from twinning.imports.units import (
    METRICS,
    MONEY,
    PERCENT,
    Metric,
    Unit,
    combine,
    metric_for_unknown,
    parse_unit,
    to_canonical,
)


def units_of(
    num: Number, column_unit: Unit | None, title_scale: bool
) -> tuple[Unit | None, Unit | None, Unit]:
    """The cell's own unit, the column's unit as it applies, and the unit of the value.

    With ``title_scale`` (the column's unit is 单位：万元 over the table, or an option's)
    and a cell that says its own scale ("100万"), the cell's scale wins (100 万元): the
    column's unit gives only its dimension, its multiplier is not applied again.
    """
    cell_unit = parse_unit(num.unit_text) if num.unit_text else None
    if cell_unit is not None and column_unit is not None and title_scale:
        column_unit = Unit(1, column_unit.dimension, "")
    return cell_unit, column_unit, combine(cell_unit, column_unit)


@dataclass
class FigureReader:
    """Reads the figures of rows; gives ``count`` what each column of a wide row counts
    (the 合计 checks' sums, sums.py)."""

    layout: Layout
    report: Report
    count: Callable[[int, Decimal], None]  # a wide row's counted figure of a column
    quote_prefix: str = ""  # "[2021年] " for one sheet of several
    _targets: list[ColumnMap] | None = None  # the figure columns (computed on the first row)

    def figures(self, row: DataRow, context: list[str]) -> Iterator[dict]:
        """The figures of the row (problems reported, figures that fail left out)."""
        if self.layout.form == "wide":
            yield from self._wide(row, context)
        else:
            yield from self._long(row, context)

    def _long(self, row: DataRow, context: list[str]) -> Iterator[dict]:
        metric_col, value_col = row.cols.get("metric"), row.cols.get("value")
        if metric_col is None or value_col is None:
            return
        raw_metric = row.text("metric")
        if not raw_metric:
            if not is_blank(row.text("value")):
                report_blank(
                    self.report,
                    row.number,
                    metric_col,
                    **texts("problem.missing_value.metric", "problem.missing_value.metric.fix"),
                )
            return
        fld, unit_in_name, _how = match_header(raw_metric)
        if fld is None and re.fullmatch(r"[a-z][a-z0-9_]*", raw_metric):
            fld = raw_metric
            self.report.warning(
                "new_metric",
                **texts(
                    "problem.new_metric.unknown",
                    "problem.new_metric.unknown.fix",
                    metric=raw_metric,
                    en={"known": list(METRICS)},
                    zh={"known": [f"{m.zh}（{m.name}）" for m in METRICS.values()]},
                ),
                row=row.number,
                column=metric_col.label,
                value=raw_metric,
            )
        if fld is None or fld in FIELDS:
            self.report.error(
                "unknown_metric",
                **texts(
                    "problem.unknown_metric.unknown",
                    "problem.unknown_metric.unknown.fix",
                    metric=raw_metric,
                    en={"known": [f"{m.zh} ({m.name})" for m in METRICS.values()]},
                    zh={"known": [f"{m.zh}（{m.name}）" for m in METRICS.values()]},
                ),
                row=row.number,
                column=metric_col.label,
                value=raw_metric,
            )
            return
        unit_text = row.text("unit") or unit_in_name
        if not unit_text and self.layout.unit_default and METRICS[fld].dimension == MONEY:
            unit_text = self.layout.unit_default  # 单位：万元 in the title of a long table
        rec = self.one(
            row.number,
            value_col,
            fld,
            row.cell("value"),
            unit_text,
            context,
            unit_col=row.cols.get("unit"),
        )
        if rec:
            yield rec

    def _wide(self, row: DataRow, context: list[str]) -> Iterator[dict]:
        """One figure per figure column; of a 合计 and its parts, the parts (checked)."""
        if self._targets is None:  # the figure columns, once per file
            self._targets = [c for c in self.layout.mapping.columns if is_figure_column(c)]
        targets = self._targets
        row_unit = row.text("unit")  # a 单位 column applies where the header has none
        made: dict[int, dict] = {}

        def _given(c: ColumnMap) -> bool:
            v = row.cells[c.index] if c.index < len(row.cells) else None
            return not register.is_blank_cell(v)

        # a 合计 whose parts are given is only checked: a formula there (=SUM(F5:H5)
        # without a saved result) is no error, the parts are the figures
        checked_only = {
            c.index
            for c in targets
            if c.role == "total"
            and isinstance(row.cells[c.index] if c.index < len(row.cells) else None, str)
            and str(row.cells[c.index]).startswith("=")
            and any(p.role == "part" and p.group == c.index and _given(p) for p in targets)
        }
        for col in targets:
            if col.role == "inside" or col.index in checked_only:
                continue  # a subset of its total column, not a figure of its own
            raw = row.cells[col.index] if col.index < len(row.cells) else None
            unit_text = col.unit or row_unit
            if row_unit and col.unit_from in ("title", "option"):
                unit_text = row_unit  # the row's own unit beats the title's
            unit_col = row.cols.get("unit") if row_unit and unit_text == row_unit else None
            rec = self.one(row.number, col, col.field, raw, unit_text, context, unit_col=unit_col)
            if rec:
                if col.year:
                    rec["period_start"] = rec["period_end"] = col.year
                rec["part"] = col.label if col.role == "part" else None
                made[col.index] = rec
        counted = self._parts_for_totals(row.number, targets, made)
        for index, rec in made.items():
            counted.setdefault(index, rec["_exact"])
        for index, value in counted.items():
            self.count(index, value)
        project = row.cols.get("project")
        name = row.text("project")
        for rec in made.values():
            rec["project"] = name or None
        yield from made.values()
        if project is not None and name and "projects" not in {c.field for c in targets}:
            # a project list: each row is one project (with its funds and beneficiaries)
            yield {
                "metric": "projects",
                "value": 1.0,
                "_exact": Decimal(1),
                "unit": METRICS["projects"].unit,
                "value_original": "1",
                "unit_original": None,
                "qualifier": EXACT,
                "quote": f"{self.quote_prefix}{project.label}: {name}",
                "is_context": False,
                "project": name,
                "part": None,
            }

    def _parts_for_totals(
        self, number: int, targets: list[ColumnMap], made: dict[int, dict]
    ) -> dict[int, Decimal]:
        """Of each 合计 column whose parts are given: its figure dropped from ``made``, the
        parts' sum counted for it (checked against its own value)."""
        counted: dict[int, Decimal] = {}
        for total in (c for c in targets if c.role == "total"):
            parts = [c for c in targets if c.role == "part" and c.group == total.index]
            have = [c for c in parts if c.index in made]
            if not have:
                continue
            own = made.pop(total.index, None)
            added = sum((made[c.index]["_exact"] for c in have), Decimal(0))
            counted[total.index] = added
            if own is not None and own["_exact"] != added:
                scale = Decimal(parse_unit(total.unit).multiplier) if total.unit else Decimal(1)
                listed = "; ".join(f"{c.label} {made[c.index]['value_original']}" for c in have)
                self.report.warning(
                    "parts_mismatch",
                    **texts(
                        "problem.parts_mismatch.sum",
                        "problem.parts_mismatch.sum.fix",
                        total=total.label,
                        value=own["value_original"],
                        added=format_decimal(added / scale),
                        parts=listed,
                    ),
                    row=number,
                    column=total.label,
                    value=str(own["value_original"]),
                )
        return counted

    def one(
        self,
        number: int,
        col: ColumnMap,
        metric_name: str,
        raw: object,
        unit_text: str,
        context: list[str],
        unit_col: ColumnMap | None = None,
    ) -> dict | None:
        """The figure fields of one value (with ``_exact``), or None: blank, or reported."""
        try:
            num = parse_number(raw)
        except ParseError as exc:
            report_unreadable(
                self.report, "not_a_number", exc, row=number, column=col.label, value=cell_text(raw)
            )
            return None
        if num is None:
            return None
        try:
            header_unit = parse_unit(unit_text) if unit_text else None
        except ParseError as exc:
            report_unreadable(
                self.report,
                "bad_unit",
                exc,
                row=number,
                column=(unit_col or col).label,
                value=unit_text,
            )
            return None
        try:
            from_title = getattr(col, "unit_from", "") in ("title", "option")
            cell_unit, header_unit, unit = units_of(
                num, header_unit, from_title and unit_text == col.unit
            )
            metric: Metric = METRICS.get(metric_name) or metric_for_unknown(metric_name, unit)
            if unit.dimension == PERCENT and metric.dimension != PERCENT:
                raise ParseError(
                    **texts(
                        "problem.bad_unit.percentage",
                        "problem.bad_unit.percentage.fix",
                        value=cell_text(raw),
                        en={"metric": metric.name},
                        zh={"metric": metric.zh},
                    )
                )
            value, canonical_unit = to_canonical(num.value, unit, metric)
        except ParseError as exc:
            report_unreadable(
                self.report, "bad_unit", exc, row=number, column=col.label, value=cell_text(raw)
            )
            return None
        if value < 0:
            self.report.error(
                "negative",
                **texts(
                    "problem.negative.figure",
                    "problem.negative.figure.fix",
                    value=cell_text(raw),
                    en={"metric": metric.name},
                    zh={"metric": metric.zh},
                ),
                row=number,
                column=col.label,
                value=cell_text(raw),
            )
            return None
        unit_original = (
            num.unit_text
            + (
                header_unit.text
                if header_unit and (cell_unit is None or cell_unit.dimension is None)
                else ""
            )
        ) or (header_unit.text if header_unit else "")
        quote = f"{self.quote_prefix}{col.label}: {cell_text(raw)}"
        if unit_col is not None and unit_text:
            quote += f" {unit_text}"
        if context:
            quote += " | " + " | ".join(context)
        return {
            "metric": metric.name,
            "value": float(value),
            "_exact": value,
            "unit": canonical_unit,
            "value_original": cell_text(raw) if isinstance(raw, str) else format_decimal(num.value),
            "unit_original": unit_original or None,
            "qualifier": num.qualifier if num.qualifier else EXACT,
            "quote": quote,
            "is_context": metric.name.startswith("context_"),
        }
