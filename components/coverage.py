"""The coverage card (issue #10): for the current filters, which programmes, provinces and
years have figures and which have none, so absence is never read as zero.

Two small tables shaded like a heatmap (numbers in the cells, "—" and a hatched cell for
none, a caption in words): provinces × programmes and years × programmes. Thin: the counts
come from ``twinning.query.coverage``.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, dcc, html

from twinning import i18n
from twinning import query as agg
from twinning.query.coverage import NO_PROGRAM, SEVERAL, Coverage, coverage

COVERAGE = "coverage"  # the card's body
DETAILS = "coverage-details"
OPEN = "coverage-open"  # whether the card is open: assets/details_open.js sets it
VIEW = "coverage-view"  # the filters, handed on only while the card is open (gates.py)
LEVELS = (1, 3, 10)  # shade classes: 1, 2-3, 4-10, more


def card(lang: str) -> html.Section:
    """The card as the page first draws it; the callback fills it."""
    return html.Section(
        className="card coverage-card",
        children=[
            html.Details(
                [
                    html.Summary(i18n.t("coverage_title", lang), className="card-title"),
                    html.Div(id=COVERAGE),
                ],
                id=DETAILS,
            ),
            dcc.Store(id=OPEN, data=False),
            dcc.Store(id=VIEW),
        ],
    )


def _shade(n: int) -> str:
    if n <= 0:
        return "cov-none"
    return f"cov-{sum(n > level for level in LEVELS)}"


def _program_label(program: str, lang: str) -> str:
    if program == NO_PROGRAM:
        return i18n.t("coverage_no_program", lang)
    return i18n.program_label(program, lang)


def _cell(n: int, title: str) -> html.Td:
    return html.Td("—" if n <= 0 else i18n.format_number(n, "en"), className=_shade(n), title=title)


def _table(caption: str, head: list[str], rows: list[tuple[str, list[tuple[int, str]]]]) -> Any:
    """A data table in a region of its own that scrolls sideways when the screen is narrower
    than its columns (WCAG 1.4.10 lets a data table keep its two dimensions); the region is
    named by the caption and takes keyboard focus so it can be scrolled without a mouse."""
    return html.Div(
        _table_body(caption, head, rows),
        className="table-scroll",
        role="region",
        tabIndex="0",
        **{"aria-label": caption},
    )


def _table_body(
    caption: str, head: list[str], rows: list[tuple[str, list[tuple[int, str]]]]
) -> Any:
    return html.Table(
        [
            html.Caption(caption),
            html.Thead(
                html.Tr([html.Th("", scope="col"), *[html.Th(h, scope="col") for h in head]])
            ),
            html.Tbody(
                [
                    html.Tr([html.Th(label, scope="row"), *[_cell(n, t) for n, t in cells]])
                    for label, cells in rows
                ]
            ),
        ],
        className="coverage-table",
    )


def coverage_children(data: agg.AtlasData, filters: agg.Filters) -> list:
    """The card's body for a view: words first, then the two tables."""
    lang = filters.lang
    cov: Coverage = coverage(data, filters)
    programs = list(cov.programs)
    head = [_program_label(p, lang) for p in programs]
    none = i18n.t("coverage_none", lang)

    def cells(count) -> list[tuple[int, str]]:
        out = []
        for p, label in zip(programs, head, strict=True):
            n = count(p)
            out.append((n, f"{label}: {n}" if n else f"{label}: {none}"))
        return out

    province_rows = [
        (data.place_label(code, lang), cells(lambda p, c=code: cov.province_count(c, p)))
        for code in cov.provinces
    ]
    if cov.n_several:
        province_rows.append(
            (
                i18n.t("coverage_several", lang),
                cells(lambda p: cov.province_count(SEVERAL, p)),
            )
        )
    year_rows = [
        (str(year), cells(lambda p, y=year: cov.year_count(y, p)))
        for year in cov.years
        if not (filters.year_from and year < filters.year_from)
        and not (filters.year_to and year > filters.year_to)
    ]
    empty = [data.place_label(code, lang) for code in cov.empty_provinces()]
    sep = "、" if lang == "zh" else ", "
    return [
        html.P(
            i18n.t(
                "coverage_summary",
                lang,
                n=cov.n_figures,
                several=cov.n_several,
                undated=cov.n_undated,
            ),
            className="muted small",
        ),
        html.P(
            i18n.t("coverage_empty", lang, places=sep.join(empty) if empty else "—"),
            className="small",
            id="coverage-empty",
        ),
        _table(i18n.t("coverage_by_province", lang), head, province_rows),
        _table(i18n.t("coverage_by_year", lang), head, year_rows),
    ]


def coverage_outputs(data: agg.AtlasData, filters: agg.Filters, is_open: Any) -> list:
    """The card's body while it is open; nothing while it is closed (most views never open
    it, and under load its tables took a fifth of the server's time, #7): opening it
    asks again."""
    return coverage_children(data, filters) if is_open is True else []


def register(app: Any, state: Any) -> None:
    from components.gates import gate

    gate(app, VIEW, OPEN)

    # closed, the card keeps what it showed (inside the closed <details>: not seen) and
    # asks nothing; opened, the gate hands the current view on
    @app.callback(
        Output(COVERAGE, "children"),
        Input(VIEW, "data"),
        State(OPEN, "data"),
        prevent_initial_call=True,
    )
    def update_coverage(filters_dict, is_open):
        return coverage_outputs(state.data(), agg.Filters.from_dict(filters_dict), is_open)
