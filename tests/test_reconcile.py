"""Totals that count each thing once (issue #10 part 5): the rule of
``twinning.query.reconcile`` on small cases whose answer is worked out by hand here, then
the same rule through the store (``twinning.query.totals``) and on the headline cards.

Places as paths from the province down:
  上海市 SH = ("310000",), 松江区 SJ = ("310000", "310117"), 普陀区 PT = ("310000", "310107")
  广东省 GD = ("440000",)
  云南省 YN = ("530000",), 文山州 WS = ("530000", "532600"),
  富宁县 FN = ("530000", "532600", "532628")
  新疆 XJ = ("650000",), 喀什地区 KS = ("650000", "653100")
  西藏 XZ = ("540000",), 林芝市 LZ = ("540000", "540400"), 昌都市 CD = ("540000", "540300"),
  拉萨市 LS = ("540000", "540100")
Values in 亿元 (1e8 yuan) to keep the sums readable.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from test_aggregate import figure, places_frame

from twinning import query as agg
from twinning.query import AtlasData, Filters, totals
from twinning.query.reconcile import (
    Candidate,
    confidence_tier,
    contains,
    overlaps,
    place_path,
    reconcile,
)
from twinning.view import View

SH, SJ, PT, GD = ("310000",), ("310000", "310117"), ("310000", "310107"), ("440000",)
YN, WS, FN = ("530000",), ("530000", "532600"), ("530000", "532600", "532628")
XJ, KS = ("650000",), ("650000", "653100")
XZ, LZ, CD, LS = ("540000",), ("540000", "540400"), ("540000", "540300"), ("540000", "540100")
E8 = 1e8


def fig(key, value, donors, recipients, start=None, end=None, **kw) -> Candidate:
    def scope(x):
        if x is None:
            return None
        return frozenset(x) if isinstance(x, (set, frozenset, list)) else frozenset({x})

    return Candidate(
        key=key,
        value=value * E8,
        donors=scope(donors),
        recipients=scope(recipients),
        start=start,
        end=end,
        **kw,
    )


def result(*cands):
    r = reconcile(list(cands))
    return (
        set(r.chosen),
        round(r.at_least / E8, 6),
        r.n_chosen,
        r.n_figures,
        round(r.sum_all / E8, 6),
    )


def test_nested_places_the_enclosing_figure_stands_for_its_parts():
    # 上海→云南省 2006–2010: 8.55; 上海→文山州 2008: 1.2; 上海→富宁县 2009: 0.3.
    # All three share 上海, nest in 云南省 and in 2006–2010: one can be kept. The province
    # figure is the largest: at least 8.55, 1 of 3 figures; the plain sum is 10.05.
    assert result(
        fig(1, 8.55, SH, YN, 2006, 2010),
        fig(2, 1.2, SH, WS, 2008, 2008),
        fig(3, 0.3, SH, FN, 2009, 2009),
    ) == ({1}, 8.55, 1, 3, 10.05)


def test_nested_donors_and_sibling_donors():
    # 上海→富宁县 2018: 1.0 holds 松江区→富宁县 2018: 0.4 (松江 is in 上海): keep 1.0.
    assert result(fig(1, 1.0, SH, FN, 2018, 2018), fig(2, 0.4, SJ, FN, 2018, 2018)) == (
        {1},
        1.0,
        1,
        2,
        1.4,
    )
    # 松江区 and 普陀区 are two districts: their figures for 富宁县 2018 add up, 0.4 + 0.3.
    assert result(fig(2, 0.4, SJ, FN, 2018, 2018), fig(3, 0.3, PT, FN, 2018, 2018)) == (
        {2, 3},
        0.7,
        2,
        2,
        0.7,
    )


def test_partial_overlaps_greedy_by_value():
    # 上海→喀什 2010–2015: 92.34; 2014–2016: 63.19; 2016–2018: 5.0.
    # Order by value: 92.34 kept; 63.19 shares 2014–2015 with it: out; 5.0 shares 2016 only
    # with the figure left out, not with 92.34: kept. At least 97.34, 2 of 3; sum 160.53.
    r = reconcile(
        [
            fig("a", 92.34, SH, KS, 2010, 2015),
            fig("b", 63.19, SH, KS, 2014, 2016),
            fig("c", 5.0, SH, KS, 2016, 2018),
        ]
    )
    assert r.chosen == ("a", "c")
    assert r.at_least == pytest.approx(97.34 * E8)
    assert (r.n_chosen, r.n_figures) == (2, 3)
    assert r.sum_all == pytest.approx(160.53 * E8)
    assert r.excluded == {"b": "a"}


def test_disjoint_figures_all_count():
    # Different donors, different recipients, different years: nothing overlaps.
    assert result(
        fig(1, 3.0, SH, YN, 2010, 2010),
        fig(2, 2.0, GD, YN, 2010, 2010),  # another donor
        fig(3, 1.0, SH, XJ, 2010, 2010),  # another recipient
        fig(4, 0.5, SH, YN, 2011, 2011),  # another year
        fig(5, 0.25, SH, WS, 2012, 2015),  # inside 云南 but later
    ) == ({1, 2, 3, 4, 5}, 6.75, 5, 5, 6.75)


def test_period_against_single_years():
    # 上海→云南 2006–2010: 8.55. A 2010 figure (2.0) is inside the period: out. A 2011
    # figure (3.0) is after it: kept. At least 11.55, 2 of 3; sum 13.55.
    assert result(
        fig(1, 8.55, SH, YN, 2006, 2010),
        fig(2, 2.0, SH, YN, 2010, 2010),
        fig(3, 3.0, SH, YN, 2011, 2011),
    ) == ({1, 3}, 11.55, 2, 3, 13.55)


def test_cumulative_and_undated_figures():
    # "to 2020" (no start) reaches back: it overlaps 1998 but not 2021.
    assert result(
        fig(1, 72.8, SH, YN, None, 2020),
        fig(2, 1.0, SH, YN, 1998, 1998),
        fig(3, 2.0, SH, YN, 2021, 2021),
    ) == ({1, 3}, 74.8, 2, 3, 75.8)
    # An undated figure may be of any year: it overlaps both, and is the largest.
    assert result(
        fig(1, 10.0, SH, YN),
        fig(2, 1.0, SH, YN, 1998, 1998),
        fig(3, 2.0, SH, YN, 2021, 2021),
    ) == ({1}, 10.0, 1, 3, 13.0)
    # ...and when it is smaller, the dated figures (disjoint from each other) are kept.
    assert result(
        fig(1, 0.5, SH, YN),
        fig(2, 1.0, SH, YN, 1998, 1998),
        fig(3, 2.0, SH, YN, 2021, 2021),
    ) == ({2, 3}, 3.0, 2, 3, 3.5)


def test_unknown_scopes_overlap_anything_and_contain_nothing():
    # "东部省市" (no place: None) → 云南 2008: 5.0 may include 上海's 2008 figure (3.0).
    east = fig(1, 5.0, None, YN, 2008, 2008)
    shanghai = fig(2, 3.0, SH, YN, 2008, 2008)
    assert overlaps(east, shanghai) and not contains(east, shanghai)
    assert result(east, shanghai) == ({1}, 5.0, 1, 2, 8.0)
    # A recipient nobody could place overlaps every recipient of the same donor and years,
    # but not another year.
    assert result(
        fig(1, 5.0, SH, None, 2011, 2016),
        fig(2, 3.0, SH, KS, 2012, 2012),
        fig(3, 1.0, SH, KS, 2017, 2017),
    ) == ({1, 3}, 6.0, 2, 3, 9.0)


def test_scopes_of_several_places():
    # 广东→{林芝市, 昌都市} 1994–2024: 134.1 holds 广东→林芝市 1994–2024 (119.3) and
    # 广东→昌都市 2016–2024 (14.8): keep 134.1. 广东→拉萨 2000 (1.0) is outside it.
    group = fig(1, 134.1, GD, {LZ, CD}, 1994, 2024)
    nyingchi = fig(2, 119.3, GD, LZ, 1994, 2024)
    assert contains(group, nyingchi)
    assert result(
        group, nyingchi, fig(3, 14.8, GD, CD, 2016, 2024), fig(4, 1.0, GD, LS, 2000, 2000)
    ) == ({1, 4}, 135.1, 2, 4, 269.2)


def test_a_part_larger_than_its_enclosing_figure_is_kept_instead():
    # 上海→云南 2006–2010 reported as 1.0 (too low: a lower bound, or another definition)
    # and 上海→富宁县 2008 as 3.0: both are true lower bounds; the larger is kept.
    assert result(fig(1, 1.0, SH, YN, 2006, 2010), fig(2, 3.0, SH, FN, 2008, 2008)) == (
        {2},
        3.0,
        1,
        2,
        4.0,
    )


def test_a_kept_figure_gives_way_to_the_larger_sum_it_alone_shuts_out():
    # "东部省市"→云南 "to 2020": 10 is the largest and is kept first; it shuts out
    # 上海→云南 2006–2010 (8) and 广东→云南 2015 (5), which overlap nothing else and not
    # each other: 8 + 5 = 13 > 10, so it gives way. At least 13, 2 of 3; sum 23.
    assert result(
        fig(1, 10.0, None, YN, None, 2020),
        fig(2, 8.0, SH, YN, 2006, 2010),
        fig(3, 5.0, GD, YN, 2015, 2015),
    ) == ({2, 3}, 13.0, 2, 3, 23.0)
    # with 8 and 5 overlapping each other (same donor and year), only 8 would come back:
    # 8 < 10, so the figure stays
    assert result(
        fig(1, 10.0, None, YN, None, 2020),
        fig(2, 8.0, SH, YN, 2006, 2010),
        fig(3, 5.0, SH, YN, 2008, 2008),
    ) == ({1}, 10.0, 1, 3, 23.0)


def test_confidence_comes_before_value():
    # From memory 9.0 against a quoted 2.0 of the same box: the quoted figure is kept (and
    # does not give way to a less confident figure, however large).
    memory = fig(1, 9.0, SH, YN, 2010, 2010, confidence="from_memory")
    quoted = fig(2, 2.0, SH, YN, 2010, 2010, confidence="quoted_secondary")
    assert confidence_tier("from_memory") < confidence_tier("quoted_translator_note")
    assert confidence_tier("quoted_translator_note") < confidence_tier("office_record")
    assert result(memory, quoted) == ({2}, 2.0, 1, 2, 11.0)


def test_same_box_figures_overlap_and_ties_go_to_the_lower_id():
    # Two reports of the same box (上海→云南 2006–2010) with equal values: one is kept,
    # the lower id. A candidate that stands for 3 register entries counts 3 figures.
    assert result(fig(7, 2.0, SH, YN, 2006, 2010), fig(3, 2.0, SH, YN, 2006, 2010)) == (
        {3},
        2.0,
        1,
        2,
        4.0,
    )
    assert result(fig(1, 6.0, SH, XJ, 2010, 2010, n=3), fig(2, 1.0, SH, XJ, 2011, 2011)) == (
        {1, 2},
        7.0,
        4,
        4,
        7.0,
    )


def test_the_result_does_not_depend_on_the_input_order():
    rng = random.Random(10)
    places = [YN, WS, FN, XJ, KS, None]
    donors = [SH, SJ, PT, GD, None]
    cands = []
    for i in range(300):
        start = rng.choice([None, *range(2000, 2020)])
        end = (
            None
            if start is None and rng.random() < 0.3
            else (start or 2010) + rng.choice((0, 0, 1, 4))
        )
        cands.append(
            fig(
                i,
                rng.choice((1.0, 2.0, 3.0, 5.0)),
                rng.choice(donors),
                rng.choice(places),
                start,
                end,
            )
        )
    first = reconcile(cands)
    for _ in range(3):
        rng.shuffle(cands)
        again = reconcile(cands)
        assert again.chosen == first.chosen and again.at_least == first.at_least
    # and the kept set is what the rule says: no two overlap, every one left out overlaps
    # one kept, and it is a greedy pass in the stated order
    kept = [c for c in cands if c.key in set(first.chosen)]
    assert all(not overlaps(a, b) for a in kept for b in kept if a is not b)
    assert all(any(overlaps(c, k) for k in kept) for c in cands if c.key in first.excluded)
    assert tuple(c.key for c in brute_force(cands)) == first.chosen


def test_many_figures_in_few_places_give_the_rule_s_answer():
    # enough kept figures in each place that the index looks a place's figures up by year
    # (a province's figure of one year among hundreds of its counties' figures of other
    # years) as well as in a list: the brute force agrees either way
    rng = random.Random(7)
    places = [YN, WS, FN, ("530000", "532600", "532621"), ("530000", "532500"), XJ, KS]
    cands = []
    for i in range(900):
        start = rng.choice([None, *range(1995, 2024)])
        end = None if start is None else start + rng.choice((0, 0, 0, 1, 2, 4, 9))
        recipients = rng.choice(places) if rng.random() < 0.97 else None
        cands.append(
            fig(i, rng.uniform(0.5, 6.0), rng.choice([SH, SJ, GD]), recipients, start, end)
        )
    first = reconcile(cands)
    assert tuple(c.key for c in brute_force(cands)) == first.chosen
    kept = [c for c in cands if c.key in set(first.chosen)]
    assert all(any(overlaps(c, k) for k in kept) for c in cands if c.key in first.excluded)


_EXPLAIN = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_reconcile import E8, SH, WS, FN, KS, LZ, CD, LS, fig
from twinning.query.reconcile import reconcile
# figures of several places, each shut out by more than one kept figure
cands = [fig(1, 9.0, SH, {WS, KS, LZ, CD, LS}, 2010, 2012), fig(2, 5.0, SH, KS, 2011, 2011)]
cands += [fig(10 + i, 3.0 - i / 10, SH, p, 2011, 2011) for i, p in enumerate((FN, LZ, CD, LS))]
cands += [fig(20 + i, 2.0, SH, {KS, LZ, CD, LS, FN}, 2011, 2011) for i in range(5)]
r = reconcile(cands)
print(json.dumps([r.chosen, sorted(r.excluded.items())]))
"""


def test_who_shuts_a_figure_out_does_not_depend_on_the_process(tmp_path):
    """The figure named as the one that shuts another out is the same in every process
    (a set of places is walked in a fixed order, not in the order of the process's string
    hashes), and it is one of the kept figures."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    answers = set()
    for seed in ("1", "2", "3", "4"):
        out = subprocess.run(
            [sys.executable, "-c", _EXPLAIN, str(here)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        answers.add(out)
    assert len(answers) == 1
    chosen, excluded = json.loads(answers.pop())
    assert excluded and all(by in chosen for _key, by in excluded)


def brute_force(cands: list[Candidate]) -> list[Candidate]:
    """The rule of the module's docstring, written the slow way (every pair compared)."""
    ordered = sorted(cands, key=Candidate.order)
    kept: list[Candidate] = []
    for c in ordered:  # 1. greedy
        if not any(overlaps(c, k) for k in kept):
            kept.append(c)
    only: dict = {}
    for c in ordered:  # 2. give way
        if c not in kept:
            by = [k for k in kept if overlaps(c, k)]
            if len(by) == 1:
                only.setdefault(by[0].key, []).append(c)
    for k in list(kept):
        if k not in kept or k.key not in only:
            continue
        rest = [x for x in kept if x is not k]
        trial: list[Candidate] = []
        for c in only[k.key]:
            if confidence_tier(c.confidence) < confidence_tier(k.confidence):
                continue
            if c not in rest and not any(overlaps(c, x) for x in rest + trial):
                trial.append(c)
        if sum(c.value for c in trial) > k.value:
            kept = rest + trial
    for c in ordered:  # 3. anything free is kept
        if c not in kept and not any(overlaps(c, x) for x in kept):
            kept.append(c)
    return sorted(kept, key=Candidate.order)


def test_place_paths_drop_repeats():
    assert place_path("500000", "500000", "500101") == ("500000", "500101")
    assert place_path("530000", None, None) == ("530000",)
    assert place_path(None, None, None) == ()


# ---------------------------------------------------------------------------------------
# Through the store
# ---------------------------------------------------------------------------------------

PLACES = [
    ("310000", "province", "上海市", "Shanghai", None, None, 121.4, 31.2),
    ("310117", "county", "松江区", "Songjiang District", "310000", "310000", 121.2, 31.0),
    ("310107", "county", "普陀区", "Putuo District", "310000", "310000", 121.4, 31.2),
    ("530000", "province", "云南省", "Yunnan", None, None, 101.5, 24.5),
    ("532600", "prefecture", "文山壮族苗族自治州", "Wenshan", "530000", None, 104.2, 23.4),
    ("532628", "county", "富宁县", "Funing County", "530000", "532600", 105.6, 23.6),
    ("650000", "province", "新疆维吾尔自治区", "Xinjiang", None, None, 85.0, 41.0),
]


def _figure(**kw) -> dict:
    """A figure row of ``test_aggregate.figure``, from a reference batch."""
    defaults = {"source": "src", "confidence": "quoted_secondary", "batch_kind": "reference"}
    return figure(**{**defaults, **kw})


def _data(figures: list[dict]) -> AtlasData:
    places = places_frame(PLACES)
    pairings = pd.DataFrame(
        [
            {
                "program": "east_west_cooperation",
                "donor_province": "上海市",
                "donor_adcode": "310000",
                "donor_province_adcode": "310000",
                "recipient_adcode": "530000",
                "recipient_level": "province",
                "start_year": 1996,
                "source": "src",
                "confidence": "seen_in_source",
            }
        ]
    )
    return AtlasData.build(pairings, pd.DataFrame(figures), places, version="r1")


FN_COUNTY = {"recipient_adcode": "532628", "recipient_level": "county", "recipient": "富宁县"}


@pytest.fixture(scope="module")
def store_data() -> AtlasData:
    return _data(
        [
            # 1: 上海→云南 2006–2010, 8.55 亿 (encloses 2 and 3)
            _figure(value=8.55 * E8, period_start=2006, period_end=2010),
            # 2: 松江区→富宁县 2008, 1.0 亿 (inside 1: donor, place and year)
            _figure(value=1.0 * E8, period_start=2008, period_end=2008, donor="上海市松江区",
                    donor_adcode="310117", **FN_COUNTY),
            # 3: 上海→富宁县 2008, 0.5 亿, reported again (an exact copy: not counted)
            _figure(value=0.5 * E8, period_start=2008, period_end=2008, **FN_COUNTY),
            _figure(value=0.5 * E8, period_start=2008, period_end=2008, **FN_COUNTY),
            # 4: 上海→富宁县 2012, 2.0 亿 (after the period: counts)
            _figure(value=2.0 * E8, period_start=2012, period_end=2012, **FN_COUNTY),
            # 5: "东部省市"→新疆 2012, 4.0 亿 (donor not known: may include 上海; another
            #    recipient, so nothing here overlaps it)
            _figure(value=4.0 * E8, period_start=2012, period_end=2012, donor="东部省市",
                    donor_adcode=None, recipient="新疆", recipient_adcode="650000"),
            # 6: projects in the same box as 1: another metric, reconciled on its own
            _figure(metric="projects", value=40.0, unit="projects", period_start=2006,
                    period_end=2010),
            _figure(metric="projects", value=3.0, unit="projects", period_start=2008,
                    period_end=2008, **FN_COUNTY),
            # 7: an office's register: two entries for 普陀区→富宁县 2015 (0.25 + 0.5) add
            #    up (one candidate of 2 figures); nothing else is in 2015
            _figure(value=0.25 * E8, period_start=2015, period_end=2015, donor="普陀区",
                    donor_adcode="310107", confidence="office_record", batch_kind="import",
                    quote=None, **FN_COUNTY),
            _figure(value=0.5 * E8, period_start=2015, period_end=2015, donor="普陀区",
                    donor_adcode="310107", confidence="office_record", batch_kind="import",
                    quote=None, **FN_COUNTY),
        ]
    )  # fmt: skip


def test_store_funds_worked_by_hand(store_data):
    # counted funds figures: 8.55, 1.0, 0.5 (the copy is not counted), 2.0, 4.0, 0.25, 0.5
    # M = 7, Y = 16.8. Kept: 8.55 (holds 1.0 and 0.5), 2.0, 4.0, and the register's 0.75
    # (2 figures): X = 15.3, N = 5.
    r = totals.reconciled_total(store_data, Filters(), "funds_cny")
    assert (r.n_chosen, r.n_figures) == (5, 7)
    assert r.at_least == pytest.approx(15.3 * E8)
    assert r.sum_all == pytest.approx(16.8 * E8)
    # both ways of building the candidates agree on a store with one register
    by_figures = agg_reconcile(totals.figure_candidates(store_data, Filters(), "funds_cny"))
    by_boxes = agg_reconcile(totals.box_candidates(store_data, Filters(), "funds_cny"))
    assert by_figures == by_boxes == (pytest.approx(15.3 * E8), 5, 7)


def agg_reconcile(cands):
    r = reconcile(cands)
    return (r.at_least, r.n_chosen, r.n_figures)


def test_store_other_metric_and_filters(store_data):
    # projects: 40 (2006–2010, 云南) holds 3 (富宁县 2008): at least 40, 1 of 2, sum 43
    r = totals.reconciled_total(store_data, Filters(), "projects")
    assert (r.at_least, r.n_chosen, r.n_figures, r.sum_all) == (40.0, 1, 2, 43.0)
    # only 2008: 8.55 (its period includes 2008) holds 1.0 and 0.5 -> at least 8.55 of 10.05
    r = totals.reconciled_total(store_data, Filters(year_from=2008, year_to=2008), "funds_cny")
    assert (r.n_chosen, r.n_figures) == (1, 3)
    assert r.at_least == pytest.approx(8.55 * E8)
    # the donor filter 松江区 leaves one figure
    r = totals.reconciled_total(
        store_data, Filters(donor="310000", donor_unit="310117"), "funds_cny"
    )
    assert (r.at_least, r.n_chosen, r.n_figures) == (pytest.approx(1.0 * E8), 1, 1)


def test_store_path_is_the_same_above_the_figure_limit(store_data, monkeypatch):
    monkeypatch.setattr(totals, "RECONCILE_FIGURES_MAX", 2)
    r = totals._reconciled(store_data, Filters(), "funds_cny")
    assert (r.n_chosen, r.n_figures) == (5, 7)
    assert r.at_least == pytest.approx(15.3 * E8)


def test_headlines_carry_the_reconciled_total(store_data):
    heads = {h.key: h for h in agg.headlines(store_data, Filters())}
    funds = heads["headline_funds"]
    assert funds.value == pytest.approx(16.8 * E8) and funds.n_figures == 7  # the plain sum
    assert funds.at_least == pytest.approx(15.3 * E8) and funds.n_at_least == 5
    assert heads["headline_people"].at_least is None  # no figures: nothing to say


def test_the_embedded_headlines_say_what_the_atlas_says(store_data):
    from twinning import embed
    from twinning.figures.describe import headline_words

    for lang in ("zh", "en"):
        f = Filters(lang=lang)
        items = {
            key: (value, note) for key, _, value, note in embed.headline_items(View(store_data, f))
        }
        for h in agg.headlines(store_data, f):
            assert items[h.key] == headline_words(h, lang)
        assert items["headline_funds"][0].startswith("至少" if lang == "zh" else "at least")


def test_headlines_are_worked_out_once_for_every_metric_and_level(store_data, monkeypatch):
    # the headline numbers count a view's rows: a change of the map's metric or level
    # shows the same ones without working them (and their reconciled totals) out again
    from twinning.query import totals as totals_module
    from twinning.query import views

    first = agg.headlines(store_data, Filters(year_from=2001, year_to=2019))
    assert any(h.at_least is not None for h in first)
    calls, totals = [], []
    real, real_total = views._headline_sums, totals_module._reconciled
    monkeypatch.setattr(views, "_headline_sums", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(totals_module, "_reconciled", lambda *a: totals.append(a) or real_total(*a))
    for metric, level in (("projects", "county"), ("people_lifted", "prefecture")):
        again = agg.headlines(
            store_data, Filters(year_from=2001, year_to=2019, metric=metric, level=level)
        )
        assert again == first
    assert calls == [] and totals == []
    agg.headlines(store_data, Filters(year_from=2002, year_to=2019))  # other rows: worked out
    assert len(calls) == 1 and totals


def test_a_view_keeps_the_reconciled_numbers_not_the_figures_kept(store_data):
    # what a view caches (and a worker reads from the shared cache on its first change) is
    # X, N of M and Y; the keys of what was kept and left out stay with the reconciliation
    full = totals._reconciled(store_data, Filters(), "funds_cny")
    kept = totals.reconciled_total(store_data, Filters(), "funds_cny")
    assert kept == full.total()
    assert (kept.at_least, kept.n_chosen, kept.n_figures) == (full.at_least, 5, 7)
    assert full.chosen and not hasattr(kept, "chosen") and not hasattr(kept, "excluded")


def test_a_figure_s_places_are_read_once_per_data_version(store_data, monkeypatch):
    # the reconciled totals of every change read their figures' places (groups, lists,
    # divisions): a figure's places do not change with the view, so each is read once
    from twinning.query import scopes

    store_data.__dict__.pop("_figure_scopes", None)  # what other tests' views kept
    asked: list[list[int]] = []
    real = scopes.figure_scopes
    monkeypatch.setattr(
        scopes, "figure_scopes", lambda d, ids: asked.append(list(ids)) or real(d, ids)
    )
    first = totals._reconciled(store_data, Filters(), "funds_cny").total()
    assert asked
    n = sum(map(len, asked))
    again = totals._reconciled(store_data, Filters(year_from=2008, year_to=2020), "funds_cny")
    assert sum(map(len, asked)) == n  # the same figures: none read again
    assert again.at_least <= first.at_least
    ids = [fid for fid in asked[0][:3]]
    assert totals._kept_scopes(store_data, ids) == {
        fid: s for fid, s in real(store_data, ids).items()
    }
    # past the bound the kept places are let go, and the totals are the same
    monkeypatch.setattr(totals, "SCOPES_KEPT", 2)
    store_data.__dict__.pop("_figure_scopes")
    assert totals._reconciled(store_data, Filters(), "funds_cny").total() == first
    assert len(store_data.__dict__["_figure_scopes"]) <= len(asked[0])
