"""Settings registry: every setting has a name, a default and a line of help.

Each is read from the environment when asked for (never cached at import), and
each is documented in the README (``tests/test_settings.py`` checks it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from twinning.paths import VAR_DIR

_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "TWINNING_DATABASE_URL",
            f"sqlite:///{VAR_DIR / 'twinning.sqlite'}",
            "SQLAlchemy URL of the store (SQLite by default; postgresql+psycopg://... works too).",
        ),
        Setting(
            "TWINNING_QUERY_ENGINE",
            "auto",
            "Where a view's sums are computed: auto (DuckDB over a Parquet snapshot of a "
            "SQLite store's summary, the store's SQL until it is written and for "
            "PostgreSQL), sql, or duckdb.",
        ),
        Setting(
            "TWINNING_SNAPSHOT_MIN_ROWS",
            "20000",
            "With TWINNING_QUERY_ENGINE=auto: a summary of fewer rows is summed by the "
            "store's SQL, with no DuckDB snapshot (at that size SQLite answers as fast, and "
            "DuckDB's engine costs each worker ~50 MB).",
        ),
        Setting(
            "TWINNING_MAP_FLOWS_MAX",
            "400",
            "The most donor -> recipient lines a map draws: the largest by the map's metric "
            "(funds when none), then by pairings; the map's note says how many of how many. "
            "0: every one.",
        ),
        Setting("TWINNING_HOST", "127.0.0.1", "Address `python app.py` / `twinning serve` binds."),
        Setting("TWINNING_PORT", "8050", "Port `python app.py` / `twinning serve` listens on."),
        Setting("TWINNING_DEBUG", "0", "1 turns on Dash debug mode (never on a shared server)."),
        Setting(
            "TWINNING_LANG",
            "zh",
            "Default interface language when the URL has no ?lang= (zh or en); also the "
            "language of `twinning import`'s messages.",
        ),
        Setting(
            "TWINNING_UPLOAD_DIR",
            str(VAR_DIR / "uploads"),
            "Folder where the original file of every import batch is kept.",
        ),
        Setting(
            "TWINNING_MAX_UPLOAD_MB",
            "50",
            "Largest file, in MB, an import accepts; bigger files are refused with a message.",
        ),
        Setting(
            "TWINNING_IMPORT_CHILD",
            "1",
            "1: the import page's previews, checks and imports run in a child process under "
            "the two limits below, so a file that needs too much fails alone; 0: in the "
            "server process (tests, debugging).",
        ),
        Setting(
            "TWINNING_IMPORT_MEMORY_MB",
            "1500",
            "Address space, in MB, one web preview, check or import may use (its child's "
            "RLIMIT_AS; the libraries take about 500 of it); beyond, the job fails with a "
            "message and nothing is stored.",
        ),
        Setting(
            "TWINNING_IMPORT_SECONDS",
            "600",
            "Longest time, in seconds, one web preview, check or import may take (wall "
            "time; its CPU time too); beyond, the child is stopped and nothing is stored.",
        ),
        Setting(
            "TWINNING_ERROR_LOG",
            "",
            "File the tracebacks of failed imports, previews and undos are appended to "
            "(e.g. var/logs/import-errors.log); empty: none is written, they go to the "
            "twinning.imports logger only.",
        ),
        Setting(
            "TWINNING_ADMIN_USER",
            "admin",
            "User name that may import, undo and change stored data in the web UI.",
        ),
        Setting(
            "TWINNING_ADMIN_PASSWORD",
            "",
            "Password for TWINNING_ADMIN_USER, a fallback admin beside the users of "
            "`twinning users add`; empty: only those users can sign in (none: the UI is "
            "read-only).",
        ),
        Setting(
            "TWINNING_SESSION_HOURS",
            "8",
            "How long a sign-in lasts, in hours; signing out ends it at once.",
        ),
        Setting(
            "TWINNING_COOKIE_SECURE",
            "auto",
            "Secure flag of the session cookie: auto (when the request came over HTTPS, "
            "as the proxy says with X-Forwarded-Proto when TWINNING_PROXY_HOPS > 0), 1 or 0.",
        ),
        Setting(
            "TWINNING_PROXY_HOPS",
            "0",
            "Number of reverse proxies in front of the atlas whose X-Forwarded-For/-Proto "
            "headers are trusted (0: none; the client address is the connection's).",
        ),
        Setting(
            "TWINNING_SIGNIN_FREE_TRIES",
            "3",
            "Failed sign-ins per user name (x3 per address) before each further try must "
            "wait 1, 2, 4 ... 60 s.",
        ),
        Setting(
            "TWINNING_SIGNIN_MAX_FAILURES",
            "10",
            "Failed sign-ins per user name (x3 per address) after which sign-in is refused "
            "for TWINNING_SIGNIN_LOCK_MINUTES.",
        ),
        Setting(
            "TWINNING_EMBED_FRAME_ANCESTORS",
            "'self'",
            "Who may show the /embed pages in a frame: a CSP frame-ancestors list, e.g. "
            "'self' https://news.example.org, or * for any site. Other pages: the atlas only.",
        ),
        Setting(
            "TWINNING_EXPORT_SLOTS",
            "2",
            "Exports (PNG/SVG/PDF/PPTX/Excel) that run at once in one server process; more wait.",
        ),
        Setting(
            "TWINNING_DOWNLOAD_SLOTS",
            "4",
            "Streamed CSV downloads that run at once in one server process; more wait.",
        ),
        Setting(
            "TWINNING_EXPORT_QUEUE",
            "4",
            "Exports (or downloads) that may wait up to 30 s for a slot; beyond, 'busy, try "
            "again' (HTTP 503 with Retry-After for downloads).",
        ),
        Setting(
            "TWINNING_EXPORT_PER_MINUTE",
            "12",
            "Exports and downloads one client address may ask for in a minute (0: no limit).",
        ),
        Setting(
            "TWINNING_ANIMATION_SLOTS",
            "1",
            "Animated exports (GIF/MP4 of the years) that run at once in one server process; "
            "more wait in the export queue, beyond it 'busy, try again'.",
        ),
        Setting(
            "TWINNING_ANIMATION_MAX_FRAMES",
            "40",
            "Most frames (years) an animated export draws; a longer range is refused with a "
            "message to narrow the years.",
        ),
        Setting(
            "TWINNING_ANIMATION_SECONDS",
            "240",
            "Longest time, in seconds, one animated export may take to draw its frames; past "
            "it the export stops with a message.",
        ),
        Setting(
            "TWINNING_TABLE_SECONDS",
            "8",
            "Longest time one table page (or its row count) may take; a page deeper into a "
            "sort of millions of rows is refused with a message that suggests filters or the "
            "CSV (0: no bound).",
        ),
        Setting(
            "TWINNING_RECONCILE_SCREEN_FIGURES",
            "20000",
            "Largest number of a metric's figures in a view whose reconciled total (\"at "
            'least X", no figure counted twice) is worked out on a click; a larger view shows '
            "the plain sum with its caveat on screen (the default view is worked out at "
            "start), and its exports always carry the reconciled total.",
        ),
        Setting(
            "TWINNING_SIGNIN_LOCK_MINUTES",
            "15",
            "How long failures count, and how long a locked user name or address waits.",
        ),
        Setting(
            "TWINNING_CACHE_DIR",
            "",
            "Folder of the answers the server's workers share (pickled files, one folder per "
            "store, data version and code; folders unused for an hour are removed); empty: "
            "cache/ beside a SQLite store's file, else var/cache; off: each worker keeps its own.",
        ),
        Setting(
            "TWINNING_CACHE_ITEMS",
            "2000",
            "Answers kept on disk per data version; past it the oldest fifth is removed.",
        ),
        Setting(
            "TWINNING_CACHE_MAX_MB",
            "32",
            "Largest pickled answer shared; a bigger one stays in the worker that computed it.",
        ),
        Setting(
            "TWINNING_CACHE_MIN_MS",
            "3",
            "Answers worked out faster than this stay in the worker: writing and reading the "
            "shared file costs more than working them out again.",
        ),
        Setting(
            "TWINNING_CACHE_MIN_ROWS",
            "1000",
            "A store of fewer figures and fewer pairings than this is not shared: each worker "
            "works its views out itself, in a few milliseconds, where reading and locking the "
            "shared files cost more (0: share every store's answers).",
        ),
        Setting(
            "TWINNING_DUCKDB_THREADS",
            "2",
            "Threads each worker's DuckDB may use for one query of the summary and figure "
            "snapshots (its buffer stays 128 MB whatever the number).",
        ),
        Setting(
            "TWINNING_GC_IDLE_MS",
            "200",
            "Python's full garbage collections run in a worker that has had no request for "
            "this long (one that is never idle still collects, about ten times less often "
            "than Python would); 0: Python's own schedule, inside whichever request runs.",
        ),
        Setting(
            "TWINNING_CACHE_WAIT_SECONDS",
            "20",
            "How long a worker waits for another that is computing the same view before "
            "computing it itself.",
        ),
    ]
}


def get(name: str) -> str:
    """Return the setting's value from the environment, or its default."""
    setting = SETTINGS[name]
    return os.environ.get(name, setting.default)


def _get_number(name: str, kind: Callable[[str], _N], what: str) -> _N:
    value = get(name)
    try:
        return kind(value)
    except ValueError as exc:
        raise ValueError(f"setting {name}={value!r} is not {what}") from exc


def get_int(name: str) -> int:
    return _get_number(name, int, "a whole number")


def get_float(name: str) -> float:
    return _get_number(name, float, "a number")


def get_bool(name: str) -> bool:
    return get(name).strip().lower() in {"1", "true", "yes", "on"}
