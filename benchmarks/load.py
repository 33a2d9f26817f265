"""Bounded load test of the atlas (issue #7): N simulated users against
``gunicorn -w 4 -b 127.0.0.1:PORT app:server``, loopback only.

Each user opens the page (the first view's callback requests, as Chromium sent them:
benchmarks/recorded_callbacks.json), then, until the time is up, thinks for a moment and
changes one filter at random — metric, years, programme or donor, with random values —
or asks for a page of the figures table; a change sends its callback requests as the
browser does (the filters first, then the callbacks that depend on them together).
Inputs and state are filled from the server's own answers (scale_common.DashSession).

Prints, for 10, 25 and 50 users (``--users``), ``--duration`` seconds each: requests per
second, latency p50/p95/p99 of the requests and of whole filter changes, and errors
(any status but 200/204, a refused or reset connection, or no answer within
``--timeout``). Bounded: a fixed number of users, a fixed time, one server on 127.0.0.1.

With ``--hostile N`` each level runs twice in the same server: the users alone, then the
users while N more clients loop without pause over the recorded requests with malformed or
maximal values (a million years, wrong types, bad levels, 10,000-item lists, broken JSON;
issue #12); it prints the users' figures of both runs and the status codes the hostile
clients got (any 5xx, or no answer, is listed). ``--reference`` serves a fresh store of the
reference data made in /tmp. A copied SQLite store starts with the summary snapshot its
writer would have left after the commit (``refresh_snapshot``, timed and printed), unless
``--cold-summary``: then the workers write it while the first users click.

Run: ``.venv/bin/python benchmarks/load.py --store var/bench/store-1m.sqlite``
     ``.venv/bin/python benchmarks/load.py --reference --users 10 --duration 20 --hostile 2``
     ``.venv/bin/python benchmarks/load.py --postgres 1000000`` (a throwaway PostgreSQL)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from bench_scale import (
    BASE_QUERY,
    SYNTHETIC_METRICS,
    copy_store,
    option_values,
    store_info,
    write_snapshot,
)
from record_callbacks import ensure_recording
from scale_common import (
    ACCEPT_ENCODING,
    CONTROLS,
    FOLLOW_ASKS,
    FOLLOW_PAUSE_S,
    HOST,
    ROOT,
    TOTALS_PENDING,
    UPDATE_URL,
    Client,
    DashSession,
    Server,
    decode,
    find_recording,
    ms,
    name_of,
    next_ask,
    pct,
    totals_follow_body,
    waves,
)

OUT = ROOT / "var" / "bench"


# --------------------------------------------------------------------------- HTTP (async)


async def http_request(
    port: int, method: str, path: str, body: bytes | None, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection (gunicorn's sync workers close it anyway)."""

    async def go() -> tuple[int, dict[str, str], bytes]:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                f"Accept-Encoding: {ACCEPT_ENCODING}\r\nConnection: close\r\n"
            )
            if body is not None:
                head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            writer.write(head.encode() + b"\r\n" + (body or b""))
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.split()
            if len(parts) < 2:
                raise ConnectionError(f"bad status line {status_line[:80]!r}")
            status = int(parts[1])
            headers: dict[str, str] = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            if "content-length" in headers:
                data = await reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    if size == 0:
                        break
                    data += await reader.readexactly(size)
                    await reader.readline()
            else:
                data = await reader.read()
            return status, headers, data
        finally:
            writer.close()

    return await asyncio.wait_for(go(), timeout)


def server_timing(header: str) -> dict[str, float]:
    """``app;dur=12.5, cpu;dur=9.0`` -> {"app": 0.0125, "cpu": 0.009} (seconds)."""
    found: dict[str, float] = {}
    for part in header.split(","):
        name, _, rest = part.strip().partition(";")
        if rest.startswith("dur="):
            with contextlib.suppress(ValueError):
                found[name] = float(rest[4:]) / 1000
    return found


# --------------------------------------------------------------------------- users


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    by_callback: dict[str, list[float]] = field(default_factory=dict)
    # the worker's own wall and CPU seconds (Server-Timing), per callback
    server_by_callback: dict[str, list[float]] = field(default_factory=dict)
    cpu_by_callback: dict[str, list[float]] = field(default_factory=dict)
    changes: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    wire: int = 0


class User:
    def __init__(self, n: int, port: int, rec: dict, base: DashSession, args: Any, stats: Stats):
        self.rng = random.Random(args.seed * 1000 + n)
        self.port = port
        self.steps = rec["steps"]
        self.args = args
        self.stats = stats
        # each user starts from the page as the server drew it for a first visitor
        self.s = DashSession(base.client)
        self.s.props = dict(base.props)
        self.metrics = [m for m in SYNTHETIC_METRICS if m in option_values(base, "metric-select")]
        self.metrics = self.metrics or option_values(base, "metric-select")
        self.programmes = option_values(base, "program-select")
        self.donors = option_values(base, "donor-select")
        self.years = (
            int(base.get("year-range", "min") or 1994),
            int(base.get("year-range", "max") or 2024),
        )
        self.base_props = dict(base.props)
        grid = [b for b in self.steps.get("table", []) if "getRowsRequest" in json.dumps(b)]
        self.grid = grid[0] if grid else None

    async def post(self, body: dict, fill: bool = True) -> Any:
        """Send ``body`` (filled from the page's props unless ``fill`` is False); the
        answer's JSON, absorbed into the page, or None."""
        filled = self.s.fill(body) if fill else body
        name = name_of(body)
        t0 = time.perf_counter()
        try:
            status, headers, raw = await http_request(
                self.port, "POST", UPDATE_URL, json.dumps(filled).encode(), self.args.timeout
            )
        except TimeoutError:
            self.stats.errors.append(f"{name}: no answer within {self.args.timeout:.0f} s")
            return
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            self.stats.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            return
        elapsed = time.perf_counter() - t0
        self.stats.latencies.append(elapsed)
        self.stats.by_callback.setdefault(name, []).append(elapsed)
        self.stats.wire += len(raw)
        timing = server_timing(headers.get("server-timing", ""))
        if "app" in timing:
            self.stats.server_by_callback.setdefault(name, []).append(timing["app"])
            self.stats.cpu_by_callback.setdefault(name, []).append(timing.get("cpu", 0.0))
        if status == 200:
            try:
                payload = json.loads(decode(raw, headers.get("content-encoding", "")))
                self.s.absorb_response(payload)
                return payload
            except ValueError as exc:
                self.stats.errors.append(f"{name}: bad JSON ({exc})")
        elif status != 204:
            self.stats.errors.append(f"{name}: HTTP {status}")

    async def chain(self, chain: list[dict], kind: str) -> None:
        t0 = time.perf_counter()
        self.s.set(*TOTALS_PENDING, None)
        for wave in waves(chain):
            await asyncio.gather(*(self.post(b) for b in wave))
        self.stats.changes.setdefault(kind, []).append(time.perf_counter() - t0)
        # reconciled totals the map's answer left pending: the page asks for them after
        # the map is drawn (a request of the load, not of the change's time)
        follow = totals_follow_body(self.s)
        self.s.set(*TOTALS_PENDING, None)
        for _ in range(FOLLOW_ASKS):
            if follow is None:
                break
            follow = next_ask(follow, await self.post(follow, fill=False))
            if follow is not None:  # not yet worked out: the page asks again in a while
                await asyncio.sleep(FOLLOW_PAUSE_S)

    def change(self, kind: str) -> None:
        r = self.rng
        if kind == "metric":
            value: Any = r.choice(self.metrics)
        elif kind == "years":
            lo, hi = self.years
            a = r.randint(lo, hi - 1)
            value = [a, r.randint(a + 1, hi)]
        elif kind == "programme":
            k = r.randint(0, len(self.programmes))
            value = sorted(r.sample(self.programmes, k))
        else:
            value = r.choice([None, *self.donors])
        self.s.set(*CONTROLS[kind], value)

    async def run(self, until: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.args.ramp))
        await self.chain(self.steps["first_view"], "first view")
        kinds = [*CONTROLS, "table"] if self.grid else list(CONTROLS)
        while time.perf_counter() < until:
            await asyncio.sleep(self.rng.uniform(self.args.think_min, self.args.think_max))
            if time.perf_counter() >= until:
                break
            kind = self.rng.choice(kinds)
            if kind == "table":
                body = json.loads(json.dumps(self.grid))
                for item in body["inputs"]:
                    if item.get("property") == "getRowsRequest":
                        start = self.rng.randrange(0, 5000, 100)
                        item["value"] = {
                            **(item.get("value") or {}),
                            "startRow": start,
                            "endRow": start + 100,
                            "sortModel": [],
                            "filterModel": {},
                        }
                await self.chain([body], "table page")
                continue
            self.change(kind)
            await self.chain(self.steps[kind], kind)


async def run_level(
    port: int, users: int, rec: dict, base: DashSession, args: Any, hostile: int = 0
) -> dict:
    stats = Stats()
    t0 = time.perf_counter()
    until = t0 + args.duration
    crowd = [User(i, port, rec, base, args, stats) for i in range(users)]
    attackers = [Hostile(i, port, rec, base, args) for i in range(hostile)]
    await asyncio.gather(*(u.run(until) for u in crowd), *(h.run(until) for h in attackers))
    wall = time.perf_counter() - t0
    statuses: dict[str, int] = {}
    for h in attackers:
        for k, v in h.status.items():
            statuses[k] = statuses.get(k, 0) + v
    hostile_lat = [x for h in attackers for x in h.latencies]
    lat = stats.latencies
    changes = [x for k, v in stats.changes.items() if k != "first view" for x in v]
    return {
        "users": users,
        "hostile": hostile,
        "hostile_requests": len(hostile_lat),
        "hostile_status": dict(sorted(statuses.items())),
        "hostile_p50_s": pct(hostile_lat, 50),
        "hostile_p95_s": pct(hostile_lat, 95),
        "hostile_server_errors": sorted({e for h in attackers for e in h.server_errors})[:10],
        "seconds": wall,
        "requests": len(lat),
        "rps": len(lat) / wall,
        "p50_s": pct(lat, 50),
        "p95_s": pct(lat, 95),
        "p99_s": pct(lat, 99),
        "change_p50_s": pct(changes, 50),
        "change_p95_s": pct(changes, 95),
        "changes": len(changes),
        "errors": len(stats.errors),
        "error_samples": sorted(set(stats.errors))[:5],
        "by_callback": {
            k: {
                "n": len(v),
                "p50_s": pct(v, 50),
                "p95_s": pct(v, 95),
                "p99_s": pct(v, 99),
                "server_p50_s": pct(stats.server_by_callback.get(k, []), 50),
                "server_p95_s": pct(stats.server_by_callback.get(k, []), 95),
                "cpu_s": sum(stats.cpu_by_callback.get(k, [])),
            }
            for k, v in stats.by_callback.items()
        },
        "wire_mb": stats.wire / 1e6,
    }


# --------------------------------------------------------------------------- hostile clients


def hostile_values() -> list[Any]:
    """Malformed and maximal values for any control or store (issue #12): the shapes the
    hostile-view tests replay (a million years, wrong types, bad levels, string years) and
    some bigger (10,000-item lists, 100 KB strings, numbers past any range)."""
    return [
        [0, 1_000_000],
        [-(10**9), 10**9],
        [1949, 3000],
        "2006",
        ["2006", "x"],
        [None, None],
        [{"a": 1}, []],
        [2010],
        {"m": 1},
        ["county"],
        "no-such-level",
        ["east_west_cooperation"] * 10_000,
        [str(i) for i in range(10_000)],
        "x" * 100_000,
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        10**30,
        -1,
        1e308,
        True,
        None,
        [],
        {},
    ]


class Hostile:
    """A client that loops without pause over the recorded callback requests with one or
    all of their input and state values replaced by malformed or maximal ones, plus a few
    requests malformed as HTTP (not JSON, no outputs). Counts the answers' status codes."""

    def __init__(self, n: int, port: int, rec: dict, base: DashSession, args: Any) -> None:
        self.rng = random.Random(args.seed * 7919 + n)
        self.port, self.args = port, args
        self.s = DashSession(base.client)
        self.s.props = dict(base.props)
        self.bodies = [b for chain in rec["steps"].values() for b in chain]
        self.values = hostile_values()
        self.status: dict[str, int] = {}
        self.latencies: list[float] = []
        self.server_errors: list[str] = []

    def body(self) -> tuple[bytes, str]:
        r = self.rng
        pick = r.random()
        if pick < 0.03:
            return b'{"output": "x", "inputs": [', "broken JSON"
        if pick < 0.06:
            return json.dumps({"inputs": [], "state": []}).encode(), "no output"
        body = self.s.fill(r.choice(self.bodies))
        items = [i for k in ("inputs", "state") for i in body.get(k) or []]
        chosen = items if r.random() < 0.3 else [r.choice(items)] if items else []
        for item in chosen:
            if item.get("property") == "getRowsRequest":
                item["value"] = r.choice(
                    [
                        {"startRow": 10**9, "endRow": 10**12, "sortModel": [], "filterModel": {}},
                        {"startRow": -5, "endRow": "all", "sortModel": [{"colId": "'; --"}]},
                        {"startRow": 0, "endRow": 10**7, "filterModel": {"x": {"filter": 1}}},
                        r.choice(self.values),
                    ]
                )
            else:
                item["value"] = r.choice(self.values)
        what = ", ".join(sorted({str(i.get("id"))[:40] for i in chosen})) or name_of(body)
        return json.dumps(body).encode(), what

    async def run(self, until: float) -> None:
        while time.perf_counter() < until:
            data, what = self.body()
            t0 = time.perf_counter()
            try:
                status, _headers, raw = await http_request(
                    self.port, "POST", UPDATE_URL, data, self.args.timeout
                )
                key = str(status)
            except TimeoutError:
                key, raw = "no answer", b""
            except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
                key, raw = type(exc).__name__, b""
            self.latencies.append(time.perf_counter() - t0)
            self.status[key] = self.status.get(key, 0) + 1
            if key.startswith("5") or key == "no answer":
                self.server_errors.append(f"{key} {what}: {raw[:120]!r}")


# --------------------------------------------------------------------------- PostgreSQL


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder on a free loopback port (as the store's
    tests start one), with one database built by make_store.py; removed at the end."""

    def __init__(self, figures: int, seed: int, tree: Path) -> None:
        import glob
        import os
        import shutil
        import subprocess

        from scale_common import free_port

        def binary(name: str) -> str:
            found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
            if not found[-1]:
                raise SystemExit(f"PostgreSQL's {name} not found (bash scripts/test.sh)")
            return found[-1]

        self.root = Path(tempfile.mkdtemp(prefix="atlas-load-pg-", dir="/tmp"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            shutil.chown(self.root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        data, self.port = self.root / "data", free_port()
        self.pg_ctl = [*self.as_user, binary("pg_ctl"), "-D", str(data)]
        self.subprocess = subprocess
        steps = [
            [*self.as_user, binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            [
                *self.pg_ctl,
                "-o",
                f"-k {self.root} -p {self.port} -h 127.0.0.1 -c max_connections=200",
                "-l",
                str(self.root / "server.log"),
                "-w",
                "start",
            ],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{step[len(self.as_user)]} failed: {done.stderr[-800:]}")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/atlas"
        subprocess.run(
            [*self.as_user, binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", "atlas"],
            check=True,
        )  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "make_store.py"), "--url", self.url,
             "--figures", str(figures), "--seed", str(seed)],
            cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True,
        )  # fmt: skip
        print(f"PostgreSQL store of {figures:,} figures built in {time.perf_counter() - t0:.0f} s")

    def stop(self) -> None:
        import shutil

        self.subprocess.run([*self.pg_ctl, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


# --------------------------------------------------------------------------- main


def shared_cache_size(folder: Path) -> str:
    """The answers the workers share (twinning.query.cache) beside the store's copy: how
    many, how big (their lock files left out); "none" for a tree without it."""
    sizes = []
    for p in folder.rglob("*") if folder.is_dir() else []:
        if p.parent.name.endswith(".locks"):
            continue
        try:  # a worker may be writing (or have just replaced) a file as we look
            if p.is_file():
                sizes.append(p.stat().st_size)
        except FileNotFoundError:
            continue
    if not sizes:
        return "none"
    return f"{len(sizes):,} answers, {sum(sizes) / 1e6:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default=str(OUT / "store-1m.sqlite"), help="SQLite store")
    parser.add_argument("--url", help="or a store's database URL (used as is, not copied)")
    parser.add_argument(
        "--postgres",
        type=int,
        metavar="FIGURES",
        help="or a throwaway PostgreSQL (loopback) with a make_store.py store of FIGURES",
    )
    parser.add_argument("--store-seed", type=int, default=7, help="make_store's seed")
    parser.add_argument("--users", default="10,25,50", help="concurrent users, one run each")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--think-min", type=float, default=1.0, help="a user's pause, from")
    parser.add_argument("--think-max", type=float, default=3.0, help="a user's pause, to")
    parser.add_argument("--ramp", type=float, default=5.0, help="users arrive within this")
    parser.add_argument("--timeout", type=float, default=30.0, help="a request's time limit")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--tree", default=str(ROOT), help="the checkout to serve")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--hostile",
        type=int,
        default=0,
        metavar="N",
        help="also run each level with N clients sending malformed or maximal callback "
        "requests without pause (#12): the users' figures without and with them, in one run",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="serve a fresh store of the reference data (made in /tmp by the tree's code)",
    )
    parser.add_argument(
        "--cold-summary",
        action="store_true",
        help="start without the summary snapshot a writer leaves after its commit: the "
        "workers write it while the first users click (SQL answers until then)",
    )
    args = parser.parse_args(argv)
    users = [int(u) for u in args.users.split(",") if u.strip()]
    if max(users) > 200 or args.duration > 900:
        parser.error("bounded: at most 200 users and 900 s per run")

    tree = Path(args.tree).resolve()
    # --reference keeps out of var/bench (its stores, its logs) altogether
    logs = Path(tempfile.gettempdir()) / "atlas-load-logs" if args.reference else OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    sig = ensure_recording(tree, log_dir=logs)
    rec = find_recording(sig)
    assert rec is not None
    pg = ThrowawayPostgres(args.postgres, args.store_seed, tree) if args.postgres else None
    if pg is not None:
        args.url = pg.url
    with tempfile.TemporaryDirectory(
        prefix="atlas-load-", dir="/tmp" if args.reference else OUT
    ) as tmp:
        if args.reference:
            from record_callbacks import reference_store

            url = reference_store(tree, Path(tmp) / "reference.sqlite")
            what = "the reference data"
        elif args.url:
            url, what = args.url, args.url.split("@")[-1]
            if pg is not None:
                what = f"PostgreSQL ({args.postgres:,} figures)"
        else:
            src = Path(args.store).resolve()
            info = store_info(src)
            what = f"{src.name} ({info['figures']:,} figures)"
            url = copy_store(src, Path(tmp) / "load.sqlite")
            if not args.cold_summary:  # what the writer of the store leaves beside it
                snap = write_snapshot(tree, url)
                if snap is not None:
                    print(
                        f"summary snapshot written before the start (as a writer does): "
                        f"{snap:.1f} s"
                    )
        server = Server(tree, url, workers=args.workers, log_path=logs / "load-server.log")
        results = []
        try:
            started = server.start(timeout=600)
            print(f"gunicorn -w {args.workers} on {what}: answering after {started:.1f} s")
            # a first visitor (not counted): the page as every user starts from it
            client = Client(server.port, timeout=args.timeout * 4)
            base = DashSession(client)
            base.open_page(BASE_QUERY)
            for _ in range(2):  # each worker's caches: a couple of passes
                first = DashSession(client)
                first.props = dict(base.props)
                for wave in waves(rec["steps"]["first_view"]):
                    for body in wave:
                        first.post(body)
            base.props = dict(first.props)
            levels = [(n, h) for n in users for h in ([0, args.hostile] if args.hostile else [0])]
            for n, hostile in levels:
                res = asyncio.run(run_level(server.port, n, rec, base, args, hostile))
                results.append(res)
                rss = sum(server.worker_rss_mb())
                res["workers_rss_mb"] = rss
                res["shared_cache"] = shared_cache_size(Path(tmp) / "cache")
                if hostile:
                    print(
                        f"     + {hostile} hostile clients: {res['hostile_requests']} requests, "
                        f"status {res['hostile_status']}, p50 {ms(res['hostile_p50_s'])}, "
                        f"p95 {ms(res['hostile_p95_s'])}",
                        flush=True,
                    )
                    for e in res["hostile_server_errors"]:
                        print(f"       {e}")
                print(
                    f"{n:>4} users {args.duration:.0f} s: {res['rps']:6.1f} req/s, "
                    f"p50 {ms(res['p50_s'])}, p95 {ms(res['p95_s'])}, p99 {ms(res['p99_s'])}; "
                    f"a whole change p95 {ms(res['change_p95_s'])}; {res['errors']} errors; "
                    f"workers' RSS {rss:,.0f} MB; shared cache {res['shared_cache']}",
                    flush=True,
                )
                for e in res["error_samples"]:
                    print(f"       {e}")
        finally:
            server.stop()
            if pg is not None:
                pg.stop()
    print(
        f"\nLoad, {what}, gunicorn -w {args.workers}, think {args.think_min:g}–"
        f"{args.think_max:g} s, {args.duration:.0f} s per run, loopback"
    )
    print(
        f"{'users':>6}{'hostile':>8}{'req/s':>9}{'p50':>10}{'p95':>10}{'p99':>10}"
        f"{'change p95':>12}{'errors':>8}  hostile answers"
    )
    for r in results:
        answers = ", ".join(f"{k}: {v}" for k, v in r["hostile_status"].items())
        print(
            f"{r['users']:>6}{r['hostile']:>8}{r['rps']:>9.1f}{ms(r['p50_s']):>10}"
            f"{ms(r['p95_s']):>10}{ms(r['p99_s']):>10}{ms(r['change_p95_s']):>12}"
            f"{r['errors']:>8}  {answers}"
        )
    if results:
        worst = results[-1]
        cpu_all = sum(v["cpu_s"] for v in worst["by_callback"].values()) or 1.0
        print(
            f"\ncallbacks at {worst['users']} users: latency p50/p95 as the user saw it, the "
            "worker's own time p50/p95 (Server-Timing), share of all CPU"
        )
        for k, v in sorted(worst["by_callback"].items(), key=lambda kv: -kv[1]["cpu_s"]):
            print(
                f"  {k[:52]:<54}n={v['n']:<5} {ms(v['p50_s']):>8} {ms(v['p95_s']):>8}"
                f"   server {ms(v['server_p50_s']):>8} {ms(v['server_p95_s']):>8}"
                f"   cpu {100 * v['cpu_s'] / cpu_all:4.0f} %"
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"store": what, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
