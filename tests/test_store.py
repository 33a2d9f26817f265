"""The store: created, migrated and seeded in one transaction, idempotently."""

from __future__ import annotations

import csv
import json
import shutil
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from test_import_support import count

from twinning.geo.boundaries import places_table
from twinning.paths import REFERENCE_DIR
from twinning.reference import PRIMARY_DOCUMENTS, ReferenceDataError
from twinning.store import Store, cli_stats, open_store
from twinning.store import migrate as migrate_mod
from twinning.store.schema import SCHEMA_VERSION, batches, figures, metadata, pairings


def _add_import_batch(store: Store) -> int:
    """Write an import batch the way the importer does: straight through the engine."""
    with store.engine.begin() as conn:
        batch_id = conn.execute(
            batches.insert().values(
                kind="import",
                user="tester",
                created_at=datetime.now(UTC),
                file_name="mine.csv",
                sha256="0" * 64,
                row_count=1,
            )
        ).inserted_primary_key[0]
        conn.execute(
            figures.insert().values(
                batch_id=batch_id,
                row_number=1,
                donor="上海市",
                recipient="莎车县",
                donor_adcode="310000",
                recipient_adcode="653125",
                recipient_level="county",
                period_start=2020,
                period_end=2020,
                metric="funds_cny",
                value=1_000_000.0,
                unit="CNY",
                quote="test",
                source="mine.csv",
                confidence="imported",
                is_context=False,
            )
        )
    return batch_id


# -- opening and seeding ------------------------------------------------------------------
def test_seeded_store_counts(reference_store: Store) -> None:
    stats = reference_store.stats()
    assert stats["places"] == len(places_table())
    assert stats["pairings"] == 218
    assert stats["figures"] == 256
    assert stats["unresolved_pairings"] == 0  # the 7 XPCC rows are drawn at their seats (#10)
    assert stats["drawn"]["pairings"] == {"place": 211, "xpcc_point": 7}
    assert stats["not_shown"] == 0 and stats["not_shown_rows"] == []
    assert stats["unresolved"] == stats["unresolved_pairings"] + stats["unresolved_figures"]
    assert stats["batches"] == 1 and stats["import_batches"] == 0
    assert stats["schema_version"] == SCHEMA_VERSION


def test_all_document_figures_are_stored_with_their_exact_quote(reference_store: Store) -> None:
    with (REFERENCE_DIR / "figures.csv").open(encoding="utf-8", newline="") as fh:
        raw = [r for r in csv.DictReader(fh) if r["source"].startswith(PRIMARY_DOCUMENTS)]
    stored = reference_store.figures_frame()
    stored = stored[stored["source"].str.startswith(PRIMARY_DOCUMENTS)]
    assert len(raw) == len(stored) == 115
    pairs = set(zip(stored["quote"], stored["value_original"], strict=True))
    for row in raw:
        assert (row["quote"], row["value"]) in pairs


def test_frames_carry_names_kind_and_parents(reference_store: Store) -> None:
    p = reference_store.pairings_frame()
    row = p[p["recipient_adcode"] == "653125"].iloc[0]
    assert row["recipient_name_zh"] == "莎车县"
    assert row["recipient_name_en"] == "Shache County"
    assert row["donor_name_zh"] == "浦东新区"
    assert row["batch_kind"] == "reference"
    assert str(p["start_year"].dtype) == "Int64"
    f = reference_store.figures_frame()
    row = f[f["recipient_adcode"] == "653125"].iloc[0]
    assert row["recipient_prefecture_adcode"] == "653100"
    assert row["recipient_province_adcode"] == "650000"
    assert f["is_context"].dtype == bool
    assert set(f["qualifier"]) <= {"exact", "lower_bound", "approx"}
    places = reference_store.places_frame()
    assert places["adcode"].is_unique and len(places) == len(places_table())


def test_second_open_adds_nothing(store: Store) -> None:
    before = (store.data_version(), count(store, "pairings"), count(store, "batches"))
    again = open_store(store.url)
    try:
        after = (again.data_version(), count(again, "pairings"), count(again, "batches"))
    finally:
        again.dispose()
    assert before == after


def test_changed_reference_replaces_the_reference_batch_only(store: Store, tmp_path: Path) -> None:
    import_id = _add_import_batch(store)
    version = store.data_version()
    folder = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, folder)
    lines = (folder / "pairings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "pairings.csv").write_text("".join(lines[:-1]), encoding="utf-8")  # drop a row
    reopened = open_store(store.url, reference_dir=folder)
    try:
        b = reopened.batches_frame()
        assert sorted(b["kind"]) == ["import", "reference"]
        assert import_id in set(b["id"])
        assert len(reopened.pairings_frame()) == 217
        assert len(reopened.figures_frame()) == 256 + 1
        assert reopened.data_version() != version
    finally:
        reopened.dispose()


def test_invalid_reference_stores_nothing_in_a_new_store(tmp_path: Path) -> None:
    folder = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, folder)
    text_ = (folder / "figures.csv").read_text(encoding="utf-8")
    (folder / "figures.csv").write_text(text_.replace(",20,groups,", ",twenty,groups,"), "utf-8")
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    with pytest.raises(ReferenceDataError) as info:
        open_store(url, reference_dir=folder)
    assert "figures.csv, row 4 (line 5), column value: 'twenty'" in str(info.value)
    engine = create_engine(url)
    try:
        assert inspect(engine).get_table_names() == []  # even the DDL was rolled back
    finally:
        engine.dispose()


def test_invalid_reference_leaves_an_existing_store_as_it_was(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, folder)
    text_ = (folder / "pairings.csv").read_text(encoding="utf-8")
    (folder / "pairings.csv").write_text(text_.replace("1996,2016,", "2017,2016,", 1), "utf-8")
    before = store.data_version()
    with pytest.raises(ReferenceDataError, match="column start_year: '2017'"):
        open_store(store.url, reference_dir=folder)
    assert store.data_version() == before
    assert count(store, "pairings") == 218


def test_undone_import_batch_drops_out_of_frames(store: Store) -> None:
    batch_id = _add_import_batch(store)
    assert len(store.figures_frame()) == 257
    assert store.stats()["import_batches"] == 1
    version = store.data_version()
    with store.engine.begin() as conn:
        conn.execute(
            batches.update()
            .where(batches.c.id == batch_id)
            .values(undone_at=datetime.now(UTC), undone_by="tester")
        )
    assert len(store.figures_frame()) == 256
    assert store.data_version() != version
    assert batch_id not in set(store.batches_frame()["id"])
    assert batch_id in set(store.batches_frame(include_undone=True)["id"])


def test_sqlite_pragmas(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"), store.engine.begin() as conn:
        conn.execute(
            pairings.insert().values(
                batch_id=9999, program="other", donor_province="上海市", source="x", confidence="x"
            )
        )


def test_default_url_comes_from_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "sub" / "dir" / "atlas.sqlite"
    monkeypatch.setenv("TWINNING_DATABASE_URL", f"sqlite:///{path}")
    opened = open_store()
    try:
        assert path.exists()  # the folder was created
        assert opened.stats()["pairings"] == 218
    finally:
        opened.dispose()


# -- migrations ---------------------------------------------------------------------------
def _old_store(url: str, version: int) -> None:
    """A store as an older atlas wrote it: v2 lacks the derived columns and tables, v1 also
    resolution_note; v0 also lacks meta."""
    engine = create_engine(url)
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.exec_driver_sql("DROP INDEX ix_figures_shown")  # v7 lacks it (#7)
        if version == 7:
            _stamp_old(conn, version)
            engine.dispose()
            return
        conn.exec_driver_sql("DROP INDEX ix_figures_spans_donor")  # v6 lacks it (#7)
        if version == 6:
            _stamp_old(conn, version)
            engine.dispose()
            return
        conn.exec_driver_sql("DROP TABLE tour_stops")  # v5 lacks the tours (#9)
        conn.exec_driver_sql("DROP TABLE tours")
        if version == 5:
            _stamp_old(conn, version)
            engine.dispose()
            return
        conn.exec_driver_sql("ALTER TABLE figures DROP COLUMN project")  # v4 lacks them (#11)
        conn.exec_driver_sql("ALTER TABLE figures DROP COLUMN part")
        if version == 4:
            _stamp_old(conn, version)
            engine.dispose()
            return
        conn.exec_driver_sql("DROP TABLE figure_scopes")  # v3 lacks the scopes (#10)
        conn.exec_driver_sql("DROP INDEX ix_figures_donor_side")
        conn.exec_driver_sql("DROP INDEX ix_figures_donor_side_unit")
        conn.exec_driver_sql("ALTER TABLE figures DROP COLUMN scope_group")
        conn.exec_driver_sql("ALTER TABLE figures DROP COLUMN donor_side")
        conn.exec_driver_sql("ALTER TABLE pairings DROP COLUMN recipient_division")
        if version == 3:
            _stamp_old(conn, version)
            engine.dispose()
            return
        for index in (
            "ix_figures_metric_r_province",
            "ix_figures_spans",
            "ix_figures_r_prefecture",
            "ix_figures_r_county",
            "ix_pairings_r_province",
        ):
            conn.exec_driver_sql(f"DROP INDEX {index}")
        conn.exec_driver_sql("DROP TABLE place_levels")
        conn.exec_driver_sql("DROP TABLE figure_totals")
        for table in ("pairings", "figures"):
            for col in ("r_province", "r_prefecture", "r_county", "donor_key", "donor_unit_key"):
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {col}")
        conn.exec_driver_sql("ALTER TABLE figures DROP COLUMN counted")
        if version < 2:
            conn.exec_driver_sql("ALTER TABLE pairings DROP COLUMN resolution_note")
            conn.exec_driver_sql("ALTER TABLE figures DROP COLUMN resolution_note")
        if version == 0:
            conn.exec_driver_sql("DROP TABLE meta")
        _stamp_old(conn, version)
    engine.dispose()


def _stamp_old(conn, version: int) -> None:
    """The version stamp (none for v0) and the rows an older atlas had stored."""
    if version:
        conn.exec_driver_sql(
            f"INSERT INTO meta (key, value) VALUES ('schema_version', '{version}')"
        )
    conn.exec_driver_sql(
        "INSERT INTO batches (id, kind, user, created_at, file_name, sha256, row_count) "
        "VALUES (7, 'import', 'old', '2024-01-01 00:00:00', 'old.csv', 'abc', 1)"
    )
    conn.exec_driver_sql(
        "INSERT INTO pairings (batch_id, program, donor_province, recipient_adcode, "
        "recipient_level, source, confidence) "
        "VALUES (7, 'other', '上海市', '653125', 'county', 'old.csv', 'imported')"
    )
    conn.exec_driver_sql(
        "INSERT INTO figures (batch_id, donor, recipient, metric, value, unit, source, "
        "confidence, is_context) VALUES (7, '上海市', '万州区, 夷陵区', 'funds_cny', 1, "
        "'yuan', 'old.csv', 'imported', 0)"
    )


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5, 6, 7])
def test_older_store_is_upgraded_without_losing_rows(tmp_path: Path, version: int) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    _old_store(url, version)
    opened = open_store(url)
    try:
        with opened.engine.connect() as conn:
            assert migrate_mod.stored_version(conn) == SCHEMA_VERSION
            cols = {c["name"] for c in inspect(conn).get_columns("pairings")}
        assert "resolution_note" in cols
        p = opened.pairings_frame()
        old = p[p["batch_id"] == 7]
        assert len(old) == 1 and old.iloc[0]["recipient_name_zh"] == "莎车县"
        assert len(p) == 218 + 1
        # the query layer's derived columns and summary are filled for old rows too
        with opened.engine.connect() as conn:
            r_county = conn.exec_driver_sql(
                "SELECT r_county, r_province FROM pairings WHERE batch_id = 7"
            ).one()
            totals = conn.exec_driver_sql("SELECT COUNT(*) FROM figure_totals").scalar()
        assert tuple(r_county) == ("653125", "650000")
        assert totals > 0
        # v4 (#10): the reference figures' scopes are stored; an old import keeps its text
        f = opened.figures_frame()
        old_figure = f[f["batch_id"] == 7].iloc[0]
        assert old_figure["recipient"] == "万州区, 夷陵区" and not old_figure["donor_side"]
        # v5 (#11): a figure's project and part; old rows have neither
        assert old_figure["project"] is None and old_figure["part"] is None
        with opened.engine.connect() as conn:
            members = conn.exec_driver_sql(
                "SELECT s.member FROM figure_scopes s JOIN figures f ON f.id = s.figure_id "
                "WHERE f.recipient = '林芝市, 昌都市' AND s.side = 'recipient'"
            ).scalars()
            assert sorted(members) == ["540300", "540400"]
            indexes = {i["name"] for i in inspect(conn).get_indexes("figures")}
            assert {"ix_figures_donor_side", "ix_figures_donor_side_unit"} <= indexes
            # v7, v8 (#7): a donor's period figures and a metric's shown figures by index
            assert {"ix_figures_spans_donor", "ix_figures_shown"} <= indexes
            # v6 (#9): the presenter's tours, empty
            assert {"tours", "tour_stops"} <= set(inspect(conn).get_table_names())
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM tours").scalar() == 0
    finally:
        opened.dispose()


def test_an_index_only_upgrade_neither_re_seeds_nor_derives_again(
    tmp_path: Path, monkeypatch
) -> None:
    """v6 -> v8 adds two indexes: the reference batch and the derived rows stay (a store
    of 10 M figures derived again for 20 minutes for it), the indexes are there (#7)."""
    from twinning.store import derive

    url = f"sqlite:///{tmp_path / 'v6.sqlite'}"
    open_store(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_figures_spans_donor")
        conn.exec_driver_sql("DROP INDEX ix_figures_shown")
        conn.exec_driver_sql("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
        batch = conn.exec_driver_sql("SELECT id FROM batches WHERE kind = 'reference'").scalar()
    engine.dispose()

    def no_derive(*args, **kwargs):
        raise AssertionError("derived again for an index")

    monkeypatch.setattr(derive, "refresh", no_derive)
    opened = open_store(url)
    try:
        with opened.engine.connect() as conn:
            assert migrate_mod.stored_version(conn) == SCHEMA_VERSION
            indexes = {i["name"] for i in inspect(conn).get_indexes("figures")}
            assert {"ix_figures_spans_donor", "ix_figures_shown"} <= indexes
            again = conn.exec_driver_sql("SELECT id FROM batches WHERE kind = 'reference'").scalar()
        assert again == batch
    finally:
        opened.dispose()
    assert migrate_mod.needs_derive(5, 7) and migrate_mod.needs_derive(None, 7)
    assert not migrate_mod.needs_derive(6, 7) and not migrate_mod.needs_derive(6, 8)


def test_newer_store_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    opened = open_store(url)
    with opened.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'"
        )
    opened.dispose()
    with pytest.raises(migrate_mod.SchemaTooNew, match="upgrade the twinning package"):
        open_store(url)


# -- CLI ---------------------------------------------------------------------------------
def test_cli_stats_json(store: Store, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TWINNING_DATABASE_URL", store.url)
    assert cli_stats(Namespace(json=True)) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"places", "pairings", "figures", "unresolved"} <= set(data)
    assert (data["pairings"], data["figures"]) == (218, 256)


def test_cli_stats_table(store: Store, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TWINNING_DATABASE_URL", store.url)
    assert cli_stats(Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert "pairings" in out and "218" in out


def test_concurrent_first_opens_seed_once(tmp_path: Path) -> None:
    """Two workers starting at once (gunicorn): BEGIN IMMEDIATE serialises the seeding."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        stores = list(pool.map(lambda _: open_store(url), range(2)))
    try:
        assert len(stores[0].batches_frame()) == 1
        assert stores[0].data_version() == stores[1].data_version()
        assert count(stores[0], "pairings") == 218
    finally:
        for opened in stores:
            opened.dispose()


def test_cli_stats_reports_bad_reference_without_traceback(
    monkeypatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, folder)
    text_ = (folder / "pairings.csv").read_text(encoding="utf-8")
    (folder / "pairings.csv").write_text(text_.replace("seen_in_source", "maybe", 1), "utf-8")
    monkeypatch.setattr("twinning.store.db.REFERENCE_DIR", folder)
    monkeypatch.setenv("TWINNING_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert cli_stats(Namespace(json=True)) == 1
    err = capsys.readouterr().err
    assert "pairings.csv, row 1 (line 2), column confidence: 'maybe'" in err


def test_opening_waits_for_another_process_that_holds_the_write_lock(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker upgrading a large store holds its write lock for minutes; its siblings wait
    for it instead of failing to boot with "database is locked"."""
    import sqlite3
    import threading
    import time

    from twinning.store import db

    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    open_store(url).dispose()
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)  # the lock outlasts the busy timeout
    monkeypatch.setattr(db, "OPEN_WAIT_SECONDS", 60.0)
    holder = sqlite3.connect(
        tmp_path / "shared.sqlite", isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(2.0, holder.rollback)
    released.start()
    t0 = time.monotonic()
    try:
        store = open_store(url)
    finally:
        released.join()
        holder.close()
    try:
        assert time.monotonic() - t0 >= 1.5, "opened while another process held the lock"
        assert count(store, "pairings") == 218
        assert "waiting" in capsys.readouterr().err
    finally:
        store.dispose()
