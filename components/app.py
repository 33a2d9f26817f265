"""The Dash application: wiring only. Data comes through ``twinning`` (the core).

``create_app`` opens the store, builds nothing at import time, and keys every cache on the
store's ``data_version()`` so records imported while the app runs appear on the map.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import dash

from twinning import settings
from twinning.query import AtlasData

log = logging.getLogger(__name__)

ASSETS_URL_PATH = "assets"


class AtlasState:
    """Per-process access to the store and the prepared data (never per-user state)."""

    def __init__(self, store: Any = None) -> None:
        self._store = store
        self._lock = threading.Lock()

    def store(self) -> Any:
        if self._store is None:
            from twinning.store import open_store

            with self._lock:
                if self._store is None:
                    self._store = open_store()
        return self._store

    def data(self) -> AtlasData:
        """The prepared data for the store's current version (rebuilt after an import),
        the same object every export of this process uses (``twinning.view``)."""
        from twinning.view import current_data

        return current_data(self.store())


def create_app(store: Any = None) -> dash.Dash:
    """Build the atlas. ``store`` defaults to ``open_store()`` on TWINNING_DATABASE_URL."""
    from components import (
        a11y,
        callbacks,
        export_controls,
        geo_assets,
        idle_gc,
        import_page,
        layout_cache,
        page_bundle,
        share,
        static_encodings,
        tours,
    )
    from components.security import (
        register_bounded_routes,
        register_callback_guard,
        register_headers,
        trust_proxies,
    )

    state = AtlasState(store)
    app = dash.Dash(
        __name__,
        title="结对帮扶地图 · Twinning Atlas",
        assets_folder=str(_assets_folder()),
        serve_locally=True,
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.server.config["MAX_CONTENT_LENGTH"] = int(
        settings.get_int("TWINNING_MAX_UPLOAD_MB") * 1.5 * 1024 * 1024
    )
    app.layout_cache = layout_cache.register(app, state)  # before flask-compress: after it
    _compress(app)
    static_encodings.register(app)  # after flask-compress: runs before it
    _fast_json()
    _drop_polyfill(app)
    page_bundle.register(app)  # after the tags _early_requests leaves out are gone
    _early_requests(app)
    _first_paint(app)
    geo_assets.register(app)
    app.layout = lambda: callbacks.serve_layout(state.data())  # per page load
    callbacks.register(app, state)
    a11y.register(app, state)
    share.register(app, state)  # share menu, /embed, offline HTML (#9)
    tours.register(app, state)  # the Tour menu, /tour/<id> and its exports (#9)
    _serve_view_csv(app, state)
    import_page.register_callbacks(app, state.store)
    export_controls.register_callbacks(app, state.store)
    register_headers(app)  # CSP, nosniff, framing (#12)
    register_bounded_routes(app, state.store)  # the offline HTML file in the export gate (#12)
    register_callback_guard(app)  # 400 for a callback body that does not fit (#12)
    trust_proxies(app.server)  # TWINNING_PROXY_HOPS
    _server_timing(app.server)
    app.atlas_state = state  # for tests and benchmarks
    # Dash sets up its server on the first request (scripts, CSS, callbacks) and marks it
    # done before it is: in a threaded worker a second request at that moment found no
    # registered scripts and answered 500 ("dash is not a registered library"). Set up
    # now, before any request can come in.
    with app.server.test_request_context(app.config.routes_pathname_prefix):
        app._setup_server()
    # Python's full garbage collections while no request waits: after the app is built,
    # what lives as long as the process is out of their sight (components/idle_gc.py)
    idle_gc.register(app.server)
    # Prepare the data now and the default national map in the background, so the first
    # visitor does not wait for either.
    data = state.data()
    threading.Thread(target=_warm, args=(data, app), daemon=True, name="atlas-warm").start()
    return app


def _server_timing(server: Any) -> None:
    """A ``Server-Timing`` header on every response: the wall and CPU milliseconds this
    worker spent on it (``app;dur=…, cpu;dur=…``). Browsers' developer tools show it, and
    the load test (benchmarks/load.py) sets it beside the latency a user saw: the
    difference is time spent waiting for a worker."""
    import flask

    @server.before_request
    def _start_clock() -> None:
        flask.g.atlas_clock = (time.perf_counter(), time.thread_time())

    @server.after_request
    def _stop_clock(response: flask.Response) -> flask.Response:
        started = flask.g.get("atlas_clock")
        if started is not None:
            wall = (time.perf_counter() - started[0]) * 1000
            cpu = (time.thread_time() - started[1]) * 1000
            response.headers["Server-Timing"] = f"app;dur={wall:.1f}, cpu;dur={cpu:.1f}"
        return response


def _compress(app: dash.Dash) -> None:
    """Brotli (preferred) or gzip for every text response: the page, Dash's scripts, the
    plotly.js bundle, the layout and the callback responses (application/json). Dash's
    own ``compress=True`` would pin gzip only. Boundaries come precompressed
    (components/geo_assets.py), which flask-compress leaves alone."""
    import flask_compress

    config = app.server.config
    config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"])  # files sent as streams
    config.setdefault("COMPRESS_BR_LEVEL", 5)  # per response: ~1 ms for a county-level patch
    config.setdefault("COMPRESS_LEVEL", 6)
    config.setdefault("COMPRESS_MIN_SIZE", 500)
    flask_compress.Compress(app.server)


def _fast_json() -> None:
    """Dash writes every callback response with plotly's JSON writer. Its default engine
    when orjson is installed first walks the whole answer in Python (to clean it for
    orjson): 40 ms for a county-level map change of 2,875 values, where the standard
    library's encoder, walking lists in C, takes 1.6 ms for the same text (#7). The
    answer is the same JSON (non-ASCII written as escapes: a few bytes more raw, the same
    after brotli)."""
    import plotly.io as pio

    pio.json.config.default_engine = "json"


# Dash's first script: @babel/polyfill 7 (core-js 2 and regenerator-runtime), ~90 KB.
POLYFILL_TAG = re.compile(r'<script src="[^"]*/deps/polyfill@[^"]*"></script>\s*')


def _drop_polyfill(app: dash.Dash) -> None:
    """Leave out the Babel polyfill Dash puts first on the page. Every browser the atlas
    supports has what core-js 2 adds, and the polyfill cost the first view ~0.25 s of the
    main thread to run, then replaced the browser's own ``String.prototype.trim``,
    ``parseInt`` and ``parseFloat`` with slower ones that plotly.js calls for each place
    it draws (#7). What Dash's renderer and dcc still need of it, ``regeneratorRuntime``
    (one generator function each), comes from ``assets/vendor/regenerator-runtime.js``,
    which the page loads before them."""
    original = app.interpolate_index

    def interpolate_index(**kwargs: Any) -> str:
        kwargs["scripts"] = POLYFILL_TAG.sub("", kwargs.get("scripts", ""), count=1)
        return original(**kwargs)

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]


# The page asks for its layout (and the callbacks' list) from its first line, while the
# browser still fetches and runs the scripts; assets/first_view.js hands Dash's renderer
# these answers when it asks, instead of asking then (#7). The location header is the one
# first_view.js would send (callbacks.LOCATION_HEADER). ``__atlasLater`` lists the scripts
# the page loads later (DEFERRED_LIBRARIES).
EARLY_SCRIPT = (
    "(function(){{window.__atlasLater={later};if(!window.fetch)return;"
    "var o={{method:'GET',credentials:'same-origin',headers:{{'Accept':'application/json',"
    "'Content-Type':'application/json','{header}':location.pathname+location.search}}}};"
    "function f(u){{return window.fetch(u,o).catch(function(){{return null;}});}}"
    "window.__atlasEarly={{'_dash-layout':f({prefix}+'_dash-layout'),"
    "'_dash-dependencies':f({prefix}+'_dash-dependencies')}};}})();"
)
# Component libraries no first view draws: their scripts leave the page's list and
# assets/first_view.js loads them when an answer (the layout, a callback's) puts one of
# their components on the page, and those marked True here also once the map has drawn
# and the browser is idle. dash-ag-grid's 1.3 MB took ~80 ms of a cold first view's main
# thread, for tables that come after the map (assets/tables_later.js); Dash adds
# dash_table's bundle, which the atlas never draws.
DEFERRED_LIBRARIES = {"dash_ag_grid": True, "dash_table": False}
_DEFERRED_TAG = re.compile(
    r'<script src="(?P<src>[^"]*/_dash-component-suites/(?:dash/)?(?P<lib>'
    + "|".join(DEFERRED_LIBRARIES)
    + r')/[^"]*)"></script>\s*'
)


# The chunk of dcc's map and charts: dcc's renderer asks for it only when React first
# renders a graph, ~0.5 s into a cold load, and the map then waited one more round trip;
# preloaded, the answer is there. The dropdowns' and sliders' chunks are not preloaded
# (#7): preloaded, React drew them (~50-70 ms) before it let the map draw; asked for as
# React first renders, they come after the map, and their fields keep their place until
# then (assets/style.css, a11y.css): the first view drew ~70 ms sooner.
FIRST_VIEW_CHUNKS = ("async-graph.js",)


def _early_requests(app: dash.Dash) -> None:
    """Start the page's requests for its layout and its callbacks' list in the page's head,
    an inline script with the response's CSP nonce, so that the server works out the first
    view while the browser loads the scripts: Dash's renderer asks only once they have run
    (~0.3–0.9 s into a cold load), then waited for the answer. assets/first_view.js gives
    the renderer these responses, once each; a failed one is asked for again. The scripts
    of DEFERRED_LIBRARIES are taken off the page and named to first_view.js instead."""
    from components.callbacks import LOCATION_HEADER, import_page_requested
    from components.security import inline_script

    prefix = json.dumps(app.config.requests_pathname_prefix)
    suites = app.config.requests_pathname_prefix + "_dash-component-suites/dash/dcc/"
    original = app.interpolate_index

    def interpolate_index(**kwargs: Any) -> str:
        later: dict[str, dict[str, Any]] = {}

        def defer(match: re.Match[str]) -> str:
            lib = match["lib"]
            later.setdefault(lib, {"src": [], "idle": DEFERRED_LIBRARIES[lib]})
            later[lib]["src"].append(match["src"])
            return ""

        kwargs["scripts"] = _DEFERRED_TAG.sub(defer, kwargs.get("scripts", ""))
        body = EARLY_SCRIPT.format(
            prefix=prefix,
            header=LOCATION_HEADER,
            later=json.dumps(later).replace("</", "<\\/"),
        )
        kwargs["metas"] = kwargs.get("metas", "") + inline_script(body)
        if not import_page_requested():
            kwargs["metas"] += "".join(
                f'<link rel="preload" as="script" href="{suites}{name}">'
                for name in FIRST_VIEW_CHUNKS
            )
        return original(**kwargs)

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]


# Dash's page says "Loading..." (in English) until React has rendered the layout, which on
# a cold load is ~1 s: its scripts and the first map come first (#7). The page shows the
# atlas's header instead, its title and subtitle in the page's language, drawn by the
# page's own style sheet as soon as the HTML has come; React replaces it with the page.
# A presenter's stage (present=1), dark and without that header, shows nothing until then.
_DASH_LOADING = re.compile(r'<div class="_dash-loading">.*?</div>', re.S)


def _first_paint(app: dash.Dash) -> None:
    import html

    import flask

    from components.callbacks import filters_from_url
    from twinning import i18n

    original = app.interpolate_index

    def interpolate_index(**kwargs: Any) -> str:
        # the page's language and stage as its layout reads them (one parser of the URL)
        in_request = flask.has_request_context()
        filters = filters_from_url(
            flask.request.query_string.decode("utf-8", "replace") if in_request else None
        )
        lang = filters.lang
        shell = (
            ""
            if filters.present
            else '<div class="atlas first-paint" aria-busy="true"><header class="header">'
            f'<div class="brand"><h1 class="title">{html.escape(i18n.t("title", lang))}</h1>'
            f'<div class="subtitle">{html.escape(i18n.t("subtitle", lang))}</div>'
            "</div></header></div>"
        )
        entry = _DASH_LOADING.sub(lambda _m: shell, kwargs.get("app_entry", ""), count=1)
        return original(**{**kwargs, "app_entry": entry})

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]


def _serve_view_csv(app: dash.Dash, state: AtlasState) -> None:
    """The table's CSV button: ``/download/view.csv?<permalink query>`` streams the view's
    pairings and figures (``query.iter_csv``) in chunks, so a view of a million rows
    downloads with bounded memory, never built whole in a worker."""
    import flask

    from components import security
    from components.layout import VIEW_CSV_PATH
    from twinning import busy
    from twinning import query as agg
    from twinning.view import View

    def view_csv() -> flask.Response:
        # a few streams at once per process, a short queue, a limit per address: over it,
        # 503 with Retry-After and the words in both languages (#12)
        try:
            security.check_rate(state.store())
            release = busy.gate("download").acquire()
        except busy.Busy as exc:
            return security.busy_response(exc)
        try:
            filters = agg.Filters.from_query(flask.request.query_string.decode("utf-8", "replace"))
            view = View(state.data(), filters)
            name = view.filename("map", "csv")
        except BaseException:
            release()
            raise

        def rows() -> Iterator[str]:
            try:
                yield from view.csv()
            finally:  # the stream ended, failed or the client went away
                release()

        response = flask.Response(flask.stream_with_context(rows()), mimetype="text/csv")
        response.call_on_close(release)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.server.add_url_rule(
        app.config.routes_pathname_prefix + VIEW_CSV_PATH.lstrip("/"), "atlas_view_csv", view_csv
    )


def _warm(data: AtlasData, app: dash.Dash | None = None) -> None:
    from components import layout
    from components.callbacks import map_outputs
    from components.geo_assets import asset, overlay_asset
    from twinning import i18n
    from twinning.figures.geojson import level_locations
    from twinning.filters import LEVELS
    from twinning.query import Filters
    from twinning.view import View

    # the national boundaries' files first (a page preloads only files already made), the
    # default view (both languages), then the other levels a link may open
    for level in LEVELS:
        asset(level, None)
        # the places each level's map draws, read from its boundaries (and geopandas,
        # imported on first use): a view's text alternative and announcement need them,
        # and a worker's first filter change paid for both (~140 ms)
        level_locations(level)
    overlay_asset()
    first = i18n.normalize_lang(settings.get("TWINNING_LANG"))
    langs = (first, "en" if first == "zh" else "zh")
    for lang in langs:
        map_outputs(View(data, Filters(lang=lang)), None)
    # the rest of a first view that costs a worker once: the page (the places' index,
    # the catalogs) and the series (plotly's template)
    for lang in langs:
        layout.atlas_page(data, Filters(lang=lang))
        View(data, Filters(lang=lang)).series()
    if app is not None:
        warm_static(app)
    # the default view's reconciled headline totals (seconds at a million figures, #10):
    # for a large store, once, in a child process that leaves them in the shared cache (a
    # worker that worked them out kept ~150 MB more at 10 M figures, #7)
    from twinning.query.warm import warm_default_headlines

    warm_default_headlines(data)
    # what a link may open later, and the boundaries' best brotli encoding (seconds of a
    # core): each step once the worker has had no request for a moment, the encoding at
    # the lowest CPU priority. Done while visitors clicked, on a new version's first start
    # they made every change twice as slow for ~10 s (#7)
    from components.idle_gc import lower_priority, wait_quiet

    for level in ("county", "prefecture"):
        for lang in langs:
            wait_quiet()
            map_outputs(View(data, Filters(lang=lang, level=level)), None)
    from components.geo_assets import prepare_best

    wait_quiet()
    lower_priority()  # the warm-up's last step: its thread ends with it
    prepare_best()


_PAGE_FILES = re.compile(
    r'<(?:script src|link rel="stylesheet" href|link rel="preload" as="script" href)='
    r'"(?P<url>[^"]+)"'
)


def warm_static(app: dash.Dash) -> list[str]:
    """Ask this worker, in-process, for every script and style sheet of the atlas page
    (those it loads later too) with brotli, so that its first visitor's page gets their
    kept encodings (``components.static_encodings``): each worker of a new process
    otherwise read each file, and checked the shared folder's best encoding by
    decompressing it, while that visitor's ~38 requests queued (#7). Returns the addresses
    asked for."""
    import html as html_text

    client = app.server.test_client()
    # the page names its files as a browser asks for them (behind a proxy, under
    # requests_pathname_prefix); the app itself serves them under routes_pathname_prefix
    outside, inside = app.config.requests_pathname_prefix, app.config.routes_pathname_prefix
    try:
        page = client.get(inside).get_data(as_text=True)
    except Exception:  # the warm-up never fails the app
        log.warning("the page's files were not warmed", exc_info=True)
        return []
    urls = [html_text.unescape(m["url"]) for m in _PAGE_FILES.finditer(page)]
    later = re.search(r"window\.__atlasLater=(\{.*?\});", page)
    if later:
        urls += [src for lib in json.loads(later[1]).values() for src in lib["src"]]
    asked = []
    for named in dict.fromkeys(urls):
        if not named.startswith(outside) or named.startswith("//"):
            continue  # another host's (none on an offline page)
        url = inside + named[len(outside) :]
        try:
            client.get(url, headers={"Accept-Encoding": "br"})
            asked.append(url)
        except Exception:
            log.warning("static file %s not warmed", url, exc_info=True)
    return asked


def _assets_folder():
    from twinning.paths import ASSETS_DIR

    return ASSETS_DIR


def cli_serve(args: argparse.Namespace) -> int:
    host = args.host or settings.get("TWINNING_HOST")
    port = args.port or settings.get_int("TWINNING_PORT")
    debug = bool(args.debug) or settings.get_bool("TWINNING_DEBUG")
    app = create_app()
    print(f"Twinning Atlas on http://{host}:{port}/ (debug {'on' if debug else 'off'})")
    app.run(host=host, port=port, debug=debug)
    return 0
