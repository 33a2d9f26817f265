"""A grid's text filter on the quote at scale: its first page, and the next (issue #7).

On a store whose figures quote millions of distinct texts (``make_quote_copy.py``), a
filter typed into the figures table's quote column is measured in the query layer
(``tables.table_page``, what the grid's callback asks), each filter once per process,
three ways alternated in fresh processes:

- ``before``: the page waits for the filter's count, which reads every distinct quote's
  text (``TEXT_WALK_SECONDS = 0``, no pruning by the quotes' bitmaps): the code before;
- ``tables``: as ``now``, but without the quotes' index (as the code of 2026-12-06 15:46,
  e031d5b, but for ``tables.COUNTED_WALK_ROWS``): the page walked in SQL first (its
  total then not known yet: the grid's rowCount one more than its rows), a value the
  bitmaps say few blocks can hold, or few quotes of a sample hold, counted first, the
  figure rows and the quotes read from DuckDB's own tables;
- ``now``: a value of three characters or more found by the quotes' index
  (``write_quote_index``), then counted first; shorter ones as ``tables``.

Printed for each filter: the first page of 40 rows (the grid's block), whether it knew
the total, and the next page asked 1 s later (a visitor scrolling), medians of ``--runs``;
in id order, or sorted by ``--sort colId:desc``.

Run: ``.venv/bin/python benchmarks/bench_quote_filter.py \
      --store var/bench/store-10m-quotes.sqlite --runs 2``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILTERS = (
    "contains:对口支援",
    "contains:第88页",
    "contains:第8页",
    "contains:资金1",
    "notContains:2010年",
    "endsWith:万元",
    "startsWith:2010年",
    "contains:1995年对口支援工作总结 第112页",
    "contains:Ab",
    "contains:no such quote",
    "contains:元",
    "contains:县",
    # rare, but their pairs of characters are in every block of quotes
    "contains:112页",
    "contains:12页",
    "contains:页: 资金1999",
)
BLOCK = 40  # the grid's block of rows (components.layout.GRID_BLOCK_ROWS)
WAYS = ("before", "tables", "now")


def child(url: str, way: str, specs: list[str], sort: list[dict] | None) -> None:
    """One process, one way: each filter's first and next page, as JSON lines."""
    sys.path.insert(0, str(ROOT))
    from twinning.filters import Filters
    from twinning.query import summary, tables
    from twinning.query.atlas import AtlasData
    from twinning.store.db import open_store

    if way == "before":
        tables.TEXT_WALK_SECONDS = 0
        summary.QUOTE_GRAM_PAIRS_MAX = 0
    if way == "before":  # no DuckDB tables of the figure rows: their files
        summary.figures_native_path = lambda path: path.with_name(f"{path.stem}.no-tables")
        summary.write_figures_native = lambda path: path  # neither here nor in a child
    if way in ("before", "tables"):  # no quotes' index
        summary.quote_index_path = lambda path: path.with_name(f"{path.stem}.no-index")
        summary.write_quote_index = lambda path: path
        summary.Summary._figures_in_background = lambda self, path: None
    data = AtlasData.from_store(open_store(url))
    data.summary.wait()  # the snapshots (written once for a new data version)
    view = Filters(level="county", metric="funds_cny")
    tables.table_count(data, view, "figures")
    # a worker that has shown a page: its places' index and labels made (~0.15 s, once)
    tables.table_page(data, view, "figures", 0, BLOCK, sort)
    for spec in specs:
        op, value = spec.split(":", 1)
        model = {"quote": {"filterType": "text", "type": op, "filter": value}}
        started = time.perf_counter()
        first = tables.table_page(data, view, "figures", 0, BLOCK, sort, model)
        first_s = time.perf_counter() - started
        time.sleep(1.0)
        started = time.perf_counter()
        later = tables.table_page(data, view, "figures", BLOCK, 2 * BLOCK, sort, model)
        next_s = time.perf_counter() - started
        line = {"filter": spec, "first_ms": first_s * 1000, "known": first.total is not None,
                "next_ms": next_s * 1000, "total": later.total}  # fmt: skip
        print(json.dumps(line, ensure_ascii=False), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="a SQLite file or a database URL")
    parser.add_argument("--runs", type=int, default=2, help="processes of each way")
    parser.add_argument("--filters", default=",".join(FILTERS), help="op:value,...")
    parser.add_argument("--sort", default="", help="the grid's sort, colId:asc|desc")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sort = None
    if args.sort:
        col, _, direction = args.sort.partition(":")
        sort = [{"colId": col, "sort": direction or "asc"}]
    url = args.store if "://" in args.store else f"sqlite:///{Path(args.store).resolve()}"
    specs = args.filters.split(",")
    if args.child:
        child(url, args.child, specs, sort)
        return 0
    env = {**os.environ, "TWINNING_CACHE_DIR": os.environ.get(
        "TWINNING_CACHE_DIR", str(ROOT / "var" / "bench" / "cache"))}  # fmt: skip
    found: dict[tuple[str, str], list[dict]] = {}
    for run in range(max(1, args.runs)):
        for way in WAYS if run % 2 == 0 else WAYS[::-1]:
            out = subprocess.run(
                [sys.executable, __file__, "--store", url, "--filters", args.filters,
                 "--sort", args.sort, "--child", way],
                check=True, capture_output=True, text=True, env=env,
            )  # fmt: skip
            for line in out.stdout.splitlines():
                row = json.loads(line)
                found.setdefault((row["filter"], way), []).append(row)
            print(f"run {run + 1} {way}: done", file=sys.stderr, flush=True)
    print(f"{'filter':<40} {'rows':>10} {'first: before':>14} {'tables':>8} {'now':>8}"
          f" {'known':>6} {'next: before':>13} {'tables':>8} {'now':>8}")  # fmt: skip
    for spec in specs:
        b, q, n = (found[(spec, way)] for way in WAYS)

        def ms(rows: list[dict], key: str) -> str:
            return f"{statistics.median(r[key] for r in rows):.0f} ms"

        known = "yes" if all(r["known"] for r in n) else "no"
        cells = f"{ms(b, 'first_ms'):>14} {ms(q, 'first_ms'):>8} {ms(n, 'first_ms'):>8}"
        cells += f" {known:>6} {ms(b, 'next_ms'):>13} {ms(q, 'next_ms'):>8}"
        cells += f" {ms(n, 'next_ms'):>8}"
        print(f"{spec:<40} {n[0]['total'] or 0:>10,} {cells}")
    worst = max(statistics.median(r["first_ms"] for r in found[(s, "now")]) for s in specs)
    print(f"slowest first page now: {worst:.0f} ms (target 200 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
