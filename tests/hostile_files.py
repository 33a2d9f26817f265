"""Hostile files for the import tests, made at test time by seeded code (no tests here).

Nothing here is committed as a binary: each builder writes its file into the test's
``tmp_path``. Workbooks are assembled part by part with ``zipfile`` (streamed, so a part of
tens of MB costs no memory), because openpyxl cannot write the malformed ones.
"""

from __future__ import annotations

import random
import sqlite3
import zipfile
from collections.abc import Iterable
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

HEADER = ["帮扶方", "受援县", "年度", "帮扶资金(万元)"]
ROW = ["上海市", "富宁县", 2020, 5]
CSV_HEADER = "帮扶方,受援县,年度,帮扶资金(万元)\n"
CSV_ROW = "上海市,富宁县,2020,5\n"


def csv_rows(n: int) -> str:
    """``n`` distinct data rows (no duplicate-row warnings)."""
    return "".join(f"上海市,富宁县,{2000 + i % 20},{i + 1}\n" for i in range(n))


def _cell(value: object) -> bytes:
    if isinstance(value, int | float):
        return b"<c><v>%s</v></c>" % str(value).encode()
    return b'<c t="inlineStr"><is><t>%s</t></is></c>' % str(value).encode()


def row_xml(cells: Iterable[object], r: int | None = None) -> bytes:
    attr = b' r="%d"' % r if r is not None else b""
    return b"<row%s>" % attr + b"".join(_cell(c) for c in cells) + b"</row>"


def sheet_xml(*rows: bytes) -> Iterable[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    yield b'<worksheet xmlns="%s"><sheetData>' % MAIN.encode()
    yield from rows
    yield b"</sheetData></worksheet>"


def good_sheet() -> Iterable[bytes]:
    return sheet_xml(row_xml(HEADER), row_xml(ROW))


def _structure(shared: bool) -> dict[str, bytes]:
    strings = (
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
        if shared
        else ""
    )
    string_rel = (
        f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        if shared
        else ""
    )
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>'
            f"{strings}</Types>"
        ).encode(),
        "_rels/.rels": (
            f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
            f'Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>{string_rel}'
            "</Relationships>"
        ).encode(),
    }


def workbook(
    path: Path,
    sheet: Iterable[bytes] | None = None,
    *,
    shared: Iterable[bytes] | None = None,
    parts: dict[str, Iterable[bytes] | bytes] | None = None,
    replace: dict[str, bytes] | None = None,
) -> Path:
    """A minimal .xlsx: the structure, one sheet (streamed chunks), optional shared strings
    and extra parts; ``replace`` swaps a structure part's bytes."""
    files: dict[str, Iterable[bytes] | bytes] = {**_structure(shared is not None)}
    files.update(replace or {})
    files["xl/worksheets/sheet1.xml"] = good_sheet() if sheet is None else sheet
    if shared is not None:
        files["xl/sharedStrings.xml"] = shared
    files.update(parts or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            with zf.open(name, "w", force_zip64=False) as fh:
                if isinstance(content, bytes):
                    fh.write(content)
                else:
                    for chunk in content:
                        fh.write(chunk)
    return path


def repeat(piece: bytes, times: int, per_chunk: int = 1 << 16) -> Iterable[bytes]:
    """``piece`` ``times`` times, in chunks (a 20 MB part never sits in memory whole)."""
    block = piece * per_chunk
    for _ in range(times // per_chunk):
        yield block
    yield piece * (times % per_chunk)


# --- the hostile workbooks ------------------------------------------------------------------


def width_bomb(path: Path, cells: int = 100_000, seed: int = 12) -> Path:
    """One row of ``cells`` random numbers: ~18 bytes a cell, compressing ~4:1 (no ratio
    alarm), so only counting the row's elements stops it."""
    rng = random.Random(seed)

    def row() -> Iterable[bytes]:
        yield b"<row>"
        for start in range(0, cells, 10_000):
            n = min(10_000, cells - start)
            yield b"".join(b"<c><v>%d</v></c>" % rng.randrange(10**9) for _ in range(n))
        yield b"</row>"

    def sheet() -> Iterable[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="%s"><sheetData>' % (
            MAIN.encode()
        )
        yield row_xml(HEADER)
        yield from row()
        yield b"</sheetData></worksheet>"

    return workbook(path, sheet())


def ratio_bomb(path: Path, cells: int = 5_000_000) -> Path:
    """The issue's width bomb: one row of millions of empty cells, 20 MB of XML in ~20 KB."""
    return workbook(
        path,
        sheet_xml(row_xml(HEADER), b"<row>", *repeat(b"<c/>", cells), b"</row>"),
    )


def strings_table(n: int) -> Iterable[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="%s">' % MAIN.encode()
    yield from (b"<si><t>%d</t></si>" % i for i in range(n))
    yield b"</sst>"


def dtd_workbook(path: Path, part: str = "xl/workbook.xml", encoding: str = "utf-8") -> Path:
    """Entity declarations (the first steps of a billion laughs) in front of one part."""
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    if part == "xl/worksheets/sheet1.xml":
        body = b"".join(good_sheet()).decode().split("?>", 1)[1]
        return workbook(path, (laughs + body).encode(encoding))
    body = _structure(False)[part].decode()
    return workbook(path, replace={part: (laughs + body).encode(encoding)})


def nul_csv(path: Path, rows: int = 5000, bad_row: int = 4000) -> Path:
    """A clean CSV but for one NUL byte far past the first 64 KB."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(CSV_HEADER)
        for i in range(2, rows + 1):
            fh.write("上海市,富宁县,2020,5\x00\n" if i == bad_row else CSV_ROW)
    return path


def lock_store(store) -> sqlite3.Connection:
    """Hold the store's write lock from another connection (BEGIN IMMEDIATE), and make the
    store's own connections give up after 50 ms instead of 30 s."""
    from sqlalchemy import event

    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def _short_wait(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    other = sqlite3.connect(store.engine.url.database, timeout=0.05, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def hostile_problems(store, tmp_path: Path, monkeypatch) -> list:
    """One problem of each kind the limits and faults add (for tests/test_import_zh.py)."""
    from test_import_support import run_tiny

    from twinning.imports import guard

    folder = tmp_path / "hostile"
    folder.mkdir(exist_ok=True)
    out = []

    def run(path: Path, **kw):
        out.extend(run_tiny(path, store, dry_run=True, **kw).report.problems)

    good = workbook(folder / "good.xlsx")
    named = folder / "book.csv"
    named.write_bytes(good.read_bytes())
    run(named)  # wrong_kind
    (folder / "long.csv").write_text(CSV_HEADER + "x" * (guard.MAX_LINE_CHARS + 1) + "\n")
    run(folder / "long.csv")  # long_line
    (folder / "wide.csv").write_text(CSV_HEADER + "a," * 600 + "\n")
    run(folder / "wide.csv")  # too_wide
    run(width_bomb(folder / "wide.xlsx", cells=5000))  # too_wide (before parsing)
    run(nul_csv(folder / "nul.csv"))  # binary, with the row
    run(workbook(folder / "rows.xlsx", sheet_xml(row_xml(HEADER), row_xml(ROW, r=2_000_000))))
    run(ratio_bomb(folder / "ratio.xlsx"))  # xlsx_limits
    run(dtd_workbook(folder / "dtd.xlsx"))  # xml_dtd

    def disk_full(src, dst, *a, **k):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr("twinning.imports.keep.shutil.copyfile", disk_full)
        fresh = folder / "fresh.csv"
        fresh.write_text(CSV_HEADER + CSV_ROW, encoding="utf-8")
        out.extend(run_tiny(fresh, store).report.problems)  # keep_failed
    other = lock_store(store)
    try:
        again = folder / "again.csv"
        again.write_text(CSV_HEADER + "上海市,富宁县,2021,6\n", encoding="utf-8")
        out.extend(run_tiny(again, store).report.problems)  # busy
    finally:
        other.rollback()
        other.close()
        store.engine.dispose()
    return out
