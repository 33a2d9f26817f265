"""The import page (`/import`): its layout and thin callbacks.

Sign in, drop a file, preview, map headers, check, confirm, undo. The page's work is plain
functions in ``twinning.imports`` (no dash), one idea to a module:

* ``signin``: the session (a server-side session, its token in an HttpOnly cookie);
* ``uploads``: the upload folder, decoding and describing a dropped file;
* ``upload_progress``: the progress file of a running check or import and what a poll shows;
* ``runs``: checking or importing an upload, undoing a batch, the list of batches;
* ``words``: how a file was read and what a run counted, in the reader's language.

This module holds the page's words (``t``: the catalog's ``import.<key>`` messages), the
layout, the report table's rows (both ways: shown and downloaded) and the callbacks. Each
callback unpacks its inputs and calls one plain function (``sign_in``, ``receive_upload``,
``check_file``, ``confirm_import``, ``undo``, ``progress_view``); the tests call them by
the names this module gives them. Every change to stored data checks the session token on
the server: hiding a button is not security.

File text is only ever shown through grid cells (dash-ag-grid's plain text cells, no
cell renderer) and html children, which Dash escapes; nothing from a file is rendered
as HTML or Markdown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dash_ag_grid as dag
from dash import ALL, Input, Output, State, dcc, html, no_update

from twinning import i18n, settings
from twinning.i18n import grid_locale
from twinning.imports import progress, runs
from twinning.imports.headers import ALL_FIELDS, field_label
from twinning.imports.problems import REPORT_COLUMNS, pick, report_csv, severity_label
from twinning.imports.progress import estimate_rows
from twinning.imports.runs import BATCH_COLUMNS, batches_rows, store_of, undo
from twinning.imports.signin import session_user, sign_in, sign_out, token_user
from twinning.imports.upload_progress import (
    ProgressWriter,
    clear_progress,
    progress_bar,
    progress_text,
    progress_view,
    read_progress,
    write_progress,
)
from twinning.imports.upload_progress import progress_path as _progress_path
from twinning.imports.uploads import NO_FIELD, PREVIEW_ROWS, receive_upload
from twinning.imports.uploads import incoming_dir as _incoming_dir
from twinning.imports.uploads import incoming_path as _incoming_path
from twinning.imports.words import read_lines
from twinning.imports.words import totals_text as _totals_text

# What the report table shows: the severity, message and suggestion in the reader's
# language (level / text / advice). The rows also carry every REPORT_COLUMNS field, both
# languages, so the downloaded CSV is the same whichever view it came from.
REPORT_TABLE_COLUMNS = [
    "level",
    "file",
    "row",
    "column",
    "value",
    "text",
    "advice",
    "code",
    "hint_zh",
]
# A check or import writes its progress at most this often (seconds); the page polls twice a
# second (dcc.Interval imp-progress-tick).
PROGRESS_EVERY_S = progress.EVERY_S
PROGRESS_POLL_MS = 500

# This page's words are the catalog's "import.<key>" messages (twinning/locale).
I18N_PREFIX = "import."


def t(key: str, lang: str, **kw: Any) -> str:
    """This page's text for ``key`` (the catalog's ``import.<key>``)."""
    return i18n.t(I18N_PREFIX + key, lang, **kw)


# --- the runs, as this page starts them ------------------------------------------------------


def check_file(*args: Any, **options: Any) -> dict[str, Any]:
    """Check (or, with ``confirm=True``, import) an upload: ``runs.check_file`` with its
    arguments, writing progress at most every ``PROGRESS_EVERY_S`` seconds."""
    return runs.check_file(*args, every=PROGRESS_EVERY_S, **options)


def confirm_import(*args: Any, **options: Any) -> dict[str, Any]:
    """Import the upload for real: ``check_file`` with ``confirm=True``."""
    return check_file(*args, confirm=True, **options)


# --- the report table's rows: shown in the reader's language, downloaded in both ----------


def _report_rows(problems: list[dict], lang: str = "en") -> list[dict]:
    """Table rows: every report field (both languages) plus level / text / advice in ``lang``."""
    rows = []
    for p in problems:
        row = {c: "" if p.get(c) is None else str(p.get(c)) for c in REPORT_COLUMNS}
        row["level"] = severity_label(row["severity"], lang)
        row["text"] = pick(lang, row["message"], row["message_zh"])
        row["advice"] = pick(lang, row["suggestion"], row["suggestion_zh"])
        rows.append(row)
    return rows


def report_download(rows: list[dict] | None, lang: str) -> dict:
    """The report table as a CSV download with both languages' columns.

    A byte-order mark leads the text so Excel on a Chinese Windows reads it as UTF-8
    (without one it assumes GBK and the Chinese columns turn to mojibake).
    """
    from twinning.imports.problems import Problem

    def text(r: dict, key: str) -> str:
        value = r.get(key)
        return value if isinstance(value, str) else ""

    def number(value: Any) -> int | None:
        # the table holds what the server put there; a forged request may send anything
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return int(value) if isinstance(value, str) and value.isdigit() else None

    problems = [
        Problem(
            text(r, "severity"),
            text(r, "code"),
            text(r, "message"),
            file=text(r, "file"),
            row=number(r.get("row")),
            column=text(r, "column"),
            value=text(r, "value"),
            suggestion=text(r, "suggestion"),
            message_zh=text(r, "message_zh"),
            suggestion_zh=text(r, "suggestion_zh"),
        )
        for r in (rows if isinstance(rows, list) else [])
        if isinstance(r, dict)
    ]
    return {"content": "\ufeff" + report_csv(problems), "filename": t("report_file", lang)}


def _field_options(lang: str) -> list[dict]:
    opts = [{"label": t("ignore", lang), "value": NO_FIELD}]
    opts += [{"label": f"{field_label(f, lang)} ({f})", "value": f} for f in ALL_FIELDS]
    return opts


# --- layout ---------------------------------------------------------------------------------

_CARD = "imp-card"  # the page's look lives in assets/import.css


# Tables on this page are small (a preview, one report, the batches): the grid holds
# their rows in the browser, sorts and filters there, and grows to fit its page.
_GRID_OPTIONS = {"domLayout": "autoHeight", "tooltipShowDelay": 400}


def _grid_columns(columns: list[dict[str, str]]) -> list[dict[str, str]]:
    """dash-ag-grid column definitions from ``[{"id": ..., "name": ...}]``."""
    return [{"field": c["id"], "headerName": c["name"]} for c in columns]


def _option_box(label: str, box_id: str, placeholder: str, width: str) -> html.Label:
    """A labelled text box of the read options (年度, 单位)."""
    return html.Label(
        [
            label,
            dcc.Input(
                id=box_id,
                type="text",
                placeholder=placeholder,
                className="imp-option-input",
                style={"width": width},
            ),
        ]
    )


def _report_table(lang: str) -> dag.AgGrid:
    def level_is(severity: str) -> str:
        label = json.dumps(severity_label(severity, lang), ensure_ascii=False)
        return f"params.data.level === {label}"

    return dag.AgGrid(
        id="imp-report-table",
        columnDefs=_grid_columns(
            [{"id": c, "name": t(f"col_{c}", lang)} for c in REPORT_TABLE_COLUMNS]
        ),
        rowData=[],
        defaultColDef={
            "sortable": True,
            "filter": True,
            "floatingFilter": True,
            "resizable": True,
            "wrapText": True,
            "autoHeight": True,
        },
        getRowStyle={
            "styleConditions": [
                {"condition": level_is("error"), "style": {"backgroundColor": "#fde8e8"}},
                {"condition": level_is("warning"), "style": {"backgroundColor": "#fff7e0"}},
            ]
        },
        dashGridOptions={
            **_GRID_OPTIONS,
            "pagination": True,
            "paginationPageSize": 20,
            "localeText": grid_locale(lang),
        },
        style={"width": "100%"},
    )


def layout(lang: str = "zh") -> html.Div:
    """The page, in ``lang``. Rendered by the app at /import."""
    mb = settings.get_int("TWINNING_MAX_UPLOAD_MB")
    return html.Div(
        id="import-page",
        children=[
            dcc.Store(id="imp-lang", data=lang),
            # who is signed in, for the page only: the session itself is an HttpOnly cookie
            dcc.Store(id="imp-who"),
            dcc.Store(id="imp-file"),
            html.H2(t("title", lang)),
            html.P(t("intro", lang)),
            html.P(
                [
                    html.Button(
                        t("template", lang),
                        id="imp-template-btn",
                        n_clicks=0,
                        className="button ghost",
                    ),
                    html.Span(" " + t("template_cli", lang), className="imp-aside"),
                    dcc.Download(id="imp-template"),
                ]
            ),
            html.Div(
                className=_CARD,
                children=[
                    html.H4(t("signin", lang)),
                    html.P(t("signin_needed", lang), className="imp-small"),
                    html.Label(t("user", lang), htmlFor="imp-user", className="sr-only"),
                    dcc.Input(
                        id="imp-user",
                        placeholder=t("user", lang),
                        type="text",
                        className="imp-gap",
                    ),
                    html.Label(t("password", lang), htmlFor="imp-password", className="sr-only"),
                    dcc.Input(
                        id="imp-password",
                        placeholder=t("password", lang),
                        type="password",
                        className="imp-gap",
                    ),
                    html.Button(
                        t("signin", lang), id="imp-signin-btn", n_clicks=0, className="button"
                    ),
                    html.Button(
                        t("signout", lang),
                        id="imp-signout-btn",
                        n_clicks=0,
                        className="button ghost imp-after",
                    ),
                    html.Div(id="imp-signin-status", className="imp-status"),
                ],
            ),
            html.Div(
                className=_CARD,
                children=[
                    # names the drop zone's file input (assets/a11y.js, #13)
                    html.Label(
                        i18n.t("a11y.upload_label", lang), htmlFor="imp-upload", className="sr-only"
                    ),
                    dcc.Upload(
                        id="imp-upload",
                        children=html.Div(
                            [t("drop", lang), html.Br(), html.Small(t("limit", lang, mb=mb))]
                        ),
                        # twice the limit: a file a little too big reaches the server, which
                        # says why it is refused; a huge one is stopped in the browser
                        max_size=2 * mb * 1024 * 1024,
                        accept=".csv,.xlsx,.txt",
                        className="imp-drop",
                    ),
                    html.Div(id="imp-upload-status", className="imp-status"),
                ],
            ),
            html.Div(
                className=_CARD,
                children=[
                    html.H4(t("preview", lang, n=PREVIEW_ROWS)),
                    # hidden until a file gives it columns: a grid without columns has a
                    # header row without cells (axe: aria-required-children, #13)
                    html.Div(
                        dag.AgGrid(
                            id="imp-preview",
                            rowData=[],
                            columnDefs=[],
                            defaultColDef={"resizable": True, "minWidth": 100},
                            dashGridOptions={**_GRID_OPTIONS, "localeText": grid_locale(lang)},
                            style={"width": "100%"},
                        ),
                        id="imp-preview-box",
                        style={"display": "none"},
                    ),
                    html.H4(t("read_title", lang), className="imp-subhead"),
                    html.Ul(id="imp-read", className="imp-small"),
                    html.H4(t("mapping", lang), className="imp-subhead"),
                    html.P(t("mapping_help", lang), className="imp-small"),
                    html.Div(id="imp-mapping"),
                    html.P(t("options_help", lang), className="imp-small"),
                    html.Div(
                        className="imp-options",
                        children=[
                            _option_box(t("year_label", lang), "imp-year", "2021", "110px"),
                            _option_box(t("unit_label", lang), "imp-unit", "万元", "90px"),
                        ],
                    ),
                    html.Button(
                        t("check", lang),
                        id="imp-check-btn",
                        n_clicks=0,
                        className="button ghost imp-gap",
                    ),
                    html.Button(
                        t("confirm", lang),
                        id="imp-confirm-btn",
                        n_clicks=0,
                        disabled=True,
                        className="button",
                    ),
                    # shown only while a check or import runs (the _check callback's `running`)
                    html.Div(
                        id="imp-progress",
                        className="imp-progress",
                        role="status",
                        style={"display": "none"},
                        children=[
                            html.Progress(id="imp-progress-bar", max=1),
                            html.Div(
                                t("progress_preparing", lang),
                                id="imp-progress-text",
                                className="imp-progress-text",
                            ),
                        ],
                    ),
                    dcc.Interval(id="imp-progress-tick", interval=PROGRESS_POLL_MS, disabled=True),
                ],
            ),
            html.Div(
                className=_CARD,
                children=[
                    html.H4(t("report", lang)),
                    dcc.Loading(html.Div(id="imp-result-status")),
                    html.Pre(id="imp-totals", className="imp-small"),
                    _report_table(lang),
                    html.Button(
                        t("download", lang),
                        id="imp-download-btn",
                        n_clicks=0,
                        className="button ghost imp-below",
                    ),
                    dcc.Download(id="imp-download"),
                ],
            ),
            html.Div(
                className=_CARD,
                children=[
                    html.H4(t("batches", lang)),
                    dag.AgGrid(
                        id="imp-batches",
                        rowData=[],
                        columnDefs=_grid_columns(
                            [{"id": c, "name": t(f"col_{c}", lang)} for c in BATCH_COLUMNS]
                        ),
                        defaultColDef={"sortable": True, "resizable": True, "minWidth": 90},
                        dashGridOptions={
                            **_GRID_OPTIONS,
                            "pagination": True,
                            "paginationPageSize": 10,
                            "localeText": grid_locale(lang),
                        },
                        style={"width": "100%"},
                    ),
                    html.Label(t("batch_id", lang), htmlFor="imp-undo-id", className="sr-only"),
                    dcc.Input(
                        id="imp-undo-id",
                        type="number",
                        min=1,
                        placeholder=t("batch_id", lang),
                        className="imp-gap imp-batch-id",
                    ),
                    html.Button(
                        t("undo", lang), id="imp-undo-btn", n_clicks=0, className="button ghost"
                    ),
                    html.Div(id="imp-undo-status", className="imp-status"),
                ],
            ),
        ],
    )


def _dom_id(component_id: dict[str, Any]) -> str:
    """The id Dash gives a pattern-matching component in the page (keys sorted, compact
    JSON), so a ``<label for=...>`` can point at it."""
    return json.dumps(dict(sorted(component_id.items())), separators=(",", ":"))


def _mapping_controls(mapping: list[dict], lang: str) -> list:
    opts = _field_options(lang)
    return [
        html.Div(
            className="imp-map-row",
            children=[
                # the column's header labels its field menu (assets/a11y.js names the menu)
                html.Label(
                    m["label"],
                    id={"type": "imp-map-label", "index": m["index"]},
                    htmlFor=_dom_id({"type": "imp-map", "index": m["index"]}),
                    className="imp-map-label",
                ),
                dcc.Dropdown(
                    id={"type": "imp-map", "index": m["index"]},
                    labels=i18n.dropdown_labels(lang),
                    options=opts,
                    value=m["field"],
                    clearable=False,
                    className="imp-map-field",
                ),
            ],
        )
        for m in mapping
    ]


def template_download(lang: str) -> dict:
    """The bilingual template as a dcc.Download payload (same file as `twinning template`)."""
    import tempfile

    from twinning.imports.template import write_template

    name = t("template_file", lang)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(Path(tmp) / "template.xlsx")
        return dcc.send_bytes(path.read_bytes(), name)


def register_callbacks(app: Any, get_store: Any) -> None:
    """Wire the page. ``get_store`` is a Store or a function returning one.

    Sessions live in that store's database. Every callback reads the session token from the
    request's HttpOnly cookie (``components.security``), never from the page: ``imp-who``
    only tells the page who is signed in, and nothing on the server trusts it.
    """
    from components import security
    from twinning.auth import Auth

    def auth() -> Any:
        return Auth.for_store(store_of(get_store))

    def token() -> str | None:
        return security.cookie_token()

    @app.callback(
        Output("imp-template", "data"),
        Input("imp-template-btn", "n_clicks"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def download_template(_n, lang):  # viewing, not changing: no sign-in needed
        return template_download(lang or "zh")

    @app.callback(
        Output("imp-who", "data"),
        Output("imp-signin-status", "children"),
        Output("imp-password", "value"),
        Input("imp-signin-btn", "n_clicks"),
        Input("imp-signout-btn", "n_clicks"),
        State("imp-user", "value"),
        State("imp-password", "value"),
        State("imp-lang", "data"),
        prevent_initial_call=False,
    )
    def _sign_in(_n_in, _n_out, user, password, lang):
        from dash import ctx

        lang = lang or "zh"
        if ctx.triggered_id == "imp-signout-btn":
            message = sign_out(token(), lang, auth())
            security.clear_session_cookie(ctx.response)
            return None, message, ""
        if ctx.triggered_id != "imp-signin-btn":  # the page loads: who is signed in?
            who = session_user(token(), auth())
            if who is None:
                return None, "", no_update
            return {"user": who.name, "role": who.role}, t("signed_in", lang, user=who.name), ""
        new_token, message = sign_in(user, password, lang, auth(), security.client_address())
        if not new_token:
            return no_update, message, ""
        auth().end_session(token())  # a new sign-in replaces the browser's old session
        security.set_session_cookie(ctx.response, new_token)
        who = auth().session_user(new_token)
        return {"user": who.name, "role": who.role}, message, ""

    @app.callback(
        Output("imp-file", "data"),
        Output("imp-preview", "rowData"),
        Output("imp-preview", "columnDefs"),
        Output("imp-mapping", "children"),
        Output("imp-upload-status", "children"),
        Output("imp-report-table", "rowData", allow_duplicate=True),
        Output("imp-confirm-btn", "disabled", allow_duplicate=True),
        Output("imp-preview-box", "style"),
        Output("imp-read", "children"),
        Input("imp-upload", "contents"),
        State("imp-upload", "filename"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def _upload(contents, filename, lang):
        out = receive_upload(contents, filename, token(), lang, auth())
        name = (out["file"] or {}).get("name", "")
        size = f"{out['file']['size']:,}" if out["file"] else ""
        status = out["message"] or (t("bytes", lang, name=name, size=size) if out["file"] else "")
        return (
            out["file"],
            out["preview"],
            _grid_columns(out["columns"]),
            _mapping_controls(out["mapping"], lang),
            status,
            _report_rows(out["problems"], lang),
            True,
            {"display": "block" if out["columns"] else "none"},
            [html.Li(line) for line in read_lines(out["read"], lang)],
        )

    @app.callback(
        Output("imp-result-status", "children"),
        Output("imp-report-table", "rowData"),
        Output("imp-totals", "children"),
        Output("imp-confirm-btn", "disabled"),
        Output("imp-batches", "rowData"),
        # back to "preparing…" for the next run (the area is hidden by then)
        Output("imp-progress-bar", "value", allow_duplicate=True),
        Output("imp-progress-text", "children", allow_duplicate=True),
        Output("imp-read", "children", allow_duplicate=True),
        Input("imp-check-btn", "n_clicks"),
        Input("imp-confirm-btn", "n_clicks"),
        State("imp-file", "data"),
        State({"type": "imp-map-label", "index": ALL}, "children"),
        State({"type": "imp-map", "index": ALL}, "value"),
        State("imp-lang", "data"),
        State("imp-year", "value"),
        State("imp-unit", "value"),
        prevent_initial_call=True,
        running=[
            (Output("imp-check-btn", "disabled"), True, False),
            (Output("imp-progress-tick", "disabled"), False, True),
            (Output("imp-progress", "style"), {"display": "block"}, {"display": "none"}),
        ],
    )
    def _check(_n_check, _n_confirm, file, labels, fields, lang, year=None, unit=None):
        from dash import ctx

        confirm = ctx.triggered_id == "imp-confirm-btn"
        session = token()
        res = check_file(
            file,
            labels or [],
            fields or [],
            session,
            lang,
            get_store,
            confirm=confirm,
            auth=auth(),
            year=year,
            unit=unit,
        )
        result = res["result"] or {}
        read = [
            html.Li(line)
            for line in read_lines(result.get("read"), lang, result.get("skipped_rows"))
        ]
        can_confirm = bool(res["ok"] and not confirm)
        done = confirm and res["ok"]
        batches = batches_rows(get_store, session, auth()) if done else no_update
        return (
            res["message"],
            _report_rows(res["problems"], lang),
            _totals_text(res["result"], lang),
            not can_confirm,
            batches,
            None,
            t("progress_preparing", lang),
            read if result.get("read") else no_update,
        )

    @app.callback(
        Output("imp-progress-bar", "value"),
        Output("imp-progress-bar", "max"),
        Output("imp-progress-text", "children"),
        Input("imp-progress-tick", "n_intervals"),
        State("imp-file", "data"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def _progress(_n, file, lang):  # polled only while _check runs
        return progress_view(file, token(), lang or "zh", auth())

    @app.callback(
        Output("imp-download", "data"),
        Input("imp-download-btn", "n_clicks"),
        State("imp-report-table", "rowData"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def _download(_n, rows, lang):
        return report_download(rows, lang or "zh")

    @app.callback(
        Output("imp-undo-status", "children"),
        Output("imp-batches", "rowData", allow_duplicate=True),
        Input("imp-undo-btn", "n_clicks"),
        State("imp-undo-id", "value"),
        State("imp-lang", "data"),
        prevent_initial_call=True,
    )
    def _undo(_n, batch_id, lang):
        session = token()
        message = undo(batch_id, session, lang, get_store, auth())
        return message, batches_rows(get_store, session, auth())

    @app.callback(
        Output("imp-batches", "rowData", allow_duplicate=True),
        Input("imp-lang", "data"),
        Input("imp-who", "data"),  # signing in or out shows or hides who imported what
        prevent_initial_call="initial_duplicate",
    )
    def _list(_lang, _who):
        return batches_rows(get_store, token(), auth())


# The page's entry points (docs/CONTRACTS.md), and the plain functions and names the tests
# and tools/i18n_extract.py read from this page, wherever they live now.
__all__ = [
    "BATCH_COLUMNS",
    "PREVIEW_ROWS",
    "PROGRESS_EVERY_S",
    "PROGRESS_POLL_MS",
    "REPORT_TABLE_COLUMNS",
    "ProgressWriter",
    "_field_options",
    "_incoming_dir",
    "_incoming_path",
    "_progress_path",
    "_report_rows",
    "_report_table",
    "_totals_text",
    "batches_rows",
    "check_file",
    "clear_progress",
    "confirm_import",
    "estimate_rows",
    "layout",
    "progress_bar",
    "progress_text",
    "progress_view",
    "read_lines",
    "read_progress",
    "receive_upload",
    "register_callbacks",
    "report_download",
    "session_user",
    "sign_in",
    "sign_out",
    "template_download",
    "token_user",
    "undo",
    "write_progress",
]
