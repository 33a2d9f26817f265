"""Forged views in callback bodies cost the server nothing and never raise (issue #12).

The filter state travels in ``dcc.Store`` and control values, which anyone can post to
``/_dash-update-component``; a year range of a million years once took 12.5 s.
"""

from __future__ import annotations

import pytest

from components.callbacks import filters_from_controls
from twinning import query as agg


@pytest.mark.parametrize(
    "years",
    [[0, 1_000_000], ["2006", "x"], [None, None], "2006", [2010], [{"a": 1}, []]],
)
def test_forged_years_fall_back_to_the_full_range(years) -> None:
    f = filters_from_controls(
        "?lang=en", "county", "funds_cny", ["x"], None, None, None, years, None, None, None,
        (1978, 2026),
    )  # fmt: skip
    assert f.year_from is None or 1900 <= f.year_from <= 2100
    assert f.year_to is None or 1900 <= f.year_to <= 2100


def test_forged_controls_of_every_kind_make_a_valid_view(reference_store) -> None:
    data = agg.AtlasData.from_store(reference_store)
    f = filters_from_controls(
        "?lang=en", ["county"], {"m": 1}, "east_west_cooperation", 310000, ["u"], 650000,
        [1949, 3000], "hide", "on", ["653125"], (1978, 2026),
    )  # fmt: skip
    assert f.level == "province" and f.metric is None and f.programs == ()
    assert f.year_from == 1949 and f.year_to is None
    years = agg.pairings_in_force(data, f, current_year=2026)
    assert len(years) <= 2026 - 1949 + 1  # work bounded by the years a view may name
    assert agg.headlines(data, f)[0].key == "headline_funds"
