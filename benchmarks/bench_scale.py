"""Scale benchmark of the atlas (issue #7): the app against a large store, beside the old
data path on the same data, measured in the same run.

For one store (``--store reference`` or a file built by make_store.py), each side — this
tree, and the old path (commit b00a3fd, checked out into a temporary git worktree, with
a store of the same rows built by its own code) — runs as ``gunicorn -w 1`` against a
copy of the store, and the script measures:

  (a) server start: from spawning gunicorn until ``GET /`` answers 200 (median of
      ``--starts``);
  (b) the worker's RSS after the first view (``?level=county&metric=funds_cny``: the
      page's own callback requests, replayed), and the first view's server time;
  (c) filter changes at county level — metric, years, programme, donor — ``--reps`` each,
      every one a state no earlier request had (no cache answers): the server time of
      the change (its callbacks one after another), p50 and p95, and per callback;
  (d) bytes on the wire of a county-level filter change with ``Accept-Encoding: br,
      gzip`` (the callback responses' bodies as received; their status lines and
      headers, never compressed, beside them);
  (e) one table page: the figures grid's block of rows (``getRowsRequest``), random
      offsets and sorts; the old app has no pages: its table callback sends every row;
  (f) the CSV of the national view with every metric (about as many rows as the store
      holds figures): the worker's peak memory above its RSS before the download
      (Linux VmHWM after clear_refs), and its time.

The callback requests are the ones Chromium sent (benchmarks/recorded_callbacks.json,
recorded again by record_callbacks.py when the app's callbacks change). The old path
is measured on the reference data and on stores up to 2 M figures only (it needs
several GB), with timeouts; a figure that times out is printed as "> N s".
No pass/fail: the numbers go into the README.

Run: ``.venv/bin/python benchmarks/bench_scale.py --store var/bench/store-1m.sqlite``
     ``.venv/bin/python benchmarks/bench_scale.py --store reference``
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record_callbacks import ensure_recording, reference_store
from scale_common import (
    CONTROLS,
    FILTERS_STORE,
    ROOT,
    Client,
    DashSession,
    Server,
    app_signature,
    find_recording,
    follow_totals,
    kb,
    ms,
    name_of,
    outputs_of,
    pct,
    proc_status,
    replay_chain,
    reset_peak,
)

LEGACY_REV = "b00a3fd"
LEGACY_MAX_FIGURES = 2_000_000
BASE_QUERY = "?level=county&metric=funds_cny&lang=en"
SYNTHETIC_METRICS = (
    "funds_cny", "projects", "people_trained", "people_lifted",
    "investment_cny", "people_employed", "cadres_dispatched", "villages_supported",
)  # fmt: skip
OUT = ROOT / "var" / "bench"


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- stores


def store_info(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        figures = con.execute("SELECT count(*) FROM figures").fetchone()[0]
        pairings = con.execute("SELECT count(*) FROM pairings").fetchone()[0]
        name = con.execute(
            "SELECT file_name FROM batches WHERE kind = 'import' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    m = re.match(r"synthetic-seed(\d+)-(\d+)\.csv", name[0]) if name else None
    return {
        "figures": figures,
        "pairings": pairings,
        "seed": int(m.group(1)) if m else None,
        "n": int(m.group(2)) if m else None,
    }


def copy_store(src: Path, dest: Path) -> str:
    """A copy through SQLite's backup API (consistent even with a -wal beside it)."""
    for extra in ("", "-wal", "-shm"):
        Path(str(dest) + extra).unlink(missing_ok=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    src_con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    dst_con = sqlite3.connect(dest)
    with dst_con:
        src_con.backup(dst_con, pages=1 << 16)
    src_con.close()
    dst_con.close()
    return f"sqlite:///{dest}"


def write_snapshot(tree: Path, url: str) -> float | None:
    """What a writer leaves after its commit, where ``tree``'s code does so: the summary's
    snapshot of the store (beside the copy). Seconds, or None when the code has none."""
    code = (
        "import sys\n"
        "try:\n"
        "    from twinning.query.summary import refresh_snapshot\n"
        "except ImportError:\n"
        "    sys.exit(3)\n"
        "from twinning.store.db import create_store_engine\n"
        "refresh_snapshot(create_store_engine(sys.argv[1]))\n"
    )
    if not (tree / "twinning" / "query" / "summary.py").exists():
        return None  # (the venv's editable install would find this tree's module instead)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, url],
        cwd=tree,
        env={**__import__("os").environ, "PYTHONPATH": str(tree)},
        check=False,
    )
    if done.returncode == 3:
        return None
    if done.returncode:
        raise SystemExit(f"writing the summary snapshot failed ({done.returncode})")
    return time.perf_counter() - t0


def ensure_legacy_tree(tree: Path, rev: str) -> bool:
    """Check out ``rev`` into ``tree`` (a git worktree); True if it was created now."""
    if (tree / "twinning").exists():
        return False
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
        check=True,
        capture_output=True,
    )
    return True


def remove_legacy_tree(tree: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
        check=False,
        capture_output=True,
    )


def legacy_store(tree: Path, info: dict[str, Any], rebuild: bool) -> Path:
    """The old code's store of the same rows (make_store.py run with the old code)."""
    path = OUT / "legacy" / f"store-{info['n']}-seed{info['seed']}.sqlite"
    if path.exists() and not rebuild:
        return path
    log(f"  building the old path's store of the same rows: {path}")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "make_store.py"),
            "--figures",
            str(info["n"]),
            "--seed",
            str(info["seed"]),
            "--out",
            str(path),
            "--force",
        ],
        cwd=tree,
        env={**__import__("os").environ, "PYTHONPATH": str(tree)},
        check=True,
    )
    return path


# --------------------------------------------------------------------------- choices


def option_values(session: DashSession, control: str) -> list[Any]:
    opts = session.get(control, "options") or []
    out = []
    for o in opts:
        out.append(o.get("value") if isinstance(o, dict) else o)
    return [v for v in out if v not in (None, "")]


class Chooser:
    """Filter values for each change, every state new (no cache may answer it)."""

    def __init__(self, session: DashSession, seed: int) -> None:
        self.rng = random.Random(seed)
        self.s = session
        metrics = option_values(session, "metric-select")
        main = [m for m in SYNTHETIC_METRICS if m in metrics]
        self.metrics = main if len(main) >= 4 else metrics
        self.programmes = option_values(session, "program-select")
        self.donors = option_values(session, "donor-select")
        lo = session.get("year-range", "min") or 1994
        hi = session.get("year-range", "max") or 2024
        self.years = (int(lo), int(hi))
        self.seen: set[Any] = set()
        self.base = {k: session.get(*CONTROLS[k]) for k in CONTROLS}

    def state(self, kind: str, value: Any) -> dict[str, Any]:
        st = dict(self.base)
        st[kind] = value
        return st

    def _key(self, st: dict[str, Any]) -> str:
        return json.dumps(st, sort_keys=True, default=str)

    def pick(self, kind: str) -> dict[str, Any]:
        for attempt in range(200):
            value = self._value(kind)
            st = self.state(kind, value)
            if attempt > 50 and kind != "years":  # values exhausted: vary the years too
                lo, hi = self.years
                a = self.rng.randint(lo, hi - 1)
                st["years"] = [a, self.rng.randint(a, hi)]
            if self._key(st) not in self.seen:
                self.seen.add(self._key(st))
                return st
        raise RuntimeError(f"no new state for {kind}")

    def _value(self, kind: str) -> Any:
        r = self.rng
        if kind == "metric":
            return r.choice([m for m in self.metrics if m != self.base["metric"]] or self.metrics)
        if kind == "years":
            lo, hi = self.years
            a = r.randint(lo, hi - 1)
            return [a, r.randint(a + 1, hi)]
        if kind == "programme":
            k = r.randint(1, max(1, len(self.programmes) - 1))
            return sorted(r.sample(self.programmes, k)) if self.programmes else []
        if kind == "donor":
            return r.choice(self.donors) if self.donors else None
        raise ValueError(kind)


def apply_state(session: DashSession, st: dict[str, Any]) -> None:
    for kind, value in st.items():
        session.set(*CONTROLS[kind], value)


# --------------------------------------------------------------------------- one side


def measure(
    label: str, tree: Path, url: str, rec: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    res: dict[str, Any] = {"label": label, "errors": [], "callbacks": {}}
    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    steps = rec["steps"]

    # what the writer of the store left beside it (the summary's snapshot, if any)
    snap = write_snapshot(tree, url)
    if snap is not None:
        res["snapshot_write_s"] = snap
        log(f"  summary snapshot written before the start (as a writer does): {snap:,.1f} s")

    # (a) server start, --starts times (the last one stays up for the rest)
    starts: list[float] = []
    server = None
    for i in range(args.starts):
        server = Server(tree, url, workers=1, log_path=logs / f"{label}-server.log")
        try:
            starts.append(server.start(timeout=args.start_timeout))
        except TimeoutError:
            server.stop()
            res["start_s"] = f"> {args.start_timeout:.0f} s"
            res["start_rss_mb"] = None
            log(f"  (a) {label}: no answer within {args.start_timeout:.0f} s")
            return res
        except RuntimeError as exc:
            res["start_s"] = f"failed: {exc}"
            return res
        if i < args.starts - 1:
            server.stop()
    assert server is not None
    res["start_s"] = statistics.median(starts)
    res["start_all_s"] = starts
    worker = server.worker_pids()[0]
    res["rss_start_mb"] = proc_status(worker).get("VmRSS", 0) / 1024
    log(f"  (a) start {ms(res['start_s'])} (runs: {', '.join(ms(s) for s in starts)})")

    client = Client(server.port, timeout=args.request_timeout)
    try:
        session = DashSession(client)
        sig = app_signature(client)
        if sig != rec["signature"]:
            res["errors"].append(f"recording {rec['signature']} does not fit app {sig}")
        html = client.request("GET", "/")
        res["html_wire_bytes"] = len(html.raw)
        t0 = time.perf_counter()
        # the layout's request names the page: it may bring the page and its first map
        page = session.open_page(BASE_QUERY)
        first = replay_chain(session, steps["first_view"])
        first.seconds += page.seconds
        first.wire_bytes += len(page.raw)
        first.per_callback.insert(
            0, ("GET /_dash-layout", page.seconds, len(page.raw), len(page.body))
        )
        res["first_view_server_s"] = first.seconds
        res["first_view_wall_s"] = time.perf_counter() - t0
        res["first_view_wire_bytes"] = first.wire_bytes
        res["first_view_callbacks"] = first.per_callback
        res["errors"] += first.errors
        st = proc_status(worker)
        res["rss_first_view_mb"] = st.get("VmRSS", 0) / 1024
        res["hwm_first_view_mb"] = st.get("VmHWM", 0) / 1024
        log(
            f"  (b) first view: server {ms(first.seconds)}, {kb(first.wire_bytes)} on the wire;"
            f" worker RSS {res['rss_first_view_mb']:,.0f} MB (peak {res['hwm_first_view_mb']:,.0f})"
        )
        for name, secs, wire, body in first.per_callback:
            log(f"        {name[:60]:<62}{ms(secs):>10}{kb(wire):>12}{kb(body):>12}")

        # the store's summary snapshot, if this code writes one (DuckDB reads it), is
        # built in the background after the first start: the changes are measured once
        # it is there, as every later start finds it
        t_first = time.perf_counter()
        ready = wait_snapshot(url, args.snapshot_wait)
        if ready is not None:
            res["snapshot_ready_s"] = ready
            log(f"      summary snapshot ready {ready:,.1f} s after the first view")
        # and the figure rows' snapshot (sorted pages of a large view), if this code writes
        # one: a child process writes it after the first start (at 10 M figures ~2 min, a
        # core's work that the changes would otherwise share), as every later start finds it
        ready = wait_figure_rows(url, args.snapshot_wait)
        if ready is not None:
            after = res["figure_rows_ready_s"] = time.perf_counter() - t_first
            log(f"      figure rows' snapshot ready {after:,.0f} s after the first view")

        # (c) + (d) filter changes
        chooser = Chooser(session, args.seed)
        base_state = dict(chooser.base)
        res["changes"] = {}
        for kind in CONTROLS:
            chain = steps.get(kind) or []
            if not chain:
                res["errors"].append(f"no recorded requests for a {kind} change")
                continue
            samples, crit, wire, body, head = [], [], [], [], []
            follows: list[tuple[float, int, int, float]] = []
            deadline = time.perf_counter() + args.kind_budget
            slowest: list[tuple[float, dict[str, Any], list]] = []
            for _ in range(args.reps):
                state = chooser.pick(kind)
                apply_state(session, state)
                r = replay_chain(session, chain)
                # the reconciled totals that follow the map's answer, when it left some
                # pending: after the map is drawn, counted apart
                f = follow_totals(session)
                if f is not None:
                    answers, until = f
                    follows.append(
                        (until, sum(len(a.raw) for a in answers), len(answers),
                         max(a.seconds for a in answers))
                    )  # fmt: skip
                slowest.append((r.seconds, state, r.per_callback))
                res["errors"] += r.errors
                samples.append(r.seconds)
                crit.append(r.critical)
                wire.append(r.wire_bytes)
                body.append(r.body_bytes)
                head.append(r.head_bytes)
                for name, secs, w, b in r.per_callback:
                    res["callbacks"].setdefault(name, []).append((secs, w, b))
                if time.perf_counter() > deadline:
                    break
            apply_state(session, base_state)
            res["changes"][kind] = {
                "n": len(samples),
                "p50_s": pct(samples, 50),
                "p95_s": pct(samples, 95),
                "critical_p50_s": pct(crit, 50),
                "critical_p95_s": pct(crit, 95),
                "wire_median": statistics.median(wire),
                "wire_max": max(wire),
                "body_median": statistics.median(body),
                "head_median": statistics.median(head),
                "follows": len(follows),
                "follow_p50_s": pct([x[0] for x in follows], 50) if follows else None,
                "follow_p95_s": pct([x[0] for x in follows], 95) if follows else None,
                "follow_wire_max": max((x[1] for x in follows), default=0),
                "follow_asks_max": max((x[2] for x in follows), default=0),
                "follow_ask_max_s": max((x[3] for x in follows), default=0.0),
            }
            slowest.sort(key=lambda x: -x[0])
            c = res["changes"][kind]
            c["slowest"] = [
                {
                    "seconds": secs,
                    "state": state,
                    "callbacks": {n: t for n, t, _w, _b in per if t >= 0.05},
                }
                for secs, state, per in slowest[:3]
            ]
            log(
                f"  (c) {kind:<10} n={c['n']:<3} p50 {ms(c['p50_s']):>9}  p95 {ms(c['p95_s']):>9}"
                f"   browser waits p95 {ms(c['critical_p95_s']):>9}"
                f"   (d) {kb(c['wire_median'])} on the wire (largest {kb(c['wire_max'])})"
                f" + {kb(c['head_median'])} headers ({kb(c['body_median'])} raw)"
            )
            if follows:
                log(
                    f"      {'':<10} then the reconciled totals of {len(follows)} of"
                    f" {c['n']} views, there after p50 {ms(c['follow_p50_s'])}, p95"
                    f" {ms(c['follow_p95_s'])} (at most {c['follow_asks_max']} asks, the"
                    f" slowest {ms(c['follow_ask_max_s'])}; at most {kb(c['follow_wire_max'])})"
                )
        log("      slowest changes (state: callbacks over 50 ms):")
        for kind, c in res["changes"].items():
            for x in c["slowest"][:2]:
                cbs = ", ".join(f"{n.split('.')[0]} {ms(t)}" for n, t in x["callbacks"].items())
                log(f"        {kind}: {ms(x['seconds'])} {json.dumps(x['state'])}: {cbs}")
        res["callback_stats"] = {
            name: {
                "n": len(v),
                "p50_s": pct([s for s, _, _ in v], 50),
                "p95_s": pct([s for s, _, _ in v], 95),
                "max_s": max(s for s, _, _ in v),
                "wire_median": statistics.median([w for _, w, _ in v]),
                "body_median": statistics.median([b for _, _, b in v]),
            }
            for name, v in res["callbacks"].items()
        }
        res.pop("callbacks")
        log("      per callback, over every change above:")
        for name, s in sorted(res["callback_stats"].items(), key=lambda kv: -kv[1]["p95_s"]):
            log(
                f"        {name[:60]:<62}p50 {ms(s['p50_s']):>9}  p95 {ms(s['p95_s']):>9}"
                f"  {kb(s['wire_median']):>10} ({kb(s['body_median'])} raw)"
            )

        # back to the first view's filters (one more change, not counted) for (e) and (f)
        apply_state(session, base_state)
        replay_chain(session, steps["metric"])

        # (e) one table page
        res["table"] = table_pages(session, steps, res, args)
        if res["table"].get("timed_out"):  # the worker is still busy: a fresh one
            client.close()
            server.stop()
            server = Server(tree, url, workers=1, log_path=logs / f"{label}-server.log")
            server.start(timeout=args.start_timeout)
            worker = server.worker_pids()[0]
            client = Client(server.port, timeout=args.request_timeout)
            session = DashSession(client)
            session.open_page(BASE_QUERY)
            replay_chain(session, steps["first_view"])

        # (f) the CSV (minutes at 10 M figures: --no-csv leaves it out)
        if not args.no_csv:
            timeouts_before = worker_timeouts(logs / f"{label}-server.log")
            res["csv"] = csv_download(session, client, server, steps, args)
            killed = worker_timeouts(logs / f"{label}-server.log") - timeouts_before
            if killed:
                res["csv"]["worker_killed"] = True
                log("      gunicorn killed the worker during the download (WORKER TIMEOUT)")
        st = proc_status(worker)
        res["rss_end_mb"] = st.get("VmRSS", 0) / 1024
    finally:
        client.close()
        server.stop()
    return res


def wait_snapshot(url: str, limit: float) -> float | None:
    """Seconds until a ``summary/*.parquet`` beside the store exists (None: none comes)."""
    return _wait_beside(
        url, "parquet", limit, lambda folder, waited: not folder.exists() and waited > 5
    )


def wait_figure_rows(url: str, limit: float) -> float | None:
    """Seconds until the figure rows' snapshot beside the store exists, when one is being
    written (its lock file is there); None when none comes."""

    # the code of 2026-12-06 16:10 on (the quotes' index, written after the DuckDB tables
    # of the figure rows, after their Parquet files: the snapshot's last), of 11:10, of
    # 04:00, of 00:10, before
    names = (
        "quote-index-1.duckdb", "figure-rows-2.parquet", "figure-rows.parquet",
        "figures.parquet",
    )  # fmt: skip
    locks = ("figure-rows-3.parquet", *names[1:])

    def none_coming(folder: Path, _waited: float) -> bool:
        return not any(any(folder.glob(f"*.{name}.lock")) for name in locks)

    return _wait_beside(url, names, limit, none_coming)


def _wait_beside(
    url: str, suffixes: str | tuple[str, ...], limit: float, none_coming: Any
) -> float | None:
    """Seconds until ``summary/<store>-*.<suffix>`` exists beside a SQLite store (one of
    ``suffixes``); None if ``none_coming(folder, seconds waited)`` says so first, or after
    ``limit``."""
    if isinstance(suffixes, str):
        suffixes = (suffixes,)
    if not url.startswith("sqlite:///"):
        return None
    store = Path(url.removeprefix("sqlite:///"))
    folder = store.parent / "summary"
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        if any(any(folder.glob(f"{store.stem}-*.{suffix}")) for suffix in suffixes):
            return time.perf_counter() - t0
        if none_coming(folder, time.perf_counter() - t0):
            return None
        time.sleep(0.2)
    return None


def worker_timeouts(log_path: Path) -> int:
    try:
        return log_path.read_text(errors="replace").count("WORKER TIMEOUT")
    except FileNotFoundError:
        return 0


def table_pages(
    session: DashSession, steps: dict[str, Any], res: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Pages of the figures grid at the first view's filters: the first block, a deep
    offset, a click on a column header (sorted, first block), sorted and deep, a text typed
    into a column's filter (a recipient, a donor or a source that contains it: filtered,
    first block; and sorted, a block deep). Each kind
    ``--reps`` / 4 times; a page not answered within ``--page-timeout`` ends the part
    (the worker is then still busy with it: the caller restarts the server)."""
    grid = [b for b in steps.get("table", []) if "getRowsRequest" in json.dumps(b["inputs"])]
    if not grid:
        # no paged table: the old app's table callback sends every row in view
        names = [n for n in res["callback_stats"] if "table-figures.data" in n]
        if not names:
            return {"kind": "none"}
        s = res["callback_stats"][names[0]]
        log(
            f"  (e) no paged table: every row in one callback, p50 {ms(s['p50_s'])}, "
            f"p95 {ms(s['p95_s'])}, {kb(s['wire_median'])} on the wire ({kb(s['body_median'])} raw)"
        )
        return {"kind": "all rows", **s}
    template = grid[0]
    cols = session.get("table-figures", "columnDefs") or []
    sortable = [c["field"] for c in cols if c.get("sortable")]
    rng = random.Random(args.seed + 1)
    client = session.client
    client.set_timeout(args.page_timeout)
    out: dict[str, Any] = {
        "kind": "page of 100 rows",
        "parts": {},
        "timed_out": None,
        "page_timeout_s": args.page_timeout,
    }
    try:
        first = session.post(_rows_request(template, 0, 100, []))
        total = (first.json() or {}).get("response", {}).get("table-figures", {})
        total = (total.get("getRowsResponse") or {}).get("rowCount") or 0
        out["rows_in_view"] = total
        times_all, wire = [], []
        n = max(2, args.reps // 4)
        for part in PAGE_PARTS:
            times = []
            for _ in range(n):
                start = rng.randrange(0, max(1, total), 100) if "deep" in part and total else 0
                sort = []
                if part.startswith("sorted") and sortable:
                    sort = [{"colId": rng.choice(sortable), "sort": rng.choice(("asc", "desc"))}]
                grid_filter = {}
                if part.startswith("filtered"):
                    col, typed = rng.choice(TYPED)
                    grid_filter = {col: {"filterType": "text", "type": "contains", "filter": typed}}
                    if "sorted" in part and sortable:
                        sort = [{"colId": rng.choice(sortable), "sort": "desc"}]
                        start = 2000
                what = f"{part}: rows {start}-{start + 100}, sort {sort or 'none'}"
                what += f", filter {grid_filter}" if grid_filter else ""
                try:
                    r = session.post(_rows_request(template, start, start + 100, sort, grid_filter))
                except (TimeoutError, OSError):
                    out["timed_out"] = what
                    log(f"  (e) {what}: no answer within {args.page_timeout:.0f} s")
                    break
                if r.status != 200:
                    res["errors"].append(f"table page ({what}): HTTP {r.status}")
                    continue
                times.append(r.seconds)
                times_all.append(r.seconds)
                wire.append(len(r.raw))
                log(f"      {what}: {ms(r.seconds)}")
            out["parts"][part] = {
                "n": len(times),
                "p50_s": pct(times, 50),
                "max_s": max(times or [0]),
            }
            if out["timed_out"]:
                break
    finally:
        client.set_timeout(args.request_timeout)
    out.update(
        p50_s=pct(times_all, 50),
        p95_s=pct(times_all, 95),
        wire_median=statistics.median(wire) if wire else 0,
    )
    parts = "; ".join(f"{k} p50 {ms(v['p50_s'])}" for k, v in out["parts"].items())
    log(
        f"  (e) table page (100 of {out.get('rows_in_view', 0):,} rows): p50 {ms(out['p50_s'])},"
        f" p95 {ms(out['p95_s'])}, {kb(out['wire_median'])} on the wire ({parts})"
    )
    return out


# What a user types into a column's filter: words that find many rows, few and none.
TYPED = (("recipient", "县"), ("recipient", "自治"), ("donor", "shanghai"), ("donor", "市"),
         ("source", "SEED"), ("recipient", "no such place"))  # fmt: skip
PAGE_PARTS = (
    "first block", "deep offset", "sorted, first block", "sorted, deep offset",
    "filtered, first block", "filtered and sorted, 2,000 rows deep",
)  # fmt: skip


def _rows_request(
    template: dict[str, Any], start: int, end: int, sort: list, grid_filter: dict | None = None
) -> dict[str, Any]:
    body = json.loads(json.dumps(template))
    for item in body["inputs"]:
        if item.get("property") == "getRowsRequest":
            item["value"] = {
                **(item.get("value") or {}),
                "startRow": start,
                "endRow": end,
                "sortModel": sort,
                "filterModel": grid_filter or {},
            }
    return body


def csv_download(
    session: DashSession,
    client: Client,
    server: Server,
    steps: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """The national view, every metric: the worker's peak above its RSS before."""
    worker = server.worker_pids()[0]
    href = session.get("download-csv-button", "href")
    callback = steps.get("csv") or []
    if not href and not callback:
        return {"kind": "none"}
    rss0 = proc_status(worker).get("VmRSS", 0)
    reset_peak(worker)
    try:
        if href:
            path = urlsplit(href).path + "?lang=en"
            status, nbytes, secs, newlines, complete = client.stream(path)
            kind = f"GET {urlsplit(href).path}"
            rows = newlines - 1
            if not complete:
                kind += ", broken off by the server"
        else:
            filters = dict(session.get(*FILTERS_STORE) or {})
            filters.update(  # the national view with every metric, as the new path's CSV
                level="province",
                metric=None,
                programs=[],
                donor=None,
                donor_unit=None,
                recipient=None,
                year_from=None,
                year_to=None,
                include_from_memory=True,
                place=None,
            )
            session.set(*FILTERS_STORE, filters)
            body = callback[-1]
            r = session.post(body)
            status, secs, nbytes = r.status, r.seconds, len(r.raw)
            kind = "download callback"
            rows = 0
            data = (r.json() or {}).get("response", {}).get("table-download", {}).get("data")
            if data and data.get("base64"):
                rows = base64.b64decode(data["content"]).count(b"\n") - 1
    except (TimeoutError, OSError) as exc:
        log(f"  (f) CSV: no answer within {args.request_timeout:.0f} s ({exc!r})")
        return {"kind": "timeout", "timeout_s": args.request_timeout}
    hwm = proc_status(worker).get("VmHWM", 0)
    out = {
        "kind": kind,
        "status": status,
        "rows": rows,
        "bytes": nbytes,
        "seconds": secs,
        "rss_before_mb": rss0 / 1024,
        "peak_extra_mb": max(0, hwm - rss0) / 1024,
    }
    log(
        f"  (f) CSV ({kind}): {rows:,} rows, {nbytes / 1e6:,.1f} MB in {ms(secs)}, "
        f"worker peak +{out['peak_extra_mb']:,.0f} MB over {out['rss_before_mb']:,.0f} MB"
    )
    return out


# --------------------------------------------------------------------------- report


def _fmt(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if unit == "s":
        return f"{v:,.1f} s" if v >= 1 else ms(v)
    if unit == "ms":
        return ms(v)
    if unit == "MB":
        return f"{v:,.0f} MB"
    if unit == "KB":
        return kb(v)
    return str(v)


def rows_of(res: dict[str, Any]) -> list[tuple[str, str]]:
    if "changes" not in res:
        return [("(a) server start until it answers", _fmt(res.get("start_s"), "s"))]
    ch = res["changes"]
    out = [
        ("(a) server start until it answers", _fmt(res.get("start_s"), "s")),
        ("(b) worker RSS after the first view", _fmt(res.get("rss_first_view_mb"), "MB")),
        ("    first view, server time (all callbacks)", _fmt(res.get("first_view_server_s"), "s")),
    ]
    for kind in CONTROLS:
        c = ch.get(kind)
        if c:
            out.append(
                (
                    f"(c) {kind} change, server time p50 / p95",
                    f"{_fmt(c['p50_s'], 's')} / {_fmt(c['p95_s'], 's')}",
                )
            )
    if "metric" in ch:
        out.append(
            (
                "(d) county-level metric change, on the wire (raw)",
                f"{kb(ch['metric']['wire_median'])} ({kb(ch['metric']['body_median'])})",
            )
        )
    t = res.get("table", {})
    if t.get("kind") == "page of 100 rows":
        parts = []
        for name, short in (
            ("first block", "first"),
            ("deep offset", "deep"),
            ("sorted, first block", "sorted"),
            ("sorted, deep offset", "sorted+deep"),
            ("filtered, first block", "text filter"),
            ("filtered and sorted, 2,000 rows deep", "text filter, sorted"),
        ):
            part = t.get("parts", {}).get(name)
            timed_out = (t.get("timed_out") or "").startswith(name + ":")
            if timed_out:
                parts.append(f"{short} > {_fmt(args_page_timeout(t), 's')}")
            elif part and part["n"]:
                parts.append(f"{short} {_fmt(part['p50_s'], 's')}")
        out.append(("(e) one table page (100 rows), p50", "; ".join(parts)))
    elif t.get("kind") == "all rows":
        out.append(
            (
                "(e) one table page (100 rows), p50",
                f"no pages: every row, {_fmt(t['p50_s'], 's')} (p95 {_fmt(t['p95_s'], 's')}), "
                f"{kb(t['wire_median'])}",
            )
        )
    f = res.get("csv", {})
    if f.get("kind") == "timeout":
        out.append(("(f) CSV of the view, peak extra memory", f"> {f['timeout_s']:.0f} s"))
    elif "peak_extra_mb" in f:
        killed = ", cut off: worker killed at gunicorn's timeout" if f.get("worker_killed") else ""
        out.append(
            (
                "(f) CSV of the view, peak extra memory",
                f"+{f['peak_extra_mb']:,.0f} MB ({f['rows']:,} rows, {_fmt(f['seconds'], 's')}"
                f"{killed})",
            )
        )
    return out


def args_page_timeout(t: dict[str, Any]) -> float:
    return float(t.get("page_timeout_s") or 60.0)


def print_table(results: dict[str, dict[str, Any]], title: str) -> None:
    sides = list(results)
    rows: dict[str, dict[str, str]] = {}
    for side in sides:
        for k, v in rows_of(results[side]):
            rows.setdefault(k, {})[side] = v
    w0 = max(len(k) for k in rows) + 2
    widths = [max(len(side), *(len(r.get(side, "")) for r in rows.values())) + 2 for side in sides]
    log(f"\n{title}")
    log("".ljust(w0) + "".join(s.ljust(w) for s, w in zip(sides, widths, strict=True)))
    for k, r in rows.items():
        log(
            k.ljust(w0)
            + "".join(r.get(s, "—").ljust(w) for s, w in zip(sides, widths, strict=True))
        )
    for side in sides:
        for e in sorted(set(results[side].get("errors", [])))[:10]:
            log(f"  {side}: {e}")


# --------------------------------------------------------------------------- main


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="a SQLite store, or 'reference'")
    parser.add_argument("--reps", type=int, default=20, help="requests per filter change kind")
    parser.add_argument(
        "--legacy-reps", type=int, default=5, help="the same for the old path (it is slow)"
    )
    parser.add_argument("--starts", type=int, default=3, help="server starts (median)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the filter values")
    parser.add_argument("--start-timeout", type=float, default=300.0)
    parser.add_argument("--request-timeout", type=float, default=180.0)
    parser.add_argument(
        "--snapshot-wait", type=float, default=300.0, help="wait for a summary snapshot"
    )
    parser.add_argument("--page-timeout", type=float, default=60.0, help="a table page's limit")
    parser.add_argument(
        "--kind-budget", type=float, default=600.0, help="seconds per change kind at most"
    )
    parser.add_argument("--legacy-rev", default=LEGACY_REV)
    parser.add_argument("--legacy-tree", default="/tmp/legacy-atlas")
    parser.add_argument("--no-legacy", action="store_true", help="measure this tree only")
    parser.add_argument("--no-csv", action="store_true", help="leave the CSV (f) out")
    parser.add_argument("--keep-legacy", action="store_true", help="keep the worktree after")
    parser.add_argument("--rebuild-legacy-store", action="store_true")
    parser.add_argument(
        "--new-rev",
        help="measure this commit (checked out into a temporary worktree) instead of the "
        "working tree: a tree others edit during a run changes its callbacks under it",
    )
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    run_dir = OUT / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="atlas-scale-", dir=run_dir)
    legacy_tree = Path(args.legacy_tree)
    made_tree = False
    new_tree, new_label, made_new = ROOT, "this tree", False
    results: dict[str, dict[str, Any]] = {}
    try:
        if args.new_rev:
            sha = subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short", args.new_rev],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            new_tree, new_label = Path(f"/tmp/atlas-bench-{sha}"), f"new ({sha})"
            made_new = ensure_legacy_tree(new_tree, sha)
        sides: list[tuple[str, Path, str]] = []
        if args.store == "reference":
            info = {"figures": None, "n": 0}
            new_url = reference_store(new_tree, Path(tmp.name) / "new.sqlite")
            title_store = "the reference data"
        else:
            src = Path(args.store).resolve()
            info = store_info(src)
            log(f"store {src}: {info['figures']:,} figures, {info['pairings']:,} pairings")
            new_url = copy_store(src, Path(tmp.name) / "new.sqlite")
            title_store = f"{src.name} ({info['figures']:,} figures)"
        sides.append((new_label, new_tree, new_url))
        legacy_note = None
        if not args.no_legacy:
            if info.get("n") is None and args.store != "reference":
                legacy_note = "old path: the store was not made by make_store.py; not measured"
            elif (info.get("n") or 0) > LEGACY_MAX_FIGURES:
                legacy_note = (
                    f"old path: not measured above {LEGACY_MAX_FIGURES:,} figures "
                    "(it loads every row into pandas in each worker)"
                )
            else:
                made_tree = ensure_legacy_tree(legacy_tree, args.legacy_rev)
                if args.store == "reference":
                    old_url = reference_store(legacy_tree, Path(tmp.name) / "old.sqlite")
                else:
                    src_old = legacy_store(legacy_tree, info, args.rebuild_legacy_store)
                    old_url = copy_store(src_old, Path(tmp.name) / "old.sqlite")
                sides.append((f"old path ({args.legacy_rev})", legacy_tree, old_url))
        for label, tree, url in sides:
            log(f"\n== {label}: {tree} (load average {load_average()})")
            sig = ensure_recording(tree, log_dir=OUT / "logs")
            rec = find_recording(sig)
            assert rec is not None
            side_args = argparse.Namespace(**vars(args))
            if tree == legacy_tree:
                side_args.reps = min(args.reps, args.legacy_reps)
            name = "old" if tree == legacy_tree else "new"
            results[label] = measure(name, tree, url, rec, side_args)
        when = dt.date.today().isoformat()
        print_table(results, f"Scale, {title_store}, {when}, gunicorn -w 1, this machine")
        log(f"  load average at the end: {load_average()} (2 cores; other work shares them)")
        if legacy_note:
            log(f"  {legacy_note}")
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {"store": args.store, "info": info, "date": when, "results": results},
                    indent=1,
                    default=str,
                )
            )
            log(f"wrote {args.json}")
    finally:
        tmp.cleanup()
        if made_tree and not args.keep_legacy:
            remove_legacy_tree(legacy_tree)
        if made_new and not args.keep_legacy:
            remove_legacy_tree(new_tree)
        shutil.rmtree(run_dir, ignore_errors=True) if not any(run_dir.iterdir()) else None
    return 0


__all__ = ["measure", "name_of", "outputs_of"]

if __name__ == "__main__":
    sys.exit(main())
