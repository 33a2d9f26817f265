"""Progress of a running check or import, kept in a small JSON file.

``run_import`` reports (rows checked, records stored) through a callback; this module
turns those calls into a progress file that another process can read (under gunicorn
the page's poll may reach another worker), and estimates cheaply how many data rows a
file holds so the count can be shown as a share.

A run that dies without its ``finally`` (a worker killed, a power cut) leaves its progress
file behind. Each record names its writer (process id and machine), so a record whose
process is gone is stale: ``read_progress`` drops it, and the next run's writer sweeps the
folder of such files (``sweep_stale``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import socket
import threading
import time
from pathlib import Path

EVERY_S = 0.25  # at most 4 writes a second
# A record written on another machine (a shared folder), or without a writer, is stale
# when it was not updated for this long.
STALE_AFTER_S = 3600.0


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*\d+(?::[A-Z]*(\d+))?\"")


def _xlsx_last_row(path: str) -> int | None:
    """Rows in the first worksheet (the one the reader opens) without loading the workbook.

    The sheet's saved dimension (Excel, WPS and most writers save one) when it says more
    than A1; else its <row> elements counted in the streamed XML.
    """
    from openpyxl.reader.excel import ExcelReader

    reader = ExcelReader(path, read_only=True)
    try:
        reader.read_manifest()
        reader.read_workbook()  # workbook.xml and its relations: small, no shared strings
        member = next(
            rel.target
            for _sheet, rel in reader.parser.find_sheets()
            if rel.Type.endswith("/worksheet")
        )
        with reader.archive.open(member.lstrip("/")) as fh:
            head = fh.read(1 << 16)
            found = _DIMENSION.search(head)
            if found and found.group(1) and int(found.group(1)) > 1:
                return int(found.group(1))
            tag, rows, data = b"<row ", 0, head
            while data:
                rows += data.count(tag)
                tail = data[-(len(tag) - 1) :]
                chunk = fh.read(1 << 20)
                data = tail + chunk if chunk else b""
            return rows or None
    finally:
        reader.archive.close()


@functools.lru_cache(maxsize=32)
def _estimate_rows(path: str, _size: int, _mtime_ns: int) -> int | None:
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"PK\x03\x04"):
        rows = _xlsx_last_row(path)
        return rows - 1 if rows and rows > 1 else None
    if magic.startswith(b"\xd0\xcf\x11\xe0"):  # old .xls: refused by the reader anyway
        return None
    newline = b"\n"
    if magic.startswith(b"\xff\xfe"):
        newline = b"\n\x00"
    elif magic.startswith(b"\xfe\xff"):
        newline = b"\x00\n"
    lines, last = 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):  # even size: keeps utf-16 pairs aligned
            lines += chunk.count(newline)
            last = chunk[-len(newline) :]
    if last and last != newline:
        lines += 1  # no line break after the last row
    return lines - 1 if lines > 1 else None  # minus the header row


def estimate_rows(path: Path) -> int | None:
    """About how many data rows the file holds (line breaks, or the sheet's saved size).

    An estimate: quoted cells with line breaks, title rows, blank and 合计 rows all make
    it a little high; None when it cannot be told cheaply. Cached per file version.
    """
    try:
        st = path.stat()
        return _estimate_rows(str(path), st.st_size, st.st_mtime_ns)
    except Exception:  # never let an estimate stop a check
        return None


def write_progress(path: Path | None, record: dict) -> None:
    """Replace the progress file atomically (temp file + os.replace); never raises."""
    if path is None:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def clear_progress(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def is_stale(record: dict, now: float | None = None) -> bool:
    """True when the record's writer is gone: its process no longer runs on this machine,
    or (written elsewhere) it was not updated for STALE_AFTER_S."""
    pid, host, updated = record.get("pid"), record.get("host"), record.get("updated")
    if isinstance(pid, int) and not isinstance(pid, bool) and host == socket.gethostname():
        return not _alive(pid)
    if isinstance(updated, int | float) and not isinstance(updated, bool):
        return (time.time() if now is None else now) - updated > STALE_AFTER_S
    return False


def sweep_stale(folder: Path) -> list[Path]:
    """Remove the progress files (and half-written temp files) of runs that died; never
    raises. Returns what was removed."""
    removed: list[Path] = []
    try:
        paths = list(folder.glob("*.progress.json")) + list(folder.glob("*.progress.json.*.tmp"))
    except OSError:
        return removed
    for path in paths:
        if path.suffix == ".tmp":
            pid = path.name.rsplit(".", 2)[-2].split("-")[0]
            stale = pid.isdigit() and not _alive(int(pid))
        else:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            stale = isinstance(data, dict) and is_stale(data)
        if stale:
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def read_progress(path: Path | None) -> dict | None:
    """The latest progress record of a running check or import, or None (none, damaged,
    or stale: its writer died, and the file is removed)."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if is_stale(data):
        clear_progress(path)
        return None
    rows, stored = _count(data.get("rows")), _count(data.get("stored"))
    if rows is None or stored is None:
        return None
    updated = data.get("updated")
    return {
        "rows": rows,
        "stored": stored,
        "total": _count(data.get("total")) or None,
        "phase": "import" if data.get("phase") == "import" else "check",
        "updated": updated if isinstance(updated, int | float) else None,
    }


class ProgressWriter:
    """``run_import``'s progress callback: counts to the progress file, at most 4 times a second."""

    def __init__(
        self, path: Path | None, phase: str, total: int | None, every: float = EVERY_S
    ) -> None:
        self.path, self.phase, self.total, self.every = path, phase, total, every
        self.last = float("-inf")
        self.writes = 0
        if path is not None:  # a run starts: clear what dead runs left behind
            sweep_stale(path.parent)

    def write(self, rows: int, stored: int) -> None:
        self.last = time.monotonic()
        self.writes += 1
        write_progress(
            self.path,
            {
                "rows": rows,
                "stored": stored,
                "total": self.total,
                "phase": self.phase,
                "updated": time.time(),
                "pid": os.getpid(),
                "host": socket.gethostname(),
            },
        )

    def __call__(self, rows: int, stored: int) -> None:
        if time.monotonic() - self.last >= self.every:
            self.write(rows, stored)
