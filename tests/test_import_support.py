"""Shared helpers for the import and store tests (no tests here): a tiny gazetteer, a store.

A handful of real places is enough to exercise resolution (including the two 朝阳区),
and keeps every import test independent of the boundary files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

CORPUS = Path(__file__).parent / "data" / "imports"

PLACES = [
    ("310000", "province", "上海市", "Shanghai", None, None),
    ("310112", "county", "闵行区", "Minhang District", "310000", None),
    ("530000", "province", "云南省", "Yunnan", None, None),
    (
        "532600",
        "prefecture",
        "文山壮族苗族自治州",
        "Wenshan Zhuang and Miao Autonomous Prefecture",
        "530000",
        None,
    ),
    ("532628", "county", "富宁县", "Funing County", "530000", "532600"),
    ("532627", "county", "广南县", "Guangnan County", "530000", "532600"),
    ("532626", "county", "丘北县", "Qiubei County", "530000", "532600"),
    ("530600", "prefecture", "昭通市", "Zhaotong", "530000", None),
    ("530627", "county", "镇雄县", "Zhenxiong County", "530000", "530600"),
    ("530628", "county", "彝良县", "Yiliang County", "530000", "530600"),
    ("110000", "province", "北京市", "Beijing", None, None),
    ("110105", "county", "朝阳区", "Chaoyang District", "110000", None),
    ("220000", "province", "吉林省", "Jilin", None, None),
    ("220100", "prefecture", "长春市", "Changchun", "220000", None),
    ("220104", "county", "朝阳区", "Chaoyang District", "220000", "220100"),
]

_GAZ = None


def tiny_gazetteer():
    global _GAZ
    if _GAZ is None:
        from twinning.gazetteer import Gazetteer

        cols = ["adcode", "level", "name_zh", "name_en", "province_adcode", "prefecture_adcode"]
        _GAZ = Gazetteer(pd.DataFrame(PLACES, columns=cols))
    return _GAZ


def tiny_resolver():
    """The tiny gazetteer's resolve: what a child process is told to use
    (``resolver="test_import_support:tiny_resolver"``)."""
    return tiny_gazetteer().resolve


def make_store(tmp_path: Path):
    """A real store (SQLite file) seeded with the reference data and the tiny places."""
    from twinning.store.db import open_store

    return open_store(f"sqlite:///{tmp_path / 'store.sqlite'}", gazetteer=tiny_gazetteer())


def count(store, table: str) -> int:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def run_tiny(path, store, **kw):
    """``run_import`` with the tiny gazetteer and a test user unless told otherwise."""
    from twinning.imports.keep import run_import

    kw.setdefault("resolver", tiny_gazetteer().resolve)
    kw.setdefault("user", "tester")
    return run_import(path, store, **kw)


def upload_data_url(name: str) -> str:
    """A corpus file as dcc.Upload hands it to the server (a base64 data URL)."""
    import base64

    data = (CORPUS / name).read_bytes()
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


def sign_in_env(monkeypatch) -> None:
    """Settings for the import page: an admin who can sign in, the tiny gazetteer."""
    monkeypatch.setenv("TWINNING_ADMIN_USER", "admin")
    monkeypatch.setenv("TWINNING_ADMIN_PASSWORD", "s3cret")
    monkeypatch.setattr("twinning.imports.keep.default_resolver", lambda: tiny_gazetteer().resolve)
    # previews, checks and imports in this process, where the tiny gazetteer is (a test of
    # the child process sets 1 and names tiny_resolver: tests/test_import_jobs.py)
    monkeypatch.setenv("TWINNING_IMPORT_CHILD", "0")


def page_env(tmp_path: Path, monkeypatch):
    """A tiny store, an upload folder in ``tmp_path`` and sign-in settings."""
    monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "uploads"))
    sign_in_env(monkeypatch)
    return make_store(tmp_path)
