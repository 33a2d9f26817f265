"""What the app serves from assets/: the partial plotly.js bundle and plotly's base map."""

from __future__ import annotations

import json
import re

import plotly.offline
import pytest

from components import callbacks
from twinning import query as agg
from twinning.paths import ASSETS_DIR, PLOTLY_BUNDLE
from twinning.view import View

BUNDLE = PLOTLY_BUNDLE
# tools/plotly-bundle/entry.js registers these (scatter comes with plotly.js's core)
BUNDLED_TRACES = {"scatter", "bar", "choropleth", "scattergeo"}


def test_bundle_is_the_plotly_js_version_plotly_python_writes_figures_for():
    head = BUNDLE.read_text(encoding="utf-8")[:400]
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+) partial bundle", head)
    assert found, f"{BUNDLE} has no version banner: rebuild it (tools/plotly-bundle)"
    assert found.group(1) == plotly.offline.get_plotlyjs_version(), (
        "plotly was upgraded: rebuild assets/vendor/plotly-atlas.min.js with the matching "
        "plotly.js (tools/plotly-bundle/package.json, then `npm ci && node build.js`)"
    )
    assert (ASSETS_DIR / "vendor" / "LICENSE.plotly.txt").is_file()


@pytest.mark.parametrize(
    "query",
    ["", "level=county&metric=funds_cny", "recipient=650000&level=county", "lang=en&flows=0"],
)
def test_every_trace_the_atlas_draws_is_in_the_bundle(reference_store, query):
    data = agg.AtlasData.from_store(reference_store)
    filters = agg.Filters.from_query(query)
    fig, *_ = callbacks.map_outputs(View(data, filters), None)
    series = callbacks.series_outputs(View(data, filters))
    used = {t.get("type", "scatter") for t in [*fig["data"], *series["data"]]}
    assert used <= BUNDLED_TRACES, f"not in the partial bundle: {used - BUNDLED_TRACES}"


def test_the_page_carries_no_base_map(reference_store):
    """The atlas's maps draw their places from its own GeoJSON and show none of plotly's
    base map (the bundle's patch: a 'geojson-id' choropleth no longer asks for it), so
    neither the page nor its scripts carry world_110m (137 KB); the browser test
    ``test_page_uses_the_atlas_plotly_bundle_and_no_base_map`` shows the map drawn
    without it, never fetched."""
    from components.app import create_app

    client = create_app(reference_store).server.test_client()
    page = client.get("/").get_data(as_text=True)
    bundle = re.search(r'<script src="(/_atlas/page-[0-9a-f]+\.js)"></script>', page)
    assert bundle, "the page's own scripts are one bundle"
    for text in (page, client.get(bundle[1]).get_data(as_text=True)):
        assert "world_110m" not in text and '"arcs"' not in text
    # where plotly.js would need it (a map showing land or coasts), it is in our assets
    assert (ASSETS_DIR / "vendor" / "world_110m.json").is_file()


def test_a_script_asked_for_while_the_first_page_is_served_is_there(reference_store, monkeypatch):
    """Dash sets its server up on the first request and marks that done before it is; in a
    threaded worker a script asked for meanwhile answered 500 ("dash is not a registered
    library"). The atlas sets up before any request: the first page and a script asked for
    at the same moment both answer."""
    import threading

    import dash

    from components.app import create_app

    page = create_app(reference_store).server.test_client().get("/").get_data(as_text=True)
    script = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page)[0]

    started, go_on = threading.Event(), threading.Event()
    real = dash.Dash._generate_scripts_html

    def slow_in_a_request(self, *args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            started.set()  # the first page's request is setting up the server
            go_on.wait(5)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(dash.Dash, "_generate_scripts_html", slow_in_a_request)
    app = create_app(reference_store)
    answers: dict[str, int] = {}

    def first_page() -> None:
        answers["page"] = app.server.test_client().get("/").status_code

    page_thread = threading.Thread(target=first_page)
    page_thread.start()
    started.wait(1)  # set only where the server is set up in a request
    answers["script"] = app.server.test_client().get(script).status_code
    go_on.set()
    page_thread.join(10)
    assert answers == {"page": 200, "script": 200}


def test_the_page_asks_for_its_layout_in_its_head_and_names_the_scripts_it_loads_later(
    reference_store,
):
    """The page's head starts the requests for the layout and the callbacks' list (run by
    the response's CSP nonce, no other inline script allowed for it); the scripts of the
    libraries no first view draws are not on the page but named for assets/first_view.js,
    and each still answers at its address."""
    from components.app import DEFERRED_LIBRARIES, create_app

    client = create_app(reference_store).server.test_client()
    response = client.get("/?level=county")
    page = response.get_data(as_text=True)
    head = page.split("</head>", 1)[0]
    early = re.search(
        r'<script nonce="([^"]+)">(\(function\(\)\{window\.__atlasLater=.*?)</script>', head
    )
    assert early, "no early requests in the page's head"
    nonce, body = early.groups()
    assert f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]
    assert "'_dash-layout'" in body and "'_dash-dependencies'" in body
    assert "'X-Atlas-Location':location.pathname+location.search" in body
    later = json.loads(re.search(r"window\.__atlasLater=(\{.*?\});if", body).group(1))
    assert set(later) == set(DEFERRED_LIBRARIES)
    assert {lib: entry["idle"] for lib, entry in later.items()} == DEFERRED_LIBRARIES
    on_page = re.findall(r'<script src="([^"]+)"', page)
    for lib, entry in later.items():
        assert entry["src"] and not [s for s in on_page if f"/{lib}/" in s]
        for src in entry["src"]:
            assert client.get(src).status_code == 200
    # the other libraries stay, in Dash's order
    assert [s for s in on_page if "dash_renderer" in s or "dash_core_components." in s]
    # a second page gets a nonce of its own
    again = client.get("/").get_data(as_text=True)
    assert re.search(r'<script nonce="([^"]+)">', again).group(1) != nonce


def test_the_page_preloads_the_chunks_of_the_components_its_first_view_draws(
    reference_store,
) -> None:
    """dcc asks for its dropdown, slider and graph chunks only when React first renders
    one; the atlas page preloads the map's (#7), an address dcc serves, and not the
    dropdowns' and sliders': asked for by dcc, they come after the map has drawn instead
    of before. The import page, which draws no map, preloads none."""
    from components.app import FIRST_VIEW_CHUNKS, create_app

    client = create_app(reference_store).server.test_client()
    head = client.get("/?level=county").get_data(as_text=True).split("</head>", 1)[0]
    chunks = re.findall(r'<link rel="preload" as="script" href="([^"]+)">', head)
    assert [c.rsplit("/", 1)[-1] for c in chunks] == list(FIRST_VIEW_CHUNKS) == ["async-graph.js"]
    for chunk in chunks:
        answer = client.get(chunk)
        assert answer.status_code == 200 and b"webpackChunk" in answer.get_data()
    assert 'as="script"' not in client.get("/import").get_data(as_text=True)


def test_a_worker_warms_the_pages_files_so_that_its_first_visitor_waits_for_no_read(
    reference_store, monkeypatch
) -> None:
    """A worker's warm-up asks itself for every script and style sheet of the page (the
    deferred libraries' and dcc's first chunks too) with brotli (#7): its first visitor's
    ~38 requests are then answered from the kept encodings, no file read."""
    from werkzeug.wsgi import FileWrapper

    from components.app import create_app, warm_static

    app = create_app(reference_store)
    asked = warm_static(app)
    for part in ("plotly-atlas.min.js", "dash_ag_grid", "async-graph.js", "/_atlas/page-"):
        assert any(part in url for url in asked), (part, asked)
    reads: list[int] = []
    real_next = FileWrapper.__next__
    monkeypatch.setattr(FileWrapper, "__next__", lambda self: reads.append(1) or real_next(self))
    client = app.server.test_client()
    for url in asked:
        answer = client.get(url, headers={"Accept-Encoding": "br"})
        assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "br", url
    assert not reads


def test_before_its_scripts_have_run_the_page_shows_the_atlas_header_in_its_language(
    reference_store,
) -> None:
    """Dash's page said "Loading..." (in English) until React rendered it, ~1 s into a cold
    load; the page shows the atlas's header instead, title and subtitle in the page's
    language (#7), and a presenter's stage shows nothing until then."""
    from components.app import create_app
    from twinning import i18n

    client = create_app(reference_store).server.test_client()

    def entry(path: str) -> str:
        page = client.get(path).get_data(as_text=True)
        return page.split('<div id="react-entry-point">', 1)[1].split("<footer>", 1)[0]

    for lang in ("zh", "en"):
        for path in (f"/?lang={lang}", f"/import?lang={lang}"):
            shown = entry(path)
            assert f'<h1 class="title">{i18n.t("title", lang)}</h1>' in shown, (path, shown)
            assert i18n.t("subtitle", lang) in shown and 'aria-busy="true"' in shown
            assert "Loading" not in shown
    for stage in ("/?lang=en&present=1", "/?present=true&lang=zh"):  # as the layout reads it
        shown = entry(stage)
        assert shown.strip() == "</div>", (stage, shown)  # the entry point's own end only
