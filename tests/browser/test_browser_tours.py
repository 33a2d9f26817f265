"""A presenter tour in headless Chromium (issue #9), from creation to the last slide: sign
in, collect three views in the atlas's Tour menu, title and note them in both languages,
reorder, save, open /tour/<id>, walk it with the keyboard (→, PageDown, PageUp, End), the
QR code of the view's link (Esc closes it), auto-advance, and no serious axe violation."""

from __future__ import annotations

import re

import pytest
from axe_harness import run_axe
from browser_harness import PLACES_DRAWN_JS, SCREENSHOT_DIR

from twinning import i18n

pytestmark = pytest.mark.browser

SHOTS = SCREENSHOT_DIR  # var/screenshots: the README's copies are taken from there


@pytest.fixture
def signed_in(atlas_page, monkeypatch, tmp_path):
    monkeypatch.setenv("TWINNING_ADMIN_USER", "presenter")
    monkeypatch.setenv("TWINNING_ADMIN_PASSWORD", "pw")
    monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "uploads"))
    page = atlas_page.page
    atlas_page.open("/import", lang="en")
    page.locator("#imp-upload").wait_for()
    atlas_page.settle()
    page.fill("#imp-user", "presenter")
    page.fill("#imp-password", "pw")
    page.click("#imp-signin-btn")
    signed = i18n.t("import.signed_in", "en", user="presenter")
    page.wait_for_function(
        "t => document.querySelector('#imp-signin-status').innerText.includes(t)", arg=signed
    )
    return atlas_page


def _add_view(bp, **params) -> None:
    page = bp.page
    bp.open("/", **params)
    page.locator("#tour-menu").wait_for()
    bp.settle()
    if not page.evaluate("document.querySelector('#tour-menu').open"):
        page.click("#tour-menu > summary")
    before = page.locator(".tour-stop-item").count()
    page.click("#tour-add")
    page.wait_for_function(
        "n => document.querySelectorAll('.tour-stop-item').length === n", arg=before + 1
    )
    bp.settle()


def _field(page, i: int, name: str):
    return page.locator(f'[id=\'{{"field":"{name}","index":{i},"type":"tour-field"}}\']')


def _counter(page) -> str:
    return page.locator("#tour-counter").inner_text()


def _wait_stop(page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('#tour-map').getAttribute('data-stop') === String(n)"
        " && document.querySelector('#tour-map').getAttribute('data-drawn') === '1'",
        arg=n,
        timeout=20_000,
    )


def test_a_tour_from_creation_to_the_last_slide(signed_in, atlas_app):
    bp = signed_in
    page = bp.page
    page.set_viewport_size({"width": 1280, "height": 720})
    # three views: the funds map, the same map for one year (same boundaries), Xinjiang
    _add_view(bp, lang="en", metric="funds_cny", **{"from": "2006", "to": "2010"})
    _add_view(bp, lang="en", metric="funds_cny", year="2015")
    _add_view(bp, lang="en", level="county", recipient="650000")
    titles = [_field(page, i, "title_en").input_value() for i in range(3)]
    assert "2006" in titles[0] and "2015" in titles[1]
    assert re.search(r"[\u4e00-\u9fff]", _field(page, 0, "title_zh").input_value())

    # the tour's titles, a stop's own words in both languages, an order
    page.fill("#tour-title-zh", "对口支援十五年")
    page.fill("#tour-title-en", "Fifteen years of counterpart support")
    _field(page, 2, "title_en").fill("Xinjiang, county by county")
    _field(page, 2, "title_zh").fill("新疆各县")
    _field(page, 2, "note_en").fill("Shanghai's counties in Kashgar.")
    _field(page, 2, "note_zh").fill("上海对口支援喀什四县。")
    bp.settle()
    page.click('[id=\'{"index":2,"op":"up","type":"tour-move"}\']')
    page.wait_for_function(
        "() => document.querySelectorAll('.tour-stop-item')[1].querySelectorAll('input')[1]"
        ".value === 'Xinjiang, county by county'"
    )
    assert _field(page, 1, "note_en").input_value() == "Shanghai's counties in Kashgar."
    bp.settle()
    page.click("#tour-save")
    page.wait_for_function(
        "() => /Tour \\d+ saved/.test(document.querySelector('#tour-status').innerText)"
    )
    href = page.locator("#tour-open").get_attribute("href")
    tour_id = int(re.search(r"/tour/(\d+)", href).group(1))
    from twinning.tours import get_tour

    tour = get_tour(atlas_app.atlas_state.store(), tour_id)
    assert tour.created_by == "presenter" and len(tour.stops) == 3
    assert tour.stops[1].note_zh == "上海对口支援喀什四县。"
    assert "lang" not in tour.stops[0].query

    # presenting: the page by link, in English
    bp.log.clear()
    page.goto(bp.server.url(f"/tour/{tour_id}", lang="en"))
    _wait_stop(page, 1)
    assert _counter(page) == "Stop 1 of 3"
    assert page.locator("h1").inner_text() == "Fifteen years of counterpart support"
    assert page.locator("#tour-prev").is_disabled()
    visible = page.locator(".tour-stop:not([hidden])")
    assert "Sources" in visible.locator(".sources").inner_text()
    assert visible.locator(".tour-qr-small img").get_attribute("src").startswith("data:image/svg")
    _assert_axe(page, "tour stop 1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "tour-1280x720-en.png"))

    page.keyboard.press("ArrowRight")  # a province map to Xinjiang's counties: a fade
    _wait_stop(page, 2)
    assert _counter(page) == "Stop 2 of 3"
    assert page.locator("#tour-stage").get_attribute("data-change") == "fade"
    assert (
        "Shanghai's counties in Kashgar." in page.locator(".tour-stop:not([hidden])").inner_text()
    )
    page.keyboard.press("PageDown")  # the clicker; back to the province map
    _wait_stop(page, 3)
    page.keyboard.press("PageUp")
    _wait_stop(page, 2)
    page.keyboard.press("End")
    _wait_stop(page, 3)
    assert _counter(page) == "Stop 3 of 3"
    assert page.locator("#tour-next").is_disabled()
    assert page.locator("#tour-progress").get_attribute("aria-valuenow") == "3"
    assert page.url.endswith("#3")

    # the QR code of the view's link, large; Esc closes it and gives the focus back
    page.click("#tour-qr-button")
    assert page.locator("#tour-qr").is_visible()
    link = page.locator("#tour-qr-link").inner_text()
    assert "year=2015" in link and "lang=en" in link
    _assert_axe(page, "tour QR code open")
    page.keyboard.press("Escape")
    assert not page.locator("#tour-qr").is_visible()
    assert page.evaluate("document.activeElement.id") == "tour-qr-button"

    # a recolour between two views on the same boundaries: the map stays
    page.keyboard.press("Home")
    _wait_stop(page, 1)
    page.click(".tour-dots li:nth-child(3) button")
    _wait_stop(page, 3)
    assert page.locator("#tour-stage").get_attribute("data-change") == "recolour"
    page.keyboard.press("Home")
    _wait_stop(page, 1)

    # auto-advance: every 5 s, stops at the end
    page.select_option("#tour-interval", "5")
    assert page.locator("#tour-play").get_attribute("aria-pressed") == "true"
    _wait_stop(page, 2)
    page.keyboard.press("Escape")  # Esc also pauses
    assert page.locator("#tour-play").get_attribute("aria-pressed") == "false"
    bp.log.assert_clean()

    # in Chinese, the same tour
    page.goto(bp.server.url(f"/tour/{tour_id}", lang="zh"))
    _wait_stop(page, 1)
    assert _counter(page) == "第 1 站，共 3 站"
    assert page.locator("h1").inner_text() == "对口支援十五年"
    _assert_axe(page, "tour zh")
    page.screenshot(path=str(SHOTS / "tour-1280x720-zh.png"))

    # Edit: the stored tour back in the atlas's Tour menu (after the draft was cleared)
    _add_view(bp, lang="en")
    page.click("#tour-clear")
    page.wait_for_selector(".tour-empty")
    bp.open("/", lang="en", tour=str(tour_id))
    page.locator("#tour-menu").wait_for()
    bp.settle()
    page.click("#tour-menu > summary")
    page.wait_for_function("() => document.querySelectorAll('.tour-stop-item').length === 3")
    assert page.input_value("#tour-title-en") == "Fifteen years of counterpart support"
    page.keyboard.press("Escape")  # the menu closes, the focus on its button
    assert not page.evaluate("document.querySelector('#tour-menu').open")


def _assert_axe(page, name: str) -> None:
    result = run_axe(page, name)
    blocking = result.blocking()
    assert not blocking, f"{name}: serious/critical axe violations\n" + result.describe(blocking)


def test_the_offline_tour_file_presents_from_disk_with_no_network(browser, atlas_app, tmp_path):
    from twinning.tour_page import offline_tour
    from twinning.tours import Stop, Tour

    tour = Tour(
        id=1,
        title_zh="离线",
        title_en="Offline",
        stops=(
            Stop("metric=funds_cny", "资金", "Funds", "", "A note"),
            Stop("level=county&recipient=650000", "新疆", "Xinjiang"),
        ),
    )
    path = tmp_path / "tour.html"
    path.write_text(offline_tour(atlas_app.atlas_state.data(), tour, "en"), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        asked, errors = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def block(route):
            asked.append(route.request.url)
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                route.abort()

        page.route("**/*", block)
        page.goto(path.as_uri())
        _wait_stop(page, 1)
        assert _counter(page) == "Stop 1 of 2" and "A note" in page.inner_text("#stop-1")
        page.keyboard.press("ArrowRight")
        _wait_stop(page, 2)
        assert page.evaluate(PLACES_DRAWN_JS, "#tour-map") > 50
        assert [u for u in asked if not u.startswith("file:")] == []
        assert errors == []
    finally:
        context.close()
