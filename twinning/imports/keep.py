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
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from twinning import settings
from twinning.imports import guard
from twinning.imports.headers import normalise_overrides
from twinning.imports.problems import (
    ERROR,
    ImportRefused,
    Problem,
    Report,
    log_internal,
    pick,
)
from twinning.imports.read import open_source
from twinning.imports.validate import Checker, Layout, figure_key, find_layout, pairing_key
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
) -> ImportResult:
    """Read, check and (unless dry_run or any error) store one file as a batch.

    Never raises for a bad file: every problem is in ``result.report``. Unexpected
    failures are logged with their traceback and reported as one 'internal' problem.
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
        )
    except ImportRefused as exc:
        for p in exc.problems:
            report.add(p)
    except Exception:
        where = log_internal(f"import of {name} failed")
        report.add(
            Problem(
                ERROR,
                "internal",
                "the import failed because of an internal error; nothing was stored",
                file=name,
                suggestion="try again; if it persists, send the file and the log "
                f"({where or 'server log'}) to the administrator",
                message_zh="由于内部错误，导入失败；未保存任何数据",
                suggestion_zh="请重试；如果仍然失败，请把文件和日志"
                f"（{where or '服务器日志'}）发给管理员",
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


def _run(path, engine, result, user, sheet, overrides, dry_run, resolver, progress, chunk_rows):
    report = result.report
    source = open_source(path, result.file, sheet)
    result.encoding, result.sheet = source.encoding, source.sheet
    result.sha256 = sha256_of(path)
    with engine.connect() as conn:
        dup = _active_batch_with_sha(conn, result.sha256)
    if dup is not None:
        raise ImportRefused(
            [
                Problem(
                    ERROR,
                    "duplicate_file",
                    f"this file (sha256 {result.sha256[:12]}…) is already imported as "
                    f"batch {dup.id} "
                    f"({dup.file_name}, {dup.created_at:%Y-%m-%d %H:%M} by {dup.user})",
                    file=result.file,
                    suggestion=f"nothing to do; to replace it, undo batch {dup.id} first "
                    f"(`twinning batches undo {dup.id}`)",
                    message_zh=f"该文件（sha256 {result.sha256[:12]}…）已导入为批次 {dup.id}"
                    f"（{dup.file_name}，{dup.created_at:%Y-%m-%d %H:%M}，导入人 {dup.user}）",
                    suggestion_zh=f"无需处理；如需替换，请先撤销批次 {dup.id}"
                    f"（`twinning batches undo {dup.id}`）",
                )
            ]
        )
    if overrides is not None:
        overrides = normalise_overrides(overrides)
    layout, rows = find_layout(source.rows, report, overrides)
    if layout is None or report.errors:  # header-level errors: row checks would only echo them
        if layout is not None:
            result.form, result.header_row = layout.form, layout.header_row
            result.mapping_json = layout.mapping.to_json()
        return
    result.form, result.header_row = layout.form, layout.header_row
    result.mapping_json = layout.mapping.to_json()
    if resolver is None:
        resolver = default_resolver()
    with engine.connect() as conn:
        stored = _stored_keys(conn, layout.form)
    checker = Checker(layout, report, resolver, f"import:{result.file}", stored_keys=stored)
    table = pairings if layout.form == "pairings" else figures
    stored_n = 0
    kept: Path | None = None

    def reading(rows):
        # progress by rows read too: a file whose every row fails yields no records
        for n, item in enumerate(rows, start=1):
            if progress and n % chunk_rows == 0:
                progress(checker.rows_seen, stored_n)
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
            buf: list[dict] = []
            stored_n = seen_n = 0
            for rec in checker.check(reading(rows)):
                seen_n += 1
                if not (dry_run or report.errors):
                    rec["batch_id"] = batch_id
                    buf.append(rec)
                if seen_n % chunk_rows:
                    continue
                if buf and not report.errors:
                    conn.execute(insert(table), buf)
                    stored_n += len(buf)
                buf = []
                if progress:
                    progress(checker.rows_seen, stored_n)
            if buf and not report.errors and not dry_run:
                conn.execute(insert(table), buf)
                stored_n += len(buf)
            if progress:
                progress(checker.rows_seen, stored_n)
            result.rows, result.records = checker.rows_used, checker.records
            result.totals = checker.totals.as_json()
            result.skipped_total_rows = checker.skipped_total_rows
            if checker.rows_seen == 0 and not report.errors:
                report.error(
                    "no_rows",
                    f"no data rows below the header (row {layout.header_row})",
                    message_zh=f"表头（第 {layout.header_row} 行）下面没有数据行",
                    row=layout.header_row,
                    suggestion="add rows under the header",
                    suggestion_zh="请在表头下面填写数据行",
                )
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
        message, message_zh = guard.busy_undo(batch_id)
        raise UndoError(message, message_zh=message_zh) from None


def _undo(engine: Engine, batch_id: int, user: str) -> dict:
    with engine.connect() as conn0, conn0.execution_options(sqlite_begin="IMMEDIATE").begin() as tx:
        conn = tx.connection
        row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
        if row is None:
            raise UndoError(
                f"there is no batch {batch_id}; `twinning batches list` shows them",
                message_zh=f"没有批次 {batch_id}；运行 `twinning batches list` 可查看所有批次",
            )
        if row.kind != "import":
            raise UndoError(
                f"batch {batch_id} is the {row.kind} data shipped with the atlas and cannot be "
                "undone",
                message_zh=f"批次 {batch_id} 是地图自带的"
                f"{'参考' if row.kind == 'reference' else row.kind}数据，不能撤销",
            )
        if row.undone_at is not None:
            raise UndoError(
                f"batch {batch_id} was already undone on {row.undone_at:%Y-%m-%d %H:%M} by "
                f"{row.undone_by}",
                message_zh=f"批次 {batch_id} 已于 {row.undone_at:%Y-%m-%d %H:%M} 由 "
                f"{row.undone_by} 撤销",
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
    path: str | Path, sheet: str | None = None, n: int = 10, overrides: dict | None = None
) -> tuple[Layout | None, list, Report]:
    """Header, mapping and the first rows, for the UI's preview and mapping steps."""
    path = Path(path)
    report = Report(path.name)
    try:
        source = open_source(path, path.name, sheet)
        layout, rows = find_layout(
            source.rows, report, normalise_overrides(overrides) if overrides else None
        )
        first: list[list[object]] = []
        if layout is not None:
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
