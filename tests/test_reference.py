"""The reference data: copied faithfully, validated strictly, every place resolved or explained."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest

from twinning.gazetteer import Gazetteer
from twinning.paths import REFERENCE_DIR
from twinning.reference import (
    PRIMARY_DOCUMENTS,
    ReferenceData,
    ReferenceDataError,
    load_reference,
    parse_unit,
    resolve_free_text,
)


@pytest.fixture(scope="module")
def data(gazetteer: Gazetteer) -> ReferenceData:
    return load_reference(REFERENCE_DIR, gazetteer)


def _raw(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_counts_match_notes(data: ReferenceData) -> None:
    assert len(data.pairings) == 218
    assert len(data.figures) == 256
    assert (data.pairings["confidence"] == "seen_in_source").sum() == 203
    assert (data.pairings["confidence"] == "from_memory").sum() == 15


def test_files_have_readmes_and_no_documents_folder() -> None:
    assert (REFERENCE_DIR / "README.md").exists()
    assert (REFERENCE_DIR / "NOTES.md").exists()
    assert not (REFERENCE_DIR / "documents").exists()


def test_copies_are_byte_for_byte_as_recorded_in_the_readme() -> None:
    text = (REFERENCE_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("pairings.csv", "figures.csv", "NOTES.md"):
        digest = hashlib.sha256((REFERENCE_DIR / name).read_bytes()).hexdigest()
        assert f"`{digest}`" in text, f"{name} differs from the copy recorded in README.md"


def test_every_pairing_resolves_or_has_a_reason(data: ReferenceData) -> None:
    p = data.pairings
    unresolved = p[p["recipient_adcode"].isna() & p["recipient_division"].isna()]
    assert unresolved["unresolved_reason"].notna().all()
    assert p.loc[p["recipient_adcode"].notna(), "unresolved_reason"].isna().all()
    assert p["recipient_province_adcode"].notna().all()


def test_xpcc_divisions_resolve_to_the_division_not_its_seat(data: ReferenceData) -> None:
    """Issue #10: a division has no adcode; it is its own key (xpcc:<n>), drawn at its seat,
    and the note says that the seat city is not its territory."""
    p = data.pairings
    xpcc = p[p["recipient_prefecture"] == "新疆生产建设兵团"]
    assert len(xpcc) == 7
    assert set(p[p["recipient_adcode"].isna()].index) == set(xpcc.index)
    numbers = {"第二师": 2, "第四师": 4, "第五师": 5, "第七师": 7, "第十师": 10, "第十三师": 13}
    numbers["第十四师"] = 14
    for row in xpcc.to_dict("records"):
        assert row["recipient_division"] == f"xpcc:{numbers[row['recipient_county']]}"
        assert row["unresolved_reason"] is None
        assert row["recipient_county"] in row["resolution_note"]
        assert "not the territory of" in row["resolution_note"]
        assert row["recipient_province_adcode"] == "650000"


def test_pairing_levels_follow_the_most_specific_column(data: ReferenceData) -> None:
    p = data.pairings.set_index("row_number")
    assert p.loc[4, ["recipient_adcode", "recipient_level"]].tolist() == ["530000", "province"]
    assert p.loc[100, ["recipient_adcode", "recipient_level"]].tolist() == ["653125", "county"]
    # Chongqing county (prefecture column = 重庆市)
    assert p.loc[202, "recipient_adcode"] == "500101"
    # Province-administered city under a statistical grouping
    assert p.loc[125, "recipient_adcode"] == "659002"
    assert "statistical grouping" in p.loc[125, "resolution_note"]


def test_donor_units(data: ReferenceData) -> None:
    p = data.pairings.set_index("row_number")
    assert p.loc[64, "donor_adcode"] == "440605"  # 佛山市南海区
    assert p.loc[49, "donor_adcode"] == "370211"  # 青岛市黄岛区
    assert p.loc[68, "donor_adcode"] == "441900"  # 东莞市虎门镇 -> 东莞市, said so
    assert "虎门镇" in p.loc[68, "resolution_note"]
    assert p.loc[71, "donor_adcode"] == "440000"  # 横琴粤澳深度合作区 -> province
    assert "横琴粤澳深度合作区" in p.loc[71, "resolution_note"]
    for row in (170, 171):  # 中央企业
        assert p.loc[row, "donor_province"] == "中央企业"
        assert p.loc[row, ["donor_adcode", "donor_province_adcode"]].isna().all()
        assert "central state-owned enterprise" in p.loc[row, "resolution_note"]


def test_all_115_document_figures_are_there_with_their_exact_quote(data: ReferenceData) -> None:
    raw = [r for r in _raw("figures.csv") if r["source"].startswith(PRIMARY_DOCUMENTS)]
    assert len(raw) == 115
    f = data.figures.set_index("row_number")
    for i, row in enumerate(_raw("figures.csv"), start=1):
        assert f.loc[i, "quote"] == row["quote"]
        assert f.loc[i, "source"] == row["source"]
        assert f.loc[i, "value_original"] == row["value"]
        assert f.loc[i, "unit_original"] == row["unit"]
        assert float(row["value"]) == f.loc[i, "value"]


def test_figure_confidence_is_derived_from_the_source(data: ReferenceData) -> None:
    f = data.figures
    primary = f["source"].isin(PRIMARY_DOCUMENTS)
    assert (f.loc[primary, "confidence"] == "quoted_primary").all()
    assert primary.sum() == 110
    assert (f["confidence"] == "quoted_translator_note").sum() == 5
    assert (
        (f.loc[~f["source"].str.startswith(PRIMARY_DOCUMENTS), "confidence"])
        .eq("quoted_secondary")
        .all()
    )


def test_periods_stay_periods(data: ReferenceData) -> None:
    f = data.figures.set_index("row_number")
    assert (f.loc[1, "period_start"], f.loc[1, "period_end"]) == (2006, 2010)


def test_context_figures_are_flagged(data: ReferenceData) -> None:
    f = data.figures
    assert (f["is_context"] == f["metric"].str.startswith("context_")).all()
    assert f["is_context"].sum() == 14


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("CNY", ("CNY", "exact")),
        ("CNY (lower bound)", ("CNY", "lower_bound")),
        ("person-times (approx.)", ("person-times", "approx")),
        ("schools (lower bound; 所(次))", ("schools", "lower_bound")),
        ("CNY (incl. economic cooperation 7.62亿 and free aid 2.03亿)", ("CNY", "exact")),
    ],
)
def test_parse_unit(unit: str, expected: tuple[str, str]) -> None:
    assert parse_unit(unit) == expected


@pytest.mark.parametrize(
    ("text", "adcode", "reason_start"),
    [
        ("云南省 (26 key counties; focus 文山州, 红河州, 普洱市, 迪庆州)", "530000", None),
        ("喀什地区 (莎车, 泽普, 叶城, 巴楚)", "653100", None),
        ("广东省佛山市南海区", "440605", None),
        ("云南省临沧市沧源佤族自治县", "530927", None),
        ("日喀则市上海实验学校", "540200", None),
        ("上海市, 广东省", None, "aggregate of several places"),
        ("东部省市", None, "aggregate of several places"),
        ("8 eastern provinces and municipalities", None, "aggregate of several places"),
        ("(recipient total; not attributable to donor alone)", None, "not a place"),
        ("宝钢集团", None, "not a place"),
        ("", None, "blank"),
    ],
)
def test_free_text(
    gazetteer: Gazetteer, text: str, adcode: str | None, reason_start: str | None
) -> None:
    place, _note, reason = resolve_free_text(gazetteer, text)
    assert (place.adcode if place else None) == adcode
    assert (reason or "").startswith(reason_start or "")
    assert (reason is None) == (reason_start is None)


def test_every_unresolved_figure_has_a_reason(data: ReferenceData) -> None:
    f = data.figures
    shown = f["recipient_adcode"].notna() | f["scope_group"].notna()
    assert f.loc[~shown, "unresolved_reason"].notna().all()
    assert f.loc[f["scope_group"].notna(), "unresolved_reason"].isna().all()
    assert f.loc[f["recipient_adcode"].notna(), "unresolved_reason"].isna().all()


def test_program_inferred_only_when_one_programme_links_them(data: ReferenceData) -> None:
    f = data.figures.set_index("row_number")
    # 上海 -> 云南省: only east_west_cooperation links them.
    assert f.loc[1, "program"] == "east_west_cooperation"
    # 上海 -> 云南省德昂族村: the villages (a pairing of programme "other") are inside 云南省,
    # so the recipient resolves to the province but no programme is guessed.
    assert f.loc[21, "recipient"].startswith("云南省德昂族村")
    assert f.loc[21, "recipient_adcode"] == "530000"
    assert f.loc[21, "program"] is None or f.loc[21, "program"] != f.loc[21, "program"]
    programs = set(data.figures["program"].dropna())
    assert programs <= set(data.pairings["program"])


# -- strict validation -----------------------------------------------------------------
def _broken_copy(tmp_path: Path, name: str, row: int, column: str, value: str) -> Path:
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, folder)
    path = folder / name
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        rows = list(reader)
    rows[row - 1][column] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.mark.parametrize(
    ("name", "row", "column", "value", "expected"),
    [
        ("pairings.csv", 14, "program", "east_west", "unknown programme"),
        ("pairings.csv", 3, "confidence", "probably", "unknown confidence"),
        ("pairings.csv", 5, "start_year", "199x", "not a year"),
        ("pairings.csv", 3, "start_year", "2030", "starts after end_year 2016"),
        ("figures.csv", 7, "value", "1,200", "not a plain number"),
        ("figures.csv", 9, "period_end", "20100", "not a year"),
        ("figures.csv", 2, "quote", "", "required"),
    ],
)
def test_bad_input_names_file_row_column_value(
    tmp_path: Path,
    gazetteer: Gazetteer,
    name: str,
    row: int,
    column: str,
    value: str,
    expected: str,
) -> None:
    folder = _broken_copy(tmp_path, name, row, column, value)
    with pytest.raises(ReferenceDataError) as info:
        load_reference(folder, gazetteer)
    message = str(info.value)
    assert f"{name}, row {row} (line {row + 1}), column {column}: {value!r}" in message
    assert expected in message
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (name, row, column, value)


def test_missing_column_is_reported(tmp_path: Path, gazetteer: Gazetteer) -> None:
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, folder)
    text = (folder / "pairings.csv").read_text(encoding="utf-8")
    (folder / "pairings.csv").write_text(text.replace("confidence", "certainty", 1), "utf-8")
    with pytest.raises(ReferenceDataError, match=r"pairings.csv, row 0 .*column confidence"):
        load_reference(folder, gazetteer)
