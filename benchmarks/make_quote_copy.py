"""A copy of a benchmark store whose figures quote millions of distinct texts (issue #7).

``make_store.py`` leaves every synthetic figure's quote empty. Offices quote the line of
the document a figure comes from, so a register of 10 M figures can quote millions of
distinct texts, and a grid's text filter on the quote then reads them all. This copies a
store (SQLite's backup) and gives each synthetic figure a quote made from its id and the
seed: a tenth none, a tenth empty, the rest
``"{year}年对口支援工作总结 第{page}页: 资金{amount}万元"`` (years 1995-2023, pages 1-999,
amounts 1-2,999,999: at 10 M figures ~8 M distinct texts). The reference figures keep
their own quotes. The store's revision is bumped, so its data version (and snapshots)
are its own.

Synthetic, seeded, for benchmarks only: the texts name no real document.

Run: ``.venv/bin/python benchmarks/make_quote_copy.py --store var/bench/store-10m.sqlite \
      --out var/bench/store-10m-quotes.sqlite --seed 7``
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

SYNTHETIC = "synthetic benchmark data%"


def make_copy(store: Path, out: Path, seed: int) -> int:
    """Copy ``store`` to ``out`` and quote its synthetic figures; the figures quoted."""
    src = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)
        # a multiplicative hash of the id and the seed (Knuth's), as SQLite's integers do
        h = f"((id * 2654435761 + {int(seed)} * 40503) % 4294967296)"
        quote = (
            f"CASE WHEN {h} % 10 = 0 THEN NULL WHEN {h} % 10 = 1 THEN '' ELSE "
            f"(1995 + ({h} / 10) % 29) || '年对口支援工作总结 第' || (1 + ({h} / 290) % 999) "
            f"|| '页: 资金' || (1 + ({h} * 7 / 3) % 2999999) || '万元' END"
        )
        with dst:
            cur = dst.execute(
                f"UPDATE figures SET quote = {quote} WHERE source LIKE ?", (SYNTHETIC,)
            )
            dst.execute(
                "UPDATE meta SET value = CAST(COALESCE(value, '0') AS INTEGER) + 1 "
                "WHERE key = 'revision'"
            )
        return cur.rowcount
    finally:
        src.close()
        dst.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="a SQLite store from make_store.py")
    parser.add_argument("--out", required=True, help="the copy to create (must not exist)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    store, out = Path(args.store).resolve(), Path(args.out).resolve()
    if out.exists():
        parser.error(f"{out} exists")
    started = time.perf_counter()
    try:
        quoted = make_copy(store, out, args.seed)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    print(f"{out}: {quoted:,} figures quoted in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
