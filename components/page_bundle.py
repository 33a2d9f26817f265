"""The page's own small scripts and styles sent as one file each (#7).

Dash puts every ``.js`` and ``.css`` of ``assets/`` on the page as its own tag: with the
atlas's base map script that made 21 of the ~38 requests of a cold page. A browser speaks
HTTP/1.1 to the atlas (no TLS, so no HTTP/2) and opens at most six connections to it:
measured in a cold Chromium, the page's requests were all asked for ~35 ms into the load
but sent one after another, plotly.js's at ~205 ms and the layout's at ~236 ms, though the
server answered each within 2–5 ms. Here the page's stylesheets under ``assets/`` become
one file and its small scripts (under ``SMALL_BYTES``, and those the app makes itself,
``own_script``) another, in the order Dash gave them; plotly.js's bundle and any other
large file keep their own address, to be cached apart from the small files that change
more often.

The two files have addresses made from their content (``/_atlas/page-<hash>.js``), are
cached for a year and encoded once (components/static_encodings.py). A changed asset makes
another address: Dash's ``?m=<modification time>`` in the tags it writes is part of what
is bundled. With Dash's hot reload (debug mode) the page keeps one tag per file, which hot
reload replaces one by one.

A script of the bundle runs as it did in a tag of its own: the atlas's scripts are each a
function called at once, and each part ends with ``;`` on a line of its own. A large
script that came between two small ones (plotly.js between ``tours.js`` and the
regenerator runtime) now comes after both: no small script uses another script as it
loads.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.static_encodings import IMMUTABLE

SMALL_BYTES = 64 * 1024  # larger scripts keep their own tag (plotly.js: 1.5 MB)
ROUTE = "_atlas/page-<name>"

_SCRIPT = re.compile(r'<script src="(?P<src>[^"]+)"></script>')
_STYLE = re.compile(r'<link rel="stylesheet" href="(?P<src>[^"]+)">')
_NAME = re.compile(r"[0-9a-f]{20}\.(?:js|css)")
# rules a style sheet may only have at its start: such a sheet keeps its own tag
_FIRST_ONLY = re.compile(r"@(?:import|charset)\b", re.IGNORECASE)

_lock = threading.Lock()
_own: dict[str, str] = {}  # address -> body of the scripts the app makes (own_script)
_bundles: dict[str, tuple[bytes, str]] = {}  # file name -> (body, mimetype)
_made: dict[tuple[str, ...], str] = {}  # the addresses bundled -> the bundle's address
# an asset's address (with Dash's ?m=) -> its text, or None for a file of its own tag: read
# once, not for every page
_assets: dict[str, str | None] = {}


def own_script(src: str, body: str) -> None:
    """Name a script the app serves itself at ``src`` (its address on the page) with
    ``body``: it can join the page's bundle."""
    with _lock:
        _own[src] = body


def register(app: Any) -> None:
    """Bundle the tags of every page the app writes, and serve the bundles."""
    import flask

    original = app.interpolate_index

    def interpolate_index(**kwargs: Any) -> str:
        if not getattr(app._dev_tools, "hot_reload", False):
            kwargs["css"] = bundle_tags(app, kwargs.get("css", ""), _STYLE, "css")
            kwargs["scripts"] = bundle_tags(app, kwargs.get("scripts", ""), _SCRIPT, "js")
        return original(**kwargs)

    app.interpolate_index = interpolate_index
    # this process wrote a page for a bundle it did not know; the lock is held while it
    # writes: the page's other bundle, asked for at the same moment on another thread,
    # waits for the page and is then found (it was a 404 on a cold page: the style sheet's
    # request started the writing and the script's found it started, not done)
    written: list[bool] = []
    writing = threading.Lock()

    def page_file(name: str) -> flask.Response:
        if not _NAME.fullmatch(name):
            flask.abort(404)
        with _lock:
            found = _bundles.get(name)
        if found is None:
            with writing:
                if not written:
                    # another worker wrote the page: write it here too (same files, same
                    # names), once: a name still unknown then is no bundle of this app's
                    with app.server.test_request_context(app.config.routes_pathname_prefix):
                        app.index()
                    written.append(True)
            with _lock:
                found = _bundles.get(name)
        if found is None:
            flask.abort(404)
        body, mimetype = found
        response = flask.Response(body, mimetype=mimetype)
        response.headers["Cache-Control"] = IMMUTABLE
        response.set_etag(name)
        return response.make_conditional(flask.request)

    app.server.add_url_rule(
        app.config.routes_pathname_prefix + ROUTE, "atlas_page_bundle", page_file
    )


def bundle_tags(app: Any, tags: str, pattern: re.Pattern[str], kind: str) -> str:
    """``tags`` (Dash's HTML for the page's scripts or styles) with the tags of the app's
    own small files replaced by one tag of their bundle, where the first of them was. A
    tag that is not the app's own ends the run: what comes after it stays after it; so
    does a style sheet of the app's own left out (the cascade keeps their order), where a
    large script of its own comes after the bundle."""
    out: list[str] = []
    run: list[tuple[str, str]] = []  # (address, text) of the bundle being gathered
    held: list[str] = []  # the run's large files, which keep their own tags after it
    pos = 0

    def flush() -> None:
        if len(run) > 1:
            out.append(_tag(app, run, kind))
        elif run:
            out.append(_tag_of(run[0][0], kind))
        out.extend(held)
        run.clear()
        held.clear()

    for match in pattern.finditer(tags):
        between, pos = tags[pos : match.start()], match.end()
        if between.strip():  # not a tag of the pattern: it ends the run
            flush()
            out.append(between.strip("\n"))
        text, own_file = _own_text(app, match["src"])
        if text is not None:
            run.append((match["src"], text))
        elif own_file and kind == "js":  # large: its tag stays, after the bundle
            held.append(match.group(0))
        else:
            flush()
            out.append(match.group(0))
    flush()
    if tags[pos:].strip():
        out.append(tags[pos:].strip("\n"))
    return "\n".join(out)


def _own_text(app: Any, src: str) -> tuple[str | None, bool]:
    """(the text of the small file at ``src``, or None; whether ``src`` is the app's own:
    under ``assets/`` with Dash's ``?m=``, or named by ``own_script``)."""
    with _lock:
        body = _own.get(src)
    if body is not None:
        return body, True
    parts = urlsplit(src)
    assets = app.config.requests_pathname_prefix + app.config.assets_url_path.strip("/") + "/"
    if parts.netloc or not parts.path.startswith(assets) or "m=" not in parts.query:
        return None, False
    path = Path(app.config.assets_folder) / parts.path[len(assets) :]
    key = f"{path}?{parts.query}"
    with _lock:
        if key in _assets:
            return _assets[key], True
    try:
        text: str | None = None
        if path.stat().st_size <= SMALL_BYTES:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".css" and _FIRST_ONLY.search(text):
                text = None
    except (OSError, UnicodeDecodeError):
        return None, False
    with _lock:
        _assets[key] = text
    return text, True


def _tag_of(src: str, kind: str) -> str:
    if kind == "css":
        return f'<link rel="stylesheet" href="{src}">'
    return f'<script src="{src}"></script>'


def _tag(app: Any, run: list[tuple[str, str]], kind: str) -> str:
    """The tag of the bundle of ``run``, made (and kept for the route) the first time."""
    key = tuple(src for src, _ in run)
    with _lock:
        name = _made.get(key)
    if name is None:
        end = "\n" if kind == "css" else "\n;\n"
        body = "".join(f"/* {urlsplit(src).path} */\n{text}{end}" for src, text in run)
        data = body.encode("utf-8")
        name = f"{hashlib.sha256(data).hexdigest()[:20]}.{kind}"
        mimetype = "text/css" if kind == "css" else "application/javascript"
        with _lock:
            _bundles[name] = (data, mimetype)
            _made[key] = name
    src = app.config.requests_pathname_prefix + ROUTE.replace("<name>", name)
    return _tag_of(src, kind)
