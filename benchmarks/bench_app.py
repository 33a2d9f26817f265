"""Benchmark of the atlas app (issue 3, "Fast"): payloads, callback time, first draw.

Prints, from one run on this machine, each against a baseline measured in the same run:
  (a) the initial payload the page loads (HTML, scripts, layout, first figures), raw
      and gzip, captured from a real page load in headless Chromium;
  (b) server time of a filter-change callback answered with ``dash.Patch`` vs the naive
      approach (the same callback rebuilding and resending the whole figure), and
  (c) the response bytes of both, with their ratios;
  (d) time to first map draw in headless Chromium (cold context each run), next to a
      bare Dash page with one graph as the baseline.

Callbacks go through Dash's own HTTP endpoint (``app.server.test_client()`` POSTing to
``/_dash-update-component``), with request bodies recorded from the real page, so the
timings include Dash's (de)serialisation as a user's request would. No pass/fail
thresholds: the numbers go into the README.

Run: ``.venv/bin/python benchmarks/bench_app.py [--reps 15] [--loads 5] [--json OUT]``
(needs the test extras and Debian's chromium: ``bash scripts/setup.sh --test``).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_harness import (  # noqa: E402
    CHROMIUM_FLAGS,
    LiveServer,
    chromium_path,
    make_stub_app,
    new_browser_page,
)

MAP_GRAPH = "map-graph"
UPDATE_URL = "/_dash-update-component"

# JS: true once the map's choropleth has drawn one path per location it was given.
MAP_DRAWN_JS = """() => {
  const gd = document.querySelector('#map-graph .js-plotly-plot');
  if (!gd || !gd.data) return false;
  const want = gd.data.filter(t => t.type === 'choropleth')
                      .reduce((n, t) => n + (t.locations ? t.locations.length : 0), 0);
  const got = gd.querySelectorAll('.choroplethlayer path').length;
  if (want > 0 && got >= want) { window.__mapDrawnAt = window.__mapDrawnAt || performance.now();
                                 return true; }
  return false;
}"""

# Baseline: the stub app's bar graph has drawn.
STUB_DRAWN_JS = """() => {
  const ok = document.querySelectorAll('#map-graph .barlayer path').length > 0;
  if (ok) { window.__mapDrawnAt = window.__mapDrawnAt || performance.now(); }
  return ok;
}"""


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def category(path: str) -> str:
    if path in ("/", "") or not path.startswith("/_") and "." not in path.rsplit("/", 1)[-1]:
        return "html"
    if path.startswith("/_dash-layout"):
        return "layout"
    if path.startswith("/_dash-dependencies"):
        return "dependencies"
    if path.startswith(UPDATE_URL):
        return "callbacks"
    if path.endswith(".json"):
        return "map data (topojson)"
    if path.endswith(".css"):
        return "css"
    if path.endswith(".js"):
        return "js"
    return "other"


# --------------------------------------------------------------------------- browser part


def load_page(
    browser: Any, server: LiveServer, query: dict[str, str], drawn_js: str
) -> dict[str, Any]:
    """One cold page load (fresh context: empty cache). Returns timings and every
    response body from the server with the callback request bodies."""
    context, bp = new_browser_page(browser, server)
    bodies: list[tuple[str, bytes]] = []
    posts: list[dict[str, Any]] = []

    def on_response(response: Any) -> None:
        if not response.url.startswith(server.origin):
            return
        path = response.url[len(server.origin) :].split("?", 1)[0]
        try:
            bodies.append((path, response.body()))
        except Exception:  # redirects and aborted responses have no body
            return
        if path.startswith(UPDATE_URL):
            req = response.request
            posts.append({"request": json.loads(req.post_data or "{}"), "bytes": bodies[-1][1]})

    bp.page.on("response", on_response)
    bp.open("/", **query)
    bp.page.wait_for_function(drawn_js, polling="raf", timeout=30_000)
    drawn = bp.page.evaluate("window.__mapDrawnAt")
    nav = bp.page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()"
    )
    bp.settle()
    errors = bp.log.errors()
    foreign = bp.log.foreign_requests()
    context.close()
    return {
        "drawn_ms": drawn,
        "dcl_ms": nav["dcl"],
        "load_ms": nav["load"],
        "bodies": bodies,
        "posts": posts,
        "errors": errors,
        "foreign": foreign,
    }


def payload_table(bodies: list[tuple[str, bytes]]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for path, body in bodies:
        row = table.setdefault(category(path), {"n": 0, "raw": 0, "gzip": 0})
        row["n"] += 1
        row["raw"] += len(body)
        row["gzip"] += gz(body)
    return table


# --------------------------------------------------------------------------- callbacks


def output_ids(body: dict[str, Any]) -> list[str]:
    outs = body.get("outputs")
    outs = outs if isinstance(outs, list) else [outs]
    return [f"{o['id']}.{o['property']}" for o in outs if isinstance(o, dict)]


def find_map_request(posts: list[dict[str, Any]]) -> dict[str, Any]:
    """The first-load callback request whose outputs include the map figure."""
    for post in posts:
        if f"{MAP_GRAPH}.figure" in output_ids(post["request"]):
            return post
    raise SystemExit(
        "no callback of the first page load outputs map-graph.figure; "
        "the benchmark needs the map to be drawn by a callback"
    )


def with_input(body: dict[str, Any], prop_id: str, value: Any, triggered: bool) -> dict[str, Any]:
    """A copy of a recorded callback request with one input changed."""
    new = copy.deepcopy(body)
    cid, prop = prop_id.rsplit(".", 1)
    found = False
    for group in ("inputs", "state"):
        for item in new.get(group, []):
            items = item if isinstance(item, list) else [item]
            for it in items:
                if it.get("id") == cid and it.get("property") == prop:
                    it["value"] = value
                    found = True
    if not found:
        raise SystemExit(f"the map callback has no input or state {prop_id}")
    new["changedPropIds"] = [prop_id] if triggered else []
    return new


def time_post(client: Any, body: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
    payload = json.dumps(body)
    t0 = time.perf_counter()
    resp = client.post(UPDATE_URL, data=payload, content_type="application/json")
    elapsed = time.perf_counter() - t0
    if resp.status_code != 200:
        raise SystemExit(f"callback answered HTTP {resp.status_code}: {resp.data[:300]!r}")
    return elapsed, len(resp.data), resp.get_json()


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))],
        "min": ordered[0],
        "max": ordered[-1],
    }


def bench_callbacks(
    client: Any,
    base: dict[str, Any],
    variations: list[tuple[str, Any]],
    naive: Callable[[dict[str, Any]], dict[str, Any]],
    reps: int,
) -> dict[str, Any]:
    """Interleave Patch and naive requests over the same filter changes."""
    patch_t: list[float] = []
    naive_t: list[float] = []
    patch_b: list[int] = []
    naive_b: list[int] = []
    for i in range(reps):
        prop_id, value = variations[i % len(variations)]
        patched = with_input(base, prop_id, value, triggered=True)
        t, n, _ = time_post(client, patched)
        patch_t.append(t)
        patch_b.append(n)
        t, n, _ = time_post(client, naive(patched))
        naive_t.append(t)
        naive_b.append(n)
    return {
        "patch_time": summarize(patch_t),
        "naive_time": summarize(naive_t),
        "patch_bytes": statistics.median(patch_b),
        "naive_bytes": statistics.median(naive_b),
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15, help="callback requests of each kind")
    parser.add_argument("--loads", type=int, default=5, help="cold page loads in Chromium")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from components.app import create_app
    from twinning.store import open_store

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        t1 = time.perf_counter()
        app = create_app(store)
        t2 = time.perf_counter()
        results["open_store_s"] = t1 - t0
        results["create_app_s"] = t2 - t1
        print(f"open_store (seed a new SQLite store): {ms(t1 - t0)}")
        print(f"create_app:                            {ms(t2 - t1)}")

        server = LiveServer(app.server)
        stub = LiveServer(make_stub_app().server)
        path = chromium_path()
        if path is None:
            raise SystemExit("Chromium not found: run `bash scripts/setup.sh --test` first")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
                results.update(run_browser(browser, server, stub, args.loads))
                browser.close()
        finally:
            server.stop()
            stub.stop()

        results.update(run_callbacks(app, results.pop("_posts"), args.reps))

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        print(f"\nwrote {args.json}")
    return 0


def run_browser(browser: Any, server: LiveServer, stub: LiveServer, loads: int) -> dict[str, Any]:
    print("\n(a) initial payload of the first view (one cold load, bodies as served)")
    first = load_page(browser, server, {}, MAP_DRAWN_JS)
    if first["errors"] or first["foreign"]:
        print("  WARNING: console errors / foreign requests:", first["errors"], first["foreign"])
    table = payload_table(first["bodies"])
    print(f"  {'part':<22}{'files':>6}{'raw':>14}{'gzip':>14}")
    for cat, row in sorted(table.items(), key=lambda kv: -kv[1]["raw"]):
        print(f"  {cat:<22}{row['n']:>6}{kb(row['raw']):>14}{kb(row['gzip']):>14}")
    total_raw = sum(r["raw"] for r in table.values())
    total_gz = sum(r["gzip"] for r in table.values())
    data_raw = sum(table.get(c, {}).get("raw", 0) for c in ("layout", "callbacks"))
    data_gz = sum(table.get(c, {}).get("gzip", 0) for c in ("layout", "callbacks"))
    print(f"  {'total':<22}{'':>6}{kb(total_raw):>14}{kb(total_gz):>14}")
    print(f"  layout + first figures (JSON): {kb(data_raw)} raw, {kb(data_gz)} gzip")
    stub_first = load_page(browser, stub, {}, STUB_DRAWN_JS)
    stub_table = payload_table(stub_first["bodies"])
    stub_raw = sum(r["raw"] for r in stub_table.values())
    stub_gz = sum(r["gzip"] for r in stub_table.values())
    print(f"  baseline, bare Dash page with one graph: {kb(stub_raw)} raw, {kb(stub_gz)} gzip")

    print(f"\n(d) time to first map draw, headless Chromium, {loads} cold loads")
    atlas = [load_page(browser, server, {}, MAP_DRAWN_JS) for _ in range(loads)]
    base = [load_page(browser, stub, {}, STUB_DRAWN_JS) for _ in range(loads)]
    atlas_ms = summarize([a["drawn_ms"] / 1000 for a in atlas])
    base_ms = summarize([b["drawn_ms"] / 1000 for b in base])
    print(f"  {'page':<34}{'median':>10}{'min':>10}{'max':>10}")
    print(
        f"  {'atlas, first view (map drawn)':<34}{ms(atlas_ms['median']):>10}"
        f"{ms(atlas_ms['min']):>10}{ms(atlas_ms['max']):>10}"
    )
    print(
        f"  {'baseline: bare Dash + one graph':<34}{ms(base_ms['median']):>10}"
        f"{ms(base_ms['min']):>10}{ms(base_ms['max']):>10}"
    )
    print(f"  ratio atlas / baseline: {atlas_ms['median'] / base_ms['median']:.1f}x")
    return {
        "payload": table,
        "payload_total_raw": total_raw,
        "payload_total_gzip": total_gz,
        "payload_data_raw": data_raw,
        "payload_data_gzip": data_gz,
        "baseline_payload_raw": stub_raw,
        "baseline_payload_gzip": stub_gz,
        "first_draw_s": atlas_ms,
        "baseline_first_draw_s": base_ms,
        "_posts": first["posts"],
    }


def run_callbacks(app: Any, posts: list[dict[str, Any]], reps: int) -> dict[str, Any]:
    raise NotImplementedError  # filled in once the app's callbacks exist


if __name__ == "__main__":
    sys.exit(main())
