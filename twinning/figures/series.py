"""Time series of the selection: pairings in force, and funds, projects, people per year.

A figure reported for a period (2006–2010) is drawn as one translucent, hatched band over
its years at its full value, labelled "reported for 2006–2010, not split by year"; yearly
figures are solid bars; a count with only an end year ("to 2022") is a diamond at that
year. Nothing is divided into invented yearly values.

A view of one year (time playback) draws the whole series with a cursor at that year: a
vertical line and its label, always in the figure (hidden without a year) so that a step
moves it with a ``dash.Patch`` of four numbers (``cursor_patch``).
"""

from __future__ import annotations

import json
import math
from datetime import date
from functools import lru_cache

import plotly.graph_objects as go

from twinning import i18n
from twinning import query as agg
from twinning.figures import palette
from twinning.figures.markup import esc as _esc
from twinning.figures.template import slim_template
from twinning.query.atlas import missing

YEARLY_COLOUR = palette.PRIMARY
PERIOD_COLOUR = "rgba(230, 122, 76, 0.30)"
PERIOD_LINE = "#c8432f"
CUMULATIVE_COLOUR = "#1d3f8f"
PAIRINGS_COLOUR = "#374151"
CURSOR_COLOUR = "#b3261e"


def series_figure(
    data: agg.AtlasData,
    filters: agg.Filters,
    current_year: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """``series_dict`` as a plotly figure (for files and tests)."""
    return go.Figure(series_dict(data, filters, current_year, height), _validate=False)


def series_dict(
    data: agg.AtlasData,
    filters: agg.Filters,
    current_year: int | None = None,
    height: int | None = None,
) -> dict:
    """One row per metric (shared year axis) plus pairings in force on top; for a view of
    one year, the whole series with a cursor at it. A plain figure dict, what the screen
    is sent: a ``go.Figure`` cost as much to build and to write again as the chart (#7)."""
    cursor = filters.year
    filters = filters.timeless()
    lang = filters.lang
    metrics = agg.series_metrics(filters)
    now = current_year or date.today().year
    lo, hi = agg.year_bounds(data, now)
    x_lo, x_hi = (filters.year_from or lo) - 0.8, (filters.year_to or hi) + 0.8
    titles = [i18n.t("series_pairings", lang)] + [i18n.metric_label(m, lang) for m in metrics]
    fig = _Grid(titles)
    font_size = 17 if filters.present else 12

    force = agg.pairings_in_force(data, filters, current_year=now)
    fig.add_trace(
        _trace(
            "scatter",
            x=force["year"].tolist(),
            y=force["n"].tolist(),
            mode="lines",
            line={"color": PAIRINGS_COLOUR, "width": 2, "shape": "hv"},
            fill="tozeroy",
            fillcolor="rgba(55,65,81,0.10)",
            name=i18n.t("series_pairings", lang),
            hovertemplate="%{x}: %{y}<extra>" + i18n.t("series_pairings_note", lang) + "</extra>",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    shown_legend = {"yearly": False, "period": False, "cumulative": False}

    def add_grouped(kind: str, group: str, row: int, texts: list[str], **props: object) -> None:
        """A trace of one legend group on ``row``, hovering ``texts``; the group's legend
        entry is shown on its first trace only."""
        fig.add_trace(
            _trace(
                kind,
                **props,
                legendgroup=group,
                showlegend=not shown_legend[group],
                hovertext=texts,
                hovertemplate="%{hovertext}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        shown_legend[group] = True

    any_figure = False
    empty_rows: list[int] = []
    for row, metric in enumerate(metrics, start=2):
        s = agg.series(data, filters, metric)
        unit = s.unit
        periods, cumulative = s.period_rows, s.cumulative_rows
        if not (s.years or s.spans):
            empty_rows.append(row)
        if periods:
            # one trace per row, a bar per period (widths vary): a trace per period made
            # the figure slow to build and to send
            any_figure = True
            xs, ys, widths, texts = [], [], [], []
            for p in periods:
                start, end = int(p.start), int(p.end)
                label = i18n.t("series_period", lang, start=start, end=end)
                value_text = i18n.format_qualified(p.value, unit, p.qualifier, lang)
                xs.append((start + end) / 2)
                ys.append(p.value)
                widths.append(end - start + 1)
                n = int(p.n_figures) if not missing(p.n_figures) else 1
                who = (
                    i18n.t("series_period_sum", lang, n=n)
                    if n > 1
                    else f"{_esc(p.donor)} → {_esc(p.recipient)}"
                )
                texts.append(f"<b>{value_text}</b><br>{label}<br>{who}")
            add_grouped(
                "bar",
                "period",
                row,
                texts,
                x=xs,
                y=ys,
                width=widths,
                marker={
                    "color": PERIOD_COLOUR,
                    "line": {"color": PERIOD_LINE, "width": 1},
                    "pattern": {"shape": "/", "fgcolor": PERIOD_LINE, "size": 6},
                },
                name=i18n.t("series_period_legend", lang),
            )
        if s.years:
            any_figure = True
            texts = [
                f"<b>{i18n.format_value(v, unit, lang)}</b><br>{int(y)} · "
                f"{i18n.t('series_yearly', lang)} · {i18n.t('hover_figures', lang, n=int(n))}"
                for y, v, n in s.years
            ]
            add_grouped(
                "bar",
                "yearly",
                row,
                texts,
                x=[y.year for y in s.years],
                y=[y.value for y in s.years],
                width=0.7,
                marker={"color": YEARLY_COLOUR},
                name=i18n.t("series_yearly", lang),
            )
        if cumulative:
            any_figure = True
            texts = [
                f"<b>{i18n.format_qualified(v, unit, q, lang)}</b><br>"
                f"{i18n.t('series_cumulative', lang, end=int(e))}<br>"
                + (
                    i18n.t("series_period_sum", lang, n=int(n))
                    if not missing(n) and n > 1
                    else f"{_esc(d)} → {_esc(r)}"
                )
                for _s, e, v, n, d, r, q, _src in cumulative
            ]
            add_grouped(
                "scatter",
                "cumulative",
                row,
                texts,
                x=[float(c.end) for c in cumulative],
                y=[c.value for c in cumulative],
                mode="markers",
                marker={"symbol": "diamond", "size": 11, "color": CUMULATIVE_COLOUR},
                name=i18n.t("series_cumulative_legend", lang),
            )
        fig.update_yaxes(tickformat="~s", rangemode="tozero", row=row, col=1)
        if i18n.unit_kind(unit) == "money":
            # Money reads in the reader's own units (亿元 / billion yuan), never "200G".
            top = _row_max(s)
            if top > 0:
                vals = _nice_ticks(top)
                fig.update_yaxes(
                    tickvals=vals,
                    ticktext=[i18n.format_money(v, lang) if v else "0" for v in vals],
                    range=[0, vals[-1] * 1.02],
                    row=row,
                    col=1,
                )
    for row in empty_rows if any_figure else []:
        # a row with nothing to draw says so, instead of an empty frame
        axis = "" if row == 1 else str(row)
        fig.add_annotation(
            text=i18n.t("series_empty_row", lang),
            xref=f"x{axis} domain",
            yref=f"y{axis} domain",
            x=0.5,
            y=0.5,
            showarrow=False,
            font={"size": font_size, "color": palette.MUTED},
        )
    if not any_figure:
        fig.add_annotation(
            text=i18n.t("series_empty", lang),
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.4,
            showarrow=False,
            font={"size": font_size + 1, "color": palette.MUTED},
        )
    fig.update_xaxes(range=[x_lo, x_hi], dtick=2 if (x_hi - x_lo) < 24 else 5, showgrid=False)
    fig.update_xaxes(title={"text": i18n.t("year", lang)}, row=len(titles), col=1)
    fig.update_yaxes(gridcolor="#eef0f3", zerolinecolor="#d1d5db")
    fig.update_layout(
        barmode="overlay",
        bargap=0.1,
        margin={"l": 60, "r": 16, "t": 36, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#ffffff",
        font={"family": palette.FONT_FAMILY, "size": font_size, "color": palette.INK},
        legend={"orientation": "h", "x": 0, "y": 1.08, "yanchor": "bottom"},
        hoverlabel={"font": {"family": palette.FONT_FAMILY}},
        height=height or (170 * len(titles) + 80),
    )
    for ann in fig.layout["annotations"][: len(titles)]:
        ann["font"] = {**ann.get("font", {}), "size": font_size + 1}
        ann.update(x=0, xanchor="left")
    _add_cursor(fig, cursor, font_size)
    return slim_template({"data": fig.data, "layout": fig.layout})


class _Grid:
    """A figure of one column of rows sharing the year axis, built as plain dicts: plotly's
    validation of every ``add_trace`` and ``update_yaxes`` took 100-300 ms a series, more
    than its queries at 1 M figures (#7).
    The grid (axes, domains, row titles) is ``make_subplots``'s (``_grid_layout``); the
    methods take the arguments of ``go.Figure``'s of the same names."""

    def __init__(self, titles: list[str]) -> None:
        self.layout: dict = json.loads(_grid_layout(tuple(titles)))
        self.data: list[dict] = []
        self.rows = len(titles)

    @staticmethod
    def _suffix(row: int) -> str:
        return "" if row == 1 else str(row)

    def add_trace(self, trace: dict, row: int, col: int = 1) -> None:
        suffix = self._suffix(row)
        self.data.append({**trace, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})

    def _axes(self, kind: str, row: int | None) -> list[dict]:
        rows = range(1, self.rows + 1) if row is None else (row,)
        return [self.layout.setdefault(f"{kind}axis{self._suffix(r)}", {}) for r in rows]

    def update_xaxes(self, row: int | None = None, col: int = 1, **props: object) -> None:
        for axis in self._axes("x", row):
            _merge(axis, props)

    def update_yaxes(self, row: int | None = None, col: int = 1, **props: object) -> None:
        for axis in self._axes("y", row):
            _merge(axis, props)

    def add_annotation(self, **props: object) -> None:
        self.layout.setdefault("annotations", []).append(props)

    def add_shape(self, **props: object) -> None:
        self.layout.setdefault("shapes", []).append(props)

    def update_layout(self, **props: object) -> None:
        _merge(self.layout, props)


def _trace(kind: str, **props: object) -> dict:
    return {"type": kind, **props}


def _merge(target: dict, props: dict) -> None:
    """``props`` into ``target``, nested dicts merged as plotly's ``update`` merges them."""
    for key, value in props.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


GRID_SPACING = 0.07  # between rows, a share of the figure's height


@lru_cache(maxsize=1)
def _template_json() -> str:
    """The default plotly template as ``make_subplots`` puts it in a layout (JSON)."""
    import plotly.io as pio

    return json.dumps(pio.templates[pio.templates.default].to_plotly_json())


@lru_cache(maxsize=64)
def _grid_layout(titles: tuple[str, ...]) -> str:
    """The layout ``make_subplots(rows=len(titles), cols=1, shared_xaxes=True,
    vertical_spacing=GRID_SPACING, subplot_titles=titles)`` makes, as JSON, worked out
    here: make_subplots took 24 ms for each new set of titles (a metric's series) and
    66 ms for the first (#7). The same arithmetic, so the same floats; a test compares
    both for one to eight rows."""
    n = len(titles)
    heights = [(1.0 - GRID_SPACING * (n - 1)) / n] * n
    layout: dict[str, object] = {"template": json.loads(_template_json())}
    annotations = []
    for i, title in enumerate(titles):  # top row first, as make_subplots counts them
        r = n - 1 - i
        base = sum(heights[:r]) + r * GRID_SPACING
        y0, y1 = min(max(base, 0.0), 1.0), min(max(base + heights[-1 - i], 0.0), 1.0)
        suffix = "" if i == 0 else str(i + 1)
        xaxis: dict[str, object] = {"anchor": f"y{suffix}", "domain": [0.0, 1.0]}
        if i < n - 1:  # shared x: the bottom row's axis carries the years
            xaxis |= {"matches": f"x{n}", "showticklabels": False}
        layout[f"xaxis{suffix}"] = xaxis
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [y0, y1]}
        annotations.append(
            {
                "font": {"size": 16},
                "showarrow": False,
                "text": title,
                "x": 0.5,
                "xanchor": "center",
                "xref": "paper",
                "y": y1,
                "yanchor": "bottom",
                "yref": "paper",
            }
        )
    layout["annotations"] = annotations
    return json.dumps(layout)


def _add_cursor(fig: _Grid, year: int | None, font_size: int) -> None:
    """The year cursor: a line over every row and the year beside it, in the top row;
    ``layout.meta`` records their indices for ``cursor_patch``."""
    fig.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=year or 0,
        x1=year or 0,
        y0=0,
        y1=1,
        line={"color": CURSOR_COLOUR, "width": 2},
        layer="above",
        visible=year is not None,
        name="year-cursor",
    )
    fig.add_annotation(
        text=str(year or ""),
        x=year or 0,
        xref="x",
        xanchor="left",
        xshift=3,
        y=1,
        yref="paper",
        yanchor="top",
        showarrow=False,
        font={"size": font_size, "color": CURSOR_COLOUR},
        bgcolor="rgba(255,255,255,0.85)",
        visible=year is not None,
        name="year-cursor-label",
    )
    fig.update_layout(
        meta={
            "cursor_shape": len(fig.layout["shapes"]) - 1,
            "cursor_label": len(fig.layout["annotations"]) - 1,
        }
    )


def cursor_patch(meta: dict, year: int | None) -> dict[str, dict[int, dict[str, object]]]:
    """What moves the cursor to ``year`` (None hides it), as
    ``{"shapes": {index: {prop: value}}, "annotations": {...}}`` for a ``dash.Patch``."""
    x, visible = (year, True) if year is not None else (0, False)
    return {
        "shapes": {meta["cursor_shape"]: {"x0": x, "x1": x, "visible": visible}},
        "annotations": {
            meta["cursor_label"]: {"x": x, "text": str(year or ""), "visible": visible}
        },
    }


def _row_max(s: agg.Series) -> float:
    """The largest value a row of the series draws (yearly, period or cumulative)."""
    return max([0.0, *(float(r.value) for r in (*s.years, *s.spans))])


def _nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2 or 5 x 10^n) up to at least ``top``."""
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    n = math.ceil(top / step)
    return [i * step for i in range(n + 1)]
