"""Figures as data: what the map and the series put in front of a reader.

Hand-made data (tests/test_aggregate.make_data) where a rule needs a visible cause; the
reference store where the rule is about the shipped boundaries.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from test_aggregate import make_data, make_frames, pairing, places_frame

from twinning import i18n
from twinning import query as agg
from twinning.figures import map as fmap
from twinning.figures import series as fseries
from twinning.figures.markup import esc

HOSTILE = "<img src=x onerror=alert(1)>&co"


def _with_hostile_donor() -> agg.AtlasData:
    """A pairing whose donor has no adcode, named by text that came from a file."""
    base_pairings, base_figures = make_frames()
    rogue = pairing(
        donor_province=HOSTILE,
        donor_adcode=None,
        donor_province_adcode=None,
        recipient_adcode="653126",
        recipient_level="county",
        start_year=2012,
    )
    pairings = pd.concat([base_pairings, pd.DataFrame([rogue])], ignore_index=True)
    keep = [c for c in rogue if c in pairings.columns]
    return agg.AtlasData.build(pairings[keep], base_figures, places_frame(), version="t2")


def _strings(obj) -> list[str]:
    return [s for s in json.dumps(obj, ensure_ascii=False).split('"') if "img" in s]


def test_escape_leaves_plain_text_and_neutralises_markup():
    assert esc("莎车县") == "莎车县"
    assert esc(None) == ""
    assert esc(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;&amp;co"


def test_text_from_records_is_shown_not_interpreted_in_map_hovers_and_legend():
    data = _with_hostile_donor()
    filters = agg.Filters(lang="en", level="county")
    values = fmap.map_patch_values(data, filters, ("653125", "653126", "532621"))
    hover = [h for h in values["main"]["hovertext"] if h]
    assert any("&lt;img" in h for h in hover), "the donor's name is in the hover"
    assert not any("<img" in h for h in hover)
    fig = fmap.map_figure(data, filters, {"type": "FeatureCollection", "features": []}, ())
    found = _strings(fig.to_plotly_json())
    assert found and all("<img" not in s for s in found)


def test_every_programme_in_view_gets_one_legend_entry():
    data = make_data()
    for filters in (agg.Filters(level="county"), agg.Filters(level="county", metric="projects")):
        programs = agg.program_options(data)
        slots = fmap.map_patch_values(data, filters, ())["flows"]
        n = len(fmap.WIDTH_CLASSES)
        for pi, _program in enumerate(programs):
            mine = slots[pi * n : (pi + 1) * n]
            drawn = [s for s in mine if s["lon"]]
            shown = [s for s in mine if s["showlegend"]]
            assert len(shown) == (1 if drawn else 0)
            assert all(s["lon"] for s in shown), "a legend entry on an empty trace is hidden"


def test_flows_off_shows_no_programme_in_the_legend():
    slots = fmap.map_patch_values(make_data(), agg.Filters(flows=False), ())["flows"]
    assert slots and not any(s["showlegend"] for s in slots)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_map_draws_the_largest_flows_and_says_how_many_of_how_many(
    reference_store, monkeypatch, lang
):
    """Above TWINNING_MAP_FLOWS_MAX lines, the largest by the map's metric are drawn (a
    national county map of a large register had ~1,400); the note says so in the view's
    language. Under it (the reference data at the default) every flow is drawn and the
    note says nothing of it."""
    data = agg.AtlasData.from_store(reference_store)
    f = agg.Filters(level="county", metric="funds_cny", lang=lang)
    every = agg.flows(data, f)
    assert len(every) > 5
    full = fmap.map_patch_values(data, f, ())
    hovers = lambda values: [  # noqa: E731 - one hover point per drawn flow
        c[0] for s in values["flows"] if "hovertemplate" in s for c in s["customdata"]
    ]
    assert len(hovers(full)) == len(every)

    monkeypatch.setenv("TWINNING_MAP_FLOWS_MAX", "5")
    capped = fmap.map_patch_values(data, f, ())
    drawn, total = fmap.shown_flows(data, f)
    assert total == len(every) and len(drawn) == 5
    values = sorted((x.value or 0.0 for x in every), reverse=True)
    assert sorted((x.value or 0.0 for x in drawn), reverse=True) == values[:5]
    assert sorted(hovers(capped)) == sorted(x.recipient for x in drawn)
    assert capped["note"].startswith(full["note"])
    assert capped["note"] != full["note"]
    assert "5" in capped["note"] and str(len(every)) in capped["note"]
    # a file of the map says it too, under the map (not under the series)
    from twinning.view import View

    view = View(data, f)
    assert fmap.flows_note(data, f) in view.notes("map")
    assert fmap.flows_note(data, f) not in view.notes("series")


def test_no_data_label_has_room_below_the_lowest_tick():
    data = make_data()
    values = fmap.map_patch_values(
        data, agg.Filters(level="county", metric="funds_cny"), ("653125", "653126", "532621")
    )
    bar = values["main"]["colorbar"]
    no_data, lowest = bar["tickvals"][:2]
    span = values["main"]["zmax"] - values["main"]["zmin"]
    # the label sits mid-band: 6% of a 0.55-high bar on a 600 px map is ~20 px
    assert (lowest - no_data) / span >= 0.055


def _coords(shapes: dict) -> list[tuple[float, float]]:
    import shapely

    out = []
    for f in shapes["features"]:
        geom = shapely.from_geojson(json.dumps(f["geometry"]))
        out += [tuple(c) for c in shapely.get_coordinates(geom)]
    return out


def test_inset_layers_are_cut_to_the_inset():
    shapes = fmap.load_overlays().shapes
    x0, y0, x1, y1 = fmap.INSET_CLIP
    lon, lat = fmap.load_overlays().inset_neighbors
    pts = [(x, y) for x, y in zip(lon, lat, strict=True) if x is not None]
    assert pts, "the inset shows the neighbours around the South China Sea"
    assert all(x0 - 1e-6 <= x <= x1 + 1e-6 and y0 - 1e-6 <= y <= y1 + 1e-6 for x, y in pts)
    inset = json.dumps(shapes["inset-outline"])
    main = json.dumps(shapes["outline"])
    assert 0 < len(inset) < len(main) / 1.5, "the inset carries its corner, not all of China"


def test_context_layers_are_clockwise_shapes_with_ids_of_their_own():
    # drawn as choropleths (CONTEXT_LAYERS): a counter-clockwise exterior would make
    # plotly.js fill and outline the rest of the globe; the layers share one file on
    # screen, so no two layers share an id
    import shapely

    shapes = fmap.load_overlays().shapes
    assert set(shapes) == set(fmap.CONTEXT_LAYERS)
    ids = [f["id"] for layer in shapes.values() for f in layer["features"]]
    assert len(ids) == len(set(ids))
    for name, layer in shapes.items():
        assert all(f["id"].startswith(name + "-") for f in layer["features"]), name
        for f in layer["features"]:
            geom = shapely.from_geojson(json.dumps(f["geometry"]))
            parts = [p for p in getattr(geom, "geoms", [geom]) if p.area > 1e-6]
            assert parts and not [p for p in parts if p.exterior.is_ccw], (name, f["id"])


def test_inset_land_is_simplified_below_a_pixel_and_keeps_its_area_and_islands():
    # China's grey land in the inset is simplified at INSET_OUTLINE_TOLERANCE (a third of
    # a pixel at the inset's scale): the coastal islets plotly.js clipped one by one drop
    # out, the land keeps its area, and the islands layer on top keeps every island
    import shapely

    from twinning.figures import geojson as gj

    shapes = fmap.load_overlays().shapes
    land = shapely.from_geojson(json.dumps(shapes["inset-outline"]["features"][0]["geometry"]))
    full = gj._overlay("outline", fmap.INSET_CLIP, 0.0).geometry.iloc[0]
    parts, full_parts = list(getattr(land, "geoms", [land])), list(full.geoms)
    assert land.is_valid and len(parts) < len(full_parts) / 4, (len(parts), len(full_parts))
    assert all(not p.exterior.is_ccw for p in parts)  # ccw: plotly fills the globe
    assert abs(land.area - full.area) < full.area * 0.001
    # the land stays where it was (what drops out is islets: their area is the 0.1 %)
    assert full.buffer(fmap.INSET_OUTLINE_TOLERANCE * 1.01).contains(land)
    islands = gj._overlay("islands", None, 0.0).geometry
    assert len(_coords(shapes["inset-islands"])) == islands.count_coordinates().sum()


def test_neighbours_are_coarse_but_valid_clockwise_polygons():
    from twinning.figures import geojson as gj

    gdf = gj._overlay("neighbors", None, fmap.NEIGHBOUR_TOLERANCE)
    assert len(gdf) >= 10
    assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()
    for g in gdf.geometry:
        for part in getattr(g, "geoms", [g]):
            # go.Choropleth fills the rest of the globe for a counter-clockwise exterior
            assert not part.exterior.is_ccw
    full = gj._overlay("neighbors", None, 0.0)
    coarse_n = gdf.geometry.count_coordinates().sum()
    assert coarse_n < full.geometry.count_coordinates().sum() / 2


def test_series_draws_each_period_once_at_its_full_value():
    data = make_data()
    fig = fseries.series_figure(data, agg.Filters(lang="en"), current_year=2026)
    bars = [t for t in fig.data if t.type == "bar" and t.legendgroup == "period"]
    assert len(bars) == 1, "one trace per row carries all its periods"
    (bar,) = bars
    assert list(bar.y) == [9.0e8], "the 2006-2010 figure, deduplicated, never split by year"
    assert list(bar.width) == [5] and list(bar.x) == [2008]
    assert "2006" in bar.hovertext[0] and "2010" in bar.hovertext[0]


@pytest.mark.parametrize(
    "filters",
    [
        agg.Filters(lang="en"),
        agg.Filters(lang="zh", present=True, year=2008),
        agg.Filters(lang="en", year_from=1800, year_to=1801),  # nothing to draw
    ],
)
def test_series_built_unvalidated_is_what_plotly_would_build(filters):
    """The series is assembled as dicts and wrapped unvalidated (4x faster, #7): plotly's
    own validation of the same figure accepts every property and changes nothing."""
    import plotly.graph_objects as go
    import plotly.io as pio

    fig = fseries.series_figure(make_data(), filters, current_year=2026)
    built = json.loads(pio.to_json(fig))
    checked = go.Figure(built)  # raises on any property plotly does not know
    assert json.loads(pio.to_json(checked)) == built
    assert built["layout"]["annotations"][0]["text"] == i18n.t("series_pairings", filters.lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_series_money_axis_speaks_the_readers_units(lang):
    fig = fseries.series_figure(make_data(), agg.Filters(lang=lang), current_year=2026)
    ticktexts = [
        t
        for name in fig.layout
        if name.startswith("yaxis")
        for t in (fig.layout[name].ticktext or ())
    ]
    unit = "亿元" if lang == "zh" else "billion"
    assert any(unit in t for t in ticktexts), ticktexts


def test_donor_without_an_adcode_keeps_its_key_and_has_an_english_name():
    base_pairings, base_figures = make_frames()
    soe = pairing(
        program="counterpart_support_tibet",
        donor_province="中央企业",
        donor_unit="中化集团",
        donor_adcode=None,
        donor_province_adcode=None,
        recipient_adcode="653126",
        recipient_level="county",
    )
    pairings = pd.concat([base_pairings, pd.DataFrame([soe])], ignore_index=True)
    keep = [c for c in soe if c in pairings.columns]
    data = agg.AtlasData.build(pairings[keep], base_figures, places_frame(), version="t3")
    assert "中央企业" in agg.all_donor_keys(data)
    assert agg.donor_label(data, "中央企业", "zh") == "中央企业"
    assert agg.donor_label(data, "中央企业", "en") == "Central state-owned enterprises"
    units = {key: name for key, name, _prov in agg.donor_unit_options(data, "中央企业")}
    assert units == {"中化集团": "中化集团"}


def test_a_series_row_without_figures_says_so():
    # the hand-made data has funds and projects but no people lifted out of poverty
    fig = fseries.series_figure(make_data(), agg.Filters(lang="en"), current_year=2026)
    notes = [a for a in fig.layout.annotations if a.text == "No figure reported in view"]
    titles = [a.text for a in fig.layout.annotations]
    assert "People lifted out of poverty" in titles
    assert len(notes) == 1, titles
    people_row = titles.index("People lifted out of poverty") + 1
    assert notes[0].yref == f"y{people_row} domain"


@pytest.mark.parametrize(
    ("values", "unit", "lang", "expected"),
    [
        # one unit per view: the largest the smallest value reaches, format_value's decimals
        ([8.0e6, 2.35e8], "CNY", "zh", (1e4, 1, "万元")),
        ([3.0e8, 9.03e8], "CNY", "zh", (1e8, 2, "亿元")),
        ([5.0e6, 3.0e9], "CNY", "en", (1e6, 1, " million yuan")),
        ([2.0e9], "CNY", "en", (1e9, 2, " billion yuan")),
        ([500.0], "CNY", "zh", (1.0, 0, "元")),
        ([12.0, 40.0], "projects", "zh", (1.0, 2, "个")),
        ([12.0, 40.0], "projects", "en", (1.0, 2, " projects")),
        ([3.0e4, 9.0e4], "persons", "zh", (1e4, 2, "万人")),
        ([55.0], "%", "en", (1.0, 2, "%")),
        ([], "CNY", "en", (1.0, 0, " yuan")),
    ],
)
def test_hover_unit_is_one_per_view_and_loses_no_digit(values, unit, lang, expected):
    assert fmap.hover_unit(values, unit, lang) == expected


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_metric_values_are_numbers_formatted_by_the_template(lang):
    data = make_data()
    locations = ("653125", "653126", "532621")
    filters = agg.Filters(lang=lang, level="county", metric="funds_cny")
    main = fmap.map_patch_values(data, filters, locations)["main"]
    pv = agg.place_values(data, filters)
    by_code = {r.adcode: (float(r.value), int(r.n_figures)) for r in pv.values.itertuples()}
    divisor, decimals, suffix = fmap.hover_unit(
        [v for v, _n in by_code.values() if v > 0], pv.unit, lang
    )
    assert main["hovertext"] == [], "no hover strings: the template builds them"
    template = main["hovertemplate"]
    assert template.count("%{text}") == 1 and f":,.{decimals}~f}}{suffix}<br>" in template
    assert i18n.t("hover_figures", lang, n="%{customdata[1]}") in template
    for code, z, custom in zip(locations, main["z"], main["customdata"], strict=True):
        if code in by_code and by_code[code][0] > 0:
            v, n = by_code[code]
            assert custom == [round(v / divisor, decimals), n]
        else:
            assert z is None and custom is None  # drawn by the no-data layer
    names = json.dumps(main, ensure_ascii=False)
    assert "莎车" not in names and "Shache" not in names


def test_every_place_is_drawn_by_exactly_one_layer():
    data = make_data()
    locations = ("653125", "653126", "532621")
    for metric in ("funds_cny", None):
        filters = agg.Filters(lang="zh", level="county", metric=metric)
        fig = fmap.map_figure(data, filters, "/geo/county-0.json", locations).to_plotly_json()
        meta = fig["layout"]["meta"]
        main, no_data = fig["data"][meta["main"]], fig["data"][meta["no_data"]]
        assert main["geojson"] == no_data["geojson"] == "/geo/county-0.json"
        names = [data.place_label(c, "zh") for c in locations]
        assert list(main["text"]) == list(no_data["text"]) == names and "莎车县" in names
        pairs = zip(main["z"], no_data["z"], strict=True)
        assert all((a is None) != (b is None) for a, b in pairs)
        assert i18n.t("map_no_data", "zh") in no_data["hovertemplate"]


def test_division_labels_never_cover_each_other() -> None:
    """The XPCC divisions around Urumqi sit a few kilometres apart: each label goes to a
    side of its point where it covers no other label or point, or is left to the hover."""
    from twinning.figures.map import MAP_WIDTH_PX, _text_px, place_labels

    lons = [87.6, 87.62, 87.65, 86.05, 85.9, 79.9]  # five around Urumqi/Shihezi, one alone
    lats = [43.8, 43.82, 43.78, 44.3, 44.35, 37.1]
    labels = ["第一师", "第六师", "第十二师", "第八师", "第七师", "第十四师"]
    for filters in (agg.Filters(), agg.Filters(level="county", recipient="650000")):
        shown, positions = place_labels(lons, lats, labels, filters, 10)
        assert shown[-1] == "第十四师"  # alone: always labelled
        assert 0 < sum(1 for s in shown if s) < len(labels)  # the cluster: some on hover
        assert len(positions) == len(labels)
    # drilled into Xinjiang the map is larger: more labels fit than nationally
    national = sum(1 for s in place_labels(lons, lats, labels, agg.Filters(), 10)[0] if s)
    drilled = place_labels(lons, lats, labels, agg.Filters(recipient="650000"), 10)[0]
    assert sum(1 for s in drilled if s) >= national
    assert _text_px("第十四师", 10) == 40 and MAP_WIDTH_PX > 0


@pytest.mark.parametrize(
    ("level", "province"), [("province", None), ("county", None), ("county", "650000")]
)
def test_a_level_s_places_are_laid_out_without_keeping_its_geojson(level, province):
    """The map's values follow ``level_locations``, the same order as the GeoJSON's; a served
    boundary file is serialised from a GeoJSON nobody keeps (12 MB of dicts for the counties
    in every worker, #7)."""
    from components import geo_assets
    from twinning.figures import geojson as gj

    assert gj.level_locations(level, province) == gj.build_level_geojson(level, province)[1]
    gj.level_geojson.cache_clear()
    geo_assets.asset.cache_clear()
    served = geo_assets.asset(level, province)
    assert gj.level_geojson.cache_info().currsize == 0
    features = json.loads(served.body)["features"]
    drawn = [f["id"] for f in features]
    assert drawn == [c for c in gj.level_locations(level, province) if c in set(drawn)]


@pytest.mark.parametrize("rows", range(1, 9))
def test_the_series_grid_is_make_subplots_grid(rows) -> None:
    """The series' rows are laid out as ``make_subplots`` lays them out (the series builds
    the layout itself: make_subplots took 24-66 ms a set of titles, #7)."""
    from plotly.subplots import make_subplots

    titles = tuple(f"{i} <b>资金</b> & {{x}}" for i in range(rows))
    expected = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=fseries.GRID_SPACING,
        subplot_titles=list(titles),
    ).to_plotly_json()["layout"]
    assert json.loads(fseries._grid_layout(titles)) == expected


def test_a_flow_is_its_two_ends_with_the_arrowhead_turned_along_its_arc():
    # plotly draws the great circle between two geo points itself: a flow sends its two
    # ends, and its arrowhead is turned to the bearing the arc arrives with (#7)
    assert fmap.arrival_bearing(100.0, 30.0, 100.0, 40.0) == 0  # due north
    assert fmap.arrival_bearing(100.0, 40.0, 100.0, 30.0) == -180  # due south
    assert fmap.arrival_bearing(100.0, 0.0, 110.0, 0.0) == 90  # east along the equator
    assert fmap.arrival_bearing(110.0, 0.0, 100.0, 0.0) == -90
    # Shanghai to Kashgar: westward, and the great circle arrives heading south of west
    kashgar = fmap.arrival_bearing(121.47, 31.23, 75.99, 39.47) % 360
    assert 240 < kashgar < 270
    # the tangent at the end, as the old vertex at 92 % of the arc pointed (to a degree or
    # two: that was a chord)
    (lon, _), (lat, _) = fmap._great_circle(121.47, 31.23, 75.99, 39.47, (0.999, 1.0))
    dx = (75.99 - lon) * math.cos(math.radians(39.47))
    chord = math.degrees(math.atan2(dx, 39.47 - lat)) % 360
    assert abs(kashgar - chord) <= 2

    data = make_data()
    fig = fmap.map_figure(
        data, agg.Filters(lang="en", level="county"), "/geo/county-0.json", ("653125",)
    ).to_plotly_json()
    lines = [fig["data"][i] for i in fig["layout"]["meta"]["flows"]]
    lines = [t for t in lines if t.get("mode") == "lines+markers" and t["lon"]]
    assert lines
    for t in lines:
        n = len(t["lon"])
        assert n % 3 == 0 and t["lon"][2::3] == [None] * (n // 3)  # start, end, gap
        assert t["marker"]["angleref"] == "north"
        assert len(t["marker"]["angle"]) == len(t["marker"]["size"]) == n
        for i in range(0, n, 3):
            assert t["marker"]["size"][i] == 0 and t["marker"]["size"][i + 1] > 0
            bearing = fmap.arrival_bearing(
                t["lon"][i], t["lat"][i], t["lon"][i + 1], t["lat"][i + 1]
            )
            assert abs((t["marker"]["angle"][i + 1] - bearing + 180) % 360 - 180) <= 1


def test_a_maps_values_sit_at_every_position_of_their_place_and_nowhere_else():
    """A metric's z, customdata and no-data layer are laid out by the level's places: each
    place with a value at each of its positions (a place listed twice: both), every other
    place in the no-data layer (#7: filled from the values, not by walking the places)."""
    data = make_data()
    filters = agg.Filters(lang="en", level="county", metric="funds_cny")
    shown = {r.adcode: r.value for r in agg.place_values(data, filters).rows if r.value > 0}
    assert shown, "the test data has county funds"
    some = sorted(shown)[0]
    locations = (some, "999999", *sorted(shown), some, "000000")
    main = fmap.map_patch_values(data, filters, locations)
    again = tuple(list(locations))  # another tuple of the same places: the same values
    assert fmap.map_patch_values(data, filters, again) == main
    z, custom, no_data = main["main"]["z"], main["main"]["customdata"], main["no_data"]["z"]
    for i, code in enumerate(locations):
        if code in shown:
            assert z[i] is not None and custom[i] is not None and no_data[i] is None, code
            assert custom[i] == custom[locations.index(code)]  # both positions alike
        else:
            assert z[i] is None and custom[i] is None and no_data[i] == 0, code
