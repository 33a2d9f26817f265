"""Bring a store of any earlier schema version up to ``SCHEMA_VERSION`` without losing rows.

A store records its version in ``meta`` (key ``schema_version``). Versions:

- 0: a store written before versioning (tables, but no ``meta`` table or row);
- 1: the first versioned layout (the project skeleton);
- 2: ``pairings.resolution_note`` and ``figures.resolution_note`` added;
- 3: derived columns (``r_*``, ``donor_key``, ``donor_unit_key``, ``figures.counted``) and
  the tables ``place_levels`` and ``figure_totals``; ``open_store`` fills them
  (``twinning.store.derive``) after the upgrade.
- 4: scopes of several places (issue #10): ``figures.scope_group``, ``figures.donor_side``,
  ``pairings.recipient_division`` and the table ``figure_scopes``; ``open_store`` re-seeds the
  reference batch (its fingerprint includes the schema version), which fills them.
- 5: ``figures.project`` and ``figures.part`` (registers, issue #11).
- 6: the tables ``tours`` and ``tour_stops`` (presenter tours, issue #9).
- 7: the index ``ix_figures_spans_donor`` (a donor's period figures, issue #7).
- 8: the index ``ix_figures_shown`` (table pages of a metric's figures, issue #7).

Each step is idempotent (it checks before it adds) and runs inside the caller's
transaction, so a failed upgrade leaves the store as it was. To change a table: edit
``schema.py``, bump ``SCHEMA_VERSION``, add a step here, and add a test that upgrades
a store of the previous version.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text

from twinning.store.schema import SCHEMA_VERSION, meta, metadata


class SchemaTooNew(RuntimeError):
    """The store was written by a newer version of the atlas than this one."""


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def _add_column(conn: Connection, table: str, column: str, ddl_type: str) -> None:
    if column not in _columns(conn, table):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl_type}"))


def _to_v1(conn: Connection) -> None:
    """Add the tables a pre-versioning store lacks (``meta`` at least); keep the others."""
    metadata.create_all(conn, checkfirst=True)


def _to_v2(conn: Connection) -> None:
    """Keep, per row, how its places were reached (a town resolved to its city ...)."""
    _add_column(conn, "pairings", "resolution_note", "TEXT")
    _add_column(conn, "figures", "resolution_note", "TEXT")


def _to_v3(conn: Connection) -> None:
    """Columns the query layer filters and groups on; filled by ``derive.refresh``."""
    for table in ("pairings", "figures"):
        for column in ("r_province", "r_prefecture", "r_county"):
            _add_column(conn, table, column, "VARCHAR(6)")
        _add_column(conn, table, "donor_key", "TEXT")
        _add_column(conn, table, "donor_unit_key", "TEXT")
    _add_column(conn, "figures", "counted", "BOOLEAN NOT NULL DEFAULT '1'")
    # rows imported before Place.recipient_columns: a province or prefecture recipient
    # carries its own code in its level's column, as reference rows always did (#8)
    conn.execute(
        text(
            "UPDATE pairings SET recipient_province_adcode = recipient_adcode "
            "WHERE recipient_level = 'province' AND recipient_province_adcode IS NULL"
        )
    )
    conn.execute(
        text(
            "UPDATE pairings SET recipient_prefecture_adcode = recipient_adcode "
            "WHERE recipient_level = 'prefecture' AND recipient_prefecture_adcode IS NULL"
        )
    )
    metadata.create_all(conn, checkfirst=True)  # place_levels, figure_totals
    for table in ("pairings", "figures"):
        for index in metadata.tables[table].indexes:  # create_all skips existing tables'
            if index.name not in _V4_INDEXES:  # on columns v4 adds
                index.create(conn, checkfirst=True)


_V4_INDEXES = {"ix_figures_donor_side", "ix_figures_donor_side_unit"}


def _to_v4(conn: Connection) -> None:
    """Scopes of several places (figure_scopes); imported rows keep their text."""
    _add_column(conn, "figures", "scope_group", "TEXT")
    _add_column(conn, "figures", "donor_side", "BOOLEAN NOT NULL DEFAULT '0'")
    _add_column(conn, "pairings", "recipient_division", "TEXT")
    metadata.create_all(conn, checkfirst=True)  # figure_scopes
    for table in ("figure_scopes", "figures"):  # and ix_figures_donor_side
        for index in metadata.tables[table].indexes:
            index.create(conn, checkfirst=True)


def _to_v5(conn: Connection) -> None:
    """A figure's project and part (registers, issue #11); old rows have neither."""
    _add_column(conn, "figures", "project", "TEXT")
    _add_column(conn, "figures", "part", "TEXT")


def _to_v6(conn: Connection) -> None:
    """Presenter tours (issue #9): two new tables, nothing else changes."""
    for name in ("tours", "tour_stops"):
        metadata.tables[name].create(conn, checkfirst=True)


def _to_v7(conn: Connection) -> None:
    """A donor's period figures by index (issue #7): one new index, no rows change."""
    for index in metadata.tables["figures"].indexes:
        if index.name == "ix_figures_spans_donor":
            index.create(conn, checkfirst=True)


def _to_v8(conn: Connection) -> None:
    """Table pages of a metric's figures by index (issue #7): one new index."""
    for index in metadata.tables["figures"].indexes:
        if index.name == "ix_figures_shown":
            index.create(conn, checkfirst=True)


# version reached -> step from the version before it
STEPS: dict[int, Callable[[Connection], None]] = {
    1: _to_v1,
    2: _to_v2,
    3: _to_v3,
    4: _to_v4,
    5: _to_v5,
    6: _to_v6,
    7: _to_v7,
    8: _to_v8,
}
assert max(STEPS) == SCHEMA_VERSION, "add a migration step when SCHEMA_VERSION changes"

# Steps that add an index and change no row: the store's derived columns and summaries
# stay as they are (at 10 M figures deriving them again took 20 minutes; the index, one).
INDEX_ONLY: frozenset[int] = frozenset({7, 8})

# The last schema version that changed what seeding the reference data writes: the
# reference batch's fingerprint names it, so an index-only step does not re-seed.
SEED_VERSION = 6
assert SEED_VERSION <= SCHEMA_VERSION


def needs_derive(before: int | None, after: int) -> bool:
    """Whether the steps from ``before`` to ``after`` leave rows to derive again."""
    if before is None:
        return True
    return any(v not in INDEX_ONLY for v in range(before + 1, after + 1))


def stored_version(conn: Connection) -> int | None:
    """The store's schema version; None for an empty database, 0 if it predates ``meta``."""
    tables = set(inspect(conn).get_table_names())
    if not tables & set(metadata.tables):
        return None
    if "meta" not in tables:
        return 0
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else 0


def _stamp(conn: Connection, version: int) -> None:
    conn.execute(meta.delete().where(meta.c.key == "schema_version"))
    conn.execute(meta.insert().values(key="schema_version", value=str(version)))


def upgrade(conn: Connection) -> tuple[int | None, int]:
    """Create or upgrade the schema in ``conn``'s transaction; return (before, after)."""
    before = stored_version(conn)
    if before is None:
        metadata.create_all(conn)
        _stamp(conn, SCHEMA_VERSION)
        return None, SCHEMA_VERSION
    if before > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the store has schema version {before}, newer than this atlas's {SCHEMA_VERSION}: "
            "upgrade the twinning package, or point TWINNING_DATABASE_URL at another store"
        )
    for version in range(before + 1, SCHEMA_VERSION + 1):
        STEPS[version](conn)
    metadata.create_all(conn, checkfirst=True)  # tables added by later versions
    if before != SCHEMA_VERSION:
        _stamp(conn, SCHEMA_VERSION)
    return before, SCHEMA_VERSION
