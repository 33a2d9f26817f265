"""The import page's uploads: the folder that keeps them, and what a new one holds.

A file dropped on the page arrives as a base64 data URL. ``receive_upload`` checks the
session, decodes the file into ``<TWINNING_UPLOAD_DIR>/incoming/<32 hex>.<suffix>`` (the
size checked before and after decoding, written whole or not at all) and describes it:
preview rows, the automatic mapping of its columns, how its header was read, problems.
The page refers to an upload by that id alone; ``incoming_path`` accepts nothing else, so
no name from a request reaches the file system. No dash.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from pathlib import Path
from typing import Any

from twinning import settings
from twinning.imports.problems import ImportRefused, log_internal, pick
from twinning.imports.signin import may_import

PREVIEW_ROWS = 10
FILE_ID = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx|txt|xls|bin)$")
# The mapping's value for a column read as no field (the page's "ignore").
NO_FIELD = "__none__"


def incoming_dir() -> Path:
    """The folder of the uploads (TWINNING_UPLOAD_DIR/incoming)."""
    return Path(settings.get("TWINNING_UPLOAD_DIR")) / "incoming"


def incoming_path(file_id: str) -> Path | None:
    """The path of an upload from its id, or None when ``file_id`` is not an upload's id."""
    if not isinstance(file_id, str) or not FILE_ID.match(file_id):
        return None
    return incoming_dir() / file_id


def sweep_incoming(max_age_s: float = 24 * 3600) -> None:
    """Remove the uploads (and files beside them) older than ``max_age_s``."""
    folder = incoming_dir()
    if not folder.exists():
        return
    cutoff = time.time() - max_age_s
    for p in folder.iterdir():
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def store_upload(contents: str, filename: str) -> tuple[str, int]:
    """Decode a dcc.Upload payload to var/uploads/incoming; refuse oversize before decoding.

    Returns (upload id, size in bytes); raises ``ImportRefused``."""
    from twinning.imports.read import check_size

    _, _, b64 = contents.partition(",")
    estimated = len(b64) * 3 // 4
    check_size(estimated, filename)
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        from twinning.imports.problems import ERROR, Problem, texts

        raise ImportRefused(
            [
                Problem(
                    ERROR,
                    "upload",
                    file=filename,
                    **texts("problem.upload.damaged", "problem.upload.damaged.fix"),
                )
            ]
        ) from None
    check_size(len(data), filename)
    suffix = Path(filename).suffix.lower().lstrip(".")
    suffix = suffix if suffix in ("csv", "xlsx", "txt", "xls") else "bin"
    file_id = f"{uuid.uuid4().hex}.{suffix}"
    from twinning.imports.guard import write_file

    write_file(incoming_dir() / file_id, data, filename)  # whole or not at all (a full disk)
    sweep_incoming()
    return file_id, len(data)


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

    Returns a plain dict the page's callback spreads over its outputs (tests read it
    directly): ``file`` (id, name, size, sheets), ``preview``, ``columns``, ``mapping``,
    ``problems``, ``message`` and ``read`` (how the header was read).
    """
    from twinning.imports.problems import Problem, texts

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
    user, why = may_import(token, lang, auth)
    if user is None:
        out["message"] = why
        return out
    try:
        file_id, size = store_upload(contents, filename)
    except ImportRefused as exc:
        out["problems"] = [p.as_dict() for p in exc.problems]
        out["message"] = exc.problems[0].text(lang)
        return out
    path = incoming_path(file_id)
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
            file=filename,
            **texts("problem.internal.preview", "problem.internal.preview.fix"),
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
            "field": c["field"] or NO_FIELD,
            "unit": c["unit"],
        }
        for c in cols
    ]
    return out
