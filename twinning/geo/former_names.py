"""Former place names -> today's units, from the Ministry of Civil Affairs' yearly code lists.

The crosswalk in ``data/reference/historical_names.csv`` is built here from a published,
authoritative source: the MCA's yearly lists of county-level-and-above administrative
division codes (中华人民共和国县级以上行政区划代码, 民政部) and its lists of changes
(县级以上行政区划变更情况), as compiled, with the old -> new code correspondences and the
State Council / provincial approvals behind them, by the CC0 repository
``yescallop/areacodes`` (``codes.json``).

Two steps, both run by ``tools/build_historical_names.py``:

1. ``extract``: ``codes.json`` (2.5 MB) -> two small committed files:
   ``mca_division_records.csv`` (one row per code+name record with its years in use, its
   parent and its successors) and ``mca_division_documents.csv`` (title, number, date and
   origin of each approval the records cite). The build then runs offline.
2. ``build``: every county- or prefecture-level record whose name went out of use after
   ``since`` is followed, change by change, to the units that hold its territory today, and
   those are matched to the adcodes of ``data/geo`` (the boundaries may use an older code
   for a renamed unit: 横州市 is 450127 there, 450181 in the MCA list).

Rules (see data/reference/README.md):

* a record's successors are the codes its territory went to when it ended (transfers of
  parts during its life are ignored); a code is read as the record using it that year;
* when a record went to several units and exactly one of them was created that year either
  from it alone or under its name (襄阳县 -> 襄阳区, with some towns to 襄城区 and 樊城区),
  that unit is its successor and the others are named in the note; otherwise it was split
  and maps to all of them (江干区 -> 上城区 and 钱塘区);
* a prefecture record without successors of its own follows its counties: the prefectures
  that held them the year it ended (思茅地区 -> 思茅市 -> 普洱市);
* a record whose name is the name of its successor today is not a former name (a change
  of code or of parent only) and gives no row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from twinning.paths import REFERENCE_DIR

RECORDS_CSV = REFERENCE_DIR / "mca_division_records.csv"
DOCUMENTS_CSV = REFERENCE_DIR / "mca_division_documents.csv"
HISTORICAL_NAMES_CSV = REFERENCE_DIR / "historical_names.csv"
FROM_MEMORY_CSV = REFERENCE_DIR / "historical_names_from_memory.csv"
RECORD_COLUMNS = ["code", "name", "level", "start", "end", "parent", "succ"]
DOCUMENT_COLUMNS = ["year", "idx", "title", "number", "date", "origin"]
CROSSWALK_COLUMNS = [
    "old_name",
    "new_name",
    "new_adcode",
    "year",
    "change",
    "note",
    "source",
    "old_parent",
]
UPSTREAM = "github.com/yescallop/areacodes"
# The compilation's commit the committed extract was made from (2025-11-04).
UPSTREAM_COMMIT = "eed219a0678d36bacaa717f62443b10e869f0291"
SOURCE_LIST = "MCA 民政部 县级以上行政区划代码 lists and changes, via {upstream}@{commit} (CC0)"
FROM_MEMORY_UNCONFIRMED = "not found in the MCA lists (areacodes)"
DEFAULT_SINCE = 1992  # the reference data's earliest year (pairings.csv)


# -- extract -------------------------------------------------------------------------------
def _level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def _doc_header(text: str) -> dict[str, str]:
    """Title, 文号, 日期 and 来源 of one approval (the text itself is not kept)."""
    lines = text.splitlines()
    out = {"title": lines[0].lstrip("# ").strip() if lines else "", "number": "", "date": ""}
    out["origin"] = ""
    keys = {"文号": "number", "日期": "date", "来源": "origin"}
    for line in lines[1:8]:
        match = re.match(r"^(文号|日期|来源)[：:](.*)$", line.strip())
        if match:
            out[keys[match.group(1)]] = match.group(2).strip()
    return out


def extract(codes: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``codes.json`` of yescallop/areacodes -> (records, documents) frames."""
    records: list[dict[str, Any]] = []
    cited: set[tuple[str, int]] = set()

    def walk(items: Iterable[dict[str, Any]], parent: str) -> None:
        for item in items:
            code = f"{int(item['code']):06d}"
            succ = []
            for s in item.get("succ", []):
                part = f"{int(s['code']):06d}"
                if "time" in s:
                    part += f"@{int(s['time'])}"
                if "desc" in s:
                    part += f"#{int(s['desc'])}"
                    year = int(s.get("time", item.get("end", 0)))
                    cited.add((str(year), int(s["desc"])))
                succ.append(part)
            records.append(
                {
                    "code": code,
                    "name": item["name"],
                    "level": _level(code),
                    "start": int(item["start"]),
                    "end": int(item["end"]) if "end" in item else "",
                    "parent": parent,
                    "succ": ";".join(succ),
                }
            )
            walk(item.get("children", []), code)

    walk(codes["items"], "")
    docs = []
    for year, idx in sorted(cited, key=lambda k: (int(k[0]), k[1])):
        texts = codes.get("descriptions", {}).get(year, [])
        if idx < len(texts):
            docs.append({"year": int(year), "idx": idx, **_doc_header(texts[idx])})
    return (
        pd.DataFrame(records, columns=RECORD_COLUMNS),
        pd.DataFrame(docs, columns=DOCUMENT_COLUMNS),
    )


def extract_file(codes_json: Path, out_dir: Path = REFERENCE_DIR) -> tuple[Path, Path]:
    codes = json.loads(Path(codes_json).read_text(encoding="utf-8-sig"))
    records, documents = extract(codes)
    rec_path, doc_path = out_dir / RECORDS_CSV.name, out_dir / DOCUMENTS_CSV.name
    records.to_csv(rec_path, index=False, lineterminator="\n")
    documents.to_csv(doc_path, index=False, lineterminator="\n")
    return rec_path, doc_path


# -- the record graph ---------------------------------------------------------------------
@dataclass(frozen=True)
class Succ:
    code: str
    time: int | None
    desc: int | None


@dataclass(eq=False)
class Record:
    code: str
    name: str
    level: str
    start: int
    end: int | None
    parent: str
    succ: list[Succ] = field(default_factory=list)
    children: list[Record] = field(default_factory=list)

    def in_use(self, year: int) -> bool:
        return self.start <= year and (self.end is None or year < self.end)

    def label(self) -> str:
        until = "" if self.end is None else str(self.end)
        return f"{self.name} {self.code} ({self.start}–{until})"

    @property
    def end_succ(self) -> list[Succ]:
        return [s for s in self.succ if s.time is None or s.time == self.end]


_SUFFIX = re.compile(r"(自治县|自治旗|自治州|地区|县|市|区|旗|盟)$")


def stem(name: str) -> str:
    """The name without its unit word: 襄阳县 -> 襄阳 (a county made a district keeps it)."""
    return _SUFFIX.sub("", name) or name


def _parse_succ(text: str) -> list[Succ]:
    out = []
    for part in filter(None, str(text).split(";")):
        match = re.fullmatch(r"(\d{6})(?:@(\d{4}))?(?:#(\d+))?", part)
        if not match:
            raise ValueError(f"successor {part!r}: expected CODE[@YEAR][#DOC]")
        code, time, desc = match.groups()
        out.append(Succ(code, int(time) if time else None, int(desc) if desc else None))
    return out


@dataclass
class Step:
    """One change on the way from a former record to today: ``old`` became ``new`` in ``year``."""

    old: Record
    new: list[Record]
    year: int
    docs: list[str]
    also: list[Record] = field(default_factory=list)  # units that received parts only


class Divisions:
    """The MCA records as a graph: which record a code meant in a year, what followed it."""

    def __init__(self, records: pd.DataFrame, documents: pd.DataFrame | None = None):
        self.records: list[Record] = []
        self.by_code: dict[str, list[Record]] = {}
        for row in records.to_dict("records"):
            end = str(row["end"]).strip()
            rec = Record(
                code=str(row["code"]).zfill(6),
                name=str(row["name"]),
                level=str(row["level"]),
                start=int(row["start"]),
                end=int(end) if end else None,
                parent=str(row["parent"]).strip(),
                succ=_parse_succ(row["succ"]),
            )
            self.records.append(rec)
            self.by_code.setdefault(rec.code, []).append(rec)
        for recs in self.by_code.values():
            recs.sort(key=lambda r: r.start)
        for rec in self.records:
            if rec.parent:
                parent = self._parent_record(rec)
                if parent is not None:
                    parent.children.append(rec)
        self.docs: dict[tuple[int, int], str] = {}
        if documents is not None:
            for row in documents.to_dict("records"):
                label = str(row["number"]).strip() or str(row["title"]).strip()
                if str(row["date"]).strip():
                    label += f", {row['date']}"
                self.docs[(int(row["year"]), int(row["idx"]))] = label
        # Which records gave territory to a record in the year it started or changed:
        # ``preds`` those that ended into it, ``sources`` also those that only gave a part.
        self.preds: dict[int, list[Record]] = {}
        self.sources: dict[int, list[Record]] = {}
        for rec in self.records:
            for s in rec.succ:
                year = s.time if s.time is not None else rec.end
                if year is None:
                    continue
                target = self.at(s.code, year)
                if target is None or target is rec:
                    continue
                if rec.end == year:
                    self.preds.setdefault(id(target), []).append(rec)
                bucket = self.sources.setdefault(id(target), [])
                if rec not in bucket:
                    bucket.append(rec)

    def _parent_record(self, rec: Record) -> Record | None:
        """The parent record overlapping this record's years (nesting in codes.json)."""
        for cand in self.by_code.get(rec.parent, []):
            end = cand.end if cand.end is not None else 10**4
            rend = rec.end if rec.end is not None else 10**4
            if cand.start < rend and rec.start < end:
                return cand
        return None

    def at(self, code: str, year: int) -> Record | None:
        """The record using ``code`` in ``year`` (the one starting that year, if it changed)."""
        for rec in self.by_code.get(code, []):
            if rec.in_use(year):
                return rec
        return None

    def current(self) -> list[Record]:
        return [r for r in self.records if r.end is None]

    def _doc_labels(self, rec: Record, succ: Iterable[Succ]) -> list[str]:
        out: list[str] = []
        for s in succ:
            if s.desc is None or rec.end is None:
                continue
            label = self.docs.get((s.time or rec.end, s.desc))
            if label and label not in out:
                out.append(label)
        return out

    def step(self, rec: Record) -> Step | None:
        """What ``rec`` became when it ended, or None if the lists do not say."""
        if rec.end is None:
            return None
        year = rec.end
        ends = rec.end_succ
        if ends:
            new: list[Record] = []
            for s in ends:
                target = self.at(s.code, year)
                if target is not None and target is not rec and target not in new:
                    new.append(target)
            if not new:
                return None
            docs = self._doc_labels(rec, ends)
            if len(new) > 1:
                formed = [
                    r
                    for r in new
                    if r.start == year
                    and (self.sources.get(id(r)) == [rec] or r.name.startswith(stem(rec.name)))
                ]
                if len(formed) == 1:
                    also = [r for r in new if r is not formed[0]]
                    return Step(rec, formed, year, docs, also)
            return Step(rec, new, year, docs)
        same = self.at(rec.code, year)
        if same is not None and same is not rec:
            return Step(rec, [same], year, [])
        if rec.children:
            return self._step_by_children(rec)
        return None

    def _step_by_children(self, rec: Record) -> Step | None:
        """A prefecture that ended: the prefectures its counties were in that year."""
        year = rec.end
        assert year is not None
        found: list[Record] = []
        for child in rec.children:
            if not child.in_use(year - 1):
                continue
            if child.in_use(year):
                later = [child]
            else:
                step = self.step(child)
                later = (step.new + step.also) if step else []
            for county in later:
                # a county of a municipality (重庆市 since 1997) has no prefecture record
                pref = self.at(county.code[:4] + "00", year) or self.at(
                    county.code[:2] + "0000", year
                )
                if pref is not None and pref is not rec and pref not in found:
                    found.append(pref)
        return Step(rec, found, year, []) if found else None

    def today(self, rec: Record, _depth: int = 0) -> list[tuple[Record, list[Step]]]:
        """The records in use today that ``rec`` leads to, each with the chain of steps."""
        if rec.end is None:
            return [(rec, [])]
        if _depth > 40:  # pragma: no cover - the years only go forward
            raise RuntimeError(f"successor loop at {rec.label()}")
        step = self.step(rec)
        if step is None:
            return []
        out: list[tuple[Record, list[Step]]] = []
        for nxt in step.new:
            for final, chain in self.today(nxt, _depth + 1):
                out.append((final, [step, *chain]))
        return out


# -- matching today's MCA records to data/geo -------------------------------------------
def geo_matcher(divisions: Divisions, places: pd.DataFrame) -> dict[int, str]:
    """Today's MCA record (by id) -> the adcode data/geo uses for that unit.

    Same code and name first; else the unit of that name in that province (data/geo keeps
    an older code for some renamed units: 横州市 450127 = MCA 450181); else the same code
    (data/geo names it otherwise); else a predecessor's code (data/geo predates the change).
    """
    geo: dict[str, tuple[str, str]] = {}
    by_prov_name: dict[tuple[str, str], list[str]] = {}
    for row in places[["adcode", "name_zh"]].drop_duplicates("adcode").itertuples():
        geo[str(row.adcode)] = (str(row.name_zh), str(row.adcode)[:2])
        by_prov_name.setdefault((str(row.adcode)[:2], str(row.name_zh)), []).append(str(row.adcode))
    out: dict[int, str] = {}
    for rec in divisions.current():
        if rec.code in geo and geo[rec.code][0] == rec.name:
            out[id(rec)] = rec.code
            continue
        named = by_prov_name.get((rec.code[:2], rec.name), [])
        if len(named) == 1:
            out[id(rec)] = named[0]
            continue
        if rec.code in geo:
            out[id(rec)] = rec.code
            continue
        preds = [p for p in divisions.preds.get(id(rec), []) if p.code in geo]
        if len(preds) == 1 and geo[preds[0].code][0] == preds[0].name:
            out[id(rec)] = preds[0].code
    return out


# -- the crosswalk ------------------------------------------------------------------------
_COUNTY_KIND = {"县": "county", "旗": "county", "市": "city", "区": "district"}


def classify(old: Record, first: Step, new: Record, targets: int, divisions: Divisions) -> str:
    """The kind of change from ``old`` to ``new`` (today's record), ``first`` the first step."""
    if targets > 1:
        return "split"
    if len(first.new) == 1 and len(divisions.preds.get(id(first.new[0]), [])) > 1:
        return "merged"
    if old.level == "prefecture":
        if new.level == "province":  # 万县市 into the municipality of 重庆市 (1997)
            return "merged"
        if new.level == "county":
            return "city_to_district"
        if re.search(r"(地区|盟|自治州)$", old.name) and new.name.endswith("市"):
            return "prefecture_to_city"
        return "renamed"
    if new.level == "prefecture":
        return "renamed"
    kinds = [_COUNTY_KIND.get(old.name[-1:]), _COUNTY_KIND.get(new.name[-1:])]
    if old.name.endswith("自治县") or old.name.endswith("自治旗"):
        kinds[0] = "county"
    mapping = {
        ("county", "city"): "county_to_city",
        ("county", "district"): "county_to_district",
        ("city", "district"): "city_to_district",
    }
    return mapping.get((kinds[0], kinds[1]), "renamed")  # type: ignore[arg-type]


def _chain_note(rec: Record, chain: list[Step], final: Record, geo_name: str) -> str:
    parts = [rec.name]
    previous = rec.name
    for step in chain:
        names = "/".join(r.name for r in step.new)
        if names != previous:  # a change of code or parent only is not a step of the name
            parts.append(f"{names} ({step.year})")
        previous = names
    note = " -> ".join(parts)
    if final.name != geo_name:
        note += f"; {final.name} is {geo_name} in data/geo"
    also = [r.name for step in chain for r in step.also]
    if also:
        note += "; parts also went to " + ", ".join(dict.fromkeys(also))
    return note


def _chain_source(rec: Record, chain: list[Step], commit: str) -> str:
    source = SOURCE_LIST.format(upstream=UPSTREAM, commit=commit[:12])
    codes = f"{rec.code} {rec.name} ({rec.start}–{rec.end})"
    docs = [d for step in chain for d in step.docs]
    if docs:
        codes += "; " + "; ".join(dict.fromkeys(docs))
    return f"{source}: {codes}"


@dataclass
class BuildReport:
    considered: int = 0
    rows: int = 0
    names: int = 0
    split_names: int = 0
    moved: int = 0
    newer: int = 0
    no_successor: list[str] = field(default_factory=list)
    not_in_geo: list[str] = field(default_factory=list)
    confirmed_from_memory: list[str] = field(default_factory=list)
    kept_from_memory: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "records_considered": self.considered,
            "rows": self.rows,
            "former_names": self.names,
            "split_names": self.split_names,
            "moved_rows": self.moved,
            "newer_than_boundaries": self.newer,
            "no_successor": len(self.no_successor),
            "successor_not_in_geo": len(self.not_in_geo),
            "from_memory_confirmed": len(self.confirmed_from_memory),
            "from_memory_kept": self.kept_from_memory,
            "from_memory_disagreements": self.disagreements,
        }


@dataclass
class GeoIndex:
    """Today's MCA records matched to data/geo, with each unit's name and parents there."""

    of: dict[int, str]
    names: dict[str, str]
    parents: dict[str, set[str]]

    @classmethod
    def build(cls, divisions: Divisions, places: pd.DataFrame) -> GeoIndex:
        names: dict[str, str] = {}
        parents: dict[str, set[str]] = {}
        for row in places.to_dict("records"):
            adcode = str(row["adcode"])
            names.setdefault(adcode, str(row["name_zh"]))
            ups = {str(row[c]) for c in ("province_adcode", "prefecture_adcode") if row[c]}
            parents.setdefault(adcode, set()).update(u for u in ups if u != "None")
        return cls(geo_matcher(divisions, places), names, parents)


def _moved_row(
    divisions: Divisions, geo: GeoIndex, rec: Record, adcode: str, chain: list[Step], commit: str
) -> dict[str, Any] | None:
    """A unit that kept its name but changed prefecture (公主岭市: 四平市 -> 长春市, 2020):
    a row that lets an old register's prefecture column still find it."""
    assert rec.end is not None
    parent = divisions.at(rec.parent, rec.end - 1) if rec.parent else None
    if parent is None:
        return None
    then = {geo.of.get(id(f)) for f, _ in divisions.today(parent)} - {None}
    if len(then) == 1 and then & geo.parents.get(adcode, set()):
        return None  # still inside what became of its old parent, which was not divided
    ups = sorted(geo.parents.get(adcode, set()), key=len)
    now = [geo.names[u] for u in ups if u in geo.names and u != adcode[:2] + "0000"]
    if adcode.endswith("0000"):  # 重庆市, a prefecture of 四川省 until 1997
        where = f"{geo.names[adcode]} (province-level)"
    else:
        where = now[0] if now else "its province"
    return {
        "old_name": rec.name,
        "new_name": geo.names[adcode],
        "new_adcode": adcode,
        "year": str(rec.end),
        "change": "moved",
        "note": f"{rec.name} was in {parent.name} until {rec.end}; in {where} today",
        "source": _chain_source(rec, chain, commit),
        "old_parent": parent.name,
    }


def _rows_for(
    divisions: Divisions,
    geo: GeoIndex,
    rec: Record,
    commit: str,
    report: BuildReport,
) -> list[dict[str, Any]]:
    geo_of, geo_names = geo.of, geo.names
    finals = divisions.today(rec)
    if not finals:
        report.no_successor.append(rec.label())
        return []
    targets: dict[str, tuple[Record, list[Step]]] = {}
    for final, chain in finals:
        adcode = geo_of.get(id(final))
        if adcode is None:
            report.not_in_geo.append(f"{rec.label()} -> {final.label()}")
            continue
        targets.setdefault(adcode, (final, chain))
    if len(targets) == 1 and geo_names[next(iter(targets))] == rec.name:
        # the same name today: not a former name; a row only if it changed prefecture
        adcode, (_final, chain) = next(iter(targets.items()))
        moved = _moved_row(divisions, geo, rec, adcode, chain, commit)
        return [moved] if moved else []
    assert rec.end is not None
    parent = divisions.at(rec.parent, rec.end - 1) if rec.parent else None
    rows = []
    for adcode, (final, chain) in targets.items():
        rows.append(
            {
                "old_name": rec.name,
                "new_name": geo_names[adcode],
                "new_adcode": adcode,
                "year": str(rec.end),
                "change": classify(rec, chain[0], final, len(targets), divisions),
                "note": _chain_note(rec, chain, final, geo_names[adcode])
                + (f"; split: {len(targets)} units today" if len(targets) > 1 else ""),
                "source": _chain_source(rec, chain, commit),
                "old_parent": parent.name if parent else "",
            }
        )
    return rows


NEWER = "newer_than_boundaries"


def _newer_rows(divisions: Divisions, geo: GeoIndex, commit: str) -> list[dict[str, Any]]:
    """Names newer than data/geo: a unit renamed after the boundaries were drawn (米林县 ->
    米林市, 2023) is still drawn under its old name and code; the new name finds it."""
    rows = []
    for rec in divisions.current():
        adcode = geo.of.get(id(rec))
        if adcode is None or geo.names[adcode] == rec.name or rec.level == "province":
            continue
        old = divisions.at(adcode, rec.start - 1)
        parent = divisions.at(rec.parent, rec.start) if rec.parent else None
        source = SOURCE_LIST.format(upstream=UPSTREAM, commit=commit[:12])
        rows.append(
            {
                "old_name": rec.name,
                "new_name": geo.names[adcode],
                "new_adcode": adcode,
                "year": str(rec.start),
                "change": NEWER,
                "note": f"{old.name if old else geo.names[adcode]} became {rec.name} "
                f"({rec.start}); data/geo still draws it as {geo.names[adcode]} {adcode}",
                "source": f"{source}: {rec.code} {rec.name} ({rec.start}–)",
                "old_parent": parent.name if parent else "",
                "_in_window": True,
            }
        )
    return rows


def build_crosswalk(
    divisions: Divisions,
    places: pd.DataFrame,
    commit: str,
    since: int = DEFAULT_SINCE,
    from_memory: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, BuildReport]:
    """The rows of historical_names.csv: every county- or prefecture-level name that went
    out of use after ``since``, plus the ``from_memory`` rows the list does not confirm."""
    report = BuildReport()
    geo = GeoIndex.build(divisions, places)
    all_rows: list[dict[str, Any]] = []
    for rec in divisions.records:
        if rec.end is None or rec.level == "province":
            continue
        rows = _rows_for(divisions, geo, rec, commit, report)
        for row in rows:
            row["_in_window"] = rec.end > since
        report.considered += rec.end > since
        all_rows.extend(rows)
    all_rows.extend(_newer_rows(divisions, geo, commit))
    # One row per (former name, today's unit): the latest change wins (即墨市 1989 and 2017);
    # a move per former prefecture.
    # The parents a name had over those years are all kept (眉山县: 乐山市;眉山地区).
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    parents: dict[tuple[str, str, str], list[str]] = {}
    for row in sorted(all_rows, key=lambda r: int(r["year"])):
        moved = row["old_parent"] if row["change"] == "moved" else ""
        key = (row["old_name"], row["new_adcode"], moved)
        best[key] = row
        seen = parents.setdefault(key, [])
        if row["old_parent"] and row["old_parent"] not in seen:
            seen.append(row["old_parent"])
    for key, row in best.items():
        row["old_parent"] = ";".join(parents[key])
    listed_names = {k[0] for k in best if not k[2]}
    wanted = {k for k, row in best.items() if row["_in_window"]}
    out = []
    if from_memory is not None:
        for row in from_memory.to_dict("records"):
            key = (row["old_name"], str(row["new_adcode"]), "")
            if key in best:
                wanted.add(key)
                report.confirmed_from_memory.append(row["old_name"])
            elif row["old_name"] in listed_names:
                listed = sorted(k[1] for k in best if k[0] == row["old_name"] and not k[2])
                report.disagreements.append(
                    f"{row['old_name']}: from_memory {row['new_adcode']}, the list {listed}"
                )
                wanted.update(k for k in best if k[0] == row["old_name"] and not k[2])
            else:
                source = str(row["source"])
                if FROM_MEMORY_UNCONFIRMED not in source:
                    source = f"{source}; {FROM_MEMORY_UNCONFIRMED}"
                kept = {c: row.get(c, "") for c in CROSSWALK_COLUMNS}
                out.append({**kept, "source": source})
                report.kept_from_memory.append(row["old_name"])
    for key in sorted(wanted, key=lambda k: (best[k]["new_adcode"], k[0], k[2])):
        out.append({c: best[key][c] for c in CROSSWALK_COLUMNS})
    frame = pd.DataFrame(out, columns=CROSSWALK_COLUMNS)
    report.rows = len(frame)
    former = frame[~frame["change"].isin(["moved", NEWER])]
    report.names = former["old_name"].nunique()
    report.newer = int((frame["change"] == NEWER).sum())
    report.moved = int((frame["change"] == "moved").sum())
    report.split_names = int(frame[frame["change"] == "split"]["old_name"].nunique())
    return frame, report


def read_inputs(
    records_csv: Path = RECORDS_CSV, documents_csv: Path = DOCUMENTS_CSV
) -> tuple[pd.DataFrame, pd.DataFrame]:
    records = pd.read_csv(records_csv, dtype=str, keep_default_na=False)
    documents = pd.read_csv(documents_csv, dtype=str, keep_default_na=False)
    return records, documents
