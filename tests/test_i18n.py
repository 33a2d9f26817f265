"""The one catalog of words (issue #8): every id the code uses has Chinese and English, the
two languages take the same placeholders, and the vocabulary reads from it everywhere."""

from __future__ import annotations

import fnmatch
import importlib.util
import re
import string
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_decimal

from twinning import filters, i18n, reference

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _extractor():
    spec = importlib.util.spec_from_file_location("i18n_extract", ROOT / "tools/i18n_extract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_id_in_the_code_has_both_languages_and_the_template_is_current():
    """Fails on a t()/tr() id without a Chinese or English entry, an id built at run time
    that the extractor does not list, a stale messages.pot, or an entry nothing uses.
    Fix with `.venv/bin/python tools/i18n_extract.py`, then fill the new entries."""
    assert _extractor().problems() == []


def test_the_extractor_finds_literal_prefixed_and_conditional_ids():
    ids, _ = _extractor().used_ids()
    assert "twinning/figures/series.py" in ids["series_yearly"]  # i18n.t("...")
    assert "twinning/figures/describe.py" in ids["headline_places_note"]  # t("a" if x else "b")
    assert "metric.people_trained" in ids  # the vocabulary
    assert "level_county" in ids
    # the importer's problems: texts("message id", "suggestion id", ...) (#8)
    assert "twinning/imports/years.py" in ids["problem.bad_year.future"]
    assert "twinning/imports/years.py" in ids["problem.bad_year.future.fix"]


def test_every_problem_message_has_chinese_and_english():
    """The importer's messages and suggestions (problem.<code>.<what>[.fix]): Chinese text
    in zh, text in en, the same placeholders (what a user reads in the report)."""
    ids, _ = _extractor().used_ids()
    messages = [k for k in ids if k.startswith("problem.") and k.count(".") >= 2]
    assert len(messages) >= 20, messages
    for key in messages:
        zh, en = i18n.catalog("zh").get(key), i18n.catalog("en").get(key)
        frame = not re.sub(r"\{[^}]*\}|[“”（）：。，\s]", "", zh or "x")  # {role}“{name}”{within}
        assert zh and (CJK.search(zh) or frame), f"{key!r} has no Chinese"
        assert en, f"{key!r} has no English"
        assert _fields(zh) == _fields(en), key


@pytest.mark.parametrize("key", sorted(i18n.catalog("zh")))
def test_both_languages_take_the_same_placeholders(key):
    zh, en = i18n.catalog("zh")[key], i18n.catalog("en").get(key)
    assert en is not None, f"{key!r} has no English"
    assert _fields(zh) == _fields(en), f"{key!r}: zh {_fields(zh)} vs en {_fields(en)}"


def _vocabulary() -> list[tuple[str, str]]:
    from twinning.imports.units import METRICS as IMPORT_METRICS

    out = [("metric", m) for m in (*i18n.METRIC_CODES, *IMPORT_METRICS)]
    out += [("program", p) for p in (*i18n.PROGRAM_CODES, *reference.PROGRAMS)]
    out += [
        ("confidence", c)
        for c in (
            *i18n.CONFIDENCE_CODES,
            *reference.PAIRING_CONFIDENCE,
            *reference.FIGURE_CONFIDENCE,
        )
    ]
    out += [("qualifier", q) for q in (*i18n.QUALIFIER_CODES, *reference.QUALIFIERS)]
    out += [("level", level) for level in filters.LEVELS]
    return out


@pytest.mark.parametrize(("kind", "code"), _vocabulary())
@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_word_of_the_vocabulary_is_in_both_catalogs(kind, code, lang):
    words = i18n.catalog(lang)
    if kind == "qualifier" and code == "exact":
        assert code in i18n.QUALIFIERS  # written without a word
        return
    key = f"level_{code}" if kind == "level" else f"{kind}.{code}"
    assert words.get(key), f"{key!r} has no {lang} text"
    if lang == "zh" and kind != "qualifier":
        assert CJK.search(words[key]), f"{key!r} is not Chinese in zh: {words[key]!r}"


def test_the_chinese_atlas_shows_no_english_label():
    for code in i18n.CONFIDENCE_CODES:
        assert CJK.search(i18n.confidence_label(code, "zh")), code
    for code in i18n.PROGRAM_CODES:
        assert CJK.search(i18n.program_label(code, "zh")), code


def test_vocabularies_read_like_the_old_dictionaries():
    assert list(i18n.PROGRAMS) == list(i18n.PROGRAM_CODES)
    assert i18n.PROGRAMS["other"] == {"zh": "其他", "en": "Other"}
    assert "office_record" in i18n.CONFIDENCE and "nonsense" not in i18n.CONFIDENCE
    with pytest.raises(KeyError):
        i18n.METRICS["nonsense"]
    assert i18n.metric_label("donor_districts_paired", "en") == "Donor districts paired"


def test_a_missing_id_fails_loudly():
    with pytest.raises(KeyError):
        i18n.t("no_such_message", "zh")


def test_qualifiers_put_the_value_where_each_language_wants_it():
    assert i18n.format_qualified(3e8, "CNY", "lower_bound", "zh") == "3亿元以上"
    assert i18n.format_qualified(3e8, "CNY", "lower_bound", "en") == "more than 300 million yuan"
    assert i18n.format_qualified(4200, "person-times", "approx", "zh") == "约4,200人次"
    assert i18n.format_qualified(4200, "person-times", "approx", "en") == "about 4,200 person-times"
    assert i18n.format_qualified(5, "projects", "exact", "en") == "5 projects"


@pytest.mark.parametrize("lang", i18n.LANGS)
@pytest.mark.parametrize("digits", [0, 1, 2])
@pytest.mark.parametrize(
    "value", [0, 1, 2.675, 0.125, 999.5, 1234.5, 12345.678, -3.14159, 1e5 / 3, 12345678.9]
)
def test_numbers_are_written_as_babels_format_decimal_writes_them(lang, digits, value):
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    want = format_decimal(Decimal(value), format=pattern, locale=lang)
    assert i18n._trim(value, digits) == want


def test_the_catalogs_ship_with_the_package():
    """Every file under twinning/locale matches pyproject's package-data (a wheel has them)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["twinning"]
    files = [
        p.relative_to(ROOT / "twinning").as_posix()
        for p in (ROOT / "twinning/locale").rglob("*")
        if p.is_file()
    ]
    assert "locale/zh/LC_MESSAGES/messages.po" in files
    assert "locale/README.md" in files
    for name in files:
        assert any(fnmatch.fnmatch(name, g) for g in globs), f"{name} is not package data"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_the_import_page_and_the_atlas_name_each_metric_the_same_way(lang):
    """培训人次 on both (the import page used to say 培训人数)."""
    from components import import_page
    from twinning.imports.units import METRICS as IMPORT_METRICS

    options = {o["value"]: o["label"] for o in import_page._field_options(lang)}
    for name, metric in IMPORT_METRICS.items():
        atlas = i18n.metric_label(name, lang)
        assert metric.label(lang) == atlas, name
        assert options[name] == f"{atlas} ({name})", name
    assert i18n.metric_label("people_trained", "zh") == "培训人次"


def test_no_module_keeps_its_own_dictionary_of_words():
    from components import export_controls, import_page
    from twinning import export
    from twinning.imports import problems

    for module in (export, export_controls, import_page):
        assert not hasattr(module, "TEXT"), module.__name__
    assert not hasattr(problems, "CODE_ZH") and not hasattr(problems, "SEVERITY_ZH")
    assert not hasattr(i18n, "STRINGS")


def test_problem_glosses_and_severities_come_from_the_catalog():
    from twinning.imports.problems import ERROR, PROBLEM_CODES, Problem, code_hint

    for code in PROBLEM_CODES:
        assert CJK.search(code_hint(code, "zh")) and code_hint(code, "en"), code
    p = Problem(ERROR, "negative", "negative value", message_zh="金额为负数")
    assert p.as_dict()["hint_zh"] == "金额或数量为负数"
    assert p.line("zh").startswith("错误")


def test_a_plain_text_search_finds_no_id_the_extractor_missed():
    """A second look, by regex instead of ast: every literal i18n.t("id") / tr("id") call."""
    ids, _ = _extractor().used_ids()
    call = re.compile(r"""\b(i18n\.t|tr)\(\s*["']([\w.\-]+)["']""")
    texts_call = re.compile(r"""\btexts\(\s*["']([\w.\-]+)["'](?:\s*,\s*["']([\w.\-]+)["'])?""")
    for path in [*ROOT.glob("twinning/**/*.py"), *ROOT.glob("components/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        own = re.search(r'^I18N_PREFIX = "([^"]+)"', text, re.M)  # a module's own tr
        for func, key in call.findall(text):
            msgid = (own.group(1) if own else "export.") + key if func == "tr" else key
            assert msgid in ids, f"{path.relative_to(ROOT)}: {msgid!r}"
            for lang in i18n.LANGS:
                assert msgid in i18n.catalog(lang), f"{msgid!r} has no {lang} text"
        for keys in texts_call.findall(text):  # the importer's texts("message", "fix")
            for msgid in filter(None, keys):
                assert msgid in ids, f"{path.relative_to(ROOT)}: {msgid!r}"
                for lang in i18n.LANGS:
                    assert msgid in i18n.catalog(lang), f"{msgid!r} has no {lang} text"
