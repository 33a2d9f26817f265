"""What holds for every row of a table that has no column for it.

The money unit (单位：万元 in the title, or --unit), the year or period (--year, the
sheet's name, the title, or the years in the header), the donor (--donor, or the
title's "上海市对口帮扶…") and the area short names are looked for in (a sheet named
for a prefecture, or the title's "…对口帮扶云南省…"). Each ``apply_*`` sets them on the
``Layout`` and says where they came from (``*_from``).
"""

from __future__ import annotations

import re

from twinning.imports import register
from twinning.imports.cells import Resolver, is_figure_column, report_unreadable
from twinning.imports.layout import Layout, ReadOptions
from twinning.imports.places import try_resolve
from twinning.imports.problems import ParseError, Report, quote_zh
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
            f"the unit {unit!r} is not a money unit (元, 万元, 亿元)",
            message_zh=f"单位{quote_zh(unit)}不是货币单位（元、万元、亿元）",
            value=unit,
            suggestion="give a money unit such as 万元",
            suggestion_zh="请给出货币单位，如 万元",
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
                "the file has a year column; the year given for the file is not used",
                message_zh="文件中有年份列；为整个文件指定的年份不使用",
                row=layout.header_row,
                value=period_text(options.year),
                suggestion="drop --year, or delete the year column if the given year is right",
                suggestion_zh="请去掉 --year；如果指定的年份正确，也可以删除年份列",
            )
        return
    if options.year is not None:
        layout.period, layout.period_from = options.year, "option"
    elif options.sheet_year is not None:
        if title.year is not None and title.year != options.sheet_year:
            report.error(
                "title_year",
                f"the sheet's name says {period_text(options.sheet_year)} but its title says "
                f"{title.year_text}; there is no year column to decide",
                message_zh=f"工作表名称为 {period_text(options.sheet_year)}，标题却是"
                f"{title.year_text}；又没有年份列可以确定",
                row=title.year_row,
                value=title.year_text,
                suggestion="rename the sheet or correct the title, or give the year with --year",
                suggestion_zh="请修改工作表名称或标题，或用 --year 指定年份",
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
    why = (
        "it is a cumulative ('累计' / '截至') figure"
        if cumulative
        else "the title names more than one year"
    )
    why_zh = "是累计（“累计”或“截至”）数" if cumulative else "标题中有不止一个年份"
    report.error(
        "title_year",
        f"no year column, and the year in the title ({title.year_text}) is not used: {why}",
        message_zh=f"没有年份列，标题中的年份（{title.year_text}）也不能使用：{why_zh}",
        row=title.year_row,
        value=title.year_text,
        suggestion="add a 年度 column (or 起始年 / 结束年 for a period), or give the year "
        "with --year (the import page: 年度)",
        suggestion_zh="请增加“年度”列（时段请用“起始年”“结束年”），或用 --year 指定年份"
        "（导入页面：“年度”）",
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
