"""Time playback (issue #9): one year in the URL and in the queries, and the callbacks that
step through the years, called as plain functions.

The rules, on the hand-made rows of ``test_aggregate.make_data``:

* a period figure (Yunnan, 2006–2010, 9e8) shows at its full value in every year of its
  period, and from its first year on when cumulative;
* a cumulative count with only an end year (Kashgar, 120 projects "to 2022") shows in 2022
  only ("this year") or from 2022 on ("cumulative to this year"), never before;
* an undated figure (the unresolved 1e9) and a pairing without a start year are in no
  single year; a range of years keeps its old rule (overlap, open ends reach back).
"""

from __future__ import annotations

from dataclasses import replace

import dash
import pandas as pd
import pytest
from test_aggregate import make_frames, pairing, places_frame, values_of

from components import callbacks as cb
from components import ids, playback
from twinning import query as agg
from twinning.figures.series import series_figure
from twinning.filters import Filters
from twinning.query import AtlasData
from twinning.view import View


@pytest.fixture(scope="module")
def data() -> AtlasData:
    pairings, figures = make_frames()
    # a pairing whose start is not stated: in every range, in no single year
    extra = pairing(recipient_adcode="532621", recipient_level="county", start_year=None)
    pairings = pd.concat([pairings, pd.DataFrame([extra])], ignore_index=True)
    return AtlasData.build(pairings, figures, places_frame(), version="play")


def funds(data: AtlasData, f: Filters, level: str = "province") -> dict[str, float]:
    return values_of(agg.place_values(data, replace(f, metric="funds_cny", level=level)))


def projects(data: AtlasData, f: Filters) -> dict[str, float]:
    return values_of(agg.place_values(data, replace(f, metric="projects", level="prefecture")))


# ---------------------------------------------------------------------------------------
# Filters: the URL
# ---------------------------------------------------------------------------------------


def test_a_year_decides_the_range():
    this = Filters(year=2015)
    assert (this.year_from, this.year_to, this.mode) == (2015, 2015, "year")
    upto = Filters(year=2015, mode="cumulative", year_from=2001)
    assert (upto.year_from, upto.year_to) == (None, 2015)
    # without a year the mode means nothing and stays the default
    assert Filters(mode="cumulative").mode == "year"
    assert Filters(year=2015, mode="bogus").mode == "year"


@pytest.mark.parametrize(
    "f",
    [
        Filters(year=2015),
        Filters(year=2015, mode="cumulative", play=True, lang="en", metric="funds_cny"),
        Filters(play=True),
        Filters(year_from=2006, year_to=2010, present=True),
    ],
)
def test_year_mode_and_play_round_trip_through_the_url(f):
    q = f.to_query_string()
    assert Filters.from_query(q) == f
    assert Filters.from_dict(f.as_dict()) == f


def test_the_url_of_a_year_names_the_year_not_the_range():
    q = Filters(year=2015, mode="cumulative", play=True).to_query()
    assert q == {"lang": "zh", "year": "2015", "mode": "cumulative", "play": "1"}
    assert Filters(year=2015).to_query() == {"lang": "zh", "year": "2015"}
    # a year wins over a range in the same link
    f = Filters.from_query("?from=2001&to=2020&year=2012")
    assert (f.year, f.year_from, f.year_to) == (2012, 2012, 2012)


@pytest.mark.parametrize(
    ("query", "year", "mode", "play"),
    [
        ("?year=abc&mode=cumulative&play=yes", None, "year", True),
        ("?year=99999&play=0", None, "year", False),
        ("?year=2015&mode=sideways", 2015, "year", False),
        ("?year=%202015%20&mode=CUMULATIVE", 2015, "cumulative", False),
    ],
)
def test_forged_year_mode_play_in_a_url_fall_back(query, year, mode, play):
    f = Filters.from_query(query)
    assert (f.year, f.mode, f.play) == (year, mode, play)


@pytest.mark.parametrize(
    "forged",
    [
        {"year": "2015", "mode": ["cumulative"], "play": "1"},
        {"year": 10**9, "mode": None, "play": 1},
        {"year": True, "mode": "cumulative"},
        {"year": 2015.5, "mode": {"a": 1}, "play": []},
    ],
)
def test_forged_year_mode_play_from_a_callback_body_fall_back(forged):
    f = Filters.from_dict(forged)
    assert f.year is None and f.mode == "year" and f.play is False
    assert f.year_from is None and f.year_to is None
    assert Filters.from_dict(f.as_dict()) == f


def test_play_and_time_do_not_key_what_is_computed_the_same():
    assert Filters(year=2015, play=True).cache_key() == Filters(year=2015).cache_key()
    assert Filters(year=2015).cache_key() != Filters(year=2016).cache_key()
    t = Filters(year=2015, mode="cumulative", play=True, metric="funds_cny").timeless()
    assert t == Filters(metric="funds_cny")


# ---------------------------------------------------------------------------------------
# the queries
# ---------------------------------------------------------------------------------------


def test_a_period_figure_shows_undivided_in_every_year_of_its_period(data):
    for year in range(2006, 2011):
        assert funds(data, Filters(year=year))["530000"] == pytest.approx(9.0e8)
    assert "530000" not in funds(data, Filters(year=2005))
    # 2011: Wenshan's own yearly figure rolls up to Yunnan, the period has ended
    assert funds(data, Filters(year=2011))["530000"] == pytest.approx(3.0e7)
    pv = agg.place_values(data, Filters(year=2008, metric="funds_cny"))
    assert (pv.n_period, pv.n_cumulative) == (1, 0)  # the same figure twice is counted once


def test_cumulative_to_a_year_takes_a_period_from_its_first_year(data):
    assert "530000" not in funds(data, Filters(year=2005, mode="cumulative"))
    assert funds(data, Filters(year=2006, mode="cumulative"))["530000"] == pytest.approx(9.0e8)
    assert funds(data, Filters(year=2012, mode="cumulative"))["530000"] == pytest.approx(9.3e8)


def test_a_count_to_an_end_year_shows_from_that_year_only(data):
    # "this year": in its end year only
    assert "653100" not in projects(data, Filters(year=2021))
    assert projects(data, Filters(year=2022))["653100"] == 120
    assert "653100" not in projects(data, Filters(year=2023))
    # "cumulative to this year": from its end year on
    assert "653100" not in projects(data, Filters(year=2021, mode="cumulative"))
    assert projects(data, Filters(year=2022, mode="cumulative"))["653100"] == 120
    assert projects(data, Filters(year=2030, mode="cumulative"))["653100"] == 120
    pv = agg.place_values(data, Filters(year=2024, mode="cumulative", metric="projects"))
    assert (pv.n_period, pv.n_cumulative) == (0, 1)
    # a range keeps its rule: a count with no start year reaches back
    assert projects(data, Filters(year_from=2021, year_to=2021))["653100"] == 120


def test_an_undated_figure_is_in_no_single_year(data):
    heads = {h.key: h for h in agg.headlines(data, Filters(year=2015))}
    assert heads["headline_funds"].value == pytest.approx(5.0e6)  # Shache's 2015 figure
    assert heads["headline_funds"].n_figures == 1
    upto = {h.key: h for h in agg.headlines(data, Filters(year=2015, mode="cumulative"))}
    # 9e8 (2006-2010) + 3e7 (2011) + 5e6 (2015); not the undated 1e9, not 2016's 1e6
    assert upto["headline_funds"].value == pytest.approx(9.35e8)
    assert upto["headline_funds"].n_figures == 3
    everything = {h.key: h for h in agg.headlines(data, Filters())}
    assert everything["headline_funds"].n_figures == 5


def test_pairings_of_a_year_are_those_in_force_and_have_a_start(data):
    def n_pairings(f: Filters) -> float:
        return {h.key: h.value for h in agg.headlines(data, f)}["headline_pairings"]

    assert n_pairings(Filters()) == 6  # every range keeps the pairing without a start
    assert n_pairings(Filters(year_from=2000, year_to=2000)) == 3
    assert n_pairings(Filters(year=2000)) == 2  # 1996- and 1997-2009
    assert n_pairings(Filters(year=2010)) == 4  # 1997-2009 has ended; three start in 2010
    assert n_pairings(Filters(year=2010, mode="cumulative")) == 5  # ended ones count
    # the series' pairings in force agree with the map's count of each year
    force = agg.pairings_in_force(data, Filters(), current_year=2012)
    by_year = dict(zip(force["year"], force["n"], strict=True))
    assert by_year[2000] == n_pairings(Filters(year=2000))
    assert by_year[2010] == n_pairings(Filters(year=2010))


def test_the_series_of_a_year_is_the_whole_series_with_a_cursor(data):
    whole = series_figure(data, Filters(lang="en", metric="funds_cny"), current_year=2026)
    at = series_figure(data, Filters(lang="en", metric="funds_cny", year=2015), current_year=2026)
    assert [t.to_plotly_json() for t in at.data] == [t.to_plotly_json() for t in whole.data]
    shape = at.layout.shapes[at.layout.meta["cursor_shape"]]
    label = at.layout.annotations[at.layout.meta["cursor_label"]]
    assert (shape.x0, shape.x1, shape.visible) == (2015, 2015, True)
    assert (label.text, label.visible) == ("2015", True)
    hidden = whole.layout.shapes[whole.layout.meta["cursor_shape"]]
    assert hidden.visible is False


def test_view_sources_follow_the_year(data):
    every = agg.view_sources(data, Filters())
    one = agg.view_sources(data, Filters(year=2015))
    assert every.complete and one.complete
    assert {label for label, _, _ in one.sources} <= {label for label, _, _ in every.sources}
    assert sum(n for *_, n in one.sources) < sum(n for *_, n in every.sources)
    assert all(n > 0 for *_, n in every.sources)
    assert every.sources == sorted(every.sources, key=lambda s: (-s[2], s[0].lower()))


def test_a_large_view_s_sources_are_read_from_its_first_rows_only(data):
    capped = agg.view_sources(data, Filters(), cap=2)
    assert not capped.complete
    assert sum(n for *_, n in capped.sources) <= 4  # two rows of each table
    parts = cb.source_line(View(data, Filters(lang="en")), limit=4)
    assert "and others" not in str(parts)
    assert agg.view_sources(data, Filters(), cap=10_000).complete


# ---------------------------------------------------------------------------------------
# callbacks, as plain functions
# ---------------------------------------------------------------------------------------


def controls(**time) -> Filters:
    return cb.filters_from_controls(
        "?lang=en", "province", "funds_cny", [], None, None, None, [1996, 2026], [], ["on"],
        None, (1996, 2026), **time,
    )  # fmt: skip


def test_the_time_controls_make_the_view():
    assert controls(year=2015, mode="range", playing=False).year is None
    f = controls(year=2015, mode="cumulative", playing=True)
    assert (f.year, f.year_from, f.year_to, f.mode, f.play) == (
        2015,
        None,
        2015,
        "cumulative",
        True,
    )
    assert f.to_query()["year"] == "2015" and "from" not in f.to_query()
    # forged: outside the slider, not a number, an unknown mode
    for year, mode in ((1990, "year"), ("2015", "year"), (True, "year"), (2015, "bogus")):
        forged = controls(year=year, mode=mode, playing="yes")
        assert forged.year is None and forged.play is False
    # the range slider is read again once the single year is left
    assert controls(year=2015, mode="range", playing=None).year_from is None


def test_only_play_pause_asks_nothing_again():
    shown = Filters(year=2015).as_dict()
    assert cb.filters_output(Filters(year=2015, play=True), shown, only_play=True) is dash.no_update
    assert cb.filters_output(Filters(year=2016, play=True), shown, only_play=True) == (
        Filters(year=2016, play=True).as_dict()
    )
    assert cb.filters_output(Filters(year=2015), shown) == shown


def test_a_step_while_playing_replaces_the_address_start_and_stop_add_one():
    start = Filters(year=2010, play=True)
    # start: a new history entry
    assert cb.url_outputs(start, "?lang=zh&year=2010") == (start.to_query_string(), dash.no_update)
    # a step: the address is replaced (the Location still holds the address play began at)
    step = Filters(year=2011, play=True)
    assert cb.url_outputs(step, start.to_query_string()) == (
        dash.no_update,
        "?lang=zh&year=2011&play=1",
    )
    # pause: a new entry again
    stop = Filters(year=2013)
    assert cb.url_outputs(stop, start.to_query_string()) == ("?lang=zh&year=2013", dash.no_update)
    assert cb.url_outputs(stop, stop.to_query_string()) == (dash.no_update, dash.no_update)


def test_a_step_sends_the_map_values_as_a_patch_without_boundaries(data):
    first = Filters(lang="en", metric="funds_cny", year=2008)
    _fig, key, title, note = cb.map_outputs(View(data, first), None)
    assert "(2008)" in title
    assert "2008:" in note and "1 on this map" in note  # the period figure, said so
    patch, key2, title2, _note = cb.map_outputs(View(data, replace(first, year=2011)), key)
    assert isinstance(patch, dash.Patch) and key2 == key
    assert "geojson" not in str(patch.to_plotly_json())
    assert "(2011)" in title2
    _, _, title3, note3 = cb.map_outputs(
        View(data, replace(first, year=2022, mode="cumulative")), key
    )
    assert "cumulative to 2022" in title3 and "Cumulative to 2022" in note3
    _, _, _, pairings_note = cb.map_outputs(View(data, Filters(lang="en", year=2010)), None)
    assert "start year" in pairings_note


def test_a_step_moves_the_series_cursor_with_a_patch(data):
    f = Filters(lang="en", metric="funds_cny", year=2008)
    fig, key = cb.series_step_outputs(View(data, f), None)
    meta = fig["layout"]["meta"]
    assert fig["layout"]["shapes"][meta["cursor_shape"]]["x0"] == 2008
    patch, same = cb.series_step_outputs(View(data, replace(f, year=2009, play=True)), key)
    assert same["key"] == key["key"] and isinstance(patch, dash.Patch)
    ops = patch.to_plotly_json()["operations"]
    assert {(tuple(op["location"]), op["params"]["value"]) for op in ops} >= {
        (("layout", "shapes", meta["cursor_shape"], "x0"), 2009),
        (("layout", "annotations", meta["cursor_label"], "text"), "2009"),
    }
    assert len(str(ops)) < 1000  # a few numbers
    # leaving the single year hides the cursor, a metric of its own row redraws the figure
    hide, _ = cb.series_step_outputs(View(data, f.timeless()), key)
    assert isinstance(hide, dash.Patch)
    _other, key3 = cb.series_step_outputs(View(data, replace(f, metric="villages_supported")), key)
    assert key3["key"] != key["key"]


def test_the_source_line_names_the_view_s_sources(data):
    parts = cb.source_line(View(data, Filters(lang="en")), limit=1)
    assert parts[0].startswith("Sources (")
    assert "more" in parts[-1]
    links = [p for p in parts if isinstance(p, dash.html.A)]
    assert all(a.href.startswith("http") for a in links)
    empty = cb.source_line(View(data, Filters(lang="zh", year=1950)))
    assert empty == ["来源：视图内没有记录。"]


def test_the_controls_start_where_the_url_says():
    f = Filters(lang="en", year=2012, mode="cumulative")
    div = playback.controls(f, 1996, 2026, {1996: "1996", 2026: "2026"})

    def find(node, cid):
        if getattr(node, "id", None) == cid:
            return node
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and hasattr(child, "to_plotly_json"):
                hit = find(child, cid)
                if hit is not None:
                    return hit
        return None

    assert "single" in div.className
    assert find(div, ids.YEAR).value == 2012
    assert find(div, ids.YEAR_MODE).value == "cumulative"
    assert find(div, ids.TICK).disabled is True
    playing = playback.controls(Filters(play=True), 1996, 2026, {})
    assert find(playing, ids.YEAR).value == 1996  # play=1 without a year: from the start
    assert find(playing, ids.YEAR_MODE).value == "year"
    assert find(playing, ids.TICK).disabled is False
    assert find(playing, ids.PLAYING).data is True
    ranged = playback.controls(Filters(), 1996, 2026, {})
    assert find(ranged, ids.YEAR_MODE).value == playback.RANGE and "single" not in ranged.className
