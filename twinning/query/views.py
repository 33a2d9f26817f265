"""What a view shows, asked of the store: per-place values, donors, flows, headlines,
series, menus and one place's detail (issue #7).

Rules kept here, and tested in ``tests/test_aggregate.py`` and ``tests/test_golden.py``:

* ``context_*`` figures (background such as visitors or fossils) are never counted.
* A figure reported for a period (2006–2010) stays a period: it matches a year range when
  its period overlaps it, and it is never split into invented yearly values.
  A figure with only an end year (a cumulative count "to 2022") reaches back indefinitely.
* A single year (``Filters.year``, time playback) places figures by the years they state:
  a period figure shows, undivided, in every year of its period; a cumulative count from
  its end year ("cumulative to this year") or in its end year only ("this year"); an
  undated figure in no year. ``PlaceValues`` counts the period and cumulative figures so
  the map can say which of its numbers are not of the year alone.
* Sums are labelled "sum of N reported figures"; the same figure reported twice (same
  donor, recipient, metric, value and period) is counted once (``figures.counted``).
  Headline numbers are reconciled totals: "at least X" from figures no two of which
  overlap (``twinning.query.reconcile``), beside N of M figures and the plain sum Y.
* A figure or pairing attributed to a larger area than the map level (a province-wide
  figure on the county map) is not pushed down to smaller units; it is counted as
  "reported for larger areas" instead.

Sums come from ``figure_totals`` (one row per combination of the filterable dimensions),
rows from ``pairings`` (few) and ``figures`` (only for one place or the period figures of
a series, both bounded). No dash, no per-row Python over the figures.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from itertools import accumulate
from typing import Any, NamedTuple

import pandas as pd

from twinning import i18n, settings
from twinning.filters import MAIN_METRICS, Filters
from twinning.query.atlas import ACTIVE, AtlasData, in_list, level_column, missing, where
from twinning.query.reconcile import ReconciledTotal, in_background
from twinning.query.totals import quick_to_reconcile, reconciled_ready, reconciled_total

log = logging.getLogger(__name__)

# At most this many period or cumulative figures are drawn one by one in a series row;
# beyond it, figures with the same period are drawn as one band ("sum of N figures").
SERIES_ROWS_MAX = 300
# At most this many figures are listed in a place's detail panel (the count says how many).
DETAIL_FIGURES_MAX = 200


def metric_unit(data: AtlasData, metric: str | None) -> str | None:
    """The unit most figures of ``metric`` are stored in (ties: the first by name)."""
    if not metric:
        return None

    def compute() -> str | None:
        rows = data.summary.rows(
            "SELECT unit, SUM(n_rows) AS n FROM figure_totals WHERE metric = :m "
            "AND unit IS NOT NULL GROUP BY unit ORDER BY n DESC, unit LIMIT 1",
            {"m": metric},
        )
        return str(rows[0][0]) if rows else None

    return data.cached(("metric_unit", metric), compute)


# ---------------------------------------------------------------------------------------
# Per-place values, donors, flows
# ---------------------------------------------------------------------------------------


class PlaceSum(NamedTuple):
    """One place's sum of a metric's figures."""

    adcode: str
    value: float
    n_figures: int


@dataclass(frozen=True)
class PlaceValues:
    """Values of the chosen metric per place at a level, with what could not be shown."""

    rows: tuple[PlaceSum, ...]  # by adcode
    unit: str | None
    n_figures: int  # figures counted on the map
    n_coarse: int  # figures reported for larger areas than the level
    n_unresolved: int  # figures with no place
    n_period: int = 0  # of the figures on the map: reported for a period of several years
    n_cumulative: int = 0  # ... and with only an end year (a count "to 2022")

    @cached_property
    def values(self) -> pd.DataFrame:
        """adcode, value, n_figures: the rows as a frame (exports, analysis)."""
        frame = pd.DataFrame(list(self.rows), columns=list(PlaceSum._fields))
        frame["value"] = frame["value"].astype(float)
        frame["n_figures"] = frame["n_figures"].astype(int)
        return frame


def place_values(data: AtlasData, filters: Filters) -> PlaceValues:
    """Sum of the chosen metric's figures per place at ``filters.level``."""
    return data.cached(("place_values", filters.cache_key()), lambda: _place_values(data, filters))


class _Cell(NamedTuple):
    place: str | None  # at the map level; None: reported for a larger area, or no place
    resolved: bool
    donor_key: str | None
    value: float
    n: int
    n_period: int
    n_cumulative: int


def _cells(data: AtlasData, f: Filters, metric: str) -> list[_Cell]:
    """One scan of the summary for a metric at the map level: (place, resolved, donor) ->
    value and count. The map's values, its counts of what it cannot show, and the flows'
    widths all come from it (cached per view). Plain tuples: at the reference data a frame
    and its group-bys cost more than the query (#7)."""
    col = level_column(f.level)

    def compute() -> list[_Cell]:
        cond, params = where(f, "totals")
        params["metric"] = metric
        found = data.summary.rows(
            f"SELECT {col} AS place, resolved, donor_key, SUM(value) AS value, SUM(n) AS n, "
            f"SUM(CASE WHEN {_PERIOD} THEN n ELSE 0 END) AS n_period, "
            f"SUM(CASE WHEN {_CUMULATIVE} THEN n ELSE 0 END) AS n_cumulative "
            f"FROM figure_totals WHERE {cond} AND metric = :metric "
            f"GROUP BY {col}, resolved, donor_key HAVING SUM(n) > 0",
            params,
        )
        return [
            _Cell(
                None if missing(place) else str(place),
                bool(resolved),
                None if missing(donor) else str(donor),
                float(value),
                int(n),
                int(n_period),
                int(n_cumulative),
            )
            for place, resolved, donor, value, n, n_period, n_cumulative in found
        ]

    return data.cached(("cells", replace(f.cache_key(), metric=None), metric), compute)


_PERIOD = "period_start IS NOT NULL AND period_end IS NOT NULL AND period_start <> period_end"
_CUMULATIVE = "period_start IS NULL AND period_end IS NOT NULL"


def _place_values(data: AtlasData, f: Filters) -> PlaceValues:
    cells = _cells(data, f, f.metric or "")
    values: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for c in cells:
        if c.place is not None:
            values.setdefault(c.place, []).append(c.value)
            counts[c.place] = counts.get(c.place, 0) + c.n
    shown = [c for c in cells if c.place is not None]
    hidden = [c for c in cells if c.place is None]
    return PlaceValues(
        rows=tuple(
            PlaceSum(code, math.fsum(values[code]), counts[code]) for code in sorted(values)
        ),
        unit=metric_unit(data, f.metric),
        n_figures=sum(c.n for c in shown),
        n_coarse=sum(c.n for c in hidden if c.resolved),
        n_unresolved=sum(c.n for c in hidden if not c.resolved),
        n_period=sum(c.n_period for c in shown),
        n_cumulative=sum(c.n_cumulative for c in shown),
    )


def source_count(data: AtlasData, filters: Filters, kind: str, metric: str | None = None) -> int:
    """How many distinct sources stand behind a view's pairings (``kind="pairings"``) or
    counted figures (``kind="figures"``, of ``metric`` when given): the number a chart's
    text alternative cites, so a reader knows how much the picture rests on."""
    if kind not in ("pairings", "figures"):
        raise ValueError(f"kind must be 'pairings' or 'figures', not {kind!r}")

    def compute() -> int:
        cond, params = _source_rows(filters, kind, metric)
        rows = data.rows(
            f"SELECT COUNT(DISTINCT source) FROM {kind} WHERE {cond} AND source IS NOT NULL",
            params,
        )
        return int(rows[0][0] or 0)

    return data.cached(("source_count", filters.cache_key(), kind, metric), compute)


def _source_rows(
    filters: Filters, kind: str, metric: str | None, relation: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Conditions for the rows whose sources a view cites: the view's ``kind`` rows (or
    ``relation``'s: "totals" for the summary's snapshots), figures counted and of
    ``metric`` when given."""
    cond, params = where(filters, relation or kind)  # type: ignore[arg-type]
    if kind == "figures":
        if relation is None:
            cond += " AND counted"  # the snapshots hold counted figures only
        if metric:
            cond += " AND metric = :metric"
            params["metric"] = metric
    return cond, params


# Rows a chart's words read at most to count the sources behind it.
SOURCE_TALLY_ROWS = 10_000


def source_tally(
    data: AtlasData,
    filters: Filters,
    kind: str,
    metric: str | None = None,
    cap: int | None = None,
) -> tuple[int, bool]:
    """(distinct sources, complete) behind a view's pairings or counted figures: what a
    chart's text alternative cites on screen. Figures are counted exactly over the summary's
    sources snapshot when it is there (``twinning.query.summary``); otherwise, and for
    pairings, from at most ``cap`` rows (``SOURCE_TALLY_ROWS``); ``complete`` is False
    when the view holds more rows than were read: the count is then a lower bound ("at
    least N sources"). At 1 M figures the exact count over the store's figures
    (``source_count``) took 0.3-1 s of a click's CPU; the snapshot takes 10-30 ms."""
    if kind not in ("pairings", "figures"):
        raise ValueError(f"kind must be 'pairings' or 'figures', not {kind!r}")
    cap = int(cap or SOURCE_TALLY_ROWS)

    def compute() -> tuple[int, bool]:
        if kind == "figures" and data.summary.has_sources():
            # exact, from the sources snapshot (DuckDB): no figure rows read
            cells = figure_source_counts(data, filters)
            found = {src for m, src, _n in cells if src is not None and metric in (None, m)}
            return len(found), True
        cond, params = _source_rows(filters, kind, metric)
        params["cap"] = cap
        n, read = data.rows(
            f"SELECT COUNT(DISTINCT source), COUNT(*) FROM (SELECT source FROM {kind} "
            f"WHERE {cond} AND source IS NOT NULL LIMIT :cap) AS first_rows",
            params,
        )[0]
        return int(n or 0), int(read or 0) < cap

    return data.cached(("source_tally", filters.cache_key(), kind, metric, cap), compute)


def figure_source_counts(data: AtlasData, filters: Filters) -> list[tuple[str, Any, int]]:
    """(metric, source cell, counted figures) of a view, from the summary's sources
    snapshot (``data.summary.has_sources()``): one scan serves the source line (every
    metric) and the charts' words (one metric, or all), where each ran its own (#7)."""

    # the view's rows only: a change of the map's metric, level or flows reads none again
    # (a scan of the sources snapshot, 40-100 ms at 10 M figures)
    rows_of = filters.rows_key()

    def compute() -> list[tuple[str, Any, int]]:
        cond, params = where(rows_of, "totals")
        rows = data.summary.rows(
            f"SELECT metric, source, SUM(n) FROM figure_sources WHERE {cond} "
            "GROUP BY metric, source",
            params,
        )
        return [(str(m), src, int(n or 0)) for m, src, n in rows]

    return data.cached(("figure_source_counts", rows_of), compute)


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

    def compute() -> tuple[str, ...]:
        rows = data.rows(
            f"SELECT donor_key, COUNT(*) AS n FROM pairings WHERE {ACTIVE} "
            "AND donor_key IS NOT NULL GROUP BY donor_key"
        )
        return tuple(str(k) for k, _ in sorted(rows, key=lambda r: (-r[1], str(r[0]))))

    return data.cached("all_donor_keys", compute)


def _pairing_rows(data: AtlasData, f: Filters, columns: str) -> pd.DataFrame:
    cond, params = where(f, "pairings")
    return data.frame(f"SELECT {columns} FROM pairings WHERE {cond} ORDER BY id", params)


def place_donors(data: AtlasData, filters: Filters) -> PlaceDonors:
    return data.cached(("place_donors", filters.cache_key()), lambda: _place_donors(data, filters))


def _place_donors(data: AtlasData, f: Filters) -> PlaceDonors:
    col = level_column(f.level)
    p = _pairing_rows(
        data, f, f"{col} AS place, donor_key, program, recipient_adcode, recipient_division"
    )
    groups: dict[str, list[tuple[Any, Any]]] = {}
    for place, donor, program in zip(p["place"], p["donor_key"], p["program"], strict=True):
        if not missing(place):
            groups.setdefault(str(place), []).append((donor, program))
    rows = []
    for code in sorted(groups):
        grp = groups[code]
        donors = tuple(dict.fromkeys(d for d, _ in grp if isinstance(d, str) and d))
        programs = tuple(dict.fromkeys(str(x) for _, x in grp if isinstance(x, str)))
        rows.append((code, donors, programs, len(grp)))
    # an XPCC division is placed (a point at its seat, issue #10), not "no place"
    resolved = p["recipient_adcode"].notna() | p["recipient_division"].notna()
    return PlaceDonors(
        places=pd.DataFrame(rows, columns=["adcode", "donors", "programs", "n_pairings"]),
        donors=all_donor_keys(data),
        n_coarse=int((resolved & p["place"].isna()).sum()),
        n_unresolved=int((~resolved).sum()),
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
    return data.cached(("flows", filters.cache_key()), lambda: _flows(data, filters))


def _flows(data: AtlasData, f: Filters) -> list[Flow]:
    # the lines themselves do not depend on the metric: a metric change reads only the
    # widths (at 10 M figures the lines of a county map took ~15 ms of its change)
    key = ("flow-lines", replace(f.cache_key(), metric=None))
    lines = data.cached(key, lambda: _lines(data, f))
    if not lines:
        return []
    widths: dict[tuple[str, str], list[float]] = {}
    for c in _cells(data, f, f.metric or "funds_cny"):
        if c.place is not None and c.donor_key is not None:
            widths.setdefault((c.donor_key, c.place), []).append(c.value)
    fig_sum = {k: math.fsum(v) for k, v in widths.items()}
    return [
        Flow(
            program=program,
            donor_key=donor_key,
            donor_point=point_code,
            recipient=recipient,
            n_pairings=n,
            value=fig_sum.get((donor_key, recipient)),
        )
        for program, donor_key, point_code, recipient, n in lines
    ]


def _lines(data: AtlasData, f: Filters) -> list[tuple[str, str, str, str, int]]:
    """(programme, donor key, the line's start, recipient, pairings) of each flow line at
    the map level, in (programme, donor, recipient) order."""
    col = level_column(f.level)
    # an XPCC division has no place at a level below the province: a line to its point
    # (issue #10); rows without a programme, donor or place draw no line. NULL is None
    # here (a driver's row, not a frame's NaN)
    place = col if f.level == "province" else f"COALESCE({col}, recipient_division)"
    cond, params = where(f, "pairings")
    pairings = data.rows(
        f"SELECT program, donor_key, {place} AS place, donor_adcode, donor_province_adcode "
        f"FROM pairings WHERE {cond} AND program IS NOT NULL AND donor_key IS NOT NULL "
        f"AND {place} IS NOT NULL ORDER BY id",
        params,
    )
    groups: dict[tuple[str, str, str], list[tuple[Any, Any]]] = {}
    for program, donor_key, where_to, unit, province in pairings:
        key = (str(program), str(donor_key), str(where_to))
        groups.setdefault(key, []).append((unit, province))
    if not groups:
        return []
    coords = data.place_points()
    out: list[tuple[str, str, str, str, int]] = []
    for (program, donor_key, recipient), rows in sorted(groups.items()):
        provinces = [pr for _, pr in rows if pr is not None]
        if f.level == "province":
            points = provinces
        else:
            points = [u for u, _ in rows if u is not None] or provinces
        point_code = next((str(c) for c in points if str(c) in coords), None)
        if point_code is None or recipient not in coords or point_code == recipient:
            continue
        out.append((program, donor_key, point_code, recipient, len(rows)))
    return out


# ---------------------------------------------------------------------------------------
# Headline numbers
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    key: str  # i18n key of the label
    value: float | None  # a count; for figures: the plain sum of all ``n_figures`` (Y)
    n_figures: int | None  # for sums of figures: how many went in (M)
    unit: str | None
    # for figures: the reconciled total (twinning.query.reconcile): "at least X" from
    # ``n_at_least`` of the ``n_figures`` figures, no two of which overlap
    at_least: float | None = None
    n_at_least: int | None = None


def headlines(data: AtlasData, filters: Filters, *, complete: bool = False) -> list[Headline]:
    """Total funds, projects and people lifted (the reconciled total "at least X", with
    N of M figures and the plain sum Y), and counts of pairings, donors and recipients in
    view. On screen a reconciled total that takes longer than RECONCILE_WAIT_SECONDS (or
    what is left of a request's ``reconcile_within``) is left out (``at_least`` None: the
    plain sum and its caveat) until it is ready; ``complete`` (exports) waits for it."""
    # the same numbers whatever the map's metric and level: a metric change reuses them;
    # the plain sums are kept, the reconciled totals asked for on every call (kept apart,
    # and each worked out once: a call while one is worked out waits for it, or not)
    rows = filters.rows_key()
    sums = data.cached(("headline-sums", rows), lambda: _headline_sums(data, rows))
    return [_with_total(data, rows, h, complete) for h in sums]


def _with_total(data: AtlasData, f: Filters, h: Headline, complete: bool) -> Headline:
    """``h`` with its reconciled total: worked out (``complete``, or a view of few
    figures), waited for while the request may wait, or already known."""
    if h.key not in _RECONCILED_KEYS or not h.n_figures:
        return h
    metric = MAIN_METRICS[_RECONCILED_KEYS.index(h.key)]
    n = h.n_figures
    on_click = n <= _screen_limit()  # few enough to work out on a click
    if complete or (on_click and quick_to_reconcile(data, metric, n)):
        total = reconciled_total(data, f, metric)  # (few figures: no thread to wait for)
    elif on_click:
        total = reconciled_soon(data, f, metric, _screen_wait())
    else:  # too many to work out on a click: the plain sum, unless already known
        total = reconciled_ready(data, f, metric)
    if total is None:
        return h
    return replace(h, at_least=total.at_least, n_at_least=total.n_chosen)


def _screen_limit() -> int:
    return settings.get_int("TWINNING_RECONCILE_SCREEN_FIGURES")


def totals_pending(headlines: list[Headline]) -> bool:
    """Whether some of these on-screen headline numbers still wait for their reconciled
    total ("at least X"): being worked out in the background, a later request gets it
    (a view over TWINNING_RECONCILE_SCREEN_FIGURES never does on screen: not pending)."""
    limit = _screen_limit()
    return any(
        h.n_figures and h.at_least is None and h.n_figures <= limit
        for h in headlines
        if h.key in _RECONCILED_KEYS
    )


# How long a request waits, in all, for reconciled totals it starts (``reconcile_within``);
# outside one, each wait is RECONCILE_WAIT_SECONDS
_DEADLINE: ContextVar[float | None] = ContextVar("reconcile_deadline", default=None)


@contextmanager
def reconcile_within(seconds: float) -> Iterator[None]:
    """Inside this block the on-screen headline numbers wait at most ``seconds`` in all
    for the reconciled totals they start (a filter change answers with the plain sums and
    lets them follow, ``totals_pending``); the totals go on in the background."""
    token = _DEADLINE.set(time.monotonic() + max(0.0, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _screen_wait() -> float:
    deadline = _DEADLINE.get()
    if deadline is None:
        return RECONCILE_WAIT_SECONDS
    return max(0.0, deadline - time.monotonic())


# The reconciled total of a view over millions of figures takes seconds (all of China at
# 10 M figures: ~11 s); a page, an embed or a tour waits for it this long (a filter
# change only what is left of its ``reconcile_within``), then answers with the plain sum
# and its caveat while one background thread finishes it for the next request (its
# answer is cached per data version and view). Views queued beyond RECONCILE_QUEUE are not
# started: a client stepping through many views cannot keep a core busy for minutes.
RECONCILE_WAIT_SECONDS = 2.0
RECONCILE_QUEUE = 8
_reconcile_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile")
_reconcile_pending = threading.BoundedSemaphore(RECONCILE_QUEUE)


def reconciled_soon(
    data: AtlasData, f: Filters, metric: str, wait: float | None = RECONCILE_WAIT_SECONDS
) -> ReconciledTotal | None:
    """``reconciled_total`` if it is ready within ``wait`` seconds (None: however long it
    takes), else None (it goes on in the background, bounded, and a later request of the
    view gets it)."""
    if wait is None:
        return reconciled_total(data, f, metric)

    def start() -> Future | None:
        if not _reconcile_pending.acquire(blocking=False):
            return None

        def run() -> ReconciledTotal:
            try:
                with in_background():  # its loops let this worker's requests run
                    return reconciled_total(data, f, metric)
            finally:
                _reconcile_pending.release()

        return _reconcile_pool.submit(run)

    key = ("reconciled-soon", f.rows_key(), metric)
    future = data.cached(key, start)
    if future is None:  # the queue was full: try again on a later request
        data.forget(key)
        return None
    try:
        return future.result(timeout=wait)
    except FutureTimeout:
        return None
    except Exception:  # the plain sum still answers
        log.exception("reconciled total failed for %s", metric)
        data.forget(key)
        return None


_RECONCILED_KEYS = ("headline_funds", "headline_projects", "headline_people")


def _headline_sums(data: AtlasData, f: Filters) -> list[Headline]:
    """The headline numbers of ``f``'s rows without their reconciled totals."""
    cond, params = where(f, "totals")
    sums = {
        str(m): (float(v), int(n))
        for m, v, n in data.summary.rows(
            f"SELECT metric, SUM(value), SUM(n) FROM figure_totals WHERE {cond} "
            f"AND metric IN {in_list('m', MAIN_METRICS, params)} GROUP BY metric",
            params,
        )
    }
    out = []
    for metric, key in zip(MAIN_METRICS, _RECONCILED_KEYS, strict=True):
        value, n = sums.get(metric, (0.0, 0))
        unit = metric_unit(data, metric)
        out.append(Headline(key, value if n else None, n, unit))
    cond, params = where(f, "pairings")
    n, donors, recipients = data.rows(
        f"SELECT COUNT(*), COUNT(DISTINCT donor_key), COUNT(DISTINCT recipient_adcode) "
        f"FROM pairings WHERE {cond}",
        params,
    )[0]
    out.append(Headline("headline_pairings", float(n), None, None))
    out.append(Headline("headline_donors", float(donors), None, None))
    out.append(Headline("headline_recipients", float(recipients), None, None))
    return out


# ---------------------------------------------------------------------------------------
# Time series
# ---------------------------------------------------------------------------------------


class YearSum(NamedTuple):
    """Single-year figures of one year, summed."""

    year: int
    value: float
    n_figures: int


class SpanFigure(NamedTuple):
    """A figure reported for a period (``start`` < ``end``) or with only an end year
    (``start`` None), or the sum of several of one span (``n_figures`` > 1: no donor,
    recipient, qualifier or source)."""

    start: int | None
    end: int
    value: float
    n_figures: int
    donor: str | None
    recipient: str | None
    qualifier: str | None
    source: str | None


@dataclass(frozen=True)
class Series:
    """One metric's figures over time, periods kept as periods: rows as tuples (what the
    chart and its words walk), and as frames for exports and analysis."""

    metric: str
    unit: str | None
    years: tuple[YearSum, ...]  # in year order
    spans: tuple[SpanFigure, ...]  # with a start year (periods), then with only an end
    n_undated: int

    @property
    def period_rows(self) -> tuple[SpanFigure, ...]:
        return tuple(r for r in self.spans if r.start is not None)

    @property
    def cumulative_rows(self) -> tuple[SpanFigure, ...]:
        return tuple(r for r in self.spans if r.start is None)

    @cached_property
    def yearly(self) -> pd.DataFrame:
        """year, value, n_figures (single-year figures, summed per year)."""
        if not self.years:
            return pd.DataFrame({"year": [], "value": [], "n_figures": []})
        return pd.DataFrame(list(self.years), columns=list(YearSum._fields))

    @cached_property
    def periods(self) -> pd.DataFrame:
        """start, end, value, n_figures, donor, recipient, qualifier, source."""
        return pd.DataFrame(list(self.period_rows), columns=list(SpanFigure._fields))

    @cached_property
    def cumulative(self) -> pd.DataFrame:
        """The same columns, for figures with only an end year (start empty)."""
        return pd.DataFrame(list(self.cumulative_rows), columns=list(SpanFigure._fields))


def series_metrics(filters: Filters) -> list[str]:
    """The chosen metric (if it is not one of the main three) then funds, projects, people."""
    metrics = list(MAIN_METRICS)
    if filters.metric and filters.metric not in metrics:
        metrics.insert(0, filters.metric)
    return metrics


def series(data: AtlasData, filters: Filters, metric: str) -> Series:
    """A metric's series in a view: the same whatever the map shows (its metric, level,
    flows), kept per the view's rows and the metric."""
    rows_of = filters.rows_key()
    return data.cached(("series", rows_of, metric), lambda: _series(data, rows_of, metric))


_SPAN = "(period_start IS NULL OR period_start <> period_end)"  # matches ix_figures_spans


def _spans(data: AtlasData, f: Filters, metric: str) -> list[tuple]:
    """A metric's sums over a view's rows per (period start, period end): [(start, end,
    value, n)], an empty end or start as None. Plain tuples: a view's series is a few
    dozen sums, and a frame per metric cost more than the query (#7).

    Kept per view's rows and metric: a change of the map's metric reads its own (~7 ms at
    10 M figures), where the series' metrics were read again together (~22 ms). On a
    miss, the view's other series metrics not yet kept come in the same scan."""
    rows_of = f.rows_key()
    known = data.peek(("spans", rows_of, metric))
    if known is not None:
        return known
    wanted = [metric] + [
        m for m in series_metrics(f) if m != metric and data.peek(("spans", rows_of, m)) is None
    ]
    cond, params = where(rows_of, "totals")
    found = data.summary.rows(
        f'SELECT metric, period_start AS start, period_end AS "end", '
        f"SUM(value) AS value, SUM(n) AS n_figures FROM figure_totals WHERE {cond} "
        f"AND metric IN {in_list('m', wanted, params)} GROUP BY metric, period_start, "
        f"period_end HAVING SUM(n) > 0",
        params,
    )
    out: dict[str, list[tuple]] = {m: [] for m in wanted}
    for m, start, end, value, n in found:
        year = (None if missing(start) else int(start), None if missing(end) else int(end))
        amount = float("nan") if missing(value) else float(value)
        out[str(m)].append((*year, amount, int(n)))
    for m in wanted[1:]:
        data.cached(("spans", rows_of, m), lambda sums=out[m]: sums)
    return data.cached(("spans", rows_of, metric), lambda: out[metric])


_SPAN_COLUMNS = (
    'period_start AS start, period_end AS "end", value, 1 AS n_figures, donor, recipient, '
    "qualifier, source"
)
SPAN_IDS_CHUNK = 500  # ids a query of the store names at a time


def _span_rows(data: AtlasData, f: Filters, metric: str) -> list[tuple]:
    """The period and cumulative figures of a view's series, one by one (a few hundred at
    most), in id order. With the figure rows' snapshot their ids come from DuckDB, then
    their rows from the store by id: SQLite found them through the index of every period
    figure of the metric, looking each up for the view's other conditions, so a programme
    of few among many took 1.6-6.9 s at 10 M figures (the view's few: the same rows)."""
    if data.summary.has_figures():
        cond, params = where(f, "figures", all_active=True)  # the snapshot: active rows
        params["metric"] = metric
        try:
            ids = data.summary.ids(
                f"SELECT id FROM figure_rows WHERE {cond} AND metric = :metric "
                f"AND period_end IS NOT NULL AND {_SPAN} ORDER BY id",
                params,
            )
        except Exception:  # DuckDB out of memory, a file gone with its version: SQL
            log.warning("a series' period figures from the snapshot failed", exc_info=True)
        else:
            rows: list[tuple] = []
            for at in range(0, len(ids), SPAN_IDS_CHUNK):
                chunk = {f"id{i}": v for i, v in enumerate(ids[at : at + SPAN_IDS_CHUNK])}
                rows += data.rows(
                    f"SELECT {_SPAN_COLUMNS} FROM figures WHERE id IN "
                    f"({', '.join(':' + k for k in chunk)}) AND counted ORDER BY id",
                    chunk,
                )
            return rows
    fcond, fparams = where(f, "figures")
    fparams["metric"] = metric
    # SQLite would walk every row of the metric in id order; the partial index of period
    # figures holds only them (10 M figures: 5 s -> milliseconds), and those of one donor
    # by donor (0.6-0.9 s -> milliseconds)
    index = "ix_figures_spans_donor" if f.donor else "ix_figures_spans"
    hint = f"INDEXED BY {index}" if data.engine.dialect.name == "sqlite" else ""
    return data.rows(
        f"SELECT {_SPAN_COLUMNS} FROM figures {hint} WHERE {fcond} AND metric = :metric "
        f"AND counted AND period_end IS NOT NULL AND {_SPAN} ORDER BY id",
        fparams,
    )


def _series(data: AtlasData, f: Filters, metric: str) -> Series:
    rows = _spans(data, f, metric)
    yearly = sorted(YearSum(s, v, n) for s, e, v, n in rows if s is not None and s == e)
    sums = [(s, e, v, n) for s, e, v, n in rows if e is not None and s != e]
    undated = sum(n for s, e, _v, n in rows if s is None and e is None)
    n_spans = sum(r[3] for r in sums)
    spans = [SpanFigure(*r, None, None, None, None) for r in sums]
    if 0 < n_spans <= SERIES_ROWS_MAX:
        spans = [SpanFigure(*r) for r in _span_rows(data, f, metric)]
    return Series(
        metric=metric,
        unit=metric_unit(data, metric),
        years=tuple(yearly),
        spans=tuple(r for r in spans if r.start is not None)
        + tuple(r for r in spans if r.start is None),
        n_undated=int(undated),
    )


def pairings_in_force(
    data: AtlasData, filters: Filters, current_year: int | None = None
) -> pd.DataFrame:
    """Number of pairings in force each year (year, n). Rows without a start year are
    left out: their start is not stated, and inventing one would be wrong."""
    now = current_year or date.today().year
    return data.cached(
        ("in_force", filters.cache_key(), now), lambda: _in_force(data, filters, now)
    )


def _in_force(data: AtlasData, filters: Filters, now: int) -> pd.DataFrame:
    cond, params = where(filters, "pairings")
    rows = data.rows(
        f"SELECT start_year, end_year FROM pairings WHERE {cond} AND start_year IS NOT NULL",
        params,
    )
    if not rows:
        return pd.DataFrame({"year": [], "n": []})
    lo = int(filters.year_from or min(r[0] for r in rows))
    hi = int(filters.year_to or now)
    # one pass over the pairings: +1 in a pairing's first year in range, -1 after its last
    # (a count per year and pairing was years x pairings steps: ~10 ms a view at 1 M, #7)
    years = list(range(lo, hi + 1))
    steps = [0] * (len(years) + 1)
    for s, e in rows:
        first, last = max(int(s), lo), min(int(e) if e is not None else now, hi)
        if first <= last:
            steps[first - lo] += 1
            steps[last - lo + 1] -= 1
    counts = list(accumulate(steps[:-1]))
    return pd.DataFrame({"year": years, "n": counts})


def year_bounds(data: AtlasData, current_year: int | None = None) -> tuple[int, int]:
    """First year any row mentions, and this year: the year slider's range."""
    now = current_year or date.today().year

    def compute() -> int | None:
        row = data.rows(
            f"SELECT (SELECT MIN(start_year) FROM pairings WHERE {ACTIVE}), "
            "(SELECT MIN(period_start) FROM figure_totals), "
            "(SELECT MIN(period_end) FROM figure_totals)"
        )[0]
        found = [int(x) for x in row if x is not None]
        return min(found) if found else None

    lo = data.cached("first_year", compute)
    lo = 1990 if lo is None else lo
    return min(lo, now), now


# ---------------------------------------------------------------------------------------
# Menus
# ---------------------------------------------------------------------------------------


def metric_options(data: AtlasData) -> list[str]:
    """Metrics that can be mapped (at least one figure with a place), main ones first."""

    def compute() -> list[str]:
        counts = {
            str(m): int(n)
            for m, n in data.summary.rows(
                "SELECT metric, SUM(n_rows) FROM figure_totals WHERE NOT is_context "
                "AND resolved GROUP BY metric"
            )
        }
        rest = sorted((m for m in counts if m not in MAIN_METRICS), key=lambda m: (-counts[m], m))
        return [m for m in MAIN_METRICS if m in counts] + rest

    return data.cached("metric_options", compute)


def program_options(data: AtlasData) -> list[str]:
    def compute() -> list[str]:
        rows = data.rows(
            f"SELECT DISTINCT program FROM pairings WHERE {ACTIVE} AND program IS NOT NULL "
            "UNION SELECT DISTINCT program FROM figure_totals WHERE program IS NOT NULL"
        )
        present = {str(r[0]) for r in rows}
        known = [p for p in i18n.PROGRAMS if p in present]
        return known + sorted(present - set(known))

    return data.cached("program_options", compute)


def donor_unit_options(data: AtlasData, donor: str | None) -> list[tuple[str, str, str]]:
    """(key, name_zh-ish label, province key) of donor cities/districts, optionally of one
    donor province."""

    def compute() -> list[tuple[str, str, str]]:
        params: dict[str, Any] = {}
        cond = f"{ACTIVE} AND donor_unit_key IS NOT NULL"
        if donor:
            cond += " AND donor_key = :donor"
            params["donor"] = donor
        seen: dict[str, tuple[str, str, str]] = {}
        for key, unit, prov in data.rows(
            f"SELECT donor_unit_key, donor_unit, donor_key FROM pairings WHERE {cond} ORDER BY id",
            params,
        ):
            seen.setdefault(key, (key, unit if isinstance(unit, str) and unit else key, prov))
        return sorted(seen.values(), key=lambda x: x[1])

    return data.cached(("donor_units", donor), compute)


def recipient_province_options(data: AtlasData) -> list[str]:
    def compute() -> list[str]:
        rows = data.rows(
            f"SELECT DISTINCT r_province FROM pairings WHERE {ACTIVE} AND r_province IS NOT NULL "
            "UNION SELECT DISTINCT r_province FROM figure_totals WHERE r_province IS NOT NULL"
        )
        return sorted({str(r[0]) for r in rows})

    return data.cached("recipient_provinces", compute)


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
    n_figures: int = 0  # all of them; ``figures`` lists at most DETAIL_FIGURES_MAX


_PAIRING_SELECT = (
    "SELECT p.*, b.kind AS batch_kind FROM pairings p JOIN batches b ON b.id = p.batch_id"
)
_PAIRING_ORDER = "(p.start_year IS NOT NULL), p.start_year, p.program, p.id"


def place_detail(data: AtlasData, filters: Filters, adcode: str) -> PlaceDetail | None:
    """Everything known about one place, within the current filters (except the place)."""
    row = data.place_row(adcode)
    if row is None:
        return None
    level = str(row["level"])
    col = level_column(level)
    f = replace(filters, recipient=None)
    parents = []
    for code in (row["province_adcode"], row["prefecture_adcode"]):
        if code and code != adcode:
            prow = data.place_row(code)
            if prow is not None:
                parents.append((code, prow["name_zh"], prow["name_en"]))
    parent_codes = [c for c, _, _ in parents]

    cond, params = where(f, "pairings", prefix="p.")
    params["place"] = str(adcode)

    def pairings_where(extra: str) -> pd.DataFrame:
        return data.frame(
            f"{_PAIRING_SELECT} WHERE {cond} AND ({extra}) ORDER BY {_PAIRING_ORDER}", params
        )

    fcond, fparams = where(f, "figures", prefix="f.")
    fparams["place"] = str(adcode)
    n_figures = data.rows(
        f"SELECT COUNT(*) FROM figures f WHERE {fcond} AND f.{col} = :place", fparams
    )[0][0]
    fparams["limit"] = DETAIL_FIGURES_MAX
    figures = data.frame(
        f"SELECT f.*, b.kind AS batch_kind FROM figures f JOIN batches b ON b.id = f.batch_id "
        f"WHERE {fcond} AND f.{col} = :place "
        f"ORDER BY f.metric, (f.period_end IS NOT NULL), f.period_end, f.id LIMIT :limit",
        fparams,
    )
    return PlaceDetail(
        adcode=str(adcode),
        level=level,
        name_zh=str(row["name_zh"]),
        name_en=str(row["name_en"]),
        parents=parents,
        pairings=pairings_where(f"p.{col} = :place"),
        parent_pairings=pairings_where(
            f"p.recipient_adcode IN {in_list('parent', parent_codes, params)}"
        ),
        donor_pairings=pairings_where(
            "p.donor_adcode = :place OR p.donor_province_adcode = :place"
        ),
        figures=figures,
        n_figures=int(n_figures),
    )
