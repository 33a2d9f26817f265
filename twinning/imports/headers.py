"""Matching the headers people write (帮扶资金(万元), 受援县, Funds (10k yuan) ...) to fields.

Why a synonyms table and not fuzzy string distance: the vocabulary of cooperation
offices is small and known, and a wrong guess silently moves money to the wrong
metric. A header is matched exactly (after normalising) or by containing a
synonym; anything else is left unmapped and the user decides (mapping JSON / UI).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from twinning import i18n
from twinning.imports.numbers import is_blank, normalise_text
from twinning.imports.problems import ParseError, texts
from twinning.imports.units import METRICS, parse_unit

# Fields that are not metrics. Metric fields are the names in units.METRICS. Their labels
# are the catalog's "field.<name>" messages (``field_label``).
FIELDS: tuple[str, ...] = (
    "program",
    "donor",
    "donor_province",
    "recipient",
    "recipient_province",
    "recipient_prefecture",
    "recipient_county",
    "township",
    "village",
    "year",
    "start_year",
    "end_year",
    "metric",
    "value",
    "unit",
    "project",
    "source",
    "quote",
    "confidence",
    "note",
    "serial",
)

SYNONYMS: dict[str, list[str]] = {
    "program": [
        "帮扶类型",
        "协作类型",
        "类别",
        "类型",
        "program",
        "programme",
        "program type",
        "scheme",
    ],
    "donor": [
        "帮扶方",
        "支援方",
        "援助方",
        "帮扶单位",
        "支援单位",
        "帮扶地区",
        "支援地区",
        "帮扶城市",
        "帮扶市",
        "帮扶区",
        "帮扶县",
        "对口帮扶方",
        "援建单位",
        "援助单位",
        "援建方",
        "对口帮扶单位",
        "donor",
        "donor unit",
        "from",
        "supporter",
    ],
    "donor_province": ["帮扶省份", "帮扶省", "支援省份", "支援省", "援助省份", "donor province"],
    "recipient": [
        "受援地",
        "受援方",
        "受援地区",
        "受援单位",
        "帮扶对象",
        "结对地区",
        "受援地名称",
        "recipient",
        "to",
        "recipient area",
        "recipient place",
    ],
    "recipient_province": ["受援省", "受援省份", "受援省区", "recipient province"],
    "recipient_prefecture": [
        "受援市",
        "受援州",
        "受援地市",
        "受援市州",
        "受援市(州)",
        "受援州市",
        "受援地州",
        "recipient prefecture",
        "recipient city",
    ],
    "recipient_county": [
        "受援县",
        "受援县市区",
        "受援县(市、区)",
        "受援县(市,区)",
        "结对县",
        "帮扶县区",
        "受援区县",
        "受援县区",
        "recipient county",
        "county",
    ],
    "township": [
        "乡镇",
        "乡(镇)",
        "乡镇(街道)",
        "乡(镇、街道)",
        "乡镇街道",
        "所在乡镇",
        "实施乡镇",
        "项目所在乡镇",
        "township",
        "town",
    ],
    "village": [
        "行政村",
        "村名",
        "村(社区)",
        "所在村",
        "实施村",
        "项目所在村",
        "帮扶村名称",
        "village",
    ],
    "year": ["年度", "年份", "年", "year", "fiscal year"],
    "start_year": [
        "起始年",
        "起始年份",
        "开始年",
        "开始年份",
        "起始年度",
        "开始年度",
        "起始",
        "start year",
        "from year",
        "period start",
        "start",
        "period_start",
        "start_year",
    ],
    "end_year": [
        "结束年",
        "结束年份",
        "截止年",
        "截止年份",
        "结束年度",
        "截止年度",
        "结束",
        "end year",
        "to year",
        "period end",
        "end",
        "period_end",
        "end_year",
    ],
    "metric": ["指标", "指标名称", "指标名", "统计指标", "metric", "indicator"],
    "value": ["数值", "数量", "值", "数据", "value", "figure"],
    "unit": ["单位", "计量单位", "unit", "units"],
    "project": ["项目名称", "项目", "项目名", "project", "project name"],
    "source": ["来源", "数据来源", "出处", "资料来源", "source", "data source"],
    "quote": ["原文", "引文", "原文摘录", "quote"],
    "confidence": ["可信度", "可靠性", "confidence"],
    "note": ["备注", "说明", "附注", "note", "notes", "remark", "remarks", "comment", "comments"],
    "serial": ["序号", "编号", "no", "no.", "#", "id", "number"],
    # metrics
    "funds_cny": [
        "帮扶资金",
        "援助资金",
        "援建资金",
        "资金",
        "财政帮扶资金",
        "投入资金",
        "帮扶资金投入",
        "援助金额",
        "金额",
        "到位资金",
        "援助资金投入",
        "funds",
        "fund",
        "amount",
        "assistance funds",
        "aid funds",
        "funding",
        "funds_cny",
    ],
    "investment_cny": [
        "投资",
        "投资额",
        "引导投资",
        "招商引资",
        "到位投资",
        "investment",
        "investment_cny",
    ],
    "social_donations_cny": [
        "社会捐赠",
        "捐赠",
        "捐款",
        "捐赠资金",
        "donations",
        "social donations",
        "social_donations_cny",
    ],
    "consumption_support_sales_cny": [
        "消费帮扶",
        "消费扶贫",
        "消费帮扶金额",
        "消费扶贫金额",
        "consumption support",
        "consumption_support_sales_cny",
    ],
    "projects": [
        "项目数",
        "项目个数",
        "项目数量",
        "援建项目数",
        "援建项目",
        "projects",
        "number of projects",
        "project count",
        "no. of projects",
    ],
    "people_lifted": [
        "脱贫人口",
        "脱贫人数",
        "带动脱贫人口",
        "带动脱贫",
        "减贫人数",
        "脱贫",
        "people lifted",
        "people lifted out of poverty",
        "lifted out of poverty",
        "people_lifted",
    ],
    "people_benefited": [
        "受益人口",
        "受益人数",
        "受益群众",
        "受帮扶人口",
        "受帮扶人数",
        "帮扶人口",
        "受益贫困人口",
        "受益",
        "beneficiaries",
        "people benefited",
        "people_benefited",
    ],
    "people_trained": [
        "培训人数",
        "培训人次",
        "培训",
        "技能培训",
        "people trained",
        "trainees",
        "people_trained",
    ],
    "people_employed": [
        "转移就业人数",
        "转移就业",
        "就业人数",
        "帮助就业",
        "劳务输出",
        "people employed",
        "jobs",
        "people_employed",
    ],
    "cadres_dispatched": [
        "选派干部",
        "挂职干部",
        "援派干部",
        "选派干部人数",
        "干部",
        "cadres",
        "cadres dispatched",
        "cadres_dispatched",
    ],
    "professionals_dispatched": [
        "专业技术人才",
        "选派专业技术人才",
        "专技人才",
        "professionals",
        "professionals_dispatched",
    ],
    "households_housed": ["安置户数", "搬迁户数", "households housed", "households_housed"],
    "villages_supported": [
        "帮扶村数",
        "结对村",
        "帮扶村",
        "villages",
        "villages supported",
        "villages_supported",
    ],
    "schools_assisted": ["帮扶学校", "援建学校", "schools", "schools assisted", "schools_assisted"],
    "hospitals_paired": ["结对医院", "医院结对", "hospitals paired", "hospitals_paired"],
}

_UNIT_IN_BRACKETS = re.compile(r"^(?P<base>.*?)\s*[\(\[【〔](?P<unit>[^\)\]】〕]*)[\)\]】〕]\s*$")
_UNIT_AT_END = re.compile(r"^(?P<base>.+?)[\s/_]*(?P<unit>(?:万|亿|千|百万)?元|人次|万人)$")
_UNIT_AFTER_SEP = re.compile(r"^(?P<base>.+?)\s*[/_,，:：]\s*(?P<unit>[^/_,，:：]+)$")

ALL_FIELDS: list[str] = list(FIELDS) + list(METRICS)


def field_label(name: str | None, lang: str) -> str:
    """The label of a field or metric in ``lang``, as the atlas names it (the code if unknown)."""
    if name in FIELDS:
        return i18n.t(f"field.{name}", lang)
    if name in METRICS:
        return METRICS[name].label(lang)
    return name or ""


def _key(text: str) -> str:
    s = normalise_text(text).lower()
    return re.sub(r"[\s_\-·•]+", "", s)


_SYN_INDEX: dict[str, str] = {}
for _field, _words in SYNONYMS.items():
    for _w in _words:
        _SYN_INDEX.setdefault(_key(_w), _field)
# Longest first so "帮扶资金" is found before "资金" inside "财政帮扶资金投入".
_SYN_SORTED: list[tuple[str, str]] = sorted(_SYN_INDEX.items(), key=lambda kv: -len(kv[0]))


def split_unit(header: str) -> tuple[str, str]:
    """'帮扶资金(万元)' -> ('帮扶资金', '万元'); 'Funds (10k yuan)' -> ('Funds', '10k yuan')."""
    s = normalise_text(header)
    m = _UNIT_IN_BRACKETS.match(s)
    if m and m.group("base"):
        return m.group("base").strip(), m.group("unit").strip()
    m = _UNIT_AT_END.match(s)
    if m:
        return m.group("base").strip(), m.group("unit").strip()
    m = _UNIT_AFTER_SEP.match(s)
    if m and _key(m.group("unit")) in {
        "元",
        "万元",
        "亿元",
        "yuan",
        "cny",
        "rmb",
        "人",
        "人次",
        "个",
        "项",
        "户",
        "万人",
        "10kyuan",
        "millionyuan",
        "100millionyuan",
        "billionyuan",
    }:
        return m.group("base").strip(), m.group("unit").strip()
    return s, ""


# Place columns as offices write them: 省（区、市）, 州（市）, 地（州、市）, 县（市、区、旗）, 乡镇.
_PLACE_WORDS: dict[str, str] = {
    **dict.fromkeys(("省", "省份", "省区", "省区市", "省市区", "省(区)"), "recipient_province"),
    **dict.fromkeys(
        ("州", "市", "地", "地区", "盟", "州市", "市州", "地州", "地市", "市地", "地州市", "州盟"),
        "recipient_prefecture",
    ),
    **dict.fromkeys(
        ("县", "区", "旗", "县区", "区县", "县市", "县市区", "县区市", "县市区旗", "市县", "县旗"),
        "recipient_county",
    ),
    **dict.fromkeys(("乡", "镇", "乡镇", "镇乡", "街道", "乡镇街道", "苏木", "乡苏木"), "township"),
    **dict.fromkeys(("村", "社区", "村社区", "嘎查", "村居"), "village"),
}
_PLACE_PREFIX = re.compile(r"^(?:受援|所在|实施|项目所在|项目实施|帮扶对象|结对|对口)")
_PLACE_BRACKETS = re.compile(r"[(\[【〔]([^)\]】〕]*)[)\]】〕]")
_PLACE_CHARS = set("省区市州地县旗盟乡镇街道村社苏木嘎查、,/ ")


def place_field(header: str) -> str | None:
    """州（市） -> recipient_prefecture, 县（市、区、旗） -> recipient_county, 乡镇 -> township."""
    s = re.sub(r"\s+", "", normalise_text(str(header)))
    s = _PLACE_PREFIX.sub("", s)
    s = re.sub(r"(?:名称|名)$", "", s)
    inside = "".join(_PLACE_BRACKETS.findall(s))
    if any(ch not in _PLACE_CHARS for ch in inside):
        return None
    base = _PLACE_BRACKETS.sub("", s)
    base = re.sub(r"(?:名称|名)$", "", base)
    base = re.sub(r"[、,/]", "", base)
    return _PLACE_WORDS.get(base)


_INNER = re.compile(r"^(?:其中|含)\s*[:：]?\s*")


def match_parts(parts: list[str]) -> tuple[str | None, str, str]:
    """Map a header read from several rows ("帮扶资金", "财政援助资金"): (field, unit, how).

    The lowest part that names a field decides ("帮扶资金/合计" is funds by its upper
    part, "受益情况/带动脱贫人口" is people lifted by its lower one); a part that is only
    a unit ("万元") gives the column's unit, and so does a unit in brackets in any part.
    """
    from twinning.imports.register import total_kind, unit_only

    fld, how, unit = None, "none", ""
    for part in reversed(parts):
        text = _INNER.sub("", normalise_text(part))
        if unit_only(text):
            unit = unit or re.sub(r"^(?:单位|unit)\s*[:：]\s*", "", text).strip("()")
            continue
        f, u, h = match_header(text)
        if u and not unit and (f is None or f in METRICS or f not in FIELDS):
            try:
                parse_unit(u)
                unit = u
            except ParseError:
                pass
        if fld is None and f is not None and not (total_kind(text) and h == "partial"):
            fld, how = f, h
        elif fld in _PLACE_ROLE and f in ("donor", "donor_province"):
            # 帮扶方 over 省 / 市（区）: the donor's columns, not the recipient's
            fld = "donor_province" if fld == "recipient_province" else "donor"
        elif fld in FIELDS and fld not in ("donor", "donor_province") and f in METRICS:
            # 资金规模 over 中央 / 省级 / 市县: a part of the money, not a place column
            fld, how = f, h
    return fld, unit, how


_PLACE_ROLE = {"recipient_province", "recipient_prefecture", "recipient_county"}


# Words that make a header a description, not a figure or a field it would partly match:
# 资金来源 (where the money came from), 资金用途, 资金性质, 项目类别, 实施单位, 项目地点,
# 项目进度, 受益户数 (households, not people), 受益对象, 开工时间 …
_NOT_A_FIELD = (
    "来源",
    "用途",
    "性质",
    "类别",
    "类型",
    "渠道",
    "方式",
    "内容",
    "地点",
    "进度",
    "户数",
    "对象",
    "时间",
    "日期",
    "单位",
    "部门",
    "联系",
    "状态",
    "情况",
)

_RECEIVING = re.compile(r"^(?:被|受)(?=帮扶|支援|援助|援建|对口)")
_TO_RECIPIENT = {
    "donor": "recipient",
    "donor_province": "recipient_province",
    "recipient": "recipient",
}


def match_header(header: str) -> tuple[str | None, str, str]:
    """Return (field, unit text, how) for one header; how is exact | partial | none."""
    if header is None or is_blank(str(header)):
        return None, "", "none"
    text = normalise_text(str(header))
    if _key(text) in _SYN_INDEX:
        return _SYN_INDEX[_key(text)], "", "exact"
    if _RECEIVING.match(text):
        # 被帮扶县 / 受帮扶地区: the side that receives (帮扶县 alone is the donor's)
        whole = _match_header(text)
        if whole[0] in METRICS:
            return whole  # 受帮扶人口（人）
        rest = _RECEIVING.sub("", text)
        word = re.sub(r"^(?:对口)?(?:帮扶|支援|援助|援建)", "", rest)
        placed = (
            None
            if re.sub(r"\s+", "", word) in ("地区", "地方", "方", "单位", "对象")
            else (place_field(word))
        )
        if placed:
            return placed, "", "exact"
        fld, unit, how = _match_header(rest)
        if fld in _TO_RECIPIENT or word:
            return _TO_RECIPIENT.get(fld or "", "recipient"), unit, how
        return fld, unit, how
    fld, unit, how = _match_header(text)
    if fld == "project" and unit:
        try:
            if parse_unit(unit).dimension in (None, "count"):
                return "projects", unit, how  # 项目（个）: how many, not which
        except ParseError:
            pass
    return fld, unit, how


def _match_header(header: str) -> tuple[str | None, str, str]:
    full = _key(str(header))
    if full in _SYN_INDEX:
        return _SYN_INDEX[full], "", "exact"
    placed = place_field(str(header))
    if placed:
        return placed, "", "exact"
    base, unit = split_unit(str(header))
    if unit:
        try:
            parse_unit(unit)
        except ParseError:
            # not a unit ("受援县(市、区)") unless the rest names a metric ("资金(万美元)")
            if _key(base) not in _SYN_INDEX or _SYN_INDEX[_key(base)] in FIELDS:
                base, unit = str(header), ""
    key = _key(base)
    if key in _SYN_INDEX:
        return _SYN_INDEX[key], unit, "exact"
    if key in ALL_FIELDS:
        return key, unit, "exact"
    cjk = _key(re.sub(r"\([^)]*\)|[\x00-\x7f]+", "", base))
    if cjk and cjk != key and cjk in _SYN_INDEX:
        return _SYN_INDEX[cjk], unit, "partial"  # 来源 Source, 备注 Note: bilingual headers
    if any(word in key for word in _NOT_A_FIELD):
        return None, unit, "none"  # 资金来源, 资金用途, 实施单位, 项目地点, 受益户数 …: text
    for syn, fld in _SYN_SORTED:
        # short synonyms ("年", "to", "no") only match exactly; two characters only for a
        # metric (资金, 投资) or a year or project column
        if len(syn) == 2 and fld not in METRICS and fld not in ("year", "project"):
            continue
        if len(syn) >= 2 and not syn.isascii() and syn in key:
            return fld, unit, "partial"
        if len(syn) >= 5 and syn.isascii() and syn in key:
            return fld, unit, "partial"
    return None, unit, "none"


def header_score(cells: list[object]) -> int:
    """How header-like a row is: the number of cells that match a field."""
    score = 0
    for c in cells:
        if isinstance(c, str) and not is_blank(c):
            fld, _, how = match_header(c)
            if fld is not None:
                score += 2 if how == "exact" else 1
    return score


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the name Excel shows."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


@dataclass
class ColumnMap:
    index: int
    header: str  # as written in the file ("" when the header cell is blank)
    field: str | None
    unit: str = ""
    how: str = "none"  # exact | partial | user | none
    parts: list[str] = field(default_factory=list)  # the header rows' names, top to bottom
    unit_from: str = ""  # header | title | option: where ``unit`` was read
    year: int | None = None  # a year in the header ("2021年" over 帮扶资金)
    role: str = ""  # total | part: a 合计 column beside its parts (same field, same group)
    group: int | None = None  # the index of the group's total column

    @property
    def label(self) -> str:
        """How a problem names this column: its header, or its letter when unnamed."""
        return self.header or column_letter(self.index)


@dataclass
class Mapping:
    columns: list[ColumnMap] = field(default_factory=list)

    def fields(self) -> dict[str, ColumnMap]:
        return {c.field: c for c in self.columns if c.field}

    def to_json(self) -> str:
        """The form saved with a batch and accepted by ``--mapping``."""
        return json.dumps(
            {
                "version": 1,
                "columns": {c.label: {"field": c.field, "unit": c.unit} for c in self.columns},
            },
            ensure_ascii=False,
            indent=1,
        )


_YEAR_PART = re.compile(r"^((?:19|20)\d{2})\s*(?:年度|年)?$")
_YEAR_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:年度|年)(?![底末初中]|\d{1,2}月)")
_CUMULATIVE_NAME = re.compile(r"累计|截至|截止|以来|至今|-|—|–|~|～|至")


def auto_mapping(headers: list[object], parts: list[list[str]] | None = None) -> Mapping:
    """Map each column; with ``parts`` (a header of several rows) by ``match_parts``."""
    cols = []
    for i, h in enumerate(headers):
        text = "" if h is None else normalise_text(str(h))
        names = parts[i] if parts is not None and i < len(parts) else []
        year = None
        if len(names) > 1:
            years = [p for p in names if _YEAR_PART.match(normalise_text(p))]
            rest = [p for p in names if p not in years]
            if len(years) == 1 and rest:
                year = int(_YEAR_PART.match(normalise_text(years[0])).group(1))
            fld, unit, how = match_parts(rest or names)
            if fld == "project" and year is not None:
                fld = "projects"  # 2019年 over 资金 | 项目: how many projects that year
        else:
            fld, unit, how = match_header(text)
            m = _YEAR_IN_NAME.search(text)
            if fld in METRICS and m and not _CUMULATIVE_NAME.search(text):
                year = int(m.group(1))  # 2019年帮扶资金(万元): that year's funds
        col = ColumnMap(i, text, fld, unit, how, parts=list(names) or ([text] if text else []))
        col.unit_from = "header" if unit else ""
        col.year = year if fld in METRICS else None
        cols.append(col)
    return Mapping(cols)


def load_mapping_file(path: str | Path) -> dict[str, dict]:
    """Read a mapping JSON: {"columns": {header: {"field": f, "unit": u}}} or {header: field}."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise ParseError(
            **texts("problem.mapping.not_found", "problem.mapping.not_found.fix", path=path)
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParseError(
            **texts(
                "problem.mapping.not_json", "problem.mapping.not_json.fix", path=path, error=exc
            )
        ) from exc
    return normalise_overrides(raw, str(path))


def normalise_overrides(raw: object, where: str = "mapping") -> dict[str, dict]:
    if isinstance(raw, dict) and isinstance(raw.get("columns"), dict):
        raw = raw["columns"]
    named = {
        lang: i18n.t("problem.mapping.page", lang)
        if where == "mapping"
        else i18n.t("problem.mapping.file", lang, path=where)
        for lang in ("en", "zh")
    }
    place = {"en": {"where": named["en"]}, "zh": {"where": named["zh"]}}
    if not isinstance(raw, dict):
        raise ParseError(**texts("problem.mapping.not_object", **place))
    out: dict[str, dict] = {}
    for header, spec in raw.items():
        if spec is None or isinstance(spec, str):
            spec = {"field": spec or None}
        if not isinstance(spec, dict):
            raise ParseError(**texts("problem.mapping.bad_spec", header=header, spec=spec, **place))
        fld = spec.get("field") or None
        if fld is not None and fld not in ALL_FIELDS and not re.fullmatch(r"[a-z][a-z0-9_]*", fld):
            raise ParseError(
                **texts(
                    "problem.mapping.unknown_field",
                    "problem.mapping.unknown_field.fix",
                    header=header,
                    field=fld,
                    fields=list(ALL_FIELDS),
                    **place,
                )
            )
        out[normalise_text(str(header))] = {"field": fld, "unit": spec.get("unit")}
    return out


def apply_overrides(mapping: Mapping, overrides: dict[str, dict]) -> list[str]:
    """Apply user choices to an automatic mapping; return headers that were not found."""
    by_label = {c.label: c for c in mapping.columns}
    missing = []
    for header, spec in overrides.items():
        col = by_label.get(header)
        if col is None:
            missing.append(header)
            continue
        col.field = spec.get("field")
        if spec.get("unit") is not None:
            col.unit = spec["unit"]
        col.how = "user"
    return missing
