"""Registers as offices keep them (issue 11): the corpus made by make_registers.py.

Every shape is imported as .xlsx and as GBK .csv and must give the totals the generator
computed with Decimal from the numbers it wrote, to the yuan, both in the summary and
in the rows stored; the rows skipped, the title's unit and year and the joined header
names are checked as the summary JSON reports them.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from test_import_support import CORPUS, count, make_store, run_tiny

from twinning.imports.headers import match_header, match_parts
from twinning.imports.layout import ReadOptions
from twinning.imports.register import read_title, total_kind

EXPECTED = json.loads((CORPUS / "registers_expected.json").read_text(encoding="utf-8"))

FILES = [
    "reg_fund_plan.xlsx",
    "reg_fund_plan.csv",
    "reg_three_row.xlsx",
    "reg_three_row.csv",
    "reg_project_list.xlsx",
    "reg_project_list.csv",
    "reg_mismatch.xlsx",
    "reg_mismatch.csv",
]


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TWINNING_UPLOAD_DIR", str(tmp_path / "uploads"))
    return make_store(tmp_path)


def _stored_sums(store, batch_id: int) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT metric, SUM(value) FROM figures WHERE batch_id = :b GROUP BY metric"),
            {"b": batch_id},
        ).all()
    return {m: round(v) for m, v in rows}


def _totals(result) -> dict[str, int]:
    return {k: v["value"] for k, v in result.totals.items()}


@pytest.mark.parametrize("name", FILES)
def test_each_register_shape_gives_its_totals_to_the_yuan(store, name):
    exp = EXPECTED[name.split(".")[0]]
    result = run_tiny(CORPUS / name, store)
    assert result.ok, [p.line() for p in result.report.problems if p.severity == "error"]
    assert result.rows == exp["rows"]
    assert _totals(result) == exp["totals"]
    assert _stored_sums(store, result.batch_id) == exp["totals"]
    summary = result.as_json()
    assert summary["read"]["title"]["unit"] == exp["title_unit"]
    assert summary["read"]["year"] == exp["title_year"]
    assert summary["read"]["year_from"] == "title"
    if "skipped" in exp:
        assert summary["skipped_rows"] == exp["skipped"]


def test_the_issues_fund_plan_is_read_as_the_office_wrote_it(store):
    result = run_tiny(CORPUS / "reg_fund_plan.xlsx", store, dry_run=True)
    read = result.as_json()["read"]
    assert read["header_rows"] == [3, 4]
    cols = {c["name"]: c for c in read["columns"]}
    assert (
        cols["帮扶资金/合计"]["field"] == "funds_cny" and cols["帮扶资金/合计"]["role"] == "total"
    )
    part = cols["帮扶资金/财政援助资金"]
    assert (part["field"], part["role"], part["unit"], part["unit_from"]) == (
        "funds_cny",
        "part",
        "万元",
        "title",
    )
    assert cols["州(市)"]["field"] == "recipient_prefecture"
    assert cols["县(市、区)"]["field"] == "recipient_county"
    assert cols["序号"]["field"] == "serial"
    assert cols["受益人口"]["field"] == "people_benefited"
    assert cols["带动脱贫人口"]["field"] == "people_lifted"
    assert read["title"]["rows"] == [1, 2] and read["unit_from"] == "title"
    assert result.report.errors == 0
    notes = [p for p in result.report.problems if p.code == "note_row"]
    assert [p.row for p in notes] == [13, 14] and notes[0].value.startswith("注：")
    assert notes[0].message_zh and notes[0].message


def test_short_county_names_resolve_within_their_prefecture(store):
    result = run_tiny(CORPUS / "reg_fund_plan.csv", store)
    assert result.ok
    with store.engine.connect() as conn:
        got = dict(
            conn.execute(
                text(
                    "SELECT recipient, recipient_adcode FROM figures WHERE batch_id = :b "
                    "GROUP BY recipient, recipient_adcode"
                ),
                {"b": result.batch_id},
            ).all()
        )
    assert got == {
        "富宁": "532628",
        "广南县": "532627",
        "丘北": "532626",
        "镇雄": "530627",
        "彝良县": "530628",
    }


def test_parts_are_stored_and_the_total_column_is_not(store):
    result = run_tiny(CORPUS / "reg_fund_plan.xlsx", store)
    with store.engine.connect() as conn:
        quotes = [
            q
            for (q,) in conn.execute(
                text("SELECT quote FROM figures WHERE batch_id = :b AND metric = 'funds_cny'"),
                {"b": result.batch_id},
            )
        ]
    assert len(quotes) == 10  # 5 counties x (财政援助资金, 社会帮扶资金)
    assert not any(q.startswith("帮扶资金/合计") for q in quotes)


def test_subtotal_and_parts_that_do_not_add_up_are_warnings_naming_rows_and_values(store):
    result = run_tiny(CORPUS / "reg_mismatch.xlsx", store)
    assert result.ok
    (parts,) = [p for p in result.report.problems if p.code == "parts_mismatch"]
    assert (parts.row, parts.column, parts.value) == (4, "资金合计", "90")
    assert "parts add up to 80" in parts.message and "其中:财政资金 60" in parts.message
    assert "各分项相加为 80" in parts.message_zh
    (sub,) = [p for p in result.report.problems if p.code == "total_mismatch"]
    assert (sub.row, sub.column, sub.value) == (7, "资金合计", "55")
    assert sub.message == (
        "the subtotal row says 55 but the rows it sums (row 6) add up to 50 (difference 5)"
    )
    assert sub.message_zh == "小计行为 55，但其所合计的行（第 6 行）相加为 50（相差 5）"


def test_workbook_with_one_sheet_per_year_imports_in_one_batch(store):
    exp = EXPECTED["reg_per_year"]
    result = run_tiny(CORPUS / "reg_per_year.xlsx", store, sheet="all")
    assert result.ok, [p.line() for p in result.report.problems]
    summary = result.as_json()
    assert [s["sheet"] for s in summary["sheets"]] == exp["sheets"]
    assert [s["sheet"] for s in summary["skipped_sheets"]] == exp["skipped_sheets"]
    assert _totals(result) == exp["totals"]
    assert summary["read"]["2019年"]["year_from"] == "sheet"
    assert summary["read"]["文山州"]["year_from"] == "title"
    assert summary["read"]["文山州"]["year"] == "2021"
    with store.engine.connect() as conn:
        years = [
            y
            for (y,) in conn.execute(
                text(
                    "SELECT DISTINCT period_start FROM figures WHERE batch_id = :b "
                    "ORDER BY period_start"
                ),
                {"b": result.batch_id},
            )
        ]
        (batches,) = conn.execute(text("SELECT count(*) FROM batches WHERE kind='import'")).one()
    assert years == [2019, 2020, 2021] and batches == 1


def test_year_and_unit_given_for_the_file_override_the_title(store):
    base = EXPECTED["reg_fund_plan"]["totals"]["funds_cny"]
    result = run_tiny(
        CORPUS / "reg_fund_plan.csv",
        store,
        dry_run=True,
        options=ReadOptions(year=2019, unit="元"),
    )
    assert result.ok
    read = result.as_json()["read"]
    assert (read["year"], read["year_from"], read["unit"], read["unit_from"]) == (
        "2019",
        "option",
        "元",
        "option",
    )
    assert _totals(result)["funds_cny"] * 10_000 == base


def test_a_bad_place_in_a_register_stores_nothing_and_names_row_column_value(store, tmp_path):
    raw = (CORPUS / "reg_fund_plan.csv").read_bytes().decode("gbk").replace("丘北", "丘比特")
    bad = tmp_path / "bad_register.csv"
    bad.write_bytes(raw.encode("gbk"))
    before = count(store, "figures")
    result = run_tiny(bad, store)
    assert not result.ok and count(store, "figures") == before
    (p,) = [p for p in result.report.problems if p.severity == "error"]
    assert (p.file, p.row, p.column, p.value) == ("bad_register.csv", 8, "县(市、区)", "丘比特")
    assert "丘比特" in p.message and "丘比特" in p.message_zh


def test_donor_named_only_in_the_title():
    info = read_title(
        [(1, ["上海市东西部协作2020年资金使用情况表"]), (2, [None, "金额单位：亿元"])]
    )
    assert (info.unit, info.year) == ("亿元", 2020)


def test_donor_from_the_title_is_read_and_reported(store):
    result = run_tiny(CORPUS / "reg_three_row.xlsx", store, dry_run=True)
    read = result.as_json()["read"]
    assert (read["donor"], read["donor_from"]) == ("上海市", "title")


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("小计", "subtotal"),
        ("文山州小计", "subtotal"),
        ("文山州合计", "subtotal"),
        ("合 计", "total"),
        ("总计", "total"),
        ("全省合计", "total"),
        ("Total", "total"),
        ("其中：财政资金", "breakdown"),
        ("@SUM(A1)", None),
        ("富宁县", None),
        ("合计项目", None),
    ],
)
def test_total_labels(cell, kind):
    assert total_kind(cell) == kind


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("省（区、市）", "recipient_province"),
        ("省(区、市)", "recipient_province"),
        ("州（市）", "recipient_prefecture"),
        ("地（州、市）", "recipient_prefecture"),
        ("州市", "recipient_prefecture"),
        ("县（市、区）", "recipient_county"),
        ("县（市、区、旗）", "recipient_county"),
        ("县市区", "recipient_county"),
        ("乡镇", "township"),
        ("乡（镇）", "township"),
        ("村", "village"),
        ("受益人口", "people_benefited"),
        ("带动脱贫人口", "people_lifted"),
        ("脱贫人口", "people_lifted"),
        ("项目名称", "project"),
    ],
)
def test_place_and_people_headers(header, field):
    assert match_header(header)[0] == field


def test_joined_names_map_by_their_lowest_named_part():
    assert match_parts(["帮扶资金", "合计"])[0] == "funds_cny"
    assert match_parts(["受益情况", "带动脱贫人口"])[0] == "people_lifted"
    assert match_parts(["帮扶资金", "万元"])[:2] == ("funds_cny", "万元")
    assert match_parts(["帮扶方", "省"])[0] == "donor_province"
    assert match_parts(["受援地", "县（市、区）"])[0] == "recipient_county"


def test_title_years_that_are_not_the_datas_year(tmp_path, store):
    f = tmp_path / "cum.csv"
    f.write_text(
        "截至2021年累计帮扶资金表\n帮扶方,受援县,帮扶资金(万元)\n上海市,富宁县,5\n", "utf-8"
    )
    result = run_tiny(f, store, dry_run=True)
    (p,) = [p for p in result.report.problems if p.severity == "error"]
    assert (p.code, p.row, p.value) == ("title_year", 1, "2021年")
    info = read_title([(1, ["2021年度项目表"]), (2, ["填报日期：2022年3月15日"])])
    assert info.year == 2021  # the date it was filled in is not the year it covers


def test_cli_year_unit_sheet_options(store, monkeypatch, capsys):
    from test_import_support import tiny_gazetteer

    from twinning.cli import main
    from twinning.imports import cli as import_cli

    monkeypatch.setenv("TWINNING_LANG", "en")
    monkeypatch.setattr(import_cli, "_open_store", lambda: store)
    monkeypatch.setattr("twinning.imports.keep.default_resolver", lambda: tiny_gazetteer().resolve)
    argv = ["import", str(CORPUS / "reg_fund_plan.csv"), "--dry-run", "--year", "2016-2020"]
    assert main([*argv, "--unit", "亿元", "--donor", "上海市"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert "Rows without a year column are for 2016-2020 (from the command line)" in cap.err
    assert "Money columns without a unit are in 亿元 (from the command line)" in cap.err
    assert "Not imported as data (subtotal rows): row(s) 9, 12" in cap.err
    assert (out["read"]["year"], out["read"]["year_from"], out["read"]["unit"]) == (
        "2016-2020",
        "option",
        "亿元",
    )
    assert (
        out["totals"]["funds_cny"]["value"]
        == EXPECTED["reg_fund_plan"]["totals"]["funds_cny"] * 10_000
    )
    assert out["read"]["donor"] is None  # the file has a donor column
    assert main([*argv, "--unit", "人"]) == 1
    assert "--unit '人' is not a money unit" in capsys.readouterr().err
    assert main(["import", str(CORPUS / "reg_per_year.xlsx"), "--dry-run", "--sheet", "all"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sheet"] == "all" and len(out["sheets"]) == 3
    assert out["totals"]["projects"]["value"] == EXPECTED["reg_per_year"]["totals"]["projects"]


@pytest.mark.parametrize("name", ["reg_project_list.xlsx", "reg_fund_plan.xlsx"])
def test_projects_and_parts_with_equal_values_are_all_counted(store, name):
    """Two projects of one county with equal funds (and two parts of one total with equal
    values) are different figures: the store's duplicate rule counts every one of them."""
    exp = EXPECTED[name.split(".")[0]]
    result = run_tiny(CORPUS / name, store)
    assert result.ok
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT metric, SUM(value), SUM(CASE WHEN counted THEN 1 ELSE 0 END), count(*) "
                "FROM figures WHERE batch_id = :b AND counted GROUP BY metric"
            ),
            {"b": result.batch_id},
        ).all()
        not_counted = conn.execute(
            text("SELECT count(*) FROM figures WHERE batch_id = :b AND NOT counted"),
            {"b": result.batch_id},
        ).scalar_one()
    assert {m: round(v) for m, v, _n, _c in rows} == exp["totals"] and not_counted == 0


def test_project_rows_keep_their_name_place_and_township(store):
    result = run_tiny(CORPUS / "reg_project_list.xlsx", store)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT project, recipient_adcode, metric, value, quote FROM figures "
                "WHERE batch_id = :b AND row_number = 5 ORDER BY metric"
            ),
            {"b": result.batch_id},
        ).all()
    assert {r.metric for r in rows} == {
        "funds_cny",
        "people_benefited",
        "people_lifted",
        "projects",
    }
    assert len({r.project for r in rows}) == 1 and rows[0].project.endswith("项目2")
    assert {r.recipient_adcode for r in rows} == {"532628"}  # 富宁县, merged over its rows
    funds = next(r for r in rows if r.metric == "funds_cny")
    assert "乡镇: 富宁镇" in funds.quote and "村: 2村" in funds.quote
    assert next(r.value for r in rows if r.metric == "projects") == 1


def _write(tmp_path, name: str, text_: str, encoding: str = "utf-8"):
    f = tmp_path / name
    f.write_bytes(text_.encode(encoding))
    return f


def test_group_rows_numbered_like_chapters_are_subtotals_not_figures(store, tmp_path):
    """一 / 二 rows naming a prefecture above their items hold the items' sums."""
    f = _write(
        tmp_path,
        "groups.csv",
        "2020年上海市对口帮扶项目明细表,,,,,\n"
        "填报单位（盖章）：上海市合作交流办,,,,单位：万元、人,\n"
        "序号,州（市）,县（区）,项目名称,援助资金,受益贫困人口\n"
        '合计,,,,"1,350.5",3000\n'
        "一,文山州,,,1000,2000\n"
        "1,文山州,丘北,食用菌产业园,600,1200\n"
        "2,文山州,富宁,茶叶加工,400,800\n"
        "二,昭通市,,,350.5,1000\n"
        "3,昭通市,镇雄县,富硒茶基地,350.5,1000\n"
        "注：以上资金已全部拨付。,,,,,\n",
        "gbk",
    )
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    assert _totals(result) == {"funds_cny": 13_505_000, "people_benefited": 3000, "projects": 3}
    assert result.as_json()["skipped_rows"] == {"total": [4], "subtotal": [5, 8], "note": [10]}
    assert result.as_json()["read"]["donor"] == "上海市"
    assert not [p for p in result.report.problems if p.code == "total_mismatch"]


def test_of_which_columns_receiving_sides_and_counts_in_headers(store, tmp_path):
    f = _write(
        tmp_path,
        "sides.csv",
        "2019年度东西部扶贫协作资金项目表\n金额单位：元\n"
        "序号,帮扶城市,被帮扶县,项目（个）,资金规模,,,,受益人数（人）,\n"
        ",,,,小计,中央,省级,市县,合计,其中：建档立卡贫困人口\n"
        '1,上海市,富宁县,2,"1,000,000","500,000","300,000","200,000",500,100\n'
        '2,上海市,广南县,1,"2,000,000","1,000,000","600,000","400,000",800,200\n'
        '总计,,,3,"3,000,000","1,500,000","900,000","600,000",1300,300\n',
    )
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    cols = {c["name"]: c for c in result.as_json()["read"]["columns"]}
    assert cols["被帮扶县"]["field"] == "recipient_county"
    assert cols["项目(个)"]["field"] == "projects"
    assert (cols["资金规模/市县"]["field"], cols["资金规模/市县"]["role"]) == ("funds_cny", "part")
    assert cols["受益人数(人)/其中:建档立卡贫困人口"]["role"] == "inside"
    # the 其中 column is inside 合计: 1300 people benefited, not 1600
    assert _totals(result) == {"funds_cny": 3_000_000, "people_benefited": 1300, "projects": 3}


def test_formula_totals_without_saved_results_are_not_errors(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["2021年度上海市对口帮扶项目资金安排表"])
    ws.append(["单位：万元"])
    ws.append(["序号", "州（市）", "县（市、区）", "帮扶资金", None, None, "受益人口"])
    ws.append([None, None, None, "合计", "财政援助资金", "社会帮扶资金", None])
    ws.merge_cells("D3:F3")
    ws.append(["合计", None, None, "=SUM(D6:D7)", "=SUM(E6:E7)", "=SUM(F6:F7)", "=SUM(G6:G7)"])
    ws.append([1, "文山州", "丘北", "=E6+F6", 100, 20, 300])
    ws.append([2, "昭通市", "镇雄", 30, None, None, 50])
    path = tmp_path / "formulas.xlsx"
    wb.save(path)
    result = run_tiny(path, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    assert _totals(result) == {"funds_cny": 1_500_000, "people_benefited": 350}


def test_a_sheet_name_and_a_title_that_disagree_on_the_year_are_refused(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "2020年"
    ws.append(["2021年度帮扶资金表（单位：万元）"])
    ws.append(["帮扶方", "受援县", "帮扶资金"])
    ws.append(["上海市", "富宁县", 5])
    path = tmp_path / "years.xlsx"
    wb.save(path)
    result = run_tiny(path, store, dry_run=True)
    (p,) = [p for p in result.report.problems if p.severity == "error"]
    assert (p.code, p.row, p.value) == ("title_year", 1, "2021年度")
    assert "2020" in p.message and "2020" in p.message_zh


def test_the_import_page_says_how_it_read_the_header_and_takes_year_and_unit(tmp_path, monkeypatch):
    from test_import_support import page_env, upload_data_url

    from components import import_page as page

    env = page_env(tmp_path, monkeypatch)
    token, _ = page.sign_in("admin", "s3cret", "en")
    out = page.receive_upload(
        upload_data_url("reg_fund_plan.xlsx"), "reg_fund_plan.xlsx", token, "en"
    )
    lines = page.read_lines(out["read"], "en")
    assert lines[0].startswith("The workbook's sheets 2021年安排表, 说明 are imported as one batch")
    assert lines[1].startswith("Header: row(s) 3, 4 (2 rows); joined column names: 帮扶资金/合计;")
    assert "Money columns without a unit are in 万元 (from the title)" in lines
    assert "Rows without a year column are for 2021 (from the title)" in lines
    assert [m["label"] for m in out["mapping"]][4:7] == [
        "帮扶资金/合计",
        "帮扶资金/财政援助资金",
        "帮扶资金/社会帮扶资金",
    ]
    zh = page.read_lines(out["read"], "zh")
    assert "未写单位的金额列按 万元 计（来自标题）" in zh
    labels = [m["label"] for m in out["mapping"]]
    fields = [m["field"] for m in out["mapping"]]
    res = page.check_file(out["file"], labels, fields, token, "en", env, year="2019", unit="元")
    assert res["ok"], res["problems"]
    read = res["result"]["read"]
    assert (read["year"], read["year_from"], read["unit"], read["unit_from"]) == (
        "2019",
        "option",
        "元",
        "option",
    )
    assert (
        res["result"]["totals"]["funds_cny"]["value"] * 10_000
        == (EXPECTED["reg_fund_plan"]["totals"]["funds_cny"])
    )
    skipped = page.read_lines(res["result"]["read"], "en", res["result"]["skipped_rows"])
    assert "Not imported as data (subtotal rows): row(s) 9, 12" in skipped
    assert "Not imported as data (notes): row(s) 13, 14" in skipped
    bad = page.check_file(out["file"], labels, fields, token, "en", env, year="明年")
    assert not bad["ok"] and bad["message"].startswith("The year or unit cannot be read")
    # the person corrects the mapping: 带动脱贫人口 not imported
    fields[labels.index("带动脱贫人口")] = "__none__"
    res = page.confirm_import(out["file"], labels, fields, token, "en", env)
    assert res["ok"] and "people_lifted" not in res["result"]["totals"]
    assert (
        res["result"]["totals"]["funds_cny"]["value"]
        == (EXPECTED["reg_fund_plan"]["totals"]["funds_cny"])
    )


def test_years_over_columns_and_a_unit_note_in_the_header_row(store, tmp_path):
    f = _write(
        tmp_path,
        "by_year.csv",
        "2016-2020年上海市对口帮扶资金（分年度）\n"
        "序号,州（市）,县（市、区）,2019年,,2020年,,单位：万元\n"
        ",,,资金,项目,资金,项目,\n"
        "1,文山州,丘北,100,2,200,3,\n"
        "2,文山州,富宁,50,1,60,1,\n"
        "合计,,,150,3,260,4,\n",
    )
    result = run_tiny(f, store)
    assert result.ok, [p.line() for p in result.report.problems]
    read = result.as_json()["read"]
    assert (read["year_from"], read["unit"], read["donor"]) == ("header", "万元", "上海市")
    cols = {c["name"]: (c["field"], c["year"]) for c in read["columns"]}
    assert cols["2019年/资金"] == ("funds_cny", 2019) and cols["2020年/项目"] == ("projects", 2020)
    assert _totals(result) == {"funds_cny": 4_100_000, "projects": 7}
    with store.engine.connect() as conn:
        by_year = dict(
            conn.execute(
                text(
                    "SELECT period_start, SUM(value) FROM figures WHERE batch_id = :b "
                    "AND metric = 'funds_cny' GROUP BY period_start"
                ),
                {"b": result.batch_id},
            ).all()
        )
    assert by_year == {2019: 1_500_000, 2020: 2_600_000}


def test_a_year_in_a_one_row_header_is_that_columns_year(store, tmp_path):
    f = _write(
        tmp_path,
        "named_years.csv",
        "帮扶方,受援县,2019年帮扶资金（万元）,2020年度帮扶资金（万元）\n上海市,丘北县,100,200\n",
    )
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    cols = {c["name"]: c["year"] for c in result.as_json()["read"]["columns"]}
    assert cols == {
        "帮扶方": None,
        "受援县": None,
        "2019年帮扶资金(万元)": 2019,
        "2020年度帮扶资金(万元)": 2020,
    }


def test_a_places_detail_lists_its_projects_with_their_funds(store):
    from components.projects_panel import project_section
    from twinning.filters import Filters
    from twinning.query import AtlasData
    from twinning.query.projects import place_projects

    result = run_tiny(CORPUS / "reg_project_list.xlsx", store)
    assert result.ok
    again = run_tiny(CORPUS / "reg_project_list.csv", store)  # the same projects again
    assert not again.ok and {p.code for p in again.report.problems} >= {"duplicate_stored"}
    data = AtlasData.from_store(store)
    found = place_projects(data, Filters(lang="zh"), "532628")  # 富宁县
    rows = found.rows
    assert found.n == len(rows) >= 2
    assert all(name.startswith("富宁") for name in rows["project"])
    assert list(rows["funds"]) == sorted(rows["funds"], reverse=True)  # most funds first
    with store.engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT project, SUM(value) FROM figures WHERE batch_id = :b "
                "AND metric = 'funds_cny' AND recipient_adcode = '532628' GROUP BY project"
            ),
            {"b": result.batch_id},
        ).all()
    assert dict(zip(rows["project"], rows["funds"], strict=True)) == dict(stored)
    # 丘北县's projects are under 文山州 too
    assert place_projects(data, Filters(lang="zh"), "532600").n >= found.n + 2
    section = project_section(data, Filters(lang="en"), "532628")
    assert section[0].children == f"Projects ({found.n})"
    assert "Funds" in str(section[1].children[0]) or "funds" in str(section[1].children[0]).lower()
    assert project_section(data, Filters(lang="en"), "110105") == []  # no projects there


def test_a_sheet_or_title_naming_the_area_places_its_short_names(store, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "长春市"  # one sheet per prefecture, no prefecture column
    ws.append(["2020年帮扶资金台账", None, "单位：万元"])
    ws.append(["帮扶方", "县（市、区）", "帮扶资金"])
    ws.append(["上海市", "朝阳区", 10])  # two 朝阳区 in China: this one is 长春市's
    other = wb.create_sheet("文山州")
    other.append(["2020年帮扶资金台账", None, "单位：万元"])
    other.append(["帮扶方", "县（市、区）", "帮扶资金"])
    other.append(["上海市", "富宁", 5])
    path = tmp_path / "by_prefecture.xlsx"
    wb.save(path)
    result = run_tiny(path, store, sheet="all")
    assert result.ok, [p.line() for p in result.report.problems]
    assert result.as_json()["read"]["长春市"]["within_from"] == "sheet"
    with store.engine.connect() as conn:
        codes = sorted(
            c
            for (c,) in conn.execute(
                text("SELECT recipient_adcode FROM figures WHERE batch_id = :b"),
                {"b": result.batch_id},
            )
        )
    assert codes == ["220104", "532628"]
    f = _write(
        tmp_path,
        "title_area.csv",
        "2020年度上海市对口帮扶吉林省长春市资金表（单位：万元）\n帮扶方,县（市、区）,帮扶资金\n上海市,朝阳区,11\n",
    )
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    assert result.as_json()["read"]["within_from"] == "title"
    f = _write(
        tmp_path, "no_area.csv", "帮扶方,县（市、区）,年度,帮扶资金(万元)\n上海市,朝阳区,2020,10\n"
    )
    result = run_tiny(f, store, dry_run=True)
    assert [p.code for p in result.report.problems if p.severity == "error"] == ["ambiguous_place"]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("资金来源", None),  # where the money came from: text, not the figure's source
        ("资金用途", None),
        ("资金性质", None),
        ("项目类别", None),
        ("项目类型", None),  # a project's kind, not the programme
        ("实施单位", None),  # not a unit column
        ("项目地点", None),
        ("项目进度", None),
        ("受益户数", None),  # households, not people
        ("受益对象", None),
        ("援建单位", "donor"),
        ("实施年度", "year"),
        ("建设项目", "project"),
        ("东西部协作资金（万元）", "funds_cny"),
        ("来源 Source", "source"),
        ("备注 Note", "note"),
    ],
)
def test_description_columns_are_not_read_as_figures(header, field):
    assert match_header(header)[0] == field


def test_a_long_table_takes_the_titles_money_unit(store, tmp_path):
    f = _write(
        tmp_path,
        "long_title.csv",
        "2020年帮扶情况（单位：万元）\n年度,帮扶方,受援县,指标,数值\n"
        "2020,上海市,富宁县,帮扶资金,12.5\n2020,上海市,富宁县,受益人口,300\n",
    )
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    assert _totals(result) == {"funds_cny": 125_000, "people_benefited": 300}


def test_the_import_page_imports_every_sheet_of_a_workbook(tmp_path, monkeypatch):
    from test_import_support import page_env, upload_data_url

    from components import import_page as page

    env = page_env(tmp_path, monkeypatch)
    token, _ = page.sign_in("admin", "s3cret", "zh")
    out = page.receive_upload(
        upload_data_url("reg_per_year.xlsx"), "reg_per_year.xlsx", token, "zh"
    )
    assert out["file"]["sheets"] == ["2019年", "2020年", "文山州", "说明"]
    assert page.read_lines(out["read"], "zh")[0].startswith("工作簿有 2019年, 2020年, 文山州, 说明")
    labels = [m["label"] for m in out["mapping"]]
    fields = [m["field"] for m in out["mapping"]]
    res = page.confirm_import(out["file"], labels, fields, token, "zh", env)
    assert res["ok"], res["problems"]
    assert (
        res["result"]["totals"]["funds_cny"]["value"]
        == (EXPECTED["reg_per_year"]["totals"]["funds_cny"])
    )
    assert [s["sheet"] for s in res["result"]["skipped_sheets"]] == ["说明"]
    # the template's 说明 Fields sheet is notes too
    from twinning.imports.keep import _NOTES_SHEET

    assert _NOTES_SHEET.match("说明 Fields") and not _NOTES_SHEET.match("说明书")


def test_a_cell_that_states_its_scale_is_not_scaled_again_by_the_title(store, tmp_path):
    f = _write(
        tmp_path,
        "scaled.csv",
        "2020年帮扶资金表\n单位：万元\n帮扶方,受援县〔市、区〕,帮扶资金\n"
        "上海市,富宁县,100万\n上海市,广南县,20\n上海市,丘北县,3亿元\n合计,,30120万\n",
    )
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    # 100万 = 1,000,000; 20 (万元, the title) = 200,000; 3亿元 = 300,000,000
    assert _totals(result) == {"funds_cny": 301_200_000}
    assert not [p for p in result.report.problems if p.code == "total_mismatch"]


def _variant(seed: int) -> tuple[bytes, dict, dict]:
    """One seeded register: header words, bracket styles, where the unit is (title, header,
    a units row), one or two header rows, 小计 in a place column or in 序号 or none, 合计 at
    the top or the bottom, a note, the donor and the year in a column or in the title, and
    the encoding; with the totals it must give (computed with Decimal from its cells)."""
    import csv
    import io
    import random
    from decimal import Decimal

    r = random.Random(seed)
    unit_word, mult = r.choice([("万元", 10_000), ("元", 1), ("亿元", 10**8)])
    unit_where = r.choice(["title", "header", "subrow"])
    two_row = r.random() < 0.6
    pref = r.choice(["州（市）", "州(市)", "地（州、市）", "市州", "州市"])
    county = r.choice(["县（市、区）", "县(市、区、旗)", "县市区", "县区", "受援县"])
    donor_col, year_col = r.random() < 0.7, r.random() < 0.5
    total_top, note = r.random() < 0.5, r.random() < 0.7
    subtotal = r.choice(["pref", "serial", "none"])
    people = r.choice(["受益人口", "受益人数（人）", "带动脱贫人口"])
    rows: list[list[str]] = [
        [
            ("" if year_col else "2021年度")
            + ("" if donor_col else "上海市对口帮扶云南省")
            + "项目资金安排表"
        ]
    ]
    if unit_where == "title":
        rows.append(["填报单位：合作交流办", "", "", "", "", "", f"单位：{unit_word}"])
    head = ["序号"] + (["帮扶方"] if donor_col else []) + [pref, county]
    head += ["年度"] if year_col else []
    fund = "帮扶资金" + (f"（{unit_word}）" if unit_where == "header" else "")
    if two_row:
        sub = ["合计", "财政资金", "社会资金"]
        if unit_where == "subrow":
            sub = [f"{s}（{unit_word}）" for s in sub]
        rows += [[*head, fund, "", "", people], [""] * len(head) + sub + [""]]
    else:
        rows.append([*head, fund if unit_where != "subrow" else f"帮扶资金（{unit_word}）", people])
    data: list[list[str]] = []
    funds, persons, serial = Decimal(0), 0, 0
    for prefecture, counties in (
        ("文山州", ["富宁", "广南县", "丘北"]),
        ("昭通市", ["镇雄", "彝良县"]),
    ):
        sub_f, sub_p = Decimal(0), 0
        for name in counties:
            serial += 1
            a, b = Decimal(r.randrange(1, 9999)) / 100, Decimal(r.randrange(0, 999)) / 100
            p = r.randrange(10, 5000)
            row = [str(serial)] + (["上海市"] if donor_col else []) + [prefecture, name]
            row += ["2021"] if year_col else []
            row += ([str(a + b), str(a), str(b)] if two_row else [str(a + b)]) + [str(p)]
            data.append(row)
            sub_f, sub_p = sub_f + a + b, sub_p + p
        if subtotal != "none":
            label = ["小计" if subtotal == "serial" else ""] + ([""] if donor_col else [])
            label += [f"{prefecture}小计" if subtotal == "pref" else "", ""]
            label += [""] if year_col else []
            data.append(label + ([str(sub_f), "", ""] if two_row else [str(sub_f)]) + [str(sub_p)])
        funds, persons = funds + sub_f, persons + sub_p
    total = ["合计"] + [""] * (len(head) - 1)
    total += ([str(funds), "", ""] if two_row else [str(funds)]) + [str(persons)]
    rows += [total, *data] if total_top else [*data, total]
    if note:
        rows.append(["注：资金为计划数。"])
    width = max(len(x) for x in rows)
    buf = io.StringIO()
    writer = csv.writer(buf)
    for x in rows:
        writer.writerow(x + [""] * (width - len(x)))
    value = funds * mult
    metric = "people_lifted" if people == "带动脱贫人口" else "people_benefited"
    expected = {"funds_cny": int(value) if value == int(value) else float(value), metric: persons}
    shape = {"unit": unit_where, "two_row": two_row, "subtotal": subtotal, "top": total_top}
    return buf.getvalue().encode(r.choice(["gbk", "utf-8", "utf-8-sig"])), expected, shape


@pytest.mark.parametrize("seed", range(50))
def test_seeded_register_variants_give_their_totals_to_the_yuan(store, tmp_path, seed):
    data, expected, shape = _variant(seed)
    f = tmp_path / f"variant_{seed}.csv"
    f.write_bytes(data)
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, (shape, [p.line() for p in result.report.problems])
    assert _totals(result) == expected, shape
    assert not [p for p in result.report.problems if p.code.endswith("_mismatch")], shape


def test_a_title_split_over_two_cells_is_not_a_header_row(store, tmp_path):
    f = _write(
        tmp_path,
        "split_title.csv",
        "2021年度,上海市对口帮扶项目资金安排表,,\n"
        "帮扶方,县（市、区）,帮扶资金（万元）,资金拨付使用情况\n上海市,富宁县,10,已拨付\n",
    )
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    read = result.as_json()["read"]
    assert (read["header_rows"], read["year"], read["year_from"]) == ([2], "2021", "title")


def test_a_row_numbering_the_columns_is_not_data(store, tmp_path):
    f = _write(
        tmp_path,
        "numbered.csv",
        "2021年帮扶资金表（单位：万元）\n序号,帮扶方,县（市、区）,帮扶资金,受益人口\n"
        "甲,乙,丙,1,2\n1,上海市,富宁县,10,100\n2,上海市,广南县,20,200\n",
    )
    result = run_tiny(f, store, dry_run=True)
    assert result.ok, [p.line() for p in result.report.problems]
    assert result.as_json()["skipped_rows"] == {"heading": [3]}
    assert _totals(result) == {"funds_cny": 300_000, "people_benefited": 300}


def test_project_rows_count_in_the_headline_numbers(store):
    from twinning.filters import Filters
    from twinning.query import AtlasData, headlines

    view = Filters(lang="en", metric="projects", level="county", recipient="530000")

    def numbers() -> dict:
        return {h.key: h.value for h in headlines(AtlasData.from_store(store), view)}

    before = numbers()
    assert run_tiny(CORPUS / "reg_project_list.xlsx", store).ok
    after = numbers()
    exp = EXPECTED["reg_project_list"]["totals"]
    assert after["headline_projects"] - before["headline_projects"] == exp["projects"]
    assert after["headline_funds"] - before["headline_funds"] == exp["funds_cny"]
    assert after["headline_people"] - before["headline_people"] == exp["people_lifted"]
