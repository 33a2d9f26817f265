"""The rows behind a view as tables: one page for the screen, every row for a download.

Why: tables must scale with what is shown (issue #7). Sorting, filtering and paging run
in SQL; the browser gets one page; a download streams in chunks with bounded memory. The
same column definitions (``COLUMNS``) and formatters serve the page, the full table of a
small view, CSV and XLSX, so the screen and every file agree.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from twinning import i18n, settings
from twinning.filters import Filters
from twinning.query.atlas import AtlasData, QueryTooSlow, missing, where
from twinning.query.views import donor_label, figure_source_counts
from twinning.spreadsheet import neutralise

log = logging.getLogger(__name__)

# The two source documents of the reference data are cited by file name in `source`;
# NOTES.md §1 says to link to their original locations rather than republish them.
SOURCE_DOCUMENTS: dict[str, str] = {
    "000_3fe4908ac1a43767.txt": "https://yearbook.iprcc.org.cn/zggjfpzxnj/2011njzw/wddfpp/382945.shtml",
    "004_9370aca5d40441e1.txt": "https://gaodawei.wordpress.com/2023/05/27/"
    "2022-shanghai-reports-on-its-develop-the-west-counterpart-support",
}

TABLE_KINDS: tuple[str, ...] = ("pairings", "figures")
# Excel's sheet limit (rows, header included): larger tables are offered as CSV only.
XLSX_MAX_ROWS = 1_048_576
PAGE_MAX = 1000  # the most rows one page request may ask for
CHUNK_ROWS = 10_000  # rows a CSV stream holds at a time: ~+50 MB RSS (20,000: ~+80 MB)


@dataclass(frozen=True)
class Column:
    """A table column: a stable id, the label key, and the SQL it sorts and filters on."""

    id: str
    label: str  # i18n key
    sql: str | None  # raw column to sort/filter on (None: not sortable)
    kind: str = "text"  # text | number
    # never NULL in the store: sorted on the column alone, so an index on it serves the
    # sort (a NULLs-last term in front of a nullable column keeps any index out)
    not_null: bool = False


COLUMNS: dict[str, tuple[Column, ...]] = {
    "pairings": (
        Column("program", "col_program", "program", not_null=True),
        Column("donor_province", "col_donor_province", "donor_province", not_null=True),
        Column("donor_unit", "col_donor_unit", "donor_unit"),
        Column(
            "recipient",
            "col_recipient",
            "COALESCE(recipient_county, recipient_prefecture, recipient_province)",
        ),
        Column("adcode", "col_adcode", "recipient_adcode"),
        Column("start", "col_start", "start_year", "number"),
        Column("end", "col_end", "end_year", "number"),
        Column("confidence", "col_confidence", "confidence", not_null=True),
        Column("source", "col_source", "source", not_null=True),
        Column("note", "col_note", "unresolved_reason"),
    ),
    "figures": (
        Column("metric", "col_metric", "metric", not_null=True),
        Column("donor", "col_donor", "donor", not_null=True),
        Column("recipient", "col_recipient", "recipient", not_null=True),
        Column("place", "col_recipient_place", "recipient_adcode"),
        Column("period", "col_period", "period_end", "number"),
        Column("value", "col_value", "value", "number", not_null=True),
        Column("value_raw", "col_value_raw", "value", "number", not_null=True),
        Column("unit", "col_unit", "unit", not_null=True),
        Column("quote", "col_quote", "quote"),
        Column("source", "col_source", "source", not_null=True),
        Column("confidence", "col_confidence", "confidence", not_null=True),
        Column("note", "col_note", "unresolved_reason"),
    ),
}


def source_links(source: str | None) -> list[tuple[str, str | None]]:
    """Split a `source` cell (' ; '-separated) into (label, url or None) pairs.

    The two source documents are linked to their original locations (NOTES.md §1)."""
    if not source or not isinstance(source, str):
        return []
    out: list[tuple[str, str | None]] = []
    for part in (s.strip() for s in source.split(";")):
        if not part:
            continue
        doc = next((d for d in SOURCE_DOCUMENTS if d in part), None)
        if doc:
            out.append((part, SOURCE_DOCUMENTS[doc]))
        elif re.match(r"https?://", part):
            out.append((part, part.split()[0]))
        else:
            out.append((part, None))
    return out


# Rows a source line reads at most per table: the line's cost stays bounded whatever the
# view holds (1 M figures: a full GROUP BY took 0.25 s of CPU, 2 s on a busy disk; 50,000
# rows still 50-170 ms a click, 16 % of the CPU under load; 10,000 rows 10-40 ms).
SOURCE_ROWS_MAX = 10_000


@dataclass(frozen=True)
class ViewSources:
    """The sources the rows in view cite, most cited first: (label, url, rows citing it).
    ``complete`` is False when the view has more rows than were read (``SOURCE_ROWS_MAX``):
    then the list names sources of the first rows, and counts only those."""

    sources: list[tuple[str, str | None, int]]
    complete: bool = True


def view_sources(data: AtlasData, filters: Filters, cap: int = SOURCE_ROWS_MAX) -> ViewSources:
    """The sources of a view, for the source line under its map (and on the presenter's
    stage). A cell naming several sources (' ; ') counts for each."""

    def compute() -> ViewSources:
        counts: dict[tuple[str, str | None], int] = {}
        complete = True
        for kind in TABLE_KINDS:
            if kind == "figures" and data.summary.has_sources():
                # every figure's source, from the sources snapshot: no figure rows read
                per_source: dict[Any, int] = {}
                for _metric, cell, n in figure_source_counts(data, filters):
                    per_source[cell] = per_source.get(cell, 0) + n
                rows = list(per_source.items())
            else:
                cond, params = where(filters, kind)  # type: ignore[arg-type]
                extra = " AND counted" if kind == "figures" else ""
                params["cap"] = int(cap)
                rows = data.rows(
                    f"SELECT source, COUNT(*) FROM (SELECT source FROM {kind} WHERE {cond}"
                    f"{extra} AND source IS NOT NULL LIMIT :cap) AS first_rows GROUP BY source",
                    params,
                )
                complete = complete and sum(int(n) for _, n in rows) < cap
            for cell, n in rows:
                for label, url in source_links(cell):
                    counts[(label, url)] = counts.get((label, url), 0) + int(n)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0].lower()))
        return ViewSources([(label, url, n) for (label, url), n in ranked], complete)

    return data.cached(("view_sources", filters.cache_key(), cap), compute)


@dataclass(frozen=True)
class SourceCount:
    """Rows of one table in view citing one source cell with one confidence."""

    kind: str  # pairings | figures
    source: str | None
    confidence: str | None
    rows: int
    quotes: int  # figures with a non-empty quote (0 for pairings)


def source_counts(
    data: AtlasData, filters: Filters, metrics: Sequence[str] | None = None
) -> list[SourceCount]:
    """Every source cell the rows of a view cite, with its confidences and counts: what an
    export lists under its chart. Counted in SQL over all the rows (an export's list is
    complete, unlike the screen's capped source line), never by reading them into memory.
    ``metrics``: the figures of those metrics only (None: every metric in view)."""

    def compute() -> list[SourceCount]:
        out: list[SourceCount] = []
        cond, params = where(filters, "pairings")
        for source, confidence, n in data.rows(
            f"SELECT source, confidence, COUNT(*) FROM pairings WHERE {cond} "
            "GROUP BY source, confidence",
            params,
        ):
            out.append(SourceCount("pairings", source, confidence, int(n), 0))
        cond, params = where(filters, "figures")
        if metrics is not None:
            if not metrics:
                return out
            names = []
            for i, metric in enumerate(metrics):
                params[f"m{i}"] = metric
                names.append(f":m{i}")
            cond += f" AND metric IN ({', '.join(names)})"
        quoted = "CASE WHEN TRIM(COALESCE(quote, '')) <> '' THEN 1 ELSE 0 END"
        for source, confidence, n, q in data.rows(
            f"SELECT source, confidence, COUNT(*), SUM({quoted}) FROM figures WHERE {cond} "
            "GROUP BY source, confidence",
            params,
        ):
            out.append(SourceCount("figures", source, confidence, int(n), int(q or 0)))
        return out

    key = tuple(metrics) if metrics is not None else None
    return data.cached(("source_counts", filters.cache_key(), key), compute)


# ---------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------


def _base(f: Filters, kind: str, all_active: bool = False) -> tuple[str, dict[str, Any]]:
    """A table's rows in view. With ``all_active`` (no batch undone) no row's batch is
    looked up: a page of the figures in id order then reads only ``ix_figures_shown``
    (10 M figures, a page 3.1 M rows deep: 2.9 s -> 0.2 s, #7)."""
    if kind not in TABLE_KINDS:
        raise ValueError(f"unknown table {kind!r}; expected one of {TABLE_KINDS}")
    cond, params = where(f, kind, all_active=all_active)  # type: ignore[arg-type]
    if kind == "figures" and f.metric:
        cond += " AND metric = :metric"
        params["metric"] = f.metric
    return cond, params


_TEXT_OPS = {
    "contains": ("LIKE", "%{}%"),
    "notContains": ("NOT LIKE", "%{}%"),
    "equals": ("=", "{}"),
    "notEqual": ("<>", "{}"),
    "startsWith": ("LIKE", "{}%"),
    "endsWith": ("LIKE", "%{}"),
}
_NUMBER_OPS = {
    "equals": "=",
    "notEqual": "<>",
    "greaterThan": ">",
    "greaterThanOrEqual": ">=",
    "lessThan": "<",
    "lessThanOrEqual": "<=",
}


def _like_escape(value: str) -> str:
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")


# Characters DuckDB's lower() turns into ASCII letters: KELVIN SIGN -> k, LATIN CAPITAL I
# WITH DOT ABOVE -> i (a test asks DuckDB for every such character).
LOWERED_TO_ASCII = ("\u212a", "\u0130")


def _cased(ch: str) -> bool:
    return ch.lower() != ch or ch.upper() != ch or ch.title() != ch


def _ascii_letter(ch: str) -> bool:
    """A letter whose case SQLite's LIKE ignores (ASCII only)."""
    return ch.isascii() and ch.isalpha()


def _char_regex(ch: str) -> str:
    """One character of a LIKE pattern as SQLite matches it: an ASCII letter of either
    case, any other character as it is."""
    return f"[{ch.lower()}{ch.upper()}]" if _ascii_letter(ch) else re.escape(ch)


def _like_regex(pattern: str) -> str:
    """SQLite's LIKE ``pattern`` (escaped with '!') as a whole-text regular expression:
    '%' any run of characters, '_' one character, ASCII letters of either case."""
    out = ["(?s)"]
    chars = iter(pattern)
    for ch in chars:
        if ch == "!":
            ch = next(chars, "!")
        elif ch == "%":
            out.append(".*")
            continue
        elif ch == "_":
            out.append(".")
            continue
        out.append(_char_regex(ch))
    return "".join(out)


def _duck_like(column: str, op: str, pattern: str, name: str, params: dict[str, Any]) -> str:
    """SQLite's ``column LIKE pattern ESCAPE '!'`` (or NOT LIKE) on DuckDB, the same rows.
    SQLite's LIKE ignores the case of ASCII letters only; DuckDB's LIKE that of none, its
    ILIKE and lower() that of every letter ('É' is not 'é' to SQLite). A pattern without
    an ASCII letter is matched as it is. Else ``lower(column) LIKE lower(pattern)`` finds
    the rows (DuckDB reads a column's distinct values once: ~60 ms over 4.2 M rows where a
    regular expression took ~0.4 s and an ASCII-only fold by translate() 3-4 s) and more
    only where a letter other than ASCII is lowered: on either side, the regular
    expression of the pattern (``_like_regex``) decides; in the column, only for the
    characters lowered to ASCII (``LOWERED_TO_ASCII``), which are rare."""
    negate = op.startswith("NOT")
    if not any(_ascii_letter(ch) for ch in pattern):
        found = f"{column} LIKE :{name} ESCAPE '!'"
        params[name] = pattern
    else:
        params[name] = pattern  # lowered by DuckDB, as the column is
        params[f"{name}re"] = _like_regex(pattern)
        exact = f"regexp_full_match({column}, :{name}re)"
        if not any(_cased(ch) for ch in pattern if not ch.isascii()):
            plain = " AND ".join(f"NOT contains({column}, '{ch}')" for ch in LOWERED_TO_ASCII)
            exact = f"({plain} OR {exact})"
        found = f"lower({column}) LIKE lower(:{name}) ESCAPE '!' AND {exact}"
    return f"NOT ({found})" if negate else f"({found})"


def _ranked_match(
    column: str,
    op: str,
    value: str,
    name: str,
    params: dict[str, Any],
    ranges: tuple[str, list[tuple[int, int]]] | None = None,
) -> str:
    """SQLite's LIKE of a grid's ``op`` ("contains", "notContains", "startsWith",
    "endsWith") and ``value`` on DuckDB, the same rows, for a column of distinct texts (the
    quotes' file, one row per text: no dictionary of a few values for lower() to work on).
    Without an ASCII letter in ``value`` a text function (contains, starts_with, suffix);
    with one, a search by a regular expression whose ASCII letters are of either case, as
    SQLite's LIKE folds them and no other letter. Over 8 M distinct quotes (#7): ~0.47 /
    0.71 s where LIKE with ESCAPE took 0.55 s and lower() ... LIKE 1.5 s.

    ``ranges``: (the rank's column, the runs of ranks that may hold ``value``,
    ``Summary.quote_ranges``): the text is read in those only (DuckDB skips the quotes'
    other row groups); none: no text holds it."""
    negate = op == "notContains"
    if not any(_ascii_letter(ch) for ch in value):
        function = {"startsWith": "starts_with", "endsWith": "suffix"}.get(op, "contains")
        params[name] = value
        found = f"{function}({column}, :{name})"
    else:
        body = "".join(_char_regex(ch) for ch in value)
        anchored = {"startsWith": rf"\A{body}", "endsWith": rf"{body}\z"}.get(op, body)
        params[name] = f"(?s){anchored}"
        found = f"regexp_matches({column}, :{name})"
    if ranges is not None:
        rank, runs = ranges
        within = " OR ".join(f"{rank} BETWEEN {int(a)} AND {int(b)}" for a, b in runs)
        found = f"({within or 'FALSE'}) AND {found}"
    return f"NOT ({found})" if negate else f"({found})"


def _text_filtered(kind: str, model: Mapping[str, Any] | None) -> bool:
    """Whether a grid's filter model has a condition on a text column."""
    if not isinstance(model, Mapping):
        return False
    columns = {c.id: c for c in COLUMNS[kind]}
    return any(
        _filter_sql(kind, {col_id: spec}, {})
        for col_id, spec in model.items()
        if str(col_id) in columns and columns[str(col_id)].kind != "number"
    )


def _filter_sql(
    kind: str,
    model: Mapping[str, Any] | None,
    params: dict[str, Any],
    duck: bool = False,
    summary: Any = None,
) -> str:
    """AND-ed conditions for a dash-ag-grid filter model; unknown parts are ignored.
    ``duck``: for DuckDB over the figure rows' snapshot, matching the rows SQLite's do;
    there a filter on the quote's text keeps its ranks in ``summary``'s table, when it can
    (``Summary.kept_matches``)."""
    if not isinstance(model, Mapping):
        return ""
    columns = {c.id: c for c in COLUMNS[kind]}
    out = []
    for i, (col_id, spec) in enumerate(sorted(model.items())[:20]):
        col = columns.get(str(col_id))
        if col is None or col.sql is None or not isinstance(spec, Mapping):
            continue
        op, value = spec.get("type"), spec.get("filter")
        if not isinstance(op, str):  # from the browser: anything but a known name is ignored
            continue
        name = f"flt{i}"
        if col.kind == "number":
            if (
                op in _NUMBER_OPS
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
            ):
                out.append(f"{col.sql} {_NUMBER_OPS[op]} :{name}")
                params[name] = float(value)
        elif op in _TEXT_OPS and isinstance(value, (str, int, float)):
            sql_op, pattern = _TEXT_OPS[op]
            text_value = str(value)[:200]
            # over the snapshot a ranked column's text is in its own file: the condition
            # on the text there, the ranks it leaves here (a row without one, NULL, is
            # matched by neither side, as in SQL)
            ranked = duck and col.sql in RANKED_IN_SNAPSHOT
            column = f"ranked.{col.sql}" if ranked else col.sql
            if "LIKE" in sql_op and ranked:
                # only the quotes' blocks that may hold it are read (``quote_ranges``)
                runs = summary.quote_ranges(text_value) if summary is not None else None
                ranges = (f"ranked.{RANKED_TEXT[col.sql][1]}", runs) if runs is not None else None
                found = _ranked_match(column, op, text_value, name, params, ranges)
            elif "LIKE" in sql_op:
                text_value = pattern.format(_like_escape(text_value))
                if duck:
                    found = _duck_like(column, sql_op, text_value, name, params)
                else:
                    found = f"{column} {sql_op} :{name} ESCAPE '!'"
                    params[name] = text_value
            else:
                found = f"{column} {sql_op} :{name}"
                params[name] = text_value
            if ranked:
                view, rank = RANKED_TEXT[col.sql]
                ranks = f"SELECT ranked.{rank} FROM {view} AS ranked WHERE"
                inner = f"{ranks} {found}"
                # the ranks it does not leave (a text it cannot tell: NULL, among them)
                inverse = f"{ranks} ({found}) IS NOT TRUE"
                own = {name: params[name]}  # the one parameter of the ranks' condition
                known = _index_known(summary, op, text_value, rank) if "LIKE" in sql_op else None
                kept = (
                    summary.kept_matches(inner, own, inverse, known)
                    if summary is not None
                    else None
                )
                negated = False
                if kept is not None:  # its parameters are the kept table's now
                    table, negated = kept
                    inner = f"SELECT kept.{rank} FROM {table} AS kept"
                    for k in own:
                        del params[k]
                # a row without a rank (NULL) is in neither: NOT IN leaves it out too
                found = f"{col.sql} {'NOT IN' if negated else 'IN'} ({inner})"
            out.append(found)
    return "".join(f" AND {c}" for c in out)


def _index_known(
    summary: Any, op: str, value: str, rank: str
) -> Callable[[], tuple[Any, bool] | None] | None:
    """For ``Summary.kept_matches``: the ranks of the quotes a text condition keeps (or,
    for "notContains", those it leaves out: True), when the quotes' index knows them."""
    if summary is None:
        return None

    def known() -> tuple[Any, bool] | None:
        import pyarrow as pa

        found = summary.quote_index_ranks(value, op)
        if found is None:
            return None
        return pa.table({rank: pa.array(found, pa.int64())}), op == "notContains"

    return known


def _sorted_columns(kind: str, sort_model: Any) -> list[tuple[Column, str]]:
    """The table's columns a grid's sort model names, in its order, with their direction
    (``ASC`` or ``DESC``); items that name no stored column are left out."""
    columns = {c.id: c for c in COLUMNS[kind]}
    out = []
    for item in sort_model if isinstance(sort_model, list) else []:
        col = columns.get(str(item.get("colId"))) if isinstance(item, Mapping) else None
        if col is not None and col.sql is not None:
            out.append((col, "DESC" if item.get("sort") == "desc" else "ASC"))
    return out


def _order_sql(kind: str, sort_model: Any) -> str:
    parts = []
    for col, direction in _sorted_columns(kind, sort_model):
        if col.not_null:
            parts.append(f"{col.sql} {direction}")
        else:  # NULLs last whichever way, on SQLite and PostgreSQL alike
            parts.append(f"({col.sql} IS NULL), {col.sql} {direction}")
    return ", ".join([*parts, "id"])


def table_count(
    data: AtlasData,
    filters: Filters,
    kind: str,
    filter_model: Mapping[str, Any] | None = None,
    seconds: float | None = None,
) -> int:
    """Rows of a table in view (the figures' count comes from the summary table; under a
    grid filter, of a large view, from the figure rows' snapshot when it can)."""
    if kind == "figures" and not _filter_sql(kind, filter_model, {}):
        cond, params = where(filters, "totals")
        if filters.metric:
            cond += " AND metric = :metric"
            params["metric"] = filters.metric
        # kept: each page of the view asks, and a filtered page asks it twice more (the
        # size of the view its filter looks through, ``table_page``, ``_snapshot_sorts``)
        return data.cached(
            ("view_rows", cond, tuple(sorted(params.items()))),
            lambda: int(
                data.summary.rows(
                    f"SELECT COALESCE(SUM(n_rows), 0) FROM figure_totals WHERE {cond}", params
                )[0][0]
            ),
        )
    if kind == "figures" and _snapshot_sorts(
        data, kind, table_count(data, filters, kind), None, filter_model, any_order=True
    ):
        cond, params = _base(filters, kind, all_active=True)
        cond += _filter_sql(kind, filter_model, params, duck=True, summary=data.summary)
        try:  # kept: each page of the view asks again
            return data.cached(
                ("filtered_count", cond, tuple(sorted(params.items()))),
                lambda: data.summary.ids(
                    f"SELECT COUNT(*) FROM figure_rows WHERE {cond}", params, seconds
                )[0],
            )
        except QueryTooSlow:
            raise
        except Exception:  # DuckDB out of memory, a file gone with its version: SQL counts
            log.warning("a count from the figure rows' snapshot failed", exc_info=True)
    cond, params = _base(filters, kind, data.all_active())
    cond += _filter_sql(kind, filter_model, params)
    return int(
        data.rows(f"SELECT COUNT(*) FROM {kind} WHERE {cond}", params, seconds=seconds)[0][0]
    )


def _rows_sql(
    filters: Filters,
    kind: str,
    offset: int,
    limit: int | None,
    sort_model: Any,
    filter_model: Mapping[str, Any] | None,
    scan: bool = False,
    all_active: bool = False,
    shown_index: bool = False,
) -> tuple[str, dict[str, Any]]:
    cond, params = _base(filters, kind, all_active)
    cond += _filter_sql(kind, filter_model, params)
    order = _order_sql(kind, sort_model)
    if limit is None:
        return f"SELECT * FROM {kind} WHERE {cond} ORDER BY {order}", params
    # one page: the rows' ids first, then the page's rows by id (a "late row lookup"): the
    # sort carries (key, id) instead of whole rows, so a page deep in a sorted table of
    # 420,000 figures takes 1.7-2.0 s instead of 4.3 s (#7)
    params.update(limit=int(limit), offset=int(offset))
    source = kind  # SQLite only: ``_scan_better``, ``_shown_index_better``
    if scan:
        source = f"{kind} NOT INDEXED"
    elif shown_index:
        source = f"{kind} INDEXED BY ix_figures_shown"
    page = f"SELECT id FROM {source} WHERE {cond} ORDER BY {order} LIMIT :limit OFFSET :offset"
    return f"SELECT * FROM {kind} WHERE id IN ({page}) ORDER BY {order}", params


# A view holding more than this share of a table's rows is sorted from a scan of the table.
SCAN_SHARE = 0.1


def _scan_better(data: AtlasData, kind: str, rows_in_view: int, sort_model: Any) -> bool:
    """Whether a sorted page of a SQLite table reads the table through rather than by its
    metric index. Through an index SQLite looks each row of the view up on its own; for a
    view of 420,000 of 1 M figures that took 1.05 s, a scan of all of them 0.27 s (at
    10 M figures both take ~2.5 s). A view in id order stops after its page either way,
    and one sorted by value walks the (metric, value) index in order (milliseconds)."""
    order = _order_sql(kind, sort_model)
    if data.engine.dialect.name != "sqlite" or order == "id" or order.startswith("value "):
        return False

    def stored() -> int:
        return int(data.rows(f"SELECT MAX(id) FROM {kind}")[0][0] or 0)

    return rows_in_view > SCAN_SHARE * data.cached(("stored_rows", kind), stored)


def _shown_index_better(data: AtlasData, kind: str, filters: Filters, sort_model: Any) -> bool:
    """Whether a page of a metric's figures in id order reads ``ix_figures_shown`` (a
    metric's figures that are not background, in id order). SQLite weighs it the same as
    the metric's index, which holds background figures too and so makes it look each row
    up: at 10 M figures a page 3.1 M rows deep took 2.9 s that way, 0.2 s by this one
    (no batch undone: nothing else to look up). A drilled province has an index of its own."""
    return (
        data.engine.dialect.name == "sqlite"
        and kind == "figures"
        and bool(filters.metric)
        and not filters.recipient
        and _order_sql(kind, sort_model) == "id"
    )


# A sorted page of a view holding at least this many figures comes from the figure rows'
# snapshot (DuckDB) when there is one. Within the first SNAPSHOT_SORT_TOP rows DuckDB keeps
# the top rows of the sort in a heap (at 10 M figures a page ~0.2 s, a few MB); deeper it
# would sort them all (1.3-1.6 s, and ~100 MB its worker then keeps), so a deeper page is
# found by counting (``_counted_page``): the view's rows per sort key, in the sort's order
# (at most SORT_GROUPS_MAX keys, else SQL pages it, bounded by TWINNING_TABLE_SECONDS),
# then, inside the key that holds the page, its rows in id order: for a view of one
# metric in the snapshot's own order, else directly when it holds at most SORT_GROUP_ROWS
# (a page's run of such keys in one query), else by blocks of SORT_BLOCK_IDS ids counted
# the same way. A deep page of one metric in id order is read in the snapshot's order too.
SNAPSHOT_SORT_ROWS = 50_000
SNAPSHOT_SORT_TOP = 10_000
SORT_GROUPS_MAX = 100_000
SORT_GROUP_ROWS = 16_384
SORT_RUN_KEYS = 12  # keys of few rows in one page: read one by one, in one query
SORT_BLOCK_IDS = 4_096


def _snapshot_sorts(
    data: AtlasData,
    kind: str,
    rows_in_view: int,
    sort_model: Any,
    filter_model: Mapping[str, Any] | None,
    deep: bool = False,
    one_metric: bool = False,
    any_order: bool = False,
) -> bool:
    """Whether a page of the figures is sorted by DuckDB over the figure rows' snapshot
    (``twinning.query.summary.write_figures``): a page of a large view sorted by a column
    other than its id or value (past ``SNAPSHOT_SORT_TOP`` rows, ``deep``, the page is
    counted); sorted by value past SNAPSHOT_SORT_TOP rows (SQLite walks the metric's index
    in value order, fast for the first pages, then row by row to the page: 8 s and
    refused 2.9 M rows deep at 10 M figures); in id order past SNAPSHOT_SORT_TOP rows of
    ``one_metric`` (the snapshot's order, read without a sort; SQLite walked its index to
    the page, 0.1-0.2 s 3 M rows deep at 10 M figures); every sort and filter on a column
    the snapshot holds (the quote: by its rank, a filter on it over the quotes' text). A
    grid filter on a view of ``rows_in_view`` rows, however few it leaves, is counted
    here; and under a text filter (``any_order``, as for a count) a page in any order is
    read here: SQL would look through the view for its rows (at 10 M figures: refused
    after 8 s, #7). Under a number filter SQL keeps the first pages of a sort by value
    (an index walk) and of the id order."""
    from twinning.query.summary import FIGURE_ROW_COLUMNS

    if kind != "figures" or rows_in_view < SNAPSHOT_SORT_ROWS:
        return False
    columns = {c.id: c for c in COLUMNS[kind]}
    grid_filter = [
        columns[str(col_id)]
        for col_id in (filter_model if isinstance(filter_model, Mapping) else {})
        if str(col_id) in columns and columns[str(col_id)].sql is not None
    ]
    if any(col.sql not in FIGURE_ROW_COLUMNS for col in grid_filter):
        return False
    if any(col.sql in RANKED_IN_SNAPSHOT for col in grid_filter) and not (
        data.summary.has_quotes()
    ):
        return False  # a snapshot without the quotes' text
    if not (any_order and grid_filter):
        order = _order_sql(kind, sort_model)
        if order == "id" and not (deep and one_metric):
            return False
        if order.startswith("value ") and not deep:
            return False
    if any(col.sql not in FIGURE_ROW_COLUMNS for col, _ in _sorted_columns(kind, sort_model)):
        return False
    return data.summary.has_figures()


def _sorted_from_snapshot(
    data: AtlasData,
    filters: Filters,
    start: int,
    limit: int,
    sort_model: Any,
    filter_model: Mapping[str, Any] | None,
    seconds: float | None,
) -> dict[str, list[Any]] | None:
    """One sorted page (or, past SNAPSHOT_SORT_TOP rows of one metric, a page in id order):
    its figures' ids in order from DuckDB (the snapshot holds the active figures of this
    data version only), then their rows from the store. None when the page is deep and the
    view has too many sort keys to count (SQL pages it)."""
    cond, params = _base(filters, "figures", all_active=True)
    cond += _filter_sql("figures", filter_model, params, duck=True, summary=data.summary)
    order = _order_sql("figures", sort_model)
    # one metric's rows are read in the file's order, unless a filter joins the quotes'
    # file (DuckDB keeps a file's order through filters, not through a join)
    one_metric = bool(filters.metric) and _file_order_kept(cond)
    if order == "id" and one_metric:
        ids = _ids_in_file_order(data, cond, params, start, limit, seconds)
    elif order == "id" and start + limit > SNAPSHOT_SORT_TOP:  # deep, under a text filter
        ids = _ids_in_group(data, cond, params, {}, start, limit, seconds)
    elif start + limit <= SNAPSHOT_SORT_TOP:
        params.update(limit=int(limit), offset=int(start))
        ids = data.summary.ids(
            f"SELECT id FROM figure_rows WHERE {cond} ORDER BY {order} LIMIT :limit OFFSET :offset",
            params,
            seconds,
        )
    else:
        found = _counted_page(
            data, cond, params, sort_model, start, limit, seconds, one_metric=one_metric
        )
        if found is None:
            return None
        ids = found
    return _rows_by_ids(data, ids, seconds)


def _slices(
    counted: Sequence[tuple[Any, int]], skip: int, take: int
) -> Iterator[tuple[Any, int, int, int]]:
    """For rows ``skip`` to ``skip + take`` of runs of rows counted in order, ``(key,
    rows)``: each run that holds some of them, as (key, rows, how many of its rows come
    before them, how many of them it holds)."""
    before = 0  # rows in the runs passed
    for key, rows in counted:
        if take <= 0:
            return
        if before + rows > skip:
            offset = skip - before
            n = min(take, rows - offset)
            yield key, rows, offset, n
            skip, take = skip + n, take - n
        before += rows


def _counted_page(
    data: AtlasData,
    cond: str,
    params: dict[str, Any],
    sort_model: Any,
    start: int,
    limit: int,
    seconds: float | None,
    one_metric: bool = False,
) -> list[int] | None:
    """The ids of rows ``start`` to ``start + limit`` of the figure rows' snapshot under
    ``cond`` in the order of ``sort_model`` (then id), without sorting the rows before
    them: the rows per sort key are counted in the sort's order (once per view and sort,
    kept with the data version), which says the key(s) the page falls in and how deep
    into each; inside a key the rows go in id order (``_ids_in_group`` for a key of many
    rows, ``_ids_in_small_groups`` for a run of keys of few). ``one_metric``: ``cond``
    holds one metric's rows. None when the view has more than SORT_GROUPS_MAX keys."""
    by_value = _bucket_column(sort_model)
    if by_value is not None:  # a number of many values: by buckets
        column, direction = by_value
        return _bucketed_page(data, cond, params, column, direction, start, limit, seconds,
                              one_metric)  # fmt: skip
    keys = list(dict.fromkeys(col.sql for col, _ in _sorted_columns("figures", sort_model)))
    head = _order_sql("figures", sort_model).removesuffix("id").rstrip(", ")
    if not keys or not head:
        return None
    groups = _counted_keys(data, cond, params, keys, head)
    if groups is None:
        return None
    return _ids_of_groups(data, cond, params, keys, head, groups, start, limit, seconds, one_metric)


def _counted_keys(
    data: AtlasData, cond: str, params: dict[str, Any], keys: list[str], head: str
) -> list[tuple[tuple[Any, ...], int]] | None:
    """The rows under ``cond`` per value of the sort columns ``keys``, in the sort's order
    (``head``), kept with the data version; None past SORT_GROUPS_MAX values."""
    listed = ", ".join(keys)

    def count() -> list[tuple[tuple[Any, ...], int]] | None:
        found = data.summary.rows(
            f"SELECT {listed}, COUNT(*) FROM figure_rows WHERE {cond} GROUP BY {listed} "
            f"ORDER BY {head} LIMIT {SORT_GROUPS_MAX + 1}",
            params,
        )
        if len(found) > SORT_GROUPS_MAX:
            return None
        return [(tuple(row[:-1]), int(row[-1])) for row in found]

    return data.cached(("sorted_groups", cond, tuple(sorted(params.items())), head), count)


def _ids_of_groups(
    data: AtlasData,
    cond: str,
    params: dict[str, Any],
    keys: list[str],
    head: str,
    groups: Sequence[tuple[tuple[Any, ...], int]],
    start: int,
    limit: int,
    seconds: float | None,
    one_metric: bool,
) -> list[int]:
    """The ids of rows ``start`` to ``start + limit`` under ``cond`` in the sort ``head``
    (then id), from the rows counted per sort key (``groups``: the values of ``keys`` and
    their rows, in the sort's order)."""
    ids: list[int] = []
    small: list[tuple[dict[str, Any], int, int]] = []  # consecutive keys of few rows

    def flush() -> None:
        if small:
            ids.extend(_ids_in_small_groups(data, cond, params, head, small, seconds))
            small.clear()

    for values, n, skip, take in _slices(groups, start, limit):
        named = dict(zip(keys, values, strict=True))
        if n <= SORT_GROUP_ROWS:
            small.append((named, skip, take))
            continue
        flush()
        ids += _ids_in_group(data, cond, params, named, skip, take, seconds, one_metric)
    flush()
    return ids


# A sort by the value (at 10 M figures 450,000 values among a metric's 4.2 M figures, more
# keys than SORT_GROUPS_MAX) counts the view's rows by buckets of the value's sign and
# order of magnitude, BUCKETS_PER_DECADE to a decade (there: ~4,800 buckets of at most
# ~3,000 rows; one read of the view, 0.1-0.3 s, kept with the data version); the page's
# rows are then sorted inside its bucket(s), a heap of at most a bucket's rows (0.1-0.25 s
# a page, where a sort of the view took 0.4-0.5 s and SQLite's index walk 8 s). A bucket
# of more than BUCKET_SORT_ROWS rows (a value repeated many times) is counted by its
# values, as a sort's keys are.
# A sort by the quote is one by its rank in the snapshot (``summary._FIGURE_TYPES``): as
# many keys as distinct quotes (a register that quotes its documents row by row: millions),
# so bucketed as the value is, its figures without a quote (NULL) in a bucket of their own,
# last either way as SQL puts them.
BUCKETS_PER_DECADE = 1000
BUCKET_SORT_ROWS = 65_536
RANKED_IN_SNAPSHOT = frozenset({"quote"})
# where a ranked column's text is, over the snapshot: (view, rank column)
RANKED_TEXT = {"quote": ("figure_quotes", "quote_rank")}


def _bucket_sql(column: str) -> str:
    """A whole number that never decreases as ``column`` grows: 0 for zero, else its sign
    and ``floor(log10(|x|) * BUCKETS_PER_DECADE)`` (larger magnitudes further from 0);
    NULL for NULL."""
    k = BUCKETS_PER_DECADE
    return (
        f"(CASE WHEN {column} IS NULL THEN NULL"
        f" WHEN {column} > 0 THEN 1000000000 + CAST(floor(log10({column}) * {k}) AS BIGINT)"
        f" WHEN {column} < 0 THEN -1000000000 - CAST(floor(log10(-{column}) * {k}) AS BIGINT)"
        " ELSE 0 END)"
    )


def _bucket_column(sort_model: Any) -> tuple[str, str] | None:
    """(column, direction) of a sort by one column the snapshot holds as a number of many
    values (the value; the quote, by its rank), which ``_bucketed_page`` pages; None for
    any other sort."""
    cols = _sorted_columns("figures", sort_model)
    if len(cols) != 1:
        return None
    col, direction = cols[0]
    if not ((col.kind == "number" and col.not_null) or col.sql in RANKED_IN_SNAPSHOT):
        return None
    return col.sql, direction


def _bucketed_page(
    data: AtlasData,
    cond: str,
    params: dict[str, Any],
    column: str,
    direction: str,
    start: int,
    limit: int,
    seconds: float | None,
    one_metric: bool,
) -> list[int] | None:
    """The ids of rows ``start`` to ``start + limit`` under ``cond`` sorted by the number
    ``column`` (``_bucket_column``) in ``direction``, then id, counted by buckets of
    ``_bucket_sql``; None when a bucket of many rows holds more than SORT_GROUPS_MAX values
    (SQL pages it). A bucket's rows are the view's rows between its smallest and largest
    value (buckets never overlap: the bucket number never decreases as the value grows),
    which DuckDB tests before the bucket number itself. Rows whose ``column`` is NULL are
    one bucket, after the others in either direction."""
    bucket = _bucket_sql(column)

    def count_buckets() -> list[tuple[tuple[int | None, float, float], int]]:
        return [
            ((None if b is None else int(b), lo, hi), int(n))
            for b, n, lo, hi in data.summary.rows(
                f"SELECT {bucket} AS b, COUNT(*), MIN({column}), MAX({column}) "
                f"FROM figure_rows WHERE {cond} GROUP BY b ORDER BY (b IS NULL), b {direction}",
                params,
            )
        ]

    buckets = data.cached(
        ("sorted_buckets", cond, tuple(sorted(params.items())), bucket, direction), count_buckets
    )
    ids: list[int] = []
    parts: list[str] = []  # buckets of few rows: sorted in one query
    named: dict[str, Any] = {}  # their parameters (DuckDB refuses one a query does not use)
    head = f"{column} {direction}"

    def flush() -> None:
        if parts:
            ids.extend(
                data.summary.ids(
                    f"SELECT id FROM ({' UNION ALL '.join(parts)}) "
                    f"ORDER BY part, k {direction}, id",
                    {**params, **named},
                    seconds,
                )
            )
            parts.clear()
            named.clear()

    for g, ((b, lo, hi), n, skip, take) in enumerate(_slices(buckets, start, limit)):
        if n <= BUCKET_SORT_ROWS:
            named.update({f"take{g}": take, f"skip{g}": skip})
            if b is None:
                inside = f"{column} IS NULL"
            else:
                named.update({f"bucket{g}": b, f"low{g}": lo, f"high{g}": hi})
                inside = f"{column} BETWEEN :low{g} AND :high{g} AND {bucket} = :bucket{g}"
            parts.append(
                f"(SELECT id, {column} AS k, {g} AS part FROM figure_rows WHERE {cond} AND "
                f"{inside} ORDER BY {head}, id LIMIT :take{g} OFFSET :skip{g})"
            )
            continue
        flush()
        # names of their own: ``_ids_in_group`` sets :low and :high to its block's ids
        if b is None:
            at, here = dict(params), f"{cond} AND {column} IS NULL"
        else:
            at = {**params, "vbucket": b, "vlow": lo, "vhigh": hi}
            here = f"{cond} AND {column} BETWEEN :vlow AND :vhigh AND {bucket} = :vbucket"
        values = _counted_keys(data, here, at, [column], head)
        if values is None:
            return None
        ids += _ids_of_groups(
            data, here, at, [column], head, values, skip, take, seconds, one_metric
        )
    flush()
    return ids


def _group_clause(values: dict[str, Any], params: dict[str, Any], tag: str) -> str:
    """The condition that a row's sort columns hold ``values`` (NULL as IS NULL); its
    parameters go into ``params``, named with ``tag``."""
    clauses = []
    for i, (column, value) in enumerate(values.items()):
        if value is None:
            clauses.append(f"{column} IS NULL")
        else:
            params[f"{tag}{i}"] = value
            clauses.append(f"{column} = :{tag}{i}")
    return " AND ".join(clauses)


def _ids_in_small_groups(
    data: AtlasData,
    cond: str,
    params: dict[str, Any],
    head: str,
    groups: list[tuple[dict[str, Any], int, int]],
    seconds: float | None,
) -> list[int]:
    """The ids of a page's rows in consecutive sort keys of at most SORT_GROUP_ROWS rows
    each (``(values, skip, take)``: the first key's rows after its first ``skip``, every
    row of those between, the last key's first ones), in one query (a page over many
    small keys, a sort by recipient, took a query per key, ~10 ms each, #7). Up to
    SORT_RUN_KEYS keys, one part per key: DuckDB reads a key's rows by its column's
    statistics; more keys, their rows in the sort's order, one read of the view (~80 ms at
    10 M figures, as a key of one column or of several)."""
    params = dict(params)
    if len(groups) <= SORT_RUN_KEYS:
        parts = []
        for g, (values, skip, take) in enumerate(groups):
            params.update({f"take{g}": take, f"skip{g}": skip})
            parts.append(
                f"(SELECT id, {g} AS part FROM figure_rows WHERE {cond} AND "
                f"{_group_clause(values, params, f'sortkey{g}_')} ORDER BY id "
                f"LIMIT :take{g} OFFSET :skip{g})"
            )
        return data.summary.ids(
            f"SELECT id FROM ({' UNION ALL '.join(parts)}) ORDER BY part, id", params, seconds
        )
    either = " OR ".join(
        f"({_group_clause(values, params, f'sortkey{g}_')})"
        for g, (values, _, _) in enumerate(groups)
    )
    params.update(limit=sum(take for _, _, take in groups), offset=groups[0][1])
    return data.summary.ids(
        f"SELECT id FROM figure_rows WHERE {cond} AND ({either}) ORDER BY {head}, id "
        "LIMIT :limit OFFSET :offset",
        params,
        seconds,
    )


def _file_order_kept(cond: str) -> bool:
    """Whether DuckDB gives the snapshot's rows under ``cond`` in the file's order without
    an ORDER BY: not when ``cond`` joins the ranks a filter on a ranked column's text
    leaves (``RANKED_TEXT``): a join's rows came grouped by quote."""
    return not any(f".{rank} FROM " in cond for _view, rank in RANKED_TEXT.values())


def _ids_in_file_order(
    data: AtlasData,
    cond: str,
    params: dict[str, Any],
    skip: int,
    take: int,
    seconds: float | None,
) -> list[int]:
    """``take`` ids after the first ``skip`` of the snapshot's rows under ``cond``, in the
    file's order: metric, then id, so the id order of rows of one metric. DuckDB keeps a
    file's order for a query without ORDER BY (``preserve_insertion_order``, set in
    ``summary._DUCK_CONFIG``) and passes over the first ``skip`` rows keeping none of them:
    no sort, no heap, no index walk to the page."""
    params = {**params, "limit": int(take), "offset": int(skip)}
    return data.summary.ids(
        f"SELECT id FROM figure_rows WHERE {cond} LIMIT :limit OFFSET :offset", params, seconds
    )


def _ids_in_group(
    data: AtlasData,
    cond: str,
    params: dict[str, Any],
    values: dict[str, Any],
    skip: int,
    take: int,
    seconds: float | None,
    one_metric: bool = False,
) -> list[int]:
    """``take`` ids after the first ``skip`` (in id order) of the rows under ``cond``
    whose sort columns hold ``values``, a key of more than SORT_GROUP_ROWS rows (no
    ``values``: all of them, a view in id order).

    Rows of one metric (``one_metric``) are read in the file's order
    (``_ids_in_file_order``). Else the key's rows are counted by blocks of
    SORT_BLOCK_IDS ids first, so that no query keeps more than a block's rows in its heap
    (DuckDB reads only the block's row groups). At 10 M figures, a key of 4.2 M rows: a
    first page in ~30 ms instead of ~90 ms of counting blocks (#7)."""
    params = dict(params)
    group = f"{cond} AND {_group_clause(values, params, 'sortkey')}" if values else cond
    if one_metric:
        return _ids_in_file_order(data, group, params, skip, take, seconds)
    params["block"] = SORT_BLOCK_IDS
    blocks = data.cached(
        ("sorted_blocks", group, tuple(sorted(params.items()))),
        lambda: [
            (int(b), int(m))
            for b, m in data.summary.rows(
                f"SELECT id // :block AS b, COUNT(*) FROM figure_rows WHERE {group} "
                "GROUP BY b ORDER BY b",
                params,
            )
        ],
    )
    del params["block"]
    # the page's blocks are consecutive: one query over their ids, from the first one's
    # ``offset``-th row (a heap of at most a block's rows and the page); a key spread thin
    # over the ids put a page in ~10 blocks, a query each (#7)
    spans = list(_slices(blocks, skip, take))
    if not spans:
        return []
    params.update(
        limit=sum(n for *_, n in spans),
        offset=spans[0][2],
        low=spans[0][0] * SORT_BLOCK_IDS,
        high=(spans[-1][0] + 1) * SORT_BLOCK_IDS - 1,
    )
    return data.summary.ids(
        f"SELECT id FROM figure_rows WHERE {group} AND id BETWEEN :low AND :high "
        "ORDER BY id LIMIT :limit OFFSET :offset",
        params,
        seconds,
    )


def table_rows(
    data: AtlasData,
    filters: Filters,
    kind: str,
    offset: int = 0,
    limit: int | None = None,
    sort_model: Any = None,
    filter_model: Mapping[str, Any] | None = None,
    seconds: float | None = None,
) -> pd.DataFrame:
    """Stored rows of a table in view, in order, one slice (all when ``limit`` is None);
    with ``seconds``, ``QueryTooSlow`` past that time."""
    sql, params = _rows_sql(
        filters, kind, offset, limit, sort_model, filter_model, all_active=data.all_active()
    )
    return data.frame(sql, params, seconds=seconds)


# ---------------------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------------------


def _recipient_text(*parts: Any) -> str:
    return " ".join(str(x) for x in parts if isinstance(x, str) and x)


def _int_or_blank(x: Any) -> str:
    return "" if missing(x) else str(int(x))


def _str(x: Any) -> str:
    return "" if missing(x) else str(x)


Columns = dict[str, list[Any]]  # a table's rows as one list per column


def display_rows(data: AtlasData, kind: str, raw: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Stored rows as the table shows them: one column per ``COLUMNS`` entry, by id."""
    return pd.DataFrame(display_columns(data, kind, {c: raw[c].tolist() for c in raw}, lang))


def display_columns(data: AtlasData, kind: str, raw: Columns, lang: str) -> Columns:
    """``display_rows`` on columns as lists: a page of a table, a chunk of a download,
    without a frame (at 100 rows a page, building frames cost more than the query, #7)."""
    if kind == "pairings":
        cols: Columns = {c.id: [] for c in COLUMNS["pairings"]}
        for (program, donor_key, donor_province, unit, donor_adcode, province, prefecture,
             county, code, start, end, confidence, source, reason) in zip(
            raw["program"], raw["donor_key"], raw["donor_province"], raw["donor_unit"],
            raw["donor_adcode"], raw["recipient_province"], raw["recipient_prefecture"],
            raw["recipient_county"], raw["recipient_adcode"], raw["start_year"],
            raw["end_year"], raw["confidence"], raw["source"], raw["unresolved_reason"],
            strict=True,
        ):  # fmt: skip
            rec = _recipient_text(province, prefecture, county)
            code = code if isinstance(code, str) else None
            unit = unit if isinstance(unit, str) else None
            cols["program"].append(i18n.program_label(program, lang))
            cols["donor_province"].append(
                donor_label(data, donor_key, lang) or _str(donor_province)
            )
            cols["donor_unit"].append(
                (data.place_label(donor_adcode, lang, fallback=unit) if donor_adcode else unit)
                if unit
                else ""
            )
            cols["recipient"].append(data.place_label(code, lang, fallback=rec) if code else rec)
            cols["adcode"].append(code or "")
            cols["start"].append(_int_or_blank(start))
            cols["end"].append(_int_or_blank(end) or i18n.t("ongoing", lang))
            cols["confidence"].append(i18n.confidence_label(confidence, lang))
            cols["source"].append(_str(source))
            cols["note"].append(_str(reason))
        return cols
    # column at a time, with a memo for the words that repeat (metrics, periods,
    # confidences, places): a million-row download is formatted in Python
    metric = _memo(lambda m: i18n.metric_label(m, lang))
    place = _memo(lambda c: data.place_label(c, lang) if isinstance(c, str) and c else "")
    period = _memo(lambda p: i18n.format_period(p[0], p[1], lang))
    confidence = _memo(lambda c: i18n.confidence_label(c, lang))
    starts = [None if missing(x) else int(x) for x in raw["period_start"]]
    ends = [None if missing(x) else int(x) for x in raw["period_end"]]
    cols = {
        "metric": [metric(m) for m in raw["metric"]],
        "donor": [_str(x) for x in raw["donor"]],
        "recipient": [_str(x) for x in raw["recipient"]],
        "place": [place(c) for c in raw["recipient_adcode"]],
        "period": [period(p) for p in zip(starts, ends, strict=True)],
        "value": [
            i18n.format_qualified(v, u, q, lang)
            for v, u, q in zip(raw["value"], raw["unit"], raw["qualifier"], strict=True)
        ],
        "value_raw": [float(v) for v in raw["value"]],
        "unit": [_str(x) for x in raw["unit"]],
        "quote": [_str(x) for x in raw["quote"]],
        "source": [_str(x) for x in raw["source"]],
        "confidence": [confidence(c) for c in raw["confidence"]],
        "note": [_str(x) for x in raw["unresolved_reason"]],
    }
    return {c.id: cols[c.id] for c in COLUMNS["figures"]}


def _records(cols: Columns) -> list[dict[str, Any]]:
    """Columns as one dict per row."""
    keys = list(cols)
    return [dict(zip(keys, values, strict=True)) for values in zip(*cols.values(), strict=True)]


def _memo(fn: Any) -> Any:
    """``fn`` remembered per argument, for one call of ``display_rows``."""
    seen: dict[Any, Any] = {}

    def call(arg: Any) -> Any:
        key = None if missing(arg) else arg
        if key not in seen:
            seen[key] = fn(key)
        return seen[key]

    return call


def headers(kind: str, lang: str) -> dict[str, str]:
    """Column id -> its header in ``lang``."""
    return {c.id: i18n.t(c.label, lang) for c in COLUMNS[kind]}


def _labelled(frame: pd.DataFrame, kind: str, lang: str) -> pd.DataFrame:
    return frame.rename(columns=headers(kind, lang))


def pairings_table(data: AtlasData, filters: Filters) -> pd.DataFrame:
    """Every pairing in view, with headers in ``filters.lang`` (pairings are few)."""
    raw = table_rows(data, filters, "pairings")
    return _labelled(display_rows(data, "pairings", raw, filters.lang), "pairings", filters.lang)


def figures_table(data: AtlasData, filters: Filters, limit: int | None = None) -> pd.DataFrame:
    """Figures in view (the chosen metric only, if one is chosen), with quote and source.

    For a download of any size use ``iter_csv``; this builds one frame."""
    raw = table_rows(data, filters, "figures", limit=limit)
    return _labelled(display_rows(data, "figures", raw, filters.lang), "figures", filters.lang)


@dataclass(frozen=True)
class TablePage:
    rows: list[dict[str, Any]]  # by column id
    total: int | None  # rows in view, all pages; None: not known yet (``_walked_page``)


def table_page(
    data: AtlasData,
    filters: Filters,
    kind: str,
    start: int,
    end: int,
    sort_model: Any = None,
    filter_model: Mapping[str, Any] | None = None,
) -> TablePage:
    """Rows ``start`` to ``end`` (exclusive) of a table in view, sorted and filtered in SQL.

    Each query is bounded by TWINNING_TABLE_SECONDS: a page deep into a sort of millions of
    rows (or a text filter over them) raises ``QueryTooSlow`` rather than holding a worker
    for minutes; the caller says so and offers the CSV."""
    start = max(0, int(start))
    limit = max(0, min(int(end) - start, PAGE_MAX))
    seconds = settings.get_float("TWINNING_TABLE_SECONDS")
    if kind == "figures" and filters.metric and isinstance(sort_model, list):
        # one metric in view: a sort by it is no order at all, and the page the id order's
        # (an index walk: 1.38 M rows deep at 10 M figures 0.5-1.0 s as a sort, #7)
        sort_model = [
            item
            for item in sort_model
            if not (isinstance(item, Mapping) and item.get("colId") == "metric")
        ]
    walk = None
    how = _walks(data, filters, kind, start, limit, sort_model, filter_model) if limit else None
    if how is not None:
        walk = _Walk(data, filters, kind, filter_model, seconds)
        walked = walk.page(start, limit, sort_model, how)
        if walked is not None:
            return walked
    total = table_count(data, filters, kind, filter_model, seconds)
    if walk is not None:
        walk.counted()
    if start >= total or not limit:  # past the end: no rows to look for (a scan to the end
        return TablePage(rows=[], total=total)  # of the view to find none, 0.2 s at 1 M)
    raw = None
    deep = start + limit > SNAPSHOT_SORT_TOP
    texts = kind == "figures" and _text_filtered(kind, filter_model)
    in_view = table_count(data, filters, kind) if texts else total  # what SQL looks through
    if _snapshot_sorts(
        data, kind, in_view, sort_model, filter_model, deep, bool(filters.metric), texts
    ):
        try:
            raw = _sorted_from_snapshot(
                data, filters, start, limit, sort_model, filter_model, seconds
            )
        except QueryTooSlow:
            raise
        except Exception:  # DuckDB out of memory, a file gone with its version: SQL answers
            log.warning("a sorted page from the figure rows' snapshot failed", exc_info=True)
    if raw is None:
        scan = _scan_better(data, kind, total, sort_model)
        shown_index = _shown_index_better(data, kind, filters, sort_model)
        sql, params = _rows_sql(
            filters, kind, start, limit, sort_model, filter_model, scan, data.all_active(),
            shown_index,
        )  # fmt: skip
        raw = data.columns(sql, params, seconds=seconds)
    return TablePage(rows=_page_rows(data, filters, kind, raw), total=total)


def _page_rows(
    data: AtlasData, filters: Filters, kind: str, raw: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """A page's rows as the grid shows them, from the store's rows ``raw``."""
    rows = _records(display_columns(data, kind, raw, filters.lang))
    if kind == "figures" and "scope_group" in raw:
        # a figure about several places together: its id, so the table can outline its
        # members on the map (``scope=<id>``, issue #10), as the detail panel does
        for row, group, fid in zip(rows, raw["scope_group"], raw["id"], strict=True):
            row["scope_id"] = int(fid) if isinstance(group, str) and group else None
    return rows


# A grid's text filter on the quote, over a view large enough to be counted over the
# figure rows' snapshot, is counted over the quotes' file (``Summary.kept_matches``): one
# read of every distinct quote's text, ~0.5 s at 8 M of them (#7). Its pages need not wait
# for that count. SQL walks the view in the page's order and stops at the page's last
# row, given TEXT_WALK_SECONDS (a filter that finds most quotes: ~2 ms at 10 M figures;
# one in 3,000 figures: ~40 ms); the page says that its total is not known yet (the grid
# scrolls on: AG Grid's infinite row model asks for the next block, and learns the total
# with a later page), and the count is made in the background, at most COUNTS_AHEAD at a
# time in a worker. Once counted, a page is still walked when it can be quickly (a filter that
# finds too many quotes to keep their ranks, and too few to keep the others', scans them
# again for each page: ~0.7 s). A page in another order is walked from the figure rows'
# snapshot (``_walked_sorted_page``). A walk that does not end in time (its view's later
# pages in that order are not walked) waits for the count, then is paged as before.
TEXT_WALK_SECONDS = 0.15
# A filter whose quotes can be in at most this share of the quotes' blocks is counted
# first (``_quickly_counted``), by how its page would be walked. A sorted walk looks at
# the view's first 2,000 rows (~100 ms at 10 M figures) and fails for a filter that keeps
# fewer than a page of them; a filter the bitmaps leave in few blocks is mostly such a
# one ("第88页": one figure in 1,000, 83 of 489 blocks): its count read those blocks in
# ~130 ms and its pages then took ~25 ms, where the failed walk came first (~350 ms in
# all). The SQL walk stops at its page's last row, sooner for such a filter than the count.
QUOTE_COUNT_FIRST_SHARE = {"sql": 0.05, "sorted": 0.2}
# Once counted, a page in SQL's order is walked only if the view's rows the walk would look
# through to its last row (by the share the filter keeps) are at most COUNTED_WALK_ROWS;
# else it is paged over the kept ranks (~25 ms at 10 M figures, where "页: 资金1999", one
# figure in 3,300, walked 80 rows deep in ~180 ms).
COUNTED_WALK_ROWS = 50_000
COUNTS_AHEAD = 2
_AHEAD_KEPT = 64  # views whose count in the background is remembered (done or under way)
_AHEAD: OrderedDict[tuple[Any, ...], _Counting] = OrderedDict()
_AHEAD_LOCK = threading.Lock()


def _split_ranked(
    kind: str, model: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A grid's filter model as (its conditions on a column whose text is in a file of its
    own in the figure rows' snapshot (the quote), the others)."""
    columns = {c.id: c for c in COLUMNS[kind]}
    ranked: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for col_id, spec in (model if isinstance(model, Mapping) else {}).items():
        col = columns.get(str(col_id))
        (ranked if col is not None and col.sql in RANKED_IN_SNAPSHOT else others)[col_id] = spec
    return ranked, others


def _quote_filtered(kind: str, model: Mapping[str, Any] | None) -> bool:
    """Whether a grid's filter model has a text condition on the quote (``_split_ranked``)."""
    return bool(_filter_sql(kind, _split_ranked(kind, model)[0], {}))


def _walks(
    data: AtlasData,
    filters: Filters,
    kind: str,
    start: int,
    limit: int,
    sort_model: Any,
    filter_model: Mapping[str, Any] | None,
) -> str | None:
    """How a page may be walked before its view's count is known, if it may: a text
    filter on the quote, counted over the quotes' file; "sql" for a page in the order SQL
    reads without sorting the view (id order, or one metric by value: an index walk),
    "sorted" for one in another order the figure rows' snapshot sorts, among its first
    SNAPSHOT_SORT_TOP rows (``_walked_sorted_page``)."""
    if kind != "figures" or TEXT_WALK_SECONDS <= 0 or not _quote_filtered(kind, filter_model):
        return None
    in_view = table_count(data, filters, kind)
    if not _snapshot_sorts(data, kind, in_view, None, filter_model, any_order=True):
        return None
    order = _order_sql(kind, sort_model)
    if order == "id" or (order.startswith("value ") and filters.metric):
        how = "sql"
    elif start + limit <= SNAPSHOT_SORT_TOP and _snapshot_sorts(
        data, kind, in_view, sort_model, filter_model, any_order=True
    ):  # the snapshot holds the sort's columns
        how = "sorted"
    else:
        return None
    if _quickly_counted(data, filter_model, QUOTE_COUNT_FIRST_SHARE[how]):
        return None
    if how == "sorted" and _rare_in_sample(data, filter_model, start + limit):
        return None
    return how


def _quickly_counted(data: AtlasData, model: Mapping[str, Any] | None, share: float) -> bool:
    """Whether a condition of the grid's filter model on the quote leaves so few of the
    quotes' blocks to read (``Summary.quote_blocks``; at most ``share`` of them, or none)
    that the count is quicker than a walk that would look through the view for rows it
    hardly holds (a walk that finds none takes all its time)."""
    for _column, op, value in _ranked_likes(model):
        if op == "notContains":  # (any block may hold a text without it)
            continue
        found = data.summary.quote_blocks(value)
        if found is not None and len(found[0]) <= share * len(found[1][0]):
            return True
    return False


def _ranked_likes(model: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """The grid filter model's LIKE conditions on the quote (``_split_ranked``), as
    (column, op, value as ``_filter_sql`` reads it), in the model's order of columns."""
    columns = {c.id: c for c in COLUMNS["figures"]}
    found = []
    for col_id, spec in sorted(_split_ranked("figures", model)[0].items()):
        op = spec.get("type") if isinstance(spec, Mapping) else None
        value = spec.get("filter") if isinstance(spec, Mapping) else None
        if (
            isinstance(op, str)
            and "LIKE" in _TEXT_OPS.get(op, ("",))[0]
            and isinstance(value, (str, int, float))
        ):
            found.append((str(columns[str(col_id)].sql), op, str(value)[:200]))
    return found


# A value in every block of quotes may still be rare ("112页": 3,369 of a view's 4.2 M
# figures at 10 M, each block has its pairs), and a sorted page's walk then fails (~100 ms
# lost before the count). A sample of the quotes (DuckDB's system sample: QUOTE_SAMPLE_
# PERCENT of the quotes' table in whole vectors of rows, ~5 ms at 8 M quotes) says how
# many of the walk's rows the filter would keep: fewer than its page's, it is counted first.
QUOTE_SAMPLE_PERCENT = 1.0
QUOTE_SAMPLE_SECONDS = 0.05


def _rare_in_sample(data: AtlasData, model: Mapping[str, Any] | None, wanted: int) -> bool:
    """Whether the grid's text conditions on the quote keep so few of a sample of the
    quotes that a sorted walk's SORTED_WALK_ROWS rows would hold fewer than ``wanted`` of
    them (the page's last row). False when it cannot tell: the quotes not in DuckDB's
    tables (a sample of a Parquet file reads all of it), no condition it can ask, no
    quote in the sample, or not within QUOTE_SAMPLE_SECONDS."""
    params: dict[str, Any] = {}
    found = [  # each condition on the text, in the quotes' table
        _ranked_match(f"ranked.{column}", op, value, f"smp{i}", params)
        for i, (column, op, value) in enumerate(_ranked_likes(model))
    ]
    if not found:
        return False
    try:
        sampled = data.summary.quote_sample(
            " AND ".join(found), params, QUOTE_SAMPLE_PERCENT, QUOTE_SAMPLE_SECONDS
        )
    except Exception:  # too slow, or failed: walked, as before
        log.info("a sample of the quotes was not taken", exc_info=True)
        return False
    if sampled is None:
        return False
    kept, seen = sampled
    return seen > 0 and max(SORTED_WALK_ROWS) * kept / seen < wanted


def _walked_page(
    data: AtlasData,
    filters: Filters,
    kind: str,
    start: int,
    limit: int,
    sort_model: Any,
    filter_model: Mapping[str, Any] | None,
) -> TablePage | None:
    """Rows ``start`` to ``start + limit`` found by SQL within TEXT_WALK_SECONDS, the total
    not known (None) unless the walk reached the view's end; None when it did not end in
    time, or found no row past ``start`` (the view may end before it: the count says)."""
    shown_index = _shown_index_better(data, kind, filters, sort_model)
    sql, params = _rows_sql(
        filters, kind, start, limit, sort_model, filter_model, False, data.all_active(),
        shown_index,
    )  # fmt: skip
    try:
        raw = data.columns(sql, params, seconds=TEXT_WALK_SECONDS)
    except QueryTooSlow:
        return None
    found = len(raw.get("id", []))
    if not found and start:
        return None
    total = start + found if found < limit else None
    return TablePage(rows=_page_rows(data, filters, kind, raw), total=total)


# A sorted page's walk (``_walked_sorted_page``): the view's first rows in the page's
# order without the quote's condition, then those of them whose quote holds the value;
# within SORTED_WALK_SECONDS. At 10 M figures the first 2,000 of a metric's 4.2 M by
# confidence: ~120 ms in DuckDB, their quotes ~30 ms in SQLite (10,000: 0.5-0.9 s, each
# row read on its own from the store's file).
SORTED_WALK_ROWS = (2_000,)
SORTED_WALK_SECONDS = 0.3


def _walked_sorted_page(
    data: AtlasData,
    filters: Filters,
    start: int,
    limit: int,
    sort_model: Any,
    filter_model: Mapping[str, Any] | None,
) -> TablePage | None:
    """Rows ``start`` to ``start + limit`` of a view under a text filter on the quote, in
    an order the figure rows' snapshot sorts, without reading the quotes' file: DuckDB
    gives the view's first SORTED_WALK_ROWS ids in that order under its other conditions
    (a heap, as a sorted page's), the store says which of them have a quote the filter
    keeps (SQLite's LIKE, by id), in that order. The total is not known (None) unless
    the view ended within them; None when too few of them are kept, or past
    SORTED_WALK_SECONDS."""
    deadline = time.monotonic() + SORTED_WALK_SECONDS
    ranked, others = _split_ranked("figures", filter_model)
    cond, params = _base(filters, "figures", all_active=True)
    cond += _filter_sql("figures", others, params, duck=True, summary=data.summary)
    order = _order_sql("figures", sort_model)
    text_params: dict[str, Any] = {}
    text = _filter_sql("figures", ranked, text_params)
    for most in SORTED_WALK_ROWS:
        if most < start + limit:
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            ids = data.summary.ids(
                f"SELECT id FROM figure_rows WHERE {cond} ORDER BY {order} LIMIT {int(most)}",
                params,
                left,
            )
            names, keys = _id_list(ids, "w")
            left = max(0.001, deadline - time.monotonic())
            found = data.rows(
                f"SELECT id FROM figures WHERE id IN ({names}){text}",
                {**keys, **text_params},
                seconds=left,
            )
        except QueryTooSlow:
            return None
        except Exception:  # DuckDB out of memory, a file gone with its version: counted
            log.warning("a sorted page's walk failed", exc_info=True)
            return None
        kept_ids = {row[0] for row in found}
        kept = [fid for fid in ids if fid in kept_ids]
        ended = len(ids) < most  # the view's every row, in order
        if len(kept) >= start + limit or ended:
            page = kept[start : start + limit]
            if not page and start:
                return None
            raw = _rows_by_ids(data, page, None)
            total = len(kept) if ended else None
            return TablePage(rows=_page_rows(data, filters, "figures", raw), total=total)
    return None


def _rows_by_ids(
    data: AtlasData, ids: Sequence[int], seconds: float | None
) -> dict[str, list[Any]]:
    """The store's rows of figures ``ids``, in that order."""
    names, keys = _id_list(ids, "id")
    raw = data.columns(f"SELECT * FROM figures WHERE id IN ({names})", keys, seconds=seconds)
    where = {fid: i for i, fid in enumerate(raw.get("id", []))}
    picked = [where[fid] for fid in ids if fid in where]
    return {k: [v[i] for i in picked] for k, v in raw.items()}


def _id_list(ids: Sequence[int], tag: str) -> tuple[str, dict[str, int]]:
    """``ids`` as the parameters of an SQL ``IN (...)`` list (``NULL`` for none: no row),
    their names starting with ``tag``."""
    keys = {f"{tag}{i}": v for i, v in enumerate(ids)}
    return ", ".join(f":{k}" for k in keys) or "NULL", keys


@dataclass
class _Counting:
    """A view's count: ``made`` is set once it is (in the background or by a page), and,
    for each order, the first row whose page was not walked in time (its later pages in
    that order are not walked)."""

    made: threading.Event
    walk_ends: dict[str, int]


class _Walk:
    """The pages of one view under a text filter on the quote (``_walks``), before and
    after its count is made."""

    def __init__(
        self,
        data: AtlasData,
        filters: Filters,
        kind: str,
        filter_model: Mapping[str, Any] | None,
        seconds: float | None,
    ) -> None:
        self.data, self.filters, self.kind = data, filters, kind
        self.filter_model, self.seconds = filter_model, seconds
        self.walk_ends: dict[str, int] = {}  # where this page's walk did not end in time
        model = json.dumps(filter_model, sort_keys=True, default=str)
        self.key = (id(data), data.version, repr(filters), kind, model)
        with _AHEAD_LOCK:
            self.state = _AHEAD.get(self.key)
            if self.state is not None:
                _AHEAD.move_to_end(self.key)

    def page(self, start: int, limit: int, sort_model: Any, how: str) -> TablePage | None:
        """The page walked (``how``: "sql", ``_walked_page``, or "sorted",
        ``_walked_sorted_page``; with the total once counted), or None: the caller counts
        (after the count under way, if one is), then pages as before."""
        state = self.state
        total = None
        if state is not None and state.made.is_set():  # counted: kept, quick to ask
            total = table_count(self.data, self.filters, self.kind, self.filter_model,
                                self.seconds)  # fmt: skip
            if start >= total:
                return TablePage(rows=[], total=total)
            if (
                how == "sql"
                and (start + limit)
                * table_count(self.data, self.filters, self.kind, None, self.seconds)
                > COUNTED_WALK_ROWS * total
            ):
                return None  # a walk far through the view for few rows: the kept ranks
        order = _order_sql(self.kind, sort_model)
        ends = state.walk_ends.get(order) if state is not None else None
        if ends is None or start < ends:
            if how == "sorted":
                walked = _walked_sorted_page(self.data, self.filters, start, limit,
                                             sort_model, self.filter_model)  # fmt: skip
            else:
                walked = _walked_page(self.data, self.filters, self.kind, start, limit,
                                      sort_model, self.filter_model)  # fmt: skip
            if walked is not None:
                if total is not None:
                    return TablePage(rows=walked.rows, total=total)
                if walked.total is None and state is None:
                    # the walk first, then the count: side by side on two cores the
                    # count's two DuckDB threads slowed a walk past its time
                    self._count_ahead()
                return walked
            self.walk_ends = {order: start}
            if state is not None:
                with _AHEAD_LOCK:
                    state.walk_ends[order] = start
        if state is not None:  # its count under way: wait for it, not scan again
            state.made.wait()
        return None

    def counted(self) -> None:
        """The count was made by the caller: this view's pages know it from now on."""
        with _AHEAD_LOCK:
            if self.key not in _AHEAD:
                _AHEAD[self.key] = _Counting(threading.Event(), dict(self.walk_ends))
                self._bound()
            _AHEAD[self.key].made.set()

    @staticmethod
    def _bound() -> None:
        while len(_AHEAD) > _AHEAD_KEPT:
            _AHEAD.popitem(last=False)

    def _count_ahead(self) -> None:
        """Count the view in the background (its kept ranks and count then answer its
        pages), unless COUNTS_AHEAD counts are under way."""
        with _AHEAD_LOCK:
            running = sum(not c.made.is_set() for c in _AHEAD.values())
            if self.key in _AHEAD or running >= COUNTS_AHEAD:
                return
            state = _AHEAD[self.key] = self.state = _Counting(threading.Event(), {})
            self._bound()

        def count() -> None:
            try:
                table_count(self.data, self.filters, self.kind, self.filter_model, self.seconds)
            except Exception:  # too slow, or failed: a page asking again counts (and says so)
                log.info("a table's count in the background failed", exc_info=True)
            finally:
                state.made.set()

        threading.Thread(target=count, name="table-count", daemon=True).start()


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Every text cell of ``df`` through ``neutralise``."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out


def csv_header(lang: str) -> list[str]:
    """The one CSV of a view: a kind column, then the pairings' and figures' columns."""
    seen: dict[str, None] = {i18n.t("col_origin", lang): None}
    for kind in TABLE_KINDS:
        for label in headers(kind, lang).values():
            seen.setdefault(label, None)
    return list(seen)


def iter_csv(data: AtlasData, filters: Filters, chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """The view's pairings then figures as one CSV (UTF-8 with BOM, formulas neutralised),
    streamed in chunks: memory stays bounded whatever the number of rows."""
    lang = filters.lang
    header = csv_header(lang)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    for kind in TABLE_KINDS:
        label = i18n.t("table_pairings" if kind == "pairings" else "table_figures", lang)
        names = headers(kind, lang)
        index = {name: header.index(name) for name in names.values()}
        for raw in _chunks(data, filters, kind, chunk_rows):
            shown = display_columns(data, kind, raw, lang)
            places = [index[names[col_id]] for col_id in shown]
            buf = io.StringIO()
            writer = csv.writer(buf)
            for values in zip(*shown.values(), strict=True):
                line: list[Any] = [""] * len(header)
                line[0] = label
                for at, value in zip(places, values, strict=True):
                    line[at] = neutralise(value)
                writer.writerow(line)
            yield buf.getvalue().encode("utf-8")


def _chunks(data: AtlasData, filters: Filters, kind: str, chunk_rows: int) -> Iterator[Columns]:
    """Rows in id order, a chunk at a time (keyset paging: no growing OFFSET), as columns."""
    cond, params = _base(filters, kind, data.all_active())
    last = -1
    while True:
        params.update(last=last, limit=chunk_rows)
        raw = data.columns(
            f"SELECT * FROM {kind} WHERE {cond} AND id > :last ORDER BY id LIMIT :limit", params
        )
        if not raw["id"]:
            return
        yield raw
        last = int(raw["id"][-1])
        if len(raw["id"]) < chunk_rows:
            return


def export_csv(df: pd.DataFrame) -> bytes:
    """A frame as CSV: UTF-8 with BOM so Excel opens Chinese text; formulas neutralised."""
    return neutralise_formulas(df).to_csv(index=False).encode("utf-8-sig")


class TooManyRowsForExcel(ValueError):
    """The view has more rows than an Excel sheet holds; offer CSV instead."""

    def __init__(self, rows: int, lang: str = "en") -> None:
        self.rows = rows
        super().__init__(i18n.t("xlsx_too_many_rows", lang, n=rows, limit=XLSX_MAX_ROWS - 1))


def export_xlsx(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """One workbook, a sheet per table; formulas neutralised."""
    for df in sheets.values():
        if len(df) >= XLSX_MAX_ROWS:
            raise TooManyRowsForExcel(len(df))
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, df in sheets.items():
            neutralise_formulas(df).to_excel(writer, sheet_name=name[:31], index=False)
    return buf.getvalue()


def view_xlsx(data: AtlasData, filters: Filters) -> bytes:
    """Pairings and figures in view as a workbook; refused beyond Excel's sheet size."""
    lang = filters.lang
    n = table_count(data, filters, "figures")
    if n >= XLSX_MAX_ROWS:
        raise TooManyRowsForExcel(n, lang)
    return export_xlsx(
        {
            i18n.t("table_pairings", lang): pairings_table(data, filters),
            i18n.t("table_figures", lang): figures_table(data, filters),
        }
    )
