"""Exports of a view that carry their sources: PNG, SVG, PDF, PowerPoint, CSV and Excel.

Why this module exists: analysts paste the atlas's charts into briefings, where the page
around the chart is lost. So every image carries, on the image itself, the sources of the
rows it shows, how many of them were recorded from memory, that period figures are shown
as periods, the filters in words, the data version and the export date. The deck and the
tables carry the full list of sources.

This module turns a view (``twinning.view.View``) into a file: the formats, the images
(``export_chart``: the figure framed by ``twinning.footer`` and drawn offline by
``twinning.render``), the tables (CSV: the screen's one CSV; Excel: rows, sources, about),
the deck (``twinning.deck``) and ``twinning export`` on the command line.

No dash here; the Dash control is ``components/export_controls.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from twinning import i18n
from twinning import query as agg
from twinning.deck import export_pptx
from twinning.footer import frame_dict
from twinning.render import RENDERER, ExportError
from twinning.sources import SourceRef
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

# This module's words are the catalog's "export.<key>" messages (twinning/locale), said
# with the view's ``tr``; the catalog's extractor reads the prefix from here too.
I18N_PREFIX = "export."


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
