"""Scopes of several places: groups, lists, XPCC divisions, donor-side figures (issue #10)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from twinning.filters import Filters
from twinning.gazetteer import Gazetteer
from twinning.geo.boundaries import places_table
from twinning.groups import (
    LIST_GROUP,
    GroupFileError,
    ScopeResolver,
    chinese_number,
    default_groups,
    load_groups,
)
from twinning.paths import REFERENCE_DIR
from twinning.query import AtlasData, headlines, place_values
from twinning.query.scopes import figure_scopes


@pytest.fixture(scope="module")
def scopes(gazetteer: Gazetteer) -> ScopeResolver:
    return ScopeResolver(gazetteer, default_groups())


def keys(scope) -> list[str]:
    return sorted(m.key for m in scope.members)


def test_every_member_and_seat_is_a_place_of_data_geo() -> None:
    known = set(places_table()["adcode"].astype(str))
    data = load_groups(REFERENCE_DIR, known=known)  # raises on an unknown member or seat
    assert len(data.groups["shanghai_counterpart_areas"].members) == 8
    assert data.divisions["xpcc:14"].seat_name == "昆玉市"
    for group in data.groups.values():
        assert group.source and group.confidence


def test_a_bad_group_file_names_file_row_column_and_value(tmp_path: Path) -> None:
    (tmp_path / "groups.csv").write_text(
        "group,name_zh,name_en,aliases,side,member,member_name,source,confidence,note\n"
        "g,甲,A,,recipient,999999,x,s,seen_in_source,\n"
        "g,甲,A,,recipients,110000,x,s,guessed,\n",
        encoding="utf-8",
    )
    with pytest.raises(GroupFileError) as exc:
        load_groups(tmp_path, known={"110000"})
    text = str(exc.value)
    assert "groups.csv, row 1, column member: '999999'" in text
    assert "row 2, column side: 'recipients'" in text
    assert "row 2, column confidence: 'guessed'" in text
    assert "应为" in text  # both languages


def test_named_group_resolves_to_the_members_its_source_names(scopes: ScopeResolver) -> None:
    cell = (
        "上海对口帮扶地区 (喀什地区, 克拉玛依市, 日喀则市, 果洛州, 云南省, 遵义市, 夷陵区, 万州区)"
    )
    scope = scopes.resolve(cell)
    assert scope.group == "shanghai_counterpart_areas" and scope.place is None
    assert keys(scope) == sorted(
        ["653100", "650200", "540200", "632600", "530000", "520300", "420506", "500101"]
    )
    assert keys(scopes.resolve("青海省 6 Tibetan autonomous prefectures")) == [
        "632200", "632300", "632500", "632600", "632700", "632800",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("cell", "members"),
    [
        ("林芝市, 昌都市", ["540300", "540400"]),
        ("毕节市, 黔南州", ["520500", "522700"]),
        ("万州区, 夷陵区", ["420506", "500101"]),
        ("云南省, 广西壮族自治区, 贵州省", ["450000", "520000", "530000"]),
        ("伊犁州直, 克州, 兵团第四、七师", ["653000", "654000", "xpcc:4", "xpcc:7"]),
        ("和田地区, 第十四师", ["653200", "xpcc:14"]),
        ("喀什地区第二人民医院; 日喀则市人民医院", ["540200", "653100"]),
    ],
)
def test_a_list_in_a_cell_resolves_to_its_members(
    scopes: ScopeResolver, cell: str, members: list[str]
) -> None:
    scope = scopes.resolve(cell)
    assert scope.group == LIST_GROUP and scope.reason is None
    assert keys(scope) == members


def test_a_list_with_an_unknown_part_is_not_resolved_and_says_which_part(
    scopes: ScopeResolver,
) -> None:
    scope = scopes.resolve("林芝市, 不存在市")
    assert not scope.members and "不存在市" in scope.reason


@pytest.mark.parametrize(
    "name", ["第十四师", "兵团第十四师", "新疆生产建设兵团第十四师", "兵团十四师", "14th Division"]
)
def test_the_divisions_names_resolve(scopes: ScopeResolver, name: str) -> None:
    division = scopes.division(name)
    assert division is not None and division.key == "xpcc:14"
    scope = scopes.resolve(name)
    assert keys(scope) == ["xpcc:14"] and "not the territory" in scope.note


def test_chinese_numbers() -> None:
    assert [chinese_number(t) for t in ("一", "十", "十三", "二十", "十四", "x")] == [
        1, 10, 13, 20, 14, None,
    ]  # fmt: skip


def test_donor_side_descriptions_and_single_member_groups(scopes: ScopeResolver) -> None:
    for cell in ("(in Shanghai)", "(national award)", "(Shanghai consumption-support network)"):
        scope = scopes.resolve(cell)
        assert scope.donor_side and not scope.members and scope.reason is None
    one = scopes.resolve("伊犁州直")
    assert one.place is not None and one.place.adcode == "654000" and one.group is None


def test_reference_figures_store_their_scopes(reference_store) -> None:
    f = reference_store.figures_frame()
    ids = [int(i) for i in f["id"]]
    scopes = figure_scopes(reference_store, ids)
    by_text = {}
    for row in f.to_dict("records"):
        by_text.setdefault(row["recipient"], scopes[int(row["id"])])
    assert by_text["林芝市, 昌都市"].recipient == {"540300", "540400"}
    assert by_text["林芝市, 昌都市"].is_group
    east = by_text["西部贫困地区"]
    assert len(east.recipient) == 11 and len(east.donor) == 9  # donor group: 东部省市
    assert by_text["(in Shanghai)"].donor_side and by_text["(in Shanghai)"].donor == {"310000"}
    assert by_text["(in Shanghai)"].recipient == frozenset()
    single = scopes[int(f.loc[f["recipient_adcode"] == "653125", "id"].iloc[0])]
    assert not single.is_group and single.recipient == {"653125"}


# -- a group figure never changes any member's choropleth value --------------------------
PLACES = places_table()


def _figure(recipient: str, adcode: str | None, level: str | None, value: float, **kw):
    return {
        "program": "counterpart_support_tibet",
        "donor": "广东省",
        "recipient": recipient,
        "donor_adcode": "440000",
        "recipient_adcode": adcode,
        "recipient_level": level,
        "period_start": 2015,
        "period_end": 2015,
        "metric": "funds_cny",
        "value": value,
        "unit": "yuan",
        "source": "s",
        "confidence": "seen_in_source",
        **kw,
    }


def _atlas(with_group: bool) -> AtlasData:
    rows = [
        _figure("林芝市", "540400", "prefecture", 5.0),
        _figure("昌都市", "540300", "prefecture", 7.0),
    ]
    if with_group:
        rows.append(
            _figure(
                "林芝市, 昌都市",
                None,
                None,
                1000.0,
                scope_group="list",
                scope_members=[
                    ("recipient", "540400", "prefecture"),
                    ("recipient", "540300", "prefecture"),
                ],
            )
        )
    frame = pd.DataFrame(rows)
    if "scope_members" not in frame:
        frame["scope_members"] = [[] for _ in rows]
    return AtlasData.build(pd.DataFrame(), frame, PLACES)


@pytest.mark.parametrize("level", ["prefecture", "county"])
def test_a_group_figure_never_changes_a_members_value(level: str) -> None:
    f = Filters(metric="funds_cny", level=level)
    without, with_group = place_values(_atlas(False), f), place_values(_atlas(True), f)
    pd.testing.assert_frame_equal(without.values, with_group.values)
    assert with_group.n_unresolved == 0  # it has a scope: not "no place"


def test_a_group_inside_one_province_counts_for_that_province_only() -> None:
    atlas = _atlas(True)
    values = place_values(atlas, Filters(metric="funds_cny", level="province")).values
    assert values.set_index("adcode")["value"].to_dict() == {"540000": 1012.0}
    # a view of the province holds the whole scope: its headline includes the figure
    funds = headlines(atlas, Filters(recipient="540000"))[0]
    assert (funds.value, funds.n_figures) == (1012.0, 3)
    assert headlines(atlas, Filters(recipient="650000"))[0].value is None
