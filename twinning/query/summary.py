"""Where the sums of a view are computed: the store's SQL, or DuckDB over a snapshot.

Why: ``figure_totals`` holds one row per combination of the filterable dimensions (363,000
rows for a register of 1 M figures). A ``GROUP BY`` over one metric's rows takes SQLite
~150 ms on this 2-core machine and DuckDB ~18 ms (benchmarks/bench_summary.py). DuckDB
cannot read SQLite offline (its scanner is an extension fetched at run time), so the summary
is written once per data version to a Parquet snapshot beside the store, which DuckDB reads
in place: the file sits in the OS page cache shared by all workers, so no worker holds a
copy, and nothing here grows with the number of figures.

Beside it goes a second, smaller snapshot, ``figure_sources``: the counted figures of
active batches per filterable dimension and source cell, so the words under a chart count
a view's sources and the source line lists them exactly without reading figure rows (at
1 M figures: 0.95 MB, written in ~12 s; a view's count takes 10-30 ms instead of 0.3-1 s).

The snapshot is built in a background thread the first time a data version is seen; until
it is there, and for PostgreSQL stores (many machines, no shared folder), the same SQL runs
on the store. ``TWINNING_QUERY_ENGINE`` chooses: ``auto`` (default), ``sql`` or ``duckdb``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from twinning import settings

log = logging.getLogger(__name__)

_BOOLEAN = ("is_context", "from_memory", "resolved")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_BUILDING: set[Path] = set()
_BUILD_LOCK = threading.Lock()


def snapshot_path(engine: Engine, version: str) -> Path | None:
    """The snapshot of a SQLite store's summary at a data version (None for other stores)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    store = Path(url.database).expanduser().resolve()
    tag = hashlib.sha256(str(store).encode()).hexdigest()[:12]
    return store.parent / "summary" / f"{store.stem}-{tag}-{version}.parquet"


_TYPES = {
    "metric": "string",
    "is_context": "bool_",
    "unit": "string",
    "program": "string",
    "donor_key": "string",
    "donor_unit_key": "string",
    "from_memory": "bool_",
    "resolved": "bool_",
    "r_province": "string",
    "r_prefecture": "string",
    "r_county": "string",
    "period_start": "int32",
    "period_end": "int32",
    "value": "float64",
    "n": "int64",
    "n_rows": "int64",
}


# The sources behind the summary's rows: counted figures of active batches per filterable
# dimension (the same columns as figure_totals, so a view's conditions apply) and source
# cell. What the words under a chart count and the source line lists, exactly, without
# reading figure rows (at 1 M figures a view's COUNT(DISTINCT source) over the store's
# figures took 0.3-1 s).
_SOURCE_TYPES = {
    "metric": "string",
    "is_context": "bool_",
    "program": "string",
    "donor_key": "string",
    "donor_unit_key": "string",
    "from_memory": "bool_",
    "r_province": "string",
    "r_prefecture": "string",
    "r_county": "string",
    "period_start": "int32",
    "period_end": "int32",
    "source": "string",
    "n": "int64",
}
_SOURCE_DIMENSIONS = (
    "metric, is_context, program, donor_key, donor_unit_key, "
    "CASE WHEN confidence = 'from_memory' THEN 1 ELSE 0 END, "
    "r_province, r_prefecture, r_county, period_start, period_end, source"
)


def sources_path(path: Path) -> Path:
    """The sources snapshot that goes with a summary snapshot."""
    return path.with_name(f"{path.stem}.sources.parquet")


def write_snapshot(engine: Engine, path: Path, chunk_rows: int = 50_000) -> Path:
    """Write ``figure_totals`` to ``path`` and the sources beside it (``sources_path``),
    each atomically: a reader sees all or nothing. The sources come first, so a reader
    that finds the summary finds them too."""
    write_sources(engine, path, chunk_rows)
    _write_parquet(
        engine,
        path,
        _TYPES,
        f"SELECT {', '.join(_TYPES)} FROM figure_totals ORDER BY metric",
        chunk_rows,
    )
    _prune(path)
    return path


def write_sources(engine: Engine, path: Path, chunk_rows: int = 50_000) -> Path:
    """Only the sources snapshot of a summary snapshot written before it had one."""
    from twinning.query.atlas import ACTIVE

    return _write_parquet(
        engine,
        sources_path(path),
        _SOURCE_TYPES,
        f"SELECT {_SOURCE_DIMENSIONS}, COUNT(*) FROM figures WHERE {ACTIVE} AND counted "
        f"AND source IS NOT NULL GROUP BY {_SOURCE_DIMENSIONS}",
        chunk_rows,
    )


def _write_parquet(
    engine: Engine, path: Path, types: dict[str, str], sql: str, chunk_rows: int
) -> Path:
    """The rows of ``sql`` (columns in the order of ``types``) to ``path``, atomically.

    Columns go straight from the driver's rows into Arrow arrays, a chunk at a time, so
    memory stays bounded whatever the size of the summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in types.items()])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql)
        with pq.ParquetWriter(tmp, schema) as writer:
            while rows := cursor.fetchmany(chunk_rows):
                columns = list(zip(*rows, strict=True))
                arrays = [
                    pa.array(
                        [None if v is None else bool(v) for v in col]
                        if field.type == pa.bool_()
                        else col,
                        type=field.type,
                    )
                    for col, field in zip(columns, schema, strict=True)
                ]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        cursor.close()
        os.replace(tmp, path)
    finally:
        raw.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _prune(current: Path) -> None:
    """Remove older snapshots of the same store (their data version has passed), and
    their sources."""
    prefix = current.name.rsplit("-", 1)[0]
    for old in [
        *current.parent.glob(f"{prefix}-*.parquet"),
        *current.parent.glob(f"{prefix}-*.parquet.lock"),
    ]:
        if not old.name.startswith(current.stem + "."):
            with contextlib.suppress(OSError):  # another worker removed it first
                old.unlink()


def refresh_snapshot(store: Any) -> Path | None:
    """After a write has committed: the summary's snapshot for the new data version, so
    the atlas answers from DuckDB at once (the app would otherwise build it in the
    background on first use). Never raises: without it the store's SQL answers."""
    engine = getattr(store, "engine", store)
    try:
        from twinning.store.db import Store

        version = (store if isinstance(store, Store) else Store(engine, "")).data_version()
        path = snapshot_path(engine, version)
        if path is None or not wants_snapshot(engine):
            return None
        return path if path.exists() else write_snapshot(engine, path)
    except Exception:
        log.exception("summary snapshot not written after a write")
        return None


@contextlib.contextmanager
def _one_builder(path: Path) -> Iterator[bool]:
    """True for the one process that may write ``path``'s snapshot now: gunicorn's
    workers each see a new data version at once, and four of them writing the same
    snapshot took four times the CPU (a lock file beside it, ``flock``; the others go on
    answering with SQL until the file is there)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def wants_snapshot(engine: Engine) -> bool:
    """Whether DuckDB should sum this store's summary (``TWINNING_QUERY_ENGINE``): always
    with ``duckdb``, never with ``sql``; with ``auto`` when the summary holds at least
    ``TWINNING_SNAPSHOT_MIN_ROWS`` rows. Below that SQLite answers a view's queries as fast
    (the reference data: 250 rows, a view 200 ms with DuckDB, 180 ms with SQLite) and a
    worker is ~50 MB smaller without DuckDB's engine (#7)."""
    mode = str(settings.get("TWINNING_QUERY_ENGINE")).lower()
    if mode == "sql":
        return False
    if mode == "duckdb":
        return True
    least = settings.get_int("TWINNING_SNAPSHOT_MIN_ROWS")
    if least <= 0:
        return True
    try:  # "is there a row number least?": no count of a large table
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM figure_totals LIMIT 1 OFFSET :n"), {"n": least - 1}
            ).first()
    except Exception:  # no summary table yet (an empty or older store): the SQL path
        return False
    return found is not None


class Summary:
    """Runs the aggregate queries of a view on ``figure_totals``."""

    def __init__(self, engine: Engine, version: str) -> None:
        self.engine = engine
        self.version = version
        path = snapshot_path(engine, version)
        self.path = path if path is not None and wants_snapshot(engine) else None
        self._duck: Any = None
        self._sources = False  # the figure_sources view is attached
        self._lock = threading.Lock()
        if self.path is not None and not self.path.exists():
            self._build_in_background(self.path)
        elif self.path is not None and not sources_path(self.path).exists():
            self._build_in_background(self.path, sources_only=True)

    @property
    def engine_name(self) -> str:
        return "duckdb" if self._connection() is not None else "sql"

    def _build_in_background(self, path: Path, sources_only: bool = False) -> None:
        with _BUILD_LOCK:
            if path in _BUILDING:
                return
            _BUILDING.add(path)

        def build() -> None:
            try:
                with _one_builder(path) as mine:
                    if mine and not (sources_path(path) if sources_only else path).exists():
                        (write_sources if sources_only else write_snapshot)(self.engine, path)
            except Exception:  # the SQL path keeps answering
                log.exception("summary snapshot %s not written", path)
            finally:
                with _BUILD_LOCK:
                    _BUILDING.discard(path)

        threading.Thread(target=build, name="summary-snapshot", daemon=True).start()

    def wait(self, timeout: float = 120.0) -> bool:
        """Build the snapshot now if it is missing (tools, tests, benchmarks)."""
        if self.path is None:
            return False
        if not self.path.exists():
            write_snapshot(self.engine, self.path)
        elif not sources_path(self.path).exists():
            write_sources(self.engine, self.path)
        return self._connection() is not None

    def has_sources(self) -> bool:
        """DuckDB answers over ``figure_sources`` (the sources snapshot is there)."""
        con = self._connection()
        if con is None:
            return False
        with self._lock:
            if not self._sources and self.path is not None:
                found = sources_path(self.path)
                if found.exists():
                    escaped = str(found).replace("'", "''")
                    con.execute(
                        "CREATE OR REPLACE VIEW figure_sources AS "
                        f"SELECT * FROM read_parquet('{escaped}')"
                    )
                    self._sources = True
            return self._sources

    def _connection(self) -> Any:
        if self.path is None:
            return None
        with self._lock:
            if self._duck is not None:
                return self._duck
            if not self.path.exists():
                return None
            try:
                import duckdb
            except ImportError:  # pragma: no cover - duckdb is a dependency
                self.path = None
                return None
            # one thread and a small buffer: a worker's memory must not grow with the store
            con = duckdb.connect(config={"threads": 1, "memory_limit": "128MB"})
            escaped = str(self.path).replace("'", "''")
            con.execute(f"CREATE VIEW figure_totals AS SELECT * FROM read_parquet('{escaped}')")
            self._duck = con
            return con

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        con = self._connection()
        if con is None:
            from twinning.query.atlas import frame_of

            with self.engine.connect() as conn:
                return frame_of(conn.execute(text(sql), params or {}))
        # DuckDB's named parameters are $name; a cursor per call (thread-safe)
        cur = con.cursor()
        try:
            return cur.execute(_PARAM.sub(r"$\1", sql), params or {}).df()
        finally:
            cur.close()

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        """The rows of ``sql`` as tuples of Python values (NULL as None), without a frame:
        most of a view's queries answer a few numbers, and building a DataFrame to read
        them cost more than DuckDB's answer (#7)."""
        con = self._connection()
        if con is None:
            with self.engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params or {})]
        cur = con.cursor()
        try:  # NULL is None (a store cannot hold NaN: SQLite reads it as NULL)
            return cur.execute(_PARAM.sub(r"$\1", sql), params or {}).fetchall()
        finally:
            cur.close()
