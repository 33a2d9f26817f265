"""gunicorn settings read automatically when gunicorn starts in this folder.

Checking or importing a 500,000-row register takes about 45 s in one request (the import
page polls its progress meanwhile), longer than gunicorn's default 30 s worker timeout.

Threaded workers: a streamed download of millions of rows (GET /download/view.csv) runs
for minutes while the worker keeps answering its heartbeat and other requests; a sync
worker would be killed at ``timeout`` mid-download and block everyone behind it.
"""

worker_class = "gthread"
threads = 4
timeout = 300


def on_starting(server):
    """Create, upgrade or re-seed the store once, in the master, before any worker starts:
    an upgrade of a store of millions of figures takes minutes, longer than a worker may
    take to boot (``timeout``), and workers starting together would otherwise queue behind
    each other's write lock."""
    import subprocess
    import sys

    # in a child process: nothing (a database driver, DuckDB's threads) is inherited by the
    # workers forked from the master
    child = subprocess.Popen(
        [sys.executable, "-c", "from twinning.store.db import open_store; open_store().dispose()"]
    )
    # Meanwhile the master imports the modules every worker imports (pandas, SQLAlchemy,
    # Dash, plotly, the atlas's own; importing them opens nothing and starts no thread):
    # the workers forked from it start with them, instead of each importing them again,
    # about a second of a start on two cores (#7)
    import components.app  # noqa: F401
    from components import idle_gc

    # ...and keeps them out of the workers' garbage collections' sight, as CPython's
    # documentation of gc.freeze suggests before a fork (components/idle_gc.py)
    idle_gc.freeze_before_fork()

    if child.wait() != 0:
        raise SystemExit(f"the store could not be opened (exit status {child.returncode})")
