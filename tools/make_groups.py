"""Write data/reference/groups.csv and xpcc_divisions.csv (issue #10).

The named groups of places and the XPCC divisions, each member with the source of its
definition and its confidence (see data/reference/README.md). Member names are read from
data/geo, so a wrong adcode fails here. Rebuild: .venv/bin/python tools/make_groups.py
"""

# ruff: noqa: E501 -- each source and note is kept on one line, as it goes into the CSV

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twinning.geo.boundaries import places_table  # noqa: E402
from twinning.groups import DIVISION_COLUMNS, GROUP_COLUMNS  # noqa: E402

p = places_table()
name = dict(zip(p.adcode.astype(str), p.name_zh, strict=True))
D004 = "004_9370aca5d40441e1.txt"
GT = "http://www.globaltimes.cn/content/1129758.shtml"
WP = "http://japanese.china.org.cn/business/txt/2011-12/19/content_24191405_15.htm"
groups = [
    (
        "shanghai_counterpart_areas",
        "上海对口帮扶地区",
        "Shanghai's counterpart areas",
        "对口帮扶地区|上海对口帮扶地区",
        "recipient",
        ["653100", "650200", "540200", "632600", "530000", "520300", "420506", "500101"],
        f"{D004} (Chinese original, line 167: 对口帮扶新疆喀什和克拉玛依、西藏日喀则、青海果洛、云南、贵州遵义、湖北宜昌夷陵、重庆万州)",
        "seen_in_source",
        "the report names 喀什 as a whole (Shanghai's four counties there are 莎车, 泽普, 叶城, 巴楚)",
    ),
    (
        "shanghai_7_provinces",
        "对口帮扶的7个省区市",
        "the 7 provinces Shanghai assists",
        "",
        "recipient",
        ["650000", "540000", "630000", "530000", "520000", "420000", "500000"],
        f"{D004} (line 167: 新疆, 西藏, 青海, 云南, 贵州, 湖北, 重庆)",
        "seen_in_source",
        "",
    ),
    (
        "shanghai_20_prefectures",
        "对口帮扶的20个地州市",
        "the 20 prefectures Shanghai assists",
        "",
        "recipient",
        ["650000", "540000", "630000", "530000", "520000", "420000", "500000"],
        f"{D004} (line 175: 对口帮扶的7个省区市、20个地州市)",
        "enclosing",
        "the report does not list the 20 prefectures, only that they lie in the 7 provinces: drawn as those 7",
    ),
    (
        "shanghai_areas_2011_2016",
        "上海对口帮扶地区 (2011–2016)",
        "Shanghai's counterpart areas (2011–2016)",
        "all counterpart areas",
        "recipient",
        ["653100", "650200", "540200", "632600", "530000", "520300", "420506", "500101"],
        "pairings.csv: Shanghai's pairings in force in 2011–2016 (each with its source)",
        "from_pairings",
        "",
    ),
    (
        "east_west_western",
        "东西部扶贫协作的西部省区市",
        "western provinces in East–West cooperation (1996–2020)",
        "西部贫困地区|西部省区市|western poverty-stricken areas|western poor areas",
        "recipient",
        [
            "150000",
            "450000",
            "500000",
            "510000",
            "520000",
            "530000",
            "610000",
            "620000",
            "630000",
            "640000",
            "650000",
        ],
        f"pairings.csv: the province-level east_west_cooperation recipients 1996–2020 ({WP}; 重庆 from 2001)",
        "from_pairings",
        "the sources say 西部 without a list; these are the provinces East–West cooperation paired in that time",
    ),
    (
        "east_west_western_2021",
        "东西部协作的10个西部省区市 (2021–)",
        "the 10 western provinces of East–West cooperation (2021–)",
        "10 western provinces and autonomous regions|10个西部省区市",
        "recipient",
        [
            "150000",
            "620000",
            "530000",
            "610000",
            "630000",
            "510000",
            "640000",
            "500000",
            "450000",
            "520000",
        ],
        "NOTES.md §4: the 2021 structure at province level (from memory; only partly verified)",
        "from_memory",
        "",
    ),
    (
        "east_west_eastern",
        "东西部扶贫协作的东部省市",
        "eastern provinces in East–West cooperation (1996–2020)",
        "东部省市|东部各省市|eastern provinces and municipalities",
        "donor",
        ["110000", "120000", "210000", "310000", "320000", "330000", "350000", "370000", "440000"],
        f"pairings.csv: the province-level east_west_cooperation donors 1996–2020 ({WP})",
        "from_pairings",
        "大连, 青岛, 深圳 and 宁波 lie in 辽宁, 山东, 广东 and 浙江",
    ),
    (
        "east_west_eastern_2021",
        "东西部协作的8个东部省市 (2021–)",
        "the 8 eastern provinces of East–West cooperation (2021–)",
        "8 eastern provinces and municipalities|8个东部省市",
        "donor",
        ["110000", "120000", "310000", "320000", "330000", "350000", "370000", "440000"],
        "NOTES.md §4: the 2021 structure at province level (from memory; only partly verified)",
        "from_memory",
        "",
    ),
    (
        "qinghai_tibetan_prefectures",
        "青海省6个藏族自治州",
        "the 6 Tibetan autonomous prefectures of Qinghai",
        "青海省 6 Tibetan autonomous prefectures|青海6个藏区|青海藏区",
        "recipient",
        ["632200", "632300", "632500", "632600", "632700", "632800"],
        f"{GT} (six Tibetan autonomous prefectures); pairings.csv counterpart_support_qinghai",
        "seen_in_source",
        "",
    ),
    (
        "qinghai_donors",
        "对口支援青海的6省市",
        "the 6 provinces and municipalities supporting Qinghai",
        "6 provinces/municipalities|6省市",
        "donor",
        ["110000", "120000", "310000", "320000", "330000", "370000"],
        f"{GT}; pairings.csv counterpart_support_qinghai (山东 as from memory there)",
        "seen_in_source",
        "",
    ),
    (
        "central_western",
        "中西部地区",
        "central and western regions",
        "central and western regions|中西部",
        "recipient",
        [
            "140000",
            "340000",
            "360000",
            "410000",
            "420000",
            "430000",
            "150000",
            "450000",
            "500000",
            "510000",
            "520000",
            "530000",
            "540000",
            "610000",
            "620000",
            "630000",
            "640000",
            "650000",
        ],
        "the usual division: 中部六省 and the 12 西部 provinces (from memory; no source in the data lists them)",
        "from_memory",
        "",
    ),
    (
        "yili_direct",
        "伊犁州直",
        "Ili Prefecture (directly administered part)",
        "伊犁州直属县市",
        "recipient",
        ["654000"],
        "data/geo: 伊犁哈萨克自治州 there holds only the counties it administers directly (塔城地区 and 阿勒泰地区 are units of their own)",
        "from_memory",
        "one member: resolved as that place",
    ),
]
donor_side = [
    (
        "donor_in_donor",
        "在帮扶方本地",
        "in the donor's own area",
        "(in Shanghai)|(在上海)",
        "reported in the donor's own area (outlets, counters, hubs)",
    ),
    (
        "donor_awards_national",
        "全国表彰",
        "national awards",
        "(national award)",
        "people and groups of the donor commended nationally",
    ),
    (
        "donor_awards_municipal",
        "本地表彰",
        "the donor's own awards",
        "(municipal award)",
        "people and groups commended by the donor's government",
    ),
    (
        "donor_consumption_network",
        "帮扶方消费帮扶网络",
        "the donor's consumption-support network",
        "(Shanghai consumption-support network)",
        "stores and counters of the donor's consumption-support network",
    ),
]
with open(ROOT / "data/reference/groups.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(GROUP_COLUMNS)
    for gid, zh, en, aliases, side, members, source, conf, note in groups:
        for m in members:
            w.writerow([gid, zh, en, aliases, side, m, name[m], source, conf, note])
    for gid, zh, en, aliases, note in donor_side:
        w.writerow(
            [
                gid,
                zh,
                en,
                aliases,
                "donor_side",
                "",
                "",
                f"{D004} (the figures so marked)",
                "seen_in_source",
                note,
            ]
        )

NOTES3 = "NOTES.md §3 (seat cities from memory, not the same territory)"
divs = [
    (
        0,
        "新疆生产建设兵团",
        "Xinjiang Production and Construction Corps",
        "兵团|XPCC",
        "650100",
        "from_memory (the Corps is seated in 乌鲁木齐)",
    ),
    (
        1,
        "第一师",
        "1st Division",
        "阿拉尔垦区",
        "659002",
        "NOTES.md §3 (the source names the division's city)",
    ),
    (2, "第二师", "2nd Division", "", "659006", NOTES3),
    (
        3,
        "第三师",
        "3rd Division",
        "",
        "659003",
        "NOTES.md §3 (the source names the division's city)",
    ),
    (4, "第四师", "4th Division", "", "659008", NOTES3),
    (5, "第五师", "5th Division", "", "659007", NOTES3),
    (
        6,
        "第六师",
        "6th Division",
        "",
        "659004",
        "NOTES.md §3 (the source names the division's city)",
    ),
    (7, "第七师", "7th Division", "", "659010", NOTES3),
    (8, "第八师", "8th Division", "", "659001", "from_memory (the division is seated in 石河子)"),
    (9, "第九师", "9th Division", "", "654221", "from_memory (the division is seated in 额敏县)"),
    (10, "第十师", "10th Division", "", "659005", NOTES3),
    (
        11,
        "第十一师",
        "11th Division",
        "建工师",
        "650100",
        "from_memory (the division is seated in 乌鲁木齐)",
    ),
    (
        12,
        "第十二师",
        "12th Division",
        "",
        "650100",
        "from_memory (the division is seated in 乌鲁木齐)",
    ),
    (
        13,
        "第十三师",
        "13th Division",
        "",
        "650500",
        NOTES3 + "; its city 新星市 (2021) is not in data/geo, so the point is 哈密市's",
    ),
    (14, "第十四师", "14th Division", "", "659009", NOTES3),
]
with open(ROOT / "data/reference/xpcc_divisions.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(DIVISION_COLUMNS)
    for n, zh, en, aliases, seat, source in divs:
        w.writerow(
            [
                f"xpcc:{n}",
                zh,
                en,
                aliases,
                seat,
                name[seat],
                source,
                "from_memory" if "memory" in source else "seen_in_source",
            ]
        )
