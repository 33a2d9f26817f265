"""Text alternatives of the atlas's charts, and the places a keyboard can open (issue #13).

A screen reader cannot read a plotly SVG, and a person who cannot see colour cannot read
a choropleth; both get the same view in words. Each function here takes the prepared
data and a view (``Filters``) and returns plain text in the view's language: what the
chart shows (title, metric, period), its three largest values with their units, and how
many sources stand behind it. The Dash layer puts the text next to the chart and points
the chart at it with ``aria-describedby``; exports could print the same text.

No dash here: these are plain functions, tested as such (tests/test_describe.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twinning import i18n, settings
from twinning import query as agg
from twinning.figures.map import location_index, map_title, years_label

TOP = 3  # how many of the largest values a text alternative names


@dataclass(frozen=True)
class PlaceValue:
    """A place in view and its value on the map (a metric's sum, or its pairings)."""

    adcode: str
    label: str
    value: float
    unit: str | None


def _level_locations(filters: agg.Filters) -> Mapping[str, Any]:
    """The places the map of ``filters`` draws (look one up with ``in``)."""
    from twinning.figures.geojson import level_locations

    return location_index(level_locations(filters.level, filters.recipient))


def places_in_view(data: agg.AtlasData, filters: agg.Filters) -> tuple[PlaceValue, ...]:
    """The places the map draws with a value, largest first: with a metric, its sum per
    place (> 0); without, the number of pairing records per recipient place. Only places
    the map shows at its level (a drilled map: the province's). Kept per view (shared:
    never changed): a change's text alternative and announcement both read them (#7)."""
    key = ("places-in-view", filters.cache_key(), filters.lang)
    return data.cached(key, lambda: tuple(_places_in_view(data, filters)))


def _places_in_view(data: agg.AtlasData, filters: agg.Filters) -> list[PlaceValue]:
    shown = _level_locations(filters)
    out: list[PlaceValue] = []
    if filters.metric:
        pv = agg.place_values(data, filters)
        for row in pv.rows:
            code, value = row.adcode, row.value
            if value > 0 and code in shown:
                out.append(PlaceValue(code, data.place_label(code, filters.lang), value, pv.unit))
    else:
        places = agg.place_donors(data, filters).places
        for row in places.itertuples(index=False):
            code = str(row.adcode)
            if code in shown:
                label = data.place_label(code, filters.lang)
                out.append(PlaceValue(code, label, float(row.n_pairings), None))
    out.sort(key=lambda p: (-p.value, p.adcode))
    return out


def place_choices(data: agg.AtlasData, filters: agg.Filters) -> list[tuple[str, str]]:
    """(adcode, label) of the places in view, in adcode order (provinces, then their
    prefectures and counties together): the keyboard's way to a place's detail."""
    places = sorted(places_in_view(data, filters), key=lambda p: p.adcode)
    return [(p.adcode, p.label) for p in places]


def _amount(place: PlaceValue, lang: str) -> str:
    if place.unit is None:  # pairings
        return i18n.t("hover_pairings", lang, n=int(place.value))
    return i18n.format_value(place.value, place.unit, lang)


def _join(items: list[str], lang: str) -> str:
    return ("；" if lang == "zh" else "; ").join(items)


def _sources(
    data: agg.AtlasData, filters: agg.Filters, kind: str, metric: str | None = None
) -> str:
    """How many sources a chart's words cite: exact, or "at least N" for a view with more
    rows than the source line reads (``agg.source_tally``)."""
    n, complete = agg.source_tally(data, filters, kind, metric)
    text = i18n.format_number(n, filters.lang)
    return text if complete else i18n.t("a11y.at_least_n", filters.lang, n=text)


def map_summary(data: agg.AtlasData, filters: agg.Filters, top: int = TOP) -> str:
    """The map in words: title, level, how many places have a value, the ``top`` largest
    with their units, and the number of sources behind them."""
    lang = filters.lang
    places = places_in_view(data, filters)
    title = map_title(data, filters)
    level = i18n.level_label(filters.level, lang)
    if not places:
        return i18n.t("a11y.map_summary_empty", lang, title=title, level=level)
    largest = _join(
        [i18n.t("a11y.top_item", lang, name=p.label, value=_amount(p, lang)) for p in places[:top]],
        lang,
    )
    if filters.metric:
        n_sources = _sources(data, filters, "figures", filters.metric)
    else:
        n_sources = _sources(data, filters, "pairings")
    text = i18n.t(
        "a11y.map_summary_metric" if filters.metric else "a11y.map_summary_pairings",
        lang,
        title=title,
        level=level,
        n=len(places),
        top=largest,
        n_sources=n_sources,
    )
    if filters.metric in agg.MAIN_METRICS:  # the view's total, as its headline says it
        line = headline_lines(data, filters, complete=False)[agg.MAIN_METRICS.index(filters.metric)]
        text += ("" if lang == "zh" else " ") + line + ("。" if lang == "zh" else ".")
    return text


def series_summary(data: agg.AtlasData, filters: agg.Filters, top: int = TOP) -> str:
    """The time series in words: per metric, how many figures and the ``top`` largest (year
    or period, value with unit); then the pairings in force at their peak and the sources."""
    lang = filters.lang
    parts = [i18n.t("a11y.series_intro", lang, years=years_label(data, filters))]
    force = agg.pairings_in_force(data, filters)
    if len(force) and int(force["n"].max()) > 0:
        peak = force.loc[force["n"].idxmax()]
        parts.append(i18n.t("a11y.series_pairings", lang, n=int(peak["n"]), year=int(peak["year"])))
    for metric in agg.series_metrics(filters):
        s = agg.series(data, filters, metric)
        items: list[tuple[float, str]] = []
        for year in s.years:
            items.append((float(year.value), str(int(year.year))))
        for span in s.spans:  # periods, then counts with only an end year
            items.append((float(span.value), i18n.format_period(span.start, span.end, lang)))
        name = i18n.metric_label(metric, lang)
        if not items:
            parts.append(i18n.t("a11y.series_metric_none", lang, metric=name))
            continue
        items.sort(key=lambda x: -x[0])
        largest = _join(
            [
                i18n.t("a11y.top_item", lang, name=when, value=i18n.format_value(v, s.unit, lang))
                for v, when in items[:top]
            ],
            lang,
        )
        parts.append(i18n.t("a11y.series_metric", lang, metric=name, top=largest))
    parts.append(i18n.t("a11y.sources", lang, n_sources=_sources(data, filters, "figures")))
    return " ".join(parts)


def headline_words(h: agg.Headline, lang: str) -> tuple[str, str]:
    """(value, note) of one headline number as the atlas words it everywhere (screen,
    exports, text alternatives). A sum of figures reads "at least X" with "N of M figures,
    no two overlapping; sum of all M: Y" (the reconciled total, issue #10); a count reads
    as a number with what it counts."""
    if h.n_figures is None:
        return i18n.format_number(h.value, lang), i18n.t(
            "headline_places_note" if h.key == "headline_recipients" else "headline_pairings_note",
            lang,
        )
    if not h.n_figures or h.value is None:
        return "—", i18n.t("headline_none", lang)
    total = i18n.format_value(h.value, h.unit, lang)
    n = i18n.format_count(h.n_figures, lang)  # 17,472 figures, not 17472
    if h.at_least is None:  # a headline built without its reconciled total
        if h.n_figures > settings.get_int("TWINNING_RECONCILE_SCREEN_FIGURES"):
            return total, i18n.t("headline_sum_of_large", lang, n=n)
        return total, i18n.t("headline_sum_of", lang, n=n)
    kept = i18n.format_count(h.n_at_least or 0, lang)
    return (
        i18n.t("headline_at_least", lang, value=i18n.format_value(h.at_least, h.unit, lang)),
        i18n.t("headline_reconciled", lang, n=kept, m=n, total=total),
    )


def headline_lines(
    data: agg.AtlasData, filters: agg.Filters, *, complete: bool = True
) -> list[str]:
    """Each headline number of the view on one line, as exports print them:
    "Funds: at least 304.8 billion yuan (18 of 65 figures, ...; sum of all 65: ...)"
    (an export waits for the reconciled totals, however long they take; the screen's
    words, ``complete=False``, say what its headline cards say)."""
    lang = filters.lang
    out = []
    for h in agg.headlines(data, filters, complete=complete):
        value, note = headline_words(h, lang)
        out.append(i18n.t("headline_line", lang, label=i18n.t(h.key, lang), value=value, note=note))
    return out


def view_announcement(data: agg.AtlasData, filters: agg.Filters) -> str:
    """What the live region says once after a filter change: the map's title, how many
    places have a value, and how many pairings are in view."""
    lang = filters.lang
    pairings = next(
        (int(h.value or 0) for h in agg.headlines(data, filters) if h.key == "headline_pairings"),
        0,
    )
    return i18n.t(
        "a11y.announce",
        lang,
        title=map_title(data, filters),
        n_places=len(places_in_view(data, filters)),
        n_pairings=pairings,
    )
