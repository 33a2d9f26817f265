"""The import page: its steps called as plain functions, sign-in enforced on the server."""

from __future__ import annotations

import base64

import pytest
from test_import_support import count, page_env, upload_data_url

from components import import_page as page


@pytest.fixture
def env(tmp_path, monkeypatch):
    return page_env(tmp_path, monkeypatch)


def test_sign_in_checks_credentials(env):
    token, msg = page.sign_in("admin", "wrong", "en")
    assert token == "" and msg == "Wrong user name or password."
    token, msg = page.sign_in("admin", "s3cret", "zh")
    assert msg == "已登录：admin" and page.token_user(token) == "admin"
    assert page.token_user(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # forged
    assert page.token_user("admin:99999999999:abc") is None  # the old signed-token shape
    assert page.token_user(None) is None and page.token_user(["x"]) is None


def test_sign_out_ends_the_session_for_every_later_request(env):
    token, _ = page.sign_in("admin", "s3cret", "en")
    assert page.sign_out(token, "en") == "Signed out: this session has ended."
    assert page.token_user(token) is None
    url = upload_data_url("good_utf8_wide.csv")
    out = page.receive_upload(url, "good_utf8_wide.csv", token, "en")  # a copied token replayed
    assert out["file"] is None and out["message"].startswith("Importing and undoing")
    assert page.undo(1, token, "en", env).startswith("Importing and undoing")


def test_sign_in_is_off_without_a_password(env, monkeypatch):
    monkeypatch.setenv("TWINNING_ADMIN_PASSWORD", "")
    token, msg = page.sign_in("admin", "", "en")
    assert token == "" and "importing is off" in msg


def test_roles_viewer_reads_importer_undoes_its_own_admin_any(env):
    from twinning.auth import default_auth

    auth = default_auth()
    for name in ("vera", "ivan", "ines"):
        auth.remove_user(name)
    auth.add_user("vera", "viewer", "viewer-pass")
    auth.add_user("ivan", "importer", "importer-pass")
    auth.add_user("ines", "importer", "importer-pass")
    viewer, _ = page.sign_in("vera", "viewer-pass", "en")
    ivan, _ = page.sign_in("ivan", "importer-pass", "en")
    ines, _ = page.sign_in("ines", "importer-pass", "en")
    admin, _ = page.sign_in("admin", "s3cret", "en")
    url = upload_data_url("good_gbk_wide.csv")
    refused = page.receive_upload(url, "good_gbk_wide.csv", viewer, "en")
    assert refused["file"] is None and "need the importer or admin role" in refused["message"]
    assert refused["message"].startswith("vera is signed in as viewer")
    zh = page.receive_upload(url, "good_gbk_wide.csv", viewer, "zh")["message"]
    assert zh.startswith("vera 的角色是 查看者")
    out = page.receive_upload(url, "good_gbk_wide.csv", ivan, "en")
    labels = [m["label"] for m in out["mapping"]]
    fields = [m["field"] for m in out["mapping"]]
    done = page.confirm_import(out["file"], labels, fields, ivan, "en", env)
    assert done["ok"], done["message"]
    batch = done["result"]["batch_id"]
    # the batch records the signed-in user; names are shown to signed-in users only
    anonymous = {r["id"]: r for r in page.batches_rows(env)}
    signed_in = {r["id"]: r for r in page.batches_rows(env, viewer)}
    assert signed_in[str(batch)]["user"] == "ivan"
    assert signed_in[str(batch)]["file_name"] == "good_gbk_wide.csv"
    assert anonymous[str(batch)]["user"] == "" and anonymous[str(batch)]["file_name"] == ""
    assert anonymous[str(batch)]["row_count"] == signed_in[str(batch)]["row_count"]
    assert "only they or an admin" in page.undo(batch, ines, "en", env)
    assert "need the importer or admin role" in page.undo(batch, viewer, "en", env)
    assert page.undo(batch, admin, "en", env) == f"Batch {batch} was undone."
    assert {r["id"]: r for r in page.batches_rows(env, admin)}[str(batch)]["undone_by"] == "admin"


def test_everything_that_changes_data_needs_sign_in(env):
    out = page.receive_upload(
        upload_data_url("good_utf8_wide.csv"), "good_utf8_wide.csv", None, "en"
    )
    assert out["file"] is None and out["message"].startswith("Importing and undoing")
    before = count(env, "figures")
    res = page.confirm_import(
        {"id": "0" * 32 + ".csv", "name": "x.csv"}, [], [], "forged", "en", env
    )
    assert not res["ok"] and count(env, "figures") == before
    assert page.undo(1, None, "en", env).startswith("Importing and undoing")


def test_upload_preview_mapping_check_confirm_undo(env):
    token, _ = page.sign_in("admin", "s3cret", "en")
    out = page.receive_upload(
        upload_data_url("good_gbk_wide.csv"), "good_gbk_wide.csv", token, "en"
    )
    assert out["file"]["name"] == "good_gbk_wide.csv"
    assert [c["name"] for c in out["columns"]] == [
        "帮扶方",
        "受援县",
        "年度",
        "帮扶资金(万元)",
        "项目数",
        "脱贫人口",
        "备注",
    ]
    assert out["preview"][0]["3"] == "1,200"
    assert [m["field"] for m in out["mapping"]] == [
        "donor",
        "recipient_county",
        "year",
        "funds_cny",
        "projects",
        "people_lifted",
        "note",
    ]
    labels = [m["label"] for m in out["mapping"]]
    fields = [m["field"] for m in out["mapping"]]
    # the user decides people_lifted is not to be imported
    fields[5] = "__none__"
    checked = page.check_file(out["file"], labels, fields, token, "en", env)
    assert checked["ok"] and checked["message"].startswith("Check passed: 2 rows, 4 records")
    assert checked["result"]["batch_id"] is None
    done = page.confirm_import(out["file"], labels, fields, token, "en", lambda: env)
    assert done["ok"] and done["result"]["records"] == 4
    batch = done["result"]["batch_id"]
    assert done["message"] == f"Imported as batch {batch}: 4 records. The map now shows them."
    rows = page.batches_rows(env, token)
    assert rows[0]["id"] == str(batch) and rows[0]["user"] == "admin"
    assert page.undo(batch, token, "en", env) == f"Batch {batch} was undone."
    assert page.undo(batch, token, "en", env).startswith(f"batch {batch} was already undone")


def test_bad_upload_shows_the_report(env):
    token, _ = page.sign_in("admin", "s3cret", "en")
    out = page.receive_upload(
        upload_data_url("bad_unknown_unit.csv"), "bad_unknown_unit.csv", token, "en"
    )
    assert [p["code"] for p in out["problems"]] == ["bad_unit"]
    out = page.receive_upload(upload_data_url("bad_binary.csv"), "bad_binary.csv", token, "zh")
    assert out["file"] is None and out["problems"][0]["code"] == "binary"


def test_oversize_upload_is_refused_before_decoding(env, monkeypatch):
    monkeypatch.setenv("TWINNING_MAX_UPLOAD_MB", "1")
    token, _ = page.sign_in("admin", "s3cret", "en")
    big = "data:text/csv;base64," + base64.b64encode(b"x" * (1024 * 1024 + 300_000)).decode()
    out = page.receive_upload(big, "big.csv", token, "en")
    assert out["file"] is None
    assert out["message"].startswith("the file is 1.3 MB; the limit is 1 MB")


def test_file_ids_cannot_escape_the_upload_folder(env):
    assert page._incoming_path("../../etc/passwd") is None
    assert page._incoming_path("a" * 32 + ".csv") is not None


def test_layout_and_callbacks_register(env):
    import dash

    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    app.layout = page.layout("en")
    page.register_callbacks(app, lambda: env)
    outputs = " ".join(app.callback_map)
    for needed in (
        "imp-who.data",
        "imp-file.data",
        "imp-download.data",
        "imp-undo-status.children",
    ):
        assert needed in outputs
    # nothing from a file is ever rendered as HTML or Markdown
    text = repr(page.layout("zh"))
    assert "dangerously_allow_html" not in text and "Markdown" not in text
    assert "导入数据" in text and "Import data" in repr(page.layout("en"))


def test_template_downloads_from_the_page_without_sign_in(env):
    import base64
    import io

    from openpyxl import load_workbook

    from components import import_page
    from twinning.imports.template import headers

    for lang, name in (("zh", "模板.xlsx"), ("en", "template.xlsx")):
        payload = import_page.template_download(lang)
        assert payload["filename"] == name
        book = load_workbook(io.BytesIO(base64.b64decode(payload["content"])))
        first = [c.value for c in next(book.worksheets[0].iter_rows(max_row=1))]
        assert first[: len(headers())] == headers()
