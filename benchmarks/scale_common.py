"""Shared machinery of the scale benchmarks (issue #7): servers, HTTP, and replaying the
Dash callback requests a real browser sent (``benchmarks/recorded_callbacks.json``).

Why replay instead of calling the functions: a filter change costs what Dash's endpoint
costs, (de)serialisation and compression included, and a server answers the same bytes a
browser would get. The recorded request bodies are templates; ``DashSession`` fills each
input and state from what the server itself answered (the page layout, earlier callback
responses), as Dash's renderer does, so the bodies stay valid on any store: the map's
structure key, the filters dict and the URL come from the server under test.

Loopback only: every server binds 127.0.0.1 and every client talks to it.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
UPDATE_URL = "/_dash-update-component"
RECORDINGS = ROOT / "benchmarks" / "recorded_callbacks.json"
ACCEPT_ENCODING = "br, gzip"
HOST = "127.0.0.1"

# Control ids (components/ids.py) the filter changes set.
CONTROLS = {
    "metric": ("metric-select", "value"),
    "years": ("year-range", "value"),
    "programme": ("program-select", "value"),
    "donor": ("donor-select", "value"),
}
FILTERS_STORE = ("filters-store", "data")
# Props the page's own scripts set (dash_clientside.set_props), never a server answer: a
# request keeps the value the browser sent (the tables' grids asked for, a panel opened).
SET_IN_BROWSER = {("tables-mount", "data"), ("coverage-open", "data"), ("share-open", "data")}


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, ... of a process in kB (empty when it is gone)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key.startswith("Vm"):
                out[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return out


def rss_mb(pid: int) -> float:
    return proc_status(pid).get("VmRSS", 0) / 1024


def reset_peak(pid: int) -> None:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux clear_refs 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return sorted(out)


class Server:
    """``gunicorn -w N -b 127.0.0.1:PORT app:server`` in ``tree`` against ``url``.

    ``start()`` returns the seconds from spawning the process until ``GET /`` answers 200.
    PYTHONPATH is the tree, so an older checkout's ``twinning`` is the one imported."""

    def __init__(
        self,
        tree: Path,
        url: str,
        workers: int = 1,
        log_path: Path | None = None,
        extra_args: Iterable[str] = (),
    ) -> None:
        self.tree = Path(tree)
        self.url = url
        self.workers = workers
        self.port = free_port()
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 300.0) -> float:
        env = dict(os.environ)
        env.update(
            TWINNING_DATABASE_URL=self.url,
            TWINNING_HOST=HOST,
            TWINNING_PORT=str(self.port),
            TWINNING_DEBUG="0",
            PYTHONPATH=str(self.tree),
        )
        cmd = [
            str(VENV_BIN / "gunicorn"),
            "-w",
            str(self.workers),
            "-b",
            f"{HOST}:{self.port}",
            *self.extra_args,
            "app:server",
        ]
        if self.log_path:
            Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=self.tree, env=env, stdout=self._log, stderr=self._log, start_new_session=True
        )
        while True:
            elapsed = time.perf_counter() - t0
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode} (log {self.log_path})"
                )
            if elapsed > timeout:
                raise TimeoutError(f"no answer within {timeout:.0f} s")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
                conn.request("GET", "/")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return time.perf_counter() - t0
            except (ConnectionError, OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def worker_rss_mb(self) -> list[float]:
        return [rss_mb(p) for p in self.worker_pids()]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self.proc = None


# --------------------------------------------------------------------------- HTTP


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    raw: bytes  # as on the wire (compressed when the server compressed)
    seconds: float

    @property
    def body(self) -> bytes:
        return decode(self.raw, self.headers.get("content-encoding", ""))

    @property
    def head_bytes(self) -> int:
        """The status line and headers as HTTP/1.1 sends them (never compressed)."""
        return len(f"HTTP/1.1 {self.status} OK\r\n\r\n") + sum(
            len(k) + len(v) + 4 for k, v in self.headers.items()
        )

    def json(self) -> Any:
        return json.loads(self.body) if self.raw else None


def decode(raw: bytes, encoding: str) -> bytes:
    encoding = (encoding or "").strip().lower()
    if encoding == "br":
        import brotli

        return brotli.decompress(raw)
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "deflate":
        return zlib.decompress(raw)
    return raw


class Client:
    """One keep-alive HTTP/1.1 connection (reopened when the server closes it)."""

    def __init__(self, port: int, timeout: float = 120.0, accept: str = ACCEPT_ENCODING) -> None:
        self.port = port
        self.timeout = timeout
        self.accept = accept
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def set_timeout(self, seconds: float) -> None:
        """The limit for the next requests (also on a connection already open)."""
        self.timeout = seconds
        self.conn.timeout = seconds
        if self.conn.sock is not None:
            self.conn.sock.settimeout(seconds)

    def request(
        self, method: str, path: str, body: bytes | None = None, extra: dict | None = None
    ) -> Response:
        headers = {"Accept-Encoding": self.accept, **(extra or {})}
        if body is not None:
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except TimeoutError:
            self.conn.close()  # the answer may still come: never read it as the next one's
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            raise
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            t0 = time.perf_counter()
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        elapsed = time.perf_counter() - t0
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        if hdrs.get("connection", "").lower() == "close":
            self.conn.close()
        return Response(resp.status, hdrs, raw, elapsed)

    def stream(self, path: str, chunk: int = 1 << 16) -> tuple[int, int, float, int, bool]:
        """GET a large response without keeping it:
        (status, bytes, seconds, newlines, complete: False if the server broke it off)."""
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        resp = conn.getresponse()
        total = lines = 0
        complete = True
        while True:
            try:
                piece = resp.read(chunk)
            except (http.client.IncompleteRead, ConnectionError) as exc:
                piece = getattr(exc, "partial", b"") or b""
                lines += piece.count(b"\n")
                total += len(piece)
                complete = False
                break
            if not piece:
                break
            lines += piece.count(b"\n")
            total += len(piece)
        conn.close()
        return resp.status, total, time.perf_counter() - t0, lines, complete

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------- Dash


def cid(id_: Any) -> str:
    """A component id as Dash writes it in responses: the string, or sorted JSON."""
    if isinstance(id_, dict):
        return json.dumps(id_, sort_keys=True, separators=(",", ":"))
    return str(id_)


def _items(body: dict[str, Any], groups: tuple[str, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for group in groups:
        value = body.get(group)
        for item in value if isinstance(value, list) else [value]:
            for it in item if isinstance(item, list) else [item]:
                if isinstance(it, dict) and "id" in it:
                    out.append(it)
    return out


def outputs_of(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(cid(o["id"]), o["property"]) for o in _items(body, ("outputs",))}


def name_of(body: dict[str, Any]) -> str:
    return ", ".join(sorted(f"{i}.{p}" for i, p in outputs_of(body)))


def inputs_of(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(cid(i["id"]), i["property"]) for i in _items(body, ("inputs",))}


def waves(chain: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Requests grouped as the browser sends them: Dash's renderer holds a callback back
    while an earlier one that outputs one of its inputs is pending (its state it reads
    as it is when it sends); a wave's requests go out together."""
    level: list[int] = []
    for i, body in enumerate(chain):
        reads = inputs_of(body)
        deps = [level[j] + 1 for j in range(i) if outputs_of(chain[j]) & reads]
        level.append(max(deps, default=0))
    out: list[list[dict[str, Any]]] = [[] for _ in range(max(level, default=-1) + 1)]
    for body, lv in zip(chain, level, strict=True):
        out[lv].append(body)
    return out


def dependencies_signature(deps: list[dict[str, Any]]) -> str:
    """A short hash of an app's callback graph: a recording fits the app it came from."""
    parts = []
    for cb in deps:
        ins = sorted(f"{i['id']}.{i['property']}" for i in cb.get("inputs", []))
        sts = sorted(f"{s['id']}.{s['property']}" for s in cb.get("state", []))
        parts.append(f"{cb.get('output')}|{','.join(ins)}|{','.join(sts)}")
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


def is_patch(value: Any) -> bool:
    return isinstance(value, dict) and "__dash_patch_update" in value


class DashSession:
    """One browser's view of the page: component props as the server set them."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.props: dict[tuple[str, str], Any] = {}

    def set(self, id_: str, prop: str, value: Any) -> None:
        self.props[(cid(id_), prop)] = value

    def get(self, id_: str, prop: str, default: Any = None) -> Any:
        return self.props.get((cid(id_), prop), default)

    def absorb_tree(self, node: Any) -> None:
        """Props of every component with an id in a layout tree (what the page holds)."""
        if isinstance(node, list):
            for n in node:
                self.absorb_tree(n)
            return
        if not isinstance(node, dict):
            return
        props = node.get("props")
        if isinstance(props, dict) and "type" in node:
            if "id" in props:
                key = cid(props["id"])
                for k, v in props.items():
                    if k != "children":
                        self.props[(key, k)] = v
            for v in props.values():
                if isinstance(v, dict | list):
                    self.absorb_tree(v)

    def absorb_response(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        response = payload.get("response", {})
        for id_, props in response.items():
            for prop, value in props.items():
                if is_patch(value):
                    continue
                self.props[(id_, prop)] = value
                if isinstance(value, dict | list):
                    self.absorb_tree(value)

    def fill(self, body: dict[str, Any]) -> dict[str, Any]:
        new = copy.deepcopy(body)
        for item in _items(new, ("inputs", "state")):
            key = (cid(item["id"]), item["property"])
            if key in self.props and key not in SET_IN_BROWSER:
                item["value"] = self.props[key]
        return new

    def post(self, body: dict[str, Any]) -> Response:
        """Fill and send one recorded callback request; absorb what it answers."""
        return self.send(self.fill(body))

    def send(self, filled: dict[str, Any]) -> Response:
        """Send a filled callback request; absorb what it answers."""
        resp = self.client.request("POST", UPDATE_URL, json.dumps(filled).encode())
        if resp.status == 200:
            self.absorb_response(resp.json())
        return resp

    def load_layout(self, location: str | None = None) -> Response:
        """The layout, as the page asks for it: naming its address (``location``, as
        assets/first_view.js does), the page and its first map come with it."""
        extra = {"X-Atlas-Location": location} if location else None
        resp = self.client.request("GET", "/_dash-layout", extra=extra)
        tree = resp.json()
        self.absorb_tree(tree)
        return resp

    def open_page(self, query: str) -> Response:
        """What the browser has before the first callback: the URL and the layout of the
        page at ``/{query}`` (its answer returned: part of the first view's time)."""
        resp = self.load_layout("/" + query)
        self.set("url", "pathname", "/")
        self.set("url", "search", query)
        self.set("url", "href", f"http://{HOST}:{self.client.port}/{query}")
        return resp


# The map's callback names a view whose reconciled headline totals follow (#7); the page
# then asks for them (components/callbacks.py ``follow_totals``). Not in a recording made
# on the reference data, whose totals never wait: the benchmarks send it themselves.
TOTALS_PENDING = ("totals-pending-store", "data")


def totals_follow_body(session: DashSession) -> dict[str, Any] | None:
    """The body of the follow-up request of the totals the last change left pending (None:
    none pending); ``session.set(*TOTALS_PENDING, None)`` once it is sent."""
    pending = session.get(*TOTALS_PENDING)
    if not pending:
        return None
    return {
        "output": "totals-follow-store.data",
        "outputs": {"id": "totals-follow-store", "property": "data"},
        "inputs": [{"id": TOTALS_PENDING[0], "property": "data", "value": pending}],
        "state": [{"id": FILTERS_STORE[0], "property": FILTERS_STORE[1],
                   "value": session.get(*FILTERS_STORE)}],
        "changedPropIds": [f"{TOTALS_PENDING[0]}.data"],
    }  # fmt: skip


# the page's pause between two asks for totals not yet worked out (FOLLOW_PAUSE_MS), and
# the most it asks (FOLLOW_ASKS: the server answers nothing past it)
FOLLOW_PAUSE_S = 0.4
FOLLOW_ASKS = 15


def next_ask(body: dict[str, Any], payload: Any) -> dict[str, Any] | None:
    """The body the page sends again when the follow-up ``body`` was answered "not yet"
    (``payload``: the view's key and the next ask's number), else None."""
    if not isinstance(payload, dict):
        return None
    data = payload.get("response", {}).get("totals-follow-store", {}).get("data")
    if not (isinstance(data, dict) and "ask" in data and "headlines" not in data):
        return None
    again = json.loads(json.dumps(body))
    again["inputs"][0]["value"] = {"key": data.get("key"), "ask": data.get("ask")}
    return again


def follow_totals(session: DashSession) -> tuple[list[Response], float] | None:
    """The follow-up requests of the totals the last change left pending, as the page
    sends them (again after FOLLOW_PAUSE_S while they are not ready): the answers and the
    seconds until the last (None: none pending)."""
    body = totals_follow_body(session)
    if body is None:
        return None
    session.set(*TOTALS_PENDING, None)
    t0 = time.perf_counter()
    answers = []
    for _ in range(FOLLOW_ASKS):
        r = session.send(body)
        answers.append(r)
        body = next_ask(body, r.json()) if r.status == 200 else None
        if body is None:
            break
        time.sleep(FOLLOW_PAUSE_S)
    return answers, time.perf_counter() - t0


@dataclass
class ChainResult:
    seconds: float  # sum of the requests' times (the server's work, one at a time)
    critical: float  # sum over waves of the slowest request (what a browser waits)
    wire_bytes: int  # the answers' bodies as sent (compressed)
    body_bytes: int  # the same, decompressed
    per_callback: list[tuple[str, float, int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    head_bytes: int = 0  # the answers' status lines and headers


def replay_chain(session: DashSession, chain: list[dict[str, Any]]) -> ChainResult:
    """The chain's requests one at a time, wave by wave (the server's time, summed)."""
    res = ChainResult(0.0, 0.0, 0, 0)
    for wave in waves(chain):
        slowest = 0.0
        # a wave's requests go out together: each reads the page as it was before any
        # of their answers
        filled = [session.fill(body) for body in wave]
        for body, ready in zip(wave, filled, strict=True):
            try:
                r = session.send(ready)
            except (TimeoutError, OSError) as exc:
                res.errors.append(f"{name_of(body)}: {exc!r}")
                continue
            if r.status not in (200, 204):
                res.errors.append(f"{name_of(body)}: HTTP {r.status} {r.body[:200]!r}")
            res.seconds += r.seconds
            slowest = max(slowest, r.seconds)
            res.wire_bytes += len(r.raw)
            res.body_bytes += len(r.body)
            res.head_bytes += r.head_bytes
            res.per_callback.append((name_of(body), r.seconds, len(r.raw), len(r.body)))
        res.critical += slowest
    return res


# --------------------------------------------------------------------------- recordings


def load_recordings(path: Path = RECORDINGS) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8")).get("recordings", [])


def find_recording(signature: str, path: Path = RECORDINGS) -> dict[str, Any] | None:
    for rec in load_recordings(path):
        if rec.get("signature") == signature:
            return rec
    return None


def save_recording(rec: dict[str, Any], path: Path = RECORDINGS) -> None:
    """Add (or replace) the recording of one callback graph; others are kept."""
    recs = [r for r in load_recordings(path) if r.get("signature") != rec["signature"]]
    recs.append(rec)
    doc = {
        "about": "Dash callback requests recorded from headless Chromium by "
        "benchmarks/record_callbacks.py, one recording per callback graph (signature = "
        "hash of /_dash-dependencies). The benchmarks replay them with other filter values; "
        "inputs and state are refilled from the server's own answers.",
        "recordings": recs,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def app_signature(client: Client) -> str:
    return dependencies_signature(client.request("GET", "/_dash-dependencies").json())


# --------------------------------------------------------------------------- statistics


def pct(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank on sorted samples."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]


def ms(seconds: float) -> str:
    if seconds != seconds:
        return "—"
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0995 else f"{seconds * 1000:,.1f} ms"


def kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def _main(argv: list[str] | None = None) -> int:
    """``python benchmarks/scale_common.py start --tree T --url U``: start gunicorn -w 1,
    wait until ``GET /`` answers, print the seconds, stop it (a whole command to time)."""
    import argparse

    parser = argparse.ArgumentParser(description=_main.__doc__)
    parser.add_argument("command", choices=["start"])
    parser.add_argument("--tree", default=str(ROOT))
    parser.add_argument("--url", required=True)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    server = Server(Path(args.tree), args.url, workers=1)
    try:
        secs = server.start(timeout=args.timeout)
        rss = server.worker_rss_mb()
    finally:
        server.stop()
    print(f"answered after {secs:.2f} s; worker RSS {', '.join(f'{r:,.0f} MB' for r in rss)}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
