"""The atlas on a phone (issue #9), at 390x844 (an audience member who scanned the QR
code). Measured from the elements' boxes:

- nothing scrolls sideways; the filters are not on the first screen: they fold into a
  drawer, off the screen and out of the tab order until the header's button opens it;
- the headline numbers and the map start on the first screen, the map before the end of
  it, and the map is drawn there;
- no button, link or label of the header (or the map card's head) wraps: each one's text
  is one line (before, 地/图 and 演/示/模/式 stood one character a line);
- the drawer opens over the page inside the screen, a filter changed in it changes the
  map, and Close or Esc folds it away again, focus back on the button.
Screenshots go to var/screenshots/phone-390x844-<lang>[-filters].png.
"""

from __future__ import annotations

import pytest
from browser_harness import SCREENSHOT_DIR, new_browser_page, wait_map_drawn

from components import ids

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844

MEASURE_JS = """() => {
  const box = e => e.getBoundingClientRect();
  const q = s => document.querySelector(s);
  const r = e => { if (!e) return null; const b = box(e);
                   return {top: b.top + scrollY, bottom: b.bottom + scrollY, left: b.left,
                           right: b.right, width: b.width, height: b.height}; };
  // lines of text in an element: distinct tops of its text's line boxes
  const lines = e => { const tops = new Set();
    const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (!n.textContent.trim()) continue;
      const range = document.createRange(); range.selectNodeContents(n);
      for (const x of range.getClientRects()) if (x.width > 0) tops.add(Math.round(x.top));
    }
    return tops.size; };
  const shown = e => { const b = box(e), s = getComputedStyle(e);
    return b.width > 0 && b.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const words = [...document.querySelectorAll(
      '.header button, .header a, .header label, .card-head button, .card-head summary,'
      + ' .card-head .card-title, .filters-toggle')]
      .filter(shown).filter(e => e.textContent.trim())
      .map(e => ({text: e.textContent.trim().slice(0, 30), lines: lines(e)}));
  const filters = q('#filters-panel');
  const fs = getComputedStyle(filters);
  const folded = fs.display === 'none' || fs.visibility === 'hidden';
  return {
    scrollW: document.documentElement.scrollWidth, innerW: innerWidth, innerH: innerHeight,
    headlines: r(q('#headlines')), map: r(q('#map-graph .main-svg')),
    filters: r(filters), filtersVisible: !folded,
    toggle: r(q('#filters-toggle')), expanded: q('#filters-toggle').getAttribute('aria-expanded'),
    words: words, active: document.activeElement && document.activeElement.className,
  };
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_phone_puts_the_map_and_numbers_first_and_folds_the_filters(browser, atlas_server, lang):
    context, bp = new_browser_page(
        browser, atlas_server, width=WIDTH, height=HEIGHT, is_mobile=True, has_touch=True
    )
    try:
        bp.open("/", lang=lang)
        wait_map_drawn(bp.page)
        bp.settle()
        m = bp.page.evaluate(MEASURE_JS)
        assert m["innerW"] == WIDTH and m["scrollW"] <= WIDTH, m["scrollW"]
        # the first screen: the numbers, then the map (its top well inside the screen)
        assert m["headlines"]["top"] < HEIGHT / 2, m["headlines"]
        assert m["map"]["top"] < HEIGHT * 0.75, m["map"]
        assert m["map"]["width"] >= WIDTH - 40, m["map"]
        # the filters: folded away, not drawn
        assert not m["filtersVisible"] and m["filters"]["width"] == 0, m["filters"]
        assert m["toggle"]["top"] < 150 and m["expanded"] == "false"
        # the map's legends: every name inside the map (none runs off its right edge)
        bp.page.wait_for_timeout(300)
        off = bp.page.evaluate(
            """() => { const svg = document.querySelector('#map-graph .main-svg');
                 const right = svg.getBoundingClientRect().right;
                 return [...document.querySelectorAll('#map-graph .legendtext')]
                   .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0
                                && t.getBoundingClientRect().right > right + 1)
                   .map(t => t.textContent); }"""
        )
        assert not off, f"legend names run off the map: {off}"
        # nothing wraps character by character: every header word on one line
        wrapped = [w for w in m["words"] if w["lines"] != 1]
        assert not wrapped, wrapped
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        bp.page.screenshot(path=str(SCREENSHOT_DIR / f"phone-{WIDTH}x{HEIGHT}-{lang}.png"))

        # the drawer: opens inside the screen, its filters work, Close folds it away
        bp.page.click("#filters-toggle")
        bp.page.wait_for_timeout(100)
        m = bp.page.evaluate(MEASURE_JS)
        assert m["filtersVisible"] and m["expanded"] == "true"
        assert m["filters"]["left"] >= -1 and m["filters"]["right"] <= WIDTH + 1, m["filters"]
        assert "filters-close" in (m["active"] or ""), "focus did not move into the drawer"
        bp.page.screenshot(path=str(SCREENSHOT_DIR / f"phone-{WIDTH}x{HEIGHT}-{lang}-filters.png"))
        bp.page.locator(f"#{ids.LEVEL} input[value=county]").check()
        bp.settle()
        assert bp.query().get("level") == "county"
        bp.page.click("#filters-panel .filters-close")
        bp.page.wait_for_timeout(350)
        m = bp.page.evaluate(MEASURE_JS)
        assert not m["filtersVisible"] and m["expanded"] == "false"
        assert m["active"] and "filters-toggle" in m["active"], "focus was not given back"
        wait_map_drawn(bp.page)
        # Esc folds it too
        bp.page.click("#filters-toggle")
        bp.page.wait_for_timeout(350)
        bp.page.keyboard.press("Escape")
        bp.page.wait_for_timeout(350)
        assert not bp.page.evaluate(MEASURE_JS)["filtersVisible"]
        bp.log.assert_clean()
    finally:
        context.close()


def test_wide_screens_keep_the_filters_in_their_column(atlas_page):
    bp = atlas_page  # 1366x768
    bp.open("/", lang="zh")
    wait_map_drawn(bp.page)
    m = bp.page.evaluate(MEASURE_JS)
    assert m["filtersVisible"] and m["filters"]["left"] >= 0 and m["filters"]["width"] > 200
    assert m["toggle"]["width"] == 0  # the drawer's button is a phone's
