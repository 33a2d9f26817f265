"""Keeping an import: one transaction per file, one batch row, the original file kept.

Why all or nothing: a register imported halfway is worse than none, because its
totals look plausible. Rows are checked and inserted in chunks inside a single
transaction; any error (or --dry-run, or a crash) rolls everything back, so the
store is either as before or holds the whole file.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from twinning import i18n, settings
from twinning.imports import guard
from twinning.imports.headers import normalise_overrides
from twinning.imports.problems import (
    ERROR,
    ImportRefused,
    Problem,
    Report,
    log_internal,
    pick,
    texts,
)
from twinning.imports.read import open_source
from twinning.imports.validate import (
    Checker,
    Layout,
    ReadOptions,
    Totals,
    figure_key,
    find_layout,
    pairing_key,
)
from twinning.query.summary import refresh_snapshot
from twinning.store import derive
from twinning.store.schema import batches, figures, pairings

log = logging.getLogger(__name__)

CHUNK_ROWS = 2000

Progress = Callable[[int, int], None]  # (rows checked, records stored so far)


@dataclass
class ImportResult:
    """What happened to one file; ``as_json()`` is what the CLI prints."""

    file: str
    ok: bool
    dry_run: bool
    report: Report
    batch_id: int | None = None
    sha256: str = ""
    encoding: str = ""
    sheet: str = ""
    form: str = ""
    header_row: int | None = None
    rows: int = 0  # data rows read (blank rows and 合计 rows excluded)
    records: int = 0  # figures or pairings that were (or would be) stored
    totals: dict = field(default_factory=dict)
    skipped_total_rows: list[int] = field(default_factory=list)
    # rows not read as data, by kind (subtotal, total, breakdown, note, heading); by sheet
    # with --sheet all
    skipped: dict = field(default_factory=dict)
    read: dict = field(default_factory=dict)  # how the header and title were read
    sheets: list[dict] = field(default_factory=list)  # --sheet all: each sheet read
    skipped_sheets: list[dict] = field(default_factory=list)
    mapping_json: str = ""
    seconds: float = 0.0

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "file": self.file,
            "batch_id": self.batch_id,
            "sha256": self.sha256,
            "encoding": self.encoding or None,
            "sheet": self.sheet or None,
            "layout": self.form or None,
            "header_row": self.header_row,
            "rows": self.rows,
            "records": self.records,
            "totals": self.totals,
            "skipped_total_rows": self.skipped_total_rows,
            "skipped_rows": self.skipped,
            "read": self.read or None,
            "sheets": self.sheets or None,
            "skipped_sheets": self.skipped_sheets or None,
            "errors": self.report.errors,
            "warnings": self.report.warnings,
            "problems": self.report.as_rows(),
            "problems_not_shown": self.report.truncated,
            "mapping": json.loads(self.mapping_json) if self.mapping_json else None,
        }


def _engine(store: object) -> Engine:
    return store if isinstance(store, Engine) else store.engine


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return os.environ.get("USER", "unknown")


def _insert(conn: Connection, table, batch_id: int, buf: list[dict], scope_rows: list) -> None:
    """Insert a block of records, then the scope rows of its figures (issue #10)."""
    last = None
    if scope_rows:
        last = conn.execute(select(func.coalesce(func.max(figures.c.id), 0))).scalar()
    conn.execute(insert(table), buf)
    if scope_rows:
        derive.write_scopes(conn, batch_id, scope_rows, after_id=int(last or 0))


def default_resolver():
    """The gazetteer's resolve, or None when boundaries are not built (tests inject one)."""
    from twinning.gazetteer import Gazetteer

    return Gazetteer.default().resolve


def _active_batch_with_sha(conn: Connection, sha: str):
    return conn.execute(
        select(batches).where(
            batches.c.sha256 == sha, batches.c.undone_at.is_(None), batches.c.kind == "import"
        )
    ).first()


def _stored_keys(conn: Connection, form: str) -> dict[int, tuple[int, int | None, str]]:
    """Digests of what active batches already hold, for duplicates against the store."""
    out: dict[int, tuple[int, int | None, str]] = {}
    if form == "pairings":
        q = (
            select(pairings, batches.c.kind)
            .join(batches, pairings.c.batch_id == batches.c.id)
            .where(batches.c.undone_at.is_(None))
        )
        for row in conn.execute(q).mappings():
            out.setdefault(
                pairing_key(dict(row)), (row["batch_id"], row["row_number"], row["kind"])
            )
        return out
    q = (
        select(
            figures.c.recipient_adcode,
            figures.c.recipient,
            figures.c.donor,
            figures.c.metric,
            figures.c.period_start,
            figures.c.period_end,
            figures.c.value,
            figures.c.unit,
            figures.c.project,
            figures.c.part,
            figures.c.batch_id,
            figures.c.row_number,
            batches.c.kind,
        )
        .join(batches, figures.c.batch_id == batches.c.id)
        .where(batches.c.undone_at.is_(None))
    )
    for row in conn.execute(q).mappings():
        out.setdefault(figure_key(dict(row)), (row["batch_id"], row["row_number"], row["kind"]))
    return out


class _Rollback(Exception):
    pass


def _safe_name(name: str) -> str:
    base = Path(name).name
    return re.sub(r"[^\w.\-\u4e00-\u9fff]+", "_", base)[:120] or "upload"


def run_import(
    path: str | Path,
    store: object,
    *,
    name: str | None = None,
    user: str | None = None,
    sheet: str | None = None,
    overrides: dict | None = None,
    dry_run: bool = False,
    resolver=None,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
    max_problems: int = 1000,
    options: ReadOptions | None = None,
) -> ImportResult:
    """Read, check and (unless dry_run or any error) store one file as a batch.

    Never raises for a bad file: every problem is in ``result.report``. Unexpected
    failures are logged with their traceback and reported as one 'internal' problem;
    a MemoryError propagates (nothing is stored: the transaction rolls back).
    """
    t0 = time.perf_counter()
    path = Path(path)
    name = name or path.name
    report = Report(name, max_problems=max_problems)
    result = ImportResult(name, False, dry_run, report)
    try:
        _run_busy_refused(
            path,
            _engine(store),
            result,
            user or default_user(),
            sheet,
            overrides,
            dry_run,
            resolver,
            progress,
            chunk_rows,
            options,
        )
    except ImportRefused as exc:
        for p in exc.problems:
            report.add(p)
    except MemoryError:  # not an internal error: a child under a memory limit says so (jobs)
        raise
    except Exception:
        where = log_internal(f"import of {name} failed")
        report.add(
            Problem(
                ERROR,
                "internal",
                file=name,
                **texts(
                    "problem.internal.import",
                    "problem.internal.import.fix",
                    en={"log": where or i18n.t("problem.internal.server_log", "en")},
                    zh={"log": where or i18n.t("problem.internal.server_log", "zh")},
                ),
            )
        )
    result.ok = report.ok
    if not result.ok:
        result.batch_id = None
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def _run_busy_refused(path, engine, result, *args) -> None:
    """``_run``; a store that another writer held past the busy timeout is a message."""
    try:
        _run(path, engine, result, *args)
    except OperationalError as exc:
        if not guard.is_busy(exc):
            raise
        raise ImportRefused([guard.busy(result.file)]) from None


_NOTES_SHEET = re.compile(
    r"^\s*(说明|填表说明|填报说明|注|注释|备注|附注|目录|封面"
    r"|notes?|readme|read me|instructions?|fields)(?=$|[\s\d(（_-])",
    re.IGNORECASE,
)
_SUMMARY_SHEET = re.compile(r"^\s*(汇总|汇总表|总表|合计|总计|summary|total)\s*$", re.IGNORECASE)
_SHEET_YEAR = re.compile(
    r"^\s*(?P<a>(?:19|20)\d{2})\s*(?:年度?)?\s*(?:(?:-|–|—|~|～|至|到)\s*(?P<b>(?:19|20)\d{2})"
    r"\s*(?:年度?)?)?\s*$"
)


def _close(source) -> None:
    """Close a source whether or not its rows were read (a workbook holds its file)."""
    for close in (getattr(source.rows, "close", None), source.close):
        if callable(close):
            close()


def sheet_year(name: str) -> int | tuple[int, int] | None:
    """The year a sheet's name gives ("2021年", "2021", "2016-2020年"), else None."""
    m = _SHEET_YEAR.match(name or "")
    if not m:
        return None
    a = int(m.group("a"))
    return (a, int(m.group("b"))) if m.group("b") else a


def _sheets_to_read(path: Path, result: ImportResult, sheet: str | None) -> list[str | None]:
    """The sheets an import reads: the one named, the first, or with "all" every data sheet."""
    if sheet != "all":
        return [sheet]
    first = open_source(path, result.file, None)
    close = getattr(first.rows, "close", None)
    if close:
        close()
    if first.kind != "xlsx":
        raise ImportRefused(
            [
                Problem(
                    ERROR,
                    "sheet",
                    file=result.file,
                    **texts("problem.sheet.csv_all", "problem.sheet.csv.fix"),
                )
            ]
        )
    names = list(first.sheets or [])
    out: list[str | None] = []
    for n in names:
        if _NOTES_SHEET.match(n):
            result.skipped_sheets.append({"sheet": n, "why": "notes"})
            result.report.warning(
                "sheet_skipped",
                **texts("problem.sheet_skipped.notes", "problem.sheet_skipped.notes.fix", sheet=n),
                value=n,
            )
            continue
        if _SUMMARY_SHEET.match(n) and len(names) > 1:
            result.skipped_sheets.append({"sheet": n, "why": "summary"})
            result.report.warning(
                "sheet_skipped",
                **texts("problem.sheet_skipped.sums", "problem.sheet_skipped.sums.fix", sheet=n),
                value=n,
            )
            continue
        out.append(n)
    return out


def _run(
    path,
    engine,
    result,
    user,
    sheet,
    overrides,
    dry_run,
    resolver,
    progress,
    chunk_rows,
    options=None,
):
    report = result.report
    options = options or ReadOptions()
    sheet_names = _sheets_to_read(path, result, sheet)
    sources = [open_source(path, result.file, sn) for sn in sheet_names]
    result.sha256 = sha256_of(path)
    with engine.connect() as conn:
        dup = _active_batch_with_sha(conn, result.sha256)
    if dup is not None:
        for source in sources:
            _close(source)
        raise ImportRefused(
            [
                Problem(
                    ERROR,
                    "duplicate_file",
                    file=result.file,
                    **texts(
                        "problem.duplicate_file.imported",
                        "problem.duplicate_file.imported.fix",
                        sha=result.sha256[:12],
                        batch=dup.id,
                        file=dup.file_name,
                        at=dup.created_at,
                        user=dup.user,
                    ),
                )
            ]
        )
    if overrides is not None:
        overrides = normalise_overrides(overrides)
    several = sheet == "all"
    # Every sheet's header first: header-level errors stop the import before any row
    layouts = []
    for source in sources:
        result.encoding, result.sheet = source.encoding, source.sheet
        if several:
            report.file = f"{result.file} [{source.sheet}]"
        sheet_options = replace(
            options, sheet_year=sheet_year(source.sheet), sheet_name=source.sheet
        )
        if resolver is None:
            resolver = default_resolver()
        layout, rows = find_layout(
            source.rows, report, overrides, source.merges, sheet_options, resolver
        )
        if layout is None:
            if not several:
                _close(source)
                return
            continue
        result.form, result.header_row = layout.form, layout.header_row
        result.mapping_json = layout.mapping.to_json()
        result.read = layout.read_summary()
        layouts.append((source, layout, rows))
    report.file = result.file
    if several:
        result.sheet = "all"
        result.sheets = [
            {"sheet": src.sheet, "layout": lay.form, "header_row": lay.header_row}
            for src, lay, _rows in layouts
        ]
        if len(layouts) > 1:
            result.form = "+".join(sorted({lay.form for _s, lay, _r in layouts}))
            result.mapping_json = json.dumps(
                {src.sheet: json.loads(lay.mapping.to_json()) for src, lay, _r in layouts},
                ensure_ascii=False,
            )
            result.read = {src.sheet: lay.read_summary() for src, lay, _r in layouts}
    if not layouts and several and not report.errors:
        report.error(
            "no_rows",
            **texts("problem.no_rows.no_sheet", "problem.no_rows.no_sheet.fix"),
        )
    if report.errors or not layouts:  # header-level errors: row checks would only echo them
        for source in sources:
            _close(source)
        return
    if resolver is None:
        resolver = default_resolver()
    stored_by_form: dict[str, dict] = {}
    kept: Path | None = None
    progress_state = {"seen": 0, "stored": 0}
    totals = Totals()

    def reading(rows, checker):
        # progress by rows read too: a file whose every row fails yields no records
        for n, item in enumerate(rows, start=1):
            if progress and n % chunk_rows == 0:
                progress(progress_state["seen"] + checker.rows_seen, progress_state["stored"])
            yield item

    try:
        with (
            engine.connect() as conn0,
            conn0.execution_options(sqlite_begin="IMMEDIATE").begin() as tx,
        ):
            conn = tx.connection
            batch_id = None
            if not dry_run:
                batch_id = conn.execute(
                    insert(batches).values(
                        kind="import",
                        user=user,
                        created_at=dt.datetime.now(dt.UTC),
                        file_name=result.file,
                        sha256=result.sha256,
                        row_count=0,
                        mapping_json=result.mapping_json,
                    )
                ).inserted_primary_key[0]
            stored_n = 0
            rows_seen = 0
            for source, layout, rows in layouts:
                if several:
                    report.file = f"{result.file} [{source.sheet}]"
                if layout.form not in stored_by_form:
                    stored_by_form[layout.form] = _stored_keys(conn, layout.form)
                checker = Checker(
                    layout,
                    report,
                    resolver,
                    f"import:{result.file}" + (f" [{source.sheet}]" if several else ""),
                    stored_keys=stored_by_form[layout.form],
                    merges=source.merges or [],
                    quote_prefix=f"[{source.sheet}] " if several else "",
                    totals=totals,
                )
                table = pairings if layout.form == "pairings" else figures
                buf: list[dict] = []
                scope_rows: list[tuple] = []  # rows naming several places (#10)
                seen_n = 0
                for rec in checker.check(reading(rows, checker)):
                    seen_n += 1
                    for member in rec.pop("scope_members", None) or ():
                        scope_rows.append((rec["row_number"], *member))
                    if not (dry_run or report.errors):
                        rec["batch_id"] = batch_id
                        buf.append(rec)
                    if seen_n % chunk_rows:
                        continue
                    if buf and not report.errors:
                        _insert(conn, table, batch_id, buf, scope_rows)
                        stored_n += len(buf)
                        progress_state["stored"] = stored_n
                    buf, scope_rows = [], []
                    if progress:
                        progress(rows_seen + checker.rows_seen, stored_n)
                checker.finish()
                if buf and not report.errors and not dry_run:
                    _insert(conn, table, batch_id, buf, scope_rows)
                    stored_n += len(buf)
                    progress_state["stored"] = stored_n
                rows_seen += checker.rows_seen
                progress_state["seen"] = rows_seen
                result.rows += checker.rows_used
                result.records += checker.records
                result.skipped_total_rows += checker.skipped_total_rows
                for kind, numbers in checker.skipped.items():
                    if several and len(layouts) > 1:  # by sheet, as `read` is
                        result.skipped.setdefault(source.sheet, {})[kind] = numbers
                    else:
                        result.skipped[kind] = numbers
                if several:
                    for entry in result.sheets:
                        if entry["sheet"] == source.sheet:
                            entry.update(rows=checker.rows_used, records=checker.records)
                if checker.rows_seen == 0 and not report.errors:
                    report.error(
                        "no_rows",
                        **texts(
                            "problem.no_rows.below_header",
                            "problem.no_rows.below_header.fix",
                            row=layout.header_row,
                        ),
                        row=layout.header_row,
                    )
            report.file = result.file
            if progress:
                progress(rows_seen, stored_n)
            result.totals = totals.as_json()
            if report.errors or dry_run:
                raise _Rollback
            conn.execute(update(batches).where(batches.c.id == batch_id).values(row_count=stored_n))
            derive.refresh(conn, batch_id)
            kept = _keep_original(path, batch_id, result.sha256, result.file)
            conn.execute(
                update(batches).where(batches.c.id == batch_id).values(stored_path=str(kept))
            )
            result.batch_id = batch_id
    except _Rollback:
        result.batch_id = None
        return
    except BaseException:
        # the commit (or anything after the copy) failed: the batch is gone, so is its copy
        if kept is not None:
            kept.unlink(missing_ok=True)
        raise
    finally:
        report.file = result.file
    refresh_snapshot(engine)  # committed: the atlas answers from the new summary at once


def _keep_original(path: Path, batch_id: int, sha: str, name: str) -> Path:
    """Copy the original into the upload folder under a temporary name, then rename it.

    A full disk (or any write error) leaves no partial file, which would otherwise take
    the space the next import needs; the error becomes a message and, raised inside the
    import's transaction, rolls the batch back.
    """
    folder = Path(settings.get("TWINNING_UPLOAD_DIR"))
    dest = folder / f"{batch_id:06d}-{sha[:12]}-{_safe_name(name)}"
    tmp = folder / f".{dest.name}.{os.getpid()}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise guard.keep_failed(name, folder, exc) from None
    return dest


# --- batches ---------------------------------------------------------------------------


def list_batches(store: object, include_undone: bool = True) -> list[dict]:
    """Every batch, newest first, with how many figures / pairings each holds."""
    engine = _engine(store)
    fig_n = (
        select(figures.c.batch_id, func.count().label("n")).group_by(figures.c.batch_id).subquery()
    )
    pair_n = (
        select(pairings.c.batch_id, func.count().label("n"))
        .group_by(pairings.c.batch_id)
        .subquery()
    )
    q = (
        select(batches, fig_n.c.n.label("figures"), pair_n.c.n.label("pairings"))
        .outerjoin(fig_n, fig_n.c.batch_id == batches.c.id)
        .outerjoin(pair_n, pair_n.c.batch_id == batches.c.id)
        .order_by(batches.c.id.desc())
    )
    if not include_undone:
        q = q.where(batches.c.undone_at.is_(None))
    out = []
    with engine.connect() as conn:
        for row in conn.execute(q).mappings():
            d = dict(row)
            for k in ("created_at", "undone_at"):
                if d[k] is not None:
                    d[k] = d[k].isoformat(timespec="seconds")
            d["figures"] = d["figures"] or 0
            d["pairings"] = d["pairings"] or 0
            d["active"] = d["undone_at"] is None
            d.pop("mapping_json", None)
            out.append(d)
    return out


class UndoError(ValueError):
    """A batch that cannot be undone; ``str()`` is English, ``text("zh")`` Chinese."""

    def __init__(self, message: str, message_zh: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh

    def text(self, lang: str | None = "en") -> str:
        return pick(lang, self.message, self.message_zh)


def undo_batch(store: object, batch_id: int, user: str | None = None) -> dict:
    """Mark a batch undone; its rows drop out of every Store frame. Raises UndoError."""
    engine = _engine(store)
    user = user or default_user()
    try:
        undone = _undo(engine, batch_id, user)
        refresh_snapshot(engine)
        return undone
    except OperationalError as exc:
        if not guard.is_busy(exc):
            raise
        raise UndoError(**guard.busy_undo(batch_id)) from None


def _undo(engine: Engine, batch_id: int, user: str) -> dict:
    with engine.connect() as conn0, conn0.execution_options(sqlite_begin="IMMEDIATE").begin() as tx:
        conn = tx.connection
        row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
        if row is None:
            raise UndoError(**texts("problem.undo.no_batch", batch=batch_id))
        if row.kind != "import":
            reference = row.kind == "reference"
            raise UndoError(
                **texts(
                    "problem.undo.shipped",
                    batch=batch_id,
                    en={"kind": row.kind},
                    zh={"kind": i18n.t("problem.undo.reference", "zh") if reference else row.kind},
                )
            )
        if row.undone_at is not None:
            raise UndoError(
                **texts(
                    "problem.undo.already",
                    batch=batch_id,
                    at=row.undone_at,
                    user=row.undone_by,
                )
            )
        now = dt.datetime.now(dt.UTC)
        conn.execute(
            update(batches).where(batches.c.id == batch_id).values(undone_at=now, undone_by=user)
        )
        derive.refresh(conn, batch_id)
    return {
        "batch_id": batch_id,
        "undone_at": now.isoformat(timespec="seconds"),
        "undone_by": user,
        "file_name": row.file_name,
    }


def layout_preview(
    path: str | Path,
    sheet: str | None = None,
    n: int = 10,
    overrides: dict | None = None,
    options: ReadOptions | None = None,
) -> tuple[Layout | None, list, Report]:
    """Header, mapping and the first rows, for the UI's preview and mapping steps."""
    path = Path(path)
    report = Report(path.name)
    try:
        source = open_source(path, path.name, sheet)
        layout, rows = find_layout(
            source.rows,
            report,
            normalise_overrides(overrides) if overrides else None,
            source.merges,
            options,
        )
        first: list[list[object]] = []
        if layout is not None:
            layout.sheets = list(source.sheets or [])
            for _number, cells in rows:
                if any(c not in (None, "") for c in cells):
                    first.append(cells)
                if len(first) >= n:
                    break
        close = getattr(source.rows, "close", None)
        if close:
            close()  # runs the reader's finally: closes the file / workbook
        return layout, first, report
    except ImportRefused as exc:
        for p in exc.problems:
            report.add(p)
        return None, [], report
