"""The import page (`/import`): sign in, drop a file, preview, map headers, check, confirm.

Callbacks are thin: each unpacks its inputs and calls one plain function of this
module (``sign_in``, ``receive_upload``, ``check_file``, ``confirm_import``,
``undo``), which in turn calls ``twinning.imports``. The plain functions are what
the tests call. Every change to stored data checks the sign-in token on the
server: hiding a button is not security.

While a check or import runs, ``check_file`` writes its counts to a progress file
next to the upload (``<id>.progress.json``, removed when the run ends) and the page
polls it (``progress_view``): a file, not process memory, because under gunicorn the
poll may reach another worker process. The file format, the writer and the row estimate
are in ``twinning.imports.progress``; this page only names the file from the upload id.

File text is only ever shown through grid cells (dash-ag-grid's plain text cells, no
cell renderer) and html children, which Dash escapes; nothing from a file is rendered
as HTML or Markdown.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import dash_ag_grid as dag
from dash import ALL, Input, Output, State, dcc, html, no_update

from twinning import i18n, settings
from twinning.i18n import grid_locale
from twinning.imports import progress
from twinning.imports.headers import ALL_FIELDS, field_label
from twinning.imports.problems import (
    REPORT_COLUMNS,
    ImportRefused,
    log_internal,
    pick,
    report_csv,
    severity_label,
)
from twinning.imports.progress import estimate_rows

BATCH_COLUMNS = [
    "id",
    "kind",
    "file_name",
    "user",
    "created_at",
    "row_count",
    "figures",
    "pairings",
    "undone_at",
    "undone_by",
]
PREVIEW_ROWS = 10
# What the report table shows: the severity, message and suggestion in the reader's
# language (level / text / advice). The rows also carry every REPORT_COLUMNS field, both
# languages, so the downloaded CSV is the same whichever view it came from.
REPORT_TABLE_COLUMNS = [
    "level",
    "file",
    "row",
    "column",
    "value",
    "text",
    "advice",
    "code",
    "hint_zh",
]
_FILE_ID = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx|txt|xls|bin)$")
# A check or import writes its progress at most this often (seconds); the page polls twice a
# second (dcc.Interval imp-progress-tick).
PROGRESS_EVERY_S = progress.EVERY_S
PROGRESS_POLL_MS = 500

# This page's words are the catalog's "import.<key>" messages (twinning/locale).
I18N_PREFIX = "import."


def t(key: str, lang: str, **kw: Any) -> str:
    """This page's text for ``key`` (the catalog's ``import.<key>``)."""
    return i18n.t(I18N_PREFIX + key, lang, **kw)


# --- sign-in: a server-side session (twinning.auth), its token in an HttpOnly cookie -------
# The plain functions take the session token (the callbacks pass the cookie's value) and an
# ``auth`` (twinning.auth.Auth; default: the store at TWINNING_DATABASE_URL). Every one that
# changes data looks the session up in the store, in whichever worker answers.


def _auth(auth: Any = None) -> Any:
    from twinning.auth import default_auth

    return auth if auth is not None else default_auth()


def session_user(token: object, auth: Any = None) -> Any:
    """The signed-in ``twinning.auth.User`` of a session token, or None."""
    return _auth(auth).session_user(token)


def token_user(token: object, auth: Any = None) -> str | None:
    """The signed-in user's name, or None for a missing, unknown, ended or expired session."""
    user = session_user(token, auth)
    return user.name if user else None


def _may_import(token: object, lang: str, auth: Any) -> tuple[Any, str]:
    """(user, "") when the session may change data, else (None, the message why not)."""
    user = session_user(token, auth)
    if user is None:
        return None, t("signin_needed", lang)
    if not user.can("importer"):
        return None, t("role_needed", lang, user=user.name, role=role_label(user.role, lang))
    return user, ""


def role_label(role: str, lang: str) -> str:
    """A role's name in the reader's language."""
    if role == "admin":
        return t("role_admin", lang)
    if role == "importer":
        return t("role_importer", lang)
    return t("role_viewer", lang)


def sign_in(
    user: str | None,
    password: str | None,
    lang: str,
    auth: Any = None,
    address: str | None = None,
) -> tuple[str, str]:
    """(session token, message). Limits first (per user and per address), then the password."""
    result = _auth(auth).sign_in(user, password, address)
    if result.status == "ok":
        return result.token, t("signed_in", lang, user=result.user.name)
    if result.status == "off":
        return "", t("signin_disabled", lang)
    if result.status == "slow":
        return "", t("signin_slow", lang, seconds=result.wait_s)
    if result.status == "locked":
        return "", t("signin_locked", lang, minutes=max(1, -(-result.wait_s // 60)))
    if result.status == "busy":
        return "", t("signin_busy", lang)
    return "", t("signin_failed", lang)


def sign_out(token: object, lang: str, auth: Any = None) -> str:
    """End the session in the store: the token is refused from now on, in every worker."""
    from sqlalchemy.exc import OperationalError

    try:
        _auth(auth).end_session(token)
    except OperationalError:  # SQLite's write lock held past its 30 s by an import
        log_internal("sign-out failed")
        return t("signout_busy", lang)
    return t("signed_out", lang)


# --- files ----------------------------------------------------------------------------------


def _incoming_dir() -> Path:
    return Path(settings.get("TWINNING_UPLOAD_DIR")) / "incoming"


def _incoming_path(file_id: str) -> Path | None:
    if not isinstance(file_id, str) or not _FILE_ID.match(file_id):
        return None
    return _incoming_dir() / file_id


def _sweep_incoming(max_age_s: float = 24 * 3600) -> None:
    folder = _incoming_dir()
    if not folder.exists():
        return
    cutoff = time.time() - max_age_s
    for p in folder.iterdir():
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def _store_upload(contents: str, filename: str) -> tuple[str, int]:
    """Decode a dcc.Upload payload to var/uploads/incoming; refuse oversize before decoding."""
    from twinning.imports.read import check_size

    _, _, b64 = contents.partition(",")
    estimated = len(b64) * 3 // 4
    check_size(estimated, filename)
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        from twinning.imports.problems import ERROR, Problem

        raise ImportRefused(
            [
                Problem(
                    ERROR,
                    "upload",
                    "the upload arrived damaged",
                    file=filename,
                    suggestion="upload the file again",
                    message_zh="上传的文件已损坏",
                    suggestion_zh="请重新上传文件",
                )
            ]
        ) from None
    check_size(len(data), filename)
    suffix = Path(filename).suffix.lower().lstrip(".")
    suffix = suffix if suffix in ("csv", "xlsx", "txt", "xls") else "bin"
    file_id = f"{uuid.uuid4().hex}.{suffix}"
    from twinning.imports.guard import write_file

    write_file(_incoming_dir() / file_id, data, filename)  # whole or not at all (a full disk)
    _sweep_incoming()
    return file_id, len(data)


# --- progress of a running check or import ----------------------------------------------------
# The run writes its counts to <hex id>.progress.json next to the upload; the page polls it.
# A file, not process memory: under gunicorn the poll may reach another worker process.


def _progress_path(file_id: object) -> Path | None:
    """The progress file of an upload, or None: named only from a validated upload id."""
    path = _incoming_path(file_id)  # type: ignore[arg-type]  # checks the type
    if path is None:
        return None
    return path.with_name(f"{path.stem}.progress.json")


def write_progress(file_id: str, record: dict) -> None:
    progress.write_progress(_progress_path(file_id), record)


def clear_progress(file_id: str) -> None:
    progress.clear_progress(_progress_path(file_id))


def read_progress(file_id: object) -> dict | None:
    """The latest progress record of a run on this upload, or None (no run, bad id)."""
    return progress.read_progress(_progress_path(file_id))


class ProgressWriter(progress.ProgressWriter):
    """The progress writer of one upload, named only from its validated id."""

    def __init__(
        self, file_id: str, phase: str, total: int | None, every: float | None = None
    ) -> None:
        every = PROGRESS_EVERY_S if every is None else every
        super().__init__(_progress_path(file_id), phase, total, every)


def progress_text(record: dict | None, lang: str) -> str:
    """One line for the page: rows read (of about how many) and, importing, records written."""
    if not record:
        return t("progress_preparing", lang)
    rows, stored, total = record.get("rows", 0), record.get("stored", 0), record.get("total")
    has_total = bool(total) and rows <= total  # past the estimate: show the count only
    key = ("progress_import" if record.get("phase") == "import" else "progress_check") + (
        "_of" if has_total else ""
    )
    return t(key, lang, rows=f"{rows:,}", stored=f"{stored:,}", total=f"{total or 0:,}")


def progress_bar(record: dict | None) -> tuple[int | None, int]:
    """(value, max) for html.Progress; value None makes the bar indeterminate."""
    if not record or not record.get("total"):
        return None, 1
    total = record["total"]
    return min(record.get("rows", 0), total), total


def progress_view(file: dict | None, token: str | None, lang: str, auth: Any = None) -> tuple:
    """What one poll shows: (bar value, bar max, text). Signed-in users only."""
    record = read_progress((file or {}).get("id")) if token_user(token, auth) else None
    return (*progress_bar(record), progress_text(record, lang))


def _severity_label(severity: str, lang: str) -> str:
    return severity_label(severity, lang)


def _report_rows(problems: list[dict], lang: str = "en") -> list[dict]:
    """Table rows: every report field (both languages) plus level / text / advice in ``lang``."""
    rows = []
    for p in problems:
        row = {c: "" if p.get(c) is None else str(p.get(c)) for c in REPORT_COLUMNS}
        row["level"] = _severity_label(row["severity"], lang)
        row["text"] = pick(lang, row["message"], row["message_zh"])
        row["advice"] = pick(lang, row["suggestion"], row["suggestion_zh"])
        rows.append(row)
    return rows


def report_download(rows: list[dict] | None, lang: str) -> dict:
    """The report table as a CSV download with both languages' columns.

    A byte-order mark leads the text so Excel on a Chinese Windows reads it as UTF-8
    (without one it assumes GBK and the Chinese columns turn to mojibake).
    """
    from twinning.imports.problems import Problem

    def text(r: dict, key: str) -> str:
        value = r.get(key)
        return value if isinstance(value, str) else ""

    def number(value: Any) -> int | None:
        # the table holds what the server put there; a forged request may send anything
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return int(value) if isinstance(value, str) and value.isdigit() else None

    problems = [
        Problem(
            text(r, "severity"),
            text(r, "code"),
            text(r, "message"),
            file=text(r, "file"),
            row=number(r.get("row")),
            column=text(r, "column"),
            value=text(r, "value"),
            suggestion=text(r, "suggestion"),
            message_zh=text(r, "message_zh"),
            suggestion_zh=text(r, "suggestion_zh"),
        )
        for r in (rows if isinstance(rows, list) else [])
        if isinstance(r, dict)
    ]
    return {"content": "\ufeff" + report_csv(problems), "filename": t("report_file", lang)}


def _field_options(lang: str) -> list[dict]:
    opts = [{"label": t("ignore", lang), "value": "__none__"}]
    opts += [{"label": f"{field_label(f, lang)} ({f})", "value": f} for f in ALL_FIELDS]
    return opts


def preview_upload(path: Path, name: str) -> dict[str, Any]:
    """The preview of an upload as JSON (``twinning.imports.jobs.preview_json``): in a child
    under the import limits (TWINNING_IMPORT_CHILD), so a file that needs too much memory or
    time fails alone with a message (``ImportRefused``) and the server keeps serving."""
    from twinning.imports import jobs

    if jobs.in_child():
        return jobs.run_job({"job": "preview", "path": str(path), "name": name, "n": PREVIEW_ROWS})
    return jobs.preview_json(path, PREVIEW_ROWS)


def receive_upload(
    contents: str | None,
    filename: str | None,
    token: str | None,
    lang: str,
    auth: Any = None,
) -> dict[str, Any]:
    """Keep the uploaded file and describe it: preview rows, automatic mapping, problems.

    Returns a plain dict the callback spreads over its outputs (tests read it directly).
    """
    from twinning.imports.problems import Problem

    out: dict[str, Any] = {
        "file": None,
        "preview": [],
        "columns": [],
        "mapping": [],
        "problems": [],
        "message": "",
        "read": None,
    }
    if not contents or not filename:
        return out
    user, why = _may_import(token, lang, auth)
    if user is None:
        out["message"] = why
        return out
    try:
        file_id, size = _store_upload(contents, filename)
    except ImportRefused as exc:
        out["problems"] = [p.as_dict() for p in exc.problems]
        out["message"] = exc.problems[0].text(lang)
        return out
    path = _incoming_path(file_id)
    try:
        data = preview_upload(path, filename)
    except ImportRefused as exc:  # its child ran out of memory or time, or died
        out["problems"] = [{**p.as_dict(), "file": filename} for p in exc.problems]
        out["message"] = exc.problems[0].text(lang)
        path.unlink(missing_ok=True)
        return out
    except Exception:
        log_internal(f"preview of {filename} failed")
        report_problem = Problem(
            "error",
            "internal",
            "the file could not be previewed",
            file=filename,
            suggestion="try again or send the file to the administrator",
            message_zh="无法预览该文件",
            suggestion_zh="请重试，或把文件发给管理员",
        )
        out["problems"] = [report_problem.as_dict()]
        return out
    problems = [{**p, "file": filename} for p in data["problems"]]
    out["problems"] = problems
    layout = data["layout"]
    if layout is None:
        out["message"] = (
            pick(lang, problems[0]["message"], problems[0]["message_zh"]) if problems else ""
        )
        path.unlink(missing_ok=True)
        return out
    out["file"] = {"id": file_id, "name": filename, "size": size, "sheets": layout["sheets"]}
    out["read"] = layout["read"]
    if len(layout["sheets"]) > 1:  # a workbook of several sheets is imported whole
        out["read"]["sheets"] = layout["sheets"]
    cols = layout["columns"]
    out["columns"] = [{"id": str(c["index"]), "name": c["label"]} for c in cols]
    out["preview"] = [
        {
            str(c["index"]): (
                "" if c["index"] >= len(r) or r[c["index"]] is None else r[c["index"]]
            )
            for c in cols
        }
        for r in data["rows"]
    ]
    out["mapping"] = [
        {
            "index": c["index"],
            "label": c["label"],
            "field": c["field"] or "__none__",
            "unit": c["unit"],
        }
        for c in cols
    ]
    return out


def _source_word(source: str | None, lang: str) -> str:
    """Where a unit, year or donor was read: the title, the sheet's name, this page."""
    if source == "title":
        return t("src_title", lang)
    if source == "sheet":
        return t("src_sheet", lang)
    if source == "header":
        return t("src_header", lang)
    return t("src_option", lang)


def _skip_word(kind: str, lang: str) -> str:
    words = {
        "subtotal": t("skip_subtotal", lang),
        "total": t("skip_total", lang),
        "breakdown": t("skip_breakdown", lang),
        "note": t("skip_note", lang),
        "heading": t("skip_heading", lang),
    }
    return words.get(kind, kind)


def read_lines(read: dict | None, lang: str, skipped: dict | None = None) -> list[str]:
    """How the file was read, in words: the header rows and their joined names, the unit,
    year and donor taken from the title (or given here), the rows not read as data."""
    if not read:
        return []
    if "header_rows" not in read:  # --sheet all: one summary per sheet
        lines = []
        for sheet, one in read.items():
            lines += [f"[{sheet}] {line}" for line in read_lines(one, lang)]
        return lines + skipped_lines(skipped, lang)
    rows = read["header_rows"]
    joined = [c["name"] for c in read.get("columns", []) if "/" in c["name"]]
    lines = []
    if len(read.get("sheets") or []) > 1:
        lines.append(t("read_sheets", lang, sheets=", ".join(read["sheets"])))
    lines += [
        t(
            "read_header",
            lang,
            rows=", ".join(str(r) for r in rows),
            n=len(rows),
            joined="; ".join(joined) if joined else "-",
        )
    ]
    if read.get("unit"):
        lines.append(
            t("read_unit", lang, unit=read["unit"], source=_source_word(read["unit_from"], lang))
        )
    if read.get("year"):
        lines.append(
            t("read_year", lang, year=read["year"], source=_source_word(read["year_from"], lang))
        )
    if read.get("donor"):
        lines.append(
            t(
                "read_donor",
                lang,
                donor=read["donor"],
                source=_source_word(read["donor_from"], lang),
            )
        )
    return lines + skipped_lines(skipped, lang)


def skipped_lines(skipped: dict | None, lang: str) -> list[str]:
    out = []
    for kind, rows in (skipped or {}).items():
        if isinstance(rows, dict):  # by sheet
            out += [f"[{kind}] {line}" for line in skipped_lines(rows, lang)]
            continue
        out.append(
            t("read_skipped", lang, kind=_skip_word(kind, lang), rows=", ".join(map(str, rows)))
        )
    return out


def read_options(year: object, unit: object, lang: str):
    """The page's 年度 / 单位 boxes as ``ReadOptions``; (None, message) when not readable."""
    from twinning.imports.problems import ParseError
    from twinning.imports.units import MONEY, parse_unit
    from twinning.imports.validate import ReadOptions, parse_year

    year_text = str(year or "").strip()
    unit_text = str(unit or "").strip()
    try:
        parsed = parse_year(year_text) if year_text else None
        if unit_text and parse_unit(unit_text).dimension != MONEY:
            raise ParseError(
                f"{unit_text!r} is not a money unit",
                message_zh=f"“{unit_text}”不是货币单位",
            )
    except ParseError as exc:
        return None, t("bad_option", lang, why=exc.text(lang))
    return ReadOptions(year=parsed, unit=unit_text), ""


def _overrides(labels: list[str], fields: list[str | None]) -> dict[str, dict]:
    return {
        label: {"field": None if not f or f == "__none__" else f}
        for label, f in zip(labels, fields, strict=False)
    }


def _get_store(get_store: Any) -> Any:
    return get_store() if callable(get_store) and not hasattr(get_store, "engine") else get_store


def check_file(
    file: dict | None,
    labels: list[str],
    fields: list[str | None],
    token: str | None,
    lang: str,
    get_store: Any,
    *,
    confirm: bool = False,
    resolver: Any = None,
    auth: Any = None,
    year: object = None,
    unit: object = None,
) -> dict[str, Any]:
    """Dry-run (or, with confirm, really import) the uploaded file with the chosen mapping
    (and the year and money unit given for rows and columns that state none).

    With TWINNING_IMPORT_CHILD (the default) the run is a child process under the import
    limits (``twinning.imports.jobs``): a file that needs more memory or time than they
    allow fails alone, with a message naming the limit; the store is as before, the
    progress file and the upload are removed. ``resolver`` is a resolve function (run here,
    in this process) or "module:function" naming a function that returns one.
    """
    user, why = _may_import(token, lang, auth)
    if user is None:
        return {"ok": False, "message": why, "problems": [], "result": None}
    options, bad = read_options(year, unit, lang)
    if options is None:
        return {"ok": False, "message": bad, "problems": [], "result": None}
    path = _incoming_path((file or {}).get("id", ""))
    if path is None or not path.exists():
        return {"ok": False, "message": t("no_file", lang), "problems": [], "result": None}
    file_id = path.name
    phase = "import" if confirm else "check"
    total = estimate_rows(path)
    writer = ProgressWriter(file_id, phase, total)
    writer.write(0, 0)
    store = _get_store(get_store)
    several = len((file or {}).get("sheets") or []) > 1
    run = {
        "name": file.get("name"),
        "sheet": "all" if several else None,  # every sheet, as `--sheet all`
        "user": user.name,  # the batch records who imported it (and when)
        # column labels carry the mapping key; previous units from the header stay in force
        "overrides": {"columns": _overrides(labels, fields)},
        "dry_run": not confirm,
    }
    url = _child_url(store)
    try:
        if url and not callable(resolver):
            data = _run_in_child(path, url, run, options, resolver, phase, total)
            if data["ok"] and confirm:
                from twinning.query.summary import refresh_snapshot

                refresh_snapshot(store)  # the child does not: see twinning.imports.jobs
        else:
            data = _run_here(path, store, run, options, resolver, writer)
    except ImportRefused as exc:  # the child ran out of memory or time, or died
        if exc.problems[0].code in ("memory_limit", "time_limit"):
            path.unlink(missing_ok=True)  # it would fail the same way again
        problems = [{**p.as_dict(), "file": run["name"] or ""} for p in exc.problems]
        return {
            "ok": False,
            "message": exc.problems[0].text(lang),
            "problems": problems,
            "result": None,
        }
    finally:
        clear_progress(file_id)
    if data["ok"] and confirm:
        msg = t("imported", lang, batch=data["batch_id"], records=data["records"])
        with contextlib.suppress(OSError):
            path.unlink()
    elif data["ok"]:
        msg = t(
            "checked_ok",
            lang,
            rows=data["rows"],
            records=data["records"],
            warnings=data["warnings"],
        )
    else:
        msg = t("checked_bad", lang, errors=data["errors"])
    return {"ok": data["ok"], "message": msg, "problems": data["problems"], "result": data}


def _child_url(store: Any) -> str | None:
    """The store's URL for a child run, or None: run here (TWINNING_IMPORT_CHILD=0, or a
    store in this process's memory that no child can open)."""
    from twinning.imports import jobs

    if not jobs.in_child():
        return None
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
        return None
    return url.render_as_string(hide_password=False)


def _run_in_child(
    path: Path, url: str, run: dict, options: Any, resolver: Any, phase: str, total: Any
) -> dict:
    from dataclasses import asdict

    from twinning.imports import jobs

    request = {
        "job": "import",
        "path": str(path),
        "url": url,
        **run,
        "options": asdict(options),
        "resolver": resolver,
        "progress": {
            "path": str(_progress_path(path.name)),
            "phase": phase,
            "total": total,
            "every": PROGRESS_EVERY_S,
        },
    }
    return jobs.run_job(request)


def _run_here(path: Path, store: Any, run: dict, options: Any, resolver: Any, writer: Any) -> dict:
    from twinning.imports import jobs
    from twinning.imports.keep import run_import

    if isinstance(resolver, str):
        resolver = jobs.resolver_from(resolver)
    result = run_import(path, store, resolver=resolver, progress=writer, options=options, **run)
    return result.as_json()


def confirm_import(
    file, labels, fields, token, lang, get_store, resolver=None, auth=None, year=None, unit=None
) -> dict[str, Any]:
    return check_file(
        file,
        labels,
        fields,
        token,
        lang,
        get_store,
        confirm=True,
        resolver=resolver,
        auth=auth,
        year=year,
        unit=unit,
    )


# Who imported or undid a batch, and from which file: shown to signed-in users only.
PRIVATE_BATCH_COLUMNS = ("file_name", "user", "undone_by")


def batches_rows(get_store: Any, token: object = None, auth: Any = None) -> list[dict]:
    """The batches for the page's list; user and file names only for a signed-in user."""
    from twinning.imports.keep import list_batches

    rows = list_batches(_get_store(get_store))
    signed_in = token_user(token, auth) is not None
    return [
        {
            k: ""
            if r.get(k) is None or (k in PRIVATE_BATCH_COLUMNS and not signed_in)
            else str(r.get(k))
            for k in BATCH_COLUMNS
        }
        for r in rows
    ]


def _batch_owner(store: Any, batch: int) -> str | None:
    from sqlalchemy import select

    from twinning.store.schema import batches

    with store.engine.connect() as conn:
        return conn.execute(select(batches.c.user).where(batches.c.id == batch)).scalar()


def undo(batch_id: Any, token: str | None, lang: str, get_store: Any, auth: Any = None) -> str:
    """Undo a batch: an importer its own batches, an admin any. Records who and when."""
    from twinning.imports.keep import UndoError, undo_batch

    user, why = _may_import(token, lang, auth)
    if user is None:
        return why
    try:
        batch = int(batch_id)
    except (TypeError, ValueError, OverflowError):
        return t("no_file", lang)
    store = _get_store(get_store)
    if not user.can("admin"):
        owner = _batch_owner(store, batch)
        if owner is not None and owner != user.name:
            return t("undo_not_yours", lang, batch=batch, owner=owner)
    try:
        undo_batch(store, batch, user.name)
    except UndoError as exc:
        return exc.text(lang)
    return t("undone", lang, batch=batch)


# --- layout ---------------------------------------------------------------------------------

_CARD = {
    "border": "1px solid #ddd",
    "borderRadius": "6px",
    "padding": "12px 16px",
    "margin": "12px 0",
    "background": "#fff",
}


# Tables on this page are small (a preview, one report, the batches): the grid holds
# their rows in the browser, sorts and filters there, and grows to fit its page.
_GRID_OPTIONS = {"domLayout": "autoHeight", "tooltipShowDelay": 400}


def _grid_columns(columns: list[dict[str, str]]) -> list[dict[str, str]]:
    """dash-ag-grid column definitions from ``[{"id": ..., "name": ...}]``."""
    return [{"field": c["id"], "headerName": c["name"]} for c in columns]


def _report_table(lang: str) -> dag.AgGrid:
    def level_is(severity: str) -> str:
        label = json.dumps(_severity_label(severity, lang), ensure_ascii=False)
        return f"params.data.level === {label}"

    return dag.AgGrid(
        id="imp-report-table",
        columnDefs=_grid_columns(
            [{"id": c, "name": t(f"col_{c}", lang)} for c in REPORT_TABLE_COLUMNS]
        ),
        rowData=[],
        defaultColDef={
            "sortable": True,
            "filter": True,
            "floatingFilter": True,
            "resizable": True,
            "wrapText": True,
            "autoHeight": True,
        },
        getRowStyle={
            "styleConditions": [
                {"condition": level_is("error"), "style": {"backgroundColor": "#fde8e8"}},
                {"condition": level_is("warning"), "style": {"backgroundColor": "#fff7e0"}},
            ]
        },
        dashGridOptions={
            **_GRID_OPTIONS,
            "pagination": True,
            "paginationPageSize": 20,
            "localeText": grid_locale(lang),
        },
        style={"width": "100%"},
    )


def layout(lang: str = "zh") -> html.Div:
    """The page, in ``lang``. Rendered by the app at /import."""
    mb = settings.get_int("TWINNING_MAX_UPLOAD_MB")
    return html.Div(
        id="import-page",
        style={"maxWidth": "1100px", "margin": "0 auto", "padding": "8px 16px"},
        children=[
            dcc.Store(id="imp-lang", data=lang),
            # who is signed in, for the page only: the session itself is an HttpOnly cookie
            dcc.Store(id="imp-who"),
            dcc.Store(id="imp-file"),
            html.H2(t("title", lang)),
            html.P(t("intro", lang)),
            html.P(
                [
                    html.Button(
                        t("template", lang),
                        id="imp-template-btn",
                        n_clicks=0,
                        className="button ghost",
                    ),
                    html.Span(
                        " " + t("template_cli", lang),
                        style={"color": "#666", "fontSize": "13px", "marginLeft": "8px"},
                    ),
                    dcc.Download(id="imp-template"),
                ]
            ),
            html.Div(
                style=_CARD,
                children=[
                    html.H4(t("signin", lang)),
                    html.P(t("signin_needed", lang), style={"fontSize": "13px"}),
                    html.Label(t("user", lang), htmlFor="imp-user", className="sr-only"),
                    dcc.Input(
                        id="imp-user",
                        placeholder=t("user", lang),
                        type="text",
                        style={"marginRight": "8px"},
                    ),
                    html.Label(t("password", lang), htmlFor="imp-password", className="sr-only"),
                    dcc.Input(
                        id="imp-password",
                        placeholder=t("password", lang),
                        type="password",
                        style={"marginRight": "8px"},
                    ),
                    html.Button(
                        t("signin", lang), id="imp-signin-btn", n_clicks=0, className="button"
                    ),
                    html.Button(
                        t("signout", lang),
                        id="imp-signout-btn",
                        n_clicks=0,
                        className="button ghost",
                        style={"marginLeft": "8px"},
                    ),
                    html.Div(id="imp-signin-status", style={"marginTop": "6px"}),
                ],
            ),
            html.Div(
                style=_CARD,
                children=[
                    # names the drop zone's file input (assets/a11y.js, #13)
                    html.Label(
                        i18n.t("a11y.upload_label", lang), htmlFor="imp-upload", className="sr-only"
                    ),
                    dcc.Upload(
                        id="imp-upload",
                        children=html.Div(
                            [t("drop", lang), html.Br(), html.Small(t("limit", lang, mb=mb))]
                        ),
                        # twice the limit: a file a little too big reaches the server, which
                        # says why it is refused; a huge one is stopped in the browser
                        max_size=2 * mb * 1024 * 1024,
                        accept=".csv,.xlsx,.txt",
                        style={
                            "border": "2px dashed #999",
                            "borderRadius": "6px",
                            "padding": "24px",
                            "textAlign": "center",
                            "cursor": "pointer",
                        },
                    ),
                    html.Div(id="imp-upload-status", style={"marginTop": "6px"}),
                ],
            ),
            html.Div(
                style=_CARD,
                children=[
                    html.H4(t("preview", lang, n=PREVIEW_ROWS)),
                    # hidden until a file gives it columns: a grid without columns has a
                    # header row without cells (axe: aria-required-children, #13)
                    html.Div(
                        dag.AgGrid(
                            id="imp-preview",
                            rowData=[],
                            columnDefs=[],
                            defaultColDef={"resizable": True, "minWidth": 100},
                            dashGridOptions={**_GRID_OPTIONS, "localeText": grid_locale(lang)},
                            style={"width": "100%"},
                        ),
                        id="imp-preview-box",
                        style={"display": "none"},
                    ),
                    html.H4(t("read_title", lang), style={"marginTop": "12px"}),
                    html.Ul(id="imp-read", style={"fontSize": "13px"}),
                    html.H4(t("mapping", lang), style={"marginTop": "12px"}),
                    html.P(t("mapping_help", lang), style={"fontSize": "13px"}),
                    html.Div(id="imp-mapping"),
                    html.P(t("options_help", lang), style={"fontSize": "13px"}),
                    html.Div(
                        style={"display": "flex", "gap": "12px", "margin": "4px 0 8px"},
                        children=[
                            html.Label(
                                [
                                    t("year_label", lang),
                                    dcc.Input(
                                        id="imp-year",
                                        type="text",
                                        placeholder="2021",
                                        style={"width": "110px", "marginLeft": "6px"},
                                    ),
                                ]
                            ),
                            html.Label(
                                [
                                    t("unit_label", lang),
                                    dcc.Input(
                                        id="imp-unit",
                                        type="text",
                                        placeholder="万元",
                                        style={"width": "90px", "marginLeft": "6px"},
                                    ),
                                ]
                            ),
                        ],
                    ),
                    html.Button(
                        t("check", lang),
                        id="imp-check-btn",
                        n_clicks=0,
                        className="button ghost",
                        style={"marginRight": "8px"},
                    ),
                    html.Button(
                        t("confirm", lang),
                        id="imp-confirm-btn",
                        n_clicks=0,
                        disabled=True,
                        className="button",
                    ),
                    # shown only while a check or import runs (the _check callback's `running`)
                    html.Div(
                        id="imp-progress",
                        className="imp-progress",
                        role="status",
                        style={"display": "none"},
                        children=[
                            html.Progress(id="imp-progress-bar", max=1),
                            html.Div(
                                t("progress_preparing", lang),
                                id="imp-progress-text",
                                className="imp-progress-text",
                            ),
                        ],
                    ),
                    dcc.Interval(id="imp-progress-tick", interval=PROGRESS_POLL_MS, disabled=True),
                ],
            ),
            html.Div(
                style=_CARD,
                children=[
                    html.H4(t("report", lang)),
                    dcc.Loading(html.Div(id="imp-result-status")),
                    html.Pre(id="imp-totals", style={"fontSize": "13px"}),
                    _report_table(lang),
                    html.Button(
                        t("download", lang),
                        id="imp-download-btn",
                        n_clicks=0,
                        className="button ghost",
                        style={"marginTop": "8px"},
                    ),
                    dcc.Download(id="imp-download"),
                ],
            ),
            html.Div(
                style=_CARD,
                children=[
                    html.H4(t("batches", lang)),
                    dag.AgGrid(
                        id="imp-batches",
                        rowData=[],
                        columnDefs=_grid_columns(
                            [{"id": c, "name": t(f"col_{c}", lang)} for c in BATCH_COLUMNS]
                        ),
                        defaultColDef={"sortable": True, "resizable": True, "minWidth": 90},
                        dashGridOptions={
                            **_GRID_OPTIONS,
                            "pagination": True,
                            "paginationPageSize": 10,
                            "localeText": grid_locale(lang),
                        },
                        style={"width": "100%"},
                    ),
                    html.Label(t("batch_id", lang), htmlFor="imp-undo-id", className="sr-only"),
                    dcc.Input(
                        id="imp-undo-id",
                        type="number",
                        min=1,
                        placeholder=t("batch_id", lang),
                        style={"marginRight": "8px", "width": "90px"},
                    ),
                    html.Button(
                        t("undo", lang), id="imp-undo-btn", n_clicks=0, className="button ghost"
                    ),
                    html.Div(id="imp-undo-status", style={"marginTop": "6px"}),
                ],
            ),
        ],
    )


def _dom_id(component_id: dict[str, Any]) -> str:
    """The id Dash gives a pattern-matching component in the page (keys sorted, compact
    JSON), so a ``<label for=...>`` can point at it."""
    return json.dumps(dict(sorted(component_id.items())), separators=(",", ":"))


def _mapping_controls(mapping: list[dict], lang: str) -> list:
    opts = _field_options(lang)
    return [
        html.Div(
            style={"display": "flex", "alignItems": "center", "margin": "4px 0"},
            children=[
                # the column's header labels its field menu (assets/a11y.js names the menu)
                html.Label(
                    m["label"],
                    id={"type": "imp-map-label", "index": m["index"]},
                    htmlFor=_dom_id({"type": "imp-map", "index": m["index"]}),
                    style={"width": "260px", "fontFamily": "monospace"},
                ),
                dcc.Dropdown(
                    id={"type": "imp-map", "index": m["index"]},
                    options=opts,
                    value=m["field"],
                    clearable=False,
                    style={"width": "360px"},
                ),
            ],
        )
        for m in mapping
    ]


def _totals_text(result: dict | None, lang: str = "en") -> str:
    """One line per metric; in Chinese with the metric's and unit's Chinese names."""
    if not result or not result.get("totals"):
        return ""
    lines = []
    for k, v in result["totals"].items():
        value = f"{v['value']:,}" if isinstance(v["value"], int | float) else f"{v['value']}"
        if lang == "zh":
            metric = k.split(" [")[0]  # "metric [unit]" when one metric has two units
            label = i18n.metric_label(metric, "zh")
            lines.append(f"{label}（{k}）：{value} {i18n.unit_label(v['unit'], 'zh')}")
        else:
            lines.append(f"{k}: {value} {v['unit']}")
    return "\n".join(lines)


def template_download(lang: str) -> dict:
    """The bilingual template as a dcc.Download payload (same file as `twinning template`)."""
    import tempfile

    from twinning.imports.template import write_template

    name = t("template_file", lang)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(Path(tmp) / "template.xlsx")
        return dcc.send_bytes(path.read_bytes(), name)


def register_callbacks(app: Any, get_store: Any) -> None:
    """Wire the page. ``get_store`` is a Store or a function returning one.

    Sessions live in that store's database. Every callback reads the session token from the
    request's HttpOnly cookie (``components.security``), never from the page: ``imp-who``
    only tells the page who is signed in, and nothing on the server trusts it.
    """
    from components import security
    from twinning.auth import Auth

    def auth() -> Any:
        return Auth.for_store(_get_store(get_store))

    def token() -> str | None:
        return security.cookie_token()

    @app.callback(
        Output("imp-template", "data"),
        Input("imp-template-btn", "n_clicks"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def download_template(_n, lang):  # viewing, not changing: no sign-in needed
        return template_download(lang or "zh")

    @app.callback(
        Output("imp-who", "data"),
        Output("imp-signin-status", "children"),
        Output("imp-password", "value"),
        Input("imp-signin-btn", "n_clicks"),
        Input("imp-signout-btn", "n_clicks"),
        State("imp-user", "value"),
        State("imp-password", "value"),
        State("imp-lang", "data"),
        prevent_initial_call=False,
    )
    def _sign_in(_n_in, _n_out, user, password, lang):
        from dash import ctx

        lang = lang or "zh"
        if ctx.triggered_id == "imp-signout-btn":
            message = sign_out(token(), lang, auth())
            security.clear_session_cookie(ctx.response)
            return None, message, ""
        if ctx.triggered_id != "imp-signin-btn":  # the page loads: who is signed in?
            who = session_user(token(), auth())
            if who is None:
                return None, "", no_update
            return {"user": who.name, "role": who.role}, t("signed_in", lang, user=who.name), ""
        new_token, message = sign_in(user, password, lang, auth(), security.client_address())
        if not new_token:
            return no_update, message, ""
        auth().end_session(token())  # a new sign-in replaces the browser's old session
        security.set_session_cookie(ctx.response, new_token)
        who = auth().session_user(new_token)
        return {"user": who.name, "role": who.role}, message, ""

    @app.callback(
        Output("imp-file", "data"),
        Output("imp-preview", "rowData"),
        Output("imp-preview", "columnDefs"),
        Output("imp-mapping", "children"),
        Output("imp-upload-status", "children"),
        Output("imp-report-table", "rowData", allow_duplicate=True),
        Output("imp-confirm-btn", "disabled", allow_duplicate=True),
        Output("imp-preview-box", "style"),
        Output("imp-read", "children"),
        Input("imp-upload", "contents"),
        State("imp-upload", "filename"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def _upload(contents, filename, lang):
        out = receive_upload(contents, filename, token(), lang, auth())
        name = (out["file"] or {}).get("name", "")
        size = f"{out['file']['size']:,}" if out["file"] else ""
        status = out["message"] or (t("bytes", lang, name=name, size=size) if out["file"] else "")
        return (
            out["file"],
            out["preview"],
            _grid_columns(out["columns"]),
            _mapping_controls(out["mapping"], lang),
            status,
            _report_rows(out["problems"], lang),
            True,
            {"display": "block" if out["columns"] else "none"},
            [html.Li(line) for line in read_lines(out["read"], lang)],
        )

    @app.callback(
        Output("imp-result-status", "children"),
        Output("imp-report-table", "rowData"),
        Output("imp-totals", "children"),
        Output("imp-confirm-btn", "disabled"),
        Output("imp-batches", "rowData"),
        # back to "preparing…" for the next run (the area is hidden by then)
        Output("imp-progress-bar", "value", allow_duplicate=True),
        Output("imp-progress-text", "children", allow_duplicate=True),
        Output("imp-read", "children", allow_duplicate=True),
        Input("imp-check-btn", "n_clicks"),
        Input("imp-confirm-btn", "n_clicks"),
        State("imp-file", "data"),
        State({"type": "imp-map-label", "index": ALL}, "children"),
        State({"type": "imp-map", "index": ALL}, "value"),
        State("imp-lang", "data"),
        State("imp-year", "value"),
        State("imp-unit", "value"),
        prevent_initial_call=True,
        running=[
            (Output("imp-check-btn", "disabled"), True, False),
            (Output("imp-progress-tick", "disabled"), False, True),
            (Output("imp-progress", "style"), {"display": "block"}, {"display": "none"}),
        ],
    )
    def _check(_n_check, _n_confirm, file, labels, fields, lang, year=None, unit=None):
        from dash import ctx

        confirm = ctx.triggered_id == "imp-confirm-btn"
        session = token()
        res = check_file(
            file,
            labels or [],
            fields or [],
            session,
            lang,
            get_store,
            confirm=confirm,
            auth=auth(),
            year=year,
            unit=unit,
        )
        result = res["result"] or {}
        read = [
            html.Li(line)
            for line in read_lines(result.get("read"), lang, result.get("skipped_rows"))
        ]
        can_confirm = bool(res["ok"] and not confirm)
        done = confirm and res["ok"]
        batches = batches_rows(get_store, session, auth()) if done else no_update
        return (
            res["message"],
            _report_rows(res["problems"], lang),
            _totals_text(res["result"], lang),
            not can_confirm,
            batches,
            None,
            t("progress_preparing", lang),
            read if result.get("read") else no_update,
        )

    @app.callback(
        Output("imp-progress-bar", "value"),
        Output("imp-progress-bar", "max"),
        Output("imp-progress-text", "children"),
        Input("imp-progress-tick", "n_intervals"),
        State("imp-file", "data"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def _progress(_n, file, lang):  # polled only while _check runs
        return progress_view(file, token(), lang or "zh", auth())

    @app.callback(
        Output("imp-download", "data"),
        Input("imp-download-btn", "n_clicks"),
        State("imp-report-table", "rowData"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def _download(_n, rows, lang):
        return report_download(rows, lang or "zh")

    @app.callback(
        Output("imp-undo-status", "children"),
        Output("imp-batches", "rowData", allow_duplicate=True),
        Input("imp-undo-btn", "n_clicks"),
        State("imp-undo-id", "value"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def _undo(_n, batch_id, lang):
        session = token()
        message = undo(batch_id, session, lang, get_store, auth())
        return message, batches_rows(get_store, session, auth())

    @app.callback(
        Output("imp-batches", "rowData", allow_duplicate=True),
        Input("imp-lang", "data"),
        Input("imp-who", "data"),  # signing in or out shows or hides who imported what
        prevent_initial_call="initial_duplicate",
    )
    def _list(_lang, _who):
        return batches_rows(get_store, token(), auth())
