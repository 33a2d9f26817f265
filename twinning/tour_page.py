"""A tour as one HTML document (issue #9): the presenter's page at ``/tour/<id>`` and the
same page as a single offline file (``twinning tour export <id> -o tour.html``).

One stop at a time on a stage that fills the window: the stop's title and note, the map of
its view with the map's title and note, its source line, a QR code of the view's link and
"Open this view in the atlas". Keyboard: ←/→ and PageUp/PageDown (a presenter's clicker),
Home/End; auto-advance with an interval; a progress bar and one button per stop. Between
two stops drawn on the same boundaries (same level and province) the map stays in place
and only its colours, lines and words change; otherwise the stage fades out and in (none
with ``prefers-reduced-motion``).

Plain HTML written from escaped text around the atlas's own figures: the served page
points at the atlas's plotly.js and boundaries and marks its one inline script with the
response's CSP nonce; the offline file holds plotly.js, the base map and each distinct
set of boundaries once. No dash here: ``components/tours.py`` serves it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from twinning import i18n
from twinning import query as agg
from twinning.embed import (
    GRAPH_CONFIG,
    PLOTLY_BUNDLE,
    _html_lang,
    _script_safe,
    data_date,
    esc,
    figure_json,
    fit_to_frame,
    sources_html,
)
from twinning.qr import qr_svg_data_uri
from twinning.tours import INTERVALS, Stop, Tour
from twinning.view import INLINE, Boundaries, View

I18N_PREFIX = "tour."


def tr(key: str, lang: str, **fmt: object) -> str:
    return i18n.t(I18N_PREFIX + key, lang, **fmt)


@dataclass(frozen=True)
class StopView:
    """What the page shows for one stop, in one language: the stop's words around its
    view (``twinning.view.View``), whose map, title, note and sources it renders."""

    stop: Stop
    view: View
    figure: dict[str, Any]  # the view's map, sized by its frame
    link: str  # the view's address in the atlas

    @property
    def filters(self) -> agg.Filters:
        return self.view.filters

    @property
    def map_title(self) -> str:
        return self.view.map_title()

    @property
    def map_note(self) -> str:
        return self.view.map_note()

    @property
    def sources(self) -> str:
        """The source line (HTML, escaped)."""
        return sources_html(self.view)

    @property
    def place(self) -> str:
        """Which boundaries the map draws: stops that share them change in place."""
        return f"{self.filters.level}|{self.filters.recipient or ''}"


def stop_views(
    data: agg.AtlasData, tour: Tour, lang: str, base: str, boundaries: Boundaries = INLINE
) -> list[StopView]:
    """Each stop of ``tour`` in ``lang``; ``boundaries``: by address when served, inside
    when the tour is a file."""
    out = []
    for stop in tour.stops:
        view = View(data, stop.filters(lang))
        out.append(
            StopView(
                stop=stop,
                view=view,
                figure=fit_to_frame(view.map(boundaries)),
                link=stop.link(base, lang),
            )
        )
    return out


def _shared_boundaries(figures: list[dict[str, Any]]) -> tuple[list[dict], dict[str, Any]]:
    """Each distinct set of inline boundaries once (``{"$geo": key}`` in the traces): a
    file of ten county maps holds the counties once, not ten times."""
    table: dict[str, Any] = {}
    out = []
    for fig in figures:
        data = []
        for trace in fig.get("data", []):
            geo = trace.get("geojson") if isinstance(trace, dict) else None
            if isinstance(geo, dict):
                text = json.dumps(geo, sort_keys=True, separators=(",", ":"), default=str)
                key = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
                table.setdefault(key, geo)
                trace = {**trace, "geojson": {"$geo": key}}
            data.append(trace)
        out.append({**fig, "data": data})
    return out, table


TOUR_CSS = """
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:#f6f7f9;color:#1f2933;
font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans SC",sans-serif}
body{display:flex;flex-direction:column;min-height:100vh}
a{color:#1d4ed8}
.skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;z-index:9;background:#fff;padding:4px}
.tour-head{display:flex;flex-wrap:wrap;align-items:center;gap:8px 14px;padding:8px 16px;
background:#fff;border-bottom:1px solid #e5e7eb}
.tour-kicker{margin:0;font-size:13px;color:#4b5563}
.tour-head h1{margin:0;font-size:20px;flex:1 1 260px}
.tour-tools{display:flex;flex-wrap:wrap;align-items:center;gap:6px}
button,.button,select{font:inherit;font-size:14px;border:1px solid #9ca3af;background:#fff;
color:#1f2933;border-radius:6px;padding:5px 10px;cursor:pointer;text-decoration:none}
button:disabled{opacity:.45;cursor:default}
button:focus-visible,a:focus-visible,select:focus-visible{outline:3px solid #1d4ed8;
outline-offset:2px}
.tour-stage{flex:1 1 auto;display:grid;grid-template-columns:minmax(260px,30%) 1fr;gap:16px;
padding:14px 16px;min-height:0;transition:opacity .25s ease}
.tour-stage.fading{opacity:0}
.tour-stop[hidden]{display:none}
.tour-text{display:flex;flex-direction:column;gap:10px;min-height:0;overflow:auto}
.tour-stop h2{margin:0;font-size:28px;line-height:1.25}
.tour-note{font-size:19px;line-height:1.5;margin:0;white-space:pre-wrap}
.tour-stop .map-title{font-size:15px;font-weight:600;margin:6px 0 0}
.tour-stop .map-note,.tour-stop .sources{font-size:13px;color:#4b5563;margin:0;line-height:1.45}
.tour-qr-small{display:flex;gap:10px;align-items:center;font-size:13px;color:#4b5563}
.tour-qr-small img{width:112px;height:112px}
.tour-map-box{background:#fff;border:1px solid #e5e7eb;border-radius:8px;min-height:360px;
position:relative}
#tour-map{position:absolute;inset:0}
.tour-recolour #tour-map{transition:opacity .3s}.tour-foot{padding:6px 16px 10px;background:#fff;
border-top:1px solid #e5e7eb;display:flex;flex-wrap:wrap;align-items:center;gap:10px}
.tour-progress{flex:1 1 200px;height:8px;background:#e5e7eb;border-radius:4px;overflow:hidden}
.tour-progress span{display:block;height:100%;background:#b3261e;width:0;transition:width .3s}
.tour-dots{display:flex;flex-wrap:wrap;gap:4px;list-style:none;margin:0;padding:0}
.tour-dots button{min-width:32px;padding:3px 6px}
.tour-dots button[aria-current]{background:#1f2933;color:#fff;border-color:#1f2933}
#tour-counter{font-weight:600;font-size:15px;min-width:7em}
.tour-qr-dialog{position:fixed;inset:0;background:#1f2933;display:flex;
align-items:center;justify-content:center;z-index:5}
.tour-qr-dialog[hidden]{display:none}
.tour-qr-card{background:#fff;border-radius:10px;padding:18px 22px;text-align:center;
max-width:90vw}
.tour-qr-card img{width:min(60vh,420px);height:min(60vh,420px)}
.tour-qr-card p{margin:6px 0;word-break:break-all}
@media (max-width:760px){.tour-stage{grid-template-columns:1fr}.tour-map-box{min-height:60vh}
.tour-stop h2{font-size:22px}.tour-note{font-size:16px}}
@media (prefers-reduced-motion:reduce){.tour-stage,.tour-progress span{transition:none}}
"""

# The player: one inline script (served with the response's CSP nonce). Text comes from
# the page (data-* attributes, the stops' sections), never built from HTML strings here.
PLAYER_JS = r"""
(function(){
var data=JSON.parse(document.getElementById('tour-figures').textContent);
var stops=data.stops, geo=data.geo||{}, config=data.config, n=stops.length, cur=-1, timer=null;
var root=document.body, stage=document.getElementById('tour-stage');
var mapEl=document.getElementById('tour-map');
var sections=[].slice.call(document.querySelectorAll('.tour-stop'));
var dots=[].slice.call(document.querySelectorAll('.tour-dots button'));
var counter=document.getElementById('tour-counter'), bar=document.getElementById('tour-bar');
var barBox=document.getElementById('tour-progress');
var prev=document.getElementById('tour-prev'), next=document.getElementById('tour-next');
var play=document.getElementById('tour-play'), interval=document.getElementById('tour-interval');
var qrButton=document.getElementById('tour-qr-button'), qr=document.getElementById('tour-qr');
var reduce=window.matchMedia&&window.matchMedia('(prefers-reduced-motion: reduce)').matches;
function inflate(fig){
  fig=JSON.parse(JSON.stringify(fig));
  (fig.data||[]).forEach(function(t){if(t.geojson&&t.geojson.$geo){t.geojson=geo[t.geojson.$geo];}});
  var lg=fig.layout.legend;
  if(lg&&lg.orientation==='h'){
    var cols=Math.max(1,Math.min(6,Math.floor(mapEl.clientWidth/200)));
    lg.entrywidthmode='fraction';lg.entrywidth=1/cols;
    if(lg.title&&mapEl.clientWidth<1400){lg.title.side='top left';}
  }
  return fig;
}
function words(key,i){return root.getAttribute('data-'+key).replace('{i}',i+1).replace('{n}',n);}
function swap(i){
  sections.forEach(function(s,k){s.hidden=(k!==i);});
  dots.forEach(function(d,k){if(k===i){d.setAttribute('aria-current','step');}else{d.removeAttribute('aria-current');}});
  counter.textContent=words('counter',i);
  bar.style.width=(100*(i+1)/n)+'%';
  barBox.setAttribute('aria-valuenow',String(i+1));
  barBox.setAttribute('aria-valuetext',words('counter',i));
  prev.disabled=(i===0);next.disabled=(i===n-1);
  var f=inflate(stops[i].fig);
  mapEl.setAttribute('data-drawn','0');
  return Plotly.react(mapEl,f.data,f.layout,config).then(function(){
    mapEl.setAttribute('data-drawn','1');mapEl.setAttribute('data-stop',String(i+1));
    stage.classList.remove('fading');
  });
}
function show(i){
  i=Math.max(0,Math.min(n-1,i));
  if(i===cur){return;}
  var same=cur>=0&&stops[cur].place===stops[i].place;
  var first=cur<0;cur=i;
  try{history.replaceState(null,'','#'+(i+1));}catch(e){}
  stage.setAttribute('data-change',first?'first':(same?'recolour':'fade'));
  if(first||same||reduce){swap(i);return;}
  stage.classList.add('fading');
  setTimeout(function(){if(cur===i){swap(i);}},250);
}
function stopTimer(){if(timer){clearInterval(timer);timer=null;}
  play.setAttribute('aria-pressed','false');play.textContent=root.getAttribute('data-play');}
function startTimer(){
  var s=parseInt(interval.value,10)||0;
  if(!s){interval.value=String(root.getAttribute('data-default-interval'));s=parseInt(interval.value,10);}
  if(timer){clearInterval(timer);}
  timer=setInterval(function(){if(cur>=n-1){stopTimer();return;}show(cur+1);},s*1000);
  play.setAttribute('aria-pressed','true');play.textContent=root.getAttribute('data-pause');
}
prev.addEventListener('click',function(){show(cur-1);});
next.addEventListener('click',function(){show(cur+1);});
dots.forEach(function(d,k){d.addEventListener('click',function(){show(k);});});
play.addEventListener('click',function(){if(timer){stopTimer();}else{startTimer();}});
interval.addEventListener('change',function(){if(parseInt(interval.value,10)){startTimer();}else{stopTimer();}});
var behind=[].slice.call(document.querySelectorAll('body > header, body > main, body > footer'));
function openQr(){qr.hidden=false;qrButton.setAttribute('aria-expanded','true');
  behind.forEach(function(el){el.inert=true;});
  document.getElementById('tour-qr-close').focus();}
function closeQr(){if(qr.hidden){return false;}qr.hidden=true;
  behind.forEach(function(el){el.inert=false;});
  qrButton.setAttribute('aria-expanded','false');qrButton.focus();return true;}
qrButton.addEventListener('click',function(){
  var s=sections[cur];
  document.getElementById('tour-qr-img').src=s.getAttribute('data-qr');
  document.getElementById('tour-qr-link').textContent=s.getAttribute('data-link');
  if(qr.hidden){openQr();}else{closeQr();}
});
document.getElementById('tour-qr-close').addEventListener('click',closeQr);
qr.addEventListener('click',function(e){if(e.target===qr){closeQr();}});
document.addEventListener('keydown',function(e){
  if(e.key==='Escape'){if(closeQr()){e.preventDefault();}else if(timer){stopTimer();}return;}
  if(e.altKey||e.ctrlKey||e.metaKey){return;}
  var t=e.target, tag=(t&&t.tagName)||'';
  if(tag==='INPUT'||tag==='SELECT'||tag==='TEXTAREA'||(t&&t.isContentEditable)){return;}
  if(!qr.hidden){return;}
  var k=e.key;
  if(k==='ArrowRight'||k==='PageDown'){show(cur+1);}
  else if(k==='ArrowLeft'||k==='PageUp'){show(cur-1);}
  else if(k==='Home'){show(0);}
  else if(k==='End'){show(n-1);}
  else{return;}
  e.preventDefault();
});
var start=parseInt((location.hash||'').replace('#',''),10);
show(isNaN(start)?0:start-1);
var auto=parseInt(root.getAttribute('data-auto'),10);
if(auto){interval.value=String(auto);startTimer();}
window.addEventListener('resize',function(){if(cur>=0){Plotly.Plots.resize(mapEl);}});
})();
"""


def tour_document(
    data: agg.AtlasData,
    tour: Tour,
    views: Sequence[StopView],
    lang: str,
    *,
    offline: bool = False,
    scripts: Sequence[str] = (),
    nonce: str = "",
    links: Sequence[tuple[str, str]] = (),
    auto: int = 0,
    tour_link: str = "",
    today: date | None = None,
) -> str:
    """The page. ``scripts``: plotly.js and the base map by address (served); offline
    puts both inside. ``links``: (label, href) of the header's other links (the other
    language, the downloads, the atlas). ``auto``: seconds between stops on opening."""
    lang = i18n.normalize_lang(lang)
    n = len(views)
    title = tour.title(lang)
    figures = [v.figure for v in views]
    geo: dict[str, Any] = {}
    if offline:
        figures, geo = _shared_boundaries(figures)
    payload = {
        "stops": [{"fig": f, "place": v.place} for f, v in zip(figures, views, strict=True)],
        "geo": geo,
        "config": {**GRAPH_CONFIG, "responsive": True},
    }
    nonce_attr = f' nonce="{esc(nonce)}"' if nonce else ""
    if offline:
        head_scripts = f"<script>{_script_safe(PLOTLY_BUNDLE.read_text(encoding='utf-8'))}</script>"
    else:
        head_scripts = "".join(f'<script src="{esc(s)}"></script>' for s in scripts)
    auto = auto if auto in INTERVALS else 0
    options = "".join(
        f'<option value="{s}"{" selected" if s == auto else ""}>'
        f"{esc(tr('interval_off', lang) if s == 0 else tr('interval_s', lang, s=s))}</option>"
        for s in INTERVALS
    )
    sections = []
    for i, v in enumerate(views):
        note = v.stop.note(lang)
        qr = qr_svg_data_uri(v.link)
        sections.append(
            f'<section class="tour-stop" id="stop-{i + 1}" aria-labelledby="stop-{i + 1}-title"'
            f' data-qr="{esc(qr)}" data-link="{esc(v.link)}"{"" if i == 0 else " hidden"}>'
            f'<h2 id="stop-{i + 1}-title">{esc(v.stop.title(lang))}</h2>'
            + (f'<p class="tour-note">{esc(note)}</p>' if note else "")
            + (
                f'<p class="map-title">{esc(v.map_title)}</p>'
                if v.map_title != v.stop.title(lang)
                else ""
            )
            + f'<p class="map-note">{esc(v.map_note)}</p>'
            f'<p class="sources">{v.sources}</p>'
            f'<div class="tour-qr-small"><img src="{esc(qr)}" alt="{esc(tr("qr_alt", lang))}">'
            f'<span>{esc(tr("qr_help", lang))}<br><a href="{esc(v.link)}" target="_blank" '
            f'rel="noopener">{esc(tr("open_in_atlas", lang))} ↗</a></span></div>'
            "</section>"
        )
    current = ' aria-current="step"'
    dots = "".join(
        f'<li><button type="button" '
        f'aria-label="{esc(tr("goto", lang, i=i + 1, title=v.stop.title(lang)))}"'
        f"{current if i == 0 else ''}>{i + 1}</button></li>"
        for i, v in enumerate(views)
    )
    head_links = "".join(
        f'<a class="button" href="{esc(href)}"'
        + (" download" if "/download/" in href or href.endswith((".pptx", ".html")) else "")
        + f">{esc(label)}</a>"
        for label, href in links
    )
    when = data_date(data)
    credit = tr(
        "credit",
        lang,
        title=i18n.t("title", lang),
        version=data.version,
        date=(today or date.today()).isoformat(),
    )
    if when:
        credit += " · " + i18n.t("share.data_date", lang, date=when)
    credit = esc(credit)
    if tour_link:
        credit += f' · <a href="{esc(tour_link)}" rel="noopener">{esc(tour_link)}</a>'
    counter = tr("counter", lang, i="{i}", n="{n}")
    return (
        f'<!DOCTYPE html><html lang="{_html_lang(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)} · {esc(i18n.t('title', lang))}</title>"
        f"<style>{TOUR_CSS}</style>{head_scripts}</head>"
        f'<body class="tour" data-counter="{esc(counter)}" data-play="{esc(tr("play", lang))}"'
        f' data-pause="{esc(tr("pause", lang))}" data-auto="{auto}" data-default-interval="10">'
        f'<a class="skip" href="#tour-stage">{esc(tr("skip", lang))}</a>'
        '<header class="tour-head">'
        f'<div><p class="tour-kicker">{esc(i18n.t("title", lang))} · {esc(tr("kicker", lang))}</p>'
        f"<h1>{esc(title)}</h1></div>"
        f'<nav class="tour-tools" aria-label="{esc(tr("tools", lang))}">'
        f'<button type="button" id="tour-prev">← {esc(tr("prev", lang))}</button>'
        f'<button type="button" id="tour-next">{esc(tr("next", lang))} →</button>'
        f'<button type="button" id="tour-play" aria-pressed="false">'
        f"{esc(tr('play', lang))}</button>"
        f'<label for="tour-interval">{esc(tr("interval", lang))}</label>'
        f'<select id="tour-interval">{options}</select>'
        f'<button type="button" id="tour-qr-button" aria-controls="tour-qr" aria-expanded="false">'
        f"{esc(tr('qr_button', lang))}</button>{head_links}</nav></header>"
        f'<main id="tour-stage" class="tour-stage" tabindex="-1">'
        f'<div class="tour-text">{"".join(sections)}</div>'
        f'<div class="tour-map-box"><div id="tour-map" role="figure" '
        f'aria-label="{esc(tr("map_label", lang))}"></div></div></main>'
        f'<footer class="tour-foot"><span id="tour-counter" aria-live="polite">'
        f"{esc(tr('counter', lang, i=1, n=n))}</span>"
        f'<div id="tour-progress" class="tour-progress" role="progressbar" aria-valuemin="1" '
        f'aria-valuemax="{n}" aria-valuenow="1" aria-label="{esc(tr("progress", lang))}">'
        f'<span id="tour-bar" style="width:{100 / max(n, 1):.2f}%"></span></div>'
        f'<ol class="tour-dots" aria-label="{esc(tr("stops", lang))}">{dots}</ol>'
        f'<p class="tour-kicker">{esc(tr("keys", lang))}</p>'
        f'<p class="tour-kicker">{credit}</p></footer>'
        f'<div id="tour-qr" class="tour-qr-dialog" role="dialog" aria-modal="true" '
        f'aria-labelledby="tour-qr-heading" hidden><div class="tour-qr-card">'
        f'<h2 id="tour-qr-heading">{esc(tr("qr_heading", lang))}</h2>'
        f'<img id="tour-qr-img" alt="{esc(tr("qr_alt", lang))}" src="">'
        f'<p id="tour-qr-link"></p>'
        f'<button type="button" id="tour-qr-close">{esc(tr("close", lang))}</button>'
        "</div></div>"
        f'<script type="application/json" id="tour-figures">'
        f"{figure_json(payload)}</script>"
        f"<script{nonce_attr}>{PLAYER_JS}</script></body></html>"
    )


def offline_tour(
    data: agg.AtlasData, tour: Tour, lang: str, base: str = "", today: date | None = None
) -> str:
    """The tour as one file that opens from disk with no server and no network."""
    base = base or "/"
    views = stop_views(data, tour, lang, base)
    link = f"{base.rstrip('/')}{tour.path(lang)}" if base.startswith("http") else ""
    return tour_document(data, tour, views, lang, offline=True, tour_link=link, today=today)
