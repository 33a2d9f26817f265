"""The atlas page, built from a ``Filters`` (the URL) and the prepared data.

Layout only: no callbacks, no I/O. Every text goes through ``twinning.i18n``.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import dcc, html

from components import a11y, coverage, ids
from twinning import i18n
from twinning import query as agg

GRAPH_CONFIG_BASE: dict[str, Any] = {
    "displaylogo": False,
    "scrollZoom": False,
    # where a map needs plotly's base map (world_110m.json; the atlas's maps do not, see
    # tools/plotly-bundle/build.js), plotly fetches it from our own assets (offline)
    "topojsonURL": "/assets/vendor/",
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


# What a graph shows until its first figure arrives: nothing. Without a figure dcc.Graph
# drew plotly's empty chart, axes from -1 to 6, which plotly measured label by label
# (``ticklabeloverflow``, ~40 ms of a cold first view's one main thread, #7) and the
# reader saw for a moment before the series came.
BLANK_FIGURE: dict[str, Any] = {
    "data": [],
    "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}},
}


def graph_config(filename: str) -> dict[str, Any]:
    return {
        **GRAPH_CONFIG_BASE,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


def root_layout(page: Any = None, shown: str | None = None) -> html.Div:
    """The router shell, per page load. ``page`` is the page for the address ``shown``
    when the layout's request named it (components/callbacks.py ``serve_layout``);
    without it a callback fills the page from the URL, so a permalink opens exactly the
    view it names either way."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.NAV_SINK),
            dcc.Store(id=ids.RESET_SINK),
            dcc.Store(id=ids.PAGE_SHOWN, data=shown),
            html.Div(page, id=ids.PAGE, className="page"),
        ]
    )


def _options(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"label": label, "value": value} for value, label in pairs]


def header(filters: agg.Filters, active: str) -> html.Header:
    from components import share

    lang = filters.lang
    query = filters.to_query_string()
    return html.Header(
        className="header",
        children=[
            html.Div(
                [
                    html.H1(i18n.t("title", lang), className="title"),
                    html.Div(i18n.t("subtitle", lang), className="subtitle"),
                ],
                className="brand",
            ),
            html.Nav(
                [
                    dcc.Link(
                        i18n.t("nav_atlas", lang),
                        href="/" + query,
                        className="nav-link" + (" active" if active == "atlas" else ""),
                    ),
                    dcc.Link(
                        i18n.t("nav_import", lang),
                        href=f"/import?lang={lang}",
                        className="nav-link" + (" active" if active == "import" else ""),
                    ),
                ],
                className="nav",
            ),
            html.Div(
                [
                    # a phone: the filters fold into a drawer this opens (assets/drawer.js)
                    html.Button(
                        i18n.t("phone.filters_open", lang),
                        id=ids.FILTERS_TOGGLE,
                        className="button filters-toggle",
                        n_clicks=0,
                        **{"aria-controls": ids.FILTERS_PANEL, "aria-expanded": "false"},
                    )
                    if active == "atlas"
                    else None,
                    share.stage_qr_button(lang) if active == "atlas" else None,  # (#9)
                    html.Button(
                        i18n.t("present_exit" if filters.present else "present", lang),
                        id=ids.PRESENT,
                        className="button ghost",
                        n_clicks=0,
                    ),
                    a11y.hidden_label(i18n.t("a11y.language", lang), ids.LANG),
                    dcc.RadioItems(
                        id=ids.LANG,
                        options=[{"label": "中文", "value": "zh"}, {"label": "EN", "value": "en"}],
                        value=lang,
                        inline=True,
                        className="lang-switch",
                        inputClassName="lang-input",
                        labelClassName="lang-label",
                    ),
                ],
                className="header-tools",
            ),
        ],
    )


def _field(label: str, control: Any, parts: tuple[str, str] | None = None) -> html.Div:
    """A control under its label. The label names the control (``htmlFor``); for a range
    slider ``parts`` names its two ends ("from year", "to year"), read by assets/a11y.js."""
    cid = getattr(control, "id", None)
    attrs: dict[str, Any] = {"htmlFor": cid, "id": f"{cid}-label"} if isinstance(cid, str) else {}
    if parts:
        attrs["data-a11y-parts"] = "|".join(parts)
    return html.Div(
        [html.Label(label, className="field-label", **attrs), control], className="field"
    )


def filters_panel(data: agg.AtlasData, filters: agg.Filters) -> html.Aside:
    from components import playback

    lang = filters.lang
    lo, hi = agg.year_bounds(data)
    metric_opts = [{"label": i18n.t("metric_none", lang), "value": ""}] + [
        {"label": i18n.metric_label(m, lang), "value": m} for m in agg.metric_options(data)
    ]
    program_opts = [
        {"label": i18n.program_label(p, lang), "value": p} for p in agg.program_options(data)
    ]
    donor_opts = [
        {"label": agg.donor_label(data, k, lang), "value": k} for k in agg.all_donor_keys(data)
    ]
    unit_opts = donor_unit_options(data, filters.donor, lang)
    recipient_opts = [
        {"label": data.place_label(code, lang), "value": code}
        for code in agg.recipient_province_options(data)
    ]
    marks = {y: str(y) for y in range(lo, hi + 1) if y % 5 == 0 and lo + 3 < y < hi - 3}
    marks.update({lo: str(lo), hi: str(hi)})
    return html.Aside(
        id=ids.FILTERS_PANEL,
        className="filters",
        **{"aria-labelledby": f"{ids.FILTERS_PANEL}-title"},
        children=[
            html.Div(
                [
                    html.H2(
                        i18n.t("filters", lang),
                        className="panel-title",
                        id=f"{ids.FILTERS_PANEL}-title",
                    ),
                    # closes the drawer on a phone (hidden elsewhere; assets/drawer.js)
                    html.Button(
                        i18n.t("phone.filters_close", lang),
                        className="button ghost filters-close",
                        **{"aria-controls": ids.FILTERS_PANEL},
                    ),
                ],
                className="filters-head",
            ),
            _field(
                i18n.t("level", lang),
                dcc.RadioItems(
                    id=ids.LEVEL,
                    options=[
                        {"label": i18n.level_label(lv, lang), "value": lv} for lv in agg.LEVELS
                    ],
                    value=filters.level,
                    inline=True,
                    className="segmented",
                ),
            ),
            _field(
                i18n.t("metric", lang),
                dcc.Dropdown(
                    id=ids.METRIC,
                    labels=i18n.dropdown_labels(lang),
                    options=metric_opts,
                    value=filters.metric or "",
                    clearable=False,
                    searchable=True,
                ),
            ),
            _field(
                i18n.t("program", lang),
                dcc.Dropdown(
                    id=ids.PROGRAM,
                    labels=i18n.dropdown_labels(lang),
                    options=program_opts,
                    value=list(filters.programs),
                    multi=True,
                    placeholder=i18n.t("program_all", lang),
                ),
            ),
            _field(
                i18n.t("donor", lang),
                dcc.Dropdown(
                    id=ids.DONOR,
                    labels=i18n.dropdown_labels(lang),
                    options=donor_opts,
                    value=filters.donor,
                    placeholder=i18n.t("donor_all", lang),
                ),
            ),
            _field(
                i18n.t("donor_unit", lang),
                dcc.Dropdown(
                    id=ids.DONOR_UNIT,
                    labels=i18n.dropdown_labels(lang),
                    options=unit_opts,
                    value=filters.donor_unit,
                    placeholder=i18n.t("donor_all", lang),
                ),
            ),
            _field(
                i18n.t("recipient", lang),
                dcc.Dropdown(
                    id=ids.RECIPIENT,
                    labels=i18n.dropdown_labels(lang),
                    options=recipient_opts,
                    value=filters.recipient,
                    placeholder=i18n.t("recipient_all", lang),
                ),
            ),
            _field(
                i18n.t("years", lang),
                parts=(i18n.t("a11y.years_from", lang), i18n.t("a11y.years_to", lang)),
                control=dcc.RangeSlider(
                    id=ids.YEARS,
                    min=lo,
                    max=hi,
                    step=1,
                    value=[filters.year_from or lo, filters.year_to or hi],
                    marks=marks,
                    allowCross=False,
                    tooltip={"placement": "bottom", "always_visible": False},
                ),
            ),
            playback.controls(filters, lo, hi, marks),  # one year, play (#9)
            _field(
                i18n.t("confidence_filter", lang),
                dcc.Checklist(
                    id=ids.MEMORY,
                    options=[{"label": i18n.t("hide_from_memory", lang), "value": "hide"}],
                    value=[] if filters.include_from_memory else ["hide"],
                    className="checks",
                ),
            ),
            dcc.Checklist(
                id=ids.FLOWS,
                options=[{"label": i18n.t("show_flows", lang), "value": "on"}],
                value=["on"] if filters.flows else [],
                className="checks",
            ),
            html.Button(
                i18n.t("reset", lang), id=ids.RESET, className="button ghost wide", n_clicks=0
            ),
        ],
    )


def donor_unit_options(data: agg.AtlasData, donor: str | None, lang: str) -> list[dict[str, str]]:
    return [
        {"label": data.place_label(key, lang, fallback=i18n.donor_name(name, lang)), "value": key}
        for key, name, _province in agg.donor_unit_options(data, donor)
    ]


# The view's CSV, streamed by the server (components/app.py), whatever its size.
VIEW_CSV_PATH = "/download/view.csv"
# rows per getRowsRequest of a table: the grid shows ~12 rows and draws 10 more either
# side (``rowBuffer``); a block of 100 sent 60 rows nobody saw on every filter change,
# ~3 KB of a county-level change's 38 KB at 10 M figures (#7)
GRID_BLOCK_ROWS = 40

# Stored as codes (funds_cny, east_west_cooperation, quoted) and shown translated, so a
# typed filter would never match them: these columns sort but do not filter.
_UNFILTERED_COLUMNS = {"program", "metric", "confidence"}
# Only the conditions the query layer turns into SQL (twinning/query/tables.py), one each.
_TEXT_FILTER = {
    "filterOptions": ["contains", "notContains", "equals", "notEqual", "startsWith", "endsWith"],
    "maxNumConditions": 1,
    "debounceMs": 400,
}
_NUMBER_FILTER = {
    "filterOptions": [
        "equals", "notEqual", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual",
    ],
    "maxNumConditions": 1,
    "debounceMs": 400,
}  # fmt: skip
_WIDE_COLUMNS = {"quote": 320, "source": 260, "note": 200, "recipient": 180}


def view_csv_href(filters: agg.Filters, prefix: str = "/") -> str:
    """The table's CSV link for a view: the permalink's query on the download route
    (``prefix``: the app's ``requests_pathname_prefix``)."""
    return prefix.rstrip("/") + VIEW_CSV_PATH + filters.to_query_string()


def grid_columns(kind: str, lang: str) -> list[dict[str, Any]]:
    """dash-ag-grid column definitions of a table, headed in ``lang``; the field of each
    column is its stable id in ``agg.COLUMNS``, which the server sorts and filters on."""
    names = agg.headers(kind, lang)
    out = []
    for col in agg.COLUMNS[kind]:
        spec: dict[str, Any] = {
            "field": col.id,
            "headerName": names[col.id],
            "sortable": col.sql is not None,
        }
        if col.sql is None or col.id in _UNFILTERED_COLUMNS:
            spec["filter"] = False
        elif col.kind == "number":
            spec.update(filter="agNumberColumnFilter", filterParams=_NUMBER_FILTER)
        else:
            spec.update(filter="agTextColumnFilter", filterParams=_TEXT_FILTER)
        if col.id in _WIDE_COLUMNS:
            spec["width"] = _WIDE_COLUMNS[col.id]
        if col.id in ("quote", "note"):
            spec["tooltipField"] = col.id
        if col.id == "source":
            # pieces from callbacks.source_parts, drawn by assets/grid_cells.js
            spec["cellRenderer"] = "SourceLinks"
        if kind == "figures" and col.id == "recipient":
            # a figure about several places together links to its members' outline
            spec["cellRenderer"] = "ScopeRecipient"
            spec["cellRendererParams"] = {"label": i18n.t("scope_show", lang)}
        out.append(spec)
    return out


def table_status(kind: str) -> html.P:
    """Where a table says that a page could not be fetched in time (empty otherwise)."""
    return html.P(id=ids.TABLE_STATUS[kind], role="alert", className="table-status")


def table_slot(kind: str, lang: str) -> html.Div:
    """Where a table's grid goes. The page starts without the grids: dash-ag-grid took
    ~0.3-0.5 s of a cold page's main thread to start them, before plotly could draw the
    map above them. ``assets/tables_later.js`` asks for them (``ids.TABLES_MOUNT``) once
    the map has drawn and the page is idle, or sooner when the table comes near the screen;
    the callback ``mount_tables`` answers with ``table_grid`` and ``table_status``
    (inserted with the grid, so Dash sends no first request for its rows before the
    grid asks, #7)."""
    return html.Div(
        html.P(i18n.t("table_loading", lang), className="muted"),
        id=ids.TABLE_SLOT[kind],
        className="table-slot",
        **{"aria-busy": "true"},
    )


def table_grid(kind: str, lang: str) -> dag.AgGrid:
    """One table as a grid on the infinite row model: the browser asks the server for a
    block of rows at a time (``getRowsRequest``), sorted and filtered in SQL."""
    return dag.AgGrid(
        id=ids.TABLE_PAIRINGS if kind == "pairings" else ids.TABLE_FIGURES,
        rowModelType="infinite",
        columnDefs=grid_columns(kind, lang),
        defaultColDef={"resizable": True, "floatingFilter": True, "width": 150, "minWidth": 90},
        dashGridOptions={
            "rowHeight": 34,
            "cacheBlockSize": GRID_BLOCK_ROWS,
            "maxBlocksInCache": 50,
            "rowBuffer": 10,
            "infiniteInitialRowCount": 1,
            "tooltipShowDelay": 400,
            "localeText": i18n.grid_locale(lang),
        },
        className="atlas-grid",
        style={"height": "460px", "width": "100%"},
    )


def atlas_page(
    data: agg.AtlasData, filters: agg.Filters, first: dict[str, Any] | None = None
) -> html.Div:
    """The atlas. ``first``: the map, its words and the headline numbers of this view
    (components/callbacks.py ``first_map``), drawn with the page instead of after the
    callbacks' round trips; without it the map's callback fills them."""
    lang = filters.lang
    first = first or {}
    graph_figure = {"figure": first["figure"]} if "figure" in first else {}
    from components import export_controls, playback, share, tours

    return html.Div(
        className="atlas" + (" present" if filters.present else ""),
        lang="zh-CN" if lang == "zh" else "en",
        children=[
            *a11y.page_parts(filters),
            header(filters, "atlas"),
            share.stage_qr(lang),  # the link's QR code over the presenter's stage (#9)
            dcc.Store(id=ids.FILTERS, data=filters.as_dict()),
            dcc.Store(id=ids.PLACE, data=filters.place),
            dcc.Store(id=ids.MAP_KEY, data=first.get("key")),
            dcc.Store(id=ids.MAP_VIEW, data=first.get("view")),
            dcc.Store(id=ids.TOTALS_PENDING),  # the map's callback: totals to follow
            dcc.Store(id=ids.TOTALS_FOLLOW),  # and, once worked out, what they change
            tours.draft_store(),  # the tour being collected, kept in the browser (#9)
            # the filters the tables were last loaded for (reload only when they change)
            dcc.Store(id=ids.TABLE_FILTERS, data=filters.as_dict()),
            dcc.Store(id=ids.TABLES_MOUNT, data=False),  # set by assets/tables_later.js
            html.Div(
                className="body",
                children=[
                    filters_panel(data, filters),
                    html.Main(
                        className="main",
                        children=[
                            html.Section(
                                first.get("headlines"), id=ids.HEADLINES, className="headlines"
                            ),
                            html.Section(
                                id=ids.MAP_CARD,
                                className="card map-card",
                                children=[
                                    html.Div(
                                        [
                                            html.H2(
                                                first.get("title"),
                                                id=ids.MAP_TITLE,
                                                className="card-title",
                                            ),
                                            *playback.stage_parts(filters),
                                            html.Button(
                                                i18n.t("back_to_china", lang),
                                                id=ids.BACK,
                                                className="button ghost",
                                                n_clicks=0,
                                                style=first.get("back", {"display": "none"}),
                                            ),
                                            export_controls.layout(lang),
                                            share.menu(lang),  # link, embed, QR (#9)
                                            tours.menu(lang),  # collect views (#9)
                                        ],
                                        className="card-head",
                                    ),
                                    a11y.place_search(lang),
                                    a11y.described_chart(
                                        dcc.Loading(
                                            dcc.Graph(
                                                id=ids.MAP,
                                                config=graph_config("twinning-atlas-map"),
                                                className="map-graph",
                                                clear_on_unhover=True,
                                                **graph_figure,
                                            ),
                                            type="circle",
                                            delay_show=400,
                                        ),
                                        ids.MAP_TITLE,
                                        ids.MAP_SUMMARY,
                                        i18n.t("a11y.map_label", lang),
                                        lang,
                                        key=i18n.t("a11y.line_key", lang),
                                        summary=first.get("summary"),
                                    ),
                                    html.P(first.get("note"), id=ids.MAP_NOTE, className="note"),
                                    html.P(id=ids.SOURCE_LINE, className="source-line"),
                                ],
                            ),
                            html.Section(
                                className="lower",
                                children=[
                                    html.Section(
                                        className="card series-card",
                                        children=[
                                            html.H2(
                                                i18n.t("series_title", lang),
                                                className="card-title",
                                                id="series-title",
                                            ),
                                            a11y.described_chart(
                                                dcc.Graph(
                                                    id=ids.SERIES,
                                                    config=graph_config("twinning-atlas-series"),
                                                    figure=BLANK_FIGURE,
                                                ),
                                                "series-title",
                                                ids.SERIES_SUMMARY,
                                                i18n.t("a11y.series_label", lang),
                                                lang,
                                            ),
                                        ],
                                    ),
                                    html.Section(
                                        id=ids.DETAIL,
                                        className="card detail-card",
                                        children=[
                                            html.H2(
                                                i18n.t("detail_title", lang),
                                                className="card-title",
                                            ),
                                            html.P(i18n.t("detail_empty", lang), className="muted"),
                                        ],
                                    ),
                                ],
                            ),
                            coverage.card(lang),
                            html.Section(
                                id=ids.TABLE_CARD,
                                className="card table-card",
                                **{"aria-label": i18n.t("a11y.table_region", lang)},
                                children=[
                                    html.Div(
                                        [
                                            dcc.Tabs(
                                                id=ids.TABLE_TABS,
                                                value="pairings",
                                                children=[
                                                    dcc.Tab(
                                                        label=i18n.t("table_pairings", lang),
                                                        value="pairings",
                                                        children=[
                                                            table_slot("pairings", lang),
                                                        ],
                                                    ),
                                                    dcc.Tab(
                                                        label=i18n.t("table_figures", lang),
                                                        value="figures",
                                                        children=[
                                                            table_slot("figures", lang),
                                                        ],
                                                    ),
                                                ],
                                            ),
                                        ]
                                    ),
                                    html.Div(
                                        [
                                            html.Span(
                                                i18n.t("table_hint", lang), className="muted"
                                            ),
                                            # a link (its href set by a callback): the
                                            # server streams the CSV, any size
                                            html.A(
                                                i18n.t("download_csv", lang),
                                                id=ids.DOWNLOAD_CSV,
                                                className="button",
                                                download="",
                                            ),
                                            html.Button(
                                                i18n.t("download_xlsx", lang),
                                                id=ids.DOWNLOAD_XLSX,
                                                className="button",
                                                n_clicks=0,
                                            ),
                                            html.Span(
                                                id=ids.DOWNLOAD_STATUS,
                                                className="download-status",
                                                role="status",
                                            ),
                                            dcc.Download(id=ids.DOWNLOAD),
                                        ],
                                        className="table-tools",
                                    ),
                                ],
                            ),
                            html.Footer(i18n.t("footer", lang), className="footer"),
                        ],
                    ),
                ],
            ),
        ],
    )


def import_shell(filters: agg.Filters) -> html.Div:
    from components import import_page

    return html.Div(
        className="atlas",
        lang="zh-CN" if filters.lang == "zh" else "en",
        children=[
            header(filters, "import"),
            html.Main(import_page.layout(filters.lang), className="main import-main"),
        ],
    )
