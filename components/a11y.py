"""Accessibility of the atlas (issue #13): the Dash side.

- ``<html lang>`` follows the view's language (``?lang=`` or TWINNING_LANG), set on the
  page Dash serves (``interpolate_index``), so a screen reader speaks Chinese as Chinese.
- The keyboard's way to a place: a searchable list of the places in view that opens a
  place's detail and moves focus to it (``assets/a11y.js`` closes it with Esc).
- Each chart points at a text alternative (``twinning.figures.describe``) with
  ``aria-describedby`` and links to the same numbers as a table.
- One polite live region says what a filter change gave, once per change.

What Dash 4's own components get wrong (a listbox of radio buttons, a focusable element
hidden from screen readers, a dropdown named by its value only) is repaired in the browser
by ``assets/a11y.js``, which reads the labels this module and the layout put beside them
(``html.Label(htmlFor=...)``). Callbacks here are thin: each calls one plain function.
"""

from __future__ import annotations

import json
import re
from typing import Any

import dash
from dash import Input, Output, State, ctx, dcc, html, no_update

from components import ids
from twinning import i18n, settings
from twinning import query as agg
from twinning.figures import describe

HTML_LANG = {"zh": "zh-CN", "en": "en"}


def html_lang(lang: str | None) -> str:
    """The BCP 47 tag of a view's language: ``zh-CN`` or ``en``."""
    return HTML_LANG[i18n.normalize_lang(lang or settings.get("TWINNING_LANG"))]


def with_html_lang(page: str, lang: str | None) -> str:
    """``page`` (Dash's index HTML) with ``<html lang="...">`` for ``lang``."""
    tag = f'<html lang="{html_lang(lang)}"'
    return re.sub(r"<html(?=[\s>])(\s+lang=\"[^\"]*\")?", tag, page, count=1)


def set_document_lang(app: dash.Dash) -> None:
    """Serve every page with ``<html lang>`` from the request's ``?lang=`` (or the
    TWINNING_LANG setting). Changing the language reloads the page, so the tag is never
    stale; a ``dcc.Link`` between the atlas and the import page keeps the language."""
    import flask

    original = app.interpolate_index

    def interpolate_index(**kwargs: Any) -> str:
        lang = flask.request.args.get("lang") if flask.has_request_context() else None
        return with_html_lang(original(**kwargs), lang)

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------
# layout pieces (called by components/layout.py)
# ---------------------------------------------------------------------------------------


def page_parts(filters: agg.Filters) -> list[Any]:
    """The skip link, the live region and the stores behind focus and announcements."""
    lang = filters.lang
    return [
        html.A(i18n.t("a11y.skip_to_map", lang), href=f"#{ids.MAP_CARD}", className="skip-link"),
        html.Div(
            id=ids.ANNOUNCE,
            className="sr-only",
            role="status",
            **{"aria-live": "polite", "aria-atomic": "true"},
        ),
        dcc.Store(id=ids.ANNOUNCED, data=announce_key(filters)),
        dcc.Store(id=ids.FOCUS_REQUEST, data=None),
        dcc.Store(id=ids.PLACE_SEARCH_ASK, data=None),  # set by assets/a11y.js on focus
        dcc.Store(id=ids.PLACE_SEARCH_LISTED, data=None),
    ]


def hidden_label(text: str, control_id: str) -> html.Label:
    """A label a screen reader reads and the eye does not need (the language switch)."""
    return html.Label(text, htmlFor=control_id, id=f"{control_id}-label", className="sr-only")


def place_search(lang: str) -> html.Div:
    """Find a place (#9): typing a name, a former name, pinyin or an adcode lists what the
    gazetteer finds anywhere (``twinning.place_search``); with nothing typed, the places
    in view, asked for when the box takes focus (``search_options``). Choosing one drills
    into its province, opens its detail and moves focus there."""
    return html.Div(
        [
            html.Label(
                i18n.t("a11y.place_search", lang),
                htmlFor=ids.PLACE_SEARCH,
                id=f"{ids.PLACE_SEARCH}-label",
                className="field-label",
            ),
            dcc.Dropdown(
                id=ids.PLACE_SEARCH,
                labels=i18n.dropdown_labels(lang),
                options=[],
                value=None,
                searchable=True,
                clearable=False,
                search_order="original",  # the gazetteer's order: the name's own place first
                placeholder=i18n.t("a11y.place_search_placeholder", lang),
            ),
        ],
        className="place-search",
    )


def described_chart(
    chart: Any,
    title_id: str,
    summary_id: str,
    name: str,
    lang: str,
    key: str | None = None,
    summary: str | None = None,
) -> Any:
    """A chart as a figure for assistive technology: named by its title, described by its
    text alternative (shown under "In words"), with a link to the table of its numbers.
    ``key`` is a line of legend in words (what the map's line patterns mean); ``summary``
    the text alternative when the page is built with its chart (else a callback sets it)."""
    return html.Div(
        [
            html.Div(
                chart,
                role="figure",
                **{"aria-labelledby": title_id, "aria-describedby": summary_id},
            ),
            *([html.P(key, className="note line-key")] if key else []),
            html.Details(
                [
                    html.Summary(i18n.t("a11y.in_words", lang)),
                    html.P(summary, id=summary_id, className="chart-summary"),
                ],
                className="chart-words",
            ),
            html.A(
                i18n.t("a11y.chart_as_table", lang),
                href=f"#{ids.TABLE_CARD}",
                className="table-link",
                **{"aria-label": f"{name}: {i18n.t('a11y.chart_as_table', lang)}"},
            ),
        ],
        className="described-chart",
    )


# ---------------------------------------------------------------------------------------
# plain functions the callbacks call
# ---------------------------------------------------------------------------------------


def place_options(data: agg.AtlasData, filters: agg.Filters) -> list[dict[str, str]]:
    choices = describe.place_choices(data, filters)
    return [{"label": label, "value": code} for code, label in choices]


def search_options(
    data: agg.AtlasData,
    filters: agg.Filters,
    typed: Any,
    triggered: str | None,
    listed: Any = None,
    asked: Any = True,
) -> tuple[Any, Any]:
    """(options, digest) of the place search: what the gazetteer finds for the typed
    text, or with nothing typed the places in view. ``triggered``: ``"search_value"`` (a
    keystroke) or ``"data"`` (the box took focus: ``PLACE_SEARCH_ASK``, whose value
    ``asked`` is empty when Dash calls the callback as the page is drawn: no list then).

    The places in view are listed when the box takes focus, not on every filter change:
    a view's list (up to the ~2,900 counties of a national county map, 48 KB, 8 KB
    compressed) travelled with each change of years, programme or donor, and back up to
    the server as the callback's state, for a box nobody had opened (#7). Emptying the box
    after a choice keeps the list it was chosen from (the view that opens then lists its
    own places at the next focus). A list whose digest is ``listed`` (the one the box
    holds) is not sent again: a late answer to an earlier keystroke ("Shach" then
    "Shache") would redraw the open list and take the keyboard's place in it away."""
    from twinning import place_search

    text = typed.strip() if isinstance(typed, str) else ""
    if text and triggered == "search_value":
        found = place_search.options(text, filters.lang)
    elif triggered == "search_value" or text or not asked:
        return no_update, no_update  # emptied after a choice; a focus while typing; a page
    else:
        found = place_options(data, filters)
    digest = options_digest(found)
    return (no_update, no_update) if digest == listed else (found, digest)


def options_digest(options: list[dict[str, str]]) -> str:
    """A short digest of a list of options: which list the box holds, without the list."""
    import hashlib

    text = json.dumps(options, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def open_place(value: Any, options: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    """(place, search value, focus request, recipient, level) after a choice in the place
    search: the place opens in its province (the map drills into it at the place's level),
    the search empties (so the same place can be chosen again after Esc), and the detail
    panel is asked to take focus once it shows the place."""
    from twinning.gazetteer import Gazetteer
    from twinning.place_search import view_of

    listed = options if isinstance(options, list) else []  # a forged request's: no options
    known = {o.get("value") for o in listed if isinstance(o, dict)}
    if not isinstance(value, str) or value not in known:
        return (no_update,) * 5
    place = Gazetteer.default().get(value)
    if place is None:  # a place of the data the boundaries do not know: its detail only
        return value, None, value, no_update, no_update
    recipient, level, code = view_of(place)
    return code, None, code, recipient, level


def announce_key(filters: agg.Filters) -> dict[str, Any]:
    """What a filter change is: the view without the selected place (opening a place is
    not a change to announce) and without presenter mode."""
    view = filters.as_dict()
    view.pop("place", None)
    return view


def announcement(
    data: agg.AtlasData, filters: agg.Filters, last: dict[str, Any] | None
) -> tuple[Any, Any]:
    """(text for the live region, key) after a view change, or no_update when only the
    selected place changed or the view is the one last announced: said once, not on every
    update."""
    key = announce_key(filters)
    if key == last:
        return no_update, no_update
    return describe.view_announcement(data, filters), key


FOCUS_DETAIL_JS = """
function (children, request) {
    const nu = window.dash_clientside.no_update;
    if (!request) { return nu; }
    const heading = document.getElementById("detail-name");
    if (!heading) { return nu; }  // not drawn yet: the next update will do it
    heading.setAttribute("tabindex", "-1");
    heading.focus();
    return null;
}
"""


def register(app: dash.Dash, state: Any) -> None:
    """Attach the accessibility callbacks; ``state`` gives ``data()``."""

    def current(filters_dict: dict | None) -> tuple[agg.AtlasData, agg.Filters]:
        return state.data(), agg.Filters.from_dict(filters_dict)

    set_document_lang(app)

    @app.callback(
        Output(ids.PLACE_SEARCH, "options"),
        Output(ids.PLACE_SEARCH_LISTED, "data"),
        Input(ids.PLACE_SEARCH_ASK, "data"),
        Input(ids.PLACE_SEARCH, "search_value"),
        State(ids.FILTERS, "data"),
        State(ids.PLACE_SEARCH_LISTED, "data"),
        prevent_initial_call=True,
    )
    def update_place_options(asked, typed, filters_dict, listed):
        trigger = (ctx.triggered[0]["prop_id"] if ctx.triggered else "").rsplit(".", 1)[-1]
        return search_options(*current(filters_dict), typed, trigger, listed, asked)

    @app.callback(
        Output(ids.PLACE, "data", allow_duplicate=True),
        Output(ids.PLACE_SEARCH, "value"),
        Output(ids.FOCUS_REQUEST, "data"),
        Output(ids.RECIPIENT, "value", allow_duplicate=True),
        Output(ids.LEVEL, "value", allow_duplicate=True),
        Input(ids.PLACE_SEARCH, "value"),
        State(ids.PLACE_SEARCH, "options"),
        prevent_initial_call=True,
    )
    def choose_place(value, options):
        return open_place(value, options)

    # The charts' words (ids.MAP_SUMMARY, ids.SERIES_SUMMARY) and the announcement of a
    # change (ids.ANNOUNCE, with ``announcement``) come with their charts, from the map's
    # and the series' callbacks (components/callbacks.py).

    app.clientside_callback(
        FOCUS_DETAIL_JS,
        Output(ids.FOCUS_REQUEST, "data", allow_duplicate=True),
        Input(ids.DETAIL, "children"),
        State(ids.FOCUS_REQUEST, "data"),
        prevent_initial_call=True,
    )
