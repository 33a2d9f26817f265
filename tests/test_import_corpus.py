"""Every file of the corpus (tests/data/imports/) and what it must produce.

Bad files: the exact message, row and column a person will read. Good files: the
canonical values stored (1,200 万元 -> 12,000,000 yuan exactly) whatever the
encoding, layout or language of the headers.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from test_import_support import CORPUS, make_store, tiny_gazetteer

from twinning.imports.keep import run_import

BAD = [
    # file, code, row, column, message
    ("bad_empty.csv", "empty", None, "", "the file is empty (0 bytes)"),
    (
        "bad_binary.csv",
        "binary",
        None,
        "",
        "the file is not text: it contains NUL bytes (is it a binary or a damaged file?)",
    ),
    ("bad_old_excel.xls", "xls", None, "", "this is an old Excel .xls file, which cannot be read"),
    (
        "bad_encoding.csv",
        "encoding",
        2,
        "",
        "cannot read the file as UTF-8 or GBK/GB18030: byte 45 (line 2) is not valid in either",
    ),
    (
        "bad_no_header.csv",
        "no_header",
        1,
        "",
        "no header row found: no row in the first 30 names the columns this import needs",
    ),
    ("bad_header_only.csv", "no_rows", 1, "", "no data rows below the header (row 1)"),
    ("bad_missing_columns.csv", "missing_column", 1, "", "no 受援地 / 受援县 (recipient) column"),
    ("bad_text_in_number.csv", "not_a_number", 2, "帮扶资金(万元)", "'待定' is not a number"),
    (
        "bad_unknown_unit.csv",
        "bad_unit",
        1,
        "帮扶资金(万美元)",
        "column '帮扶资金(万美元)': unknown unit '万美元'",
    ),
    (
        "bad_unknown_place.csv",
        "unknown_place",
        2,
        "受援县",
        "recipient '富宁乡' is not a known place; "
        "did you mean: 富宁县 (文山壮族苗族自治州, 532628)",
    ),
    (
        "bad_ambiguous_place.csv",
        "ambiguous_place",
        2,
        "受援县",
        "recipient '朝阳区' matches several places: "
        "朝阳区 (北京市, 110105); 朝阳区 (长春市, 220104)",
    ),
    ("bad_negative.csv", "negative", 2, "帮扶资金(万元)", "funds_cny is negative (-100)"),
    ("bad_future_year.csv", "bad_year", 2, "年度", "year 2099 is in the future (it is {year} now)"),
    (
        "bad_start_after_end.csv",
        "period_order",
        2,
        "起始年",
        "the period starts in 2020 but ends in 2016",
    ),
    (
        "bad_duplicate_rows.csv",
        "duplicate_row",
        4,
        "",
        "row 4 repeats row 2 (every mapped cell is the same)",
    ),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize(("name", "code", "row", "column", "message"), BAD)
def test_bad_file_gives_its_message_and_stores_nothing(store, name, code, row, column, message):
    import datetime as dt

    before = store.data_version()
    result = run_import(CORPUS / name, store, resolver=tiny_gazetteer().resolve, user="t")
    assert not result.ok
    assert result.batch_id is None
    errors = [p for p in result.report.problems if p.severity == "error"]
    assert len(errors) == 1, [p.line() for p in errors]
    p = errors[0]
    assert (p.code, p.file, p.row, p.column) == (code, name, row, column)
    assert p.message.startswith(message.format(year=dt.date.today().year))
    assert p.suggestion  # every problem says what to do
    assert store.data_version() == before


def test_every_bad_file_in_the_corpus_is_covered():
    on_disk = {p.name for p in CORPUS.iterdir() if p.name.startswith("bad_")}
    assert on_disk == {b[0] for b in BAD}


def _figures(store, batch_id):
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT row_number, donor, recipient, recipient_adcode, donor_adcode, metric, "
                "value, unit, value_original, unit_original, qualifier, period_start, "
                "period_end, quote, source, confidence FROM figures WHERE batch_id = :b "
                "ORDER BY id"
            ),
            {"b": batch_id},
        ).mappings()
        return [dict(r) for r in rows]


WIDE_EXPECTED = [
    # row, donor, recipient adcode, metric, value, unit, original, unit_original, qualifier
    (2, "上海市", "532628", "funds_cny", 12_000_000, "CNY", "1,200", "万元", "exact"),
    (2, "上海市", "532628", "projects", 3, "projects", "3", None, "exact"),
    (2, "上海市", "532628", "people_lifted", 500, "persons", "约500", None, "approx"),
    (3, "上海市闵行区", "532627", "funds_cny", 3_505_000, "CNY", "350.5", "万元", "exact"),
    (3, "上海市闵行区", "532627", "projects", 2, "projects", "2", None, "exact"),
    (3, "上海市闵行区", "532627", "people_lifted", 1200, "persons", "1200", None, "exact"),
]


@pytest.mark.parametrize(
    ("name", "offset", "encoding"),
    [
        ("good_utf8_wide.csv", 0, "utf-8-sig"),
        ("good_bom_wide.csv", 0, "utf-8-sig"),
        ("good_gbk_wide.csv", 2, "gb18030"),
    ],
)
def test_good_wide_csv_in_any_encoding(tmp_path, name, offset, encoding):
    store = make_store(tmp_path)
    result = run_import(CORPUS / name, store, resolver=tiny_gazetteer().resolve, user="t")
    assert result.ok, [p.line() for p in result.report.problems]
    assert result.encoding == encoding
    assert result.totals["funds_cny"] == {"value": 15_505_000, "unit": "CNY"}
    got = [
        (
            f["row_number"],
            f["donor"],
            f["recipient_adcode"],
            f["metric"],
            f["value"],
            f["unit"],
            f["value_original"],
            f["unit_original"],
            f["qualifier"],
        )
        for f in _figures(store, result.batch_id)
    ]
    assert got == [(r + offset, *rest) for r, *rest in WIDE_EXPECTED]
    fig = _figures(store, result.batch_id)[0]
    assert fig["quote"] == "帮扶资金(万元): 1,200 | 备注: 产业帮扶"
    assert fig["source"] == f"import:{name}"
    assert fig["confidence"] == "office_record"
    assert (fig["period_start"], fig["period_end"]) == (2020, 2020)
    assert fig["donor_adcode"] == "310000"
    if name == "good_gbk_wide.csv":
        assert result.skipped_total_rows == [6]  # the 合计 row adds up and is not stored


def test_good_xlsx_first_sheet_and_named_sheet(tmp_path):
    store = make_store(tmp_path)
    r1 = run_import(
        CORPUS / "good_wide.xlsx", store, resolver=tiny_gazetteer().resolve, user="t", dry_run=True
    )
    assert r1.ok and r1.sheet == "台账" and r1.header_row == 2
    assert r1.totals["funds_cny"]["value"] == 12_001_000  # 1200 万元 + 0.1 万元
    r2 = run_import(
        CORPUS / "good_wide.xlsx",
        store,
        resolver=tiny_gazetteer().resolve,
        user="t",
        sheet="英文 English",
    )
    assert r2.ok, [p.line() for p in r2.report.problems]
    assert r2.totals == {"funds_cny": {"value": 250_000_000, "unit": "CNY"}}
    r3 = run_import(
        CORPUS / "good_wide.xlsx", store, resolver=tiny_gazetteer().resolve, user="t", sheet="nope"
    )
    assert r3.report.problems[0].message == "no sheet named 'nope'"
    assert r3.report.problems[0].suggestion == "sheets in this workbook: 台账, 英文 English"


def test_good_long_form(tmp_path):
    store = make_store(tmp_path)
    result = run_import(
        CORPUS / "good_long.csv", store, resolver=tiny_gazetteer().resolve, user="t"
    )
    assert result.ok and result.form == "long"
    figs = _figures(store, result.batch_id)
    got = [
        (
            f["metric"],
            f["value"],
            f["unit"],
            f["qualifier"],
            f["period_start"],
            f["period_end"],
            f["source"],
        )
        for f in figs
    ]
    assert got == [
        ("funds_cny", 120_000_000, "CNY", "exact", 2020, 2020, "2020年工作总结"),
        ("projects", 15, "projects", "exact", 2020, 2020, "2020年工作总结"),
        ("funds_cny", 30_000_000, "CNY", "lower_bound", 2006, 2010, "十一五总结"),
        ("people_trained", 800, "person-times", "exact", 2020, 2020, "2020年工作总结"),
    ]


def test_good_english_headers(tmp_path):
    store = make_store(tmp_path)
    result = run_import(
        CORPUS / "good_english.csv", store, resolver=tiny_gazetteer().resolve, user="t"
    )
    assert result.ok
    assert result.totals == {
        "funds_cny": {"value": 12_000_000, "unit": "CNY"},
        "people_lifted": {"value": 500, "unit": "persons"},
        "projects": {"value": 3, "unit": "projects"},
    }
    figs = _figures(store, result.batch_id)
    assert figs[0]["recipient_adcode"] == "532628"
    assert figs[2]["qualifier"] == "lower_bound"


def test_good_pairings(tmp_path):
    store = make_store(tmp_path)
    result = run_import(
        CORPUS / "good_pairings.csv", store, resolver=tiny_gazetteer().resolve, user="t"
    )
    assert result.ok and result.form == "pairings" and result.records == 2
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT program, donor_province, donor_unit, donor_adcode, recipient_adcode, "
                "recipient_level, start_year, end_year FROM pairings WHERE batch_id = :b "
                "ORDER BY id"
            ),
            {"b": result.batch_id},
        ).all()
    assert [tuple(r) for r in rows] == [
        (
            "east_west_cooperation",
            "上海市",
            "上海市闵行区",
            "310112",
            "532628",
            "county",
            2018,
            2020,
        ),
        ("east_west_cooperation", "上海市", None, "310000", "532627", "county", 2017, None),
    ]
    frame = store.pairings_frame()
    assert "532628" in set(frame["recipient_adcode"])


def test_total_that_contradicts_its_parts_is_a_warning(tmp_path):
    store = make_store(tmp_path)
    result = run_import(
        CORPUS / "warn_total_mismatch.csv", store, resolver=tiny_gazetteer().resolve, user="t"
    )
    assert result.ok  # a warning does not block
    (w,) = [p for p in result.report.problems if p.code == "total_mismatch"]
    assert (w.row, w.column, w.value) == (4, "帮扶资金(万元)", "1600")
    assert w.message == (
        "the total row says 1600 but the rows it sums (rows 2-3) add up to 1550.5 (difference 49.5)"
    )
    assert result.skipped_total_rows == [4]
    assert result.records == 6


def test_wide_layout_with_a_unit_column(tmp_path):
    store = make_store(tmp_path)
    f = tmp_path / "unitcol.csv"
    f.write_text(
        "帮扶方,受援县,年度,帮扶资金,单位\n上海市,富宁县,2020,3,亿元\n上海市,广南县,2020,50,万元\n",
        encoding="utf-8",
    )
    result = run_import(f, store, resolver=tiny_gazetteer().resolve, user="t")
    assert result.ok, [p.line() for p in result.report.problems]
    assert result.totals == {"funds_cny": {"value": 300_500_000, "unit": "CNY"}}
    figs = _figures(store, result.batch_id)
    assert [(x["value_original"], x["unit_original"]) for x in figs] == [
        ("3", "亿元"),
        ("50", "万元"),
    ]


def test_xlsx_formula_without_saved_result_is_an_error_not_a_blank(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["帮扶方", "受援县", "年度", "帮扶资金(万元)"])
    wb.active.append(["上海市", "富宁县", 2020, "=1+1"])
    wb.save(tmp_path / "formula.xlsx")
    result = run_import(
        tmp_path / "formula.xlsx", make_store(tmp_path), resolver=tiny_gazetteer().resolve, user="t"
    )
    (p,) = result.report.problems
    assert (p.code, p.row, p.column, p.value) == ("not_a_number", 2, "帮扶资金(万元)", "=1+1")
    assert p.message == "'=1+1' is a formula without a saved result"
