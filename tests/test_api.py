"""load_atlas: pairings and figures joined to the boundary at each row's own level."""

from __future__ import annotations

import geopandas as gpd
import pytest

from twinning.api import Atlas, load_atlas
from twinning.geo.boundaries import load_level, places_table
from twinning.store import Store


@pytest.fixture(scope="module")
def atlas(reference_store: Store) -> Atlas:
    return load_atlas(store=reference_store)


def test_frames_are_geodataframes_in_wgs84(atlas: Atlas) -> None:
    for frame in (atlas.pairings, atlas.figures):
        assert isinstance(frame, gpd.GeoDataFrame)
        assert frame.crs.to_epsg() == 4326
    assert len(atlas.pairings) == 218 and len(atlas.figures) == 256


def test_every_resolved_row_has_the_geometry_of_its_level(atlas: Atlas) -> None:
    for frame in (atlas.pairings, atlas.figures):
        resolved = frame["recipient_adcode"].notna()
        assert frame.loc[resolved, "geometry"].notna().all()
        assert frame.loc[~resolved, "geometry"].isna().all()  # kept, without geometry
    county = atlas.pairings[atlas.pairings["recipient_adcode"] == "653125"].iloc[0]
    shache = load_level("county").set_index("adcode").loc["653125", "geometry"]
    assert county.geometry.equals(shache)
    province = atlas.pairings[atlas.pairings["recipient_adcode"] == "530000"].iloc[0]
    assert province["recipient_level"] == "province"
    yunnan = load_level("province").set_index("adcode").loc["530000", "geometry"]
    assert province.geometry.equals(yunnan)


def test_unresolved_lists_rows_with_reasons(atlas: Atlas) -> None:
    u = atlas.unresolved
    assert set(u["table"]) == {"pairings", "figures"}
    assert (u["table"] == "pairings").sum() == 7
    assert u["reason"].notna().all()
    assert u["description"].str.contains("第十四师").any()
    # issue #10: each is drawn all the same (a group, a division's point, with its donor)
    assert u["shown_as"].notna().all()
    assert set(u.loc[u["table"] == "pairings", "shown_as"]) == {"xpcc_point"}
    assert {"group", "donor_side"} <= set(u.loc[u["table"] == "figures", "shown_as"])
    assert (
        len(u)
        == atlas.pairings["recipient_adcode"].isna().sum()
        + atlas.figures["recipient_adcode"].isna().sum()
    )


def test_load_atlas_by_url(store: Store) -> None:
    atlas = load_atlas(store.url)
    assert len(atlas.pairings) == 218
    assert atlas.data_version == store.data_version()
    assert len(atlas.places) == len(places_table())
