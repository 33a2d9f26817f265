"""The store: one SQLAlchemy database holding places, batches, pairings and figures.

``open_store()`` is the only way in. It creates or migrates the schema, fills ``places``
from the shipped boundaries and seeds the reference data as one batch of kind
"reference", all in one transaction: a failure leaves the database as it was. Seeding
is idempotent: it is keyed on a fingerprint of the reference files and the places
table, so a second open adds nothing, and a changed reference file replaces the
reference batch (import batches are never touched).

Readers get pandas frames of the rows whose batch is not undone, labelled with place
names and the batch's kind, and ``data_version()`` to key their caches on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from twinning import settings
from twinning.filters import LEVEL_RANK
from twinning.paths import PROJECT_ROOT, REFERENCE_DIR
from twinning.store import derive, migrate
from twinning.store.schema import batches, figures, meta, pairings, places

XPCC_LIKE = "xpcc:%"
# nothing draws the row: no place, group, division, nor a donor-side figure with its donor
_FIGURE_NOT_SHOWN = (
    "(CASE WHEN f.donor_side THEN f.donor_adcode IS NULL ELSE "
    "f.recipient_adcode IS NULL AND f.scope_group IS NULL END)"
)
_PAIRING_NOT_SHOWN = "(p.recipient_adcode IS NULL AND p.recipient_division IS NULL)"
PLACE_COLUMNS = ["adcode", "level", "name_zh", "name_en", "province_adcode", "prefecture_adcode"]
REFERENCE_USER = "reference"


# How long a statement waits for another connection's lock before "database is locked".
BUSY_TIMEOUT_MS = 30_000

# How long opening the store waits for another process that holds its write lock (an
# upgrade of a store of millions of figures by a sibling worker takes minutes).
OPEN_WAIT_SECONDS = 1800.0


def _enable_wal(cursor: Any, deadline_s: float = 30.0) -> None:
    """Switch a file store to WAL, waiting out another connection that is creating it.

    Changing the journal mode needs an exclusive lock, and SQLite answers "database is
    locked" at once there instead of calling the busy handler when two processes open a
    new store together (gunicorn workers starting at once). WAL is persistent, so once any
    connection has switched, the others see it and skip the change.
    """
    wait = 0.01
    give_up = time.monotonic() + deadline_s
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()
            if mode and str(mode[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > give_up:
                raise
            time.sleep(wait)
            wait = min(wait * 2, 0.25)


def create_store_engine(url: str) -> Engine:
    """An engine with SQLite made safe: foreign keys on, WAL, transactional DDL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, future=True)
    database = parsed.database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000}}
    if memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised via SQLite
        # pysqlite opens transactions lazily and not before DDL; take control so that
        # BEGIN covers CREATE/ALTER too (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not memory:
            _enable_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised via SQLite
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def _places_frame_for_store(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per adcode (units listed at two levels keep the higher one), sorted."""
    missing = [c for c in PLACE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"places table lacks column(s) {missing}; expected {PLACE_COLUMNS}")
    out = frame[PLACE_COLUMNS].copy()
    out["adcode"] = out["adcode"].astype(str)
    out["_order"] = out["level"].map(LEVEL_RANK)
    out = out.sort_values(["_order", "adcode"], kind="stable").drop_duplicates("adcode")
    out = out.drop(columns="_order").sort_values("adcode").reset_index(drop=True)
    for col in ("province_adcode", "prefecture_adcode"):
        out[col] = out[col].where(out[col].notna() & (out[col] != out["adcode"]), None)
    return out.astype(object).where(out.notna(), None)


def _frame_sha(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def _meta_get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()


def _meta_set(conn: Connection, key: str, value: str) -> None:
    conn.execute(meta.delete().where(meta.c.key == key))
    conn.execute(meta.insert().values(key=key, value=value))


def bump_revision(conn: Connection) -> None:
    """Mark stored rows as changed. Writers that UPDATE rows in place must call this."""
    current = int(_meta_get(conn, "revision") or 0)
    _meta_set(conn, "revision", str(current + 1))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


@dataclass
class Store:
    """An opened store. ``engine`` is public so importers can write batches themselves."""

    engine: Engine
    url: str

    # -- frames ---------------------------------------------------------------------------
    def _read(self, sql: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(text(sql), conn)

    def places_frame(self) -> pd.DataFrame:
        """Every place (one row per adcode), columns of the ``places`` table."""
        return self._read("SELECT * FROM places ORDER BY adcode")

    def batches_frame(self, include_undone: bool = False) -> pd.DataFrame:
        """Batches, newest first; undone ones only when asked (for an audit view)."""
        where = "" if include_undone else "WHERE undone_at IS NULL"
        frame = self._read(f"SELECT * FROM batches {where} ORDER BY id DESC")
        return frame

    def pairings_frame(self) -> pd.DataFrame:
        """Pairings of batches not undone, with donor/recipient names and ``batch_kind``."""
        frame = self._read(
            """
            SELECT p.*, b.kind AS batch_kind,
                   rp.name_zh AS recipient_name_zh, rp.name_en AS recipient_name_en,
                   dp.name_zh AS donor_name_zh, dp.name_en AS donor_name_en,
                   dp.level AS donor_level
            FROM pairings p
            JOIN batches b ON b.id = p.batch_id
            LEFT JOIN places rp ON rp.adcode = p.recipient_adcode
            LEFT JOIN places dp ON dp.adcode = p.donor_adcode
            WHERE b.undone_at IS NULL
            ORDER BY p.id
            """
        )
        return _typed(frame, ints=("id", "batch_id", "row_number", "start_year", "end_year"))

    def figures_frame(self) -> pd.DataFrame:
        """Figures of batches not undone, with names, parents' adcodes and ``batch_kind``.

        ``recipient_province_adcode`` / ``recipient_prefecture_adcode`` (and the donor's
        province) come from ``places``: for a province or prefecture they are the place itself.
        """
        frame = self._read(
            """
            SELECT f.*, b.kind AS batch_kind,
                   rp.name_zh AS recipient_name_zh, rp.name_en AS recipient_name_en,
                   CASE WHEN rp.level = 'province' THEN rp.adcode ELSE rp.province_adcode END
                       AS recipient_province_adcode,
                   CASE WHEN rp.level = 'prefecture' THEN rp.adcode
                        WHEN rp.level = 'county' THEN rp.prefecture_adcode END
                       AS recipient_prefecture_adcode,
                   dp.name_zh AS donor_name_zh, dp.name_en AS donor_name_en,
                   dp.level AS donor_level,
                   CASE WHEN dp.level = 'province' THEN dp.adcode ELSE dp.province_adcode END
                       AS donor_province_adcode
            FROM figures f
            JOIN batches b ON b.id = f.batch_id
            LEFT JOIN places rp ON rp.adcode = f.recipient_adcode
            LEFT JOIN places dp ON dp.adcode = f.donor_adcode
            WHERE b.undone_at IS NULL
            ORDER BY f.id
            """
        )
        frame = _typed(frame, ints=("id", "batch_id", "row_number", "period_start", "period_end"))
        frame["is_context"] = frame["is_context"].astype(bool)
        frame["value"] = frame["value"].astype(float)
        return frame

    # -- summaries ------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counts of what the store holds (active batches only); see README for the terms.

        ``drawn`` says where each figure and pairing is shown (issue #10): ``place`` (its
        recipient's unit), ``group`` (a group or list of places: outlined, in every
        member's detail), ``donor_side`` (with its donor), ``xpcc_point`` (a division of
        the XPCC, at its seat); ``not_shown`` counts the rest and ``not_shown_rows`` lists
        each with its reason. ``unresolved_*`` count the not shown ones."""
        sql = f"""
            SELECT
              (SELECT count(*) FROM places) AS places,
              (SELECT count(*) FROM pairings p JOIN batches b ON b.id = p.batch_id
                 WHERE b.undone_at IS NULL) AS pairings,
              (SELECT count(*) FROM figures f JOIN batches b ON b.id = f.batch_id
                 WHERE b.undone_at IS NULL) AS figures,
              (SELECT count(*) FROM pairings p JOIN batches b ON b.id = p.batch_id
                 WHERE b.undone_at IS NULL AND {_PAIRING_NOT_SHOWN})
                 AS unresolved_pairings,
              (SELECT count(*) FROM figures f JOIN batches b ON b.id = f.batch_id
                 WHERE b.undone_at IS NULL AND {_FIGURE_NOT_SHOWN})
                 AS unresolved_figures,
              (SELECT count(*) FROM figures f JOIN batches b ON b.id = f.batch_id
                 WHERE b.undone_at IS NULL AND f.is_context) AS context_figures,
              (SELECT count(*) FROM batches WHERE undone_at IS NULL) AS batches,
              (SELECT count(*) FROM batches WHERE undone_at IS NULL AND kind = 'import')
                 AS import_batches,
              (SELECT count(*) FROM batches WHERE undone_at IS NOT NULL) AS undone_batches
        """
        with self.engine.connect() as conn:
            row = conn.execute(text(sql)).mappings().one()
            version = _meta_get(conn, "schema_version")
        out = {k: int(v) for k, v in row.items()}
        drawn, not_shown = self._drawn()
        out = {
            "places": out["places"],
            "pairings": out["pairings"],
            "figures": out["figures"],
            "unresolved": out["unresolved_pairings"] + out["unresolved_figures"],
            **{k: v for k, v in out.items() if k not in ("places", "pairings", "figures")},
            "drawn": drawn,
            "not_shown": len(not_shown),
            "not_shown_rows": not_shown,
            "schema_version": int(version or 0),
            "data_version": self.data_version(),
        }
        return out

    def _drawn(self) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]]]:
        active = "batch_id IN (SELECT id FROM batches WHERE undone_at IS NULL)"
        figure_kind = f"""CASE WHEN donor_side AND donor_adcode IS NOT NULL THEN 'donor_side'
                  WHEN donor_side THEN NULL
                  WHEN recipient_adcode IS NOT NULL THEN 'place'
                  WHEN scope_group LIKE '{XPCC_LIKE}' THEN 'xpcc_point'
                  WHEN scope_group IS NOT NULL THEN 'group' END"""
        pairing_kind = """CASE WHEN recipient_adcode IS NOT NULL THEN 'place'
                  WHEN recipient_division IS NOT NULL THEN 'xpcc_point' END"""
        drawn: dict[str, dict[str, int]] = {}
        rows: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for table, kind, text_col in (
                ("figures", figure_kind, "recipient"),
                (
                    "pairings",
                    pairing_kind,
                    "COALESCE(recipient_county, recipient_prefecture, recipient_province)",
                ),
            ):
                counts = {"place": 0, "group": 0, "donor_side": 0, "xpcc_point": 0}
                if table == "pairings":
                    counts = {"place": 0, "xpcc_point": 0}
                for k, n in conn.execute(
                    text(f"SELECT {kind} AS k, COUNT(*) FROM {table} WHERE {active} GROUP BY k")
                ):
                    if k is not None:
                        counts[str(k)] = int(n)
                drawn[table] = counts
                for rid, batch, number, cell, reason in conn.execute(
                    text(
                        f"SELECT id, batch_id, row_number, {text_col}, unresolved_reason "
                        f"FROM {table} WHERE {active} AND ({kind}) IS NULL ORDER BY id"
                    )
                ):
                    rows.append(
                        {
                            "kind": table[:-1],
                            "id": int(rid),
                            "batch_id": int(batch),
                            "row_number": number,
                            "text": cell,
                            "reason": reason
                            or "donor-side, but the donor is not a place (nowhere to show it)",
                        }
                    )
        return drawn, rows

    def data_version(self) -> str:
        """A short token that changes whenever stored rows change (key caches on it).

        Built from the batches (count, highest id, undo marks) and the ``revision``
        counter in ``meta``, which every writer bumps (``derive.refresh`` does, and is run
        by every write): no scan of the figures, so it costs the same at 10 M rows.
        """
        sql = """
            SELECT (SELECT count(*) FROM batches), (SELECT max(id) FROM batches),
                   (SELECT count(undone_at) FROM batches),
                   (SELECT max(undone_at) FROM batches),
                   (SELECT value FROM meta WHERE key = 'revision'),
                   (SELECT value FROM meta WHERE key = 'places_sha256')
        """
        with self.engine.connect() as conn:
            row = conn.execute(text(sql)).one()
        return hashlib.sha256(repr(tuple(row)).encode()).hexdigest()[:16]

    def dispose(self) -> None:
        """Close pooled connections (tests copy SQLite files; servers shut down)."""
        self.engine.dispose()


def _typed(frame: pd.DataFrame, ints: tuple[str, ...]) -> pd.DataFrame:
    for col in ints:
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col]).astype("Int64")
    return frame


def _display_path(path: Path) -> str:
    """Project-relative when inside the project, so stores do not record a checkout path."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _default_places() -> pd.DataFrame:
    from twinning.geo.boundaries import places_table

    return places_table()


def _seed_places(conn: Connection, frame: pd.DataFrame, sha: str) -> bool:
    if _meta_get(conn, "places_sha256") == sha:
        return False
    conn.execute(places.delete())
    conn.execute(places.insert(), _records(frame))
    _meta_set(conn, "places_sha256", sha)
    return True


def _seed_reference(
    conn: Connection, fingerprint: str, reference_dir: Path, gazetteer_factory
) -> bool:
    current = conn.execute(
        select(batches.c.id, batches.c.sha256).where(batches.c.kind == "reference")
    ).all()
    if len(current) == 1 and current[0].sha256 == fingerprint:
        return False
    from twinning.reference import load_reference  # imports the gazetteer lazily

    data = load_reference(reference_dir, gazetteer_factory())
    old_ids = [row.id for row in current]
    if old_ids:
        derive.delete_scopes(conn, old_ids)
        conn.execute(pairings.delete().where(pairings.c.batch_id.in_(old_ids)))
        conn.execute(figures.delete().where(figures.c.batch_id.in_(old_ids)))
        conn.execute(batches.delete().where(batches.c.id.in_(old_ids)))
    batch_id = conn.execute(
        batches.insert().values(
            kind="reference",
            user=REFERENCE_USER,
            created_at=datetime.now(UTC),
            file_name="pairings.csv + figures.csv",
            sha256=fingerprint,
            row_count=len(data.pairings) + len(data.figures),
            stored_path=_display_path(reference_dir),
            mapping_json=json.dumps({"files": data.files}, ensure_ascii=False),
        )
    ).inserted_primary_key[0]
    p = data.pairings.assign(batch_id=batch_id)
    f = data.figures.assign(batch_id=batch_id)
    # derived columns are left to derive.refresh (called by open_store after seeding)
    conn.execute(pairings.insert(), _records(p[[c for c in _stored(pairings) if c in p]]))
    conn.execute(figures.insert(), _records(f[[c for c in _stored(figures) if c in f]]))
    if "scope_members" in f:
        scope_rows = [
            (int(n), *m)
            for n, members in zip(f["row_number"], f["scope_members"], strict=True)
            for m in members
        ]
        derive.write_scopes(conn, batch_id, scope_rows)
    return True


def _stored(table) -> list[str]:
    return [c.name for c in table.c if c.name != "id"]


# Any constant: PostgreSQL advisory locks are keyed by a 64-bit integer per database.
SEED_LOCK_KEY = 0x7477696E6E696E67  # "twinning"


def _lock_for_seeding(conn) -> None:
    """Serialise migration and seeding between processes starting at once (gunicorn
    workers). SQLite: the transaction began IMMEDIATE (a write lock). PostgreSQL: a
    transaction-scoped advisory lock, released at commit or rollback."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY})


def open_store(
    url: str | None = None,
    *,
    reference_dir: Path | str | None = None,
    places_frame: pd.DataFrame | None = None,
    gazetteer=None,
) -> Store:
    """Open (create, migrate, seed) the store at ``url`` (default: TWINNING_DATABASE_URL).

    The keyword arguments exist for tests and tools: another reference folder, or a
    places table / gazetteer other than the shipped boundaries. Raises
    ``ReferenceDataError`` (nothing stored) if the reference files are invalid.
    """
    url = url or settings.get("TWINNING_DATABASE_URL")
    reference_dir = Path(reference_dir) if reference_dir is not None else REFERENCE_DIR
    injected_places = places_frame is not None
    if places_frame is None:
        places_frame = gazetteer.places_frame() if gazetteer is not None else _default_places()
    store_places = _places_frame_for_store(places_frame)
    places_sha = _frame_sha(store_places)

    from twinning.reference import reference_sha256

    fingerprint = hashlib.sha256(
        f"{reference_sha256(reference_dir)}:{places_sha}:{migrate.SEED_VERSION}".encode()
    ).hexdigest()

    def gazetteer_factory():
        if gazetteer is not None:
            return gazetteer
        from twinning.gazetteer import Gazetteer

        return Gazetteer(places_frame) if injected_places else Gazetteer.default()

    engine = create_store_engine(url)
    give_up = time.monotonic() + OPEN_WAIT_SECONDS
    waited = False
    try:
        while True:
            try:
                with engine.connect() as conn:
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                    with conn.begin():
                        _lock_for_seeding(conn)
                        before, after = migrate.upgrade(conn)
                        places_changed = _seed_places(conn, store_places, places_sha)
                        levels_missing = conn.execute(
                            text("SELECT 1 FROM place_levels LIMIT 1")
                        ).first()
                        places_changed |= levels_missing is None
                        if places_changed:
                            derive.seed_place_levels(conn, places_frame)
                        changed = _seed_reference(
                            conn, fingerprint, reference_dir, gazetteer_factory
                        )
                        if places_changed or changed or migrate.needs_derive(before, after):
                            derive.refresh(conn)
                        changed |= places_changed or before != after
                        if changed:
                            bump_revision(conn)
                break
            except OperationalError as exc:
                # Another process holds the store's write lock for longer than the busy
                # timeout: most often a worker upgrading or re-seeding a large store while
                # the other workers start (gunicorn -w 4). Wait for it; nothing was written.
                if "locked" not in str(exc) or time.monotonic() > give_up:
                    raise
                if not waited:
                    print(
                        "another process is writing the store (an upgrade of a large store "
                        "takes minutes); waiting for it",
                        file=sys.stderr,
                    )
                    waited = True
                time.sleep(1.0)
    except BaseException:
        engine.dispose()
        raise
    store = Store(engine=engine, url=url)
    if changed:  # seeded, migrated or re-seeded: the summary's snapshot for the new version
        from twinning.query.summary import refresh_snapshot

        refresh_snapshot(store)
    return store


def cli_stats(args: argparse.Namespace) -> int:
    """`twinning stats [--json]`: counts of what the store holds."""
    from twinning.reference import ReferenceDataError

    try:
        store = open_store()
    except (ReferenceDataError, migrate.SchemaTooNew, FileNotFoundError) as exc:
        print(f"cannot open the store: {exc}", file=sys.stderr)
        return 1
    try:
        stats = store.stats()
    finally:
        store.dispose()
    if getattr(args, "json", False):
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    width = max(len(k) for k in stats)
    print(f"store: {make_url(store.url).render_as_string(hide_password=True)}")
    for key, value in stats.items():
        print(f"  {key.ljust(width)}  {value}")
    return 0
