"""Benchmark of the store and the gazetteer (issue 2, sections 3 and 5).

Prints, from one run on this machine, each against a baseline measured in the same run:
  (a) ``open_store`` on a new SQLite file (cold: create the schema, load places from
      data/geo, build the gazetteer, validate and resolve the reference data, insert)
      against opening the same store again (warm: schema check and fingerprint only).
      Process caches (places table, gazetteer) are cleared before every run, so warm
      is what a fresh process (a gunicorn worker, the CLI) pays;
  (b) ``Gazetteer.default()`` build time (places table + name index);
  (c) resolutions per second over a mixed workload (full, short and English
      names, adcodes, 30% with a parent) with the dict index, against a naive
      resolver that scans every place per call with the same name rules, and checks
      that both give the same answers.

No pass/fail thresholds: the numbers go into the README.
Run: ``.venv/bin/python benchmarks/bench_store.py [--reps 5] [--queries 2000] [--json OUT]``
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twinning import gazetteer as gz
from twinning.geo import boundaries
from twinning.store import open_store


def _clear_caches() -> None:
    boundaries.clear_cache()
    gz._default_gazetteer.cache_clear()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_open(reps: int) -> dict[str, float]:
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(reps):
            url = f"sqlite:///{Path(tmp) / f'store{i}.sqlite'}"
            _clear_caches()
            cold.append(_timed(lambda url=url: open_store(url).dispose()))
            _clear_caches()
            warm.append(_timed(lambda url=url: open_store(url).dispose()))
    return {"cold_s": statistics.median(cold), "warm_s": statistics.median(warm)}


def bench_build(reps: int) -> float:
    times = []
    for _ in range(reps):
        _clear_caches()
        times.append(_timed(gz.Gazetteer.default))
    return statistics.median(times)


def workload(gaz: gz.Gazetteer, n: int, seed: int = 20240611) -> list[tuple[str, str | None]]:
    """Seeded mix of the forms people write; every query resolves to exactly one place."""
    rng = random.Random(seed)
    places = sorted(gaz.places.values(), key=lambda p: p.adcode)
    queries: list[tuple[str, str | None]] = []
    while len(queries) < n:
        place = rng.choice(places)
        parent = gaz.get(place.province_adcode) if place.province_adcode else None
        forms = [place.name_zh, place.name_en, place.adcode]
        forms += sorted(gz.short_forms(place.name_zh, place.level))
        name = rng.choice(forms)
        within = parent.name_zh if parent and rng.random() < 0.3 else None
        try:
            if gaz.resolve(name, within=within, suggest=False).adcode == place.adcode:
                queries.append((name, within))
        except gz.PlaceError:
            continue
    return queries


class NaiveResolver:
    """The same name rules without an index: every call scans every place."""

    def __init__(self, gaz: gz.Gazetteer):
        self.places = list(gaz.places.values())
        self.historical = gaz._historical

    def _names(self, place: gz.Place) -> tuple[set[str], set[str]]:
        full = {gz.clean_zh(place.name_zh), gz.clean_en(place.name_en)}
        short = set(gz.short_forms(place.name_zh, place.level))
        short.add(gz.english_base(place.name_en))
        return full, short

    def resolve(self, name: str, within: str | None = None) -> gz.Place:
        parent = self.resolve(within) if within else None
        text = name.strip()
        keys = (
            {gz.clean_en(text), gz.english_base(text)}
            if gz._is_latin(text)
            else {gz.clean_zh(text)}
        )
        tiers: list[list[gz.Place]] = [[], [], []]
        for place in self.places:
            if parent is not None and not place.is_within(parent):
                continue
            if text == place.adcode:
                return place
            full, short = self._names(place)
            if keys & full:
                tiers[0].append(place)
            elif keys & short:
                tiers[2].append(place)
        for tier in tiers:
            if len(tier) > 1:
                tier = [c for c in tier if all(o is c or o.is_within(c) for o in tier)] or tier
            if len(tier) == 1:
                return tier[0]
            if tier:
                raise gz.AmbiguousPlace("ambiguous", name, tier)
        raise gz.PlaceNotFound("not found", name, [])


def bench_resolve(queries: list[tuple[str, str | None]]) -> dict[str, float]:
    gaz = gz.Gazetteer.default()
    indexed = _timed(lambda: [gaz.resolve(n, within=w) for n, w in queries])
    naive = NaiveResolver(gaz)
    sample = queries[: max(20, len(queries) // 20)]  # the scan is slow: a sample suffices
    naive_s = _timed(lambda: [naive.resolve(n, within=w) for n, w in sample])
    agree = sum(gaz.resolve(n, within=w) == naive.resolve(n, within=w) for n, w in sample)
    return {
        "indexed_per_s": len(queries) / indexed,
        "naive_per_s": len(sample) / naive_s,
        "naive_sample": len(sample),
        "naive_agrees": agree,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    args = parser.parse_args(argv)

    opened = bench_open(args.reps)
    build = bench_build(args.reps)
    queries = workload(gz.Gazetteer.default(), args.queries)
    rates = bench_resolve(queries)

    print(f"open_store, median of {args.reps} (process caches cleared each time)")
    print(f"  cold (create + seed): {opened['cold_s'] * 1000:8.1f} ms   <- baseline")
    print(f"  warm (already seeded): {opened['warm_s'] * 1000:7.1f} ms")
    print(f"  warm is {opened['cold_s'] / opened['warm_s']:.1f}x faster than cold")
    print(f"Gazetteer.default() build, median of {args.reps}: {build * 1000:.1f} ms")
    print(
        f"resolve(), {len(queries)} mixed queries "
        "(full/short/English names, adcodes, 30% with a parent)"
    )
    print(f"  dict index:  {rates['indexed_per_s']:10.0f} resolutions/s")
    print(
        f"  naive scan:  {rates['naive_per_s']:10.0f} resolutions/s   <- baseline "
        f"({rates['naive_sample']} queries; same answer for {rates['naive_agrees']})"
    )
    print(f"  index is {rates['indexed_per_s'] / rates['naive_per_s']:.0f}x faster")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"open": opened, "build_s": build, "resolve": rates}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
