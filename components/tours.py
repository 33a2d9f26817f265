"""Presenter tours in the atlas (issue #9): the Tour menu that collects views, and the
routes that present a stored tour (``/tour/<id>``) and export it (PPTX, one HTML file).

Thin: the tour is ``twinning.tours`` (stored, checked, who may write), its page
``twinning.tour_page``, its deck ``twinning.deck.export_tour_pptx``. The draft lives in
the browser (``localStorage``) until it is saved, so it survives the page reloads the
language switch and presenter mode make; saving needs a signed-in importer or admin (the
session cookie, looked up in the store).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from components import ids
from twinning import i18n, tours
from twinning import query as agg

TOUR_PATH = "/tour"
MENU = "tour-menu"
DRAFT = "tour-draft"
ADD = "tour-add"
TITLE_ZH = "tour-title-zh"
TITLE_EN = "tour-title-en"
STOPS = "tour-stops"
SAVE = "tour-save"
CLEAR = "tour-clear"
STATUS = "tour-status"
OPEN = "tour-open"
COUNT = "tour-count"
FIELD = "tour-field"  # {"type": FIELD, "index": i, "field": title_zh|title_en|note_zh|note_en}
MOVE = "tour-move"  # {"type": MOVE, "index": i, "op": up|down|remove}
FIELDS = ("title_zh", "title_en", "note_zh", "note_en")
EMPTY: dict[str, Any] = {"id": None, "title_zh": "", "title_en": "", "stops": []}

I18N_PREFIX = "tour."


def tr(key: str, lang: str, **fmt: object) -> str:
    return i18n.t(I18N_PREFIX + key, lang, **fmt)


def menu(lang: str) -> html.Details:
    """The Tour menu beside Share: add the view, title and note each stop in both
    languages, order, save, open."""
    return html.Details(
        id=MENU,
        className="share-menu tour-menu",
        children=[
            html.Summary(
                [tr("menu", lang), " ", html.Span("(0)", id=COUNT, className="tour-count")],
                className="button ghost share-button",
            ),
            html.Div(
                className="share-panel tour-panel",
                children=[
                    html.Button(tr("add", lang), id=ADD, className="button", n_clicks=0),
                    html.P(tr("help", lang), className="note"),
                    html.Label(tr("title_zh", lang), htmlFor=TITLE_ZH, className="field-label"),
                    dcc.Input(id=TITLE_ZH, type="text", value="", maxLength=tours.MAX_TITLE),
                    html.Label(tr("title_en", lang), htmlFor=TITLE_EN, className="field-label"),
                    dcc.Input(id=TITLE_EN, type="text", value="", maxLength=tours.MAX_TITLE),
                    html.Ol(id=STOPS, className="tour-stops", **{"aria-label": tr("stops", lang)}),
                    html.Div(
                        [
                            html.Button(tr("save", lang), id=SAVE, className="button", n_clicks=0),
                            html.Button(
                                tr("clear", lang), id=CLEAR, className="button ghost", n_clicks=0
                            ),
                            html.A(
                                tr("present", lang),
                                id=OPEN,
                                className="button",
                                href="",
                                style={"display": "none"},
                            ),
                        ],
                        className="share-row tour-actions",
                    ),
                    html.P(id=STATUS, className="note tour-status", role="status"),
                ],
            ),
        ],
    )


def draft_store() -> dcc.Store:
    return dcc.Store(id=DRAFT, storage_type="local", data=dict(EMPTY))


def _clean_draft(draft: Any) -> dict[str, Any]:
    """The draft as the page holds it, bounded (it is the browser's to change)."""
    if not isinstance(draft, dict):
        return dict(EMPTY)
    stops = []
    for s in (draft.get("stops") or [])[: tours.MAX_STOPS]:
        if isinstance(s, dict):
            stops.append(tours.Stop.from_dict(s).as_dict())
    tour_id = draft.get("id")
    return {
        "id": tour_id if isinstance(tour_id, int) and not isinstance(tour_id, bool) else None,
        "title_zh": str(draft.get("title_zh") or "")[: tours.MAX_TITLE],
        "title_en": str(draft.get("title_en") or "")[: tours.MAX_TITLE],
        "stops": stops,
    }


def stop_items(draft: dict[str, Any], lang: str) -> list[html.Li]:
    """One item per stop: its title and note in both languages, ↑ ↓ ✕."""
    stops = draft["stops"]
    items = []
    for i, stop in enumerate(stops):
        n = i + 1

        def field(name: str, area: bool, stop=stop, n=n, i=i) -> list[Any]:
            fid = {"type": FIELD, "index": i, "field": name}
            label = _field_label(name, lang, n)
            control = (
                dcc.Textarea(id=fid, value=stop.get(name, ""), rows=2, maxLength=tours.MAX_NOTE)
                if area
                else dcc.Input(id=fid, type="text", value=stop.get(name, ""), maxLength=200)
            )
            return [html.Label(label, htmlFor=_dom_id(fid), className="tour-field-label"), control]

        def move(op: str, text: str, label: str, disabled: bool, i=i) -> html.Button:
            return html.Button(
                text,
                id={"type": MOVE, "index": i, "op": op},
                n_clicks=0,
                disabled=disabled,
                className="button ghost tour-move",
                title=label,
                **{"aria-label": label},
            )

        items.append(
            html.Li(
                className="tour-stop-item",
                children=[
                    html.Div(
                        [
                            html.Span(tr("stop_n", lang, i=n), className="tour-stop-n"),
                            move("up", "↑", tr("move_up", lang, i=n), i == 0),
                            move("down", "↓", tr("move_down", lang, i=n), i == len(stops) - 1),
                            move("remove", "✕", tr("remove", lang, i=n), False),
                        ],
                        className="tour-stop-head",
                    ),
                    *field("title_zh", False),
                    *field("title_en", False),
                    *field("note_zh", True),
                    *field("note_en", True),
                ],
            )
        )
    if not items:
        return [html.Li(tr("empty", lang), className="muted tour-empty")]
    return items


def _field_label(name: str, lang: str, n: int) -> str:
    return {
        "title_zh": tr("stop_title_zh", lang, i=n),
        "title_en": tr("stop_title_en", lang, i=n),
        "note_zh": tr("stop_note_zh", lang, i=n),
        "note_en": tr("stop_note_en", lang, i=n),
    }[name]


def _dom_id(fid: dict[str, Any]) -> str:
    """The DOM id Dash gives a pattern-matching id (sorted keys, compact JSON)."""
    import json

    return json.dumps(fid, sort_keys=True, separators=(",", ":"))


def edit_draft(
    draft: Any,
    trigger: Any,
    data: agg.AtlasData | None,
    query: str,
    fields: list[tuple[dict[str, Any], Any]],
    title_zh: Any,
    title_en: Any,
) -> tuple[dict[str, Any], bool]:
    """(new draft, whether the list must be drawn again) after one action: ``trigger``
    is ADD (the view ``query`` as a new stop), CLEAR, a MOVE id, a FIELD id, a title's id,
    or anything else (draw the stored draft)."""
    draft = _clean_draft(draft)
    stops = draft["stops"]
    if trigger == ADD:
        if len(stops) >= tours.MAX_STOPS or data is None:
            return draft, False
        stops.append(tours.new_stop(data, query).as_dict())
        return draft, True
    if trigger == CLEAR:
        return dict(EMPTY, stops=[]), True
    if isinstance(trigger, dict) and trigger.get("type") == MOVE:
        i, op = trigger.get("index"), trigger.get("op")
        if not isinstance(i, int) or not 0 <= i < len(stops):
            return draft, False
        if op == "remove":
            stops.pop(i)
        elif op == "up" and i > 0:
            stops[i - 1], stops[i] = stops[i], stops[i - 1]
        elif op == "down" and i < len(stops) - 1:
            stops[i + 1], stops[i] = stops[i], stops[i + 1]
        return draft, True
    if trigger in (TITLE_ZH, TITLE_EN) or (
        isinstance(trigger, dict) and trigger.get("type") == FIELD
    ):
        draft["title_zh"] = str(title_zh or "")[: tours.MAX_TITLE]
        draft["title_en"] = str(title_en or "")[: tours.MAX_TITLE]
        for fid, value in fields:
            i, name = fid.get("index"), fid.get("field")
            if isinstance(i, int) and 0 <= i < len(stops) and name in FIELDS:
                limit = tours.MAX_NOTE if name.startswith("note") else tours.MAX_TITLE
                stops[i][name] = str(value or "")[:limit]
        return draft, False
    return draft, True


def save_outputs(store: Any, draft: Any, token: Any, lang: str) -> tuple[Any, str, str, Any]:
    """(draft with its id, message, the tour's address, link style) after Save."""
    from twinning.auth import Auth

    draft = _clean_draft(draft)
    user = Auth.for_store(store).session_user(token)
    try:
        tour = tours.Tour.from_dict(draft)
        saved = None
        if draft["id"] is not None:
            existing = tours.get_tour(store, draft["id"])
            if (
                existing is not None
                and user is not None
                and (user.can("admin") or existing.created_by == user.name)
            ):
                saved = tours.save_tour(store, user, tour, draft["id"])
        if saved is None:
            saved = tours.save_tour(store, user, tour)
    except tours.TourError as exc:
        return no_update, exc.message(lang), no_update, no_update
    draft["id"] = saved.id
    href = saved.path(lang)
    return draft, tr("saved", lang, id=saved.id, n=len(saved.stops)), href, {}


def _base(prefix: str) -> str:
    from components.share import request_base

    return request_base(prefix)


def tour_page(state: Any, tour_id: Any, args: Any, prefix: str = "/") -> tuple[str, int]:
    """(HTML, status) of ``/tour/<id>``."""
    from components import geo_assets, security
    from twinning import tour_page as page

    lang = i18n.normalize_lang(args.get("lang"))
    tour = tours.get_tour(state.store(), tour_id)
    if tour is None:
        return not_found(lang), 404
    data = state.data()
    base = _base(prefix)
    root = prefix.rstrip("/")

    views = page.stop_views(data, tour, lang, base, geo_assets.SERVED)
    other = "en" if lang == "zh" else "zh"
    here = f"{root}{TOUR_PATH}/{tour.id}"
    links = [
        ("English" if other == "en" else "中文", f"{here}?lang={other}"),
        (tr("download_pptx", lang), f"{here}/tour.pptx?lang={lang}"),
        (tr("download_html", lang), f"{here}/tour.html?lang={lang}"),
        (tr("edit", lang), f"{root}/?lang={lang}&tour={tour.id}"),
    ]
    try:
        auto = int(args.get("auto") or 0)
    except ValueError:
        auto = 0
    body = page.tour_document(
        data,
        tour,
        views,
        lang,
        scripts=(f"{root}/assets/vendor/plotly-atlas.min.js",),
        nonce=security.csp_nonce(),
        links=links,
        auto=auto,
    )
    return body, 200


def not_found(lang: str) -> str:
    from twinning.embed import esc

    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{esc(tr("missing_title", lang))}</title></head><body>'
        f"<main><h1>{esc(tr('missing_title', lang))}</h1>"
        f"<p>{esc(tr('missing', lang))} "
        f'<a href="/?lang={lang}">{esc(i18n.t("nav_atlas", lang))}</a>'
        "</p></main></body></html>"
    )


def register(app: dash.Dash, state: Any) -> None:
    """The routes and the Tour menu's callbacks."""
    import flask

    from components import security
    from twinning import busy

    prefix = app.config.requests_pathname_prefix
    routes = app.config.routes_pathname_prefix

    def show(tour_id: str) -> flask.Response:
        body, status = tour_page(state, tour_id, flask.request.args, prefix)
        response = flask.Response(body, status=status, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response

    def download(tour_id: str, fmt: str) -> flask.Response:
        from twinning.deck import export_tour_pptx, tour_filename
        from twinning.tour_page import offline_tour

        lang = i18n.normalize_lang(flask.request.args.get("lang"))
        tour = tours.get_tour(state.store(), tour_id)
        if tour is None:
            return flask.Response(not_found(lang), status=404, mimetype="text/html")
        base = _base(prefix)

        def work() -> bytes:
            if fmt == "pptx":
                return export_tour_pptx(state.data(), tour, lang, base=base)
            return offline_tour(state.data(), tour, lang, base=base).encode("utf-8")

        try:
            payload = security.bounded("export", state.store(), work)
        except busy.Busy as exc:
            return security.busy_response(exc)
        mimetype = (
            "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            if fmt == "pptx"
            else "text/html"
        )
        response = flask.Response(payload, mimetype=mimetype)
        name = tour_filename(tour, lang, fmt)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    app.server.add_url_rule(routes + "tour/<tour_id>", "atlas_tour", show)
    app.server.add_url_rule(
        routes + "tour/<tour_id>/tour.pptx",
        "atlas_tour_pptx",
        lambda tour_id: download(tour_id, "pptx"),
    )
    app.server.add_url_rule(
        routes + "tour/<tour_id>/tour.html",
        "atlas_tour_html",
        lambda tour_id: download(tour_id, "html"),
    )

    @app.callback(
        Output(DRAFT, "data"),
        Output(STOPS, "children"),
        Output(TITLE_ZH, "value"),
        Output(TITLE_EN, "value"),
        Output(COUNT, "children"),
        Input(DRAFT, "data"),
        Input(ADD, "n_clicks"),
        Input(CLEAR, "n_clicks"),
        Input({"type": MOVE, "index": ALL, "op": ALL}, "n_clicks"),
        Input({"type": FIELD, "index": ALL, "field": ALL}, "value"),
        Input(TITLE_ZH, "value"),
        Input(TITLE_EN, "value"),
        State(ids.FILTERS, "data"),
        State(ids.URL, "search"),
    )
    def edit(draft, _add, _clear, _moves, _values, title_zh, title_en, filters_dict, search):
        filters = agg.Filters.from_dict(filters_dict)
        lang = filters.lang
        trigger = ctx.triggered_id
        value = ctx.triggered[0]["value"] if ctx.triggered else None
        clicked = trigger in (ADD, CLEAR) or (
            isinstance(trigger, dict) and trigger.get("type") == MOVE
        )
        if clicked and not value:  # drawn, not clicked
            return (no_update,) * 5
        if trigger is None or trigger == DRAFT:
            draft = _load_for_edit(state, draft, search)
        fields = [(item["id"], item.get("value")) for item in ctx.inputs_list[4]]
        new, redraw = edit_draft(
            draft,
            trigger,
            state.data(),
            filters.to_query_string(),
            fields,
            title_zh,
            title_en,
        )
        count = f"({len(new['stops'])})"
        if not redraw:
            return new, no_update, no_update, no_update, count
        return new, stop_items(new, lang), new["title_zh"], new["title_en"], count

    @app.callback(
        Output(DRAFT, "data", allow_duplicate=True),
        Output(STATUS, "children"),
        Output(OPEN, "href"),
        Output(OPEN, "style"),
        Input(SAVE, "n_clicks"),
        State(DRAFT, "data"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def save(n_clicks, draft, filters_dict):
        if not n_clicks:
            return no_update, no_update, no_update, no_update
        lang = agg.Filters.from_dict(filters_dict).lang
        draft, message, href, style = save_outputs(
            state.store(), draft, security.cookie_token(), lang
        )
        if href is not no_update:
            href = prefix.rstrip("/") + href
        return draft, message, href, style


def _load_for_edit(state: Any, draft: Any, search: str | None) -> Any:
    """``/?tour=<id>`` (the tour page's Edit link): that tour becomes the draft."""
    from urllib.parse import parse_qs

    text = search if isinstance(search, str) else ""  # a forged location's search: none
    wanted = parse_qs(text.lstrip("?")).get("tour", [None])[0]
    if not wanted:
        return draft
    current = _clean_draft(draft)
    tour = tours.get_tour(state.store(), wanted)
    if tour is None or current.get("id") == tour.id:
        return draft
    return tour.as_dict()
