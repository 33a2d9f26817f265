"""The page's scripts and styles compressed once, not on every request (#7).

A cold page loads ~4 MB of JavaScript (plotly.js, dash-ag-grid, React, Dash's renderer and
components). flask-compress encodes each response as it goes out: ~40-70 ms of a worker's
CPU for each of the three largest files, on every visit of a new browser, with the page's
scripts waiting in line behind one another (on this 2-core machine a cold page's scripts
had all arrived only ~0.5 s after its HTML).

Here a static file's encodings are made once per process and kept (bounded in size): a
quick brotli (or gzip) encoding at its first request, and brotli's best, made in a
background thread and kept in files in the shared cache's folder (``static-br/``, named
by the content's hash) so that of several workers one compresses and a restart
compresses nothing. A request after that gets the best encoding from memory. Without
that folder (``TWINNING_CACHE_DIR=off``) the quick encoding is kept.

Files under ``/assets/`` asked for with Dash's ``?m=<modification time>`` get a year's
``Cache-Control`` (immutable): a changed file has another address. Dash's component
suites already carry a version in their names and a year's cache.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import queue
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TYPES = frozenset({"text/javascript", "application/javascript", "text/css", "application/json"})
QUICK_BR, BEST_BR, GZIP_LEVEL = 5, 11, 9
MEMORY_BYTES = 24 * 1024 * 1024  # all encodings kept by one process (the page's: ~3 MB)
IMMUTABLE = "public, max-age=31536000, immutable"

_lock = threading.Lock()
# (content hash, coding) -> (encoded bytes, whether it is the best encoding)
_kept: OrderedDict[tuple[str, str], tuple[bytes, bool]] = OrderedDict()
_kept_bytes = [0]
_hashes: dict[tuple[str, str], str] = {}  # (path, etag) -> content hash
_queued: set[str] = set()
_jobs: queue.Queue[tuple[str, bytes]] = queue.Queue()
_worker: list[threading.Thread] = []


def best_dir() -> Path | None:
    """``static-br/`` in the shared cache's folder, or None where none can be written."""
    from twinning.query.cache import cache_folder

    return cache_folder("static-br")


def _keep(key: tuple[str, str], packed: bytes, best: bool) -> None:
    with _lock:
        old = _kept.pop(key, None)
        if old is not None:
            _kept_bytes[0] -= len(old[0])
        _kept[key] = (packed, best)
        _kept_bytes[0] += len(packed)
        while _kept_bytes[0] > MEMORY_BYTES and len(_kept) > 1:
            _, (dropped, _) = _kept.popitem(last=False)
            _kept_bytes[0] -= len(dropped)


def _best_file(digest: str) -> Path | None:
    folder = best_dir()
    return None if folder is None else folder / f"{digest}.br"


def checked_brotli(path: Path, body: bytes) -> bytes | None:
    """The brotli encoding kept in ``path`` if it holds ``body``; None if there is none or
    it holds something else (another version, a file cut short): never served."""
    import brotli

    try:
        packed = path.read_bytes()
        return packed if brotli.decompress(packed) == body else None
    except (OSError, brotli.error):
        return None


def _read_best(digest: str, body: bytes) -> bytes | None:
    path = _best_file(digest)
    return None if path is None else checked_brotli(path, body)


def _make_best(digest: str, body: bytes) -> None:
    import fcntl

    import brotli

    path = _best_file(digest)
    if path is None:
        return
    with open(path.with_suffix(".lock"), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # one worker compresses; the others then read
        packed = _read_best(digest, body)
        if packed is None:
            from twinning.query.cache import write_atomic

            packed = brotli.compress(body, quality=BEST_BR)
            write_atomic(path, packed)
    _keep((digest, "br"), packed, True)


def _run_jobs() -> None:
    from components.idle_gc import lower_priority, wait_quiet

    lower_priority()  # brotli's best takes seconds of a core: only what requests leave
    while True:
        digest, body = _jobs.get()
        try:
            wait_quiet()  # and between requests (#7)
            _make_best(digest, body)
        except Exception:  # a file not compressed best is still served quick
            log.warning("no best encoding for a static file", exc_info=True)
        finally:
            _jobs.task_done()


def _queue_best(digest: str, body: bytes) -> None:
    if _best_file(digest) is None:  # no shared folder (TWINNING_CACHE_DIR=off): quick only
        return
    with _lock:
        if digest in _queued:
            return
        _queued.add(digest)
        if not _worker:
            t = threading.Thread(target=_run_jobs, name="atlas-static-br", daemon=True)
            _worker.append(t)
            t.start()
    _jobs.put((digest, body))


def _final(digest: str, coding: str) -> bytes | None:
    """The encoding of ``digest`` in ``coding`` kept in memory, if it is the one to send
    from now on (brotli's best; any gzip; the quick brotli where no best is ever made:
    no shared folder), else None."""
    with _lock:
        found = _kept.get((digest, coding))
        if found is not None:
            _kept.move_to_end((digest, coding))
    if found is None:
        return None
    if found[1] or coding != "br" or _best_file(digest) is None:
        return found[0]
    return None


def encoded(digest: str, body: bytes, coding: str) -> bytes:
    """``body`` (whose sha256 is ``digest``) in ``coding`` ("br" or "gzip")."""
    final = _final(digest, coding)
    if final is not None:
        return final
    if coding == "br":
        best = _read_best(digest, body)  # made by another worker, or before a restart
        if best is not None:
            _keep((digest, "br"), best, True)
            return best
        with _lock:
            quick = _kept.get((digest, "br"))
        if quick is not None:  # until the best is made
            return quick[0]
        import brotli

        packed = brotli.compress(body, quality=QUICK_BR)
        _keep((digest, "br"), packed, False)
        _queue_best(digest, body)
        return packed
    packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
    _keep((digest, "gzip"), packed, True)
    return packed


def _coding(accept: Any) -> str | None:
    """The encoding to send for a request's parsed Accept-Encoding (brotli first)."""
    for coding in ("br", "gzip"):
        if accept[coding] > 0:
            return coding
    return None


def register(app: Any) -> None:
    """Encode the app's static responses from the kept encodings. Registered after
    flask-compress, so it runs before it; flask-compress leaves an encoded response alone."""
    import flask

    prefix = app.config.routes_pathname_prefix
    suites = prefix + "_dash-component-suites/"
    assets = prefix + app.config.assets_url_path.strip("/") + "/"
    scripts = prefix + "_atlas/"

    @app.server.after_request
    def encode_static(response: flask.Response) -> flask.Response:
        request = flask.request
        path = request.path
        if not path.startswith((suites, assets, scripts)):
            return response
        if path.startswith(assets) and request.args.get("m"):
            response.headers["Cache-Control"] = IMMUTABLE
        if (
            request.method != "GET"
            or response.status_code != 200
            or "Content-Encoding" in response.headers
            or response.mimetype not in TYPES
        ):
            return response
        coding = _coding(request.accept_encodings)
        if coding is None:
            return response
        response.direct_passthrough = False
        etag, weak = response.get_etag()
        etag = etag or ""
        with _lock:
            digest = _hashes.get((path, etag)) if etag else None
        packed = _final(digest, coding) if digest is not None else None
        if packed is not None:
            # the file is not read at all: 1.5 MB of plotly.js read in 8 KB blocks for
            # every new browser cost a worker ~9 ms while the page's ~38 files queued (#7)
            close = getattr(response.response, "close", None)
            if close is not None:
                close()
        else:
            body = response.get_data()
            if digest is None:
                digest = hashlib.sha256(body).hexdigest()[:32]
                if etag:
                    with _lock:
                        _hashes[(path, etag)] = digest
            packed = encoded(digest, body, coding)
        response.set_data(packed)
        response.headers["Content-Encoding"] = coding
        response.vary.add("Accept-Encoding")
        if etag:
            response.set_etag(f"{etag}:{coding}", weak=bool(weak))
        # a browser revalidating sends the encoded one's tag back: 304, as flask-compress does
        return response.make_conditional(request)
