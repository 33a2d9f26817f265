"""Read the committed boundary files of data/geo (runtime; no cnmaps, no pypinyin).

The files are immutable for the life of the process, so each is read once and cached;
callers get a copy, so a caller that adds a column cannot change what the next one sees.
Nothing is read at import time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from twinning.filters import LEVELS
from twinning.paths import GEO_DIR

if TYPE_CHECKING:  # geopandas is imported where a geometry is read, not at start (#7)
    import geopandas as gpd

DETAILS = ("default", "fine")
OVERLAY_KINDS = ("outline", "dashline", "islands", "neighbors")
PLACE_COLUMNS = [
    "adcode",
    "level",
    "name_zh",
    "name_en",
    "pinyin",
    "province_adcode",
    "prefecture_adcode",
    "lon",
    "lat",
]


class GeoDataMissing(FileNotFoundError):
    """A data/geo file is missing; the message says how to rebuild it."""


def _path(name: str, geo_dir: Path | None) -> Path:
    path = Path(geo_dir or GEO_DIR) / f"{name}.parquet"
    if not path.exists():
        raise GeoDataMissing(
            f"{path} not found: run `twinning geo build` (needs `pip install -e '.[build]'`),"
            " or restore the committed file with `git checkout -- data/geo`"
        )
    return path


def level_file(level: str, detail: str = "default") -> str:
    """The file name (without .parquet) holding a level at a detail; checks the arguments."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r}: use one of {', '.join(LEVELS)}")
    if detail not in DETAILS:
        raise ValueError(f"detail {detail!r}: use one of {', '.join(DETAILS)}")
    if detail == "fine":
        if level != "county":
            raise ValueError(
                f"detail 'fine' exists for level 'county' only, not {level!r}: "
                "use detail='default' (provinces and prefectures are already small)"
            )
        return "county_fine"
    return level


@lru_cache(maxsize=16)
def _read_geo(path: Path) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.read_parquet(path)


def load_level(
    level: str, detail: str = "default", geo_dir: Path | None = None
) -> gpd.GeoDataFrame:
    """One row per province, prefecture or county, with geometry (EPSG:4326).

    ``detail="fine"`` (county only) is the finer county coverage for single-province
    views; the default is light enough for a national county map.
    """
    return _read_geo(_path(level_file(level, detail), geo_dir)).copy()


def load_overlay(kind: str, geo_dir: Path | None = None) -> gpd.GeoDataFrame:
    """Rows of one overlay kind: outline, dashline, islands or neighbors."""
    if kind not in OVERLAY_KINDS:
        raise ValueError(f"overlay {kind!r}: use one of {', '.join(OVERLAY_KINDS)}")
    gdf = _read_geo(_path("overlays", geo_dir))
    return gdf[gdf["kind"] == kind].reset_index(drop=True)


@lru_cache(maxsize=4)
def _places(geo_dir: Path | None) -> pd.DataFrame:
    frames = [pd.read_parquet(_path(level, geo_dir), columns=PLACE_COLUMNS) for level in LEVELS]
    df = pd.concat(frames, ignore_index=True)
    levels: dict[str, str] = {}
    for code, level in zip(df["adcode"], df["level"], strict=True):
        levels[code] = f"{levels[code]},{level}" if code in levels else level
    df = df.drop_duplicates("adcode", keep="first")  # frames are ordered province first
    df["levels"] = df["adcode"].map(levels)
    return df.sort_values("adcode").reset_index(drop=True)


def places_table(geo_dir: Path | None = None) -> pd.DataFrame:
    """Every unit of the three levels, one row per adcode, without geometry (fast).

    An adcode at several levels (北京市 110000 is province and prefecture; 东莞市 441900
    is prefecture and county) keeps its highest level in ``level``; ``levels`` lists all
    of them ("province,prefecture"). Columns: adcode, level, name_zh, name_en, pinyin,
    province_adcode, prefecture_adcode, lon, lat, levels.
    """
    return _places(Path(geo_dir) if geo_dir else None).copy()


def clear_cache() -> None:
    """Forget what was read (after a rebuild in the same process, e.g. in tests)."""
    _read_geo.cache_clear()
    _places.cache_clear()
