"""Sessions and security headers in headless Chromium (issue #12).

- Sign in, import, sign out, then replay the requests the page made while signed in, with
  the old session cookie: refused, nothing stored. The cookie is HttpOnly and
  SameSite=Strict, and no page script can read a token.
- The atlas and the import page render under the Content-Security-Policy with no
  violation reported by the browser (``securitypolicyviolation`` events, console).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from browser_harness import PLACES_DRAWN_JS, wait_map_drawn
from playwright.sync_api import expect
from test_import_support import CORPUS, count

pytestmark = pytest.mark.browser

RECORD_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')));
"""


@pytest.fixture
def server(import_server):
    return import_server(headers=True)


@contextmanager
def _csp_page(browser, **options) -> Iterator[tuple[Any, Any, list[str]]]:
    """A new context (``options``) and page that record CSP violations and the console:
    yields (context, page, console messages), and closes the context."""
    context = browser.new_context(**options)
    try:
        context.add_init_script(RECORD_CSP)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        yield context, page, console
    finally:
        context.close()


def _csp_problems(page, console: list[str]) -> list[str]:
    found = page.evaluate("window.__csp || []")
    return found + [m for m in console if "Content Security Policy" in m]


def test_sign_in_import_sign_out_then_the_old_requests_are_refused(server, browser):
    url, store = server
    before = count(store, "figures")
    with _csp_page(browser) as (context, page, console):
        posted: dict[str, str] = {}

        def keep(request):
            if request.method == "POST" and "_dash-update-component" in request.url:
                body = request.post_data or ""
                for key in ("imp-upload.contents", "imp-confirm-btn.n_clicks"):
                    if key in body:
                        posted[key] = body

        page.on("request", keep)
        page.goto(url)
        page.fill("#imp-user", "admin")
        page.fill("#imp-password", "pw")
        page.click("#imp-signin-btn")
        expect(page.locator("#imp-signin-status")).to_contain_text("Signed in")
        cookie = next(c for c in context.cookies() if c["name"] == "twinning_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        # no page script can read the token, and nothing is kept in the page's storage
        assert cookie["value"] not in page.evaluate("document.cookie")
        stored = page.evaluate(
            "JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])"
        )
        assert cookie["value"] not in stored
        assert page.input_value("#imp-password") == ""

        page.set_input_files("#imp-upload input[type=file]", str(CORPUS / "good_bom_wide.csv"))
        page.wait_for_selector("#imp-preview .ag-cell")
        page.click("#imp-check-btn")
        # the check and the import run in a child process: seconds on a busy machine
        done = {"timeout": 60_000}
        expect(page.locator("#imp-result-status")).to_contain_text("Check passed", **done)
        page.click("#imp-confirm-btn")
        expect(page.locator("#imp-result-status")).to_contain_text("Imported", **done)
        after_import = count(store, "figures")
        assert after_import == before + 6
        # the batch list names the user while signed in
        expect(page.locator("#imp-batches")).to_contain_text("good_bom_wide.csv")

        def replay(body: str, token: str) -> str:
            response = context.request.post(
                f"{url}/_dash-update-component",
                data=body,
                headers={"Content-Type": "application/json", "Cookie": f"twinning_session={token}"},
            )
            assert response.status == 200
            return response.text()

        # while signed in, a replayed upload is accepted (the replay itself works)
        accepted = json.loads(replay(posted["imp-upload.contents"], cookie["value"]))
        assert accepted["response"]["imp-file"]["data"]["name"] == "good_bom_wide.csv"

        page.click("#imp-signout-btn")
        expect(page.locator("#imp-signin-status")).to_contain_text("Signed out")
        assert not [c for c in context.cookies() if c["name"] == "twinning_session"]
        # the list hides who imported what again
        expect(page.locator("#imp-batches")).not_to_contain_text("good_bom_wide.csv")
        for key in ("imp-upload.contents", "imp-confirm-btn.n_clicks"):
            text = replay(posted[key], cookie["value"])
            assert "need sign-in" in text, (key, text[:300])
        assert count(store, "figures") == after_import
        assert _csp_problems(page, console) == []


def test_import_page_headers(server, browser):
    url, _store = server
    context = browser.new_context()
    try:
        response = context.request.get(url)
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["referrer-policy"] == "same-origin"
        csp = headers["content-security-policy"]
        assert "script-src 'self' 'sha256-" in csp and "'unsafe-eval'" not in csp
        assert "frame-ancestors 'self'" in csp
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/?lang=en&level=county&place=653125", "/import?lang=zh"])
def test_pages_render_under_the_csp_without_violations(atlas_server, browser, path):
    with _csp_page(browser, viewport={"width": 1366, "height": 768}) as (_, page, console):
        response = page.goto(atlas_server.origin + path)
        assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
        if path.startswith("/import"):
            page.wait_for_selector("#imp-signin-btn")
        else:
            wait_map_drawn(page, 60_000)  # every county the map was given
            assert page.evaluate(PLACES_DRAWN_JS, "#map-graph") > 2000
        page.wait_for_timeout(500)
        assert _csp_problems(page, console) == []


@pytest.mark.parametrize("chart", ["map", "series"])
def test_embed_pages_draw_under_the_csp(atlas_server, browser, chart):
    """/embed boots plotly with an inline script, allowed by its hash in that response."""
    with _csp_page(browser, viewport={"width": 800, "height": 500}) as (_, page, console):
        response = page.goto(f"{atlas_server.origin}/embed?chart={chart}&lang=en&metric=funds_cny")
        assert "X-Frame-Options".lower() not in {k.lower() for k in response.headers}
        expect(page.locator("#chart[data-drawn='1']")).to_be_attached(timeout=30_000)
        assert _csp_problems(page, console) == []
