"""Fixtures for the headless-Chromium tests; the machinery is in browser_harness.py.

One Chromium for the session, one in-process server for the atlas (against a
temporary SQLite store) and one for a stub app that proves the harness, a fresh
context + page per test. Chromium missing is a FAILURE that names the install
command, never a skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_harness import (
    CHROMIUM_FLAGS,
    PROJECT_ROOT,
    README_TEST_COMMAND,
    BrowserPage,
    LiveServer,
    chromium_path,
    make_stub_app,
    new_browser_page,
)


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
    except Exception as exc:  # a broken install's message is long; keep its head
        pytest.fail(
            f"Chromium at {path} would not start: {str(exc)[:800]}\n"
            f"Run the README's test command, `{README_TEST_COMMAND}`, to (re)install it.",
            pytrace=False,
        )
    yield chromium
    chromium.close()


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


@pytest.fixture
def import_server(tmp_path: Any, monkeypatch: Any) -> Iterator[Callable[..., tuple[str, Any]]]:
    """Starts the import page alone in a stub Dash app, on a fresh store (tiny gazetteer,
    admin "admin" / "pw"): ``import_server(headers=True)`` adds the security headers.
    Returns the page's URL and the store; the server stops after the test."""
    import dash
    from test_import_support import make_store, tiny_gazetteer

    from components import import_page, security

    servers: list[LiveServer] = []

    def start(headers: bool = False) -> tuple[str, Any]:
        monkeypatch.setenv("TWINNING_ADMIN_USER", "admin")
        monkeypatch.setenv("TWINNING_ADMIN_PASSWORD", "pw")
        monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "uploads"))
        monkeypatch.setattr(
            "twinning.imports.keep.default_resolver", lambda: tiny_gazetteer().resolve
        )
        store = make_store(tmp_path)
        app = dash.Dash(__name__, suppress_callback_exceptions=True)
        app.layout = import_page.layout("en")
        import_page.register_callbacks(app, lambda: store)
        if headers:
            security.register_headers(app)
        servers.append(LiveServer(app.server))
        return servers[-1].origin, store

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def atlas_store(reference_store: Any) -> Any:
    """The session's seeded reference store (tests/conftest.py); the browser only reads."""
    return reference_store


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


@pytest.fixture(scope="session")
def county_codes_by_province() -> dict[str, set[str]]:
    """County adcodes of each province, from data/geo/county.parquet."""
    import pyarrow.parquet as pq

    table = pq.read_table(
        PROJECT_ROOT / "data" / "geo" / "county.parquet", columns=["adcode", "province_adcode"]
    ).to_pydict()
    out: dict[str, set[str]] = {}
    for adcode, province in zip(table["adcode"], table["province_adcode"], strict=True):
        out.setdefault(str(province), set()).add(str(adcode))
    return out
