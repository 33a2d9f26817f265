"""Time the reconciled headline totals (issue #10) on a large store, read only.

    .venv/bin/python benchmarks/bench_reconcile.py var/bench/store-1m.sqlite [--repeat 3]

Opens the store read only (no migration, no seeding: ``open_store`` is not called) with
the summary's Parquet snapshot when one of its data version is beside it, and times, for
a few views, what one headline click costs: the summary's count, the candidates (boxes or
figures) and the greedy pass, beside the plain sum the headline showed before. Prints a
table and one JSON line per view.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twinning.filters import Filters  # noqa: E402
from twinning.geo.boundaries import places_table  # noqa: E402
from twinning.query import totals  # noqa: E402
from twinning.query.atlas import AtlasData, prepare_places, where  # noqa: E402
from twinning.query.reconcile import reconcile  # noqa: E402
from twinning.query.summary import Summary, snapshot_path  # noqa: E402
from twinning.store.db import Store  # noqa: E402

VIEWS = {
    "default (all China)": Filters(),
    "Xinjiang": Filters(recipient="650000"),
    "Shanghai, 2011-2015": Filters(donor="310000", year_from=2011, year_to=2015),
    "year 2015": Filters(year=2015),
}


def open_read_only(path: Path) -> AtlasData:
    def connect() -> sqlite3.Connection:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect)
    version = Store(engine, "").data_version()
    data = AtlasData(engine=engine, places=prepare_places(places_table()), version=version)
    summary = Summary(engine, version)  # no path: the store's SQL ...
    snap = snapshot_path(create_engine(f"sqlite:///{path}"), version)
    if snap is not None and snap.exists():  # ... unless its snapshot is there: DuckDB
        summary.path = snap
    data._summary = summary
    columns = {r[1] for r in data.rows("PRAGMA table_info(figures)")}
    if "scope_group" not in columns:  # a store built before the scope table (schema 3)
        sys.modules["twinning.query.scopes"] = None  # type: ignore[assignment]
    return data


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--metric", default="funds_cny")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = open_read_only(args.store.resolve())
    print(f"store {args.store}  engine {data.summary.engine_name}  metric {args.metric}")
    for name, f in VIEWS.items():
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            cond, params = where(f, "totals")
            params["metric"] = args.metric
            (row,), t_sum = timed(
                lambda cond=cond, params=params: data.summary.rows(
                    f"SELECT SUM(n), SUM(value) FROM figure_totals WHERE {cond} "
                    "AND metric = :metric",
                    params,
                )
            )
            n = int(row[0] or 0)
            small = totals._stored(data, args.metric) <= totals.RECONCILE_FIGURES_MAX
            build = totals.figure_candidates if small else totals.box_candidates
            cands, t_cand = timed(lambda f=f, build=build: build(data, f, args.metric))
            result, t_greedy = timed(lambda cands=cands: reconcile(cands))
            for key, value in (("sum", t_sum), ("candidates", t_cand), ("greedy", t_greedy)):
                best[key] = min(best.get(key, value), value)
        total = best["sum"] + best["candidates"] + best["greedy"]
        line = {
            "view": name,
            "path": build.__name__,
            "figures": n,
            "candidates": len(cands),
            "chosen_figures": result.n_chosen,
            "at_least": result.at_least,
            "sum_all": result.sum_all,
            "plain_sum_s": round(best["sum"], 3),
            "candidates_s": round(best["candidates"], 3),
            "greedy_s": round(best["greedy"], 3),
            "total_s": round(total, 3),
        }
        print(
            f"{name:24s} {n:>9,} figures  {len(cands):>8,} candidates  "
            f"N={result.n_chosen:,}  plain sum {best['sum'] * 1000:6.0f} ms  "
            f"candidates {best['candidates'] * 1000:6.0f} ms  "
            f"greedy {best['greedy'] * 1000:6.0f} ms"
        )
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
