"""Checking rows and turning them into store records (figures or pairings).

Why one streaming pass: a register can hold 500,000 rows, so every check here
works row by row with small running state (duplicate digests, section sums for
合计 rows, a place cache) instead of loading the file into a DataFrame.

Three layouts are recognised from the mapped fields:
- wide: one row per project or year, one column per metric (帮扶资金(万元), 项目数 ...);
- long: one row per figure (指标 / 数值 / 单位);
- pairings: donor -> recipient rows with years and no figures.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from twinning.imports import register
from twinning.imports.headers import (
    FIELDS,
    ColumnMap,
    Mapping,
    apply_overrides,
    auto_mapping,
    column_letter,
    field_label,
    header_score,
    match_header,
)
from twinning.imports.numbers import (
    EXACT,
    format_decimal,
    is_blank,
    normalise_text,
    parse_number,
)
from twinning.imports.problems import ParseError, Report, quote_zh
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

MIN_YEAR = 1978
HEADER_SEARCH_ROWS = 30
DEFAULT_CONFIDENCE = "office_record"
EXAMPLE_MARK = "示例行 EXAMPLE ROW"

PROGRAMS: dict[str, str] = {
    "east_west_cooperation": "east_west_cooperation",
    "东西部协作": "east_west_cooperation",
    "东西部扶贫协作": "east_west_cooperation",
    "东西协作": "east_west_cooperation",
    "携手奔小康": "east_west_cooperation",
    "east-west cooperation": "east_west_cooperation",
    "counterpart_support_xinjiang": "counterpart_support_xinjiang",
    "对口支援新疆": "counterpart_support_xinjiang",
    "援疆": "counterpart_support_xinjiang",
    "counterpart_support_tibet": "counterpart_support_tibet",
    "对口支援西藏": "counterpart_support_tibet",
    "援藏": "counterpart_support_tibet",
    "counterpart_support_qinghai": "counterpart_support_qinghai",
    "对口支援青海": "counterpart_support_qinghai",
    "援青": "counterpart_support_qinghai",
    "three_gorges": "three_gorges",
    "三峡": "three_gorges",
    "对口支援三峡库区": "three_gorges",
    "三峡库区对口支援": "three_gorges",
    "other": "other",
    "其他": "other",
}

TOTAL_WORDS = {"合计", "总计", "小计", "共计", "累计", "total", "subtotal", "sum", "grand total"}

_TOTAL_FIELDS = {
    "donor",
    "recipient",
    "recipient_county",
    "recipient_prefecture",
    "recipient_province",
    "project",
    "serial",
    "year",
    "donor_province",
}

Resolver = Callable[..., object]  # (name, within=None) -> Place; raises PlaceError


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
                "year": _period_text(self.title.year) or None,
            },
            "unit": self.unit_default or None,
            "unit_from": self.unit_from or None,
            "year": _period_text(self.period) or None,
            "year_from": self.period_from or None,
            "donor": self.donor or None,
            "donor_from": self.donor_from or None,
            "within": self.within or None,
            "within_from": self.within_from or None,
        }


ROLE_ZH = {"donor": "帮扶方", "recipient": "受援地"}


def field_zh(name: str | None) -> str:
    """The Chinese label of a field or metric, for Chinese messages (the code if unknown)."""
    return field_label(name, "zh")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalise_text(str(value))


def _is_blank_row(cells: list[object]) -> bool:
    return all(is_blank(c) if isinstance(c, str) or c is None else False for c in cells)


@dataclass
class ReadOptions:
    """What the person says about the whole file (CLI --year / --unit, the web page)."""

    year: int | tuple[int, int] | None = None
    unit: str = ""
    donor: str = ""
    sheet_year: int | tuple[int, int] | None = None  # from a sheet's name ("2021年")
    sheet_name: str = ""  # a sheet named for a prefecture ("文山州") places short names
    sheet_year_text: str = ""


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
    non_blank = [(n, c) for n, c in head if not _is_blank_row(c)]
    if not non_blank:
        report.error(
            "empty",
            "the file has no rows with content",
            message_zh="文件中没有任何有内容的行",
            suggestion="check that the right file or sheet was chosen",
            suggestion_zh="请确认选择了正确的文件或工作表",
        )
        return None, iter(())
    best_i, best_score = 0, -1
    named = {k for k, v in (overrides or {}).items() if v.get("field")}
    for i, (_n, cells) in enumerate(head):
        if register.is_title_row(cells, header_score):
            continue  # 填报单位：… / 单位：万元 / a one-cell title
        score = header_score(cells) + 2 * sum(1 for c in cells if _text(c) in named)
        if score > best_score:
            best_i, best_score = i, score
    if best_score < 2:
        first_n, first_cells = non_blank[0]
        shown = ", ".join(_text(c) for c in first_cells if not is_blank(_text(c)))[:200]
        report.error(
            "no_header",
            "no header row found: no row in the first 30 names the columns this import needs",
            message_zh="找不到表头行：前 30 行中没有一行写明本次导入所需的列名",
            row=first_n,
            value=shown,
            suggestion="put one header row with names such as 帮扶方, 受援县, 年度, "
            "帮扶资金(万元), 项目数, 脱贫人口 (or donor, recipient, year, funds (10k yuan)); "
            "`twinning template -o t.xlsx` writes an example",
            suggestion_zh="请设置一行表头，列名如 帮扶方、受援县、年度、帮扶资金(万元)、项目数、"
            "脱贫人口；运行 `twinning template -o 模板.xlsx` 可生成示例模板",
        )
        return None, iter(())
    merged = register.apply_merges(head, [m for m in merges or () if m[0] <= head[-1][0]])
    merged_rows = {
        r for m in merges or () if m[2] > m[0] for r in range(m[0], m[2] + 1)
    }  # rows a vertically merged range spans
    top, bottom = register.header_block(merged, best_i, header_score, merged_rows)
    if bottom - top + 1 == register.MAX_HEADER_ROWS:
        deeper = register.deeper_header(merged, bottom)
        if deeper is not None:
            report.error(
                "merged_header",
                f"the header takes more than {register.MAX_HEADER_ROWS} rows "
                f"({merged[top][0]} to {deeper} at least)",
                message_zh=f"表头超过 {register.MAX_HEADER_ROWS} 行"
                f"（至少从第 {merged[top][0]} 行到第 {deeper} 行）",
                row=deeper,
                value=" | ".join(_text(c) for c in merged[bottom + 1][1] if _text(c))[:200],
                suggestion="join the header into at most three rows (e.g. 帮扶资金 over "
                "合计 / 财政资金 / 社会资金), or write one header row",
                suggestion_zh="请把表头合并为不超过三行（如 帮扶资金 下分 合计 / 财政资金 / "
                "社会资金），或只写一行表头",
            )
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
                f"the mapping names a column {missing!r} that is not in the header row",
                message_zh=f"表头对应中写的列{quote_zh(missing)}不在表头行中",
                row=header_n,
                column=missing,
                suggestion="check the spelling in the mapping file",
                suggestion_zh="请检查表头对应文件中的拼写",
            )
    rest = iter(head[bottom + 1 :])
    title = register.read_title([(n, c) for n, c in merged[:top] if not _is_blank_row(c)])
    if title.rows:
        titles = title.rows
        report.warning(
            "title_rows",
            f"the header is on row {header_rows[0]}; "
            + (f"row {titles[0]}" if len(titles) == 1 else f"rows {titles[0]}-{titles[-1]}")
            + " above it is read as a title and not imported",
            message_zh=f"表头在第 {header_rows[0]} 行；其上方的"
            + (f"第 {titles[0]} 行" if len(titles) == 1 else f"第 {titles[0]}–{titles[-1]} 行")
            + "视为标题，不导入",
            row=header_rows[0],
            value=" | ".join(title.texts)[:200],
            suggestion="nothing to do if those rows are a title",
            suggestion_zh="如果这些行是标题，无需处理",
        )
    for col in mapping.columns:
        # 单位：万元 written in a cell of the header row: the unit of the table, not a column
        if col.field not in (None, "unit") or col.how == "user":
            continue
        m = register.UNIT_IN_TITLE.match(col.header)
        if m and not title.unit:
            try:
                if parse_unit(m.group("unit")).dimension == MONEY:
                    title.unit, title.unit_row = m.group("unit"), header_n
                    col.field, col.unit, col.how = None, "", "unit_note"
            except ParseError:
                pass
    layout = Layout(header_n, mapping, "wide", header_rows=header_rows, title=title)
    _apply_units(layout, options, report)
    _find_groups(layout, report)
    # Columns with the same field twice are ambiguous (unless parts of one 合计, or years).
    seen: dict[tuple, ColumnMap] = {}
    for col in mapping.columns:
        if not col.field or col.field in ("serial", "note"):
            continue
        key = (col.field, col.year, col.group if col.role else None, col.index if col.role else 0)
        if key in seen:
            report.error(
                "duplicate_field",
                f"columns {seen[key].label!r} and {col.label!r} both map to {col.field}",
                message_zh=f"{quote_zh(seen[key].label)}列和{quote_zh(col.label)}列"
                f"都对应字段“{field_zh(col.field)}”（{col.field}）",
                row=header_n,
                column=col.label,
                suggestion="rename one header, or map one of them to another field "
                "(or to nothing) in the mapping",
                suggestion_zh="请修改其中一列的表头，或在表头对应中把其中一列改为其他字段"
                "（或不导入）",
            )
        else:
            seen[key] = col
    for col in mapping.columns:
        if col.field is None and col.header and col.how != "unit_note":
            report.warning(
                "unmapped_column",
                f"column {col.label!r} is not matched to any field; its values are not imported",
                message_zh=f"{quote_zh(col.label)}列未对应任何字段，其中的值不导入",
                row=header_n,
                column=col.label,
                suggestion="map it in the mapping step / --mapping file if it holds figures",
                suggestion_zh="如果该列含有数字，请在“表头对应”步骤（或 --mapping 文件）中"
                "为它指定字段",
            )
    for col in mapping.columns:
        if col.unit and (col.field in METRICS or _is_custom_metric(col)):
            try:
                parse_unit(col.unit)
            except ParseError as exc:
                report.error(
                    "bad_unit",
                    f"column {col.label!r}: {exc.message}",
                    message_zh=f"{quote_zh(col.label)}列：{exc.message_zh}",
                    row=header_n,
                    column=col.label,
                    value=col.unit,
                    suggestion=exc.suggestion,
                    suggestion_zh=exc.suggestion_zh,
                )
    fields = mapping.fields()
    metric_cols = [c for c in mapping.columns if c.field in METRICS or _is_custom_metric(c)]
    if "metric" in fields or "value" in fields:
        form = "long"
    elif metric_cols:
        form = "wide"
    else:
        form = "pairings"
    layout.form = form
    _apply_year(layout, options, report)
    _apply_donor(layout, options, resolver)
    _apply_within(layout, options, resolver)
    _check_required(layout, report)
    return layout, rest_then(rest, rows)


def _apply_units(layout: Layout, options: ReadOptions, report: Report) -> None:
    """单位：万元 in the title (or --unit) for the money columns that state no unit."""
    unit, source = (options.unit, "option") if options.unit else (layout.title.unit, "title")
    if not unit:
        return
    try:
        parsed = parse_unit(unit)
    except ParseError as exc:
        report.error(
            "bad_unit",
            exc.message,
            message_zh=exc.message_zh,
            row=layout.title.unit_row if source == "title" else None,
            value=unit,
            suggestion=exc.suggestion,
            suggestion_zh=exc.suggestion_zh,
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


def _find_groups(layout: Layout, report: Report) -> None:
    """A 合计 column beside its parts (帮扶资金/合计 | 帮扶资金/财政援助资金 | …).

    Columns of one field under one upper name (or one field in a one-row header) form a
    group; the one named 合计 / 小计 / 总计 (or the one not named 其中…) is the total of
    the others. The parts are stored and checked against the total; the total is stored
    only in rows where every part is blank.
    """
    groups: dict[tuple, list[ColumnMap]] = {}
    for col in layout.mapping.columns:
        if col.field in METRICS or _is_custom_metric(col):
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
                f"column {inside.label!r} is a part ('of which') of column {total.label!r}; "
                "its values are inside that column's and are not imported",
                message_zh=f"{quote_zh(inside.label)}列是{quote_zh(total.label)}列的“其中”项，"
                "其数值已包含在该列中，不导入",
                row=layout.header_row,
                column=inside.label,
                suggestion="map it to another field in the mapping if it is a different figure",
                suggestion_zh="如果它是另一个指标，请在表头对应中为它指定字段",
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


def _apply_year(layout: Layout, options: ReadOptions, report: Report) -> None:
    """The period of rows without a year column: --year, the sheet's name or the title."""
    fields = layout.mapping.fields()
    has_year = any(f in fields for f in ("year", "start_year", "end_year"))
    if layout.form == "pairings":
        return
    metric_cols = [c for c in layout.mapping.columns if c.field in METRICS or _is_custom_metric(c)]
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
                value=_period_text(options.year),
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
                f"the sheet's name says {_period_text(options.sheet_year)} but its title says "
                f"{title.year_text}; there is no year column to decide",
                message_zh=f"工作表名称为 {_period_text(options.sheet_year)}，标题却是"
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
        why = (
            "it is a cumulative ('累计' / '截至') figure"
            if title.year_problem == "cumulative"
            else "the title names more than one year"
        )
        why_zh = (
            "是累计（“累计”或“截至”）数"
            if title.year_problem == "cumulative"
            else ("标题中有不止一个年份")
        )
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


def _apply_donor(layout: Layout, options: ReadOptions, resolver: Resolver | None) -> None:
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
        try:
            place = resolver(name)
        except Exception as exc:  # PlaceError: not a place we know, so not a donor we name
            if not hasattr(exc, "candidates"):
                raise
            return
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


def _apply_within(layout: Layout, options: ReadOptions, resolver: Resolver | None) -> None:
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
        try:
            place = resolver(name)
        except Exception as exc:  # PlaceError: not a place
            if not hasattr(exc, "candidates"):
                raise
            continue
        if getattr(place, "level", None) in ("province", "prefecture"):
            layout.within, layout.within_from = name, source
            return


def _period_text(period: int | tuple[int, int] | None) -> str:
    if isinstance(period, tuple):
        return f"{period[0]}-{period[1]}"
    return "" if period is None else str(period)


def rest_then(first: Iterable, then: Iterator) -> Iterator:
    yield from first
    yield from then


def _looks_like_label(value: object) -> bool:
    text = _text(value)
    if not text:
        return False
    try:
        n = parse_number(text)
    except ParseError:
        return True
    # "2019年" or "(万元)" in a sub-header row are labels, not data
    return n is None or bool(n.unit_text)


def _is_custom_metric(col: ColumnMap) -> bool:
    return bool(col.field) and col.field not in FIELDS and col.field not in METRICS


def _check_required(layout: Layout, report: Report) -> None:
    fields = layout.mapping.fields()
    n = layout.header_row

    def need(names: tuple[str, ...], label: str, label_zh: str) -> None:
        if not any(f in fields for f in names):
            report.error(
                "missing_column",
                f"no {label} column",
                message_zh=f"缺少“{label_zh}”列",
                row=n,
                suggestion=f"add a column {label}, or map an existing column to "
                + " / ".join(names),
                suggestion_zh=f"请增加“{label_zh}”列，或把现有的某一列对应到"
                + "、".join(f"“{field_zh(f)}”（{f}）" for f in names),
            )

    if not layout.donor:
        need(("donor", "donor_province"), "帮扶方 (donor)", "帮扶方")
    need(
        ("recipient", "recipient_county", "recipient_prefecture", "recipient_province"),
        "受援地 / 受援县 (recipient)",
        "受援地 / 受援县",
    )
    if layout.form == "pairings":
        need(("program",), "帮扶类型 (program)", "帮扶类型")
        if not any(f in fields for f in ("start_year", "end_year", "year")):
            report.warning(
                "no_years",
                "no year columns: the pairings are stored without start and end years",
                message_zh="没有年份列：结对关系将不带起止年份保存",
                row=n,
                suggestion="add 起始年 / 结束年 columns if the years are known",
                suggestion_zh="如果知道年份，请增加“起始年”“结束年”列",
            )
        return
    if layout.period is None and not layout.period_from:
        need(
            ("year", "start_year", "end_year"),
            "年度 / 起始年 / 结束年 (year or period)",
            "年度 / 起始年 / 结束年",
        )
    if layout.form == "long":
        need(("metric",), "指标 (metric)", "指标")
        need(("value",), "数值 (value)", "数值")


# --- cell readers ---------------------------------------------------------------------

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
                    f"{s!r} is not a year",
                    "write a year such as 2019 (or a period 2006-2010 in the year column)",
                    message_zh=f"{quote_zh(s)}不是年份",
                    suggestion_zh="请填写年份，如 2019（年份列也可填写时段，如 2006-2010）",
                )
            years = (int(m2.group(1)),)
    for y in years:
        if y > this_year:
            raise ParseError(
                f"year {y} is in the future (it is {this_year} now)",
                "check the year; figures can only be imported for years that have passed",
                message_zh=f"{y} 年是未来的年份（今年是 {this_year} 年）",
                suggestion_zh="请检查年份；只能导入已经过去的年份的数字",
            )
        if y < MIN_YEAR:
            raise ParseError(
                f"year {y} is before {MIN_YEAR}",
                f"pairing assistance data starts in {MIN_YEAR}; check the digits",
                message_zh=f"{y} 年早于 {MIN_YEAR} 年",
                suggestion_zh=f"对口帮扶数据从 {MIN_YEAR} 年开始；请检查数字",
            )
    if len(years) == 2:
        if years[0] > years[1]:
            raise ParseError(
                f"the period starts in {years[0]} but ends in {years[1]}",
                "swap the two years",
                message_zh=f"时段的起始年为 {years[0]} 年，结束年却为 {years[1]} 年",
                suggestion_zh="请对调两个年份",
            )
        return years[0], years[1]
    return years[0]


def _not_a_year(value: object) -> ParseError:
    return ParseError(
        f"{value!r} is not a year",
        "write a year such as 2019",
        message_zh=f"{quote_zh(value)}不是年份",
        suggestion_zh="请填写年份，如 2019",
    )


def _digest(parts: Iterable[object]) -> int:
    """A 64-bit digest, valid within one process (all comparisons happen in one import).

    Python's tuple hash is fast and 64-bit; 500,000 of them fit in a few tens of MB,
    unlike the rows themselves.
    """
    return hash(tuple(parts))


class DigestIndex:
    """digest -> first row number, in about 16 bytes per row.

    Why not a dict: a dict of 500,000 ints takes ~55 MB, more than the rest of the
    import together. Recent digests sit in a small dict; every ``merge_every`` rows
    they are merged into one sorted numpy array that is searched by bisection.
    """

    def __init__(self, merge_every: int = 16384) -> None:
        self.merge_every = merge_every
        self._recent: dict[int, int] = {}
        self._keys = None  # sorted int64 digests
        self._rows = None  # row numbers in the same order

    def get(self, digest: int) -> int | None:
        row = self._recent.get(digest)
        if row is not None or self._keys is None:
            return row
        import numpy as np

        i = int(np.searchsorted(self._keys, digest))
        if i < len(self._keys) and self._keys[i] == digest:
            return int(self._rows[i])
        return None

    def add(self, digest: int, row: int) -> None:
        self._recent[digest] = row
        if len(self._recent) >= self.merge_every:
            self._merge()

    def _merge(self) -> None:
        import numpy as np

        n = len(self._recent)
        keys = np.fromiter(self._recent.keys(), dtype=np.int64, count=n)
        rows = np.fromiter(self._recent.values(), dtype=np.int64, count=n)
        if self._keys is not None:
            keys = np.concatenate([self._keys, keys])
            rows = np.concatenate([self._rows, rows])
        order = np.argsort(keys, kind="stable")
        self._keys, self._rows = keys[order], rows[order]
        self._recent = {}


def figure_key(rec: dict) -> int:
    """Identity of a stored figure, for duplicates against the store."""
    return _digest(
        (
            rec.get("recipient_adcode") or rec.get("recipient"),
            rec.get("donor"),
            rec.get("metric"),
            rec.get("period_start"),
            rec.get("period_end"),
            float(rec.get("value")),
            rec.get("unit"),
            rec.get("project") or "",
            rec.get("part") or "",
        )
    )


def pairing_key(rec: dict) -> int:
    return _digest(
        (
            rec.get("program"),
            rec.get("donor_province"),
            rec.get("donor_unit") or "",
            rec.get("recipient_adcode")
            or rec.get("recipient_county")
            or rec.get("recipient_prefecture")
            or rec.get("recipient_province"),
            rec.get("start_year"),
            rec.get("end_year"),
        )
    )


# --- the row checker ------------------------------------------------------------------


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


@dataclass
class Checker:
    """Checks rows one at a time and yields records; state stays small."""

    layout: Layout
    report: Report
    resolver: Resolver | None
    source_label: str
    stored_keys: dict[int, tuple[int, int | None, str]] = field(default_factory=dict)
    this_year: int = field(default_factory=lambda: dt.date.today().year)
    totals: Totals = field(default_factory=Totals)
    rows_seen: int = 0
    rows_used: int = 0
    records: int = 0
    skipped_total_rows: list[int] = field(default_factory=list)
    # rows not read as data, by kind: subtotal, total, breakdown (其中), note, heading
    skipped: dict[str, list[int]] = field(default_factory=dict)
    merges: list = field(default_factory=list)  # xlsx merged ranges (min_row, min_col, ...)
    quote_prefix: str = ""  # "[2021年] " for one sheet of several
    _row_digests: DigestIndex = field(default_factory=DigestIndex)
    _place_cache: dict[tuple[str, str | None], object] = field(default_factory=dict)
    _section: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    _file: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    # per column: sums since the last 小计 and over the file, for checking 小计 / 合计 rows
    _col_section: dict[int, Decimal] = field(default_factory=dict)
    _col_file: dict[int, Decimal] = field(default_factory=dict)
    _section_rows: list[int] = field(default_factory=list)  # first and last data row
    _pending: list = field(default_factory=list)  # totals above their rows, checked later
    _leading: bool = False  # 小计 rows sit above their sections
    _carry: dict[str, tuple[str, int]] = field(default_factory=dict)  # filled-down places
    _first_data_row: int = 0
    _targets: list | None = None  # the figure columns (computed on the first row)
    _cells: list[object] = field(default_factory=list)  # the row being checked

    # places ---------------------------------------------------------------------------
    def _resolve_quietly(self, name: str, within: str):
        """The place ``name`` means inside ``within``, or None (no problem reported)."""
        if self.resolver is None:
            return None
        key = (name, "\x00" + within)
        if key not in self._place_cache:
            try:
                self._place_cache[key] = self.resolver(name, within=within)
            except Exception as exc:  # PlaceError
                if not hasattr(exc, "candidates"):
                    raise
                self._place_cache[key] = None
        return self._place_cache[key]

    def _former_note(self, role: str, name: str, within: str | None, place: object) -> str | None:
        """What the record keeps when ``name`` reached ``place`` as a former name (or through
        the parent it had then): the change, its year and its source (issue #11)."""
        gazetteer = getattr(self.resolver, "__self__", None)
        if not hasattr(gazetteer, "former_name_note") or not hasattr(place, "adcode"):
            return None
        try:
            note = gazetteer.former_name_note(name, place, within=within)
        except Exception:  # PlaceError of an odd ``within``: no note rather than no import
            return None
        return f"{role} {name}: {note}" if note else None

    def _resolve(self, name: str, within: str | None, row: int, column: str, role: str):
        """Resolve through the gazetteer; report ambiguity or absence with candidates."""
        if self.resolver is None:
            return None
        key = (name, within)
        if key in self._place_cache:
            result = self._place_cache[key]
        else:
            try:
                result = self.resolver(name, within=within)
            except Exception as exc:  # PlaceError (AmbiguousPlace / PlaceNotFound)
                if not hasattr(exc, "candidates"):
                    raise
                result = exc
            self._place_cache[key] = result
        if isinstance(result, Exception) and self.layout.form != "pairings":
            scope = _scope_of(self.resolver, name)  # a list, a group, a division (#10)
            if scope is not None:
                return scope
        if isinstance(result, Exception):
            cands = list(getattr(result, "candidates", []) or [])[:8]
            shown = "; ".join(_place_label(c) for c in cands)
            ambiguous = any(k.__name__ == "AmbiguousPlace" for k in type(result).__mro__)
            shown_zh = "；".join(_place_label_zh(c) for c in cands)
            ambiguous = any(k.__name__ == "AmbiguousPlace" for k in type(result).__mro__)
            where = f" in {within}" if within else ""
            where_zh = f"（在{quote_zh(within)}范围内）" if within else ""
            who_zh = f"{ROLE_ZH.get(role, role)}{quote_zh(name)}{where_zh}"
            if ambiguous:
                msg = f"{role} {name!r}{where} matches several places: {shown}"
                msg_zh = f"{who_zh}对应多个地方：{shown_zh}"
                sug = "write the full name or the adcode, or add the province / prefecture column"
                sug_zh = "请写全称或 6 位行政区划代码，或增加省、市（州）列"
                code = "ambiguous_place"
            else:
                msg = f"{role} {name!r}{where} is not a known place"
                msg_zh = f"{who_zh}不是已知地名"
                if shown:
                    msg += f"; did you mean: {shown}"
                    msg_zh += f"；是否指：{shown_zh}"
                sug = "check the spelling, use today's name or the 6-digit adcode"
                sug_zh = "请检查拼写，使用现名或 6 位行政区划代码"
                code = "unknown_place"
            if role == "donor" and not ambiguous:
                self.report.warning(
                    code,
                    msg + " (kept as text; it will not be drawn on the map)",
                    message_zh=msg_zh + "（按文字保留，不在地图上显示）",
                    row=row,
                    column=column,
                    value=name,
                    suggestion=sug,
                    suggestion_zh=sug_zh,
                )
                return None
            self.report.error(
                code,
                msg,
                message_zh=msg_zh,
                row=row,
                column=column,
                value=name,
                suggestion=sug,
                suggestion_zh=sug_zh,
            )
            return False
        return result

    # rows -----------------------------------------------------------------------------
    def _skip(self, kind: str, number: int) -> None:
        self.skipped.setdefault(kind, []).append(number)

    def _merged_down(self, rows: Iterable[tuple[int, list[object]]]):
        """Rows with vertically merged cells filled down (an xlsx 州 or 年度 cell merged
        over several rows), except in figure columns, where a merged value is one figure."""
        figure_cols = {
            c.index
            for c in self.layout.mapping.columns
            if c.field in METRICS or _is_custom_metric(c)
        }
        starts: dict[int, list] = {}
        for r0, c0, r1, c1 in self.merges:
            if r1 > r0:
                starts.setdefault(r0, []).append((c0 - 1, c1, r1))
        active: list[tuple[int, int, int, object]] = []  # (first col, end col, last row, value)
        for number, cells in rows:
            if active or number in starts:
                cells = list(cells)
                active = [a for a in active if a[2] >= number]
                for c0, c1, _r1, value in active:
                    for c in range(c0, c1):
                        if c not in figure_cols:
                            while len(cells) <= c:
                                cells.append(None)
                            if register.is_blank_cell(cells[c]):
                                cells[c] = value
                for c0, c1, r1 in starts.get(number, ()):
                    if c0 < len(cells) and not register.is_blank_cell(cells[c0]):
                        active.append((c0, c1, r1, cells[c0]))
            yield number, cells

    def check(self, rows: Iterable[tuple[int, list[object]]]) -> Iterator[dict]:
        m = self.layout.mapping
        cols = {c.field: c for c in m.columns if c.field}
        if self.merges:
            rows = self._merged_down(rows)
        for number, cells in rows:
            if _is_blank_row(cells):
                continue
            note = register.note_text(cells)
            if note is not None:
                self._skip("note", number)
                self.report.warning(
                    "note_row",
                    "a note under the table is not imported",
                    message_zh="表格下方的注释行不导入",
                    row=number,
                    value=note,
                    suggestion="nothing to do if this row is a note",
                    suggestion_zh="如果这一行是注释，无需处理",
                )
                continue
            heading = register.section_heading(cells)
            if heading is None and self.rows_seen == 0:
                heading = register.column_numbers(cells)  # 甲 | 乙 | 1 | 2 | 3 under the header
            if heading is not None:
                self._skip("heading", number)
                self.report.warning(
                    "heading_row",
                    "a heading between the rows is not imported",
                    message_zh="表格中的分组标题行不导入",
                    row=number,
                    value=heading,
                    suggestion="nothing to do if this row only names a group of rows",
                    suggestion_zh="如果这一行只是一组数据的标题，无需处理",
                )
                continue
            self.rows_seen += 1

            def cell(fld: str, _cells=cells) -> object:
                col = cols.get(fld)
                if col is None or col.index >= len(_cells):
                    return None
                return _cells[col.index]

            if any(isinstance(c, str) and EXAMPLE_MARK in c for c in cells):
                self.report.warning(
                    "example_row",
                    "this is the template's example row; it is not imported",
                    message_zh="这是模板中的示例行，不导入",
                    row=number,
                    suggestion="delete the example row once your own rows are in",
                    suggestion_zh="填好自己的数据后，请删除示例行",
                )
                continue
            kind = self._total_kind(cells)
            if kind == "breakdown":
                self._skip("breakdown", number)
                self.report.warning(
                    "breakdown_row",
                    "a 其中 (of which) row repeats part of the row above; it is not imported",
                    message_zh="“其中”行是上一行的一部分，不导入（否则会重复计算）",
                    row=number,
                    value=" | ".join(_text(c) for c in cells if _text(c))[:200],
                    suggestion="nothing to do; put the parts in columns of their own if "
                    "they should be kept",
                    suggestion_zh="无需处理；如需保留这些分项，请把它们放在单独的列中",
                )
                continue
            if kind:
                self._check_total(number, cells, cols, kind)
                continue
            self._fill_places(cells, cols)
            digest = _digest(
                _text(cells[c.index]) if c.index < len(cells) else "" for c in m.columns if c.field
            )
            first = self._row_digests.get(digest)
            if first is not None:
                self.report.error(
                    "duplicate_row",
                    f"row {number} repeats row {first} (every mapped cell is the same)",
                    message_zh=f"第 {number} 行与第 {first} 行重复（所有已对应的单元格都相同）",
                    row=number,
                    value=" | ".join(_text(c) for c in cells if not is_blank(_text(c)))[:200],
                    suggestion="delete one of the two rows; if both are real, tell them "
                    "apart in a 项目名称 / 备注 column",
                    suggestion_zh="请删除其中一行；如果两行都是真实数据，请在“项目名称”或“备注”"
                    "列中加以区分",
                )
                continue
            self._row_digests.add(digest, number)
            self._cells = cells
            produced = list(self._row_records(number, cell, cols))
            if produced:
                self.rows_used += 1
                self._note_data_row(number)
            for rec in produced:
                self.records += 1
                yield rec

    def _row_records(self, number: int, cell, cols: dict[str, ColumnMap]) -> Iterator[dict]:
        ok = True
        # period
        start = end = None
        for fld in ("year", "start_year", "end_year"):
            raw = cell(fld)
            if raw is None or (isinstance(raw, str) and is_blank(raw)):
                continue
            try:
                y = parse_year(raw, self.this_year)
            except ParseError as exc:
                self.report.error(
                    "bad_year",
                    exc.message,
                    message_zh=exc.message_zh,
                    row=number,
                    column=cols[fld].label,
                    value=_text(raw),
                    suggestion=exc.suggestion,
                    suggestion_zh=exc.suggestion_zh,
                )
                ok = False
                continue
            if isinstance(y, tuple):
                if fld == "year" or start is None:
                    start, end = y
                continue
            if fld == "year":
                start = end = y
            elif fld == "start_year":
                start = y
            else:
                end = y
        if ok and start is not None and end is not None and start > end:
            self.report.error(
                "period_order",
                f"the period starts in {start} but ends in {end}",
                message_zh=f"时段的起始年为 {start} 年，结束年却为 {end} 年",
                row=number,
                column=cols.get("start_year", cols.get("year")).label,
                value=f"{start}-{end}",
                suggestion="swap 起始年 and 结束年",
                suggestion_zh="请对调“起始年”和“结束年”",
            )
            ok = False
        if start is None and end is None and self.layout.period is not None:
            start, end = (
                self.layout.period
                if isinstance(self.layout.period, tuple)
                else (self.layout.period, self.layout.period)
            )
        header_years = self.layout.period_from == "header"
        if (
            self.layout.form != "pairings"
            and ok
            and start is None
            and end is None
            and not header_years
        ):
            col = cols.get("year") or cols.get("end_year") or cols.get("start_year")
            self.report.error(
                "missing_value",
                "the year is blank",
                message_zh="年份为空",
                row=number,
                column=col.label if col else "",
                suggestion="fill in 年度",
                suggestion_zh="请填写“年度”",
            )
            ok = False
        if self.layout.form != "pairings" and start is None:
            start = end if "year" in cols else start
        # places
        donor_text = _text(cell("donor")) or _text(cell("donor_province")) or self.layout.donor
        donor_prov_text = _text(cell("donor_province"))
        if not donor_text:
            col = cols.get("donor") or cols.get("donor_province")
            self.report.error(
                "missing_value",
                "the donor (帮扶方) is blank",
                message_zh="帮扶方为空",
                row=number,
                column=col.label if col else "",
                suggestion="fill in 帮扶方",
                suggestion_zh="请填写“帮扶方”",
            )
            ok = False
        rec_parts = [
            (f, _text(cell(f)))
            for f in ("recipient_province", "recipient_prefecture", "recipient_county", "recipient")
        ]
        rec_parts = [(f, t) for f, t in rec_parts if t]
        if not rec_parts:
            col = next(
                (
                    cols[f]
                    for f in (
                        "recipient",
                        "recipient_county",
                        "recipient_prefecture",
                        "recipient_province",
                    )
                    if f in cols
                ),
                None,
            )
            self.report.error(
                "missing_value",
                "the recipient (受援地) is blank",
                message_zh="受援地为空",
                row=number,
                column=col.label if col else "",
                suggestion="fill in 受援地 / 受援县",
                suggestion_zh="请填写“受援地”或“受援县”",
            )
            ok = False
        donor_place = recip_place = None
        notes: list[str | None] = []  # how a former name reached today's unit (#11)
        if donor_text:
            within = donor_prov_text if donor_prov_text and donor_prov_text != donor_text else None
            donor_place = self._resolve(
                donor_text,
                within,
                number,
                getattr(cols.get("donor") or cols.get("donor_province"), "label", "")
                or self.layout.donor_from,
                "donor",
            )
            if donor_place is False:
                ok = False
            notes.append(self._former_note("donor", donor_text, within, donor_place))
        if rec_parts:
            fld, name = rec_parts[-1]
            within = rec_parts[-2][1] if len(rec_parts) > 1 else None
            recip_place = None
            if within is None and self.layout.within:
                recip_place = self._resolve_quietly(name, self.layout.within)
            if recip_place is None:
                recip_place = self._resolve(name, within, number, cols[fld].label, "recipient")
            else:
                within = self.layout.within
            if recip_place is False:
                ok = False
            notes.append(self._former_note("recipient", name, within, recip_place))
        recipient_text = rec_parts[-1][1] if rec_parts else ""
        program = None
        raw_prog = _text(cell("program"))
        if raw_prog:
            program = PROGRAMS.get(raw_prog.lower()) or PROGRAMS.get(raw_prog)
            if program is None:
                self.report.error(
                    "bad_program",
                    f"{raw_prog!r} is not a known programme",
                    message_zh=f"{quote_zh(raw_prog)}不是已知的帮扶类型",
                    row=number,
                    column=cols["program"].label,
                    value=raw_prog,
                    suggestion="use 东西部协作, 对口支援新疆 (援疆), 对口支援西藏 (援藏), "
                    "对口支援青海 (援青), 三峡 or 其他",
                    suggestion_zh="请使用 东西部协作、对口支援新疆（援疆）、对口支援西藏（援藏）、"
                    "对口支援青海（援青）、三峡 或 其他",
                )
                ok = False
        source = _text(cell("source")) or self.source_label
        confidence = _text(cell("confidence")) or DEFAULT_CONFIDENCE
        context = [
            f"{cols[f].label}: {_text(cell(f))}"
            for f in ("township", "village", "project", "note")
            if f in cols and _text(cell(f))
        ]
        common = {
            "row_number": number,
            "source": source,
            "confidence": confidence,
            "resolution_note": "; ".join(n for n in notes if n) or None,
        }
        if self.layout.form == "pairings":
            if not ok:
                return
            yield self._pairing(
                common,
                program,
                donor_text,
                donor_prov_text,
                donor_place,
                rec_parts,
                recip_place,
                start,
                end,
            )
            return
        base = {
            **common,
            "program": program,
            "donor": donor_text,
            "recipient": recipient_text,
            "donor_adcode": getattr(donor_place, "adcode", None),
            "recipient_adcode": getattr(recip_place, "adcode", None),
            "recipient_level": getattr(recip_place, "level", None),
            "period_start": start,
            "period_end": end,
            "unresolved_reason": None,
            **_scope_fields(donor_place, recip_place),
            "project": _text(cell("project")) or None,
            "part": None,
        }
        errors_before = self.report.errors
        figures = list(self._figures(number, cell, cols, context))
        if not ok:
            return
        if not figures and self.report.errors == errors_before:
            self.report.warning(
                "no_figures",
                "the row has no figures; nothing is stored from it",
                message_zh="该行没有任何数字，不保存",
                row=number,
                suggestion="fill in at least one figure column",
                suggestion_zh="请至少填写一个数字列",
            )
        for fig in figures:
            rec = {**base, **fig}
            key = figure_key(rec)
            hit = self.stored_keys.get(key)
            if hit is not None:
                self._stored_duplicate(number, rec, hit)
                if hit[2] == "import":
                    continue
            exact = rec.pop("_exact")
            self.totals.add(rec["metric"], rec["unit"], exact)
            k = (rec["metric"], rec["unit"])
            self._section[k] = self._section.get(k, Decimal(0)) + exact
            self._file[k] = self._file.get(k, Decimal(0)) + exact
            yield rec

    def _stored_duplicate(self, number: int, rec: dict, hit: tuple[int, int | None, str]) -> None:
        batch, row, kind = hit
        where = f"batch {batch}" + (f" (row {row})" if row else "")
        where_zh = f"批次 {batch}" + (f"（第 {row} 行）" if row else "")
        if kind == "import":
            period = f"{rec['period_start'] or ''}-{rec['period_end'] or ''}"
            self.report.error(
                "duplicate_stored",
                f"{rec['metric']} {rec['value_original']} for {rec['recipient']} "
                f"{period} is already stored in "
                f"{where}",
                message_zh=f"{rec['recipient']} {period} 年的{field_zh(rec['metric'])} "
                f"{rec['value_original']} 已保存在{where_zh}中",
                row=number,
                value=str(rec["value_original"]),
                suggestion=f"remove the row, or undo {where.split(' (')[0]} first "
                "(`twinning batches undo`) if this file replaces it",
                suggestion_zh=f"请删除该行；如果本文件要替换原有数据，请先撤销批次 {batch}"
                "（`twinning batches undo`）",
            )
        else:
            self.report.warning(
                "duplicate_reference",
                f"the reference data already has this figure ({where})",
                message_zh=f"参考数据中已有这个数字（{where_zh}）",
                row=number,
                value=str(rec["value_original"]),
                suggestion="nothing to do unless it is counted twice by mistake",
                suggestion_zh="除非被误算了两次，否则无需处理",
            )

    def _figures(self, number: int, cell, cols: dict[str, ColumnMap], context: list[str]):
        form = self.layout.form
        if form == "wide":
            yield from self._wide_figures(number, cell, cols, context)
            return
        # long form
        metric_col, value_col = cols.get("metric"), cols.get("value")
        if metric_col is None or value_col is None:
            return
        raw_metric = _text(cell("metric"))
        if not raw_metric:
            if not is_blank(_text(cell("value"))):
                self.report.error(
                    "missing_value",
                    "the metric (指标) is blank",
                    message_zh="指标为空",
                    row=number,
                    column=metric_col.label,
                    suggestion="fill in 指标",
                    suggestion_zh="请填写“指标”",
                )
            return
        fld, unit_in_name, _how = match_header(raw_metric)
        if fld is None and re.fullmatch(r"[a-z][a-z0-9_]*", raw_metric):
            fld = raw_metric
            self.report.warning(
                "new_metric",
                f"metric {raw_metric!r} is not one of the known metrics",
                message_zh=f"指标{quote_zh(raw_metric)}不在已知指标中",
                row=number,
                column=metric_col.label,
                value=raw_metric,
                suggestion="fine if it is meant to be new; known: " + ", ".join(METRICS),
                suggestion_zh="如果确实是新指标，无需处理；已知指标："
                + "、".join(f"{m.zh}（{m.name}）" for m in METRICS.values()),
            )
        if fld is None or fld in FIELDS:
            self.report.error(
                "unknown_metric",
                f"{raw_metric!r} is not a known metric",
                message_zh=f"{quote_zh(raw_metric)}不是已知指标",
                row=number,
                column=metric_col.label,
                value=raw_metric,
                suggestion="use one of: "
                + ", ".join(f"{m.zh} ({m.name})" for m in METRICS.values()),
                suggestion_zh="请使用以下指标之一："
                + "、".join(f"{m.zh}（{m.name}）" for m in METRICS.values()),
            )
            return
        unit_text = _text(cell("unit")) or unit_in_name
        if not unit_text and self.layout.unit_default and METRICS[fld].dimension == MONEY:
            unit_text = self.layout.unit_default  # 单位：万元 in the title of a long table
        rec = self._one_figure(
            number, value_col, fld, cell("value"), unit_text, context, unit_col=cols.get("unit")
        )
        if rec:
            yield rec

    def _wide_figures(self, number: int, cell, cols: dict[str, ColumnMap], context: list[str]):
        """One figure per figure column; of a 合计 and its parts, the parts (checked)."""
        if self._targets is None:  # the figure columns, once per file
            self._targets = [
                c for c in self.layout.mapping.columns if c.field in METRICS or _is_custom_metric(c)
            ]
        targets = self._targets
        cells = self._cells
        row_unit = _text(cell("unit"))  # a 单位 column applies where the header has none
        made: dict[int, dict] = {}

        def _given(c: ColumnMap) -> bool:
            v = cells[c.index] if c.index < len(cells) else None
            return not register.is_blank_cell(v)

        # a 合计 whose parts are given is only checked: a formula there (=SUM(F5:H5)
        # without a saved result) is no error, the parts are the figures
        checked_only = {
            c.index
            for c in targets
            if c.role == "total"
            and isinstance(cells[c.index] if c.index < len(cells) else None, str)
            and str(cells[c.index]).startswith("=")
            and any(p.role == "part" and p.group == c.index and _given(p) for p in targets)
        }
        for col in targets:
            if col.role == "inside" or col.index in checked_only:
                continue  # a subset of its total column, not a figure of its own
            raw = cells[col.index] if col.index < len(cells) else None
            unit_text = col.unit or row_unit
            if row_unit and col.unit_from in ("title", "option"):
                unit_text = row_unit  # the row's own unit beats the title's
            unit_col = cols.get("unit") if row_unit and unit_text == row_unit else None
            rec = self._one_figure(
                number, col, col.field, raw, unit_text, context, unit_col=unit_col
            )
            if rec:
                if col.year:
                    rec["period_start"] = rec["period_end"] = col.year
                rec["part"] = col.label if col.role == "part" else None
                made[col.index] = rec
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
                    f"{total.label} is {own['value_original']} but its parts add up to "
                    f"{format_decimal(added / scale)} ({listed}); the parts are stored",
                    message_zh=f"{total.label}为 {own['value_original']}，但各分项相加为 "
                    f"{format_decimal(added / scale)}（{listed}）；保存的是各分项",
                    row=number,
                    column=total.label,
                    value=str(own["value_original"]),
                    suggestion="check the total and its parts in this row",
                    suggestion_zh="请核对这一行的合计数和各分项",
                )
        for index, rec in made.items():
            counted.setdefault(index, rec["_exact"])
        for index, value in counted.items():
            self._add_col(index, value, number)
        project = cols.get("project")
        name = _text(cell("project"))
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

    def _one_figure(self, number, col, metric_name, raw, unit_text, context, unit_col=None):
        try:
            num = parse_number(raw)
        except ParseError as exc:
            self.report.error(
                "not_a_number",
                exc.message,
                message_zh=exc.message_zh,
                row=number,
                column=col.label,
                value=_text(raw),
                suggestion=exc.suggestion,
                suggestion_zh=exc.suggestion_zh,
            )
            return None
        if num is None:
            return None
        try:
            header_unit = parse_unit(unit_text) if unit_text else None
        except ParseError as exc:
            self.report.error(
                "bad_unit",
                exc.message,
                message_zh=exc.message_zh,
                row=number,
                column=(unit_col or col).label,
                value=unit_text,
                suggestion=exc.suggestion,
                suggestion_zh=exc.suggestion_zh,
            )
            return None
        try:
            cell_unit = parse_unit(num.unit_text) if num.unit_text else None
            if (
                cell_unit is not None
                and header_unit is not None
                and getattr(col, "unit_from", "") in ("title", "option")
                and unit_text == col.unit
            ):
                # 单位：万元 over the table, "100万" in a cell: the cell says its own scale
                # (100 万元), the title's unit is not multiplied into it
                header_unit = Unit(1, header_unit.dimension, "")
            unit = combine(cell_unit, header_unit)
            metric: Metric = METRICS.get(metric_name) or metric_for_unknown(metric_name, unit)
            if unit.dimension == PERCENT and metric.dimension != PERCENT:
                raise ParseError(
                    f"{_text(raw)!r} is a percentage, but {metric.name} needs an amount",
                    "write the amount itself, not a share",
                    message_zh=f"{quote_zh(_text(raw))}是百分比，但{metric.zh}需要填写具体数额",
                    suggestion_zh="请填写具体数额，而不是所占比例",
                )
            value, canonical_unit = to_canonical(num.value, unit, metric)
        except ParseError as exc:
            self.report.error(
                "bad_unit",
                exc.message,
                message_zh=exc.message_zh,
                row=number,
                column=col.label,
                value=_text(raw),
                suggestion=exc.suggestion,
                suggestion_zh=exc.suggestion_zh,
            )
            return None
        if value < 0:
            self.report.error(
                "negative",
                f"{metric.name} is negative ({_text(raw)})",
                message_zh=f"{metric.zh}为负数（{_text(raw)}）",
                row=number,
                column=col.label,
                value=_text(raw),
                suggestion="amounts and counts cannot be below zero; for a correction, fix "
                "the original row instead",
                suggestion_zh="金额和数量不能小于零；如需更正，请直接修改原来的那一行",
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
        quote = f"{self.quote_prefix}{col.label}: {_text(raw)}"
        if unit_col is not None and unit_text:
            quote += f" {unit_text}"
        if context:
            quote += " | " + " | ".join(context)
        return {
            "metric": metric.name,
            "value": float(value),
            "_exact": value,
            "unit": canonical_unit,
            "value_original": _text(raw) if isinstance(raw, str) else format_decimal(num.value),
            "unit_original": unit_original or None,
            "qualifier": num.qualifier if num.qualifier else EXACT,
            "quote": quote,
            "is_context": metric.name.startswith("context_"),
        }

    def _pairing(
        self,
        common,
        program,
        donor_text,
        donor_prov_text,
        donor_place,
        rec_parts,
        recip_place,
        start,
        end,
    ) -> dict:
        parts = dict(rec_parts)
        prov_adcode = getattr(donor_place, "province_adcode", None) or (
            getattr(donor_place, "adcode", None)
            if getattr(donor_place, "level", None) == "province"
            else None
        )
        level = getattr(donor_place, "level", None)
        donor_province = donor_prov_text or donor_text
        donor_unit = donor_text if donor_prov_text and donor_text != donor_prov_text else None
        if not donor_prov_text and level not in (None, "province"):
            donor_province = getattr(donor_place, "province_name_zh", None) or donor_text
            donor_unit = donor_text
        return {
            **common,
            "program": program or "other",
            "donor_province": donor_province,
            "donor_unit": donor_unit,
            "donor_adcode": getattr(donor_place, "adcode", None),
            "donor_province_adcode": prov_adcode,
            "recipient_province": parts.get("recipient_province"),
            "recipient_prefecture": parts.get("recipient_prefecture"),
            "recipient_county": parts.get("recipient_county") or parts.get("recipient"),
            **_recipient_columns(recip_place),
            "start_year": start,
            "end_year": end,
            "unresolved_reason": None,
        }

    # totals (合计 / 小计 rows) --------------------------------------------------------
    _LABEL_SKIP = frozenset({"note", "source", "quote", "confidence", "unit", "metric", "value"})

    def _total_kind(self, cells: list[object]) -> str | None:
        """subtotal / total / breakdown when a label cell says so (文山州小计, 合计, 其中：…)."""
        kinds = set()
        for c in self.layout.mapping.columns:
            if c.index >= len(cells) or c.field in self._LABEL_SKIP:
                continue
            if c.field in METRICS or _is_custom_metric(c):
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

    _GROUP_SERIAL = re.compile(r"^[(（]?[一二三四五六七八九十]+[)）、.．]?$")
    _PLACE_ORDER = ("recipient_province", "recipient_prefecture", "recipient_county")

    def _group_row(self, cells: list[object]) -> bool:
        """ "一 | 汉中市 | (no county) | 1000": a group's row numbered 一、二 above its items
        (numbered 1, 2, 3), naming a prefecture where the items name counties: its sums."""
        cols = self.layout.mapping.fields()
        serial = cols.get("serial")
        if serial is None or serial.index >= len(cells):
            return False
        if not self._GROUP_SERIAL.match(_text(cells[serial.index])):
            return False
        present = [f for f in self._PLACE_ORDER if f in cols]
        if len(present) < 2:
            return False
        lowest = cols[present[-1]]
        return lowest.index >= len(cells) or not _text(cells[lowest.index])

    def _fill_places(self, cells: list[object], cols: dict[str, ColumnMap]) -> None:
        """A 州（市） cell left blank under its first row (merged, or written once) is the
        one above, as the context of the county named in the row; never the row's place."""
        order = ("recipient_province", "recipient_prefecture", "recipient_county", "recipient")
        present = [f for f in order if f in cols]
        for i, f in enumerate(present[:-1]):
            col = cols[f]
            text = _text(cells[col.index]) if col.index < len(cells) else ""
            if text:
                self._carry[f] = (text, 0)
                continue
            lower = any(
                cols[g].index < len(cells) and _text(cells[cols[g].index]) for g in present[i + 1 :]
            )
            if lower and f in self._carry:
                while len(cells) <= col.index:
                    cells.append(None)
                cells[col.index] = self._carry[f][0]

    def _add_col(self, index: int, value: Decimal, number: int) -> None:
        self._col_section[index] = self._col_section.get(index, Decimal(0)) + value
        self._col_file[index] = self._col_file.get(index, Decimal(0)) + value

    def _note_data_row(self, number: int) -> None:
        self._first_data_row = self._first_data_row or number
        if not self._section_rows:
            self._section_rows = [number, number]
        else:
            self._section_rows[1] = number

    def _total_values(self, number: int, cells: list[object]) -> list[tuple]:
        out = []
        for col in self.layout.mapping.columns:
            if not (col.field in METRICS or _is_custom_metric(col)) or col.index >= len(cells):
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
                if num.unit_text and column_unit and col.unit_from in ("title", "option"):
                    column_unit = Unit(1, column_unit.dimension, "")  # as in _one_figure
                unit = combine(parse_unit(num.unit_text) if num.unit_text else None, column_unit)
                metric = METRICS.get(col.field) or metric_for_unknown(col.field, unit)
                value, _cu = to_canonical(num.value, unit, metric)
            except ParseError as exc:
                self.report.error(
                    "not_a_number",
                    exc.message,
                    message_zh=exc.message_zh,
                    row=number,
                    column=col.label,
                    value=_text(raw),
                    suggestion=exc.suggestion,
                    suggestion_zh=exc.suggestion_zh,
                )
                continue
            out.append((col, value, _text(raw), unit.multiplier))
        return out

    def _check_total(
        self, number: int, cells: list[object], cols: dict[str, ColumnMap], kind: str = "total"
    ) -> None:
        """Skip a 小计 / 合计 row and check it against the rows it sums.

        A 小计 is checked against the rows since the previous 小计 (or, when the 小计 rows
        sit above their rows, against the rows up to the next one); a 合计 against every
        row of the table (or, at the top of the table, against the rows below it).
        """
        self.skipped_total_rows.append(number)
        self._skip(kind, number)
        self._carry.clear()
        if self.layout.form != "wide":
            return
        values = self._total_values(number, cells)
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

    def finish(self) -> None:
        """Check the totals that sat above their rows, now that the rows are read."""
        if self._leading:
            self._close_pending(dict(self._col_section), list(self._section_rows))
        for number, values, _kind in self._pending:
            self._compare(number, values, dict(self._col_file), self._all_rows(), "total")
        self._pending = []

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
            if rows and rows[0]:
                span = f"rows {rows[0]}-{rows[1]}" if rows[0] != rows[1] else f"row {rows[0]}"
                span_zh = f"第 {rows[0]}–{rows[1]} 行" if rows[0] != rows[1] else f"第 {rows[0]} 行"
            else:
                span, span_zh = "no rows", "没有数据行"
            word = "subtotal" if kind == "subtotal" else "total"
            word_zh = "小计" if kind == "subtotal" else "合计"
            self.report.warning(
                "total_mismatch",
                f"the {word} row says {raw} but the rows it sums ({span}) add up to {shown} "
                f"(difference {diff})",
                message_zh=f"{word_zh}行为 {raw}，但其所合计的行（{span_zh}）相加为 {shown}"
                f"（相差 {diff}）",
                row=number,
                column=col.label,
                value=raw,
                suggestion="check the rows or the total; the total row itself is not imported",
                suggestion_zh="请检查这些行或合计数；合计行本身不导入",
            )


_SCOPE_RESOLVERS: dict[int, object] = {}


def _scope_of(resolver: object, name: str) -> object | None:
    """The ``Scope`` a cell names when it is no single place: a list of places, a named
    group of data/reference/groups.csv, an XPCC division or a donor-side description, as
    the reference data resolves them (twinning/groups.py); None when it is none of these."""
    gaz = getattr(resolver, "__self__", None)
    if gaz is None or not hasattr(gaz, "get"):
        return None
    from twinning.groups import ScopeResolver

    scopes = _SCOPE_RESOLVERS.get(id(gaz))
    if scopes is None:
        scopes = _SCOPE_RESOLVERS.setdefault(id(gaz), ScopeResolver(gaz))
    scope = scopes.resolve(name)
    if scope.reason is None and (scope.members or scope.donor_side) and scope.place is None:
        return scope
    return None


def _scope_fields(donor: object, recipient: object) -> dict:
    """``scope_group``, ``donor_side`` and the ``scope_members`` the writer stores."""
    from twinning.groups import Scope
    from twinning.reference import scope_columns

    def as_scope(x: object) -> Scope:
        return x if isinstance(x, Scope) else Scope(place=x or None)

    return scope_columns(as_scope(donor), as_scope(recipient))


def _place_label_zh(place: object) -> str:
    """富宁县（文山壮族苗族自治州，532628）: the Chinese form of ``Place.label()``."""
    name = getattr(place, "name_zh", None)
    if name is None:
        return _place_label(place)
    parent = getattr(place, "parent_name_zh", None)
    adcode = getattr(place, "adcode", "")
    inside = "，".join(x for x in (parent, adcode) if x)
    return f"{name}（{inside}）" if inside else name


def _place_label(place: object) -> str:
    if hasattr(place, "label"):
        return place.label()
    name = getattr(place, "name_zh", None) or str(place)
    adcode = getattr(place, "adcode", "")
    level = getattr(place, "level", "")
    return f"{name} ({adcode}{', ' + level if level else ''})"


def _recipient_columns(place: object | None) -> dict[str, str | None]:
    """The stored recipient columns of a resolved place (``Place.recipient_columns``)."""
    if place is None or not hasattr(place, "recipient_columns"):
        return dict.fromkeys(
            (
                "recipient_adcode",
                "recipient_level",
                "recipient_province_adcode",
                "recipient_prefecture_adcode",
            )
        )
    return place.recipient_columns()
