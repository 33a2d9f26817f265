"""Headless-Chromium harness for the atlas (issue 3, "Browser tests").

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
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

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
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
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
    page.on("request", lambda r: log.requests.append(r.url))
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


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the machine
        pytest.fail(
            f"Playwright for Python is not installed ({exc}). "
            f"Run the README's test command, `{README_TEST_COMMAND}`, which installs it.",
            pytrace=False,
        )
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, launched once for the session."""
    path = chromium_path()
    if path is None:
        pytest.fail(
            "Chromium not found (looked for `chromium` on PATH and /usr/bin/chromium; "
            "TWINNING_CHROMIUM may name another). Run the README's test command, "
            f"`{README_TEST_COMMAND}`, which installs Debian's chromium, chromium-driver "
            "and fonts-noto-cjk.",
            pytrace=False,
        )
    try:
        chromium = playwright_instance.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_FLAGS
        )
    except Exception as exc:  # the message of a broken install is long; keep its head
        pytest.fail(
            f"Chromium at {path} would not start: {str(exc)[:800]}\n"
            f"Run the README's test command, `{README_TEST_COMMAND}`, to (re)install it.",
            pytrace=False,
        )
    yield chromium
    chromium.close()


@dataclass
class BrowserPage:
    """A fresh page on a server, with its log; ``open`` navigates to a path + query."""

    page: Any
    log: PageLog
    server: LiveServer

    def open(self, path: str = "/", wait_until: str = "load", **params: Any) -> Any:
        return self.page.goto(self.server.url(path, **params), wait_until=wait_until)

    def query(self) -> dict[str, list[str]]:
        from urllib.parse import parse_qs

        return parse_qs(urlsplit(self.page.url).query)


def new_browser_page(
    browser: Any, server: LiveServer, width: int = 1366, height: int = 768, **context_kw: Any
) -> tuple[Any, BrowserPage]:
    """A new context + page on ``server`` with logging and foreign requests blocked."""
    context = browser.new_context(viewport={"width": width, "height": height}, **context_kw)
    holder: dict[str, PageLog] = {}
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
        ]
    )
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


@pytest.fixture(scope="session")
def stub_server() -> Iterator[LiveServer]:
    server = LiveServer(make_stub_app().server)
    yield server
    server.stop()


@pytest.fixture
def stub_page(browser: Any, stub_server: LiveServer) -> Iterator[BrowserPage]:
    context, bp = new_browser_page(browser, stub_server)
    yield bp
    context.close()


# --------------------------------------------------------------------------- the atlas


@pytest.fixture(scope="session")
def atlas_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A temporary SQLite store seeded with the reference data (engineer core's open_store)."""
    from twinning.store import open_store

    path = tmp_path_factory.mktemp("browser-store") / "atlas.sqlite"
    return open_store(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def atlas_app(atlas_store: Any) -> Any:
    from components.app import create_app

    return create_app(atlas_store)


@pytest.fixture(scope="session")
def atlas_server(atlas_app: Any) -> Iterator[LiveServer]:
    server = LiveServer(atlas_app.server)
    yield server
    server.stop()


@pytest.fixture
def atlas_page(browser: Any, atlas_server: LiveServer) -> Iterator[BrowserPage]:
    """A fresh 1366x768 page on the atlas; the test opens the URL it needs."""
    context, bp = new_browser_page(browser, atlas_server)
    yield bp
    context.close()


@pytest.fixture(scope="session")
def county_count() -> int:
    """How many counties data/geo/county.parquet holds: the map must draw them all."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(PROJECT_ROOT / "data" / "geo" / "county.parquet").metadata.num_rows
