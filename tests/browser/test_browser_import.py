"""The import page in headless Chromium: sign in, drop a file, check, confirm, undo;
the progress area shows only while a check runs.

Runs the page in a small stub Dash app on a loopback werkzeug thread (the atlas's
other browser tests cover the page inside the whole app). It shares the session's
Chromium (conftest.py): a second Playwright in the same process cannot start while
the first runs. Chromium missing is a failure, not a skip.
"""

from __future__ import annotations

import time

import pytest
from test_import_support import CORPUS, count

pytestmark = pytest.mark.browser


@pytest.fixture
def server(import_server):
    return import_server()


def _sign_in(page) -> None:
    page.fill("#imp-user", "admin")
    page.fill("#imp-password", "pw")
    page.click("#imp-signin-btn")
    page.wait_for_function(
        "document.querySelector('#imp-signin-status').innerText.includes('Signed in')"
    )


def test_import_page_flow_in_chromium(server, browser):
    url, store = server
    before = count(store, "figures")
    context = browser.new_context()
    try:
        page = context.new_page()
        errors, external = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(url) or r.url.startswith(("data:", "blob:"))
                else external.append(r.url)
            ),
        )
        page.goto(url)
        # without sign-in an upload is refused by the server
        page.set_input_files("#imp-upload input[type=file]", str(CORPUS / "good_utf8_wide.csv"))
        page.wait_for_function(
            "document.querySelector('#imp-upload-status').innerText.includes('need sign-in')"
        )
        _sign_in(page)
        page.set_input_files("#imp-upload input[type=file]", str(CORPUS / "good_bom_wide.csv"))
        page.wait_for_selector("#imp-preview .ag-cell")
        page.click("#imp-check-btn")
        page.wait_for_function(
            "document.querySelector('#imp-result-status').innerText.startsWith('Check passed')"
        )
        page.wait_for_selector("#imp-progress", state="hidden")
        assert count(store, "figures") == before
        page.click("#imp-confirm-btn")
        page.wait_for_function(
            "document.querySelector('#imp-result-status').innerText.startsWith('Imported')"
        )
        assert count(store, "figures") == before + 6
        assert "15,505,000 CNY" in page.inner_text("#imp-totals")
        page.wait_for_selector("#imp-progress", state="hidden")
    finally:
        context.close()
    assert errors == []
    assert external == []


def test_progress_shows_while_a_check_runs(server, browser, monkeypatch):
    """A check slowed to a few seconds: the bar and the count appear, then hide again."""
    from components import import_page
    from twinning.imports import keep

    url, _store = server
    real = keep.run_import

    def slow(*args, progress=None, **kw):
        def step(rows, stored):
            progress(rows, stored)
            time.sleep(0.5)

        return real(*args, progress=step, chunk_rows=1, **kw)

    monkeypatch.setattr(keep, "run_import", slow)
    monkeypatch.setattr(import_page, "PROGRESS_EVERY_S", 0)
    context = browser.new_context()
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        _sign_in(page)
        page.set_input_files("#imp-upload input[type=file]", str(CORPUS / "good_bom_wide.csv"))
        page.wait_for_selector("#imp-preview .ag-cell")
        assert page.is_hidden("#imp-progress")
        page.click("#imp-check-btn")
        # two data rows below the header: "Checking: n of about 2 rows read"
        page.wait_for_function(
            "/^Checking: [0-9] of about 2 rows read$/"
            ".test(document.querySelector('#imp-progress-text').innerText)"
        )
        assert page.is_visible("#imp-progress")
        assert page.get_attribute("#imp-progress-bar", "max") == "2"
        page.wait_for_function(
            "document.querySelector('#imp-result-status').innerText.startsWith('Check passed')"
        )
        page.wait_for_selector("#imp-progress", state="hidden")
    finally:
        context.close()
    assert errors == []
