"""The page's own small scripts and styles as one file each (components/page_bundle.py, #7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import page_bundle, static_encodings

TAG = re.compile(r'<script src="([^"]+)"></script>|<link rel="stylesheet" href="([^"]+)">')


@pytest.fixture(scope="module")
def app(reference_store):
    from components.app import create_app

    return create_app(reference_store)


def _tags(page: str) -> list[str]:
    return [a or b for a, b in TAG.findall(page)]


def _parts(body: str) -> list[tuple[str, str]]:
    """(path, text) of each file of a bundle, by the comments that start them."""
    found = re.split(r"/\* (/[^ ]+) \*/\n", body)
    return [(found[i], found[i + 1]) for i in range(1, len(found), 2)]


def test_the_page_loads_its_own_small_files_as_one_script_and_one_style_sheet(app) -> None:
    """Every style sheet of assets/ and every small script of the page (the atlas's own and
    the base map's) come in two files, each file whole and in Dash's order; plotly.js and
    Dash's libraries keep their tags, in their order."""
    assets = Path(app.config.assets_folder)
    client = app.server.test_client()
    page = client.get("/?level=county").get_data(as_text=True)
    tags = _tags(page)
    styles = [t for t in tags if t.endswith(".css")]
    scripts = [t for t in tags if not t.endswith(".css")]
    assert len(styles) == 1 and styles[0].startswith("/_atlas/page-"), styles
    bundles = [s for s in scripts if s.startswith("/_atlas/page-")]
    assert len(bundles) == 1, scripts
    assert not [t for t in tags if t.startswith("/assets/") and "plotly-atlas" not in t]

    css = client.get(styles[0]).get_data(as_text=True)
    want_css = sorted(p.name for p in assets.glob("*.css"))
    assert [Path(path).name for path, _ in _parts(css)] == want_css
    for path, text in _parts(css):
        assert text == (assets / Path(path).name).read_text(encoding="utf-8") + "\n"

    js = client.get(bundles[0]).get_data(as_text=True)
    parts = _parts(js)
    small = sorted(p.name for p in assets.glob("*.js"))
    assert [Path(path).name for path, _ in parts] == [*small, "regenerator-runtime.js"]
    for path, text in parts:
        name = Path(path).name
        source = assets / name if name != "regenerator-runtime.js" else assets / "vendor" / name
        assert text == source.read_text(encoding="utf-8") + "\n;\n"
    # Dash's order around the bundle: React before it, plotly.js then the renderer after it
    at = scripts.index(bundles[0])
    assert "react-dom" in scripts[at - 2] and "prop-types" in scripts[at - 1]
    assert "plotly-atlas.min.js" in scripts[at + 1] and "dash_renderer" in scripts[at + 2]


def test_a_bundle_is_cached_for_a_year_and_answers_its_tag(app) -> None:
    client = app.server.test_client()
    page = client.get("/").get_data(as_text=True)
    src = next(t for t in _tags(page) if t.startswith("/_atlas/page-") and t.endswith(".js"))
    first = client.get(src, headers={"Accept-Encoding": "br"})
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == static_encodings.IMMUTABLE
    assert first.headers["Content-Encoding"] == "br"
    assert first.mimetype == "application/javascript"
    again = client.get(
        src, headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert client.get("/_atlas/page-0000000000000000000000.js").status_code == 404


def test_a_worker_that_did_not_write_the_page_serves_its_bundles(tmp_path, monkeypatch) -> None:
    """A browser may ask another worker for the bundle than the one that wrote its page:
    that worker makes the same files (same names) from its own page, once; a name it
    still does not know then is a 404, with no page written for it."""
    app, srcs = _app_with_bundles(tmp_path)
    client = app.server.test_client()
    bodies = [client.get(s).get_data() for s in srcs]
    monkeypatch.setattr(page_bundle, "_bundles", {})  # as in a worker that wrote no page
    monkeypatch.setattr(page_bundle, "_made", {})
    written: list[int] = []
    index = app.index
    monkeypatch.setattr(app, "index", lambda *a, **k: written.append(1) or index(*a, **k))
    assert [client.get(s).get_data() for s in srcs] == bodies
    assert written == [1]
    assert client.get("/_atlas/page-" + "0" * 20 + ".js").status_code == 404
    assert written == [1]


def test_a_worker_asked_for_both_bundles_at_once_serves_both(tmp_path, monkeypatch) -> None:
    """A cold page asks for its style sheet and its script at the same moment, on two of a
    worker's threads: while the first request writes the page, the second waits for it
    and is answered (it was a 404, and the page drew no map, in 3 of 30 cold loads of a
    new server with two workers)."""
    import threading
    import time

    app, srcs = _app_with_bundles(tmp_path)
    monkeypatch.setattr(page_bundle, "_bundles", {})  # as in a worker that wrote no page
    monkeypatch.setattr(page_bundle, "_made", {})
    index = app.index
    started = threading.Event()

    def slow_index(*args, **kwargs):
        started.set()
        time.sleep(0.3)  # the other request arrives while the page is being written
        return index(*args, **kwargs)

    monkeypatch.setattr(app, "index", slow_index)
    statuses: dict[str, int] = {}

    def ask(src: str) -> None:
        statuses[src] = app.server.test_client().get(src).status_code

    first = threading.Thread(target=ask, args=(srcs[0],))
    first.start()
    assert started.wait(5)
    ask(srcs[1])
    first.join(5)
    assert statuses == {srcs[0]: 200, srcs[1]: 200}


def _app_with_bundles(tmp_path: Path):
    """A small app whose page has two bundles (a script and a style sheet): the app and
    the bundles' addresses, the page written once."""
    folder = tmp_path / "assets"
    folder.mkdir()
    for name in ("a.js", "b.js", "a.css", "b.css"):
        (folder / name).write_text(f"/* {name} */", encoding="utf-8")
    app = _small_app(folder)
    page = app.server.test_client().get("/").get_data(as_text=True)
    srcs = [t for t in _tags(page) if "/_atlas/page-" in t]
    assert len(srcs) == 2
    return app, srcs


def _small_app(folder: Path):
    """A Dash app of its own on ``folder`` (an app's assets folder is set once)."""
    import dash

    small = dash.Dash(__name__, assets_folder=str(folder))
    small.layout = dash.html.Div()
    page_bundle.register(small)
    return small


def test_a_changed_asset_gets_a_bundle_of_another_name(tmp_path) -> None:
    """The bundle's name is its content's hash: a changed file (a new ``?m=``) makes
    another address, so no browser keeps the old one."""
    folder = tmp_path / "assets"
    folder.mkdir()
    (folder / "a.js").write_text("(function(){window.a=1;})();", encoding="utf-8")
    (folder / "b.js").write_text("(function(){window.b=1;})();", encoding="utf-8")
    app = _small_app(folder)
    tags = '<script src="/assets/a.js?m=1"></script>\n<script src="/assets/b.js?m=1"></script>'
    first = page_bundle.bundle_tags(app, tags, page_bundle._SCRIPT, "js")
    (folder / "b.js").write_text("(function(){window.b=2;})();", encoding="utf-8")
    second = page_bundle.bundle_tags(
        app, tags.replace("b.js?m=1", "b.js?m=2"), page_bundle._SCRIPT, "js"
    )
    assert first != second
    assert first.count("<script") == second.count("<script") == 1


def test_only_the_apps_own_small_files_join_a_bundle_and_other_tags_keep_their_place(
    tmp_path,
) -> None:
    folder = tmp_path / "assets"
    folder.mkdir()
    for name in ("a.js", "b.js", "c.js"):
        (folder / name).write_text(f"window.{name[0]} = 1;", encoding="utf-8")
    (folder / "big.js").write_text("x" * (page_bundle.SMALL_BYTES + 1), encoding="utf-8")
    app = _small_app(folder)
    tags = "\n".join(
        f'<script src="{src}"></script>'
        for src in (
            "/lib/one.js",
            "/assets/a.js?m=1",
            "/assets/big.js?m=1",
            "/assets/b.js?m=1",
            "/lib/two.js",
            "/assets/c.js?m=1",  # alone: keeps its tag
            "/assets/gone.js?m=1",  # no such file: left as it is
            "https://example.org/assets/a.js?m=1",  # another host's
            "/assets/a.js",  # without Dash's ?m=: not bundled
        )
    )
    out = re.findall(
        r'<script src="([^"]+)">', page_bundle.bundle_tags(app, tags, page_bundle._SCRIPT, "js")
    )
    assert out[0] == "/lib/one.js"
    assert out[1].startswith("/_atlas/page-")
    assert out[2:] == [
        "/assets/big.js?m=1",
        "/lib/two.js",
        "/assets/c.js?m=1",
        "/assets/gone.js?m=1",
        "https://example.org/assets/a.js?m=1",
        "/assets/a.js",
    ]
    body = app.server.test_client().get(out[1]).get_data(as_text=True)
    assert [p for p, _ in _parts(body)] == ["/assets/a.js", "/assets/b.js"]


def test_a_style_sheet_that_must_come_first_keeps_its_own_tag(tmp_path) -> None:
    """``@import`` and ``@charset`` count only at a sheet's start: such a sheet is not
    bundled (it would land in the middle of the bundle) and keeps its place in the
    cascade, between the sheets before and after it."""
    folder = tmp_path / "assets"
    folder.mkdir()
    (folder / "a.css").write_text("a { color: red; }", encoding="utf-8")
    (folder / "b.css").write_text('@import url("x.css");\nb { color: red; }', encoding="utf-8")
    (folder / "c.css").write_text("c { color: red; }", encoding="utf-8")
    (folder / "d.css").write_text("d { color: red; }", encoding="utf-8")
    app = _small_app(folder)
    tags = "\n".join(
        f'<link rel="stylesheet" href="/assets/{n}.css?m=1">' for n in ("a", "b", "c", "d")
    )
    out = re.findall(
        r'href="([^"]+)"', page_bundle.bundle_tags(app, tags, page_bundle._STYLE, "css")
    )
    assert out[:2] == ["/assets/a.css?m=1", "/assets/b.css?m=1"], out  # a alone: its own
    assert len(out) == 3 and out[2].startswith("/_atlas/page-")
    body = app.server.test_client().get(out[2]).get_data(as_text=True)
    assert [p for p, _ in _parts(body)] == ["/assets/c.css", "/assets/d.css"]
    assert app.server.test_client().get("/_atlas/page-index.js").status_code == 404  # no name


def test_with_hot_reload_every_file_keeps_its_tag(app, monkeypatch) -> None:
    """Dash's hot reload (debug mode) replaces a changed style sheet's tag by its address."""
    monkeypatch.setitem(app._dev_tools, "hot_reload", True)
    page = app.server.test_client().get("/").get_data(as_text=True)
    tags = _tags(page)
    assert not [t for t in tags if t.startswith("/_atlas/page-")]
    assert any(t.startswith("/assets/style.css?m=") for t in tags)
