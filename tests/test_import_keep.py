"""Keeping imports: all or nothing, batches, undo, duplicates, size limit, a crash midway,
formula-safe reports, the template and the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_import_support import CORPUS, count, make_store, run_tiny, tiny_gazetteer

from twinning.imports import cli as import_cli
from twinning.imports.keep import UndoError, list_batches, undo_batch
from twinning.imports.problems import report_csv
from twinning.imports.template import headers, write_template
from twinning.spreadsheet import neutralise

HEADER = "帮扶方,受援县,年度,帮扶资金(万元),项目数\n"


def _big_csv(path: Path, rows: int, bad_last: bool = False) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER)
        for i in range(rows):
            fh.write(f"上海市,富宁县,{2000 + i % 20},{i + 1},{i % 7}\n")
        if bad_last:
            fh.write("上海市,富宁县,2020,不详,1\n")
    return path


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "uploads"))
    return make_store(tmp_path)


def test_one_bad_row_stores_nothing(store, tmp_path):
    before = (count(store, "figures"), count(store, "batches"), store.data_version())
    f = _big_csv(tmp_path / "big.csv", 3000, bad_last=True)
    result = run_tiny(f, store, chunk_rows=100)
    assert not result.ok
    assert [p.row for p in result.report.problems if p.severity == "error"] == [3002]
    assert (count(store, "figures"), count(store, "batches"), store.data_version()) == before
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_dry_run_stores_nothing_but_reports_totals(store, tmp_path):
    before = count(store, "figures")
    result = run_tiny(_big_csv(tmp_path / "d.csv", 10), store, dry_run=True)
    assert result.ok and result.batch_id is None and result.dry_run
    assert result.totals["funds_cny"] == {"value": 550_000, "unit": "CNY"}
    assert count(store, "figures") == before


def test_batch_is_recorded_listed_kept_and_undone(store, tmp_path):
    ref_figures = len(store.figures_frame())
    progress = []
    result = run_tiny(
        CORPUS / "good_utf8_wide.csv", store, progress=lambda r, s: progress.append(s)
    )
    assert result.ok and progress[-1] == 6
    (batch,) = [b for b in list_batches(store) if b["id"] == result.batch_id]
    assert batch["kind"] == "import" and batch["user"] == "tester"
    assert batch["file_name"] == "good_utf8_wide.csv" and batch["row_count"] == 6
    assert batch["sha256"] == result.sha256 and batch["figures"] == 6 and batch["active"]
    kept = Path(batch["stored_path"])
    assert kept.parent == tmp_path / "uploads"
    assert kept.read_bytes() == (CORPUS / "good_utf8_wide.csv").read_bytes()
    assert len(store.figures_frame()) == ref_figures + 6
    version = store.data_version()

    # the same file again is refused while the batch is active
    again = run_tiny(CORPUS / "good_utf8_wide.csv", store)
    assert [p.code for p in again.report.problems] == ["duplicate_file"]
    assert f"already imported as batch {result.batch_id}" in again.report.problems[0].message

    undone = undo_batch(store, result.batch_id, "boss")
    assert undone["undone_by"] == "boss"
    assert len(store.figures_frame()) == ref_figures
    assert store.data_version() != version
    (batch,) = [b for b in list_batches(store) if b["id"] == result.batch_id]
    assert not batch["active"] and batch["undone_by"] == "boss"
    with pytest.raises(UndoError, match="already undone"):
        undo_batch(store, result.batch_id, "boss")
    with pytest.raises(UndoError, match="there is no batch 999"):
        undo_batch(store, 999)
    ref_id = next(b["id"] for b in list_batches(store) if b["kind"] == "reference")
    with pytest.raises(UndoError, match="cannot be undone"):
        undo_batch(store, ref_id)
    # after undo the file may come back
    assert run_tiny(CORPUS / "good_utf8_wide.csv", store).ok


def test_duplicates_against_what_is_stored(store, tmp_path):
    first = run_tiny(CORPUS / "good_utf8_wide.csv", store)
    assert first.ok
    second = tmp_path / "second.csv"
    second.write_text(
        (CORPUS / "good_utf8_wide.csv").read_text(encoding="utf-8") + "上海市,富宁县,2018,10,1,,\n",
        encoding="utf-8",
    )
    result = run_tiny(second, store)
    assert not result.ok
    dups = [p for p in result.report.problems if p.code == "duplicate_stored"]
    assert [p.row for p in dups] == [2, 2, 2, 3, 3, 3]
    assert dups[0].message == (
        f"funds_cny 1,200 for 富宁县 2020-2020 is already stored in batch {first.batch_id} (row 2)"
    )


def test_over_size_file_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.setenv("TWINNING_MAX_UPLOAD_MB", "1")
    f = tmp_path / "huge.csv"
    f.write_bytes(HEADER.encode() + b"x" * (1024 * 1024 + 200_000))
    result = run_tiny(f, store)
    (p,) = result.report.problems
    assert p.code == "too_large"
    assert p.message == "the file is 1.2 MB; the limit is 1 MB (setting TWINNING_MAX_UPLOAD_MB)"


# The child reaches the moment to kill through run_import's own progress callback: after
# 1,000 records are inserted (inside the open transaction) it says so and blocks.
KILL_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from test_import_support import tiny_gazetteer
    from twinning.store.db import open_store
    from twinning.imports.keep import run_import
    store = open_store({url!r}, gazetteer=tiny_gazetteer())
    never = threading.Event()

    def pause_midway(rows, stored):
        if stored >= 1000:
            print("PAUSED", file=sys.stderr, flush=True)
            never.wait(60)

    run_import(
        {file!r}, store, resolver=tiny_gazetteer().resolve, user="k", chunk_rows=500,
        progress=pause_midway,
    )
    print("FINISHED", flush=True)
    """
)


def test_import_killed_midway_leaves_the_store_as_it_was(store, tmp_path):
    url = store.url
    before = (count(store, "figures"), count(store, "batches"), store.data_version())
    store.dispose()
    f = _big_csv(tmp_path / "kill.csv", 5000)
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), url=url, file=str(f))
    env = {**os.environ, "TWINNING_UPLOAD_DIR": str(tmp_path / "uploads")}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stderr:
            if "PAUSED" in line:
                break
        else:
            pytest.fail(f"import never paused: {proc.stdout.read()}")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    from twinning.store.db import open_store

    reopened = open_store(url, gazetteer=tiny_gazetteer())
    assert (
        count(reopened, "figures"),
        count(reopened, "batches"),
        reopened.data_version(),
    ) == before
    # and the store is writable again: the same file imports in full
    result = run_tiny(f, reopened)
    assert result.ok and result.records == 10_000


def test_report_csv_neutralises_formulas(store, tmp_path):
    f = tmp_path / "evil.csv"
    f.write_text(
        HEADER + '上海市,"=HYPERLINK(""http://x"",""y"")",2020,1,1\n上海市,@SUM(A1),2020,2,1\n',
        encoding="utf-8",
    )
    result = run_tiny(f, store)
    assert not result.ok
    rows = list(csv.DictReader(io.StringIO(result.report.to_csv())))
    values = [r["value"] for r in rows if r["code"] == "unknown_place"]
    assert values == ['\'=HYPERLINK("http://x","y")', "'@SUM(A1)"]
    for r in rows:
        for cell in r.values():
            assert not cell.startswith(("=", "+", "-", "@"))
    assert neutralise(-5) == -5 and neutralise("-5") == "'-5" and neutralise("ok") == "ok"
    assert report_csv([]).splitlines()[0].startswith("severity,file,row")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_template_round_trips(store, tmp_path, suffix):
    path = write_template(tmp_path / f"t{suffix}")
    result = run_tiny(path, store, dry_run=True)
    # the example row is recognised and skipped, every header maps to its field
    assert result.ok
    assert [p.code for p in result.report.problems] == ["example_row", "no_rows"][:1]
    mapping = {h: v["field"] for h, v in result.as_json()["mapping"]["columns"].items()}
    assert mapping == {
        h: f
        for h, f in zip(
            headers(),
            [
                "program",
                "donor",
                "recipient_province",
                "recipient_prefecture",
                "recipient_county",
                "year",
                "project",
                "funds_cny",
                "projects",
                "people_lifted",
                "source",
                "note",
            ],
            strict=True,
        )
    }
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["导入 Import", "说明 Fields"]


def test_cli_import_success_and_failure(store, tmp_path, monkeypatch, capsys):
    # TWINNING_LANG defaults to zh; this test reads the English lines (zh: test_import_zh.py)
    monkeypatch.setenv("TWINNING_LANG", "en")
    monkeypatch.setattr(import_cli, "_open_store", lambda: store)
    monkeypatch.setattr("twinning.imports.keep.default_resolver", lambda: tiny_gazetteer().resolve)
    from twinning.cli import main

    report = tmp_path / "report.csv"
    assert main(["import", str(CORPUS / "bad_negative.csv"), "--report", str(report)]) == 1
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert not out["ok"] and out["errors"] == 1
    assert "ERROR bad_negative.csv, row 2, column 帮扶资金(万元): funds_cny is negative" in cap.err
    assert "Traceback" not in cap.err
    assert "funds_cny is negative" in report.read_text(encoding="utf-8-sig")

    assert main(["import", str(CORPUS / "good_gbk_wide.csv"), "--user", "cli"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["batch_id"] and out["rows"] == 2 and out["records"] == 6
    assert out["totals"]["funds_cny"] == {"value": 15_505_000, "unit": "CNY"}
    assert out["encoding"] == "gb18030"

    assert main(["batches", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    batch_id = next(b["id"] for b in listed if b["kind"] == "import")
    assert main(["batches", "undo", str(batch_id), "--user", "cli"]) == 0
    capsys.readouterr()
    assert main(["batches", "undo", str(batch_id)]) == 1
    assert "already undone" in capsys.readouterr().err


def test_cli_mapping_file_overrides_the_automatic_match(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TWINNING_LANG", "en")
    monkeypatch.setattr(import_cli, "_open_store", lambda: store)
    monkeypatch.setattr("twinning.imports.keep.default_resolver", lambda: tiny_gazetteer().resolve)
    f = tmp_path / "odd.csv"
    f.write_text("援方,对象,时间,钱\n上海市,富宁县,2020,5\n", encoding="utf-8")
    m = tmp_path / "m.json"
    m.write_text(
        json.dumps(
            {
                "columns": {
                    "援方": "donor",
                    "对象": "recipient",
                    "时间": "year",
                    "钱": {"field": "funds_cny", "unit": "亿元"},
                }
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    from twinning.cli import main

    assert main(["import", str(f), "--mapping", str(m), "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals"] == {"funds_cny": {"value": 500_000_000, "unit": "CNY"}}
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    assert main(["import", str(f), "--mapping", str(bad)]) == 1
    assert "is not valid JSON" in capsys.readouterr().err


def test_cli_template(tmp_path, capsys):
    from twinning.cli import main

    assert main(["template", "-o", str(tmp_path / "t.xlsx")]) == 0
    assert (tmp_path / "t.xlsx").exists()
    assert main(["template", "-o", str(tmp_path / "t.txt")]) == 1
