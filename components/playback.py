"""Time playback (issue #9): a single year beside the range slider, played in the browser.

Why in the browser: a step must be one ordinary filter change. The browser moves the year
slider (a ``dcc.Interval`` tick, the step buttons, the keyboard in assets/playback.js),
and the usual chain follows: the view's filters, then the map's values as a ``dash.Patch``,
the headline numbers, and the series' cursor as a Patch. No boundaries and no figure are
resent, and a tick that comes while the last step is still drawing is skipped, so a slow
view slows the playback instead of piling requests up.

The URL carries ``year``, ``mode`` and ``play``; while playing each step replaces the
address (no history entry per year); starting and stopping add one.
"""

from __future__ import annotations

import json
from typing import Any

from dash import Input, Output, State, dcc, html

from components import ids
from twinning import i18n
from twinning import query as agg
from twinning.filters import YEAR_MODES

RANGE = "range"  # the mode radio's value for "a range of years" (no single year)
# Milliseconds per year, slow to fast; the middle one is the default.
SPEEDS: tuple[tuple[int, str], ...] = ((2000, "0.5×"), (1200, "1×"), (600, "2×"))
DEFAULT_SPEED = 1200


def mode_value(filters: agg.Filters) -> str:
    """The mode radio's value for a view: ``range``, ``year`` or ``cumulative``."""
    if filters.year is None and not filters.play:
        return RANGE
    return filters.mode


def controls(filters: agg.Filters, lo: int, hi: int, marks: dict[int, str]) -> html.Div:
    """Mode, single-year slider and play/pause/step/speed, under the range slider.

    ``play=1`` without a year starts at the first year; the browser begins stepping at
    once (the tick is enabled)."""
    lang = filters.lang
    single = mode_value(filters) != RANGE
    year = filters.year if filters.year is not None else (lo if filters.play else hi)
    year = min(max(year, lo), hi)
    playing = bool(filters.play)
    labels = {
        "data-play": i18n.t("play", lang),
        "data-pause": i18n.t("pause", lang),
    }
    return html.Div(
        id=ids.PLAYBACK,
        className="playback" + (" single" if single else ""),
        children=[
            html.Label(i18n.t("year_mode_label", lang), htmlFor=ids.YEAR_MODE, className="sr-only"),
            dcc.RadioItems(
                id=ids.YEAR_MODE,
                options=[
                    {"label": i18n.t("year_mode_range", lang), "value": RANGE},
                    {"label": i18n.t("year_mode_year", lang), "value": "year"},
                    {"label": i18n.t("year_mode_cumulative", lang), "value": "cumulative"},
                ],
                value=mode_value(filters),
                className="year-mode",
            ),
            html.Div(
                [
                    html.Label(i18n.t("year", lang), htmlFor=ids.YEAR, className="sr-only"),
                    dcc.Slider(
                        id=ids.YEAR,
                        min=lo,
                        max=hi,
                        step=1,
                        value=year,
                        marks=marks,
                        included=False,
                        tooltip={"placement": "bottom", "always_visible": False},
                    ),
                ],
                className="year-slider",
            ),
            html.Div(
                [
                    html.Button(
                        "◀",
                        id=ids.STEP_BACK,
                        className="button ghost step",
                        n_clicks=0,
                        title=i18n.t("step_back", lang),
                        **{"aria-label": i18n.t("step_back", lang)},
                    ),
                    html.Button(
                        labels["data-pause" if playing else "data-play"],
                        id=ids.PLAY,
                        className="button play",
                        n_clicks=0,
                        title=i18n.t("play_keys", lang),
                        **labels,
                    ),
                    html.Button(
                        "▶",
                        id=ids.STEP_FORWARD,
                        className="button ghost step",
                        n_clicks=0,
                        title=i18n.t("step_forward", lang),
                        **{"aria-label": i18n.t("step_forward", lang)},
                    ),
                ],
                className="playback-bar",
            ),
            html.Div(
                [
                    html.Label(i18n.t("speed", lang), htmlFor=ids.SPEED, className="speed-label"),
                    dcc.RadioItems(
                        id=ids.SPEED,
                        options=[{"label": label, "value": ms} for ms, label in SPEEDS],
                        value=DEFAULT_SPEED,
                        inline=True,
                        className="speed",
                    ),
                ],
                className="speed-row",
            ),
            dcc.Interval(id=ids.TICK, interval=DEFAULT_SPEED, disabled=not playing),
            dcc.Store(id=ids.PLAYING, data=playing),
            dcc.Store(id=ids.URL_REPLACE),
            dcc.Store(id=ids.SERIES_KEY),
        ],
    )


def stage_parts(filters: agg.Filters) -> list[Any]:
    """The year in large type and a play button, beside the map's title: the presenter's
    stage hides the filter panel, and the year is what the audience follows."""
    lang = filters.lang
    labels = {"data-play": i18n.t("play", lang), "data-pause": i18n.t("pause", lang)}
    return [
        html.Span(
            str(filters.year) if filters.year is not None else "",
            id=ids.YEAR_BADGE,
            className="year-badge",
            **{"aria-live": "off"},
        ),
        html.Button(
            labels["data-pause" if filters.play else "data-play"],
            id=ids.PLAY_STAGE,
            className="button ghost play-stage",
            n_clicks=0,
            title=i18n.t("play_keys", lang),
            **labels,
        ),
    ]


def filters_from_time(
    raw: dict[str, Any], year: Any, mode: Any, playing: Any, bounds: tuple[int, int]
) -> dict[str, Any]:
    """``raw`` (a view as ``Filters.from_dict`` takes it) with the time controls' values:
    a single year inside the slider's bounds, else the range. Forged values fall back."""
    lo, hi = bounds
    single = isinstance(mode, str) and mode in YEAR_MODES
    ok = isinstance(year, int) and not isinstance(year, bool) and lo <= year <= hi
    return {
        **raw,
        "year": year if single and ok else None,
        "mode": mode if single else "year",
        "play": playing is True,
    }


# ---------------------------------------------------------------------------------------
# in the browser
# ---------------------------------------------------------------------------------------

# Play/pause, the step buttons and the tick, in one place. A tick while a component is
# still loading (the last step not yet drawn) is skipped. Playing stops at the last year;
# play at the last year starts again at the first. A step pauses. Presses that come faster
# than Dash runs the callback arrive as one call with a larger n_clicks: they are counted
# from the clicks seen before (kept on window; a new page starts the counts again).
TIME_JS = """
function (play, playStage, back, forward, tick, year, mode, playing, lo, hi) {
    const nu = window.dash_clientside.no_update;
    const trig = (window.dash_clientside.callback_context.triggered || []).map(t => t.prop_id);
    const seen = window.__atlasTimeClicks = window.__atlasTimeClicks || {};
    const pressed = (key, n) => {
        const before = seen[key] || 0;
        seen[key] = n || 0;
        return !n ? 0 : (n >= before ? n - before : n);  // fewer: a new page's button
    };
    const presses = {
        play: pressed("play", play) + pressed("stage", playStage),
        back: pressed("back", back),
        forward: pressed("forward", forward),
    };
    const single = mode === "year" || mode === "cumulative";
    const setMode = single ? nu : "year";
    const y = single && typeof year === "number" ? year : null;
    const by = id => trig.some(p => p.startsWith(id + "."));
    if (by(PLAY) || by(PLAY_STAGE)) {
        if (presses.play % 2 === 0) { return [nu, nu, nu, nu]; }
        if (playing) { return [nu, nu, false, true]; }
        const start = y === null || y >= hi ? lo : y;
        return [start === y ? nu : start, setMode, true, false];
    }
    if (by(BACK) || by(FORWARD)) {
        const steps = presses.forward - presses.back;
        let next = y === null ? (steps >= 0 ? lo + steps - 1 : hi + steps + 1) : y + steps;
        next = Math.min(Math.max(next, lo), hi);
        return [next === y ? nu : next, setMode, playing ? false : nu, playing ? true : nu];
    }
    if (by(TICK)) {
        if (!playing) { return [nu, nu, nu, true]; }
        if (document.querySelector('[data-dash-is-loading="true"]')) { return [nu, nu, nu, nu]; }
        if (y === null) { return [lo, setMode, nu, nu]; }
        if (y >= hi) { return [nu, nu, false, true]; }
        return [y + 1, setMode, nu, nu];
    }
    return [nu, nu, nu, nu];
}
"""
for _name, _id in (
    ("PLAY_STAGE", ids.PLAY_STAGE),
    ("PLAY", ids.PLAY),
    ("TICK", ids.TICK),
    ("BACK", ids.STEP_BACK),
    ("FORWARD", ids.STEP_FORWARD),
):
    TIME_JS = TIME_JS.replace(f"by({_name})", f"by({json.dumps(_id)})")

# The play buttons say what a press does; the presenter's year follows the view.
PLAY_LABEL_JS = """
function (playing) {
    const out = [];
    for (const id of BUTTONS) {
        const el = document.getElementById(id);
        out.push(el ? el.dataset[playing ? "pause" : "play"] : window.dash_clientside.no_update);
    }
    return out;
}
""".replace("BUTTONS", json.dumps([ids.PLAY, ids.PLAY_STAGE]))

MODE_CLASS_JS = """
function (mode) { return "playback" + (mode === "year" || mode === "cumulative" ? " single" : ""); }
"""

YEAR_BADGE_JS = """
function (filters) { return filters && filters.year != null ? String(filters.year) : ""; }
"""

# A step's address replaces the current one: one history entry per year would make the
# Back button walk through the years. The popstate tells dcc.Location (it listens for it)
# to take the new address as its own; else its stale href would be pushed back later.
REPLACE_URL_JS = """
function (search) {
    if (search) {
        const state = window.history.state;
        window.history.replaceState(state, "", window.location.pathname + search);
        window.dispatchEvent(new PopStateEvent("popstate", {state: state}));
    }
    return window.dash_clientside.no_update;
}
"""


def register(app: Any) -> None:
    """The clientside callbacks of the time controls (the server side is in callbacks.py:
    the view's filters and the series' cursor)."""
    app.clientside_callback(
        TIME_JS,
        Output(ids.YEAR, "value"),
        Output(ids.YEAR_MODE, "value"),
        Output(ids.PLAYING, "data"),
        Output(ids.TICK, "disabled"),
        Input(ids.PLAY, "n_clicks"),
        Input(ids.PLAY_STAGE, "n_clicks"),
        Input(ids.STEP_BACK, "n_clicks"),
        Input(ids.STEP_FORWARD, "n_clicks"),
        Input(ids.TICK, "n_intervals"),
        State(ids.YEAR, "value"),
        State(ids.YEAR_MODE, "value"),
        State(ids.PLAYING, "data"),
        State(ids.YEAR, "min"),
        State(ids.YEAR, "max"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        PLAY_LABEL_JS,
        Output(ids.PLAY, "children"),
        Output(ids.PLAY_STAGE, "children"),
        Input(ids.PLAYING, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        "function (ms) { return typeof ms === 'number' && ms >= 200 ? ms : 1200; }",
        Output(ids.TICK, "interval"),
        Input(ids.SPEED, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        MODE_CLASS_JS,
        Output(ids.PLAYBACK, "className"),
        Input(ids.YEAR_MODE, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        YEAR_BADGE_JS,
        Output(ids.YEAR_BADGE, "children"),
        Input(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        REPLACE_URL_JS,
        Output(ids.URL_REPLACE, "modified_timestamp"),
        Input(ids.URL_REPLACE, "data"),
        prevent_initial_call=True,
    )
