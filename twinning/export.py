"""Exports of a view that carry their sources: PNG, SVG, PDF, PowerPoint, CSV and Excel.

Why this module exists: analysts paste the atlas's charts into briefings, where the page
around the chart is lost. So every image carries, on the image itself, the sources of the
rows it shows, how many of them were recorded from memory, that period figures are shown
as periods, the filters in words, the data version and the export date. The deck and the
tables carry the full list of sources.

Offline by construction: plotly's ``geo`` subplot loads ``world_110m.json`` from the
project's ``assets/vendor/`` folder (a ``file://`` URL), MathJax is off, and plotly.js is
the copy shipped inside the plotly package. One headless Chromium (kaleido's sync server)
is kept alive for the process, because starting a browser per image costs seconds.

No dash here; the Dash control is ``components/export_controls.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import io
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from twinning import i18n
from twinning import query as agg
from twinning.figures.markup import esc
from twinning.paths import ASSETS_DIR
from twinning.sources import SourceRef, short_source
from twinning.view import CHARTS, TABLE_FORMATS, View, tr

IMAGE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
FORMATS: tuple[str, ...] = (*IMAGE_FORMATS, "pptx", *TABLE_FORMATS)
ANIMATION_FORMATS: tuple[str, ...] = ("gif", "mp4")  # twinning/animation.py (#9)
MEDIA_TYPES: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gif": "image/gif",
    "mp4": "video/mp4",
}
DEFAULT_WIDTH: dict[str, int] = {"map": 1400, "series": 1200}
DEFAULT_HEIGHT: dict[str, int] = {"map": 900, "series": 800}
TOPOJSON_FILE = "world_110m.json"
CJK_FONT = "Noto Sans CJK SC"
MAX_FOOTER_SOURCES = 6  # sources named on an image; the rest is "+N more"
_OWN_SOURCE_NAMES = ("figure-sources",)  # annotation name of the app's in-figure sources

# This module's words are the catalog's "export.<key>" messages (twinning/locale), said
# with the view's ``tr``; the catalog's extractor reads the prefix from here too.
I18N_PREFIX = "export."


class ExportError(ValueError):
    """An export that cannot be made, with a message a person can act on."""


# ---------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Offline rendering with one long-lived browser
# ---------------------------------------------------------------------------------------


def topojson_url() -> str:
    """``file://.../assets/vendor/`` (the folder plotly.js reads world_110m.json from)."""
    folder = ASSETS_DIR / "vendor"
    if not (folder / TOPOJSON_FILE).is_file():
        raise ExportError(
            f"{folder / TOPOJSON_FILE} is missing: plotly's map needs it and must not fetch "
            "it from the internet. Restore it (see assets/vendor/README.md)."
        )
    return folder.as_uri() + "/"


def configure_offline() -> str:
    """Point plotly's own image export at the shipped topojson too (``plotly.io.to_image``
    and ``write_image`` in the same process then work offline). Returns the URL."""
    import plotly.io as pio

    url = topojson_url()
    pio.defaults.topojson = url
    return url


class Renderer:
    """One headless Chromium (a ``kaleido.Kaleido``), started on first use, kept alive.

    Not ``kaleido.start_sync_server``: that singleton blocks forever when the browser
    cannot start (its worker thread dies and the caller waits on a queue), has no
    timeout, and mixes up results when two threads call it (Dash serves callbacks from
    several threads). Here the browser lives on an event loop in its own thread; every
    render is a future with a timeout; a failed browser is dropped and the image falls
    back to a one-off browser, then to a clear error.
    """

    def __init__(self, timeout: float = 90.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: Any = None
        self._failed: str | None = None
        self._atexit = False

    @property
    def running(self) -> bool:
        return self._kaleido is not None

    def start(self) -> bool:
        """Start the browser; False (reason in ``failure``) if it cannot start."""
        import kaleido

        with self._lock:
            if self._kaleido is not None:
                return True
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="twinning-export-browser", daemon=True
            )
            thread.start()

            async def _open() -> Any:
                k = kaleido.Kaleido(n=1, mathjax=False, timeout=self.timeout)
                await k.open()
                return k

            try:
                k = asyncio.run_coroutine_threadsafe(_open(), loop).result(self.timeout)
            except Exception as exc:
                self._failed = f"{type(exc).__name__}: {exc}"
                loop.call_soon_threadsafe(loop.stop)
                thread.join(5)
                return False
            self._loop, self._thread, self._kaleido, self._failed = loop, thread, k, None
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
            return True

    @property
    def failure(self) -> str | None:
        return self._failed

    def stop(self) -> None:
        """Close the browser (the CLI does this before it exits; tests at session end)."""
        with self._lock:
            k, loop, thread = self._kaleido, self._loop, self._thread
            self._kaleido = self._loop = self._thread = None
        if k is None or loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(k.close(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)

    def render(
        self, fig: go.Figure | dict, fmt: str, width: int, height: int, scale: float
    ) -> bytes:
        """Image bytes; offline (shipped topojson, no MathJax, plotly.js from plotly)."""
        import kaleido

        topojson = configure_offline()
        fig_dict = fig.to_dict() if isinstance(fig, go.Figure) else fig
        opts = {"format": fmt, "width": int(width), "height": int(height), "scale": scale}
        if self.running or self.start():
            k, loop = self._kaleido, self._loop
            try:
                future = asyncio.run_coroutine_threadsafe(
                    k.calc_fig(fig_dict, opts=opts, topojson=topojson), loop
                )
                return future.result(self.timeout + 10)
            except Exception as exc:
                self._failed = f"{type(exc).__name__}: {exc}"
                self.stop()
        try:
            return kaleido.calc_fig_sync(
                fig_dict, opts=opts, topojson=topojson, kopts={"mathjax": False}
            )
        except Exception as exc:
            raise ExportError(
                f"could not render the {fmt.upper()} image with headless Chromium "
                f"({type(exc).__name__}: {exc}). Install Debian's chromium "
                "(apt-get install chromium) or point BROWSER_PATH at a Chrome/Chromium."
            ) from exc


RENDERER = Renderer()


# ---------------------------------------------------------------------------------------
# The footer block and export_chart
# ---------------------------------------------------------------------------------------


def _char_width(ch: str) -> float:
    """Rough advance of one character in em (CJK full width ~1, Latin ~0.55)."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch.isupper() or ch in "mwMW@%":
        return 0.68
    if ch in "il.,;:'|!·":
        return 0.3
    return 0.53


def text_width(text: str, font_size: float) -> float:
    """Approximate pixel width of text (no HTML) at font_size."""
    return sum(_char_width(c) for c in text) * font_size


_NO_LINE_START = set("，。；：、）」』》,.;:)")


def wrap_text(text: str, max_px: float, font_size: float) -> list[str]:
    """Break text into lines that fit max_px. Plotly annotations never wrap by themselves.

    Breaks at spaces in Latin text and anywhere in CJK text (as Chinese typesetting does).
    """
    lines: list[str] = []
    line = ""
    tokens = re.findall(r"[\u2e80-\u9fff\uff00-\uffef]|[^\s\u2e80-\u9fff\uff00-\uffef]+|\s+", text)
    for tok in tokens:
        candidate = line + tok
        fits = text_width(candidate, font_size) <= max_px
        if fits or not line.strip() or tok in _NO_LINE_START:
            line = candidate
            continue
        lines.append(line.rstrip())
        line = tok.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def sources_line(sources: Sequence[str | SourceRef], lang: str, limit: int) -> str:
    """'Sources (12): a, b, c +9 more (full list in ...)' in the chosen language."""
    full = list(dict.fromkeys(s.label if isinstance(s, SourceRef) else str(s) for s in sources))
    if not full:
        return tr("no_sources", lang)
    sep = "；" if lang == "zh" else "; "
    shown = [s.short if isinstance(s, SourceRef) else short_source(s) for s in sources[:limit]]
    text = tr("sources", lang, n=len(full)) + sep.join(shown)
    if len(full) > len(shown):
        text += tr("more", lang, n=len(full) - len(shown)) + tr("more_where", lang)
    return text


def add_footer(
    fig: go.Figure,
    *,
    sources: Sequence[str | SourceRef],
    note: str | Sequence[str],
    title: str | None,
    lang: str,
    width: int,
    height: int | None = None,
    max_sources: int = MAX_FOOTER_SOURCES,
) -> tuple[go.Figure, int]:
    """A copy of ``fig`` with a title on top and the footer block below the plot.

    Returns the copy and the pixels the title and footer take (the caller may grow the
    image by them; ``height`` is the final image height when the caller fixes it). The
    caller's figure is never changed: the app keeps showing it.
    """
    framed, extra = frame_dict(
        fig.to_dict(),
        sources=sources,
        note=note,
        title=title,
        lang=lang,
        width=width,
        height=height,
        max_sources=max_sources,
    )
    return go.Figure(framed, skip_invalid=False, _validate=False), extra


def frame_dict(
    fig_dict: dict[str, Any],
    *,
    sources: Sequence[str | SourceRef],
    note: str | Sequence[str],
    title: str | None,
    lang: str,
    width: int,
    height: int | None = None,
    max_sources: int = MAX_FOOTER_SOURCES,
) -> tuple[dict[str, Any], int]:
    """:func:`add_footer` on a figure dict, which it changes in place and returns.

    Works on the dict because the county map is 3 MB: building and validating a second
    ``go.Figure`` of it would cost more than drawing it.
    """
    lang = i18n.normalize_lang(lang)
    layout = fig_dict.setdefault("layout", {})
    font_size = max(10, round(width / 110))
    notes = [note] if isinstance(note, str) else list(note)
    paragraphs = [sources_line(sources, lang, max_sources), *[n for n in notes if n]]
    margin = dict(layout.get("margin") or {})
    left = int(margin.get("l", 80))
    old_b, old_t = int(margin.get("b", 80)), int(margin.get("t", 100))
    lines: list[str] = []
    for para in paragraphs:
        lines.extend(wrap_text(para, max(200, width - 24), font_size))
    footer_h = int(len(lines) * font_size * 1.32 + font_size * 1.4)
    title_h = int(font_size * 2.6) if title else 0
    # the figure's own short source line (if the app draws one) gives way to the footer
    annotations = [
        a for a in layout.get("annotations") or [] if a.get("name") not in _OWN_SOURCE_NAMES
    ]
    annotations.append(
        {
            "text": "<br>".join(esc(line) for line in lines),
            "xref": "paper",
            "yref": "paper",
            "x": 0,
            "y": 0,
            "xanchor": "left",
            "yanchor": "top",
            "xshift": 12 - left,
            "yshift": -(old_b + font_size * 0.5),
            "align": "left",
            "showarrow": False,
            "font": {"size": font_size, "color": "#4b5563"},
            "name": "export-footer",
        }
    )
    layout["annotations"] = annotations
    layout["paper_bgcolor"] = "#ffffff"
    legend = dict(layout.get("legend") or {})
    if title and legend.get("y", 1) > 1 and legend.get("yref", "paper") == "paper":
        # a legend above the plot (the series chart) would sit under the title: move it
        # just below the title, in pixels from the top of the image
        title_h += int(font_size * 1.8)
        total = int(height) if height else int(layout.get("height") or 800) + footer_h + title_h
        legend.update(
            yref="container",
            y=1 - (int(font_size * 2.6) + font_size * 0.2) / total,
            yanchor="top",
        )
        layout["legend"] = legend
    margin.update(b=old_b + footer_h, t=old_t + title_h)
    layout["margin"] = margin
    if title:
        layout["title"] = {
            "text": f"<b>{esc(title)}</b>",
            "x": 0,
            "xref": "paper" if left else "container",
            "xanchor": "left",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": int(font_size * 0.8), "l": 0 if left else 12},
            "font": {"size": int(font_size * 1.5)},
        }
    return fig_dict, footer_h + title_h


def export_chart(
    fig: go.Figure,
    fmt: str,
    *,
    sources: Sequence[str | SourceRef],
    note: str | Sequence[str],
    title: str | None,
    lang: str,
    width: int | None = None,
    height: int | None = None,
    scale: float | None = None,
) -> bytes:
    """PNG, SVG or PDF bytes of ``fig`` with its title, sources and notes on the image.

    ``height=None`` keeps the figure's own height and adds the footer below it; an explicit
    height is the exact size of the image (the footer takes its room from the plot).
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in IMAGE_FORMATS:
        raise ExportError(f"format {fmt!r} is not an image format; use one of {IMAGE_FORMATS}")
    width = int(width or fig.layout.width or 1200)
    framed, extra = frame_dict(
        fig.to_dict(),  # a deep copy: the caller's figure stays as it is
        sources=sources,
        note=note,
        title=title,
        lang=lang,
        width=width,
        height=height,
    )
    if height is None:
        height = int(fig.layout.height or 800) + extra
    framed["layout"].update(width=width, height=int(height))
    return RENDERER.render(framed, fmt, width, int(height), float(scale or 1.0))


# ---------------------------------------------------------------------------------------
# A view (twinning.view.View) in a file
# ---------------------------------------------------------------------------------------


def export_view(
    store: Any,
    query: str,
    chart: str = "map",
    fmt: str = "png",
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float | None = None,
    data: agg.AtlasData | None = None,
    today: date | None = None,
    link: str | None = None,
) -> tuple[bytes, str]:
    """Bytes and a file name for one view (a permalink query) in one format.

    PNG defaults to scale 2 (sharp on a projector); SVG and PDF are vector. ``link``: the
    view's address in the atlas, put on the deck's title slide as a QR code.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt in ANIMATION_FORMATS:  # the time playback as a GIF or MP4 (#9)
        from twinning.animation import export_animation

        payload, name = export_animation(
            store, query, fmt, width=width, height=height, data=data, today=today
        )
        return payload or b"", name
    if fmt not in FORMATS:
        raise ExportError(f"format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")
    if chart not in CHARTS:
        raise ExportError(f"chart {chart!r} is not supported; use 'map' or 'series'")
    view = View.of(query, store=store, data=data, today=today, link=link)
    if fmt in TABLE_FORMATS:
        return export_table(view, fmt), view.filename(chart, fmt)
    if fmt == "pptx":
        return export_pptx(view, width=width, height=height), view.filename(chart, fmt)
    return render_view_chart(view, chart, fmt, width=width, height=height, scale=scale), (
        view.filename(chart, fmt)
    )


def render_view_chart(
    view: View,
    chart: str,
    fmt: str,
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float | None = None,
) -> bytes:
    fig = view.figure(chart)
    if chart == "map" and height is None:
        fig.update_layout(height=DEFAULT_HEIGHT["map"])
    return export_chart(
        fig,
        fmt,
        sources=view.sources(chart),
        note=view.notes(chart),
        title=view.title(chart),
        lang=view.lang,
        width=width or DEFAULT_WIDTH[chart],
        height=height,
        scale=scale or (2.0 if fmt == "png" else 1.0),
    )


# ---------------------------------------------------------------------------------------
# Tables: CSV (the screen's one CSV of the view) and Excel (its tables and the sources)
# ---------------------------------------------------------------------------------------


def sources_table(view: View) -> pd.DataFrame:
    lang = view.lang
    refs = view.sources(None)
    return pd.DataFrame(
        {
            i18n.t("col_source", lang): [r.label for r in refs],
            "URL": [r.url or "" for r in refs],
            tr("col_quotes", lang): [r.n_quotes for r in refs],
            i18n.t("table_figures", lang): [r.n_figures for r in refs],
            i18n.t("table_pairings", lang): [r.n_pairings for r in refs],
            i18n.t("col_confidence", lang): [r.confidence_text(lang) for r in refs],
        }
    )


def about_table(view: View) -> pd.DataFrame:
    lang = view.lang
    rows = [
        (tr("about_title", lang), view.title("map")),
        (tr("about_view", lang), view.query or view.filters.to_query_string()),
        *[("", line) for line in view.headline_lines(None)],
        *[("", n) for n in view.notes(None)],
    ]
    return pd.DataFrame(rows, columns=[tr("about_key", lang), tr("about_value", lang)])


def export_table(view: View, fmt: str) -> bytes:
    """CSV (one table of the rows) or Excel (rows, sources, about); formulas neutralised
    by the app's own writers (``query.iter_csv`` / ``export_xlsx``).

    The CSV is the table's CSV on screen, byte for byte (issue #8): the same function."""
    if fmt == "csv":
        return b"".join(view.csv())
    if fmt == "xlsx":
        lang = view.lang
        p = agg.pairings_table(view.data, view.filters)
        f = agg.figures_table(view.data, view.filters)
        return agg.export_xlsx(
            {
                i18n.t("table_figures", lang): f,
                i18n.t("table_pairings", lang): p,
                tr("sheet_sources", lang): sources_table(view),
                tr("sheet_about", lang): about_table(view),
            }
        )
    raise ExportError(f"format {fmt!r} is not a table format; use csv or xlsx")


# ---------------------------------------------------------------------------------------
# PowerPoint
# ---------------------------------------------------------------------------------------


def _set_font(run: Any, size: float, *, bold: bool = False, color: str | None = None) -> None:
    """Font for Latin *and* East Asian text: python-pptx's font.name sets only <a:latin>,
    and PowerPoint picks the East Asian font from <a:ea>, so Chinese needs both."""
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    font = run.font
    font.size = Pt(size)
    font.bold = bold
    font.name = CJK_FONT
    rpr = run._r.get_or_add_rPr()
    latin = rpr.find(qn("a:latin"))
    anchor = latin
    for tag in ("a:ea", "a:cs"):
        el = rpr.find(qn(tag))
        if el is None:
            el = rpr.makeelement(qn(tag), {})
            anchor.addnext(el)
        el.set("typeface", CJK_FONT)
        anchor = el
    if color:
        font.color.rgb = RGBColor.from_string(color.lstrip("#"))


def _add_text(
    slide: Any,
    left: float,
    top: float,
    width: float,
    height: float,
    paragraphs: Iterable[tuple[str, float, bool, str]],
) -> Any:
    from pptx.util import Inches

    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    tf = box.text_frame
    tf.word_wrap = True
    for i, (text, size, bold, colour) in enumerate(paragraphs):
        para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        run = para.add_run()
        run.text = text
        _set_font(run, size, bold=bold, color=colour)
    return box


def _image_slide(prs: Any, title: str, png: bytes, notes: str) -> None:
    from pptx.util import Inches

    slide = prs.slides.add_slide(prs.slide_layouts[6])
    _add_text(slide, 0.4, 0.15, 12.5, 0.6, [(title, 20, True, "#1f2933")])
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        w, h = im.size
    box_w, box_h = 12.5, 6.5
    ratio = min(box_w / w, box_h / h)
    pic_w, pic_h = w * ratio, h * ratio
    slide.shapes.add_picture(
        io.BytesIO(png),
        Inches(0.4 + (box_w - pic_w) / 2),
        Inches(0.85),
        Inches(pic_w),
        Inches(pic_h),
    )
    slide.notes_slide.notes_text_frame.text = notes


def _qr_on_slide(slide: Any, link: str, lang: str) -> None:
    """The view's link as a QR code at the slide's right, with a line saying what it is:
    the audience opens the view on their phones (the Share menu shows the same code)."""
    from pptx.util import Inches

    from twinning.qr import qr_png

    side = 2.6
    left, top = 13.333 - 0.6 - side, 1.7
    slide.shapes.add_picture(
        io.BytesIO(qr_png(link)), Inches(left), Inches(top), Inches(side), Inches(side)
    )
    _add_text(
        slide,
        left - 0.2,
        top + side + 0.05,
        side + 0.4,
        0.9,
        [(i18n.t("share.qr_slide", lang), 12, True, "#1f2933"), (link, 8, False, "#6b7280")],
    )


def export_pptx(view: View, *, width: int | None = None, height: int | None = None) -> bytes:
    """A deck: title + filters, the map, the series, and every source with its quote
    count and confidence (paged). The notes of the chart slides list all sources."""
    from pptx import Presentation
    from pptx.util import Inches

    lang = view.lang
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)

    slide = prs.slides.add_slide(prs.slide_layouts[6])
    _add_text(
        slide,
        0.8,
        1.6,
        8.9 if view.link else 11.7,
        4.8,
        [
            (i18n.t("title", lang), 16, False, "#b3261e"),
            (view.title("map"), 32, True, "#1f2933"),
            ("", 12, False, "#1f2933"),
            (view.filters_text(), 14, False, "#374151"),
            *[(line, 14, False, "#374151") for line in view.headline_lines(None)],
            (view.confidence_text(None), 14, False, "#374151"),
            (tr("period_note", lang), 14, False, "#374151"),
            (view.stamp(), 12, False, "#6b7280"),
        ],
    )
    if view.link:
        _qr_on_slide(slide, view.link, lang)

    for chart in CHARTS:
        png = render_view_chart(view, chart, "png", width=width, height=height, scale=1.5)
        refs = view.sources(chart)
        notes = "\n".join(
            [tr("notes_sources", lang), *[f"{r.label}  {r.url or ''}".strip() for r in refs]]
        )
        _image_slide(prs, view.title(chart), png, notes)

    refs = view.sources(None)
    per_slide = 14
    pages = [refs[i : i + per_slide] for i in range(0, len(refs), per_slide)] or [[]]
    headers = [
        i18n.t("col_source", lang),
        tr("col_quotes", lang),
        i18n.t("table_figures", lang),
        i18n.t("table_pairings", lang),
        i18n.t("col_confidence", lang),
    ]
    widths = [7.0, 0.9, 0.9, 1.1, 2.6]
    for i, page in enumerate(pages, start=1):
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        heading = (
            tr("sources_slide", lang)
            if len(pages) == 1
            else tr("sources_slide_page", lang, i=i, n=len(pages))
        )
        _add_text(slide, 0.4, 0.15, 12.5, 0.6, [(heading, 20, True, "#1f2933")])
        table = slide.shapes.add_table(
            len(page) + 1, len(headers), Inches(0.4), Inches(0.85), Inches(12.5), Inches(0.4)
        ).table
        for c, (text, w) in enumerate(zip(headers, widths, strict=True)):
            table.columns[c].width = Inches(w)
            cell = table.cell(0, c)
            cell.text_frame.text = ""
            _set_font(cell.text_frame.paragraphs[0].add_run(), 11, bold=True)
            cell.text_frame.paragraphs[0].runs[0].text = text
        for r, ref in enumerate(page, start=1):
            label = ref.label if not ref.url or ref.url == ref.label else f"{ref.label} — {ref.url}"
            values = [
                label,
                str(ref.n_quotes),
                str(ref.n_figures),
                str(ref.n_pairings),
                ref.confidence_text(lang),
            ]
            for c, text in enumerate(values):
                cell = table.cell(r, c)
                cell.text_frame.word_wrap = True
                run = cell.text_frame.paragraphs[0].add_run()
                run.text = text
                _set_font(run, 9)
        slide.notes_slide.notes_text_frame.text = view.stamp()
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def tour_filename(tour: Any, lang: str, fmt: str) -> str:
    """``twinning-atlas_tour-<id>_<lang>.<fmt>``."""
    return f"twinning-atlas_tour-{tour.id}_{i18n.normalize_lang(lang)}.{fmt}"


def export_tour_pptx(
    data: agg.AtlasData,
    tour: Any,
    lang: str,
    *,
    base: str = "",
    today: date | None = None,
    width: int | None = None,
    height: int | None = None,
) -> bytes:
    """A tour's deck (issue #9): a title slide (the tour's title, its stops, the data's
    stamp, a QR code of the tour's address), then one slide per stop: its title, its map
    (with the view's source line and notes under it, as every exported image), its note
    on the slide and in the speaker notes with every source of the view, and a QR code of
    the view's link. ``tour``: a ``twinning.tours.Tour``; ``base``: the atlas's address."""
    from pptx import Presentation
    from pptx.util import Inches

    lang = i18n.normalize_lang(lang)
    today = today or date.today()
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    tour_link = f"{base.rstrip('/')}{tour.path(lang)}" if base.startswith("http") else ""

    slide = prs.slides.add_slide(prs.slide_layouts[6])
    first = View(data=data, filters=tour.stops[0].filters(lang), today=today)
    _add_text(
        slide,
        0.8,
        1.2,
        8.9 if tour_link else 11.7,
        5.6,
        [
            (i18n.t("title", lang), 16, False, "#b3261e"),
            (tour.title(lang), 32, True, "#1f2933"),
            ("", 12, False, "#1f2933"),
            *[
                (f"{i}. {stop.title(lang)}", 14, False, "#374151")
                for i, stop in enumerate(tour.stops, start=1)
            ][:14],
            ("", 10, False, "#1f2933"),
            (first.stamp(), 12, False, "#6b7280"),
        ],
    )
    if tour_link:
        _qr_on_slide(slide, tour_link, lang)
    slide.notes_slide.notes_text_frame.text = first.stamp()

    for i, stop in enumerate(tour.stops, start=1):
        filters = stop.filters(lang)
        view = View(data=data, filters=filters, today=today)
        png = render_view_chart(view, "map", "png", width=width, height=height, scale=1.5)
        refs = view.sources("map")
        note = stop.note(lang)
        notes = "\n".join(
            [
                *([note, ""] if note else []),
                tr("notes_sources", lang),
                *[f"{r.label}  {r.url or ''}".strip() for r in refs],
                "",
                view.filters_text(),
                view.stamp(),
            ]
        )
        title = f"{i}/{len(tour.stops)} · {stop.title(lang)}"
        _stop_slide(prs, title, note, png, notes, stop.link(base, lang) if base else "", lang)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def _stop_slide(
    prs: Any, title: str, note: str, png: bytes, notes: str, link: str, lang: str
) -> None:
    """A tour's stop: title, the note under it, the map (its sources in its footer), a QR
    code of the view's link at the right, the note and every source in the notes."""
    from PIL import Image
    from pptx.util import Inches

    slide = prs.slides.add_slide(prs.slide_layouts[6])
    _add_text(slide, 0.4, 0.15, 12.5, 0.6, [(title, 22, True, "#1f2933")])
    top = 0.8
    if note:
        _add_text(slide, 0.4, top, 10.4, 0.8, [(note, 14, False, "#374151")])
        top += 0.85
    with Image.open(io.BytesIO(png)) as im:
        w, h = im.size
    box_w, box_h = (10.4 if link else 12.5), 7.3 - top
    ratio = min(box_w / w, box_h / h)
    slide.shapes.add_picture(
        io.BytesIO(png), Inches(0.4), Inches(top), Inches(w * ratio), Inches(h * ratio)
    )
    if link:
        from twinning.qr import qr_png

        side = 2.0
        left = 13.333 - 0.4 - side
        slide.shapes.add_picture(
            io.BytesIO(qr_png(link)), Inches(left), Inches(top), Inches(side), Inches(side)
        )
        _add_text(
            slide,
            left - 0.1,
            top + side,
            side + 0.2,
            1.0,
            [(i18n.t("share.qr_slide", lang), 10, True, "#1f2933"), (link, 7, False, "#6b7280")],
        )
    slide.notes_slide.notes_text_frame.text = notes


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------


def cli_export(args: argparse.Namespace) -> int:
    """``twinning export QUERY -o FILE [--chart map|series] [--width] [--height] [--scale]``."""
    output = Path(args.output)
    fmt = output.suffix.lower().lstrip(".")
    if fmt in ("html", "htm"):  # one interactive file that needs no server (#9)
        from twinning.embed import cli_export_html

        return cli_export_html(args)
    if fmt in ANIMATION_FORMATS:  # the time playback as a GIF or MP4 (#9)
        from twinning.animation import cli_export_animation

        return cli_export_animation(args)
    if fmt not in FORMATS:
        print(
            f"error: {output}: cannot tell the format from the suffix {output.suffix!r}; "
            f"use one of {', '.join('.' + f for f in (*FORMATS, 'html', *ANIMATION_FORMATS))}",
            file=sys.stderr,
        )
        return 2
    chart = getattr(args, "chart", None) or "map"
    if fmt == "csv":  # streamed to the file: any size, bounded memory
        view = View.of(getattr(args, "query", "") or "")
        output.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with output.open("wb") as fh:
            for chunk in view.csv():
                size += fh.write(chunk)
        print(f"{output} ({size:,} bytes)")
        return 0
    try:
        payload, _ = export_view(
            None,
            getattr(args, "query", "") or "",
            chart,
            fmt,
            width=getattr(args, "width", None),
            height=getattr(args, "height", None),
            scale=getattr(args, "scale", None),
        )
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        RENDERER.stop()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    print(f"{output} ({len(payload):,} bytes)")
    return 0
