"""Record the Dash callback requests a real browser sends (issue #7 benchmarks).

Opens the atlas in headless Chromium (Debian's, /usr/bin/chromium; the launch flags of
tests/browser/browser_harness.py) on a server of the reference data, at the county level
with funds as the metric, then changes, as a user would, the metric, the year range, the
programme and the donor, opens the figures table and scrolls it, and (where the CSV is
a callback, as in the old app) asks for the CSV. Every request to
``/_dash-update-component`` is kept, grouped by step, in
``benchmarks/recorded_callbacks.json`` under the signature of the app's callback graph.
bench_scale.py and load.py replay them with other values; re-record when the callbacks
change (they do so themselves when no recording fits the server they test).

Run: ``.venv/bin/python benchmarks/record_callbacks.py [--tree PATH] [--force]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_common import (
    ROOT,
    UPDATE_URL,
    Client,
    Server,
    app_signature,
    find_recording,
    name_of,
    save_recording,
)

QUERY = {"level": "county", "metric": "funds_cny", "lang": "en"}
STEPS = (
    ("metric", "metric-select", "projects"),
    ("years", "year-range", (2005, 2015)),
    ("programme", "program-select", ["east_west_cooperation"]),
    ("donor", "donor-select", "310000"),
)


class _Origin:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def url(self, path: str = "/", **params: Any) -> str:
        from urllib.parse import urlencode

        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.origin}{path}" + (f"?{query}" if query else "")


def _last_of_each(posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A slider commits more than once: keep each callback's last request, in order."""
    last: dict[str, dict[str, Any]] = {}
    for body in posts:
        key = name_of(body)
        last.pop(key, None)
        last[key] = body
    return list(last.values())


def record(origin: str) -> dict[str, Any]:
    """Drive the page at ``origin`` and return the requests of each step."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from browser_harness import (
        CHROMIUM_FLAGS,
        MAP_DRAWN_JS,
        chromium_path,
        new_browser_page,
        set_control,
    )

    path = chromium_path()
    if path is None:
        raise SystemExit("Chromium not found: run `bash scripts/setup.sh --test` first")
    steps: dict[str, list[dict[str, Any]]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        context, bp = new_browser_page(browser, _Origin(origin))
        page = bp.page
        posts: list[dict[str, Any]] = []

        def on_request(r: Any) -> None:
            if UPDATE_URL in r.url and r.method == "POST":
                posts.append(json.loads(r.post_data or "{}"))

        page.on("request", on_request)
        bp.open("/", **QUERY)
        page.wait_for_function(MAP_DRAWN_JS, polling="raf", timeout=120_000)
        bp.settle(timeout_ms=120_000)
        if page.locator("#table-pairings-slot").count():
            # the grids come once the map has drawn (assets/tables_later.js): the first
            # view ends with the pairings' first block, not in the next step's requests
            page.locator("#table-pairings .ag-row").first.wait_for(timeout=120_000)
            bp.settle(timeout_ms=120_000)
        steps["first_view"] = list(posts)
        for kind, control, value in STEPS:
            posts.clear()
            set_control(page, control, value)
            bp.settle(timeout_ms=120_000)
            steps[kind] = _last_of_each(posts)
        # the figures table: open its tab, then scroll far down (a second block of rows)
        posts.clear()
        tabs = page.locator("#table-tabs .tab")
        if tabs.count() >= 2:
            tabs.nth(1).click()
            bp.settle(timeout_ms=120_000)
            page.evaluate(
                """() => { try { const api = window.dash_ag_grid.getApi('table-figures');
                   api.ensureIndexVisible(450, 'top'); } catch (e) {} }"""
            )
            bp.settle(timeout_ms=120_000)
        steps["table"] = list(posts)
        # the CSV, where it is a callback (the old app's button); a link is a plain GET
        posts.clear()
        button = page.locator("#download-csv-button")
        if button.count() and button.evaluate("el => el.tagName") == "BUTTON":
            with page.expect_download(timeout=120_000):
                button.click()
            bp.settle(timeout_ms=120_000)
        steps["csv"] = list(posts)
        errors = bp.log.errors()
        context.close()
        browser.close()
    if errors:
        print("  console errors while recording:", *errors[:5], sep="\n    ")
    return steps


def reference_store(tree: Path, out: Path) -> str:
    """A fresh store of the reference data, created by ``tree``'s own code."""
    url = f"sqlite:///{out}"
    code = "import sys; from twinning.store import open_store; open_store(sys.argv[1]).dispose()"
    subprocess.run(
        [sys.executable, "-c", code, url],
        cwd=tree,
        env={**__import__("os").environ, "PYTHONPATH": str(tree)},
        check=True,
    )
    return url


def ensure_recording(tree: Path, force: bool = False, log_dir: Path | None = None) -> str:
    """The signature of ``tree``'s app; recorded first if no recording fits it."""
    with tempfile.TemporaryDirectory(prefix="atlas-record-") as tmp:
        url = reference_store(tree, Path(tmp) / "reference.sqlite")
        log = (log_dir / "record-server.log") if log_dir else None
        server = Server(tree, url, workers=1, log_path=log)
        try:
            server.start(timeout=120)
            sig = app_signature(Client(server.port))
            if find_recording(sig) is not None and not force:
                return sig
            print(f"  recording the callbacks of {tree} (signature {sig}) in Chromium …")
            steps = record(server.origin)
        finally:
            server.stop()
    rev = subprocess.run(
        ["git", "-C", str(tree), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    save_recording(
        {
            "signature": sig,
            "code": rev,
            "recorded": dt.date.today().isoformat(),
            "query": QUERY,
            "steps": steps,
        }
    )
    counts = ", ".join(f"{k} {len(v)}" for k, v in steps.items())
    print(f"  recorded ({counts} requests)")
    return sig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", default=str(ROOT), help="the checkout whose app to record")
    parser.add_argument("--force", action="store_true", help="record again even if one fits")
    args = parser.parse_args(argv)
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        raise SystemExit("gunicorn is not installed in this environment")
    sig = ensure_recording(Path(args.tree).resolve(), force=args.force)
    print(f"signature {sig}: benchmarks/recorded_callbacks.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
