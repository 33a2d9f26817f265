"""Presenter mode fits the screen (issue #9): the view on a fixed 16:9 stage scaled to the
window, at a laptop's, a projector's and a wall screen's size, and at 4:3.

At each size: the document does not scroll (its scroll size is the viewport's), the stage's
box lies inside the window, the title, the six headline numbers, the map, its legend and
the source line are on the stage, no text box overflows, and every text of the map's
legends, colour bar and annotations lies inside the figure (a legend that scrolls or runs
off the figure is what "clipped" looked like before). Each case saves a screenshot to
var/screenshots/ (present-<w>x<h>-<view>.png) for people to look at.
"""

from __future__ import annotations

import pytest
from browser_harness import SCREENSHOT_DIR, new_browser_page, wait_map_drawn

pytestmark = pytest.mark.browser

SIZES = [(1280, 720), (1440, 900), (1920, 1080), (3840, 2160), (1024, 768)]
VIEWS = {
    # the default view: donors' colours (a long legend) and the programmes, in English
    "pairings-en": {"lang": "en"},
    # one year of a metric, in Chinese: the colour bar and the period note
    "funds-2015-zh": {"lang": "zh", "metric": "funds_cny", "year": "2015"},
}

FIT_JS = """() => {
  const de = document.documentElement;
  const stage = document.querySelector('.atlas.present');
  if (!stage) return null;
  const box = e => e.getBoundingClientRect();
  const shown = e => {
    const r = box(e), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const inside = (r, o, tol = 1) => r.left >= o.left - tol && r.top >= o.top - tol
      && r.right <= o.right + tol && r.bottom <= o.bottom + tol;
  const name = e => (e.id ? '#' + e.id : '') + '.' + String(e.getAttribute('class') || '')
      .trim().replace(/\\s+/g, '.') + ' "' + (e.textContent || '').trim().slice(0, 40) + '"';
  const sb = box(stage);
  const problems = [];
  const must = {
    title: '.atlas.present .brand .title',
    headline: '#headlines .headline',
    map: '#map-graph .main-svg',
    legend: '#map-graph g.infolayer > g[class^=legend], #map-graph g.colorbar',
    note: '#map-note',
    source: '#source-line',
  };
  const counts = {};
  for (const [what, selector] of Object.entries(must)) {
    const els = [...document.querySelectorAll(selector)].filter(shown);
    counts[what] = els.length;
    for (const e of els)
      if (!inside(box(e), sb)) problems.push(what + ' off the stage: ' + name(e));
  }
  // no text box overflows (the stage hides overflow: overflowing would be cut off)
  const boxes = '.header, .brand .title, .brand .subtitle, .body, .main, .card-head, .card-title,'
      + ' .year-badge, .play-stage, .headline, .headline-label, .headline-value, .headline-note,'
      + ' .note, .source-line, .footer';
  for (const e of stage.querySelectorAll(boxes)) {
    if (!shown(e)) continue;
    if (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
      problems.push('overflows its box: ' + name(e) + ' ' + e.scrollWidth + 'x' + e.scrollHeight
                    + ' in ' + e.clientWidth + 'x' + e.clientHeight);
    if (!inside(box(e), sb)) problems.push('off the stage: ' + name(e));
  }
  // the map's words: legends that do not scroll, texts inside their legend and the figure
  const svg = document.querySelector('#map-graph .main-svg');
  const figure = box(svg);
  for (const t of document.querySelectorAll('#map-graph .infolayer text')) {
    if (t.textContent.trim() && shown(t) && !inside(box(t), figure))
      problems.push('text runs off the map: "' + t.textContent + '"');
  }
  const legends = '#map-graph g.infolayer > g[class^=legend]';
  for (const legend of document.querySelectorAll(legends)) {
    const bar = legend.querySelector('rect.scrollbar');
    if (bar && box(bar).height > 0)
      problems.push('a legend scrolls: ' + legend.getAttribute('class'));
    const bg = box(legend.querySelector('rect.bg'));
    for (const t of legend.querySelectorAll('text'))
      if (t.textContent.trim() && !inside(box(t), bg))
        problems.push('legend text cut: "' + t.textContent + '"');
  }
  const value = document.querySelector('#headlines .headline-value');
  return {
    vw: window.innerWidth, vh: window.innerHeight,
    sw: de.scrollWidth, sh: de.scrollHeight,
    bw: document.body.scrollWidth, bh: document.body.scrollHeight,
    stage: sb.toJSON(), counts, problems,
    filtersShown: [...document.querySelectorAll('.filters')].some(shown),
    valuePx: value ? box(value).height : 0,
    legendTexts: [...document.querySelectorAll(legends + ' text.legendtext')]
        .map(t => t.textContent),
  };
}"""


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_presenter_stage_fits_the_window(browser, atlas_server, width, height, view):
    context, bp = new_browser_page(browser, atlas_server, width=width, height=height)
    try:
        bp.open("/", present="1", **VIEWS[view])
        wait_map_drawn(bp.page)
        bp.settle()
        bp.page.wait_for_function(
            "() => (document.querySelector('.atlas.present') || {style: {}}).style.transform"
        )
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        bp.page.screenshot(path=str(SCREENSHOT_DIR / f"present-{width}x{height}-{view}.png"))
        fit = bp.page.evaluate(FIT_JS)
        assert fit is not None, "no presenter stage on the page"
        # no scrolling: the document is exactly the window
        assert (fit["sw"], fit["sh"]) == (width, height), fit
        assert (fit["bw"], fit["bh"]) == (width, height), fit
        # the stage inside the window, letterboxed: one side touches, 16:9 kept
        stage = fit["stage"]
        assert stage["left"] >= -0.5 and stage["top"] >= -0.5, stage
        assert stage["right"] <= width + 0.5 and stage["bottom"] <= height + 0.5, stage
        assert max(stage["width"] / width, stage["height"] / height) > 0.99, stage
        assert stage["width"] / stage["height"] == pytest.approx(16 / 9, rel=0.01)
        # what the audience needs is there, nothing is cut, the filters are not
        assert fit["counts"]["title"] == 1 and fit["counts"]["headline"] == 6, fit["counts"]
        assert fit["counts"]["map"] >= 1 and fit["counts"]["legend"] >= 1, fit["counts"]
        assert fit["counts"]["source"] == 1 and fit["counts"]["note"] == 1, fit["counts"]
        assert fit["problems"] == [], "\n".join(fit["problems"])
        assert not fit["filtersShown"]
        assert fit["legendTexts"], "the programme legend is not drawn"
        # large type: a headline number stays legible at 4:3 and grows with the screen
        assert fit["valuePx"] >= 0.03 * stage["height"], fit["valuePx"]
        bp.log.assert_clean()
    finally:
        context.close()


def test_escape_leaves_presenter_mode(atlas_page):
    bp = atlas_page
    # a place selected too: its (hidden) detail panel also answers Esc (assets/a11y.js)
    bp.open("/", present="1", lang="en", metric="funds_cny", year="2012", place="650000")
    wait_map_drawn(bp.page)
    bp.settle()
    bp.page.keyboard.press("Escape")
    bp.page.wait_for_function("() => !new URLSearchParams(location.search).has('present')")
    bp.page.wait_for_selector(".atlas:not(.present) .filters", state="visible")
    query = bp.query()
    assert query["year"] == "2012" and query["metric"] == "funds_cny"  # the same view
    assert bp.page.evaluate("document.documentElement.scrollHeight") > 768  # a page again
    bp.log.assert_clean()
