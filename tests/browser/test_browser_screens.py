"""The atlas on a laptop and on a projector, in both languages and in presenter mode.

Each case saves a screenshot to var/screenshots/ (for people to look at; findings go to
the app's review notes) and checks what a screen must hold: the map is on the first
screen, nothing is wider than the window, the title is in the page's language.
"""

from __future__ import annotations

import pytest
from browser_harness import SCREENSHOT_DIR, new_browser_page, wait_map_drawn

from twinning import i18n

pytestmark = pytest.mark.browser

SCREENS = [
    # (width, height, lang, presenter mode)
    (1366, 768, "zh", False),
    (1366, 768, "en", False),
    (1920, 1080, "zh", False),
    (1920, 1080, "en", False),
    (1920, 1080, "zh", True),
    (1366, 768, "en", True),
]


@pytest.mark.parametrize(
    ("width", "height", "lang", "present"),
    SCREENS,
    ids=[f"{w}x{h}-{lang}{'-present' if p else ''}" for w, h, lang, p in SCREENS],
)
def test_first_screen_holds_the_map_and_fits_the_window(
    browser, atlas_server, width, height, lang, present
):
    context, bp = new_browser_page(browser, atlas_server, width=width, height=height)
    try:
        params = {"lang": lang, "present": "1" if present else None}
        bp.open("/", **params)
        drawn_ms = wait_map_drawn(bp.page)
        bp.settle()
        name = f"atlas-{width}x{height}-{lang}{'-present' if present else ''}"
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        bp.page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))
        bp.page.screenshot(path=str(SCREENSHOT_DIR / f"{name}-full.png"), full_page=True)
        print(f"\n{name}: map drawn at {drawn_ms:.0f} ms")

        overflow = bp.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page is {overflow}px wider than a {width}px window"
        box = bp.page.locator("#map-graph").bounding_box()
        assert box is not None, "map not laid out"
        visible_h = min(box["y"] + box["height"], height) - max(box["y"], 0)
        assert visible_h >= 0.5 * min(box["height"], height), (
            f"less than half of the map is on the first screen: {box} in {width}x{height}"
        )
        assert box["width"] >= 0.45 * width, f"the map is only {box['width']:.0f}px wide"
        assert i18n.t("title", lang) in bp.page.inner_text("body")
        bp.log.assert_clean()
    finally:
        context.close()
