"""Headless-Chromium harness for the atlas (issue 3, "Browser tests"), plain code
shared by the pytest fixtures (conftest.py) and benchmarks/bench_app.py.

Why this shape:
- One Chromium per session (Debian's, at /usr/bin/chromium: ``playwright install``
  cannot download here), one context per test, so a test pays ~0.1 s for a page,
  not ~1.5 s for a browser.
- The app runs in-process: a werkzeug server thread on a free loopback port serving
  ``create_app(store).server`` against a temporary SQLite store. No subprocess, no
  fixed port, stopped cleanly at the end of the session.
- Every request, console message and page error is recorded per page. A request to
  any origin other than the test server is aborted before it leaves the browser
  (and DNS is disabled for every host but loopback), and recorded, so a test can
  assert "offline" without the machine ever sending such traffic.
- If Chromium is missing the tests FAIL (never skip) and say which command installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from twinning import i18n

README_TEST_COMMAND = "bash scripts/test.sh"

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    # Belt and braces for "offline": no host name resolves except loopback.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = PROJECT_ROOT / "var" / "screenshots"

# Schemes that never leave the page (no network request).
_LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome-extension:")


def chromium_path() -> str | None:
    """Debian's chromium, or the one named by TWINNING_CHROMIUM."""
    explicit = os.environ.get("TWINNING_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


# --------------------------------------------------------------------------- server


class LiveServer:
    """A WSGI app served from a daemon thread on 127.0.0.1:<free port>."""

    def __init__(self, wsgi_app: Any) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                """One line per request would bury pytest's output; the page log has them."""

        self._server = make_server(
            "127.0.0.1", 0, wsgi_app, threaded=True, request_handler=QuietHandler
        )
        self.host = "127.0.0.1"
        self.port = self._server.server_port
        self.origin = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"live-server-{self.port}", daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/", **params: Any) -> str:
        """The server's URL for ``path`` with ``params`` as the query (None values dropped)."""
        query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return f"{self.origin}{path}" + (f"?{query}" if query else "")

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


# --------------------------------------------------------------------------- page log


@dataclass
class ConsoleEntry:
    type: str
    text: str
    location: str

    def __str__(self) -> str:
        return f"[{self.type}] {self.text} ({self.location})"


@dataclass
class PageLog:
    """Everything a page asked for and complained about, for assertions."""

    origin: str
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    console: list[ConsoleEntry] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    callbacks_in_flight: int = 0

    def is_local(self, url: str) -> bool:
        if url.startswith(_LOCAL_SCHEMES):
            return True
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def foreign_requests(self) -> list[str]:
        """Requests to any origin but the test server (aborted, but recorded)."""
        seen = [u for u in self.requests if not self.is_local(u)] + self.foreign
        return sorted(set(seen))

    def errors(self) -> list[str]:
        """Console errors and uncaught page errors: what a user's devtools would show red."""
        return [str(c) for c in self.console if c.type == "error"] + [
            f"[pageerror] {e}" for e in self.page_errors
        ]

    def assert_clean(self) -> None:
        """No console error, no page error, no request beyond the server."""
        problems = self.errors()
        foreign = self.foreign_requests()
        assert not foreign, "requests beyond the test server:\n" + "\n".join(foreign)
        assert not problems, "console/page errors:\n" + "\n".join(problems)

    def clear(self) -> None:
        self.requests.clear()
        self.foreign.clear()
        self.console.clear()
        self.page_errors.clear()
        self.failed.clear()


def attach_log(page: Any, origin: str) -> PageLog:
    """Record requests, console messages and page errors of ``page``."""
    log = PageLog(origin=origin)

    def on_request(request: Any) -> None:
        log.requests.append(request.url)
        if "/_dash-update-component" in request.url:
            log.callbacks_in_flight += 1

    def on_done(request: Any) -> None:
        if "/_dash-update-component" in request.url:
            log.callbacks_in_flight -= 1

    page.on("request", on_request)
    page.on("requestfinished", on_done)
    page.on("requestfailed", on_done)
    page.on(
        "console",
        lambda m: log.console.append(
            ConsoleEntry(m.type, m.text, "{url}:{lineNumber}".format(**m.location))
        ),
    )
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    page.on("requestfailed", lambda r: log.failed.append(f"{r.url} {r.failure}"))
    return log


def block_foreign(context: Any, log_for: Callable[[], PageLog | None], origin: str) -> None:
    """Abort every request not aimed at ``origin``, recording it first."""

    def is_foreign(url: str) -> bool:
        if url.startswith(_LOCAL_SCHEMES):
            return False
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" != origin

    def handler(route: Any) -> None:
        log = log_for()
        if log is not None:
            log.foreign.append(route.request.url)
        route.abort("blockedbyclient")

    context.route(is_foreign, handler)


@dataclass
class BrowserPage:
    """A fresh page on a server, with its log; ``open`` navigates to a path + query."""

    page: Any
    log: PageLog
    server: LiveServer

    def open(self, path: str = "/", wait_until: str = "load", **params: Any) -> Any:
        return self.page.goto(self.server.url(path, **params), wait_until=wait_until)

    def query(self) -> dict[str, str]:
        """The page's current URL query, one value per key (the last one)."""
        from urllib.parse import parse_qsl

        return dict(parse_qsl(urlsplit(self.page.url).query))

    def settle(self, quiet_ms: int = 250, timeout_ms: int = 20_000) -> None:
        """Wait until no Dash callback has been in flight for ``quiet_ms`` and no
        component is marked loading: chained callbacks fire one after another, so a
        single idle instant is not enough."""
        import time

        deadline = time.monotonic() + timeout_ms / 1000
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
            busy = self.log.callbacks_in_flight > 0 or self.page.evaluate(
                "() => !!document.querySelector('[data-dash-is-loading=\"true\"]')"
            )
            now = time.monotonic()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif (now - quiet_since) * 1000 >= quiet_ms:
                return
        raise AssertionError(f"Dash callbacks still busy after {timeout_ms} ms")

    def figure(self, graph_id: str) -> dict[str, Any]:
        """The figure a dcc.Graph is drawing now: plotly's own ``data`` and ``layout``."""
        return self.page.evaluate(
            """id => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');
                 if (!gd || !gd.data) return null;
                 return {data: gd.data.map(t => ({type: t.type, name: t.name,
                                                  locations: t.locations, z: t.z,
                                                  text: t.text, hovertext: t.hovertext,
                                                  hovertemplate: t.hovertemplate,
                                                  customdata: t.customdata, lon: t.lon,
                                                  lat: t.lat, geo: t.geo,
                                                  showlegend: t.showlegend})),
                         layout: JSON.parse(JSON.stringify(gd.layout))}; }""",
            graph_id,
        )


def new_browser_page(
    browser: Any,
    server: LiveServer,
    width: int = 1366,
    height: int = 768,
    intercept: bool = True,
    **context_kw: Any,
) -> tuple[Any, BrowserPage]:
    """A new context + page on ``server`` with logging and foreign requests blocked.

    The context bypasses the atlas's Content-Security-Policy by default: Playwright's
    ``wait_for_function`` compiles its predicate with ``new Function``, which the policy
    forbids (no 'unsafe-eval'). tests/browser/test_browser_security.py checks the pages
    under the policy, with ``bypass_csp=False``.

    ``intercept=False`` (the benchmarks' timed loads): no request passes through
    Playwright, which holds each one of the page until its driver and this process have
    let it go (a cold page's ~20 requests: ~20-70 ms later, measured). A foreign request
    is still recorded (``PageLog.foreign_requests``) and finds no host: CHROMIUM_FLAGS
    resolve no name but the loopback's.
    """
    context_kw.setdefault("bypass_csp", True)
    context = browser.new_context(viewport={"width": width, "height": height}, **context_kw)
    holder: dict[str, PageLog] = {}
    if intercept:
        block_foreign(context, lambda: holder.get("log"), server.origin)
    page = context.new_page()
    page.set_default_timeout(15_000)
    holder["log"] = attach_log(page, server.origin)
    return context, BrowserPage(page=page, log=holder["log"], server=server)


# --------------------------------------------------------------------------- stub app


def make_stub_app() -> Any:
    """A tiny Dash app that proves the harness: a graph, a console error on demand,
    and a page that tries to fetch from a foreign host (which the harness must catch)."""
    import dash
    from dash import Input, Output, dcc, html

    app = dash.Dash(__name__, serve_locally=True)
    app.layout = html.Div(
        [
            html.H1("stub", id="title"),
            dcc.Graph(id="map-graph", figure={"data": [{"type": "bar", "y": [1, 2, 3]}]}),
            html.Button("err", id="err-button"),
            html.Div(id="err-out"),
            dcc.Dropdown(
                id="multi-select",
                options=[
                    {"label": "东西部协作", "value": "ew"},
                    {"label": "对口支援", "value": "dk"},
                ],
                value=["ew"],
                multi=True,
            ),
            dcc.Dropdown(
                id="single-select",
                options=[
                    {"label": "资金", "value": "funds"},
                    {"label": "项目", "value": "projects"},
                ],
                value="funds",
                clearable=False,
            ),
            dcc.RangeSlider(id="range", min=1996, max=2024, step=1, value=[2000, 2020]),
            dcc.RadioItems(id="radio", options=["zh", "en"], value="zh", inline=True),
            html.Pre(id="controls-out"),
        ]
    )

    @app.callback(
        Output("controls-out", "children"),
        Input("multi-select", "value"),
        Input("single-select", "value"),
        Input("range", "value"),
        Input("radio", "value"),
    )
    def echo(multi: Any, single: Any, years: Any, radio: Any) -> str:
        import json

        return json.dumps([multi, single, years, radio])

    app.clientside_callback(
        "function(n){ if(n){ console.error('stub-console-error'); } return n || 0; }",
        Output("err-out", "children"),
        Input("err-button", "n_clicks"),
    )

    @app.server.route("/foreign")
    def foreign() -> str:
        return (
            "<html><body><p id='ok'>foreign probe</p>"
            "<script src='https://cdn.example.invalid/lib.js'></script>"
            "<img src='http://tiles.example.invalid/0/0/0.png'>"
            "</body></html>"
        )

    return app


# --------------------------------------------------------------------------- controls


# a multi-select's "Deselect All", in whichever language the page speaks
DESELECT_ALL = re.compile(
    "|".join(re.escape(i18n.dropdown_labels(lang)["deselect_all"]) for lang in i18n.LANGS)
)


def set_control(page: Any, component_id: str, value: Any) -> None:
    """Set a Dash 4 control the way a user would: open the dropdown and click the
    option, click the radio, type the years into the range slider's boxes.

    ``value`` is the option's value (not its label) so tests work in both languages;
    for a multi-select dropdown pass a list, for ``year-range`` a (from, to) pair.
    """
    root = page.locator(f"#{component_id}")
    kind = root.evaluate(
        """el => el.matches('button.dash-dropdown') ? 'dropdown'
              : el.querySelector('input[type=radio]') ? 'radio'
              : el.querySelector('input[type=checkbox]') ? 'checklist'
              : el.matches('.dash-slider-container') ? 'slider'
              : el.tagName.toLowerCase()"""
    )
    if kind == "dropdown":
        values = value if isinstance(value, list | tuple) else [value]
        root.click()
        content = page.locator(".dash-dropdown-content[data-state=open]")
        content.wait_for()
        deselect = content.get_by_role("button", name=DESELECT_ALL)
        if isinstance(value, list | tuple) and deselect.count():
            deselect.click()
        for v in values:
            content.locator(f"[role=option]:has(input[value='{v}'])").click()
        if content.count():
            page.keyboard.press("Escape")
    elif kind in ("radio", "checklist"):
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            root.locator(f"label:has(input[value='{v}'])").click()
    elif kind == "slider":
        low, high = value
        boxes = root.locator(".dash-range-slider-input")
        if boxes.count() == 2 and boxes.first.is_visible():
            for box, v in ((boxes.first, low), (boxes.last, high)):
                box.fill(str(v))
                box.press("Enter")
                box.blur()
        else:  # no number boxes shown: click the track, then fine-tune with the arrow keys
            _, current_high = _thumb_values(root)
            order = ((1, high), (0, low)) if low > current_high else ((0, low), (1, high))
            for index, target in order:
                _move_thumb(page, root, index, target)
    else:
        raise AssertionError(f"don't know how to set #{component_id} (a {kind})")


def _thumb_values(root: Any) -> list[int]:
    return [
        int(float(v))
        for v in root.locator("[role=slider]").evaluate_all(
            "els => els.map(e => e.getAttribute('aria-valuenow'))"
        )
    ]


def _move_thumb(page: Any, root: Any, index: int, target: int) -> None:
    """Drag one thumb of a range slider to ``target`` as a user would: press on the
    thumb, release over the target's spot on the track, then arrow keys for the last
    step (the drag lands within a step or two)."""
    thumb = root.locator("[role=slider]").nth(index)
    lo = int(float(thumb.get_attribute("aria-valuemin") or 0))
    hi = int(float(thumb.get_attribute("aria-valuemax") or 0))
    track = root.locator(".dash-slider-track").bounding_box()
    box = thumb.bounding_box()
    if track and box and hi > lo:
        x = track["x"] + track["width"] * (target - lo) / (hi - lo)
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(x, y, steps=5)
        page.mouse.up()
    for _ in range(40):
        now = _thumb_values(root)[index]
        if now == target:
            return
        thumb.press("ArrowRight" if now < target else "ArrowLeft")
    raise AssertionError(f"could not move the slider's thumb {index} to {target}")


def control_value(page: Any, component_id: str) -> Any:
    """What a control shows now (dropdown: its visible text; radio: checked value;
    slider: [from, to] from its boxes)."""
    root = page.locator(f"#{component_id}")
    return root.evaluate(
        """el => {
          if (el.matches('button.dash-dropdown')) return el.innerText.trim();
          const checked = [...el.querySelectorAll('input:checked')].map(i => i.value);
          if (el.querySelector('input[type=radio]')) return checked[0] ?? null;
          if (el.querySelector('input[type=checkbox]')) return checked;
          const boxes = el.querySelectorAll('.dash-range-slider-input');
          if (boxes.length) return [...boxes].map(b => Number(b.value));
          return el.innerText.trim();
        }"""
    )


# --------------------------------------------------------------------------- the map

# JS: the locations an SVG path of a choropleth draws: its point's, or for a path of places
# that all look alike (the atlas's plotly bundle draws them as one path,
# tools/plotly-bundle/build.js) each of theirs
PATH_LOCATIONS_JS = """p => !p.__data__ ? [] : p.__data__.locs ? p.__data__.locs.map(String)
                  : p.__data__.loc != null ? [String(p.__data__.loc)] : []"""

# JS (a CSS selector of a chart): how many places its choropleths draw, counted by location
PLACES_DRAWN_JS = (
    """sel => { const locations = """
    + PATH_LOCATIONS_JS
    + """;
  return [...document.querySelectorAll(sel + ' path.choroplethlocation')]
    .reduce((n, p) => n + locations(p).length, 0); }"""
)

# JS: true once the map's choropleths have drawn every location they were given a value
# for (a null z is not drawn: the atlas draws each place in one of two layers, values and
# no data); stamps window.__mapDrawnAt (ms since navigation start) the first time.
MAP_DRAWN_JS = (
    """() => {
  const gd = document.querySelector('#map-graph .js-plotly-plot');
  if (!gd || !gd.data) return false;
  const locations = """
    + PATH_LOCATIONS_JS
    + """;
  const drawable = t => (t.locations || [])
      .filter((_, i) => t.z && typeof t.z[i] === 'number').length;
  const want = gd.data.filter(t => t.type === 'choropleth' && t.visible !== false)
                      .reduce((n, t) => n + drawable(t), 0);
  const got = [...gd.querySelectorAll('.choroplethlayer path.choroplethlocation')]
      .reduce((n, p) => n + locations(p).length, 0);
  if (want > 0 && got >= want) {
    window.__mapDrawnAt = window.__mapDrawnAt || performance.now();
    return true;
  }
  return false;
}"""
)


# Each Plotly.react call as ['start' | 'done', graph id, ms since navigation start] in
# window.__plots: plotly.js's own, under assets/first_view.js's wrapper (an init script)
PLOT_ORDER_JS = """(() => { window.__plots = []; let P;
  Object.defineProperty(window, 'Plotly', {configurable: true, get() { return P; }, set(v) {
    P = v;
    const react = v.react;
    v.react = function (gd, ...rest) {
      const id = (gd && gd.parentElement && gd.parentElement.id) || '?';
      window.__plots.push(['start', id, performance.now()]);
      const r = react.call(this, gd, ...rest);
      Promise.resolve(r).then(() => window.__plots.push(['done', id, performance.now()]));
      return r;
    };
  } });
})();"""


def wait_map_drawn(page: Any, timeout_ms: float = 30_000) -> float:
    """Wait for the map to draw; return ms from navigation start to the first full draw."""
    page.wait_for_function(MAP_DRAWN_JS, polling="raf", timeout=timeout_ms)
    return float(page.evaluate("window.__mapDrawnAt"))


# the atlas draws its places in two layers: "places" (a value in view) and
# "places-no-data"; its neighbouring countries are "neighbors"
PLACE_TRACES = ("places", "places-no-data")


def drawn_locations(
    page: Any, subplot: str = "geo", trace: str | tuple[str, ...] | None = PLACE_TRACES
) -> list[str]:
    """Locations (adcodes) of the choropleth paths drawn in one geo subplot ("geo" is the
    main map, "geo2"... the insets), of the trace(s) named ``trace`` (None: all traces)."""
    names = [trace] if isinstance(trace, str) else (None if trace is None else list(trace))
    return page.evaluate(
        """([sub, names]) => { const locations = """
        + PATH_LOCATIONS_JS
        + """;
             return [...document.querySelectorAll(
                 '#map-graph .geolayer > g[class="geo ' + sub + '"] .choroplethlayer > g.trace')]
               .filter(g => names === null || names.includes(g.__data__[0].trace.name))
               .flatMap(g => [...g.querySelectorAll('path.choroplethlocation')])
               .flatMap(locations); }""",  # a null z has no path
        [subplot, names],
    )


def geo_subplots(page: Any) -> dict[str, int]:
    """Each geo subplot drawn and how many SVG paths it holds (all layers)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#map-graph .geolayer > g')]
               .map(g => [g.getAttribute('class').split(' ').pop(),
                     g.querySelectorAll('path').length]))"""
    )


# JS ([location, subplot]): a point on the screen inside the place as the map draws it, the
# one nearest the centre of its bounding box (a concave place's centre may lie outside), or
# null when it is not drawn. A place drawn in one path with others that look alike (the
# bundle's patch) is measured on its own shape, projected as plotly projects it.
PLACE_POINT_JS = (
    """([loc, sub]) => {
  const locations = """
    + PATH_LOCATIONS_JS
    + """;
  const geo = document.querySelector('#map-graph .geolayer > g[class="geo ' + sub + '"]');
  if (!geo) return null;
  const drawn = [...geo.querySelectorAll('path.choroplethlocation')]
    .find(p => locations(p).includes(loc));
  if (!drawn) return null;
  let p = drawn, temp = null;
  if (drawn.__data__.locs) {
    const pt = drawn.__data__.places.find(q => String(q.loc) === loc);
    const gd = document.querySelector('#map-graph .js-plotly-plot');
    const path = gd._fullLayout[sub]._subplot.projection.getPath();
    temp = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    temp.setAttribute('d', path(pt.geojson));
    drawn.parentNode.appendChild(temp);
    p = temp;
  }
  const b = p.getBBox(), m = p.getScreenCTM();
  let best = null, bestD = Infinity;
  for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++) {
    const pt = new DOMPoint(b.x + b.width * i / 24, b.y + b.height * j / 24);
    if (!p.isPointInFill(pt)) continue;
    const d = (i - 12) ** 2 + (j - 12) ** 2;
    if (d < bestD) { bestD = d; best = pt.matrixTransform(m); }
  }
  if (temp) temp.remove();
  return best ? [best.x, best.y] : null;
}"""
)


def place_point(page: Any, location: str, subplot: str = "geo") -> list[float] | None:
    """Where on the screen a user points at a place on the map (PLACE_POINT_JS)."""
    return page.evaluate(PLACE_POINT_JS, [location, subplot])


def click_location(page: Any, location: str, subplot: str = "geo") -> None:
    """Click inside a place on the map, as a user would (plotly does its own hit test)."""
    point = place_point(page, location, subplot)
    assert point is not None, f"place {location} is not drawn on the map ({subplot})"
    page.mouse.move(*point)
    page.mouse.click(*point)
