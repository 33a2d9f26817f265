"""A figure's plotly template cut to what the figure draws (#7).

plotly puts its whole default template in every figure's layout: defaults for some thirty
trace types (heatmaps, 3-D surfaces, tables...) and for every kind of subplot (3-D scenes,
polar, ternary) beside the layout's own. A chart reads only the entries of its own trace
types and subplots; the rest was ~10 KB (0.6 KB compressed) of every series the screen
was sent. Cutting it changes nothing drawn: plotly.js applies a template's trace
defaults by trace type and its subplot defaults to subplots that exist.
"""

from __future__ import annotations

from typing import Any

# the template.layout entries of a kind of subplot, and the trace types drawn on it
_SUBPLOTS: dict[str, frozenset[str]] = {
    "geo": frozenset({"choropleth", "scattergeo"}),
    "scene": frozenset(
        {"scatter3d", "surface", "mesh3d", "cone", "streamtube", "volume", "isosurface"}
    ),
    "polar": frozenset({"scatterpolar", "scatterpolargl", "barpolar"}),
    "ternary": frozenset({"scatterternary"}),
    "mapbox": frozenset({"scattermapbox", "choroplethmapbox", "densitymapbox"}),
    "map": frozenset({"scattermap", "choroplethmap", "densitymap"}),
}
_NOT_CARTESIAN = frozenset().union(*_SUBPLOTS.values()) | {"pie", "sunburst", "treemap", "table"}


def figure_dict(fig: Any) -> dict[str, Any]:
    """A plotly ``go.Figure`` built only to be turned into a dict, as that dict: what
    ``fig.to_plotly_json()`` gives, without its deep copy of every trace and the layout
    (#7: a county map's copy took 0.4-0.8 s of the first view a new worker served, and of
    each map of a new structure, a level or a drilled province). The dict shares its
    values with ``fig``: the figure must not be used after."""
    from _plotly_utils.utils import convert_to_base64

    out = {"data": fig._data, "layout": fig._layout}  # what to_dict copies
    if fig._frame_objs:
        out["frames"] = [frame._props for frame in fig._frame_objs]
    convert_to_base64(out)  # as to_dict does: numeric arrays as typed arrays
    return out


def slim_template(fig: dict[str, Any]) -> dict[str, Any]:
    """``fig`` (a figure dict) with its template's defaults kept for its own trace types
    and subplots only. A new top-level dict and layout; traces and other values shared."""
    layout = fig.get("layout")
    template = layout.get("template") if isinstance(layout, dict) else None
    if not isinstance(template, dict):
        return fig
    kinds = {trace.get("type", "scatter") for trace in fig.get("data", [])}
    out = dict(template)
    if isinstance(template.get("data"), dict):
        out["data"] = {k: v for k, v in template["data"].items() if k in kinds}
    if isinstance(template.get("layout"), dict):
        unused = {name for name, types in _SUBPLOTS.items() if not kinds & types}
        if not kinds - _NOT_CARTESIAN:
            unused |= {"xaxis", "yaxis"}
        out["layout"] = {k: v for k, v in template["layout"].items() if k not in unused}
    return {**fig, "layout": {**layout, "template": out}}
