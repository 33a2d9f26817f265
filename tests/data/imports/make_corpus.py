"""Rebuild the import test corpus: `python tests/data/imports/make_corpus.py`.

Every file here is synthetic and made by this script (seeded, so the bytes are
the same on every run). The README lists what each file is for; the tests in
tests/test_import_corpus.py hold the message each bad file must produce.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

WIDE_HEADER = "帮扶方,受援县,年度,帮扶资金(万元),项目数,脱贫人口,备注\n"
WIDE_ROWS = '上海市,富宁县,2020,"1,200",3,约500,产业帮扶\n上海市闵行区,广南县,2019,350.5,2,1200,\n'


def write_text(name: str, text: str, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(text.encode(encoding))


def good_files() -> None:
    write_text("good_utf8_wide.csv", WIDE_HEADER + WIDE_ROWS)
    write_text("good_bom_wide.csv", WIDE_HEADER + WIDE_ROWS, "utf-8-sig")
    # GBK with a title row and a blank row above the header, and a 合计 row that adds up
    write_text(
        "good_gbk_wide.csv",
        "2020年对口帮扶项目台账\n\n" + WIDE_HEADER + WIDE_ROWS + "合计,,,1550.5,5,1700,\n",
        "gbk",
    )
    write_text(
        "good_long.csv",
        "年度,帮扶方,受援县,指标,数值,单位,来源\n"
        "2020,上海市,富宁县,帮扶资金,1.2,亿元,2020年工作总结\n"
        "2020,上海市,富宁县,项目数,15,个,2020年工作总结\n"
        "2006-2010,上海市,广南县,funds_cny,超过3000,万元,十一五总结\n"
        "2020,上海市,富宁县,培训人数,800,人次,2020年工作总结\n",
    )
    write_text(
        "good_english.csv",
        "Donor,Recipient province,Recipient county,Year,Funds (10k yuan),Projects,"
        "People lifted\n"
        'Shanghai,Yunnan,Funing,2020,"1,200",3,more than 500\n',
    )
    write_text(
        "good_pairings.csv",
        "帮扶类型,帮扶方,受援省,受援县,起始年,结束年,来源\n"
        "东西部协作,上海市闵行区,云南省,富宁县,2018,2020,区协作办台账\n"
        "东西部协作,上海市,云南省,广南县,2017,,区协作办台账\n",
    )
    write_text(
        "warn_total_mismatch.csv",
        WIDE_HEADER + WIDE_ROWS + "合计,,,1600,5,1700,\n",
    )
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["2020年东西部协作项目台账"])
    ws.append(["帮扶方", "受援县", "年度", "帮扶资金(万元)", "项目数", "脱贫人口"])
    ws.append(["上海市", "富宁县", 2020, 1200, 3, 500])
    ws.append(["上海市", "广南县", 2019, 0.1, 1, None])
    other = wb.create_sheet("英文 English")
    other.append(["Donor", "Recipient county", "Year", "Funds (100 million yuan)"])
    other.append(["上海市", "富宁县", 2018, 2.5])
    _save(wb, "good_wide.xlsx")


def _save(wb, name: str) -> None:
    """Save with fixed timestamps (document properties and zip entries): same bytes each run."""
    import datetime as dt
    import io
    import zipfile

    wb.properties.created = dt.datetime(2024, 1, 1)
    wb.properties.modified = dt.datetime(2024, 1, 1)
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>",
                    b'<dcterms:modified xsi:type="dcterms:W3CDTF">'
                    b"2024-01-01T00:00:00Z</dcterms:modified>",
                    data,
                )
            dst.writestr(
                zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    (HERE / name).write_bytes(out.getvalue())


def bad_files() -> None:
    write_text(
        "bad_encoding.csv",
        "Donor,Recipient county,Year,Funds (yuan)\nSociété Générale,Funing,2020,100\n",
        "cp1252",
    )
    write_text("bad_missing_columns.csv", "帮扶方,年度,帮扶资金(万元)\n上海市,2020,100\n")
    write_text("bad_text_in_number.csv", WIDE_HEADER + "上海市,富宁县,2020,待定,3,,\n")
    write_text("bad_unknown_place.csv", WIDE_HEADER + "上海市,富宁乡,2020,100,3,,\n")
    write_text("bad_ambiguous_place.csv", WIDE_HEADER + "上海市,朝阳区,2020,100,3,,\n")
    write_text("bad_negative.csv", WIDE_HEADER + "上海市,富宁县,2020,-100,3,,\n")
    write_text("bad_future_year.csv", WIDE_HEADER + "上海市,富宁县,2099,100,3,,\n")
    write_text(
        "bad_start_after_end.csv",
        "帮扶方,受援县,起始年,结束年,帮扶资金(万元)\n上海市,富宁县,2020,2016,100\n",
    )
    write_text("bad_empty.csv", "")
    write_text("bad_header_only.csv", WIDE_HEADER)
    write_text(
        "bad_duplicate_rows.csv",
        WIDE_HEADER + WIDE_ROWS + '上海市,富宁县,2020,"1,200",3,约500,产业帮扶\n',
    )
    write_text(
        "bad_unknown_unit.csv", "帮扶方,受援县,年度,帮扶资金(万美元)\n上海市,富宁县,2020,100\n"
    )
    write_text("bad_no_header.csv", "a,b,c\n1,2,3\n")
    rng = random.Random(4)
    (HERE / "bad_binary.csv").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    (HERE / "bad_old_excel.xls").write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(rng.randrange(256) for _ in range(512))
    )


def merged_header_file() -> None:
    """A two-row header with merged cells: read since issue 11 (was bad_merged_header)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["帮扶方", "受援县", "年度", "帮扶资金(万元)", None])
    ws.append([None, None, None, "财政资金", "社会资金"])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:B2")
    ws.merge_cells("C1:C2")
    ws.merge_cells("D1:E1")
    ws.append(["上海市", "富宁县", 2020, 100, 20])
    _save(wb, "good_merged_header.xlsx")


if __name__ == "__main__":
    good_files()
    bad_files()
    merged_header_file()
    print(f"corpus written to {HERE}")
