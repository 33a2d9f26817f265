"""The atlas as production runs it: gunicorn with the project's gunicorn.conf.py.

The master opens (creates, upgrades, seeds) the store in a child process and imports the
modules every worker needs before it forks them (#7); these tests start the real server
on loopback and ask it for a page, the layout and a callback's answer through workers
forked that way.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {
        **os.environ,
        "TWINNING_DATABASE_URL": f"sqlite:///{folder / 'store.sqlite'}",
        "TWINNING_CACHE_DIR": str(folder / "cache"),
    }
    log = open(folder / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(GUNICORN), "-w", "2", "-b", f"127.0.0.1:{port}", "app:server"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(origin + "/", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "gunicorn did not answer:\n" + (folder / "gunicorn.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield origin
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.read()


def test_gunicorn_workers_answer_the_page_and_its_callbacks(server) -> None:
    status, page = _get(server + "/?level=county&metric=funds_cny&lang=en")
    assert status == 200 and b"<html" in page
    # once a worker's warm-up has made the county boundaries, its pages preload them
    deadline = time.monotonic() + 60
    while b'rel="preload" href="/geo/county-' not in page and time.monotonic() < deadline:
        time.sleep(0.5)
        page = _get(server + "/?level=county&metric=funds_cny&lang=en")[1]
    assert b'rel="preload" href="/geo/county-' in page
    status, layout = _get(server + "/_dash-layout")
    assert status == 200 and json.loads(layout)
    output = "..page.children...page-shown-store.data.."
    status, deps = _get(server + "/_dash-dependencies")
    assert status == 200 and any(d["output"] == output for d in json.loads(deps))
    # every worker answers (several requests spread over both), each a callback's answer
    body = json.dumps(
        {
            "output": output,
            "outputs": [
                {"id": "page", "property": "children"},
                {"id": "page-shown-store", "property": "data"},
            ],
            "inputs": [{"id": "url", "property": "pathname", "value": "/"}],
            "state": [
                {"id": "url", "property": "search", "value": "?lang=en"},
                {"id": "page-shown-store", "property": "data", "value": None},
            ],
            "changedPropIds": ["url.pathname"],
        }
    ).encode()
    for _ in range(6):
        request = urllib.request.Request(
            server + "/_dash-update-component",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as r:
            answer = json.loads(r.read())
        assert r.status == 200 and answer["response"]["page"]["children"]


def test_the_atlas_allocates_arrow_memory_through_malloc() -> None:
    """Arrow's own pool (mimalloc) kept what the boundaries' and snapshots' reads used: a
    worker held ~50 MB more after its first views (#7). Importing the app chooses the
    system allocator, unless the environment names another pool."""
    code = "import components.app, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "system"
    env["ARROW_DEFAULT_MEMORY_POOL"] = "mimalloc"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "mimalloc"
