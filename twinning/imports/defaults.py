"""What holds for every row of a table that has no column for it.

The money unit (单位：万元 in the title, or --unit), the year or period (--year, the
sheet's name, the title, or the years in the header), the donor (--donor, or the
title's "上海市对口帮扶…") and the area short names are looked for in (a sheet named
for a prefecture, or the title's "…对口帮扶云南省…"). Each ``apply_*`` sets them on the
``Layout`` and says where they came from (``*_from``).
"""

from __future__ import annotations

import re

from twinning import i18n
from twinning.imports import register
from twinning.imports.cells import Resolver, is_figure_column, report_unreadable
from twinning.imports.layout import Layout, ReadOptions
from twinning.imports.places import try_resolve
from twinning.imports.problems import ParseError, Report, texts
from twinning.imports.units import METRICS, MONEY, parse_unit
from twinning.imports.years import period_text


def apply_units(layout: Layout, options: ReadOptions, report: Report) -> None:
    """单位：万元 in the title (or --unit) for the money columns that state no unit."""
    unit, source = (options.unit, "option") if options.unit else (layout.title.unit, "title")
    if not unit:
        return
    try:
        parsed = parse_unit(unit)
    except ParseError as exc:
        report_unreadable(
            report,
            "bad_unit",
            exc,
            row=layout.title.unit_row if source == "title" else None,
            value=unit,
        )
        return
    if parsed.dimension != MONEY:
        report.error(
            "bad_unit",
            **texts("problem.bad_unit.given_not_money", "problem.bad_unit.given_fix", unit=unit),
            value=unit,
        )
        return
    layout.unit_default, layout.unit_from = unit, source
    for col in layout.mapping.columns:
        metric = METRICS.get(col.field or "")
        if metric is not None and metric.dimension == MONEY and not col.unit:
            col.unit, col.unit_from = unit, source


def apply_year(layout: Layout, options: ReadOptions, report: Report) -> None:
    """The period of rows without a year column: --year, the sheet's name or the title."""
    fields = layout.mapping.fields()
    has_year = any(f in fields for f in ("year", "start_year", "end_year"))
    if layout.form == "pairings":
        return
    metric_cols = [c for c in layout.mapping.columns if is_figure_column(c)]
    if metric_cols and all(c.year for c in metric_cols):
        layout.period_from = "header"
        return
    title = layout.title
    if has_year:
        if options.year is not None:
            report.warning(
                "year_option_unused",
                **texts(
                    "problem.year_option_unused.column", "problem.year_option_unused.column.fix"
                ),
                row=layout.header_row,
                value=period_text(options.year),
            )
        return
    if options.year is not None:
        layout.period, layout.period_from = options.year, "option"
    elif options.sheet_year is not None:
        if title.year is not None and title.year != options.sheet_year:
            report.error(
                "title_year",
                **texts(
                    "problem.title_year.sheet",
                    "problem.title_year.sheet.fix",
                    sheet_year=period_text(options.sheet_year),
                    title_year=title.year_text,
                ),
                row=title.year_row,
                value=title.year_text,
            )
            layout.period_from = "refused"
            return
        layout.period, layout.period_from = options.sheet_year, "sheet"
    elif title.year is not None:
        layout.period, layout.period_from = title.year, "title"
    elif title.year_problem:
        _refuse_title_year(layout, report)


def _refuse_title_year(layout: Layout, report: Report) -> None:
    """A cumulative figure, or several years, in the title of a table with no year column."""
    title = layout.title
    cumulative = title.year_problem == "cumulative"
    why = {
        lang: i18n.t(
            "problem.title_year.cumulative" if cumulative else "problem.title_year.several", lang
        )
        for lang in ("en", "zh")
    }
    report.error(
        "title_year",
        **texts(
            "problem.title_year.unused",
            "problem.title_year.unused.fix",
            title_year=title.year_text,
            en={"why": why["en"]},
            zh={"why": why["zh"]},
        ),
        row=title.year_row,
        value=title.year_text,
    )
    layout.period_from = "refused"


def apply_donor(layout: Layout, options: ReadOptions, resolver: Resolver | None) -> None:
    """The donor of a register without a donor column: --donor, or the title's
    ("2021年度上海市对口帮扶…"), when the title's name is a place that gives."""
    fields = layout.mapping.fields()
    if "donor" in fields or "donor_province" in fields:
        return
    if options.donor:
        layout.donor, layout.donor_from = options.donor, "option"
        return
    found = register.title_donor(layout.title)
    if found is None:
        return
    name, _row, verb = found
    if resolver is not None:
        place = try_resolve(resolver, name)
        if isinstance(place, Exception):
            return  # PlaceError: not a place we know, so not a donor we name
        province = str(getattr(place, "province_adcode", None) or getattr(place, "adcode", ""))
        if "东西部" in verb and province[:2] not in register.EAST_DONOR_PROVINCES:
            return  # a western place's 东西部协作 register: it receives
    elif "东西部" in verb:
        return
    layout.donor, layout.donor_from = name, "title"


_RECIPIENT_IN_TITLE = re.compile(
    r"(?:对口帮扶|对口支援|帮扶|支援|援助|东西部(?:扶贫)?协作)"
    r"(?P<place>[\u4e00-\u9fff]{2,14}?(?:省|自治区|市|州|地区|盟))"
)


def apply_within(layout: Layout, options: ReadOptions, resolver: Resolver | None) -> None:
    """A sheet named for a prefecture, or a title naming where the help goes ("…对口帮扶
    云南省…"): the area where a short name in a table without upper place columns is
    looked for first (a name not found there is looked for everywhere, as before)."""
    if resolver is None:
        return
    candidates = [(options.sheet_name, "sheet")] if options.sheet_name else []
    for text in layout.title.texts:
        m = _RECIPIENT_IN_TITLE.search(re.sub(r"\s+", "", text))
        if m:
            candidates.append((m.group("place"), "title"))
    for name, source in candidates:
        place = try_resolve(resolver, name)
        if isinstance(place, Exception):
            continue  # PlaceError: not a place
        if getattr(place, "level", None) in ("province", "prefecture"):
            layout.within, layout.within_from = name, source
            return
