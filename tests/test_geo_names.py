"""English names: the rules of twinning.geo.names and the names stored in data/geo."""

from __future__ import annotations

import re

import pytest

from twinning.geo.boundaries import places_table
from twinning.geo.names import (
    ETHNIC_GROUPS,
    UnknownNameError,
    bare_name,
    english_name,
    has_cjk,
)


@pytest.fixture(scope="module")
def places():
    return places_table().set_index("adcode")


# (name_zh, level, English, bare pinyin)
EXAMPLES = [
    ("莎车县", "county", "Shache County", "Shache"),
    ("红河哈尼族彝族自治州", "prefecture", "Honghe Hani and Yi Autonomous Prefecture", "Honghe"),
    ("喀什地区", "prefecture", "Kashgar Prefecture", "Kashgar"),
    ("日喀则市", "prefecture", "Shigatse", "Shigatse"),
    ("果洛藏族自治州", "prefecture", "Golog Tibetan Autonomous Prefecture", "Golog"),
    ("拉萨市", "prefecture", "Lhasa", "Lhasa"),
    ("乌鲁木齐市", "prefecture", "Urumqi", "Urumqi"),
    ("呼和浩特市", "prefecture", "Hohhot", "Hohhot"),
    ("哈尔滨市", "prefecture", "Harbin", "Harbin"),
    ("和田地区", "prefecture", "Hotan Prefecture", "Hotan"),
    ("阿勒泰地区", "prefecture", "Altay Prefecture", "Altay"),
    ("伊犁哈萨克自治州", "prefecture", "Ili Kazakh Autonomous Prefecture", "Ili"),
    ("林芝市", "prefecture", "Nyingchi", "Nyingchi"),
    ("昌都市", "prefecture", "Qamdo", "Qamdo"),
    ("那曲市", "prefecture", "Nagqu", "Nagqu"),
    ("阿里地区", "prefecture", "Ngari Prefecture", "Ngari"),
    ("山南市", "prefecture", "Shannan", "Shannan"),
    ("甘孜藏族自治州", "prefecture", "Garzê Tibetan Autonomous Prefecture", "Garzê"),
    ("阿坝藏族羌族自治州", "prefecture", "Ngawa Tibetan and Qiang Autonomous Prefecture", "Ngawa"),
    ("迪庆藏族自治州", "prefecture", "Dêqên Tibetan Autonomous Prefecture", "Dêqên"),
    ("克孜勒苏柯尔克孜自治州", "prefecture", "Kizilsu Kirgiz Autonomous Prefecture", "Kizilsu"),
    ("延边朝鲜族自治州", "prefecture", "Yanbian Korean Autonomous Prefecture", "Yanbian"),
    ("遵义市", "prefecture", "Zunyi", "Zunyi"),
    ("兴安盟", "prefecture", "Hinggan League", "Hinggan"),
    ("神农架林区", "prefecture", "Shennongjia Forestry District", "Shennongjia"),
    ("六枝特区", "county", "Liuzhi Special District", "Liuzhi"),
    ("朝阳区", "county", "Chaoyang District", "Chaoyang"),
    ("库车市", "county", "Kuqa City", "Kuqa"),
    ("瑞丽市", "county", "Ruili City", "Ruili"),
    ("鄂温克族自治旗", "county", "Evenki Autonomous Banner", "Evenki"),
    ("莫力达瓦达斡尔族自治旗", "county", "Morin Dawa Daur Autonomous Banner", "Morin Dawa"),
    ("科尔沁左翼中旗", "county", "Horqin Left Middle Banner", "Horqin Left Middle"),
    ("达尔罕茂明安联合旗", "county", "Darhan Muminggan United Banner", "Darhan Muminggan United"),
    ("正蓝旗", "county", "Zhenglan Banner", "Zhenglan"),
    ("长白朝鲜族自治县", "county", "Changbai Korean Autonomous County", "Changbai"),
    ("东乡族自治县", "county", "Dongxiang Autonomous County", "Dongxiang"),
    (
        "积石山保安族东乡族撒拉族自治县",
        "county",
        "Jishishan Bonan, Dongxiang and Salar Autonomous County",
        "Jishishan",
    ),
    (
        "双江拉祜族佤族布朗族傣族自治县",
        "county",
        "Shuangjiang Lahu, Va, Blang and Dai Autonomous County",
        "Shuangjiang",
    ),
    ("龙胜各族自治县", "county", "Longsheng Various Nationalities Autonomous County", "Longsheng"),
    ("管城回族区", "county", "Guancheng Hui District", "Guancheng"),
    ("浦东新区", "county", "Pudong New Area", "Pudong"),
    ("清新区", "county", "Qingxin District", "Qingxin"),
    ("万柏林区", "county", "Wanbailin District", "Wanbailin"),
    ("忠县", "county", "Zhong County", "Zhong"),
    # provinces
    ("云南省", "province", "Yunnan", "Yunnan"),
    ("陕西省", "province", "Shaanxi", "Shaanxi"),
    ("山西省", "province", "Shanxi", "Shanxi"),
    ("北京市", "province", "Beijing", "Beijing"),
    ("重庆市", "province", "Chongqing", "Chongqing"),
    ("新疆维吾尔自治区", "province", "Xinjiang Uygur Autonomous Region", "Xinjiang"),
    ("西藏自治区", "province", "Tibet Autonomous Region", "Tibet"),
    ("内蒙古自治区", "province", "Inner Mongolia Autonomous Region", "Inner Mongolia"),
    ("广西壮族自治区", "province", "Guangxi Zhuang Autonomous Region", "Guangxi"),
    ("宁夏回族自治区", "province", "Ningxia Hui Autonomous Region", "Ningxia"),
    ("香港特别行政区", "province", "Hong Kong SAR", "Hong Kong"),
    ("澳门特别行政区", "province", "Macao SAR", "Macao"),
]

# polyphones read as in place names, and apostrophes before a/e/o syllables
POLYPHONES = [
    ("重庆市", "prefecture", "Chongqing"),
    ("六安市", "prefecture", "Lu'an"),
    ("蚌埠市", "prefecture", "Bengbu"),
    ("番禺区", "county", "Panyu District"),
    ("乐山市", "prefecture", "Leshan"),
    ("长治市", "prefecture", "Changzhi"),
    ("长沙市", "prefecture", "Changsha"),
    ("长子县", "county", "Zhangzi County"),
    ("厦门市", "prefecture", "Xiamen"),
    ("朝阳市", "prefecture", "Chaoyang"),
    ("曲阜市", "county", "Qufu City"),
    ("都匀市", "county", "Duyun City"),
    ("丰都县", "county", "Fengdu County"),
    ("成都市", "prefecture", "Chengdu"),
    ("漯河市", "prefecture", "Luohe"),
    ("闵行区", "county", "Minhang District"),
    ("单县", "county", "Shan County"),
    ("乐亭县", "county", "Laoting County"),
    ("乐清市", "county", "Yueqing City"),
    ("洪洞县", "county", "Hongtong County"),
    ("马尾区", "county", "Mawei District"),
    ("什邡市", "county", "Shifang City"),
    ("齐齐哈尔市", "prefecture", "Qiqihar"),
    ("西安市", "prefecture", "Xi'an"),
    ("延安市", "prefecture", "Yan'an"),
    ("泰安市", "prefecture", "Tai'an"),
    ("吉安市", "prefecture", "Ji'an"),
    ("东阿县", "county", "Dong'e County"),
    ("绿春县", "county", "Lüchun County"),
    ("召陵区", "county", "Shaoling District"),
    ("南召县", "county", "Nanzhao County"),
]


@pytest.mark.parametrize(("name_zh", "level", "english", "bare"), EXAMPLES)
def test_english_names(name_zh, level, english, bare):
    assert english_name(name_zh, level) == english
    assert bare_name(name_zh, level) == bare


@pytest.mark.parametrize(("name_zh", "level", "english"), POLYPHONES)
def test_polyphones_and_apostrophes(name_zh, level, english):
    assert english_name(name_zh, level) == english


def test_sar_districts_need_their_province():
    assert english_name("东区", "county", "香港特别行政区") == "Eastern District"
    assert english_name("东区", "county", "四川省") == "Dong District"
    assert english_name("花地玛堂区", "county", "澳门特别行政区") == "Our Lady of Fatima Parish"


def test_unknown_level_and_suffix():
    with pytest.raises(ValueError, match="level 'city'"):
        english_name("莎车县", "city")
    with pytest.raises(UnknownNameError, match=r"'莎车镇'.*ends in no known suffix"):
        english_name("莎车镇", "county")


def test_has_cjk():
    assert has_cjk("Shache 县")
    assert not has_cjk("Garzê Tibetan Autonomous Prefecture")


# --- the names as stored in data/geo (what the app and the gazetteer read)


@pytest.mark.parametrize(
    ("adcode", "english", "bare"),
    [
        ("653125", "Shache County", "Shache"),
        ("653100", "Kashgar Prefecture", "Kashgar"),
        ("540200", "Shigatse", "Shigatse"),
        ("632600", "Golog Tibetan Autonomous Prefecture", "Golog"),
        ("532500", "Honghe Hani and Yi Autonomous Prefecture", "Honghe"),
        ("520300", "Zunyi", "Zunyi"),
        ("500000", "Chongqing", "Chongqing"),
        ("441900", "Dongguan", "Dongguan"),  # prefecture-level city, also a county unit
        ("429004", "Xiantao City", "Xiantao"),  # county-level city under the province
        ("469021", "Ding'an County", "Ding'an"),
        ("533103", "Mangshi", "Mangshi"),
        ("810003", "Eastern District", "Eastern"),
        ("710000", "Taiwan", "Taiwan"),
    ],
)
def test_stored_names(places, adcode, english, bare):
    assert places.loc[adcode, "name_en"] == english
    assert places.loc[adcode, "pinyin"] == bare


def test_no_chinese_in_any_english_name(places):
    for column in ("name_en", "pinyin"):
        bad = places[places[column].map(has_cjk) | (places[column].str.strip() == "")]
        assert bad.empty, bad[["name_zh", column]].head().to_string()


def test_english_names_have_no_pinyin_artefacts(places):
    """Artefacts seen in raw pypinyin output: a people run into the name
    (Guanchenghuizu, Meilisidawo'erzu), an apostrophe in a transliterated 尔 where
    English runs it together (Qiqiha'er, Fula'erji, Sa'ertu), v for ü, stray spaces."""
    en = places["name_en"]
    run_together = r"(?:hui|man|miao|zang|yi|dong|zhuang|menggu|chaoxian|tujia|wo'er)zu\b"
    assert not en.str.contains(run_together, case=False, regex=True).any()
    assert not en.str.contains(r"Qiqiha'er|Fula'erji|Sa'ertu|Kezile", regex=True).any()
    assert not en.str.contains(r"lv|nv|  |^ | $", regex=True).any()
    assert en.str.match(r"^[A-Z]").all()


def test_every_people_in_the_data_is_named(places):
    """Each autonomous unit names its peoples in English (e.g. 'Hani and Yi')."""
    pattern = re.compile("|".join(sorted(ETHNIC_GROUPS, key=len, reverse=True)))
    for row in places.itertuples():
        if "自治" not in row.name_zh or row.level == "province":
            continue
        if row.name_zh.endswith("直辖"):
            continue
        stem = row.name_zh.split("自治")[0]
        named = {ETHNIC_GROUPS[m] for m in pattern.findall(stem)}
        # a unit named after its only people (东乡族自治县 -> Dongxiang) names it once
        assert any(name in row.name_en for name in named), (row.name_zh, row.name_en)
        assert "Autonomous" in row.name_en


def test_levels_decide_the_suffix(places):
    prefectures = places[places["level"] == "prefecture"]
    cities = prefectures[prefectures["name_zh"].str.endswith("市")]
    # prefecture-level cities are bare, the 省直辖 county-level ones (xx90xx) are "X City"
    direct = cities.index.str[2:4] == "90"
    assert not cities[~direct]["name_en"].str.endswith(" City").any()
    assert cities[direct]["name_en"].str.endswith(" City").all()
    counties = places[places["level"] == "county"]
    assert counties[counties["name_zh"].str.endswith("旗")]["name_en"].str.endswith("Banner").all()
    assert counties[counties["name_zh"].str.endswith("县")]["name_en"].str.endswith("County").all()


def test_stored_names_are_up_to_date_with_the_rules():
    """data/geo holds the names names.py gives today (else: run `twinning geo build`)."""
    from twinning.geo.boundaries import LEVELS, load_level
    from twinning.geo.build import unit_names

    provinces = load_level("province").set_index("adcode")["name_zh"]
    prefecture_codes = set(load_level("prefecture")["adcode"])
    stale = []
    for level in LEVELS:
        gdf = load_level(level)
        for row in gdf.itertuples():
            province = provinces[row.province_adcode or row.adcode]
            expected = unit_names(
                row.name_zh, row.adcode, level, province, row.adcode in prefecture_codes
            )
            if (row.name_en, row.pinyin) != expected:
                stale.append((row.adcode, row.name_en, expected))
    assert not stale, f"rebuild with `twinning geo build`: {stale[:5]}"


@pytest.mark.parametrize(
    ("name_zh", "level", "english"),
    [
        ("兴安盟", "prefecture", "Hinggan League"),
        ("兴安县", "county", "Xing'an County"),
        ("若羌县", "county", "Ruoqiang County"),
        ("富拉尔基区", "county", "Fularji District"),
        ("喀喇沁左翼蒙古族自治县", "county", "Harqin Left Mongol Autonomous County"),
    ],
)
def test_exonyms_only_where_they_belong(name_zh, level, english):
    assert english_name(name_zh, level) == english
