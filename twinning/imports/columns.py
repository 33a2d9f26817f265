"""The mapped columns of a header, checked as a whole.

After the header is mapped (layout.py): a 合计 column and its parts form a group
(``find_groups``); two columns for one field, columns mapped to nothing and units that
do not read are reported (``check_columns``); the fields decide the table's form
(``form_of``: wide, long or pairings); and the columns a form needs must be there
(``check_required``).
"""

from __future__ import annotations

import re

from twinning import i18n
from twinning.imports import register
from twinning.imports.cells import field_named_zh, is_figure_column
from twinning.imports.headers import ColumnMap, Mapping
from twinning.imports.layout import Layout
from twinning.imports.problems import ParseError, Report, texts
from twinning.imports.units import parse_unit


def find_groups(layout: Layout, report: Report) -> None:
    """A 合计 column beside its parts (帮扶资金/合计 | 帮扶资金/财政援助资金 | …).

    Columns of one field under one upper name (or one field in a one-row header) form a
    group; the one named 合计 / 小计 / 总计 (or the one not named 其中…) is the total of
    the others. The parts are stored and checked against the total; the total is stored
    only in rows where every part is blank.
    """
    groups: dict[tuple, list[ColumnMap]] = {}
    for col in layout.mapping.columns:
        if is_figure_column(col):
            parent = tuple(col.parts[:-1]) if len(col.parts) > 1 else ()
            groups.setdefault((parent, col.field, col.year), []).append(col)
    for (parent, _field, _year), cols in groups.items():
        if len(cols) < 2:
            continue
        last = [c.parts[-1] if c.parts else c.header for c in cols]
        totals = [
            c
            for c, name in zip(cols, last, strict=True)
            if register.total_kind(name) in ("total", "subtotal")
        ]
        inner = [c for c, name in zip(cols, last, strict=True) if re.match(r"^\s*(其中|含)", name)]
        if not totals and inner and len(cols) - len(inner) == 1:
            totals = [c for c in cols if c not in inner]
        if len(totals) == 1 and len(cols) == 2:
            # 合计 | 其中：建档立卡贫困人口: one part is a subset ("of which"), not a breakdown
            total = totals[0]
            (inside,) = [c for c in cols if c is not total]
            inside.role, inside.group = "inside", total.index
            report.warning(
                "unmapped_column",
                **texts(
                    "problem.unmapped_column.inside",
                    "problem.unmapped_column.inside.fix",
                    column=inside.label,
                    total=total.label,
                ),
                row=layout.header_row,
                column=inside.label,
            )
        elif len(totals) == 1:
            total = totals[0]
            total.role, total.group = "total", total.index
            for c in cols:
                if c is not total:
                    c.role, c.group = "part", total.index
        elif not totals and parent:
            for c in cols:
                c.role, c.group = "part", cols[0].index


def check_columns(mapping: Mapping, header_n: int, report: Report) -> None:
    """Two columns for one field, columns mapped to nothing, column units that do not read."""
    # Columns with the same field twice are ambiguous (unless parts of one 合计, or years).
    seen: dict[tuple, ColumnMap] = {}
    for col in mapping.columns:
        if not col.field or col.field in ("serial", "note"):
            continue
        key = (col.field, col.year, col.group if col.role else None, col.index if col.role else 0)
        if key in seen:
            report.error(
                "duplicate_field",
                **texts(
                    "problem.duplicate_field.columns",
                    "problem.duplicate_field.columns.fix",
                    first=seen[key].label,
                    column=col.label,
                    en={"field": col.field},
                    zh={"field": field_named_zh(col.field)},
                ),
                row=header_n,
                column=col.label,
            )
        else:
            seen[key] = col
    for col in mapping.columns:
        if col.field is None and col.header and col.how != "unit_note":
            report.warning(
                "unmapped_column",
                **texts(
                    "problem.unmapped_column.unmatched",
                    "problem.unmapped_column.unmatched.fix",
                    column=col.label,
                ),
                row=header_n,
                column=col.label,
            )
    for col in mapping.columns:
        if col.unit and is_figure_column(col):
            try:
                parse_unit(col.unit)
            except ParseError as exc:
                report.error(
                    "bad_unit",
                    **texts(
                        "problem.bad_unit.column",
                        column=col.label,
                        en={"why": exc.message},
                        zh={"why": exc.message_zh},
                    ),
                    row=header_n,
                    column=col.label,
                    value=col.unit,
                    suggestion=exc.suggestion,
                    suggestion_zh=exc.suggestion_zh,
                )


def form_of(mapping: Mapping) -> str:
    """long (指标 / 数值 columns), wide (figure columns) or pairings (neither)."""
    fields = mapping.fields()
    if "metric" in fields or "value" in fields:
        return "long"
    if any(is_figure_column(c) for c in mapping.columns):
        return "wide"
    return "pairings"


def check_required(layout: Layout, report: Report) -> None:
    """The columns the layout's form needs (unless the title or an option gives them)."""
    fields = layout.mapping.fields()
    n = layout.header_row

    def need(names: tuple[str, ...], label: dict[str, str]) -> None:
        """An error unless a column maps to one of ``names``; ``label``: the column's name
        in each language."""
        if not any(f in fields for f in names):
            report.error(
                "missing_column",
                **texts(
                    "problem.missing_column.none",
                    "problem.missing_column.none.fix",
                    en={"label": label["en"], "fields": " / ".join(names)},
                    zh={
                        "label": label["zh"],
                        "fields": "、".join(field_named_zh(f) for f in names),
                    },
                ),
                row=n,
            )

    if not layout.donor:
        need(
            ("donor", "donor_province"),
            {lang: i18n.t("problem.missing_column.donor", lang) for lang in ("en", "zh")},
        )
    need(
        ("recipient", "recipient_county", "recipient_prefecture", "recipient_province"),
        {lang: i18n.t("problem.missing_column.recipient", lang) for lang in ("en", "zh")},
    )
    if layout.form == "pairings":
        need(
            ("program",),
            {lang: i18n.t("problem.missing_column.program", lang) for lang in ("en", "zh")},
        )
        if not any(f in fields for f in ("start_year", "end_year", "year")):
            report.warning(
                "no_years",
                **texts("problem.no_years.pairings", "problem.no_years.pairings.fix"),
                row=n,
            )
        return
    if layout.period is None and not layout.period_from:
        need(
            ("year", "start_year", "end_year"),
            {lang: i18n.t("problem.missing_column.year", lang) for lang in ("en", "zh")},
        )
    if layout.form == "long":
        need(
            ("metric",),
            {lang: i18n.t("problem.missing_column.metric", lang) for lang in ("en", "zh")},
        )
        need(
            ("value",),
            {lang: i18n.t("problem.missing_column.value", lang) for lang in ("en", "zh")},
        )
