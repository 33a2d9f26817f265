"""Accessibility in headless Chromium (issue #13): axe-core's WCAG 2.0/2.1 A and AA rules on
every page and state, keyboard-only use, and reflow at 320 CSS px.

Each axe case fails on a serious or critical violation and prints the minor and moderate
ones (``pytest -s`` shows them), so a reader sees what is left without a failing build.
"""

from __future__ import annotations

import pytest
from axe_harness import AxeResult, run_axe
from browser_harness import PROJECT_ROOT, new_browser_page, set_control, wait_map_drawn

from components import ids
from twinning import i18n

pytestmark = pytest.mark.browser

XINJIANG = "650000"
SHACHE = "653125"

# name -> the atlas's query for that state
ATLAS_STATES = {
    f"{lang}-{name}": {"lang": lang, **params}
    for lang in ("zh", "en")
    for name, params in {
        "province": {"metric": "funds_cny"},
        "county-detail": {
            "level": "county",
            "recipient": XINJIANG,
            "metric": "funds_cny",
            "place": SHACHE,
        },
        "present": {"metric": "funds_cny", "present": "1"},
    }.items()
}


def _report(result: AxeResult) -> None:
    """Print what axe found that does not fail the test (minor, moderate)."""
    rest = result.by_impact("minor", "moderate")
    print(f"\n[axe {result.version}] {result.name}: {len(result.violations)} rules violated")
    if rest:
        print(" minor/moderate:\n" + result.describe(rest))


def _assert_no_blocking(result: AxeResult) -> None:
    _report(result)
    blocking = result.blocking()
    assert not blocking, f"{result.name}: serious/critical axe violations\n" + result.describe(
        blocking
    )


@pytest.mark.parametrize("state", list(ATLAS_STATES))
def test_atlas_has_no_serious_axe_violation(atlas_page, state):
    params = ATLAS_STATES[state]
    atlas_page.open("/", **params)
    wait_map_drawn(atlas_page.page)
    atlas_page.settle()
    if "place" in params:
        atlas_page.page.locator(f"#{ids.DETAIL} #detail-name").wait_for()
    _assert_no_blocking(run_axe(atlas_page.page, f"atlas {state}"))
    lang = "zh-CN" if params["lang"] == "zh" else "en"
    assert atlas_page.page.evaluate("document.documentElement.lang") == lang
    atlas_page.log.assert_clean()


@pytest.fixture
def import_env(tmp_path, monkeypatch):
    """An admin account and an upload folder for the atlas's import page."""
    monkeypatch.setenv("TWINNING_ADMIN_USER", "admin")
    monkeypatch.setenv("TWINNING_ADMIN_PASSWORD", "pw")
    monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_import_page_signed_out_has_no_serious_axe_violation(atlas_page, import_env, lang):
    atlas_page.open("/import", lang=lang)
    atlas_page.page.locator("#imp-upload").wait_for()
    atlas_page.settle()
    _assert_no_blocking(run_axe(atlas_page.page, f"import {lang} signed out"))
    assert atlas_page.page.evaluate("document.documentElement.lang") == (
        "zh-CN" if lang == "zh" else "en"
    )
    atlas_page.log.assert_clean()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_import_page_signed_in_with_a_file_has_no_serious_axe_violation(
    atlas_page, import_env, lang
):
    page = atlas_page.page
    atlas_page.open("/import", lang=lang)
    page.locator("#imp-upload").wait_for()
    atlas_page.settle()
    page.fill("#imp-user", "admin")
    page.fill("#imp-password", "pw")
    page.click("#imp-signin-btn")
    signed_in = i18n.t("import.signed_in", lang, user="admin")
    page.wait_for_function(
        "t => document.querySelector('#imp-signin-status').innerText.includes(t)", arg=signed_in
    )
    corpus = PROJECT_ROOT / "tests" / "data" / "imports" / "good_bom_wide.csv"
    page.set_input_files("#imp-upload input[type=file]", str(corpus))
    page.wait_for_selector("#imp-preview .ag-cell")
    page.locator("#imp-mapping .dash-dropdown").first.wait_for()
    atlas_page.settle()
    _assert_no_blocking(run_axe(page, f"import {lang} signed in, file previewed"))
    atlas_page.log.assert_clean()


def test_axe_runs_offline_from_the_installed_file(atlas_page):
    """axe is read from tools/axe (npm ci at set-up), never fetched: the page asked the
    test server only."""
    atlas_page.open("/", lang="en")
    atlas_page.settle()
    result = run_axe(atlas_page.page, "offline probe", context="header")
    assert result.version.startswith("4.")
    assert not atlas_page.log.foreign_requests()


FOCUSED = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
  const cs = getComputedStyle(e);
  return {tag: e.tagName, id: e.id, cls: String(e.className || ''),
          name: (e.getAttribute('aria-label') || e.innerText || '').trim().slice(0, 40),
          outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2}; }"""


def _focused(page) -> dict | None:
    return page.evaluate(FOCUSED)


def test_keyboard_alone_walks_from_the_page_start_to_a_place_and_back(atlas_page):
    """Tab from the top: the skip link first, then the header, the filters, and the place
    search, each with a visible focus ring; the search opens Shache's detail and focus
    lands on its heading; Esc closes it and focus returns to the search; Tab goes on
    (no trap)."""
    page = atlas_page.page
    atlas_page.open("/", lang="en", level="county", recipient=XINJIANG, flows="0")
    wait_map_drawn(page)
    atlas_page.settle()
    walked: list[dict] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        here = _focused(page)
        assert here is not None, f"focus was lost after {[w['id'] or w['name'] for w in walked]}"
        walked.append(here)
        if here["id"] == ids.PLACE_SEARCH:
            break
    else:
        raise AssertionError(f"Tab never reached the place search: {walked}")
    assert "skip-link" in walked[0]["cls"], f"the skip link is not first: {walked[0]}"
    order = [w["id"] for w in walked]
    for earlier, later in ((ids.PRESENT, ids.METRIC), (ids.METRIC, ids.RESET)):
        assert order.index(earlier) < order.index(later), order
    no_ring = [w for w in walked if not w["outline"]]
    assert not no_ring, f"no visible focus on {no_ring}"
    unnamed = [w for w in walked if not w["name"] and w["tag"] != "INPUT"]
    assert not unnamed, f"focusable without a name: {unnamed}"

    page.keyboard.press("Enter")  # opens the list, focus in its search box
    page.wait_for_function(
        "document.activeElement && document.activeElement.matches('.dash-dropdown-search')"
    )
    page.keyboard.type("Shache")
    page.wait_for_function(
        """() => { const o = [...document.querySelectorAll(
                     '.dash-dropdown-content[data-state=open] [role=option]')];
                   return o.length === 1 && o[0].innerText.includes('Shache'); }"""
    )
    atlas_page.settle()  # every keystroke's search answered: the list stays as it is now
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "document.activeElement && !!document.activeElement.closest('[role=option]')"
    )
    page.keyboard.press("Enter")
    atlas_page.settle()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'detail-name'")
    assert atlas_page.query().get("place") == SHACHE
    assert "Shache" in page.inner_text(f"#{ids.DETAIL}")
    assert _focused(page)["outline"], "the detail's heading takes focus without a ring"

    page.keyboard.press("Escape")
    atlas_page.settle()
    page.wait_for_function("!document.getElementById('detail-name')")
    assert "place" not in atlas_page.query()
    assert _focused(page)["id"] == ids.PLACE_SEARCH, "Esc left focus nowhere"
    page.keyboard.press("Tab")
    assert _focused(page)["id"] != ids.PLACE_SEARCH, "Tab is trapped in the place search"
    atlas_page.log.assert_clean()


def test_filter_change_is_announced_once_in_one_polite_live_region(atlas_page):
    """The atlas owns one polite live region; a filter change puts its result there once.
    (ag-grid keeps a live region of its own for its grid's announcements; the table's
    download status speaks only after a download.)"""
    page = atlas_page.page
    atlas_page.open("/", lang="en", metric="funds_cny")
    wait_map_drawn(page)
    atlas_page.settle()
    regions = "[aria-live=polite]:not(.ag-aria-description-container)"
    assert page.locator(regions).count() == 1
    assert page.inner_text(f"#{ids.ANNOUNCE}").strip() == "", "announced before any change"
    changes: list[list[str]] = []

    def heard(texts: list[str]) -> None:
        changes.append(texts)

    page.expose_function("__announced", heard)
    page.evaluate(
        """sel => { const live = [...document.querySelectorAll(
                      sel + ', [role=status], .ag-aria-description-container')];
                    const report = () => window.__announced(live.map(e => e.innerText));
                    live.forEach(e => new MutationObserver(report).observe(
                      e, {childList: true, subtree: true, characterData: true})); }""",
        regions,
    )
    set_control(page, ids.METRIC, "projects")
    atlas_page.settle()
    page.wait_for_timeout(300)
    said = [texts[0] for texts in changes if texts[0].strip()]
    assert len(said) == 1, f"announced {len(said)} times: {said}"
    assert said[0].startswith("Updated: ") and i18n.metric_label("projects", "en") in said[0]
    others = {text for texts in changes for text in texts[1:] if text.strip()}
    assert not others, f"other live regions spoke too: {others}"
    atlas_page.log.assert_clean()


def test_charts_are_described_and_link_to_the_table(atlas_page):
    page = atlas_page.page
    atlas_page.open("/", lang="zh", metric="funds_cny")
    wait_map_drawn(page)
    atlas_page.settle()
    for graph, summary in ((ids.MAP, ids.MAP_SUMMARY), (ids.SERIES, ids.SERIES_SUMMARY)):
        figure = page.locator(f"[role=figure]:has(#{graph})")
        assert figure.get_attribute("aria-describedby") == summary
        text = page.locator(f"#{summary}").text_content()
        assert text and "亿元" in text and "来源" in text, text
        link = figure.locator("xpath=..").locator("a.table-link")
        assert link.get_attribute("href") == f"#{ids.TABLE_CARD}"
    headline = page.locator("[data-key=headline_funds]").locator("xpath=..")
    assert headline.get_attribute("role") == "group"
    note = page.locator(f"#{headline.get_attribute('aria-describedby')}").inner_text()
    assert "项" in note or "数字" in note, note
    assert "元" in headline.locator("[data-key=headline_funds]").inner_text()


@pytest.mark.parametrize("path", ["/", "/import"])
def test_page_reflows_at_320_css_pixels(browser, atlas_server, path):
    """WCAG 1.4.10: at 320 px wide (1280 px at 400 %) nothing but a data table (a grid, or
    a table in its own focusable scrolling region) or the map's drawing scrolls sideways."""
    context, bp = new_browser_page(browser, atlas_server, width=320, height=640)
    try:
        bp.open(path, lang="en", metric="funds_cny" if path == "/" else None)
        if path == "/":
            wait_map_drawn(bp.page)
        bp.settle()
        page = bp.page
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page scrolls {overflow}px sideways at 320px"
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')].filter(e => {
                 if (e.closest('.ag-root-wrapper, .js-plotly-plot, .sr-only, .skip-link'))
                   return false;
                 const region = e.closest('.table-scroll');
                 if (region) {  // a data table may scroll, inside its region only
                   const b = region.getBoundingClientRect();
                   return b.right > innerWidth + 1 || b.left < -1
                          || getComputedStyle(region).overflowX !== 'auto';
                 }
                 const r = e.getBoundingClientRect();
                 if (!r.width || !r.height) return false;
                 const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
                 return own && (r.right > innerWidth + 1 || r.left < -1);
               }).slice(0, 8).map(e => e.tagName + '.' + e.className + ': '
                                      + e.textContent.trim().slice(0, 40))"""
        )
        assert not wide, f"text cut off or scrolled sideways at 320px: {wide}"
        SCREENSHOT = PROJECT_ROOT / "var" / "screenshots"
        SCREENSHOT.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOT / f"reflow-320{path.replace('/', '-')}.png"), full_page=True
        )
        bp.log.assert_clean()
    finally:
        context.close()
