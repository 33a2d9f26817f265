"""Find a place (issue #9): what people type, resolved with the gazetteer, and the view
that opens the place (its province drilled into, its detail)."""

from __future__ import annotations

import pytest
from dash import no_update

from components import a11y
from twinning import place_search
from twinning import query as agg

SHACHE = "653125"


@pytest.mark.parametrize("typed", ["莎车", "莎车县", "Shache", "shache", " SHACHE ", "653125"])
def test_the_ways_people_name_shache_find_it_first(typed):
    found = place_search.find_places(typed)
    assert found.kind == "one"
    assert [p.adcode for p in found.places][:1] == [SHACHE]
    options = place_search.options(typed, "zh")
    assert options[0]["value"] == SHACHE
    assert options[0]["label"] == "莎车县 · 喀什地区 · 新疆维吾尔自治区 (653125)"
    assert typed.strip() in options[0]["search"]  # the box's own filter keeps it


def test_kashgar_lists_the_prefecture_and_the_city():
    for typed in ("喀什", "Kashgar"):
        codes = [o["value"] for o in place_search.options(typed, "en")]
        assert codes[:2] == ["653100", "653101"], typed
    label = place_search.options("喀什", "en")[1]["label"]
    assert label == "Kashgar City · Kashgar Prefecture · Xinjiang Uygur Autonomous Region (653101)"


def test_a_former_name_opens_what_it_became_and_says_so():
    found = place_search.find_places("昌都地区")
    assert [p.adcode for p in found.places][:1] == ["540300"] and found.former
    (first, *_) = place_search.options("昌都地区", "zh")
    assert first["value"] == "540300" and "曾用名：昌都地区" in first["label"]
    # a former prefecture divided since: every part is a candidate
    split = place_search.find_places("巢湖地区")
    assert split.kind == "several"
    assert {"340100", "340200", "340500"} <= {p.adcode for p in split.places}


def test_the_start_of_a_name_and_a_slip_still_find_candidates():
    assert place_search.find_places("莎").kind == "start"
    assert SHACHE in [p.adcode for p in place_search.find_places("莎").places]
    slip = place_search.find_places("沙车")  # a homophone typo
    assert slip.kind == "close" and slip.places[0].adcode == SHACHE
    assert "close name" in place_search.options("沙车", "en")[0]["label"]
    assert place_search.find_places("xyzzy-nowhere").places == ()
    assert place_search.find_places("").kind == "none"
    assert len(place_search.find_places("县" * 500).places) <= place_search.LIMIT


def test_a_place_opens_in_its_province_at_its_level():
    from twinning.gazetteer import Gazetteer

    g = Gazetteer.default()
    assert place_search.view_of(g.get(SHACHE)) == ("650000", "county", SHACHE)
    assert place_search.view_of(g.get("653100")) == ("650000", "prefecture", "653100")
    assert place_search.view_of(g.get("650000")) == ("650000", "county", "650000")


def test_search_box_options_follow_the_typed_text(reference_store):
    data = agg.AtlasData.from_store(reference_store)
    filters = agg.Filters(lang="en")
    # the box took focus (nothing typed): the places in view, with the list's digest
    in_view, listed = a11y.search_options(data, filters, None, "data")
    assert in_view == a11y.place_options(data, filters) and in_view
    assert listed == a11y.options_digest(in_view)
    # focus again on the same view: the box holds that list, nothing is sent
    assert a11y.search_options(data, filters, None, "data", listed) == (no_update, no_update)
    # another view's places, at the next focus
    other = agg.Filters(lang="en", programs=("counterpart_support_tibet",))
    moved, moved_listed = a11y.search_options(data, other, None, "data", listed)
    assert moved == a11y.place_options(data, other) and moved != in_view
    assert moved_listed != listed
    typed, typed_listed = a11y.search_options(data, filters, "shache", "search_value")
    assert typed[0]["value"] == SHACHE and typed_listed == a11y.options_digest(typed)
    # the box emptied after a choice: the list it was chosen from stays; a focus while
    # text is typed keeps the typed text's list
    assert a11y.search_options(data, filters, "", "search_value") == (no_update, no_update)
    assert a11y.search_options(data, filters, "shache", "data") == (no_update, no_update)
    # the page drawn (Dash calls the callback with the store empty): no list yet
    assert a11y.search_options(data, filters, None, "data", None, None) == (no_update, no_update)
    # a late answer to an earlier keystroke that finds the list already shown leaves the
    # open list (and the keyboard's place in it) alone; a different list replaces it
    assert a11y.search_options(data, filters, "shache", "search_value", typed_listed) == (
        no_update,
        no_update,
    )
    kashgar, _ = a11y.search_options(data, filters, "kashgar", "search_value", typed_listed)
    assert kashgar != typed and kashgar
    place, search, focus, recipient, level = a11y.open_place(SHACHE, typed)
    assert (place, search, focus, recipient, level) == (SHACHE, None, SHACHE, "650000", "county")
