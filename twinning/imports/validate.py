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
    PERCENT,
    Metric,
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

    header_row: int
    mapping: Mapping
    form: str  # wide | long | pairings
    preview: list[tuple[int, list[object]]] = field(default_factory=list)


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


def find_layout(
    rows: Iterator[tuple[int, list[object]]],
    report: Report,
    overrides: dict[str, dict] | None = None,
) -> tuple[Layout | None, Iterator[tuple[int, list[object]]]]:
    """Find the header row (title rows may sit above it), map it, spot two-row headers.

    Returns the layout (None when the file cannot be read further) and the row
    iterator positioned after the header.
    """
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
    header_n, header_cells = head[best_i]
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
    rest = iter(head[best_i + 1 :])
    if best_i > 0:
        titles = [n for n, c in head[:best_i] if not _is_blank_row(c)]
        if titles:
            report.warning(
                "title_rows",
                f"the header is on row {header_n}; "
                + (f"row {titles[0]}" if len(titles) == 1 else f"rows {titles[0]}-{titles[-1]}")
                + " above it is read as a title and not imported",
                message_zh=f"表头在第 {header_n} 行；其上方的"
                + (f"第 {titles[0]} 行" if len(titles) == 1 else f"第 {titles[0]}–{titles[-1]} 行")
                + "视为标题，不导入",
                row=header_n,
                suggestion="nothing to do if those rows are a title",
                suggestion_zh="如果这些行是标题，无需处理",
            )
    # Two-row (merged) header: a column unnamed in the header row but named below it.
    following = head[best_i + 1] if best_i + 1 < len(head) else None
    if following is not None:
        named = [i for i, c in enumerate(header_cells) if not is_blank(_text(c))]
        last_named = max(named) if named else -1
        sub_n, sub_cells = following
        under_blank = [
            i
            for i, c in enumerate(sub_cells)
            if i <= last_named + 1
            and (i >= len(header_cells) or is_blank(_text(header_cells[i])))
            and not is_blank(_text(c))
        ]
        sub_texts = [c for c in sub_cells if not is_blank(_text(c))]
        sub_is_header = header_score(sub_cells) >= 2 or (
            under_blank and all(_looks_like_label(c) for c in sub_texts)
        )
        if under_blank and sub_is_header:
            i = under_blank[0]
            report.error(
                "merged_header",
                f"the header takes two rows ({header_n} and {sub_n}): column "
                f"{column_letter(i)} has no name in row {header_n} but "
                f"{_text(sub_cells[i])!r} in row {sub_n} (merged cells?)",
                message_zh=f"表头占了两行（第 {header_n} 行和第 {sub_n} 行）："
                f"{column_letter(i)} 列在第 {header_n} 行没有列名，但在第 {sub_n} 行为"
                f"{quote_zh(_text(sub_cells[i]))}（是否合并了单元格？）",
                row=sub_n,
                column=column_letter(i),
                value=_text(sub_cells[i]),
                suggestion="unmerge the header cells and write one header row, e.g. "
                "帮扶资金(万元) 2019 | 帮扶资金(万元) 2020, then delete the second row; or use "
                "the long layout (年度 / 指标 / 数值 / 单位)",
                suggestion_zh="请取消合并表头单元格，只保留一行表头，如 帮扶资金(万元) 2019 | "
                "帮扶资金(万元) 2020，然后删除第二行；或改用长表格式（年度 / 指标 / 数值 / 单位）",
            )
    # Columns with the same field twice are ambiguous.
    seen: dict[str, ColumnMap] = {}
    for col in mapping.columns:
        if not col.field or col.field in ("serial", "note"):
            continue
        if col.field in seen:
            report.error(
                "duplicate_field",
                f"columns {seen[col.field].label!r} and {col.label!r} both map to {col.field}",
                message_zh=f"{quote_zh(seen[col.field].label)}列和{quote_zh(col.label)}列"
                f"都对应字段“{field_zh(col.field)}”（{col.field}）",
                row=header_n,
                column=col.label,
                suggestion="rename one header, or map one of them to another field "
                "(or to nothing) in the mapping",
                suggestion_zh="请修改其中一列的表头，或在表头对应中把其中一列改为其他字段"
                "（或不导入）",
            )
        else:
            seen[col.field] = col
    for col in mapping.columns:
        if col.field is None and col.header:
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
    layout = Layout(header_n, mapping, form)
    _check_required(layout, report)
    return layout, rest_then(rest, rows)


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
    _row_digests: DigestIndex = field(default_factory=DigestIndex)
    _place_cache: dict[tuple[str, str | None], object] = field(default_factory=dict)
    _section: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    _file: dict[tuple[str, str], Decimal] = field(default_factory=dict)

    # places ---------------------------------------------------------------------------
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
    def check(self, rows: Iterable[tuple[int, list[object]]]) -> Iterator[dict]:
        m = self.layout.mapping
        cols = {c.field: c for c in m.columns if c.field}
        for number, cells in rows:
            if _is_blank_row(cells):
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
            if self._is_total_row(cells):
                self._check_total(number, cells, cols)
                continue
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
            produced = list(self._row_records(number, cell, cols))
            if produced:
                self.rows_used += 1
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
        if self.layout.form != "pairings" and ok and start is None and end is None:
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
        donor_text = _text(cell("donor")) or _text(cell("donor_province"))
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
        if donor_text:
            within = donor_prov_text if donor_prov_text and donor_prov_text != donor_text else None
            donor_place = self._resolve(
                donor_text,
                within,
                number,
                (cols.get("donor") or cols.get("donor_province")).label,
                "donor",
            )
            if donor_place is False:
                ok = False
        if rec_parts:
            fld, name = rec_parts[-1]
            within = rec_parts[-2][1] if len(rec_parts) > 1 else None
            recip_place = self._resolve(name, within, number, cols[fld].label, "recipient")
            if recip_place is False:
                ok = False
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
            for f in ("project", "note")
            if f in cols and _text(cell(f))
        ]
        common = {
            "row_number": number,
            "source": source,
            "confidence": confidence,
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
            targets = [
                c for c in self.layout.mapping.columns if c.field in METRICS or _is_custom_metric(c)
            ]
            row_unit = _text(cell("unit"))  # a 单位 column applies where the header has none
            for col in targets:
                raw = cell(col.field)
                unit_text = col.unit or row_unit
                unit_col = cols.get("unit") if not col.unit and row_unit else None
                rec = self._one_figure(
                    number, col, col.field, raw, unit_text, context, unit_col=unit_col
                )
                if rec:
                    yield rec
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
        rec = self._one_figure(
            number, value_col, fld, cell("value"), unit_text, context, unit_col=cols.get("unit")
        )
        if rec:
            yield rec

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
        quote = f"{col.label}: {_text(raw)}"
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

    # totals (合计 rows) ---------------------------------------------------------------
    def _is_total_row(self, cells: list[object]) -> bool:
        for c in self.layout.mapping.columns:
            if c.field in _TOTAL_FIELDS and c.index < len(cells):
                t = re.sub(r"\s+", "", _text(cells[c.index])).lower()
                if t in TOTAL_WORDS:
                    return True
        return False

    def _check_total(self, number: int, cells: list[object], cols: dict[str, ColumnMap]) -> None:
        self.skipped_total_rows.append(number)
        if self.layout.form != "wide":
            return
        for col in self.layout.mapping.columns:
            if not (col.field in METRICS or _is_custom_metric(col)) or col.index >= len(cells):
                continue
            raw = cells[col.index]
            try:
                num = parse_number(raw)
                if num is None:
                    continue
                unit = combine(
                    parse_unit(num.unit_text) if num.unit_text else None,
                    parse_unit(col.unit) if col.unit else None,
                )
                metric = METRICS.get(col.field) or metric_for_unknown(col.field, unit)
                value, cu = to_canonical(num.value, unit, metric)
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
            key = (metric.name, cu)
            section = self._section.get(key, Decimal(0))
            whole = self._file.get(key, Decimal(0))
            if value not in (section, whole):
                scale = Decimal(unit.multiplier)
                added = format_decimal(section / scale)
                diff = format_decimal((value - section) / scale)
                self.report.warning(
                    "total_mismatch",
                    f"the total row says {_text(raw)} but the rows above add up to "
                    f"{added} (difference {diff})",
                    message_zh=f"合计行为 {_text(raw)}，但上方各行相加为 {added}（相差 {diff}）",
                    row=number,
                    column=col.label,
                    value=_text(raw),
                    suggestion="check the rows above or the total; the total row itself is "
                    "not imported",
                    suggestion_zh="请检查上方各行或合计数；合计行本身不导入",
                )
            self._section[key] = Decimal(0)


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
