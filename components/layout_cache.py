"""The layout's answers kept, encoded, per page address and data version (#7).

A page asks for its layout naming its address (``X-Atlas-Location``, assets/first_view.js);
the answer is that page with its first map, headline numbers and words in it
(``callbacks.serve_layout``). Working it out, writing ~0.6–0.75 MB of JSON and compressing
it took a worker 20–35 ms for a county view (more at 10 M figures, and several times that
while the worker also sent the page's scripts): on a cold page that answer arrived after
the scripts had run, on the first view's critical path. The same address on the same data
gets the same bytes, so a worker keeps the last ``MAX_ENTRIES`` answers (at most
``MAX_BYTES`` in all) as sent: body and headers, per ``Accept-Encoding``, and leaves them
in the shared cache of the data version (``twinning.query.cache``), where the server's
other workers find them. A new data version (an import, an undo) is another key; nothing
is kept for an answer with a cookie or another status than 200.

Registered before flask-compress, so its ``after_request`` runs after it and keeps what was
sent; a kept answer still passes the others (security headers, Server-Timing).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

MAX_ENTRIES = 32
MAX_BYTES = 16 * 1024 * 1024
# the headers of an answer that are not kept: made anew for each response
_FRESH = frozenset({"date", "server-timing", "content-length", "set-cookie"})


class LayoutCache:
    """A bounded LRU of encoded answers: key -> (body, headers)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, tuple[bytes, list[tuple[str, str]]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bytes, list[tuple[str, str]]] | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple, body: bytes, headers: list[tuple[str, str]]) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[0])
            self._items[key] = (body, headers)
            self._bytes += len(body)
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, (dropped, _) = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)


def register(app: Any, state: Any, cache: LayoutCache | None = None) -> LayoutCache:
    """Serve ``_dash-layout`` answers from ``cache`` (a new one by default); returns it.
    Call before flask-compress is set up (see the module's docstring)."""
    import flask

    from components.callbacks import LOCATION_HEADER

    cache = cache if cache is not None else LayoutCache()
    path = app.config.routes_pathname_prefix + "_dash-layout"

    def key() -> tuple | None:
        request = flask.request
        if request.path != path or request.method != "GET":
            return None
        flask.g.atlas_layout_data = data = state.data()
        return (
            data.version,
            request.headers.get(LOCATION_HEADER, ""),
            request.headers.get("Accept-Encoding", ""),
        )

    def shared_key(k: tuple) -> tuple[Any, str | None]:
        shared = getattr(flask.g.get("atlas_layout_data"), "shared", None)
        if shared is None:  # its namespace is the data version already
            return None, None
        return shared, shared.key_text(("layout-answer", *k[1:]))

    @app.server.before_request
    def _kept_layout() -> flask.Response | None:
        started = (time.perf_counter(), time.thread_time())
        k = key()
        if k is None:
            return None
        flask.g.atlas_layout_key = k
        hit = cache.get(k)
        if hit is None:  # another worker's answer
            shared, skey = shared_key(k)
            found = shared.get(skey) if skey else None
            if isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], bytes):
                hit = found
                cache.put(k, *hit)
        if hit is None:
            return None
        flask.g.atlas_layout_hit = True
        # the clock components/app.py _server_timing reads (its before_request, registered
        # later, does not run once this one answers)
        flask.g.setdefault("atlas_clock", started)
        body, headers = hit
        return flask.Response(body, status=200, headers=headers)

    @app.server.after_request
    def _keep_layout(response: flask.Response) -> flask.Response:
        k = flask.g.get("atlas_layout_key")
        if k is None or flask.g.get("atlas_layout_hit"):
            return response
        if response.status_code != 200 or response.direct_passthrough:
            return response
        if "Set-Cookie" in response.headers:
            return response
        headers = [(n, v) for n, v in response.headers.items() if n.lower() not in _FRESH]
        body = response.get_data()
        cache.put(k, body, headers)
        shared, skey = shared_key(k)
        if skey:
            shared.set(skey, (body, headers))
        return response

    return cache
