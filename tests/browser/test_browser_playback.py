"""Time playback in the browser (issue #9): a step is one ordinary filter change that sends
values only; play runs through the years and stops at the last; the URL follows; the
keyboard plays, pauses and steps, but not while focus is in a box that takes the keys."""

from __future__ import annotations

from typing import Any

import pytest
from browser_harness import BrowserPage, wait_map_drawn

from twinning import query as agg

pytestmark = pytest.mark.browser

STEP_WIRE_MAX = 16_000  # bytes on the wire of any one response of a step (compressed)
STEP_TOTAL_MAX = 40_000  # all responses of a step together


@pytest.fixture(scope="module")
def last_year(atlas_store) -> int:
    return agg.year_bounds(agg.AtlasData.from_store(atlas_store))[1]


def record_responses(bp: BrowserPage) -> list[dict[str, Any]]:
    """Every Dash callback response from now on: what it answered, its body, its size."""
    seen: list[dict[str, Any]] = []

    def on_response(response: Any) -> None:
        if "/_dash-update-component" not in response.url:
            return
        body = response.body() if response.status == 200 else b""  # 204: nothing to send
        seen.append(
            {
                "status": response.status,
                "output": (response.request.post_data_json or {}).get("output", ""),
                "body": body,
                "wire": response.request.sizes()["responseBodySize"],
            }
        )

    bp.page.on("response", on_response)
    return seen


def year_in_url(bp: BrowserPage, year: int, playing: bool | None = None) -> None:
    js = "([y, p]) => { const q = new URLSearchParams(location.search);"
    js += " return q.get('year') === y && (p === null || q.has('play') === p); }"
    bp.page.wait_for_function(js, arg=[str(year), playing], timeout=20_000)


def map_z(bp: BrowserPage) -> list:
    fig = bp.figure("map-graph")
    main = next(t for t in fig["data"] if t["name"] == "places")
    return main["z"]


def test_a_step_sends_values_only_and_everything_follows(atlas_page):
    bp = atlas_page
    bp.open("/", lang="en", metric="funds_cny", year="2010")
    wait_map_drawn(bp.page)
    bp.settle()
    before_z = map_z(bp)
    heads_before = bp.page.inner_text("#headlines")
    responses = record_responses(bp)
    bp.page.click("#step-forward-button")
    year_in_url(bp, 2011)
    bp.settle()

    outputs = " ".join(r["output"] for r in responses)
    for part in ("map-graph.figure", "series-graph.figure", "headlines.children"):
        assert part in outputs, f"no {part} after a step: {outputs}"
    for r in responses:
        assert b"geojson" not in r["body"], f"boundaries resent by {r['output']}"
        assert r["wire"] <= STEP_WIRE_MAX, f"{r['output']}: {r['wire']} bytes"
    assert sum(r["wire"] for r in responses) <= STEP_TOTAL_MAX
    (map_response,) = [r for r in responses if "map-graph.figure" in r["output"]]
    (series_response,) = [r for r in responses if "series-graph.figure" in r["output"]]
    assert b"__dash_patch_update" in map_response["body"]  # values into the drawn figure
    assert b"__dash_patch_update" in series_response["body"]  # the cursor moves
    assert len(series_response["body"]) < 1_500

    # the map, the headline numbers, the series' cursor and the year all show 2011
    assert map_z(bp) != before_z
    assert bp.page.inner_text("#headlines") != heads_before
    assert "(2011)" in bp.page.inner_text("#map-title")
    assert bp.page.inner_text("#year-badge") == "2011"
    series = bp.figure("series-graph")["layout"]
    cursor = next(s for s in series["shapes"] if s.get("name") == "year-cursor")
    assert cursor["x0"] == 2011 and cursor["visible"] is True
    assert "2011" in bp.page.inner_text("#map-note")  # what a single year counts, said
    bp.log.assert_clean()


# Every address the page takes, in order: the first, then each pushState / replaceState.
ADDRESS_LOG_JS = """(() => {
  window.__addresses = [['load', location.search]];
  for (const kind of ['pushState', 'replaceState']) {
    const original = history[kind].bind(history);
    history[kind] = (state, title, url) => {
      const out = original(state, title, url);
      window.__addresses.push([kind, location.search]);
      return out;
    };
  }
})()"""


def test_play_from_the_url_runs_to_the_last_year_and_stops(atlas_page, last_year):
    bp = atlas_page
    bp.page.add_init_script(ADDRESS_LOG_JS)
    responses = record_responses(bp)
    start = last_year - 2
    bp.open("/", lang="en", metric="funds_cny", year=str(start), play="1")
    wait_map_drawn(bp.page)
    js = "y => location.search.endsWith('year=' + y)"  # stopped: no play=1 after it
    bp.page.wait_for_function(js, arg=str(last_year), timeout=40_000)
    bp.settle()
    addresses = bp.page.evaluate("window.__addresses")
    # each year in turn while playing, a step replacing the address; then stopped, pushed
    assert addresses[0][1].endswith(f"year={start}&play=1"), addresses
    steps = [a for a in addresses if a[0] == "replaceState"]
    for year in range(start + 1, last_year + 1):
        assert any(a[1].endswith(f"year={year}&play=1") for a in steps), addresses
    assert addresses[-1] == ["pushState", f"?lang=en&metric=funds_cny&year={last_year}"]
    assert [a[0] for a in addresses].count("pushState") == 1, addresses
    assert bp.page.inner_text("#play-button").strip().endswith("Play")
    # the first view came with the page (its map's callback had nothing to send, #7);
    # every step sent values only
    maps = [r for r in responses if "map-graph.figure" in r["output"]]
    assert maps[0]["status"] == 204 and len(maps) >= 3
    for r in maps[1:]:
        assert b"geojson" not in r["body"] and b"__dash_patch_update" in r["body"]
        assert r["wire"] <= STEP_WIRE_MAX
    bp.log.assert_clean()


def test_cumulative_mode_is_in_the_url_and_on_the_map(atlas_page):
    bp = atlas_page
    bp.open("/", lang="en", metric="funds_cny", year="2015")
    wait_map_drawn(bp.page)
    bp.settle()
    bp.page.locator("#year-mode label:has(input[value='cumulative'])").click()
    bp.page.wait_for_function("() => location.search.includes('mode=cumulative')")
    bp.settle()
    assert "cumulative to 2015" in bp.page.inner_text("#map-title")
    assert "Cumulative to 2015" in bp.page.inner_text("#map-note")
    query = bp.query()
    assert query["year"] == "2015" and "from" not in query and "to" not in query
    # back to a range of years: the single year leaves the URL
    bp.page.locator("#year-mode label:has(input[value='range'])").click()
    bp.page.wait_for_function("() => !new URLSearchParams(location.search).has('year')")
    assert bp.page.locator("#year-range").is_visible()
    bp.log.assert_clean()


def test_the_keyboard_plays_pauses_and_steps_but_not_in_a_text_box(atlas_page, last_year):
    bp = atlas_page
    bp.open("/", lang="en", metric="funds_cny")
    wait_map_drawn(bp.page)
    bp.settle()
    # in a text box the keys are the box's: no step, no play (a table's column filter)
    box = bp.page.locator("#table-pairings .ag-floating-filter input[type=text]").first
    box.focus()
    assert bp.page.evaluate("document.activeElement.tagName") == "INPUT"
    for key in ("ArrowRight", "Space", "ArrowLeft"):
        bp.page.keyboard.press(key)
    bp.page.wait_for_timeout(800)
    assert "year" not in bp.query() and "play" not in bp.query()
    box.fill("")

    bp.page.locator("h1.title").click()  # focus back on the page
    bp.page.keyboard.press("ArrowLeft")  # from a range: the last year
    year = last_year
    year_in_url(bp, year)
    bp.settle()
    bp.page.keyboard.press("ArrowLeft")
    year_in_url(bp, year - 1)
    bp.settle()
    bp.page.keyboard.press("ArrowRight")
    year_in_url(bp, year)
    bp.settle()
    bp.page.keyboard.press("ArrowLeft")
    bp.page.keyboard.press("ArrowLeft")
    year_in_url(bp, year - 2)
    bp.settle()
    bp.page.keyboard.press("Space")  # play
    bp.page.wait_for_function("() => location.search.includes('play=1')")
    assert "Pause" in bp.page.inner_text("#play-button")
    bp.page.keyboard.press("Space")  # pause
    bp.page.wait_for_function("() => !location.search.includes('play=1')")
    assert "Play" in bp.page.inner_text("#play-button")
    bp.log.assert_clean()
