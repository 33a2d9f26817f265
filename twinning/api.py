"""One call for analysts: pairings and figures joined to their boundaries.

Example (in a notebook)::

    from twinning.api import load_atlas

    atlas = load_atlas()                     # the store at TWINNING_DATABASE_URL
    atlas.pairings.plot()                    # GeoDataFrame, EPSG:4326
    shanghai = atlas.figures[atlas.figures.donor_adcode == "310000"]
    funds = shanghai[(shanghai.metric == "funds_cny") & ~shanghai.is_context]
    funds[["recipient", "period_start", "period_end", "value", "qualifier", "quote"]]
    atlas.unresolved                         # rows without a recipient adcode: why, or how shown

Each row is joined to the boundary at its own recipient level (a county row gets the
county's polygon, a province row the province's); rows that did not resolve keep an
empty geometry and stay in the frame. Do not sum figures across rows without checking
``period_start``/``period_end`` and ``is_context`` (see data/reference/NOTES.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from twinning.filters import LEVELS
from twinning.store import Store, open_store


@dataclass
class Atlas:
    """Pairings and figures as GeoDataFrames, the places, and what did not resolve."""

    pairings: gpd.GeoDataFrame
    figures: gpd.GeoDataFrame
    places: pd.DataFrame
    unresolved: pd.DataFrame
    data_version: str


def _boundaries(detail: str = "default") -> gpd.GeoDataFrame:
    """adcode, level, geometry for all three levels (one row per adcode and level)."""
    from twinning.geo.boundaries import load_level

    frames = [load_level(level)[["adcode", "geometry"]].assign(level=level) for level in LEVELS]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry")


def join_boundaries(frame: pd.DataFrame, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Left-join each row to the polygon of (recipient_adcode, recipient_level)."""
    shapes = boundaries.rename(
        columns={"adcode": "recipient_adcode", "level": "recipient_level"}
    ).drop_duplicates(["recipient_adcode", "recipient_level"])
    merged = frame.merge(shapes, on=["recipient_adcode", "recipient_level"], how="left")
    if len(merged) != len(frame):  # pragma: no cover - guarded by drop_duplicates
        raise RuntimeError("boundary join changed the number of rows")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=boundaries.crs or "EPSG:4326")


def _shown_as(frame: pd.DataFrame, table: str) -> pd.Series:
    """Where a row without a recipient adcode is drawn instead (issue #10), or None."""
    out = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if table == "pairings" and "recipient_division" in frame:
        out[frame["recipient_division"].notna()] = "xpcc_point"
    if table == "figures" and "scope_group" in frame:
        group = frame["scope_group"].astype("string")
        out[group.notna()] = "group"
        out[group.str.startswith("xpcc:").fillna(False).astype(bool)] = "xpcc_point"
        out[frame["donor_side"].fillna(False).astype(bool)] = "donor_side"
    return out


def unresolved_rows(pairings: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """Rows with no recipient adcode, from both tables, with the reason.

    ``shown_as`` says how such a row is drawn all the same (``group``: a list or group of
    places, ``xpcc_point``: a division of the XPCC at its seat, ``donor_side``: with its
    donor) and is empty for a row shown nowhere; ``reason`` is then the resolution note."""
    p = pairings[pairings["recipient_adcode"].isna()]
    f = figures[figures["recipient_adcode"].isna()]
    p_desc = (
        p["donor_province"].fillna("")
        + " "
        + p["donor_unit"].fillna("")
        + " -> "
        + p[["recipient_province", "recipient_prefecture", "recipient_county"]]
        .fillna("")
        .agg(" ".join, axis=1)
        .str.split()
        .str.join(" ")
    )
    f_desc = f["donor"].fillna("") + " -> " + f["recipient"].fillna("")
    cols = [
        "table",
        "id",
        "batch_id",
        "batch_kind",
        "row_number",
        "description",
        "shown_as",
        "reason",
    ]
    parts = [
        pd.DataFrame(
            {
                "table": "pairings",
                "id": p["id"],
                "batch_id": p["batch_id"],
                "batch_kind": p["batch_kind"],
                "row_number": p["row_number"],
                "description": p_desc.str.replace(r"\s+", " ", regex=True),
                "shown_as": _shown_as(p, "pairings"),
                "reason": p["unresolved_reason"].fillna(p["resolution_note"]),
            }
        ),
        pd.DataFrame(
            {
                "table": "figures",
                "id": f["id"],
                "batch_id": f["batch_id"],
                "batch_kind": f["batch_kind"],
                "row_number": f["row_number"],
                "description": f_desc,
                "shown_as": _shown_as(f, "figures"),
                "reason": f["unresolved_reason"].fillna(f["resolution_note"]),
            }
        ),
    ]
    return pd.concat(parts, ignore_index=True)[cols]


def load_atlas(url: str | None = None, *, store: Store | None = None) -> Atlas:
    """Open the store (``url`` or TWINNING_DATABASE_URL, or a given ``store``) and join.

    Returns an ``Atlas`` whose ``.pairings`` and ``.figures`` are GeoDataFrames in
    EPSG:4326 with the columns of ``Store.pairings_frame()`` / ``figures_frame()`` plus
    ``geometry``; ``.places`` is the places table and ``.unresolved`` lists the rows
    whose recipient has no adcode, with the reason (XPCC divisions, aggregates ...).
    """
    own = store is None
    store = store or open_store(url)
    try:
        pairings = store.pairings_frame()
        figures = store.figures_frame()
        places = store.places_frame()
        version = store.data_version()
    finally:
        if own:
            store.dispose()
    shapes = _boundaries()
    return Atlas(
        pairings=join_boundaries(pairings, shapes),
        figures=join_boundaries(figures, shapes),
        places=places,
        unresolved=unresolved_rows(pairings, figures),
        data_version=version,
    )
