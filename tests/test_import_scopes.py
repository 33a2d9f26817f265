"""An imported file names several places as the reference data does (issue #10): a list in a
cell, a named group, an XPCC division, a donor-side description; stored as a scope, never as
one member's figure. A name that is none of these is still an error."""

from __future__ import annotations

from pathlib import Path

from twinning.gazetteer import Gazetteer
from twinning.imports.keep import run_import
from twinning.query.scopes import figure_scopes

ROWS = """帮扶方,受援地,年度,帮扶资金(万元),项目数
上海市,"万州区, 夷陵区",2021,100,3
北京市,"和田地区, 第十四师",2021,200,4
上海市,上海对口帮扶地区,2021,300,5
北京市,兵团第十四师,2021,50,1
上海市,(in Shanghai),2021,7,1
上海市,莎车县,2021,11,2
"""


def _import(tmp_path: Path, store, text: str):
    path = tmp_path / "scopes.csv"
    path.write_text(text, encoding="utf-8")
    return run_import(path, store, resolver=Gazetteer.default().resolve, user="tester")


def test_lists_groups_divisions_and_donor_side_rows_are_imported_as_scopes(tmp_path, store):
    result = _import(tmp_path, store, ROWS)
    assert result.batch_id is not None, result.report.problems
    f = store.figures_frame()
    mine = f[f["batch_id"] == result.batch_id]
    assert len(mine) == 12  # two figures a row
    scopes = figure_scopes(store, [int(i) for i in mine["id"]])
    by_recipient = {}
    for row in mine.to_dict("records"):
        by_recipient.setdefault(row["recipient"], []).append(scopes[int(row["id"])])
    wanzhou = by_recipient["万州区, 夷陵区"]
    assert len(wanzhou) == 2 and all(s.recipient == {"420506", "500101"} for s in wanzhou)
    assert all(s.group == "list" for s in wanzhou)
    assert by_recipient["和田地区, 第十四师"][0].recipient == {"653200", "xpcc:14"}
    assert len(by_recipient["上海对口帮扶地区"][0].recipient) == 8
    assert by_recipient["兵团第十四师"][0].recipient == {"xpcc:14"}
    assert by_recipient["兵团第十四师"][0].group == "xpcc:14"
    in_shanghai = by_recipient["(in Shanghai)"][0]
    assert in_shanghai.donor_side and in_shanghai.donor == {"310000"}
    assert by_recipient["莎车县"][0].recipient == {"653125"} and not by_recipient["莎车县"][0].group
    # none of them is a member's own figure: no recipient adcode, no county on the map
    several = mine[mine["recipient"] != "莎车县"]
    assert several["recipient_adcode"].isna().all() and several["r_county"].isna().all()
    assert store.stats()["not_shown"] == 0


def test_an_unknown_name_in_a_list_is_still_an_error(tmp_path, store):
    result = _import(
        tmp_path, store, '帮扶方,受援地,年度,帮扶资金(万元)\n上海市,"万州区, 不存在县",2021,1\n'
    )
    assert result.batch_id is None
    problems = [p for p in result.report.problems if p.severity == "error"]
    assert problems and "不存在县" in problems[0].value
