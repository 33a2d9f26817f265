"""Hostile input and faults (issue #12): each refused with a message in both languages,
before the parser sees it where that matters; nothing stored, nothing left behind.

The files are made here by seeded code (tests/hostile_files.py). Memory and time are
checked by structure, not by the clock: the refusals that protect memory happen before
openpyxl opens the workbook (its loader is replaced by one that fails the test) or before
the CSV reader starts (likewise).
"""

from __future__ import annotations

import base64
import errno
import json
import os
import random
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hostile_files import (
    CSV_HEADER,
    CSV_ROW,
    HEADER,
    MAIN,
    ROW,
    csv_rows,
    dtd_workbook,
    lock_store,
    nul_csv,
    ratio_bomb,
    repeat,
    row_xml,
    sheet_xml,
    strings_table,
    width_bomb,
    workbook,
)
from test_import_support import count, make_store, page_env, run_tiny
from test_import_zh import assert_bilingual

from components import import_page as page
from twinning.imports import guard, keep, progress, read
from twinning.imports.keep import UndoError, undo_batch
from twinning.imports.problems import log_internal


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "uploads"))
    return make_store(tmp_path)


@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if openpyxl opens a workbook or the CSV reader starts."""

    def never(*_a, **_k):
        raise AssertionError("the parser was called")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    monkeypatch.setattr(read, "_csv_rows", never)


def random_hex(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n // 2).hex().encode()


def refused(path: Path, store, **kw):
    """The one error a dry run reports; bilingual, and the store unchanged."""
    before = (count(store, "figures"), count(store, "batches"))
    result = run_tiny(path, store, dry_run=True, **kw)
    assert not result.ok
    (p,) = result.report.problems
    assert p.severity == "error" and p.file == path.name
    assert_bilingual(p)
    assert p.suggestion and p.suggestion_zh
    assert (count(store, "figures"), count(store, "batches")) == before
    return p


# --- workbooks: the zip directory -----------------------------------------------------------


def test_the_issues_width_bomb_is_refused_from_the_zip_directory(store, tmp_path, no_parsing):
    path = ratio_bomb(tmp_path / "bomb.xlsx")  # one row of 5 M cells: 20 MB in ~20 KB
    assert path.stat().st_size < 100_000
    p = refused(path, store)
    assert p.code == "xlsx_limits" and "xl/worksheets/sheet1.xml" in p.message
    assert "the limit is 100 to 1" in p.message and "上限为 100 比 1" in p.message_zh


def test_a_width_bomb_that_compresses_like_data_is_refused_before_parsing(
    store, tmp_path, no_parsing
):
    path = width_bomb(tmp_path / "wide.xlsx", cells=100_000)
    infos = zipfile.ZipFile(path).infolist()
    assert max(i.file_size / i.compress_size for i in infos if i.file_size > 1 << 20) < 10
    p = refused(path, store)
    assert p.code == "too_wide" and p.row == 2
    assert "limit of 512 columns" in p.message and "512 列" in p.message_zh


def test_a_workbook_too_big_unpacked_is_refused(store, tmp_path, monkeypatch, no_parsing):
    monkeypatch.setenv("TWINNING_MAX_UPLOAD_MB", "1")  # unpacked: at most 20 MB
    parts = {f"xl/media/blank{i}.bin": repeat(b"\0", 1 << 20) for i in range(21)}
    path = workbook(tmp_path / "big.xlsx", parts=parts)  # 21 parts of 1 MiB: ratio not checked
    assert path.stat().st_size < 1 << 20
    p = refused(path, store)
    assert p.code == "xlsx_limits" and "the limit is 20.0 MB" in p.message
    assert "TWINNING_MAX_UPLOAD_MB" in p.message_zh


def test_too_many_parts_are_refused_before_zipfile_reads_the_directory(
    store, tmp_path, monkeypatch, no_parsing
):
    parts = {f"xl/p/{i}.xml": b"<a/>" for i in range(guard.MAX_PARTS + 1)}
    path = workbook(tmp_path / "parts.xlsx", parts=parts)

    def no_directory(*_a, **_k):
        raise AssertionError("zipfile read the directory")

    monkeypatch.setattr(guard.zipfile, "ZipFile", no_directory)
    p = refused(path, store)
    assert p.code == "xlsx_limits" and p.value == str(guard.MAX_PARTS + 6)  # + 5 of the book


def test_a_big_part_outside_the_sheets_is_refused(store, tmp_path, monkeypatch, no_parsing):
    monkeypatch.setenv("TWINNING_MAX_UPLOAD_MB", "1")
    noise = random_hex(1_200_000)
    path = workbook(tmp_path / "styles.xlsx", parts={"xl/styles.xml": noise})
    p = refused(path, store)
    assert p.code == "xlsx_limits" and "xl/styles.xml" in p.message and "1.0 MB" in p.message


# --- workbooks: every part, counted as bytes -------------------------------------------------


def test_a_table_of_too_many_texts_is_refused(store, tmp_path, monkeypatch, no_parsing):
    monkeypatch.setattr(guard, "MAX_STRINGS", 1000)
    path = workbook(tmp_path / "sst.xlsx", shared=strings_table(1001))
    p = refused(path, store)
    assert p.code == "xlsx_limits" and "more than 1,000 texts" in p.message


def test_too_many_other_elements_are_refused(store, tmp_path, monkeypatch, no_parsing):
    monkeypatch.setattr(guard, "MAX_OTHER_ELEMENTS", 1000)
    styles = b"<styleSheet><cellXfs>" + b"<xf/>" * 1001 + b"</cellXfs></styleSheet>"
    p = refused(workbook(tmp_path / "st.xlsx", parts={"xl/styles.xml": styles}), store)
    assert p.code == "xlsx_limits" and "xl/styles.xml" in p.message


@pytest.mark.parametrize("last", [2_000_000, None])
def test_rows_beyond_excels_last_are_refused_before_parsing(
    store, tmp_path, monkeypatch, no_parsing, last
):
    if last is None:  # counted rows, no r attribute
        monkeypatch.setattr(guard, "EXCEL_MAX_ROWS", 100)
        rows = [row_xml(HEADER), *(row_xml(ROW) for _ in range(100))]
    else:  # one row numbered past the end: openpyxl would hand over the rows between
        rows = [row_xml(HEADER), row_xml(ROW, r=last)]
    p = refused(workbook(tmp_path / "rows.xlsx", sheet_xml(*rows)), store)
    assert p.code == "too_many_rows" and p.row == (last or 101)


def test_rows_with_a_namespace_prefix_are_counted_too(store, tmp_path, no_parsing):
    sheet = (
        b'<x:worksheet xmlns:x="%s"><x:sheetData><x:row>' % MAIN.encode()
        + b"<x:c><x:v>1</x:v></x:c>" * 3000
        + b"</x:row></x:sheetData></x:worksheet>"
    )
    p = refused(workbook(tmp_path / "prefixed.xlsx", sheet), store)
    assert p.code == "too_wide" and p.row == 1


@pytest.mark.parametrize(
    "part", ["xl/workbook.xml", "[Content_Types].xml", "xl/worksheets/sheet1.xml"]
)
def test_entity_declarations_in_any_part_are_refused(store, tmp_path, part, no_parsing):
    p = refused(dtd_workbook(tmp_path / "dtd.xlsx", part), store)
    assert p.code == "xml_dtd" and part in p.message and "<!ENTITY" in p.message


def test_utf16_parts_are_refused(store, tmp_path, no_parsing):
    p = refused(dtd_workbook(tmp_path / "u16.xlsx", encoding="utf-16"), store)
    assert p.code == "bad_xlsx" and "UTF-16" in p.message


def test_a_damaged_part_is_a_message(store, tmp_path):
    path = workbook(tmp_path / "crc.xlsx")
    data = bytearray(path.read_bytes())
    at = data.index(b"xl/worksheets/sheet1.xml") + len(b"xl/worksheets/sheet1.xml")
    data[at + 5] ^= 0xFF  # the first bytes of the sheet's deflated data
    path.write_bytes(bytes(data))
    p = refused(path, store)
    assert p.code == "bad_xlsx"


def test_defusedxml_guards_openpyxl_as_well():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML


# --- workbooks: while reading -------------------------------------------------------------------


def test_a_value_beyond_the_last_column_is_refused_while_reading(store, tmp_path):
    wide = row_xml(HEADER) + b'<row><c r="SS2" t="inlineStr"><is><t>x</t></is></c></row>'
    p = refused(workbook(tmp_path / "ss.xlsx", sheet_xml(wide)), store)
    assert p.code == "too_wide" and p.row == 2 and p.column == "SS" and p.value == "x"


def test_a_sheet_sized_to_the_last_column_reads_as_narrow(store, tmp_path):
    sheet = sheet_xml(b'<dimension ref="A1:XFD2"/>', row_xml(HEADER), row_xml(ROW))
    # (a <dimension> belongs before <sheetData>; openpyxl reads it wherever it is)
    result = run_tiny(workbook(tmp_path / "xfd.xlsx", sheet), store, dry_run=True)
    assert result.ok and result.records == 1


def test_a_good_workbook_still_imports(store, tmp_path):
    result = run_tiny(workbook(tmp_path / "good.xlsx"), store)
    assert result.ok and result.records == 1 and result.batch_id


def test_a_workbook_named_csv_gets_a_message(store, tmp_path):
    path = tmp_path / "台账.csv"
    path.write_bytes(workbook(tmp_path / "real.xlsx").read_bytes())
    p = refused(path, store)
    assert p.code == "wrong_kind" and p.value == ".csv"
    assert "rename it to .xlsx" in p.suggestion and "改为 .xlsx" in p.suggestion_zh


def test_a_workbook_under_another_name_gets_a_message(store, tmp_path):
    path = tmp_path / "register.dat"
    path.write_bytes(workbook(tmp_path / "real.xlsx").read_bytes())
    p = refused(path, store)
    assert p.code == "bad_xlsx"


# --- CSV ----------------------------------------------------------------------------------------


def test_a_12_mb_line_of_a_million_columns_is_refused_before_parsing(store, tmp_path, no_parsing):
    path = tmp_path / "million.csv"
    path.write_bytes(b"a" + b",a" * 6_000_000 + b"\n")
    p = refused(path, store)
    assert p.code == "long_line" and p.row == 1 and "1,048,576" in p.message


def test_a_long_line_is_refused_with_bounded_reads(store, tmp_path, monkeypatch):
    """The reader itself never holds more than the limit (UTF-16 skips the byte scan)."""
    monkeypatch.setattr(guard, "MAX_LINE_CHARS", 1000)
    path = tmp_path / "u16.csv"
    path.write_text(CSV_HEADER + CSV_ROW + "x," * 600 + "\n", encoding="utf-16")
    p = refused(path, store)
    assert p.code == "long_line" and p.row == 3


def test_more_fields_than_columns_are_refused(store, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(CSV_HEADER + CSV_ROW + "a," * 600 + "\n", encoding="utf-8")
    p = refused(path, store)
    assert p.code == "too_wide" and p.row == 3 and p.value == "601"
    assert "601" in p.message_zh


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_nul_byte_past_the_first_64_kb_is_refused_with_its_row(
    store, tmp_path, encoding, no_parsing
):
    path = nul_csv(tmp_path / "nul.csv", rows=5000, bad_row=4000)
    if encoding != "utf-8":
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    assert path.read_bytes().index(b"\0") > 65536
    p = refused(path, store)
    assert p.code == "binary" and p.row == 4000


def test_a_nul_in_a_utf16_csv_is_refused_with_its_row(store, tmp_path):
    path = tmp_path / "u16.csv"
    path.write_text(CSV_HEADER + CSV_ROW * 3 + "上海\x00市,富宁县,2020,5\n", encoding="utf-16")
    p = refused(path, store)
    assert p.code == "binary" and p.row == 5


def test_too_many_lines_are_refused_before_parsing(store, tmp_path, monkeypatch, no_parsing):
    monkeypatch.setattr(guard, "MAX_ROWS", 1000)
    path = tmp_path / "long.csv"
    path.write_text(CSV_HEADER + csv_rows(1500), encoding="utf-8")
    p = refused(path, store)
    assert p.code == "too_many_rows" and "1,000" in p.message


def test_too_many_rows_are_refused_while_reading(store, tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "MAX_ROWS", 1000)
    path = tmp_path / "long.csv"
    path.write_text(CSV_HEADER + csv_rows(1500), encoding="utf-16")  # no byte scan
    p = refused(path, store)
    assert p.code == "too_many_rows" and p.row == 1001


# --- the web page: the preview is enough to refuse, and nothing stays -------------------------


def test_the_upload_preview_refuses_and_keeps_nothing(tmp_path, monkeypatch):
    page_env(tmp_path, monkeypatch)
    token, _ = page.sign_in("admin", "s3cret", "en")
    path = width_bomb(tmp_path / "wide.xlsx", cells=5000)
    url = "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()
    out = page.receive_upload(url, "wide.xlsx", token, "zh")
    assert out["file"] is None and out["problems"][0]["code"] == "too_wide"
    assert out["message"].startswith("第 2 行")
    assert list(page._incoming_dir().iterdir()) == []


# --- faults -------------------------------------------------------------------------------------


def test_a_full_disk_leaves_no_partial_copy_and_the_next_import_works(store, tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    path.write_text(CSV_HEADER + csv_rows(200), encoding="utf-8")
    before = (count(store, "figures"), count(store, "batches"), store.data_version())
    real = keep.shutil.copyfile

    def disk_full(src, dst, *a, **k):
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fout.write(fin.read(100))  # a partial copy, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(keep.shutil, "copyfile", disk_full)
    result = run_tiny(path, store)
    (p,) = result.report.problems
    assert p.code == "keep_failed" and not result.ok and result.batch_id is None
    folder = str(tmp_path / "uploads")
    assert folder in p.message and "No space left on device (errno 28)" in p.message
    assert "磁盘空间已满" in p.message_zh and folder in p.suggestion_zh
    assert_bilingual(p)
    assert list((tmp_path / "uploads").iterdir()) == []  # no partial file
    assert (count(store, "figures"), count(store, "batches"), store.data_version()) == before
    monkeypatch.setattr(keep.shutil, "copyfile", real)
    again = run_tiny(path, store)
    assert again.ok and len(list((tmp_path / "uploads").iterdir())) == 1


def test_an_upload_on_a_full_disk_is_a_message_and_leaves_nothing(tmp_path, monkeypatch):
    page_env(tmp_path, monkeypatch)
    token, _ = page.sign_in("admin", "s3cret", "en")
    real = Path.write_bytes

    def disk_full(self, data):
        real(self, data[:10])  # a partial file, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    data = (CSV_HEADER + csv_rows(50)).encode()
    url = "data:text/csv;base64," + base64.b64encode(data).decode()
    out = page.receive_upload(url, "r.csv", token, "en")
    assert out["file"] is None and out["problems"][0]["code"] == "keep_failed"
    assert "No space left on device" in out["message"]
    assert list(page._incoming_dir().iterdir()) == []


def test_a_locked_store_is_a_message_for_undo_and_import(store, tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text(CSV_HEADER + CSV_ROW, encoding="utf-8")
    batch = run_tiny(path, store).batch_id
    other = lock_store(store)
    try:
        with pytest.raises(UndoError) as exc:
            undo_batch(store, batch, "u")
        assert exc.value.message == (
            f"batch {batch} was not undone: another import or undo is running; "
            "try again in a minute"
        )
        assert exc.value.text("zh") == (
            f"批次 {batch} 未撤销：另一个导入或撤销正在进行；请稍后（约一分钟后）重试"
        )
        second = tmp_path / "s.csv"
        second.write_text(CSV_HEADER + "上海市,富宁县,2021,6\n", encoding="utf-8")
        (p,) = run_tiny(second, store).report.problems
        assert p.code == "busy" and "another import or undo is running" in p.message
        assert_bilingual(p)
    finally:
        other.rollback()
        other.close()
        store.engine.dispose()
    assert undo_batch(store, batch, "u")["batch_id"] == batch  # free again: it works


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_progress_of_a_killed_run_is_stale_and_swept(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    dead, host = _dead_pid(), socket.gethostname()
    record = {"rows": 106_667, "stored": 100_000, "total": 300_000, "phase": "import"}
    stale = folder / "a.progress.json"
    stale.write_text(json.dumps({**record, "pid": dead, "host": host}))
    assert progress.read_progress(stale) is None and not stale.exists()  # marked stale

    stale.write_text(json.dumps({**record, "pid": dead, "host": host}))
    elsewhere = folder / "b.progress.json"  # another machine, an hour without news
    elsewhere.write_text(json.dumps({**record, "pid": 1, "host": "other", "updated": 1.0}))
    half = folder / f"c.progress.json.{dead}-1.tmp"
    half.write_text("{")
    live = folder / "d.progress.json"
    live.write_text(json.dumps({**record, "pid": os.getpid(), "host": host}))
    progress.ProgressWriter(folder / "e.progress.json", "check", None)  # the next run starts
    assert sorted(p.name for p in folder.iterdir()) == ["d.progress.json"]
    assert progress.read_progress(live)["rows"] == 106_667


def test_a_run_writes_who_it_is(tmp_path):
    writer = progress.ProgressWriter(tmp_path / "x.progress.json", "check", 10)
    writer.write(1, 0)
    data = json.loads((tmp_path / "x.progress.json").read_text())
    assert data["pid"] == os.getpid() and data["host"] == socket.gethostname()


def test_tracebacks_go_to_a_file_only_when_the_setting_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TWINNING_ERROR_LOG", raising=False)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        assert log_internal("import of x.csv failed") == ""
    assert list(tmp_path.rglob("*")) == []
    target = tmp_path / "logs" / "errors.log"
    monkeypatch.setenv("TWINNING_ERROR_LOG", str(target))
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        assert log_internal("import of x.csv failed") == str(target)
    text = target.read_text(encoding="utf-8")
    assert "--- import of x.csv failed" in text and "RuntimeError: boom" in text


def test_production_code_holds_no_test_hooks():
    root = Path(__file__).resolve().parents[1] / "twinning"
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "TEST_PAUSE" not in text and "_pause_hook" not in text, path
