"""Web previews, checks and imports in a child process with a memory and time limit (#12).

The page's functions are called as the callbacks call them, with TWINNING_IMPORT_CHILD=1:
a normal file gives the same answer as in the server process; a file that needs more memory
than the limit, or a run longer than the time limit, fails with a message naming the limit
in the page's language, leaves the store as it was, and removes the upload and its progress.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterable
from pathlib import Path

import pytest
from hostile_files import CSV_HEADER, MAIN, csv_rows, workbook
from test_import_support import count, page_env, upload_data_url

from components import import_page as page
from twinning.imports import jobs

TINY = "test_import_support:tiny_resolver"  # the child's resolver: the tiny gazetteer


@pytest.fixture
def env(tmp_path, monkeypatch):
    store = page_env(tmp_path, monkeypatch)
    monkeypatch.setenv("TWINNING_IMPORT_CHILD", "1")
    return store


def _data_url(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


def _mapping(out: dict) -> tuple[list, list]:
    return [m["label"] for m in out["mapping"]], [m["field"] for m in out["mapping"]]


def _incoming() -> list[str]:
    folder = page._incoming_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _same(a: object) -> object:
    return json.loads(json.dumps(a))


def _strings_workbook(path: Path, n: int = 40_000, width: int = 1000) -> Path:
    """A workbook whose table of texts holds ``n`` random texts of ``width`` characters:
    40 MB of XML in 23 MB, inside every guard (parts, sizes, ratio, counts), that openpyxl
    keeps in memory whole when it opens the workbook (about 60 MB more than a small file)."""
    rng = random.Random(7)

    def strings() -> Iterable[bytes]:
        yield b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="%s">' % MAIN.encode()
        for start in range(0, n, 1000):
            yield b"".join(
                b"<si><t>%s</t></si>" % rng.randbytes(width // 2).hex().encode()
                for _ in range(min(1000, n - start))
            )
        yield b"</sst>"

    return workbook(path, shared=strings())


def test_a_normal_file_gives_the_same_preview_check_and_import_in_the_child(env, monkeypatch):
    token, _ = page.sign_in("admin", "s3cret", "en")
    url = upload_data_url("good_gbk_wide.csv")
    monkeypatch.setenv("TWINNING_IMPORT_CHILD", "0")
    here = page.receive_upload(url, "good_gbk_wide.csv", token, "en")
    labels, fields = _mapping(here)
    checked_here = page.check_file(here["file"], labels, fields, token, "en", env)
    monkeypatch.setenv("TWINNING_IMPORT_CHILD", "1")
    child = page.receive_upload(url, "good_gbk_wide.csv", token, "en")
    assert child["file"]["id"] != here["file"]["id"]  # each upload its own file
    for key in ("preview", "columns", "mapping", "problems", "read", "message"):
        assert _same(child[key]) == _same(here[key]), key
    assert child["preview"][0]["3"] == "1,200"
    before = count(env, "figures")
    checked = page.check_file(child["file"], labels, fields, token, "en", env, resolver=TINY)
    assert checked["ok"] and checked["message"] == checked_here["message"]
    assert checked["message"].startswith("Check passed: 2 rows, 6 records")
    assert _same(checked["result"]) == _same(checked_here["result"])
    assert count(env, "figures") == before  # a check stores nothing
    done = page.confirm_import(child["file"], labels, fields, token, "en", env, resolver=TINY)
    assert done["ok"], done["message"]
    assert done["message"] == f"Imported as batch {done['result']['batch_id']}: 6 records. " + (
        "The map now shows them."
    )
    assert count(env, "figures") == before + 6
    assert page.batches_rows(env, token)[0]["user"] == "admin"
    # the upload and its progress file are gone; the upload the check left stays
    assert _incoming() == [here["file"]["id"]]


def test_a_file_needing_more_memory_than_the_limit_fails_alone(env, monkeypatch, tmp_path):
    token, _ = page.sign_in("admin", "s3cret", "zh")
    small = upload_data_url("good_gbk_wide.csv")
    # the limit: a little above what a small file's preview needs here
    stats: dict = {}
    path = tmp_path / "small.csv"
    path.write_bytes(base64.b64decode(small.partition(",")[2]))
    jobs.run_job({"job": "preview", "path": str(path), "n": 10}, jobs.Limits(4000, 120), stats)
    limit = stats["peak_mb"] + 25
    monkeypatch.setenv("TWINNING_IMPORT_MEMORY_MB", str(limit))
    assert page.receive_upload(small, "good_gbk_wide.csv", token, "zh")["file"] is not None
    before = (count(env, "figures"), count(env, "batches"))
    big = _strings_workbook(tmp_path / "strings.xlsx").read_bytes()
    out = page.receive_upload(_data_url(big), "strings.xlsx", token, "zh")
    assert out["file"] is None
    (problem,) = out["problems"]
    assert problem["code"] == "memory_limit" and problem["file"] == "strings.xlsx"
    assert out["message"] == (
        f"该文件的处理已停止：所需内存超过 {limit} MB，即单次导入的上限"
        "（设置项 TWINNING_IMPORT_MEMORY_MB）；未保存任何数据"
    )
    assert f"more than {limit} MB of memory" in problem["message"]
    assert "TWINNING_IMPORT_MEMORY_MB" in problem["suggestion_zh"]
    assert (count(env, "figures"), count(env, "batches")) == before
    assert len(_incoming()) == 1  # the small file's upload; the big one is removed
    # the server process goes on: the next small file previews as before
    assert page.receive_upload(small, "good_gbk_wide.csv", token, "zh")["preview"]


def test_an_import_past_the_time_limit_is_stopped_and_stores_nothing(env, monkeypatch):
    token, _ = page.sign_in("admin", "s3cret", "en")
    data = (CSV_HEADER + csv_rows(300_000)).encode()
    out = page.receive_upload(_data_url(data), "big.csv", token, "en")
    labels, fields = _mapping(out)
    file_id = out["file"]["id"]
    before = (count(env, "figures"), count(env, "batches"))
    monkeypatch.setenv("TWINNING_IMPORT_SECONDS", "4")
    stopped = page.confirm_import(out["file"], labels, fields, token, "en", env, resolver=TINY)
    assert not stopped["ok"] and stopped["result"] is None
    assert stopped["message"] == (
        "work on this file stopped: it took longer than 4 s, the limit of one import "
        "(setting TWINNING_IMPORT_SECONDS); nothing was stored"
    )
    (problem,) = stopped["problems"]
    assert problem["code"] == "time_limit" and problem["file"] == "big.csv"
    assert "用时超过 4 秒" in problem["message_zh"]
    assert (count(env, "figures"), count(env, "batches")) == before
    assert page.read_progress(file_id) is None
    assert _incoming() == []  # the upload and its progress file are removed
    # nothing is left locked: the next import goes through
    monkeypatch.setenv("TWINNING_IMPORT_SECONDS", "600")
    good = page.receive_upload(upload_data_url("good_gbk_wide.csv"), "g.csv", token, "en")
    labels, fields = _mapping(good)
    done = page.confirm_import(good["file"], labels, fields, token, "en", env, resolver=TINY)
    assert done["ok"] and count(env, "figures") == before[0] + 6


def test_a_child_that_dies_is_an_internal_error_with_a_reference_in_the_log(tmp_path, monkeypatch):
    log = tmp_path / "errors.log"
    monkeypatch.setenv("TWINNING_ERROR_LOG", str(log))
    with pytest.raises(jobs.ImportRefused) as caught:
        jobs.run_job({"job": "no such job", "name": "x.csv"}, jobs.Limits(4000, 60))
    (problem,) = caught.value.problems
    assert problem.code == "internal" and problem.file == "x.csv"
    ref = problem.message.split("(reference ")[1].split(")")[0]
    assert len(ref) == 8 and ref in problem.message_zh
    text = log.read_text(encoding="utf-8")
    assert f"[{ref}]" in text and "unknown job" in text
