"""Resolve a place name as people write it to today's adcode.

Pairing records name places in many ways: full names (红河哈尼族彝族自治州), short
forms (红河州, 红河, 克州), English or pinyin (Kashgar, Shache County), compound
forms (云南省临沧市沧源佤族自治县), historical names (思茅地区, 襄樊市) and adcodes.
The atlas joins everything on today's 6-digit adcode, so every one of those forms has
to land on exactly one unit, or fail loudly with the candidates a person can choose
from. Names are indexed once into dicts (``Gazetteer(places)``), so a lookup is a few
dict reads, not a scan.

Matching runs in tiers; the first tier with a match decides:

1. the adcode itself ("653125");
2. the full current name, Chinese or English (莎车县, "Shache County");
3. a former name from ``data/reference/historical_names.csv`` (思茅地区 -> 普洱市, 临安市 ->
   临安区), built from the MCA's yearly code lists by tools/build_historical_names.py; a
   split or a former name of two places gives several candidates (``within`` decides), and
   ``former_name_note`` gives the note a record keeps (what changed, when, the source);
4. a short form or alias: suffix and ethnic-group words dropped (莎车, 红河州,
   内蒙古), common abbreviations (克州, 沪), English or pinyin without the suffix
   (Shache, Kashi).

Within a tier, when one candidate contains all the others it wins: 喀什 names both
喀什地区 and the city 喀什市 inside it, and people mean the prefecture; 北京市 is
both the province-level unit and its prefecture-level part. Otherwise several
candidates raise ``AmbiguousPlace``. ``within`` (any level, any form of name) keeps
only candidates inside that parent.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from twinning.filters import LEVELS
from twinning.paths import REFERENCE_DIR

HISTORICAL_NAMES_CSV = REFERENCE_DIR / "historical_names.csv"
HISTORICAL_COLUMNS = ["old_name", "new_name", "new_adcode", "year", "change", "note", "source"]

# The 56 recognised ethnic groups as they appear in names of autonomous units.
# Names of two or more characters also appear without 族 (伊犁哈萨克自治州).
ETHNIC_GROUPS = [
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
]
_ETHNIC_SORTED = sorted(ETHNIC_GROUPS, key=len, reverse=True)

# Suffixes dropped to make a short form, longest first, per level.
_SUFFIXES = {
    "province": ("特别行政区", "自治区", "省", "市"),
    "prefecture": ("自治州", "地区", "市", "盟"),
    "county": ("自治县", "自治旗", "新区", "林区", "特区", "县", "区", "市", "旗"),
}
_AUTONOMOUS = ("自治区", "自治州", "自治县", "自治旗")

# Common abbreviations that the suffix rules cannot derive (full name -> aliases).
_ALIASES: dict[str, tuple[str, ...]] = {
    "克孜勒苏柯尔克孜自治州": ("克州",),
    "巴音郭楞蒙古自治州": ("巴州",),
    "博尔塔拉蒙古自治州": ("博州",),
    "北京市": ("京",),
    "天津市": ("津",),
    "上海市": ("沪",),
    "重庆市": ("渝",),
    "河北省": ("冀",),
    "山西省": ("晋",),
    "辽宁省": ("辽",),
    "吉林省": ("吉",),
    "黑龙江省": ("黑",),
    "江苏省": ("苏",),
    "浙江省": ("浙",),
    "安徽省": ("皖",),
    "福建省": ("闽",),
    "江西省": ("赣",),
    "山东省": ("鲁",),
    "河南省": ("豫",),
    "湖北省": ("鄂",),
    "湖南省": ("湘",),
    "广东省": ("粤",),
    "广西壮族自治区": ("桂",),
    "海南省": ("琼",),
    "四川省": ("川", "蜀"),
    "贵州省": ("黔",),
    "云南省": ("滇",),
    "西藏自治区": ("藏",),
    "陕西省": ("陕",),
    "甘肃省": ("甘", "陇"),
    "青海省": ("青",),
    "宁夏回族自治区": ("宁",),
    "新疆维吾尔自治区": ("新",),
    "内蒙古自治区": ("蒙",),
}

# English words that end the distinctive part of a name ("Honghe Hani and Yi Autonomous
# Prefecture" -> "honghe"). Only words after the first one are checked.
_EN_STOP = set(
    [
        "county",
        "district",
        "city",
        "prefecture",
        "league",
        "banner",
        "province",
        "municipality",
        "autonomous",
        "region",
        "special",
        "administrative",
        "new",
        "area",
        "forestry",
        "and",
        "zizhizhou",
        "zizhixian",
        "zizhiqi",
        "diqu",
        "xian",
        "qu",
        "shi",
        "sheng",
        "meng",
        "qi",
        "zhuang",
        "hui",
        "uyghur",
        "uygur",
        "uighur",
        "tibetan",
        "mongol",
        "mongolian",
        "hani",
        "yi",
        "miao",
        "tujia",
        "buyei",
        "bouyei",
        "dong",
        "korean",
        "kazak",
        "kazakh",
        "kyrgyz",
        "kirgiz",
        "tajik",
        "xibe",
        "dai",
        "jingpo",
        "jingpho",
        "lisu",
        "derung",
        "drung",
        "nu",
        "lahu",
        "wa",
        "naxi",
        "bai",
        "qiang",
        "yao",
        "li",
        "she",
        "shui",
        "sui",
        "gelao",
        "mulao",
        "maonan",
        "tu",
        "salar",
        "bonan",
        "baoan",
        "dongxiang",
        "yugur",
        "daur",
        "ewenki",
        "evenk",
        "oroqen",
        "hezhen",
        "monba",
        "lhoba",
        "jino",
        "blang",
        "deang",
        "achang",
        "pumi",
        "russian",
        "tatar",
        "uzbek",
        "gaoshan",
        "jing",
        "manchu",
    ]
)


class PlaceError(ValueError):
    """A name that does not resolve to exactly one place; lists the candidates."""

    def __init__(self, message: str, name: str, candidates: list[Place], within: str | None = None):
        super().__init__(message)
        self.message = message
        self.name = name
        self.within = within
        self.candidates = candidates

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.message,
            "kind": type(self).__name__,
            "name": self.name,
            "within": self.within,
            "candidates": [c.to_dict() for c in self.candidates],
        }


class PlaceNotFound(PlaceError):
    """No place has this name; ``candidates`` holds the closest names (suggestions)."""


class AmbiguousPlace(PlaceError):
    """Several places have this name; ``candidates`` holds all of them."""


@dataclass(frozen=True)
class Place:
    """One administrative unit of today, with its parents' names for messages and JSON."""

    adcode: str
    level: str
    name_zh: str
    name_en: str
    province_adcode: str | None = None
    prefecture_adcode: str | None = None
    province_name_zh: str | None = None
    province_name_en: str | None = None
    prefecture_name_zh: str | None = None
    prefecture_name_en: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def parent_name_zh(self) -> str:
        """The nearest parent's Chinese name, for messages ("朝阳区 (北京市, 110105)")."""
        return self.prefecture_name_zh or self.province_name_zh or "中国"

    def label(self) -> str:
        return f"{self.name_zh} ({self.parent_name_zh}, {self.adcode})"

    def is_within(self, parent: Place) -> bool:
        """True if this place is ``parent`` or lies inside it."""
        return parent.adcode in (self.adcode, self.province_adcode, self.prefecture_adcode)

    @property
    def own_province_adcode(self) -> str:
        """The province this place belongs to (itself for a province)."""
        return self.adcode if self.level == "province" else (self.province_adcode or "")

    @property
    def own_prefecture_adcode(self) -> str | None:
        """The prefecture this place belongs to (itself for a prefecture, None for a province)."""
        if self.level == "prefecture":
            return self.adcode
        return self.prefecture_adcode if self.level == "county" else None

    def recipient_columns(self) -> dict[str, str | None]:
        """The recipient columns a stored row carries for this place: the one translation,
        used by the reference loader and the importer alike (a province or prefecture
        carries its own code in its level's column)."""
        return {
            "recipient_adcode": self.adcode,
            "recipient_level": self.level,
            "recipient_province_adcode": self.own_province_adcode or None,
            "recipient_prefecture_adcode": self.own_prefecture_adcode,
        }


def clean_zh(text: str) -> str:
    """Normalise width and spacing so '莎车县 ' and '莎车县' are the same key."""
    text = unicodedata.normalize("NFKC", str(text))
    return re.sub(r"\s+", "", text)


def clean_en(text: str) -> str:
    """Lower-case, strip accents and apostrophes (Pu’er, Lüliang) and spaces."""
    text = unicodedata.normalize("NFKD", str(text).lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[’'`‘]", "", text)
    return re.sub(r"[^a-z0-9]+", "", text)


def _en_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", str(text).lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[’'`‘]", "", text)
    return [w for w in re.split(r"[^a-z0-9]+", text) if w]


def english_base(text: str) -> str:
    """The distinctive part of an English or pinyin name: 'Shache County' -> 'shache'."""
    words = _en_words(text)
    out: list[str] = []
    for word in words:
        if out and word in _EN_STOP:
            break
        out.append(word)
    return "".join(out)


def _is_latin(text: str) -> bool:
    return bool(re.fullmatch(r"[\sA-Za-z0-9'’`‘\-.,()ÀüÜāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]+", text))


def _strip_ethnic(base: str) -> str:
    """Drop trailing ethnic-group words: 红河哈尼族彝族 -> 红河, 伊犁哈萨克 -> 伊犁."""
    changed = True
    while changed:
        changed = False
        for group in _ETHNIC_SORTED:
            for word in (group + "族", group if len(group) >= 2 else None):
                if word and base.endswith(word) and len(base) - len(word) >= 2:
                    base = base[: -len(word)]
                    changed = True
                    break
            if changed:
                break
    return base


def short_forms(name_zh: str, level: str) -> set[str]:
    """Short forms people write for a unit: 莎车县 -> 莎车; 红河哈尼族彝族自治州 -> 红河州, 红河."""
    name = clean_zh(name_zh)
    forms: set[str] = set()
    for suffix in _SUFFIXES.get(level, ()):
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            if suffix in _AUTONOMOUS or suffix in ("自治区",):
                base = _strip_ethnic(base)
                if level == "prefecture":
                    forms.add(base + "州")
                elif level == "county" and suffix == "自治旗":
                    forms.add(base + "旗")
                elif level == "county":
                    forms.add(base + "县")
            forms.add(base)
            break
    forms.update(_ALIASES.get(name, ()))
    # One-character bases (芒市 -> 芒, 沛县 -> 沛) match far too much; keep them only as aliases.
    return {f for f in forms if f != name and (len(f) >= 2 or f in _ALIASES.get(name, ()))}


def _pinyin(text: str) -> str | None:
    try:
        from pypinyin import lazy_pinyin  # optional: only in the build/test extras
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return "".join(lazy_pinyin(text))


def _opt(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or pd.isna(value):
        return None
    text = str(value).strip()
    return text or None


def read_historical_names(path: Path = HISTORICAL_NAMES_CSV) -> pd.DataFrame:
    """Read the committed table of former names (see data/reference/README.md)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in HISTORICAL_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {HISTORICAL_COLUMNS}")
    return frame


class Gazetteer:
    """An index of today's places by every name people use for them.

    ``places`` has the columns of ``twinning.geo.boundaries.places_table()`` (adcode, level,
    name_zh, name_en, province_adcode, prefecture_adcode; ``pinyin`` is used if present).
    ``historical`` has the columns of ``historical_names.csv``; by default the committed file
    is read, and rows whose new adcode is not in ``places`` are ignored (small test fixtures).
    """

    def __init__(self, places: pd.DataFrame, historical: pd.DataFrame | None = None):
        self.places: dict[str, Place] = {}
        self.dual_level: set[str] = set()
        self._full: dict[str, list[str]] = {}
        self._historical: dict[str, list[str]] = {}
        self._historical_short: dict[str, list[str]] = {}
        self._short: dict[str, list[str]] = {}
        self.historical_notes: dict[str, str] = {}  # former name -> its change(s), short
        self._former_notes: dict[tuple[str, str], str] = {}  # (name, adcode) -> full note
        self._historical_short_of: dict[tuple[str, str], str] = {}
        # (name, the parent it had then, today's adcode, note): for an old register's
        # prefecture column (公主岭市 in 四平市, moved to 长春市 in 2020)
        self._old_parent_rows: list[tuple[str, str, str, str]] = []
        self._by_old_parent: dict[tuple[str, str], list[str]] | None = None
        # (former name, one unit it was divided into) -> all the units of that division
        self._split_parts: dict[tuple[str, str], list[str]] = {}
        self._pools: dict[str, list[str]] | None = None
        self._pool_by_script: dict[bool, list[str]] = {}
        self._build_places(places)
        self._index_names(places)
        if historical is None and HISTORICAL_NAMES_CSV.exists():
            historical = read_historical_names()
        if historical is not None:
            self._index_historical(historical)

    # -- construction -------------------------------------------------------------------
    def _build_places(self, places: pd.DataFrame) -> None:
        required = ["adcode", "level", "name_zh", "name_en", "province_adcode", "prefecture_adcode"]
        missing = [c for c in required if c not in places.columns]
        if missing:
            raise ValueError(f"places table lacks column(s) {missing}; expected {required}")
        order = {level: i for i, level in enumerate(LEVELS)}
        rows = sorted(
            places[required].to_dict("records"), key=lambda r: order.get(str(r["level"]), 9)
        )
        raw: dict[str, dict[str, Any]] = {}
        for row in rows:
            adcode = str(row["adcode"]).strip()
            if row["level"] not in order:
                raise ValueError(f"places table, adcode {adcode}: unknown level {row['level']!r}")
            if adcode in raw:
                # Province-administered units (东莞市, 阿拉尔市) and municipalities appear at two
                # levels with one adcode: keep one place, at the higher level.
                self.dual_level.add(adcode)
                continue
            raw[adcode] = row
        names = {a: (str(r["name_zh"]), str(r["name_en"])) for a, r in raw.items()}
        for adcode, row in raw.items():
            prov = _opt(row["province_adcode"])
            pref = _opt(row["prefecture_adcode"])
            if prov == adcode:
                prov = None
            if pref == adcode:
                pref = None
            self.places[adcode] = Place(
                adcode=adcode,
                level=str(row["level"]),
                name_zh=str(row["name_zh"]),
                name_en=str(row["name_en"]),
                province_adcode=prov,
                prefecture_adcode=pref,
                province_name_zh=names.get(prov, (None, None))[0] if prov else None,
                province_name_en=names.get(prov, (None, None))[1] if prov else None,
                prefecture_name_zh=names.get(pref, (None, None))[0] if pref else None,
                prefecture_name_en=names.get(pref, (None, None))[1] if pref else None,
            )

    @staticmethod
    def _add(index: dict[str, list[str]], key: str, adcode: str) -> None:
        if not key:
            return
        bucket = index.setdefault(key, [])
        if adcode not in bucket:
            bucket.append(adcode)

    def _index_names(self, places: pd.DataFrame) -> None:
        pinyin_col = (
            dict(zip(places["adcode"].astype(str), places["pinyin"], strict=False))
            if "pinyin" in places.columns
            else {}
        )
        for adcode, place in self.places.items():
            self._add(self._full, clean_zh(place.name_zh), adcode)
            self._add(self._full, clean_en(place.name_en), adcode)
            bases = short_forms(place.name_zh, place.level)
            for form in bases:
                self._add(self._short, form, adcode)
            self._add(self._short, english_base(place.name_en), adcode)
            extra = _opt(pinyin_col.get(adcode))
            if extra:
                self._add(self._short, clean_en(extra), adcode)
                self._add(self._short, english_base(extra), adcode)
            for form in [place.name_zh, *bases]:
                if len(form) >= 2 and not any(c.isascii() for c in form):
                    py = _pinyin(form)
                    if py:
                        self._add(self._short, clean_en(py), adcode)

    def _index_historical(self, historical: pd.DataFrame) -> None:
        """Index former names. One name may lead to several units: a unit split among
        several (邢台县 -> 襄都区, 信都区), or two places that once had the same name
        (郊区); ``within`` or the adcode then decides, else ``AmbiguousPlace``. ``within``
        tells two places of one former name apart but never cuts a split unit in parts."""
        splits: dict[tuple[str, str, str], list[str]] = {}
        for row in historical.to_dict("records"):
            adcode = str(row["new_adcode"]).strip()
            if adcode not in self.places:
                continue
            key = clean_zh(row["old_name"])
            note = f"{row['old_name']} -> {row['new_name']} ({row['year']}, {row['change']})"
            detail = str(row.get("note") or "").strip()
            if detail == f"{row['old_name']} -> {row['new_name']} ({row['year']})":
                detail = ""  # the note says no more than the change itself
            source = str(row.get("source") or "").strip()
            full = note + (f": {detail}" if detail else "") + (f" [{source}]" if source else "")
            for old_parent in str(row.get("old_parent") or "").split(";"):
                if clean_zh(old_parent):
                    self._old_parent_rows.append((key, clean_zh(old_parent), adcode, full))
            if row["change"] == "moved":  # the same name today: not a former name
                continue
            if row["change"] == "split":
                # the rows of one division cite one record ("...: 542135 碧土县 (1983–1999)")
                record = re.search(r": (\d{6}) ", str(row.get("source") or ""))
                group_id = (key, str(row["year"]), record.group(1) if record else "")
                group = splits.setdefault(group_id, [])
                group.append(adcode)
                for part in group:
                    self._split_parts[(key, part)] = group
            self._add(self._historical, key, adcode)
            # Short forms of former names (襄樊 for 襄樊市) rank below today's short names,
            # so 思茅 still means today's 思茅区 while 襄樊 finds 襄阳市.
            for form in short_forms(str(row["old_name"]), self.places[adcode].level):
                self._add(self._historical_short, clean_zh(form), adcode)
                self._historical_short_of.setdefault((clean_zh(form), adcode), key)
            self._former_notes[(key, adcode)] = full
            previous = self.historical_notes.get(key)
            self.historical_notes[key] = f"{previous}; {note}" if previous else note

    def _with_split_parts(self, text: str, adcodes: list[str]) -> list[str]:
        key = clean_zh(text)
        key = next(
            (
                self._historical_short_of[(key, a)]
                for a in adcodes
                if (key, a) in self._historical_short_of
            ),
            key,
        )
        out = list(adcodes)
        for adcode in adcodes:
            for part in self._split_parts.get((key, adcode), ()):
                if part not in out:
                    out.append(part)
        return out

    def _old_parent_index(self) -> dict[tuple[str, str], list[str]]:
        """(name, today's adcode of the parent it had then) -> today's adcodes; built on
        first use (each former parent is resolved once, itself possibly a former name)."""
        if self._by_old_parent is None:
            index: dict[tuple[str, str], list[str]] = {}
            parents: dict[str, list[Place]] = {}
            for key, old_parent, adcode, _note in self._old_parent_rows:
                if old_parent not in parents:
                    parents[old_parent] = self._match(old_parent, None)
                for parent in parents[old_parent]:
                    bucket = index.setdefault((key, parent.adcode), [])
                    if adcode not in bucket:
                        bucket.append(adcode)
            self._by_old_parent = index
        return self._by_old_parent

    def _under_old_parent(self, text: str, parent: Place) -> list[str]:
        """Units that were called ``text`` inside ``parent`` (or what it was) back then."""
        if not self._old_parent_rows or _is_latin(text):
            return []
        return self._old_parent_index().get((clean_zh(text), parent.adcode), [])

    def former_name_note(
        self, name: str, place: Place, within: str | Place | None = None
    ) -> str | None:
        """The note a record keeps when ``name`` reached ``place`` as a former name: what
        changed, when, and the source ("former name: 临安市 -> 临安区 (2017, ...) [MCA ...]");
        with ``within``, also when ``place`` was found through the parent it had then
        ("公主岭市 ... was in 四平市 until 2020; in 长春市 today"). None when ``name`` is one
        of today's names of ``place`` inside ``within``."""
        key = clean_zh(name)
        parent = None
        if within is not None:
            try:
                parent = self._resolve_parent(within)
            except PlaceError:
                parent = None
        if parent is not None and not place.is_within(parent):
            for row_key, old_parent, adcode, full in self._old_parent_rows:
                if (row_key, adcode) == (key, place.adcode) and parent in self._match(
                    old_parent, None
                ):
                    return f"former parent: {full}"
        if key in self._full and place.adcode in self._full[key]:
            return None
        if place.adcode in self._short.get(key, []):
            return None
        note = self._former_notes.get((key, place.adcode))
        if note is None:
            full = self._historical_short_of.get((key, place.adcode))
            note = self._former_notes.get((full, place.adcode)) if full else None
        if note and "newer_than_boundaries" in note.split(":")[0]:
            return f"newer name: {note}"  # 米林市 (2023), drawn as 米林县
        return f"former name: {note}" if note else None

    @classmethod
    def default(cls) -> Gazetteer:
        """The gazetteer of the shipped boundaries (data/geo), built once per process."""
        return _default_gazetteer()

    # -- lookups --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.places)

    def __iter__(self) -> Iterator[Place]:
        return iter(self.places.values())

    def get(self, adcode: str) -> Place | None:
        return self.places.get(str(adcode).strip())

    def places_frame(self) -> pd.DataFrame:
        """One row per adcode, the columns of the store's ``places`` table."""
        cols = ["adcode", "level", "name_zh", "name_en", "province_adcode", "prefecture_adcode"]
        return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in self.places.values()])

    def _keys(self, text: str) -> tuple[str, ...]:
        if _is_latin(text):
            return (clean_en(text), english_base(text))
        return (clean_zh(text),)

    def _tiers(self, text: str) -> Iterable[tuple[str, list[str]]]:
        keys = self._keys(text)
        latin = _is_latin(text)
        yield "full", self._full.get(keys[0], [])
        if not latin:
            yield "historical", self._historical.get(keys[0], [])
        short: list[str] = []
        for key in keys:
            short.extend(a for a in self._short.get(key, []) if a not in short)
        yield "short", short
        if not latin:
            yield "historical_short", self._historical_short.get(keys[0], [])

    def _pick(self, adcodes: list[str]) -> list[Place]:
        """Keep the one candidate containing all the others, if there is one."""
        found = [self.places[a] for a in adcodes]
        if len(found) > 1:
            for cand in found:
                if all(other is cand or other.is_within(cand) for other in found):
                    return [cand]
        return found

    def _match(self, text: str, parent: Place | None) -> list[Place]:
        text = text.strip()
        if re.fullmatch(r"\d{6}", text):
            place = self.places.get(text)
            if place and (parent is None or place.is_within(parent)):
                return [place]
            return []
        for tier, adcodes in self._tiers(text):
            if parent is not None:
                adcodes = [a for a in adcodes if self.places[a].is_within(parent)]
                if tier.startswith("historical"):
                    # a unit divided since stays divided: 碧土县 within 昌都地区 is still
                    # 左贡县 and 察隅县 (林芝市), not the part that stayed in 昌都
                    adcodes = self._with_split_parts(text, adcodes)
            if adcodes:
                found = self._pick(adcodes)
                if parent is not None and found == [parent]:
                    # a county column naming its prefecture's seat as it was then (铜仁市
                    # in 铜仁地区, today 碧江区), not the prefecture itself
                    seat = self._under_old_parent(text, parent)
                    if seat and seat != [parent.adcode]:
                        return self._pick(seat)
                return found
        if parent is not None:  # a unit that has since left that parent (公主岭市 in 四平市)
            return self._pick(self._under_old_parent(text, parent))
        return []

    def _split_points(self, text: str) -> list[int]:
        """Positions after an administrative suffix, left to right (上海市|松江区)."""
        points = []
        for i in range(2, len(text)):
            head = text[:i]
            if head.endswith(("省", "市", "州", "区", "县", "盟", "旗", "地区")):
                points.append(i)
        return points

    def _resolve_parent(self, within: str | Place | None) -> Place | None:
        if within is None or isinstance(within, Place):
            return within
        if not str(within).strip():
            return None
        return self.resolve(str(within))

    def resolve(
        self, name: str, within: str | Place | None = None, *, suggest: bool = True
    ) -> Place:
        """Return the one place ``name`` means (inside ``within`` if given), or raise.

        Raises ``AmbiguousPlace`` (several candidates, all listed) or ``PlaceNotFound``
        (with the closest names as suggestions unless ``suggest=False``, which callers
        probing many strings use to stay fast). Both are ``PlaceError(ValueError)``.

        A ``within`` that is itself ambiguous because it is a former prefecture divided
        since (巢湖地区 -> 合肥市, 芜湖市, 马鞍山市) is tried as each of its successors: the
        name resolves when it lies in exactly one of them (庐江县 -> 合肥市's).
        """
        try:
            parent = self._resolve_parent(within)
        except AmbiguousPlace as exc:
            if not self._historical.get(clean_zh(str(within))):
                raise
            found = []
            for candidate in exc.candidates:
                for place in self._find(str(name), candidate):
                    if place not in found:
                        found.append(place)
            today = [p for p in found if p.name_zh == clean_zh(str(name))]
            found = today or found  # a name in use today wins
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise self._ambiguous(str(name), found, within) from None
            raise
        found = self._find(str(name), parent)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise self._ambiguous(str(name), found, within)
        raise self._not_found(str(name), parent, within, suggest)

    def _find(self, name: str, parent: Place | None) -> list[Place]:
        """Candidates for ``name``: direct tiers first, then compound forms."""
        latin = _is_latin(name)
        text = name.strip() if latin else clean_zh(name)
        if not text:
            return []
        found = self._match(text, parent)
        if not found and not latin:
            found = self._find_compound(text, parent)
        return found

    def _find_compound(self, text: str, parent: Place | None) -> list[Place]:
        """佛山市南海区 -> 佛山市 then 南海区 inside it, splitting left to right."""
        for i in self._split_points(text):
            head = self._match(text[:i], parent)
            if len(head) != 1:
                continue
            found = self._find(text[i:], head[0])
            if found:
                return found
        return []

    def resolve_prefix(self, name: str, within: str | Place | None = None) -> tuple[Place, str]:
        """Resolve the longest leading place in ``name`` and return it with the rest.

        For text that names a place and then something below the adcode level or an
        organisation in it (东莞市虎门镇, 日喀则市上海实验学校): the caller decides whether
        the rest is acceptable. The rest is '' when the whole name resolves.
        """
        parent = self._resolve_parent(within)
        found = self._find(str(name), parent)
        if len(found) == 1:
            return found[0], ""
        if len(found) > 1:
            raise self._ambiguous(str(name), found, within)
        text = clean_zh(name)
        for i in range(len(text) - 1, 1, -1):
            head = self._find(text[:i], parent)
            if len(head) == 1:
                return head[0], text[i:]
        raise self._not_found(str(name), parent, within, suggest=False)

    # -- errors ---------------------------------------------------------------------------
    def _ambiguous(
        self, name: str, found: list[Place], within: str | Place | None
    ) -> AmbiguousPlace:
        listed = ", ".join(p.label() for p in found)
        message = f"'{name}' matches {len(found)} places: {listed} — add --within or use the adcode"
        return AmbiguousPlace(message, name, found, _within_text(within))

    def suggestions(self, name: str, parent: Place | None = None, n: int = 5) -> list[Place]:
        """The places whose names are closest to ``name`` (difflib), for error messages."""
        latin = _is_latin(name)
        key = clean_en(name) if latin else clean_zh(name)
        if self._pools is None:  # built on the first miss, not for every gazetteer
            keys: dict[str, list[str]] = {}
            for index in (self._full, self._short, self._historical):
                for k, adcodes in index.items():
                    keys.setdefault(k, []).extend(adcodes)
            self._pools = keys
        pool = (
            [
                k
                for k, adcodes in self._pools.items()
                if _is_latin(k) == latin
                and (parent is None or any(self.places[a].is_within(parent) for a in adcodes))
            ]
            if parent is not None
            else self._latin_pool(latin)
        )
        matches = difflib.get_close_matches(key, pool, n=n * 3, cutoff=0.5)
        spoken = None if latin or parent is not None else _pinyin(key)
        if spoken:  # homophone typos (沙车 for 莎车) are the commonest Chinese input slip
            exact = [k for k in (clean_en(spoken),) if k in self._pools]
            matches = exact + matches
        out: list[Place] = []
        for match in matches:
            for adcode in self._pools[match]:
                place = self.places[adcode]
                if (parent is None or place.is_within(parent)) and place not in out:
                    out.append(place)
        return out[:n]

    def _latin_pool(self, latin: bool) -> list[str]:
        cached = self._pool_by_script.get(latin)
        if cached is None:
            cached = [k for k in self._pools or {} if _is_latin(k) == latin]
            self._pool_by_script[latin] = cached
        return cached

    def _not_found(
        self, name: str, parent: Place | None, within: str | Place | None, suggest: bool = True
    ) -> PlaceNotFound:
        near = self.suggestions(name, parent) if suggest else []
        where = f" within {parent.name_zh} ({parent.adcode})" if parent else ""
        message = f"'{name}' matches no place{where}"
        if near:
            message += "; closest names: " + ", ".join(p.label() for p in near)
        message += " — check the spelling, add --within, or use the adcode"
        return PlaceNotFound(message, name, near, _within_text(within))


def _within_text(within: str | Place | None) -> str | None:
    if isinstance(within, Place):
        return within.name_zh
    return within


@functools.cache
def _default_gazetteer() -> Gazetteer:
    from twinning.geo.boundaries import places_table

    return Gazetteer(places_table())


def cli_resolve(args: argparse.Namespace) -> int:
    """`twinning places resolve NAME [--within PLACE]`: JSON on stdout; exit 0 or 1."""
    try:
        gazetteer = Gazetteer.default()
    except FileNotFoundError as exc:
        print(f"{exc} — build the boundaries first: twinning geo build", file=sys.stderr)
        return 1
    within = getattr(args, "within", None)
    try:
        place = gazetteer.resolve(args.name, within=within)
    except PlaceError as exc:
        print(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2))
        print(exc.message, file=sys.stderr)
        return 1
    out = place.to_dict()
    note = gazetteer.former_name_note(args.name, place, within=within)
    if note:  # what changed, when, and the source (临安市 -> 临安区, 2017)
        out["resolution_note"] = note
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0
