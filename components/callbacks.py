"""Dash callbacks: unpack inputs, call the core, return. Each one is also a plain function
(``*_outputs``) so tests call it without a browser (tests/test_callbacks.py).

State per user lives in the URL and in ``dcc.Store``; never in module globals.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import coverage, geo_assets, ids, layout, playback
from components.a11y import announce_key, announcement
from components.projects_panel import project_section
from twinning import i18n, settings
from twinning import query as agg
from twinning.figures.describe import headline_words
from twinning.figures.diff import apply_changes
from twinning.figures.map import trace_updates
from twinning.figures.series import cursor_patch
from twinning.filters import MAP_ONLY, UNCOMPUTED
from twinning.groups import XPCC_PREFIX
from twinning.query import scopes
from twinning.sources import short_source, short_url
from twinning.view import View

# ---------------------------------------------------------------------------------------
# plain functions (the logic each callback calls)
# ---------------------------------------------------------------------------------------


def filters_from_controls(
    search: str | None,
    level: str | None,
    metric: str | None,
    programs: list[str] | None,
    donor: str | None,
    donor_unit: str | None,
    recipient: str | None,
    years: list[int] | None,
    memory: list[str] | None,
    flows: list[str] | None,
    place: str | None,
    bounds: tuple[int, int],
    *,
    year: Any = None,
    mode: Any = None,
    playing: Any = None,
) -> agg.Filters:
    """The view the controls describe; lang and presenter mode come from the URL.

    ``year``, ``mode`` and ``playing`` are the time controls (components/playback.py): a
    single year overrides the range; left out (all None), the URL's are kept.

    Control values arrive in a callback body that anyone can forge: they go through
    ``Filters.from_dict``'s checks, so a year of 1,000,000 or a list for a string falls
    back to the default instead of costing the server (or raising)."""
    base = filters_from_url(search)
    lo, hi = bounds
    pair = years if isinstance(years, (list, tuple)) and len(years) >= 2 else [lo, hi]
    year_from, year_to = pair[0], pair[1]

    def listed(value: Any) -> list:
        return list(value) if isinstance(value, (list, tuple)) else []

    raw = {
        **base.as_dict(),
        "level": level if level in agg.LEVELS else base.level,
        "metric": metric or None,
        "programs": listed(programs),
        "donor": donor or None,
        "donor_unit": donor_unit or None,
        "recipient": recipient or None,
        "year_from": None if year_from == lo else year_from,
        "year_to": None if year_to == hi else year_to,
        "include_from_memory": "hide" not in listed(memory),
        "flows": "on" in listed(flows),
        "place": place or None,
    }
    if (year, mode, playing) != (None, None, None):
        raw = playback.filters_from_time(raw, year, mode, playing, bounds)
    return agg.Filters.from_dict(raw)


def filters_output(filters: agg.Filters, shown: Any, only_play: bool = False) -> Any:
    """The view for the filters store, or ``no_update`` when only play/pause changed it:
    nothing on screen depends on whether it plays, so nothing is asked again."""
    if only_play and replace(filters, play=False) == replace(
        agg.Filters.from_dict(shown), play=False
    ):
        return no_update
    return filters.as_dict()


def url_outputs(filters: agg.Filters, search: str | None) -> tuple[Any, Any]:
    """(Location search, address to replace): a new address adds a history entry, except a
    step while playing, which replaces the playing one (``search`` is what the Location
    last set: it stays on the address playback started from until it stops)."""
    new_search = filters.to_query_string()
    if new_search == search:
        return no_update, no_update
    if filters.play and agg.Filters.from_query(search).play:
        return no_update, new_search
    return new_search, no_update


def filters_from_url(search: str | None) -> agg.Filters:
    """The view a URL names; with no ?lang= the TWINNING_LANG setting decides (a ``search``
    that is not text, as only a forged request sends, names the default view)."""
    return agg.Filters.from_query(search, lang=i18n.normalize_lang(settings.get("TWINNING_LANG")))


def base_map_figure(view: View) -> dict[str, Any]:
    """The screen's map without its values, as a plain dict kept per structure key and
    data version (``View.map_base``): the places' choropleths point at a content-hashed
    URL (components/geo_assets.py) that the browser fetches once and caches."""
    return view.map_base(geo_assets.SERVED)


def map_outputs(
    view: View, previous_key: list | None, shown: Any = None
) -> tuple[Any, list, str, str]:
    """(figure or Patch, structure key, title, note) for a view.

    Same structure as what the browser holds -> a ``dash.Patch`` that changes values only;
    the boundaries are never resent on a filter change. When the values of the view the
    browser shows (``shown``, its ``View.view_state``) are still in a cache, only those
    that differ from them (a programme's flows that stay empty, a legend entry that stays
    hidden, the no-data layer of a metric with the same places are not sent again)."""
    key = view.map_key()
    values = view.map_values()
    title, note = values["title"], values["note"]
    if previous_key != key:
        return view.map(geo_assets.SERVED), key, title, note
    patch = dash.Patch()
    meta = base_map_figure(view)["layout"]["meta"]
    before = view.map_values_shown(shown)
    had = trace_updates(meta, before) if before is not None else {}
    changes = [
        (("data", idx, *prop.split(".")), value)
        for idx, props in trace_updates(meta, values).items()
        for prop, value in props.items()
        if not (idx in had and prop in had[idx] and had[idx][prop] == value)  # it has it
    ]
    apply_changes(patch, changes)
    return patch, key, title, note


# The map's callback (``update_map``): what it sets, in the order ``map_view_outputs``
# returns them, and what it reads besides the filters. Tests and benchmarks build its
# requests from these.
MAP_OUTPUTS = (
    (ids.MAP, "figure"),
    (ids.MAP_KEY, "data"),
    (ids.MAP_TITLE, "children"),
    (ids.MAP_NOTE, "children"),
    (ids.BACK, "style"),
    (ids.MAP_SUMMARY, "children"),
    (ids.HEADLINES, "children"),
    (ids.ANNOUNCE, "children"),
    (ids.ANNOUNCED, "data"),
    (ids.MAP_VIEW, "data"),
    (ids.TOTALS_PENDING, "data"),
)
MAP_STATE = ((ids.MAP_KEY, "data"), (ids.ANNOUNCED, "data"), (ids.MAP_VIEW, "data"))


def map_request(filters: dict[str, Any], state: tuple = (None, None, None)) -> dict[str, Any]:
    """The body a browser posts for the map's callback: ``filters`` (``Filters.as_dict``)
    and the values of ``MAP_STATE`` (none: a first view)."""
    outputs = [{"id": i, "property": p} for i, p in MAP_OUTPUTS]
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in MAP_OUTPUTS) + "..",
        "outputs": outputs,
        "inputs": [{"id": ids.FILTERS, "property": "data", "value": filters}],
        "state": [
            {"id": i, "property": p, "value": v} for (i, p), v in zip(MAP_STATE, state, strict=True)
        ],
        "changedPropIds": [f"{ids.FILTERS}.data"],
    }


def map_view_outputs(
    view: View, previous_key: list | None, announced: Any, shown: Any = None
) -> tuple:
    """What the map's callback sets for a view: (figure or Patch, structure key, title,
    note, back button's style, text alternative, headline cards, announcement, its key,
    the view's state ``View.view_state``, and the view's key when some of its headline
    totals are still being worked out: they follow, ``followed_totals``; else no update);
    ``shown``: the state of the view the browser shows."""
    fig, key, title, note = map_outputs(view, previous_key, shown)
    back = {"display": "inline-block"} if view.filters.recipient else {"display": "none"}
    said, said_key = announcement(view.data, view.filters, announced)
    heads = view.headlines()  # the cards' numbers: pending if these lack a total
    summary, cards = view.map_summary(), headline_cards(view, heads)
    state = view.view_state()
    pending = state["key"] if agg.totals_pending(heads) else no_update
    return fig, key, title, note, back, summary, cards, said, said_key, state, pending


# A filter change waits this long, in all, for the reconciled headline totals it starts
# (a view of many figures: a quarter to half a second at 10 M figures, #7); the map and
# the plain sums answer, and the page asks for the totals (``followed_totals``): each ask
# waits at most RECONCILE_FOLLOW_SECONDS, and while they are not ready the page asks
# again after FOLLOW_TOTALS_JS's pause, at most FOLLOW_ASKS times. A worker's thread is
# never held waiting for them (at 50 users, asks that waited up to 2 s each were most of
# the requests' p95).
RECONCILE_CLICK_SECONDS = 0.05
RECONCILE_FOLLOW_SECONDS = 0.1
FOLLOW_ASKS = 15
FOLLOW_PAUSE_MS = 400


def followed_totals(view: View, pending: Any) -> dict[str, Any]:
    """The headline cards and the map's text alternative of ``view`` once its reconciled
    totals are worked out, with the view's key (the browser sets them only while it shows
    that view: ``FOLLOW_TOTALS_JS``); while they are not, the key and the number of the
    next ask (the browser asks again). ``pending``: the view's key (the map's callback
    set it), or ``{"key": …, "ask": n}`` (an ask again). Nothing for anything else, or past
    FOLLOW_ASKS asks (the plain sums and their caveat stay).

    An ask always answers for the view the filters give now, under that view's key, even
    when it names another: an ask of a view the page has left (its timer fired after the
    next change) displaces the next view's ask in flight (Dash keeps only a callback's
    latest request), and answering it for the view of now carries that view's chain on
    instead of ending it (#7: two quick changes, the year slider's two thumbs)."""
    key, ask = pending, 0
    if isinstance(pending, dict) and set(pending) == {"key", "ask"}:
        key, ask = pending["key"], pending["ask"]
    if not isinstance(key, str) or type(ask) is not int or not 0 <= ask < FOLLOW_ASKS:
        raise PreventUpdate
    now = view.view_key()
    if key != now:
        key, ask = now, 0  # the view of now, its asks from the start
    with agg.reconcile_within(RECONCILE_FOLLOW_SECONDS):
        heads = view.headlines()
        if agg.totals_pending(heads):
            if ask + 1 >= FOLLOW_ASKS:
                raise PreventUpdate
            return {"key": key, "ask": ask + 1}
        summary = view.map_summary()
    return {"key": key, "headlines": headline_cards(view, heads), "summary": summary}


def first_map(view: View) -> dict[str, Any]:
    """The map, its words and the headline numbers of a page's first view, for the page
    itself (``layout.atlas_page``): the map's callback then finds the view shown and has
    nothing to send. Nothing is announced on load (the store starts at this view)."""
    fig, key, title, note, back, summary, cards, *_said, shown, _pending = map_view_outputs(
        view, None, announce_key(view.filters)
    )
    return {"figure": fig, "key": key, "title": title, "note": note, "back": back,
            "summary": summary, "headlines": cards, "view": shown}  # fmt: skip


# The page's own address, sent by assets/first_view.js with the request for the layout
LOCATION_HEADER = "X-Atlas-Location"


def requested_location() -> str | None:
    """The address (path and query) the layout's request names, or None: not in a request,
    no header (an older page, a client without scripts' help), or not a path."""
    import flask

    if not flask.has_request_context():
        return None
    value = flask.request.headers.get(LOCATION_HEADER, "")
    if not value.startswith("/") or len(value) > 8192:
        return None
    return value


def is_import_path(path: str) -> bool:
    """The address's path names the import page (under any prefix)."""
    return path.rstrip("/").endswith("/import")


def import_page_requested() -> bool:
    """The request being answered is for the import page (False outside a request)."""
    import flask

    return flask.has_request_context() and is_import_path(flask.request.path)


def page_for(data: agg.AtlasData, pathname: Any, search: Any, first: bool = False) -> Any:
    """The page an address names: the import page or the atlas (with its first map when
    ``first``)."""
    filters = filters_from_url(search)
    path = pathname if isinstance(pathname, str) else "/"
    if is_import_path(path):
        return layout.import_shell(filters)
    return layout.atlas_page(data, filters, first_map(View(data, filters)) if first else None)


def location_key(pathname: Any, search: Any) -> str:
    """An address as the browser's ``location.pathname + location.search``."""
    path = pathname if isinstance(pathname, str) else "/"
    return path + (search if isinstance(search, str) else "")


def serve_layout(data: agg.AtlasData) -> Any:
    """The layout for one page load. When its request names the page's address, the page
    comes with it, its first map and headline numbers in it: the first view waits for no
    callback (#7: two round trips, ``render_page``'s and the map's, were on its critical
    path). Otherwise the shell, filled by ``render_page``."""
    import flask

    if flask.has_request_context():

        @flask.after_this_request
        def _vary(response: flask.Response) -> flask.Response:
            response.vary.add(LOCATION_HEADER)  # a shared cache keeps one page per address
            return response

    where = requested_location()  # already as ``location_key`` writes an address
    if where is None:
        return layout.root_layout()
    path, mark, query = where.partition("?")
    return layout.root_layout(page_for(data, path, mark + query, first=True), where)


def series_outputs(view: View) -> Any:
    return view.series()


def series_step_outputs(view: View, shown: Any) -> tuple[Any, dict[str, Any]]:
    """(figure or Patch, state to keep) for the series the browser holds (``shown``, the
    state kept with it, ``View.series_state``): the same series -> a ``dash.Patch`` that
    moves the year cursor (a few numbers); another series whose figure this worker or the
    shared cache still has -> a Patch of what differs from it and the cursor; else the
    whole figure."""
    state = view.series_state()
    patch = dash.Patch()
    if isinstance(shown, dict) and shown.get("key") == state["key"]:
        meta = view.with_filters(view.filters.timeless()).series()["layout"]["meta"]
    else:
        changes = view.series_changes(shown)
        if changes is None:
            return view.series(), state
        apply_changes(patch, changes)  # a Patch records them as operations
        # the cursor as well, whatever the browser's is: the new figure's own (a timeless
        # series worked out only for its indexes cost a whole series under load, #7)
        meta = view.series()["layout"]["meta"]
    for part, items in cursor_patch(meta, view.filters.year).items():
        for index, props in items.items():
            for prop, value in props.items():
                patch["layout"][part][index][prop] = value
    return patch, state


def source_line(view: View, limit: int = 4) -> list:
    """'Sources (12): a · b · c · d +8 more' for the rows in view, the first ones linked;
    under the map, and on the presenter's stage."""
    lang = view.lang
    found = view.source_tally()
    sources = found.sources
    if not sources:
        return [i18n.t("source_line_none", lang)]
    if found.complete:
        out: list = [i18n.t("source_line", lang, n=len(sources))]
    else:  # a view too large to read whole for one line: its first rows' sources
        out = [i18n.t("source_line_some", lang)]
    for i, (label, url, _n) in enumerate(sources[:limit]):
        if i:
            out.append(" · ")
        text = short_source(label, url)
        out.append(
            html.A(text, href=url, target="_blank", rel="noopener noreferrer", title=label)
            if url
            else html.Span(text, title=label)
        )
    if len(sources) > limit or not found.complete:
        more = len(sources) - limit
        out.append(
            " "
            + (
                i18n.t("source_line_more", lang, n=more)
                if found.complete
                else i18n.t("source_line_others", lang)
            )
        )
    return out


def headline_cards(view: View, heads: list[agg.Headline] | None = None) -> list[html.Div]:
    """The headline numbers as cards: ``heads``, or the view's."""
    lang = view.lang
    cards = []
    for h in view.headlines() if heads is None else heads:
        # "at least X" with "N of M figures; sum of all M: Y" (issue #10); the words
        # around the number are set smaller, so the number stays the card's large type
        value, note = headline_words(h, lang)
        shown: Any = value
        if h.at_least is not None and h.n_figures:
            number = i18n.format_value(h.at_least, h.unit, lang)
            before, found, after = value.partition(number)
            if found:
                shown = [
                    *([html.Span(before, className="headline-qualifier")] if before else []),
                    number,
                    *([html.Span(after, className="headline-qualifier")] if after else []),
                ]
        # one group a screen reader names by its label and reads with its caveat (#13)
        cards.append(
            html.Div(
                [
                    html.Div(i18n.t(h.key, lang), className="headline-label", id=f"{h.key}-label"),
                    html.Div(shown, className="headline-value", **{"data-key": h.key}),
                    html.Div(note, className="headline-note", id=f"{h.key}-note"),
                ],
                className="headline",
                role="group",
                **{"aria-labelledby": f"{h.key}-label", "aria-describedby": f"{h.key}-note"},
            )
        )
    return cards


_URL = re.compile(r"(https?://[^\s;，。、()（）<>\[\]\"']+)")


def source_parts(source: str | None) -> list[dict[str, str]]:
    """A source cell as pieces for the grid's ``SourceLinks`` renderer
    (assets/grid_cells.js): ``{"text": ...}`` or ``{"text": ..., "url": ...}``.

    Only http(s) addresses become links, shortened (the two source documents link to
    where they were published); text from a record stays text: the renderer sets it as
    text, never as HTML.
    """
    out: list[dict[str, str]] = []
    for label, url in agg.source_links(source):
        if out:
            out.append({"text": " · "})
        if url and _URL.match(url) and not _URL.match(label):
            out.append({"text": label, "url": url})  # a named document
            continue
        for i, piece in enumerate(_URL.split(label)):
            if i % 2:
                out.append({"text": short_url(piece), "url": piece})
            elif piece:
                out.append({"text": piece})
    return out


MAX_ROW_INDEX = 10**12  # beyond any table; keeps a hostile request inside SQL's integers


def _row_index(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return min(max(number, 0), MAX_ROW_INDEX)


def grid_rows(view: View, kind: str, request: Any) -> dict[str, Any]:
    """The ``getRowsResponse`` for a grid's ``getRowsRequest`` (infinite row model): one
    block of rows, sorted and filtered in SQL, and the number of rows in view.

    The request comes from the browser: anything malformed in it is ignored, never run."""
    return grid_outputs(view, kind, request)[0]


def grid_outputs(view: View, kind: str, request: Any) -> tuple[dict[str, Any], str]:
    """(``getRowsResponse``, the table's status line). A page that cannot be fetched within
    TWINNING_TABLE_SECONDS (deep into a sort of millions of rows) ends the table there and
    says why and what to do instead; the worker is free again at once."""
    request = request if isinstance(request, dict) else {}
    start = _row_index(request.get("startRow"), 0)
    end = _row_index(request.get("endRow"), start + layout.GRID_BLOCK_ROWS)
    try:
        page = view.table_page(
            kind, start, end, request.get("sortModel"), request.get("filterModel")
        )
    except agg.QueryTooSlow as exc:
        note = i18n.t(
            "table_too_slow",
            view.lang,
            row=f"{start + 1:,}",
            seconds=f"{exc.seconds:g}",
        )
        return {"rowData": [], "rowCount": start}, note
    rows = page.rows
    for row in rows:
        if "source" in row:
            row["source"] = source_parts(row["source"])
    # a total not known yet (``tables._Walk``): one row more than the rows so far, which
    # the grid shows loading at the end, and asks for with the next block once it comes
    # into view, as AG Grid does for an unknown total (-1); the next block's response
    # says more. Not -1 itself: after a response of no rows dash-ag-grid sets the grid's
    # row count from the response first, and -1 left the grid empty.
    total = start + len(rows) + 1 if page.total is None else page.total
    return {"rowData": rows, "rowCount": total}, ""


def _sources(source: str | None, lang: str) -> list:
    out: list = []
    for label, url in agg.source_links(source):
        text = label if len(label) <= 60 else label[:57] + "…"
        out.append(
            html.A(text, href=url, target="_blank", rel="noopener noreferrer", className="src")
            if url
            else html.Span(text, className="src")
        )
    return out


def _badge(confidence: str | None, batch_kind: str | None, lang: str) -> list:
    badges = []
    if confidence == agg.FROM_MEMORY:
        badges.append(html.Span(i18n.t("from_memory_badge", lang), className="badge warn"))
    if batch_kind == "import":
        badges.append(html.Span(i18n.t("imported_badge", lang), className="badge"))
    return badges


def _pairing_items(data: agg.AtlasData, frame, lang: str) -> html.Ul | html.P:
    if frame is None or len(frame) == 0:
        return html.P(i18n.t("detail_none", lang), className="muted")
    items = []
    for row in frame.itertuples(index=False):
        donor = agg.donor_label(data, getattr(row, "donor_key", None), lang) or row.donor_province
        unit = row.donor_unit if isinstance(row.donor_unit, str) else ""
        if unit and isinstance(row.donor_adcode, str) and row.donor_adcode:
            unit = data.place_label(row.donor_adcode, lang, fallback=unit)
        recipient = (
            data.place_label(row.recipient_adcode, lang)
            if isinstance(row.recipient_adcode, str) and row.recipient_adcode
            else str(row.recipient_county or row.recipient_prefecture or row.recipient_province)
        )
        items.append(
            html.Li(
                [
                    html.Span(
                        i18n.format_period(row.start_year, row.end_year, lang), className="when"
                    ),
                    html.Span(f"{donor}{(' · ' + unit) if unit else ''} → {recipient}"),
                    html.Span(i18n.program_label(row.program, lang), className="tag"),
                    *_badge(row.confidence, getattr(row, "batch_kind", None), lang),
                    html.Div(_sources(row.source, lang), className="sources"),
                ]
            )
        )
    return html.Ul(items, className="detail-list")


def _figure_items(frame, lang: str) -> html.Ul | html.P:
    if frame is None or len(frame) == 0:
        return html.P(i18n.t("detail_none", lang), className="muted")
    items = []
    for row in frame.itertuples(index=False):
        items.append(
            html.Li(
                [
                    html.Span(
                        i18n.format_period(row.period_start, row.period_end, lang),
                        className="when",
                    ),
                    html.Strong(i18n.metric_label(row.metric, lang) + ": "),
                    html.Span(i18n.format_qualified(row.value, row.unit, row.qualifier, lang)),
                    html.Span(f" ({row.donor} → {row.recipient})", className="muted"),
                    *_badge(row.confidence, getattr(row, "batch_kind", None), lang),
                    html.Blockquote(str(row.quote or ""), className="quote"),
                    html.Div(_sources(row.source, lang), className="sources"),
                ]
            )
        )
    return html.Ul(items, className="detail-list")


def _scope_items(
    data: agg.AtlasData, frame, filters: agg.Filters, donor_side: bool = False
) -> html.Ul | html.P:
    """Figures about several places together (or reported by the donor about itself), each
    with its group, number of areas, value, period, source, quote and confidence; a link
    outlines a group's members on the map (``scope=<id>``, issue #10)."""
    lang = filters.lang
    if frame is None or len(frame) == 0:
        return html.P(i18n.t("detail_none", lang), className="muted")
    items = []
    for row in frame.itertuples(index=False):
        n = int(row.n_members or 0)
        if donor_side:
            label = html.Span(i18n.t("scope_donor_side_badge", lang), className="badge")
        else:
            group = scopes.group_label(row.scope_group, lang, n)
            label = html.Span(
                i18n.t("scope_group_label", lang, group=group, n=n), className="tag scope"
            )
        link = None
        if not donor_side:
            selected = filters.scope == int(row.id)
            target = replace(filters, scope=None if selected else int(row.id))
            link = html.A(
                i18n.t("scope_hide" if selected else "scope_show", lang),
                href=target.to_query_string(),
                className="scope-link",
                id={"type": "scope-link", "index": int(row.id)},
            )
        items.append(
            html.Li(
                [
                    html.Span(
                        i18n.format_period(row.period_start, row.period_end, lang),
                        className="when",
                    ),
                    label,
                    html.Strong(" " + i18n.metric_label(row.metric, lang) + ": "),
                    html.Span(i18n.format_qualified(row.value, row.unit, row.qualifier, lang)),
                    html.Span(f" ({row.donor} → {row.recipient})", className="muted"),
                    html.Span(i18n.confidence_label(row.confidence, lang), className="badge"),
                    *_badge(row.confidence, getattr(row, "batch_kind", None), lang),
                    *([" ", link] if link is not None else []),
                    html.Blockquote(str(row.quote or ""), className="quote"),
                    html.Div(_sources(row.source, lang), className="sources"),
                ],
                className="scope-figure",
            )
        )
    return html.Ul(items, className="detail-list")


def _scope_sections(data: agg.AtlasData, filters: agg.Filters, adcode: str) -> list:
    """The detail's figures shared with other places, and the donor's own (issue #10)."""
    lang = filters.lang
    shared = scopes.shared_figures(data, filters, adcode)
    own = scopes.donor_side_figures(data, filters, adcode)
    out: list = [
        html.H3(i18n.t("scope_shared_title", lang)),
        html.P(i18n.t("scope_shared_note", lang), className="muted small"),
        html.Div(_scope_items(data, shared, filters), id="detail-shared"),
    ]
    if len(own):
        out += [
            html.H3(i18n.t("scope_donor_side_title", lang)),
            html.Div(_scope_items(data, own, filters, donor_side=True), id="detail-donor-side"),
        ]
    return out


def _division_children(data: agg.AtlasData, filters: agg.Filters) -> list:
    """The detail of an XPCC division (xpcc:<n>, a flow's end or a figure's member): what it
    is, its pairings and the figures that include it (issue #10)."""
    from twinning.groups import default_groups

    lang, key = filters.lang, str(filters.place)
    division = default_groups().divisions.get(key)
    if division is None:
        return [html.P(i18n.t("detail_empty", lang), className="muted")]
    label = scopes.division_label(key, lang)
    seat = data.place_label(division.seat_adcode, lang)
    return [
        _detail_head(label, lang),
        html.P(i18n.t("xpcc_point_hover", lang, division=label, seat=seat), className="muted"),
        html.P(i18n.confidence_label(division.confidence, lang), className="badge"),
        html.H3(i18n.t("detail_pairings", lang)),
        _pairing_items(data, scopes.division_pairings(data, filters, key), lang),
        html.H3(i18n.t("scope_shared_title", lang)),
        html.Div(
            _scope_items(data, scopes.division_figures(data, filters, key), filters),
            id="detail-shared",
        ),
    ]


def _detail_head(name: str, lang: str) -> html.Div:
    """The detail panel's heading (focus lands on it) and its close button."""
    return html.Div(
        [
            html.H2(name, className="card-title", id="detail-name"),
            html.Button(
                i18n.t("detail_close", lang),
                id={"type": ids.DETAIL_CLOSE, "index": 0},
                className="button ghost",
                n_clicks=0,
            ),
        ],
        className="card-head",
    )


def detail_children(view: View) -> list:
    data, filters, lang = view.data, view.filters, view.lang
    title = html.H2(i18n.t("detail_title", lang), className="card-title")
    if not filters.place:
        return [title, html.P(i18n.t("detail_empty", lang), className="muted")]
    if str(filters.place).startswith("xpcc:"):
        return _division_children(data, filters)
    detail = view.detail()
    if detail is None:
        return [title, html.P(i18n.t("detail_empty", lang), className="muted")]
    name = i18n.place_name(detail.name_zh, detail.name_en, lang)
    parents = " · ".join(i18n.place_name(zh, en, lang) for _c, zh, en in detail.parents)
    return [
        _detail_head(name, lang),
        html.P(f"{parents} · {detail.adcode}", className="muted"),
        html.P(i18n.t("detail_in_view", lang), className="muted small"),
        html.H3(i18n.t("detail_pairings", lang)),
        _pairing_items(data, detail.pairings, lang),
        html.H3(i18n.t("detail_parent_pairings", lang)),
        _pairing_items(data, detail.parent_pairings, lang),
        html.H3(i18n.t("detail_donor_pairings", lang)),
        _pairing_items(data, detail.donor_pairings, lang),
        html.H3(i18n.t("detail_figures", lang)),
        _figure_items(detail.figures, lang),
        *project_section(data, filters, detail.adcode),
        *_scope_sections(data, filters, detail.adcode),
    ]


def click_outputs(
    trigger: str | None, click: dict | None, filters: agg.Filters
) -> tuple[Any, Any, Any]:
    """(recipient, level, place) after a click on the map, the back or the close button.

    On the national province map a click drills into the province (county detail);
    anywhere else it selects the place for the detail panel."""
    if trigger == ids.BACK:
        return None, "province", None
    if trigger == ids.DETAIL_CLOSE:
        return no_update, no_update, None
    points = click.get("points") if isinstance(click, dict) else None
    if trigger != ids.MAP or not isinstance(points, list) or not points:
        return no_update, no_update, no_update
    point = points[0]
    if not isinstance(point, dict):  # plotly sends a dict per point: a forged click
        return no_update, no_update, no_update
    code = point.get("location") or point.get("customdata")
    if isinstance(code, list):
        code = code[0] if code else None
    if not code or not isinstance(code, str):
        return no_update, no_update, no_update
    division = code.startswith(XPCC_PREFIX)
    if not division and not (len(code) == 6 and code.isdigit()):
        return no_update, no_update, no_update  # a label or anything else: not a place
    if filters.level == "province" and not filters.recipient:
        # a division's point opens it inside Xinjiang, where its seat is
        return (XINJIANG if division else code), "county", code
    return no_update, no_update, code


XINJIANG = "650000"  # where the XPCC divisions are


NAVIGATE_JS = """
function (value, clicks) {
    const nu = window.dash_clientside.no_update;
    const trig = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
    let params = new URLSearchParams(window.location.search);
    if (trig.startsWith("lang-select.")) {
        if (!value || params.get("lang") === value) { return nu; }
        params.set("lang", value);
    } else if (trig.startsWith("present-button.")) {
        if (!clicks) { return nu; }
        if (params.get("present") === "1") { params.delete("present"); }
        else { params.set("present", "1"); }
    } else if (trig.startsWith("reset-button.")) {
        if (!value) { return nu; }
        const lang = params.get("lang");
        params = new URLSearchParams(lang ? {lang: lang} : {});
    } else {
        return nu;
    }
    window.location.assign(window.location.pathname + "?" + params.toString());
    return nu;
}
"""


# The filters each table's rows do not depend on: a change of only these keeps the
# table's blocks (no request). A change the rows do depend on reloads a grid at once when
# the table is on (or near) the screen, else when it comes near it (#7: most changes are
# made looking at the map, and each sent a block of rows nobody saw). What only the map's
# drawing depends on and what changes nothing worked out choose no rows; the pairings
# have no metric (a metric or a level change sent a block of pairings nobody's view had
# changed, #7).
GRID_IGNORES: dict[str, tuple[str, ...]] = {
    ids.TABLE_PAIRINGS: ("metric", *MAP_ONLY, *UNCOMPUTED),
    ids.TABLE_FIGURES: (*MAP_ONLY, *UNCOMPUTED),
}

FOLLOW_TOTALS_JS = """
function (follow, shown) {
    const nu = window.dash_clientside.no_update;
    if (!follow || !shown || follow.key !== shown.key) { return [nu, nu]; }
    if (follow.headlines === undefined) {  // not worked out yet: ask again in a while
        const again = {key: follow.key, ask: follow.ask};
        setTimeout(function () {
            window.dash_clientside.set_props("PENDING_ID", {data: again});
        }, PAUSE_MS);
        return [nu, nu];
    }
    return [follow.headlines, follow.summary];
}
""".replace("PENDING_ID", ids.TOTALS_PENDING).replace("PAUSE_MS", str(FOLLOW_PAUSE_MS))

RELOAD_GRIDS_JS = """
function (filters, playing, shown) {
    const nu = window.dash_clientside.no_update;
    // while the years play the tables wait: they catch up once, on pause (#9)
    if (playing) { return nu; }
    if (JSON.stringify(filters) === JSON.stringify(shown)) { return nu; }
    const rows = (f, ignore) => {
        if (!f) { return ""; }
        const kept = Object.keys(f).filter(k => !ignore.includes(k)).sort();
        return JSON.stringify(kept.map(k => [k, f[k]]));
    };
    for (const [id, ignore] of Object.entries(IGNORES)) {
        if (rows(filters, ignore) === rows(shown, ignore)) { continue; }  // the same rows
        // asks again from the first row, now or once the table is near (tables_later.js)
        window.atlasTables.reload(id);
    }
    return filters;
}
""".replace("IGNORES", json.dumps(GRID_IGNORES))


def table_grids(mount: Any, filters_dict: Any) -> tuple[Any, Any, Any, Any]:
    """The two grids for their slots, in the page's language, when the page asks
    (``mount`` true); nothing otherwise."""
    if mount is not True:
        return no_update, no_update, no_update, no_update
    lang = agg.Filters.from_dict(filters_dict).lang
    grids = [[layout.table_grid(k, lang), layout.table_status(k)] for k in ("pairings", "figures")]
    return grids[0], grids[1], "false", "false"


def xlsx_outputs(view: View, prefix: str = "/") -> tuple[Any, Any]:
    """(download, message) for the table's Excel button: the workbook, or, for a view
    beyond an Excel sheet, no download and a message that says so and offers the CSV."""
    filters = view.filters
    try:
        content = agg.view_xlsx(view.data, filters)
    except agg.TooManyRowsForExcel as exc:
        href = layout.view_csv_href(filters, prefix)
        offer = html.A(i18n.t("download_csv", filters.lang), href=href, download="")
        return no_update, [html.Span(str(exc) + " "), offer]
    return dcc.send_bytes(content, view.filename("map", "xlsx")), ""


# ---------------------------------------------------------------------------------------
# wiring
# ---------------------------------------------------------------------------------------


def register(app: dash.Dash, state: Any) -> None:
    """Attach the atlas callbacks; ``state`` gives ``data()`` and ``store()``."""

    def current(filters_dict: dict | None) -> View:
        """The view a callback renders: built once per request from the filters."""
        return View(state.data(), agg.Filters.from_dict(filters_dict))

    prefix = app.config.requests_pathname_prefix

    @app.callback(
        Output(ids.PAGE, "children"),
        Output(ids.PAGE_SHOWN, "data"),
        Input(ids.URL, "pathname"),
        State(ids.URL, "search"),
        State(ids.PAGE_SHOWN, "data"),
    )
    def render_page(pathname: str | None, search: str | None, shown: str | None):
        here = location_key(pathname, search)
        if shown == here:  # the layout came with this page
            raise PreventUpdate
        return page_for(state.data(), pathname, search), here

    @app.callback(
        Output(ids.FILTERS, "data"),
        Output(ids.URL, "search"),
        Output(ids.URL_REPLACE, "data"),
        Input(ids.LEVEL, "value"),
        Input(ids.METRIC, "value"),
        Input(ids.PROGRAM, "value"),
        Input(ids.DONOR, "value"),
        Input(ids.DONOR_UNIT, "value"),
        Input(ids.RECIPIENT, "value"),
        Input(ids.YEARS, "value"),
        Input(ids.MEMORY, "value"),
        Input(ids.FLOWS, "value"),
        Input(ids.PLACE, "data"),
        Input(ids.YEAR, "value"),
        Input(ids.YEAR_MODE, "value"),
        Input(ids.PLAYING, "data"),
        State(ids.URL, "search"),
        State(ids.FILTERS, "data"),
    )
    def update_filters(level, metric, programs, donor, unit, recipient, years, memory, flows,
                       place, year, mode, playing, search, shown):  # fmt: skip
        data = state.data()
        filters = filters_from_controls(
            search, level, metric, programs, donor, unit, recipient, years, memory, flows,
            place, agg.year_bounds(data), year=year, mode=mode, playing=playing,
        )  # fmt: skip
        only_play = ctx.triggered_prop_ids == {f"{ids.PLAYING}.data": ids.PLAYING}
        return (
            filters_output(filters, shown, only_play),
            *url_outputs(filters, search),
        )

    @app.callback(
        *(Output(i, p) for i, p in MAP_OUTPUTS),
        Input(ids.FILTERS, "data"),
        *(State(i, p) for i, p in MAP_STATE),
    )
    def update_map(filters_dict, previous_key, announced, shown):
        # The map, its words, the headline numbers and the live region's announcement of
        # a change come from one callback, from one worker's numbers: as callbacks of their
        # own they ran on other workers and worked the same numbers out again (#7). The
        # announcement store starts at the first view's key: nothing is said on load.
        view = current(filters_dict)
        if isinstance(shown, dict) and shown.get("key") == view.view_key():
            raise PreventUpdate  # the page shows this view (it came with it, #7)
        with agg.reconcile_within(RECONCILE_CLICK_SECONDS):
            return map_view_outputs(view, previous_key, announced, shown)

    @app.callback(
        Output(ids.TOTALS_FOLLOW, "data"),
        Input(ids.TOTALS_PENDING, "data"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def follow_totals(pending, filters_dict):
        return followed_totals(current(filters_dict), pending)

    # set only while the screen shows the view they are of: a later change has moved on
    app.clientside_callback(
        FOLLOW_TOTALS_JS,
        Output(ids.HEADLINES, "children", allow_duplicate=True),
        Output(ids.MAP_SUMMARY, "children", allow_duplicate=True),
        Input(ids.TOTALS_FOLLOW, "data"),
        State(ids.MAP_VIEW, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.SERIES, "figure"),
        Output(ids.SERIES_KEY, "data"),
        Output(ids.SERIES_SUMMARY, "children"),
        Input(ids.FILTERS, "data"),
        State(ids.SERIES_KEY, "data"),
    )
    def update_series(filters_dict, shown):
        view = current(filters_dict)
        fig, state = series_step_outputs(view, shown)
        return fig, state, view.series_summary()

    @app.callback(
        Output(ids.SOURCE_LINE, "children"),
        Output(ids.DOWNLOAD_CSV, "href"),
        Output(ids.DETAIL, "children"),
        Input(ids.FILTERS, "data"),
    )
    def update_view_parts(filters_dict):
        # the source line, the CSV link and the place's detail: small parts of a view, in
        # one request rather than three (each request costs a worker ~1.5 ms besides, #7)
        view = current(filters_dict)
        href = layout.view_csv_href(view.filters, prefix)
        return source_line(view), href, detail_children(view)

    playback.register(app)
    coverage.register(app, state)  # where data is and is not (#10)

    @app.callback(
        Output(ids.TABLE_SLOT["pairings"], "children"),
        Output(ids.TABLE_SLOT["figures"], "children"),
        Output(ids.TABLE_SLOT["pairings"], "aria-busy"),
        Output(ids.TABLE_SLOT["figures"], "aria-busy"),
        Input(ids.TABLES_MOUNT, "data"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def mount_tables(mount, filters_dict):
        # the grids, once the page asks for them (layout.table_slot, #7)
        return table_grids(mount, filters_dict)

    # Each grid asks for one block of rows at a time (infinite row model).
    for kind, grid in (("pairings", ids.TABLE_PAIRINGS), ("figures", ids.TABLE_FIGURES)):

        @app.callback(
            Output(grid, "getRowsResponse"),
            Output(ids.TABLE_STATUS[kind], "children"),
            Input(grid, "getRowsRequest"),
            State(ids.FILTERS, "data"),
            prevent_initial_call=True,
        )
        def update_rows(request, filters_dict, kind=kind):
            return grid_outputs(current(filters_dict), kind, request)

    # New filters: the grids drop their blocks and ask again from the first row.
    app.clientside_callback(
        RELOAD_GRIDS_JS,
        Output(ids.TABLE_FILTERS, "data"),
        Input(ids.FILTERS, "data"),
        Input(ids.PLAYING, "data"),
        State(ids.TABLE_FILTERS, "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.RECIPIENT, "value"),
        Output(ids.LEVEL, "value"),
        Output(ids.PLACE, "data"),
        Input(ids.MAP, "clickData"),
        Input(ids.BACK, "n_clicks"),
        Input({"type": ids.DETAIL_CLOSE, "index": dash.ALL}, "n_clicks"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def on_click(click, _back, close, filters_dict):
        trigger = ctx.triggered_id
        if isinstance(trigger, dict):
            if not any(close or []):  # the button was just drawn, not clicked
                return no_update, no_update, no_update
            trigger = ids.DETAIL_CLOSE
        return click_outputs(trigger, click, agg.Filters.from_dict(filters_dict))

    @app.callback(
        Output(ids.DONOR_UNIT, "options"),
        Input(ids.DONOR, "value"),
        State(ids.FILTERS, "data"),
    )
    def update_unit_options(donor, filters_dict):
        if donor is not None and not isinstance(donor, str):
            return no_update  # a donor province is its key: anything else is a forged request
        filters = agg.Filters.from_dict(filters_dict)
        donor = (donor or "").strip()[:100] or None
        return layout.donor_unit_options(state.data(), donor, filters.lang)

    # Language, presenter mode and reset re-open the page with a new URL. Done in the
    # browser (one Location per page: two Locations fight over the address bar).
    app.clientside_callback(
        NAVIGATE_JS,
        Output(ids.NAV_SINK, "data"),
        Input(ids.LANG, "value"),
        Input(ids.PRESENT, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        NAVIGATE_JS,
        Output(ids.RESET_SINK, "data"),
        Input(ids.RESET, "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.DOWNLOAD, "data"),
        Output(ids.DOWNLOAD_STATUS, "children"),
        Input(ids.DOWNLOAD_XLSX, "n_clicks"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def download_xlsx(_n, filters_dict):
        from components import security
        from twinning.busy import Busy

        view = current(filters_dict)
        try:  # bounded like the other exports (#12)
            return security.bounded("export", state.store(), lambda: xlsx_outputs(view, prefix))
        except Busy as exc:
            security.mark_busy(exc)
            return no_update, security.busy_text(exc, view.lang)


__all__ = [
    "click_outputs",
    "detail_children",
    "filters_from_controls",
    "filters_output",
    "grid_rows",
    "headline_cards",
    "map_outputs",
    "register",
    "series_outputs",
    "series_step_outputs",
    "source_line",
    "source_parts",
    "table_grids",
    "url_outputs",
    "xlsx_outputs",
]
