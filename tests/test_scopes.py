"""Scopes of figures: the places on each side as sets (issue #10)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_aggregate import places_frame

from twinning.filters import Filters
from twinning.query import AtlasData, where
from twinning.query.scopes import figure_scopes

PLACES = places_frame(
    [
        ("310000", "province", "上海市", "Shanghai", None, None, 121.4, 31.2),
        ("310117", "county", "松江区", "Songjiang", "310000", "310100", 121.2, 31.0),
        ("650000", "province", "新疆维吾尔自治区", "Xinjiang", None, None, 87.6, 43.8),
        ("653100", "prefecture", "喀什地区", "Kashgar", "650000", None, 76.0, 39.5),
        ("653125", "county", "莎车县", "Shache", "650000", "653100", 77.2, 38.4),
    ]
)


def _figure(fid: int, donor: str, donor_adcode: str | None, recipient_adcode: str | None):
    return {
        "id": fid,
        "program": "counterpart_support_xinjiang",
        "donor": donor,
        "recipient": "x",
        "donor_adcode": donor_adcode,
        "recipient_adcode": recipient_adcode,
        "recipient_level": "county" if recipient_adcode == "653125" else "prefecture",
        "period_start": 2010,
        "period_end": 2010,
        "metric": "funds_cny",
        "value": 1.0,
        "unit": "CNY",
        "source": "s",
        "confidence": "seen_in_source",
    }


@pytest.fixture()
def data() -> AtlasData:
    figures = pd.DataFrame(
        [
            _figure(1, "上海市", "310000", "653125"),
            _figure(2, "松江区", "310117", "653100"),
            _figure(3, "中央企业", None, "653125"),
            _figure(4, "上海市", "310000", None),
        ]
    )
    return AtlasData.build(pd.DataFrame(), figures, PLACES)


def test_single_place_scopes_by_id(data: AtlasData) -> None:
    ids = [int(i) for i in data.frame("SELECT id FROM figures ORDER BY id")["id"]]
    scopes = figure_scopes(data, ids)
    assert [scopes[i].recipient for i in ids] == [
        frozenset({"653125"}),
        frozenset({"653100"}),
        frozenset({"653125"}),
        frozenset(),
    ]
    assert [scopes[i].donor for i in ids] == [
        frozenset({"310000"}),
        frozenset({"310117"}),
        frozenset({"中央企业"}),
        frozenset({"310000"}),
    ]
    assert not any(s.is_group for s in scopes.values())


def test_scopes_by_where_match_the_view(data: AtlasData) -> None:
    sql, params = where(Filters(donor="310000"), "figures")
    scopes = figure_scopes(data.engine, (sql, params))
    assert len(scopes) == 3  # 上海市 and 松江区 (its province is 上海市), not 中央企业
    assert all("中央企业" not in s.donor for s in scopes.values())


# -- on the reference data ------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference(reference_store) -> AtlasData:
    return AtlasData.from_store(reference_store)


def _ids(frame, recipient: str) -> set[int]:
    return set(frame.loc[frame["recipient"] == recipient, "id"].astype(int))


def test_kashgar_lists_the_shanghai_group_figures_with_quotes(reference: AtlasData) -> None:
    from twinning.query.scopes import shared_figures

    shared = shared_figures(reference, Filters(), "653100")
    shanghai = shared[shared["scope_group"] == "shanghai_counterpart_areas"]
    assert len(shanghai) >= 15 and (shanghai["n_members"] == 8).all()
    assert shanghai["quote"].str.len().gt(0).all() and shanghai["source"].notna().all()
    # a county of Kashgar and Xinjiang itself see them too; Beijing's 和田 list is Xinjiang's
    # own figure (it lies in Xinjiang), so it is not among Xinjiang's shared ones
    assert set(shanghai["id"]) <= set(shared_figures(reference, Filters(), "653125")["id"])
    xinjiang = shared_figures(reference, Filters(), "650000")
    assert set(shanghai["id"]) <= set(xinjiang["id"])
    assert not _ids(xinjiang, "和田地区, 第十四师")
    hotan = shared_figures(reference, Filters(), "653200")
    assert len(_ids(hotan, "和田地区, 第十四师")) == 3
    # not a member: Beijing's detail has none of them
    assert shared_figures(reference, Filters(), "110000").empty
    # the filters apply: no Shanghai group figure in a view of another donor
    assert shared_figures(reference, Filters(donor="110000"), "653100").empty


def test_shanghais_donor_side_figures(reference: AtlasData) -> None:
    from twinning.query.scopes import donor_side_figures

    own = donor_side_figures(reference, Filters(), "310000")
    assert len(own) == 10 and own["donor_side"].astype(bool).all()
    assert {"(in Shanghai)", "(national award)"} <= set(own["recipient"])
    assert donor_side_figures(reference, Filters(), "110000").empty


def test_scope_outline_at_each_level(reference: AtlasData) -> None:
    from twinning.query.scopes import scope_outline, shared_figures

    shared = shared_figures(reference, Filters(), "653100")
    fid = int(shared.loc[shared["scope_group"] == "shanghai_counterpart_areas", "id"].iloc[0])
    county = scope_outline(reference, fid, "county")
    assert len(county.members) == 8
    assert {"653125", "420506", "500101"} <= county.locations  # 喀什's county, 夷陵, 万州
    assert "530102" in county.locations  # 云南省 is all its counties
    province = scope_outline(reference, fid, "province")
    assert province.locations == {
        "650000",
        "540000",
        "630000",
        "530000",
        "520000",
        "420000",
        "500000",
    }
    hotan = shared_figures(reference, Filters(), "653200")
    fid = int(hotan.loc[hotan["recipient"] == "和田地区, 第十四师", "id"].iloc[0])
    outline = scope_outline(reference, fid, "prefecture")
    assert outline.locations == {"653200"} and [p[2] for p in outline.points] == ["xpcc:14"]
    assert scope_outline(reference, 10**9, "county") is None
