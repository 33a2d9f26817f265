"""Opening a user's file: size limit, kind (CSV / xlsx / junk), encoding, streamed rows.

Why strict decode attempts (utf-8-sig, then gb18030) before any guessing: a guess
that is wrong turns 莎车县 into mojibake that then fails place resolution far from
the real cause. Strict attempts either succeed exactly or fail with a byte offset
we can report; charset-normalizer is consulted only to word the error.

Rows are yielded one at a time with the row number the user sees in Excel or an
editor, so a 500,000-row file never sits in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from twinning import i18n, settings
from twinning.imports import guard
from twinning.imports.problems import ERROR, ImportRefused, Problem, texts

ENCODINGS = ("utf-8-sig", "gb18030")
CHUNK = 1 << 20

FIELD_LIMIT = guard.MAX_LINE_CHARS  # one cell; csv's default 128 KB rejects long notes


def _refuse(file: str, code: str, **kw) -> ImportRefused:
    """One error refusing the file; its words as keywords, ``**texts(...)``."""
    return ImportRefused([Problem(ERROR, code, file=file, **kw)])


def max_upload_bytes() -> int:
    return settings.get_int("TWINNING_MAX_UPLOAD_MB") * 1024 * 1024


def check_size(size: int, name: str) -> None:
    """Refuse a file over TWINNING_MAX_UPLOAD_MB (the CLI and the UI both call this)."""
    limit = max_upload_bytes()
    if size > limit:
        raise _refuse(
            name,
            "too_large",
            **texts(
                "problem.too_large.file",
                "problem.too_large.file.fix",
                mb=size / 1048576,
                limit_mb=limit / 1048576,
            ),
        )


def _strict_decodes(path: Path, encoding: str) -> tuple[bool, int]:
    """Decode the whole file in chunks; return (ok, offset of the first bad byte)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                return False, offset + max(exc.start, 0)
            if final:
                return True, -1
            offset += len(chunk)


def _line_of(path: Path, offset: int) -> int:
    line = 1
    with path.open("rb") as fh:
        remaining = offset
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            line += chunk.count(b"\n")
            remaining -= len(chunk)
    return line


def detect_encoding(path: Path, name: str) -> str:
    """utf-16 by BOM, else the first of utf-8-sig / gb18030 that decodes every byte."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise _refuse(
            name,
            "binary",
            **texts("problem.binary.nul", "problem.binary.nul.fix"),
        )
    first_bad = -1
    for enc in ENCODINGS:
        ok, bad = _strict_decodes(path, enc)
        if ok:
            return enc
        if first_bad < 0:
            first_bad = bad
    guess = {"en": "", "zh": ""}
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(head).best()
        if best is not None:
            guess = {
                lang: i18n.t("problem.encoding.guess", lang, encoding=best.encoding)
                for lang in ("en", "zh")
            }
    except Exception:
        guess = {"en": "", "zh": ""}
    line = _line_of(path, first_bad)
    raise _refuse(
        name,
        "encoding",
        **texts(
            "problem.encoding.unreadable",
            "problem.encoding.unreadable.fix",
            byte=first_bad,
            line=line,
            en={"guess": guess["en"]},
            zh={"guess": guess["zh"]},
        ),
        row=line,
    )


@dataclass
class Source:
    """An opened file: what it is and an iterator of (row number, cells)."""

    name: str
    kind: str  # csv | xlsx
    encoding: str  # "" for xlsx
    sheet: str
    rows: Iterator[tuple[int, list[object]]]
    close: object = None
    merges: list[tuple[int, int, int, int]] | None = None  # xlsx merged ranges, 1-based
    sheets: list[str] | None = None  # every sheet of the workbook, in order


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
MAX_MERGES = 100_000


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def merged_ranges(path: Path, member: str | None) -> list[tuple[int, int, int, int]]:
    """The merged ranges of one sheet, read from its XML (read-only openpyxl has none).

    The sheet's part was already judged by guard.check_workbook; it is scanned in chunks
    for ``<mergeCell ref="A1:C2"/>`` (they sit after the rows).
    """
    if not member:
        return []
    import zipfile

    out: list[tuple[int, int, int, int]] = []
    try:
        with zipfile.ZipFile(path) as zf, zf.open(member.lstrip("/")) as fh:
            tail = b""
            while len(out) < MAX_MERGES:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                data = tail + chunk
                cut = data.rfind(b"<")
                body, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
                for m in _MERGE.finditer(body):
                    c0, r0 = _col_number(m.group(1)), int(m.group(2))
                    c1 = _col_number(m.group(3)) if m.group(3) else c0
                    r1 = int(m.group(4)) if m.group(4) else r0
                    out.append((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)))
            for m in _MERGE.finditer(tail):
                c0, r0 = _col_number(m.group(1)), int(m.group(2))
                c1 = _col_number(m.group(3)) if m.group(3) else c0
                r1 = int(m.group(4)) if m.group(4) else r0
                out.append((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)))
    except (KeyError, OSError, zipfile.BadZipFile):
        return []
    return out[:MAX_MERGES]


def _csv_rows(path: Path, encoding: str, name: str) -> Iterator[tuple[int, list[object]]]:
    csv.field_size_limit(FIELD_LIMIT)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        sample = text.read(65536)
        text.seek(0)
        delimiter = ","
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
        # lines read with a length limit, NUL bytes refused (guard.csv_lines)
        reader = csv.reader(guard.csv_lines(text, name), delimiter=delimiter)
        number = 0
        try:
            for number, row in enumerate(reader, start=1):
                guard.check_csv_row(name, number, row)
                yield number, list(row)
        except csv.Error as exc:
            raise _refuse(
                name,
                "csv",
                **texts(
                    "problem.csv.unreadable", "problem.csv.unreadable.fix", row=number, error=exc
                ),
                row=number + 1,
            ) from None


def _width(ws) -> int:
    """Columns to read: the sheet's saved width, or one past the limit (then trimmed)."""
    saved = ws.max_column
    return saved if saved and saved <= guard.MAX_COLUMNS else guard.MAX_COLUMNS + 1


def _trimmed(cells: list[object], width: int) -> list[object]:
    if width > guard.MAX_COLUMNS:  # read one past the limit: drop the padding
        while cells and cells[-1] is None:
            cells.pop()
    return cells


def _xlsx_rows(wb, ws, formulas=None, name: str = "") -> Iterator[tuple[int, list[object]]]:
    """Cached values; where a formula has no saved value, the formula text instead.

    A workbook written by a script (not saved by Excel) keeps formulas without their
    results. Reading those cells as blank would drop figures silently; the formula
    text makes the row fail with a visible 'not a number' instead.

    At most MAX_COLUMNS + 1 columns are read (openpyxl pads a row to its last cell's
    column, up to 16,384); a value beyond the limit, or a row beyond Excel's last, stops
    the reading with a message, and so does XML that breaks while being read.
    """
    number = 0
    width = _width(ws)
    try:
        values = ws.iter_rows(max_col=width, values_only=True)
        if formulas is None:
            for number, row in enumerate(values, start=1):
                guard.check_sheet_row(name, ws.title, number, row)
                yield number, _trimmed(list(row), width)
            return
        frows = formulas.iter_rows(max_col=width, values_only=True)
        for number, (row, frow) in enumerate(zip(values, frows, strict=False), start=1):
            guard.check_sheet_row(name, ws.title, number, row)
            cells = list(row)
            for i, f in enumerate(frow):
                if i < len(cells) and cells[i] is None and isinstance(f, str) and f[:1] == "=":
                    cells[i] = f
            yield number, _trimmed(cells, width)
    except guard.xlsx_errors() as exc:
        raise guard.bad_sheet(name, number, exc) from None
    finally:
        wb.close()
        if formulas is not None:
            formulas.parent.close()


def open_source(path: str | Path, name: str | None = None, sheet: str | None = None) -> Source:
    """Open a CSV or xlsx file for streaming. Raises ImportRefused with a clear problem."""
    path = Path(path)
    name = name or path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _refuse(
            name,
            "not_found",
            **texts("problem.not_found.file", "problem.not_found.file.fix", path=path),
        ) from None
    check_size(size, name)
    if size == 0:
        raise _refuse(
            name,
            "empty",
            **texts("problem.empty.file", "problem.empty.file.fix"),
        )
    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(
            name,
            "xls",
            **texts("problem.xls.old", "problem.xls.old.fix"),
        )
    guard.check_kind(name, magic)  # a zip named .csv
    if magic.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, name, sheet)
    if sheet:
        raise _refuse(
            name,
            "sheet",
            **texts("problem.sheet.csv", "problem.sheet.csv.fix", sheet=sheet),
        )
    encoding = detect_encoding(path, name)
    guard.check_text(path, name, encoding)  # NUL bytes, long lines, line count: before parsing
    return Source(name, "csv", encoding, "", _csv_rows(path, encoding, name))


def _open_xlsx(path: Path, name: str, sheet: str | None) -> Source:
    import openpyxl

    book = guard.check_workbook(path, name)  # the zip directory and every part, as bytes
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except guard.xlsx_errors() as exc:
        raise _refuse(
            name,
            "bad_xlsx",
            **texts("problem.bad_xlsx.unopened", "problem.bad_xlsx.unopened.fix", error=exc),
        ) from None
    names = wb.sheetnames
    if sheet is not None:
        if sheet not in names:
            wb.close()
            raise _refuse(
                name,
                "sheet",
                **texts(
                    "problem.sheet.no_such", "problem.sheet.no_such.fix", sheet=sheet, names=names
                ),
            )
        ws = wb[sheet]
    else:
        ws = wb.worksheets[0]
    formulas = None
    member = getattr(ws, "_worksheet_path", None)
    if member and (book is None or book.has_formulas(member)):
        fwb = openpyxl.load_workbook(path, read_only=True, data_only=False)
        formulas = fwb[ws.title]
    source = Source(name, "xlsx", "", ws.title, _xlsx_rows(wb, ws, formulas, name), wb.close)
    source.merges = merged_ranges(path, member)
    source.sheets = list(names)
    return source


def file_size(path: str | Path) -> int:
    return os.stat(path).st_size
