"""Every word the atlas shows, in Chinese and English, and the number formats of each.

The words live in one gettext catalog per language (``twinning/locale/<lang>/LC_MESSAGES/
messages.po``), keyed by a stable message id, so a translator edits one file, a test can
check that every id used in the code has both languages, and no module keeps its own
dictionary of labels. This module keeps the *codes* of the vocabulary (programmes,
confidences, metrics ...) and reads their words from the catalog (``metric.funds_cny``,
``program.other`` ...). Numbers follow the reader's conventions: 亿元 / 万元 in Chinese,
billion / million yuan in English. No dash; the catalogs are read on first use, not at
import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache, lru_cache
from pathlib import Path

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"

# The vocabulary: codes as stored in the data, defined here once. Their words are the
# catalog messages "<kind>.<code>" (see ``Vocabulary``); the order is the menus' order.
PROGRAM_CODES: tuple[str, ...] = (
    "east_west_cooperation",
    "counterpart_support_xinjiang",
    "counterpart_support_tibet",
    "counterpart_support_qinghai",
    "three_gorges",
    "other",
)
CONFIDENCE_CODES: tuple[str, ...] = (
    "seen_in_source",
    "from_memory",
    "quoted",
    "quoted_primary",
    "quoted_secondary",
    "quoted_translator_note",
    "office_record",
)
# "exact" is written without a word; the others are templates around {value}.
QUALIFIER_CODES: tuple[str, ...] = ("exact", "lower_bound", "approx")
METRIC_CODES: tuple[str, ...] = (
    "funds_cny",
    "projects",
    "people_lifted",
    "investment_cny",
    "people_benefited",
    "people_trained",
    "people_employed",
    "cadres_dispatched",
    "hospitals_paired",
    "consumption_support_sales_cny",
    "social_donations_cny",
    "disaster_relief_cny",
    "labor_transferred",
    "professionals_dispatched",
    "teachers_trained",
    "villages_supported",
    "schools_assisted",
    "matching_funds_cny",
    "social_investment_cny",
    "funds_cny_industrial",
    "poverty_counties_exited",
    "people_lifted_directly_by_shanghai_projects",
    "recipient_counties_paired",
    "economic_cooperation_projects",
    "medical_institutions_assisted",
    "migrants_resettled",
    "households_housed",
)
UNIT_CODES: tuple[str, ...] = (
    "cny",  # every money unit (元, yuan, rmb) is shown as this one
    "persons",
    "person-times",
    "projects",
    "counties",
    "prefectures",
    "districts",
    "hospitals",
    "households",
    "villages",
    "km",
    "mu",
    "percent",
    "years",
    "enterprises",
)
LEVEL_CODES: tuple[str, ...] = ("province", "prefecture", "county")
# The words Dash's dropdowns draw themselves (their ``labels``): the search box of an open
# list, a multi-select's Select All / Deselect All and count. English is Dash's default;
# ``selected_count`` keeps its ``{num_selected}`` for the dropdown to fill.
DROPDOWN_KEYS: tuple[str, ...] = (
    "select_all",
    "deselect_all",
    "selected_count",
    "search",
    "clear_search",
    "clear_selection",
    "no_options_found",
)
# The words dash-ag-grid draws itself (its localeText keys): the tables' filter menus,
# loading and empty states. English is the grid's own default.
GRID_LOCALE_KEYS: tuple[str, ...] = (
    "filterOoo",
    "equals",
    "notEqual",
    "contains",
    "notContains",
    "startsWith",
    "endsWith",
    "lessThan",
    "greaterThan",
    "lessThanOrEqual",
    "greaterThanOrEqual",
    "loadingOoo",
    "noRowsToShow",
    "noMatchingRows",  # a grid filter that leaves no row
    "page",
    "to",
    "of",
)
# Donors that are not administrative units (no adcode, so no gazetteer name): the ones in
# data/reference/pairings.csv. Their names in each language are "donor.<name>" messages;
# other donors are shown as written.
NAMED_DONORS: tuple[str, ...] = (
    "中央企业",
    "宝钢集团(中国宝武)",
    "中化集团",
    "横琴粤澳深度合作区",
)


def po_path(lang: str) -> Path:
    """The catalog of ``lang`` (``zh`` or ``en``)."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalog(lang: str) -> dict[str, str]:
    """Message id -> text in ``lang``, read once from its .po file (Babel's reader).

    Untranslated and fuzzy entries are left out, so they fail like a missing id.
    """
    from babel.messages.pofile import read_po

    with po_path(normalize_lang(lang)).open("rb") as fh:
        messages = read_po(fh, locale=normalize_lang(lang), domain=DOMAIN)
    return {
        str(m.id): str(m.string)
        for m in messages
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


class Vocabulary(Mapping[str, dict[str, str]]):
    """The codes of one kind (``metric``, ``program`` ...) and their words in the catalog.

    Reads like the dictionaries it replaces (``PROGRAMS["other"]["zh"]``, ``code in
    CONFIDENCE``, iteration in menu order), but holds no words itself.
    """

    def __init__(self, kind: str, codes: tuple[str, ...]) -> None:
        self.kind = kind
        self.codes = codes
        self._set = frozenset(codes)

    def msgid(self, code: str) -> str:
        return f"{self.kind}.{code}"

    def label(self, code: object, lang: str) -> str | None:
        """The word for ``code`` in ``lang``; None for a code outside the vocabulary."""
        if code is None or str(code) not in self._set:
            return None
        return catalog(normalize_lang(lang)).get(self.msgid(str(code)))

    def words(self, lang: str) -> dict[str, str]:
        """Every code's word in ``lang`` (the code itself where the catalog has none)."""
        return {code: self.label(code, lang) or code for code in self.codes}

    def __getitem__(self, code: str) -> dict[str, str]:
        if code not in self._set:
            raise KeyError(code)
        return {lang: catalog(lang).get(self.msgid(code), "") for lang in LANGS}

    def __contains__(self, code: object) -> bool:
        return code in self._set

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)


PROGRAMS = Vocabulary("program", PROGRAM_CODES)
CONFIDENCE = Vocabulary("confidence", CONFIDENCE_CODES)
QUALIFIERS = Vocabulary("qualifier", QUALIFIER_CODES)
METRICS = Vocabulary("metric", METRIC_CODES)
UNITS = Vocabulary("unit", UNIT_CODES)
GRID_LOCALE = Vocabulary("grid", GRID_LOCALE_KEYS)
DROPDOWN_WORDS = Vocabulary("dropdown", DROPDOWN_KEYS)
DONORS = Vocabulary("donor", NAMED_DONORS)
VOCABULARIES: tuple[Vocabulary, ...] = (
    PROGRAMS,
    CONFIDENCE,
    QUALIFIERS,
    METRICS,
    UNITS,
    GRID_LOCALE,
    DROPDOWN_WORDS,
    DONORS,
)


def vocabulary_ids() -> list[str]:
    """Every message id the vocabulary needs (the extractor and the tests read this)."""
    ids = [v.msgid(c) for v in VOCABULARIES for c in v.codes if v is not QUALIFIERS or c != "exact"]
    return ids + [f"level_{level}" for level in LEVEL_CODES]


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
    if lang == "zh" or lang == "en":  # nearly every call: a view's own language (#7)
        return lang
    if lang and str(lang).lower()[:2] in LANGS:
        return str(lang).lower()[:2]
    return DEFAULT_LANG


def t(key: str, lang: str, **fmt: object) -> str:
    """The text for ``key`` in ``lang``; ``fmt`` fills ``{placeholders}``.

    A missing key raises KeyError on purpose: a typo must fail a test, not show a blank.
    """
    text = catalog(normalize_lang(lang))[key]
    return text.format(**fmt) if fmt else text


def program_label(program: str | None, lang: str) -> str:
    """Label of a programme code; unknown codes (from imports) are shown prettified."""
    if is_missing(program):
        return t("not_stated", lang)
    return PROGRAMS.label(program, lang) or _prettify(str(program))


def confidence_label(confidence: str | None, lang: str) -> str:
    if not confidence:
        return ""
    return CONFIDENCE.label(confidence, lang) or _prettify(str(confidence))


def metric_label(metric: str | None, lang: str) -> str:
    """Label of a metric; metrics are not a closed list, so unknown ones are prettified."""
    if not metric:
        return t("metric_none", lang)
    return METRICS.label(metric, lang) or _prettify(str(metric))


def level_label(level: str, lang: str) -> str:
    return t(f"level_{level}", lang)


def grid_locale(lang: str) -> dict[str, str]:
    """dash-ag-grid's ``localeText`` in ``lang``."""
    return GRID_LOCALE.words(lang)


def dropdown_labels(lang: str) -> dict[str, str]:
    """A Dash dropdown's ``labels`` in ``lang`` (its search box, Select All ...): Dash
    draws them in English whatever the page's language."""
    return DROPDOWN_WORDS.words(lang)


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
    return _base_of(str(unit))


@lru_cache(maxsize=1024)
def _base_of(unit: str) -> str:
    # a store's units are few; a series' hover texts ask for each point's (#7)
    return re.sub(r"\s*\(.*\)\s*$", "", unit).strip().lower()


def unit_label(unit: str | None, lang: str) -> str:
    """A unit for display; money is handled by :func:`format_value`."""
    base = _base_unit(unit)
    if base in _MONEY_UNITS:
        return UNITS.label("cny", lang) or "CNY"
    return UNITS.label(base, lang) or (base or "")


def _trim(x: float, digits: int) -> str:
    """``x`` with thousands separators and at most ``digits`` decimals.

    The same text as Babel's ``format_decimal(Decimal(x), "#,##0.##", locale=lang)`` for
    each language the atlas speaks (tests/test_i18n.py checks it against CLDR), at the cost
    of Python's formatting: Babel takes 15-30 µs a number and loads megabytes of locale
    data, which a table or CSV of 200,000 figures would feel. A language whose CLDR
    symbols are not ',' and '.' would fail that test and need them here.
    """
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


def format_count(n: int, lang: str) -> str:
    """An exact count, with thousands separators (17,472 figures: not rounded to 1.75万
    as ``format_number`` would in Chinese). ``lang``: every language the atlas speaks
    writes the separator so (``_trim``)."""
    return _trim(float(n), 0)


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
    template = QUALIFIERS.label(qualifier, lang) if qualifier else None
    return template.format(value=text) if template else text


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


def donor_name(name: str, lang: str) -> str:
    """A donor's name as written in the records, in English where it has a known one."""
    return DONORS.label(name, lang) or name


def place_name(name_zh: str | None, name_en: str | None, lang: str) -> str:
    """The place name in the reader's language, falling back to the other one."""
    if normalize_lang(lang) == "en":
        return name_en or name_zh or ""
    return name_zh or name_en or ""
