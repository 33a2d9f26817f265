"""The "Export / 导出" control: a format menu, a button and a download.

Thin on purpose: the callback reads the page's URL query (the permalink carries the
whole view) and calls :func:`twinning.export.export_view`; :func:`make_download` is that
plain function, which the tests call without a browser.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, dcc, html, no_update

from components import security
from twinning import i18n
from twinning.busy import Busy
from twinning.export import ExportError, export_view

EXPORT_FORMAT = "export-format"
EXPORT_CHART = "export-chart"
EXPORT_BUTTON = "export-button"
EXPORT_DOWNLOAD = "export-download"
EXPORT_STATUS = "export-status"
DEFAULT_LOCATION = "url"

# The formats the menu offers, in its order. This control's words are the catalog's
# "export_ui.<key>" messages (twinning/locale); a format's label is "export_ui.format_<fmt>".
FORMATS: tuple[str, ...] = ("png", "svg", "pdf", "pptx", "csv", "xlsx", "gif", "mp4")
# The years played as an animation: one at a time per process, in their own gate (#9, #12)
ANIMATED: tuple[str, ...] = ("gif", "mp4")
I18N_PREFIX = "export_ui."


def t(key: str, lang: str, **fmt: object) -> str:
    """This control's text for ``key`` (the catalog's ``export_ui.<key>``)."""
    return i18n.t(I18N_PREFIX + key, lang, **fmt)


def _location_id() -> str:
    """The app's dcc.Location id, from components/ids.py when it names one."""
    try:
        from components import ids
    except ImportError:
        return DEFAULT_LOCATION
    for name in ("URL", "LOCATION", "URL_LOCATION"):
        value = getattr(ids, name, None)
        if isinstance(value, str):
            return value
    return DEFAULT_LOCATION


def layout(lang: str = "zh") -> html.Div:
    """A small bilingual control; place it near the map (it exports the current view)."""
    lang = i18n.normalize_lang(lang)
    return html.Div(
        className="export-controls",
        title=t("hint", lang),
        children=[
            dcc.Dropdown(
                id=EXPORT_CHART,
                labels=i18n.dropdown_labels(lang),
                options=[
                    {"label": t("chart_map", lang), "value": "map"},
                    {"label": t("chart_series", lang), "value": "series"},
                ],
                value="map",
                clearable=False,
                searchable=False,
                className="export-chart",
            ),
            dcc.Dropdown(
                id=EXPORT_FORMAT,
                labels=i18n.dropdown_labels(lang),
                options=[{"label": t(f"format_{k}", lang), "value": k} for k in FORMATS],
                value="png",
                clearable=False,
                searchable=False,
                className="export-format",
            ),
            html.Button(t("export", lang), id=EXPORT_BUTTON, n_clicks=0, className="button"),
            dcc.Loading(html.Span(id=EXPORT_STATUS, className="export-status"), type="dot"),
            dcc.Download(id=EXPORT_DOWNLOAD),
        ],
    )


def make_download(
    store: Any, search: str | None, chart: str | None, fmt: str | None
) -> tuple[dict[str, Any] | None, str]:
    """(dcc.Download data, status text) for the view in ``search`` ('?lang=en&...')."""
    from twinning import query as agg

    lang = agg.Filters.from_query(search or "").lang
    try:
        payload, filename = export_view(
            store, search or "", chart or "map", fmt or "png", link=_view_link(search)
        )
    except ExportError as exc:
        return None, t("failed", lang, error=exc)
    return dcc.send_bytes(payload, filename), ""


def _view_link(search: str | None) -> str | None:
    """The view's address as the browser reached it (the deck's QR code opens it)."""
    import flask

    if not flask.has_request_context():
        return None
    return flask.request.host_url.rstrip("/") + "/" + (search or "")


def register_callbacks(app: Any, get_store: Any, location_id: str | None = None) -> Any:
    """Wire the control. ``get_store`` is a Store or a function returning one.

    Returns the undecorated callback so tests can call it as a plain function.
    """

    def export_callback(n_clicks, search, chart, fmt):
        if not n_clicks:
            return no_update, no_update
        store = get_store() if callable(get_store) else get_store
        try:  # a few at once per process, a short queue, a limit per address (#12)
            return security.bounded(
                "animation" if fmt in ANIMATED else "export",
                store,
                lambda: make_download(store, search, chart, fmt),
            )
        except Busy as exc:
            from twinning import query as agg

            security.mark_busy(exc)
            return no_update, security.busy_text(exc, agg.Filters.from_query(search or "").lang)

    app.callback(
        Output(EXPORT_DOWNLOAD, "data"),
        Output(EXPORT_STATUS, "children"),
        Input(EXPORT_BUTTON, "n_clicks"),
        State(location_id or _location_id(), "search"),
        State(EXPORT_CHART, "value"),
        State(EXPORT_FORMAT, "value"),
        prevent_initial_call=True,
    )(export_callback)
    return export_callback
