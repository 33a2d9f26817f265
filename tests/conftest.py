"""Shared fixtures: the real gazetteer and cheap, isolated stores.

- ``gazetteer``: ``Gazetteer.default()`` over data/geo (session-wide, read-only).
- ``store_url``: a SQLite URL in the test's own tmp folder (nothing created yet).
- ``store``: an opened store at ``store_url``, already holding the places and the
  reference batch. Seeding happens once per session into a template file; each test
  gets a copy, so writing to it (imports, undo) never leaks into another test.
- ``reference_store``: one seeded store shared by the whole session. Read only:
  tests that write must use ``store``.

Every test runs with TWINNING_DATABASE_URL pointing into a session tmp folder, so code
that calls ``open_store()`` without a URL never touches the developer's var/ store.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from twinning.gazetteer import Gazetteer
from twinning.store import Store, open_store


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="session", autouse=True)
def _isolated_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    folder = tmp_path_factory.mktemp("default-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINNING_DATABASE_URL", _sqlite_url(folder / "twinning.sqlite"))
        # each AtlasData works its answers out itself, so a test's "nothing computed yet"
        # holds whatever ran before; tests/test_cache.py turns the shared cache on
        mp.setenv("TWINNING_CACHE_DIR", "off")
        # the tests that turn it on share the small test stores' answers too;
        # tests/test_cache.py checks the threshold that keeps small stores unshared
        mp.setenv("TWINNING_CACHE_MIN_ROWS", "0")
        # the tests' small stores are summed by DuckDB as large ones are (the engine the
        # golden outputs and the snapshot tests are about); tests/test_query_store.py
        # checks the threshold that keeps small stores on SQL
        mp.setenv("TWINNING_SNAPSHOT_MIN_ROWS", "0")
        yield


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return Gazetteer.default()


@pytest.fixture(scope="session")
def _store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite file, made once; tests copy it (WAL is checkpointed on dispose)."""
    path = tmp_path_factory.mktemp("store-template") / "template.sqlite"
    store = open_store(_sqlite_url(path))
    store.dispose()
    return path


def _copy_store(template: Path, dest: Path) -> None:
    shutil.copyfile(template, dest)
    for suffix in ("-wal", "-shm"):
        side = template.with_name(template.name + suffix)
        if side.exists():
            shutil.copyfile(side, dest.with_name(dest.name + suffix))


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return _sqlite_url(tmp_path / "store.sqlite")


@pytest.fixture
def store(_store_template: Path, tmp_path: Path, store_url: str) -> Iterator[Store]:
    _copy_store(_store_template, tmp_path / "store.sqlite")
    opened = open_store(store_url)
    yield opened
    opened.dispose()


@pytest.fixture(scope="session")
def reference_store(
    _store_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("reference-store") / "reference.sqlite"
    _copy_store(_store_template, path)
    opened = open_store(_sqlite_url(path))
    yield opened
    opened.dispose()
