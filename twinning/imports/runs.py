"""The import page's runs: check or import an upload, undo a batch, list the batches.

``check_file`` dry-runs (or, with ``confirm``, really imports) an upload with the mapping
and the year and money unit chosen on the page; with TWINNING_IMPORT_CHILD (the default)
in a child process under the import limits (``twinning.imports.jobs``), else here. Its
counts go to the upload's progress file (``upload_progress``) while it runs. ``undo`` lets
an importer undo its own batches and an admin any; ``batches_rows`` shows who imported
what to signed-in users only. Each checks the session (``signin.may_import``) before it
changes anything. No dash.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from twinning import i18n
from twinning.imports.problems import ImportRefused
from twinning.imports.progress import estimate_rows
from twinning.imports.signin import may_import, token_user
from twinning.imports.upload_progress import ProgressWriter, clear_progress, progress_path
from twinning.imports.uploads import NO_FIELD, incoming_path

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
# Who imported or undid a batch, and from which file: shown to signed-in users only.
PRIVATE_BATCH_COLUMNS = ("file_name", "user", "undone_by")


def store_of(get_store: Any) -> Any:
    """The store of ``get_store``: a Store, or a function returning one."""
    return get_store() if callable(get_store) and not hasattr(get_store, "engine") else get_store


def read_options(year: object, unit: object, lang: str) -> tuple[Any, str]:
    """The page's 年度 / 单位 boxes as ``ReadOptions``; (None, message) when not readable."""
    from twinning.imports.problems import ParseError, texts
    from twinning.imports.units import MONEY, parse_unit
    from twinning.imports.validate import ReadOptions, parse_year

    year_text = str(year or "").strip()
    unit_text = str(unit or "").strip()
    try:
        parsed = parse_year(year_text) if year_text else None
        if unit_text and parse_unit(unit_text).dimension != MONEY:
            raise ParseError(**texts("problem.bad_unit.not_money", unit=unit_text))
    except ParseError as exc:
        return None, i18n.t("import.bad_option", lang, why=exc.text(lang))
    return ReadOptions(year=parsed, unit=unit_text), ""


def column_overrides(labels: list[str], fields: list[str | None]) -> dict[str, dict]:
    """The page's mapping (column labels and the fields chosen for them) as overrides."""
    return {
        label: {"field": None if not f or f == NO_FIELD else f}
        for label, f in zip(labels, fields, strict=False)
    }


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
    every: float | None = None,
) -> dict[str, Any]:
    """Dry-run (or, with confirm, really import) the uploaded file with the chosen mapping
    (and the year and money unit given for rows and columns that state none).

    With TWINNING_IMPORT_CHILD (the default) the run is a child process under the import
    limits (``twinning.imports.jobs``): a file that needs more memory or time than they
    allow fails alone, with a message naming the limit; the store is as before, the
    progress file and the upload are removed. ``resolver`` is a resolve function (run here,
    in this process) or "module:function" naming a function that returns one. Progress is
    written at most every ``every`` seconds (default ``progress.EVERY_S``).

    Returns ``{"ok", "message", "problems", "result"}`` (``result``: the run's summary).
    """
    user, why = may_import(token, lang, auth)
    if user is None:
        return {"ok": False, "message": why, "problems": [], "result": None}
    options, bad = read_options(year, unit, lang)
    if options is None:
        return {"ok": False, "message": bad, "problems": [], "result": None}
    path = incoming_path((file or {}).get("id", ""))
    if path is None or not path.exists():
        no_file = i18n.t("import.no_file", lang)
        return {"ok": False, "message": no_file, "problems": [], "result": None}
    file_id = path.name
    phase = "import" if confirm else "check"
    total = estimate_rows(path)
    writer = ProgressWriter(file_id, phase, total, every)
    writer.write(0, 0)
    store = store_of(get_store)
    several = len((file or {}).get("sheets") or []) > 1
    run = {
        "name": file.get("name"),
        "sheet": "all" if several else None,  # every sheet, as `--sheet all`
        "user": user.name,  # the batch records who imported it (and when)
        # column labels carry the mapping key; previous units from the header stay in force
        "overrides": {"columns": column_overrides(labels, fields)},
        "dry_run": not confirm,
    }
    url = child_url(store)
    try:
        if url and not callable(resolver):
            data = run_in_child(path, url, run, options, resolver, phase, total, writer.every)
            if data["ok"] and confirm:
                from twinning.query.summary import refresh_snapshot

                refresh_snapshot(store)  # the child does not: see twinning.imports.jobs
        else:
            data = run_here(path, store, run, options, resolver, writer)
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
        msg = i18n.t("import.imported", lang, batch=data["batch_id"], records=data["records"])
        with contextlib.suppress(OSError):
            path.unlink()
    elif data["ok"]:
        msg = i18n.t(
            "import.checked_ok",
            lang,
            rows=data["rows"],
            records=data["records"],
            warnings=data["warnings"],
        )
    else:
        msg = i18n.t("import.checked_bad", lang, errors=data["errors"])
    return {"ok": data["ok"], "message": msg, "problems": data["problems"], "result": data}


def child_url(store: Any) -> str | None:
    """The store's URL for a child run, or None: run here (TWINNING_IMPORT_CHILD=0, or a
    store in this process's memory that no child can open)."""
    from twinning.imports import jobs

    if not jobs.in_child():
        return None
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
        return None
    return url.render_as_string(hide_password=False)


def run_in_child(
    path: Path,
    url: str,
    run: dict,
    options: Any,
    resolver: Any,
    phase: str,
    total: Any,
    every: float,
) -> dict:
    """The run in a child process under the import limits; its summary as JSON."""
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
            "path": str(progress_path(path.name)),
            "phase": phase,
            "total": total,
            "every": every,
        },
    }
    return jobs.run_job(request)


def run_here(path: Path, store: Any, run: dict, options: Any, resolver: Any, writer: Any) -> dict:
    """The run in this process (``keep.run_import``); its summary as JSON."""
    from twinning.imports import jobs
    from twinning.imports.keep import run_import

    if isinstance(resolver, str):
        resolver = jobs.resolver_from(resolver)
    result = run_import(path, store, resolver=resolver, progress=writer, options=options, **run)
    return result.as_json()


def batches_rows(get_store: Any, token: object = None, auth: Any = None) -> list[dict]:
    """The batches for the page's list; user and file names only for a signed-in user."""
    from twinning.imports.keep import list_batches

    rows = list_batches(store_of(get_store))
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


def batch_owner(store: Any, batch: int) -> str | None:
    """Who imported a batch (None: no such batch, or no name kept)."""
    from sqlalchemy import select

    from twinning.store.schema import batches

    with store.engine.connect() as conn:
        return conn.execute(select(batches.c.user).where(batches.c.id == batch)).scalar()


def undo(batch_id: Any, token: str | None, lang: str, get_store: Any, auth: Any = None) -> str:
    """Undo a batch: an importer its own batches, an admin any. Records who and when."""
    from twinning.imports.keep import UndoError, undo_batch

    user, why = may_import(token, lang, auth)
    if user is None:
        return why
    try:
        batch = int(batch_id)
    except (TypeError, ValueError, OverflowError):
        return i18n.t("import.no_file", lang)
    store = store_of(get_store)
    if not user.can("admin"):
        owner = batch_owner(store, batch)
        if owner is not None and owner != user.name:
            return i18n.t("import.undo_not_yours", lang, batch=batch, owner=owner)
    try:
        undo_batch(store, batch, user.name)
    except UndoError as exc:
        return exc.text(lang)
    return i18n.t("import.undone", lang, batch=batch)
