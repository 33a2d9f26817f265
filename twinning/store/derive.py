"""Derived columns and summary tables, recomputed in SQL after every write (issue #7).

Why: the atlas must answer as fast with ten million figures as with the reference set, so
nothing per row may happen when a view is drawn. Everything a view needs that follows from
the stored rows is computed here, once per write, inside the writer's transaction:

* ``place_levels``: for each (adcode, level) of the shipped boundaries, the unit's code at
  each map level. Built from the places frame (a few thousand rows).
* ``r_province`` / ``r_prefecture`` / ``r_county`` of pairings and figures: a join with
  ``place_levels`` (a prefecture-level figure has no county; a county figure rolls up).
* ``donor_key`` / ``donor_unit_key``: the keys the donor filters match.
* ``figures.is_context``: also true for a ``context_*`` metric whose flag was missing.
* ``figures.counted``: false for a later copy of a figure (same donor, recipient, metric,
  value, period, project and part as a row with a lower id in an active batch; two
  projects of one county with equal funds are not copies), so no sum counts one
  figure twice. The rule is global rather than per view: the earliest copy is the one
  counted, whatever the filters.
* group figures (``figures.scope_group``, members in ``figure_scopes``, issue #10): their
  ``r_*`` are the units that hold *every* member (林芝市 + 昌都市 -> 西藏 at province level,
  nothing at prefecture level), so a group figure never gives its value to one member, and
  a view of a province that holds the whole scope includes it.
* ``figure_totals``: the figures of active batches summed over every dimension a filter or
  view can take (metric, programme, donor, donor unit, memory, place at each level, period).

The SQL runs unchanged on SQLite (3.33+) and PostgreSQL, but for the figures' own columns:
on PostgreSQL they are derived in one set-based pass (``_derive_figures_postgres``:
temporary tables, then one UPDATE ... FROM on the primary key), with the same result;
column group by column group, a 1 M-figure batch did not finish in 20 minutes there.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from twinning.filters import LEVEL_RANK, LEVELS
from twinning.store.schema import place_levels

_ACTIVE = "batch_id IN (SELECT id FROM batches WHERE undone_at IS NULL)"


def _code(x: Any) -> str | None:
    if x is None or (isinstance(x, float) and x != x) or x is pd.NA:
        return None
    if isinstance(x, float):
        x = int(x)
    s = str(x).strip()
    return s or None


def place_levels_frame(places: pd.DataFrame) -> pd.DataFrame:
    """One row per (adcode, level): the unit's code at each map level.

    ``places`` is the boundaries' places table: one row per adcode with a ``levels`` list
    ("province,prefecture" for 北京市, "prefecture,county" for 东莞市), or one row per
    (adcode, level) without it. A unit listed at two levels maps to itself at both, so a
    prefecture-level figure for 东莞 is drawn on the county map too.
    """
    rows: list[tuple[str, str, str | None, str | None]] = []
    for rec in places.to_dict("records"):
        code = _code(rec.get("adcode"))
        if code is None:
            continue
        levels = [lv for lv in str(rec.get("levels") or "").split(",") if lv in LEVELS]
        if not levels and rec.get("level") in LEVELS:
            levels = [str(rec["level"])]
        province = _code(rec.get("province_adcode"))
        if province is None and code.endswith("0000"):
            province = code
        for level in levels:
            rows.append((code, level, province, _code(rec.get("prefecture_adcode"))))
    frame = pd.DataFrame(rows, columns=["adcode", "level", "province", "prefecture"])
    frame = frame.drop_duplicates(["adcode", "level"], keep="first")
    by_level = {lv: set(frame.loc[frame["level"] == lv, "adcode"]) for lv in LEVELS}
    out = []
    for code, level, province, prefecture in frame.itertuples(index=False):
        up: dict[str, str | None] = {
            "province": province or (code if level == "province" else None),
            "prefecture": prefecture if level == "county" else None,
            "county": None,
        }
        up[level] = code
        for finer in LEVELS[LEVELS.index(level) + 1 :]:
            up[finer] = code if code in by_level[finer] else None
        if level == "prefecture" and up["prefecture"] is None:
            up["prefecture"] = code
        out.append((code, level, LEVEL_RANK[level], up["province"], up["prefecture"], up["county"]))
    result = pd.DataFrame(
        out, columns=["adcode", "level", "rank", "r_province", "r_prefecture", "r_county"]
    )
    first = result.groupby("adcode")["rank"].transform("min")
    result["is_default"] = result["rank"] == first
    return result.drop(columns="rank")


def seed_place_levels(conn: Connection, places: pd.DataFrame) -> None:
    """Replace ``place_levels`` with the roll-up of ``places``."""
    frame = place_levels_frame(places)
    conn.execute(place_levels.delete())
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    if records:
        conn.execute(place_levels.insert(), records)


def _scope(table: str, batch_id: int | None) -> tuple[str, dict[str, Any]]:
    if batch_id is None:
        return "1 = 1", {}
    return f"{table}.batch_id = :batch_id", {"batch_id": batch_id}


def _derive_rows(conn: Connection, table: str, batch_id: int | None) -> None:
    where, params = _scope(table, batch_id)
    levels = ", ".join(f"'{lv}'" for lv in LEVELS)
    conn.execute(
        text(
            f"UPDATE {table} SET r_province = NULL, r_prefecture = NULL, r_county = NULL "
            f"WHERE {where}"
        ),
        params,
    )
    conn.execute(
        text(
            f"""
            UPDATE {table} SET r_province = pl.r_province, r_prefecture = pl.r_prefecture,
                   r_county = pl.r_county
            FROM place_levels pl
            WHERE pl.adcode = {table}.recipient_adcode
              AND ((pl.level = {table}.recipient_level)
                   OR (COALESCE({table}.recipient_level, '') NOT IN ({levels})
                       AND pl.is_default))
              AND {where}
            """
        ),
        params,
    )
    if table == "pairings":
        # an XPCC division (issue #10) lies in 新疆 and in no prefecture or county of it
        conn.execute(
            text(
                "UPDATE pairings SET r_province = '650000' WHERE recipient_adcode IS NULL "
                f"AND recipient_division LIKE 'xpcc:%' AND {where}"
            ),
            params,
        )
        conn.execute(
            text(
                f"""
                UPDATE pairings SET
                  donor_key = COALESCE(NULLIF(donor_province_adcode, ''),
                                       NULLIF(donor_province, '')),
                  donor_unit_key = CASE
                    WHEN NULLIF(donor_adcode, '') IS NOT NULL
                         AND (donor_province_adcode IS NULL
                              OR donor_adcode <> donor_province_adcode)
                      THEN donor_adcode
                    ELSE NULLIF(donor_unit, '') END
                WHERE {where}
                """
            ),
            params,
        )
        return
    conn.execute(
        text(
            f"""
            UPDATE figures SET
              donor_key = COALESCE(
                (SELECT pl.r_province FROM place_levels pl
                  WHERE pl.adcode = figures.donor_adcode AND pl.is_default),
                NULLIF(donor, '')),
              donor_unit_key = NULLIF(donor_adcode, ''),
              is_context = CASE WHEN is_context OR metric LIKE 'context!_%' ESCAPE '!'
                           THEN TRUE ELSE FALSE END
            WHERE {where}
            """
        ),
        params,
    )


def write_scopes(
    conn: Connection,
    batch_id: int,
    rows: list[tuple[int, str, str, str | None]],
    after_id: int | None = None,
) -> None:
    """Store the scope rows (row_number, side, member, member_level) of a batch's figures.

    A file row may give several figures (one per metric column): each gets the row's
    scope. Call after inserting the figures and before ``refresh``; ``after_id`` limits the
    match to figures inserted after that id (a workbook's sheets repeat row numbers)."""
    if not rows:
        return
    from twinning.store.schema import figure_scopes

    numbers = sorted({r[0] for r in rows})
    ids: dict[int, list[int]] = {}
    for chunk in range(0, len(numbers), 500):
        part = numbers[chunk : chunk + 500]
        names = {f"r{i}": n for i, n in enumerate(part)}
        found = conn.execute(
            text(
                "SELECT id, row_number FROM figures WHERE batch_id = :b AND id > :after "
                f"AND row_number IN ({', '.join(':' + k for k in names)})"
            ),
            {"b": batch_id, "after": after_id or 0, **names},
        )
        for fid, number in found:
            ids.setdefault(int(number), []).append(int(fid))
    records = {
        (fid, side, member): level
        for number, side, member, level in rows
        for fid in ids.get(int(number), [])
    }
    if records:
        conn.execute(
            figure_scopes.insert(),
            [
                {"figure_id": f, "side": side, "member": m, "member_level": level}
                for (f, side, m), level in records.items()
            ],
        )


def delete_scopes(conn: Connection, batch_ids: list[int]) -> None:
    """Remove the scope rows of the figures of these batches (before deleting them)."""
    if batch_ids:
        names = {f"b{i}": b for i, b in enumerate(batch_ids)}
        conn.execute(
            text(
                "DELETE FROM figure_scopes WHERE figure_id IN (SELECT id FROM figures "
                f"WHERE batch_id IN ({', '.join(':' + k for k in names)}))"
            ),
            names,
        )


def _derive_group_levels(
    conn: Connection, batch_id: int | None, table: str = "figures", rows: str | None = None
) -> None:
    """``r_*`` of group figures: a level's unit when every member lies in that one unit.

    A member is an adcode (its row in ``place_levels`` at its level) or an XPCC division,
    which lies in 新疆 (650000) and in no prefecture or county. ``table`` and ``rows``: the
    derived rows of PostgreSQL's single pass (a temporary table keyed on the figure's id)
    and its condition for group figures, instead of ``figures`` itself."""
    where, params = _scope("figures", batch_id)
    if rows is None:
        rows = f"scope_group IS NOT NULL AND recipient_adcode IS NULL AND {where}"
    else:
        params = {}
    member_level = (
        "(SELECT {col} FROM place_levels pl WHERE pl.adcode = s.member "
        "AND (pl.level = s.member_level OR (s.member_level IS NULL AND pl.is_default)))"
    )
    for col in ("r_province", "r_prefecture", "r_county"):
        value = member_level.format(col=f"pl.{col}")
        if col == "r_province":
            value = f"CASE WHEN s.member LIKE 'xpcc:%' THEN '650000' ELSE {value} END"
        conn.execute(
            text(
                f"""
                UPDATE {table} SET {col} = (
                    SELECT CASE WHEN COUNT(*) = COUNT(v) AND COUNT(DISTINCT v) = 1
                                THEN MIN(v) END
                    FROM (SELECT {value} AS v FROM figure_scopes s
                          WHERE s.figure_id = {table}.id AND s.side = 'recipient') m)
                WHERE {rows}
                """
            ),
            params,
        )


def _first_copies(batch_id: int | None) -> tuple[str, dict[str, Any]]:
    """SELECT of (fid, first_id): each active figure and the lowest id among its copies.

    One window over the active figures (PARTITION BY treats NULL periods as equal), limited
    to the (metric, value) pairs of the batch when one is given: O(n log n), where a
    correlated lookup per row was quadratic on registers with many equal values."""
    scope, params = "", {}
    if batch_id is not None:
        scope = (
            " AND (f.metric, f.value) IN "
            "(SELECT metric, value FROM figures WHERE batch_id = :batch_id)"
        )
        params = {"batch_id": batch_id}
    sql = f"""
        SELECT f.id AS fid,
               MIN(f.id) OVER (PARTITION BY f.metric, f.value, f.donor, f.recipient,
                               f.period_start, f.period_end,
                               COALESCE(f.project, ''), COALESCE(f.part, ''))
                 AS first_id
        FROM figures f WHERE f.{_ACTIVE}{scope}
    """
    return sql, params


def _derive_counted(conn: Connection, batch_id: int | None) -> None:
    """Mark later copies of a figure as not counted (see the module docstring).

    Only rows whose mark changes are written: rewriting every row (and its index entries)
    took PostgreSQL more than 15 minutes at 1 M figures."""
    window, params = _first_copies(batch_id)
    conn.execute(
        text(
            f"""
            UPDATE figures SET counted = CASE WHEN w.first_id = figures.id
                                              THEN TRUE ELSE FALSE END
            FROM ({window}) AS w
            WHERE w.fid = figures.id
              AND figures.counted <> (CASE WHEN w.first_id = figures.id
                                          THEN TRUE ELSE FALSE END)
            """
        ),
        params,
    )


# PostgreSQL's single pass: the derived columns of the batch's figures and the marks of
# every figure whose mark may change, computed set-based into temporary tables, then
# written with one UPDATE ... FROM each, joined on the primary key, changed rows only.
_PG_DERIVED = "twinning_derived_figures"
_PG_MARKS = "twinning_counted_marks"
_PG_ANALYZE_AFTER = 10_000  # figures derived at once: then ANALYZE figures again
_FIGURE_DERIVED = ("r_province", "r_prefecture", "r_county", "donor_key", "donor_unit_key")


def _derive_figures_postgres(conn: Connection, batch_id: int | None) -> int:
    """``_derive_rows("figures")``, ``_derive_group_levels`` and ``_derive_counted`` in one
    set-based pass, with the same result.

    Why: the UPDATEs one derived column group at a time rewrote each of a 1 M-figure
    batch's rows three times (every index too: nine of them), and the "counted" UPDATE,
    its window joined back to figures, ran as a nested loop with random heap reads for more
    than 15 minutes (the planner misestimated the batch's rows). Here the window and the
    joins run once each over sequential scans into temporary tables (analysed, so the
    final joins are hash joins on the primary key), and each figure is written at most
    once by the derivation (plus once more only when another batch's copy changes its
    mark). Returns the number of figures derived."""
    where, params = _scope("f", batch_id)
    levels = ", ".join(f"'{lv}'" for lv in LEVELS)
    for name in (_PG_DERIVED, _PG_MARKS):
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    conn.execute(
        text(
            f"""
            CREATE TEMPORARY TABLE {_PG_DERIVED} AS
            SELECT f.id,
                   pl.r_province, pl.r_prefecture, pl.r_county,
                   COALESCE(dl.r_province, NULLIF(f.donor, '')) AS donor_key,
                   NULLIF(f.donor_adcode, '') AS donor_unit_key,
                   CASE WHEN f.is_context OR f.metric LIKE 'context!_%' ESCAPE '!'
                        THEN TRUE ELSE FALSE END AS is_context,
                   CASE WHEN f.scope_group IS NOT NULL AND f.recipient_adcode IS NULL
                        THEN TRUE ELSE FALSE END AS is_group
            FROM figures f
            LEFT JOIN place_levels pl
              ON pl.adcode = f.recipient_adcode
             AND ((pl.level = f.recipient_level)
                  OR (COALESCE(f.recipient_level, '') NOT IN ({levels}) AND pl.is_default))
            LEFT JOIN place_levels dl ON dl.adcode = f.donor_adcode AND dl.is_default
            WHERE {where}
            """
        ),
        params,
    )
    _derive_group_levels(conn, batch_id, table=_PG_DERIVED, rows="is_group")
    window, wparams = _first_copies(batch_id)
    conn.execute(
        text(
            f"""
            CREATE TEMPORARY TABLE {_PG_MARKS} AS
            SELECT fid AS id, CASE WHEN first_id = fid THEN TRUE ELSE FALSE END AS counted
            FROM ({window}) AS w
            """
        ),
        wparams,
    )
    for name in (_PG_DERIVED, _PG_MARKS):
        conn.execute(text(f"ALTER TABLE {name} ADD PRIMARY KEY (id)"))
        conn.execute(text(f"ANALYZE {name}"))
    sets = ", ".join(f"{c} = d.{c}" for c in (*_FIGURE_DERIVED, "is_context"))
    changed = " OR ".join(
        f"figures.{c} IS DISTINCT FROM d.{c}" for c in (*_FIGURE_DERIVED, "is_context")
    )
    conn.execute(
        text(
            f"""
            UPDATE figures SET {sets}, counted = COALESCE(m.counted, figures.counted)
            FROM {_PG_DERIVED} d LEFT JOIN {_PG_MARKS} m ON m.id = d.id
            WHERE figures.id = d.id
              AND ({changed} OR figures.counted <> COALESCE(m.counted, figures.counted))
            """
        )
    )
    # copies in other batches (an undone batch's, or a new batch's earlier copies)
    conn.execute(
        text(
            f"""
            UPDATE figures SET counted = m.counted FROM {_PG_MARKS} m
            WHERE figures.id = m.id AND figures.counted <> m.counted
            """
        )
    )
    derived = conn.execute(text(f"SELECT COUNT(*) FROM {_PG_DERIVED}")).scalar() or 0
    for name in (_PG_DERIVED, _PG_MARKS):
        conn.execute(text(f"DROP TABLE {name}"))
    return int(derived)


# PostgreSQL's memory for the summary's GROUP BY, for the writer's transaction only: with
# the default 4 MB it sorted on disk (18 s at 1 M figures; 6 s in memory, ~100 MB)
_PG_TOTALS_WORK_MEM = "128MB"


def rebuild_totals(conn: Connection) -> None:
    """Recompute ``figure_totals`` from the figures of active batches.

    Rows go in by metric, so a view's scan of one metric reads neighbouring pages."""
    if conn.dialect.name == "postgresql":
        before = conn.execute(text("SELECT current_setting('work_mem')")).scalar()
        conn.execute(text(f"SET LOCAL work_mem = '{_PG_TOTALS_WORK_MEM}'"))
        _rebuild_totals(conn)  # on an error the transaction ends, and the SET LOCAL with it
        conn.execute(text("SELECT set_config('work_mem', :v, true)"), {"v": before})
        return
    _rebuild_totals(conn)


def _rebuild_totals(conn: Connection) -> None:
    conn.execute(text("DELETE FROM figure_totals"))
    conn.execute(
        text(
            f"""
            INSERT INTO figure_totals (metric, is_context, unit, program, donor_key,
                donor_unit_key, from_memory, resolved, r_province, r_prefecture, r_county,
                period_start, period_end, value, n, n_rows)
            SELECT metric, is_context, unit, program, donor_key, donor_unit_key,
                   CASE WHEN confidence = 'from_memory' THEN TRUE ELSE FALSE END,
                   CASE WHEN recipient_adcode IS NOT NULL OR scope_group IS NOT NULL
                        THEN TRUE ELSE FALSE END,
                   r_province, r_prefecture, r_county, period_start, period_end,
                   COALESCE(SUM(CASE WHEN counted THEN value ELSE 0 END), 0),
                   SUM(CASE WHEN counted THEN 1 ELSE 0 END),
                   COUNT(*)
            FROM figures WHERE {_ACTIVE}
            GROUP BY metric, is_context, unit, program, donor_key, donor_unit_key,
                     CASE WHEN confidence = 'from_memory' THEN TRUE ELSE FALSE END,
                     CASE WHEN recipient_adcode IS NOT NULL OR scope_group IS NOT NULL
                          THEN TRUE ELSE FALSE END,
                     r_province, r_prefecture, r_county, period_start, period_end
            ORDER BY metric, r_province
            """
        )
    )


def refresh(conn: Connection, batch_id: int | None = None) -> None:
    """Derive the columns of one batch's rows (all rows when None), then the summaries.

    Call inside the writer's transaction after inserting a batch, after undoing one
    (``batch_id`` of the undone batch: its copies may now be counted elsewhere), and after
    ``place_levels`` changed (``batch_id=None``). Bumps the store's revision, so every
    worker's caches (keyed on ``Store.data_version``) see the change.
    """
    if conn.dialect.name == "postgresql":
        # fresh statistics after a bulk insert: with the planner's guess of a few thousand
        # rows where a batch brought a million, the derivations ran as nested loops and an
        # on-disk sort for more than 15 minutes (ANALYZE samples: ~1 s, in the transaction).
        # batches too: a table of a few rows is never analysed by autovacuum, and its guess
        # of one active batch made every "batch_id IN (active batches)" a nested loop over
        # the batch_id index (the table's page of funds: 1 s instead of 40 ms at 1 M rows)
        for table in ("batches", "pairings", "figures"):
            conn.execute(text(f"ANALYZE {table}"))
    if batch_id is None or _has_rows(conn, "pairings", batch_id):
        _derive_rows(conn, "pairings", batch_id)
    if batch_id is None or _has_rows(conn, "figures", batch_id):
        if conn.dialect.name == "postgresql":
            if _derive_figures_postgres(conn, batch_id) >= _PG_ANALYZE_AFTER:
                # the statistics of the derived columns, for the views' plans (~1 s at
                # 1 M rows; a small batch leaves them as they were)
                conn.execute(text("ANALYZE figures"))
        else:
            _derive_rows(conn, "figures", batch_id)
            _derive_group_levels(conn, batch_id)
            _derive_counted(conn, batch_id)
    rebuild_totals(conn)
    from twinning.store.db import bump_revision  # db imports this module

    bump_revision(conn)


def _has_rows(conn: Connection, table: str, batch_id: int) -> bool:
    q = text(f"SELECT 1 FROM {table} WHERE batch_id = :b LIMIT 1")
    return conn.execute(q, {"b": batch_id}).first() is not None
