"""The screen and the export draw the same view (issue #8).

For a matrix of views (each level, drilled, each metric, both languages) the map the
browser gets and the map an export renders are the same figure apart from where the
boundaries come from (a cacheable URL on screen, inline in a file); the framing of a
drilled province included.
"""

from __future__ import annotations

import itertools
import json

import pytest

from components import callbacks as cb
from twinning import query as agg
from twinning.view import View

VIEWS = [
    agg.Filters(lang=lang, level=level, recipient=recipient, metric=metric)
    for lang, (level, recipient), metric in itertools.product(
        ("zh", "en"),
        (("province", None), ("prefecture", None), ("county", None), ("county", "650000")),
        (None, *agg.MAIN_METRICS),
    )
]


@pytest.fixture(scope="module")
def data(reference_store) -> agg.AtlasData:
    return agg.AtlasData.from_store(reference_store)


def _comparable(trace: dict) -> dict:
    """A trace without where its boundaries come from and how it answers a pointer (on a
    drilled screen map flows let clicks through; a file has no pointer); an empty setting
    is no setting."""
    skip = ("geojson", "hoverinfo", "hovertemplate")
    return {k: v for k, v in trace.items() if k not in skip and v not in (None, {})}


@pytest.mark.parametrize("filters", VIEWS, ids=lambda f: f.to_query_string())
def test_screen_and_export_draw_the_same_map(data, filters: agg.Filters) -> None:
    screen, _key, _title, _note = cb.map_outputs(View(data, filters), None)
    exported = View.of(filters.to_query_string(), data=data).figure("map")
    exported = exported.to_plotly_json()
    assert screen["layout"]["geo"] == exported["layout"]["geo"]
    assert len(screen["data"]) == len(exported["data"])
    for ours, theirs in zip(screen["data"], exported["data"], strict=True):
        assert ours["type"] == theirs["type"]
        a, b = _comparable(ours), _comparable(theirs)
        for key in sorted(set(a) | set(b)):
            assert _plain(a.get(key)) == _plain(b.get(key)), (ours.get("name"), key)


def test_a_drilled_export_is_framed_on_its_province(data) -> None:
    exported = View.of("level=county&recipient=650000", data=data).figure("map")
    lon = exported.layout.geo.lonaxis.range
    lat = exported.layout.geo.lataxis.range
    # Xinjiang spans about 73-96.4 E and 34.3-49.2 N
    assert 70 < lon[0] < 74 and 96 < lon[1] < 100
    assert 32 < lat[0] < 35 and 49 < lat[1] < 52


def _plain(value):
    """Tuples and numpy arrays as lists, so the two routes compare by content."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("filters", VIEWS[::3], ids=lambda f: f.to_query_string())
def test_screen_and_export_draw_the_same_series_and_words(data, filters: agg.Filters) -> None:
    """The series, the map's title and note, and the headline numbers the screen shows
    are the ones an export of the same link prints."""
    view = View(data, filters)
    screen_series, _key = cb.series_step_outputs(view, None)
    exported = View.of(filters.to_query_string(), data=data)
    assert _plain(screen_series) == _plain(exported.figure("series").to_plotly_json())
    _fig, _key, title, note = cb.map_outputs(view, None)
    assert exported.title("map").startswith(title) and exported.map_note() == note
    # the numbers behind the cards are the ones the export words, worked out in full
    assert view.headlines() == exported.headlines(complete=True)


def _drawn(fig: dict) -> dict:
    """What plotly.js makes of a figure once every default is applied (kaleido runs
    plotly.js), without the template itself and the random trace uids."""
    import kaleido

    from twinning.render import configure_offline

    # plotly's full_figure_for_development, offline: the shipped base map, no MathJax
    out = kaleido.calc_fig_sync(
        fig, opts={"format": "json"}, topojson=configure_offline(), kopts={"mathjax": False}
    )
    full = json.loads(out)
    full["layout"].pop("template", None)
    for trace in full["data"]:
        trace.pop("uid", None)
    return full


def test_a_figure_with_its_template_cut_is_drawn_as_with_the_whole_template(data) -> None:
    # the template keeps only the figure's own trace types and subplots (#7): plotly.js
    # applies every default as before (the series: bars and lines; the map: geo traces)
    import plotly.io as pio

    from twinning.figures.template import slim_template

    whole = pio.templates[pio.templates.default].to_plotly_json()
    series = View(data, agg.Filters(lang="en")).series()
    base = View(data, agg.Filters(lang="en", level="province", metric="funds_cny")).map()
    for fig in (series, base):
        cut = fig["layout"]["template"]
        kinds = {t.get("type", "scatter") for t in fig["data"]}
        assert set(cut["data"]) <= kinds < set(whole["data"]) | {"scattergeo"}
        assert len(json.dumps(cut)) < len(json.dumps(whole)) / 2
        as_before = {**fig, "layout": {**fig["layout"], "template": whole}}
        assert _drawn(fig) == _drawn(as_before)
        assert slim_template(as_before)["layout"]["template"] == cut


def test_a_figure_turned_into_a_dict_without_a_copy_is_the_figures_json(data) -> None:
    """``figure_dict`` (the map's structure, built to be dropped, #7) gives what
    ``to_plotly_json`` gives, numeric arrays as typed arrays and frames included."""
    import numpy as np
    import plotly.graph_objects as go

    from twinning.figures import map_figure
    from twinning.figures.map import load_overlays
    from twinning.figures.template import figure_dict
    from twinning.view import INLINE

    f = agg.Filters(level="county", metric="funds_cny")
    view = View(data, f)

    def build() -> go.Figure:
        geo = INLINE.geojson(f.level, f.recipient)
        return map_figure(data, f, geo, view.locations(), load_overlays())

    assert figure_dict(build()) == build().to_plotly_json()
    fig = go.Figure(
        go.Scatter(x=np.arange(5.0), y=np.array([1, 2, 3, 4, 5])),
        frames=[go.Frame(data=[go.Scatter(y=np.array([5.0, 4, 3]))], name="a")],
    )
    assert json.dumps(figure_dict(go.Figure(fig)), sort_keys=True) == json.dumps(
        go.Figure(fig).to_plotly_json(), sort_keys=True
    )
    assert "bdata" in json.dumps(figure_dict(go.Figure(fig)))  # typed arrays, as plotly's
