"""Forged views in callback bodies cost the server nothing and never raise (issue #12).

The filter state travels in ``dcc.Store`` and control values, which anyone can post to
``/_dash-update-component``; a year range of a million years once took 12.5 s. Bodies that
do not fit their callback (no ``output``, ``inputs`` not a list, a ``pathname`` that is not
text...) get HTTP 400 from components/security.py's guard before Dash reads them.
"""

from __future__ import annotations

import json

import pytest
from dash import no_update

from components.callbacks import filters_from_controls
from twinning import query as agg


@pytest.mark.parametrize(
    "years",
    [[0, 1_000_000], ["2006", "x"], [None, None], "2006", [2010], [{"a": 1}, []]],
)
def test_forged_years_fall_back_to_the_full_range(years) -> None:
    f = filters_from_controls(
        "?lang=en", "county", "funds_cny", ["x"], None, None, None, years, None, None, None,
        (1978, 2026),
    )  # fmt: skip
    assert f.year_from is None or 1900 <= f.year_from <= 2100
    assert f.year_to is None or 1900 <= f.year_to <= 2100


def test_forged_controls_of_every_kind_make_a_valid_view(reference_store) -> None:
    data = agg.AtlasData.from_store(reference_store)
    f = filters_from_controls(
        "?lang=en", ["county"], {"m": 1}, "east_west_cooperation", 310000, ["u"], 650000,
        [1949, 3000], "hide", "on", ["653125"], (1978, 2026),
    )  # fmt: skip
    assert f.level == "province" and f.metric is None and f.programs == ()
    assert f.year_from == 1949 and f.year_to is None
    years = agg.pairings_in_force(data, f, current_year=2026)
    assert len(years) <= 2026 - 1949 + 1  # work bounded by the years a view may name
    assert agg.headlines(data, f)[0].key == "headline_funds"


# --- malformed callback requests over HTTP ------------------------------------------------
# The shapes benchmarks/load.py's hostile clients send, posted through Flask's test client to
# the whole app: every answer is a 4xx or an (empty) update, never a 500 or a traceback.

UPDATE = "/_dash-update-component"

HOSTILE_VALUES = [
    [0, 1_000_000], [-(10**9), 10**9], [1949, 3000], "2006", ["2006", "x"], [None, None],
    [{"a": 1}, []], [2010], {"m": 1}, ["county"], "no-such-level",
    ["east_west_cooperation"] * 2_000, [str(i) for i in range(2_000)], "x" * 20_000,
    "' OR 1=1 --", "<script>alert(1)</script>", 10**30, -1, 1e308, True, None, [], {},
]  # fmt: skip

# expensive (exports) or writing (imports, sign-in): their own tests send them bad values
NOT_FUZZED = ("imp-", "export-", "table-download")


@pytest.fixture(scope="module")
def app(reference_store):
    import flask

    from components.app import create_app

    app = create_app(reference_store)
    app.raised = []
    flask.got_request_exception.connect(
        lambda _sender, exception, **_kw: app.raised.append(repr(exception)), app.server, weak=False
    )
    return app


@pytest.fixture
def post(app):
    client = app.server.test_client()
    app.raised.clear()

    def post(body, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body)
        response = client.post(UPDATE, data=data, content_type="application/json")
        text = response.get_data(as_text=True)
        assert response.status_code < 500, (response.status_code, text[:300])
        assert "Traceback" not in text and 'File "' not in text
        return response

    yield post
    assert app.raised == []  # nothing raised inside the server, logged or not


def _item(declared: dict, value) -> dict | list:
    """A request entry for a declared dependency (a pattern id gets index 0)."""
    if not declared["id"].startswith("{"):
        return {"id": declared["id"], "property": declared["property"], "value": value}
    pattern = json.loads(declared["id"])
    concrete = {k: 0 if isinstance(v, list) else v for k, v in pattern.items()}
    one = {"id": concrete, "property": declared["property"], "value": value}
    return [one] if '["ALL"]' in declared["id"] or '["ALLSMALLER"]' in declared["id"] else one


def _body(app, output: str, values: dict | None = None, changed: list | None = None) -> dict:
    """A well-formed body for the callback whose output key starts with ``output``, with
    ``values`` ({"id.property": value}) for its inputs and state."""
    key = next(k for k in app.callback_map if k.startswith(output))
    cb = app.callback_map[key]
    spec = cb["output"]
    outputs = [o.to_dict() for o in spec] if isinstance(spec, (list, tuple)) else spec.to_dict()
    values = values or {}

    def entries(kind: str) -> list:
        return [_item(d, values.get(f"{d['id']}.{d['property']}")) for d in cb[kind]]

    first = cb["inputs"][0]
    if changed is None:  # the first input, as a browser says when it changed
        changed = [] if first["id"].startswith("{") else [f"{first['id']}.{first['property']}"]
    return {
        "output": key,
        "outputs": outputs,
        "inputs": entries("inputs"),
        "state": entries("state"),
        "changedPropIds": changed,
    }


def _page(app, pathname=None, search=None) -> dict:
    return _body(app, "..page.children", {"url.pathname": pathname, "url.search": search})


@pytest.mark.parametrize(
    "shape",
    [
        "no output", "output a list", "output a number", "no such output", "clientside output",
        "outputs a string", "no outputs", "outputs of strings", "outputs of another callback",
        "inputs a dict", "inputs a string", "inputs of strings", "an input without id",
        "an input of another component", "an input with a list id", "inputs doubled",
        "no inputs", "state a dict", "state of lists", "state null",
        "changedPropIds a string", "changedPropIds of lists", "changedPropIds of numbers",
        "changedPropIds naming another component", "changedPropIds of broken JSON ids",
    ],
)  # fmt: skip
def test_a_body_that_does_not_fit_its_callback_gets_400(app, post, shape) -> None:
    good = _page(app, "/", "?lang=en")
    inputs, state = good["inputs"], good["state"]
    body = {
        "no output": {k: v for k, v in good.items() if k != "output"},
        "output a list": {**good, "output": [good["output"]]},
        "output a number": {**good, "output": 5},
        "no such output": {**good, "output": "no-such.children"},
        "clientside output": {**good, "output": "nav-sink.data"},
        "outputs a string": {**good, "outputs": "page.children"},
        "no outputs": {k: v for k, v in good.items() if k != "outputs"},
        "outputs of strings": {**good, "outputs": ["page"]},
        "outputs of another callback": {**good, "outputs": {"id": "map", "property": "figure"}},
        "inputs a dict": {**good, "inputs": {"url.pathname": "/"}},
        "inputs a string": {**good, "inputs": "/"},
        "inputs of strings": {**good, "inputs": ["/"]},
        "an input without id": {**good, "inputs": [{"property": "pathname", "value": "/"}]},
        "an input of another component": {
            **good, "inputs": [{"id": "level-select", "property": "pathname", "value": "/"}]
        },
        "an input with a list id": {
            **good, "inputs": [{"id": ["url"], "property": "pathname", "value": "/"}]
        },
        "inputs doubled": {**good, "inputs": inputs * 2},
        "no inputs": {**good, "inputs": []},
        "state a dict": {**good, "state": state[0]},
        "state of lists": {**good, "state": [[1, 2]]},
        "state null": {**good, "state": None},
        "changedPropIds a string": {**good, "changedPropIds": "url.pathname"},
        "changedPropIds of lists": {**good, "changedPropIds": [["url.pathname"]]},
        "changedPropIds of numbers": {**good, "changedPropIds": [1]},
        "changedPropIds naming another component": {**good, "changedPropIds": ["map.figure"]},
        "changedPropIds of broken JSON ids": {**good, "changedPropIds": ['{"a.pathname']},
    }[shape]  # fmt: skip
    response = post(body)
    assert response.status_code == 400
    assert response.is_json and len(response.get_json()["error"]) < 80
    assert post(good).status_code == 200  # the same request well formed is served


@pytest.mark.parametrize(
    "raw", [b"null", b"[]", b"3", b'"x"', b'{"output": "x", "inputs": [', b"\xff\xfe"]
)
def test_a_body_that_is_no_json_object_gets_400(post, raw) -> None:
    assert post(None, raw=raw).status_code == 400


@pytest.mark.parametrize("value", [5, ["/import"], {"a": 1}, True, 1e308, 10**30])
def test_a_location_that_is_not_text_gets_400(app, post, value) -> None:
    for body in (_page(app, pathname=value), _page(app, "/", search=value)):
        response = post(body)
        assert response.status_code == 400 and "must be text" in response.get_json()["error"]
    tours = _body(app, "..tour-draft.data...tour-stops", {"url.search": value}, changed=[])
    assert post(tours).status_code == 400


def test_the_page_and_the_functions_behind_it_take_wrong_types(app, post) -> None:
    from components import a11y, ids
    from components.callbacks import click_outputs, filters_from_url
    from components.import_page import report_download

    default = filters_from_url(None)
    for value in (5, ["?level=county"], 1e308, True, ("a",)):
        assert agg.Filters.from_query(value) == agg.Filters.from_query(None)
        assert filters_from_url(value) == default
    assert agg.Filters.from_query({"level": "county"}).level == "county"  # a mapping is read
    f = agg.Filters()
    for click in ("x", [1], {"points": "x"}, {"points": [5]}, {"points": [{"location": [1]}]}):
        assert click_outputs(ids.MAP, click, f) == (no_update,) * 3
    assert a11y.open_place("650000", 5) == (no_update,) * 5
    assert report_download("x", "en")["content"].count("\n") == 1  # the header alone
    rows = [{"row": "x", "severity": ["e"]}, 5, {"row": "12", "message": "m"}]
    assert report_download(rows, "en")["content"].count("\n") == 3
    # served: the page, the import page, a donor's units (a list as the donor: no update)
    assert post(_page(app, "/import", "?lang=en")).status_code == 200
    assert post(_page(app, "/", ["?lang=en"])).status_code == 400
    for donor in (["a", "b"], {"m": 1}, 10**30):
        units = _body(app, "donor-unit-select.options", {"donor-select.value": donor})
        assert post(units).get_json()["response"] == {}  # an empty update


def test_every_callback_answers_hostile_values_without_a_500(app, post) -> None:
    """Each input and state of every server callback (not the exports' and imports'), in
    turn, gets three of the hostile values (a different three for each), the others None."""
    sent = 0
    for n, (key, cb) in enumerate(sorted(app.callback_map.items())):
        if "callback" not in cb or key.lstrip(".").startswith(NOT_FUZZED):
            continue
        declared = cb["inputs"] + cb["state"]
        for i, d in enumerate(declared):
            for k in range(3):
                value = HOSTILE_VALUES[(n * 7 + i * 3 + k) % len(HOSTILE_VALUES)]
                body = _body(app, key, {f"{d['id']}.{d['property']}": value})
                assert post(body).status_code in (200, 204, 400)
                sent += 1
    assert sent > 150


def _signature(deps: list[dict]) -> str:
    """benchmarks/scale_common.py's dependencies_signature (which recording fits the app),
    loaded from its file: benchmarks/ is a folder of scripts, not a package."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "scale_common.py"
    spec = importlib.util.spec_from_file_location("scale_common", path)
    assert spec and spec.loader
    module = sys.modules.setdefault("scale_common", importlib.util.module_from_spec(spec))
    if not hasattr(module, "dependencies_signature"):
        spec.loader.exec_module(module)  # its dataclasses look it up in sys.modules
    return module.dependencies_signature(deps)


def test_recorded_browser_requests_pass_and_their_hostile_copies_do_not_500(app, post) -> None:
    """The requests headless Chromium sent (benchmarks/recorded_callbacks.json) all pass the
    guard; each with one input or state value made hostile, as load.py's clients send them."""
    from pathlib import Path

    from components.security import callback_body_problem

    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    recordings = json.loads(
        (Path(__file__).parents[1] / "benchmarks" / "recorded_callbacks.json").read_text()
    )["recordings"]
    fits = [r for r in recordings if r["signature"] == _signature(deps)]
    if not fits:
        pytest.skip("no recording fits this app: python benchmarks/record_callbacks.py")
    bodies = [b for chain in fits[-1]["steps"].values() for b in chain]
    assert all(callback_body_problem(b, app.callback_map) is None for b in bodies)
    for n, body in enumerate(bodies):
        copy = json.loads(json.dumps(body))
        items = [x for k in ("inputs", "state") for x in copy.get(k) or [] if isinstance(x, dict)]
        for i, item in enumerate(items):
            kept = item.get("value")
            item["value"] = HOSTILE_VALUES[(n * 5 + i) % len(HOSTILE_VALUES)]
            assert post(copy).status_code in (200, 204, 400)
            item["value"] = kept
