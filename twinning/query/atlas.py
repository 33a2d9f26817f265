"""The atlas's handle on the store: an engine, the places, the data version and a cache.

Why: a worker must not hold a copy of the figures (issue #7). ``AtlasData`` keeps only
what does not grow with them (the ~3,200 places with names and label points) and asks
the store for everything else; answers are memoised per data version in a bounded cache.

``where()`` turns a ``Filters`` into the SQL conditions shared by every query, so the
map, flows, series, headlines, tables and exports all filter in one way.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from twinning import i18n
from twinning.filters import FROM_MEMORY, LEVEL_RANK, LEVELS, Filters
from twinning.query.cache import MISSING
from twinning.store.derive import _code  # a code as text: one rule, the store's

Kind = Literal["pairings", "figures", "totals"]
ACTIVE = "batch_id IN (SELECT id FROM batches WHERE undone_at IS NULL)"
CACHE_SIZE = 256
# cache keys (their first item) answered in-process only: see twinning.query.cache
LOCAL_ONLY: frozenset[str] = frozenset({"reconciled-soon"})  # a Future of this worker
# kept in the shared cache however quickly worked out: a reconciled total the warm-up
# child leaves for every worker (each is asked for apart from the headlines' sums, #7)
KEEP_QUICK: frozenset[str] = frozenset({"reconciled"})


def missing(value: Any) -> bool:
    """None, NaN or pd.NA: what a frame holds where a cell is empty."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def text_or_none(x: Any) -> str | None:
    """``x`` if it is non-empty text, else None (NaN, None and pd.NA included)."""
    return x if isinstance(x, str) and x else None


def prepare_places(places: pd.DataFrame) -> pd.DataFrame:
    """One row per (adcode, level), codes as text, a province is its own province."""
    places = places.copy()
    for col in ("adcode", "level", "name_zh", "name_en", "province_adcode", "prefecture_adcode"):
        if col not in places.columns:
            places[col] = None
    for col in ("lon", "lat"):
        places[col] = pd.to_numeric(places[col], errors="coerce") if col in places else math.nan
    for col in ("adcode", "province_adcode", "prefecture_adcode"):
        places[col] = places[col].map(_code).astype(object)
    if "levels" in places.columns:
        places = places.assign(
            level=[
                [lv for lv in str(levels).split(",") if lv] or [level]
                for levels, level in zip(places["levels"], places["level"], strict=True)
            ]
        ).explode("level", ignore_index=True)
    own = places["province_adcode"].isna() & places["adcode"].fillna("").str.endswith("0000")
    places.loc[own, "province_adcode"] = places.loc[own, "adcode"]
    places["level_rank"] = places["level"].map(LEVEL_RANK).fillna(9).astype(int)
    return places.reset_index(drop=True)


class QueryTooSlow(RuntimeError):
    """A query stopped at its time bound (a table page too deep into a large sort, say)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the query took longer than {seconds:g} s and was stopped")
        self.seconds = seconds


# values sqlite3 binds as SQLAlchemy would: others (dates, decimals) go through text()
_DRIVER_TYPES = (str, int, float, bytes, type(None))


def execute(conn: Any, sql: str, params: dict[str, Any] | None = None) -> Any:
    """The result of a read query ``sql`` (named ``:params``) on ``conn``.

    On SQLite the statement goes to the driver as it is: sqlite3 takes ``:name`` with a
    dict. Through ``text()`` SQLAlchemy parsed each statement, made its cache key (its
    bound values' types included) and looked up its compiled form: ~0.15 ms a query,
    about a tenth of a filter change's server time on the reference data, whose view
    asks ~12 small queries (#7). Other databases, and values sqlite3 would bind otherwise
    than SQLAlchemy (dates, decimals), keep ``text()``."""
    params = params or {}
    if conn.dialect.name == "sqlite" and all(
        type(v) in _DRIVER_TYPES or type(v) is bool for v in params.values()
    ):
        return conn.exec_driver_sql(sql, params)
    return conn.execute(text(sql), params)


def read_sqlite(
    engine: Engine, sql: str, params: dict[str, Any] | None = None, seconds: float | None = None
) -> tuple[list[str], list[tuple]] | None:
    """(column names, rows as tuples) of a read query on a SQLite store, straight through
    the pooled driver connection; None for another database, or values sqlite3 would
    bind otherwise than SQLAlchemy (the caller then goes through ``execute``).

    A connection of SQLAlchemy's wrapped each read in a transaction of its own (its
    BEGIN, then ROLLBACK when given back): three statements and their events, ~0.1 ms a
    query where the query itself took ~0.02; a filter change on the reference data asks
    ~20 (#7). The driver's connection is in autocommit (``create_store_engine``), so a
    lone SELECT reads one consistent snapshot as it did. Errors are SQLAlchemy's, as
    before (``DBAPIError.instance``)."""
    if engine.dialect.name != "sqlite":
        return None
    params = params or {}
    if not all(type(v) in _DRIVER_TYPES or type(v) is bool for v in params.values()):
        return None
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        if seconds and seconds > 0:
            stop_at = time.monotonic() + seconds
            dbapi.set_progress_handler(lambda: int(time.monotonic() > stop_at), 20_000)
        try:
            cur = dbapi.execute(sql, params)
            keys = [d[0] for d in cur.description or ()]
            found = cur.fetchall()
            cur.close()
            return keys, found
        except sqlite3.Error as exc:
            if seconds and seconds > 0 and "interrupted" in str(exc):
                raise QueryTooSlow(seconds) from exc
            raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
        finally:
            if seconds and seconds > 0:
                dbapi.set_progress_handler(None, 0)
    finally:
        raw.close()


def read(
    engine: Engine, sql: str, params: dict[str, Any] | None = None, seconds: float | None = None
) -> tuple[list[str], list[tuple]]:
    """(column names, rows as plain tuples) of a read query ``sql`` (named ``:params``),
    stopped past ``seconds`` (``QueryTooSlow``): on SQLite through ``read_sqlite``, else
    through a connection of SQLAlchemy's. Rows are tuples, not SQLAlchemy's ``Row``s: pandas
    probes each ``Row`` for attributes it lacks, an exception apiece (5x slower a frame)."""
    fast = read_sqlite(engine, sql, params, seconds)
    if fast is not None:
        return fast
    with engine.connect() as conn, _deadline(conn, seconds):
        result = execute(conn, sql, params)
        return list(result.keys()), [tuple(row) for row in result.fetchall()]


@contextmanager
def _deadline(conn: Any, seconds: float | None) -> Iterator[None]:
    """Stop the connection's statements after ``seconds``: SQLite's progress handler
    interrupts them, PostgreSQL's statement_timeout cancels them. Either way the request
    that asked gets ``QueryTooSlow`` and the worker is free again."""
    if not seconds or seconds <= 0:
        yield
        return
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        stop_at = time.monotonic() + seconds
        raw.set_progress_handler(lambda: int(time.monotonic() > stop_at), 20_000)
        try:
            yield
        except OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTooSlow(seconds) from exc
            raise
        finally:
            raw.set_progress_handler(None, 0)
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET statement_timeout = {int(seconds * 1000)}")
        try:
            yield
        except OperationalError as exc:
            if "statement timeout" in str(exc) or "canceling statement" in str(exc):
                raise QueryTooSlow(seconds) from exc
            raise
        finally:
            conn.rollback()
            conn.exec_driver_sql("SET statement_timeout = 0")
        return
    yield


@dataclass
class AtlasData:
    """What a worker keeps: the store's engine, the places and the data version.

    Built once per data version (the app keys it on ``store.data_version()``); holds no
    pairing or figure rows, so its size does not grow with the store.
    """

    engine: Engine
    places: pd.DataFrame  # one row per (adcode, level), with lon/lat
    version: str = "0"
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _summary: Any = field(default=None, repr=False)
    # answers shared with the server's other workers (twinning.query.cache); None: this
    # process only (a store in memory, TWINNING_CACHE_DIR=off, or not made by from_store)
    shared: Any = field(default=None, repr=False)
    # whether ``cached`` answers go through ``shared``: not for a store of few rows
    # (``few_rows``), whose views are quicker to work out than the shared files to read;
    # the page's layout answers (components/layout_cache.py) are shared all the same
    share_answers: bool = field(default=True, repr=False)

    @property
    def summary(self) -> Any:
        """The engine that sums ``figure_totals`` (``twinning.query.summary``)."""
        if self._summary is None:
            from twinning.query.summary import Summary

            with self._lock:
                if self._summary is None:
                    self._summary = Summary(self.engine, self.version)
        return self._summary

    @classmethod
    def from_store(cls, store: Any, places: pd.DataFrame | None = None) -> AtlasData:
        if places is None:
            from twinning.geo.boundaries import places_table

            places = places_table()
        from twinning.query.cache import SharedCache

        version = store.data_version()
        return cls(
            engine=store.engine,
            places=prepare_places(places),
            version=version,
            shared=SharedCache.for_store(store.engine.url, version),
            share_answers=not few_rows(store.engine),
        )

    @classmethod
    def build(
        cls,
        pairings: pd.DataFrame,
        figures: pd.DataFrame,
        places: pd.DataFrame,
        version: str = "0",
    ) -> AtlasData:
        """An atlas over rows given as frames (tests, notebooks): an in-memory store.

        Rows go through the same derive step as every stored batch; a ``batch_kind``
        column ("reference" or "import") puts rows in a batch of that kind.
        """
        from twinning.store import derive
        from twinning.store.db import create_store_engine
        from twinning.store.schema import batches, metadata
        from twinning.store.schema import figures as figures_table
        from twinning.store.schema import pairings as pairings_table
        from twinning.store.schema import places as places_table

        engine = create_store_engine("sqlite://")
        metadata.create_all(engine)
        prepared = prepare_places(places)
        with engine.begin() as conn:
            one = prepared.sort_values("level_rank", kind="stable").drop_duplicates("adcode")
            conn.execute(
                places_table.insert(),
                [
                    {
                        "adcode": r.adcode,
                        "level": r.level,
                        "name_zh": r.name_zh or "",
                        "name_en": r.name_en or "",
                        "province_adcode": r.province_adcode,
                        "prefecture_adcode": r.prefecture_adcode,
                    }
                    for r in one.itertuples(index=False)
                ],
            )
            derive.seed_place_levels(conn, prepared)
            batch_ids: dict[str, int] = {}

            def batch(kind: Any) -> int:
                kind = kind if isinstance(kind, str) and kind else "reference"
                if kind not in batch_ids:
                    batch_ids[kind] = conn.execute(
                        batches.insert().values(
                            kind=kind,
                            user="test",
                            created_at=datetime.now(UTC),
                            file_name=f"{kind}.frames",
                            sha256="0" * 64,
                            row_count=0,
                        )
                    ).inserted_primary_key[0]
                return batch_ids[kind]

            for table, frame in ((pairings_table, pairings), (figures_table, figures)):
                cols = [c.name for c in table.c if c.name not in ("id", "batch_id", "counted")]
                rows = []
                for rec in frame.to_dict("records"):
                    row = {c: (None if missing(rec.get(c)) else rec.get(c)) for c in cols}
                    row["batch_id"] = batch(rec.get("batch_kind"))
                    for c in ("start_year", "end_year", "period_start", "period_end"):
                        if c in row and row[c] is not None:
                            row[c] = int(row[c])
                    if table is figures_table:
                        row["is_context"] = bool(row.get("is_context") or False)
                        row["donor_side"] = bool(row.get("donor_side") or False)
                    rows.append(row)
                if rows:
                    conn.execute(table.insert(), rows)
            # scope rows (side, member, level) of figures given several places (issue #10):
            # the frame's n-th figure is the store's id n (a new store)
            if "scope_members" in figures:
                from twinning.store.schema import figure_scopes

                scope_rows = [
                    {"figure_id": i, "side": side, "member": member, "member_level": level}
                    for i, members in enumerate(figures["scope_members"], start=1)
                    if isinstance(members, list | tuple)
                    for side, member, level in members
                ]
                if scope_rows:
                    conn.execute(figure_scopes.insert(), scope_rows)
            derive.refresh(conn)
        return cls(engine=engine, places=prepared, version=str(version))

    # -- SQL ------------------------------------------------------------------------------
    def frame(
        self, sql: str, params: dict[str, Any] | None = None, *, seconds: float | None = None
    ) -> pd.DataFrame:
        """Rows of ``sql`` as a frame (columns as the query names them); with ``seconds``,
        stopped past that time (``QueryTooSlow``)."""
        keys, found = read(self.engine, sql, params, seconds)
        return pd.DataFrame(found, columns=keys)

    def columns(
        self, sql: str, params: dict[str, Any] | None = None, *, seconds: float | None = None
    ) -> dict[str, list[Any]]:
        """Rows of ``sql`` as one list per column (every column, even with no rows)."""
        keys, found = read(self.engine, sql, params, seconds)
        values = list(zip(*found, strict=True)) if found else [() for _ in keys]
        return {k: list(v) for k, v in zip(keys, values, strict=True)}

    def rows(
        self, sql: str, params: dict[str, Any] | None = None, *, seconds: float | None = None
    ) -> list[tuple]:
        """Rows of ``sql`` as tuples (fetched in one call, not a row at a time)."""
        return read(self.engine, sql, params, seconds)[1]

    # -- places ---------------------------------------------------------------------------
    def place_row(self, adcode: str | None, level: str | None = None) -> dict[str, Any] | None:
        """A place's row (adcode, level, names, parents, lon, lat) as a plain dict."""
        if not adcode:
            return None
        rows = self._place_index().get(str(adcode))
        if not rows:
            return None
        if level is not None and len(rows) > 1:
            rows = [r for r in rows if r["level"] == level] or rows
        return rows[0]

    def _place_index(self) -> dict[str, list[dict[str, Any]]]:
        """adcode -> its rows, lowest level rank first; built once (maps look up thousands).

        Read without the cache's lock: a dict lookup per label, thousands per map."""
        index = self.__dict__.get("_index")
        if index is None:
            index = {}
            ordered = self.places.sort_values("level_rank", kind="stable")
            for row in ordered.to_dict("records"):
                index.setdefault(str(row["adcode"]), []).append(row)
            self.__dict__["_index"] = index
        return index

    def place_points(self) -> dict[str, tuple[float, float]]:
        """adcode -> (lon, lat) of every place that has a point; built once."""

        def build() -> dict[str, tuple[float, float]]:
            pts = self.places.dropna(subset=["lon", "lat"]).drop_duplicates("adcode")
            out = {
                str(c): (float(x), float(y))
                for c, x, y in zip(pts["adcode"], pts["lon"], pts["lat"], strict=True)
            }
            # XPCC divisions (xpcc:<n>) are drawn at their seats (issue #10)
            from twinning.groups import default_groups

            for key, d in default_groups().divisions.items():
                if d.seat_adcode in out:
                    out[key] = out[d.seat_adcode]
            return out

        return self.cached("_place_points", build)

    def place_label(self, adcode: str | None, lang: str, fallback: str | None = None) -> str:
        if isinstance(adcode, str) and adcode.startswith("xpcc:"):
            from twinning.query.scopes import division_label

            return division_label(adcode, lang)
        row = self.place_row(adcode)
        if row is None:
            return fallback or (str(adcode) if adcode else "")
        labels = self.__dict__.setdefault("_labels", {}).setdefault(lang, {})
        code = str(adcode)
        if code not in labels:
            labels[code] = i18n.place_name(row["name_zh"], row["name_en"], lang)
        return labels[code]

    def forget(self, key: Any) -> None:
        """Drop one memoised answer (one that must be computed again next time), in this
        worker and in the cache it shares with the others."""
        with self._lock:
            self._cache.pop(key, None)
        skey = self._shared_key(key)
        if skey is not None:
            self.shared.delete(skey)

    def all_active(self) -> bool:
        """No batch is undone at this data version: every stored row is in view, and a
        query need not look up each row's batch (``where(..., all_active=True)``)."""
        return self.cached(
            ("all_active",),
            lambda: not self.rows("SELECT 1 FROM batches WHERE undone_at IS NOT NULL LIMIT 1"),
        )

    def peek(self, key: Any) -> Any:
        """A memoised answer if there is one (this worker's, or one another worker stored),
        else None (nothing is computed)."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        skey = self._shared_key(key)
        if skey is None:
            return None
        value = self.shared.get(skey)
        if value is MISSING:
            return None
        self._remember(key, value)
        return value

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """Memoise per data version, bounded: in this worker (an LRU of ``CACHE_SIZE``
        answers) and, behind it, in the cache the server's workers share, where one worker
        computes a key while the others wait for its answer (``twinning.query.cache``).
        An answer that cannot be pickled, or is too big, stays in this worker."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        skey = self._shared_key(key)
        kind = key[0] if isinstance(key, tuple) and key else key
        value = (
            compute()
            if skey is None
            else self.shared.get_or_compute(skey, compute, keep_quick=kind in KEEP_QUICK)
        )
        self._remember(key, value)
        return value

    def _remember(self, key: Any, value: Any) -> None:
        with self._lock:
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _shared_key(self, key: Any) -> str | None:
        """The shared cache's key for ``key``, or None: no shared cache, or a key that has
        no text form that is the same in every process, or one kept in-process."""
        if self.shared is None or not self.share_answers:
            return None
        kind = key[0] if isinstance(key, tuple) and key else key
        if isinstance(kind, str) and kind in LOCAL_ONLY:
            return None
        return self.shared.key_text(key)


def few_rows(engine: Engine) -> bool:
    """Whether the store holds fewer figures and fewer pairings than TWINNING_CACHE_MIN_ROWS
    (each table's highest id, read from its key's index): its views are worked out in a few
    milliseconds, and the cache the workers share costs more than it saves. On the
    reference data a filter change's views took 24 ms with it, 19 ms without (in one
    process, 200 changes alternated, #7): each answer not yet known was looked for in a
    file, its lock file taken and the file looked for again."""
    from twinning import settings

    limit = settings.get_int("TWINNING_CACHE_MIN_ROWS")
    if limit <= 0:
        return False
    with engine.connect() as conn:
        highest = conn.execute(
            text("SELECT (SELECT MAX(id) FROM figures), (SELECT MAX(id) FROM pairings)")
        ).one()
    return all((value or 0) < limit for value in highest)


def where(
    f: Filters,
    kind: Kind,
    *,
    recipient: bool = True,
    prefix: str = "",
    all_active: bool = False,
) -> tuple[str, dict[str, Any]]:
    """SQL conditions (joined with AND) and parameters for the rows a view takes.

    ``kind`` names the relation: ``pairings`` and ``figures`` rows of active batches, or
    ``totals`` (``figure_totals``, already active only). Figures never include context
    figures. ``recipient=False`` leaves out the drilled province (the detail panel).
    ``all_active``: the caller knows no batch is undone (``AtlasData.all_active``), so no
    row's batch is looked up.
    """
    t = prefix
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if kind != "totals" and not all_active:
        clauses.append(f"{t}{ACTIVE}")
    if kind != "pairings":
        clauses.append(f"NOT {t}is_context")
    if f.programs:
        names = []
        for i, program in enumerate(f.programs):
            params[f"program{i}"] = program
            names.append(f":program{i}")
        clauses.append(f"{t}program IN ({', '.join(names)})")
    if f.donor:
        clauses.append(f"{t}donor_key = :donor")
        params["donor"] = f.donor
    if f.donor_unit:
        clauses.append(f"{t}donor_unit_key = :donor_unit")
        params["donor_unit"] = f.donor_unit
    if recipient and f.recipient:
        clauses.append(f"{t}r_province = :recipient")
        params["recipient"] = f.recipient
    start, end = (
        ("start_year", "end_year") if kind == "pairings" else ("period_start", "period_end")
    )
    if f.year_to is not None:
        clauses.append(f"({t}{start} IS NULL OR {t}{start} <= :year_to)")
        params["year_to"] = int(f.year_to)
    if f.year_from is not None:
        clauses.append(f"({t}{end} IS NULL OR {t}{end} >= :year_from)")
        params["year_from"] = int(f.year_from)
    if f.year is not None:
        # One year (or everything up to it) is not a range: a row is placed by the years it
        # states. A count with only an end year ("to 2022") counts from that year on (in
        # "this year": in that year only, with year_from above); an undated figure and a
        # pairing without a start year are in no single year (as in the series).
        if kind == "pairings":
            clauses.append(f"{t}{start} IS NOT NULL")
        else:
            clauses.append(f"({t}{start} IS NOT NULL OR {t}{end} <= :year_to)")
    if not f.include_from_memory:
        if kind == "totals":
            clauses.append(f"NOT {t}from_memory")
        else:
            clauses.append(f"{t}confidence <> '{FROM_MEMORY}'")
    return " AND ".join(clauses) or "1 = 1", params


def level_column(level: str) -> str:
    """The derived column that holds a row's place at a map level (never user text)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    return f"r_{level}"


def in_list(name: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``(:name0, :name1, ...)`` with the values put into ``params``."""
    keys = []
    for i, value in enumerate(values):
        params[f"{name}{i}"] = value
        keys.append(f":{name}{i}")
    return "(" + (", ".join(keys) or "NULL") + ")"
