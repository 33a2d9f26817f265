"""The bilingual import template (`twinning template -o FILE.xlsx|.csv`).

Why ship a template: the surest way to a clean import is a file that already uses
headers the matcher knows, units in the header, and one example row that the
importer recognises and skips (so leaving it in does no harm).
"""

from __future__ import annotations

import csv
from pathlib import Path

from twinning.imports.validate import EXAMPLE_MARK
from twinning.spreadsheet import neutralise

# (header as written in the template, field, required, zh help, en help)
TEMPLATE_COLUMNS: list[tuple[str, str, str, str, str]] = [
    (
        "帮扶类型 Programme",
        "program",
        "可选 optional",
        "东西部协作 / 对口支援新疆 / 对口支援西藏 / 对口支援青海 / 三峡 / 其他",
        "east-west cooperation, counterpart support (Xinjiang, Tibet, Qinghai), "
        "Three Gorges, other",
    ),
    (
        "帮扶方 Donor",
        "donor",
        "必填 required",
        "帮扶的省、市或区县，如 上海市 / 上海市闵行区",
        "donor province, city or district",
    ),
    (
        "受援省 Recipient province",
        "recipient_province",
        "可选 optional",
        "受援省份，用于区分同名地名",
        "recipient province; tells apart places with the same name",
    ),
    (
        "受援市(州) Recipient prefecture",
        "recipient_prefecture",
        "可选 optional",
        "受援市、州、地区",
        "recipient prefecture",
    ),
    (
        "受援县 Recipient county",
        "recipient_county",
        "受援地至少填一级 one recipient level required",
        "受援县（市、区），全称或行政区划代码",
        "recipient county: full name or 6-digit adcode",
    ),
    (
        "年度 Year",
        "year",
        "必填 required",
        "年份，如 2019；跨年数字写 2006-2010",
        "year, e.g. 2019; a period figure as 2006-2010",
    ),
    ("项目名称 Project", "project", "可选 optional", "项目名称", "project name"),
    (
        "帮扶资金 Funds (万元)",
        "funds_cny",
        "可选 optional",
        "帮扶资金，单位见表头（万元）；可写 约 / 超过",
        "funds in 10k yuan (万元); 约 / 超过 allowed",
    ),
    ("项目数 Projects (个)", "projects", "可选 optional", "项目个数", "number of projects"),
    (
        "脱贫人口 People lifted (人)",
        "people_lifted",
        "可选 optional",
        "带动脱贫人口（人）",
        "people lifted out of poverty (persons)",
    ),
    (
        "来源 Source",
        "source",
        "建议 recommended",
        "数据出处：文件名、网址或台账名称",
        "where the figure comes from: document, URL or register",
    ),
    ("备注 Note", "note", "可选 optional", "备注", "note"),
]

EXAMPLE = [
    "东西部协作",
    "上海市",
    "云南省",
    "文山壮族苗族自治州",
    "富宁县",
    2020,
    "示例项目 Example project",
    "1,200",
    "3",
    "约500",
    "2020年工作台账",
    EXAMPLE_MARK + " – 请删除 delete this row",
]

UNITS_HELP = [
    ("元 / yuan / CNY / RMB", "1 元"),
    ("千元 / thousand yuan", "1,000 元"),
    ("万元 / 10k yuan / ten thousand yuan", "10,000 元"),
    ("百万元 / million yuan", "1,000,000 元"),
    ("亿元 / 100 million yuan", "100,000,000 元"),
    ("billion yuan / 十亿元", "1,000,000,000 元"),
    ("人 / persons; 人次 / person-times", "people (kept apart)"),
    ("约 / 近 / about / nearly", "qualifier: approx"),
    ("超过 / 逾 / 多 / 余 / 以上 / more than / over", "qualifier: lower_bound"),
]


def headers() -> list[str]:
    return [c[0] for c in TEMPLATE_COLUMNS]


def write_template(path: str | Path) -> Path:
    """Write the template as .xlsx (with an explanation sheet) or .csv (UTF-8 with BOM)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(headers())
            w.writerow([neutralise(str(v)) for v in EXAMPLE])
        return path
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"template file must end in .xlsx or .csv, not {path.suffix!r}")
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "导入 Import"
    ws.append(headers())
    ws.append(EXAMPLE)
    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEEEEE")
    for cell in ws[1]:
        cell.font = bold
    for cell in ws[2]:
        cell.fill = grey
        cell.font = Font(italic=True, color="777777")
    for i, (h, *_rest) in enumerate(TEMPLATE_COLUMNS):
        ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = max(12, len(h) + 4)
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("说明 Fields")
    help_ws.append(["表头 Header", "字段 Field", "是否必填 Required", "说明", "Explanation"])
    for row in TEMPLATE_COLUMNS:
        help_ws.append(list(row))
    help_ws.append([])
    help_ws.append(["单位 Unit", "换算 Conversion"])
    for u in UNITS_HELP:
        help_ws.append(list(u))
    help_ws.append([])
    for line in [
        "第 2 行是示例，导入时会被跳过；请删除后填写自己的数据。",
        "Row 2 is an example; the importer skips it. Delete it and add your own rows.",
        "也可使用长表：年度 / 帮扶方 / 受援县 / 指标 / 数值 / 单位，一行一个数字。",
        "The long layout also works: year / donor / recipient / metric / value / unit.",
        "金额统一换算为元保存，原值与原单位一并保留。",
        "Amounts are stored in yuan; the value and unit as written are kept too.",
    ]:
        help_ws.append([line])
    for cell in help_ws[1]:
        cell.font = bold
    for col, width in zip("ABCDE", (32, 22, 24, 48, 60), strict=True):
        help_ws.column_dimensions[col].width = width
    wb.save(path)
    return path
