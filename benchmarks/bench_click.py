"""A click in the atlas, as a browser sees it (issue #7: "a new user who imports a
200,000-row register keeps an atlas that answers a click in well under a second").

For each store (``--store``, repeatable: ``reference`` is a fresh store of the reference
data made in /tmp; default ``reference`` and ``var/bench/store-1m.sqlite``, copied to /tmp
first), the app runs as in production, ``gunicorn -w 4`` on 127.0.0.1, and headless
Chromium (the launch flags of tests/browser/browser_harness.py: no host name resolves but
the loopback's; a request beyond the server is recorded as a problem) measures:

  (a) the first county view, cold browser: a new context each time (no cache) opens
      ``/?level=county&metric=funds_cny``; the time from navigation start until the map
      has drawn every county (as many county paths as the page's places traces hold
      values, checked against data/geo/county.parquet) and the headline numbers are
      shown. The page's requests go out as a browser sends them: not through Playwright's
      interception, which the browser tests use to block foreign requests and which held
      each request of a cold page (~20-70 ms of a first view, measured); each load is
      followed by one through it, reported apart (``--no-intercepted`` leaves it out).
      Median and max of ``--loads``, after one warm-up load that is not counted
      (the server's first answers fill its caches; at 1 M figures the first use also
      writes the summary snapshot, which is awaited before measuring) and once the
      server's background children for the new data version have finished (the default
      view's reconciled totals, ~30 s at 10 M figures; the figure rows' snapshot, ~105 s;
      ``--settle 0`` measures at once, while they run).
      A new context is a new browser window, and Chromium (156) gives each new window its
      omnibox's popup, a WebUI page in a renderer of its own (chrome://omnibox-popup...),
      which it loads as the window opens: ~230 ms of the first view on this 2-core machine
      went to it while the atlas loaded (a trace showed its scripts, lit.rollup.js and
      composebox_input.js, running beside the atlas's; `--disable-features=
      WebUIOmniboxPopup,WebUIOmniboxAimPopup`, or a second's wait, took the median of 8
      loads from 1,057 to 802-828 ms, 2026-12-06). A visitor's window is open before the
      atlas's address is typed, so each counted load starts once the browser's processes
      are quiet (BROWSER_QUIET: at most 20 ms of CPU in 250 ms, waited at most 5 s); the
      same load as measured until then (navigating as soon as the window is open) is
      reported apart (``--no-new-window`` leaves it out);
  (b) a click: in a loaded county view, ``--clicks`` filter changes through the real
      controls (metric, one end of the year range, one programme toggled, donor; values
      from a seeded ``random.Random``, each a view the server has not seen) and the time
      from the user's input event to the end of the last callback response it set off
      (the page is then quiet: no ``/_dash-update-component`` request in flight for
      150 ms, not counted), and until the map has its new values (the first animation
      frame after Plotly took the new figure, a new ``gd.data``; whether the places' z
      changed is recorded: many views of the reference data have no county value at
      all); p50/p95/max per kind and over all, and the bytes on the wire per click (the
      compressed response bodies: Resource Timing's encodedBodySize, = Content-Length).
      Each request's own time in the server (its Server-Timing ``app``) goes to the JSON;
      the table gives the median over the clicks of the slowest one's.

Prints a row per store with its figures (the reference data is the baseline of the same
run); ``--json OUT`` writes every load and click. No pass/fail (the targets: first view
<= 1 s at the reference data, <= 1.5 s at 10 M figures).

Run: ``.venv/bin/python benchmarks/bench_click.py [--json OUT]`` (alone on the machine)
     ``... benchmarks/bench_click.py --store var/bench/store-10m.sqlite --loads 3 --clicks 8``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

from bench_scale import SYNTHETIC_METRICS, copy_store, load_average, store_info, wait_snapshot
from browser_harness import (
    CHROMIUM_FLAGS,
    MAP_DRAWN_JS,
    PLACE_TRACES,
    chromium_path,
    drawn_locations,
    new_browser_page,
    set_control,
    wait_map_drawn,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from record_callbacks import _Origin, reference_store
from scale_common import ROOT, UPDATE_URL, Server, children, kb, ms, pct

QUERY = {"level": "county", "metric": "funds_cny"}
CONTROL = {"metric": "metric-select", "years": "year-range", "programme": "program-select",
           "donor": "donor-select"}  # fmt: skip
QUIET_S, NAN = 0.150, float("nan")
LOGS = Path(tempfile.gettempdir()) / "atlas-click-logs"

# In every page before its scripts: stamps (ms since navigation start) when the map has
# drawn (MAP_DRAWN_JS) and when the headlines show numbers; every input event's time; and,
# once armed by __arm(), when the map gets a new figure (Plotly.react: a new gd.data) and
# whether its places' z differ from before.
WATCH_JS = """(() => {
  const drawn = (__DRAWN__), names = __NAMES__;
  performance.setResourceTimingBufferSize(100000);
  window.__inputs = [];
  for (const t of ['pointerdown', 'mousedown', 'pointerup', 'mouseup', 'click', 'keydown',
                   'keyup', 'input', 'change'])
    addEventListener(t, () => window.__inputs.push(performance.now()), true);
  const gd = () => document.querySelector('#map-graph .js-plotly-plot') || {};
  const zsig = () => JSON.stringify((gd().data || [])
    .filter(t => names.includes(t.name) && (t.geo || 'geo') === 'geo').map(t => t.z));
  window.__arm = () => { window.__base = [gd().data, zsig()]; window.__mapAt = null; };
  const tick = () => {
    if (!window.__mapDrawnAt) drawn();
    const h = document.getElementById('headlines');
    if (!window.__headlinesAt && h && /\\d/.test(h.innerText))
      window.__headlinesAt = performance.now();
    if (window.__mapAt === null && gd().data !== window.__base[0]) {
      window.__mapAt = performance.now();
      window.__zChanged = zsig() !== window.__base[1];
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();"""
NAMES = json.dumps(list(PLACE_TRACES))  # the places traces (a JS array)
WATCH_JS = WATCH_JS.replace("__DRAWN__", MAP_DRAWN_JS).replace("__NAMES__", NAMES)

# How many places the page's main map should draw: values of its places traces.
EXPECTED_JS = """names => document.querySelector('#map-graph .js-plotly-plot').data
  .filter(t => names.includes(t.name) && (t.geo || 'geo') === 'geo')
  .reduce((n, t) => n + t.locations.filter((_, i) => typeof t.z[i] === 'number').length, 0)"""

CALLBACKS_JS = """() => performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/_dash-update-component'))
  .map(e => ({start: e.startTime, end: e.responseEnd, body: e.encodedBodySize,
               app: (e.serverTiming.find(t => t.name === 'app') || {}).duration}))"""

# What a page that did not finish shows: map drawn, headlines, callbacks answered, in flight.
STATE_JS = """() => { const cb = performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/_dash-update-component')).map(e => e.responseEnd);
  const gd = document.querySelector('#map-graph .js-plotly-plot') || {data: []};
  return `map drawn ${!!window.__mapDrawnAt}, headlines ${!!window.__headlinesAt}, ` +
    `${cb.length} callbacks answered (last ${Math.round(Math.max(0, ...cb))} ms), ` +
    `${gd.data.length} map traces`; }"""

CONTROLS_JS = """ids => { const s = window.store.getState(); const out = {};
  for (const id of ids) { let n = s.layout; for (const k of s.paths.strs[id]) n = n[k];
    out[id] = {value: n.props.value, min: n.props.min, max: n.props.max,
               options: (n.props.options || []).map(o => o.value)}; }
  return out; }"""


def log(msg: str) -> None:
    print(msg, flush=True)


def county_count() -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(ROOT / "data" / "geo" / "county.parquet").metadata.num_rows


def watch_callbacks(bp: Any) -> dict[str, Any]:
    """When a callback request last began or ended, and the ones that failed (the harness's
    page log counts them and those in flight)."""
    w: dict[str, Any] = {"last": time.perf_counter(), "bad": []}

    def touch(r: Any, bad: str | None = None) -> None:
        if UPDATE_URL in r.url:
            w["last"] = time.perf_counter()
            w["bad"] += [bad] if bad else []

    bp.page.on("request", touch)
    bp.page.on("requestfinished", touch)
    bp.page.on("requestfailed", lambda r: touch(r, f"callback failed: {r.failure}"))
    bp.page.on("response", lambda r: touch(r, r.status not in (200, 204) and f"HTTP {r.status}"))
    return w


def settle(server: Any, timeout: float, quiet: float = 10.0) -> float:
    """Seconds until no process below the server has run one of the atlas's background
    children (``twinning.query.warm``, ``twinning.query.summary``) for ``quiet`` seconds
    (a worker's thread writes the next file between two children), at most ``timeout``:
    a cold browser then meets the server as visitors do after its first minutes."""
    t0 = last_busy = time.perf_counter()
    while (now := time.perf_counter()) - t0 < timeout and now - last_busy < quiet:
        if any(m in cmd for cmd in _descendants(server.proc.pid) for m in BACKGROUND_CHILDREN):
            last_busy = now
        time.sleep(0.5)
    return last_busy - t0


def _descendants(pid: int) -> list[str]:
    """The command lines of the processes below ``pid``."""
    found, below = [], children(pid)
    while below:
        child = below.pop()
        with contextlib.suppress(OSError):
            found.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        below += children(child)
    return found


BACKGROUND_CHILDREN = ("twinning.query.warm", "twinning.query.summary")


def wait_quiet(bp: Any, w: dict[str, Any], sent_before: int, timeout: float) -> bool:
    """True once a callback request was sent and none has been in flight for QUIET_S."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        bp.page.wait_for_timeout(20)
        sent = sum(UPDATE_URL in u for u in bp.log.requests)
        quiet = time.perf_counter() - w["last"] >= QUIET_S
        if sent > sent_before and bp.log.callbacks_in_flight <= 0 and quiet:
            return True
    return False


def open_page(
    browser: Any, origin: _Origin, timeout: float, intercept: bool = False
) -> tuple[Any, Any]:
    """A new context (cold: no cache) with the watcher, on the county view; its requests
    pass through Playwright only with ``intercept`` (browser_harness.new_browser_page)."""
    context, bp = new_browser_page(browser, origin, intercept=intercept)
    bp.page.add_init_script(WATCH_JS)
    bp.page.set_default_timeout(timeout * 1000)
    return context, bp


# A browser is quiet when its processes (those below this one whose program has the
# browser's name: Debian's /usr/bin/chromium runs /usr/lib/chromium/chromium) have used at
# most ``ticks`` clock ticks of CPU in ``window_s`` seconds.
BROWSER_QUIET = {"window_s": 0.25, "ticks": 2, "max_s": 5.0}


def _browser_cpu_ticks(executable: str) -> int:
    """Clock ticks of CPU (user + system) used so far by the browser's processes (one
    pass over /proc: each process's parent and ticks)."""
    name = Path(executable).name
    parent: dict[int, int] = {}
    used: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            parent[pid], used[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    below = {os.getpid()}
    changed = True
    while changed:  # every process below this one
        grown = {pid for pid, ppid in parent.items() if ppid in below} - below
        below |= grown
        changed = bool(grown)
    ticks = 0
    for pid in below - {os.getpid()}:
        with contextlib.suppress(OSError, IndexError):
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
            if Path(program.decode(errors="replace")).name == name:
                ticks += used[pid]
    return ticks


def wait_browser_quiet(executable: str) -> float:
    """Seconds until the browser's processes were quiet (BROWSER_QUIET), at most its
    ``max_s``: a new window's own pages (the omnibox's popup) have loaded."""
    t0 = time.perf_counter()
    last = _browser_cpu_ticks(executable)
    while time.perf_counter() - t0 < BROWSER_QUIET["max_s"]:
        time.sleep(BROWSER_QUIET["window_s"])
        now = _browser_cpu_ticks(executable)
        if now - last <= BROWSER_QUIET["ticks"]:
            break
        last = now
    return time.perf_counter() - t0


def first_view(
    browser: Any,
    origin: _Origin,
    timeout: float,
    intercept: bool = False,
    new_window: bool = False,
) -> dict[str, Any]:
    """One cold load of the county view: seconds from navigation start. It starts once
    the new window is quiet (wait_browser_quiet); ``new_window``: as soon as it opens."""
    context, bp = open_page(browser, origin, timeout, intercept)
    try:
        page = bp.page
        quiet_s = 0.0 if new_window else wait_browser_quiet(chromium_path() or "chromium")
        bp.open("/", **QUERY)
        map_ms = wait_map_drawn(page, timeout * 1000)
        page.wait_for_function("() => window.__headlinesAt", timeout=timeout * 1000)
        head_ms = float(page.evaluate("window.__headlinesAt"))
        expected, counties = page.evaluate(EXPECTED_JS, list(PLACE_TRACES)), county_count()
        drawn, done = drawn_locations(page), max(map_ms, head_ms)
        answered = [e["end"] for e in page.evaluate(CALLBACKS_JS) if e["end"] <= done]
        problems = [f"console: {e}" for e in bp.log.errors()[:3]]
        problems += [f"foreign request {u}" for u in bp.log.foreign_requests()[:3]]
        if not (len(drawn) == len(set(drawn)) == expected == counties):
            problems.append(
                f"counties drawn {len(drawn)} ({len(set(drawn))} distinct), the page expects "
                f"{expected}, county.parquet has {counties}"
            )
        return {"seconds": done / 1000, "map_s": map_ms / 1000, "headlines_s": head_ms / 1000,
                "callbacks_s": max(answered, default=NAN) / 1000,  # the last before `done`
                "counties": len(drawn), "quiet_s": quiet_s, "problems": problems}  # fmt: skip
    except PlaywrightError as exc:
        state = bp.page.evaluate(STATE_JS)
        why = f"first view: {exc.message.splitlines()[0]} ({state}; {bp.log.errors()[:2]})"
        return {"seconds": None, "problems": [why]}
    finally:
        context.close()


class Chooser:
    """The next filter change of a kind: a value whose whole view is new to the server."""

    def __init__(self, controls: dict[str, Any], seed: int) -> None:
        self.rng = random.Random(seed)
        c = {kind: controls[cid] for kind, cid in CONTROL.items()}
        metrics = [m for m in c["metric"]["options"] if m]
        main = [m for m in SYNTHETIC_METRICS if m in metrics]
        self.metrics = main if len(main) >= 4 else metrics
        self.programmes, self.donors = c["programme"]["options"], c["donor"]["options"]
        self.bounds = (int(c["years"]["min"]), int(c["years"]["max"]))
        self.state = {"metric": c["metric"]["value"],
                      "years": tuple(int(y) for y in c["years"]["value"]),
                      "programme": frozenset(c["programme"]["value"] or []),
                      "donor": c["donor"]["value"]}  # fmt: skip
        self.seen = {self._key(self.state)}

    @staticmethod
    def _key(state: dict[str, Any]) -> str:
        return json.dumps({k: sorted(v) if k == "programme" else v for k, v in state.items()})

    def pick(self, kind: str) -> Any:
        """The argument for set_control (the state is updated)."""
        r, cur = self.rng, self.state[kind]
        for _ in range(500):
            if kind == "years":  # one end moves: one commit (both would be two changes)
                (lo, hi), (bmin, bmax) = cur, self.bounds
                low = r.random() < 0.5
                arg = new = (r.randint(bmin, hi - 1), hi) if low else (lo, r.randint(lo + 1, bmax))
            elif kind == "programme":  # one option toggled: one commit
                arg = r.choice(self.programmes)
                new = cur ^ {arg}
            else:
                arg = new = r.choice(self.metrics if kind == "metric" else self.donors)
            state = {**self.state, kind: new}
            if new != cur and self._key(state) not in self.seen:
                self.seen.add(self._key(state))
                self.state = state
                return arg
        raise RuntimeError(f"no new view for a {kind} change")


def click(bp: Any, w: dict[str, Any], kind: str, arg: Any, timeout: float) -> dict[str, Any]:
    """One filter change through the control; times from the input event that set it off."""
    page = bp.page
    before = len(page.evaluate(CALLBACKS_JS))
    sent, bad = sum(UPDATE_URL in u for u in bp.log.requests), len(w["bad"])
    page.evaluate("window.__arm()")
    rec: dict[str, Any] = {"kind": kind, "value": arg, "problems": []}
    try:
        set_control(page, CONTROL[kind], arg)
    except (PlaywrightError, AssertionError) as exc:
        rec["problems"].append(f"{kind} control: {str(exc).splitlines()[0]}")
    settled = wait_quiet(bp, w, sent, timeout)
    with contextlib.suppress(PlaywrightError):  # Plotly may draw after the quiet
        page.wait_for_function("() => window.__mapAt", timeout=min(timeout, 15) * 1000)
    entries = page.evaluate(CALLBACKS_JS)[before:]
    inputs, map_at, z_changed = page.evaluate(
        "[window.__inputs, window.__mapAt, window.__zChanged]"
    )
    rec.update(requests=len(entries), settled=settled, z_changed=z_changed)
    rec["problems"] += w["bad"][bad:]
    if entries:
        first = min(e["start"] for e in entries)
        t0 = max((t for t in inputs if t <= first), default=first)
        rec["input_to_request_ms"] = first - t0
        rec["seconds"] = (max(e["end"] for e in entries) - t0) / 1000
        rec["map_s"] = (map_at - t0) / 1000 if map_at is not None else None
        rec["wire_bytes"] = sum(e["body"] for e in entries)
        rec["server_max_s"] = max(e["app"] or 0 for e in entries) / 1000
        rec["each_ms"] = [  # each request: sent, answered (from t0), time in the server
            [round(e["start"] - t0), round(e["end"] - t0), e["app"]] for e in entries
        ]
    if not settled:
        rec["problems"].append(f"{kind} change not quiet within {timeout:.0f} s")
    if map_at is None:
        rec["problems"].append(f"{kind} change: the map got no new figure")
    return rec


def clicks(browser: Any, origin: _Origin, n: int, seed: int, timeout: float) -> list[dict]:
    """``n`` filter changes (the kinds in turn) in one loaded county view."""
    context, bp = open_page(browser, origin, timeout)
    out: list[dict[str, Any]] = []
    try:
        w = watch_callbacks(bp)
        bp.open("/", **QUERY)
        wait_map_drawn(bp.page, timeout * 1000)
        bp.settle(timeout_ms=timeout * 1000)
        chooser = Chooser(bp.page.evaluate(CONTROLS_JS, list(CONTROL.values())), seed)
        for i in range(n):
            kind = list(CONTROL)[i % len(CONTROL)]
            rec = click(bp, w, kind, chooser.pick(kind), timeout)
            out.append(rec)
            log(
                f"    click {i + 1:>2} {kind:<9} {json.dumps(rec['value'])[:24]:<26}"
                f"{ms(rec.get('seconds', NAN)):>9}  map {ms(rec.get('map_s') or NAN):>9}"
                f"{'' if rec['z_changed'] else ' (same z)':<10}{rec['requests']:>3} requests "
                f"{kb(rec.get('wire_bytes', 0)):>9}  {'; '.join(rec['problems'])}"
            )
        out.append({"kind": "page", "problems": [f"console: {e}" for e in bp.log.errors()[:3]]})
    finally:
        context.close()
    return out


def stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "max": max(values, default=NAN)}  # fmt: skip


def measure(spec: str, browser: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Serve one store and measure (a) and (b) in Chromium."""
    LOGS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="atlas-click-") as tmp:
        if spec == "reference":
            label, path = "reference", Path(tmp) / "reference.sqlite"
            url = reference_store(ROOT, path)
        else:
            src = Path(spec).resolve()
            label, path, t0 = "", Path(tmp) / src.name, time.perf_counter()
            url = copy_store(src, path)
            log(f"  copied {src} to {path} in {time.perf_counter() - t0:,.0f} s")
        res: dict[str, Any] = {"store": spec, **store_info(path)}
        res["label"] = label or f"{res['figures'] / 1e6:.3g} M"
        server = Server(ROOT, url, workers=args.workers, log_path=LOGS / f"{path.stem}-server.log")
        try:
            res["start_s"] = server.start(timeout=args.start_timeout)
            origin = _Origin(server.origin)
            log(f"  {res['figures']:,} figures; gunicorn -w {args.workers} answering after "
                f"{res['start_s']:,.1f} s (load average {load_average()})")  # fmt: skip
            warm = first_view(browser, origin, args.timeout)
            res["snapshot_wait_s"] = wait_snapshot(url, args.snapshot_wait)
            log(f"  warm-up load, not counted (the server's first answers fill its caches): "
                f"{ms(warm['seconds'] or NAN)}; summary snapshot there "
                f"{res['snapshot_wait_s'] or 0:,.1f} s after it")  # fmt: skip
            if (res["snapshot_wait_s"] or 0) > 1:
                again = first_view(browser, origin, args.timeout)["seconds"] or NAN
                log(f"  a second warm-up (the first ran before the snapshot): {ms(again)}")
            if args.settle > 0:
                res["settle_s"] = settle(server, args.settle)
                log(f"  the server's one-off work for a new data version (its children: the "
                    f"default view's reconciled totals, the figure rows' snapshot) done "
                    f"{res['settle_s']:,.1f} s after that (none for 10 s then)")  # fmt: skip
            res["loads"], res["loads_intercepted"], res["loads_new_window"] = [], [], []
            for i in range(args.loads):
                load = first_view(browser, origin, args.timeout)
                res["loads"].append(load)
                log(f"    cold load {i + 1}: map {ms(load.get('map_s', NAN))}, headlines "
                    f"{ms(load.get('headlines_s', NAN))} (callbacks answered "
                    f"{ms(load.get('callbacks_s', NAN))}), {load.get('counties', 0):,} "
                    f"counties; the window quiet after {load.get('quiet_s', 0):.2f} s  "
                    f"{'; '.join(load['problems'])}")  # fmt: skip
                if args.new_window:  # the same, navigating as soon as the window opens
                    at_once = first_view(browser, origin, args.timeout, new_window=True)
                    res["loads_new_window"].append(at_once)
                    log(f"      navigating as the window opens: {ms(at_once['seconds'] or NAN)}"
                        f"  {'; '.join(at_once['problems'])}")  # fmt: skip
                if args.intercepted:  # the same, every request held by Playwright
                    held = first_view(browser, origin, args.timeout, intercept=True)
                    res["loads_intercepted"].append(held)
                    log(f"      through Playwright: {ms(held['seconds'] or NAN)}  "
                        f"{'; '.join(held['problems'])}")  # fmt: skip
            try:
                res["clicks"] = clicks(browser, origin, args.clicks, args.seed, args.timeout)
            except PlaywrightError as exc:  # the page for the clicks did not load
                res["clicks"] = [{"kind": "page", "problems": [exc.message.splitlines()[0]]}]
        finally:
            server.stop()
    for key, loads in (
        ("first_view", res["loads"]),
        ("intercepted", res["loads_intercepted"]),
        ("new_window", res["loads_new_window"]),
    ):
        views = [x["seconds"] for x in loads if x["seconds"] is not None] or [NAN]
        res[key] = {"median": statistics.median(views), "max": max(views)}
    done = [c for c in res["clicks"] if "seconds" in c]
    res["click"] = {k: stats([c["seconds"] for c in done if c["kind"] == k]) for k in CONTROL}
    res["click"]["all"] = stats([c["seconds"] for c in done])
    res["map"] = stats([c["map_s"] for c in done if c.get("map_s") is not None])
    res["server_max"] = stats([c["server_max_s"] for c in done])
    res["wire_median"] = statistics.median([c["wire_bytes"] for c in done] or [0])
    loads = res["loads"] + res["loads_intercepted"] + res["loads_new_window"]
    res["problems"] = [p for x in loads + res["clicks"] for p in x["problems"]]
    for k, s in res["click"].items():
        log(f"  {k:<10} n={s['n']:<3} p50 {ms(s['p50']):>9}  p95 {ms(s['p95']):>9}  "
            f"max {ms(s['max']):>9}")  # fmt: skip
    log(f"  load average at the end: {load_average()} (2 cores, shared)")
    return res


def print_table(results: list[dict[str, Any]], workers: int) -> None:
    log(f"\nA click, headless Chromium, gunicorn -w {workers}, loopback, {time.strftime('%F')}")
    log(f"{'store':<12}{'figures':>12}{'first view med / max':>24}{'(new window)':>14}"
        f"{'(Playwright)':>14}"
        f"{'click p50 / p95':>21}{'max':>10}{'map p50':>10}{'server p50':>12}"
        f"{'wire/click':>12}")  # fmt: skip
    for r in results:
        fv, c = r["first_view"], r["click"]["all"]
        log(
            f"{r['label']:<12}{r['figures']:>12,}{ms(fv['median']) + ' / ' + ms(fv['max']):>24}"
            f"{ms(r['new_window']['median']):>14}{ms(r['intercepted']['median']):>14}"
            f"{ms(c['p50']) + ' / ' + ms(c['p95']):>21}{ms(c['max']):>10}"
            f"{ms(r['map']['p50']):>10}{ms(r['server_max']['p50']):>12}"
            f"{kb(r['wire_median']):>12}"
        )
    log("  first view: the page's requests as a browser sends them, from a new window once")
    log("  the browser is quiet; (new window): the median of the same loads navigating as the")
    log("  window opens, while Chromium loads the window's omnibox popup (as measured before")
    log("  2026-12-06; --no-new-window: not measured); (Playwright): the same loads, each")
    log("  one's requests held by Playwright's interception as the browser tests do")
    log("  (--no-intercepted: not measured)")
    log("  click: from the input event to the last callback answer; map: until the map had")
    log("  its new figure; server: the slowest request's own time (Server-Timing);")
    log("  wire: compressed response bodies per click (median)")
    for r in results:
        for p in sorted(set(r["problems"]))[:8]:
            log(f"  {r['label']}: {p}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", help="'reference' or a SQLite store")
    parser.add_argument("--loads", type=int, default=5, help="cold first views per store")
    parser.add_argument("--clicks", type=int, default=12, help="filter changes per store")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=7, help="seed of the filter values")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per step")
    parser.add_argument("--start-timeout", type=float, default=600.0)
    parser.add_argument("--snapshot-wait", type=float, default=900.0)
    parser.add_argument(
        "--settle",
        type=float,
        default=600.0,
        help="before the counted loads, wait up to this long for the server's children "
        "(the one-off work after a new data version) to finish; 0: measure at once",
    )
    parser.add_argument(
        "--intercepted",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after each cold load, one more with every request held by Playwright's "
        "interception (as in the browser tests), reported apart",
    )
    parser.add_argument(
        "--new-window",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after each cold load, one more navigating as soon as its new window opens "
        "(while Chromium loads the window's own pages), reported apart",
    )
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    stores = args.store or ["reference", str(ROOT / "var" / "bench" / "store-1m.sqlite")]
    if not (1 <= args.loads <= 50 and 1 <= args.clicks <= 200):
        parser.error("bounded: 1-50 loads and 1-200 clicks")
    path = chromium_path()
    if path is None:
        raise SystemExit("Chromium not found: run `bash scripts/setup.sh --test` first")

    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            for spec in stores:
                t0 = time.perf_counter()
                log(f"\n== {spec}")
                results.append(measure(spec, browser, args))
                log(f"  ({time.perf_counter() - t0:,.0f} s for this store)")
        finally:
            browser.close()
    print_table(results, args.workers)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=list))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
