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
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # a fallback: the editable install already provides it
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from browser_harness import (  # noqa: E402
    CHROMIUM_FLAGS,
    MAP_DRAWN_JS,
    LiveServer,
    chromium_path,
    make_stub_app,
    new_browser_page,
)

MAP_GRAPH = "map-graph"
UPDATE_URL = "/_dash-update-component"

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
    if path in ("/", ""):
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
    browser: Any, server: LiveServer, query: dict[str, str], drawn_js: str, capture: bool = False
) -> dict[str, Any]:
    """One cold page load (fresh context: empty cache). Returns timings and, with
    ``capture`` (which slows the page: bodies travel to Python), every response body from
    the server and the callback request bodies."""
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

    if capture:
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


def record_filter_change(browser: Any, server: LiveServer) -> list[dict[str, Any]]:
    """The callback requests the page sends when the user changes the year range."""
    from browser_harness import set_control

    context, bp = new_browser_page(browser, server)
    try:
        bp.open("/")
        bp.page.wait_for_function(MAP_DRAWN_JS, polling="raf", timeout=30_000)
        bp.settle()
        posts: list[dict[str, Any]] = []
        bp.page.on(
            "request",
            lambda r: (
                posts.append({"request": json.loads(r.post_data or "{}")})
                if UPDATE_URL in r.url
                else None
            ),
        )
        set_control(bp.page, "year-range", (2015, 2020))
        bp.settle()
    finally:
        context.close()
    # Dragging a slider commits more than once (drag, then a key press to land exactly):
    # keep the last request of each callback, in the order they were sent.
    last: dict[str, dict[str, Any]] = {}
    for rec in posts:
        key = ", ".join(output_ids(rec["request"]))
        last.pop(key, None)
        last[key] = rec
    return list(last.values())


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


def set_years(body: dict[str, Any], year_from: int, year_to: int) -> dict[str, Any]:
    """A copy of a recorded callback request whose year range is ``year_from..year_to``,
    wherever the app carries it: the slider's value, a filters dict in a dcc.Store, or
    the URL's query (from=...&to=...)."""
    new = copy.deepcopy(body)
    hits = 0

    def fix(item: dict[str, Any]) -> None:
        nonlocal hits
        value = item.get("value")
        if item.get("id") == "year-range" and item.get("property") == "value":
            item["value"] = [year_from, year_to]
            hits += 1
        elif isinstance(value, dict) and "year_from" in value:
            value["year_from"], value["year_to"] = year_from, year_to
            hits += 1
        elif isinstance(value, str) and re.search(r"[?&]from=", value):
            value = re.sub(r"([?&])from=\d+", rf"\g<1>from={year_from}", value)
            item["value"] = re.sub(r"([?&])to=\d+", rf"\g<1>to={year_to}", value)
            hits += 1

    for group in ("inputs", "state"):
        for item in new.get(group, []):
            for it in item if isinstance(item, list) else [item]:
                fix(it)
    new["_years_set"] = hits
    return new


def post(client: Any, body: dict[str, Any]) -> tuple[float, bytes]:
    payload = json.dumps({k: v for k, v in body.items() if not k.startswith("_")})
    t0 = time.perf_counter()
    resp = client.post(UPDATE_URL, data=payload, content_type="application/json")
    elapsed = time.perf_counter() - t0
    if resp.status_code not in (200, 204):
        raise SystemExit(f"callback answered HTTP {resp.status_code}: {resp.data[:300]!r}")
    return elapsed, resp.data


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
        "min": ordered[0],
        "max": ordered[-1],
    }


def year_pairs(n: int) -> list[tuple[int, int]]:
    """n distinct year ranges, so no request is answered from a cache of an earlier one."""
    pairs = [(a, b) for b in range(2024, 2004, -1) for a in range(1996, b - 1)]
    step = max(1, len(pairs) // max(n, 1))
    return pairs[::step][:n]


def run_callbacks(
    app: Any, first: list[dict[str, Any]], change: list[dict[str, Any]], reps: int
) -> dict[str, Any]:
    """(b) and (c): the filter change's callbacks replayed through Dash's endpoint, and the
    map callback rebuilt whole (its first-load request, which had no figure to patch,
    with the new years) as the naive baseline. Every request gets a year range no earlier
    request had, so neither side is answered from the app's caches."""
    client = app.server.test_client()
    map_first = [p for p in first if f"{MAP_GRAPH}.figure" in output_ids(p["request"])]
    if not map_first:
        raise SystemExit("no callback of the first page load outputs map-graph.figure")
    if not change:
        raise SystemExit("changing the year range fired no callback")
    naive_base = map_first[0]["request"]
    pairs = iter(year_pairs(reps * 2 + 2))

    chain_t: list[float] = []
    chain_b: list[int] = []
    per_cb: dict[str, list[tuple[float, int]]] = {}
    sides: dict[str, dict[str, list[float]]] = {
        side: {"t": [], "b": [], "gz": []} for side in ("patch", "naive")
    }
    notes: set[str] = set()
    for _ in range(reps):
        a, b = next(pairs)
        total_t, total_b = 0.0, 0
        for rec in change:
            body = set_years(rec["request"], a, b)
            name = ", ".join(output_ids(body))
            if not body["_years_set"]:
                notes.add(f"no year input in {name}: replayed unchanged")
            t, data = post(client, body)
            total_t += t
            total_b += len(data)
            per_cb.setdefault(name, []).append((t, len(data)))
            if f"{MAP_GRAPH}.figure" in output_ids(body):
                sides["patch"]["t"].append(t)
                sides["patch"]["b"].append(len(data))
                sides["patch"]["gz"].append(gz(data))
                if b"geojson" in data:
                    notes.add("the filter change's map response holds geojson: boundaries resent")
        chain_t.append(total_t)
        chain_b.append(total_b)
        a, b = next(pairs)
        t, data = post(client, set_years(naive_base, a, b))
        sides["naive"]["t"].append(t)
        sides["naive"]["b"].append(len(data))
        sides["naive"]["gz"].append(gz(data))
        if b"geojson" not in data:
            notes.add("the naive map response holds no geojson: not a full figure")

    print(f"\n(b)+(c) a year-range change, replayed {reps}x through /_dash-update-component")
    print(f"  {'callback (its outputs)':<52}{'calls':>6}{'median':>11}{'p90':>11}{'bytes':>12}")
    for name, samples in per_cb.items():
        st = summarize([t for t, _ in samples])
        nbytes = statistics.median([n for _, n in samples])
        calls = len(samples) // reps
        print(
            f"  {name[:51]:<52}{calls:>6}{ms(st['median']):>11}{ms(st['p90']):>11}{nbytes:>12,.0f}"
        )
    chain = summarize(chain_t)
    print(
        f"  {'the whole filter change (sum of its callbacks)':<52}{len(change):>6}"
        f"{ms(chain['median']):>11}{ms(chain['p90']):>11}{statistics.median(chain_b):>12,.0f}"
    )
    res: dict[str, Any] = {
        "filter_change_s": chain,
        "filter_change_bytes": statistics.median(chain_b),
        "callbacks": {
            name: {
                "median_s": statistics.median([t for t, _ in v]),
                "bytes": statistics.median([n for _, n in v]),
            }
            for name, v in per_cb.items()
        },
    }
    if sides["patch"]["t"]:
        pt, nt = summarize(sides["patch"]["t"]), summarize(sides["naive"]["t"])
        pb, nb = statistics.median(sides["patch"]["b"]), statistics.median(sides["naive"]["b"])
        pg, ng = statistics.median(sides["patch"]["gz"]), statistics.median(sides["naive"]["gz"])
        print("\n  the map callback: dash.Patch vs naive (whole figure rebuilt and resent)")
        print(f"  {'':<20}{'median':>11}{'p90':>11}{'bytes':>14}{'gzip':>12}")
        for label, st, nbytes, ngz in (
            ("dash.Patch", pt, pb, pg),
            ("naive full figure", nt, nb, ng),
        ):
            print(
                f"  {label:<20}{ms(st['median']):>11}{ms(st['p90']):>11}"
                f"{nbytes:>14,.0f}{ngz:>12,.0f}"
            )
        print(
            f"  ratio naive / Patch: time {nt['median'] / pt['median']:.1f}x, "
            f"bytes {nb / max(pb, 1):.1f}x, gzip bytes {ng / max(pg, 1):.1f}x"
        )
        res.update(
            {
                "map_patch_s": pt,
                "map_naive_s": nt,
                "map_patch_bytes": pb,
                "map_naive_bytes": nb,
                "map_patch_gzip": pg,
                "map_naive_gzip": ng,
            }
        )
    else:
        notes.add("the year change did not call the map callback")
    for note in sorted(notes):
        print(f"  NOTE: {note}")
    return res


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

        results.update(
            run_callbacks(app, results.pop("_posts"), results.pop("_change_posts"), args.reps)
        )

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        print(f"\nwrote {args.json}")
    return 0


def run_browser(browser: Any, server: LiveServer, stub: LiveServer, loads: int) -> dict[str, Any]:
    print("\n(a) initial payload of the first view (one cold load, bodies as served)")
    first = load_page(browser, server, {}, MAP_DRAWN_JS, capture=True)
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
    stub_first = load_page(browser, stub, {}, STUB_DRAWN_JS, capture=True)
    stub_table = payload_table(stub_first["bodies"])
    stub_raw = sum(r["raw"] for r in stub_table.values())
    stub_gz = sum(r["gzip"] for r in stub_table.values())
    print(f"  baseline, bare Dash page with one graph: {kb(stub_raw)} raw, {kb(stub_gz)} gzip")

    print(f"\n(d) time to first map draw, headless Chromium, {loads} cold loads")
    atlas = [load_page(browser, server, {}, MAP_DRAWN_JS) for _ in range(loads)]
    base = [load_page(browser, stub, {}, STUB_DRAWN_JS) for _ in range(loads)]
    atlas_ms = summarize([a["drawn_ms"] / 1000 for a in atlas])
    base_ms = summarize([b["drawn_ms"] / 1000 for b in base])
    print(f"  {'page':<34}{'median':>11}{'min':>11}{'max':>11}")
    print(
        f"  {'atlas, first view (map drawn)':<34}{ms(atlas_ms['median']):>11}"
        f"{ms(atlas_ms['min']):>11}{ms(atlas_ms['max']):>11}"
    )
    print(
        f"  {'baseline: bare Dash + one graph':<34}{ms(base_ms['median']):>11}"
        f"{ms(base_ms['min']):>11}{ms(base_ms['max']):>11}"
    )
    print(f"  ratio atlas / baseline: {atlas_ms['median'] / base_ms['median']:.1f}x")
    print(
        f"  target: first view usable within 2 s ({'met' if atlas_ms['median'] < 2 else 'NOT met'})"
    )
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
        "_change_posts": record_filter_change(browser, server),
    }


if __name__ == "__main__":
    sys.exit(main())
