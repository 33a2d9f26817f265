"""Rebuild the register-shape corpus: `python tests/data/imports/make_registers.py`.

Registers as cooperation offices keep them (issue 11): a title and 单位：万元 above a
two- or three-row header with merged cells, a 序号 column, 州（市） / 县（市、区） columns
with short names, 小计 and 合计 rows, notes under the table, a year only in the title,
one sheet per year, project lists. Each shape is written as .xlsx and as GBK .csv from
the same seeded rows, and `registers_expected.json` holds what each file must produce:
the totals in canonical units (yuan, persons, projects) computed here with Decimal from
the very numbers written, the rows skipped and what the title says.

The place names are real (they must resolve, in the tests through the tiny gazetteer of
tests/test_import_support.py); the figures are invented.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
WAN = Decimal(10_000)
YI = Decimal(100_000_000)

# (prefecture as written, [counties as written]); short names on purpose
PLACES = [
    ("文山州", ["富宁", "广南县", "丘北"]),
    ("昭通市", ["镇雄", "彝良县"]),
]


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100)) / 100


def _fmt(d: Decimal) -> str:
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Sheet:
    """Rows of one sheet and the merged ranges its xlsx form gets."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[list[object]] = []
        self.merges: list[str] = []

    def add(self, row: list[object]) -> int:
        self.rows.append(row)
        return len(self.rows)


def _save_xlsx(sheets: list[Sheet], name: str) -> None:
    import datetime as dt
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        for row in sheet.rows:
            ws.append(row)
        for ref in sheet.merges:
            ws.merge_cells(ref)
    wb.properties.created = dt.datetime(2024, 1, 1)
    wb.properties.modified = dt.datetime(2024, 1, 1)
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for item in zin.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = zin.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl stamps the time of saving
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2024-01-01T00:00:00Z\g<2>",
                    data,
                )
            zout.writestr(info, data)
    (HERE / name).write_bytes(out.getvalue())


def _save_csv(sheet: Sheet, name: str) -> None:
    """The sheet as Excel saves 'CSV' on a Chinese Windows: GBK, merged cells blank."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    width = max(len(r) for r in sheet.rows)
    for row in sheet.rows:
        cells = ["" if c is None else (_fmt(c) if isinstance(c, Decimal) else str(c)) for c in row]
        writer.writerow(cells + [""] * (width - len(cells)))
    (HERE / name).write_bytes(buf.getvalue().encode("gbk"))


def _cell(v: Decimal | None) -> object:
    """A Decimal as the float Excel keeps (2 decimals survive exactly as repr)."""
    return None if v is None else float(v)


def fund_plan(rng: random.Random) -> tuple[list[Sheet], dict]:
    """The issue's 项目资金安排表: title, 填报单位 and 单位：万元, a two-row merged header
    (帮扶资金 over 合计 / 财政援助资金 / 社会帮扶资金), 序号, 州（市）/县（市、区） with short
    names, a 合计 row at the top, a 小计 per prefecture, a note, year only in the title;
    a second sheet 说明."""
    s = Sheet("2021年安排表")
    s.add(["2021年度上海市对口帮扶云南省项目资金安排表"] + [None] * 8)
    s.merges.append("A1:I1")
    s.add(["填报单位：上海市合作交流办", None, None, None, None, None, None, "单位：万元", None])
    s.add(
        [
            "序号",
            "帮扶方",
            "州（市）",
            "县（市、区）",
            "帮扶资金",
            None,
            None,
            "受益人口",
            "带动脱贫人口",
        ]
    )
    s.add([None, None, None, None, "合计", "财政援助资金", "社会帮扶资金", None, None])
    for col in "ABCDHI":
        s.merges.append(f"{col}3:{col}4")
    s.merges.append("E3:G3")
    body: list[list[object]] = []
    grand = [Decimal(0)] * 5
    serial = 0
    for pref, counties in PLACES:
        sub = [Decimal(0)] * 5
        for county in counties:
            serial += 1
            fiscal, social = _money(rng, 100, 3000), _money(rng, 0, 300)
            benefited = Decimal(rng.randrange(500, 20000))
            lifted = Decimal(rng.randrange(50, int(benefited) // 2))
            vals = [fiscal + social, fiscal, social, benefited, lifted]
            body.append(
                [serial, "上海市", pref, county, *map(_cell, vals[:3]), int(benefited), int(lifted)]
            )
            sub = [a + b for a, b in zip(sub, vals, strict=True)]
        body.append(
            [None, None, f"{pref}小计", None, *map(_cell, sub[:3]), int(sub[3]), int(sub[4])]
        )
        grand = [a + b for a, b in zip(grand, sub, strict=True)]
    s.add([None, "合计", None, None, *map(_cell, grand[:3]), int(grand[3]), int(grand[4])])
    for row in body:
        s.add(row)
    s.add(["注：1.财政援助资金为上海市级财政资金；2.受益人口含带动脱贫人口。"] + [None] * 8)
    s.merges.append(f"A{len(s.rows)}:I{len(s.rows)}")
    s.add(["填表人：张三", None, None, "审核人：李四", None, None, "联系电话：021-00000000"])
    notes = Sheet("说明")
    notes.add(["本表由上海市合作交流办填报，资金单位为万元。"])
    n = len(body) - len(PLACES)
    expected = {
        "totals": {
            "funds_cny": int(grand[0] * WAN),
            "people_benefited": int(grand[3]),
            "people_lifted": int(grand[4]),
        },
        "records": n * 4,  # fiscal, social, benefited, lifted of each county
        "rows": n,
        "title_unit": "万元",
        "title_year": "2021",
        "skipped": {"total": [5], "subtotal": [9, 12], "note": [13, 14]},
    }
    return [s, notes], expected


def three_row(rng: random.Random) -> tuple[list[Sheet], dict]:
    """A three-row header (基本情况 / 资金安排 / 效益 over the names, 帮扶资金 over its parts),
    金额单位：亿元 in the title, 县（市、区、旗） in half-width brackets, 小计 rows in the 序号
    column, a 总计 row at the bottom and the year 2020年 in the title."""
    s = Sheet("Sheet1")
    s.add(["上海市东西部协作2020年资金使用情况表"])
    s.add([None, None, None, None, None, None, "金额单位：亿元"])
    s.add(["基本情况", None, None, "资金安排", None, None, "效益"])
    s.add(["序号", "地(州、市)", "县(市、区、旗)", "帮扶资金", None, None, "受益人口"])
    s.add([None, None, None, "合计", "其中：财政资金", "社会资金", None])
    s.merges += ["A3:C3", "D3:F3", "D4:F4", "G4:G5", "A4:A5", "B4:B5", "C4:C5"]
    grand = [Decimal(0)] * 4
    serial = 0
    first = len(s.rows) + 1
    for pref, counties in PLACES:
        sub = [Decimal(0)] * 4
        for county in counties:
            serial += 1
            fiscal = Decimal(rng.randrange(1, 900)) / 10000  # 亿元, 4 decimals = 1 万元
            social = Decimal(rng.randrange(0, 90)) / 10000
            people = Decimal(rng.randrange(100, 9000))
            vals = [fiscal + social, fiscal, social, people]
            s.add([serial, pref, county, *map(_cell, vals[:3]), int(people)])
            sub = [a + b for a, b in zip(sub, vals, strict=True)]
        s.add(["小计", pref, None, *map(_cell, sub[:3]), int(sub[3])])
        grand = [a + b for a, b in zip(grand, sub, strict=True)]
    s.add(["总计", None, None, *map(_cell, grand[:3]), int(grand[3])])
    n = serial
    expected = {
        "totals": {"funds_cny": int(grand[0] * YI), "people_benefited": int(grand[3])},
        "rows": n,
        "title_unit": "亿元",
        "title_year": "2020",
        "skipped": {"subtotal": [first + 3, first + 6], "total": [first + 7]},
    }
    return [s], expected


def per_year(rng: random.Random) -> tuple[list[Sheet], dict]:
    """One sheet per year (2019年, 2020年) without a year column, a third sheet named for a
    prefecture whose title gives the year, and a 说明 sheet; 单位：万元 in each title."""
    sheets = []
    grand = Decimal(0)
    projects = 0
    rows = 0
    for name, title in (
        ("2019年", "东西部协作资金台账"),
        ("2020年", "东西部协作资金台账"),
        ("文山州", "2021年文山州东西部协作资金台账"),
    ):
        s = Sheet(name)
        s.add([title, None, None, "单位：万元"])
        s.add(["帮扶方", "州(市)", "县(市、区)", "帮扶资金", "项目个数"])
        for pref, counties in PLACES if name != "文山州" else PLACES[:1]:
            for county in counties:
                funds = _money(rng, 10, 500)
                n = rng.randrange(1, 6)
                s.add(["上海市", pref, county, _cell(funds), n])
                grand += funds
                projects += n
                rows += 1
        sheets.append(s)
    notes = Sheet("说明")
    notes.add(["各年资金按实际到位数填报。"])
    sheets.append(notes)
    expected = {
        "totals": {"funds_cny": int(grand * WAN), "projects": projects},
        "rows": rows,
        "sheets": ["2019年", "2020年", "文山州"],
        "skipped_sheets": ["说明"],
    }
    return sheets, expected


def project_list(rng: random.Random) -> tuple[list[Sheet], dict]:
    """A project list: one row per project (项目名称), the county cell merged over its
    projects in the xlsx (repeated in the CSV), 乡镇 and 村 columns, funds in 元 from the
    title, 受益人口 and 脱贫人口 told apart, a 合计 row and a 说明 line."""
    s = Sheet("项目清单")
    s.add(["2021年度东西部协作项目清单"])
    s.add(["单位：元"])
    s.add(
        [
            "序号",
            "帮扶方",
            "县（市、区）",
            "乡镇",
            "村",
            "项目名称",
            "帮扶资金",
            "受益人口",
            "脱贫人口",
        ]
    )
    total = Decimal(0)
    ben = lifted = 0
    serial = 0
    kinds = ["产业园", "冷链仓储", "农村公路", "饮水工程", "茶叶加工厂", "劳务车间"]
    csv_rows: list[list[object]] = []
    for county in ("富宁县", "丘北县", "镇雄县"):
        first = len(s.rows) + 1
        n = rng.randrange(2, 4)
        for i in range(n):
            serial += 1
            funds = Decimal(rng.randrange(100_000, 5_000_000))
            if i == 1:
                funds = Decimal(1_000_000)  # two projects of one county with equal funds
            b = rng.randrange(100, 3000)
            lf = rng.randrange(10, b // 3)
            name = f"{county[:2]}{rng.choice(kinds)}项目{serial}"
            row = [
                serial,
                "上海市",
                county if i == 0 else None,
                f"{county[:2]}镇",
                f"{serial}村",
                name,
                int(funds),
                b,
                lf,
            ]
            s.add(row)
            csv_rows.append([*row[:2], county, *row[3:]])
            total += funds
            ben += b
            lifted += lf
        if n > 1:
            s.merges.append(f"C{first}:C{first + n - 1}")
    s.add(["合计", None, None, None, None, None, int(total), ben, lifted])
    s.add(["说明：项目资金为当年拨付数。"])
    csv_sheet = Sheet(s.title)
    csv_sheet.rows = [*s.rows[:3], *csv_rows, *s.rows[-2:]]
    expected = {
        "totals": {
            "funds_cny": int(total),
            "people_benefited": ben,
            "people_lifted": lifted,
            "projects": serial,
        },
        "rows": serial,
        "title_unit": "元",
        "title_year": "2021",
        "projects": serial,
    }
    return [s, csv_sheet], expected


def mismatch(rng: random.Random) -> tuple[list[Sheet], dict]:
    """A 小计 that does not add up and a 合计 column that is not the sum of its parts."""
    s = Sheet("Sheet1")
    s.add(["2022年帮扶资金表（单位：万元）"])
    s.add(["帮扶方", "州（市）", "县（市、区）", "资金合计", "其中：财政资金", "其中：社会资金"])
    s.add(["上海市", "文山州", "富宁", 120, 100, 20])
    s.add(["上海市", None, "广南", 90, 60, 20])  # parts 80, total 90: a warning
    s.add([None, "文山州小计", None, 200, 160, 40])  # rows add up to 200/160/40: fine
    s.add(["上海市", "昭通市", "镇雄", 50, 50, None])
    s.add([None, "昭通市小计", None, 55, 50, 0])  # 55 vs 50: a warning
    s.add(["合计", None, None, 250, 210, 40])
    expected = {
        "totals": {"funds_cny": int((100 + 20 + 60 + 20 + 50) * WAN)},
        "rows": 3,
        "title_unit": "万元",
        "title_year": "2022",
        "warnings": [("parts_mismatch", 4), ("total_mismatch", 7)],
    }
    return [s], expected


SHAPES = {
    "reg_fund_plan": fund_plan,
    "reg_three_row": three_row,
    "reg_per_year": per_year,
    "reg_project_list": project_list,
    "reg_mismatch": mismatch,
}


def main() -> None:
    expected: dict[str, dict] = {}
    for i, (stem, make) in enumerate(SHAPES.items()):
        sheets, exp = make(random.Random(1100 + i))
        if stem == "reg_project_list":
            xlsx, csv_sheet = sheets
            _save_xlsx([xlsx], f"{stem}.xlsx")
            _save_csv(csv_sheet, f"{stem}.csv")
        else:
            _save_xlsx(sheets, f"{stem}.xlsx")
            if stem != "reg_per_year":  # a CSV has one sheet
                _save_csv(sheets[0], f"{stem}.csv")
        expected[stem] = exp
    (HERE / "registers_expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"register corpus written to {HERE}")


if __name__ == "__main__":
    main()
