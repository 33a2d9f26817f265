"""Aggregation rules: periods stay periods, context_ never counts, rollups, filters, URL.

Small hand-made frames (``make_data``) so each rule is visible in the test; the other app
tests import ``make_data`` from here.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest

from twinning import query as agg
from twinning.query import AtlasData, Filters

PLACES = [
    # adcode, level, name_zh, name_en, province, prefecture, lon, lat
    ("310000", "province", "上海市", "Shanghai", None, None, 121.4, 31.2),
    ("310117", "county", "松江区", "Songjiang District", "310000", "310000", 121.2, 31.0),
    ("370000", "province", "山东省", "Shandong", None, None, 118.0, 36.4),
    ("650000", "province", "新疆维吾尔自治区", "Xinjiang", None, None, 85.0, 41.0),
    ("653100", "prefecture", "喀什地区", "Kashgar Prefecture", "650000", None, 77.0, 38.5),
    ("653125", "county", "莎车县", "Shache County", "650000", "653100", 77.2, 38.4),
    ("653126", "county", "叶城县", "Kargilik County", "650000", "653100", 77.4, 37.9),
    ("530000", "province", "云南省", "Yunnan", None, None, 101.5, 24.5),
    ("532600", "prefecture", "文山壮族苗族自治州", "Wenshan", "530000", None, 104.2, 23.4),
    ("532621", "county", "文山市", "Wenshan City", "530000", "532600", 104.2, 23.4),
]


def places_frame(rows: list[tuple] = PLACES) -> pd.DataFrame:
    """Places ``rows`` (adcode, level, name_zh, name_en, province, prefecture, lon, lat)."""
    cols = ["adcode", "level", "name_zh", "name_en", "province_adcode", "prefecture_adcode"]
    return pd.DataFrame(rows, columns=[*cols, "lon", "lat"])


def pairing(**kw) -> dict:
    row = {
        "program": "east_west_cooperation",
        "donor_province": "上海市",
        "donor_unit": None,
        "donor_adcode": "310000",
        "donor_province_adcode": "310000",
        "recipient_adcode": None,
        "recipient_level": None,
        "start_year": None,
        "end_year": None,
        "source": "https://example.org/a",
        "confidence": "seen_in_source",
    }
    row.update(kw)
    return row


def figure(**kw) -> dict:
    row = {
        "program": "east_west_cooperation",
        "donor": "上海市",
        "recipient": "云南省",
        "donor_adcode": "310000",
        "recipient_adcode": "530000",
        "recipient_level": "province",
        "period_start": None,
        "period_end": None,
        "metric": "funds_cny",
        "value": 0.0,
        "unit": "CNY",
        "qualifier": "exact",
        "quote": "q",
        "source": "000_3fe4908ac1a43767.txt",
        "confidence": "quoted",
        "is_context": False,
    }
    row.update(kw)
    return row


def make_data() -> AtlasData:
    pairings, figures = make_frames()
    return AtlasData.build(pairings, figures, places_frame(), version="t1")


def make_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairings and figures of ``make_data`` as frames (to extend in a test)."""
    pairings = pd.DataFrame(
        [
            pairing(recipient_adcode="530000", recipient_level="province", start_year=1996),
            pairing(
                program="counterpart_support_xinjiang",
                recipient_adcode="653125",
                recipient_level="county",
                start_year=2010,
                donor_unit="松江区",
                donor_adcode="310117",
            ),
            pairing(
                program="counterpart_support_xinjiang",
                donor_province="山东省",
                donor_adcode="370000",
                donor_province_adcode="370000",
                recipient_adcode="653126",
                recipient_level="county",
                start_year=2010,
            ),
            pairing(
                program="counterpart_support_xinjiang",
                donor_province="山东省",
                donor_adcode="370000",
                donor_province_adcode="370000",
                recipient_adcode="653125",
                recipient_level="county",
                start_year=1997,
                end_year=2009,
                confidence="from_memory",
            ),
            pairing(
                program="counterpart_support_xinjiang",
                recipient_adcode=None,
                recipient_level=None,
                unresolved_reason="XPCC division without adcode",
                start_year=2010,
            ),
        ]
    )
    figures = pd.DataFrame(
        [
            # a period figure for Yunnan, 2006-2010
            figure(period_start=2006, period_end=2010, value=9.0e8),
            # the same figure reported twice in the document: counted once
            figure(period_start=2006, period_end=2010, value=9.0e8),
            # a yearly figure for Wenshan (prefecture)
            figure(
                recipient="文山州",
                recipient_adcode="532600",
                recipient_level="prefecture",
                period_start=2011,
                period_end=2011,
                value=3.0e7,
            ),
            # a county figure in Kashgar, yearly 2015
            figure(
                program="counterpart_support_xinjiang",
                recipient="莎车县",
                recipient_adcode="653125",
                recipient_level="county",
                period_start=2015,
                period_end=2015,
                value=5.0e6,
            ),
            # cumulative to 2022, start not stated
            figure(
                program=None,
                recipient="喀什地区",
                recipient_adcode="653100",
                recipient_level="prefecture",
                period_start=None,
                period_end=2022,
                metric="projects",
                value=120,
                unit="projects",
                qualifier="lower_bound",
            ),
            # background: never counted
            figure(metric="context_visitors", value=7.3e7, unit="persons", is_context=True),
            # context by name even if the flag is missing
            figure(metric="context_days", value=184, unit="days", is_context=False),
            # from memory
            figure(
                recipient="莎车县",
                recipient_adcode="653125",
                recipient_level="county",
                period_start=2016,
                period_end=2016,
                value=1.0e6,
                confidence="from_memory",
            ),
            # unresolved recipient
            figure(recipient="东部省市", recipient_adcode=None, recipient_level=None, value=1e9),
        ]
    )
    return pairings, figures


@pytest.fixture
def data() -> AtlasData:
    return make_data()


def rows_in_view(data: AtlasData, f: Filters) -> SimpleNamespace:
    """The stored pairings and (non-context) figures a view takes, as the tables read them."""
    return SimpleNamespace(
        pairings=agg.table_rows(data, f, "pairings"),
        figures=agg.table_rows(data, replace(f, metric=None), "figures"),
    )


def values_of(pv: agg.PlaceValues) -> dict[str, float]:
    return dict(zip(pv.values["adcode"], pv.values["value"], strict=True))


def test_period_figure_overlaps_year_range(data):
    inside = agg.place_values(data, Filters(metric="funds_cny", year_from=2008, year_to=2008))
    assert values_of(inside)["530000"] == pytest.approx(9.0e8)
    before = agg.place_values(data, Filters(metric="funds_cny", year_from=2000, year_to=2005))
    assert "530000" not in values_of(before)
    after = agg.place_values(data, Filters(metric="funds_cny", year_from=2010, year_to=2012))
    # 2006-2010 overlaps 2010-2012; plus the 2011 Wenshan figure rolled up to Yunnan
    assert values_of(after)["530000"] == pytest.approx(9.0e8 + 3.0e7)


def test_same_figure_twice_is_counted_once(data):
    pv = agg.place_values(data, Filters(metric="funds_cny", level="province"))
    assert values_of(pv)["530000"] == pytest.approx(9.0e8 + 3.0e7)


def test_context_metrics_never_counted(data):
    assert "context_visitors" not in agg.metric_options(data)
    assert "context_days" not in agg.metric_options(data)
    view = rows_in_view(data, Filters())
    assert not view.figures["metric"].str.startswith("context_").any()
    heads = {h.key: h for h in agg.headlines(data, Filters())}
    # funds: 9e8 (once) + 3e7 + 5e6 + 1e6 (from memory) + 1e9 (unresolved, still a figure)
    assert heads["headline_funds"].value == pytest.approx(9.0e8 + 3.0e7 + 5.0e6 + 1.0e6 + 1.0e9)
    assert heads["headline_funds"].n_figures == 5


def test_from_memory_filter(data):
    all_rows = rows_in_view(data, Filters())
    seen = rows_in_view(data, Filters(include_from_memory=False))
    assert len(all_rows.pairings) - len(seen.pairings) == 1
    assert (seen.pairings["confidence"] != "from_memory").all()
    assert (seen.figures["confidence"] != "from_memory").all()
    county = agg.place_values(data, Filters(metric="funds_cny", level="county"))
    county_seen = agg.place_values(
        data, Filters(metric="funds_cny", level="county", include_from_memory=False)
    )
    assert values_of(county)["653125"] == pytest.approx(6.0e6)
    assert values_of(county_seen)["653125"] == pytest.approx(5.0e6)


def test_rollup_to_levels_and_coarse_figures(data):
    prov = agg.place_values(data, Filters(metric="funds_cny", level="province"))
    pref = agg.place_values(data, Filters(metric="funds_cny", level="prefecture"))
    county = agg.place_values(data, Filters(metric="funds_cny", level="county"))
    assert values_of(prov)["650000"] == pytest.approx(6.0e6)  # county figures roll up
    assert values_of(pref)["653100"] == pytest.approx(6.0e6)
    assert values_of(pref)["532600"] == pytest.approx(3.0e7)
    # the Yunnan-wide figure is not pushed down to prefectures: it is counted as coarse
    assert "530000" not in values_of(pref)
    assert pref.n_coarse == 1
    assert county.n_coarse == 2  # Yunnan-wide and Wenshan-wide
    assert prov.n_unresolved == 1


def test_municipality_listed_at_two_levels_rolls_up():
    places = places_frame()
    places["levels"] = places["level"]
    places.loc[places["adcode"] == "310000", "levels"] = "province,prefecture"
    p = pd.DataFrame(
        [pairing(recipient_adcode="310117", recipient_level="county", start_year=2000)]
    )
    d = AtlasData.build(p, pd.DataFrame([figure()]), places)
    rows = agg.table_rows(d, Filters(), "pairings")
    assert rows.loc[0, "r_prefecture"] == "310000"
    assert rows.loc[0, "r_province"] == "310000"


def test_year_filter_on_pairings(data):
    view = rows_in_view(data, Filters(year_from=1998, year_to=2005))
    # 1996- (ongoing) and 1997-2009 overlap; the 2010 starts do not
    assert sorted(view.pairings["start_year"].dropna().astype(int)) == [1996, 1997]


def test_filters_by_program_donor_recipient(data):
    view = rows_in_view(data, Filters(programs=("counterpart_support_xinjiang",)))
    assert set(view.pairings["program"]) == {"counterpart_support_xinjiang"}
    assert view.figures["program"].eq("counterpart_support_xinjiang").all()
    shandong = rows_in_view(data, Filters(donor="370000"))
    assert set(shandong.pairings["donor_key"]) == {"370000"}
    xj = rows_in_view(data, Filters(recipient="650000"))
    assert set(xj.pairings["r_province"]) == {"650000"}
    songjiang = rows_in_view(data, Filters(donor_unit="310117"))
    assert list(songjiang.pairings["recipient_adcode"]) == ["653125"]


def test_series_keeps_periods_as_periods(data):
    s = agg.series(data, Filters(), "funds_cny")
    assert list(s.periods[["start", "end"]].astype(int).itertuples(index=False, name=None)) == [
        (2006, 2010)
    ]
    assert s.periods["value"].tolist() == [9.0e8]  # whole value, not split by year
    assert set(s.yearly["year"]) == {2011, 2015, 2016}
    assert 2008 not in set(s.yearly["year"])
    proj = agg.series(data, Filters(), "projects")
    assert proj.cumulative["end"].astype(int).tolist() == [2022]
    assert proj.yearly.empty


def test_pairings_in_force_skips_rows_without_start(data):
    force = agg.pairings_in_force(data, Filters(), current_year=2012)
    by_year = dict(zip(force["year"], force["n"], strict=True))
    assert by_year[1996] == 1
    assert by_year[2005] == 2
    assert by_year[2010] == 4  # the 1997-2009 pairing ended; three rows start in 2010
    assert by_year[2012] == 4


@pytest.mark.parametrize("seed", range(5))
def test_pairings_in_force_counts_each_year_as_the_pairings_say(seed):
    """In force in a year: started by it and not ended before it (no end: still in force),
    counted in one pass (#7); checked against counting every year and pairing."""
    import random

    from twinning.query import views

    rng = random.Random(seed)
    rows = []
    for _ in range(rng.randint(1, 60)):
        start = rng.randint(1990, 2024)
        rows.append((start, rng.choice([None, rng.randint(start - 2, 2030)])))

    class Rows:
        def rows(self, sql, params):
            return rows

    now = 2026
    year_from = rng.choice([None, rng.randint(1985, 2020)])
    year_to = rng.choice([None, rng.randint(1995, 2030)])
    if year_from and year_to and year_from > year_to:
        year_from, year_to = year_to, year_from
    f = Filters(year_from=year_from, year_to=year_to)
    got = views._in_force(Rows(), f, now)
    lo = year_from or min(s for s, _ in rows)
    hi = year_to or now
    want = {
        y: sum(1 for s, e in rows if s <= y <= (e if e is not None else now))
        for y in range(lo, hi + 1)
    }
    assert dict(zip(got["year"], got["n"], strict=True)) == want


def test_place_donors_and_flows(data):
    pdn = agg.place_donors(data, Filters(level="county"))
    by = dict(zip(pdn.places["adcode"], pdn.places["donors"], strict=True))
    assert set(by["653125"]) == {"310000", "370000"}
    assert by["653126"] == ("370000",)
    fl = agg.flows(data, Filters(level="county"))
    pairs = {(f.donor_point, f.recipient) for f in fl}
    # at county level the line starts at the donor district when the row names one
    assert ("310117", "653125") in pairs
    assert ("370000", "653125") in pairs
    flw = {(f.donor_key, f.recipient): f for f in agg.flows(data, Filters(level="province"))}
    assert flw[("310000", "650000")].value == pytest.approx(6.0e6)


def test_headline_counts(data):
    heads = {h.key: h for h in agg.headlines(data, Filters())}
    assert heads["headline_pairings"].value == 5
    assert heads["headline_donors"].value == 2
    assert heads["headline_recipients"].value == 3


def test_place_detail(data):
    d = agg.place_detail(data, Filters(), "653125")
    assert d is not None and d.level == "county"
    assert len(d.pairings) == 2
    assert {c for c, _, _ in d.parents} == {"650000", "653100"}
    assert set(d.figures["metric"]) == {"funds_cny"}
    kashgar = agg.place_detail(data, Filters(), "653100")
    assert len(kashgar.pairings) == 3  # the prefecture's counties included
    assert "projects" in set(kashgar.figures["metric"])
    shanghai = agg.place_detail(data, Filters(), "310000")
    assert len(shanghai.donor_pairings) == 3
    assert agg.place_detail(data, Filters(), "999999") is None


def test_source_links():
    links = agg.source_links("https://a.example/x ; 000_3fe4908ac1a43767.txt ; a book")
    assert links[0] == ("https://a.example/x", "https://a.example/x")
    assert links[1][1].startswith("https://yearbook.iprcc.org.cn/")
    assert links[2] == ("a book", None)


def test_query_round_trip():
    f = Filters(
        lang="en",
        level="county",
        metric="funds_cny",
        programs=("counterpart_support_tibet", "east_west_cooperation"),
        donor="310000",
        donor_unit="310117",
        recipient="650000",
        year_from=2010,
        year_to=2020,
        include_from_memory=False,
        place="653125",
        present=True,
    )
    q = f.to_query_string()
    assert "program=counterpart_support_tibet,east_west_cooperation" in q
    assert Filters.from_query(q) == f
    assert Filters.from_dict(f.as_dict()) == f


def test_query_is_lenient():
    f = Filters.from_query("?lang=fr&level=galaxy&from=abc&to=1990&memory=0&from=2020")
    assert f.lang == "zh" and f.level == "province"
    assert f.year_from == 1990 and f.year_to == 2020  # swapped into order
    assert f.include_from_memory is False
    assert Filters.from_query("") == Filters()
    assert Filters.from_query(None) == Filters()
    assert Filters().to_query() == {"lang": "zh"}


def test_tables_carry_source_quote_confidence_and_neutralise_formulas(data):
    pt = agg.pairings_table(data, Filters(lang="en"))
    assert {"Source", "Confidence"} <= set(pt.columns)
    assert "from memory" in set(pt["Confidence"])
    ft = agg.figures_table(data, Filters(lang="en"))
    assert {"Quote", "Source", "Confidence", "Period"} <= set(ft.columns)
    assert "2006–2010" in set(ft["Period"])
    evil = pd.DataFrame({"a": ["=HYPERLINK(1)", "+1", "-2", "@x", "fine"], "b": [1, 2, 3, 4, 5]})
    safe = agg.neutralise_formulas(evil)
    assert safe["a"].tolist() == ["'=HYPERLINK(1)", "'+1", "'-2", "'@x", "fine"]
    assert agg.export_csv(evil).decode("utf-8-sig").splitlines()[1].startswith("'=")
    xlsx = agg.export_xlsx({"t": evil})
    back = pd.read_excel(__import__("io").BytesIO(xlsx))
    assert back["a"].iloc[0] == "'=HYPERLINK(1)"


def test_year_bounds(data):
    lo, hi = agg.year_bounds(data, current_year=2025)
    assert (lo, hi) == (1996, 2025)
    assert not math.isnan(lo)


@pytest.mark.parametrize(
    "forged",
    [
        {"year_from": 0, "year_to": 1_000_000},
        {"year_from": "2006", "year_to": [2010]},
        {"level": ["county"], "metric": {"a": 1}, "programs": "east_west_cooperation"},
        {"programs": [1, None, "x" * 500], "donor": 310000, "include_from_memory": "no"},
        {"lang": ["en"], "place": None, "flows": 1},
        "not a mapping",
        None,
    ],
)
def test_a_forged_view_from_a_callback_body_falls_back_to_defaults(forged):
    f = Filters.from_dict(forged)
    assert f.level in agg.LEVELS
    assert f.year_from is None or 1900 <= f.year_from <= 2100
    assert f.year_to is None or 1900 <= f.year_to <= 2100
    assert all(isinstance(p, str) and len(p) <= 64 for p in f.programs)
    assert isinstance(f.include_from_memory, bool) and isinstance(f.flows, bool)
    assert f.metric is None or isinstance(f.metric, str)
    assert Filters.from_dict(f.as_dict()) == f  # a checked view round-trips unchanged
