"""Exports carry their sources, period note, filters and version, and work offline.

One headless Chromium serves the whole session (``renderer`` fixture); the real views
come from the session's reference store; formula injection is tested on a tiny
hand-made data set.
"""

from __future__ import annotations

import base64
import codecs
import csv
import dataclasses
import io
import socket
import struct
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from twinning import export, footer, render
from twinning import query as agg
from twinning.sources import short_source
from twinning.view import View, current_data

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EN_FUNDS = "lang=en&level=province&metric=funds_cny&from=2006&to=2010"
ZH_VIEW = "lang=zh&level=province&metric=funds_cny&from=2006&to=2010"
TODAY = date(2026, 11, 22)


@pytest.fixture(scope="session")
def renderer():
    """One browser for the session (the way the app and the CLI use it)."""
    assert render.RENDERER.start(), render.RENDERER.failure
    yield render.RENDERER
    render.RENDERER.stop()


@pytest.fixture(scope="session")
def data(reference_store) -> agg.AtlasData:
    return current_data(reference_store)


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Any connection from this process to a non-local address fails the test."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        local = ("127.0.0.1", "::1", "localhost")
        if isinstance(host, str) and host not in local and not host.startswith("/"):
            raise AssertionError(f"export tried to reach {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def png_size(payload: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (no image library needed)."""
    assert payload[:8] == PNG_SIGNATURE
    assert payload[12:16] == b"IHDR"
    return struct.unpack(">II", payload[16:24])


# ---------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------


def test_png_of_a_view_has_the_requested_size(renderer, reference_store, data):
    payload, name = export.export_view(
        reference_store, EN_FUNDS, "map", "png", width=800, height=600, scale=1, data=data
    )
    assert payload.startswith(PNG_SIGNATURE)
    assert png_size(payload) == (800, 600)
    assert name == "twinning-atlas_map_province_funds_cny_2006-2010_en.png"
    from PIL import Image

    with Image.open(io.BytesIO(payload)) as im:
        assert im.size == (800, 600)
        # the footer is drawn: the bottom strip is not blank
        strip = im.convert("L").crop((0, 600 - 60, 800, 600))
        assert strip.getextrema()[0] < 128


def test_svg_carries_sources_notes_and_english_title(renderer, data):
    view = View.of(EN_FUNDS, data=data, today=TODAY)
    svg = export.render_view_chart(view, "map", "svg", width=1000, height=760).decode()
    assert svg.lstrip().startswith("<svg")
    assert "Assistance funds (2006–2010)" in svg
    refs = view.sources("map")
    assert len(refs) > footer.MAX_FOOTER_SOURCES
    assert f"Sources ({len(refs)})" in svg
    assert refs[0].short.replace("&", "&amp;") in svg
    assert f"+{len(refs) - footer.MAX_FOOTER_SOURCES} more" in svg
    assert "not split by year" in svg
    assert "from memory" in svg
    assert "Map level: Province" in svg and "Years: 2006–2010" in svg
    assert f"data version {data.version}" in svg and "exported 2026-11-22" in svg


def test_svg_in_chinese(renderer, data):
    view = View.of(ZH_VIEW, data=data, today=TODAY)
    svg = export.render_view_chart(view, "series", "svg", width=900).decode()
    assert "历年报告数据（2006–2010）" in svg
    assert "来源（" in svg
    assert "按时期显示，未拆分到各年" in svg
    assert "筛选：" in svg and "数据版本" in svg


def test_pdf(renderer, data):
    view = View.of(EN_FUNDS, data=data, today=TODAY)
    pdf = export.render_view_chart(view, "series", "pdf", width=900, height=700)
    assert pdf.startswith(b"%PDF")


def test_the_callers_figure_is_not_changed(renderer):
    fig = go.Figure(go.Bar(x=[2006, 2007], y=[1, 2]))
    fig.update_layout(title={"text": "mine"}, annotations=[{"text": "a", "x": 0, "y": 0}])
    before = fig.to_dict()
    payload = export.export_chart(
        fig,
        "png",
        sources=["https://example.org/a", "memory"],
        note=["a note"],
        title="Exported",
        lang="en",
        width=400,
        height=300,
        scale=1,
    )
    assert png_size(payload) == (400, 300)
    assert fig.to_dict() == before


def test_export_is_set_up_offline(renderer, data):
    view = View.of("lang=en&level=province", data=data)
    export.render_view_chart(view, "map", "png", width=600, height=400, scale=1)
    url = pio.defaults.topojson
    assert url.startswith("file://")
    folder = Path(url2pathname(urlsplit(url).path))
    assert (folder / "world_110m.json").is_file()
    # the page kaleido renders in loads nothing from the internet (MathJax is off,
    # plotly.js is the atlas's own bundle, the screen's)
    import kaleido

    bundle = render.PLOTLY_BUNDLE.as_uri()
    page = kaleido.PageGenerator(mathjax=False, plotly=bundle).generate_index()
    assert "http://" not in page and "https://" not in page and bundle in page


def test_an_export_is_drawn_by_the_screens_plotly_js(renderer, data):
    """Exports draw with the atlas's plotly.js bundle, patches and all, as the screen
    does: places that look alike are one path (the bundle's patch; plotly's own draws a
    path for each), and the outlines of China's islets, drawn as shapes, end in no spikes
    (the bundle's miter limit)."""
    import re

    view = View.of("lang=en&level=county&metric=funds_cny", data=data, today=TODAY)
    svg = export.render_view_chart(view, "map", "svg", width=1000, height=760).decode()
    paths = svg.count('class="choroplethlocation"')
    counties = len(view.locations())
    assert 0 < paths < counties / 4, (paths, counties)
    assert re.search(r"stroke-miterlimit: ?2", svg)


def test_threads_share_the_browser_and_get_their_own_images(renderer):
    """Dash serves callbacks from several threads: each gets its own image back."""
    import threading

    sizes: dict[int, tuple[int, int]] = {}

    def work(i: int) -> None:
        fig = go.Figure(go.Bar(y=[1, i]))
        payload = export.export_chart(
            fig,
            "png",
            sources=[],
            note="",
            title=str(i),
            lang="en",
            width=300 + 10 * i,
            height=200,
            scale=1,
        )
        sizes[i] = png_size(payload)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert sizes == {i: (300 + 10 * i, 200) for i in range(3)}


def test_no_browser_is_a_clear_error_not_a_hang(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    fresh = render.Renderer(timeout=20)
    assert fresh.start() is False and "nonexistent" in fresh.failure
    with pytest.raises(export.ExportError, match="apt-get install chromium"):
        fresh.render(go.Figure(), "png", 200, 100, 1)


# ---------------------------------------------------------------------------------------
# footer text
# ---------------------------------------------------------------------------------------


def test_sources_line_shortens_and_counts():
    sources = [f"https://www.site{i}.gov.cn/news/2020/{i}.html" for i in range(9)]
    line = footer.sources_line(sources, "en", limit=3)
    assert line.startswith("Sources (9): site0.gov.cn/news/2020/0.html; ")
    assert "+6 more" in line and "www." not in line
    assert footer.sources_line([], "zh", limit=3) == "来源：当前范围无记录"
    doc = short_source(
        "000_3fe4908ac1a43767.txt", "https://yearbook.iprcc.org.cn/zggjfpzxnj/x.shtml"
    )
    assert doc.startswith("000_3fe4908ac1a43767.txt (yearbook.iprcc")


def test_wrap_text_fits_and_keeps_everything():
    text = "Filters: Map level: County · Metric: Assistance funds · Years: 2006–2010 " * 3
    lines = footer.wrap_text(text, 300, 12)
    assert len(lines) > 2
    assert all(footer.text_width(line, 12) <= 300 for line in lines)
    assert " ".join(lines).split() == text.split()
    zh = footer.wrap_text("按时期报告的数据（如2006–2010）按时期显示，未拆分到各年。" * 2, 200, 12)
    assert not any(line.startswith(("，", "。")) for line in zh)


# ---------------------------------------------------------------------------------------
# PowerPoint
# ---------------------------------------------------------------------------------------


def test_pptx_has_title_charts_and_every_source(renderer, reference_store, data):
    from pptx import Presentation
    from pptx.oxml.ns import qn

    link = "http://127.0.0.1:8050/?" + ZH_VIEW
    payload, name = export.export_view(
        reference_store, ZH_VIEW, "map", "pptx", data=data, link=link
    )
    assert name.endswith(".pptx")
    prs = Presentation(io.BytesIO(payload))
    slides = list(prs.slides)
    view = View.of(ZH_VIEW, data=data)
    refs = view.sources(None)
    texts = [
        "\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame) for slide in slides
    ]
    assert "帮扶资金（2006–2010）" in texts[0] and "筛选：" in texts[0]
    # the headline numbers as on screen: "at least X", N of M, the plain sum (#10)
    assert view_lines(ZH_VIEW, data)[0] in texts[0] and "至少" in texts[0]
    # the title slide: a QR code of the view's link, as in the Share menu (#9)
    import zxingcpp
    from PIL import Image

    (qr,) = [s for s in slides[0].shapes if s.shape_type == 13]
    with Image.open(io.BytesIO(qr.image.blob)) as image:
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [link]
    pictures = [
        [s for s in slide.shapes if s.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE
        for slide in slides[1:3]
    ]
    assert [len(p) for p in pictures] == [1, 1]
    assert "历年报告数据" in texts[2]
    # every source is listed, with its quote count
    listed = {}
    for slide in slides[3:]:
        for shape in slide.shapes:
            if shape.has_table:
                rows = list(shape.table.rows)[1:]
                for row in rows:
                    cells = [c.text for c in row.cells]
                    listed[cells[0].split(" — ")[0]] = cells
    assert set(listed) == {r.label for r in refs}
    for r in refs:
        assert listed[r.label][1] == str(r.n_quotes)
    # the map slide's notes carry the full list
    notes = slides[1].notes_slide.notes_text_frame.text
    assert all(r.label in notes for r in view.sources("map"))
    # Chinese text has an East Asian font
    ea = slides[0].shapes[0]._element.findall(".//" + qn("a:ea"))
    assert ea and {e.get("typeface") for e in ea} == {footer.CJK_FONT}


# ---------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> agg.AtlasData:
    """Two places, one pairing and one figure whose text looks like formulas."""
    places = pd.DataFrame(
        {
            "adcode": ["310000", "530000"],
            "level": ["province", "province"],
            "name_zh": ["上海市", "云南省"],
            "name_en": ["Shanghai", "Yunnan"],
            "province_adcode": ["310000", "530000"],
            "prefecture_adcode": [None, None],
            "lon": [121.47, 102.71],
            "lat": [31.23, 25.04],
        }
    )
    pairings = pd.DataFrame(
        {
            "id": [1],
            "program": ["east_west_cooperation"],
            "donor_province": ["上海市"],
            "donor_unit": ["+cmd|' /C calc'!A0"],
            "donor_province_adcode": ["310000"],
            "recipient_province": ["云南省"],
            "recipient_adcode": ["530000"],
            "recipient_level": ["province"],
            "start_year": [1996],
            "end_year": [None],
            "source": ['=HYPERLINK("http://evil")'],
            "confidence": ["seen_in_source"],
        }
    )
    figures = pd.DataFrame(
        {
            "id": [1],
            "program": ["east_west_cooperation"],
            "donor": ["上海市"],
            "recipient": ["云南省"],
            "donor_adcode": ["310000"],
            "recipient_adcode": ["530000"],
            "recipient_level": ["province"],
            "period_start": [2006],
            "period_end": [2010],
            "metric": ["funds_cny"],
            "value": [855e6],
            "unit": ["CNY"],
            "quote": ["@SUM(A1:A9) a total of 855 million Yuan was put in"],
            "source": ["-1+2"],
            "confidence": ["from_memory"],
            "is_context": [False],
        }
    )
    return agg.AtlasData.build(pairings, figures, places, version="tiny")


def test_csv_has_source_quote_confidence_period_and_no_formulas(tiny):
    payload, name = export.export_view(None, "lang=en", "map", "csv", data=tiny)
    assert name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(payload.decode("utf-8-sig"))))
    assert len(rows) == 2
    for col in ("Source", "Quote", "Confidence", "Period", "Batch", "From", "To"):
        assert col in rows[0]
    pairing, figure = rows  # pairings first, then figures: the screen's one CSV
    assert (pairing["Batch"], figure["Batch"]) == ("Pairings", "Figures")
    assert figure["Period"] == "2006–2010"
    assert figure["Quote"].startswith("'@SUM")
    assert figure["Source"] == "'-1+2"
    assert figure["Confidence"] == "from memory"
    assert pairing["Source"].startswith("'=HYPERLINK")
    assert pairing["Donor unit"].startswith("'+cmd")
    assert (pairing["From"], pairing["To"]) == ("1996", "ongoing")
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value


@pytest.fixture(scope="module")
def screen(reference_store):
    """The atlas's web server, for the table's CSV button."""
    from components.app import create_app

    return create_app(reference_store).server.test_client()


@pytest.mark.parametrize(
    "query",
    [
        "lang=en",
        "lang=zh&level=county&metric=funds_cny",
        "lang=en&level=county&recipient=650000&from=2010&to=2015",
        "lang=zh&donor=310000&memory=0&program=counterpart_support_xinjiang",
    ],
)
def test_the_screen_csv_and_the_exported_csv_are_one_file(
    reference_store, screen, query, tmp_path, monkeypatch
):
    """Issue #8: the table's CSV button, `twinning export -o x.csv` and the export menu's
    CSV give the same bytes for a view (one function, nothing stripped)."""
    import argparse

    on_screen = screen.get("/download/view.csv?" + query)
    assert on_screen.status_code == 200
    shown = on_screen.get_data()
    monkeypatch.setenv("TWINNING_DATABASE_URL", reference_store.url)
    out = tmp_path / "view.csv"
    assert export.cli_export(argparse.Namespace(query=query, output=str(out), chart="map")) == 0
    assert out.read_bytes() == shown
    menu, name = export.export_view(reference_store, query, "map", "csv")
    assert menu == shown
    assert f'filename="{name}"' in on_screen.headers["Content-Disposition"]
    assert shown.startswith(codecs.BOM_UTF8) and shown.count(b"\n") > 1


def test_xlsx_has_rows_sources_and_about(tiny):
    from openpyxl import load_workbook

    payload, _ = export.export_view(None, "lang=zh", "map", "xlsx", data=tiny, today=TODAY)
    wb = load_workbook(io.BytesIO(payload))
    assert wb.sheetnames == ["报告数据", "结对关系", "来源", "说明"]
    cells = [c.value for row in wb["来源"].iter_rows() for c in row]
    assert '\'=HYPERLINK("http://evil")' in cells and "'-1+2" in cells
    about = [c.value for row in wb["说明"].iter_rows() for c in row]
    assert any(isinstance(v, str) and "按时期显示" in v for v in about)
    assert any(isinstance(v, str) and "凭记忆" in v for v in about)


def view_lines(query: str, data: agg.AtlasData) -> list[str]:
    return View.of(query, data=data).headline_lines(None)


def test_exports_carry_the_reconciled_headline_numbers(tiny):
    # one funds figure (8.55 亿元): at least 8.55 亿元, 1 of 1 figures, sum 8.55 亿元
    from openpyxl import load_workbook

    lines = view_lines("lang=zh", tiny)
    assert lines[0] == "帮扶资金：至少 8.55亿元（1 项数据中互不重叠的 1 项；1 项之和：8.55亿元）"
    assert len(lines) == 6 and lines[3].startswith("结对关系：1")
    payload, _ = export.export_view(None, "lang=zh", "map", "xlsx", data=tiny, today=TODAY)
    about = [c.value for row in load_workbook(io.BytesIO(payload))["说明"].iter_rows() for c in row]
    assert all(line in about for line in lines)
    # an image of the funds map carries the funds line under it; of the series, none
    en = View.of("lang=en&metric=funds_cny", data=tiny)
    assert en.notes("map")[0].startswith("Funds: at least ")
    assert "1 of 1 figures" in en.notes("map")[0]
    assert not any("at least" in n for n in en.notes("series"))


def test_unknown_format_is_refused_with_the_choices(tiny):
    with pytest.raises(export.ExportError, match="png, svg, pdf, pptx, csv, xlsx"):
        export.export_view(None, "lang=en", "map", "bmp", data=tiny)


# ---------------------------------------------------------------------------------------
# the Dash control and the CLI
# ---------------------------------------------------------------------------------------


def test_callback_returns_a_download(reference_store):
    import dash
    from dash import dcc, html

    from components import export_controls

    app = dash.Dash(__name__)
    app.layout = html.Div([dcc.Location(id="url"), export_controls.layout("en")])
    callback = export_controls.register_callbacks(app, lambda: reference_store, "url")
    download, status = callback(1, "?lang=en&level=province&from=2006&to=2010", "map", "csv")
    assert status == ""
    assert download["filename"] == "twinning-atlas_province_pairings_2006-2010_en.csv"
    assert download["base64"] is True
    text = base64.b64decode(download["content"]).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Batch,")
    assert any(f"{export_controls.EXPORT_DOWNLOAD}.data" in k for k in app.callback_map)


def test_cli_export_refuses_an_unknown_suffix(tmp_path, capsys):
    import argparse

    args = argparse.Namespace(query="lang=en", output=str(tmp_path / "x.bmp"), chart="map")
    assert export.cli_export(args) == 2
    assert ".png" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("query", "years"),
    [
        ("lang=en&metric=funds_cny&from=2015&to=2015", "2015"),
        ("lang=en&metric=funds_cny&from=2006&to=2010", "2006–2010"),
        ("lang=en&metric=funds_cny&year=2015", "2015"),
        ("lang=en&metric=funds_cny&year=2015&mode=cumulative", "cumulative to 2015"),
    ],
)
def test_an_export_titles_its_years_as_the_screen_does(data, query, years) -> None:
    from twinning.figures import map as fmap

    view = View.of(query, data=data, today=TODAY)
    assert view.years() == years == fmap.years_label(data, view.filters)
    assert years in view.title("map")
    assert "2015–2015" not in view.filename("map", "png")


@pytest.mark.parametrize(
    "query",
    ["lang=en", "lang=en&metric=funds_cny", "lang=zh&level=county&recipient=650000&from=2010"],
)
def test_export_sources_counted_in_sql_match_the_rows_in_view(data, query) -> None:
    # the export's source list and confidence line come from GROUP BY counts (no rows read):
    # they must say what the rows themselves say
    view = View.of(query, data=data, today=TODAY)
    pairings = agg.table_rows(data, view.filters, "pairings")
    figures = agg.table_rows(data, dataclasses.replace(view.filters, metric=None), "figures")
    metrics = sorted({*agg.series_metrics(view.filters), view.filters.metric or ""} - {""})
    if view.filters.metric:
        figures = figures[figures["metric"].isin(metrics)]
    refs = {r.label: r for r in view.sources()}
    expected: dict[str, list[int]] = {}
    for frame, slot in ((pairings, 0), (figures, 1)):
        for cell in frame["source"]:
            for label, _url in agg.source_links(cell):
                expected.setdefault(label, [0, 0])[slot] += 1
    assert {k: [r.n_pairings, r.n_figures] for k, r in refs.items()} == expected
    n = len(pairings) + len(figures)
    assert f"{n:,}" in view.confidence_text() or str(n) in view.confidence_text()
