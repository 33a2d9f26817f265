"""PowerPoint decks of a view and of a tour (python-pptx): a title slide, the charts with
their sources and notes on the slide and in the speaker notes, QR codes of the views'
links. Fonts are set for Latin and East Asian text alike. No dash here.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from typing import Any

from twinning import i18n
from twinning import query as agg
from twinning.footer import CJK_FONT
from twinning.view import CHARTS, View, tr

# The deck's words are the catalog's "export.<key>" messages, said with the view's tr.
I18N_PREFIX = "export."


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
        png = _render(view, chart, "png", width=width, height=height, scale=1.5)
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
        png = _render(view, "map", "png", width=width, height=height, scale=1.5)
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


def _render(view: View, chart: str, fmt: str, **size: Any) -> bytes:
    """The chart as ``twinning export`` draws it (its footer included)."""
    from twinning.export import render_view_chart

    return render_view_chart(view, chart, fmt, **size)
