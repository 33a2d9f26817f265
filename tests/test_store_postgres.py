"""The store on PostgreSQL: the same data, seeding, imports and undo as on SQLite.

A throwaway PostgreSQL cluster is started for this module (Debian's ``postgresql``
package, installed by ``bash scripts/test.sh``) on a free loopback port, in a temporary
folder, and stopped at the end; every test gets its own database. PostgreSQL missing is
a failure that names the install command, never a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect, text
from test_import_support import count

from twinning.paths import REFERENCE_DIR
from twinning.reference import ReferenceDataError
from twinning.store import open_store

INSTALL = "bash scripts/test.sh (it installs Debian's postgresql and psycopg)"
TESTS = Path(__file__).resolve().parent


def _bin(name: str) -> str:
    """A PostgreSQL server program: Debian keeps them under /usr/lib/postgresql/N/bin."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found[-1]:
        pytest.fail(f"PostgreSQL's {name} not found. Run {INSTALL}.", pytrace=False)
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """URL prefix of a running throwaway server (``postgresql+psycopg://…:port/``)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail(f"psycopg is not installed. Run {INSTALL}.", pytrace=False)
    # not pytest's tmp folder: its parents are private to root, and as root the server
    # runs as `postgres` (it refuses to run as root), which must reach its data folder
    root = Path(tempfile.mkdtemp(prefix="twinning-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port, log = root / "data", _free_port(), root / "server.log"
    pg_ctl = [*as_user, _bin("pg_ctl"), "-D", str(data)]
    steps = [
        [*as_user, _bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-N"],
        [*pg_ctl, "-o", f"-k {root} -p {port} -h 127.0.0.1 -F", "-l", str(log), "-w", "start"],
    ]
    try:
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode:
                server_log = log.read_text() if log.exists() else ""
                pytest.fail(
                    f"PostgreSQL would not start ({' '.join(step)}): {done.stderr}{server_log}",
                    pytrace=False,
                )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(postgres: str) -> Iterator[str]:
    """A new, empty database on the throwaway server."""
    name = f"atlas_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in ("id", "batch_id") if c in frame.columns])
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.sort_values(list(frame.columns), key=lambda c: c.astype(str)).reset_index(
        drop=True
    )


def test_seeded_postgres_store_holds_what_sqlite_holds(pg_url: str, reference_store) -> None:
    store = open_store(pg_url)
    try:
        assert store.stats() == reference_store.stats()
        assert store.data_version() == reference_store.data_version()
        for frame in ("pairings_frame", "figures_frame", "places_frame"):
            ours, theirs = getattr(store, frame)(), getattr(reference_store, frame)()
            pd.testing.assert_frame_equal(_sorted(ours), _sorted(theirs), check_dtype=False)
    finally:
        store.dispose()


def test_concurrent_first_opens_seed_once(pg_url: str) -> None:
    """Two gunicorn workers starting at once: the advisory lock serialises the seeding."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        stores = list(pool.map(lambda _: open_store(pg_url), range(2)))
    try:
        assert count(stores[0], "batches") == 1
        assert count(stores[0], "pairings") == 218
        assert stores[0].data_version() == stores[1].data_version()
    finally:
        for opened in stores:
            opened.dispose()


def test_import_and_undo_on_postgres(pg_url: str) -> None:
    from twinning.imports.keep import run_import, undo_batch

    store = open_store(pg_url)
    try:
        before = (count(store, "figures"), store.data_version())
        result = run_import(TESTS / "data" / "imports" / "good_utf8_wide.csv", store, user="t")
        assert result.ok and result.batch_id
        assert count(store, "figures") == before[0] + 6
        assert store.data_version() != before[1]
        undo_batch(store, result.batch_id, user="t")
        assert len(store.figures_frame()) == before[0]
        assert store.data_version() != before[1]  # a new version: caches must rebuild
    finally:
        store.dispose()


def test_invalid_reference_stores_nothing_in_a_new_postgres_database(
    pg_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "ref"
    shutil.copytree(REFERENCE_DIR, folder)
    text_ = (folder / "figures.csv").read_text(encoding="utf-8")
    (folder / "figures.csv").write_text(text_.replace(",20,groups,", ",twenty,groups,"), "utf-8")
    with pytest.raises(ReferenceDataError, match="column value: 'twenty'"):
        open_store(pg_url, reference_dir=folder)
    engine = create_engine(pg_url)
    try:
        assert inspect(engine).get_table_names() == []  # the DDL was rolled back too
    finally:
        engine.dispose()


def test_every_view_answers_on_postgres_as_on_sqlite(pg_url: str) -> None:
    """The query layer's SQL runs unchanged on PostgreSQL: the golden views match."""
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "golden"))
    from snapshot import VIEWS, snapshot

    from twinning import query

    golden = json.loads((Path(__file__).parent / "golden" / "reference_views.json").read_text())
    store = open_store(pg_url)
    try:
        data = query.AtlasData.from_store(store)
        for view in VIEWS[::3]:
            got = json.loads(json.dumps(snapshot(query, data, view), sort_keys=True))
            for part in ("place_values", "place_donors", "flows", "headlines", "series"):
                assert got[part] == golden["views"][view][part], f"{view}: {part}"
    finally:
        store.dispose()


def test_users_sessions_and_limits_on_postgres(pg_url: str) -> None:
    """twinning.auth's tables on PostgreSQL: sessions every worker sees, sign-out, limits."""
    from twinning.auth import Auth, User
    from twinning.store.db import create_store_engine

    first, second = create_store_engine(pg_url), create_store_engine(pg_url)
    try:
        auth, other_worker = Auth(first), Auth(second)
        auth.add_user("li", "importer", "correct horse")
        token = auth.sign_in("li", "correct horse", "10.0.0.1").token
        assert other_worker.session_user(token) == User("li", "importer")
        other_worker.end_session(token)
        assert auth.session_user(token) is None
        t0 = 1_000_000.0
        for i in range(3):
            assert auth.sign_in("li", "guess", "10.0.0.1", now=t0 + i).status == "failed"
        assert other_worker.sign_in("li", "correct horse", now=t0 + 2.5).status == "slow"
        assert auth.hit("export_addr", "10.0.0.1", 1, now=t0) == 0
        assert other_worker.hit("export_addr", "10.0.0.1", 1, now=t0 + 1) == 59
    finally:
        first.dispose()
        second.dispose()


def test_scopes_detail_outline_and_coverage_on_postgres(pg_url: str, reference_store) -> None:
    """Issue #10's SQL (scope table, shared figures, outlines, divisions, coverage) runs
    on PostgreSQL and answers as on SQLite."""
    from twinning import query
    from twinning.query import scopes
    from twinning.query.coverage import coverage

    store = open_store(pg_url)
    try:
        pg, lite = query.AtlasData.from_store(store), query.AtlasData.from_store(reference_store)
        f = query.Filters()
        for data in (pg, lite):
            data.__dict__["_answers"] = (
                sorted(scopes.shared_figures(data, f, "653100")["id"]),
                sorted(scopes.donor_side_figures(data, f, "310000")["id"]),
                scopes.divisions_in_view(data, query.Filters(level="county")),
                coverage(data, f).by_province,
            )
        assert pg.__dict__["_answers"] == lite.__dict__["_answers"]
        fid = pg.__dict__["_answers"][0][0]
        assert scopes.scope_outline(pg, fid, "county") == scopes.scope_outline(lite, fid, "county")
        ids = [int(i) for i in store.figures_frame()["id"]]
        assert scopes.figure_scopes(store, ids) == scopes.figure_scopes(reference_store, ids)
    finally:
        store.dispose()


def test_reconciled_headline_totals_are_the_same_on_postgres(pg_url: str, reference_store) -> None:
    """The reconciled totals (#10) read the figures and the summary alike on both."""
    from twinning import query
    from twinning.query.totals import _reconciled

    store = open_store(pg_url)
    try:
        pg = query.AtlasData.from_store(store)
        lite = query.AtlasData.from_store(reference_store)
        for f in (query.Filters(), query.Filters(recipient="650000"), query.Filters(year=2015)):
            for metric in query.MAIN_METRICS:
                a, b = _reconciled(pg, f, metric), _reconciled(lite, f, metric)
                assert a.chosen == b.chosen and a.n_figures == b.n_figures, (f, metric)
                assert a.at_least == pytest.approx(b.at_least), (f, metric)
    finally:
        store.dispose()


def test_registers_and_their_projects_on_postgres(pg_url: str, tmp_path, monkeypatch) -> None:
    """A register with merged headers and a project list (issue #11): the same totals, every
    equal-valued project and part counted, and a place's projects listed, on PostgreSQL."""
    import json

    from twinning.filters import Filters
    from twinning.imports.keep import run_import
    from twinning.query import AtlasData
    from twinning.query.projects import place_projects

    monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "uploads"))
    corpus = TESTS / "data" / "imports"
    expected = json.loads((corpus / "registers_expected.json").read_text(encoding="utf-8"))
    store = open_store(pg_url)
    try:
        for stem in ("reg_fund_plan", "reg_project_list"):
            result = run_import(corpus / f"{stem}.xlsx", store, user="t")
            assert result.ok, [p.line() for p in result.report.problems]
            with store.engine.connect() as conn:
                sums = dict(
                    conn.execute(
                        text(
                            "SELECT metric, SUM(value) FROM figures WHERE batch_id = :b "
                            "AND counted GROUP BY metric"
                        ),
                        {"b": result.batch_id},
                    ).all()
                )
            assert {m: round(v) for m, v in sums.items()} == expected[stem]["totals"]
        found = place_projects(AtlasData.from_store(store), Filters(lang="zh"), "532628")
        assert found.n >= 2 and all(p.startswith("富宁") for p in found.rows["project"])
    finally:
        store.dispose()


def test_tours_on_postgres(pg_url: str) -> None:
    """Presenter tours (#9): schema 6's tables, saved, reordered and read on PostgreSQL."""
    from twinning import tours
    from twinning.auth import User

    store = open_store(pg_url)
    try:
        draft = tours.Tour.from_dict(
            {
                "title_zh": "游览",
                "stops": [{"query": "metric=funds_cny", "title_zh": "甲"}, {"title_en": "B"}],
            }
        )
        saved = tours.save_tour(store, User("li", "importer"), draft)
        again = tours.save_tour(
            store, User("li", "importer"), tours.Tour("游览", "", saved.stops[::-1]), saved.id
        )
        assert [s.title("zh") for s in again.stops] == ["B", "甲"]
        assert tours.list_tours(store)[0]["stops"] == 2
        assert tours.delete_tour(store, User("root", "admin"), saved.id)
    finally:
        store.dispose()


_RAW_FIGURE_COLUMNS = (
    "row_number, program, donor, recipient, donor_adcode, recipient_adcode, recipient_level, "
    "period_start, period_end, metric, value, unit, value_original, unit_original, "
    "qualifier, quote, source, confidence, is_context, unresolved_reason, resolution_note, "
    "scope_group, donor_side, project, part"
)


def _derived_state(engine) -> tuple[list[tuple], list[tuple]]:
    """Every figure's derived columns by id, and the summary table's rows, sorted."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, batch_id, r_province, r_prefecture, r_county, donor_key, "
                "donor_unit_key, is_context, counted FROM figures ORDER BY id"
            )
        ).all()
        totals = conn.execute(text("SELECT * FROM figure_totals")).all()
    norm = [tuple(bool(v) if isinstance(v, bool) else v for v in r) for r in rows]
    key = [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in totals]
    return norm, sorted(key, key=lambda r: tuple(str(v) for v in r))


def _copy_batch(conn, where: str, project: str | None = None) -> int:
    """A new import batch holding copies of the figures ``where`` selects (their scope
    rows too), as a bulk writer stores them (raw columns, derived left to refresh)."""
    import datetime as dt

    from sqlalchemy import insert

    from twinning.store.schema import batches

    batch_id = conn.execute(
        insert(batches).values(
            kind="import",
            user="t",
            created_at=dt.datetime(2026, 12, 3, tzinfo=dt.UTC),
            file_name="copies.csv",
            sha256=uuid.uuid4().hex,
            row_count=0,
        )
    ).inserted_primary_key[0]
    first = conn.execute(text("SELECT MAX(id) FROM figures")).scalar() + 1
    source = conn.execute(text(f"SELECT id FROM figures WHERE {where} ORDER BY id")).scalars()
    old_ids = list(source)
    cols = _RAW_FIGURE_COLUMNS.replace(", project,", ", COALESCE(:p, project) AS project,")
    conn.execute(
        text(
            f"INSERT INTO figures (batch_id, {_RAW_FIGURE_COLUMNS}) "
            f"SELECT :b, {cols} FROM figures WHERE {where} ORDER BY id"
        ),
        {"b": batch_id, "p": project},
    )
    new_ids = list(
        conn.execute(
            text("SELECT id FROM figures WHERE batch_id = :b ORDER BY id"), {"b": batch_id}
        ).scalars()
    )
    assert new_ids[0] >= first and len(new_ids) == len(old_ids)
    for old, new in zip(old_ids, new_ids, strict=True):
        conn.execute(
            text(
                "INSERT INTO figure_scopes (figure_id, side, member, member_level) "
                "SELECT :new, side, member, member_level FROM figure_scopes "
                "WHERE figure_id = :old"
            ),
            {"new": new, "old": old},
        )
    return batch_id


def test_derivation_of_copies_groups_and_undo_is_the_same_on_postgres(pg_url: str, store) -> None:
    """PostgreSQL derives a batch in one set-based pass (temporary tables, one UPDATE per
    table); SQLite column group by column group. The derived columns, the "counted" marks
    and the summary table are the same after every step: a batch of copies of every
    reference figure (groups, lists, context figures, the reference's own copy), a second
    batch copying part of it (some under another project: not copies), undoing the
    reference and then the first batch (the later copies count in turn), and deriving every
    row again."""
    from twinning.store import derive

    pg = open_store(pg_url)
    try:
        engines = {"sqlite": store.engine, "postgresql": pg.engine}
        assert _derived_state(engines["sqlite"]) == _derived_state(engines["postgresql"])

        def step(action) -> list:
            states = []
            for engine in engines.values():
                with engine.begin() as conn:
                    action(conn)
                states.append(_derived_state(engine))
            assert states[0] == states[1]
            return states[0][0]

        def first_batch(conn) -> None:
            derive.refresh(conn, _copy_batch(conn, "batch_id = 1"))

        def second_batch(conn) -> None:
            derive.refresh(conn, _copy_batch(conn, "batch_id = 2 AND id % 2 = 0"))
            derive.refresh(conn, _copy_batch(conn, "batch_id = 2 AND id % 3 = 0", "甲"))

        def undo_first(conn) -> None:
            conn.execute(text("UPDATE batches SET undone_at = created_at WHERE id = 2"))
            derive.refresh(conn, 2)

        def undo_reference(conn) -> None:
            conn.execute(text("UPDATE batches SET undone_at = created_at WHERE id = 1"))
            derive.refresh(conn, 1)

        rows = step(first_batch)
        counted = {b: sum(r[-1] for r in rows if r[1] == b) for b in (1, 2)}
        assert counted == {1: 255, 2: 0}  # every copy of the reference is a copy
        rows = step(second_batch)
        assert sum(r[-1] for r in rows if r[1] == 4) > 0  # another project: not a copy
        rows = step(undo_reference)
        assert sum(r[-1] for r in rows if r[1] == 2) == 255  # now the first copies
        rows = step(undo_first)
        assert sum(r[-1] for r in rows if r[1] == 3) > 0
        step(lambda conn: derive.refresh(conn))
    finally:
        pg.dispose()
