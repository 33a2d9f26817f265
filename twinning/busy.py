"""Bounded expensive work: a few slots, a short queue, then "busy, try again" (issue #12).

Exports (PNG, SVG, PDF, PPTX through a headless browser; Excel workbooks) and streamed
CSV downloads cost seconds and tens of MB each and need no sign-in. Each kind of work has
a :class:`Gate` per process: ``slots`` run at once, up to ``queue`` more wait at most
``wait_s`` for a slot, and anything beyond is refused at once with :class:`Busy`, which
carries the seconds after which to try again (HTTP ``Retry-After``). So six simultaneous
exports no longer run six browsers' worth of memory at once, and a seventh client is told
to come back instead of waiting behind them. Under gunicorn each worker process has its
own gates: at most workers x slots run at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from twinning import settings

RETRY_AFTER_S = 10


class Busy(Exception):
    """Refused: the gate is full (``reason`` "busy") or the client asked too often ("rate")."""

    def __init__(self, retry_after: int, reason: str = "busy") -> None:
        super().__init__(f"{reason}: try again in {retry_after} s")
        self.retry_after = max(1, int(retry_after))
        self.reason = reason


class Gate:
    """``slots`` at once, ``queue`` more waiting up to ``wait_s``, the rest refused."""

    def __init__(self, slots: int, queue: int, wait_s: float = 30.0) -> None:
        self.slots = max(1, slots)
        self.queue = max(0, queue)
        self.wait_s = wait_s
        self._free = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._waiting = 0
        self.running = 0
        self.refused = 0

    def acquire(self) -> Callable[[], None]:
        """Take a slot (waiting in the queue if need be); returns the function that frees it."""
        if self._free.acquire(blocking=False):
            return self._taken()
        with self._lock:
            if self._waiting >= self.queue:
                self.refused += 1
                raise Busy(RETRY_AFTER_S)
            self._waiting += 1
        try:
            got = self._free.acquire(timeout=self.wait_s)
        finally:
            with self._lock:
                self._waiting -= 1
        if not got:
            with self._lock:
                self.refused += 1
            raise Busy(RETRY_AFTER_S)
        return self._taken()

    def _taken(self) -> Callable[[], None]:
        with self._lock:
            self.running += 1
        done = threading.Event()

        def release() -> None:
            if not done.is_set():  # once only, however often called
                done.set()
                with self._lock:
                    self.running -= 1
                self._free.release()

        return release

    @contextmanager
    def enter(self) -> Iterator[None]:
        release = self.acquire()
        try:
            yield
        finally:
            release()


_GATES: dict[str, Gate] = {}
_GATES_LOCK = threading.Lock()

# kind -> (settings of slots and queue); the settings are read when the gate is first used
KINDS = {
    "export": ("TWINNING_EXPORT_SLOTS", "TWINNING_EXPORT_QUEUE"),
    "download": ("TWINNING_DOWNLOAD_SLOTS", "TWINNING_EXPORT_QUEUE"),
    "animation": ("TWINNING_ANIMATION_SLOTS", "TWINNING_EXPORT_QUEUE"),  # GIF/MP4 (#9)
}


def gate(kind: str) -> Gate:
    """This process's gate for ``kind`` ("export", "download" or "animation")."""
    with _GATES_LOCK:
        found = _GATES.get(kind)
        if found is None:
            slots, queue = KINDS[kind]
            found = _GATES[kind] = Gate(settings.get_int(slots), settings.get_int(queue))
        return found


def reset_gates() -> None:
    """Forget the gates (tests change the settings)."""
    with _GATES_LOCK:
        _GATES.clear()
