"""Lean traffic in a real browser (issue #7): the boundaries come once per level as a
cacheable asset, compressed, and a second visit or a second tab takes them from the cache."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_harness import (
    PLOT_ORDER_JS,
    BrowserPage,
    attach_log,
    drawn_locations,
    set_control,
    wait_map_drawn,
)

from components import ids
from twinning import i18n

pytestmark = pytest.mark.browser

# Resource Timing: transferSize is 0 for a response taken from the HTTP cache (a 304 would
# count its headers), decodedBodySize is what the page got.
GEO_ENTRIES_JS = """() => performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/geo/'))
    .map(e => ({name: e.name, transfer: e.transferSize, encoded: e.encodedBodySize,
                decoded: e.decodedBodySize}))"""


def _cached_context_page(browser: Any, server: Any) -> tuple[Any, BrowserPage]:
    """A page whose context keeps Chromium's HTTP cache. The harness's usual context
    aborts foreign requests with ``context.route``, which turns the cache off in
    Playwright; here the request log asserts "offline" instead (and the browser's
    host-resolver rules still resolve no name but loopback)."""
    # bypass_csp: wait_for_function needs eval, which the atlas's CSP forbids (harness)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, BrowserPage(page=page, log=attach_log(page, server.origin), server=server)


def _open_county_map(bp: BrowserPage, **params: Any) -> list[dict[str, Any]]:
    bp.open("/", level="county", **params)
    wait_map_drawn(bp.page)
    bp.settle()
    return bp.page.evaluate(GEO_ENTRIES_JS)


def test_boundaries_are_downloaded_once_then_come_from_the_cache(
    browser, atlas_server, county_count
):
    context, bp = _cached_context_page(browser, atlas_server)
    responses: list[Any] = []
    bp.page.on("response", lambda r: responses.append(r) if "/geo/" in r.url else None)
    try:
        first = _open_county_map(bp)
        # the layers of places read one file (the later ones with a fragment, from the
        # cache), the context layers (neighbours, outline, the inset's land and islands)
        # another
        counties = [e for e in first if "/geo/county-" in e["name"]]
        assert len({e["name"].split("#")[0] for e in counties}) == 1, first
        downloaded = [e for e in first if e["transfer"] > 0]
        # Playwright also reports the cache's read
        assert sorted(e["name"].split("/geo/")[1].split("-")[0] for e in downloaded) == [
            "county",
            "overlays",
        ], first
        (entry,) = [e for e in downloaded if "/geo/county-" in e["name"]]
        # compressed on the wire: brotli/gzip take the county GeoJSON to under a third
        assert entry["encoded"] < entry["decoded"] / 3
        for response in responses:
            assert response.status == 200
            assert response.headers.get("content-encoding") in ("br", "gzip")
            assert "immutable" in response.headers.get("cache-control", "")
        assert len(set(drawn_locations(bp.page))) == county_count

        # a second visit in the same browser: the same URL, from the cache
        again = _open_county_map(bp, metric="funds_cny")
        # (a fragment is a layer's own name for a file: which names plotly.js asked for
        # itself depends on whether the page handed it the file first, components/geo_assets)
        files = {e["name"].split("#")[0] for e in first}
        assert {e["name"].split("#")[0] for e in again} == files
        assert all(e["transfer"] == 0 for e in again), f"downloaded again: {again}"
        assert len(set(drawn_locations(bp.page))) == county_count

        # a second tab too
        tab = context.new_page()
        tab_log = attach_log(tab, atlas_server.origin)
        tab_bp = BrowserPage(page=tab, log=tab_log, server=atlas_server)
        in_tab = _open_county_map(tab_bp, lang="en")
        assert in_tab and all(e["transfer"] == 0 for e in in_tab), in_tab
        tab_log.assert_clean()
        bp.log.assert_clean()  # nothing beyond the server, no console error
    finally:
        context.close()


def test_the_first_view_comes_with_the_page_and_a_change_still_updates_it(atlas_page):
    # The layout's request names the page's address (assets/first_view.js): the page
    # comes with its map, title and headline numbers, and the map's callback, finding the
    # view shown, sends nothing (#7). A filter change then updates the map as before.
    page = atlas_page.page
    layout_headers: list[dict[str, str]] = []
    answers: list[tuple[str, int, str]] = []

    def on_response(r: Any) -> None:
        if r.url.split("?")[0].endswith("/_dash-layout"):
            layout_headers.append(r.request.headers)
        elif "/_dash-update-component" in r.url:
            output = (r.request.post_data_json or {}).get("output", "")
            answers.append((output, r.status, r.text() if r.status == 200 else ""))

    page.on("response", on_response)
    page.add_init_script(PLOT_ORDER_JS)
    atlas_page.open("/", level="county", metric="funds_cny", lang="en")
    wait_map_drawn(page)
    atlas_page.settle()
    # while the map drew, the page's callbacks waited (assets/first_view.js): the first
    # was sent after the map's first drawing was done
    plots = page.evaluate("window.__plots")
    drawn_at = min(
        (t for kind, graph, t in plots if (kind, graph) == ("done", "map-graph")), default=None
    )
    sent = page.evaluate(
        """() => performance.getEntriesByType('resource')
        .filter(e => e.name.includes('/_dash-update-component')).map(e => e.startTime)"""
    )
    assert drawn_at and sent and min(sent) >= drawn_at, (drawn_at, sent)
    assert layout_headers and layout_headers[0].get("x-atlas-location") == (
        "/?level=county&metric=funds_cny&lang=en"
    )
    maps = [(status, text) for output, status, text in answers if "map-graph.figure" in output]
    assert [status for status, _ in maps] == [204], answers  # asked once, nothing to send
    pages = [status for output, status, _ in answers if output.startswith("..page.children")]
    assert pages == [204]  # the page came with the layout
    title = page.locator("#map-title").inner_text()
    assert "Funds" in title or "funds" in title
    assert page.locator("#headlines").inner_text().strip()

    answers.clear()
    gd = "document.querySelector('#map-graph .js-plotly-plot')"
    # the values the hover shows (z only picks the colour: whole steps between the view's
    # lowest and highest, which two metrics may share)
    values = f"() => JSON.stringify({gd}.data.find(t => t.name === 'places').customdata)"
    before = page.evaluate(values)
    set_control(page, "metric-select", "projects")
    atlas_page.settle()
    maps = [(status, text) for output, status, text in answers if "map-graph.figure" in output]
    assert [status for status, _ in maps] == [200] and '"operations"' in maps[0][1]
    after = page.evaluate(values)
    assert after != before
    assert "Projects" in page.locator("#map-title").inner_text()
    atlas_page.log.assert_clean()


def test_the_page_runs_without_the_babel_polyfill_on_the_browsers_own_functions(atlas_page):
    # Dash's Babel polyfill is left out (components/app.py _drop_polyfill, #7): no request
    # for it, the browser's own trim/parseInt/parseFloat/Promise, and the renderer's one
    # generator runs on regenerator-runtime (the page draws, clean console)
    atlas_page.open("/", lang="en")
    wait_map_drawn(atlas_page.page)
    atlas_page.settle()
    assert not [u for u in atlas_page.log.requests if "polyfill" in u]
    # regenerator-runtime comes in the page's bundle of small scripts (page_bundle.py)
    native = atlas_page.page.evaluate(
        """() => [String.prototype.trim, parseInt, parseFloat, Number.parseInt, Promise,
                  Array.prototype.includes, Object.assign]
                 .map(f => Function.prototype.toString.call(f).includes('[native code]'))
                 .concat([typeof regeneratorRuntime, '  x '.trim(), parseInt(' 12px')])"""
    )
    assert native == [True] * 7 + ["object", "x", 12]
    atlas_page.log.assert_clean()


def test_the_page_asks_for_its_layout_from_its_head_once_and_grids_come_later(atlas_page):
    # The page's head asks for the layout and the callbacks' list (components/app.py
    # _early_requests, #7): each is asked for once, with the page's address, before any
    # script of the page has run; dash-ag-grid and dash_table are not among the page's
    # scripts: ag-grid's comes after the map has drawn, before the tables need it.
    page = atlas_page.page
    asked: list[tuple[str, str | None]] = []
    page.on(
        "request",
        lambda r: (
            r.url.split("?")[0].endswith(("/_dash-layout", "/_dash-dependencies"))
            and asked.append(
                (r.url.split("?")[0].rsplit("/", 1)[1], r.headers.get("x-atlas-location"))
            )
        ),
    )
    response = atlas_page.open("/", level="county", metric="funds_cny", lang="en")
    page_scripts = " ".join(re.findall(r'<script src="([^"]+)"', response.text()))
    assert "dash_ag_grid" not in page_scripts and "dash_table" not in page_scripts
    assert "dash_renderer" in page_scripts and "plotly-atlas" in page_scripts
    wait_map_drawn(page)
    # asked for before the page's scripts had run (they block the parser: domInteractive)
    before = page.evaluate(
        """() => { const nav = performance.getEntriesByType('navigation')[0];
             return performance.getEntriesByType('resource')
               .filter(r => /_dash-(layout|dependencies)$/.test(r.name))
               .map(r => r.startTime < nav.domInteractive); }"""
    )
    assert before == [True, True], before
    grid = page.locator(f"#{ids.TABLE_PAIRINGS} .ag-row .ag-cell").first
    grid.wait_for(timeout=15_000)
    atlas_page.settle()
    names = sorted(a[0] for a in asked)
    assert names == ["_dash-dependencies", "_dash-layout"], asked
    layout_ask = next(a for a in asked if a[0] == "_dash-layout")
    assert layout_ask[1] == "/?level=county&metric=funds_cny&lang=en"
    scripts = [u for u in atlas_page.log.requests if "dash_ag_grid/dash_ag_grid" in u]
    assert len(scripts) == 1 and page.evaluate("() => typeof window.dash_ag_grid") == "object"
    assert not [u for u in atlas_page.log.requests if "dash_table" in u]  # never drawn
    atlas_page.log.assert_clean()


def test_an_answer_with_a_grid_waits_for_the_grids_script(atlas_page):
    # The import page comes in a callback's answer (the nav link, no reload) and holds
    # grids; while ag-grid's script has not arrived (held here), the answer waits for it
    # instead of reaching Dash's renderer, which would not know the component and say so
    # in the console (assets/first_view.js afterLater)
    page = atlas_page.page
    held: list = []
    released = [False]
    page.route(
        "**/dash_ag_grid/**",
        lambda route: route.continue_() if released[0] else held.append(route),
    )
    # not until "load": the script, asked for before it, would hold the load event
    atlas_page.open("/", wait_until="domcontentloaded", lang="en")
    page.locator(".nav-link", has_text=i18n.t("nav_import", "en")).click()
    page.wait_for_url("**/import?lang=en")
    page.wait_for_timeout(1000)
    assert held, "ag-grid's script was never asked for"
    state = "() => [typeof window.dash_ag_grid, !!document.querySelector('.import-main')]"
    assert page.evaluate(state) == ["undefined", False]  # the page waits with its answer
    released[0] = True
    for route in held:
        route.continue_()
    page.locator(".import-main").wait_for(timeout=15_000)
    assert page.evaluate(state) == ["object", True]
    atlas_page.settle()
    atlas_page.log.assert_clean()


def test_the_tables_come_after_the_map_and_without_a_scroll(atlas_page):
    # The page starts with empty table slots; once the map has drawn and the page is
    # idle it asks for the grids (assets/tables_later.js, layout.table_slot, #7): no
    # grid is started and no ag-grid chunk fetched while the map draws, and the table
    # fills without the reader scrolling to it.
    page = atlas_page.page
    page.add_init_script(
        """(() => { window.__order = [];
        new MutationObserver(() => {
          const gd = document.querySelector('#map-graph .js-plotly-plot');
          if (gd && gd.on && !gd.__t) { gd.__t = 1;
            gd.on('plotly_afterplot', () => window.__order.push(['map',
              !!document.querySelector('.ag-root-wrapper')])); }
          if (document.querySelector('.ag-root-wrapper') && !window.__grid) {
            window.__grid = 1; window.__order.push(['grid']); }
        }).observe(document, {childList: true, subtree: true}); })()"""
    )
    atlas_page.open("/", level="county", metric="funds_cny", lang="en")
    wait_map_drawn(page)
    grid = page.locator(f"#{ids.TABLE_PAIRINGS} .ag-row .ag-cell").first
    grid.wait_for(timeout=15_000)
    assert page.evaluate("window.scrollY") == 0  # nobody scrolled to it
    order = page.evaluate("window.__order")
    assert order[0] == ["map", False] and ["grid"] in order, order
    assert order.index(["grid"]) > 0
    loading = i18n.t("table_loading", "en")
    assert page.locator(f"#{ids.TABLE_SLOT['pairings']}").get_attribute("aria-busy") == "false"
    assert loading not in page.locator(f"#{ids.TABLE_CARD}").inner_text()
    atlas_page.log.assert_clean()


def test_closed_panels_ask_nothing_on_a_filter_change_and_fill_when_opened(atlas_page):
    # The coverage card and the Share menu show nothing while closed; a filter change then
    # sends no request for them (components/gates.py, #7). Opened, each shows the view of
    # the moment, not the one the page started with.
    page = atlas_page.page
    outputs: list[str] = []
    page.on(
        "request",
        lambda r: (
            "/_dash-update-component" in r.url
            and outputs.append((r.post_data_json or {}).get("output", ""))
        ),
    )
    atlas_page.open("/", level="county", metric="funds_cny", lang="en")
    wait_map_drawn(page)
    atlas_page.settle()
    outputs.clear()
    set_control(page, "metric-select", "projects")
    atlas_page.settle()
    assert any("map-graph.figure" in o for o in outputs), outputs  # the change was sent
    assert not [o for o in outputs if "coverage" in o or "share-link" in o], outputs

    page.locator("#share-menu > summary").click()
    page.wait_for_function(
        "() => document.getElementById('share-link').value.includes('metric=projects')"
    )
    assert [o for o in outputs if "share-link" in o]
    page.locator("#coverage-details > summary").click()
    page.wait_for_selector("#coverage table", timeout=15_000)
    # open, they follow the next change
    set_control(page, "metric-select", "people_lifted")
    page.wait_for_function(
        "() => document.getElementById('share-link').value.includes('metric=people_lifted')"
    )
    atlas_page.settle()
    assert page.locator("#coverage table").count() == 2
    atlas_page.log.assert_clean()


SERIES_JS = """() => { const gd = document.querySelector('#series-graph .js-plotly-plot');
    return JSON.parse(JSON.stringify({data: gd.data, annotations: gd.layout.annotations,
                                      shapes: gd.layout.shapes})); }"""


def test_another_series_comes_as_what_differs_and_draws_as_the_whole_would(atlas_page):
    # A programme change redraws the series: the answer is what differs from the figure
    # the browser holds (#7); the series it then draws is the one a fresh page of that
    # view draws from the whole figure
    page = atlas_page.page
    atlas_page.open("/", lang="en", metric="funds_cny", year=2010)
    wait_map_drawn(page)
    atlas_page.settle()
    answers: list[tuple[str, str]] = []

    def on_response(r: Any) -> None:
        if "/_dash-update-component" in r.url and r.status == 200:
            answers.append(((r.request.post_data_json or {}).get("output", ""), r.text()))

    page.on("response", on_response)
    set_control(page, "program-select", ["counterpart_support_xinjiang"])
    atlas_page.settle()
    series = [text for output, text in answers if "series-graph.figure" in output]
    assert len(series) == 1 and '"operations"' in series[0], series
    patched = page.evaluate(SERIES_JS)
    page.remove_listener("response", on_response)
    atlas_page.open("/", lang="en", metric="funds_cny", year=2010,
                    program="counterpart_support_xinjiang")  # fmt: skip
    wait_map_drawn(page)
    atlas_page.settle()
    fresh = page.evaluate(SERIES_JS)
    assert [t.get("name") for t in patched["data"]] == [t.get("name") for t in fresh["data"]]
    assert patched == fresh
    atlas_page.log.assert_clean()
