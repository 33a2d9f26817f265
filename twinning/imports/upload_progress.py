"""Progress of a check or import of one upload, as the import page shows it.

While a run works on an upload, its counts go to ``<hex id>.progress.json`` next to the
upload, and the page polls that file: a file, not process memory, because under gunicorn
the poll may reach another worker process. The file's format, its writer and the row
estimate are ``twinning.imports.progress``; this module names the file from a validated
upload id (never from anything else a request sends) and says what a poll shows: a bar's
value and maximum and one line of words. No dash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twinning import i18n
from twinning.imports import progress
from twinning.imports.signin import token_user
from twinning.imports.uploads import incoming_path


def progress_path(file_id: object) -> Path | None:
    """The progress file of an upload, or None: named only from a validated upload id."""
    path = incoming_path(file_id)  # type: ignore[arg-type]  # checks the type
    if path is None:
        return None
    return path.with_name(f"{path.stem}.progress.json")


def write_progress(file_id: str, record: dict) -> None:
    """Replace the progress file of an upload (nothing for a bad id); never raises."""
    progress.write_progress(progress_path(file_id), record)


def clear_progress(file_id: str) -> None:
    """Remove the progress file of an upload, if there is one."""
    progress.clear_progress(progress_path(file_id))


def read_progress(file_id: object) -> dict | None:
    """The latest progress record of a run on this upload, or None (no run, bad id)."""
    return progress.read_progress(progress_path(file_id))


class ProgressWriter(progress.ProgressWriter):
    """The progress writer of one upload, named only from its validated id; it writes at
    most every ``every`` seconds (default ``progress.EVERY_S``)."""

    def __init__(
        self, file_id: str, phase: str, total: int | None, every: float | None = None
    ) -> None:
        every = progress.EVERY_S if every is None else every
        super().__init__(progress_path(file_id), phase, total, every)


def progress_text(record: dict | None, lang: str) -> str:
    """One line for the page: rows read (of about how many) and, importing, records written."""
    if not record:
        return i18n.t("import.progress_preparing", lang)
    rows, stored, total = record.get("rows", 0), record.get("stored", 0), record.get("total")
    has_total = bool(total) and rows <= total  # past the estimate: show the count only
    counts = {"rows": f"{rows:,}", "stored": f"{stored:,}", "total": f"{total or 0:,}"}
    if record.get("phase") == "import":
        return i18n.t(
            "import.progress_import_of" if has_total else "import.progress_import", lang, **counts
        )
    return i18n.t(
        "import.progress_check_of" if has_total else "import.progress_check", lang, **counts
    )


def progress_bar(record: dict | None) -> tuple[int | None, int]:
    """(value, max) for html.Progress; value None makes the bar indeterminate."""
    if not record or not record.get("total"):
        return None, 1
    total = record["total"]
    return min(record.get("rows", 0), total), total


def progress_view(
    file: dict | None, token: str | None, lang: str, auth: Any = None
) -> tuple[int | None, int, str]:
    """What one poll shows: (bar value, bar max, text). Signed-in users only."""
    record = read_progress((file or {}).get("id")) if token_user(token, auth) else None
    return (*progress_bar(record), progress_text(record, lang))
