"""Share a view (issue #9): the Share menu (the link, an iframe's code, a QR code, the
offline HTML file), the ``/embed`` route that shows one chart alone in an iframe, and the
route that hands out the offline interactive file.

Thin: the documents are made by ``twinning.embed``, the QR code by ``twinning.qr``; the
figures are the atlas's own (``components.callbacks``), so an embed shows what the atlas
shows for the same link.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import replace
from typing import Any

import dash
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from twinning import embed, i18n
from twinning import query as agg
from twinning.qr import qr_svg_data_uri
from twinning.view import View

EMBED_PATH = "/embed"
OFFLINE_HTML_PATH = "/download/view.html"
SHARE = "share-menu"
SHARE_LINK = "share-link"
SHARE_CHART = "share-chart"
SHARE_WIDTH = "share-width"
SHARE_HEIGHT = "share-height"
SHARE_IFRAME = "share-iframe"
SHARE_QR = "share-qr"
SHARE_HTML = "share-html"
SHARE_VIEW = "share-view"  # the filters, handed on only while the menu is open (gates.py)
SHARE_OPEN = "share-open"  # whether the menu is open: assets/details_open.js sets it
STAGE_QR_BUTTON = "stage-qr-button"  # presenter mode: shows the link's QR code on the stage
STAGE_QR = "stage-qr"
STAGE_QR_IMG = "stage-qr-img"
DEFAULT_SIZE = (600, 400)
SIZE_BOUNDS = (200, 4000)


# This module's words are the catalog's "share.<key>" messages, as twinning/embed.py's.
I18N_PREFIX = "share."


def tr(key: str, lang: str, **fmt: object) -> str:
    return i18n.t(I18N_PREFIX + key, lang, **fmt)


def chart_labels(lang: str) -> dict[str, str]:
    return {
        "map": tr("chart_map", lang),
        "series": tr("chart_series", lang),
        "headlines": tr("chart_headlines", lang),
        "table": tr("chart_table", lang),
    }


def menu(lang: str) -> html.Details:
    """The Share menu: a button that opens a panel (``<details>``, no script needed)."""
    width, height = DEFAULT_SIZE
    return html.Details(
        id=SHARE,
        className="share-menu",
        children=[
            html.Summary(tr("share", lang), className="button ghost share-button"),
            dcc.Store(id=SHARE_OPEN, data=False),
            dcc.Store(id=SHARE_VIEW),
            html.Div(
                className="share-panel",
                children=[
                    html.Label(tr("link", lang), htmlFor=SHARE_LINK, className="field-label"),
                    html.Div(
                        [
                            dcc.Input(id=SHARE_LINK, type="text", readOnly=True, value=""),
                            dcc.Clipboard(
                                target_id=SHARE_LINK,
                                title=tr("copy_link", lang),
                                className="share-copy",
                            ),
                        ],
                        className="share-row",
                    ),
                    html.Label(tr("embed", lang), htmlFor=SHARE_CHART, className="field-label"),
                    dcc.RadioItems(
                        id=SHARE_CHART,
                        options=[{"label": v, "value": k} for k, v in chart_labels(lang).items()],
                        value="map",
                        inline=True,
                        className="segmented",
                    ),
                    html.Div(
                        [
                            html.Label(tr("width", lang), htmlFor=SHARE_WIDTH),
                            dcc.Input(
                                id=SHARE_WIDTH, type="number", value=width, min=200, max=4000
                            ),
                            html.Label(tr("height", lang), htmlFor=SHARE_HEIGHT),
                            dcc.Input(
                                id=SHARE_HEIGHT, type="number", value=height, min=200, max=4000
                            ),
                        ],
                        className="share-row share-size",
                    ),
                    html.Div(
                        [
                            dcc.Textarea(id=SHARE_IFRAME, readOnly=True, value="", rows=3),
                            dcc.Clipboard(
                                target_id=SHARE_IFRAME,
                                title=tr("copy_iframe", lang),
                                className="share-copy",
                            ),
                        ],
                        className="share-row",
                    ),
                    html.Div(
                        [
                            html.Img(id=SHARE_QR, alt=tr("qr_alt", lang), className="share-qr"),
                            html.P(tr("qr_help", lang), className="note"),
                        ],
                        className="share-qr-box",
                    ),
                    html.A(
                        tr("offline_html", lang),
                        id=SHARE_HTML,
                        className="button",
                        download="",
                        href="",
                    ),
                ],
            ),
        ],
    )


def stage_qr_button(lang: str) -> html.Button:
    """The presenter's button (shown in presenter mode only) that puts the view's QR code
    large on the stage, for the audience to open the view on their phones."""
    return html.Button(
        tr("stage_qr", lang),
        id=STAGE_QR_BUTTON,
        className="button ghost stage-qr-button",
        n_clicks=0,
        **{"aria-controls": STAGE_QR, "aria-expanded": "false"},
    )


def stage_qr(lang: str) -> html.Div:
    """The QR code over the stage (hidden until the button shows it; Esc hides it)."""
    return html.Div(
        id=STAGE_QR,
        className="stage-qr",
        # role="dialog" only while shown (assets/share.js): a hidden dialog in the page
        # would read as an open menu to the keyboard handlers (assets/playback.js)
        **{"data-label": tr("qr_alt", lang)},
        children=[
            html.Div(
                [
                    html.Img(id=STAGE_QR_IMG, alt=tr("qr_alt", lang)),
                    html.P(tr("qr_slide", lang), className="stage-qr-words"),
                ],
                className="stage-qr-card",
            )
        ],
    )


def _size(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    lo, hi = SIZE_BOUNDS
    return min(max(number, lo), hi)


def embed_url(filters: agg.Filters, base: str, chart: str) -> str:
    """``<base>/embed?chart=<chart>&<the view's parameters>``."""
    chart = chart if chart in embed.CHARTS else "map"
    query = filters.to_query_string().lstrip("?")
    return f"{base.rstrip('/')}{EMBED_PATH}?chart={chart}" + (f"&{query}" if query else "")


def iframe_code(filters: agg.Filters, base: str, chart: str, width: Any, height: Any) -> str:
    """The HTML an intranet page pastes to embed the chart."""
    w, h = _size(width, DEFAULT_SIZE[0]), _size(height, DEFAULT_SIZE[1])
    src = html_lib.escape(embed_url(filters, base, chart), quote=True)
    title = html_lib.escape(i18n.t("title", filters.lang), quote=True)
    return (
        f'<iframe src="{src}" width="{w}" height="{h}" title="{title}" '
        'style="border:0;max-width:100%" loading="lazy"></iframe>'
    )


def share_outputs(
    filters: agg.Filters, base: str, chart: Any, width: Any, height: Any, qr: bool = True
) -> tuple[str, str, str, str]:
    """(link, iframe code, QR code as an SVG data URI, offline file's address) of a view;
    ``base``: the atlas's address (scheme, host and path prefix). Without ``qr`` the code
    is "" (drawing it is most of the work, and it is seen only in the open menu and on the
    presenter's stage, #7)."""
    base = base.rstrip("/")
    chart = chart if isinstance(chart, str) and chart in embed.CHARTS else "map"
    # what others open: the view itself, not the presenter's stage or a running playback
    filters = replace(filters, present=False, play=False)
    link = base + "/" + filters.to_query_string()
    return (
        link,
        iframe_code(filters, base, chart, width, height),
        qr_svg_data_uri(link) if qr else "",
        base + OFFLINE_HTML_PATH + filters.to_query_string(),
    )


def request_base(prefix: str = "/") -> str:
    """The atlas's address as the browser reached it: ``http://host:port`` + prefix."""
    import flask

    host = flask.request.host_url.rstrip("/") if flask.has_request_context() else ""
    return host + prefix.rstrip("/")


def embed_page(data: agg.AtlasData, query: str, prefix: str = "/") -> str:
    """The ``/embed`` document for a query string (``chart=`` and the view's parameters)."""
    from components import geo_assets
    from components.callbacks import filters_from_url

    chart = embed.chart_of(query)
    view = View(data, filters_from_url(query))
    figure = None
    if chart == "map":
        figure = view.map(geo_assets.SERVED)
    elif chart == "series":
        figure = view.series()
    root = prefix.rstrip("/")
    return embed.embed_document(
        view,
        chart,
        figure=figure,
        atlas_url=root + "/",
        scripts=(f"{root}/assets/vendor/plotly-atlas.min.js",),
    )


def register(app: dash.Dash, state: Any) -> None:
    """The routes (``/embed``, the offline file) and the Share menu's callback."""
    import flask

    from components.callbacks import filters_from_url

    prefix = app.config.requests_pathname_prefix
    routes = app.config.routes_pathname_prefix

    def embed_view() -> flask.Response:
        query = flask.request.query_string.decode("utf-8", "replace")
        body = embed_page(state.data(), query, prefix)
        response = flask.Response(body, mimetype="text/html")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def offline_view() -> flask.Response:
        query = flask.request.query_string.decode("utf-8", "replace")
        filters = filters_from_url(query)
        link = request_base(prefix) + "/" + filters.to_query_string()
        view = View(state.data(), filters, link=link)
        response = flask.Response(embed.offline_document(view), mimetype="text/html")
        name = view.filename("map", "html")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.server.add_url_rule(routes + EMBED_PATH.lstrip("/"), "atlas_embed", embed_view)
    app.server.add_url_rule(
        routes + OFFLINE_HTML_PATH.lstrip("/"), "atlas_offline_html", offline_view
    )

    from components.gates import gate

    # the links while the menu is open or the presenter's stage may show its QR code:
    # closed, a filter change asks nothing (the menu's fields keep the last view's links,
    # not seen; opening it hands the current view on)
    gate(app, SHARE_VIEW, SHARE_OPEN, on_stage=True)

    @app.callback(
        Output(SHARE_LINK, "value"),
        Output(SHARE_IFRAME, "value"),
        Output(SHARE_QR, "src"),
        Output(SHARE_HTML, "href"),
        Output(STAGE_QR_IMG, "src"),
        Input(SHARE_VIEW, "data"),
        Input(SHARE_CHART, "value"),
        Input(SHARE_WIDTH, "value"),
        Input(SHARE_HEIGHT, "value"),
        State(SHARE_OPEN, "data"),
        prevent_initial_call=True,
    )
    def update_share(filters_dict, chart, width, height, is_open):
        if not isinstance(filters_dict, dict):
            raise PreventUpdate  # the menu's fields changed before it ever opened
        filters = agg.Filters.from_dict(filters_dict)
        base = request_base(prefix)
        # the QR code while the menu is open, and always on the presenter's stage
        shown = is_open is True or filters.present
        link, code, qr, offline = share_outputs(filters, base, chart, width, height, qr=shown)
        return link, code, qr, offline, qr
