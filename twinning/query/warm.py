"""The default view's reconciled headline totals, worked out once per data version in a
child process (issue #7, "bounded workers").

At 10 M figures the reconciled totals of all of China (``twinning.query.totals``) take
~30 s and ~150 MB of candidates; a worker that works them out keeps that memory (Python's
allocator does not give it back): 390 -> 545 MB. So the server's first worker to start
hands the work to a child process, which stores the answers in the cache the workers
share (``twinning.query.cache``) and exits; every worker then reads them from there. The
other workers do not start a second child (a lock file beside the shared cache). Without
a shared cache, or for a store whose totals are cheap, the worker works them out itself.

Run as ``python -m twinning.query.warm QUERY`` (the store from TWINNING_DATABASE_URL) by
``warm_default_headlines``; nothing else calls the command.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import sys
from typing import Any

from twinning import settings
from twinning.filters import Filters
from twinning.query.atlas import AtlasData

log = logging.getLogger(__name__)

# A child that has not finished in this long is stopped (the workers' own path remains).
CHILD_SECONDS = 1800.0


def _heavy(data: AtlasData) -> bool:
    """The store holds more figures of a main metric than a click reconciles."""
    from twinning.query.totals import _stored
    from twinning.query.views import MAIN_METRICS

    limit = settings.get_int("TWINNING_RECONCILE_SCREEN_FIGURES")
    return any(_stored(data, metric) > limit for metric in MAIN_METRICS)


def warm_default_headlines(data: AtlasData, filters: Filters | None = None) -> str:
    """Make sure the reconciled headline totals of ``filters`` (the default view) are
    worked out for ``data``'s version. Returns what it did: "here" (in this process),
    "child" (a child process stored them in the shared cache), "other" (another worker's
    child is at it, or did it) or "failed" (the child failed: the screen shows the plain
    sums until a click or an export works them out)."""
    from twinning.query.views import headlines

    filters = filters or Filters()
    shared = data.shared
    if shared is None or not _heavy(data):
        headlines(data, filters, complete=True)
        return "here"
    lock_path = shared.locks / "warm-headlines"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "other"
        done = shared.locks / "warm-headlines.done"
        if done.exists():
            return "other"
        # the store's address goes by the environment: a password in the arguments would
        # show in every user's process list
        env = dict(os.environ)
        env["TWINNING_DATABASE_URL"] = data.engine.url.render_as_string(hide_password=False)
        snapshot = data.summary.path
        if snapshot is None or not snapshot.exists():  # the workers write it, not the child
            env["TWINNING_QUERY_ENGINE"] = "sql"
        try:
            subprocess.run(
                [sys.executable, "-m", "twinning.query.warm", filters.to_query_string()],
                check=True,
                timeout=CHILD_SECONDS,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except (OSError, subprocess.SubprocessError):
            log.exception("the default view's reconciled totals were not worked out")
            return "failed"
        done.touch()
        return "child"
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """The child: work the totals out for the store at TWINNING_DATABASE_URL and the view
    of the permalink query ``argv[0]``; the shared cache keeps them."""
    from twinning.query.views import headlines
    from twinning.store import open_store

    args = sys.argv[1:] if argv is None else argv
    with contextlib.suppress(OSError):
        os.nice(10)  # behind the workers' requests: a page waits for none of this
    store: Any = open_store()
    try:
        data = AtlasData.from_store(store)
        headlines(data, Filters.from_query(args[0] if args else ""), complete=True)
    finally:
        store.dispose()
    return 0


if __name__ == "__main__":  # pragma: no cover - run by warm_default_headlines
    raise SystemExit(main())
