"""Bytes on the wire (issue #7, "Lean traffic"): a county-level filter change and the
first county view, each beside the way the atlas sent them before, measured in one run.

What it does: starts the app in-process against a temporary SQLite store seeded with the
reference data, and posts the map callback to Dash's own endpoint
(``/_dash-update-component``, as the page does) for ``level=county&metric=funds_cny``,
then for changes of that view (years; metric). Each response is measured raw, gzip
(level 6) and brotli (quality 5, what the app's flask-compress setting uses), and the
wire bytes the app actually serves with ``Accept-Encoding: br`` are read from the response.

The baseline ("before") is built in the same run from the same response: the places'
hover strings put back the old way (one string per place, name + value + unit + "sum of
N figures", or "no data"), z with the no-data value instead of null, no second layer and
no template; for the first view, the boundaries inlined in the figure instead of a URL.
So the two sides differ only by what issue #7 changed.

With ``--browser`` it also opens the view in headless Chromium, changes the metric as a
user would and sums what every callback of that change took on the wire (Resource
Timing's transferSize: compressed body and headers), tables, series and headlines included.

Run: ``.venv/bin/python benchmarks/bench_traffic.py [--browser] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import brotli

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # a fallback: the editable install already provides it

UPDATE_URL = "/_dash-update-component"
TARGET_BYTES = 20 * 1024  # compressed, a filter change at county level (issue #7)


def sizes(body: bytes) -> dict[str, int]:
    return {
        "raw": len(body),
        "gzip": len(gzip.compress(body, 6)),
        "br": len(brotli.compress(body, quality=5)),
    }


def dumps(obj: Any) -> bytes:
    """Both sides serialised the same way (compact, UTF-8, as plotly's orjson path)."""
    import plotly.io.json as pj

    return pj.to_json_plotly(obj).encode("utf-8")


def map_request(filters: dict[str, Any], previous_key: Any) -> dict[str, Any]:
    from components.callbacks import map_request as request

    return request(filters, (previous_key, None, None))


def post(client: Any, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """(the decoded response, the bytes served with brotli)."""
    r = client.post(UPDATE_URL, json=body, headers={"Accept-Encoding": "br, gzip"})
    if r.status_code != 200:
        raise SystemExit(f"callback answered HTTP {r.status_code}: {r.data[:300]!r}")
    wire = len(r.get_data())
    raw = brotli.decompress(r.get_data()) if r.headers.get("Content-Encoding") == "br" else r.data
    return json.loads(raw), wire


def old_hover(data: Any, filters: Any, locations: tuple[str, ...]) -> list[str]:
    """The places' hover strings as map.py built them before issue #7."""
    from twinning import i18n
    from twinning import query as agg
    from twinning.figures.markup import esc

    lang = filters.lang
    pv = agg.place_values(data, filters)
    by_code = {
        r.adcode: (float(r.value), int(r.n_figures)) for r in pv.values.itertuples(index=False)
    }
    metric = i18n.metric_label(filters.metric, lang)
    out = []
    for code in locations:
        name = esc(data.place_label(code, lang))
        if code in by_code and by_code[code][0] > 0:
            v, n = by_code[code]
            out.append(
                f"<b>{name}</b><br>{metric}: {i18n.format_value(v, pv.unit, lang)}"
                f"<br>{i18n.t('hover_figures', lang, n=n)}"
                f"<br><i>{i18n.t('hover_click', lang)}</i>"
            )
        else:
            out.append(f"<b>{name}</b><br>{i18n.t('map_no_data', lang)}")
    return out


def as_before_patch(response: dict[str, Any], meta: dict[str, Any], hover: list[str]) -> Any:
    """The same patch as the app sent it before: hover strings, the no-data z, one layer."""
    old = copy.deepcopy(response)
    fig = old["response"]["map-graph"]["figure"]
    ops = []
    zmin = None
    for op in fig["operations"]:
        idx, prop = op["location"][1], op["location"][-1]
        if idx == meta["no_data"]:
            continue  # there was no second layer
        if idx == meta["main"] and prop in ("customdata", "hovertemplate", "hovertext"):
            continue
        if idx == meta["main"] and prop == "zmin":
            zmin = op["params"]["value"]
        ops.append(op)
    for op in ops:
        if op["location"][1] == meta["main"] and op["location"][-1] == "z":
            op["params"]["value"] = [zmin if z is None else z for z in op["params"]["value"]]
    ops.append(
        {"operation": "Assign", "location": ["data", meta["main"], "hovertext"],
         "params": {"value": hover}}
    )  # fmt: skip
    fig["operations"] = ops
    return old


def as_before_first(response: dict[str, Any], meta: dict[str, Any], hover: list[str]) -> Any:
    """The first figure as before: boundaries inline, hover strings, one layer."""
    from components.geo_assets import asset
    from twinning.figures.map import CONTEXT_LAYERS, load_overlays

    old = copy.deepcopy(response)
    fig = old["response"]["map-graph"]["figure"]
    shapes = load_overlays().shapes
    for trace in fig["data"]:
        if isinstance(trace.get("geojson"), str) and trace.get("name") in CONTEXT_LAYERS:
            trace["geojson"] = shapes[trace["name"]]
    main = fig["data"][meta["main"]]
    main["geojson"] = json.loads(asset("county").body)
    zmin = main.get("zmin")
    main["z"] = [zmin if z is None else z for z in main["z"]]
    main["hovertext"] = hover
    main["customdata"] = list(main["locations"])
    main["hovertemplate"] = "%{hovertext}<extra></extra>"
    main.pop("text", None)
    fig["data"] = [t for i, t in enumerate(fig["data"]) if i != meta["no_data"]]
    return old


CALLBACKS_JS = """() => performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/_dash-update-component'))
    .map(e => ({transfer: e.transferSize, decoded: e.decodedBodySize}))"""


def browser_change(app: Any) -> dict[str, Any]:
    """Every callback of a metric change at county level, as the browser received it."""
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from browser_harness import (
        CHROMIUM_FLAGS,
        LiveServer,
        chromium_path,
        new_browser_page,
        set_control,
        wait_map_drawn,
    )
    from playwright.sync_api import sync_playwright

    server = LiveServer(app.server)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            context, bp = new_browser_page(browser, server)
            bp.open("/", level="county", metric="funds_cny")
            wait_map_drawn(bp.page)
            bp.settle()
            before = len(bp.page.evaluate(CALLBACKS_JS))
            set_control(bp.page, "metric-select", "projects")
            bp.settle()
            wait_map_drawn(bp.page)
            entries = bp.page.evaluate(CALLBACKS_JS)[before:]
            context.close()
            browser.close()
    finally:
        server.stop()
    wire = sum(e["transfer"] for e in entries)
    decoded = sum(e["decoded"] for e in entries)
    print("\nIn Chromium: metric funds_cny -> projects at county level, every callback")
    print(f"  {len(entries)} responses: {decoded:,} bytes decoded, {wire:,} bytes on the wire")
    each = sorted(((e["transfer"], e["decoded"]) for e in entries), reverse=True)
    print("  each (wire / decoded): " + ", ".join(f"{w:,} / {d:,}" for w, d in each))
    met = "met" if wire <= TARGET_BYTES else "NOT met"
    print(f"  target 20 KB on the wire for a filter change at county level: {met}")
    return {"responses": len(entries), "decoded": decoded, "wire": wire}


def row(label: str, s: dict[str, int], wire: int | None = None) -> str:
    w = f"{wire:>10,}" if wire is not None else f"{'':>10}"
    return f"  {label:<46}{s['raw']:>11,}{s['gzip']:>10,}{s['br']:>10,}{w}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--browser", action="store_true", help="measure in headless Chromium")
    args = parser.parse_args(argv)

    from components.app import create_app
    from components.callbacks import base_map_figure
    from components.geo_assets import asset, overlay_asset, prepare_best
    from twinning import query as agg
    from twinning.store import open_store
    from twinning.view import View

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        app = create_app(store)
        data = app.atlas_state.data()
        client = app.server.test_client()
        prepare_best(("county",))  # what the app does in the background at start

        first_f = agg.Filters.from_query("level=county&metric=funds_cny")
        first_view = View(data, first_f)
        locations = first_view.locations()
        meta = base_map_figure(first_view)["layout"]["meta"]
        first, first_wire = post(client, map_request(first_f.as_dict(), None))
        key = first["response"]["map-key-store"]["data"]

        header = f"  {'':<46}{'raw':>11}{'gzip':>10}{'brotli':>10}{'served':>10}"
        print("A county-level filter change, the map callback's response (bytes)")
        print(f"  from: level=county&metric=funds_cny ({len(locations):,} counties)")
        print(header)
        changes = {
            "years 2010-2020": "level=county&metric=funds_cny&from=2010&to=2020",
            "metric -> projects": "level=county&metric=projects",
        }
        results["changes"] = {}
        for label, query in changes.items():
            f = agg.Filters.from_query(query)
            after, wire = post(client, map_request(f.as_dict(), key))
            if "operations" not in json.dumps(after["response"]["map-graph"]["figure"])[:200]:
                raise SystemExit(f"{label}: the map answered with a whole figure, not a patch")
            before = as_before_patch(after, meta, old_hover(data, f, locations))
            s_after, s_before = sizes(dumps(after)), sizes(dumps(before))
            print(f"  {label}")
            print(row("    before (hover strings, one layer)", s_before))
            print(row("    after (numbers + hovertemplate)", s_after, wire))
            ratio = s_before["br"] / max(s_after["br"], 1)
            met = "met" if s_after["br"] <= TARGET_BYTES else "NOT met"
            print(f"    brotli {ratio:.1f}x smaller; target 20 KB compressed: {met}")
            results["changes"][label] = {"before": s_before, "after": s_after, "served": wire}

        print("\nThe first county view: map figure (+ boundaries), bytes")
        print(header)
        old_first = sizes(dumps(as_before_first(first, meta, old_hover(data, first_f, locations))))
        new_first = sizes(dumps(first))
        geo_sizes = {"raw": 0, "gzip": 0, "br": 0}
        served_geo = 0
        for a in [asset("county"), overlay_asset()]:
            for k, v in sizes(a.body).items():
                geo_sizes[k] += v
            got = client.get(f"/geo/{a.name}", headers={"Accept-Encoding": "br, gzip"})
            served_geo += len(got.get_data())
        print(row("  before: figure with the GeoJSON inline", old_first))
        print(row("  after: figure (GeoJSON by URL)", new_first, first_wire))
        print(row("  after: 3 GeoJSON assets, first visit only", geo_sizes, served_geo))
        cold = {k: new_first[k] + geo_sizes[k] for k in new_first}
        print(row("  after, first visit (figure + assets)", cold, first_wire + served_geo))
        print(row("  after, any later visit or tab (cached asset)", new_first))
        results["first_view"] = {
            "before": old_first,
            "after_figure": new_first,
            "after_figure_served": first_wire,
            "geojson_asset": geo_sizes,
            "geojson_served_br": served_geo,
        }

        if args.browser:
            results["browser"] = browser_change(app)

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
