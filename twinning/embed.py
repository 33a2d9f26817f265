"""A view as one standalone HTML document: an embed (``/embed``, one chart in an iframe)
and the offline interactive file (``twinning export "<view>" -o view.html``), issue #9.

Both are plain HTML around the atlas's own figures (``twinning.figures``) and the one
URL parser (``twinning.filters``): what an embed or a file shows is what the atlas shows
for the same link, and every chart carries its source line under it.

- An embed fills its iframe (the chart takes what the title and the source line leave;
  plotly's ``responsive`` redraws it when the frame changes size) and points at the page's
  own scripts and boundaries, served by the atlas.
- The offline file holds everything inside: plotly.js (``assets/vendor``), the base map,
  the boundaries, the figures, one frame of map values per year behind a year slider, the
  sources and the filters in words. It opens from disk with no server and no network.

No dash here: ``components/share.py`` serves these documents.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twinning import i18n
from twinning import query as agg
from twinning.paths import PLOTLY_BUNDLE
from twinning.sources import short_source
from twinning.view import INLINE, View

CHARTS: tuple[str, ...] = ("map", "series", "headlines", "table")
TABLE_ROWS = 50  # rows an embedded table shows; the rest are one click away in the atlas
SOURCES_IN_LINE = 3  # sources named in an embed's source line; the rest "+N more"

# This module's words are the catalog's "share.<key>" messages (twinning/locale).
I18N_PREFIX = "share."


def tr(key: str, lang: str, **fmt: object) -> str:
    """This module's text for ``key`` (``share.<key>``)."""
    return i18n.t(I18N_PREFIX + key, lang, **fmt)


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def view_query(view: str) -> str:
    """The query of a view given as a permalink (``http://host/?lang=en&...``), a path
    (``/embed?chart=map&...``) or a bare query (``lang=en&level=county``)."""
    view = (view or "").strip()
    if "?" in view or view.startswith(("http://", "https://", "/")):
        return urlsplit(view).query
    return view.lstrip("?")


def chart_of(query: str) -> str:
    """The ``chart=`` of an embed's query (``map`` when absent or unknown)."""
    from urllib.parse import parse_qs

    value = (parse_qs(query).get("chart") or ["map"])[0].strip().lower()
    return value if value in CHARTS else "map"


# ---------------------------------------------------------------------------------------
# The words under a chart: sources, data date, headline numbers
# ---------------------------------------------------------------------------------------


def data_date(data: agg.AtlasData) -> str | None:
    """The day the stored rows last changed: the newest batch not undone (ISO date)."""

    def compute() -> str | None:
        rows = data.rows("SELECT MAX(created_at) FROM batches WHERE undone_at IS NULL")
        value = rows[0][0] if rows else None
        if value is None:
            return None
        return value.date().isoformat() if hasattr(value, "date") else str(value)[:10]

    return data.cached(("data-date",), compute)


def sources_html(view: View, limit: int = SOURCES_IN_LINE) -> str:
    """'Sources (12): a · b · c +9 more' for the rows in view, linked where they have an
    address (the same line as under the atlas's map)."""
    lang = view.lang
    found = view.source_tally()
    if not found.sources:
        return esc(i18n.t("source_line_none", lang))
    head = (
        i18n.t("source_line", lang, n=len(found.sources))
        if found.complete
        else i18n.t("source_line_some", lang)
    )
    parts = []
    for label, url, _n in found.sources[:limit]:
        text = esc(short_source(label, url))
        if url and url.startswith(("http://", "https://")):
            parts.append(
                f'<a href="{esc(url)}" title="{esc(label)}" target="_blank" '
                f'rel="noopener noreferrer">{text}</a>'
            )
        else:
            parts.append(f'<span title="{esc(label)}">{text}</span>')
    tail = ""
    if len(found.sources) > limit or not found.complete:
        more = len(found.sources) - limit
        tail = " " + esc(
            i18n.t("source_line_more", lang, n=more)
            if found.complete
            else i18n.t("source_line_others", lang)
        )
    return esc(head) + " · ".join(parts) + tail


def all_sources_html(view: View) -> str:
    """Every source of the view as a list (the offline file writes them all out)."""
    lang = view.lang
    found = view.source_tally()
    if not found.sources:
        return f"<p>{esc(i18n.t('source_line_none', lang))}</p>"
    items = []
    for label, url, n in found.sources:
        name = esc(label)
        if url and url.startswith(("http://", "https://")):
            name = f'<a href="{esc(url)}" rel="noopener noreferrer">{name}</a>'
            if url != label:
                name += f" <span class='muted'>{esc(url)}</span>"
        items.append(f"<li>{name} <span class='muted'>({esc(tr('rows', lang, n=n))})</span></li>")
    more = "" if found.complete else f"<p class='muted'>{esc(tr('sources_partial', lang))}</p>"
    return f"<ol class='sources'>{''.join(items)}</ol>{more}"


def headline_items(view: View) -> list[tuple[str, str, str, str]]:
    """(key, label, value, caveat) of each headline number, worded as on the atlas
    (``describe.headline_words``: a sum of figures as "at least X", no two overlapping)."""
    from twinning.figures.describe import headline_words

    lang = view.lang
    out = []
    for h in view.headlines():
        value, note = headline_words(h, lang)
        out.append((h.key, i18n.t(h.key, lang), value, note))
    return out


def headlines_html(view: View) -> str:
    cards = "".join(
        f'<div class="headline" data-key="{esc(key)}"><div class="headline-label">{esc(label)}'
        f'</div><div class="headline-value">{esc(value)}</div>'
        f'<div class="headline-note">{esc(note)}</div></div>'
        for key, label, value, note in headline_items(view)
    )
    return f'<div class="headlines">{cards}</div>'


def table_html(view: View, rows: int = TABLE_ROWS) -> str:
    """The first rows of the view's figures (with a metric) or pairings, as a table."""
    filters = view.filters
    kind = "figures" if filters.metric else "pairings"
    page = view.table_page(kind, 0, rows)
    names = agg.headers(kind, filters.lang)
    cols = [c.id for c in agg.COLUMNS[kind]]
    head = "".join(f"<th>{esc(names[c])}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(row.get(c)))}</td>" for c in cols) + "</tr>"
        for row in page.rows
    )
    shown = tr("table_shown", filters.lang, n=len(page.rows), total=page.total)
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f'<tbody>{body}</tbody></table></div><p class="table-note">{esc(shown)}</p>'
    )


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------


def figure_json(fig: Any) -> str:
    """A figure (dict or go.Figure) or a list of frames as JSON for ``Plotly.newPlot``,
    safe inside ``<script>``."""
    import plotly.io.json as pjson

    body = fig if isinstance(fig, (dict, list)) else fig.to_plotly_json()
    return _script_safe(pjson.to_json_plotly(body))


def _script_safe(text: str) -> str:
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def fit_to_frame(fig: dict[str, Any]) -> dict[str, Any]:
    """The figure sized by its container: no fixed width or height."""
    layout = dict(fig.get("layout") or {})
    layout.pop("width", None)
    layout.pop("height", None)
    layout["autosize"] = True
    return {**fig, "layout": layout}


def trace_frame(meta: dict[str, Any], values: dict[str, Any]) -> tuple[list[int], list[dict]]:
    """(trace indices, trace updates) that set a map to ``values``: a plotly frame, the
    same properties the atlas patches on a filter change (``trace_updates``), nested."""
    from twinning.figures.map import set_path, trace_updates

    updates = trace_updates(meta, values)
    order = sorted(updates)
    frames = []
    for idx in order:
        frame: dict[str, Any] = {}
        for prop, value in updates[idx].items():
            set_path(frame, prop, value)
        frames.append(frame)
    return order, frames


def year_frames(view: View, fig: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, dict]]:
    """One plotly frame per year of the data (the view's own values first, named
    ``view``), and each frame's title, note and headline numbers. Period figures show
    undivided in every year of their period; a count "to 2022" from its end year, as in
    the atlas's playback (``Filters.year``)."""
    filters = view.filters
    meta = fig["layout"]["meta"]
    lo, hi = agg.year_bounds(view.data)
    mode = filters.mode if filters.year is not None else "year"
    views = [("view", view)] + [
        (str(y), view.with_filters(replace(filters.timeless(), year=y, mode=mode)))
        for y in range(lo, hi + 1)
    ]
    frames, words = [], {}
    for name, each in views:
        values = each.map_values()
        traces, updates = trace_frame(meta, values)
        frames.append({"name": name, "traces": traces, "data": updates})
        numbers = {key: [value, note] for key, _label, value, note in headline_items(each)}
        words[name] = {"title": values["title"], "note": values["note"], "numbers": numbers}
    return frames, words


def year_slider(view: View) -> dict[str, Any]:
    """A plotly slider over the frames: the view as linked, then each year."""
    lo, hi = agg.year_bounds(view.data)
    lang = view.lang
    anim = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {}}
    steps = [{"label": tr("slider_view", lang), "method": "animate", "args": [["view"], anim]}]
    steps += [
        {"label": str(y), "method": "animate", "args": [[str(y)], anim]} for y in range(lo, hi + 1)
    ]
    return {
        "active": 0,
        "steps": steps,
        "x": 0.05,
        "len": 0.9,
        "y": 0,
        "yanchor": "top",
        "pad": {"t": 10, "b": 4},
        "currentvalue": {"prefix": tr("slider_prefix", lang), "font": {"size": 13}},
        "font": {"size": 10},
    }


# ---------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------

GRAPH_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "scrollZoom": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

EMBED_CSS = """
html,body{margin:0;padding:0;height:100%;overflow:hidden;background:#fff;color:#1f2933;
font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans SC",sans-serif}
body{display:flex;flex-direction:column}
.embed-title{flex:none;margin:0;padding:6px 10px 0;font-size:15px;font-weight:600;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.embed-chart{flex:1 1 auto;min-height:0;position:relative;overflow:hidden}
.embed-chart > .js-plotly-plot,.embed-chart > .plot{position:absolute;inset:0}
.embed-foot{flex:none;padding:3px 10px 5px;font-size:12px;line-height:1.45;color:#4b5563;
border-top:1px solid #e5e7eb}
.embed-foot p{margin:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.embed-foot a{color:#1d4ed8}
.embed-open{font-weight:600}
.headlines{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;
padding:8px 10px;overflow:auto;max-height:100%;box-sizing:border-box}
.headline{border:1px solid #e5e7eb;border-radius:6px;padding:6px 8px}
.headline-label{font-size:12px;color:#4b5563}
.headline-value{font-size:22px;font-weight:600;white-space:nowrap}
.headline-note{font-size:11px;color:#6b7280}
.table-wrap{position:absolute;inset:0 0 20px 0;overflow:auto}
.table-note{position:absolute;left:10px;bottom:2px;margin:0;font-size:11px;color:#6b7280}
table{border-collapse:collapse;font-size:12px;width:max-content;min-width:100%}
th,td{border-bottom:1px solid #e5e7eb;padding:3px 6px;text-align:left;vertical-align:top;
max-width:260px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
th{position:sticky;top:0;background:#f9fafb}
"""


def _html_lang(lang: str) -> str:
    return "zh-CN" if lang == "zh" else "en"


def atlas_href(filters: agg.Filters, base: str = "/") -> str:
    """The atlas's own link to a view (``base``: its address, or its path prefix)."""
    return base.rstrip("/") + "/" + filters.to_query_string()


def embed_document(
    view: View,
    chart: str,
    *,
    figure: dict[str, Any] | None = None,
    atlas_url: str = "/",
    scripts: Sequence[str] = (),
) -> str:
    """One chart of a view, alone, filling its frame, with the source line, the data date
    and "Open in the atlas" under it. ``figure``: the map's or series' plotly figure as the
    atlas draws it (boundaries by URL); ``scripts``: the addresses of plotly.js and the
    base map; ``atlas_url``: the atlas's address for the view's link."""
    filters, lang = view.filters, view.lang
    chart = chart if chart in CHARTS else "map"
    if chart in ("map", "series"):
        title = view.title(chart)
    elif chart == "headlines":
        title = tr("headlines_title", lang)
    else:
        title = i18n.t("table_figures" if filters.metric else "table_pairings", lang)
    if chart in ("map", "series"):
        if figure is None:
            raise ValueError(f"the {chart} embed needs its figure")
        body = ""
        boot = _boot_script(fit_to_frame(figure), "chart")
    elif chart == "headlines":
        body, boot = headlines_html(view), ""
    else:
        body, boot = table_html(view), ""
    when = data_date(view.data)
    meta = [esc(tr("data_date", lang, date=when))] if when else []
    href = atlas_href(filters, atlas_url)
    meta.append(
        f'<a class="embed-open" href="{esc(href)}" target="_blank" rel="noopener">'
        f"{esc(tr('open_in_atlas', lang))} ↗</a>"
    )
    script_tags = "".join(f'<script src="{esc(src)}"></script>' for src in scripts)
    return (
        f'<!DOCTYPE html><html lang="{_html_lang(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)} · {esc(i18n.t('title', lang))}</title>"
        f"<style>{EMBED_CSS}</style>{script_tags}</head>"
        f'<body class="embed embed-{chart}"><h1 class="embed-title" title="{esc(title)}">'
        f"{esc(title)}</h1>"
        f'<div id="chart" class="embed-chart" role="figure" aria-label="{esc(title)}">'
        f"{body}</div>"
        f'<footer class="embed-foot"><p class="embed-sources">{sources_html(view)}</p>'
        f'<p class="embed-meta">{" · ".join(meta)}</p></footer>{boot}</body></html>'
    )


def _boot_script(fig: dict[str, Any], element: str, frames: list | None = None) -> str:
    config = json.dumps(GRAPH_CONFIG)
    frames_js = figure_json(frames) if frames else "null"
    return (
        "<script>(function(){"
        f"var fig={figure_json(fig)};var frames={frames_js};"
        f"var el=document.getElementById({json.dumps(element)});"
        # the programme legend in columns that fit the frame (plotly's own wrapping lets
        # long names run off a narrow one), its title above them
        "var lg=fig.layout.legend;if(lg&&lg.orientation==='h'){"
        "var cols=Math.max(1,Math.min(6,Math.floor(el.clientWidth/200)));"
        "if(el.clientWidth<700){lg.font=Object.assign({},lg.font,{size:10});}"
        "lg.entrywidthmode='fraction';lg.entrywidth=1/cols;"
        "if(lg.title&&el.clientWidth<1400){lg.title.side='top left';}}"
        f"Plotly.newPlot(el,fig.data,fig.layout,{config}).then(function(gd){{"
        "if(frames){return Plotly.addFrames(gd,frames);}"
        "}).then(function(){el.setAttribute('data-drawn','1');});"
        "})();</script>"
    )


OFFLINE_CSS = """
body{margin:0;background:#f6f7f9;color:#1f2933;
font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans SC",sans-serif}
main{max-width:1200px;margin:0 auto;padding:12px 16px 32px}
h1{font-size:22px;margin:8px 0 2px} h2{font-size:17px;margin:18px 0 6px}
.muted{color:#6b7280}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px;margin:10px 0}
#map{height:min(72vh,720px);min-height:360px}
#series{height:560px}
.note{font-size:13px;color:#4b5563;margin:4px 0}
.headlines{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:8px}
.headline{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:8px 10px}
.headline-label{font-size:13px;color:#4b5563}
.headline-value{font-size:20px;font-weight:600;line-height:1.25}
.headline-note{font-size:12px;color:#6b7280}
.sources{font-size:13px;line-height:1.5;padding-left:22px;word-break:break-word}
.about p{font-size:13px;margin:4px 0}
"""


def offline_document(view: View) -> str:
    """The view as one interactive HTML file that needs no server and no network: the map
    (zoom, hover, a year slider), the series, the headline numbers, every source and the
    filters in words, with plotly.js, the base map and the boundaries inside. The view's
    ``link``: its address in the atlas (written as a link), else its path."""
    data, filters, lang, link = view.data, view.filters, view.lang, view.link
    fig = view.map(INLINE)
    frames, words = year_frames(view, fig)
    layout = dict(fig["layout"])
    layout["sliders"] = [year_slider(view)]
    margin = dict(layout.get("margin") or {})
    margin["b"] = max(int(margin.get("b", 0)), 70)
    layout["margin"] = margin
    fig = fit_to_frame({"data": fig["data"], "layout": layout})
    series = fit_to_frame(view.series())
    first = words["view"]
    if link and link.startswith(("http://", "https://")):
        where = f'<a href="{esc(link)}" rel="noopener">{esc(link)}</a>'
    else:
        where = f"<code>{esc(atlas_href(filters, '/'))}</code>"
    when = data_date(data)
    plotly_js = PLOTLY_BUNDLE.read_text(encoding="utf-8")
    words_js = _script_safe(json.dumps(words, ensure_ascii=False))
    notes = "".join(f"<p>{esc(n)}</p>" for n in view.notes(None))
    follow = (
        "<script>(function(){var words=" + words_js + ";"
        "var el=document.getElementById('map');"
        "function show(name){var w=words[name];if(!w){return;}"
        "document.getElementById('map-title').textContent=w.title;"
        "document.getElementById('map-note').textContent=w.note;"
        "Object.keys(w.numbers).forEach(function(k){"
        "var card=document.querySelector('.headline[data-key=\"'+k+'\"]');if(!card){return;}"
        "card.querySelector('.headline-value').textContent=w.numbers[k][0];"
        "card.querySelector('.headline-note').textContent=w.numbers[k][1];});}"
        "var timer=setInterval(function(){if(el.on){clearInterval(timer);"
        "el.on('plotly_sliderchange',function(e){show(e.step.args[0][0]);});}},50);"
        "})();</script>"
    )
    return (
        f'<!DOCTYPE html><html lang="{_html_lang(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(view.title('map'))} · {esc(i18n.t('title', lang))}</title>"
        f"<style>{OFFLINE_CSS}</style>"
        f"<script>{_script_safe(plotly_js)}</script></head><body><main>"
        f"<p class='muted'>{esc(i18n.t('title', lang))} · {esc(tr('offline_kicker', lang))}</p>"
        f"<h1 id='map-title'>{esc(first['title'])}</h1>"
        f"{headlines_html(view)}"
        f"<div class='card'><div id='map' role='figure' aria-labelledby='map-title'></div>"
        f"<p class='note' id='map-note'>{esc(first['note'])}</p>"
        f"<p class='note'>{esc(tr('slider_help', lang))}</p>"
        f"<p class='note source-line'>{sources_html(view)}</p></div>"
        f"<h2 id='series-title'>{esc(view.title('series'))}</h2>"
        f"<div class='card'><div id='series' role='figure' aria-labelledby='series-title'>"
        "</div></div>"
        f"<h2>{esc(tr('sources_heading', lang))}</h2><div class='card'>"
        f"{all_sources_html(view)}</div>"
        f"<h2>{esc(tr('about_heading', lang))}</h2><div class='card about'>{notes}"
        f"<p>{esc(tr('data_date', lang, date=when or '—'))}</p>"
        f"<p>{esc(tr('offline_link', lang))} {where}</p></div>"
        f"</main>{_boot_script(fig, 'map', frames)}{_boot_script(series, 'series')}"
        f"{follow}</body></html>"
    )


def cli_export_html(args: argparse.Namespace) -> int:
    """``twinning export "<view url or query>" -o view.html``."""
    output = Path(args.output)
    text = offline_document(View.of(getattr(args, "query", "") or ""))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"{output} ({output.stat().st_size:,} bytes)", file=sys.stdout)
    return 0
