"""Python's full garbage collections while no request waits (#7).

A full collection looks at every object the process holds that the collector tracks:
the modules of Dash, plotly, pandas and the atlas (~140,000 objects, ~70 ms on this
machine) and the views' answers a worker keeps (at 10 M figures, after a few dozen
county-level changes, ~130 ms in all). Python starts one whenever enough young objects
have survived, that is inside whichever request is running: at 10 M figures about one
map change in twelve waited 100-300 ms for it, and 40 changes spent 1.3-1.6 s collecting.

Here, as CPython's documentation of ``gc.freeze`` suggests for servers that fork:
- the objects that live as long as the process (the imported modules, the built app) are
  moved out of the collector's sight once, in gunicorn's master before it forks and in
  each worker once its app is built (``freeze_long_lived``); they are still freed when
  nothing refers to them;
- Python's own full collections are turned off, and a thread of the worker runs one when
  the worker has had no request for ``TWINNING_GC_IDLE_MS`` and enough younger
  collections have happened since the last (Python's own count, ``FULL_EVERY``), and no
  more than ``SHARE`` of its time. A worker that is never idle still collects after
  ``FORCE_AFTER`` of them, so what cycles of objects leave behind is bounded as before
  (about ten times later, no more).
Young objects are still collected as usual, within the request (under a millisecond).

Other background work that can wait (``wait_quiet``, ``lower_priority``): the later steps
of a worker's warm-up and the best brotli encodings of its files start between requests,
the encodings at the lowest CPU priority.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from typing import Any

from twinning import settings

# Python's default: a full collection after ten collections of the middle generation
FULL_EVERY = 10
# a worker that is never idle collects after this many, while its requests run
FORCE_AFTER = 100
# Python's own full collections never come (they would after this many)
NEVER = 1_000_000_000
POLL_SECONDS = 0.05
# at most this share of a worker's time in idle collections: after one that took d
# seconds the next waits d / SHARE (Python's own rule, a full collection only once the
# objects that survived since the last are a quarter of the rest, cannot be read)
SHARE = 0.05


class Activity:
    """The worker's requests in flight, and when the last one ended."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.last_end = time.monotonic()
        self._lock = threading.Lock()

    def begin(self) -> None:
        with self._lock:
            self.in_flight += 1

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self.last_end = time.monotonic()

    def quiet_for(self, now: float) -> float:
        """Seconds without a request at ``now`` (0 while one runs)."""
        with self._lock:
            return 0.0 if self.in_flight else max(0.0, now - self.last_end)


class IdleCollector(Activity):
    """Counts the requests in flight; its thread collects when none has been for ``idle_s``."""

    def __init__(
        self, idle_s: float, full_every: int = FULL_EVERY, force_after: int = FORCE_AFTER
    ) -> None:
        super().__init__()
        self.idle_s = idle_s
        self.full_every = full_every
        self.force_after = force_after
        self.collections = 0  # full ones run by this collector (idle or forced)
        self.forced = 0
        self.not_before = 0.0  # no idle collection before (time.monotonic())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thresholds: tuple[int, int, int] | None = None

    def due(self, pending: int, now: float) -> bool:
        """Whether to collect, ``pending`` collections of the middle generation after the
        last full one: ``full_every`` of them and the worker idle for ``idle_s``, or
        ``force_after`` of them, idle or not; idle ones at most ``SHARE`` of the time."""
        if pending >= self.force_after:
            return True
        if pending < self.full_every or now < self.not_before:
            return False
        with self._lock:
            return self.in_flight == 0 and now - self.last_end >= self.idle_s

    def collect_if_due(self) -> bool:
        """A full collection if one is due now; whether it ran."""
        pending = gc.get_count()[2]
        if not self.due(pending, time.monotonic()):
            return False
        started = time.monotonic()
        gc.collect()
        ended = time.monotonic()
        self.not_before = ended + (ended - started) / SHARE
        self.collections += 1
        self.forced += pending >= self.force_after
        return True

    def start(self) -> None:
        """Take full collections over from Python and start the thread (once)."""
        if self._thread is not None:
            return
        self._thresholds = gc.get_threshold()
        gc.set_threshold(self._thresholds[0], self._thresholds[1], NEVER)
        self._thread = threading.Thread(target=self._run, daemon=True, name="idle-gc")
        self._thread.start()

    def stop(self) -> None:
        """Hand full collections back to Python (tests)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.collect_if_due()


_collector: IdleCollector | None = None
_collector_lock = threading.Lock()
# the requests of this process's app, whichever counts them (the collector, or this)
_activity: Activity | None = None


# Background work that can wait (a warm-up's later steps, files compressed at brotli's
# best): after the first start of a new version, such work (~10 s of both cores at the
# reference data) made a worker's filter changes twice as slow while it ran (#7).
QUIET_SECONDS = 0.2  # it starts a step once no request has run for this long
QUIET_LIMIT_SECONDS = 30.0  # a worker never quiet still gets it done


def wait_quiet(quiet_s: float = QUIET_SECONDS, limit_s: float = QUIET_LIMIT_SECONDS) -> bool:
    """Wait until this worker has had no request for ``quiet_s`` (at most ``limit_s``),
    before a step of background work; False if the limit came first. At once where no
    app counts requests (a command line, a test)."""
    activity = _activity
    if activity is None:
        return True
    deadline = time.monotonic() + limit_s
    while True:
        now = time.monotonic()
        quiet = activity.quiet_for(now)
        if quiet >= quiet_s:
            return True
        if now >= deadline:
            return False
        time.sleep(min(max(quiet_s - quiet, POLL_SECONDS), deadline - now))


def lower_priority() -> None:
    """The calling thread at the lowest CPU priority (Linux: a thread's own nice value;
    elsewhere nothing): what it computes outside the GIL (brotli's best compression)
    takes a core only while the requests' threads leave it."""
    import os

    if threading.current_thread() is threading.main_thread():
        return  # never the process's own thread (a command line, a test run)
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def freeze_long_lived() -> None:
    """Collect once, then keep every object alive now out of later collections' sight
    (``gc.freeze``): the modules and the app outlive every request."""
    gc.collect()
    gc.freeze()


def enabled() -> bool:
    """Whether full collections wait for idle moments (TWINNING_GC_IDLE_MS above 0)."""
    return settings.get_float("TWINNING_GC_IDLE_MS") > 0


def freeze_before_fork() -> None:
    """In gunicorn's master, once it has imported what every worker imports: the workers
    it forks start with those objects out of their collections' sight."""
    if enabled():
        freeze_long_lived()


def register(server: Any) -> IdleCollector | None:
    """Count ``server``'s requests and collect while none runs (one collector per process,
    whatever the number of apps built in it, as in the tests); None if
    TWINNING_GC_IDLE_MS is 0 (Python's own schedule)."""
    import flask

    global _collector, _activity
    with _collector_lock:
        if enabled() and _collector is None:
            freeze_long_lived()
            _collector = IdleCollector(settings.get_float("TWINNING_GC_IDLE_MS") / 1000)
            _collector.start()
        if _collector is not None:
            _activity = _collector
        elif _activity is None:
            _activity = Activity()  # background work still waits for quiet moments
        collector, returned = _activity, _collector

    @server.before_request
    def _request_begins() -> None:
        collector.begin()
        flask.g.atlas_gc_counted = True

    @server.teardown_request
    def _request_ends(_exc: BaseException | None) -> None:
        # a request stopped by an earlier before_request (a refusal) never began here
        if flask.g.pop("atlas_gc_counted", False):
            collector.end()

    return returned
