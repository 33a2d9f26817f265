"""Where the sums of a view are computed: the store's SQL, or DuckDB over a snapshot.

Why: ``figure_totals`` holds one row per combination of the filterable dimensions (363,000
rows for a register of 1 M figures). A ``GROUP BY`` over one metric's rows takes SQLite
~150 ms on this 2-core machine and DuckDB ~18 ms (benchmarks/bench_summary.py). DuckDB
cannot read SQLite offline (its scanner is an extension fetched at run time), so the summary
is written once per data version to a Parquet snapshot beside the store, which DuckDB reads
in place: the file sits in the OS page cache shared by all workers, so no worker holds a
copy, and nothing here grows with the number of figures.

Beside it goes a second, smaller snapshot, ``figure_sources``: the counted figures of
active batches per filterable dimension and source cell, so the words under a chart count
a view's sources and the source line lists them exactly without reading figure rows (at
1 M figures: 0.95 MB, written in ~12 s; a view's count takes 10-30 ms instead of 0.3-1 s).

The snapshot is built in a background thread the first time a data version is seen; until
it is there, and for PostgreSQL stores (many machines, no shared folder), the same SQL runs
on the store. ``TWINNING_QUERY_ENGINE`` chooses: ``auto`` (default), ``sql`` or ``duckdb``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from twinning import settings

log = logging.getLogger(__name__)

_BOOLEAN = ("is_context", "from_memory", "resolved")
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _duck_sql(sql: str) -> str:
    """``sql`` with its ``:name`` parameters written as DuckDB's ``$name``."""
    return _PARAM.sub(r"$\1", sql)


_BUILDING: set[Path] = set()
# figure rows' snapshots a child failed to write: not asked again by this process (each
# query would start another child)
_BUILD_FAILED: set[Path] = set()
# and when this process last asked for each (while another process writes one, every
# query would ask again: a thread, a query of the store, a lock tried)
_BUILD_ASKED: dict[Path, float] = {}
FIGURES_ASK_SECONDS = 5.0
_BUILD_LOCK = threading.Lock()


def snapshot_path(engine: Engine, version: str) -> Path | None:
    """The snapshot of a SQLite store's summary at a data version (None for other stores)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    store = Path(url.database).expanduser().resolve()
    tag = hashlib.sha256(str(store).encode()).hexdigest()[:12]
    return store.parent / "summary" / f"{store.stem}-{tag}-{version}.parquet"


_TYPES = {
    "metric": "string",
    "is_context": "bool_",
    "unit": "string",
    "program": "string",
    "donor_key": "string",
    "donor_unit_key": "string",
    "from_memory": "bool_",
    "resolved": "bool_",
    "r_province": "string",
    "r_prefecture": "string",
    "r_county": "string",
    "period_start": "int32",
    "period_end": "int32",
    "value": "float64",
    "n": "int64",
    "n_rows": "int64",
}


# The sources behind the summary's rows: counted figures of active batches per filterable
# dimension (the same columns as figure_totals, so a view's conditions apply) and source
# cell. What the words under a chart count and the source line lists, exactly, without
# reading figure rows (at 1 M figures a view's COUNT(DISTINCT source) over the store's
# figures took 0.3-1 s).
_SOURCE_TYPES = {
    "metric": "string",
    "is_context": "bool_",
    "program": "string",
    "donor_key": "string",
    "donor_unit_key": "string",
    "from_memory": "bool_",
    "r_province": "string",
    "r_prefecture": "string",
    "r_county": "string",
    "period_start": "int32",
    "period_end": "int32",
    "source": "string",
    "n": "int64",
}
_SOURCE_DIMENSIONS = (
    "metric, is_context, program, donor_key, donor_unit_key, "
    "CASE WHEN confidence = 'from_memory' THEN 1 ELSE 0 END, "
    "r_province, r_prefecture, r_county, period_start, period_end, source"
)


# The rows a figures table pages through when sorted by a column other than its id or
# value (#7): one row per figure of an active batch that is not background, with the
# columns a view's conditions, the grid's filters and its sorts read. At 10 M
# figures SQLite sorted a metric's 4.2 M figures by confidence in 2.5-4.2 s for each page;
# DuckDB reads the sort keys of only that metric's row groups (the file is in metric
# order). The quotes (long text) are not copied: ``quote_rank`` is a quote's place among
# the store's quotes in the store's own order (1 for the first; NULL for no quote), so a
# sort by it is the store's sort by the quote (3.1-3.6 s a page in SQLite at 10 M
# figures); the view over the file calls it ``quote``. Each distinct quote's text is
# written once, beside its rank (``quotes_path``): a grid's text filter on the quote
# finds the ranks of the quotes it matches there (at 10 M figures SQL looked through the
# view and was refused after 8 s).
_FIGURE_TYPES = {
    "id": "int64",
    "metric": "string",
    "is_context": "bool_",
    "program": "string",
    "donor_key": "string",
    "donor_unit_key": "string",
    "r_province": "string",
    "period_start": "int32",
    "period_end": "int32",
    "confidence": "string",
    "donor": "string",
    "recipient": "string",
    "recipient_adcode": "string",
    "value": "float64",
    "unit": "string",
    "source": "string",
    "unresolved_reason": "string",
    "quote_rank": "int64",
}
# The columns a query over ``figure_rows`` can name (its quote is the quote's rank).
FIGURE_ROW_COLUMNS = frozenset({*_FIGURE_TYPES, "quote"}) - {"quote_rank"}
# Stores with fewer figures than this get no such snapshot: SQLite sorts them in
# milliseconds (1 M figures, a metric's 420,000: ~0.3 s).
FIGURES_SNAPSHOT_MIN = 200_000


_QUOTE_TYPES = {"quote_rank": "int64", "quote": "string"}


def quotes_path(path: Path) -> Path:
    """The distinct quotes, each with its rank, of a figure rows' snapshot (written just
    before it, from the same ranks)."""
    return path.with_name(f"{path.stem}.quotes.parquet")


# A grid's text filter on the quote reads every distinct quote's text (~0.5 s at 8 M of
# them, #7). The quotes' file is written in blocks of QUOTE_BLOCK_ROWS ranks (a row group
# each), and beside it, for each block, a bitmap of QUOTE_GRAM_BITS bits with a bit set for
# each pair of adjacent characters its quotes hold (``quote_gram_bits``: each character's
# code point, an ASCII capital as its small letter, as SQLite's LIKE folds those and no
# other). A text that holds a value holds its pairs: only the blocks whose bitmaps have
# every pair's bit can hold it, and DuckDB reads only those row groups (a filter that
# finds 3,460 of 10 M figures: 79 of 489 blocks). ~0.5 bytes a quote; ~9 s to write at 8 M.
QUOTE_BLOCK_ROWS = 16_384
QUOTE_GRAM_BITS = 65_536
# Pruning that leaves more than this share of the blocks, or more runs of them than
# QUOTE_RANGES_MAX (each a condition on the rank), reads the quotes as they are.
QUOTE_BLOCKS_SHARE = 0.5
QUOTE_RANGES_MAX = 64
QUOTE_GRAM_PAIRS_MAX = 64  # a long value: 64 of its bits say enough


def quote_grams_path(path: Path) -> Path:
    """The quotes' blocks' bitmaps of a figure rows' snapshot (``QUOTE_BLOCK_ROWS``)."""
    return path.with_name(f"{path.stem}.quote-grams.parquet")


def _folded(code: int) -> int:
    return code + 32 if 65 <= code <= 90 else code


# ``_folded`` of each code point of a row's ``quote``, in DuckDB (a list of BIGINT)
_FOLDED_CODES = "list_transform(string_split(quote, ''), lambda c: {})".format(
    "CASE WHEN {x} BETWEEN 65 AND 90 THEN {x} + 32 ELSE {x} END".format(x="unicode(c)::BIGINT")
)


def quote_gram_bits(value: str) -> list[int]:
    """The bits of ``value`` in a block's bitmap: of each pair of adjacent characters,
    code points ``a`` then ``b`` (an ASCII capital as its small letter), ``(a * 31337 +
    b) % QUOTE_GRAM_BITS``; of a value of one character, its own, as a pair with a code
    point past Unicode's last (``_LONE``); none for an empty value. The same as
    ``_write_quote_grams`` computes in DuckDB for every quote (its pairs and characters)."""
    codes = [_folded(ord(ch)) for ch in value]
    if len(codes) == 1:
        codes.append(_LONE)
    return sorted({(a * 31337 + b) % QUOTE_GRAM_BITS for a, b in itertools.pairwise(codes)})


_LONE = 0x110000  # past the last code point: a character on its own
# what a bitmaps' file holds (its metadata): another is not read (``_read_quote_grams``)
_GRAMS_FORMAT = f"pairs and characters, 31337, {QUOTE_GRAM_BITS} bits, 1"


def _write_quote_grams(quotes: Path, out: Path) -> Path:
    """The bitmaps of the quotes' blocks (``QUOTE_BLOCK_ROWS`` ranks each) to ``out``,
    atomically: one row per block with a quote of one character or more, its first and
    last rank and its bitmap, packed (bit ``h`` is byte ``h // 8``'s bit ``7 - h % 8``).
    The pairs and characters as ``quote_gram_bits`` makes them (DuckDB splits a text into
    code points, as Python does: a test asks it of combining marks, joiners, astral
    characters)."""
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    codes = _FOLDED_CODES
    pairs = (
        "unnest(list_concat(list_transform(range(1, len(codes)), "
        f"lambda i: (codes[i] * 31337 + codes[i + 1]) % {QUOTE_GRAM_BITS}), "
        f"list_transform(codes, lambda a: (a * 31337 + {_LONE}) % {QUOTE_GRAM_BITS})))"
    )
    first: list[int] = []
    last: list[int] = []
    packed: list[bytes] = []
    con = duckdb.connect(config=_duck_config())
    try:
        cur = con.execute(
            "SELECT min(quote_rank), max(quote_rank), "
            f"bitstring_agg(bit, 0, {QUOTE_GRAM_BITS - 1})::VARCHAR FROM ("
            f"SELECT quote_rank, {pairs} AS bit FROM ("
            f"SELECT quote_rank, {codes} AS codes FROM read_parquet('{_quoted(quotes)}'))) "
            f"GROUP BY (quote_rank - 1) // {QUOTE_BLOCK_ROWS} ORDER BY 1"
        )
        # a few blocks at a time: a bitmap as text is QUOTE_GRAM_BITS characters
        while rows := cur.fetchmany(64):
            for low, high, bits in rows:
                first.append(low)
                last.append(high)
                ones = np.frombuffer(bits.encode("ascii"), dtype=np.uint8) - ord("0")
                packed.append(np.packbits(ones).tobytes())
    finally:
        con.close()
    table = pa.table(
        {
            "first_rank": pa.array(first, pa.int64()),
            "last_rank": pa.array(last, pa.int64()),
            "bits": pa.array(packed, pa.binary()),
        }
    )
    table = table.replace_schema_metadata({"twinning.quote_grams": _GRAMS_FORMAT})
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _read_quote_grams(path: Path) -> tuple[Any, Any, Any] | bool:
    """``_write_quote_grams``' file as (first ranks, last ranks, bitmaps: one row of
    QUOTE_GRAM_BITS / 8 bytes a block); False when it was written otherwise (its format,
    ``_GRAMS_FORMAT``, or its bitmaps' size)."""
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    written = (table.schema.metadata or {}).get(b"twinning.quote_grams", b"").decode()
    size = QUOTE_GRAM_BITS // 8
    bits = table.column("bits").to_pylist()
    if written != _GRAMS_FORMAT or any(len(b) != size for b in bits):
        return False
    packed = np.frombuffer(b"".join(bits), dtype=np.uint8).reshape(len(bits), size)
    first = table.column("first_rank").to_numpy()
    last = table.column("last_rank").to_numpy()
    return first, last, packed


# The figure rows' files of earlier code, written again under the name of this one's:
# without ``quote_rank`` (``figures``), without the quotes' file beside them
# (``figure-rows``), without the quotes' blocks' bitmaps (``figure-rows-2``)
_FIGURES_BEFORE = ("figures", "figure-rows", "figure-rows-2")


def figures_path(path: Path) -> Path:
    """The figure rows' snapshot that goes with a summary snapshot (named apart from the
    files of earlier code, ``_FIGURES_BEFORE``: those are written again)."""
    return path.with_name(f"{path.stem}.figure-rows-3.parquet")


def figures_native_path(path: Path) -> Path:
    """The figure rows' snapshot and the quotes' file as tables of one DuckDB database
    (``write_figures_native``), beside their Parquet files."""
    return figures_path(path).with_suffix(".duckdb")


def _figures_done(path: Path) -> bool:
    """Whether every file of the figure rows' snapshot is there: their tables, and the
    quotes' index when there are quotes."""
    if not figures_native_path(path).exists():
        return False
    return quote_index_path(path).exists() or not quotes_path(path).exists()


def wants_figures(engine: Engine) -> bool:
    """Whether the store holds enough figures for the figure rows' snapshot."""
    return _holds(engine, "figures", FIGURES_SNAPSHOT_MIN)


def _holds(engine: Engine, table: str, least: int) -> bool:
    """Whether ``table`` has at least ``least`` rows ("is there a row number least?": no
    count of a large table). False when the table is not there (an empty or older store)."""
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text(f"SELECT 1 FROM {table} LIMIT 1 OFFSET :n"), {"n": max(0, least - 1)}
            ).first()
    except Exception:
        return False
    return found is not None


def write_figures(engine: Engine, path: Path, chunk_rows: int = 50_000) -> Path:
    """The figure rows' snapshot of a summary snapshot (``figures_path``), atomically."""
    from twinning.query.atlas import ACTIVE

    # the quotes' ranks by the store's own ORDER BY (its collation): the same order as a
    # sort of the store by the quote, in a table of this connection's own (TEMP), indexed
    # by the text; written out as the quotes' file, and each figure finds its quote's rank
    # by the join (the ranks' only other column is ``quote``: every other name is the
    # figures')
    temp = "pg_temp" if engine.dialect.name == "postgresql" else "temp"
    drop = f"DROP TABLE IF EXISTS {temp}.quote_ranks"  # never a table of the store
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(drop)  # a pooled connection may have one left
        cursor.execute(
            "CREATE TEMP TABLE quote_ranks AS "
            "SELECT quote, DENSE_RANK() OVER (ORDER BY quote) AS quote_rank "
            "FROM (SELECT DISTINCT quote FROM figures WHERE quote IS NOT NULL) AS q"
        )
        cursor.execute("CREATE INDEX ix_quote_ranks ON quote_ranks (quote)")
        cursor.close()
        _write_parquet(  # a row group for each block of ranks (``QUOTE_BLOCK_ROWS``)
            engine,
            quotes_path(path),
            _QUOTE_TYPES,
            "SELECT quote_rank, quote FROM quote_ranks ORDER BY quote_rank",
            QUOTE_BLOCK_ROWS,
            raw=raw,
        )
        try:
            _write_quote_grams(quotes_path(path), quote_grams_path(path))
        except Exception:  # a text filter then reads every quote, as before
            log.exception("the quotes' bitmaps %s not written", quote_grams_path(path))
        written = _write_parquet(
            engine,
            figures_path(path),
            _FIGURE_TYPES,
            f"SELECT {', '.join(_FIGURE_TYPES)} FROM figures LEFT JOIN quote_ranks AS ranked "
            f"ON ranked.quote = figures.quote WHERE {ACTIVE} AND NOT is_context "
            "ORDER BY metric, id",
            chunk_rows,
            raw=raw,
        )
    finally:
        with contextlib.suppress(Exception):
            cursor = raw.cursor()
            cursor.execute(drop)
            cursor.close()
        raw.close()
    for before in _FIGURES_BEFORE:  # the same rows as earlier code wrote them
        with contextlib.suppress(OSError):
            path.with_name(f"{path.stem}.{before}.parquet").unlink(missing_ok=True)
    return written


FIGURES_CHILD_SECONDS = 3600


def _figures_in_child(engine: Engine, path: Path) -> None:
    """``write_figures`` in a child process at a lower priority: at 10 M figures it turns
    rows into columns for ~110 s, which in a worker's thread held its requests behind the
    interpreter's lock. The store's address goes by the environment (no password in a
    process list)."""
    import subprocess
    import sys

    env = dict(os.environ)
    env["TWINNING_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    subprocess.run(
        [sys.executable, "-m", "twinning.query.summary", str(path)],
        check=True,
        timeout=FIGURES_CHILD_SECONDS,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def main(argv: list[str] | None = None) -> int:
    """The child: the figure rows' snapshot of the summary snapshot ``argv[0]`` for the
    store at TWINNING_DATABASE_URL."""
    import sys

    from sqlalchemy import create_engine

    args = sys.argv[1:] if argv is None else argv
    with contextlib.suppress(OSError):
        os.nice(10)  # behind the workers' requests
    engine = create_engine(os.environ["TWINNING_DATABASE_URL"])
    path = Path(args[0])
    try:
        if not figures_path(path).exists():
            write_figures(engine, path)
        if not figures_native_path(path).exists():
            write_figures_native(path)
        if not _figures_done(path):  # the tables answer meanwhile
            write_quote_index(path)
    finally:
        engine.dispose()
    return 0


def sources_path(path: Path) -> Path:
    """The sources snapshot that goes with a summary snapshot."""
    return path.with_name(f"{path.stem}.sources.parquet")


def _quoted(path: Path) -> str:
    """A path inside a single-quoted SQL string."""
    return str(path).replace("'", "''")


def native_path(path: Path) -> Path:
    """The DuckDB database that holds a summary snapshot and its sources as tables."""
    return path.with_name(f"{path.stem}.duckdb")


def write_snapshot(engine: Engine, path: Path, chunk_rows: int = 50_000) -> Path:
    """Write ``figure_totals`` to ``path`` and the sources beside it (``sources_path``),
    each atomically: a reader sees all or nothing. The sources come first, so a reader
    that finds the summary finds them too; then both as DuckDB's own tables
    (``write_native``)."""
    write_sources(engine, path, chunk_rows)
    _write_parquet(
        engine,
        path,
        _TYPES,
        f"SELECT {', '.join(_TYPES)} FROM figure_totals ORDER BY metric",
        chunk_rows,
    )
    write_native(path)
    _prune(path)
    return path


# The native tables' order: a view's conditions name a metric (always), often a programme
# or a donor; DuckDB skips the row groups whose ranges rule them out.
_NATIVE_ORDER = "metric, program, donor_key, r_province"


def write_native(path: Path) -> Path:
    """The summary snapshot ``path`` and its sources as tables of one DuckDB database
    (``native_path``), written atomically. DuckDB sums its own compressed columns about
    twice as fast as it reads Parquet: at 1 M figures a view's headline sums took 14 ms
    from Parquet and 6 ms from the table, its series 4.6 and 1.9 ms, its map 7.1 and
    3.0 ms; in a load of 50 users those queries were 42 % of the workers' CPU (#7). The
    workers open the file read-only (many processes may), each with DuckDB's own bounded
    buffer (``memory_limit``); the Parquet files stay the snapshot's record."""
    return _write_duck_tables(
        native_path(path),
        {
            "figure_totals": (path, f" ORDER BY {_NATIVE_ORDER}"),
            "figure_sources": (sources_path(path), f" ORDER BY {_NATIVE_ORDER}"),
        },
    )


def write_figures_native(path: Path) -> Path:
    """The figure rows' snapshot and the quotes' file (when there is one) as tables of one
    DuckDB database (``figures_native_path``), written atomically, each in its file's
    order (a metric's rows by id; the quotes by rank). DuckDB scans its own compressed
    columns two to five times as fast as Parquet: at 10 M figures a metric's first 2,000
    rows by confidence took 112 ms from Parquet and 61 ms from the table, a page of the
    figures a quote filter keeps 94 and 20 ms, their count 60 and 17 ms, the 83 of 489
    quotes' blocks that may hold "第88页" 148 and 54 ms (#7). ~15 s to write at 10 M
    figures quoting 8 M distinct texts (~360 MB), in the child that writes the Parquet
    files; the workers read it as they read ``native_path``'s."""
    tables: dict[str, tuple[Path, str] | tuple[Path, str, int]] = {
        "figure_rows": (figures_path(path), "")
    }
    if quotes_path(path).exists():
        # the table's row groups are the file's blocks: DuckDB skips those whose ranks
        # the bitmaps leave out (of its default groups, 7.5 blocks each, it read most:
        # 83 of 489 blocks in 112 ms, in groups of a block 54 ms)
        tables["figure_quotes"] = (quotes_path(path), "", QUOTE_BLOCK_ROWS)
    return _write_duck_tables(figures_native_path(path), tables)


_DUCK_VECTOR_ROWS = 2048  # a DuckDB row group's size is a multiple of its vector's


@contextlib.contextmanager
def _duck_file(target: Path) -> Iterator[Any]:
    """(a connection, a temporary file's path) for writing a DuckDB database that becomes
    ``target`` atomically once the block ends without an error: the block ATTACHes the
    path. One thread and a small buffer (a background child's, behind the workers)."""
    import duckdb

    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".duckdb.tmp")
    os.close(fd)
    os.unlink(tmp)  # DuckDB makes its own file
    try:
        con = duckdb.connect(
            config={
                "threads": 1,
                "memory_limit": "256MB",
                "preserve_insertion_order": True,
                "temp_directory": _duck_temp_directory(),
            }
        )
        try:
            con.execute("SET enable_progress_bar = false")  # (no global option)
            yield con, Path(tmp)
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def _write_duck_tables(
    target: Path, tables: dict[str, tuple[Path, str] | tuple[Path, str, int]]
) -> Path:
    """Tables of one DuckDB database at ``target``, written atomically: each ``name:
    (Parquet file, ORDER BY clause or "" for the file's order[, rows in a row group])``
    (DuckDB's own size when none is given, or one it cannot take)."""
    with _duck_file(target) as (con, tmp):
        for table, (source, order, *group) in tables.items():
            # a database's row group size is an option of its attachment: each table
            # written in an attachment of its own
            rows = group[0] if group and group[0] % _DUCK_VECTOR_ROWS == 0 else None
            option = f" (ROW_GROUP_SIZE {int(rows)})" if rows else ""
            con.execute(f"ATTACH '{_quoted(tmp)}' AS written{option}")
            escaped = _quoted(source)
            con.execute(
                f"CREATE TABLE written.{table} AS SELECT * FROM read_parquet('{escaped}'){order}"
            )
            con.execute("CHECKPOINT written")
            con.execute("DETACH written")
    return target


# A grid's text filter on the quote, of a value of three characters or more, by an index
# of the quotes' triples of adjacent characters (``write_quote_index``): each triple's
# places (quote rank, character it starts at) in order, and how many there are. A value's
# places are those where the rarest triples that cover all its characters each sit at
# their own distance from its start (the index says exactly what the text says: a cover
# fixes every character). Over 8 M distinct quotes ("112页": 8,005 of them) 5-40 ms where
# the quotes' every text took ~0.3 s to read; ~100 s to write in the child (one thread,
# 256 MB; ~2.5 GB of DuckDB's spill files meanwhile), ~210 MB.
QUOTE_INDEX_FORMAT = "triples of code points, ASCII capitals folded, 21 bits each, rank, start, 1"
# The rarest triple's places are read whole up to QUOTE_INDEX_FIRST_MAX of them (~20 ms);
# each next one's among the ranks found so far, if those are at most QUOTE_INDEX_RANKS_MAX
# (a scan of its places, ~10 ms for 8 M), else whole up to QUOTE_INDEX_WHOLE_MAX. A value
# whose rarest triple is commoner, or whose ranks found are more, is in many quotes: the
# index does not answer, and its rows are found as before (walked, its count later),
# sooner than it would. (A value at the start: each triple's places there only.)
# Quotes of more characters than this in all (long excerpts) are not indexed: the index
# would take ~1 byte and ~0.4 us of the child a character (the file holds only its
# format, and the quotes are read as before)
QUOTE_INDEX_CHARACTERS_MAX = 500_000_000
QUOTE_INDEX_FIRST_MAX = 1_000_000
QUOTE_INDEX_WHOLE_MAX = 1_000_000
QUOTE_INDEX_RANKS_MAX = 50_000
# a value the quotes' bitmaps leave in at most this many blocks: those are read (~0.6 ms a
# block of 16,384 quotes), sooner than the index answers
QUOTE_INDEX_BLOCKS_MIN = 16


def quote_index_path(path: Path) -> Path:
    """The index of the quotes' triples of characters of a figure rows' snapshot."""
    return path.with_name(f"{path.stem}.quote-index-1.duckdb")


def quote_triples(value: str) -> list[tuple[int, int]]:
    """(offset, key) of each triple of adjacent characters of ``value``: code points ``a``,
    ``b``, ``c`` (an ASCII capital as its small letter, as SQLite's LIKE folds it) as
    ``a << 42 | b << 21 | c``, the key ``write_quote_index`` computes in DuckDB."""
    codes = [_folded(ord(ch)) for ch in value]
    return [(o, codes[o] << 42 | codes[o + 1] << 21 | codes[o + 2]) for o in range(len(codes) - 2)]


def write_quote_index(path: Path) -> Path:
    """The index of the quotes' triples of characters (``QUOTE_INDEX_FORMAT``) of a figure
    rows' snapshot, atomically: ``quote_triples`` (triple, quote rank, the 1-based
    character it starts at), sorted by the three; ``quote_triple_counts`` (triple, places);
    ``quote_index_info`` (format, the longest quote's characters, the quotes' characters
    in all). Quotes of more than QUOTE_INDEX_CHARACTERS_MAX characters in all: the tables
    empty, the longest quote 0 (not asked)."""
    quotes = _quoted(quotes_path(path))
    codes = _FOLDED_CODES
    with _duck_file(quote_index_path(path)) as (con, tmp):
        longest, characters = con.execute(
            "SELECT COALESCE(MAX(length(quote)), 0)::BIGINT, "
            f"COALESCE(SUM(length(quote)), 0)::BIGINT FROM read_parquet('{quotes}')"
        ).fetchone()
        indexed = characters <= QUOTE_INDEX_CHARACTERS_MAX
        con.execute(f"ATTACH '{_quoted(tmp)}' AS written")
        con.execute("SET preserve_insertion_order = false")  # sorted by the ORDER BY
        con.execute(
            "CREATE TABLE written.quote_triples AS "
            "SELECT (codes[p] << 42) | (codes[p + 1] << 21) | codes[p + 2] AS triple, "
            "quote_rank AS rank, p::UINTEGER AS start FROM ("
            f"SELECT quote_rank, {codes} AS codes FROM read_parquet('{quotes}')), "
            "LATERAL (SELECT unnest(range(1, len(codes) - 1)) AS p) "
            f"WHERE {indexed} ORDER BY triple, rank, start"
        )
        con.execute(
            "CREATE TABLE written.quote_triple_counts AS SELECT triple, COUNT(*) AS places "
            "FROM written.quote_triples GROUP BY triple ORDER BY triple"
        )
        if not indexed:
            log.warning("the quotes (%s characters) are too long to index", characters)
        con.execute(
            "CREATE TABLE written.quote_index_info AS "
            "SELECT ? AS format, ?::BIGINT AS longest, ?::BIGINT AS characters",
            [QUOTE_INDEX_FORMAT, longest if indexed else 0, characters],
        )
        con.execute("CHECKPOINT written")
        con.execute("DETACH written")
    return quote_index_path(path)


def _distinct(ordered: Any) -> Any:
    """A sorted numpy array without its repeats."""
    import numpy as np

    if not ordered.size:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _cover(length: int, triples: list[tuple[int, int]], places: dict[int, int]) -> list[int]:
    """The offsets of the rarest triples (by ``places``) that together cover a value's
    ``length`` characters, rarest first."""
    left = set(range(length))
    chosen = []
    for o, _key in sorted(triples, key=lambda t: (places[t[1]], t[0])):
        if left & {o, o + 1, o + 2}:
            chosen.append(o)
            left -= {o, o + 1, o + 2}
        if not left:
            break
    return chosen


def write_sources(engine: Engine, path: Path, chunk_rows: int = 50_000) -> Path:
    """Only the sources snapshot of a summary snapshot written before it had one."""
    from twinning.query.atlas import ACTIVE

    return _write_parquet(
        engine,
        sources_path(path),
        _SOURCE_TYPES,
        f"SELECT {_SOURCE_DIMENSIONS}, COUNT(*) FROM figures WHERE {ACTIVE} AND counted "
        f"AND source IS NOT NULL GROUP BY {_SOURCE_DIMENSIONS}",
        chunk_rows,
    )


def _write_parquet(
    engine: Engine,
    path: Path,
    types: dict[str, str],
    sql: str,
    chunk_rows: int,
    raw: Any = None,
) -> Path:
    """The rows of ``sql`` (columns in the order of ``types``) to ``path``, atomically.

    Columns go straight from the driver's rows into Arrow arrays, a chunk at a time, so
    memory stays bounded whatever the size of the summary."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in types.items()])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    own = raw is None  # else the caller's connection (its TEMP tables), left open
    if own:
        raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql)
        with pq.ParquetWriter(tmp, schema) as writer:
            while rows := cursor.fetchmany(chunk_rows):
                columns = list(zip(*rows, strict=True))
                arrays = [
                    pa.array(
                        [None if v is None else bool(v) for v in col]
                        if field.type == pa.bool_()
                        else col,
                        type=field.type,
                    )
                    for col, field in zip(columns, schema, strict=True)
                ]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        cursor.close()
        os.replace(tmp, path)
    finally:
        if own:
            raw.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _prune(current: Path) -> None:
    """Remove older snapshots of the same store (their data version has passed), and
    their sources."""
    prefix = current.name.rsplit("-", 1)[0]
    for old in [
        *current.parent.glob(f"{prefix}-*.parquet"),
        *current.parent.glob(f"{prefix}-*.parquet.lock"),
        *current.parent.glob(f"{prefix}-*.duckdb"),
    ]:
        if not old.name.startswith(current.stem + "."):
            with contextlib.suppress(OSError):  # another worker removed it first
                old.unlink()


def _whole(path: Path) -> bool:
    """The snapshot at ``path`` has all its files: the summary, its sources, the tables."""
    return path.exists() and sources_path(path).exists() and native_path(path).exists()


def complete_snapshot(engine: Engine, path: Path) -> Path:
    """Write what is missing of the snapshot at ``path``: all of it, or the sources of one
    written before there were sources, or the tables of one written before there were
    tables."""
    if not path.exists():
        return write_snapshot(engine, path)
    if not sources_path(path).exists():
        write_sources(engine, path)
    if not native_path(path).exists():
        write_native(path)
    return path


def refresh_snapshot(store: Any) -> Path | None:
    """After a write has committed: the summary's snapshot for the new data version, so
    the atlas answers from DuckDB at once (the app would otherwise build it in the
    background on first use). Never raises: without it the store's SQL answers."""
    engine = getattr(store, "engine", store)
    try:
        from twinning.store.db import Store

        version = (store if isinstance(store, Store) else Store(engine, "")).data_version()
        path = snapshot_path(engine, version)
        if path is None or not wants_snapshot(engine):
            return None
        return complete_snapshot(engine, path)
    except Exception:
        log.exception("summary snapshot not written after a write")
        return None


@contextlib.contextmanager
def _one_builder(path: Path, wait: bool = False) -> Iterator[bool]:
    """True for the one process that may write ``path``'s snapshot now: gunicorn's
    workers each see a new data version at once, and four of them writing the same
    snapshot took four times the CPU (a lock file beside it, ``flock``; the others go on
    answering with SQL until the file is there). With ``wait``, after the one writing it
    now, if any (then always True: look whether the file is there first)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def wants_snapshot(engine: Engine) -> bool:
    """Whether DuckDB should sum this store's summary (``TWINNING_QUERY_ENGINE``): always
    with ``duckdb``, never with ``sql``; with ``auto`` when the summary holds at least
    ``TWINNING_SNAPSHOT_MIN_ROWS`` rows. Below that SQLite answers a view's queries as fast
    (the reference data: 250 rows, a view 200 ms with DuckDB, 180 ms with SQLite) and a
    worker is ~50 MB smaller without DuckDB's engine (#7)."""
    mode = str(settings.get("TWINNING_QUERY_ENGINE")).lower()
    if mode == "sql":
        return False
    if mode == "duckdb":
        return True
    least = settings.get_int("TWINNING_SNAPSHOT_MIN_ROWS")
    return least <= 0 or _holds(engine, "figure_totals", least)


# a small buffer: a worker's memory must not grow with the store; a query without ORDER
# BY gives the rows in the file's order (DuckDB's default, which the tables' deep pages
# read one metric's rows by: tables._ids_in_file_order)
_DUCK_CONFIG = {"memory_limit": "128MB", "preserve_insertion_order": True}
QUOTE_SAMPLES_KEPT = 64  # quote_sample's answers kept (each two numbers)


def _duck_config() -> dict[str, Any]:
    """A worker's DuckDB settings: ``_DUCK_CONFIG`` and TWINNING_DUCKDB_THREADS threads. Two
    threads answer a filter change's scans of the summary at 10 M figures in 48 ms where
    one took 64 ms (each scan 1.4-1.8x faster, the rest of the change is Python), within
    the same buffer (#7)."""
    return {
        **_DUCK_CONFIG,
        "threads": max(1, settings.get_int("TWINNING_DUCKDB_THREADS")),
        "temp_directory": _duck_temp_directory(),
    }


def _duck_temp_directory() -> str:
    """Where this process's DuckDB writes what does not fit its buffer (the kept ranks of
    a quote filter, once the figure rows' tables' blocks fill it): a folder of its own in
    the system's temporary folder. DuckDB's own choice, ``.tmp`` in the working folder,
    put its files in whatever folder a worker was started from (a checkout, or one it
    may not write)."""
    return os.path.join(tempfile.gettempdir(), f"twinning-duckdb-{os.getpid()}")


# A grid's text filter on the quote: the ranks it leaves, kept per filter (``kept_matches``)
KEPT_MATCHES = 8
KEPT_MATCH_ROWS = 2_000_000  # a filter's ranks kept: 16 MB
KEPT_ROWS_TOTAL = 4_000_000  # all filters' ranks kept: 32 MB of DuckDB's 128 MB buffer


def _inverse_table(name: str) -> str:
    """The table of the ranks a kept filter ``name`` does not leave: a name of its own, so
    that a thread making the same filter's table at the same moment never takes one for
    the other."""
    return f"{name}_not"


class Summary:
    """Runs the aggregate queries of a view on ``figure_totals``."""

    def __init__(self, engine: Engine, version: str) -> None:
        self.engine = engine
        self.version = version
        path = snapshot_path(engine, version)
        self.path = path if path is not None and wants_snapshot(engine) else None
        self._duck: Any = None
        self._native = False  # the connection reads native_path's tables
        self._native_bad = False  # native_path is there but DuckDB could not attach it
        self._sources = False  # the figure_sources view is attached
        self._lock = threading.Lock()
        self._figures = False  # the figure_rows view is attached
        self._figures_native = False  # over figures_native_path's tables
        self._figures_native_bad = False  # there, but DuckDB could not attach it
        self._quotes = False  # and the figure_quotes view beside it
        self._grams: Any = None  # the quotes' blocks' bitmaps (False: none), read once
        # the quotes' index (``quote_index_path``) attached: its longest quote (False: not
        # readable, of another format, or no quotes to index; None: not yet)
        self._index: Any = None
        self._samples: OrderedDict[Any, tuple[int, int]] = OrderedDict()  # quote_sample's
        # kept_matches' tables and their rows (-1: too many to keep, none made)
        self._kept: OrderedDict[str, int] = OrderedDict()
        self._inverse: set[str] = set()  # those of them that hold the ranks not left
        self._making: dict[str, threading.Event] = {}  # tables being made, by name
        self._figures_unwanted = False  # too few figures for that snapshot
        if self.path is not None and not _whole(self.path):
            self._build_in_background(self.path)
        elif self.path is not None:
            self._figures_in_background(self.path)

    @property
    def engine_name(self) -> str:
        return "duckdb" if self._connection() is not None else "sql"

    @property
    def snapshot_form(self) -> str | None:
        """What DuckDB reads: ``tables`` (the native database, ``write_native``),
        ``parquet`` (until that is written), or None (the store's SQL answers)."""
        if self._connection() is None:
            return None
        return "tables" if self._native else "parquet"

    @property
    def figures_form(self) -> str | None:
        """What DuckDB reads the figure rows from: ``tables`` (``write_figures_native``),
        ``parquet`` (until those are written, or if they cannot be read), or None (no
        figure rows' snapshot: the store's SQL pages the tables)."""
        if not self.has_figures():
            return None
        return "tables" if self._figures_native else "parquet"

    def _build_in_background(self, path: Path) -> None:
        with _BUILD_LOCK:
            if path in _BUILDING:
                return
            _BUILDING.add(path)

        def build() -> None:
            try:
                with _one_builder(path) as mine:
                    if mine:  # (another process may have written it meanwhile)
                        complete_snapshot(self.engine, path)
            except Exception:  # the SQL path keeps answering
                log.exception("summary snapshot %s not written", path)
            finally:
                with _BUILD_LOCK:
                    _BUILDING.discard(path)
            if path.exists():  # then the figure rows' (a large store only)
                self._figures_in_background(path)

        threading.Thread(target=build, name="summary-snapshot", daemon=True).start()

    def _figures_in_background(self, path: Path) -> None:
        """The figure rows' snapshot, after the summary's (a large store only): written by
        one process, in the background, as Parquet files, then as DuckDB's tables
        (``write_figures_native``); until the files are there SQLite sorts the pages, until
        the tables are DuckDB reads the files."""
        figures = figures_path(path)
        if _figures_done(path) or self._figures_unwanted:
            return
        with _BUILD_LOCK:
            if figures in _BUILDING or figures in _BUILD_FAILED:
                return
            now = time.monotonic()
            if now - _BUILD_ASKED.get(figures, -FIGURES_ASK_SECONDS) < FIGURES_ASK_SECONDS:
                return
            _BUILD_ASKED[figures] = now
            _BUILDING.add(figures)

        def build() -> None:
            try:
                if not wants_figures(self.engine):
                    self._figures_unwanted = True  # a small store: never asked again
                    return
                with _one_builder(figures) as mine:  # the rows, their tables, the index
                    if mine and not _figures_done(path):
                        _figures_in_child(self.engine, path)
            except Exception:  # the SQL path (or the Parquet files) keeps answering
                log.exception("figure rows' snapshot %s not written", figures)
                with _BUILD_LOCK:
                    _BUILD_FAILED.add(figures)
            finally:
                with _BUILD_LOCK:
                    _BUILDING.discard(figures)

        threading.Thread(target=build, name="figures-snapshot", daemon=True).start()

    def wait(self, timeout: float = 120.0) -> bool:
        """Build the snapshot now if it is missing (tools, tests, benchmarks)."""
        if self.path is None:
            return False
        complete_snapshot(self.engine, self.path)
        figures = figures_path(self.path)
        native = figures_native_path(self.path)
        if not _figures_done(self.path) and wants_figures(self.engine):
            with _one_builder(figures, wait=True):  # after a writer at it now, if any
                if not figures.exists():
                    write_figures(self.engine, self.path)
                if not native.exists():
                    write_figures_native(self.path)
                if not _figures_done(self.path):
                    write_quote_index(self.path)
        return self._connection() is not None

    def has_sources(self) -> bool:
        """DuckDB answers over ``figure_sources`` (the sources snapshot is there)."""
        con = self._connection()
        if con is None:
            return False
        with self._lock:
            con = self._duck  # the connection now (it may have changed since)
            if self._native:
                return True  # a table of the database
            if not self._sources and self.path is not None:
                found = sources_path(self.path)
                if found.exists():
                    escaped = _quoted(found)
                    con.execute(
                        "CREATE OR REPLACE VIEW figure_sources AS "
                        f"SELECT * FROM read_parquet('{escaped}')"
                    )
                    self._sources = True
            return self._sources

    def has_figures(self) -> bool:
        """DuckDB answers over ``figure_rows`` (the figure rows' snapshot is there). A
        summary whose snapshot came before it asks for it in the background."""
        con = self._connection()
        if con is None or self.path is None:
            return False
        found = figures_path(self.path)
        with self._lock:
            con = self._duck  # the connection now (it may have changed since)
            if not self._figures_native and not self._figures_native_bad:
                self._attach_figures_native(con)
            if self._index is None and self._quotes and quote_index_path(self.path).exists():
                self._attach_quote_index(con)
            if not self._figures and found.exists():
                escaped = _quoted(found)
                con.execute(  # a sort by the quote is a sort by its rank
                    "CREATE OR REPLACE VIEW figure_rows AS SELECT *, quote_rank AS quote "
                    f"FROM read_parquet('{escaped}')"
                )
                # the file's footer read once, not by every query: a table page's query
                # over a few row groups took ~9 ms, ~5 of them reading it (#7); the file
                # never changes (its name is the data version's)
                con.execute("SET GLOBAL parquet_metadata_cache = true")
                quotes = quotes_path(self.path)
                if quotes.exists():
                    con.execute(
                        "CREATE OR REPLACE VIEW figure_quotes AS "
                        f"SELECT * FROM read_parquet('{_quoted(quotes)}')"
                    )
                    self._quotes = True
                self._figures = True
            figures, native = self._figures, self._figures_native
            waiting = not native or (self._quotes and self._index is None)
        if waiting:  # the Parquet files or the tables meanwhile: the tables and the quotes'
            self._figures_in_background(self.path)  # index are written once
        return figures

    def _attach_figures_native(self, con: Any) -> None:
        """The views over ``figures_native_path``'s tables, once it is there (under the
        lock); until then (or if it cannot be read) the Parquet files'."""
        assert self.path is not None
        native = figures_native_path(self.path)
        if not native.exists():
            return
        try:
            con.execute(f"ATTACH '{_quoted(native)}' AS figure_tables (READ_ONLY)")
            con.execute(  # a sort by the quote is a sort by its rank
                "CREATE OR REPLACE VIEW figure_rows AS SELECT *, quote_rank AS quote "
                "FROM figure_tables.figure_rows"
            )
            has_quotes = bool(
                con.execute(
                    "SELECT COUNT(*) FROM duckdb_tables() WHERE database_name = "
                    "'figure_tables' AND table_name = 'figure_quotes'"
                ).fetchone()[0]
            )
            if has_quotes:
                con.execute(
                    "CREATE OR REPLACE VIEW figure_quotes AS "
                    "SELECT * FROM figure_tables.figure_quotes"
                )
        except Exception:  # unreadable: the Parquet files, not tried again
            self._figures_native_bad = True
            log.warning("figure rows' tables %s not readable: Parquet instead", native)
            return
        self._figures_native = self._figures = True
        self._quotes = has_quotes

    def _attach_quote_index(self, con: Any) -> None:
        """The quotes' index (``write_quote_index``), attached read-only once it is there
        (under the lock); one of another format or not readable is not used."""
        assert self.path is not None
        found = quote_index_path(self.path)
        try:
            con.execute(f"ATTACH '{_quoted(found)}' AS quote_index (READ_ONLY)")
            written, longest = con.execute(
                "SELECT format, longest FROM quote_index.quote_index_info"
            ).fetchone()
        except Exception:
            self._index = False
            log.warning("the quotes' index %s not readable: the quotes are read", found)
            return
        self._index = int(longest) if written == QUOTE_INDEX_FORMAT else False

    @property
    def has_quote_index(self) -> bool:
        """Whether the quotes' index answers text filters on the quote (it is there, and
        of this code's format)."""
        return self.has_quotes() and bool(self._index)

    def quote_index_ranks(self, value: str, op: str) -> Any:
        """The ranks of the quotes that hold ``value`` as SQLite's LIKE finds it (ASCII
        letters of either case), by the quotes' index: for ``op`` "contains" and
        "notContains" anywhere, for "startsWith" at the start; a sorted numpy array. None
        when the index cannot say quickly: none there (yet), ``value`` shorter than
        three characters, another ``op``, or a value many quotes hold
        (QUOTE_INDEX_FIRST_MAX, QUOTE_INDEX_RANKS_MAX); or when the quotes' bitmaps leave
        it in QUOTE_INDEX_BLOCKS_MIN blocks or fewer (read sooner). Asked once per filter,
        when ``kept_matches`` makes its table."""
        if op not in ("contains", "notContains", "startsWith") or len(value) < 3:
            return None
        if not self.has_quotes():
            return None
        with self._lock:
            longest, con = self._index, self._duck
        if not longest:  # (no quote of three characters: no index to ask either)
            return None
        blocks = self.quote_blocks(value)
        if blocks is not None and len(blocks[0]) <= QUOTE_INDEX_BLOCKS_MIN:
            return None
        cur = con.cursor()
        try:
            return self._index_lookup(cur, value, longest, op == "startsWith")
        except Exception:  # the quotes' blocks are read instead
            log.warning("the quotes' index did not answer", exc_info=True)
            return None
        finally:
            cur.close()

    @staticmethod
    def _index_lookup(cur: Any, value: str, longest: int, at_start: bool) -> Any:
        """``quote_index_ranks``' answer from the index (``cur``, ``quote_index``): the
        places of the rarest triple, then of each next rarest of a cover (``_cover``),
        kept where each is at its own distance from the value's start (``rank * span +
        start``, ``longest`` + 1 a span)."""
        import numpy as np
        import pyarrow as pa

        triples = quote_triples(value)
        keys = sorted({k for _, k in triples})
        places = dict(
            cur.execute(
                "SELECT triple, places FROM quote_index.quote_triple_counts "
                "WHERE triple IN (SELECT unnest($keys))",
                {"keys": keys},
            ).fetchall()
        )
        if any(k not in places for k in keys):  # a triple no quote holds
            return np.empty(0, dtype=np.int64)
        by_offset = dict(triples)
        span = int(longest) + 1
        found: Any = None
        for o in _cover(len(value), triples, places):
            sql = "SELECT rank, start FROM quote_index.quote_triples WHERE triple = $t"
            params: dict[str, Any] = {"t": by_offset[o]}
            if at_start:  # each triple at its own place from the first character
                sql += f" AND start = {1 + int(o)}"
            ranks = _distinct(found // span) if found is not None else None
            if ranks is not None and ranks.size <= QUOTE_INDEX_RANKS_MAX:
                # its places among the ranks found so far only
                cur.register("index_ranks", pa.table({"rank": ranks}))
                sql += " AND rank IN (SELECT rank FROM index_ranks)"
            elif places[by_offset[o]] > (
                QUOTE_INDEX_FIRST_MAX if ranks is None else QUOTE_INDEX_WHOLE_MAX
            ):
                return None  # a value many quotes hold
            got = cur.execute(sql, params).fetchnumpy()
            rank = np.asarray(got["rank"], dtype=np.int64)
            start = np.asarray(got["start"], dtype=np.int64) - o
            inside = start >= 1
            here = np.sort(rank[inside] * span + start[inside])  # distinct: (rank, start)
            if found is not None and here.size:  # the places in both (sorted, distinct)
                at = np.minimum(np.searchsorted(here, found), here.size - 1)
                here = found[here[at] == found]
            found = here
            if not found.size:
                break
        if at_start:
            found = found[found % span == 1]
        return _distinct(found // span)

    def has_quotes(self) -> bool:
        """DuckDB answers over ``figure_quotes`` too (the distinct quotes' text, by rank,
        written with the figure rows' snapshot)."""
        return self.has_figures() and self._quotes

    def quote_ranges(self, value: str) -> list[tuple[int, int]] | None:
        """The runs of quote ranks whose blocks may hold ``value`` as SQLite's LIKE finds
        it (their bitmaps have the bit of each of its pairs of characters,
        ``QUOTE_BLOCK_ROWS``), as (first, last) ranks, in order; none when no block can.
        None when that leaves out too little to matter (QUOTE_BLOCKS_SHARE,
        QUOTE_RANGES_MAX), says nothing (an empty value), or the snapshot has
        no bitmaps (written before them, or not readable)."""
        found = self.quote_blocks(value)
        if found is None:
            return None
        blocks, (first, last) = found
        if len(blocks) > QUOTE_BLOCKS_SHARE * len(first):
            return None
        runs: list[list[int]] = []
        for i in blocks:
            if runs and runs[-1][1] == i - 1:
                runs[-1][1] = i
            else:
                runs.append([i, i])
        if len(runs) > QUOTE_RANGES_MAX:
            return None
        return [(int(first[a]), int(last[b])) for a, b in runs]

    def quote_blocks(self, value: str) -> tuple[list[int], tuple[Any, Any]] | None:
        """The blocks of quotes that may hold ``value`` (their places in order), with
        every block's first and last rank; None when nothing is known (no bitmaps, or
        an empty value)."""
        bits = quote_gram_bits(value)[:QUOTE_GRAM_PAIRS_MAX]
        grams = self._quote_grams() if bits and self.has_quotes() else None
        if grams is None:
            return None
        first, last, packed = grams
        keep = None
        for bit in bits:
            has = ((packed[:, bit >> 3] >> (7 - (bit & 7))) & 1).astype(bool)
            keep = has if keep is None else keep & has
        return [int(i) for i in keep.nonzero()[0]], (first, last)

    def quote_sample(
        self, condition: str, params: dict[str, Any], percent: float, seconds: float
    ) -> tuple[int, int] | None:
        """(the quotes ``condition`` keeps, the quotes seen) in DuckDB's system sample of
        ``percent`` of the quotes' table (whole vectors of rows: at 8 M quotes 1 % took
        ~5 ms); ``condition`` names the text ``ranked.quote``. None when the quotes are
        not in DuckDB's tables (a sample of a Parquet file, or of a view, reads all of
        it). Past ``seconds``: ``QueryTooSlow``. Kept per condition (QUOTE_SAMPLES_KEPT):
        each page of a view asks, and its walk is then decided once."""
        if not self.has_quotes():
            return None
        key = (condition, tuple(sorted(params.items())), float(percent))
        with self._lock:
            if not self._figures_native:
                return None
            if key in self._samples:
                self._samples.move_to_end(key)
                return self._samples[key]
        kept, seen = self.ids(
            "SELECT unnest([kept, seen]) FROM (SELECT "
            f"COUNT(*) FILTER (WHERE {condition}) AS kept, COUNT(*) AS seen "
            "FROM figure_tables.figure_quotes AS ranked "
            f"TABLESAMPLE SYSTEM ({float(percent)}%))",
            params,
            seconds,
        )
        with self._lock:
            self._samples[key] = (kept, seen)
            while len(self._samples) > QUOTE_SAMPLES_KEPT:
                self._samples.popitem(last=False)
        return kept, seen

    def _quote_grams(self) -> Any:
        """(first ranks, last ranks, packed bitmaps) of the quotes' blocks, read once; None
        when there are none, or not as this code writes them."""
        with self._lock:
            if self._grams is None:
                self._grams = False
                found = quote_grams_path(self.path) if self.path is not None else None
                if found is not None and found.exists():
                    try:
                        self._grams = _read_quote_grams(found)
                    except Exception:  # unreadable: the quotes are read as they are
                        log.warning("the quotes' bitmaps %s not read", found, exc_info=True)
            return self._grams or None

    def kept_matches(
        self,
        sql: str,
        params: dict[str, Any],
        inverse: str | None = None,
        known: Callable[[], tuple[Any, bool] | None] | None = None,
    ) -> tuple[str, bool] | None:
        """A table of this worker's DuckDB holding the one column of ``sql`` (the ranks a
        grid's text filter leaves of the quotes' file), made on first use and kept: the
        count and every page of one filter read the quotes' text once, where each scanned
        it again (at 10 M figures quoting 8 M distinct texts, ~0.5 s a page). When ``sql``
        leaves more than KEPT_MATCH_ROWS ranks, the ranks of ``inverse`` (those it does
        not leave) are kept instead if they are few enough: a filter that finds most
        quotes ("县") is then a NOT IN. Returns (table, whether it holds the inverse), or
        None when neither fits or the table cannot be made (the caller asks ``sql``
        itself). At most KEPT_MATCHES tables of KEPT_ROWS_TOTAL ranks in all, the least
        recently used dropped. ``known``: when the table is made, the rows of ``sql`` (or
        of ``inverse``: then True) as a pyarrow table of one column if they are known
        without it (``quote_index_ranks``), or None."""
        con = self._connection()
        if con is None:
            return None
        key = hashlib.sha256(f"{sql}|{sorted(params.items())!r}".encode()).hexdigest()[:24]
        name = f"kept_{key}"
        table = {False: name, True: _inverse_table(name)}
        while True:  # one thread makes a table; another asking for it waits for it
            with self._lock:
                if name in self._kept:
                    self._kept.move_to_end(name)
                    negated = name in self._inverse
                    return (table[negated], negated) if self._kept[name] >= 0 else None
                making = self._making.get(name)
                if making is None:
                    making = self._making[name] = threading.Event()
                    con = self._duck
                    break
            making.wait()
        try:
            return self._kept_made(con, table, sql, params, inverse, known)
        finally:
            with self._lock:
                self._making.pop(name, None)
            making.set()

    def _kept_made(
        self,
        con: Any,
        table: dict[bool, str],
        sql: str,
        params: dict[str, Any],
        inverse: str | None,
        known: Callable[[], tuple[Any, bool] | None] | None = None,
    ) -> tuple[str, bool] | None:
        """``kept_matches``' table made (``table``: its name, and its inverse's), and the
        least recently used dropped."""
        name = table[False]
        n, negated = -1, False
        answer = known() if known is not None else None
        if answer is not None and answer[0].num_rows <= KEPT_MATCH_ROWS:
            rows, negated = answer
            n = self._keep_known(con, table[negated], rows)
        if n < 0:
            n, negated = self._keep_ranks(con, table[False], sql, params), False
        if n < 0 and inverse is not None:
            n, negated = self._keep_ranks(con, table[True], inverse, params), True
        dropped: list[str] = []
        with self._lock:
            self._kept[name] = n
            if negated and n >= 0:
                self._inverse.add(name)
            self._kept.move_to_end(name)
            while len(self._kept) > KEPT_MATCHES or (
                sum(max(0, k) for k in self._kept.values()) > KEPT_ROWS_TOTAL
            ):
                old, rows = self._kept.popitem(last=False)
                if rows >= 0:
                    dropped.append(_inverse_table(old) if old in self._inverse else old)
                self._inverse.discard(old)
        for old in dropped:
            with contextlib.suppress(Exception):
                dropper = con.cursor()
                dropper.execute(f"DROP TABLE IF EXISTS {old}")
                dropper.close()
        with self._lock:
            if n >= 0 and name in self._kept:
                negated = name in self._inverse
                return table[negated], negated
        return None

    @staticmethod
    def _keep_known(con: Any, name: str, rows: Any) -> int:
        """``rows`` (a pyarrow table) kept in table ``name`` (its rows), or -1 when it could
        not be made."""
        cur = con.cursor()
        try:
            cur.register("known_rows", rows)
            cur.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM known_rows")
            return int(cur.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0])
        except Exception:  # out of memory: the ranks are found as before
            log.warning("a text filter's known matches were not kept", exc_info=True)
            with contextlib.suppress(Exception):
                cur.execute(f"DROP TABLE IF EXISTS {name}")
            return -1
        finally:
            cur.close()

    @staticmethod
    def _keep_ranks(con: Any, name: str, sql: str, params: dict[str, Any]) -> int:
        """Rows of ``sql`` kept in table ``name`` (its rows), or -1 when there are more
        than KEPT_MATCH_ROWS or it could not be made (no table left behind), or it took
        longer than a table's query may (TWINNING_TABLE_SECONDS: stopped)."""
        cur = con.cursor()
        bound = settings.get_float("TWINNING_TABLE_SECONDS")
        timer = threading.Timer(bound, cur.interrupt) if bound > 0 else None
        try:
            most = KEPT_MATCH_ROWS + 1
            # the ranks are a set: kept in any order, LIMIT stops the threads' scans as
            # soon as there are too many, without keeping the file's order (over 8 M
            # distinct quotes 1.07 -> 0.55 s; this cursor's own setting, #7)
            cur.execute("SET SESSION preserve_insertion_order = false")
            if timer is not None:
                timer.start()
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {name} AS {_duck_sql(sql)} LIMIT {most}", params
            )
        except Exception:  # out of memory, stopped, or another thread made it just then
            log.warning("a text filter's matches were not kept", exc_info=True)
        finally:
            if timer is not None:
                timer.cancel()
        try:
            (n,) = cur.execute(f"SELECT COUNT(*) FROM {name}").fetchone()
            if n > KEPT_MATCH_ROWS:
                cur.execute(f"DROP TABLE IF EXISTS {name}")
                n = -1
        except Exception:  # not made
            n = -1
        finally:
            cur.close()
        return int(n)

    def ids(
        self, sql: str, params: dict[str, Any] | None = None, seconds: float | None = None
    ) -> list[int]:
        """The first column of ``sql`` on DuckDB (figure ids), stopped past ``seconds``
        (``QueryTooSlow``)."""
        from twinning.query.atlas import QueryTooSlow

        con = self._connection()
        if con is None:
            raise RuntimeError("no DuckDB snapshot")
        cur = con.cursor()
        timer = threading.Timer(seconds, cur.interrupt) if seconds and seconds > 0 else None
        try:
            if timer is not None:
                timer.start()
            try:
                found = cur.execute(_duck_sql(sql), params or {}).fetchall()
            except Exception as exc:  # duckdb.InterruptException
                if timer is not None and not timer.is_alive() and "nterrupt" in repr(exc):
                    raise QueryTooSlow(seconds or 0) from exc
                raise
            return [int(row[0]) for row in found]
        finally:
            if timer is not None:
                timer.cancel()
            cur.close()

    def _connection(self) -> Any:
        if self.path is None:
            return None
        with self._lock:
            if self._duck is not None and (
                self._native or self._native_bad or not native_path(self.path).exists()
            ):
                return self._duck
            if not self.path.exists():
                return None
            try:
                import duckdb
            except ImportError:  # pragma: no cover - duckdb is a dependency
                self.path = None
                return None
            con = duckdb.connect(config=_duck_config())
            native = native_path(self.path)
            try:  # the tables of the native database, read-only (many processes may)
                con.execute(f"ATTACH '{_quoted(native)}' AS snapshot (READ_ONLY)")
                for table in ("figure_totals", "figure_sources"):
                    con.execute(f"CREATE VIEW {table} AS SELECT * FROM snapshot.{table}")
                self._native = True
            except duckdb.Error:  # not (yet) there, or unreadable: the Parquet snapshot
                self._native_bad = native.exists()  # not tried again on every query
                if self._native_bad:
                    log.warning("summary tables %s not readable: Parquet instead", native)
                con.close()
                con = duckdb.connect(config=_duck_config())
                con.execute(
                    "CREATE VIEW figure_totals AS "
                    f"SELECT * FROM read_parquet('{_quoted(self.path)}')"
                )
            self._duck = con  # a connection left behind closes with its last cursor
            self._sources = self._figures = self._quotes = False
            self._figures_native = False
            self._index = None
            return con

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        con = self._connection()
        if con is None:
            from twinning.query.atlas import read

            keys, found = read(self.engine, sql, params)
            return pd.DataFrame(found, columns=keys)
        # DuckDB's named parameters are $name; a cursor per call (thread-safe)
        cur = con.cursor()
        try:
            return cur.execute(_duck_sql(sql), params or {}).df()
        finally:
            cur.close()

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        """The rows of ``sql`` as tuples of Python values (NULL as None), without a frame:
        most of a view's queries answer a few numbers, and building a DataFrame to read
        them cost more than DuckDB's answer (#7)."""
        con = self._connection()
        if con is None:
            from twinning.query.atlas import read

            return read(self.engine, sql, params)[1]
        cur = con.cursor()
        try:  # NULL is None (a store cannot hold NaN: SQLite reads it as NULL)
            return cur.execute(_duck_sql(sql), params or {}).fetchall()
        finally:
            cur.close()


if __name__ == "__main__":  # pragma: no cover - run by _figures_in_child
    raise SystemExit(main())
