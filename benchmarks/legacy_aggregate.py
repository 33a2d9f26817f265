"""The atlas's data path before #7 (pandas, every row in every worker), kept verbatim as the
baseline that benchmarks measure against and that recorded tests/golden/*.json.

Original docstring: from stored rows to what the atlas shows: filters, per-place values,
flows, series, details.

Why this module exists: the Dash layer must stay thin and the numbers must be honest in
one place. Rules kept here, and tested in ``tests/test_aggregate.py``:

* ``context_*`` figures (background such as visitors or fossils) are never counted.
* A figure reported for a period (2006–2010) stays a period: it matches a year range when
  its period overlaps it, and it is never split into invented yearly values.
  A figure with only an end year (a cumulative count "to 2022") reaches back indefinitely.
* Figures overlap in scope and period (NOTES.md §7). Sums are labelled "sum of N reported
  figures"; the same figure reported twice (same donor, recipient, metric, value and
  period) is counted once.
* A figure or pairing attributed to a larger area than the map level (a province-wide
  figure on the county map) is not pushed down to smaller units; it is counted as
  "reported for larger areas" instead.

No dash, no I/O: frames come in from the store (``AtlasData.from_store``) or from tests.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

import pandas as pd

from twinning import i18n

LEVELS: tuple[str, ...] = ("province", "prefecture", "county")
MAIN_METRICS: tuple[str, ...] = ("funds_cny", "projects", "people_lifted")
FROM_MEMORY = "from_memory"

# The two source documents of the reference data are cited by file name in `source`;
# NOTES.md §1 says to link to their original locations rather than republish them.
SOURCE_DOCUMENTS: dict[str, str] = {
    "000_3fe4908ac1a43767.txt": "https://yearbook.iprcc.org.cn/zggjfpzxnj/2011njzw/wddfpp/382945.shtml",
    "004_9370aca5d40441e1.txt": "https://gaodawei.wordpress.com/2023/05/27/"
    "2022-shanghai-reports-on-its-develop-the-west-counterpart-support",
}

_PAIRING_COLUMNS = (
    "id",
    "batch_id",
    "program",
    "donor_province",
    "donor_unit",
    "donor_adcode",
    "donor_province_adcode",
    "recipient_province",
    "recipient_prefecture",
    "recipient_county",
    "recipient_adcode",
    "recipient_level",
    "recipient_province_adcode",
    "recipient_prefecture_adcode",
    "start_year",
    "end_year",
    "source",
    "confidence",
    "unresolved_reason",
    "batch_kind",
)
_FIGURE_COLUMNS = (
    "id",
    "batch_id",
    "program",
    "donor",
    "recipient",
    "donor_adcode",
    "recipient_adcode",
    "recipient_level",
    "period_start",
    "period_end",
    "metric",
    "value",
    "unit",
    "value_original",
    "unit_original",
    "qualifier",
    "quote",
    "source",
    "confidence",
    "is_context",
    "unresolved_reason",
    "batch_kind",
)
_PLACE_COLUMNS = (
    "adcode",
    "level",
    "name_zh",
    "name_en",
    "province_adcode",
    "prefecture_adcode",
    "lon",
    "lat",
)


# ---------------------------------------------------------------------------------------
# Filters and the URL
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The whole view, as carried by the URL (see README, "Permalinks").

    Frozen and made of tuples and scalars so it can key caches.
    """

    lang: str = i18n.DEFAULT_LANG
    level: str = "province"
    metric: str | None = None
    programs: tuple[str, ...] = ()
    donor: str | None = None  # donor province adcode (or its name when it has none)
    donor_unit: str | None = None  # donor city/district adcode (or its name)
    recipient: str | None = None  # recipient province adcode; the map drills into it
    year_from: int | None = None
    year_to: int | None = None
    include_from_memory: bool = True
    place: str | None = None  # selected place adcode (detail panel)
    flows: bool = True
    present: bool = False

    # URL parameter -> field. Defaults are left out of the URL to keep links short.
    _PARAMS: ClassVar[dict[str, str]] = {
        "lang": "lang",
        "level": "level",
        "metric": "metric",
        "program": "programs",
        "donor": "donor",
        "unit": "donor_unit",
        "recipient": "recipient",
        "from": "year_from",
        "to": "year_to",
        "memory": "include_from_memory",
        "place": "place",
        "flows": "flows",
        "present": "present",
    }

    def to_query(self) -> dict[str, str]:
        """URL parameters of this view (defaults omitted)."""
        default = Filters()
        out: dict[str, str] = {}
        for param, name in self._PARAMS.items():
            value = getattr(self, name)
            if name != "lang" and value == getattr(default, name):
                continue
            if isinstance(value, bool):
                out[param] = "1" if value else "0"
            elif isinstance(value, tuple):
                out[param] = ",".join(value)
            else:
                out[param] = str(value)
        return out

    def to_query_string(self) -> str:
        """'?lang=zh&level=county...' for dcc.Location.search."""
        return "?" + urlencode(self.to_query(), safe=",")

    @classmethod
    def from_query(cls, query: str | Mapping[str, str] | None, **defaults: Any) -> Filters:
        """Parse URL parameters leniently: a bad value falls back to the default.

        A shared link must always open; it is user input, so nothing here raises.
        """
        if query is None:
            params: dict[str, str] = {}
        elif isinstance(query, str):
            params = dict(parse_qsl(query.lstrip("?"), keep_blank_values=False))
        else:
            params = {str(k): str(v) for k, v in query.items() if v is not None}
        base = cls(**defaults)
        values: dict[str, Any] = {}
        values["lang"] = i18n.normalize_lang(params.get("lang", base.lang))
        level = params.get("level", base.level)
        values["level"] = level if level in LEVELS else base.level
        values["metric"] = _clean_text(params.get("metric")) or base.metric
        if "program" in params:
            values["programs"] = tuple(
                sorted({p.strip() for p in params["program"].split(",") if p.strip()})
            )
        for param, name in (
            ("donor", "donor"),
            ("unit", "donor_unit"),
            ("recipient", "recipient"),
            ("place", "place"),
        ):
            if param in params:
                values[name] = _clean_text(params[param])
        for param, name in (("from", "year_from"), ("to", "year_to")):
            if param in params:
                values[name] = _clean_year(params[param])
        for param, name in (
            ("memory", "include_from_memory"),
            ("flows", "flows"),
            ("present", "present"),
        ):
            if param in params:
                values[name] = params[param].strip().lower() in {"1", "true", "yes", "on"}
        filters = replace(base, **values)
        if (
            filters.year_from is not None
            and filters.year_to is not None
            and filters.year_from > filters.year_to
        ):
            filters = replace(filters, year_from=filters.year_to, year_to=filters.year_from)
        return filters

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for a dcc.Store."""
        d = asdict(self)
        d["programs"] = list(self.programs)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Filters:
        if not d:
            return cls()
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "programs" in known:
            known["programs"] = tuple(known["programs"] or ())
        return cls(**known)

    def cache_key(self) -> Filters:
        """The parts that change what is computed (lang, place, present do not)."""
        return replace(self, lang="zh", place=None, present=False)


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:100] or None


def _clean_year(value: str | None) -> int | None:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return year if 1900 <= year <= 2100 else None


# ---------------------------------------------------------------------------------------
# The data, prepared once per data version
# ---------------------------------------------------------------------------------------


@dataclass
class AtlasData:
    """Pairings, figures and places, with each row's recipient rolled up to every level.

    Built once per ``data_version`` (the app keys its cache on it) and never mutated.
    """

    pairings: pd.DataFrame
    figures: pd.DataFrame
    places: pd.DataFrame  # one row per (adcode, level)
    version: str = "0"
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(
        cls,
        pairings: pd.DataFrame,
        figures: pd.DataFrame,
        places: pd.DataFrame,
        version: str = "0",
    ) -> AtlasData:
        places = _prepare_places(places)
        return cls(
            pairings=_prepare_pairings(pairings, places),
            figures=_prepare_figures(figures, places),
            places=places,
            version=str(version),
        )

    @classmethod
    def from_store(cls, store: Any, places: pd.DataFrame | None = None) -> AtlasData:
        """Read everything the atlas needs through the store's public frames."""
        if places is None:
            from twinning.geo.boundaries import places_table

            places = places_table()
        return cls.build(
            store.pairings_frame(), store.figures_frame(), places, version=store.data_version()
        )

    # -- lookups ------------------------------------------------------------------------
    def place_row(self, adcode: str | None, level: str | None = None) -> pd.Series | None:
        if not adcode:
            return None
        rows = self._place_index().get(str(adcode))
        if not rows:
            return None
        if level is not None and len(rows) > 1:
            rows = [r for r in rows if r["level"] == level] or rows
        return rows[0]

    def _place_index(self) -> dict[str, list[pd.Series]]:
        """adcode -> its rows, lowest level rank first; built once (maps look up thousands)."""

        def build() -> dict[str, list[pd.Series]]:
            index: dict[str, list[pd.Series]] = {}
            for _, row in self.places.sort_values("level_rank", kind="stable").iterrows():
                index.setdefault(str(row["adcode"]), []).append(row)
            return index

        return self.cached("_place_index", build)

    def place_points(self) -> dict[str, tuple[float, float]]:
        """adcode -> (lon, lat) of every place that has a point; built once."""

        def build() -> dict[str, tuple[float, float]]:
            pts = self.places.dropna(subset=["lon", "lat"]).drop_duplicates("adcode")
            return {
                str(c): (float(x), float(y))
                for c, x, y in zip(pts["adcode"], pts["lon"], pts["lat"], strict=True)
            }

        return self.cached("_place_points", build)

    def place_label(self, adcode: str | None, lang: str, fallback: str | None = None) -> str:
        row = self.place_row(adcode)
        if row is None:
            return fallback or (str(adcode) if adcode else "")
        return i18n.place_name(row["name_zh"], row["name_en"], lang)

    def cached(self, key: Any, compute: Any) -> Any:
        """Memoise per data version (shared by the callbacks of one filter change)."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return value


_LEVEL_RANK = {"province": 0, "prefecture": 1, "county": 2}


def _ensure(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    df = df.copy()
    for col in columns:
        if col not in df.columns:
            df[col] = None
    return df


def _missing(value: Any) -> bool:
    """None, NaN or pd.NA: what a frame holds where a cell is empty."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _text(x: Any) -> str | None:
    """``x`` if it is non-empty text, else None (NaN, None and pd.NA included)."""
    return x if isinstance(x, str) and x else None


def _as_code(series: pd.Series) -> pd.Series:
    """Adcodes as 6-character strings or None (frames may carry ints or floats)."""

    def conv(x: Any) -> str | None:
        if _missing(x):
            return None
        if isinstance(x, float):
            x = int(x)
        s = str(x).strip()
        return s or None

    return series.map(conv).astype(object)


def _prepare_places(places: pd.DataFrame) -> pd.DataFrame:
    places = _ensure(places, _PLACE_COLUMNS)
    for col in ("adcode", "province_adcode", "prefecture_adcode"):
        places[col] = _as_code(places[col])
    if "levels" in places.columns:
        # places_table() keeps one row per adcode and lists its levels ("province,prefecture"
        # for 北京市, "prefecture,county" for 东莞市): one row per (adcode, level) here.
        places = places.assign(
            level=[
                [lv for lv in str(levels).split(",") if lv] or [level]
                for levels, level in zip(places["levels"], places["level"], strict=True)
            ]
        ).explode("level", ignore_index=True)
    # a province is its own province (so 北京市 as a prefecture still rolls up to 北京市)
    own = places["province_adcode"].isna() & places["adcode"].fillna("").str.endswith("0000")
    places.loc[own, "province_adcode"] = places.loc[own, "adcode"]
    places["level_rank"] = places["level"].map(_LEVEL_RANK).fillna(9).astype(int)
    for col in ("lon", "lat"):
        places[col] = pd.to_numeric(places[col], errors="coerce")
    return places.reset_index(drop=True)


def _rollup_table(places: pd.DataFrame) -> dict[tuple[str, str], dict[str, str | None]]:
    """(adcode, level) -> its adcode at each level (None where that level is finer).

    The 39 units that are both a prefecture and a county (东莞, 中山, 儋州 ...) exist at both
    levels under one adcode, so a prefecture-level row for them also maps to the county.
    """
    by_level = {lvl: set(places.loc[places["level"] == lvl, "adcode"]) for lvl in LEVELS}
    table: dict[tuple[str, str], dict[str, str | None]] = {}
    for row in places.itertuples(index=False):
        code, level = row.adcode, row.level
        if code is None or level not in LEVELS:
            continue
        up = {
            "province": row.province_adcode or (code if level == "province" else None),
            "prefecture": row.prefecture_adcode if level == "county" else None,
            "county": None,
        }
        up[level] = code
        for finer in LEVELS[LEVELS.index(level) + 1 :]:
            up[finer] = code if code in by_level[finer] else None
        if level == "prefecture" and up["prefecture"] is None:
            up["prefecture"] = code
        table[(code, level)] = up
    return table


def _attach_rollup(df: pd.DataFrame, places: pd.DataFrame, level_col: str) -> pd.DataFrame:
    table = _rollup_table(places)
    levels_of = places.groupby("adcode")["level"].agg(list).to_dict()
    cols: dict[str, list[str | None]] = {lvl: [] for lvl in LEVELS}
    for code, level in zip(df["recipient_adcode"], df[level_col], strict=True):
        if code is None:
            for lvl in LEVELS:
                cols[lvl].append(None)
            continue
        if level not in LEVELS:
            known = levels_of.get(code, [])
            level = min(known, key=lambda x: _LEVEL_RANK.get(x, 9)) if known else None
        up = table.get((code, level)) if level else None
        for lvl in LEVELS:
            cols[lvl].append(up[lvl] if up else None)
    for lvl in LEVELS:
        df[f"r_{lvl}"] = pd.Series(cols[lvl], index=df.index, dtype=object)
    return df


def _province_of(codes: pd.Series, places: pd.DataFrame) -> pd.Series:
    prov = {}
    for row in places.itertuples(index=False):
        if row.adcode is not None and row.adcode not in prov:
            prov[row.adcode] = row.province_adcode or (
                row.adcode if row.level == "province" else None
            )
    return codes.map(lambda c: prov.get(c) if c else None).astype(object)


def _year(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def _prepare_pairings(p: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    p = _ensure(p, _PAIRING_COLUMNS).reset_index(drop=True)
    for col in (
        "donor_adcode",
        "donor_province_adcode",
        "recipient_adcode",
        "recipient_province_adcode",
        "recipient_prefecture_adcode",
    ):
        p[col] = _as_code(p[col])
    p["start_year"] = _year(p["start_year"])
    p["end_year"] = _year(p["end_year"])
    p["confidence"] = p["confidence"].fillna("").astype(str)
    p = _attach_rollup(p, places, "recipient_level")
    # donor keys: the province's adcode, or the text when it has none (中央企业)
    # (a missing adcode may arrive as NaN, which is truthy: test for text, not truth)
    p["donor_key"] = [
        _text(a) or _text(t)
        for a, t in zip(p["donor_province_adcode"], p["donor_province"], strict=True)
    ]
    p["donor_unit_key"] = [
        (_text(a) if _text(a) != _text(pa) else None) or _text(u)
        for a, pa, u in zip(
            p["donor_adcode"], p["donor_province_adcode"], p["donor_unit"], strict=True
        )
    ]
    p["donor_unit_key"] = p["donor_unit_key"].astype(object)
    return p


def _prepare_figures(f: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    f = _ensure(f, _FIGURE_COLUMNS).reset_index(drop=True)
    for col in ("donor_adcode", "recipient_adcode"):
        f[col] = _as_code(f[col])
    f["period_start"] = _year(f["period_start"])
    f["period_end"] = _year(f["period_end"])
    f["value"] = pd.to_numeric(f["value"], errors="coerce")
    f["metric"] = f["metric"].fillna("").astype(str)
    ctx = f["is_context"].fillna(False).astype(bool)
    f["is_context"] = ctx | f["metric"].str.startswith("context_")
    f["confidence"] = f["confidence"].fillna("").astype(str)
    f = _attach_rollup(f, places, "recipient_level")
    f["donor_key"] = _province_of(f["donor_adcode"], places)
    f["donor_key"] = [_text(k) or _text(t) for k, t in zip(f["donor_key"], f["donor"], strict=True)]
    f["donor_unit_key"] = f["donor_adcode"]
    return f


# ---------------------------------------------------------------------------------------
# Filtering
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """The rows in view for one set of filters."""

    pairings: pd.DataFrame
    figures: pd.DataFrame  # context_ figures already removed; metric not applied


def _overlaps(start: pd.Series, end: pd.Series, lo: int | None, hi: int | None) -> pd.Series:
    """Rows whose [start, end] overlaps [lo, hi]; a missing bound is open-ended.

    A pairing with no end year is ongoing; a figure with only an end year is a count up
    to that year. Rows with neither bound are kept: nothing proves they are outside.
    """
    mask = pd.Series(True, index=start.index)
    if hi is not None:
        mask &= ~(start.fillna(-math.inf) > hi).astype(bool)
    if lo is not None:
        mask &= ~(end.fillna(math.inf) < lo).astype(bool)
    return mask


def apply_filters(data: AtlasData, filters: Filters) -> View:
    """The pairings and (non-context) figures that match the filters. Cached per version."""
    key = ("view", filters.cache_key())
    return data.cached(key, lambda: _apply_filters(data, filters))


def _apply_filters(data: AtlasData, f: Filters) -> View:
    p, fig = data.pairings, data.figures
    pm = pd.Series(True, index=p.index)
    fm = ~fig["is_context"].astype(bool)
    if f.programs:
        pm &= p["program"].isin(f.programs)
        fm &= fig["program"].isin(f.programs)
    if f.donor:
        pm &= p["donor_key"] == f.donor
        fm &= fig["donor_key"] == f.donor
    if f.donor_unit:
        pm &= p["donor_unit_key"] == f.donor_unit
        fm &= fig["donor_unit_key"] == f.donor_unit
    if f.recipient:
        pm &= p["r_province"] == f.recipient
        fm &= fig["r_province"] == f.recipient
    pm &= _overlaps(p["start_year"], p["end_year"], f.year_from, f.year_to)
    fm &= _overlaps(fig["period_start"], fig["period_end"], f.year_from, f.year_to)
    if not f.include_from_memory:
        pm &= p["confidence"] != FROM_MEMORY
        fm &= fig["confidence"] != FROM_MEMORY
    return View(pairings=p[pm.astype(bool)], figures=fig[fm.astype(bool)])


def dedupe_figures(figures: pd.DataFrame) -> pd.DataFrame:
    """Drop the second copy of a figure reported twice (same donor, recipient, metric,
    value and period), so that no sum counts one figure twice."""
    if figures.empty:
        return figures
    key = ["donor", "recipient", "metric", "value", "period_start", "period_end"]
    return figures.drop_duplicates(subset=key, keep="first")


def metric_unit(data: AtlasData, metric: str | None) -> str | None:
    if not metric:
        return None
    units = data.figures.loc[data.figures["metric"] == metric, "unit"].dropna()
    return str(units.mode().iloc[0]) if not units.empty else None


# ---------------------------------------------------------------------------------------
# Per-place values, donors, flows
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceValues:
    """Values of the chosen metric per place at a level, with what could not be shown."""

    values: pd.DataFrame  # adcode, value, n_figures
    unit: str | None
    n_figures: int  # figures counted on the map
    n_coarse: int  # figures reported for larger areas than the level
    n_unresolved: int  # figures with no place


def place_values(data: AtlasData, filters: Filters) -> PlaceValues:
    """Sum of the chosen metric's figures per place at ``filters.level``."""
    view = apply_filters(data, filters)
    fig = view.figures[view.figures["metric"] == (filters.metric or "")]
    fig = dedupe_figures(fig)
    col = f"r_{filters.level}"
    resolved = fig["recipient_adcode"].notna()
    shown = fig[fig[col].notna()]
    grouped = (
        shown.groupby(col)
        .agg(value=("value", "sum"), n_figures=("value", "size"))
        .reset_index()
        .rename(columns={col: "adcode"})
    )
    return PlaceValues(
        values=grouped,
        unit=metric_unit(data, filters.metric),
        n_figures=len(shown),
        n_coarse=int((resolved & fig[col].isna()).sum()),
        n_unresolved=int((~resolved).sum()),
    )


def donor_label(data: AtlasData, key: str | None, lang: str) -> str:
    """A donor key (province adcode, or the name for donors without one) for display."""
    if not key:
        return ""
    if re.fullmatch(r"\d{6}", str(key)):
        return data.place_label(key, lang)
    return i18n.donor_name(str(key), lang)


@dataclass(frozen=True)
class PlaceDonors:
    """Which donor(s) each recipient place at a level is paired with."""

    places: pd.DataFrame  # adcode, donors (tuple of keys), programs (tuple), n_pairings
    donors: tuple[str, ...]  # every donor key present in the data (stable colour order)
    n_coarse: int
    n_unresolved: int


def all_donor_keys(data: AtlasData) -> tuple[str, ...]:
    """Donor provinces by number of pairings: a stable order for colours and menus."""
    counts = data.pairings["donor_key"].dropna().value_counts()
    return tuple(sorted(counts.index, key=lambda k: (-counts[k], str(k))))


def place_donors(data: AtlasData, filters: Filters) -> PlaceDonors:
    view = apply_filters(data, filters)
    p = view.pairings
    col = f"r_{filters.level}"
    shown = p[p[col].notna()]
    rows = []
    for code, grp in shown.groupby(col, sort=True):
        donors = tuple(dict.fromkeys(k for k in grp["donor_key"] if k))
        programs = tuple(dict.fromkeys(str(x) for x in grp["program"] if isinstance(x, str)))
        rows.append((code, donors, programs, len(grp)))
    df = pd.DataFrame(rows, columns=["adcode", "donors", "programs", "n_pairings"])
    return PlaceDonors(
        places=df,
        donors=all_donor_keys(data),
        n_coarse=int((p["recipient_adcode"].notna() & p[col].isna()).sum()),
        n_unresolved=int(p["recipient_adcode"].isna().sum()),
    )


@dataclass(frozen=True)
class Flow:
    program: str
    donor_key: str
    donor_point: str  # adcode whose point is the line's start
    recipient: str  # adcode at the map level
    n_pairings: int
    value: float | None  # sum of the width metric's figures on this donor -> recipient


def flows(data: AtlasData, filters: Filters) -> list[Flow]:
    """Donor -> recipient lines at the map level, one per (programme, donor, recipient).

    At the province level a line starts at the donor province; at finer levels at the
    donor city or district when the row names one. Width uses the chosen metric, or
    funds when none is chosen, summed over the figures on the same donor and recipient.
    """
    view = apply_filters(data, filters)
    col = f"r_{filters.level}"
    p = view.pairings[view.pairings[col].notna()]
    if p.empty:
        return []
    coords = data.place_points()
    width_metric = filters.metric or "funds_cny"
    fig = dedupe_figures(view.figures[view.figures["metric"] == width_metric])
    fig = fig[fig[col].notna() & fig["donor_key"].notna()]
    fig_sum = fig.groupby(["donor_key", col])["value"].sum().to_dict()
    # Plain Python over a few hundred rows: a pandas groupby loop cost ~20 ms a call.
    groups: dict[tuple[str, str, str], list[tuple[Any, Any]]] = {}
    for program, donor_key, recipient, unit, province in zip(
        p["program"].tolist(),
        p["donor_key"].tolist(),
        p[col].tolist(),
        p["donor_adcode"].tolist(),
        p["donor_province_adcode"].tolist(),
        strict=True,
    ):
        if _missing(program) or _missing(donor_key) or _missing(recipient):
            continue
        key = (str(program), str(donor_key), str(recipient))
        groups.setdefault(key, []).append((unit, province))
    out: list[Flow] = []
    for (program, donor_key, recipient), rows in sorted(groups.items()):
        provinces = [pr for _, pr in rows if not _missing(pr)]
        if filters.level == "province":
            points = provinces
        else:
            points = [u for u, _ in rows if not _missing(u)] or provinces
        point_code = next((str(c) for c in points if str(c) in coords), None)
        if point_code is None or recipient not in coords or point_code == recipient:
            continue
        value = fig_sum.get((donor_key, recipient))
        out.append(
            Flow(
                program=program,
                donor_key=donor_key,
                donor_point=point_code,
                recipient=recipient,
                n_pairings=len(rows),
                value=float(value) if value is not None else None,
            )
        )
    return out


# ---------------------------------------------------------------------------------------
# Headline numbers
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    key: str  # i18n key of the label
    value: float | None
    n_figures: int | None  # for sums of figures: how many went in
    unit: str | None


def headlines(data: AtlasData, filters: Filters) -> list[Headline]:
    """Total funds, projects and people lifted (as sums of N reported figures), and
    counts of pairings, donors and recipients in view."""
    view = apply_filters(data, filters)
    out = []
    for metric, key in zip(
        MAIN_METRICS, ("headline_funds", "headline_projects", "headline_people"), strict=True
    ):
        fig = dedupe_figures(view.figures[view.figures["metric"] == metric])
        value = float(fig["value"].sum()) if len(fig) else None
        out.append(Headline(key, value, len(fig), metric_unit(data, metric)))
    p = view.pairings
    out.append(Headline("headline_pairings", float(len(p)), None, None))
    out.append(Headline("headline_donors", float(p["donor_key"].nunique()), None, None))
    out.append(
        Headline("headline_recipients", float(p["recipient_adcode"].dropna().nunique()), None, None)
    )
    return out


# ---------------------------------------------------------------------------------------
# Time series
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One metric's figures over time, periods kept as periods."""

    metric: str
    unit: str | None
    yearly: pd.DataFrame  # year, value, n_figures (single-year figures, summed per year)
    periods: pd.DataFrame  # start, end, value, and the figure's descriptive columns
    cumulative: pd.DataFrame  # end, value (figures with only an end year)
    n_undated: int


def series_metrics(filters: Filters) -> list[str]:
    """The chosen metric (if it is not one of the main three) then funds, projects, people."""
    metrics = list(MAIN_METRICS)
    if filters.metric and filters.metric not in metrics:
        metrics.insert(0, filters.metric)
    return metrics


def series(data: AtlasData, filters: Filters, metric: str) -> Series:
    view = apply_filters(data, filters)
    fig = dedupe_figures(view.figures[view.figures["metric"] == metric])
    s, e = fig["period_start"], fig["period_end"]
    single = s.notna() & e.notna() & (s == e)
    period = s.notna() & e.notna() & (s != e)
    cumulative = s.isna() & e.notna()
    yearly = (
        fig[single.astype(bool)]
        .assign(year=lambda d: d["period_start"].astype(int))
        .groupby("year")
        .agg(value=("value", "sum"), n_figures=("value", "size"))
        .reset_index()
    )
    keep = ["period_start", "period_end", "value", "donor", "recipient", "qualifier", "source"]
    periods = fig.loc[period.astype(bool), keep].rename(
        columns={"period_start": "start", "period_end": "end"}
    )
    cum = fig.loc[cumulative.astype(bool), keep].rename(
        columns={"period_start": "start", "period_end": "end"}
    )
    return Series(
        metric=metric,
        unit=metric_unit(data, metric),
        yearly=yearly,
        periods=periods.reset_index(drop=True),
        cumulative=cum.reset_index(drop=True),
        n_undated=int((s.isna() & e.isna()).sum()),
    )


def pairings_in_force(
    data: AtlasData, filters: Filters, current_year: int | None = None
) -> pd.DataFrame:
    """Number of pairings in force each year (year, n). Rows without a start year are
    left out: their start is not stated, and inventing one would be wrong."""
    view = apply_filters(data, filters)
    p = view.pairings[view.pairings["start_year"].notna()]
    now = current_year or date.today().year
    if p.empty:
        return pd.DataFrame({"year": [], "n": []})
    lo = int(filters.year_from or p["start_year"].min())
    hi = int(filters.year_to or now)
    years = list(range(lo, hi + 1))
    starts = p["start_year"].astype(float).to_numpy()
    ends = p["end_year"].astype(float).fillna(now).to_numpy()
    counts = [int(((starts <= y) & (ends >= y)).sum()) for y in years]
    return pd.DataFrame({"year": years, "n": counts})


def year_bounds(data: AtlasData, current_year: int | None = None) -> tuple[int, int]:
    """First year any row mentions, and this year: the year slider's range."""
    now = current_year or date.today().year
    candidates = pd.concat(
        [
            data.pairings["start_year"],
            data.figures["period_start"],
            data.figures["period_end"],
        ]
    ).dropna()
    lo = int(candidates.min()) if len(candidates) else 1990
    return min(lo, now), now


# ---------------------------------------------------------------------------------------
# Menus
# ---------------------------------------------------------------------------------------


def metric_options(data: AtlasData) -> list[str]:
    """Metrics that can be mapped (at least one figure with a place), main ones first."""
    fig = data.figures[~data.figures["is_context"] & data.figures["recipient_adcode"].notna()]
    counts = fig["metric"].value_counts()
    rest = sorted((m for m in counts.index if m not in MAIN_METRICS), key=lambda m: -counts[m])
    return [m for m in MAIN_METRICS if m in counts.index] + rest


def program_options(data: AtlasData) -> list[str]:
    present = set(data.pairings["program"].dropna()) | set(data.figures["program"].dropna())
    known = [p for p in i18n.PROGRAMS if p in present]
    return known + sorted(present - set(known))


def donor_unit_options(data: AtlasData, donor: str | None) -> list[tuple[str, str, str]]:
    """(key, name_zh-ish label, province key) of donor cities/districts, optionally of one
    donor province."""
    p = data.pairings[data.pairings["donor_unit_key"].notna()]
    if donor:
        p = p[p["donor_key"] == donor]
    seen: dict[str, tuple[str, str, str]] = {}
    for key, unit, prov in zip(p["donor_unit_key"], p["donor_unit"], p["donor_key"], strict=True):
        seen.setdefault(key, (key, str(unit) if isinstance(unit, str) else key, prov))
    return sorted(seen.values(), key=lambda x: x[1])


def recipient_province_options(data: AtlasData) -> list[str]:
    codes = pd.concat([data.pairings["r_province"], data.figures["r_province"]]).dropna()
    return sorted(set(codes))


# ---------------------------------------------------------------------------------------
# Place detail
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceDetail:
    adcode: str
    level: str
    name_zh: str
    name_en: str
    parents: list[tuple[str, str, str]]  # (adcode, name_zh, name_en), province first
    pairings: pd.DataFrame  # recipient is this place or inside it
    parent_pairings: pd.DataFrame  # recipient is an area this place belongs to
    donor_pairings: pd.DataFrame  # this place is the donor
    figures: pd.DataFrame  # figures for this place or inside it (context_ excluded)


def place_detail(data: AtlasData, filters: Filters, adcode: str) -> PlaceDetail | None:
    """Everything known about one place, within the current filters (except the place)."""
    row = data.place_row(adcode)
    if row is None:
        return None
    level = str(row["level"])
    view = apply_filters(data, replace(filters, recipient=None))
    col = f"r_{level}"
    parents = []
    for code in (row["province_adcode"], row["prefecture_adcode"]):
        if code and code != adcode:
            prow = data.place_row(code)
            if prow is not None:
                parents.append((code, prow["name_zh"], prow["name_en"]))
    parent_codes = [c for c, _, _ in parents]
    p = view.pairings
    sort = ["start_year", "program"]
    return PlaceDetail(
        adcode=str(adcode),
        level=level,
        name_zh=str(row["name_zh"]),
        name_en=str(row["name_en"]),
        parents=parents,
        pairings=p[p[col] == adcode].sort_values(sort, na_position="first"),
        parent_pairings=p[p["recipient_adcode"].isin(parent_codes)].sort_values(
            sort, na_position="first"
        ),
        donor_pairings=p[
            (p["donor_adcode"] == adcode) | (p["donor_province_adcode"] == adcode)
        ].sort_values(sort, na_position="first"),
        figures=view.figures[view.figures[col] == adcode].sort_values(
            ["metric", "period_end"], na_position="first"
        ),
    )


def source_links(source: str | None) -> list[tuple[str, str | None]]:
    """Split a `source` cell (' ; '-separated) into (label, url or None) pairs.

    The two source documents are linked to their original locations (NOTES.md §1)."""
    if not source or not isinstance(source, str):
        return []
    out: list[tuple[str, str | None]] = []
    for part in (s.strip() for s in source.split(";")):
        if not part:
            continue
        doc = next((d for d in SOURCE_DOCUMENTS if d in part), None)
        if doc:
            out.append((part, SOURCE_DOCUMENTS[doc]))
        elif re.match(r"https?://", part):
            out.append((part, part.split()[0]))
        else:
            out.append((part, None))
    return out


# ---------------------------------------------------------------------------------------
# Tables and exports
# ---------------------------------------------------------------------------------------


def pairings_table(data: AtlasData, filters: Filters) -> pd.DataFrame:
    """Pairings in view, with display columns in ``filters.lang`` and source/confidence."""
    lang = filters.lang
    p = apply_filters(data, filters).pairings
    rec = [
        data.place_label(code, lang, fallback=_recipient_text(row))
        if code
        else _recipient_text(row)
        for code, row in zip(p["recipient_adcode"], p.itertuples(index=False), strict=True)
    ]
    return pd.DataFrame(
        {
            i18n.t("col_program", lang): [i18n.program_label(x, lang) for x in p["program"]],
            i18n.t("col_donor_province", lang): [
                donor_label(data, k, lang) or (t or "")
                for k, t in zip(p["donor_key"], p["donor_province"], strict=True)
            ],
            i18n.t("col_donor_unit", lang): [
                (data.place_label(a, lang, fallback=u) if a else u) if isinstance(u, str) else ""
                for a, u in zip(p["donor_adcode"], p["donor_unit"], strict=True)
            ],
            i18n.t("col_recipient", lang): rec,
            i18n.t("col_adcode", lang): [c or "" for c in p["recipient_adcode"]],
            i18n.t("col_start", lang): [_int_or_blank(x) for x in p["start_year"]],
            i18n.t("col_end", lang): [
                _int_or_blank(x) or i18n.t("ongoing", lang) for x in p["end_year"]
            ],
            i18n.t("col_confidence", lang): [
                i18n.confidence_label(c, lang) for c in p["confidence"]
            ],
            i18n.t("col_source", lang): p["source"].fillna("").astype(str).tolist(),
            i18n.t("col_note", lang): p["unresolved_reason"].fillna("").astype(str).tolist(),
        }
    )


def figures_table(data: AtlasData, filters: Filters) -> pd.DataFrame:
    """Figures in view (the chosen metric only, if one is chosen), with quote and source."""
    lang = filters.lang
    f = apply_filters(data, filters).figures
    if filters.metric:
        f = f[f["metric"] == filters.metric]
    return pd.DataFrame(
        {
            i18n.t("col_metric", lang): [i18n.metric_label(m, lang) for m in f["metric"]],
            i18n.t("col_donor", lang): f["donor"].fillna("").astype(str).tolist(),
            i18n.t("col_recipient", lang): f["recipient"].fillna("").astype(str).tolist(),
            i18n.t("col_recipient_place", lang): [
                data.place_label(c, lang) if c else "" for c in f["recipient_adcode"]
            ],
            i18n.t("col_period", lang): [
                i18n.format_period(s, e, lang)
                for s, e in zip(f["period_start"], f["period_end"], strict=True)
            ],
            i18n.t("col_value", lang): [
                i18n.format_qualified(v, u, q, lang)
                for v, u, q in zip(f["value"], f["unit"], f["qualifier"], strict=True)
            ],
            i18n.t("col_value_raw", lang): f["value"].tolist(),
            i18n.t("col_unit", lang): f["unit"].fillna("").astype(str).tolist(),
            i18n.t("col_quote", lang): f["quote"].fillna("").astype(str).tolist(),
            i18n.t("col_source", lang): f["source"].fillna("").astype(str).tolist(),
            i18n.t("col_confidence", lang): [
                i18n.confidence_label(c, lang) for c in f["confidence"]
            ],
            i18n.t("col_note", lang): f["unresolved_reason"].fillna("").astype(str).tolist(),
        }
    )


def _recipient_text(row: Any) -> str:
    parts = [
        getattr(row, c, None)
        for c in ("recipient_province", "recipient_prefecture", "recipient_county")
    ]
    return " ".join(str(x) for x in parts if isinstance(x, str) and x)


def _int_or_blank(x: Any) -> str:
    return "" if _missing(x) else str(int(x))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return out


def export_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM so Excel opens Chinese text correctly; formulas neutralised."""
    return neutralise_formulas(df).to_csv(index=False).encode("utf-8-sig")


def export_xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """One workbook, a sheet per table; formulas neutralised."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, df in sheets.items():
            neutralise_formulas(df).to_excel(writer, sheet_name=name[:31], index=False)
    return buf.getvalue()
