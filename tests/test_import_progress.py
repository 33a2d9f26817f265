"""The import page's progress: a file next to the upload while a check or import runs."""

from __future__ import annotations

import json

import pytest
from test_import_support import CORPUS, page_env, upload_data_url

from components import import_page as page
from twinning.imports import keep


@pytest.fixture
def env(tmp_path, monkeypatch):
    return page_env(tmp_path, monkeypatch)


def _upload(name: str, token: str) -> dict:
    out = page.receive_upload(upload_data_url(name), name, token, "en")
    assert out["file"] is not None
    out["labels"] = [m["label"] for m in out["mapping"]]
    out["fields"] = [m["field"] for m in out["mapping"]]
    return out


def _spy_on_runs(monkeypatch, file_id: str) -> list:
    """Run imports one row at a time; after each progress call, note what the file says."""
    monkeypatch.setattr(page, "PROGRESS_EVERY_S", 0)  # no throttle: every call is written
    real = keep.run_import
    on_disk: list = []

    def spy(*args, progress=None, **kw):
        assert progress is not None  # check_file passes one
        on_disk.append(page.read_progress(file_id))  # written before the run starts

        def seen(rows, stored):
            progress(rows, stored)
            on_disk.append(page.read_progress(file_id))

        return real(*args, progress=seen, chunk_rows=1, **kw)

    monkeypatch.setattr(keep, "run_import", spy)
    return on_disk


def _incoming(_env) -> list[str]:
    return sorted(p.name for p in page._incoming_dir().iterdir())


def test_a_check_and_an_import_write_growing_progress_then_remove_it(env, monkeypatch):
    token, _ = page.sign_in("admin", "s3cret", "en")
    out = _upload("good_gbk_wide.csv", token)
    file_id = out["file"]["id"]
    total = page.estimate_rows(page._incoming_path(file_id))
    assert total == 5  # six lines: a header and five below it (blank and 合计 rows included)
    on_disk = _spy_on_runs(monkeypatch, file_id)

    checked = page.check_file(out["file"], out["labels"], out["fields"], token, "en", env)
    assert checked["ok"]
    assert on_disk[0] == {**on_disk[0], "rows": 0, "stored": 0, "total": 5, "phase": "check"}
    assert all(r is not None and r["phase"] == "check" for r in on_disk)
    rows = [r["rows"] for r in on_disk]
    # rows read (a 合计 row included) grow one at a time up to at least the rows used
    assert rows == sorted(rows) and len(set(rows)) >= 3
    assert rows[-1] >= checked["result"]["rows"] > 0
    assert {r["stored"] for r in on_disk} == {0}  # a check stores nothing
    assert isinstance(on_disk[-1]["updated"], float)
    assert page.read_progress(file_id) is None
    assert _incoming(env) == [file_id]  # the upload stays for the confirm; no progress file

    on_disk.clear()
    done = page.confirm_import(out["file"], out["labels"], out["fields"], token, "en", env)
    assert done["ok"] and done["result"]["records"] == 6
    assert all(r is not None and r["phase"] == "import" for r in on_disk)
    stored = [r["stored"] for r in on_disk]
    assert stored == sorted(stored) and stored[0] == 0 and stored[-1] == 6
    assert _incoming(env) == []  # imported: the upload and the progress file are gone


def test_the_progress_file_goes_when_a_run_fails(env, monkeypatch):
    token, _ = page.sign_in("admin", "s3cret", "en")
    out = _upload("bad_unknown_place.csv", token)
    file_id = out["file"]["id"]
    on_disk = _spy_on_runs(monkeypatch, file_id)
    res = page.check_file(out["file"], out["labels"], out["fields"], token, "en", env)
    assert not res["ok"] and on_disk and on_disk[0]["rows"] == 0
    assert _incoming(env) == [file_id]

    def broken(*_a, **_kw):
        assert page.read_progress(file_id) is not None
        raise RuntimeError("store went away")

    monkeypatch.setattr(keep, "run_import", broken)
    with pytest.raises(RuntimeError):
        page.check_file(out["file"], out["labels"], out["fields"], token, "en", env)
    assert _incoming(env) == [file_id]


def test_rows_that_all_fail_still_move_the_progress(env, tmp_path):
    """A file whose every row is refused yields no records; progress counts rows read."""
    head = (CORPUS / "bad_unknown_place.csv").read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "all_bad.csv"
    rows = [f"上海市,无此县{i},2020,100,3,," for i in range(10)]
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    calls: list[tuple[int, int]] = []
    result = keep.run_import(
        path, env, dry_run=True, progress=lambda r, s: calls.append((r, s)), chunk_rows=3
    )
    assert not result.ok and result.records == 0
    seen = [r for r, _ in calls]
    assert seen == sorted(seen) and len(calls) >= 3 and 0 < seen[1] < 10 and seen[-1] == 10


def test_read_progress_takes_only_upload_ids(env, tmp_path):
    folder = page._incoming_dir()
    folder.mkdir(parents=True)
    good = "a" * 32 + ".csv"
    assert page._progress_path(good) == folder / ("a" * 32 + ".progress.json")
    assert page.read_progress(good) is None  # no run: nothing
    # a record planted outside the folder, and names that try to reach it
    secret = {"rows": 7, "stored": 7, "total": 9, "phase": "check", "updated": 1.0}
    (tmp_path / "uploads" / "secret.progress.json").write_text(json.dumps(secret))
    (folder / "b.progress.json").write_text(json.dumps(secret))
    for bad in (
        "../secret.csv",
        "../secret",
        "../../etc/passwd",
        "b",
        "b.progress.json",
        "A" * 32 + ".csv",
        "a" * 32 + ".csv/../../secret",
        None,
        7,
        {"id": good},
    ):
        assert page._progress_path(bad) is None
        assert page.read_progress(bad) is None
        page.write_progress(bad, secret)  # ignored, never raises
        page.clear_progress(bad)
    assert sorted(p.name for p in folder.iterdir()) == ["b.progress.json"]
    assert (tmp_path / "uploads" / "secret.progress.json").exists()


def test_read_progress_ignores_damaged_records(env):
    page._incoming_dir().mkdir(parents=True)
    good = "c" * 32 + ".xlsx"
    page.write_progress(good, {"rows": 3, "stored": 1, "total": 0, "phase": "import"})
    assert page.read_progress(good) == {
        "rows": 3,
        "stored": 1,
        "total": None,
        "phase": "import",
        "updated": None,
    }
    path = page._progress_path(good)
    for junk in ("not json", "[1, 2]", '{"rows": "3", "stored": 0}', '{"rows": -1, "stored": 0}'):
        path.write_text(junk)
        assert page.read_progress(good) is None
    page.clear_progress(good)
    assert not path.exists()
    page.clear_progress(good)  # twice is fine


def test_progress_writer_throttles(env):
    page._incoming_dir().mkdir(parents=True)
    file_id = "d" * 32 + ".csv"
    writer = page.ProgressWriter(file_id, "check", 100, every=60)
    for n in range(50):
        writer(n, 0)
    assert writer.writes == 1 and page.read_progress(file_id)["rows"] == 0
    writer.write(49, 0)  # an explicit write is never skipped
    assert page.read_progress(file_id)["rows"] == 49
    fast = page.ProgressWriter(file_id, "import", None, every=0)
    for n in range(5):
        fast(n, 2 * n)
    assert fast.writes == 5 and page.read_progress(file_id) == {
        **page.read_progress(file_id),
        "rows": 4,
        "stored": 8,
        "total": None,
        "phase": "import",
    }
    assert [p.name for p in page._incoming_dir().iterdir()] == ["d" * 32 + ".progress.json"]


def test_progress_text_in_both_languages():
    check = {"rows": 120000, "stored": 0, "total": 500000, "phase": "check"}
    assert page.progress_text(check, "zh") == "正在检查：已读 120,000 / 约 500,000 行"
    assert page.progress_text(check, "en") == "Checking: 120,000 of about 500,000 rows read"
    unknown = {**check, "total": None}
    assert page.progress_text(unknown, "zh") == "正在检查：已读 120,000 行"
    assert page.progress_text(unknown, "en") == "Checking: 120,000 rows read"
    past = {**check, "total": 100000}  # the estimate was low: the count alone
    assert page.progress_text(past, "en") == "Checking: 120,000 rows read"
    imp = {"rows": 1500, "stored": 4500, "total": 2000, "phase": "import"}
    assert (
        page.progress_text(imp, "zh") == "正在导入：已检查 1,500 / 约 2,000 行，已写入 4,500 条记录"
    )
    assert (
        page.progress_text(imp, "en")
        == "Importing: 1,500 of about 2,000 rows checked, 4,500 records written"
    )
    assert page.progress_text({**imp, "total": None}, "zh") == (
        "正在导入：已检查 1,500 行，已写入 4,500 条记录"
    )
    assert page.progress_text(None, "zh") == "准备中……"
    assert page.progress_text(None, "en") == "Preparing…"
    assert page.progress_text(None, "fr") == "准备中……"  # the page's default language


def test_progress_bar_and_view(env):
    assert page.progress_bar(None) == (None, 1)  # indeterminate
    assert page.progress_bar({"rows": 5, "total": None}) == (None, 1)
    assert page.progress_bar({"rows": 5, "total": 20}) == (5, 20)
    assert page.progress_bar({"rows": 25, "total": 20}) == (20, 20)
    page._incoming_dir().mkdir(parents=True)
    file = {"id": "e" * 32 + ".csv", "name": "x.csv"}
    page.write_progress(file["id"], {"rows": 10, "stored": 0, "total": 40, "phase": "check"})
    token, _ = page.sign_in("admin", "s3cret", "en")
    assert page.progress_view(file, token, "en") == (10, 40, "Checking: 10 of about 40 rows read")
    assert page.progress_view(file, None, "en") == (None, 1, "Preparing…")  # signed-in only
    assert page.progress_view(None, token, "zh") == (None, 1, "准备中……")
    assert page.progress_view({"id": "../x"}, token, "zh") == (None, 1, "准备中……")


def test_estimate_rows(tmp_path):
    assert page.estimate_rows(CORPUS / "good_utf8_wide.csv") == 2
    assert page.estimate_rows(CORPUS / "good_wide.xlsx") == 3
    assert page.estimate_rows(CORPUS / "bad_header_only.csv") is None
    assert page.estimate_rows(CORPUS / "bad_empty.csv") is None
    assert page.estimate_rows(CORPUS / "bad_old_excel.xls") is None
    assert page.estimate_rows(tmp_path / "missing.csv") is None
    no_break = tmp_path / "no_break.csv"
    no_break.write_bytes(b"a,b\n1,2\n3,4")
    assert page.estimate_rows(no_break) == 2
    no_break.write_bytes(b"a,b\n1,2\n3,4\n5,6\n")  # changed since: counted again
    assert page.estimate_rows(no_break) == 3
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("帮扶方,受援县\n上海市,富宁县\n上海市,广南县\n".encode("utf-16"))
    assert page.estimate_rows(utf16) == 2


def test_estimate_rows_of_a_workbook_without_a_saved_size(tmp_path):
    from openpyxl import Workbook, load_workbook

    book = Workbook(write_only=True)  # writes no <dimension>: the rows are counted
    sheet = book.create_sheet("台账")
    for i in range(41):
        sheet.append(["帮扶方", "受援县"] if i == 0 else ["上海市", f"县{i}"])
    path = tmp_path / "big.xlsx"
    book.save(path)
    assert load_workbook(path, read_only=True).worksheets[0].max_row is None
    assert page.estimate_rows(path) == 40


def test_layout_has_a_hidden_progress_area_polled_while_checking(env):
    import dash

    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    app.layout = page.layout("en")
    page.register_callbacks(app, lambda: env)
    outputs = " ".join(app.callback_map)
    for needed in ("imp-progress-bar.value", "imp-progress-bar.max", "imp-progress-text.children"):
        assert needed in outputs
    text = repr(page.layout("en"))
    assert "imp-progress-tick" in text and "imp-progress-bar" in text
    tick = _find(page.layout("zh"), "imp-progress-tick")
    assert tick.disabled is True and tick.interval == page.PROGRESS_POLL_MS
    area = _find(page.layout("zh"), "imp-progress")
    assert area.style == {"display": "none"}
    assert _find(area, "imp-progress-text").children == "准备中……"
    (check,) = [c for c in app._callback_list if "imp-result-status.children" in c["output"]]
    assert check["running"]["running"]["imp-progress-tick.disabled"] is False
    assert check["running"]["runningOff"]["imp-progress-tick.disabled"] is True
    assert check["running"]["running"]["imp-progress.style"] == {"display": "block"}
    assert check["running"]["runningOff"]["imp-progress.style"] == {"display": "none"}
    assert "dangerously_allow_html" not in text and "Markdown" not in text


def _find(component, wanted: str):
    if getattr(component, "id", None) == wanted:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found = _find(child, wanted)
            if found is not None:
                return found
    return None
