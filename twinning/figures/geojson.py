"""Boundaries as GeoJSON for plotly, built once per (level, detail, province) and cached.

Why here: serialising thousands of polygons is the most expensive thing the map does, so
it happens once per process; callbacks then send only values (``dash.Patch``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import shapely


def to_geojson(gdf: gpd.GeoDataFrame, decimals: int = 3) -> dict[str, Any]:
    """A FeatureCollection whose feature ``id`` is the adcode (plotly ``featureidkey='id'``).

    Coordinates are rounded (3 decimals ~ 100 m, finer than the 0.05° simplification) to
    keep the figure small; properties are left out because hover text comes from the data.
    Exteriors are clockwise once rounded (rounding can turn a sliver's ring round):
    plotly.js fills, and outlines, the rest of the globe for a counter-clockwise one.
    """
    geoms = shapely.transform(np.asarray(gdf.geometry.values), lambda c: np.round(c, decimals))
    geoms = shapely.orient_polygons(geoms, exterior_cw=True)
    features = [
        {"type": "Feature", "id": str(code), "properties": {}, "geometry": json.loads(g)}
        for code, g in zip(gdf["adcode"], shapely.to_geojson(geoms), strict=True)
        if g is not None
    ]
    return {"type": "FeatureCollection", "features": features}


def line_coords(gdf: gpd.GeoDataFrame | None, decimals: int = 3) -> tuple[list, list]:
    """lon/lat lists of every ring or line, separated by None (one Scattergeo trace)."""
    lons: list[float | None] = []
    lats: list[float | None] = []
    if gdf is None or len(gdf) == 0:
        return lons, lats
    for geom in gdf.geometry.values:
        if geom is None or geom.is_empty:
            continue
        for part in getattr(geom, "geoms", [geom]):
            rings = []
            if part.geom_type == "Polygon":
                rings = [part.exterior, *part.interiors]
            elif part.geom_type in ("LineString", "LinearRing"):
                rings = [part]
            elif part.geom_type == "Point":
                lons.extend([round(part.x, decimals), None])
                lats.extend([round(part.y, decimals), None])
                continue
            for ring in rings:
                xy = np.round(np.asarray(ring.coords)[:, :2], decimals)
                lons.extend([*xy[:, 0].tolist(), None])
                lats.extend([*xy[:, 1].tolist(), None])
    return lons, lats


def _level_frame(level: str, province: str | None) -> tuple[gpd.GeoDataFrame, int]:
    """The places of a level (national, or one province in fine detail) and the decimals
    their coordinates keep."""
    from twinning.geo.boundaries import load_level

    detail = "fine" if (province and level == "county") else "default"
    gdf = load_level(level, detail) if detail == "default" else _load_fine(level)
    if province:
        if level == "province":
            gdf = gdf[gdf["adcode"] == province]
        else:
            gdf = gdf[gdf["province_adcode"] == province]
    return gdf, 4 if detail == "fine" else 3


def build_level_geojson(level: str, province: str | None = None) -> tuple[dict[str, Any], tuple]:
    """GeoJSON and the ordered adcodes of a level, built anew (not kept): for the one-off
    serialisation of a served boundary file (``components.geo_assets``), whose dicts of
    thousands of polygons (12 MB for the counties) a worker need not hold (#7)."""
    gdf, decimals = _level_frame(level, province)
    return to_geojson(gdf, decimals), tuple(str(c) for c in gdf["adcode"])


@lru_cache(maxsize=48)
def level_geojson(level: str, province: str | None = None) -> tuple[dict[str, Any], tuple]:
    """GeoJSON and the ordered adcodes of a level (national, or one province in fine detail),
    for figures that carry their boundaries inline (files, embeds, the offline page).

    Reads through ``twinning.geo.boundaries``; cached because boundaries never change
    while the app runs.
    """
    return build_level_geojson(level, province)


@lru_cache(maxsize=64)
def level_locations(level: str, province: str | None = None) -> tuple[str, ...]:
    """The ordered adcodes of a level, as ``level_geojson`` gives them, without building
    its GeoJSON: what a map's values are laid out by."""
    gdf, _decimals = _level_frame(level, province)
    return tuple(str(c) for c in gdf["adcode"])


def _load_fine(level: str) -> gpd.GeoDataFrame:
    from twinning.geo.boundaries import load_level

    try:
        return load_level(level, "fine")
    except (FileNotFoundError, ValueError, KeyError):
        return load_level(level)


BBox = tuple[float, float, float, float]  # (min lon, min lat, max lon, max lat)


def _overlay(kind: str, clip: BBox | None, tolerance: float) -> gpd.GeoDataFrame | None:
    """An overlay, optionally cut to a box (the inset needs only its corner of the map)
    and simplified (context layers such as the neighbours need no fine detail)."""
    from twinning.geo.boundaries import load_overlay

    try:
        gdf = load_overlay(kind)
    except (FileNotFoundError, KeyError, ValueError):
        return None
    geoms = np.asarray(gdf.geometry.values)
    if clip is not None:
        geoms = shapely.clip_by_rect(geoms, *clip)
    if tolerance:
        # not topology-preserving: islets smaller than the tolerance vanish, which is the
        # point for a context layer; then repaired and re-oriented (a counter-clockwise
        # exterior would make go.Choropleth fill the rest of the globe)
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=False)
        geoms = shapely.orient_polygons(shapely.make_valid(geoms), exterior_cw=True)
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf[~(gdf.geometry.is_empty | gdf.geometry.isna())]


@lru_cache(maxsize=16)
def overlay_lines(kind: str, clip: BBox | None = None, tolerance: float = 0.0) -> tuple[list, list]:
    """lon/lat line lists of an overlay (outline, dashline, islands, neighbors), cached."""
    gdf = _overlay(kind, clip, tolerance)
    return ([], []) if gdf is None else line_coords(gdf)


@lru_cache(maxsize=16)
def overlay_geojson(
    kind: str, clip: BBox | None = None, tolerance: float = 0.0, name: str | None = None
) -> dict[str, Any] | None:
    """An overlay as GeoJSON, cached: the map draws its context layers (outline,
    neighbours, islands) as choropleths of these shapes. Each shape's id is
    ``<name>-<i>`` (``name`` defaults to ``kind``), so the layers of one map, served
    together in one file (``components.geo_assets``), keep their own ids. Exteriors are
    clockwise (``to_geojson``), as cutting to a box may not leave them."""
    gdf = _overlay(kind, clip, tolerance)
    if gdf is None:
        return None
    gdf = gdf.reset_index(drop=True)
    gdf = gdf.assign(adcode=[f"{name or kind}-{i}" for i in range(len(gdf))])
    return to_geojson(gdf)
