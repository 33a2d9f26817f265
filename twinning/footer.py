"""The block under an exported chart: its title, its sources and its notes, on the image.

Analysts paste the atlas's charts into briefings, where the page around the chart is
lost. So every image carries the sources of the rows it shows, how many were recorded from
memory, that period figures stay periods, the filters in words, the data version and the
export date (``twinning.view.View.notes``). ``frame_dict`` lays them out below the plot,
wrapping text to the image's width (CJK and Latin measured apart). No dash here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from twinning import i18n
from twinning.figures.markup import esc
from twinning.sources import SourceRef, short_source
from twinning.view import tr

CJK_FONT = "Noto Sans CJK SC"
MAX_FOOTER_SOURCES = 6  # sources named on an image; the rest is "+N more"
_OWN_SOURCE_NAMES = ("figure-sources",)  # annotation name of the app's in-figure sources
# The footer's words are the catalog's "export.<key>" messages, said with the view's tr.
I18N_PREFIX = "export."


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
    """A figure dict with a title on top and the footer block below the plot, changed in
    place and returned with the pixels the title and footer take (the caller may grow the
    image by them; ``height`` is the final image height when the caller fixes it). Pass a
    copy (``fig.to_dict()``) to keep the caller's figure as it is.

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
