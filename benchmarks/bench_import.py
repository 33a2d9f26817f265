"""Benchmark: importing a large register in bounded memory (issue 4).

    .venv/bin/python benchmarks/bench_import.py [--rows 500000]

Writes a seeded synthetic wide CSV (帮扶方, 受援县, 年度, 帮扶资金(万元), 项目数, 脱贫人口, 备注;
~50 MB at 500,000 rows), then, each in a fresh subprocess so peak memory is its own:
- ours: ``twinning.imports.keep.run_import`` into a new SQLite store (checks every row,
  resolves places, stores 3 figures per row in one transaction);
- baseline: the naive way, ``pandas.read_csv`` of the whole file, melt, ``to_sql``
  (no checks at all).
Prints rows/s and peak RSS of both and the ratios. Synthetic data only.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLACES = [
    ("上海市", "富宁县"),
    ("上海市闵行区", "广南县"),
    ("上海市", "广南县"),
    ("上海市闵行区", "富宁县"),
]


def make_file(path: Path, rows: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("帮扶方,受援县,年度,帮扶资金(万元),项目数,脱贫人口,备注\n")
        for i in range(rows):
            donor, recipient = PLACES[i % len(PLACES)]
            funds = f"{rng.randrange(1, 10_000_000) / 100:,.2f}"
            fh.write(
                f'{donor},{recipient},{2000 + rng.randrange(24)},"{funds}",'
                f"{rng.randrange(1, 50)},{rng.randrange(0, 5000)},"
                f"项目{i:07d} 产业帮扶示例备注：合成数据\n"
            )


CHILD_OURS = """
import json, resource, sys, time
sys.path.insert(0, {tests!r})
from test_import_support import tiny_gazetteer
from twinning.store.db import open_store
from twinning.imports.keep import run_import
store = open_store({url!r}, gazetteer=tiny_gazetteer())
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
r = run_import({file!r}, store, resolver=tiny_gazetteer().resolve, user="bench",
               progress=lambda rows, stored: None)
dt = time.perf_counter() - t
assert r.ok, [p.line() for p in r.report.problems[:5]]
print(json.dumps({{"seconds": dt, "rows": r.rows, "records": r.records,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_before_mb": base / 1024}}))
"""

CHILD_NAIVE = """
import json, resource, time
import pandas as pd, sqlalchemy as sa
eng = sa.create_engine({url!r})
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
df = pd.read_csv({file!r})
long = df.melt(id_vars=["帮扶方", "受援县", "年度", "备注"], var_name="metric", value_name="value")
long.to_sql("figures_naive", eng, index=False, chunksize=10000)
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "rows": len(df), "records": len(long),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_before_mb": base / 1024}}))
"""


def run_child(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        f = tmp / "register.csv"
        t = time.perf_counter()
        make_file(f, args.rows)
        size_mb = f.stat().st_size / 1048576
        print(
            f"synthetic file: {args.rows:,} rows, {size_mb:.1f} MB "
            f"(written in {time.perf_counter() - t:.1f} s)"
        )
        import os

        os.environ["TWINNING_MAX_UPLOAD_MB"] = str(int(size_mb) + 10)
        os.environ["TWINNING_UPLOAD_DIR"] = str(tmp / "uploads")
        naive = run_child(CHILD_NAIVE.format(url=f"sqlite:///{tmp / 'naive.sqlite'}", file=str(f)))
        ours = run_child(
            CHILD_OURS.format(
                tests=str(ROOT / "tests"), url=f"sqlite:///{tmp / 'store.sqlite'}", file=str(f)
            )
        )
    print(f"{'':34}{'rows/s':>10}{'seconds':>10}{'peak RSS MB':>13}{'(at start)':>12}")
    for name, r in (
        ("baseline pandas read_csv+to_sql", naive),
        ("twinning import (checked)", ours),
    ):
        print(
            f"{name:34}{r['rows'] / r['seconds']:>10,.0f}{r['seconds']:>10.1f}"
            f"{r['peak_mb']:>13.0f}{r['peak_before_mb']:>12.0f}"
        )
    grow_ours = ours["peak_mb"] - ours["peak_before_mb"]
    grow_naive = naive["peak_mb"] - naive["peak_before_mb"]
    print(
        f"memory growth during the import: ours {grow_ours:.0f} MB, baseline {grow_naive:.0f} MB"
        f" (ratio {grow_ours / max(grow_naive, 1):.2f})"
    )
    print(
        f"speed ratio (ours / baseline rows per second): "
        f"{(ours['rows'] / ours['seconds']) / (naive['rows'] / naive['seconds']):.2f}"
    )
    print(f"records stored by ours: {ours['records']:,} (3 figures per row)")


if __name__ == "__main__":
    main()
