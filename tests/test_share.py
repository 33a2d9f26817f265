"""Sharing a view (issue #9), without a browser: the embed and offline documents
(twinning/embed.py), the QR code (twinning/qr.py, decoded with zxing-cpp), the Share
menu's outputs and routes (components/share.py)."""

from __future__ import annotations

import io
import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest

from components import share
from twinning import embed, i18n, qr
from twinning import query as agg
from twinning.view import View


def _decode(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:8050/?lang=en&level=county&recipient=650000&metric=funds_cny&place=653125",
        "https://atlas.example.org/atlas/?lang=zh&program=counterpart_support_tibet,three_gorges",
        "http://h/?" + "&".join(f"p{i}=v{i}" for i in range(60)),  # a long view
    ],
)
def test_qr_png_decodes_to_the_link(link):
    assert _decode(qr.qr_png(link)) == [link]


def test_qr_svg_is_an_svg_of_the_same_code():
    link = "http://127.0.0.1:8050/?lang=en"
    svg = qr.qr_svg(link)
    assert svg.startswith("<svg") and 'class="qr-code"' in svg
    assert qr.qr_svg_data_uri(link).startswith("data:image/svg+xml")
    with pytest.raises(ValueError):
        qr.qr_png("")


def test_view_query_takes_a_link_a_path_or_a_query():
    assert embed.view_query("http://h:1/?lang=en&level=county") == "lang=en&level=county"
    assert embed.view_query("/embed?chart=series&lang=zh") == "chart=series&lang=zh"
    assert embed.view_query("?lang=en") == "lang=en"
    assert embed.view_query("lang=en&metric=funds_cny") == "lang=en&metric=funds_cny"
    assert embed.chart_of("chart=table&lang=en") == "table"
    assert embed.chart_of("chart=<script>") == "map"
    assert embed.chart_of("lang=en") == "map"


def test_share_outputs_link_iframe_qr_and_file():
    filters = agg.Filters.from_query("lang=en&level=county&recipient=650000&metric=funds_cny")
    link, code, qr_src, html_href = share.share_outputs(
        filters, "http://host:8050/", "series", "800", 99999
    )
    assert link == "http://host:8050/" + filters.to_query_string()
    assert 'width="800"' in code and 'height="4000"' in code  # bounded
    src = unescape(re.search(r'src="([^"]+)"', code).group(1))
    parts = urlsplit(src)
    assert parts.path == "/embed"
    params = dict(parse_qsl(parts.query))
    assert params.pop("chart") == "series"
    assert params == filters.to_query()
    assert qr_src.startswith("data:image/svg+xml")
    assert html_href == "http://host:8050/download/view.html" + filters.to_query_string()
    # a forged chart or size falls back to the defaults
    _, code, _, _ = share.share_outputs(filters, "http://h", ["x"], "wide", None)
    assert "chart=map" in code and 'width="600"' in code and 'height="400"' in code
    assert share.iframe_code(filters, "http://h", "map", '"><script>', 300).count("<script>") == 0
    # the menu closed: the same link, code and file, no QR code drawn (#7)
    closed = share.share_outputs(filters, "http://host:8050/", "series", "800", 99999, qr=False)
    assert closed == (
        link,
        share.iframe_code(filters, "http://host:8050", "series", 800, 4000),
        "",
        html_href,
    )


@pytest.fixture(scope="module")
def data(reference_store):
    return agg.AtlasData.from_store(reference_store)


@pytest.mark.parametrize("chart", embed.CHARTS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_embed_document_carries_sources_data_date_and_the_atlas_link(data, chart, lang):
    filters = agg.Filters.from_query(f"lang={lang}&metric=funds_cny")
    figure = (
        {"data": [], "layout": {"height": 600, "width": 900}}
        if chart in ("map", "series")
        else None
    )
    doc = embed.embed_document(View(data, filters), chart, figure=figure, atlas_url="/atlas/")
    assert doc.startswith("<!DOCTYPE html>")
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}"' in doc
    sources = re.search(r'<p class="embed-sources">(.*?)</p>', doc).group(1)
    assert sources.startswith("来源（" if lang == "zh" else "Sources (")
    assert re.search(r"(数据截至|Data as of) \d{4}-\d{2}-\d{2}", doc)
    href = unescape(re.search(r'class="embed-open" href="([^"]+)"', doc).group(1))
    assert href == "/atlas/" + filters.to_query_string()
    if chart in ("map", "series"):
        # sized by its frame, not by the figure
        assert '"autosize":true' in doc and '"height":600' not in doc
    if chart == "headlines":
        assert doc.count('class="headline"') == 6
        # worded as the atlas words them: "at least X", never a sum that counts twice
        from html import escape

        from twinning.figures.describe import headline_words

        for h in agg.headlines(data, filters):
            value, note = headline_words(h, lang)
            assert escape(value) in doc and escape(note) in doc, h.key
    if chart == "table":
        assert "<table>" in doc and re.search(r"(显示前|First) \d+", doc)


def test_embed_needs_the_figure_of_a_chart(data):
    with pytest.raises(ValueError):
        embed.embed_document(View(data, agg.Filters()), "map")


def test_embed_escapes_what_a_link_carries(data):
    filters = agg.Filters.from_query("lang=en&donor=<img src=x onerror=alert(1)>")
    doc = embed.embed_document(View(data, filters), "headlines")
    assert "<img src=x" not in doc


def test_data_date_is_the_newest_batch_not_undone(data):
    rows = data.rows("SELECT created_at FROM batches WHERE undone_at IS NULL")
    assert embed.data_date(data) == max(str(r[0])[:10] for r in rows)


def test_offline_document_holds_everything_and_a_frame_per_year(data):
    filters = agg.Filters.from_query("lang=zh&metric=funds_cny&from=2006&to=2010")
    doc = embed.offline_document(View(data, filters))
    # nothing outside the file: no script or stylesheet by address, no fetched boundaries
    assert not re.search(r"<script[^>]+src=", doc)
    assert not re.search(r"<link[^>]+href=", doc)
    assert '"geojson":"' not in doc.replace(" ", "")  # boundaries inline, not a URL
    assert "PlotlyGeoAssets" in doc and embed.PLOTLY_BUNDLE.read_text()[:200] in doc
    lo, hi = agg.year_bounds(data)
    frames = re.findall(r'"name":"(view|\d{4})","traces"', doc)
    assert frames == ["view", *[str(y) for y in range(lo, hi + 1)]]
    assert "帮扶资金" in doc and "来源" in doc
    assert i18n.t("export.filters", "zh") in doc  # the filters in words


def test_year_frames_follow_the_playback_rules(data):
    """Each year's frame is the atlas's values for ``year=`` (the same function as the
    playback), so a period figure shows undivided in every year of its period."""
    from twinning.figures import map_patch_values
    from twinning.figures.geojson import level_geojson

    filters = agg.Filters.from_query("lang=en&metric=funds_cny")
    fig = View(data, filters).map()
    frames, words = embed.year_frames(View(data, filters), fig)
    locations = level_geojson("province", None)[1]
    by_name = {f["name"]: f for f in frames}
    main = fig["layout"]["meta"]["main"]
    for year in (2008, 2015):
        expected = map_patch_values(
            data, agg.Filters(lang="en", metric="funds_cny", year=year), locations
        )
        frame = by_name[str(year)]
        assert frame["data"][frame["traces"].index(main)]["z"] == expected["main"]["z"]
        assert words[str(year)]["title"] == expected["title"]
        assert str(year) in words[str(year)]["title"]
    assert set(words["2015"]["numbers"]) == {
        h.key for h in agg.headlines(data, agg.Filters(metric="funds_cny", year=2015))
    }


def test_routes_serve_the_embed_and_the_offline_file(reference_store):
    from components.app import create_app

    app = create_app(reference_store)
    client = app.server.test_client()
    r = client.get("/embed?chart=map&lang=en&metric=funds_cny")
    assert r.status_code == 200 and r.mimetype == "text/html"
    body = r.get_data(as_text=True)
    assert '<script src="/assets/vendor/plotly-atlas.min.js">' in body
    # boundaries by URL, cached by the browser ("/" is written \u002f inside <script>)
    assert re.search(r'"geojson":"(/|\\u002f)geo(/|\\u002f)province-[0-9a-f]+\.json"', body)
    for chart in ("series", "headlines", "table"):
        assert client.get(f"/embed?chart={chart}&lang=zh").status_code == 200
    r = client.get("/download/view.html?lang=en&level=prefecture")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].endswith('.html"')
    assert "attachment" in r.headers["Content-Disposition"]


def test_cli_exports_a_view_link_as_one_offline_html_file(reference_store, monkeypatch, tmp_path):
    from twinning.cli import main

    monkeypatch.setenv("TWINNING_DATABASE_URL", reference_store.url)
    out = tmp_path / "view.html"
    link = "http://atlas.example:8050/?lang=en&level=prefecture&metric=funds_cny"
    assert main(["export", link, "-o", str(out)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert '<html lang="en"' in doc and "Assistance funds" in doc
    assert not re.search(r"<script[^>]+src=", doc)
    assert f'<a href="{link.replace("&", "&amp;")}"' in doc  # the view's link under the chart


def test_pptx_title_slide_carries_the_qr_code_of_the_link():
    from pptx import Presentation
    from pptx.util import Inches

    from twinning.deck import _qr_on_slide

    link = "http://127.0.0.1:8050/?lang=zh&metric=funds_cny"
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    _qr_on_slide(slide, link, "zh")
    pictures = [s for s in slide.shapes if s.shape_type == 13]
    assert len(pictures) == 1
    pic = pictures[0]
    assert pic.left + pic.width <= prs.slide_width and pic.top + pic.height <= prs.slide_height
    assert _decode(pic.image.blob) == [link]
    words = "\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
    assert "扫码" in words and link in words
