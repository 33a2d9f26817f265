"""Where data is and is not (issue #10): the coverage of a view, in SQL, and its card."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from components import coverage as card
from twinning import query as agg
from twinning.geo.boundaries import places_table
from twinning.query.coverage import NO_PROGRAM, SEVERAL, coverage


def _figure(program, adcode, level, start, end, **kw):
    return {
        "program": program,
        "donor": "上海市",
        "recipient": "x",
        "donor_adcode": "310000",
        "recipient_adcode": adcode,
        "recipient_level": level,
        "period_start": start,
        "period_end": end,
        "metric": "funds_cny",
        "value": 1.0,
        "unit": "CNY",
        "source": "s",
        "confidence": "seen_in_source",
        **kw,
    }


@pytest.fixture(scope="module")
def small() -> agg.AtlasData:
    figures = pd.DataFrame(
        [
            _figure("east_west_cooperation", "530000", "province", 2006, 2010),
            _figure("east_west_cooperation", "530000", "province", 2012, 2012),
            _figure("counterpart_support_xinjiang", "653125", "county", None, 2022),
            _figure(None, "653125", "county", None, None),
            _figure(
                "three_gorges",
                None,
                None,
                2020,
                2020,
                scope_group="list",
                scope_members=[
                    ("recipient", "420506", "county"),
                    ("recipient", "500101", "county"),
                ],
            ),
        ]
    )
    figures["scope_members"] = [m if isinstance(m, list) else [] for m in figures["scope_members"]]
    return agg.AtlasData.build(pd.DataFrame(), figures, places_table())


def test_counts_by_province_and_year_keep_absence_apart_from_zero(small) -> None:
    cov = coverage(small, agg.Filters())
    assert cov.n_figures == 5 and cov.n_several == 1 and cov.n_undated == 1
    assert cov.province_count("530000", "east_west_cooperation") == 2
    assert cov.province_count("650000", "counterpart_support_xinjiang") == 1
    assert cov.province_count("650000", NO_PROGRAM) == 1 and NO_PROGRAM in cov.programs
    # 万州 + 夷陵 lie in two provinces: "several", never 湖北 or 重庆
    assert cov.province_count(SEVERAL, "three_gorges") == 1
    assert cov.province_count("420000", "three_gorges") == 0
    # a period counts in each of its years, undivided; "to 2022" in 2022
    assert [cov.year_count(y, "east_west_cooperation") for y in range(2005, 2013)] == [
        0, 1, 1, 1, 1, 1, 0, 1,
    ]  # fmt: skip
    assert cov.year_count(2022, "counterpart_support_xinjiang") == 1
    assert "110000" in cov.empty_provinces() and "530000" not in cov.empty_provinces()
    assert len(cov.provinces) == 34


def test_the_filters_apply(small) -> None:
    cov = coverage(small, agg.Filters(programs=("east_west_cooperation",), year_to=2010))
    assert cov.n_figures == 1 and cov.province_count("530000", "east_west_cooperation") == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_card_says_none_not_zero_in_both_languages(small, lang) -> None:
    children = card.coverage_children(small, agg.Filters(lang=lang))
    text = json.dumps([c.to_plotly_json() for c in children], ensure_ascii=False, default=str)
    assert ("无数据（不是零）" if lang == "zh" else "no figures (not zero)") in text
    assert ("跨省的合计数据" if lang == "zh" else "several provinces together") in text
    assert ("北京市" if lang == "zh" else "Beijing") in text  # an empty province is listed
    assert "cov-none" in text and "—" in text


def test_reference_coverage(reference_store) -> None:
    data = agg.AtlasData.from_store(reference_store)
    cov = coverage(data, agg.Filters())
    assert cov.n_figures == sum(cov.by_province.values())
    assert cov.province_count("540000", "counterpart_support_tibet") > 0
    assert "460000" in cov.empty_provinces()  # 海南: no figure in the reference data


def test_the_page_has_the_coverage_card(reference_store) -> None:
    from components import layout

    data = agg.AtlasData.from_store(reference_store)
    page = repr(layout.atlas_page(data, agg.Filters()))
    assert "id='coverage-details'" in page and f"id='{card.COVERAGE}'" in page


def test_the_card_is_worked_out_only_while_it_is_open(reference_store, monkeypatch) -> None:
    """Closed (as the page opens), a filter change computes nothing for the card; opening
    it (assets/details_open.js sets the store) fills it for the view (#7)."""
    data = agg.AtlasData.from_store(reference_store)
    asked: list[agg.Filters] = []
    real = card.coverage

    def counting(d, f):
        asked.append(f)
        return real(d, f)

    monkeypatch.setattr(card, "coverage", counting)
    f = agg.Filters(lang="en")
    assert card.coverage_outputs(data, f, False) == []
    assert card.coverage_outputs(data, f, None) == []  # before the page said anything
    assert asked == []
    body = card.coverage_outputs(data, f, True)
    assert asked == [f]
    assert repr(body) == repr(card.coverage_children(data, f))
