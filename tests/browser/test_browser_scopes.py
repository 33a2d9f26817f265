"""Figures about several places in the browser (issue #10): Kashgar's detail lists the
上海对口帮扶地区 figures with their quotes; choosing one outlines its eight members on the map
(never filling them), and the address carries it (scope=<figure id>)."""

from __future__ import annotations

import pytest
from browser_harness import drawn_locations, wait_map_drawn

pytestmark = pytest.mark.browser

KASHGAR = "653100"
# the eight areas of document 004 at prefecture level: 喀什, 克拉玛依, 日喀则, 果洛, 遵义,
# 宜昌 (holding 夷陵区), 重庆's 万州 (its prefecture-level unit) and 云南's prefectures
SOME_MEMBERS = {"653100", "650200", "540200", "632600", "520300", "420500", "530100"}


def test_kashgars_detail_lists_shanghais_group_figures_and_one_outlines_the_members(atlas_page):
    bp = atlas_page
    bp.open("/", lang="zh", level="prefecture", place=KASHGAR)
    wait_map_drawn(bp.page)
    bp.settle()
    shared = bp.page.locator("#detail-shared li", has_text="上海对口帮扶地区（8 个地区）")
    assert shared.count() >= 15, shared.count()
    text = bp.page.locator("#detail-shared").inner_text()
    assert "超过909万建档立卡贫困户脱贫出列" in text  # a quote, verbatim
    assert not drawn_locations(bp.page, trace="scope")  # nothing outlined yet
    before = sorted(drawn_locations(bp.page, trace="places"))

    item = bp.page.locator("#detail-shared li", has_text="超过909万建档立卡贫困户脱贫出列").first
    item.locator("a.scope-link").click()
    bp.page.wait_for_url("**scope=*")
    wait_map_drawn(bp.page)
    bp.settle()
    scope = bp.query().get("scope")
    assert scope and scope.isdigit(), bp.query()
    outlined = set(drawn_locations(bp.page, trace="scope"))
    assert outlined >= SOME_MEMBERS, sorted(SOME_MEMBERS - outlined)
    assert "650100" not in outlined and "110100" not in outlined  # 乌鲁木齐, 北京: not members
    # the group's value is no member's: the coloured places are the same as before
    assert sorted(drawn_locations(bp.page, trace="places")) == before
    # the detail is still Kashgar's, and the link now removes the outline
    assert bp.page.locator("#detail-shared a.scope-link", has_text="取消勾画").count() == 1
    bp.log.assert_clean()


def test_shanghais_detail_shows_donor_side_figures_and_the_14th_division_is_drawn(atlas_page):
    bp = atlas_page
    bp.open("/", lang="en", level="county", place="310000")
    wait_map_drawn(bp.page)
    bp.settle()
    own = bp.page.locator("#detail-donor-side li")
    assert own.count() == 10, own.count()
    assert own.first.locator(".badge", has_text="donor-side").count() == 1
    # the division's point, labelled as a division, and the flow that reaches it
    figure = bp.figure("map-graph")
    points = next(t for t in figure["data"] if t["name"] == "xpcc-divisions")
    # [key, label, the label drawn]: the 14th Division stands alone near Hotan
    assert ["xpcc:14", "14th Division (XPCC)", "14th Division"] in points["customdata"]
    label = bp.page.locator("#map-graph .scattergeo text", has_text="14th Division")
    assert label.count() == 1
    flows = [figure["data"][i] for i in figure["layout"]["meta"]["flows"]]
    hovers = [h or "" for t in flows if t.get("text") for h in t["text"]]
    assert any("14th Division (XPCC)" in h and "Beijing" in h for h in hovers)
    bp.log.assert_clean()


def test_a_group_figure_in_the_table_links_to_the_outline_of_its_members(atlas_page):
    from components import ids
    from twinning import i18n

    bp = atlas_page
    bp.open("/", lang="en", level="prefecture", donor="310000")
    wait_map_drawn(bp.page)
    bp.settle()
    bp.page.locator(f"#{ids.TABLE_TABS} .tab", has_text=i18n.t("table_figures", "en")).click()
    bp.page.locator(f"#{ids.TABLE_FIGURES} .ag-row .ag-cell").first.wait_for()
    bp.settle()
    # scrolled down block by block (as a reader would) until a group figure has come
    bp.page.wait_for_function(
        """id => { const api = window.dash_ag_grid.getApi(id); let hit = false, last = -1;
                   api.forEachNode(n => { if (!n.data) return;
                     last = Math.max(last, n.rowIndex); if (n.data.scope_id) hit = true; });
                   if (!hit && last >= 0 && last + 1 < api.getDisplayedRowCount())
                     api.ensureIndexVisible(last + 1, 'bottom');
                   return hit; }""",
        arg=ids.TABLE_FIGURES,
        timeout=30_000,
    )
    bp.settle()
    shown = bp.page.evaluate(
        """id => { const api = window.dash_ag_grid.getApi(id); let hit = null, plain = 0;
                   api.forEachNode(n => {
                     if (!n.data) return;
                     if (n.data.scope_id && hit === null) hit = n.rowIndex;
                     if (!n.data.scope_id) plain += 1; });
                   if (hit !== null) api.ensureIndexVisible(hit, 'middle');
                   return {hit: hit, plain: plain}; }""",
        ids.TABLE_FIGURES,
    )
    assert shown["hit"] is not None, "no figure about several places in Shanghai's table"
    assert shown["plain"] > 0
    link = bp.page.locator(f"#{ids.TABLE_FIGURES} .scope-cell a.scope-link").first
    link.wait_for()
    # only the rows of group figures carry the link
    n_links = bp.page.locator(f"#{ids.TABLE_FIGURES} .scope-cell a.scope-link").count()
    n_cells = bp.page.locator(f"#{ids.TABLE_FIGURES} .ag-cell[col-id=recipient]").count()
    assert 0 < n_links < n_cells
    link.click()
    bp.page.wait_for_url("**scope=*")
    wait_map_drawn(bp.page)
    bp.settle()
    assert bp.query().get("donor") == "310000"  # the rest of the view is kept
    outlined = set(drawn_locations(bp.page, trace="scope"))
    assert len(outlined) >= 2, outlined
    bp.log.assert_clean()
