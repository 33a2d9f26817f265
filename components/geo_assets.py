"""Boundaries as cacheable, content-hashed assets (issue #7, "Lean traffic").

The screen map does not carry its GeoJSON inside the figure: the choropleth's ``geojson``
is a URL such as ``/geo/county-3f9c0a1b2c3d4e5f.json`` and plotly.js fetches it. The name
holds a hash of the content, so the response can be cached for a year (``immutable``):
a second page view, a second tab or a level visited again never downloads it again, and
a change of the boundaries changes the URL. The context layers, drawn as choropleths
(the neighbouring countries, China's outline, the inset's land and islands:
``twinning.figures.map.CONTEXT_LAYERS``), are served the same way, all in one file. The
bytes are compressed once per process (gzip and brotli) and kept; a conditional request
(``If-None-Match``) gets a 304.

Only the screen uses URLs. Exports (kaleido, ``twinning.export``) and anything written
to a single file keep the GeoJSON inline: they call ``twinning.figures.map_figure`` with
the dict from ``twinning.figures.geojson.level_geojson``.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from twinning.filters import LEVELS
from twinning.view import Boundaries

ROUTE = "geo/"
HASH_CHARS = 16
# "county-<hash>.json" for a national level, "county-650000-<hash>.json" for a province
_NAME = re.compile(
    r"^(?P<level>province|prefecture|county)(?:-(?P<province>\d{6}))?"
    rf"-(?P<hash>[0-9a-f]{{{HASH_CHARS}}})\.json$"
)
# the context layers (the map's trace names: twinning.figures.map.CONTEXT_LAYERS), the same
# in every view, are one file: one request of a cold page, each layer's shapes by their ids
OVERLAYS = "overlays"
_OVERLAY_NAME = re.compile(rf"^{OVERLAYS}-(?P<hash>[0-9a-f]{{{HASH_CHARS}}})\.json$")
CACHE_CONTROL = "public, max-age=31536000, immutable"
BROTLI_BEST = 11  # ~2.5 s for the national county map: done in the background at start
BROTLI_QUICK = 9  # ~0.1 s: what a request gets before the best one is ready
GZIP_LEVEL = 9

log = logging.getLogger(__name__)

_state = {"prefix": "/"}
_lock = threading.Lock()
_best_br: dict[str, bytes] = {}
# (level or overlay, province) -> file name of the assets this process has made
_made: dict[tuple[str, str | None], str] = {}


@dataclass(frozen=True)
class GeoAsset:
    name: str  # file name, with the hash
    etag: str  # the hash (weak validator: every encoding has the same content)
    body: bytes  # the JSON, uncompressed


def _json_bytes(obj: Any) -> bytes:
    try:
        import orjson

        return orjson.dumps(obj)
    except ImportError:  # pragma: no cover - orjson is a dependency
        import json

        return json.dumps(obj, separators=(",", ":")).encode("utf-8")


@lru_cache(maxsize=64)
def asset(level: str, province: str | None = None) -> GeoAsset:
    """The GeoJSON of a level (national, or one province's places) as bytes and a name."""
    from twinning.figures.geojson import build_level_geojson

    stem = f"{level}-{province}" if province else level
    made = _asset_of(stem, build_level_geojson(level, province)[0])
    _made[(level, province)] = made.name
    return made


def geojson_url(level: str, province: str | None = None) -> str:
    """Where the page fetches the boundaries of a view (under the app's request prefix)."""
    return f"{_state['prefix']}{ROUTE}{asset(level, province).name}"


def _asset_of(stem: str, obj: Any) -> GeoAsset:
    body = _json_bytes(obj)
    digest = hashlib.sha256(body).hexdigest()[:HASH_CHARS]
    return GeoAsset(name=f"{stem}-{digest}.json", etag=digest, body=body)


@lru_cache(maxsize=1)
def overlay_asset() -> GeoAsset | None:
    """The context layers' shapes in one GeoJSON: each layer's features exactly as
    ``twinning.figures.map.load_overlays`` gives them to its trace (whose locations pick
    its own ids out of the file). None if there are none."""
    from twinning.figures.map import load_overlays

    shapes = load_overlays().shapes
    if not shapes:
        return None
    features = [f for layer in shapes.values() for f in layer["features"]]
    made = _asset_of(OVERLAYS, {"type": "FeatureCollection", "features": features})
    _made[(OVERLAYS, None)] = made.name
    return made


# the most layers of one figure drawn from one file: the places' three (no data, values, a
# scope's outline), the context's four (CONTEXT_LAYERS)
LAYERS_PER_FILE = 6


def again(url: str, n: int = 2) -> str:
    """The name the ``n``-th layer of a figure drawn from one boundaries file gives it (the
    first names it ``url``; ``use_urls``)."""
    return f"{url}#{n}"


def use_urls(fig: dict[str, Any]) -> None:
    """Swap the context layers' inline GeoJSON in a plain figure dict for the URL of the
    file that holds them all (the screen figure only: they are the same in every view,
    so the browser keeps them).

    Several layers are drawn from one file (the places' layers, the context's). plotly.js
    fetches a URL once per page and makes another trace with the same URL poll for it,
    giving up after 5 s: on a slow link a layer would fail to draw. So each layer after
    the first names the file with a fragment of its own (``#2``, ``#3``...): a separate
    key for plotly.js, the same request for the browser (a fragment never reaches the
    server; a later read waits on the HTTP cache for the first).
    """
    from twinning.figures.map import CONTEXT_LAYERS

    data = fig["data"]
    uses: dict[str, int] = {}
    for i, trace in enumerate(data):
        url = trace.get("geojson")
        if trace.get("name") in CONTEXT_LAYERS and isinstance(url, dict):
            a = overlay_asset()
            url = None if a is None else f"{_state['prefix']}{ROUTE}{a.name}"
        if isinstance(url, str):
            uses[url] = n = uses.get(url, 0) + 1
            data[i] = {**trace, "geojson": url if n == 1 else again(url, n)}


# The screen's boundaries: by address, fetched once and cached by the browser; the base
# figure, small without them, is kept per structure key (``twinning.view.View.map``).
SERVED = Boundaries("served", geojson_url, use_urls, keep=True)


@lru_cache(maxsize=128)
def _gzip(name: str, body: bytes) -> bytes:
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


@lru_cache(maxsize=128)
def _brotli_quick(name: str, body: bytes) -> bytes:
    import brotli

    return brotli.compress(body, quality=BROTLI_QUICK)


def _brotli(a: GeoAsset) -> bytes:
    best = _best_br.get(a.name)
    if best is None:
        best = _read_best(a)
    return best if best is not None else _brotli_quick(a.name, a.body)


_not_there: set[str] = set()  # names whose file did not hold the asset (until prepare_best)


def _read_best(a: GeoAsset) -> bytes | None:
    """The best encoding another worker (or an earlier run) left in ``best_dir``, read when
    a request comes before this worker's ``prepare_best`` (which runs after its warm-up's
    figures, seconds at 10 M figures): reading and checking the county map's file takes
    ~10 ms, where brotli's quick setting took a worker ~0.1 s of CPU (0.74 s seen beside
    the warm-up at 10 M figures). None if there is no such file or it holds something
    else (never served; prepare_best makes it again)."""
    if a.name in _not_there:
        return None
    folder = best_dir()
    if folder is None:
        return None
    packed = _stored_best(folder, a)
    if packed is None:
        with _lock:
            _not_there.add(a.name)
        return None
    _keep_best(a.name, packed)
    return packed


def _stored_best(folder: Path, a: GeoAsset) -> bytes | None:
    """The best encoding of ``a`` kept in ``folder``; None if there is none or the file
    holds something else (boundaries of old, a file cut short)."""
    from components.static_encodings import checked_brotli

    return checked_brotli(folder / f"{a.name}.br", a.body)


def prepare_best(levels: tuple[str, ...] = LEVELS) -> None:
    """Compress the national levels with brotli's best (slow) setting; run in the
    background at start. Requests made before it is done get a quicker encoding.

    The encodings are kept in files (``best_dir``), so of the workers starting together
    one compresses and the others read its files, and a restart compresses nothing: four
    workers each compressing the county map took both cores for seconds after a start,
    when the first visitors came (#7)."""
    current = [asset(level, None) for level in levels] + [overlay_asset()]
    current = [a for a in current if a is not None]
    found = [a for a in current if a.name not in _best_br]
    folder = best_dir()
    if folder is None:
        for a in found:
            _keep_best(a.name, _compress_best(a.body))
        return
    import fcntl

    from twinning.query.cache import write_atomic

    with open(folder / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # one worker compresses; the others wait, then read
        for a in found:
            packed = _stored_best(folder, a)  # a file that is not ours is never served
            if packed is None:
                packed = _compress_best(a.body)
                write_atomic(folder / f"{a.name}.br", packed)
            _keep_best(a.name, packed)
        if set(levels) == set(LEVELS):  # boundaries rebuilt since: their old files go
            keep = {f"{a.name}.br" for a in current}
            for old in folder.glob("*.br"):
                if old.name not in keep:
                    old.unlink(missing_ok=True)


def best_dir() -> Path | None:
    """Where the best encodings are kept (``geo-br/`` in the shared cache's folder), or
    None where there is no folder that can be written (then each process compresses)."""
    from twinning.query.cache import cache_folder

    return cache_folder("geo-br")


def _compress_best(body: bytes) -> bytes:
    import brotli

    return brotli.compress(body, quality=BROTLI_BEST)


def _keep_best(name: str, packed: bytes) -> None:
    with _lock:
        _best_br[name] = packed
        _not_there.discard(name)


def _valid_province(code: str) -> bool:
    from twinning.geo.boundaries import load_level

    return code in set(str(c) for c in load_level("province")["adcode"])


def _accepts(accept_encoding: str, coding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        token, _, params = part.strip().partition(";")
        if token.strip() in (coding, "*"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return True
            return True
    return False


def register(app: Any) -> None:
    """Serve ``/geo/<name>`` on the app's Flask server and remember the URL prefix."""
    import flask

    _state["prefix"] = app.config.requests_pathname_prefix

    def find(name: str) -> GeoAsset | None:
        m = _NAME.match(name)
        if m and not (m["province"] and not _valid_province(m["province"])):
            return asset(m["level"], m["province"])
        return overlay_asset() if _OVERLAY_NAME.match(name) else None

    def serve(name: str) -> flask.Response:
        a = find(name)
        if a is None or a.name != name:  # an old hash: boundaries changed since that page
            flask.abort(404)
        headers = {
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
            "ETag": f'W/"{a.etag}"',
        }
        inm = flask.request.headers.get("If-None-Match", "")
        if a.etag in inm or inm.strip() == "*":
            return flask.Response(status=304, headers=headers)
        accept = flask.request.headers.get("Accept-Encoding", "")
        if _accepts(accept, "br"):
            body, headers["Content-Encoding"] = _brotli(a), "br"
        elif _accepts(accept, "gzip"):
            body, headers["Content-Encoding"] = _gzip(a.name, a.body), "gzip"
        else:
            body = a.body
        return flask.Response(body, mimetype="application/json", headers=headers)

    app.server.add_url_rule(
        app.config.routes_pathname_prefix + ROUTE + "<name>", "atlas_geojson", serve
    )
    original = app.interpolate_index

    def interpolate_index(**kwargs: Any) -> str:
        page = original(**kwargs)
        from components.callbacks import import_page_requested

        if not flask.has_request_context() or import_page_requested():
            return page
        links = preload_links(flask.request.query_string.decode("utf-8", "replace"))
        return page.replace("</head>", f"{links}</head>", 1) if links else page

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]


def preload_links(search: str) -> str:
    """``<link rel="preload">`` for the boundaries the page at ``?search`` draws first: the
    browser fetches them while it starts the page's scripts, not after the first map
    arrives (a cold county view fetched its 255 KB only ~0.7 s after the figure, #7).
    ``crossorigin="anonymous"`` as plotly.js's fetch of the same URL asks, so the
    browser uses the preloaded answer. Only files this worker has already made (its
    warm-up makes the national levels'): the page itself never waits for one to be made,
    and a view no file is made for (an unknown province) gets none."""
    from components.callbacks import filters_from_url

    try:
        filters = filters_from_url(search)
    except Exception:  # a page without its preload still works: never fail the page
        log.warning("no boundary preload for %r", search, exc_info=True)
        return ""
    wanted = [(filters.level, filters.recipient)]
    if not filters.recipient:  # a drilled-into province is drawn without them
        wanted.append((OVERLAYS, None))
    names = [_made.get(key) for key in wanted]
    if not all(names):
        return ""
    urls = [f"{_state['prefix']}{ROUTE}{name}" for name in names]
    links = "".join(
        f'<link rel="preload" href="{html.escape(u)}" as="fetch" crossorigin="anonymous">'
        for u in urls
    )
    # every name a figure may give each file: each holds several of its layers
    keys = [[u, [u, *(again(u, n) for n in range(2, LAYERS_PER_FILE + 1))]] for u in urls]
    return links + _parsed_early(keys)


# Each preloaded file handed to plotly.js's own store of boundaries
# (``window.PlotlyGeoAssets``, under every name the figure gives it), which plotly.js reads
# before it fetches anything: the text as soon as it arrives, parsed (once for all its
# names) when plotly.js first reads it, so the page's scripts do not wait for the parse.
# Without it plotly.js asked for the files only once it plotted, the second layer's after
# the first (the HTTP cache hands one at a time), and parsed the county file twice: on a
# cold reference load the map's drawing waited ~0.1 s with the main thread idle (#7). A
# name plotly.js asked for first is left to it (its own fetch is under way); a file that
# does not parse reads as missing, and plotly.js fetches it itself.
_PARSE_EARLY = (
    "(function(){{if(!window.fetch||!Object.defineProperty)return;"
    "var A=window.PlotlyGeoAssets=window.PlotlyGeoAssets||{{topojson:{{}}}};"
    "function put(n,v){{Object.defineProperty(A,n,{{value:v,writable:true,"
    "configurable:true,enumerable:true}});}}"
    "{keys}.forEach(function(k){{window.fetch(k[0],{{credentials:'same-origin'}})"
    ".then(function(r){{return r.ok?r.text():null;}}).then(function(t){{if(t===null)return;"
    "var d;function get(){{if(d===undefined){{try{{d=JSON.parse(t);}}catch(e){{d=null;}}"
    "t=null;}}return d;}}"
    "k[1].forEach(function(n){{if(A[n]===undefined)Object.defineProperty(A,n,{{get:get,"
    "set:function(v){{put(n,v);}},configurable:true,enumerable:true}});}});}})"
    ".catch(function(){{}});}});}})();"
)


def _parsed_early(keys: list[list[Any]]) -> str:
    from components.security import inline_script

    return inline_script(_PARSE_EARLY.format(keys=json.dumps(keys).replace("</", "<\\/")))
