"""The map: a choropleth of China at one level, donor -> recipient flows, and the inset.

Built so that a filter change never resends the boundaries: the figure's structure (which
traces exist, in which order, with which GeoJSON) depends only on ``MapFigureKey``;
everything a filter changes comes from :func:`map_patch_values`, which the Dash layer
applies with ``dash.Patch``. ``map_figure`` uses the same function, so a rebuilt figure and
a patched one are identical.

A filter change sends numbers, not text (issue #7): place names are the choropleths'
``text``, set once with the structure; the values layer gets ``z`` and ``customdata``
numbers (value in the view's unit, number of figures) and a ``hovertemplate`` that
formats them in the browser. Places without a value are drawn by a second layer
("places-no-data") under a fixed template; the two layers' ``z`` are complementary (a
number in one, null in the other), so each place is drawn, hovered and clicked once.

Plotly's own coastlines, countries and land are hidden; the outline, borders, neighbours,
the South China Sea islands and the dashed line come from the project's boundaries
(``twinning.geo``), and the islands sit in an inset in the lower right as on official maps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import plotly.graph_objects as go

from twinning import i18n, settings
from twinning import query as agg
from twinning.figures import palette
from twinning.figures.markup import esc

NO_DATA_SHARE = 0.12  # bottom share of the colour scale used for "no data" (room for its label)
WIDTH_CLASSES = (1.2, 2.2, 3.6, 5.4)  # unknown, then terciles of the width metric
LEGEND_CLASS_ORDER = (2, 1, 3, 0)  # which width class carries a programme's legend entry
NATIONAL_LON = (73.0, 135.5)
NATIONAL_LAT = (17.6, 54.0)
INSET_LON = (105.5, 123.5)
INSET_LAT = (2.5, 24.5)
# what the inset's layers are cut to: its frame plus a margin, so nothing ends inside it
INSET_CLIP = (INSET_LON[0] - 2, INSET_LAT[0] - 2, INSET_LON[1] + 2, INSET_LAT[1] + 2)
NEIGHBOUR_TOLERANCE = 0.03  # degrees (~3 km): neighbours are context; islets drop out
# China's grey land in the inset: at its ~7-15 px a degree, 0.02 degrees is under a third of
# a pixel. Unsimplified it was ~1,070 polygons (coastal islets), which plotly.js clipped one
# by one on the sphere: ~90 ms of each map's draw (#7). The islands themselves are drawn on
# top, unsimplified (inset-islands, inset-island-points).
INSET_OUTLINE_TOLERANCE = 0.02
MAIN_TRACE = "places"  # the values layer
NO_DATA_TRACE = "places-no-data"  # the places without a value in view
SCOPE_TRACE = "scope"  # the members of the figure named by scope=<id> (issue #10)
SCOPE_POINTS_TRACE = "scope-points"  # ... its XPCC divisions, at their seats
XPCC_TRACE = "xpcc-divisions"  # the XPCC divisions paired in view, at their seats


@dataclass(frozen=True)
class MapFigureKey:
    """What fixes the figure's structure. Same key -> a Patch is enough."""

    lang: str
    level: str
    recipient: str | None
    version: str
    present: bool = False

    @classmethod
    def of(cls, filters: agg.Filters, version: str) -> MapFigureKey:
        return cls(filters.lang, filters.level, filters.recipient, str(version), filters.present)

    def as_list(self) -> list:
        return [self.lang, self.level, self.recipient, self.version, self.present]


# The context layers drawn as choropleths of their shapes (no hover, never a value):
# trace name -> (geo subplot, fill, line colour, line width). The same in every view, so
# the screen fetches their shapes once, as one cacheable file (components/geo_assets.py),
# instead of ~190 KB of coordinates in every page's figure; and plotly.js draws a
# choropleth's shapes without the adaptive resampling it gives lines (#7). The inset's
# neighbours stay lines (``Overlays.inset_neighbors``): cut to the inset's box, as shapes
# their cut edges would be outlined along its frame.
CONTEXT_LAYERS: dict[str, tuple[str, str, str, float]] = {
    "neighbors": ("geo", palette.NEIGHBOUR, "#e2e4e8", 0.5),
    "outline": ("geo", "rgba(0,0,0,0)", palette.OUTLINE, 1.1),
    "inset-outline": ("geo2", palette.NO_DATA, palette.OUTLINE, 0.6),
    "inset-islands": ("geo2", "rgba(0,0,0,0)", palette.OUTLINE, 0.6),
}


@dataclass
class Overlays:
    """Shapes (GeoJSON, by ``CONTEXT_LAYERS`` name) and lines (lon, lat lists with None
    breaks) from ``twinning.geo`` overlays."""

    shapes: dict[str, dict] = field(default_factory=dict)
    dashline: tuple[list, list] = ([], [])
    island_points: tuple[list, list] = ([], [])
    inset_neighbors: tuple[list, list] = ([], [])


@lru_cache(maxsize=1)
def load_overlays() -> Overlays:
    """The four overlays, read once (``twinning.geo.boundaries``) and kept."""
    from twinning.figures import geojson as gj

    box = INSET_CLIP
    shapes = {
        # context only: a coarser outline of the neighbours keeps the figure small
        "neighbors": gj.overlay_geojson("neighbors", tolerance=NEIGHBOUR_TOLERANCE),
        "outline": gj.overlay_geojson("outline"),
        # the inset's layers, cut to its box: it shows one corner of the map
        "inset-outline": gj.overlay_geojson(
            "outline", clip=box, tolerance=INSET_OUTLINE_TOLERANCE, name="inset-outline"
        ),
        "inset-islands": gj.overlay_geojson("islands", name="inset-islands"),
    }
    return Overlays(
        shapes={k: v for k, v in shapes.items() if v and v["features"]},
        dashline=gj.overlay_lines("dashline"),
        island_points=_island_points(),
        inset_neighbors=gj.overlay_lines("neighbors", clip=box),
    )


def _context_layer(fig: go.Figure, overlays: Overlays, name: str) -> int | None:
    """Add the context layer ``name`` (``CONTEXT_LAYERS``) if its shapes are there; its
    trace's index."""
    shapes = overlays.shapes.get(name)
    if not shapes:
        return None
    geo, fill, line, width = CONTEXT_LAYERS[name]
    feats = shapes["features"]
    fig.add_trace(
        go.Choropleth(
            geojson=shapes,
            locations=[f["id"] for f in feats],
            z=[0] * len(feats),
            colorscale=[[0, fill], [1, fill]],
            showscale=False,
            marker={"line": {"color": line, "width": width}},
            hoverinfo="skip",
            name=name,
            geo=geo,
            showlegend=False,
        )
    )
    return len(fig.data) - 1


def _island_points() -> tuple[list, list]:
    try:
        from twinning.geo.boundaries import load_overlay

        gdf = load_overlay("islands")
    except (FileNotFoundError, KeyError, ValueError, ImportError):
        return [], []
    pts = gdf.geometry.representative_point()
    return [round(p.x, 3) for p in pts], [round(p.y, 3) for p in pts]


# ---------------------------------------------------------------------------------------
# values that a filter change updates
# ---------------------------------------------------------------------------------------


Z_STEPS = 400  # the values layer's z: 0 (the view's lowest) to Z_STEPS (its highest)


def _colourscale_continuous() -> list[list]:
    scale: list[list] = [[0.0, palette.NO_DATA], [NO_DATA_SHARE, palette.NO_DATA]]
    n = len(palette.SEQUENTIAL)
    for i, colour in enumerate(palette.SEQUENTIAL):
        pos = NO_DATA_SHARE + 0.0001 + (1 - NO_DATA_SHARE - 0.0001) * i / (n - 1)
        scale.append([round(pos, 6), colour])
    return scale


def _colourscale_discrete(colours: list[str]) -> list[list]:
    """Steps for integer z = 0..len-1 with zmin=-0.5, zmax=len-0.5."""
    n = len(colours)
    scale: list[list] = []
    for i, c in enumerate(colours):
        scale.append([i / n, c])
        scale.append([(i + 1) / n, c])
    return scale


def _nice_ticks(lo: float, hi: float, log: bool) -> list[float]:
    if log:
        first, last = math.floor(lo), math.ceil(hi)
        ticks = [float(e) for e in range(first, last + 1) if lo - 1e-9 <= e <= hi + 1e-9]
        if len(ticks) < 2:
            ticks = [lo, hi]
        return ticks
    return [float(x) for x in np.linspace(lo, hi, 5)]


_INDEXES: dict[int, tuple[tuple[str, ...], dict[str, tuple[int, ...]]]] = {}


def location_index(locations: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """{place: its positions in ``locations``}, kept per tuple (a level's few): where a
    map's values go, and whether it draws a place (``in``)."""
    found = _INDEXES.get(id(locations))
    if found is None or found[0] is not locations:
        if len(_INDEXES) >= 64:
            _INDEXES.clear()
        index: dict[str, tuple[int, ...]] = {}
        for i, code in enumerate(locations):
            index[code] = (*index.get(code, ()), i)
        found = _INDEXES[id(locations)] = (locations, index)
    return found[1]


def _metric_values(
    data: agg.AtlasData, filters: agg.Filters, locations: tuple[str, ...]
) -> dict[str, Any]:
    lang = filters.lang
    pv = agg.place_values(data, filters)
    by_code = {r.adcode: (r.value, r.n_figures) for r in pv.rows}
    vals = [by_code[c][0] for c in locations if c in by_code and by_code[c][0] > 0]
    log = bool(vals) and min(vals) > 0 and max(vals) / min(vals) >= 100
    if vals:
        tv = [math.log10(v) for v in vals] if log else vals
        lo, hi = min(tv), max(tv)
        if hi - lo < 1e-9:
            lo, hi = (lo - 1, hi) if log else (0.0, hi or 1.0)
    else:
        lo, hi = 0.0, 1.0

    # z only picks a colour (the hover reads customdata): the value's place between the
    # view's lowest and highest as a whole step of Z_STEPS, finer than the eye tells
    # colours apart; a county change's z at 10 M figures 2.5 KB (three decimals of a
    # log10) -> 2.0 KB brotli (#7)
    def step(t: float) -> float:
        return (t - lo) / (hi - lo) * Z_STEPS

    gap = Z_STEPS * NO_DATA_SHARE / (1 - NO_DATA_SHARE)
    no_data_z = -gap
    metric_name = i18n.metric_label(filters.metric, lang)
    divisor, decimals, suffix = hover_unit(vals, pv.unit, lang)
    # numbers only: the values layer's z and customdata, the no-data layer's z; filled
    # at the places with a value only (a county map's 2,875 places walked in Python cost
    # more than the rest of its values, #7)
    n_places = len(locations)
    z: list[float | None] = [None] * n_places
    custom: list[list[float] | None] = [None] * n_places
    no_data: list[int | None] = [0] * n_places
    at = location_index(locations)
    for code, (v, n) in by_code.items():
        if not v > 0:
            continue
        for i in at.get(code, ()):
            z[i] = round(step(math.log10(v) if log else v))
            custom[i] = [round(v / divisor, decimals), n]
            no_data[i] = None
    ticks = _nice_ticks(lo, hi, log)
    ticktext = [i18n.format_value(10**x if log else x, pv.unit, lang) for x in ticks]
    figures = i18n.t("hover_figures", lang, n="%{customdata[1]}")
    template = (
        f"<b>%{{text}}</b><br>{_template_text(metric_name)}: "
        f"%{{customdata[0]:,.{decimals}~f}}{_template_text(suffix)}<br>{figures}"
        f"<br><i>{i18n.t('hover_click', lang)}</i><extra></extra>"
    )
    return {
        "z": z,
        "customdata": custom,
        "hovertext": [],  # emptied, not null (see _pairing_values)
        "hovertemplate": template,
        "zmin": no_data_z,
        "zmax": Z_STEPS,
        "colorscale": _colourscale_continuous(),
        "showscale": bool(vals),  # no figure at this level: no scale of invented ticks
        "colorbar": {
            "title": {"text": metric_name, "side": "top"},
            "tickvals": [no_data_z + gap / 2, *(step(t) for t in ticks)],
            "ticktext": [i18n.t("map_no_data", lang), *ticktext],
            "len": 0.75 if filters.present else 0.55,  # large type: room between ticks (#9)
            "y": 0.98,
            "yanchor": "top",
            "x": 0.0,
            "xanchor": "left",
            "thickness": 14,
            # its labels sit inside the map, never past the page: plotly.js's default
            # ("hide past div") measured each label after the ~2,900 places were drawn,
            # forcing the page's layout (~50 ms of a cold first view, #7)
            "ticklabeloverflow": "allow",
        },
        "_note": i18n.t("map_note_metric", lang, n_coarse=pv.n_coarse)
        + year_note(filters, pv.n_period, pv.n_cumulative),
        "_present": set(),
        "_no_data": no_data,
    }


def hover_unit(values: list[float], unit: str | None, lang: str) -> tuple[float, int, str]:
    """(divisor, decimals, suffix) for the values of one view in the hover.

    ``i18n.format_value`` picks 亿/万 (billion/million) per value; a hovertemplate cannot,
    so one unit serves the whole view: the largest one that the smallest value reaches,
    with format_value's decimals for it. Every value is then at least 1 in that unit and
    none loses a digit (2.35亿 shows as 23,500万元 beside a county at 800万元).
    """
    zh = i18n.normalize_lang(lang) == "zh"
    if i18n.unit_kind(unit) == "money":
        steps = (
            [(1e8, 2, "亿元"), (1e4, 1, "万元"), (1.0, 0, "元")]
            if zh
            else [(1e9, 2, " billion yuan"), (1e6, 1, " million yuan"), (1.0, 0, " yuan")]
        )
    else:
        label = i18n.unit_label(unit, lang)
        tail = label if (zh or label in ("", "%")) else f" {label}"
        words = [(1e8, "亿"), (1e4, "万")] if zh else [(1e9, " billion"), (1e6, " million")]
        steps = [(d, 2, w + tail) for d, w in words] + [(1.0, 2, tail)]
    smallest = min(values) if values else 0.0
    for divisor, decimals, suffix in steps:
        if smallest >= divisor:
            return divisor, decimals, suffix
    return steps[-1]


def _template_text(text: str) -> str:
    """Text from labels placed in a hovertemplate: escaped, and no ``%{`` or ``}`` that
    plotly would read as a variable."""
    return esc(text).replace("%{", "% {").replace("}", ")")


def _pairing_values(
    data: agg.AtlasData, filters: agg.Filters, locations: tuple[str, ...]
) -> dict[str, Any]:
    lang = filters.lang
    pd_ = agg.place_donors(data, filters)
    donors = list(pd_.donors)
    index = {k: i + 1 for i, k in enumerate(donors)}
    multiple = len(donors) + 1
    by_code = {
        r.adcode: (r.donors, r.programs, r.n_pairings) for r in pd_.places.itertuples(index=False)
    }
    z: list[int | None] = []
    text: list[str | None] = []
    no_data: list[int | None] = []
    present: set[str] = set()
    for code in locations:
        if code not in by_code:
            z.append(None)
            text.append(None)
            no_data.append(0)
            continue
        no_data.append(None)
        ds, progs, n = by_code[code]
        if len(ds) == 1:
            z.append(index.get(ds[0], 0))
            present.add(ds[0])
        else:
            z.append(multiple)
            present.add("__multiple__")
        donor_names = "、".join(esc(agg.donor_label(data, d, lang)) for d in ds)
        prog_names = "、".join(i18n.program_label(p, lang) for p in progs)
        sep = "、" if lang == "zh" else ", "
        text.append(
            f"{i18n.t('hover_donors', lang)}: {donor_names.replace('、', sep)}"
            f"<br>{i18n.t('hover_programs', lang)}: {prog_names.replace('、', sep)}"
            f"<br>{i18n.t('hover_pairings', lang, n=n)}"
            f"<br><i>{i18n.t('hover_click', lang)}</i>"
        )
    colours = [
        palette.NO_DATA,
        *[palette.donor_colour(i) for i in range(len(donors))],
        palette.MULTIPLE,
    ]
    return {
        "z": z,
        # donors and programmes are names that change with the filters: text, but only
        # for the places that have pairings (the name itself is the trace's text)
        # emptied, not null: a null array breaks code that indexes it (dcc.Graph reads
        # trace.customdata[i] for a click's data)
        "customdata": [],
        "hovertext": text,
        "hovertemplate": "<b>%{text}</b><br>%{hovertext}<extra></extra>",
        "zmin": -0.5,
        "zmax": len(colours) - 0.5,
        "colorscale": _colourscale_discrete(colours),
        "showscale": False,
        "colorbar": {},
        "_note": i18n.t("map_note_pairings", lang) + year_note(filters),
        "_present": present,
        "_no_data": no_data,
    }


@lru_cache(maxsize=65536)
def _great_circle(
    lon1: float, lat1: float, lon2: float, lat2: float, steps: tuple[float, ...]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Points at fractions ``steps`` of the great circle from (lon1, lat1) to (lon2, lat2)."""
    p1 = np.radians([lon1, lat1])
    p2 = np.radians([lon2, lat2])
    v1 = np.array([np.cos(p1[1]) * np.cos(p1[0]), np.cos(p1[1]) * np.sin(p1[0]), np.sin(p1[1])])
    v2 = np.array([np.cos(p2[1]) * np.cos(p2[0]), np.cos(p2[1]) * np.sin(p2[0]), np.sin(p2[1])])
    omega = math.acos(max(-1.0, min(1.0, float(v1 @ v2))))
    if omega < 1e-9:
        return (lon1, lon2), (lat1, lat2)
    ts = np.array(steps)
    pts = (np.sin((1 - ts) * omega)[:, None] * v1 + np.sin(ts * omega)[:, None] * v2) / math.sin(
        omega
    )
    lons = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    lats = np.degrees(np.arcsin(np.clip(pts[:, 2], -1, 1)))
    # cached, so shared: tuples, never lists a caller could change
    return tuple(np.round(lons, 2).tolist()), tuple(np.round(lats, 2).tolist())


def arrival_bearing(lon1: float, lat1: float, lon2: float, lat2: float) -> int:
    """The direction, in whole degrees clockwise from north (-180 to 179, as plotly keeps
    an angle), in which the great circle from (lon1, lat1) arrives at (lon2, lat2):
    where a flow's arrowhead points.

    Plotly draws a line between two geo points as the great circle itself, so a flow
    needs only its two ends; its arrowhead is turned to this bearing (``angleref``
    "north"). It used to point from a vertex at 92 % of the arc, two more numbers per
    flow: for the 400 flows of a county change at 10 M figures, ~1.0 KB (#7)."""
    f1, f2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon1 - lon2)
    # the bearing from the end back to the start, turned round
    y = math.sin(dl) * math.cos(f1)
    x = math.cos(f2) * math.sin(f1) - math.sin(f2) * math.cos(f1) * math.cos(dl)
    if abs(x) < 1e-12 and abs(y) < 1e-12:
        return 0
    return round(math.degrees(math.atan2(y, x))) % 360 - 180


def shown_flows(data: agg.AtlasData, filters: agg.Filters) -> tuple[list[agg.Flow], int]:
    """The flows a map draws, and how many the view has: at most
    ``TWINNING_MAP_FLOWS_MAX``, the largest by the width metric, then by pairings, in
    their own order. A national county map of a large register has ~1,400 lines, a tangle
    nobody reads and most of a filter change's bytes (#7); the map's note says how many
    of how many are drawn, and the tables list them all."""
    if not filters.flows:
        return [], 0
    found = agg.flows(data, filters)
    cap = settings.get_int("TWINNING_MAP_FLOWS_MAX")
    if cap <= 0 or len(found) <= cap:
        return found, len(found)
    order = sorted(
        range(len(found)), key=lambda i: (-(found[i].value or 0.0), -found[i].n_pairings, i)
    )
    return [found[i] for i in sorted(order[:cap])], len(found)


def flows_note(data: agg.AtlasData, filters: agg.Filters) -> str:
    """What the map leaves out of its flow lines ("the 400 largest of 1,443"), or "": on
    the screen under the map and under a map in a file."""
    shown, n = shown_flows(data, filters)
    return _left_out(filters.lang, len(shown), n)


def _left_out(lang: str, shown: int, n: int) -> str:
    return "" if shown >= n else i18n.t("map_note_flows_shown", lang, shown=shown, n=n)


def _flow_values(
    data: agg.AtlasData,
    filters: agg.Filters,
    programs: list[str],
    shown: list[agg.Flow] | None = None,
) -> list[dict[str, Any]]:
    """Per (programme, width class) slot: the lines' lon/lat (two ends a flow) and their
    arrowheads' sizes and bearings; then one slot per programme of hover points.

    The lines carry no text: a hover text on every vertex of a county map's flows was most
    of the bytes of a filter change. Each flow has one hover point instead, on its arc's
    middle: its ``text`` is who pairs with whom, its ``customdata`` its recipient (a click
    there opens it), its number of pairing records and its value in the view's hover unit;
    the trace's ``hovertemplate`` builds the words around them in the browser (#7: a
    change sent ~310 hover strings, a quarter of a county map's bytes). A flow with no
    figure of the metric has no value and its own template (per point, when the view has
    both kinds)."""
    lang = filters.lang
    slots: list[dict[str, Any]] = [
        {"lon": [], "lat": [], "marker": {"size": [], "angle": []}}
        for _ in range(len(programs) * len(WIDTH_CLASSES))
    ]
    hovers: list[dict[str, Any]] = [
        {"lon": [], "lat": [], "text": [], "customdata": [], "hovertemplate": "",
         "showlegend": False}
        for _ in programs
    ]  # fmt: skip
    if not filters.flows:
        _legend_slots(slots, len(programs))
        return slots + hovers
    fl = shown_flows(data, filters)[0] if shown is None else shown
    known = sorted(f.value for f in fl if f.value)
    cuts = [known[len(known) // 3], known[2 * len(known) // 3]] if len(known) >= 3 else []
    coords = data.place_points()
    width_metric = filters.metric or "funds_cny"
    unit = agg.metric_unit(data, width_metric)
    divisor, decimals, suffix = hover_unit(known, unit, lang)
    with_value, without = _flow_templates(programs, width_metric, decimals, suffix, lang)
    valued: list[list[bool]] = [[] for _ in programs]
    for f in fl:
        if f.program not in programs:
            continue
        if not f.value:
            cls = 0
        elif not cuts:
            cls = 2
        else:
            cls = 1 + sum(f.value > c for c in cuts)
        pi = programs.index(f.program)
        slot = slots[pi * len(WIDTH_CLASSES) + cls]
        (x1, y1), (x2, y2) = coords[f.donor_point], coords[f.recipient]
        size = 7 + 2 * WIDTH_CLASSES[cls]
        slot["lon"].extend([round(x1, 2), round(x2, 2), None])
        slot["lat"].extend([round(y1, 2), round(y2, 2), None])
        slot["marker"]["size"].extend([0, size, 0])
        slot["marker"]["angle"].extend([0, arrival_bearing(x1, y1, x2, y2), 0])
        (mid_lon,), (mid_lat,) = _great_circle(x1, y1, x2, y2, (0.5,))
        hover = hovers[pi]
        hover["lon"].append(mid_lon)
        hover["lat"].append(mid_lat)
        hover["text"].append(_flow_label(data, f, lang))
        if f.value:
            hover["customdata"].append(
                [f.recipient, f.n_pairings, round(f.value / divisor, decimals)]
            )
        else:
            hover["customdata"].append([f.recipient, f.n_pairings])
        valued[pi].append(bool(f.value))
    for pi, hover in enumerate(hovers):
        kinds = set(valued[pi])
        if len(kinds) == 2:  # both kinds: each point its own (the same strings compress away)
            hover["hovertemplate"] = [with_value[pi] if v else without[pi] for v in valued[pi]]
        else:
            hover["hovertemplate"] = without[pi] if kinds == {False} else with_value[pi]
    _legend_slots(slots, len(programs))
    return slots + hovers


def _flow_label(data: agg.AtlasData, f: agg.Flow, lang: str) -> str:
    """Who pairs with whom, as a flow's hover names them ("Shanghai → Kashgar"), escaped;
    kept with the data (the same few hundred lines in every view of a level: at 10 M
    figures ~12 ms of each filter change's map worked them out again, #7)."""
    memo = data.__dict__.setdefault("_flow_labels", {})
    key = (lang, f.donor_key, f.donor_point, f.recipient)
    label = memo.get(key)
    if label is None:
        donor = agg.donor_label(data, f.donor_key, lang)
        if f.donor_point != f.donor_key:
            donor = data.place_label(f.donor_point, lang, fallback=donor)
        recipient = data.place_label(f.recipient, lang)
        label = memo[key] = i18n.t("hover_flow", lang, donor=esc(donor), recipient=esc(recipient))
    return label


def _flow_templates(
    programs: list[str], metric: str, decimals: int, suffix: str, lang: str
) -> tuple[list[str], list[str]]:
    """Per programme, the hover template of a flow with a value of ``metric`` (in the
    view's hover unit: ``hover_unit``) and of one with none."""
    pairings = i18n.t("hover_pairings", lang, n="%{customdata[1]}")
    metric_name = _template_text(i18n.metric_label(metric, lang))
    value = f"%{{customdata[2]:,.{decimals}~f}}{_template_text(suffix)}"
    with_value, without = [], []
    for program in programs:
        head = (
            f"<b>%{{text}}</b><br>{_template_text(i18n.program_label(program, lang))} · {pairings}"
        )
        with_value.append(f"{head}<br>{metric_name}: {value}<extra></extra>")
        without.append(f"{head}<extra></extra>")
    return with_value, without


def _legend_slots(slots: list[dict[str, Any]], n_programs: int) -> None:
    """One legend entry per programme in view, on one of its drawn width classes (a solid
    one before the dotted "no figure" class): plotly leaves empty traces out of the
    legend, so a fixed choice lost programmes whose flows all fell in another class."""
    n = len(WIDTH_CLASSES)
    for slot in slots:
        slot["showlegend"] = False
    for pi in range(n_programs):
        for ci in LEGEND_CLASS_ORDER:
            slot = slots[pi * n + ci]
            if slot["lon"]:
                slot["showlegend"] = True
                break


def map_patch_values(
    data: agg.AtlasData, filters: agg.Filters, locations: tuple[str, ...]
) -> dict[str, Any]:
    """Everything a filter change updates: the choropleth's values and colours, the flows,
    which donor legend entries are visible, the title and the note. Numbers, and names
    only where a filter changes them (donors in the pairings view): never place names."""
    main = (
        _metric_values(data, filters, locations)
        if filters.metric
        else _pairing_values(data, filters, locations)
    )
    title = map_title(data, filters)
    present = main.pop("_present")
    note = main.pop("_note")
    no_data = main.pop("_no_data")
    donors = list(agg.all_donor_keys(data))
    legend_visible = [(not filters.metric) and d in present for d in [*donors, "__multiple__"]]
    scope_z, scope_points = _scope_values(data, filters, locations)
    flows, n_flows = shown_flows(data, filters)
    if left_out := _left_out(filters.lang, len(flows), n_flows):
        note += " " + left_out
    return {
        "main": main,
        "no_data": {"z": no_data},
        "scope": {"z": scope_z},
        "scope_points": scope_points,
        "xpcc_points": _division_points(data, filters, agg_divisions(data, filters)),
        "flows": _flow_values(data, filters, agg.program_options(data), flows),
        "legend_visible": legend_visible,
        "title": title,
        "note": note,
    }


def agg_divisions(data: agg.AtlasData, filters: agg.Filters) -> list[str]:
    from twinning.query.scopes import divisions_in_view

    return divisions_in_view(data, filters)


def _add_division_point(
    points: dict[str, list], key: str, lon: float, lat: float, seat: str, lang: str
) -> None:
    """One XPCC division's point: where, [key, label, short label] (a click opens the
    division by its key; the short label is drawn, where it fits) and a hover saying it is
    a division, not the seat's territory."""
    from twinning.query.scopes import division_label

    label = division_label(key, lang)
    points["lon"].append(lon)
    points["lat"].append(lat)
    points["customdata"].append([key, esc(label), esc(division_short_label(key, lang))])
    points["hovertext"].append(esc(i18n.t("xpcc_point_hover", lang, division=label, seat=seat)))


def division_short_label(key: str, lang: str) -> str:
    """The label drawn beside a division's point: "第十四师" / "14th Division" (the hover
    and the detail say it is a division of the XPCC)."""
    from twinning.groups import default_groups

    d = default_groups().divisions.get(key)
    if d is None:
        return key
    return d.name_zh if lang == "zh" else d.name_en


def _division_points(data: agg.AtlasData, filters: agg.Filters, keys: list[str]) -> dict[str, list]:
    """lon, lat, label and hover of XPCC divisions, each at its seat; each label on the
    side of its point where it covers no other label or point (else drawn on hover only:
    the divisions around Urumqi sit a few kilometres apart)."""
    from twinning.groups import default_groups

    lang = filters.lang
    points: dict[str, list] = {"lon": [], "lat": [], "customdata": [], "hovertext": []}
    divisions = default_groups().divisions
    coords = data.place_points()
    for key in keys:
        d = divisions.get(key)
        if d is None or key not in coords:
            continue
        lon, lat = coords[key]
        _add_division_point(points, key, lon, lat, data.place_label(d.seat_adcode, lang), lang)
    font = (18 if filters.present else 13) - 3
    shown, positions = place_labels(
        points["lon"], points["lat"], [c[2] for c in points["customdata"]], filters, font
    )
    for item, text in zip(points["customdata"], shown, strict=True):
        item[2] = text
    points["textposition"] = positions
    return points


LABEL_POSITIONS: tuple[str, ...] = ("middle right", "middle left", "bottom center", "top center")
MAP_WIDTH_PX = 900  # the map's drawn width a label is measured against (the screen's, about)


def _text_px(text: str, font: float) -> float:
    return sum(font if ord(ch) > 0x2E80 else 0.6 * font for ch in text)


def place_labels(
    lons: list[float], lats: list[float], labels: list[str], filters: agg.Filters, font: float
) -> tuple[list[str], list[str]]:
    """(label drawn, textposition) per point: each label on the first side of its point
    (right, left, below, above) where it overlaps no label placed before it and no point;
    a label that fits nowhere is left to the hover. Measured in pixels of a map
    ``MAP_WIDTH_PX`` wide framed as the view is (national, or a drilled province)."""
    if not lons:
        return [], []
    if filters.recipient:
        geo = drilled_geo({}, filters.recipient)
        lon_range = geo.get("lonaxis", {}).get("range", NATIONAL_LON)
    else:
        lon_range = NATIONAL_LON
    mid_lat = math.radians(sum(lats) / len(lats))
    scale = MAP_WIDTH_PX / ((lon_range[1] - lon_range[0]) * math.cos(mid_lat))
    xy = [
        (lon * scale * math.cos(mid_lat), -lat * scale) for lon, lat in zip(lons, lats, strict=True)
    ]
    dot = 5.0
    boxes = [(x - dot, y - dot, x + dot, y + dot) for x, y in xy]
    shown, positions = [""] * len(lons), ["middle right"] * len(lons)
    for i in sorted(range(len(lons)), key=lambda i: (xy[i][1], xy[i][0])):
        x, y = xy[i]
        w, h = _text_px(labels[i], font), font * 1.25
        for pos in LABEL_POSITIONS:
            box = {
                "middle right": (x + dot, y - h / 2, x + dot + w, y + h / 2),
                "middle left": (x - dot - w, y - h / 2, x - dot, y + h / 2),
                "bottom center": (x - w / 2, y + dot, x + w / 2, y + dot + h),
                "top center": (x - w / 2, y - dot - h, x + w / 2, y - dot),
            }[pos]
            own = boxes[i]
            if not any(
                b is not own and b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3]
                for b in boxes
            ):
                boxes.append(box)
                shown[i], positions[i] = labels[i], pos
                break
    return shown, positions


def _scope_values(
    data: agg.AtlasData, filters: agg.Filters, locations: tuple[str, ...]
) -> tuple[list, dict[str, list]]:
    """z (1 for the places that make up the scope's members, else None: not drawn) and the
    points of its XPCC divisions, labelled as divisions and not their seats' territory."""
    from twinning.query.scopes import scope_outline

    points: dict[str, list] = {"lon": [], "lat": [], "customdata": [], "hovertext": []}
    outline = scope_outline(data, filters.scope, filters.level) if filters.scope else None
    if outline is None:
        return [None] * len(locations), points
    lang = filters.lang
    z = [1 if code in outline.locations else None for code in locations]
    from twinning.groups import default_groups

    divisions = default_groups().divisions
    for lon, lat, key in outline.points:
        d = divisions.get(key)
        seat = data.place_label(d.seat_adcode, lang) if d else ""
        _add_division_point(points, key, lon, lat, seat, lang)
    return z, points


def year_note(filters: agg.Filters, n_period: int = 0, n_cumulative: int = 0) -> str:
    """The map note's sentence for a single year ('' for a range): period figures show in
    every year of their period, undivided; cumulative counts from their end year; on the
    pairings map, which pairings a year holds."""
    if filters.year is None:
        return ""
    lang, year = filters.lang, filters.year
    cumulative = filters.mode == "cumulative"
    if not filters.metric:
        return " " + i18n.t(
            "map_note_cumulative_pairings" if cumulative else "map_note_year_pairings",
            lang,
            year=year,
        )
    return " " + i18n.t(
        "map_note_cumulative_figures" if cumulative else "map_note_year_figures",
        lang,
        year=year,
        n_period=n_period,
        n_cumulative=n_cumulative,
    )


def years_label(data: agg.AtlasData, filters: agg.Filters) -> str:
    """The view's years as every title says them (screen and exports): one year
    ("2015"), cumulative to one ("cumulative to 2015"), or a range ("2006–2010"); a range
    of one year is that year, never "2015–2015"."""
    if filters.year is not None:
        if filters.mode == "cumulative":
            return i18n.t("years_cumulative_to", filters.lang, year=filters.year)
        return str(filters.year)
    lo, hi = agg.year_bounds(data)
    first, last = filters.year_from or lo, filters.year_to or hi
    return str(first) if first == last else f"{first}–{last}"


def map_title(data: agg.AtlasData, filters: agg.Filters) -> str:
    """The map's title, the same words on screen, in every export and in what a screen
    reader hears: "Funds (2006–2010)" or "Pairings (1992–2026)"."""
    years = years_label(data, filters)
    if filters.metric:
        metric = i18n.metric_label(filters.metric, filters.lang)
        return i18n.t("map_title_metric", filters.lang, metric=metric, years=years)
    return i18n.t("map_title_pairings", filters.lang, years=years)


# ---------------------------------------------------------------------------------------
# the full figure
# ---------------------------------------------------------------------------------------


def _place_areas(geojson: dict | str, locations: tuple[str, ...], **style: Any) -> go.Choropleth:
    """A layer over every place of the level (the no-data fill, the values, the scope's
    outline): the same boundaries and locations, so a patch sends only its values."""
    return go.Choropleth(
        geojson=geojson,
        featureidkey="id",
        locations=list(locations),
        geo="geo",
        showlegend=False,
        **style,
    )


def _labelled_points(points: dict[str, Any], label: int = 1, **style: Any) -> go.Scattergeo:
    """Points (``_division_points``, ``_scope_values``) labelled and hovered as a patch
    updates them: the label is ``customdata[label]`` (a patch sends customdata, never
    "text"); where the points say where each label goes, there."""
    if "textposition" in points:
        style["textposition"] = points["textposition"]
    return go.Scattergeo(
        lon=points["lon"],
        lat=points["lat"],
        customdata=points["customdata"],
        texttemplate=f"%{{customdata[{label}]}}",
        hovertext=points["hovertext"],
        hovertemplate="%{hovertext}<extra></extra>",
        mode="markers+text",
        geo="geo",
        showlegend=False,
        **style,
    )


def map_figure(
    data: agg.AtlasData,
    filters: agg.Filters,
    geojson: dict | str,
    locations: tuple[str, ...],
    overlays: Overlays | None = None,
    height: int | None = None,
) -> go.Figure:
    """The whole map. ``layout.meta`` records the trace indices a Patch needs.

    ``geojson`` is the boundaries inline (a dict: exports, single files) or the URL the
    browser fetches them from (the screen: components/geo_assets.py)."""
    overlays = overlays or Overlays()
    lang = filters.lang
    values = map_patch_values(data, filters, locations)
    fig = go.Figure()
    meta: dict[str, Any] = {}
    font_size = 18 if filters.present else 13

    if not filters.recipient:
        _context_layer(fig, overlays, "neighbors")
    main = values["main"]
    # place names: set once per structure, never sent again by a filter change
    names = [esc(data.place_label(code, lang)) for code in locations]
    border = {"color": palette.BORDER, "width": 0.6 if filters.level != "county" else 0.25}
    meta["no_data"] = len(fig.data)
    fig.add_trace(
        _place_areas(
            geojson,
            locations,
            z=values["no_data"]["z"],
            zmin=0,
            zmax=1,
            colorscale=[[0, palette.NO_DATA], [1, palette.NO_DATA]],
            showscale=False,
            text=names,
            hovertemplate=f"<b>%{{text}}</b><br>{i18n.t('map_no_data', lang)}<extra></extra>",
            marker={"line": border},
            name=NO_DATA_TRACE,
        )
    )
    meta["main"] = len(fig.data)
    fig.add_trace(
        _place_areas(
            geojson,
            locations,
            z=main["z"],
            zmin=main["zmin"],
            zmax=main["zmax"],
            colorscale=main["colorscale"],
            showscale=main["showscale"],
            colorbar=main["colorbar"] or None,
            text=names,
            customdata=main["customdata"],
            hovertext=main["hovertext"],
            hovertemplate=main["hovertemplate"],
            marker={"line": border},
            name=MAIN_TRACE,
        )
    )
    # a figure about several places (scope=<id>, issue #10): its members outlined, never
    # filled (its value is no member's); XPCC divisions as points at their seats
    meta["scope"] = len(fig.data)
    fig.add_trace(
        _place_areas(
            geojson,
            locations,
            z=values["scope"]["z"],
            zmin=0,
            zmax=1,
            colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
            showscale=False,
            marker={"line": {"color": palette.PRIMARY, "width": 2.5}},
            hoverinfo="skip",
            name=SCOPE_TRACE,
        )
    )
    # the XPCC divisions paired in view: a point at the seat, said to be no seat's territory
    meta["xpcc_points"] = len(fig.data)
    fig.add_trace(
        _labelled_points(
            values["xpcc_points"],
            label=2,
            textfont={"size": font_size - 3, "color": palette.INK},
            marker={"symbol": "diamond", "size": 9, "color": palette.INK},
            name=XPCC_TRACE,
        )
    )
    meta["scope_points"] = len(fig.data)
    fig.add_trace(
        _labelled_points(
            values["scope_points"],
            textposition="top center",
            marker={"symbol": "star", "size": 13, "color": palette.PRIMARY},
            name=SCOPE_POINTS_TRACE,
        )
    )
    if not filters.recipient:
        _context_layer(fig, overlays, "outline")
        _context_points(
            fig, "dashline", overlays.dashline, "geo", mode="lines",
            line={"color": palette.OUTLINE, "width": 1.0},
        )  # fmt: skip
        meta["inset"] = _add_inset(fig, overlays)

    programs = agg.program_options(data)
    meta["flows"] = []
    for pi, program in enumerate(programs):
        colour = palette.program_colour(program, pi)
        # never colour alone (#13): each programme has its own line pattern
        dash = palette.program_dash(program, pi)
        for ci, width in enumerate(WIDTH_CLASSES):
            slot = values["flows"][pi * len(WIDTH_CLASSES) + ci]
            meta["flows"].append(len(fig.data))
            fig.add_trace(
                go.Scattergeo(
                    lon=slot["lon"],
                    lat=slot["lat"],
                    hoverinfo="skip",
                    mode="lines+markers",
                    line={
                        "color": colour,
                        "width": width,
                        "dash": palette.NO_FIGURE_DASH if ci == 0 else dash,
                    },
                    marker={
                        "symbol": "arrow",
                        "angleref": "north",
                        "size": slot["marker"]["size"],
                        "angle": slot["marker"]["angle"],
                        "color": colour,
                        "line": {"width": 0},
                    },
                    opacity=0.6,
                    name=i18n.program_label(program, lang),
                    legendgroup=program,
                    showlegend=slot["showlegend"],
                    legend="legend",
                    geo="geo",
                )
            )
    # one hover point per flow, on its arc's middle (see _flow_values): invisible, but
    # hovered and clicked like the line it stands for
    n_lines = len(programs) * len(WIDTH_CLASSES)
    for pi, program in enumerate(programs):
        slot = values["flows"][n_lines + pi]
        meta["flows"].append(len(fig.data))
        fig.add_trace(
            go.Scattergeo(
                lon=slot["lon"],
                lat=slot["lat"],
                text=slot["text"],
                customdata=slot["customdata"],
                hovertemplate=slot["hovertemplate"],
                mode="markers",
                marker={"size": 12, "opacity": 0, "color": palette.program_colour(program, pi)},
                hoverlabel={"bgcolor": palette.program_colour(program, pi)},
                name=i18n.program_label(program, lang),
                legendgroup=program,
                showlegend=False,
                geo="geo",
            )
        )
    meta["legend"] = []
    donors = list(agg.all_donor_keys(data))
    for i, key in enumerate([*donors, "__multiple__"]):
        colour = palette.MULTIPLE if key == "__multiple__" else palette.donor_colour(i)
        name = (
            i18n.t("map_multiple_donors", lang)
            if key == "__multiple__"
            else esc(agg.donor_label(data, key, lang))
        )
        meta["legend"].append(len(fig.data))
        fig.add_trace(
            go.Scattergeo(
                lon=[None],
                lat=[None],
                mode="markers",
                marker={"symbol": "square", "size": 12, "color": colour},
                name=name,
                legend="legend2",
                showlegend=True,
                visible=values["legend_visible"][i],
                hoverinfo="skip",
                geo="geo",
            )
        )

    geo_common = {
        "showcoastlines": False,
        "showcountries": False,
        "showland": False,
        "showocean": False,
        "showlakes": False,
        "showrivers": False,
        "showsubunits": False,
        "showframe": False,
        "bgcolor": "rgba(0,0,0,0)",
    }
    main_geo: dict[str, Any] = {
        **geo_common,
        "domain": {"x": [0.0, 1.0], "y": [0.0, 1.0]},
        "projection": {"type": "conic equal area", "parallels": [25, 47], "rotation": {"lon": 105}},
    }
    if filters.recipient:
        main_geo["fitbounds"] = "locations"
    else:
        main_geo["lonaxis"] = {"range": list(NATIONAL_LON)}
        main_geo["lataxis"] = {"range": list(NATIONAL_LAT)}
    layout: dict[str, Any] = {
        "geo": main_geo,
        # room above the map for the programme legend: on the map it hid the north-east
        "margin": {"l": 0, "r": 0, "t": 3 * font_size, "b": 0},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": palette.FONT_FAMILY, "size": font_size, "color": palette.INK},
        "hoverlabel": {"font": {"family": palette.FONT_FAMILY, "size": font_size}},
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "y": 1.0,
            "xanchor": "left",
            "yanchor": "bottom",
            "bgcolor": "rgba(255,255,255,0)",
            "title": {
                "text": i18n.t("program", lang) + ("：" if lang == "zh" else ":"),
                "side": "left",
            },
            "font": {"size": font_size - 1},
        },
        "legend2": {
            "x": 0.0,
            "y": 0.0,
            "xanchor": "left",
            "yanchor": "bottom",
            "bgcolor": "rgba(255,255,255,0.85)",
            "title": {"text": i18n.t("donor", lang)},
            "font": {"size": font_size - 2},
            "orientation": "v",
        },
        "dragmode": False,
        "uirevision": "|".join(str(x) for x in MapFigureKey.of(filters, data.version).as_list()),
        "meta": meta,
    }
    if height:
        layout["height"] = height
    if "inset" in meta:
        layout["geo2"] = {
            **geo_common,
            "showframe": True,
            "framecolor": palette.OUTLINE,
            "framewidth": 1,
            "bgcolor": "#ffffff",
            "domain": {"x": [0.86, 0.995], "y": [0.01, 0.28]},
            "projection": {"type": "mercator"},
            "lonaxis": {"range": list(INSET_LON)},
            "lataxis": {"range": list(INSET_LAT)},
        }
        layout["annotations"] = [
            {
                "text": i18n.t("inset_title", lang),
                # in large type the name is wider than the inset: it ends at the inset's
                # right edge instead of running off the figure (presenter mode, #9)
                "x": 0.995 if filters.present else 0.9275,
                "y": 0.012,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "right" if filters.present else "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": font_size - 3, "color": palette.MUTED},
            }
        ]
    fig.update_layout(**layout)
    return fig


def _add_inset(fig: go.Figure, overlays: Overlays) -> list[int]:
    """South China Sea inset (geo2): China's outline, neighbours, islands, dashed line."""
    indices = [
        _context_layer(fig, overlays, "inset-outline"),
        _context_points(
            fig, "inset-neighbors", overlays.inset_neighbors, "geo2", mode="lines",
            line={"color": "#9ca3af", "width": 0.5},
        ),
        _context_layer(fig, overlays, "inset-islands"),
        _context_points(
            fig, "inset-dashline", overlays.dashline, "geo2", mode="lines",
            line={"color": palette.OUTLINE, "width": 1.0},
        ),
        _context_points(
            fig, "inset-island-points", overlays.island_points, "geo2", mode="markers",
            marker={"size": 3, "color": palette.OUTLINE},
        ),
    ]  # fmt: skip
    return [i for i in indices if i is not None]


def _context_points(
    fig: go.Figure, name: str, coords: tuple[list, list], geo: str, **style: Any
) -> int | None:
    """Add a context layer of lines or points (lon, lat lists; None breaks a line) if it
    has any; its trace's index."""
    lon, lat = coords
    if not lon:
        return None
    fig.add_trace(
        go.Scattergeo(
            lon=lon, lat=lat, hoverinfo="skip", name=name, geo=geo, showlegend=False, **style
        )
    )
    return len(fig.data) - 1


@lru_cache(maxsize=64)
def _province_bounds(adcode: str) -> tuple[float, float, float, float] | None:
    """A province's bounds (lon0, lat0, lon1, lat1), read once: boundaries never change
    while the app runs (framing and label placement ask on every drilled change)."""
    from twinning.geo.boundaries import load_level

    provinces = load_level("province")
    shape = provinces[provinces["adcode"] == adcode]
    if not len(shape):
        return None
    x0, y0, x1, y1 = (float(v) for v in shape.total_bounds)
    return x0, y0, x1, y1


def drilled_geo(geo: dict[str, Any], recipient: str | None) -> dict[str, Any]:
    """The map's ``geo`` layout framed on a drilled-into province, by its own bounds.

    plotly's fitbounds frames the whole world when flow traces carry None breaks, so the
    frame is set explicitly. The screen and every export call this one function, so a
    drilled view exports framed as it is shown (issue #8)."""
    bounds = _province_bounds(recipient) if recipient else None
    if bounds is None:
        return geo
    x0, y0, x1, y1 = bounds
    pad_x, pad_y = (x1 - x0) * 0.06 + 0.2, (y1 - y0) * 0.06 + 0.2
    out = dict(geo)
    out.pop("fitbounds", None)
    out["lonaxis"] = {"range": [x0 - pad_x, x1 + pad_x]}
    out["lataxis"] = {"range": [y0 - pad_y, y1 + pad_y]}
    out["projection"] = {**out.get("projection", {}), "rotation": {"lon": (x0 + x1) / 2}}
    return out


def frame_drilled(fig: dict[str, Any], recipient: str | None) -> dict[str, Any]:
    """A shallow copy of a map dict framed on a drilled-into province (``drilled_geo``),
    whose flows let clicks reach the places: there they are drawn but not hoverable, so
    a click on a county never hits an arrow. Every renderer of a view frames it here."""
    if not recipient:
        return fig
    layout = {**fig["layout"], "geo": drilled_geo(fig["layout"]["geo"], recipient)}
    data = list(fig["data"])
    for idx in layout["meta"].get("flows", []):
        trace = dict(data[idx])
        trace["hoverinfo"] = "skip"
        trace.pop("hovertemplate", None)
        data[idx] = trace
    return {**fig, "data": data, "layout": layout}


def trace_updates(meta: dict[str, Any], values: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """{trace index: {property path: value}} for everything a filter change touches: the
    screen sends them as a ``dash.Patch``; ``with_values`` sets them on a whole figure."""
    updates: dict[int, dict[str, Any]] = {}
    updates[meta["main"]] = dict(values["main"])
    if "no_data" in meta:
        updates[meta["no_data"]] = {"z": values["no_data"]["z"]}
    if "scope" in meta:  # a figure about several places, outlined (issue #10)
        z = values["scope"]["z"]
        # hidden while it outlines nothing: plotly makes an (empty) path for each of a
        # visible layer's places, 2,875 at county level, a third of the map's paths (#7)
        updates[meta["scope"]] = {"z": z, "visible": z.count(None) != len(z)}
        updates[meta["scope_points"]] = dict(values["scope_points"])
    if "xpcc_points" in meta:  # the XPCC divisions paired in view, at their seats
        updates[meta["xpcc_points"]] = dict(values["xpcc_points"])
    for idx, slot in zip(meta.get("flows", []), values["flows"], strict=False):
        if "hovertemplate" in slot:  # a programme's hover points
            updates[idx] = {
                "lon": slot["lon"],
                "lat": slot["lat"],
                "text": slot["text"],
                "customdata": slot["customdata"],
                "hovertemplate": slot["hovertemplate"],
            }
        else:  # lines of a programme and width class
            updates[idx] = {
                "lon": slot["lon"],
                "lat": slot["lat"],
                "marker.size": slot["marker"]["size"],
                "marker.angle": slot["marker"]["angle"],
                "showlegend": slot["showlegend"],
            }
    for idx, visible in zip(meta.get("legend", []), values["legend_visible"], strict=False):
        updates[idx] = {"visible": visible}
    return updates


def set_path(trace: dict[str, Any], prop: str, value: Any) -> None:
    """Set a dotted property (``marker.size``) on a trace dict, copying the dicts on the way."""
    parts = prop.split(".")
    for part in parts[:-1]:
        trace[part] = dict(trace.get(part) or {})
        trace = trace[part]
    trace[parts[-1]] = value


def with_values(fig: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of a map dict with the filter-dependent ``values`` set
    (``map_patch_values``); ``fig`` itself, often a cached base, is never changed."""
    meta = fig["layout"]["meta"]
    data = list(fig["data"])
    for idx, props in trace_updates(meta, values).items():
        trace = dict(data[idx])
        for prop, value in props.items():
            set_path(trace, prop, value)
        data[idx] = trace
    return {"data": data, "layout": fig["layout"]}
