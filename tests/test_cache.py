"""The answers' cache shared by worker processes (twinning.query.cache; issues #7, #8)."""

from __future__ import annotations

import multiprocessing
import pickle
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from twinning.filters import Filters
from twinning.query import AtlasData
from twinning.query import cache as cache_mod
from twinning.query.cache import MISSING, SharedCache, stable_text


@pytest.fixture(autouse=True)
def _shared_cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test run turns the shared cache off (tests/conftest.py); here it is the subject."""
    monkeypatch.delenv("TWINNING_CACHE_DIR", raising=False)


def _shared(root: Path, **kw) -> SharedCache:
    return SharedCache(root, "ns", **kw)


def test_keys_have_one_text_form_in_every_process() -> None:
    a = stable_text(("cells", Filters(programs=("b", "a")), frozenset({"x", "y", "z"})))
    b = stable_text(("cells", Filters(programs=("b", "a")), frozenset({"z", "y", "x"})))
    assert a == b
    assert stable_text(Filters(metric="funds_cny")) != stable_text(Filters(metric="projects"))
    assert stable_text((1, "1")) != stable_text(("1", 1))
    assert SharedCache.key_text(("x", object())) is None  # no stable form: in-process only


def test_an_answer_is_computed_once_and_read_back(tmp_path: Path) -> None:
    one, two = _shared(tmp_path), _shared(tmp_path)  # two workers
    calls: list[int] = []
    frame = pd.DataFrame({"a": [1.5, None], "b": ["x", "y"]})

    def compute() -> pd.DataFrame:
        calls.append(1)
        return frame

    assert one.get_or_compute("k", compute).equals(frame)
    got = two.get_or_compute("k", compute)
    assert got.equals(frame) and got is not frame
    assert len(calls) == 1
    assert two.get_or_compute("none", lambda: None) is None  # None is an answer too
    assert one.get("none") is None and one.get("other") is MISSING


def _slow_square(root: str, n: int, counter: str) -> int:
    shared = SharedCache(Path(root), "ns", wait=30)

    def compute() -> int:
        with open(counter, "a") as f:
            f.write("x")
        time.sleep(0.5)
        return n * n

    return shared.get_or_compute("square", compute)


def test_the_lock_files_are_made_with_the_namespace_not_by_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _shared(tmp_path)
    for _ in range(200):  # made in the background
        if (cache.locks / ".ready").exists():
            break
        time.sleep(0.05)
    locks = sorted(p.name for p in cache.locks.iterdir() if not p.name.startswith("."))
    assert len(locks) == cache_mod.LOCK_STRIPES
    made = []  # for each lock file opened: whether it was made by the opening
    real_open = cache_mod.os.open

    def watched(path, *args):
        if Path(path).parent == cache.locks:
            made.append(not Path(path).exists())
        return real_open(path, *args)

    monkeypatch.setattr(cache_mod.os, "open", watched)
    for i in range(20):
        assert cache.get_or_compute(f"k{i}", lambda i=i: i) == i
    assert len(made) == 20 and not any(made)  # every flight opened a lock file that was there
    _shared(tmp_path)  # the same namespace again: nothing made twice
    assert len(made) == 20


def test_one_computation_in_flight_across_processes(tmp_path: Path) -> None:
    counter = tmp_path / "computed"
    counter.touch()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        results = pool.starmap(_slow_square, [(str(tmp_path), 7, str(counter))] * 4)
    assert results == [49] * 4
    assert counter.read_text() == "x"  # the other three waited for the first's answer


def test_one_computation_in_flight_across_threads(tmp_path: Path) -> None:
    calls: list[int] = []
    results: list[int] = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.3)
        return 42

    def worker() -> None:
        results.append(_shared(tmp_path).get_or_compute("k", compute))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 4 and len(calls) == 1


def test_a_waiter_computes_itself_after_the_timeout(tmp_path: Path) -> None:
    holder = _shared(tmp_path)
    started = threading.Event()

    def slow() -> str:
        started.set()
        time.sleep(1.5)
        return "slow"

    t = threading.Thread(target=holder.get_or_compute, args=("k", slow))
    t.start()
    started.wait()
    waiter = _shared(tmp_path, wait=0.2)
    t0 = time.monotonic()
    assert waiter.get_or_compute("k", lambda: "own") == "own"
    assert time.monotonic() - t0 < 1.2
    assert waiter.stats["timeouts"] == 1
    t.join()


def test_a_failed_computation_leaves_nothing_and_frees_the_key(tmp_path: Path) -> None:
    shared = _shared(tmp_path, wait=5)

    def boom() -> int:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        shared.get_or_compute("k", boom)
    t0 = time.monotonic()
    assert _shared(tmp_path, wait=5).get_or_compute("k", lambda: 1) == 1
    assert time.monotonic() - t0 < 1


def test_nested_keys_on_one_lock_stripe_do_not_wait_for_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_mod, "LOCK_STRIPES", 1)
    shared = _shared(tmp_path, wait=5)
    t0 = time.monotonic()
    outer = shared.get_or_compute("outer", lambda: shared.get_or_compute("inner", lambda: 2) + 1)
    assert outer == 3 and time.monotonic() - t0 < 1


def test_a_key_waiting_on_another_thread_of_its_stripe_does_not_block_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a view's headline (outer) waits for its reconciled total, worked out by the
    # background thread (inner); with their keys on one stripe the thread waited for the
    # outer key's lock, the outer for the thread, until the cache's wait ran out (#7)
    monkeypatch.setattr(cache_mod, "LOCK_STRIPES", 1)
    shared = _shared(tmp_path, wait=30)
    inner: list[int] = []

    def outer() -> int:
        t = threading.Thread(target=lambda: inner.append(shared.get_or_compute("in", lambda: 2)))
        t.start()
        t.join(timeout=5)
        assert not t.is_alive(), "the background key waited for the outer key's lock"
        return inner[0] + 1

    assert shared.get_or_compute("out", outer) == 3
    assert shared.get_or_compute("in", lambda: 0) == 2  # stored by the thread
    assert shared.stats["timeouts"] == 0


def test_unpicklable_and_too_big_answers_stay_in_process(tmp_path: Path) -> None:
    shared = _shared(tmp_path, max_bytes=1000)
    future: Future = Future()
    assert shared.get_or_compute("future", lambda: future) is future
    assert shared.get("future") is MISSING
    big = "x" * 5000
    assert shared.get_or_compute("big", lambda: big) == big
    assert shared.get("big") is MISSING and shared.stats["too_big"] == 1


def test_the_file_cache_is_bounded(tmp_path: Path) -> None:
    shared = _shared(tmp_path, items=20)
    for i in range(100):
        shared.set(f"k{i}", i)
    files = [p for p in (tmp_path / "ns").iterdir() if not p.name.endswith("__wz_cache")]
    assert len(files) <= 21  # the entries and cachelib's count file
    assert shared.get("k99") == 99  # the newest stay
    assert shared.get("k0") is MISSING


def test_an_unreadable_entry_is_computed_again(tmp_path: Path) -> None:
    shared = _shared(tmp_path)
    shared.files.set("k", b"not a pickle")
    assert shared.get_or_compute("k", lambda: 5) == 5
    assert shared.get("k") == 5


def test_other_namespaces_are_removed_once_stale(tmp_path: Path) -> None:
    import os

    old = tmp_path / "old"
    old.mkdir()
    (tmp_path / "old.locks").mkdir()
    recent = tmp_path / "recent"
    recent.mkdir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    os.utime(tmp_path / "old.locks", (time.time() - 7200, time.time() - 7200))
    _shared(tmp_path)
    assert not old.exists() and not (tmp_path / "old.locks").exists()
    assert recent.exists()


# -- AtlasData ---------------------------------------------------------------------------


def test_atlas_data_of_a_file_store_shares_its_answers(
    store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWINNING_CACHE_DIR", raising=False)
    monkeypatch.setenv("TWINNING_CACHE_MIN_MS", "0")  # share even an answer this quick
    one, two = AtlasData.from_store(store), AtlasData.from_store(store)
    assert one.shared is not None and one.shared.dir == two.shared.dir
    assert one.shared.root == Path(store.engine.url.database).resolve().parent / "cache"
    calls: list[int] = []

    def compute() -> dict:
        calls.append(1)
        return {"answer": 1}

    assert one.cached(("view", Filters(metric="projects")), compute) == {"answer": 1}
    assert two.cached(("view", Filters(metric="projects")), compute) == {"answer": 1}
    assert len(calls) == 1
    # peek sees another worker's answer; forget drops it everywhere
    assert two.peek(("view", Filters(metric="projects"))) == {"answer": 1}
    one.forget(("view", Filters(metric="projects")))
    fresh = AtlasData.from_store(store)
    assert fresh.peek(("view", Filters(metric="projects"))) is None
    # a Future of this worker is never shared
    future: Future = Future()
    assert one.cached(("reconciled-soon", Filters(), "projects"), lambda: future) is future
    assert two.peek(("reconciled-soon", Filters(), "projects")) is None


def test_cache_namespace_follows_the_data_version(store) -> None:
    a = SharedCache.for_store(store.engine.url, "v1")
    b = SharedCache.for_store(store.engine.url, "v2")
    assert a is not None and b is not None and a.namespace != b.namespace
    a.set("k", 1)
    assert b.get("k") is MISSING


def test_no_shared_cache_in_memory_or_when_turned_off(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.engine import make_url

    assert SharedCache.for_store(make_url("sqlite://"), "v") is None
    monkeypatch.setenv("TWINNING_CACHE_DIR", "off")
    assert AtlasData.from_store(store).shared is None


def test_a_store_of_few_rows_keeps_its_answers_in_each_worker(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below TWINNING_CACHE_MIN_ROWS figures and pairings (the default: 1,000) each worker
    works its views out itself (#7); a store with more of either shares them. The shared
    cache is there all the same, for what is dear to make at any size (the page's layout
    answers, components/layout_cache.py)."""
    from sqlalchemy import text

    monkeypatch.delenv("TWINNING_CACHE_DIR", raising=False)
    monkeypatch.delenv("TWINNING_CACHE_MIN_ROWS", raising=False)
    with store.engine.connect() as conn:
        figures, pairings = conn.execute(
            text("SELECT (SELECT MAX(id) FROM figures), (SELECT MAX(id) FROM pairings)")
        ).one()
    assert 0 < figures < 1000 and 0 < pairings < 1000  # the reference data

    def workings(limit: str | None) -> int:
        """How many of two workers (two AtlasData) work one view out."""
        if limit is not None:
            monkeypatch.setenv("TWINNING_CACHE_MIN_ROWS", limit)
        one, two = AtlasData.from_store(store), AtlasData.from_store(store)
        assert one.shared is not None
        one.shared.files.clear()
        calls: list[int] = []
        key = ("view", Filters(metric="people_trained"))
        one.cached(key, lambda: calls.append(1) or {"answer": 1})
        two.cached(key, lambda: calls.append(1) or {"answer": 1})
        return len(calls)

    monkeypatch.setenv("TWINNING_CACHE_MIN_MS", "0")  # share even an answer this quick
    assert workings(None) == 2  # the default: each its own
    assert workings(str(max(figures, pairings))) == 1  # one table has that many: shared
    assert workings(str(max(figures, pairings) + 1)) == 2
    assert workings("0") == 1


def test_cached_answers_pickle_back_equal() -> None:
    """What the views cache is plain data: frames, dataclasses, dicts (round trip)."""
    from twinning.query.views import Headline

    value = [Headline("headline_funds", 1.5, 3, "cny", at_least=1.0, n_at_least=2)]
    assert pickle.loads(pickle.dumps(value)) == value


def test_a_large_stores_default_totals_are_worked_out_once_in_a_child(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store with more figures than a click reconciles: the first worker hands the
    default view's reconciled totals to a child process, which leaves them in the shared
    cache; every worker then reads them (none works them out), and no second child starts
    (#7: the worker that worked them out kept ~150 MB more at 10 M figures)."""
    from twinning.query import headlines, totals
    from twinning.query.warm import warm_default_headlines

    monkeypatch.setenv("TWINNING_RECONCILE_SCREEN_FIGURES", "1")  # the test store is "large"
    expected = headlines(AtlasData.from_store(store), Filters(), complete=True)
    first = AtlasData.from_store(store)
    first.shared.files.clear()  # nothing worked out yet

    def not_here(*_a, **_k):
        raise AssertionError("worked out in the worker")

    monkeypatch.setattr(totals, "_reconciled", not_here)
    import subprocess

    from twinning.query import warm

    started: list[tuple[list[str], dict]] = []
    real_run = subprocess.run

    def run(args, **kw):
        started.append((list(args), kw.get("env") or {}))
        return real_run(args, **kw)

    monkeypatch.setattr(warm.subprocess, "run", run)
    assert warm_default_headlines(first) == "child"
    # the store's address (a password, on PostgreSQL) goes by the environment, never in
    # the arguments every user's process list shows
    [(args, env)] = started
    database = str(store.engine.url.database)
    assert not any(database in a for a in args)
    assert database in env["TWINNING_DATABASE_URL"]
    second = AtlasData.from_store(store)  # another worker
    assert warm_default_headlines(second) == "other"
    got = headlines(second, Filters(), complete=True)
    assert got == expected
    assert all(h.at_least is not None for h in got if h.n_figures)


def test_a_small_stores_default_totals_are_worked_out_in_the_worker(store) -> None:
    from twinning.query.warm import warm_default_headlines

    data = AtlasData.from_store(store)
    assert warm_default_headlines(data) == "here"


def test_an_answer_quicker_than_the_floor_stays_in_its_worker(tmp_path: Path) -> None:
    """Writing and reading a shared file costs ~0.3 ms: answers worked out faster than
    ``min_seconds`` are not written (the other workers work them out too), slower ones
    are (#7)."""
    one = _shared(tmp_path, min_seconds=0.02)
    two = _shared(tmp_path, min_seconds=0.02)
    assert one.get_or_compute("quick", lambda: 1) == 1
    assert two.get_or_compute("quick", lambda: 2) == 2  # not shared: worked out again

    def slow() -> int:
        time.sleep(0.03)
        return 3

    assert one.get_or_compute("slow", slow) == 3
    assert two.get_or_compute("slow", lambda: 4) == 3  # shared
    assert one.stats["quick"] == 1


# -- answers written as columns (cache.pack / unpack) ------------------------------------


class _Point(NamedTuple):
    code: str
    value: float | None


@dataclass(frozen=True)
class _Place:
    code: str
    n: int


@dataclass(frozen=True)
class _Values:
    rows: tuple[_Point, ...]
    unit: str | None


class _Annotated(_Point):  # a NamedTuple subclass that may carry more than its values
    pass


def _roundtrip(value):
    shared = SharedCache(Path(tempfile.mkdtemp()), "ns")
    assert shared.set("k", value)
    return shared.get("k")


def test_rows_of_one_class_are_written_as_columns_and_read_back_equal() -> None:
    points = [_Point(f"{i:06d}", i * 1.5 if i % 7 else None) for i in range(200)]
    places = tuple(_Place(f"{i:06d}", i) for i in range(50))
    values = _Values(tuple(points), "yuan")
    for value in (points, places, values):
        packed = cache_mod.pack(value)
        assert type(packed) is not type(value)  # written as columns
        back = _roundtrip(value)
        assert back == value and type(back) is type(value)
        assert [type(x) for x in getattr(back, "rows", back)] == [
            type(x) for x in getattr(value, "rows", value)
        ]
    # an object read back is a whole object of its class: frozen, with its fields
    place = _roundtrip(places)[3]
    assert place == _Place("000003", 3) and hash(place) == hash(_Place("000003", 3))
    with pytest.raises(FrozenInstanceError):
        place.n = 4  # type: ignore[misc]


def test_what_columns_would_lose_is_written_as_it_is() -> None:
    few = [_Point("1", 1.0)] * (cache_mod.PACK_MIN - 1)
    mixed = [_Point("1", 1.0)] * 20 + [("1", 1.0)]
    extra = [_Place(str(i), i) for i in range(20)]
    object.__setattr__(extra[5], "note", "kept")  # an attribute beyond the fields
    subclassed = [_Annotated("1", 1.0) for _ in range(20)]
    for value in (few, mixed, extra, subclassed, {"a": [1, 2]}, "text"):
        assert cache_mod.pack(value) is value
        assert _roundtrip(value) == value
    assert _roundtrip(extra)[5].note == "kept"


def test_a_view_s_answers_read_back_from_the_shared_cache_are_its_own(reference_store) -> None:
    from twinning import query as agg

    data = agg.AtlasData.from_store(reference_store)
    f = agg.Filters(level="county", metric="funds_cny")
    for answer in (
        agg.place_values(data, f),
        agg.flows(data, f),
        agg.views._cells(data, f, "funds_cny"),
    ):
        back = _roundtrip(answer)
        assert back == answer and type(back) is type(answer)
