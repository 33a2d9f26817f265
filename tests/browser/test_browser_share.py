"""Sharing a view (issue #9): an embed in an iframe, the Share menu's QR code, the offline
HTML file opened from disk with every request blocked.

- The embed: a page on the atlas's own origin holds an ``<iframe>`` of 600x400 or
  1200x700 with ``/embed?chart=...``. Inside the frame nothing scrolls (its scroll size
  is its viewport), the chart is drawn and takes most of the frame, and the source line,
  the data date and "Open in the atlas" lie inside the frame, under the chart.
- The QR code: the Share menu's image, as the browser draws it, decodes (zxing-cpp) to
  the link in the menu, which opens the same view.
- The offline file: opened from ``file://`` in a context where every request that is not
  a file is aborted and recorded: no request, no console error, the map has its shapes,
  and the year slider changes the map and its title.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlsplit

import pytest
from browser_harness import PLACES_DRAWN_JS, SCREENSHOT_DIR, new_browser_page, wait_map_drawn

pytestmark = pytest.mark.browser

HOST_PATH = "/__embed-host.html"  # served by the test itself (context.route), same origin

FRAME_JS = (
    """() => {
  const de = document.documentElement, box = e => e.getBoundingClientRect();
  const get = s => document.querySelector(s);
  const r = s => { const e = get(s); if (!e) return null; const b = box(e);
                   return {top: b.top, bottom: b.bottom, left: b.left, right: b.right,
                           height: b.height, width: b.width, text: e.textContent}; };
  return {
    w: window.innerWidth, h: window.innerHeight,
    scrollW: de.scrollWidth, scrollH: de.scrollHeight,
    bodyScrollH: document.body.scrollHeight, bodyScrollW: document.body.scrollWidth,
    drawn: get('#chart') && get('#chart').getAttribute('data-drawn'),
    chart: r('#chart'), plot: r('#chart .main-svg'), title: r('.embed-title'),
    sources: r('.embed-sources'), meta: r('.embed-meta'),
    open: get('.embed-open') && get('.embed-open').getAttribute('href'),
    shapes: ("""
    + PLACES_DRAWN_JS
    + """)('#chart'),  // places drawn
    headlines: document.querySelectorAll('.headline').length,
  };
}"""
)


def _host(bp, src: str, width: int, height: int):
    """A page on the atlas's origin holding one iframe of ``src`` at width x height."""
    origin = bp.server.origin
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>host</title></head>"
        "<body style='margin:0'>"
        f"<iframe id='f' src='{src}' width='{width}' height='{height}' style='border:0'>"
        "</iframe></body></html>"
    )
    bp.page.context.route(
        origin + HOST_PATH,
        lambda route: route.fulfill(status=200, content_type="text/html", body=body),
    )
    bp.page.goto(origin + HOST_PATH)
    frame = bp.page.frame_locator("#f")
    return frame


@pytest.mark.parametrize("size", [(600, 400), (1200, 700)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "chart,query",
    [
        ("map", "lang=en&metric=funds_cny"),
        ("map", "lang=zh&level=county&recipient=650000&metric=funds_cny"),
        ("series", "lang=en"),
        ("headlines", "lang=zh"),
    ],
    ids=["map-en", "map-county-zh", "series-en", "headlines-zh"],
)
def test_embed_fills_its_iframe_with_the_source_line_visible(
    browser, atlas_server, chart, query, size
):
    width, height = size
    context, bp = new_browser_page(browser, atlas_server, width=width + 40, height=height + 40)
    try:
        _host(bp, f"/embed?chart={chart}&{query}", width, height)
        frame = next(f for f in bp.page.frames if "/embed" in f.url)
        if chart in ("map", "series"):
            frame.wait_for_selector("#chart[data-drawn='1']", timeout=30_000)
            bp.page.wait_for_timeout(300)  # plotly's responsive resize settles
        m = frame.evaluate(FRAME_JS)
        assert (m["w"], m["h"]) == (width, height)
        # nothing scrolls: the content is the frame's size
        assert m["scrollH"] <= m["h"] and m["scrollW"] <= m["w"], m
        assert m["bodyScrollH"] <= m["h"] and m["bodyScrollW"] <= m["w"], m
        # the source line, the data date and the link: inside the frame, under the chart
        for part in ("sources", "meta"):
            box = m[part]
            assert box and box["height"] > 8, (part, box)
            assert box["top"] >= 0 and box["bottom"] <= m["h"] + 0.5, (part, box, m["h"])
            assert box["left"] >= 0 and box["right"] <= m["w"] + 0.5, (part, box)
            assert box["top"] >= m["chart"]["bottom"] - 0.5, (part, box, m["chart"])
        lang = dict(parse_qsl(query))["lang"]
        assert m["sources"]["text"].startswith("Sources" if lang == "en" else "来源")
        assert ("Data as of" if lang == "en" else "数据截至") in m["meta"]["text"]
        assert ("Open in the atlas" if lang == "en" else "在地图中打开") in m["meta"]["text"]
        opened = dict(parse_qsl(urlsplit(m["open"]).query))
        assert opened == dict(parse_qsl(query)), (m["open"], query)
        # the chart takes the room the words leave
        assert m["chart"]["height"] >= 0.5 * height, m["chart"]
        if chart in ("map", "series"):
            plot = m["plot"]
            assert plot["width"] >= m["w"] - 2 and plot["height"] >= m["chart"]["height"] - 2
        if chart == "map":
            assert m["shapes"] > 10, "the map drew no places"
        if chart == "headlines":
            assert m["headlines"] == 6
        bp.log.assert_clean()
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        name = f"embed-{chart}-{width}x{height}-{lang}{'-county' if 'county' in query else ''}"
        bp.page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))
    finally:
        context.close()


def _decode_qr(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


def test_share_menu_qr_code_decodes_to_the_link_and_the_iframe_code(atlas_page):
    bp = atlas_page
    bp.open("/", lang="en", metric="funds_cny", level="county", recipient="650000")
    wait_map_drawn(bp.page)
    bp.settle()
    bp.page.click("#share-menu > summary")
    qr = bp.page.locator("#share-qr")
    qr.wait_for(state="visible")
    bp.page.wait_for_function("() => (document.getElementById('share-qr').src || '').length > 50")
    link = bp.page.input_value("#share-link")
    # the link is the view: the page's own address
    assert urlsplit(link).netloc == urlsplit(bp.page.url).netloc
    assert dict(parse_qsl(urlsplit(link).query)) == dict(parse_qsl(urlsplit(bp.page.url).query))
    assert qr.evaluate("e => e.src.startsWith('data:image/svg+xml')")
    # the QR code as drawn on screen, read by a decoder
    assert _decode_qr(qr.screenshot()) == [link]
    code = bp.page.input_value("#share-iframe")
    assert 'width="600"' in code and 'height="400"' in code
    assert "/embed?chart=map&amp;" in code and "recipient=650000" in code
    bp.page.fill("#share-width", "800")
    bp.page.locator("#share-width").press("Tab")
    bp.page.wait_for_function(
        "() => document.getElementById('share-iframe').value.includes('width=\"800\"')"
    )
    # a new view: a new link and a QR code of it
    bp.page.evaluate("() => document.querySelector('#back-button').click()")
    bp.page.wait_for_function(
        "() => !document.getElementById('share-link').value.includes('recipient=')"
    )
    bp.settle()
    link = bp.page.input_value("#share-link")
    assert _decode_qr(qr.screenshot()) == [link]
    bp.log.assert_clean()


def test_offline_html_opens_from_disk_with_every_request_blocked(browser, atlas_app, tmp_path):
    from twinning import embed
    from twinning import query as agg
    from twinning.view import View

    data = atlas_app.atlas_state.data()
    filters = agg.Filters.from_query("lang=en&metric=funds_cny")
    path = tmp_path / "view.html"
    path.write_text(embed.offline_document(View(data, filters)), encoding="utf-8")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def block(route):
        blocked.append(route.request.url)
        route.abort("blockedbyclient")

    context.route(lambda url: not url.startswith(("file:", "data:", "blob:", "about:")), block)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector("#map[data-drawn='1']", timeout=30_000)
        page.wait_for_selector("#series[data-drawn='1']", timeout=30_000)
        shapes = page.evaluate(PLACES_DRAWN_JS, "#map")
        assert shapes >= 30, shapes  # the provinces (boundaries inside the file)
        assert page.locator("#map g.slider-container").count() == 1
        title = page.text_content("#map-title")
        # the year slider: click the rail three quarters along
        page.locator("#map .slider-rail-rect").scroll_into_view_if_needed()
        rail = page.locator("#map .slider-rail-rect").bounding_box()
        before = page.evaluate(
            "() => JSON.stringify(document.getElementById('map').data.map(t => t.z))"
        )
        page.mouse.click(rail["x"] + rail["width"] * 0.75, rail["y"] + rail["height"] / 2)
        page.wait_for_function(
            "t => document.getElementById('map-title').textContent !== t", arg=title
        )
        page.wait_for_timeout(300)
        after = page.evaluate(
            "() => JSON.stringify(document.getElementById('map').data.map(t => t.z))"
        )
        assert after != before, "the slider did not change the map"
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / "offline-html-en.png"))
        assert page.evaluate(PLACES_DRAWN_JS, "#map") == shapes
        # sources and filters written under the chart
        assert page.locator("ol.sources li").count() >= 1
        assert "Filters" in page.text_content(".about")
        # hover: over the largest province, plotly's hover label names it
        path = page.evaluate(
            """() => { const gd = document.getElementById('map');
                 const main = gd.layout.meta.main;
                 const shapes = gd._fullData.filter(
                     t => t.type === 'choropleth' && t.geo === 'geo');
                 const at = shapes.findIndex(t => t.index === main);
                 const group = gd.querySelectorAll('.geo .choroplethlayer > g.trace')[at];
                 let best = null, area = 0;
                 for (const p of group.querySelectorAll('.choroplethlocation')) {
                   const b = p.getBoundingClientRect();
                   if (b.width * b.height > area) { area = b.width * b.height; best = b; } }
                 return {x: best.x + best.width / 2, y: best.y + best.height / 2}; }"""
        )
        page.mouse.move(path["x"], path["y"])
        page.wait_for_selector("#map .hoverlayer .hovertext", timeout=5_000)
        # zoom: the map's own zoom button changes the projection's scale
        scale = page.evaluate(
            "() => document.getElementById('map')._fullLayout.geo.projection.scale"
        )
        page.locator("#map .modebar-btn[data-attr='zoom'][data-val='in']").first.click()
        page.wait_for_function(
            "s => document.getElementById('map')._fullLayout.geo.projection.scale > s", arg=scale
        )
        assert not blocked, blocked
        assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
        assert not errors, errors
    finally:
        context.close()


def test_presenter_stage_shows_the_views_qr_code_for_the_audience(browser, atlas_server):
    context, bp = new_browser_page(browser, atlas_server, width=1280, height=720)
    try:
        bp.open("/", lang="zh", metric="funds_cny", year="2015", present="1")
        wait_map_drawn(bp.page)
        bp.settle()
        assert not bp.page.locator("#stage-qr").is_visible()
        bp.page.click("#stage-qr-button")
        img = bp.page.locator("#stage-qr-img")
        img.wait_for(state="visible")
        box = img.bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 720
        link = bp.page.input_value("#share-link")
        # the audience gets the view, not the presenter's stage
        params = dict(parse_qsl(urlsplit(link).query))
        assert params == {"lang": "zh", "metric": "funds_cny", "year": "2015"}, params
        assert _decode_qr(img.screenshot()) == [link]
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        bp.page.screenshot(path=str(SCREENSHOT_DIR / "present-qr-1280x720-zh.png"))
        # Esc hides the code and stays on the stage; a second Esc leaves as before
        bp.page.keyboard.press("Escape")
        bp.page.wait_for_function("() => !document.body.classList.contains('stage-qr-shown')")
        assert not bp.page.locator("#stage-qr").is_visible()
        assert bp.query().get("present") == "1"
        bp.log.assert_clean()
    finally:
        context.close()
