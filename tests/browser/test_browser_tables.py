"""The tables in a real browser: dash-ag-grid on the infinite row model asks the server
for one block of rows at a time, asks for a later block when scrolled, and asks again
from the first row when the view's filters change (#7)."""

from __future__ import annotations

import json

import pytest
from browser_harness import set_control, wait_map_drawn

from components import ids
from components.layout import GRID_BLOCK_ROWS
from twinning import i18n

pytestmark = pytest.mark.browser


def _record_row_requests(bp, grid: str) -> list[dict]:
    """Every getRowsRequest the page sends for ``grid``: {startRow, endRow, ...}."""
    seen: list[dict] = []

    def on_request(request):
        if "/_dash-update-component" not in request.url or not request.post_data:
            return
        body = json.loads(request.post_data)
        for item in body.get("inputs", []):
            # a pattern-matching input (the tour menu's stops) comes as a list
            if (
                isinstance(item, dict)
                and item.get("id") == grid
                and item.get("property") == "getRowsRequest"
            ):
                seen.append(item.get("value") or {})

    bp.page.on("request", on_request)
    return seen


def _grid_state(page, grid: str) -> dict:
    """What the grid holds: its row count and the rows it has loaded, by column id."""
    return page.evaluate(
        """id => { const api = window.dash_ag_grid.getApi(id); const rows = [];
                   api.forEachNode(n => { if (n.data) rows.push(n.data); });
                   return {count: api.getDisplayedRowCount(), rows: rows}; }""",
        grid,
    )


def _wait_rows(page, grid: str) -> None:
    """Until the grid holds rows of data (not its loading row)."""
    page.wait_for_function(
        """id => { let api = null;  // no grid yet: the page puts it in once idle
                   try { api = window.dash_ag_grid.getApi(id); } catch (e) { return false; }
                   let rows = 0; api.forEachNode(n => { if (n.data) rows += 1; });
                   return rows > 0; }""",
        arg=grid,
    )


def _scroll_to_table(bp) -> None:
    """Bring the tables into sight; a grid marked stale then asks for its rows."""
    bp.page.locator(f"#{ids.TABLE_CARD}").scroll_into_view_if_needed()
    bp.page.wait_for_function("() => window.atlasTables.inView()")
    bp.settle()


def _open_figures(bp, **params) -> None:
    bp.open("/", **params)
    wait_map_drawn(bp.page)
    bp.settle()
    label = i18n.t("table_figures", params.get("lang", "zh"))
    bp.page.locator(f"#{ids.TABLE_TABS} .tab", has_text=label).click()
    bp.page.locator(f"#{ids.TABLE_FIGURES} .ag-row .ag-cell").first.wait_for()
    _wait_rows(bp.page, ids.TABLE_FIGURES)
    bp.settle()


def test_figures_grid_pages_from_the_server_and_reloads_on_a_filter_change(atlas_page):
    page = atlas_page.page
    requests = _record_row_requests(atlas_page, ids.TABLE_FIGURES)
    _open_figures(atlas_page, lang="en")

    # the first block only: rows 0-40 of more than 200
    block = GRID_BLOCK_ROWS
    assert requests and requests[0]["startRow"] == 0 and requests[0]["endRow"] == block
    first = _grid_state(page, ids.TABLE_FIGURES)
    assert first["count"] > 200 and len(first["rows"]) == block
    headers = page.evaluate(
        "id => window.dash_ag_grid.getApi(id).getColumnDefs().map(c => c.headerName)",
        ids.TABLE_FIGURES,
    )
    assert "Metric" in headers and "Source" in headers
    assert page.locator(f"#{ids.TABLE_FIGURES} .ag-header-cell-text").first.inner_text() == (
        "Metric"
    )
    assert page.locator(f"#{ids.TABLE_FIGURES} .ag-row").count() < block  # drawn: what shows

    # scrolling down asks for a later block
    page.locator(f"#{ids.TABLE_FIGURES} .ag-body-viewport").evaluate(
        "el => { el.scrollTop = el.scrollHeight; }"
    )
    page.wait_for_function(
        """([id, block]) => { let later = false;
                   window.dash_ag_grid.getApi(id).forEachNode(
                       n => { if (n.rowIndex >= block && n.data) later = true; });
                   return later; }""",
        arg=[ids.TABLE_FIGURES, block],
    )
    assert any(r["startRow"] >= block for r in requests)

    # a filter change made with the table out of sight: the grid waits (#7) ...
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function("() => !window.atlasTables.inView()")
    asked = len(requests)
    set_control(page, ids.METRIC, "funds_cny")
    atlas_page.settle()
    assert atlas_page.query().get("metric") == "funds_cny"
    assert requests[asked:] == []
    # ... and, once the table is in sight, drops its blocks and asks from the first row
    _scroll_to_table(atlas_page)
    again = requests[asked:]
    assert again and again[0]["startRow"] == 0, again
    funds = i18n.metric_label("funds_cny", "en")
    page.wait_for_function(
        """([id, label]) => { const rows = [];
               window.dash_ag_grid.getApi(id).forEachNode(n => { if (n.data) rows.push(n); });
               return rows.length > 0 && rows.every(n => n.data.metric === label); }""",
        arg=[ids.TABLE_FIGURES, funds],
    )
    after = _grid_state(page, ids.TABLE_FIGURES)
    assert 0 < after["count"] < first["count"]
    atlas_page.log.assert_clean()


def test_grid_sorts_and_filters_on_the_server(atlas_page):
    page = atlas_page.page
    requests = _record_row_requests(atlas_page, ids.TABLE_FIGURES)
    _open_figures(atlas_page, lang="en")
    total = _grid_state(page, ids.TABLE_FIGURES)["count"]

    # a click on a header sorts: the server is asked with the sort model
    header = page.locator(f"#{ids.TABLE_FIGURES} .ag-header-cell[col-id=value_raw]")
    header.locator(".ag-header-cell-label").click()  # ascending
    header.locator(".ag-header-cell-label").click()  # descending
    page.wait_for_function(
        """id => { const v = []; window.dash_ag_grid.getApi(id).forEachNode(
                       n => { if (n.data) v.push(n.data.value_raw); });
                   return v.length > 1 && v.every((x, i) => i === 0 || v[i - 1] >= x); }""",
        arg=ids.TABLE_FIGURES,
    )
    assert [(m["colId"], m["sort"]) for m in requests[-1]["sortModel"]] == [("value_raw", "desc")]

    # typing in the filter row narrows the rows, in SQL
    column = page.get_attribute(
        f"#{ids.TABLE_FIGURES} .ag-header-cell[col-id=donor]", "aria-colindex"
    )
    box = page.locator(f"#{ids.TABLE_FIGURES} .ag-floating-filter[aria-colindex='{column}'] input")
    box.fill("上海")
    page.wait_for_function(
        """([id, total]) => { const api = window.dash_ag_grid.getApi(id); const rows = [];
               api.forEachNode(n => { if (n.data) rows.push(n.data); });
               return api.getDisplayedRowCount() < total && rows.length > 0
                      && rows.every(r => r.donor.includes("上海")); }""",
        arg=[ids.TABLE_FIGURES, total],
    )
    model = requests[-1]["filterModel"]
    assert model["donor"]["type"] == "contains" and model["donor"]["filter"] == "上海"
    atlas_page.log.assert_clean()


def test_source_cells_are_links_to_http_addresses_only(atlas_page):
    page = atlas_page.page
    atlas_page.open("/", lang="en")
    wait_map_drawn(page)
    _wait_rows(page, ids.TABLE_PAIRINGS)
    atlas_page.settle()
    page.evaluate(
        "id => window.dash_ag_grid.getApi(id).ensureColumnVisible('source')", ids.TABLE_PAIRINGS
    )
    links = page.locator(f"#{ids.TABLE_PAIRINGS} .source-cell a")
    links.first.wait_for()
    hrefs = links.evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert set(links.evaluate_all("els => els.map(a => a.rel)")) == {"noopener noreferrer"}
    # the CSV button is a link to the server's stream of this view
    csv_href = page.get_attribute(f"#{ids.DOWNLOAD_CSV}", "href")
    assert csv_href.startswith("/download/view.csv?") and "lang=en" in csv_href
    atlas_page.log.assert_clean()


def test_pairings_grid_keeps_its_rows_when_only_the_metric_or_level_changes(atlas_page):
    # the pairings have no metric and no map level: such a change leaves their grid as it
    # is (no request, #7); a change of the years asks again from the first row
    page = atlas_page.page
    requests = _record_row_requests(atlas_page, ids.TABLE_PAIRINGS)
    atlas_page.open("/", lang="en", metric="funds_cny")
    wait_map_drawn(page)
    atlas_page.settle()
    _wait_rows(page, ids.TABLE_PAIRINGS)
    shown = _grid_state(page, ids.TABLE_PAIRINGS)
    asked = len(requests)
    set_control(page, ids.METRIC, "projects")
    atlas_page.settle()
    set_control(page, ids.LEVEL, "prefecture")
    atlas_page.settle()
    assert atlas_page.query().get("metric") == "projects"
    assert atlas_page.query().get("level") == "prefecture"
    assert requests[asked:] == []
    assert _grid_state(page, ids.TABLE_PAIRINGS) == shown
    set_control(page, ids.YEARS, (2010, 2015))
    atlas_page.settle()
    assert requests[asked:] == []  # the table is out of sight: its grid waits (#7)
    _scroll_to_table(atlas_page)
    again = requests[asked:]
    assert again and again[0]["startRow"] == 0, again
    page.wait_for_function(
        "([id, n]) => window.dash_ag_grid.getApi(id).getDisplayedRowCount() < n",
        arg=[ids.TABLE_PAIRINGS, shown["count"]],
    )
    atlas_page.log.assert_clean()


def test_a_quote_filter_shows_its_rows_before_its_count_and_after_none(
    browser, store, tmp_path, monkeypatch
):
    """A text filter on the quote of a large view shows its first rows before its count is
    made (#7: at 10 M figures quoting 8 M distinct texts the count reads them all): the
    grid is told one row more than it holds, shows it loading at the end, and learns the
    total from the next block once scrolled there. Also right after a filter that found
    no row (dash-ag-grid then sets the grid's row count from the response first: an
    "unknown" -1 there left the grid empty)."""

    from browser_harness import LiveServer, new_browser_page
    from test_query_store import _large_view_counted_later

    from components.app import create_app
    from twinning.filters import Filters
    from twinning.query import tables

    # a large view, as far as the tables go; its counts in the background held back
    _data, sql_only, _asked, gate = _large_view_counted_later(store, tmp_path, monkeypatch)
    server = LiveServer(create_app(store).server)
    context, bp = new_browser_page(browser, server)
    try:
        page = bp.page
        _open_figures(bp, lang="en")

        def filtered(value: str) -> None:
            page.evaluate(
                """([id, v]) => window.dash_ag_grid.getApi(id).setFilterModel(
                       {quote: {filterType: 'text', type: 'contains', filter: v}})""",
                [ids.TABLE_FIGURES, value],
            )

        def shown(value: str) -> dict:
            page.wait_for_function(
                """([id, v]) => { const api = window.dash_ag_grid.getApi(id);
                       const m = api.getFilterModel().quote; if (!m || m.filter !== v) return false;
                       const rows = []; api.forEachNode(n => { if (n.data) rows.push(n.data); });
                       return api.getDisplayedRowCount() === 0 || (rows.length > 0
                           && rows.every(r => (r.quote || '').toLowerCase().includes(v))); }""",
                arg=[ids.TABLE_FIGURES, value],
            )
            return _grid_state(page, ids.TABLE_FIGURES)

        filtered("zq")
        assert shown("zq")["count"] == 0  # none found: the grid says so
        model = {"quote": {"filterType": "text", "type": "contains", "filter": "a"}}
        total = tables.table_count(sql_only, Filters(lang="en"), "figures", model)
        assert total > GRID_BLOCK_ROWS + 1
        filtered("a")
        first = shown("a")
        assert len(first["rows"]) == GRID_BLOCK_ROWS and first["count"] == GRID_BLOCK_ROWS + 1
        gate.set()  # counted; scrolled to the loading row, the grid asks on and learns it
        page.locator(f"#{ids.TABLE_FIGURES} .ag-body-viewport").evaluate(
            "el => { el.scrollTop = el.scrollHeight; }"
        )
        page.wait_for_function(
            "([id, n]) => window.dash_ag_grid.getApi(id).getDisplayedRowCount() === n",
            arg=[ids.TABLE_FIGURES, total],
        )
        bp.log.assert_clean()
    finally:
        gate.set()
        context.close()
        server.stop()
