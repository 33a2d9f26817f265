"""The answers' cache shared by a server's worker processes (issues #7 and #8).

Why: gunicorn runs four workers, and each kept its own memo of the views it had worked
out, so under load the four computed the same views four times over. Here a view's answer,
once worked out by one worker, is pickled to a file cache (cachelib's ``FileSystemCache``,
flask-caching's file backend, used without a Flask app) that every worker reads; and while
one worker works a view out, another that asks for the same view waits for its answer
instead of computing it too (single flight: a lock file per key, taken with ``flock``),
for at most ``wait`` seconds, after which it computes it itself.

``AtlasData.cached`` keeps a bounded in-process layer in front (no file read, no unpickling
for a view the worker has already answered; an object that cannot be pickled, such as the
``Future`` of a reconciliation going on in the background, stays there only).

Keys: the shared cache is keyed on the store (its URL, with no password, and for SQLite
its file's inode), the data version and a fingerprint of the code (the ``twinning`` and
``components`` sources, the shipped geodata): a new import or a new release never reads
an answer worked out before it. A key must have a stable text form (tuples, strings,
numbers, frozen dataclasses such as ``Filters``); any other stays in-process.

Bounded: about ``items`` answers per namespace on disk (the oldest written go first),
none bigger than ``max_bytes`` pickled; namespaces of other data versions are removed once
nobody has written to them for an hour.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import hashlib
import logging
import os
import pickle
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from cachelib.file import FileSystemCache

from twinning.paths import DATA_DIR, PROJECT_ROOT, VAR_DIR

log = logging.getLogger(__name__)

# Defaults; each can be set in the environment (see ``_setting``).
DEFAULT_ITEMS = 2000  # answers on disk per namespace
DEFAULT_MAX_MB = 32  # a larger pickled answer stays in the worker that computed it
DEFAULT_WAIT_SECONDS = 20.0  # how long a worker waits for another's computation
# lock files per namespace (keys share them by hash). Few stripes make unrelated keys wait
# for each other: with 256, a filter change at 10 M figures waited the full ``wait`` (20 s)
# behind the default view's reconciled totals, worked out for seconds at start (#7)
LOCK_STRIPES = 4096
PRUNE_EVERY = 32  # writes between two looks at the number of answers on disk
STALE_SECONDS = 3600  # another namespace untouched this long is removed
MB = 2**20
MISSING = object()

# (lock folder, stripe) -> the key a thread of this process holds it for. A thread never
# waits on a stripe another thread of its own process holds for another key: that thread
# may be waiting on it (a view's headline waits for its reconciled total, worked out on the
# background thread: when their keys shared a stripe, the view took 12 s, #7).
_owners: dict[tuple[str, int], str] = {}
_owners_lock = threading.Lock()


def _setting(name: str, default: str) -> str:
    """A setting from the registry when it is there, else the environment, else default."""
    from twinning import settings

    if name in settings.SETTINGS:
        return settings.get(name)
    return os.environ.get(name, default)


# -- answers as pickle writes them fast -----------------------------------------------------
# Pickle writes an object of a class through Python calls (a NamedTuple's __getnewargs__, a
# dataclass's __reduce_ex__ and its __dict__): 10,000 NamedTuples took 20.7 ms to write
# and 11.2 ms to read, the same values as plain tuples 2.7 / 4.2 ms, as columns 1.8 / 1.9
# ms. A view's answers are mostly such rows (the map's cells, places, flows: ~9 ms of a
# 10 M figures change went to pickling them, #7). ``pack`` turns a list or tuple of one
# such class (at the top, or in a dataclass's field) into its columns; ``unpack`` makes
# the same objects again, as pickle would (a NamedTuple from its values, a dataclass's
# __dict__ set without __init__).
PACK_MIN = 16  # fewer rows are written as they are


class _Rows:
    """A list or tuple of objects of one class, as columns."""

    __slots__ = ("cls", "columns", "is_tuple", "n")

    def __init__(self, cls: type, is_tuple: bool, columns: list[tuple], n: int) -> None:
        self.cls, self.is_tuple, self.columns, self.n = cls, is_tuple, columns, n

    def __reduce__(self) -> tuple:
        return (_Rows, (self.cls, self.is_tuple, self.columns, self.n))


class _Fields:
    """A dataclass object whose fields hold ``_Rows``."""

    __slots__ = ("cls", "state")

    def __init__(self, cls: type, state: dict[str, Any]) -> None:
        self.cls, self.state = cls, state

    def __reduce__(self) -> tuple:
        return (_Fields, (self.cls, self.state))


def _is_namedtuple(cls: type) -> bool:
    """A NamedTuple class whose objects hold nothing but their values."""
    return issubclass(cls, tuple) and hasattr(cls, "_fields") and "__dict__" not in dir(cls)


def _plain_dataclass(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass whose objects keep their state in ``__dict__``."""
    import dataclasses

    if not dataclasses.is_dataclass(cls) or "__slots__" in cls.__dict__:
        return None
    if hasattr(cls, "__getstate__") and cls.__getstate__ is not object.__getstate__:
        return None
    return tuple(f.name for f in dataclasses.fields(cls))


def _pack_rows(value: list | tuple) -> _Rows | None:
    if len(value) < PACK_MIN or type(value) not in (list, tuple):
        return None
    cls = type(value[0])
    if any(type(v) is not cls for v in value):
        return None
    if _is_namedtuple(cls):
        columns = list(zip(*value, strict=True))
    else:
        names = _plain_dataclass(cls)
        if names is None or any(len(v.__dict__) != len(names) for v in value):
            return None  # an object with more than its fields: pickle it as it is
        columns = [tuple(v.__dict__[n] for v in value) for n in names]
    return _Rows(cls, type(value) is tuple, columns, len(value))


def pack(value: Any) -> Any:
    """``value``, or its rows as columns (``_Rows``, ``_Fields``): what ``unpack`` turns
    back into an equal value."""
    if isinstance(value, (list, tuple)):
        return _pack_rows(value) or value
    names = _plain_dataclass(type(value))
    if names and len(value.__dict__) == len(names):
        state = dict(value.__dict__)
        packed = False
        for name, field_value in state.items():
            if isinstance(field_value, (list, tuple)):
                rows = _pack_rows(field_value)
                if rows is not None:
                    state[name], packed = rows, True
        if packed:
            return _Fields(type(value), state)
    return value


def _unpack_rows(rows: _Rows) -> list | tuple:
    cls = rows.cls
    if _is_namedtuple(cls):
        made = list(map(cls._make, zip(*rows.columns, strict=True))) if rows.n else []
    else:
        names = _plain_dataclass(cls) or ()
        new = object.__new__
        made = []
        for values in zip(*rows.columns, strict=True):
            obj = new(cls)
            obj.__dict__.update(zip(names, values, strict=True))
            made.append(obj)
    return tuple(made) if rows.is_tuple else made


def unpack(value: Any) -> Any:
    if isinstance(value, _Rows):
        return _unpack_rows(value)
    if isinstance(value, _Fields):
        obj = object.__new__(value.cls)
        obj.__dict__.update(
            {k: _unpack_rows(v) if isinstance(v, _Rows) else v for k, v in value.state.items()}
        )
        return obj
    return value


class Unstable(TypeError):
    """A key with no text form that is the same in every process."""


def stable_text(key: Any) -> str:
    """A text form of ``key`` that is the same in every process (``repr`` of a frozenset
    of strings is not: string hashes are salted per process)."""
    if key is None or isinstance(key, bool | int | float | str | bytes):
        return repr(key)
    if isinstance(key, enum.Enum):
        return f"{type(key).__qualname__}.{key.name}"
    if isinstance(key, tuple | list):
        inner = ",".join(stable_text(k) for k in key)
        return f"({inner})" if isinstance(key, tuple) else f"[{inner}]"
    if isinstance(key, frozenset | set):
        return "{" + ",".join(sorted(stable_text(k) for k in key)) + "}"
    if isinstance(key, dict):
        items = sorted(f"{stable_text(k)}:{stable_text(v)}" for k, v in key.items())
        return "{" + ",".join(items) + "}"
    if dataclasses.is_dataclass(key) and not isinstance(key, type):
        fields = ",".join(
            f"{f.name}={stable_text(getattr(key, f.name))}" for f in dataclasses.fields(key)
        )
        return f"{type(key).__module__}.{type(key).__qualname__}({fields})"
    raise Unstable(f"no stable text form for {type(key).__name__}")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the code and shipped data that answers depend on: a release with other
    code never reads answers the old one pickled (nor objects of classes it changed)."""
    h = hashlib.sha256()
    for package in ("twinning", "components"):
        root = PROJECT_ROOT / package
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(PROJECT_ROOT)).encode())
            h.update(path.read_bytes())
    if DATA_DIR.is_dir():
        for path in sorted(p for p in DATA_DIR.rglob("*") if p.is_file()):
            st = path.stat()
            h.update(f"{path.relative_to(PROJECT_ROOT)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def cache_root(url: Any) -> Path | None:
    """Where the shared cache of a store lives: TWINNING_CACHE_DIR if set ("off": none),
    else ``cache/`` beside a SQLite store's file, else the project's ``var/cache``.
    None for a store in memory (nothing to share with)."""
    chosen = _setting("TWINNING_CACHE_DIR", "").strip()
    if chosen.lower() in {"off", "0", "none"}:
        return None
    database = getattr(url, "database", None)
    backend = getattr(url, "get_backend_name", lambda: "")()
    if backend == "sqlite" and (not database or database == ":memory:"):
        return None
    if chosen:
        return Path(chosen)
    if backend == "sqlite":
        return Path(database).resolve().parent / "cache"
    return VAR_DIR / "cache"


def cache_folder(name: str) -> Path | None:
    """``name/`` in the shared cache's folder of the default store (made if missing), or
    None where there is none that can be written (then each process keeps its own)."""
    root = cache_root(None)
    if root is None:
        return None
    folder = root / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def write_atomic(path: Path, data: bytes) -> bool:
    """``data`` to ``path`` through a file of this process beside it, replaced in one step:
    a reader (another worker) sees the whole file or none. False if it could not be
    written (the caller keeps its bytes in memory)."""
    tmp = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False


def store_identity(url: Any) -> str:
    """The store, as a key: its URL without the password, and a SQLite file's inode (a
    store made anew in the same place starts from the same data version)."""
    text = url.render_as_string(hide_password=True) if hasattr(url, "render_as_string") else url
    ident = str(text)
    database = getattr(url, "database", None)
    if getattr(url, "get_backend_name", lambda: "")() == "sqlite" and database:
        with contextlib.suppress(OSError):
            st = os.stat(database)
            ident += f"|{st.st_dev}:{st.st_ino}"
    return ident


class SharedCache:
    """Pickled answers in files shared by processes, with one computation per key."""

    def __init__(
        self,
        root: Path,
        namespace: str,
        *,
        items: int = DEFAULT_ITEMS,
        max_bytes: int = DEFAULT_MAX_MB * MB,
        wait: float = DEFAULT_WAIT_SECONDS,
        min_seconds: float = 0.0,
    ) -> None:
        self.root = Path(root)
        self.namespace = namespace
        self.dir = self.root / namespace
        self.locks = self.root / f"{namespace}.locks"
        self.locks.mkdir(parents=True, exist_ok=True)
        self._make_lock_files()
        # no threshold for cachelib: it keeps a count file up to date on every write (two
        # more file writes each) and, when full, reads every file's header to remove one;
        # ``_prune`` removes the oldest fifth at once, looking every PRUNE_EVERY writes
        self.files = FileSystemCache(str(self.dir), threshold=0, default_timeout=0)
        self.items = items
        self._writes = 0
        self.max_bytes = max_bytes
        self.wait = wait
        # answers computed faster than this are not written: at the reference data writing
        # every small answer of a view took ~8 % of a filter change's time (#7)
        self.min_seconds = min_seconds
        self._held = threading.local()  # lock stripes this thread holds (nested keys)
        self.stats = {"hits": 0, "misses": 0, "waits": 0, "timeouts": 0, "too_big": 0, "quick": 0}
        self._prune_other_namespaces()

    @classmethod
    def for_store(cls, url: Any, version: str) -> SharedCache | None:
        """The shared cache of a store's data version, or None where there is none (a
        store in memory, TWINNING_CACHE_DIR=off, a folder that cannot be written)."""
        root = cache_root(url)
        if root is None:
            return None
        ident = f"{store_identity(url)}|{version}|{code_fingerprint()}"
        namespace = hashlib.sha256(ident.encode()).hexdigest()[:24]
        try:
            return cls(
                root,
                namespace,
                items=int(_setting("TWINNING_CACHE_ITEMS", str(DEFAULT_ITEMS))),
                max_bytes=int(float(_setting("TWINNING_CACHE_MAX_MB", str(DEFAULT_MAX_MB))) * MB),
                wait=float(_setting("TWINNING_CACHE_WAIT_SECONDS", str(DEFAULT_WAIT_SECONDS))),
                min_seconds=float(_setting("TWINNING_CACHE_MIN_MS", "3")) / 1000,
            )
        except OSError:
            log.warning("no shared cache in %s; each worker keeps its own", root, exc_info=True)
            return None

    def _make_lock_files(self) -> None:
        """Every stripe's lock file, made once per namespace by one process in the
        background (a marker says they are there): made as keys first used them, a new
        file took 0.07-0.7 ms of a request on this disk (#7). A flight before then makes
        its own, as it always may."""
        if (self.locks / ".ready").exists():
            return
        threading.Thread(target=self._make_lock_files_now, daemon=True).start()

    def _make_lock_files_now(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.locks / ".making", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process is at it
            except BlockingIOError:
                os.close(fd)
                return
            try:
                for stripe in range(LOCK_STRIPES):
                    path = self.locks / f"{stripe:04x}"
                    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
                (self.locks / ".ready").touch()
            finally:
                os.close(fd)

    def _prune_other_namespaces(self) -> None:
        """Remove the folders of other data versions (or code) nobody wrote to lately."""
        now = time.time()
        with contextlib.suppress(OSError):
            for entry in self.root.iterdir():
                name = entry.name.removesuffix(".locks")
                if name == self.namespace or not entry.is_dir():
                    continue
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > STALE_SECONDS:
                        shutil.rmtree(entry, ignore_errors=True)

    # -- keys and values -------------------------------------------------------------------
    @staticmethod
    def key_text(key: Any) -> str | None:
        """The file cache's key for ``key``; None if it has no stable text form."""
        try:
            return stable_text(key)
        except Unstable:
            return None

    def get(self, skey: str) -> Any:
        """The answer stored under ``skey``, or ``MISSING``."""
        blob = self.files.get(skey)
        if not isinstance(blob, bytes):
            return MISSING
        try:
            return unpack(pickle.loads(blob))
        except Exception:  # written by other code, or cut short: compute it again
            log.warning("unreadable cache entry dropped", exc_info=True)
            self.files.delete(skey)
            return MISSING

    def set(self, skey: str, value: Any) -> bool:
        """Store ``value``; False (kept in-process only) if it cannot be pickled or is
        bigger than ``max_bytes``."""
        try:
            blob = pickle.dumps(pack(value), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            return False
        if len(blob) > self.max_bytes:
            self.stats["too_big"] += 1
            return False
        stored = bool(self.files.set(skey, blob))
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self._prune()
        return stored

    def _prune(self) -> None:
        """Down to 80 % of ``items`` when over it, the oldest written first (processes
        may prune at once: a file already gone is skipped)."""
        with contextlib.suppress(OSError):
            entries = [
                e
                for e in os.scandir(self.dir)
                if e.is_file() and not e.name.endswith(FileSystemCache._fs_transaction_suffix)
            ]
            if len(entries) <= self.items:
                return
            dated = []
            for e in entries:
                with contextlib.suppress(OSError):
                    dated.append((e.stat().st_mtime_ns, e.path))
            dated.sort()
            for _, path in dated[: len(dated) - int(self.items * 0.8)]:
                with contextlib.suppress(OSError):
                    os.remove(path)

    def delete(self, skey: str) -> None:
        self.files.delete(skey)

    # -- single flight ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _flight(self, skey: str) -> Iterator[bool]:
        """Hold the key's lock (True), or wait for whoever holds it until its answer is
        stored, the lock is free, or ``wait`` runs out (then False: compute anyway)."""
        stripe = int(hashlib.sha256(skey.encode()).hexdigest()[:8], 16) % LOCK_STRIPES
        held: set[int] = self._held.__dict__.setdefault("stripes", set())
        if stripe in held:  # this thread already holds it for an outer key
            yield False
            return
        slot = (str(self.locks), stripe)
        with _owners_lock:
            other = _owners.get(slot)
        if other is not None and other != skey:  # held here for another key (see _owners)
            yield False
            return
        fd = os.open(self.locks / f"{stripe:04x}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.wait
            pause = 0.005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        self.stats["timeouts"] += 1
                        yield False
                        return
                    time.sleep(pause)
                    pause = min(pause * 2, 0.05)
                    continue
                break
            held.add(stripe)
            with _owners_lock:
                _owners[slot] = skey
            try:
                yield True
            finally:
                with _owners_lock:
                    _owners.pop(slot, None)
                held.discard(stripe)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def get_or_compute(
        self, skey: str, compute: Callable[[], Any], keep_quick: bool = False
    ) -> Any:
        """The stored answer, or one computation of it shared by every process
        (``keep_quick``: stored however quickly it was computed)."""
        value = self.get(skey)
        if value is not MISSING:
            self.stats["hits"] += 1
            return value
        self.stats["misses"] += 1
        with self._flight(skey):
            value = self.get(skey)  # whoever held the lock has stored it
            if value is not MISSING:
                self.stats["waits"] += 1
                return value
            started = time.perf_counter()
            value = compute()
            if keep_quick or time.perf_counter() - started >= self.min_seconds:
                self.set(skey, value)
            else:
                self.stats["quick"] += 1
            return value
