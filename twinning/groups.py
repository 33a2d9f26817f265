"""Scopes of several places: named groups, lists in a cell, XPCC divisions (issue #10).

A figure's recipient (or donor) cell may name one place ("莎车县"), a list ("林芝市, 昌都市",
"伊犁州直, 克州, 兵团第四、七师"), a named group ("上海对口帮扶地区", defined once in
``data/reference/groups.csv`` with its members and the source of that definition), a
division of the Xinjiang Production and Construction Corps ("第十四师", defined in
``data/reference/xpcc_divisions.csv`` with its seat) or something the donor reports about
itself ("(in Shanghai)", awards: a *donor-side* figure). ``ScopeResolver.resolve`` turns
such a cell into a ``Scope``; the reference loader and the importer both call it, so a
file and the reference data resolve alike.

A scope never splits a figure: the members are what the figure is about *together*.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from twinning.paths import REFERENCE_DIR

GROUPS_CSV = "groups.csv"
DIVISIONS_CSV = "xpcc_divisions.csv"
GROUP_COLUMNS = [
    "group",
    "name_zh",
    "name_en",
    "aliases",
    "side",
    "member",
    "member_name",
    "source",
    "confidence",
    "note",
]
DIVISION_COLUMNS = [
    "division",
    "name_zh",
    "name_en",
    "aliases",
    "seat_adcode",
    "seat_name",
    "source",
    "confidence",
]
GROUP_SIDES = ("recipient", "donor", "donor_side")
GROUP_CONFIDENCE = ("seen_in_source", "from_pairings", "enclosing", "from_memory")
XPCC_PREFIX = "xpcc:"
XPCC_NAME = "新疆生产建设兵团"
LIST_GROUP = "list"  # scope_group of a figure whose cell is a plain list of places

_LIST_SEPARATORS = re.compile(r"\s*(?:[,，;；、]|\band\b)\s*")
_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_DIVISION_LIST = re.compile(
    r"^(?:新疆生产建设)?兵团第([一二三四五六七八九十]+(?:、[一二三四五六七八九十]+)+)师$"
)
_DIVISION = re.compile(
    r"^(?:新疆生产建设兵团|兵团)?(?:第)?([一二三四五六七八九十]+|\d+)师$"
    r"|^(?:XPCC\s+)?(\d+)(?:st|nd|rd|th)\s+Division(?:\s+of\s+the\s+XPCC)?$",
    re.IGNORECASE,
)


def chinese_number(text: str) -> int | None:
    """一 .. 十九 as an int (division numbers); digits as themselves."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _NUMERALS and c != "十" for c in text):
        return None
    if "十" not in text:
        return _NUMERALS.get(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_NUMERALS[tens] if tens else 1) * 10 + (_NUMERALS[ones] if ones else 0)


@dataclass(frozen=True)
class Division:
    """A division of the XPCC (or the Corps itself, number 0), drawn at its seat."""

    key: str  # xpcc:14
    number: int
    name_zh: str
    name_en: str
    seat_adcode: str
    seat_name: str
    source: str
    confidence: str


@dataclass(frozen=True)
class Group:
    """A named group of places, defined once with the source of its definition."""

    key: str
    name_zh: str
    name_en: str
    side: str  # recipient | donor | donor_side
    members: tuple[str, ...]  # adcodes or xpcc:<n>; none for donor_side
    aliases: tuple[str, ...]
    source: str
    confidence: str
    note: str = ""


@dataclass(frozen=True)
class Member:
    key: str  # adcode or xpcc:<n>
    level: str | None  # province | prefecture | county | xpcc


@dataclass(frozen=True)
class Scope:
    """What a cell resolves to. ``members`` empty and ``reason`` set: not resolved."""

    members: tuple[Member, ...] = ()
    group: str | None = None  # group key, LIST_GROUP, or None for one place
    donor_side: bool = False
    note: str | None = None
    reason: str | None = None
    place: Any = None  # the gazetteer Place when the cell names exactly one place

    @property
    def is_several(self) -> bool:
        return len(self.members) > 1


@dataclass
class GroupData:
    groups: dict[str, Group] = field(default_factory=dict)
    divisions: dict[str, Division] = field(default_factory=dict)

    def division_by_number(self, n: int) -> Division | None:
        return self.divisions.get(f"{XPCC_PREFIX}{n}")


class GroupFileError(ValueError):
    """groups.csv or xpcc_divisions.csv is malformed; the message names file, row, column."""


def _read(path: Path, columns: list[str]) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise GroupFileError(
                f"{path.name}: missing column(s) {', '.join(missing)}"
                f" / 缺少列：{'、'.join(missing)}"
            )
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def load_groups(folder: Path | str = REFERENCE_DIR, known: set[str] | None = None) -> GroupData:
    """Read both files; ``known`` (adcodes) checks every member and seat when given."""
    folder = Path(folder)
    data = GroupData()
    problems: list[str] = []
    for i, row in enumerate(_read(folder / DIVISIONS_CSV, DIVISION_COLUMNS), start=1):
        key = row["division"]
        number = key.removeprefix(XPCC_PREFIX)
        if not key.startswith(XPCC_PREFIX) or not number.isdigit():
            problems.append(
                f"{DIVISIONS_CSV}, row {i}, column division: {key!r} — expected xpcc:<number>"
                f" / 应为 xpcc:<编号>"
            )
            continue
        if known is not None and row["seat_adcode"] not in known:
            problems.append(
                f"{DIVISIONS_CSV}, row {i}, column seat_adcode: {row['seat_adcode']!r} — "
                "not an adcode of data/geo / 不是 data/geo 中的行政区划代码"
            )
        data.divisions[key] = Division(
            key=key,
            number=int(number),
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            seat_adcode=row["seat_adcode"],
            seat_name=row["seat_name"],
            source=row["source"],
            confidence=row["confidence"],
        )
    members: dict[str, list[str]] = {}
    first: dict[str, dict[str, str]] = {}
    for i, row in enumerate(_read(folder / GROUPS_CSV, GROUP_COLUMNS), start=1):
        key = row["group"]
        if row["side"] not in GROUP_SIDES:
            problems.append(
                f"{GROUPS_CSV}, row {i}, column side: {row['side']!r} — use one of "
                f"{', '.join(GROUP_SIDES)} / 应为 {'、'.join(GROUP_SIDES)} 之一"
            )
        if row["confidence"] not in GROUP_CONFIDENCE:
            problems.append(
                f"{GROUPS_CSV}, row {i}, column confidence: {row['confidence']!r} — use one of "
                f"{', '.join(GROUP_CONFIDENCE)} / 应为 {'、'.join(GROUP_CONFIDENCE)} 之一"
            )
        member = row["member"]
        if member:
            ok = member in data.divisions if member.startswith(XPCC_PREFIX) else True
            if known is not None and not member.startswith(XPCC_PREFIX):
                ok = member in known
            if not ok:
                problems.append(
                    f"{GROUPS_CSV}, row {i}, column member: {member!r} — not an adcode of "
                    "data/geo nor a division of xpcc_divisions.csv / 不是已知的行政区划代码或兵团师"
                )
            members.setdefault(key, []).append(member)
        elif row["side"] != "donor_side":
            problems.append(
                f"{GROUPS_CSV}, row {i}, column member: blank — a group of places needs its "
                "members / 地区组须列出成员"
            )
        first.setdefault(key, row)
        members.setdefault(key, [])
    if problems:
        raise GroupFileError("\n".join(problems))
    for key, row in first.items():
        aliases = tuple(a.strip() for a in row["aliases"].split("|") if a.strip())
        data.groups[key] = Group(
            key=key,
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            side=row["side"],
            members=tuple(dict.fromkeys(members[key])),
            aliases=aliases,
            source=row["source"],
            confidence=row["confidence"],
            note=row["note"],
        )
    return data


@lru_cache(maxsize=4)
def default_groups(folder: str = str(REFERENCE_DIR)) -> GroupData:
    return load_groups(folder)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip()).casefold()


class ScopeResolver:
    """Resolves a donor or recipient cell to a ``Scope`` through the gazetteer.

    ``resolve_one(text)`` is the gazetteer step for one name; it returns
    ``(place, note, reason)`` as ``twinning.reference.resolve_free_text`` does.
    """

    def __init__(self, gazetteer: Any, data: GroupData | None = None, resolve_one: Any = None):
        self.gaz = gazetteer
        self.data = data if data is not None else default_groups()
        if resolve_one is None:
            from twinning.reference import resolve_free_text

            def resolve_one(text: str) -> tuple[Any, str | None, str | None]:
                return resolve_free_text(gazetteer, text)

        self._one = resolve_one
        self._aliases: dict[str, Group] = {}
        for group in self.data.groups.values():
            for name in (group.name_zh, group.name_en, *group.aliases):
                self._aliases.setdefault(_norm(name), group)
        self._divisions: dict[str, Division] = {}
        for d in self.data.divisions.values():
            names = [d.name_zh, d.name_en]
            if d.number:
                names += [f"兵团{d.name_zh}", f"{XPCC_NAME}{d.name_zh}"]
            for name in names:
                self._divisions[_norm(name)] = d

    # -- divisions ----------------------------------------------------------------------
    def division(self, text: str) -> Division | None:
        """第十四师, 兵团第十四师, 新疆生产建设兵团第十四师, 兵团十四师, 14th Division."""
        key = _norm(text)
        if key in self._divisions:
            return self._divisions[key]
        m = _DIVISION.match(text.strip())
        if not m:
            return None
        n = chinese_number(m.group(1)) if m.group(1) else int(m.group(2))
        return self.data.division_by_number(n) if n else None

    def _division_list(self, text: str) -> list[Division] | None:
        m = _DIVISION_LIST.match(text.strip())
        if not m:
            return None
        out = []
        for part in m.group(1).split("、"):
            n = chinese_number(part)
            d = self.data.division_by_number(n) if n else None
            if d is None:
                return None
            out.append(d)
        return out

    # -- cells --------------------------------------------------------------------------
    def group(self, text: str) -> Group | None:
        text = text.strip()
        for candidate in (text, text.split(" (")[0], text.split("（")[0]):
            group = self._aliases.get(_norm(candidate))
            if group is not None:
                return group
        return None

    def resolve(self, text: str) -> Scope:
        """The scope a cell names (see the module docstring)."""
        text = (text or "").strip()
        group = self.group(text)
        if group is not None:
            return self._group_scope(group)
        division = self.division(text.split(" (")[0])
        if division is not None:
            return Scope(members=(Member(division.key, "xpcc"),), note=_division_note(division))
        head = text.split(" (")[0].strip()
        parts = [p for p in _LIST_SEPARATORS.split(head) if p] if head else []
        if len(parts) > 1 or self._division_list(head):
            return self._list_scope(head)
        place, note, reason = self._one(text)
        if place is None:
            return Scope(reason=reason)
        return Scope(members=(Member(place.adcode, place.level),), note=note, place=place)

    def _group_scope(self, group: Group) -> Scope:
        if group.side == "donor_side":
            note = f"donor-side: {group.name_en} ({group.note})" if group.note else None
            return Scope(group=group.key, donor_side=True, note=note)
        members = tuple(self._member(m) for m in group.members)
        note = f"group {group.name_zh}: {len(members)} members ({group.confidence})"
        if len(members) == 1:
            return self._one_member(members[0], f"{group.name_zh}: {group.note or group.source}")
        return Scope(members=members, group=group.key, note=note)

    def _one_member(self, member: Member, note: str | None) -> Scope:
        place = None if member.level == "xpcc" else self.gaz.get(member.key)
        return Scope(members=(member,), note=note, place=place)

    def _member(self, key: str) -> Member:
        if key.startswith(XPCC_PREFIX):
            return Member(key, "xpcc")
        place = self.gaz.get(key)
        return Member(key, place.level if place is not None else None)

    def _list_scope(self, head: str) -> Scope:
        # a cell such as 兵团第四、七师 inside a list: split it before the list
        members: list[Member] = []
        notes: list[str] = []
        for part in [p for p in re.split(r"\s*[,，;；]\s*|\s+and\s+", head) if p]:
            divisions = self._division_list(part)
            pieces = [part] if divisions is None else []
            for d in divisions or []:
                members.append(Member(d.key, "xpcc"))
                notes.append(_division_note(d))
            for piece in pieces:
                for sub in [s for s in piece.split("、") if s] if "、" in piece else [piece]:
                    scope = self.resolve(sub)
                    if not scope.members:
                        why = scope.reason or "donor-side description in a list"
                        return Scope(reason=f"list {head!r}: part {sub!r}: {why}")
                    members.extend(scope.members)
                    if scope.note:
                        notes.append(scope.note)
        unique = tuple(dict.fromkeys(members))
        if len(unique) == 1:
            return self._one_member(unique[0], "; ".join(notes) or None)
        note = f"list of {len(unique)} places" + (f" ({'; '.join(notes)})" if notes else "")
        return Scope(members=unique, group=LIST_GROUP, note=note)


def _division_note(d: Division) -> str:
    return (
        f"{d.name_zh} is a division of the {XPCC_NAME} (XPCC), not the territory of its seat "
        f"{d.seat_name}: drawn as a point at the seat ({d.confidence})"
    )
