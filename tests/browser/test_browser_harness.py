"""The harness itself, against a stub Dash app: if these fail, the atlas tests' "no
console errors" and "no foreign requests" assertions would prove nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_stub_page_loads_clean_and_only_from_the_server(stub_page):
    stub_page.open("/")
    stub_page.page.wait_for_selector("#map-graph .main-svg")
    assert stub_page.page.inner_text("#title") == "stub"
    assert any(u.endswith("/_dash-layout") for u in stub_page.log.requests)
    stub_page.log.assert_clean()


def test_console_errors_are_recorded(stub_page):
    stub_page.open("/")
    stub_page.page.click("#err-button")
    stub_page.page.wait_for_function("document.querySelector('#err-out').textContent === '1'")
    errors = stub_page.log.errors()
    assert any("stub-console-error" in e for e in errors), errors
    with pytest.raises(AssertionError, match="stub-console-error"):
        stub_page.log.assert_clean()


def test_foreign_requests_are_recorded_and_never_sent(stub_page):
    stub_page.open("/foreign")
    stub_page.page.wait_for_selector("#ok")
    stub_page.page.wait_for_load_state("load")
    foreign = stub_page.log.foreign_requests()
    assert "https://cdn.example.invalid/lib.js" in foreign
    assert "http://tiles.example.invalid/0/0/0.png" in foreign
    # Aborted by the harness: they fail inside the browser, never reach the network.
    assert all("example.invalid" in f for f in stub_page.log.failed), stub_page.log.failed
    with pytest.raises(AssertionError, match="beyond the test server"):
        stub_page.log.assert_clean()


def test_set_control_drives_dash4_dropdowns_sliders_and_radios(stub_page):
    import json

    from browser_harness import control_value, set_control

    stub_page.open("/")
    page = stub_page.page
    page.wait_for_selector("#controls-out:not(:empty)")
    stub_page.settle()
    assert json.loads(page.inner_text("#controls-out")) == [["ew"], "funds", [2000, 2020], "zh"]

    set_control(page, "multi-select", ["dk"])
    set_control(page, "single-select", "projects")
    set_control(page, "range", (2010, 2015))
    set_control(page, "radio", "en")
    stub_page.settle()
    assert json.loads(page.inner_text("#controls-out")) == [["dk"], "projects", [2010, 2015], "en"]
    assert control_value(page, "range") == [2010, 2015]
    assert control_value(page, "radio") == "en"
    assert control_value(page, "single-select") == "项目"
    stub_page.log.assert_clean()
