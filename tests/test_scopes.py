"""Scopes of figures: the places on each side as sets (issue #10)."""

from __future__ import annotations

import pandas as pd
import pytest

from twinning.filters import Filters
from twinning.query import AtlasData, where
from twinning.query.scopes import figure_scopes

PLACES = pd.DataFrame(
    [
        ("310000", "province", "上海市", "Shanghai", None, None, 121.4, 31.2),
        ("310117", "county", "松江区", "Songjiang", "310000", "310100", 121.2, 31.0),
        ("650000", "province", "新疆维吾尔自治区", "Xinjiang", None, None, 87.6, 43.8),
        ("653100", "prefecture", "喀什地区", "Kashgar", "650000", None, 76.0, 39.5),
        ("653125", "county", "莎车县", "Shache", "650000", "653100", 77.2, 38.4),
    ],
    columns=[
        "adcode",
        "level",
        "name_zh",
        "name_en",
        "province_adcode",
        "prefecture_adcode",
        "lon",
        "lat",
    ],
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
