"""Find a place (issue #9): the search box over the map takes what people type (莎车,
莎车县, Shache, shache, an adcode, a former name, 喀什) and opens the place: the map drills
into its province, the detail shows the place, the address carries it. An ambiguous name
lists its candidates, each with the places it lies in."""

from __future__ import annotations

import pytest
from browser_harness import SCREENSHOT_DIR, set_control, wait_map_drawn

from components import ids

pytestmark = pytest.mark.browser

SHACHE = "653125"
OPTIONS = (
    "() => [...document.querySelectorAll("
    "'.dash-dropdown-content[data-state=open] [role=option]')].map(o => o.innerText.trim())"
)


def _type(bp, text: str) -> list[str]:
    """Open the search, type ``text``, wait for the gazetteer's candidates; their labels."""
    page = bp.page
    page.click(f"#{ids.PLACE_SEARCH}")
    page.wait_for_selector(".dash-dropdown-search")
    page.fill(".dash-dropdown-search", text)
    page.wait_for_function(
        f"""t => {{ const o = ({OPTIONS})(); return o.length > 0 &&
                   o.every(l => !l.includes('…')) && o[0].includes('(') ; }}""",
        arg=text,
    )
    bp.settle()
    return page.evaluate(OPTIONS)


def _choose(bp, label_part: str) -> None:
    bp.page.locator(
        ".dash-dropdown-content[data-state=open] [role=option]", has_text=label_part
    ).first.click()
    bp.settle()
    wait_map_drawn(bp.page)
    bp.settle()


@pytest.mark.parametrize("typed", ["莎车", "莎车县", "shache", "653125"])
def test_what_people_type_opens_shache_in_xinjiang(atlas_page, typed, county_codes_by_province):
    bp = atlas_page
    bp.open("/", lang="zh")
    wait_map_drawn(bp.page)
    bp.settle()
    labels = _type(bp, typed)
    assert labels[0] == "莎车县 · 喀什地区 · 新疆维吾尔自治区 (653125)", labels
    _choose(bp, "653125")
    query = bp.query()
    assert (query.get("recipient"), query.get("level"), query.get("place")) == (
        "650000",
        "county",
        "653125",
    ), query
    bp.page.wait_for_function("() => !!document.getElementById('detail-name')")
    assert bp.page.inner_text("#detail-name").strip() == "莎车县"
    fig = bp.figure(ids.MAP)
    # the map drilled into Xinjiang: its counties, Shache among them, and no other's
    places = [
        t for t in fig["data"] if t["type"] == "choropleth" and SHACHE in (t["locations"] or [])
    ]
    assert places
    for trace in places:
        assert set(trace["locations"]) <= county_codes_by_province["650000"]
    bp.log.assert_clean()


def test_an_ambiguous_name_and_a_former_name_list_candidates(atlas_page):
    bp = atlas_page
    bp.open("/", lang="en")
    wait_map_drawn(bp.page)
    bp.settle()
    labels = _type(bp, "喀什")
    assert labels[:2] == [
        "Kashgar Prefecture · Xinjiang Uygur Autonomous Region (653100)",
        "Kashgar City · Kashgar Prefecture · Xinjiang Uygur Autonomous Region (653101)",
    ], labels
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    bp.page.screenshot(path=str(SCREENSHOT_DIR / "find-place-kashgar-en.png"))
    _choose(bp, "653101")
    assert bp.query().get("place") == "653101" and bp.query().get("recipient") == "650000"
    assert "Kashgar" in bp.page.inner_text("#detail-name")
    # a former name, typed in the drilled view: what it became, in its own province
    labels = _type(bp, "昌都地区")
    assert labels[0].startswith("Qamdo") and "formerly 昌都地区" in labels[0], labels
    _choose(bp, "540300")
    query = bp.query()
    assert (query.get("recipient"), query.get("level"), query.get("place")) == (
        "540000",
        "prefecture",
        "540300",
    )
    bp.log.assert_clean()


def test_with_nothing_typed_the_box_lists_the_places_in_view_when_it_takes_focus(
    atlas_page, atlas_store
):
    """With nothing typed the search lists the places in view. The list is asked for when
    the box takes focus, not sent with every filter change (#7: up to 48 KB a change for
    a box nobody opened); a later view's places come at the next focus."""
    from components.a11y import place_options
    from components.callbacks import filters_from_url
    from twinning.view import current_data

    bp = atlas_page
    sent: list[bytes] = []

    def on_response(response) -> None:
        if "_dash-update-component" in response.url and response.status == 200:
            sent.append(response.body())

    bp.page.on("response", on_response)
    bp.open("/", lang="en", level="county")
    wait_map_drawn(bp.page)
    bp.settle()
    assert sent, "the first view sent nothing"
    assert not any(b'"place-search"' in body for body in sent), "the list came with the page"
    sent.clear()
    set_control(bp.page, "year-range", (2010, 2015))
    bp.settle()
    assert sent, "the change sent nothing"
    assert not any(b'"place-search"' in body for body in sent), "the list came with a change"

    def expected() -> list[str]:
        filters = filters_from_url("?" + bp.page.url.split("?", 1)[1])
        return [o["label"] for o in place_options(current_data(atlas_store), filters)]

    places = expected()
    assert places
    bp.page.click(f"#{ids.PLACE_SEARCH}")
    bp.page.wait_for_function(
        f"n => ({OPTIONS})().length > 0 && ({OPTIONS})()[0] === n", arg=places[0]
    )
    bp.settle()
    assert bp.page.evaluate(OPTIONS)[: len(places)] == places[: len(bp.page.evaluate(OPTIONS))]
    bp.page.keyboard.press("Escape")
    bp.settle()
    # another view: its places at the next focus
    set_control(bp.page, "program-select", ["counterpart_support_tibet"])
    bp.settle()
    later = expected()
    assert later != places
    bp.page.click(f"#{ids.PLACE_SEARCH}")
    bp.page.wait_for_function(
        f"n => ({OPTIONS})().length > 0 && ({OPTIONS})()[0] === n", arg=later[0]
    )
    bp.log.assert_clean()


def test_the_dropdowns_own_words_are_in_the_pages_language(atlas_page):
    """Dash draws a dropdown's search box and a multi-select's Select All / Deselect All
    in English whatever the page's language; the atlas gives them in Chinese on a Chinese
    page."""
    bp = atlas_page
    bp.open("/", lang="zh")
    wait_map_drawn(bp.page)
    bp.settle()
    bp.page.click(f"#{ids.PLACE_SEARCH}")
    search = bp.page.locator(".dash-dropdown-content[data-state=open] .dash-dropdown-search")
    search.wait_for()
    assert search.get_attribute("placeholder") == "搜索"
    bp.page.keyboard.press("Escape")
    bp.settle()
    bp.page.click(f"#{ids.PROGRAM}")
    content = bp.page.locator(".dash-dropdown-content[data-state=open]")
    content.wait_for()
    text = content.inner_text()
    assert ("全选" in text or "取消全选" in text) and "Select All" not in text, text
    assert "Search" not in (content.locator("input").first.get_attribute("placeholder") or "")
    bp.page.keyboard.press("Escape")
    bp.log.assert_clean()
