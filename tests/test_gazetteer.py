"""Place resolution: every way people write a place lands on one adcode, or fails usefully."""

from __future__ import annotations

import json
from argparse import Namespace

import pandas as pd
import pytest

from twinning.gazetteer import (
    AmbiguousPlace,
    Gazetteer,
    PlaceError,
    PlaceNotFound,
    cli_resolve,
    read_historical_names,
    short_forms,
)

# A few real units, enough to test the rules without data/geo.
MINI = pd.DataFrame(
    [
        ("110000", "province", "北京市", "Beijing", None, None),
        ("110105", "county", "朝阳区", "Chaoyang District", "110000", "110000"),
        ("220000", "province", "吉林省", "Jilin", None, None),
        ("220100", "prefecture", "长春市", "Changchun", "220000", None),
        ("220104", "county", "朝阳区", "Chaoyang District", "220000", "220100"),
        ("650000", "province", "新疆维吾尔自治区", "Xinjiang Uygur Autonomous Region", None, None),
        ("653100", "prefecture", "喀什地区", "Kashgar Prefecture", "650000", None),
        ("653101", "county", "喀什市", "Kashgar City", "650000", "653100"),
        ("653125", "county", "莎车县", "Shache County", "650000", "653100"),
        ("530000", "province", "云南省", "Yunnan", None, None),
        ("530800", "prefecture", "普洱市", "Pu'er", "530000", None),
    ],
    columns=["adcode", "level", "name_zh", "name_en", "province_adcode", "prefecture_adcode"],
)


@pytest.fixture(scope="module")
def mini() -> Gazetteer:
    historical = pd.DataFrame(
        [("思茅地区", "普洱市", "530800", "2007", "renamed", "", "test")],
        columns=["old_name", "new_name", "new_adcode", "year", "change", "note", "source"],
    )
    return Gazetteer(MINI, historical=historical)


# -- rules, on the in-code fixture ---------------------------------------------------------
def test_mini_resolves_full_short_english_and_adcode(mini: Gazetteer) -> None:
    for name in ("莎车县", "莎车", "Shache", "shache county", "SHACHE", "653125"):
        assert mini.resolve(name).adcode == "653125", name


def test_mini_ambiguous_lists_every_candidate_with_parent_and_adcode(mini: Gazetteer) -> None:
    with pytest.raises(AmbiguousPlace) as info:
        mini.resolve("朝阳区")
    message = str(info.value)
    assert "'朝阳区' matches 2 places" in message
    assert "朝阳区 (北京市, 110105)" in message and "朝阳区 (长春市, 220104)" in message
    assert "--within" in message
    assert {c.adcode for c in info.value.candidates} == {"110105", "220104"}
    assert isinstance(info.value, PlaceError) and isinstance(info.value, ValueError)


def test_mini_within_accepts_any_form_and_level(mini: Gazetteer) -> None:
    assert mini.resolve("朝阳区", within="北京").adcode == "110105"
    assert mini.resolve("朝阳区", within="长春市").adcode == "220104"
    assert mini.resolve("朝阳区", within="Jilin").adcode == "220104"
    assert mini.resolve("朝阳区", within="220100").adcode == "220104"


def test_mini_container_wins_over_units_inside_it(mini: Gazetteer) -> None:
    # 喀什 names the prefecture and the city inside it: people mean the prefecture.
    assert mini.resolve("喀什").adcode == "653100"
    assert mini.resolve("Kashgar").adcode == "653100"
    assert mini.resolve("喀什市").adcode == "653101"


def test_mini_historical_name(mini: Gazetteer) -> None:
    assert mini.resolve("思茅地区").adcode == "530800"


def test_mini_unknown_name_suggests_closest(mini: Gazetteer) -> None:
    with pytest.raises(PlaceNotFound) as info:
        mini.resolve("莎车乡县")
    assert "matches no place" in str(info.value)
    assert "653125" in [c.adcode for c in info.value.candidates]


def test_mini_to_dict_has_parents(mini: Gazetteer) -> None:
    data = mini.resolve("莎车").to_dict()
    assert data["province_name_zh"] == "新疆维吾尔自治区"
    assert data["prefecture_name_zh"] == "喀什地区"
    assert data["prefecture_adcode"] == "653100"


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="prefecture_adcode"):
        Gazetteer(MINI.drop(columns="prefecture_adcode"))


@pytest.mark.parametrize(
    ("name", "level", "expected"),
    [
        ("红河哈尼族彝族自治州", "prefecture", {"红河州", "红河"}),
        ("克孜勒苏柯尔克孜自治州", "prefecture", {"克孜勒苏州", "克孜勒苏", "克州"}),
        ("伊犁哈萨克自治州", "prefecture", {"伊犁州", "伊犁"}),
        ("内蒙古自治区", "province", {"内蒙古", "蒙"}),
        ("新疆维吾尔自治区", "province", {"新疆", "新"}),
        ("贡山独龙族怒族自治县", "county", {"贡山县", "贡山"}),
        ("莎车县", "county", {"莎车"}),
        ("芒市", "county", set()),  # one-character bases are never keys
    ],
)
def test_short_forms(name: str, level: str, expected: set[str]) -> None:
    assert short_forms(name, level) == expected


# -- the real gazetteer (data/geo) --------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "within", "adcode"),
    [
        ("莎车县", None, "653125"),
        ("莎车", None, "653125"),
        ("莎车", "喀什", "653125"),
        ("红河州", None, "532500"),
        ("红河哈尼族彝族自治州", None, "532500"),
        ("内蒙古", None, "150000"),
        ("新疆", None, "650000"),
        ("克州", None, "653000"),
        ("伊犁州", None, "654000"),
        ("Shache", None, "653125"),
        ("Shache County", None, "653125"),
        ("Kashgar", None, "653100"),
        ("Kashi", None, "653100"),
        ("Inner Mongolia", None, "150000"),
        ("Lhasa", None, "540100"),
        ("朝阳区", "北京", "110105"),
        ("朝阳区", "Changchun", "220104"),
        ("朝阳区", "吉林省", "220104"),
        ("佛山市南海区", None, "440605"),
        ("上海市松江区", None, "310117"),
        ("云南省临沧市沧源佤族自治县", None, "530927"),
        ("思茅市", None, "530800"),
        ("思茅地区", None, "530800"),
        ("日喀则地区", None, "540200"),
        ("襄樊市", None, "420600"),
        ("吐鲁番地区", None, "650400"),
        ("那曲地区", None, "540600"),
        ("库车县", None, "652902"),
        ("玉环县", None, "331083"),
        ("653125", None, "653125"),
        ("万州区", "重庆市", "500101"),
        ("阿拉尔市", None, "659002"),
        ("北京市", None, "110000"),
    ],
)
def test_real_resolution(gazetteer: Gazetteer, name: str, within: str | None, adcode: str) -> None:
    assert gazetteer.resolve(name, within=within).adcode == adcode


def test_real_ambiguous_chaoyang(gazetteer: Gazetteer) -> None:
    with pytest.raises(AmbiguousPlace) as info:
        gazetteer.resolve("朝阳区")
    assert str(info.value).startswith(
        "'朝阳区' matches 2 places: 朝阳区 (北京市, 110105), 朝阳区 (长春市, 220104)"
    )


def test_real_unknown_with_suggestions(gazetteer: Gazetteer) -> None:
    with pytest.raises(PlaceNotFound) as info:
        gazetteer.resolve("莎车乡县")
    assert "莎车县 (喀什地区, 653125)" in str(info.value)
    with pytest.raises(PlaceNotFound) as info:
        gazetteer.resolve("Shachee")
    assert "653125" in [c.adcode for c in info.value.candidates]


def test_real_homophone_typo_is_suggested(gazetteer: Gazetteer) -> None:
    with pytest.raises(PlaceNotFound) as info:
        gazetteer.resolve("沙车")  # 沙 typed for 莎
    assert info.value.candidates[0].adcode == "653125"


def test_real_within_excludes_places_outside(gazetteer: Gazetteer) -> None:
    with pytest.raises(PlaceNotFound, match="within 云南省"):
        gazetteer.resolve("莎车县", within="云南省")


def test_resolve_prefix_returns_the_rest(gazetteer: Gazetteer) -> None:
    place, rest = gazetteer.resolve_prefix("东莞市虎门镇")
    assert (place.adcode, rest) == ("441900", "虎门镇")
    assert gazetteer.resolve_prefix("莎车县") == (gazetteer.get("653125"), "")


def test_historical_table_points_at_existing_units(gazetteer: Gazetteer) -> None:
    table = read_historical_names()
    assert len(table) >= 1000  # built from the MCA lists (tests/test_former_names.py)
    for row in table.to_dict("records"):
        place = gazetteer.get(row["new_adcode"])
        assert place is not None, row
        assert place.name_zh == row["new_name"], row
        assert row["year"].isdigit() and 1949 <= int(row["year"]) <= 2100, row
        assert row["source"], row
    # A former name may lead to several units (a split, or two places of that name), but
    # to each one once; a unit that changed prefecture has a row per former prefecture.
    assert not table[["old_name", "new_adcode", "old_parent"]].duplicated().any()
    former = table[table["change"] != "moved"]
    assert not former[["old_name", "new_adcode"]].duplicated().any()


def test_default_is_cached(gazetteer: Gazetteer) -> None:
    assert Gazetteer.default() is gazetteer


# -- CLI -------------------------------------------------------------------------------
def test_cli_resolve_prints_json_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_resolve(Namespace(name="莎车", within="喀什")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["adcode"] == "653125"
    assert data["level"] == "county"
    assert data["name_en"] == "Shache County"
    assert data["prefecture_name_zh"] == "喀什地区"
    assert data["province_adcode"] == "650000"


def test_cli_resolve_ambiguous_exits_1_with_candidates(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_resolve(Namespace(name="朝阳区", within=None)) == 1
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert data["kind"] == "AmbiguousPlace"
    assert {c["adcode"] for c in data["candidates"]} == {"110105", "220104"}
    assert "add --within" in out.err


def test_cli_resolve_unknown_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_resolve(Namespace(name="Atlantis", within=None)) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "PlaceNotFound"
    assert "error" in data and "candidates" in data


def test_cli_entry_point_runs_resolve(capsys: pytest.CaptureFixture[str]) -> None:
    from twinning.cli import main

    assert main(["places", "resolve", "思茅地区"]) == 0
    assert json.loads(capsys.readouterr().out)["adcode"] == "530800"


def test_cli_resolve_former_name_says_what_changed(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_resolve(Namespace(name="临安市", within=None)) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["adcode"] == "330112"
    assert data["resolution_note"].startswith("former name: 临安市 -> 临安区 (2017, ")
    assert "国函〔2017〕102号" in data["resolution_note"]
    assert cli_resolve(Namespace(name="临安区", within=None)) == 0
    assert "resolution_note" not in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("name", "adcode"),
    [("襄樊", "420600"), ("襄樊市", "420600"), ("思茅市", "530800"), ("哈密地区", "650500")],
)
def test_former_names_resolve_with_or_without_suffix(
    gazetteer: Gazetteer, name: str, adcode: str
) -> None:
    assert gazetteer.resolve(name).adcode == adcode


def test_todays_short_name_beats_a_former_short_name(gazetteer: Gazetteer) -> None:
    # 思茅 is today's 思茅区; the former prefecture 思茅市 needs its full name.
    assert gazetteer.resolve("思茅").name_zh == "思茅区"
