"""The number, unit, year and header parsers, with property-based tests.

The parsers must read what offices write and never raise anything but ParseError.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinning.imports.headers import auto_mapping, match_header, split_unit
from twinning.imports.numbers import APPROX, EXACT, LOWER, format_decimal, parse_number
from twinning.imports.problems import ParseError
from twinning.imports.units import METRICS, combine, parse_unit, to_canonical
from twinning.imports.years import parse_year


@pytest.mark.parametrize(
    ("text", "value", "qualifier", "unit"),
    [
        ("1,200", "1200", EXACT, ""),
        ("１２３，４５６", "123456", EXACT, ""),
        ("１２００．５万元", "1200.5", EXACT, "万元"),
        ("约300", "300", APPROX, ""),
        ("近 300", "300", APPROX, ""),
        ("200多万", "200", LOWER, "万"),
        ("300余人", "300", LOWER, "人"),
        ("超过5亿元", "5", LOWER, "亿元"),
        ("5亿元以上", "5", LOWER, "亿元"),
        ("about 1,000", "1000", APPROX, ""),
        ("more than 2.5 million yuan", "2.5", LOWER, "million yuan"),
        ("over 40", "40", LOWER, ""),
        ("12%", "12", EXACT, "%"),
        ("-5", "-5", EXACT, ""),
        ("1.2E+07", "12000000", EXACT, ""),
        (1200, "1200", EXACT, ""),
        (0.1, "0.1", EXACT, ""),
    ],
)
def test_parse_number_reads_what_offices_write(text, value, qualifier, unit):
    n = parse_number(text)
    assert n is not None
    assert n.value == Decimal(value)
    assert (n.qualifier, n.unit_text) == (qualifier, unit)


@pytest.mark.parametrize("blank", [None, "", "  ", "-", "—", "/", "N/A"])
def test_blank_cells_are_none(blank):
    assert parse_number(blank) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("待定", "'待定' is not a number"),
        ("abc", "'abc' is not a number"),
        ("2006-2010", "'2006-2010' holds more than one number"),
        (True, "True is not a number"),
        (float("nan"), "nan is not a number"),
    ],
)
def test_text_in_a_number_cell_is_a_parse_error(text, message):
    with pytest.raises(ParseError) as exc:
        parse_number(text)
    assert exc.value.message == message


@pytest.mark.parametrize(
    ("unit", "cell", "yuan"),
    [
        ("万元", "1,200", 12_000_000),
        ("亿元", "1.2", 120_000_000),
        ("元", "1200万", 12_000_000),
        ("10k yuan", "1,200", 12_000_000),
        ("100 million yuan", "0.5", 50_000_000),
        ("million yuan", "3.25", 3_250_000),
        ("billion yuan", "9.03", 9_030_000_000),
        ("RMB 10k", "7", 70_000),
        ("", "5亿元", 500_000_000),
        ("万元", "0.0001", 1),
    ],
)
def test_money_converts_exactly_to_yuan(unit, cell, yuan):
    n = parse_number(cell)
    header = parse_unit(unit) if unit else None
    cell_unit = parse_unit(n.unit_text) if n.unit_text else None
    value, canonical = to_canonical(n.value, combine(cell_unit, header), METRICS["funds_cny"])
    assert canonical == "CNY"
    assert value == Decimal(yuan)


def test_unit_that_does_not_fit_the_metric_is_refused():
    with pytest.raises(ParseError, match="does not fit"):
        to_canonical(Decimal(1), parse_unit("人"), METRICS["funds_cny"])
    with pytest.raises(ParseError, match="no currency unit"):
        to_canonical(Decimal(1), parse_unit(""), METRICS["funds_cny"])
    with pytest.raises(ParseError, match="unknown unit '万美元'"):
        parse_unit("万美元")


def test_person_times_stay_apart_from_persons():
    assert to_canonical(Decimal(800), parse_unit("人次"), METRICS["people_trained"]) == (
        Decimal(800),
        "person-times",
    )
    assert to_canonical(Decimal(2), parse_unit("万人"), METRICS["people_lifted"]) == (
        Decimal(20000),
        "persons",
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (2019, 2019),
        ("2019年", 2019),
        (2019.0, 2019),
        ("2006-2010", (2006, 2010)),
        ("2006—2010年", (2006, 2010)),
        ("2006至2010", (2006, 2010)),
        (None, None),
        ("", None),
    ],
)
def test_parse_year(cell, expected):
    assert parse_year(cell, this_year=2026) == expected


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (2031, "year 2031 is in the future (it is 2026 now)"),
        ("1900", "year 1900 is before 1978"),
        ("2010-2006", "the period starts in 2010 but ends in 2006"),
        ("去年", "'去年' is not a year"),
    ],
)
def test_bad_years(cell, message):
    with pytest.raises(ParseError) as exc:
        parse_year(cell, this_year=2026)
    assert exc.value.message == message


@pytest.mark.parametrize(
    ("header", "field", "unit"),
    [
        ("帮扶资金(万元)", "funds_cny", "万元"),
        ("援助资金（万元）", "funds_cny", "万元"),
        ("Funds (10k yuan)", "funds_cny", "10k yuan"),
        ("amount", "funds_cny", ""),
        ("项目数", "projects", ""),
        ("projects", "projects", ""),
        ("脱贫人口（人）", "people_lifted", "人"),
        ("people lifted", "people_lifted", ""),
        ("受援县", "recipient_county", ""),
        ("受援县（市、区）", "recipient_county", ""),
        ("受援地", "recipient", ""),
        ("recipient", "recipient", ""),
        ("帮扶方", "donor", ""),
        ("支援方", "donor", ""),
        ("donor", "donor", ""),
        ("年度", "year", ""),
        ("年份", "year", ""),
        ("year", "year", ""),
        ("起始年", "start_year", ""),
        ("结束年", "end_year", ""),
        ("来源", "source", ""),
        ("备注", "note", ""),
        ("帮扶资金 Funds (万元)", "funds_cny", "万元"),
        ("受援市(州) Recipient prefecture", "recipient_prefecture", ""),
        ("财政帮扶资金投入/万元", "funds_cny", "万元"),
    ],
)
def test_headers_match_fields(header, field, unit):
    fld, u, _how = match_header(header)
    assert (fld, u) == (field, unit)


def test_unknown_header_is_left_for_the_user():
    assert match_header("负责人")[0] is None
    m = auto_mapping(["帮扶方", None, "负责人"])
    assert [c.field for c in m.columns] == ["donor", None, None]
    assert m.columns[1].label == "B"


def test_split_unit_keeps_non_units():
    assert split_unit("帮扶资金（亿元）") == ("帮扶资金", "亿元")
    assert split_unit("帮扶资金") == ("帮扶资金", "")


# --- property-based -------------------------------------------------------------------

decimals = st.decimals(
    min_value=Decimal("0"),
    max_value=Decimal("1e15"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


def _grouped(d: Decimal) -> str:
    text = format_decimal(d)
    whole, _, frac = text.partition(".")
    whole = f"{int(whole):,}"
    return whole + ("." + frac if frac else "")


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


@settings(max_examples=300, deadline=None)
@given(decimals, st.booleans(), st.booleans(), st.sampled_from(["", "约", "超过", "about "]))
def test_number_round_trip(d, group, fullwidth, prefix):
    text = _grouped(d) if group else format_decimal(d)
    if fullwidth:
        text = _fullwidth(text)
    n = parse_number(prefix + text)
    assert n is not None
    assert n.value == d
    assert n.qualifier == {"": EXACT, "约": APPROX, "超过": LOWER, "about ": APPROX}[prefix]


@settings(max_examples=200, deadline=None)
@given(decimals, st.sampled_from(["万元", "亿元", "元", "10k yuan", "million yuan"]))
def test_money_conversion_is_exact_and_reversible(d, unit_text):
    unit = parse_unit(unit_text)
    value, _ = to_canonical(d, unit, METRICS["funds_cny"])
    assert value / unit.multiplier == d


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=30), st.floats(), st.integers(), st.none(), st.booleans()))
def test_number_parser_raises_only_parse_error(value):
    with contextlib.suppress(ParseError):
        parse_number(value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_unit_and_year_parsers_raise_only_parse_error(text):
    for fn in (parse_unit, parse_year):
        with contextlib.suppress(ParseError):
            fn(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_header_matching_never_raises(text):
    match_header(text)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=200))
def test_digest_index_finds_the_first_row_across_merges(digests):
    from twinning.imports.duplicates import DigestIndex

    index, first = DigestIndex(merge_every=7), {}
    for row, d in enumerate(digests, start=2):
        assert index.get(d) == first.get(d)
        if d not in first:
            index.add(d, row)
            first[d] = row
