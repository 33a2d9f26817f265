"""The charts' text alternatives and the keyboard's list of places (issue #13), as plain
functions on the session's reference store, and the Dash side's helpers (components/a11y)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from dash import no_update

from components import a11y
from twinning import i18n
from twinning import query as agg
from twinning.figures import describe
from twinning.query import views

XINJIANG = "650000"
SHACHE = "653125"


@pytest.fixture(scope="module")
def data(reference_store) -> agg.AtlasData:
    return agg.AtlasData.from_store(reference_store)


def test_places_in_view_are_the_map_values_largest_first(data):
    f = agg.Filters(lang="zh", level="prefecture", recipient=XINJIANG, metric="funds_cny")
    places = describe.places_in_view(data, f)
    assert places, "Xinjiang's prefectures have funds in the reference data"
    values = [p.value for p in places]
    assert values == sorted(values, reverse=True)
    shown = {
        str(r.adcode): float(r.value)
        for r in agg.place_values(data, f).values.itertuples(index=False)
        if r.value > 0
    }
    assert {p.adcode: p.value for p in places}.items() <= shown.items()
    assert all(p.adcode.startswith("65") for p in places), "a drilled map shows its province"
    assert all(p.unit for p in places)


def test_place_choices_without_a_metric_are_the_paired_places(data):
    f = agg.Filters(lang="en", level="county", recipient=XINJIANG)
    choices = describe.place_choices(data, f)
    codes = [code for code, _ in choices]
    assert SHACHE in codes
    assert codes == sorted(codes)
    assert dict(choices)[SHACHE] == data.place_label(SHACHE, "en")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_map_summary_names_title_level_top_three_units_and_sources(data, lang):
    f = agg.Filters(lang=lang, level="prefecture", metric="funds_cny")
    text = describe.map_summary(data, f)
    top = describe.places_in_view(data, f)[:3]
    assert len(top) == 3
    assert text.startswith(describe.map_title(data, f))
    assert i18n.level_label("prefecture", lang) in text
    positions = [text.index(p.label) for p in top]
    assert positions == sorted(positions), "the largest first"
    for p in top:
        assert i18n.format_value(p.value, p.unit, lang) in text
    assert ("亿元" if lang == "zh" else "yuan") in text
    n_sources = agg.source_count(data, f, "figures", "funds_cny")
    assert n_sources > 0 and str(n_sources) in text
    # and the view's total as its headline says it: at least X, N of M, the plain sum (#10)
    assert describe.headline_lines(data, f)[0] in text
    assert ("至少" if lang == "zh" else "at least") in text


def test_map_summary_of_pairings_and_of_an_empty_view(data):
    text = describe.map_summary(data, agg.Filters(lang="en"))
    assert "pairing record" in text and "sources" in text
    empty = agg.Filters(lang="en", level="county", recipient=XINJIANG, metric="funds_cny")
    assert not describe.places_in_view(data, empty)
    assert "no place has a value" in describe.map_summary(data, empty)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_series_summary_names_each_metric_and_its_largest_values(data, lang):
    f = agg.Filters(lang=lang)
    text = describe.series_summary(data, f)
    for metric in agg.series_metrics(f):
        assert i18n.metric_label(metric, lang) in text
    assert describe.years_label(data, f) in text
    assert re.search(r"\d{4}", text)
    assert str(agg.source_count(data, f, "figures")) in text


def test_source_count_narrows_with_the_view(data):
    wide = agg.source_count(data, agg.Filters(), "pairings")
    narrow = agg.source_count(data, agg.Filters(recipient=XINJIANG), "pairings")
    assert 0 < narrow <= wide
    with pytest.raises(ValueError, match="kind"):
        agg.source_count(data, agg.Filters(), "places")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_source_tally_is_exact_below_its_cap_and_a_lower_bound_above(reference_store, lang):
    """Without the sources snapshot (PostgreSQL, or before it is written) the words under
    a chart count the sources of at most a bounded number of rows (#7): exact on the
    reference data; a view with more rows says "at least N"."""
    data = agg.AtlasData.from_store(reference_store)
    data.summary.has_sources = lambda: False
    f = agg.Filters(lang=lang, metric="funds_cny")
    exact = agg.source_count(data, f, "figures", "funds_cny")
    assert agg.source_tally(data, f, "figures", "funds_cny") == (exact, True)
    n, complete = agg.source_tally(data, f, "figures", "funds_cny", cap=3)
    assert not complete and 1 <= n <= min(3, exact)
    shown = describe._sources(data, f, "figures", "funds_cny")
    assert shown == i18n.format_number(exact, lang)
    with pytest.raises(ValueError, match="kind"):
        agg.source_tally(data, f, "places")


@pytest.mark.parametrize(
    "filters",
    [agg.Filters(), agg.Filters(year_from=2010, year_to=2015), agg.Filters(recipient=XINJIANG)],
)
def test_one_scan_of_the_sources_snapshot_counts_as_the_figures_do(reference_store, filters):
    """The source line and the charts' words read one scan of the sources snapshot per
    view (#7): per metric and over all, they count what the figures' rows count."""
    data = agg.AtlasData.from_store(reference_store)
    assert data.summary.has_sources()
    for metric in (None, "funds_cny", "projects"):
        exact = agg.source_count(data, filters, "figures", metric)
        assert agg.source_tally(data, filters, "figures", metric) == (exact, True)
    rows = agg.AtlasData.from_store(reference_store)  # the same view from the store's rows
    rows.summary.has_sources = lambda: False
    every = agg.view_sources(rows, filters, cap=10**9)
    assert every.complete and agg.view_sources(data, filters).sources == every.sources


def test_the_sources_snapshot_is_read_once_for_every_metric_level_and_flows(reference_store):
    """A change of the map's metric, level or flow lines keeps the view's rows: their
    sources are not read again (#7: a scan of 40-100 ms at 10 M figures); other rows are."""
    data = agg.AtlasData.from_store(reference_store)
    base = agg.Filters(lang="en", year_from=2010, year_to=2020, metric="funds_cny")
    first = views.figure_source_counts(data, base)
    read: list[str] = []
    summary_rows = data.summary.rows
    data.summary.rows = lambda *a, **k: read.append(a[0]) or summary_rows(*a, **k)
    for other in (
        replace(base, metric="projects"),
        replace(base, level="county"),
        replace(base, flows=False, lang="zh"),
    ):
        assert views.figure_source_counts(data, other) == first
    assert read == []
    assert views.figure_source_counts(data, replace(base, year_from=2015)) != first
    assert len(read) == 1


def test_announcement_is_said_once_per_view_change_not_for_a_place(data):
    f = agg.Filters(lang="en", metric="funds_cny")
    text, key = a11y.announcement(data, f, None)
    assert text.startswith("Updated: ") and describe.map_title(data, f) in text
    assert a11y.announcement(data, f, key) == (no_update, no_update)
    opened = replace(f, place=SHACHE)
    assert a11y.announcement(data, opened, key) == (no_update, no_update)
    other, _ = a11y.announcement(data, replace(f, metric="projects"), key)
    assert other != text


def test_choosing_a_place_opens_it_empties_the_search_and_asks_for_focus():
    options = [{"label": "莎车县", "value": SHACHE}]
    # the place opens in its province, at county level (#9)
    assert a11y.open_place(SHACHE, options) == (SHACHE, None, SHACHE, "650000", "county")
    # nothing chosen, or a value that is not in the list (a forged request): no change
    assert a11y.open_place(None, options) == (no_update,) * 5
    assert a11y.open_place("110000", options) == (no_update,) * 5


def test_html_lang_follows_the_view(monkeypatch):
    page = "<!DOCTYPE html>\n<html>\n<head></head></html>"
    assert '<html lang="zh-CN">' in a11y.with_html_lang(page, "zh")
    assert '<html lang="en">' in a11y.with_html_lang(page, "en")
    assert a11y.with_html_lang('<html lang="en">', "zh") == '<html lang="zh-CN">'
    monkeypatch.setenv("TWINNING_LANG", "en")
    assert a11y.html_lang(None) == "en"
    assert a11y.html_lang("xx") == "zh-CN"  # an unknown ?lang= falls back like the view


def test_the_served_page_has_html_lang(reference_store):
    from components.app import create_app

    client = create_app(reference_store).server.test_client()
    assert '<html lang="en"' in client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="zh-CN"' in client.get("/import?lang=zh").get_data(as_text=True)


def test_a_view_over_the_screen_budget_shows_the_plain_sum_and_its_export_reconciles(
    reference_store, monkeypatch
):
    """A click never works out the reconciled total of more figures than
    TWINNING_RECONCILE_SCREEN_FIGURES (#7): the headline and the map's words show the plain
    sum and say that the export checks the overlaps; the export's lines still carry
    "at least X"; a total this worker already knows is shown whatever the view's size."""
    monkeypatch.setenv("TWINNING_RECONCILE_SCREEN_FIGURES", "5")
    data = agg.AtlasData.from_store(reference_store)  # nothing worked out yet
    f = agg.Filters(lang="en", level="prefecture", metric="funds_cny", recipient=XINJIANG)
    funds = next(h for h in agg.headlines(data, f) if h.key == "headline_funds")
    assert funds.n_figures > 5 and funds.at_least is None
    value, note = describe.headline_words(funds, "en")
    assert value == i18n.format_value(funds.value, funds.unit, "en")
    assert note == i18n.t("headline_sum_of_large", "en", n=funds.n_figures)
    assert "at least" not in describe.map_summary(data, f)
    assert "checked for overlaps in its exports" in describe.map_summary(data, f)
    # the screen's plain sums are kept, not asked of the database again on every call
    asked: list[str] = []
    summary_rows = data.summary.rows
    monkeypatch.setattr(
        data.summary, "rows", lambda *a, **k: asked.append(a[0]) or summary_rows(*a, **k)
    )
    plain = agg.headlines(data, f)
    assert not asked and next(h for h in plain if h.key == "headline_funds").at_least is None
    exported = describe.headline_lines(data, f)[0]
    assert "at least" in exported
    # now this worker knows it: the screen shows it too
    again = next(h for h in agg.headlines(data, f) if h.key == "headline_funds")
    assert again.at_least is not None and again.at_least <= again.value
    monkeypatch.setenv("TWINNING_RECONCILE_SCREEN_FIGURES", "20000")
    small = agg.AtlasData.from_store(reference_store)
    assert next(h for h in agg.headlines(small, f) if h.key == "headline_funds").at_least


def test_a_chart_over_the_tally_cap_cites_at_least_n_sources(reference_store, monkeypatch):
    from twinning.query import views

    monkeypatch.setattr(views, "SOURCE_TALLY_ROWS", 2)
    data = agg.AtlasData.from_store(reference_store)
    data.summary.has_sources = lambda: False  # the store's rows, as on PostgreSQL
    f = agg.Filters(lang="en", metric="funds_cny")
    assert "from at least " in describe.map_summary(data, f)
    assert "Figures from at least " in describe.series_summary(data, f)
    zh = replace(f, lang="zh")
    assert "出自至少" in describe.map_summary(data, zh)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_headline_counts_its_figures_exactly_with_separators(lang):
    """ "sum of 727594 reported figures" read as a code: counts carry thousands separators,
    exact in both languages (not 1.75万), with the plain sum and with the reconciled total."""
    plain = agg.Headline("headline_projects", 190_790.0, 17_472, "projects")
    _value, note = describe.headline_words(plain, lang)
    assert "17,472" in note and "17472" not in note
    kept = replace(plain, at_least=61_929.0, n_at_least=2_626)
    value, note = describe.headline_words(kept, lang)
    assert "2,626" in note and "17,472" in note
    assert i18n.format_value(61_929.0, "projects", lang) in value
