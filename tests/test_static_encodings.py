"""The page's scripts and styles: encoded once per process, brotli's best made once for
all workers and kept in the shared folder, revalidated with 304 (components/static_encodings.py,
#7)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import brotli
import dash
import pytest

from components import static_encodings as se
from components.app import _compress


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("TWINNING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(se, "_kept", type(se._kept)())
    monkeypatch.setattr(se, "_kept_bytes", [0])
    monkeypatch.setattr(se, "_hashes", {})
    monkeypatch.setattr(se, "_queued", set())
    assets = tmp_path / "assets"
    assets.mkdir()
    rng = random.Random(7)  # a script of ~200 KB that compresses as code does
    words = ["function", "return", "var", "this", "plotly", "geo", "=>", "{", "}", ";"]
    (assets / "big.js").write_text(" ".join(rng.choice(words) for _ in range(40_000)))
    (assets / "style.css").write_text("body { color: #111; }\n" * 200)
    app = dash.Dash(__name__, assets_folder=str(assets), serve_locally=True)
    app.layout = dash.html.Div("x")
    _compress(app)
    se.register(app)
    return app.server.test_client(), assets


def _count_compressions(monkeypatch, of: bytes) -> list[int]:
    """The qualities ``of`` is compressed with from now on (other threads of the test
    session, an app's warm-up say, may compress other things meanwhile)."""
    made: list[int] = []
    real = brotli.compress

    def counting(body, **kw):
        if bytes(body) == of:
            made.append(kw.get("quality", 11))
        return real(body, **kw)

    monkeypatch.setattr(brotli, "compress", counting)
    return made


def test_a_script_is_compressed_once_and_then_served_best_from_the_shared_folder(
    client, monkeypatch, tmp_path
):
    c, assets = client
    body = (assets / "big.js").read_bytes()
    made = _count_compressions(monkeypatch, body)
    first = c.get("/assets/big.js?m=1", headers={"Accept-Encoding": "gzip, br"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
    assert brotli.decompress(first.data) == body
    assert first.headers["Cache-Control"] == se.IMMUTABLE  # Dash's ?m= names this version
    assert first.headers["ETag"].endswith(':br"') and "Accept-Encoding" in first.headers["Vary"]
    se._jobs.join()  # the best encoding, made in the background
    assert made == [se.QUICK_BR, se.BEST_BR]
    files = list((tmp_path / "cache" / "static-br").glob("*.br"))
    assert len(files) == 1 and brotli.decompress(files[0].read_bytes()) == body
    second = c.get("/assets/big.js?m=1", headers={"Accept-Encoding": "br"})
    assert second.data == files[0].read_bytes() and len(second.data) <= len(first.data)

    # its best encoding in memory: the file is not read at all (plotly.js, 1.5 MB read in
    # 8 KB blocks, cost a worker ~9 ms a request, #7), and a changed file is read again
    from werkzeug.wsgi import FileWrapper

    reads: list[int] = []
    real_next = FileWrapper.__next__
    monkeypatch.setattr(FileWrapper, "__next__", lambda self: reads.append(1) or real_next(self))
    again = c.get("/assets/big.js?m=1", headers={"Accept-Encoding": "br"})
    assert again.data == second.data and not reads
    import os

    changed = body + b" /* changed */"
    (assets / "big.js").write_bytes(changed)
    os.utime(assets / "big.js", (2_000_000_000, 2_000_000_000))
    fresh = c.get("/assets/big.js?m=2", headers={"Accept-Encoding": "br"})
    assert brotli.decompress(fresh.data) == changed and reads
    se._jobs.join()
    (assets / "big.js").write_bytes(body)
    os.utime(assets / "big.js", (2_000_000_100, 2_000_000_100))

    # another worker (nothing in its memory) reads the file: nothing compressed again
    monkeypatch.setattr(se, "_kept", type(se._kept)())
    monkeypatch.setattr(se, "_hashes", {})
    third = c.get("/assets/big.js?m=1", headers={"Accept-Encoding": "br"})
    assert third.data == second.data and made == [se.QUICK_BR, se.BEST_BR]

    # a file that does not hold this script is never served
    files[0].write_bytes(brotli.compress(b"alert(1)"))
    monkeypatch.setattr(se, "_kept", type(se._kept)())
    monkeypatch.setattr(se, "_hashes", {})
    fourth = c.get("/assets/big.js?m=1", headers={"Accept-Encoding": "br"})
    assert brotli.decompress(fourth.data) == body


def test_gzip_identity_revalidation_and_what_is_left_alone(client):
    c, assets = client
    css = (assets / "style.css").read_bytes()
    zipped = c.get("/assets/style.css?m=1", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == css
    plain = c.get("/assets/style.css?m=1", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.data == css
    tag = c.get("/assets/style.css?m=1", headers={"Accept-Encoding": "br"}).headers["ETag"]
    again = c.get("/assets/style.css?m=1", headers={"Accept-Encoding": "br", "If-None-Match": tag})
    assert again.status_code == 304 and not again.data
    # without Dash's version mark the browser asks again each time
    assert c.get("/assets/style.css").headers.get("Cache-Control") != se.IMMUTABLE
    # a file that is not there, and Dash's own scripts (versioned names: a year already)
    assert c.get("/assets/nothere.js", headers={"Accept-Encoding": "br"}).status_code == 404
    suite = c.get("/_dash-component-suites/dash/html/dash_html_components.min.js",
                  headers={"Accept-Encoding": "br"})  # fmt: skip
    assert suite.status_code == 200 and suite.headers["Content-Encoding"] == "br"
    shipped = Path(dash.html.__file__).parent / "dash_html_components.min.js"
    assert brotli.decompress(suite.data) == shipped.read_bytes()


def test_the_memory_kept_is_bounded(monkeypatch):
    monkeypatch.setattr(se, "_kept", type(se._kept)())
    monkeypatch.setattr(se, "_kept_bytes", [0])
    monkeypatch.setattr(se, "MEMORY_BYTES", 3000)
    monkeypatch.setenv("TWINNING_CACHE_DIR", "off")  # quick encodings only
    rng = random.Random(3)
    for i in range(10):
        body = bytes(rng.getrandbits(8) for _ in range(1000))  # incompressible
        assert brotli.decompress(se.encoded(f"d{i}", body, "br")) == body
    assert se._kept_bytes[0] <= 3000 and len(se._kept) <= 3
    assert se._kept_bytes[0] == sum(len(v[0]) for v in se._kept.values())
