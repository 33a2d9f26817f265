"""Limits on what an import opens, checked before and while parsing, and the words of faults.

Why before parsing: openpyxl builds a whole ``<row>`` (and a whole styles or merged-cells
element) in memory before it hands anything over, and reads every sheet's size when it
opens a workbook. A 2 MB .xlsx holding one row of 69 M cells passed 16 GB there, a shared-
strings bomb took 478 s. So a workbook is first judged by its zip directory (parts,
inflated sizes, ratios), then every part is streamed once through zlib and counted as
bytes (rows, XML elements per row, texts, declarations) without an XML parser; only then
does openpyxl open it. A CSV is scanned as bytes (NUL bytes, line lengths, line count)
and read through a line reader that never holds more than one bounded line.

The limits are constants (README, "Checks"); the inflated size follows
TWINNING_MAX_UPLOAD_MB. Each refusal is one ``Problem`` in both languages, its words in
the catalog under ``guard.`` (twinning/locale).
"""

from __future__ import annotations

import errno
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from twinning import i18n, settings
from twinning.imports.problems import ERROR, ImportRefused, Problem, texts

I18N_PREFIX = "guard."

# --- the limits -------------------------------------------------------------------------
MAX_COLUMNS = 512  # columns a row may use (CSV fields, xlsx cells)
MAX_ROWS = 2_000_000  # rows of a CSV (lines, counting the header)
EXCEL_MAX_ROWS = 1_048_576  # rows of a sheet: Excel's own limit
MAX_LINE_CHARS = 1 << 20  # one CSV line (1,048,576 characters)
MAX_PARTS = 1_000  # files inside an .xlsx (Excel writes 10-30)
INFLATED_FACTOR = 20  # all parts unpacked: at most 20 x TWINNING_MAX_UPLOAD_MB ...
INFLATED_CAP = 1 << 30  # ... and at most 1 GiB
MAX_RATIO = 100  # unpacked / packed size of one part ...
RATIO_FLOOR = 1 << 20  # ... for parts that unpack to more than 1 MiB
PART_CAP = 64 << 20  # a part outside xl/worksheets/: at most TWINNING_MAX_UPLOAD_MB, <= 64 MiB
ELEMENTS_PER_CELL = 4  # <c><f/><v/></c> is 3; a row may hold 4 x MAX_COLUMNS elements
MAX_STRINGS = 1_000_000  # texts in a workbook's table of texts (sharedStrings.xml)
MAX_OTHER_ELEMENTS = 200_000  # elements of a part outside rows and texts (styles, merges ...)
CHUNK = 1 << 20

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")

# The catalog's guard.<key> messages this module builds (tools/i18n_extract.py lists them).
MESSAGES: tuple[str, ...] = (
    "zip_named_text",
    "zip_named_text_fix",
    "nul",
    "nul_fix",
    "long_line",
    "long_line_fix",
    "too_many_rows",
    "too_many_rows_sheet",
    "too_many_rows_fix",
    "too_wide",
    "too_wide_sheet",
    "wide_row",
    "too_wide_fix",
    "parts",
    "inflated",
    "ratio",
    "part_size",
    "strings",
    "long_text",
    "elements",
    "resave",
    "dtd",
    "dtd_fix",
    "utf16",
    "damaged",
    "bad_xml",
    "keep_failed",
    "keep_failed_fix",
    "busy",
    "busy_undo",
    "busy_fix",
    "os_nospace",
    "os_quota",
    "os_denied",
    "os_readonly",
    "os_reason",
)


def t(key: str, lang: str, **fields: object) -> str:
    """A ``guard.<key>`` message of the catalog in ``lang``."""
    return i18n.t(I18N_PREFIX + key, lang, **fields)


def problem(
    code: str,
    key: str,
    fix: str,
    file: str,
    *,
    row: int | None = None,
    column: str = "",
    value: object = "",
    en: dict | None = None,
    zh: dict | None = None,
    **fields: object,
) -> Problem:
    """One error with its message and suggestion in both languages; ``en`` / ``zh`` give
    fields whose words differ by language (an OS error, a reason)."""
    if row is not None:
        fields.setdefault("row", row)  # the messages name it too
    return Problem(
        ERROR,
        code,
        file=file,
        row=row,
        column=column,
        value="" if value is None else str(value),
        # the ids are guard.<key> of MESSAGES (tools/i18n_extract.py lists them)
        **texts(I18N_PREFIX + key, I18N_PREFIX + fix, en=en, zh=zh, **fields),
    )


def refuse(code: str, key: str, fix: str, file: str, **kw: object) -> ImportRefused:
    return ImportRefused([problem(code, key, fix, file, **kw)])


def upload_limit() -> int:
    return settings.get_int("TWINNING_MAX_UPLOAD_MB") * 1024 * 1024


def inflated_limit() -> int:
    return min(INFLATED_FACTOR * upload_limit(), INFLATED_CAP)


def part_limit() -> int:
    return min(upload_limit(), PART_CAP)


def _mb(n: int) -> str:
    return f"{n / 1048576:,.1f}"


# --- what the bytes are -----------------------------------------------------------------


def check_kind(name: str, magic: bytes) -> None:
    """A zip archive whose name says text (a workbook renamed .csv, a zipped export)."""
    if magic.startswith(b"PK") and Path(name).suffix.lower() in TEXT_SUFFIXES:
        raise refuse(
            "wrong_kind",
            "zip_named_text",
            "zip_named_text_fix",
            name,
            value=Path(name).suffix,
            name=name,
        )


# --- CSV --------------------------------------------------------------------------------


def check_text(path: Path, name: str, encoding: str) -> None:
    """Before parsing: NUL bytes anywhere, lines too long, too many lines (one streamed pass).

    Lines are counted by their ``\\n`` byte. UTF-16 files have NUL bytes in every other
    place; ``csv_lines`` checks them as decoded text instead.
    """
    if encoding.lower().replace("_", "-").startswith("utf-16"):
        return
    longest_bytes = 4 * MAX_LINE_CHARS  # a character is at most 4 bytes; CHUNK <= this
    lines = 1  # the line being read
    run = 0  # bytes of it so far
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                row = lines + chunk.count(b"\n", 0, nul)
                raise _nul(name, row)
            first = chunk.find(b"\n")
            if first < 0:
                run += len(chunk)
            else:
                run += first
            if run > longest_bytes:
                raise _long_line(name, lines)
            if first >= 0:
                lines += chunk.count(b"\n")
                run = len(chunk) - chunk.rfind(b"\n") - 1
                # lines wholly inside this chunk are shorter than CHUNK <= longest_bytes
            if lines > MAX_ROWS + 1:
                raise _too_many_rows(name, MAX_ROWS + 1, MAX_ROWS)


def _nul(name: str, row: int) -> ImportRefused:
    return refuse("binary", "nul", "nul_fix", name, row=row, line=row)


def _long_line(name: str, row: int) -> ImportRefused:
    return refuse(
        "long_line", "long_line", "long_line_fix", name, row=row, line=row, limit=MAX_LINE_CHARS
    )


def _too_many_rows(name: str, row: int, limit: int, sheet: str = "") -> ImportRefused:
    if sheet:
        return refuse(
            "too_many_rows",
            "too_many_rows_sheet",
            "too_many_rows_fix",
            name,
            row=row,
            limit=limit,
            sheet=sheet,
        )
    return refuse("too_many_rows", "too_many_rows", "too_many_rows_fix", name, row=row, limit=limit)


def csv_lines(text, name: str) -> Iterator[str]:
    """The lines of a text stream for ``csv.reader``, each read with a length limit.

    ``readline(limit)`` never holds more than the limit, so a 12 MB line of a million
    commas is refused at its first megabyte, before the csv module splits anything.
    """
    line = 0
    while True:
        text_line = text.readline(MAX_LINE_CHARS + 1)
        if not text_line:
            return
        line += 1
        if len(text_line) > MAX_LINE_CHARS:
            raise _long_line(name, line)
        if "\x00" in text_line:
            raise _nul(name, line)
        yield text_line


def check_csv_row(name: str, number: int, cells: list) -> None:
    """While reading a CSV: rows beyond the limit, more fields than columns allowed."""
    if number > MAX_ROWS:
        raise _too_many_rows(name, number, MAX_ROWS)
    if len(cells) > MAX_COLUMNS:
        raise refuse(
            "too_wide",
            "too_wide",
            "too_wide_fix",
            name,
            row=number,
            value=len(cells),
            columns=len(cells),
            limit=MAX_COLUMNS,
        )


def check_sheet_row(name: str, sheet: str, number: int, cells: tuple | list) -> None:
    """While reading a sheet (read with ``max_col=MAX_COLUMNS + 1``): the same limits."""
    if number > EXCEL_MAX_ROWS:
        raise _too_many_rows(name, number, EXCEL_MAX_ROWS, sheet)
    if len(cells) > MAX_COLUMNS and any(c not in (None, "") for c in cells[MAX_COLUMNS:]):
        from openpyxl.utils import get_column_letter

        letter = get_column_letter(MAX_COLUMNS + 1)
        raise refuse(
            "too_wide",
            "too_wide_sheet",
            "too_wide_fix",
            name,
            row=number,
            column=letter,
            value=str(cells[MAX_COLUMNS])[:200],
            letter=letter,
            limit=MAX_COLUMNS,
        )


def xlsx_errors() -> tuple[type[BaseException], ...]:
    """What openpyxl (lxml, expat, defusedxml, zipfile, zlib) raises on a damaged workbook:
    each means a bad file, not a bug. Evaluated only when something was raised."""
    from openpyxl.utils.exceptions import InvalidFileException

    return (
        InvalidFileException,
        zipfile.BadZipFile,
        KeyError,
        OSError,
        ValueError,  # defusedxml's refusals are ValueErrors
        TypeError,
        SyntaxError,  # xml.etree's ParseError and lxml's XMLSyntaxError
        EOFError,
        zlib.error,
    )


def bad_sheet(name: str, after: int, exc: BaseException) -> ImportRefused:
    """A sheet whose XML breaks while it is read (after the checks): a message, not a crash."""
    return refuse(
        "bad_xlsx", "bad_xml", "resave", name, row=after + 1, after=after, error=str(exc)[:200]
    )


# --- xlsx: the zip directory --------------------------------------------------------------

EOCD = struct.Struct("<4s4H2LH")
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")


def _declared_parts(path: Path) -> int | None:
    """The number of parts the zip's end record declares, read before zipfile reads the
    directory (a million tiny entries would cost zipfile ~1 GB); None when not found."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - (1 << 16) - EOCD.size))
        tail = fh.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < EOCD.size:
            return None
        entries = EOCD.unpack_from(tail, at)[4]
        if entries != 0xFFFF or at < ZIP64_LOCATOR.size:
            return entries
        sig, _disk, offset, _disks = ZIP64_LOCATOR.unpack_from(tail, at - ZIP64_LOCATOR.size)
        if sig != b"PK\x06\x07" or offset > size:
            return None
        fh.seek(offset)
        record = fh.read(ZIP64_EOCD.size)
        if len(record) < ZIP64_EOCD.size or not record.startswith(b"PK\x06\x06"):
            return None
        return ZIP64_EOCD.unpack(record)[7]


@dataclass
class PartScan:
    """What one streamed part holds, counted as bytes."""

    rows: int = 0
    strings: int = 0
    other: int = 0  # elements outside rows and texts
    formulas: bool = False


@dataclass
class Workbook:
    """A workbook that passed the checks: its parts and what each holds."""

    parts: dict[str, PartScan] = field(default_factory=dict)

    def has_formulas(self, member: str) -> bool:
        scan = self.parts.get(member.lstrip("/"))
        return scan.formulas if scan is not None else True


def check_workbook(path: Path, name: str) -> Workbook | None:
    """Judge a workbook before openpyxl opens it; raise ImportRefused, or None when it is
    not a readable zip at all (openpyxl then says so in the reader's own words)."""
    declared = _declared_parts(path)
    if declared is not None and declared > MAX_PARTS:
        raise refuse(
            "xlsx_limits", "parts", "resave", name, value=declared, parts=declared, limit=MAX_PARTS
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_PARTS:
            raise refuse(
                "xlsx_limits",
                "parts",
                "resave",
                name,
                value=len(infos),
                parts=len(infos),
                limit=MAX_PARTS,
            )
        total = sum(i.file_size for i in infos)
        if total > inflated_limit():
            raise refuse(
                "xlsx_limits",
                "inflated",
                "resave",
                name,
                value=f"{_mb(total)} MB",
                size=_mb(total),
                limit=_mb(inflated_limit()),
                factor=INFLATED_FACTOR,
                cap=_mb(INFLATED_CAP),
            )
        for info in infos:
            _check_entry(info, name)
        book = Workbook()
        for info in infos:
            if not info.is_dir():
                book.parts[info.filename] = _scan_part(zf, info, name)
    return book


def _check_entry(info: zipfile.ZipInfo, name: str) -> None:
    size, packed = info.file_size, info.compress_size
    if size > RATIO_FLOOR and size > MAX_RATIO * max(packed, 1):
        raise refuse(
            "xlsx_limits",
            "ratio",
            "resave",
            name,
            value=f"{size / max(packed, 1):,.0f}:1",
            part=info.filename,
            size=_mb(size),
            packed=f"{packed / 1024:,.1f}",
            ratio=f"{size / max(packed, 1):,.0f}",
            limit=MAX_RATIO,
        )
    if size > part_limit() and not info.filename.startswith("xl/worksheets/"):
        raise refuse(
            "xlsx_limits",
            "part_size",
            "resave",
            name,
            value=f"{_mb(size)} MB",
            part=info.filename,
            size=_mb(size),
            limit=_mb(part_limit()),
        )


# --- xlsx: one part, streamed as bytes ------------------------------------------------------

_PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"  # x:row as well as row (the .NET SDK writes x:)
_RECORD = re.compile(rb"<" + _PREFIX + rb"(row|si)(?=[\s/>])")
# One whole row or text: its start tag, then (possessively, so never backtracking) text and
# elements other than a row's or a text's start or end, then its end tag; or an empty one.
_WHOLE = re.compile(
    rb"<"
    + _PREFIX
    + rb"(row|si)(?=[\s/>])[^>]*+(?:(?<=/)>|>(?:[^<]++|<(?!/?"
    + _PREFIX
    + rb"(?:row|si)[\s/>]))*+</"
    + _PREFIX
    + rb"\1\s*>)"
)
_ROW_END = re.compile(rb"</" + _PREFIX + rb"row\s*>")
_SI_END = re.compile(rb"</" + _PREFIX + rb"si\s*>")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*["']\s*(\d+)""")
# r="1000000" and on: only a row's number is all digits (a cell's starts with letters)
_BIG_ROW_NUMBER = re.compile(rb"""r=["']0*([1-9]\d{6,})""")
# a formula element, <f> or <x:f ...>: plain searches, a regex here costs 100 ms a MB
_FORMULA = tuple(
    lead + b"f" + after
    for lead in (b"<", b":")
    for after in (b">", b" ", b"/", b"\t", b"\n", b"\r")
)
# A record's element count can pass the limit only if it is this long (an element takes
# at least 3 bytes, <a> or <a/>): shorter rows and texts are not counted one by one.
_SHORT = 3 * ELEMENTS_PER_CELL * MAX_COLUMNS
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
# UTF-16 text (a byte-order mark, or XML without one): refused, so the searches above,
# in ASCII, see every declaration a parser would read (UTF-8 and 8-bit encodings)
_UTF16_XML = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")


def _has_formula(data: bytes) -> bool:
    return (b"<f" in data or b":f" in data) and any(f in data for f in _FORMULA)


def _elements(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Opening (and empty) elements between two offsets: each '<' but those of end tags.
    (Comments and processing instructions count too: Excel writes none; more is safe.)"""
    end = len(data) if end is None else end
    return data.count(b"<", start, end) - data.count(b"</", start, end)


class _Counter:
    """Rows, texts and elements of one part, fed in chunks that never cut a tag.

    Whole rows and texts are found by one regex pass per chunk and their elements counted
    with ``bytes.count``; the elements of a chunk outside them are "other". A row or text
    still open at a chunk's end is followed into the next chunks (``inside``).
    """

    def __init__(self, part: str, name: str) -> None:
        self.part, self.name = part, name
        self.scan = PartScan()
        self.inside: bytes | None = None  # b"row" or b"si" while one is open
        self.row = 0  # the open row's number, as Excel numbers it
        self.elements = 0  # the open row's or text's elements so far

    def feed(self, data: bytes) -> None:
        if self.inside is not None:  # a row or text open since an earlier chunk
            close = (_ROW_END if self.inside == b"row" else _SI_END).search(data)
            self.elements += _elements(data, 0, close.start() if close else len(data))
            self._record_limit()
            if close is None:
                return
            self.inside = None
            data = data[close.end() :]
        for big in _BIG_ROW_NUMBER.finditer(data):
            if data[big.start() - 1 : big.start()].isspace() and int(big.group(1)) > EXCEL_MAX_ROWS:
                raise _too_many_rows(self.name, int(big.group(1)), EXCEL_MAX_ROWS, self.part)
        if not self._back_to_back(data):
            self._walk(data)

    def _back_to_back(self, data: bytes) -> bool:
        """The usual case, in bulk: unprefixed rows (or texts) one right after the other,
        as Excel, WPS, LibreOffice and openpyxl write them. False: walk the chunk instead.

        Nothing between two records can then hide elements that the reader would keep
        (openpyxl clears each row and text, not what lies between them).
        """
        if b":row" in data or b":si" in data:
            return False
        rows, texts = b"<row" in data, b"<si" in data
        if rows and texts:
            return False
        if not (rows or texts):
            self.scan.other += _elements(data)
            self._other_limit()
            return True
        kind = b"row" if rows else b"si"
        start, end = b"<" + kind, b"</" + kind + b">"
        first = data.find(start)
        segments = data[first:].split(start)[1:]  # each: one record, and after the last, more
        named = sum(data.count(start + c, first) for c in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
        adjacent = data.count(end + start, first) + data.count(b"/>" + start, first)
        if named != len(segments) or adjacent != len(segments) - 1:
            return False  # <rowBreaks>, or something between two records
        last = segments[-1]
        gt = last.find(b">")
        close = gt + 1 if gt > 0 and last[gt - 1 : gt] == b"/" else last.find(end)
        if close >= 0 and close != gt + 1:
            close += len(end)
        limit = ELEMENTS_PER_CELL * MAX_COLUMNS
        records = segments if close >= 0 else segments[:-1]
        if records and max(map(len, records)) >= _SHORT:  # a long one: count each
            for i, record in enumerate(records):
                if len(record) >= _SHORT and _elements(record) + 1 > limit:
                    self._too_long(kind, start + record[: close if record is last else None], i)
        if kind == b"row":
            self.scan.rows += len(records)
        else:
            self.scan.strings += len(records)
        self._count_limits()
        self.scan.other += _elements(data, 0, first)
        if close >= 0:
            self.scan.other += _elements(last, close)
        self._other_limit()
        if close < 0:  # the last one goes on in the next chunk
            self._open_at(kind, start + last)
        return True

    def _open_at(self, kind: bytes, record: bytes) -> None:
        if kind == b"row":
            self.scan.rows += 1
            number = _ROW_NUMBER.search(record[: record.find(b">") + 1])
            self.row = int(number.group(1)) if number else self.scan.rows
        else:
            self.scan.strings += 1
        self._count_limits()
        self.inside, self.elements = kind, _elements(record)
        self._record_limit()

    def _too_long(self, kind: bytes, record: bytes, index: int) -> None:
        if kind == b"row":
            number = _ROW_NUMBER.search(record[: record.find(b">") + 1])
            self.row = int(number.group(1)) if number else self.scan.rows + index + 1
        else:
            self.scan.strings += index + 1
        self.inside, self.elements = kind, _elements(record)
        self._record_limit()

    def _walk(self, data: bytes) -> None:
        """Any chunk, record by record (prefixes, text between records, one left open)."""
        pos, n = 0, len(data)
        total, inside, last = _elements(data, pos, n), 0, pos
        limit = ELEMENTS_PER_CELL * MAX_COLUMNS
        for m in _WHOLE.finditer(data, pos):
            k = data.count(b"<", m.start(), m.end()) - data.count(b"</", m.start(), m.end())
            inside += k
            last = m.end()
            if m.group(1) == b"row":
                self.scan.rows += 1
            else:
                self.scan.strings += 1
            if k > limit:
                self._open(m, data, k, counted=True)
                self._record_limit()
        self._count_limits()
        rest = _RECORD.search(data, last)  # a row or text that goes on in the next chunk
        tail = _elements(data, rest.start(), n) if rest else 0
        self.scan.other += total - inside - tail
        self._other_limit()
        if rest is not None:
            self._open(rest, data, tail)
            self._record_limit()

    def _open(self, m: re.Match, data: bytes, elements: int, counted: bool = False) -> None:
        """Make ``m`` the open row or text: one cut by the chunk's end, or a whole one that
        is too wide (``counted``: then it is only named in the message)."""
        kind = m.group(1)
        if not counted:
            if kind == b"row":
                self.scan.rows += 1
            else:
                self.scan.strings += 1
            self._count_limits()
        if kind == b"row":
            head = data[m.start() : m.start() + 4096]
            gt = head.find(b">")
            number = _ROW_NUMBER.search(head if gt < 0 else head[: gt + 1])
            self.row = int(number.group(1)) if number else self.scan.rows
        self.inside, self.elements = kind, elements

    def _count_limits(self) -> None:
        if self.scan.rows > EXCEL_MAX_ROWS:
            raise _too_many_rows(self.name, EXCEL_MAX_ROWS + 1, EXCEL_MAX_ROWS, self.part)
        if self.scan.strings > MAX_STRINGS:
            raise refuse(
                "xlsx_limits", "strings", "resave", self.name, part=self.part, limit=MAX_STRINGS
            )

    def _record_limit(self) -> None:
        limit = ELEMENTS_PER_CELL * MAX_COLUMNS
        if self.elements <= limit:
            return
        if self.inside == b"row":
            raise refuse(
                "too_wide",
                "wide_row",
                "too_wide_fix",
                self.name,
                row=self.row,
                part=self.part,
                elements=limit,
                limit=MAX_COLUMNS,
            )
        raise refuse(
            "xlsx_limits",
            "long_text",
            "resave",
            self.name,
            part=self.part,
            number=self.scan.strings,
            elements=limit,
        )

    def _other_limit(self) -> None:
        if self.scan.other > MAX_OTHER_ELEMENTS:
            raise refuse(
                "xlsx_limits",
                "elements",
                "resave",
                self.name,
                part=self.part,
                limit=MAX_OTHER_ELEMENTS,
            )


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> PartScan:
    """Stream one part: declarations (<!DOCTYPE, <!ENTITY), UTF-16 XML, and the counts."""
    counter = _Counter(info.filename, name)
    carry = tail = b""
    first = True
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(CHUNK)
                if first:
                    first = False
                    if chunk.startswith(_UTF16_XML):
                        raise refuse(
                            "bad_xlsx",
                            "utf16",
                            "resave",
                            name,
                            column=info.filename,
                            part=info.filename,
                        )
                window = tail + chunk
                if b"<!" in window and any(word in window for word in _DECLARATIONS):
                    raise refuse(
                        "xml_dtd",
                        "dtd",
                        "dtd_fix",
                        name,
                        column=info.filename,
                        part=info.filename,
                    )
                tail = window[-32:]
                data = carry + chunk
                if not chunk:
                    counter.feed(data)
                    break
                # keep an unfinished tag for the next chunk (a name cut in two)
                lt = data.rfind(b"<")
                if lt >= 0 and b">" not in data[lt:] and len(data) - lt <= 4096:
                    data, carry = data[:lt], data[lt:]
                else:
                    carry = b""
                if not counter.scan.formulas and _has_formula(data):
                    counter.scan.formulas = True
                counter.feed(data)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise refuse(
            "bad_xlsx",
            "damaged",
            "resave",
            name,
            column=info.filename,
            part=info.filename,
            error=str(exc),
        ) from None
    return counter.scan


# --- faults -----------------------------------------------------------------------------------


def _reason_zh(number: int | None) -> str:
    """The Chinese words of the OS errors a write meets most (a full disk ...), or ""."""
    if number == errno.ENOSPC:
        return t("os_nospace", "zh")
    if number == errno.EDQUOT:
        return t("os_quota", "zh")
    if number in (errno.EACCES, errno.EPERM):
        return t("os_denied", "zh")
    if number == errno.EROFS:
        return t("os_readonly", "zh")
    return ""


def os_reason(exc: OSError) -> tuple[str, str]:
    """An OS error in a person's words: (English, Chinese)."""
    en = exc.strerror or str(exc)
    if exc.errno is not None:
        en = f"{en} (errno {exc.errno})"
    zh = _reason_zh(exc.errno)
    zh = t("os_reason", "zh", reason=zh, error=en) if zh else en
    return en, zh


def write_file(path: Path, data: bytes, name: str) -> None:
    """Write ``data`` to ``path`` whole or not at all: under a temporary name, then renamed.
    A write error (a full disk) removes the partial file and is ``keep_failed``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise keep_failed(name, path.parent, exc) from None


def keep_failed(name: str, folder: Path, exc: OSError) -> ImportRefused:
    """The original could not be copied into the upload folder; nothing was stored."""
    en, zh = os_reason(exc)
    return refuse(
        "keep_failed",
        "keep_failed",
        "keep_failed_fix",
        name,
        value=str(folder),
        folder=str(folder),
        en={"reason": en},
        zh={"reason": zh},
    )


BUSY_WORDS = ("database is locked", "database table is locked", "lock timeout")


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" (SQLITE_BUSY after the busy timeout), a
    locked table, and PostgreSQL's lock timeout: another writer holds the store."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(word in text for word in BUSY_WORDS)


def busy(name: str) -> Problem:
    return problem("busy", "busy", "busy_fix", name)


def busy_undo(batch_id: int) -> dict[str, str]:
    """The message of an undo that met a locked store, as ``UndoError``'s keywords
    (``message``, ``message_zh``)."""
    return {
        "message": t("busy_undo", "en", batch=batch_id) + "; " + t("busy_fix", "en"),
        "message_zh": t("busy_undo", "zh", batch=batch_id) + "；" + t("busy_fix", "zh"),
    }
