"""The layout's answers kept per page address and data version (components/layout_cache.py)."""

from __future__ import annotations

import dataclasses
import gzip
import json

import brotli
import pytest

from components import callbacks
from components.layout_cache import LayoutCache

COUNTY = "/?level=county&metric=funds_cny&lang=en"


@pytest.fixture
def app(reference_store):
    from components.app import create_app

    return create_app(reference_store)


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The addresses whose layout was worked out (not taken from the cache)."""
    calls: list[str | None] = []
    real = callbacks.serve_layout

    def spy(data):
        calls.append(callbacks.requested_location())
        return real(data)

    monkeypatch.setattr(callbacks, "serve_layout", spy)
    return calls


def _layout(client, where: str | None, coding: str = "br"):
    headers = {"Accept-Encoding": coding}
    if where is not None:
        headers[callbacks.LOCATION_HEADER] = where
    return client.get("/_dash-layout", headers=headers)


def _map(node):
    """The figure of the layout's map graph (None if it has none)."""
    if isinstance(node, list):
        return next((f for f in map(_map, node) if f is not None), None)
    if isinstance(node, dict) and "props" in node:
        if node["props"].get("id") == "map-graph":
            return node["props"]["figure"]
        return _map(node["props"].get("children"))
    return None


def _json(response) -> dict:
    body = response.get_data()
    coding = response.headers.get("Content-Encoding")
    if coding == "br":
        body = brotli.decompress(body)
    elif coding == "gzip":
        body = gzip.decompress(body)
    return json.loads(body)


def test_the_same_address_is_answered_once_with_the_same_bytes_and_headers(app, made):
    client = app.server.test_client()
    first = _layout(client, COUNTY)
    second = _layout(client, COUNTY)
    assert made == [COUNTY]  # worked out once
    assert first.status_code == second.status_code == 200
    assert second.get_data() == first.get_data()
    assert second.headers["Content-Encoding"] == first.headers["Content-Encoding"] == "br"
    for name in ("Content-Type", "Vary", "Content-Security-Policy", "X-Content-Type-Options"):
        assert second.headers[name] == first.headers[name], name
    assert second.headers["Server-Timing"].startswith("app;dur=")
    assert int(second.headers["Content-Length"]) == len(second.get_data())
    # the kept answer is the page of that address: its first map is the county view
    assert _json(second) == _json(first)
    places = next(t for t in _map(_json(second))["data"] if t.get("name") == "places")
    assert len(places["locations"]) > 2000  # counties, not the 31 provinces


def test_another_address_encoding_or_data_version_is_worked_out_again(app, made, monkeypatch):
    client = app.server.test_client()
    county = _json(_layout(client, COUNTY))
    province = _json(_layout(client, "/?lang=en"))
    assert county != province
    assert made == [COUNTY, "/?lang=en"]
    plain = _layout(client, COUNTY, coding="gzip")
    assert plain.headers["Content-Encoding"] == "gzip" and _json(plain) == county
    assert made[-1] == COUNTY and len(made) == 3
    # a layout request without the address (an older page): the shell, kept apart too
    shell = _json(_layout(client, None))
    assert shell != county and made[-1] is None
    # a new data version (an import, an undo) is another key
    state = app.atlas_state
    real = state.data()
    monkeypatch.setattr(state, "data", lambda: dataclasses.replace(real, version="after"))
    assert _layout(client, COUNTY).status_code == 200
    assert made[-1] == COUNTY and len(made) == 5
    _layout(client, COUNTY)
    assert len(made) == 5


def test_a_failed_or_cookie_setting_answer_is_not_kept(app, made, monkeypatch):
    client = app.server.test_client()

    def broken(data):
        made.append("broken")
        raise RuntimeError("the store went away")

    monkeypatch.setattr(callbacks, "serve_layout", broken)
    assert _layout(client, COUNTY).status_code == 500
    assert _layout(client, COUNTY).status_code == 500
    assert made == ["broken", "broken"]
    assert len(app.layout_cache) == 0


def test_the_cache_is_bounded_by_entries_and_bytes():
    cache = LayoutCache(max_entries=3, max_bytes=100)
    for i in range(5):
        cache.put(("v", str(i), "br"), b"x" * 10, [("Content-Type", "application/json")])
    assert len(cache) == 3
    assert cache.get(("v", "0", "br")) is None and cache.get(("v", "4", "br")) is not None
    cache.get(("v", "2", "br"))  # used: kept over the older ones
    cache.put(("v", "5", "br"), b"y" * 60, [])
    assert cache.get(("v", "2", "br")) is not None and cache.get(("v", "3", "br")) is None
    assert sum(len(cache.get(k)[0]) for k in list(cache._items)) <= 100
    cache.put(("v", "big", "br"), b"z" * 101, [])  # larger than the whole: not kept
    assert cache.get(("v", "big", "br")) is None


@pytest.mark.parametrize("min_rows", ["0", "1000"])
def test_another_worker_finds_the_answer_in_the_shared_cache(
    store, made, monkeypatch, tmp_path, min_rows
):
    # two apps on one store with the shared cache on (the test run turns it off): two
    # workers of one server; a store of few rows (TWINNING_CACHE_MIN_ROWS: the views'
    # answers stay in each worker) shares its layout answers all the same
    from components.app import create_app

    monkeypatch.setenv("TWINNING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TWINNING_CACHE_MIN_ROWS", min_rows)
    first, second = create_app(store), create_app(store)
    assert first.atlas_state.data().shared is not None
    made.clear()  # Dash checks each app's layout as it sets up: no request, no address
    one = _layout(first.server.test_client(), COUNTY)
    two = _layout(second.server.test_client(), COUNTY)
    assert made == [COUNTY]  # worked out by the first worker only
    assert two.get_data() == one.get_data()
    assert two.headers["Content-Encoding"] == "br" and two.headers["Vary"] == one.headers["Vary"]
    assert len(second.layout_cache) == 1  # and kept by the second from then on
