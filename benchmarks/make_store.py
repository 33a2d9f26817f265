"""A seeded generator of large stores for the scale benchmarks (issue #7).

Builds a store of N synthetic figure records with the spread of a real register: about
1,100 western counties (the real county adcodes of the twelve western provinces, read from
the store's ``places``), 30 years (1994–2023), the main metrics (funds dominant), 20 eastern
donor provinces and cities and their districts, the programmes of each province (east–west
cooperation; counterpart support in Xinjiang, Tibet and Qinghai; the Three Gorges for a few
Chongqing counties), 3 % period figures (2006–2010, 2011–2015, 2016–2020), 1 % cumulative
figures (no start year), 1 % from memory, 0.5 % unresolved recipients and a few prefecture-
and province-level figures. Every recipient county has 1–3 pairings with its donors.

Synthetic rows never look real: their source is "synthetic benchmark data (seed N)",
their confidence "office_record" (or "from_memory") and their quote empty.

How: ``open_store(url)`` creates the schema and seeds the reference batch; one batch row of
kind "import" is inserted, then the pairings and figures (raw columns only, as an import
stores them) in chunks with the driver's executemany (SQLite) or COPY (PostgreSQL), all
in one transaction; then, as an import does, ``twinning.store.derive.refresh`` in one more
transaction (``--derive batch``, the default) and, once committed, the summary's snapshot
(``twinning.query.summary.refresh_snapshot``) where the code has one. Secondary indexes of
``figures`` are dropped during the bulk insert and rebuilt after it (same SQL), which is
what makes 10 M rows practical. ``--derive none`` and ``--derive-only`` split the two
steps (to time the derive step alone, or to derive a copy again after ``derive`` changed).

The same rows for the same seed and size, whatever the code version: run it with
``PYTHONPATH`` pointing at an older checkout (whose store has no ``derive`` module) to
build that checkout's store from the same rows; the derive step is then skipped.

Run: ``.venv/bin/python benchmarks/make_store.py --figures 1000000 \
      --out var/bench/store-1m.sqlite --seed 7``
     (or ``--url postgresql+psycopg://...`` for an empty PostgreSQL database)
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

WEST = (
    "150000", "450000", "500000", "510000", "520000", "530000",
    "540000", "610000", "620000", "630000", "640000", "650000",
)  # fmt: skip

# 20 donors: 9 provinces / municipalities and 11 cities.
DONOR_PROVINCES = (
    "110000", "120000", "210000", "310000", "320000", "330000", "350000", "370000", "440000",
)  # fmt: skip
DONOR_CITIES = (
    "210200", "320100", "320500", "330100", "330200", "350100",
    "350200", "370200", "440100", "440300", "440600",
)  # fmt: skip

# Who supports whom (after the real assignments, simplified) and under which programme.
ASSIGNMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "150000": ("east_west_cooperation", ("110000",)),
    "450000": ("east_west_cooperation", ("440000", "440100", "440300")),
    "500000": ("east_west_cooperation", ("370000", "370200")),
    "510000": ("east_west_cooperation", ("330000", "330100", "330200")),
    "520000": ("east_west_cooperation", ("440100", "440600", "210200", "320500", "310000")),
    "530000": ("east_west_cooperation", ("310000", "440000")),
    "540000": (
        "counterpart_support_tibet",
        ("110000", "120000", "210000", "310000", "320000", "330000", "350000", "370000", "440000"),
    ),
    "610000": ("east_west_cooperation", ("320000", "320100")),
    "620000": ("east_west_cooperation", ("120000", "370000", "350200")),
    "630000": (
        "counterpart_support_qinghai",
        ("110000", "120000", "310000", "320000", "330000", "370000"),
    ),
    "640000": ("east_west_cooperation", ("350000", "350100", "350200")),
    "650000": (
        "counterpart_support_xinjiang",
        (
            "110000", "120000", "210000", "310000", "320000", "330000",
            "350000", "370000", "440000", "440300", "330200",
        ),
    ),
}  # fmt: skip
THREE_GORGES_COUNTIES = (
    "500101", "500102", "500154", "500230", "500233", "500235", "500236", "500237", "500238",
)  # fmt: skip
THREE_GORGES_DONORS = ("310000", "110000", "320000", "330000", "370000", "350000", "440000")

# metric, unit, share of the rows, log-normal (median, sigma), money (stored in yuan)
METRICS: tuple[tuple[str, str, float, float, float, bool], ...] = (
    ("funds_cny", "CNY", 0.42, 3_000_000.0, 1.4, True),
    ("projects", "projects", 0.14, 6.0, 0.9, False),
    ("people_trained", "persons", 0.12, 300.0, 1.2, False),
    ("people_lifted", "persons", 0.10, 1_500.0, 1.1, False),
    ("investment_cny", "CNY", 0.07, 12_000_000.0, 1.5, True),
    ("people_employed", "persons", 0.06, 200.0, 1.1, False),
    ("cadres_dispatched", "persons", 0.05, 4.0, 0.7, False),
    ("villages_supported", "villages", 0.04, 5.0, 0.8, False),
)
PERIODS = ((2006, 2010), (2011, 2015), (2016, 2020))
PERIODS_ARR = np.array(PERIODS)
YEARS = np.arange(1994, 2024)
CHUNK = 200_000  # rows generated and inserted at a time (fixed: the rows depend on it)

FIGURE_COLUMNS = (
    "batch_id", "row_number", "program", "donor", "recipient", "donor_adcode",
    "recipient_adcode", "recipient_level", "period_start", "period_end", "metric", "value",
    "unit", "value_original", "unit_original", "qualifier", "quote", "source", "confidence",
    "is_context", "unresolved_reason", "resolution_note",
)  # fmt: skip
PAIRING_COLUMNS = (
    "batch_id", "row_number", "program", "donor_province", "donor_unit", "donor_adcode",
    "donor_province_adcode", "recipient_province", "recipient_prefecture", "recipient_county",
    "recipient_adcode", "recipient_level", "recipient_province_adcode",
    "recipient_prefecture_adcode", "start_year", "end_year", "source", "confidence",
    "unresolved_reason", "resolution_note",
)  # fmt: skip


def log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------------------ the plan


class Plan:
    """The places, donors and pairings every figure is drawn from (small; random.Random)."""

    def __init__(self, places: list[dict[str, Any]], seed: int) -> None:
        rng = random.Random(seed)
        self.seed = seed
        self.source = f"synthetic benchmark data (seed {seed})"
        by_code = {p["adcode"]: p for p in places}
        self.by_code = by_code
        self.counties = sorted(
            (p for p in places if p["level"] == "county" and p["province_adcode"] in WEST),
            key=lambda p: p["adcode"],
        )
        if len(self.counties) < 500:
            raise SystemExit(f"only {len(self.counties)} western counties in places: wrong store?")

        # each donor's units: the donor itself, and its districts / counties
        def districts(code: str) -> list[str]:
            if code.endswith("0000") and by_code[code]["level"] == "province":
                under = [
                    p["adcode"]
                    for p in places
                    if p["level"] in ("county", "prefecture") and p["province_adcode"] == code
                ]
            else:
                under = [
                    p["adcode"]
                    for p in places
                    if p["level"] == "county" and p["prefecture_adcode"] == code
                ]
            return sorted(under)

        self.donor_units = {d: districts(d) for d in (*DONOR_PROVINCES, *DONOR_CITIES)}

        # pairings: every county 1-3 with units of its province's donors
        self.pairings: list[dict[str, Any]] = []
        self.county_pairings: list[list[int]] = []  # county index -> pairing indexes
        for county in self.counties:
            prov = county["province_adcode"]
            program, donors = ASSIGNMENTS[prov]
            options = [(program, d) for d in donors]
            if county["adcode"] in THREE_GORGES_COUNTIES:
                options = [("three_gorges", d) for d in THREE_GORGES_DONORS] + options
            mine = []
            for _ in range(rng.choice((1, 1, 2, 2, 2, 3))):
                program_k, donor = rng.choice(options)
                units = self.donor_units[donor]
                unit = rng.choice(units) if units and rng.random() < 0.85 else donor
                start = rng.choice(range(1996, 2018))
                end = rng.choice((None, None, min(2023, start + rng.choice((4, 5, 9, 14)))))
                mine.append(len(self.pairings))
                self.pairings.append(
                    self._pairing(program_k, donor, unit, county, start, end, rng, "county")
                )
            self.county_pairings.append(mine)
        # the province-level agreements, and a few pairings nobody could place
        for prov in WEST:
            program, donors = ASSIGNMENTS[prov]
            for donor in donors:
                self.pairings.append(
                    self._pairing(program, donor, donor, by_code[prov], 1996, None, rng, "province")
                )
        for k in range(5):
            donor = DONOR_PROVINCES[k]
            row = self._pairing("east_west_cooperation", donor, donor, None, 2010, 2015, rng, None)
            row["recipient_county"] = f"合成未识别地名{k + 1}"
            row["unresolved_reason"] = f"no place named '合成未识别地名{k + 1}'"
            self.pairings.append(row)

    def name(self, code: str | None) -> str | None:
        return self.by_code[code]["name_zh"] if code else None

    def province_of(self, code: str) -> str:
        p = self.by_code[code]
        return code if p["level"] == "province" else p["province_adcode"]

    def _pairing(self, program, donor, unit, recipient, start, end, rng, level) -> dict:
        dprov = self.province_of(donor)
        conf = "from_memory" if rng.random() < 0.01 else "office_record"
        rprov = rpref = rcounty = None
        if recipient is not None:
            rprov = self.name(self.province_of(recipient["adcode"]))
            if level == "county":
                pref = recipient["prefecture_adcode"]
                rpref = self.name(pref) if pref and pref != recipient["province_adcode"] else None
                rcounty = recipient["name_zh"]
        return {
            "program": program,
            "donor_province": self.name(dprov),
            "donor_unit": None if unit == dprov else self.name(unit),
            "donor_adcode": unit,
            "donor_province_adcode": dprov,
            "recipient_province": rprov,
            "recipient_prefecture": rpref,
            "recipient_county": rcounty,
            "recipient_adcode": recipient["adcode"] if recipient else None,
            "recipient_level": level,
            "recipient_province_adcode": recipient["province_adcode"]
            if recipient and level == "county"
            else (recipient["adcode"] if recipient else None),
            "recipient_prefecture_adcode": recipient["prefecture_adcode"]
            if recipient and level == "county"
            else None,
            "start_year": start,
            "end_year": end,
            "source": self.source,
            "confidence": conf,
            "unresolved_reason": None,
            "resolution_note": None,
        }

    def pairing_rows(self, batch_id: int) -> list[tuple]:
        return [
            tuple({**p, "batch_id": batch_id, "row_number": i + 1}[c] for c in PAIRING_COLUMNS)
            for i, p in enumerate(self.pairings)
        ]


# ------------------------------------------------------------------------------ figures


def figure_chunks(plan: Plan, n: int, batch_id: int) -> Iterator[list[tuple]]:
    """Figure rows as tuples of FIGURE_COLUMNS, CHUNK at a time (numpy, seeded)."""
    rng = np.random.default_rng(plan.seed)
    nc = len(plan.counties)
    # some counties report far more than others
    county_w = rng.lognormal(0.0, 1.0, nc)
    county_w /= county_w.sum()
    year_w = (YEARS - 1990.0) ** 1.5
    year_w /= year_w.sum()
    metric_w = np.array([m[2] for m in METRICS])
    metric_w /= metric_w.sum()

    # per pairing: figure-side fields (donor text/adcode at unit and at province level)
    pairs = plan.pairings
    p_prog = np.array([p["program"] for p in pairs], dtype=object)
    p_unit = np.array([p["donor_adcode"] for p in pairs], dtype=object)
    p_prov = np.array([p["donor_province_adcode"] for p in pairs], dtype=object)
    p_unit_name = np.array(
        [
            (p["donor_province"] + (p["donor_unit"] or ""))
            if p["donor_unit"]
            else p["donor_province"]
            for p in pairs
        ],
        dtype=object,
    )
    p_prov_name = np.array([p["donor_province"] for p in pairs], dtype=object)
    # county -> its (up to 3) pairing indexes, padded by repetition
    cp = np.array([(lst * 3)[:3] for lst in plan.county_pairings], dtype=np.int64)
    cp_n = np.array([len(lst) for lst in plan.county_pairings], dtype=np.int64)

    c_code = np.array([c["adcode"] for c in plan.counties], dtype=object)
    c_name = np.array([c["name_zh"] for c in plan.counties], dtype=object)
    pref_code, pref_name, pref_level = [], [], []
    prov_code = np.array([c["province_adcode"] for c in plan.counties], dtype=object)
    prov_name = np.array([plan.name(c["province_adcode"]) for c in plan.counties], dtype=object)
    for c in plan.counties:
        pref = c["prefecture_adcode"]
        if pref and pref != c["province_adcode"] and pref in plan.by_code:
            pref_code.append(pref)
            pref_name.append(plan.name(pref))
            pref_level.append("prefecture")
        else:  # a county of a municipality: its parent is the province
            pref_code.append(c["province_adcode"])
            pref_name.append(plan.name(c["province_adcode"]))
            pref_level.append("province")
    pref_code_a = np.array(pref_code, dtype=object)
    pref_name_a = np.array(pref_name, dtype=object)
    pref_level_a = np.array(pref_level, dtype=object)

    m_name = np.array([m[0] for m in METRICS], dtype=object)
    m_unit = np.array([m[1] for m in METRICS], dtype=object)
    m_median = np.array([m[3] for m in METRICS])
    m_sigma = np.array([m[4] for m in METRICS])
    m_money = np.array([m[5] for m in METRICS])
    m_unit_orig = np.array(
        [
            "万元" if m[5] else {"persons": "人", "projects": "个", "villages": "个"}[m[1]]
            for m in METRICS
        ],
        dtype=object,
    )

    done = 0
    while done < n:
        k = min(CHUNK, n - done)
        ci = rng.choice(nc, size=k, p=county_w)
        year = rng.choice(YEARS, size=k, p=year_w)
        mi = rng.choice(len(METRICS), size=k, p=metric_w)
        pick = rng.integers(0, 3, size=k) % cp_n[ci]
        pi = cp[ci, pick]
        donor_at_prov = rng.random(k) < 0.25
        kind = rng.random(k)  # < .03 period, < .04 cumulative, else one year
        place = rng.random(k)  # < .005 unresolved, < .01 province, < .03 prefecture
        memory = rng.random(k) < 0.01
        qual = rng.random(k)
        raw = rng.lognormal(np.log(m_median[mi]), m_sigma[mi])

        # values: money in 万元 with 2 decimals (stored in yuan), counts as whole numbers
        money = m_money[mi]
        wan = np.round(raw / 10_000.0, 2)
        wan = np.where(wan < 0.01, 0.01, wan)
        count = np.maximum(1, np.round(raw))
        value = np.where(money, np.round(wan * 10_000.0, 2), count)
        value_original = np.where(
            money,
            np.char.mod("%.2f", wan).astype(object),
            np.char.mod("%d", count.astype(np.int64)).astype(object),
        )

        period = PERIODS_ARR[rng.integers(0, len(PERIODS), size=k)]
        is_period = kind < 0.03
        is_cum = (kind >= 0.03) & (kind < 0.04)
        p_start = np.where(is_period, period[:, 0], year).astype(object)
        p_end = np.where(is_period, period[:, 1], year).astype(object)
        p_start[is_cum] = None

        r_code = c_code[ci].copy()
        r_name = c_name[ci].copy()
        r_level = np.full(k, "county", dtype=object)
        to_pref = (place >= 0.01) & (place < 0.03)
        r_code[to_pref] = pref_code_a[ci[to_pref]]
        r_name[to_pref] = pref_name_a[ci[to_pref]]
        r_level[to_pref] = pref_level_a[ci[to_pref]]
        to_prov = (place >= 0.005) & (place < 0.01)
        r_code[to_prov] = prov_code[ci[to_prov]]
        r_name[to_prov] = prov_name[ci[to_prov]]
        r_level[to_prov] = "province"
        unresolved = place < 0.005
        r_code[unresolved] = None
        r_level[unresolved] = None
        r_name[unresolved] = "合成未识别地名"
        reason = np.full(k, None, dtype=object)
        reason[unresolved] = "no place named '合成未识别地名'"

        d_code = np.where(donor_at_prov, p_prov[pi], p_unit[pi])
        d_name = np.where(donor_at_prov, p_prov_name[pi], p_unit_name[pi])
        qualifier = np.where(qual < 0.95, "exact", np.where(qual < 0.98, "approx", "lower_bound"))
        confidence = np.where(memory, "from_memory", "office_record")

        cols = {
            "batch_id": [batch_id] * k,
            "row_number": range(done + 1, done + k + 1),
            "program": p_prog[pi].tolist(),
            "donor": d_name.tolist(),
            "recipient": r_name.tolist(),
            "donor_adcode": d_code.tolist(),
            "recipient_adcode": r_code.tolist(),
            "recipient_level": r_level.tolist(),
            "period_start": [None if v is None else int(v) for v in p_start.tolist()],
            "period_end": [int(v) for v in p_end.tolist()],
            "metric": m_name[mi].tolist(),
            "value": value.tolist(),
            "unit": m_unit[mi].tolist(),
            "value_original": value_original.tolist(),
            "unit_original": m_unit_orig[mi].tolist(),
            "qualifier": qualifier.tolist(),
            "quote": [""] * k,
            "source": [plan.source] * k,
            "confidence": confidence.tolist(),
            "is_context": [False] * k,
            "unresolved_reason": reason.tolist(),
            "resolution_note": [None] * k,
        }
        yield list(zip(*(cols[c] for c in FIGURE_COLUMNS), strict=True))
        done += k


# ------------------------------------------------------------------------------ writing


def _sqlite_path(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return Path(u.database) if u.get_backend_name() == "sqlite" and u.database else None


def build(url: str, n: int, seed: int, derive_mode: str = "batch") -> dict[str, float]:
    from sqlalchemy import insert, text

    from twinning.store import open_store
    from twinning.store.schema import batches

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    store = open_store(url)
    times["open_store (schema, places, reference)"] = time.perf_counter() - t0
    engine = store.engine
    with engine.connect() as conn:
        places = [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT adcode, level, name_zh, province_adcode, prefecture_adcode "
                    "FROM places ORDER BY adcode"
                )
            ).mappings()
        ]
    plan = Plan(places, seed)
    log(
        f"plan: {len(plan.counties):,} western counties, {len(plan.pairings):,} pairings, "
        f"{len(DONOR_PROVINCES) + len(DONOR_CITIES)} donors"
    )
    dialect = engine.dialect.name
    t0 = time.perf_counter()
    with engine.connect() as c0:
        raw = c0.connection.driver_connection
        if dialect == "sqlite":
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute("PRAGMA cache_size=-1000000")  # 1 GB page cache while we write
            raw.execute("PRAGMA temp_store=MEMORY")
        with c0.execution_options(sqlite_begin="IMMEDIATE").begin():
            sha = hashlib.sha256(f"synthetic:{seed}:{n}".encode()).hexdigest()
            batch_id = c0.execute(
                insert(batches).values(
                    kind="import",
                    user="benchmark",
                    created_at=dt.datetime.now(dt.UTC),
                    file_name=f"synthetic-seed{seed}-{n}.csv",
                    sha256=sha,
                    row_count=n + len(plan.pairings),
                )
            ).inserted_primary_key[0]
            cur = raw.cursor()
            dropped = _drop_figure_indexes(cur) if dialect == "sqlite" else []
            _insert(cur, dialect, "pairings", PAIRING_COLUMNS, plan.pairing_rows(batch_id))
            done = 0
            for rows in figure_chunks(plan, n, batch_id):
                _insert(cur, dialect, "figures", FIGURE_COLUMNS, rows)
                done += len(rows)
                if done % 1_000_000 == 0 or done == n:
                    log(f"  {done:,} figures ({time.perf_counter() - t0:,.0f} s)")
            t1 = time.perf_counter()
            for sql in dropped:
                cur.execute(sql)
            times["indexes rebuilt"] = time.perf_counter() - t1
            cur.close()
    times["insert (one transaction)"] = time.perf_counter() - t0 - times["indexes rebuilt"]
    if derive_mode != "none":
        times.update(derive_store(engine, batch_id, derive_mode))
    store.dispose()
    return times


def derive_store(engine: Any, batch_id: int | None, mode: str) -> dict[str, float]:
    """What an import does after inserting its rows, in one transaction:
    ``derive.refresh(conn, batch_id)`` (``mode`` "batch"; "all": ``refresh(conn, None)``,
    every row derived again) and ``bump_revision``. Without a derive module (a checkout
    from before derived columns) only ``bump_revision``."""
    from twinning.store.db import bump_revision

    try:
        from twinning.store import derive
    except ImportError:
        derive = None
    if batch_id is None:
        with engine.connect() as conn:
            batch_id = conn.execute(
                text("SELECT max(id) FROM batches WHERE kind = 'import'")
            ).scalar()
    t0 = time.perf_counter()
    with engine.connect() as c0, c0.execution_options(sqlite_begin="IMMEDIATE").begin():
        if derive is not None:
            derive.refresh(c0, batch_id if mode == "batch" else None)  # bumps the revision
        else:
            bump_revision(c0)
    what = {"batch": "derive.refresh(batch_id)", "all": "derive.refresh(None)"}[mode]
    out = {what if derive else "bump_revision (no derive module)": time.perf_counter() - t0}
    try:  # after the commit, as an import does: the summary's snapshot for the new version
        from twinning.query.summary import refresh_snapshot
    except ImportError:
        return out
    t0 = time.perf_counter()
    refresh_snapshot(engine)
    out["summary snapshot (refresh_snapshot)"] = time.perf_counter() - t0
    return out


def _drop_figure_indexes(cur: Any) -> list[str]:
    """Drop the secondary indexes of figures; return the SQL that rebuilds them."""
    rows = cur.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'figures' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in rows:
        cur.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def _insert(cur: Any, dialect: str, table: str, columns: tuple[str, ...], rows: list) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if dialect == "postgresql":
        with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", type=int, default=1_000_000, help="figure records")
    parser.add_argument("--out", help="SQLite file to create (must not exist)")
    parser.add_argument("--url", help="or a database URL (an empty PostgreSQL database)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="replace an existing --out file")
    parser.add_argument(
        "--derive",
        choices=("batch", "all", "none"),
        default="batch",
        help="after the insert: derive.refresh(conn, batch_id) as an import does (batch), "
        "refresh(conn, None) (all), or nothing (none; derive later with --derive-only)",
    )
    parser.add_argument(
        "--derive-only",
        action="store_true",
        help="only run the derive step (--derive batch|all) on an existing store",
    )
    args = parser.parse_args(argv)
    if bool(args.out) == bool(args.url):
        parser.error("give exactly one of --out and --url")
    url = args.url
    if args.derive_only:
        from twinning.store.db import create_store_engine

        url = url or f"sqlite:///{Path(args.out).resolve()}"
        engine = create_store_engine(url)
        for what, secs in derive_store(engine, None, args.derive).items():
            log(f"  {what:<42}{secs:>10.1f} s")
        engine.dispose()
        return 0
    if args.out:
        out = Path(args.out).resolve()
        for extra in ("", "-wal", "-shm", "-journal"):
            f = Path(str(out) + extra)
            if f.exists():
                if not args.force:
                    parser.error(f"{f} exists (--force replaces it)")
                f.unlink()
        out.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{out}"
    import twinning

    code = Path(twinning.__file__).parent
    log(f"make_store: {args.figures:,} figures, seed {args.seed}, code {code}")
    t0 = time.perf_counter()
    times = build(url, args.figures, args.seed, args.derive)
    for what, secs in times.items():
        log(f"  {what:<42}{secs:>10.1f} s")
    log(f"  {'total':<42}{time.perf_counter() - t0:>10.1f} s")
    path = _sqlite_path(url)
    if path is not None:
        size = path.stat().st_size
        log(f"  {path} {size / 1e6:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
