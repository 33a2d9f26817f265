"""Read, validate and place-resolve the reference data in ``data/reference/``.

The reference CSVs are the atlas's ground truth, so reading them is strict: an unknown
programme or confidence, a bad year, start after end or a non-numeric value stops the
load with every problem listed by file, row, column and value. Nothing is dropped:
a row whose places cannot be resolved is kept with the adcode NULL and a reason, so
the atlas can list it as unresolved.

Rebuild the folder from the compiled originals (copies byte for byte, then checks)::

    python -m twinning.reference sync --from ../shared/reference
    python -m twinning.reference check          # validate + resolve, print a summary
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from twinning import i18n
from twinning.filters import YEAR_MAX, YEAR_MIN
from twinning.gazetteer import AmbiguousPlace, Gazetteer, Place, PlaceError
from twinning.groups import DIVISIONS_CSV, GROUPS_CSV, ScopeResolver, load_groups
from twinning.paths import REFERENCE_DIR

PAIRINGS_CSV = "pairings.csv"
FIGURES_CSV = "figures.csv"
HISTORICAL_CSV = "historical_names.csv"
SYNCED_FILES = (PAIRINGS_CSV, FIGURES_CSV, "NOTES.md")

PAIRING_COLUMNS = [
    "program",
    "donor_province",
    "donor_unit",
    "recipient_province",
    "recipient_prefecture",
    "recipient_county",
    "start_year",
    "end_year",
    "source",
    "confidence",
]
FIGURE_COLUMNS = [
    "donor",
    "recipient",
    "period_start",
    "period_end",
    "metric",
    "value",
    "unit",
    "quote",
    "source",
]
# The vocabulary is defined once, in twinning.i18n (codes) and its catalogs (words).
PROGRAMS = i18n.PROGRAM_CODES
PAIRING_CONFIDENCE = ("seen_in_source", "from_memory")
# figures.csv has no confidence column; it is derived from the source (see README).
FIGURE_CONFIDENCE = ("quoted_primary", "quoted_translator_note", "quoted_secondary")
PRIMARY_DOCUMENTS = ("000_3fe4908ac1a43767.txt", "004_9370aca5d40441e1.txt")
QUALIFIERS = i18n.QUALIFIER_CODES

CENTRAL_SOE = "中央企业"
XPCC = "新疆生产建设兵团"
# NOTES.md section 3: the divisions' seat cities, from memory and not the same territory.
XPCC_SEATS = {
    "第十四师": "昆玉市",
    "第十师": "北屯市",
    "第十三师": "新星市",
    "第二师": "铁门关市",
    "第五师": "双河市",
    "第四师": "可克达拉市",
    "第七师": "胡杨河市",
}
# Statistical groupings that stand in the prefecture column but are not units.
PSEUDO_PREFECTURES = ("自治区直辖县级行政区划", "省直辖县级行政区划", "市辖区", "县")
SUBUNIT_SUFFIXES = ("街道", "镇", "乡", "村", "社区", "苏木", "嘎查")
ORGANISATION_SUFFIXES = (
    "人民政府",
    "委员会",
    "医院",
    "学校",
    "企业",
    "社会组织",
    "社会力量",
)
# A company named after a province (云南英茂集团) is in it; after a smaller unit's short
# name it is not (光明集团 is Shanghai's, not 光明区's), so only provinces count.
COMPANY_SUFFIXES = ("集团", "公司")
_AGGREGATE_SEPARATORS = (",", "，", "、", ";", "；", "/", " and ", "及", "等", "各")
_AGGREGATE_WORDS = (
    "省市",
    "省区市",
    "地州市",
    "地区",
    "provinces",
    "municipalities",
    "regions",
    "areas",
    "counties",
    "prefectures",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a reference file, located so a person can fix it."""

    file: str
    row: int | None  # 1-based data row (the header is row 0); None for the whole file
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row} (line {self.row + 1})"
        if self.column:
            where += f", column {self.column}"
        value = f": {self.value!r}" if self.value is not None else ""
        return f"{where}{value} — {self.message}"


class ReferenceDataError(ValueError):
    """The reference files are invalid; ``problems`` lists every one found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the reference data:\n{shown}{more}")


@dataclass
class ReferenceData:
    """Validated, resolved reference rows, ready to store (columns of schema.py)."""

    pairings: pd.DataFrame
    figures: pd.DataFrame
    sha256: str
    folder: Path
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256


def reference_sha256(folder: Path = REFERENCE_DIR) -> str:
    """One hash over the files that decide what is seeded (data and former names)."""
    digest = hashlib.sha256()
    for name in (PAIRINGS_CSV, FIGURES_CSV, HISTORICAL_CSV, GROUPS_CSV, DIVISIONS_CSV):
        path = Path(folder) / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


# -- reading and validation ---------------------------------------------------------------
def _read_rows(path: Path, expected: list[str], problems: list[Problem]) -> list[dict[str, str]]:
    name = path.name
    if not path.exists():
        problems.append(Problem(name, None, None, None, f"file not found at {path}"))
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(name, None, None, None, f"not UTF-8 ({exc.reason}); save it as UTF-8")
        )
        return []
    reader = csv.DictReader(text.lstrip("\ufeff").splitlines())
    header = reader.fieldnames or []
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    for col in missing:
        problems.append(Problem(name, 0, col, None, f"missing column; expected {expected}"))
    for col in extra:
        problems.append(Problem(name, 0, col, None, f"unknown column; expected {expected}"))
    if missing:
        return []
    rows = []
    for i, row in enumerate(reader, start=1):
        if None in row:
            problems.append(
                Problem(name, i, None, str(row[None]), "more cells than columns; quote commas")
            )
        rows.append({k: (v or "").strip() for k, v in row.items() if k is not None})
    return rows


def _year(name: str, i: int, row: dict[str, str], col: str, problems: list[Problem]) -> int | None:
    raw = row.get(col, "")
    if raw == "":
        return None
    if not re.fullmatch(r"\d{4}", raw) or not YEAR_MIN <= int(raw) <= YEAR_MAX:
        problems.append(
            Problem(name, i, col, raw, f"not a year; write 4 digits {YEAR_MIN}–{YEAR_MAX} or blank")
        )
        return None
    return int(raw)


def _check_span(
    name: str, i: int, cols: tuple[str, str], years: tuple[int | None, int | None], problems
) -> None:
    start, end = years
    if start is not None and end is not None and start > end:
        problems.append(
            Problem(name, i, cols[0], str(start), f"starts after {cols[1]} {end}; swap them")
        )


def _required(name: str, i: int, row: dict[str, str], cols: Sequence[str], problems) -> None:
    for col in cols:
        if not row.get(col):
            problems.append(Problem(name, i, col, "", "required; the cell is blank"))


def validate_pairings(rows: list[dict[str, str]], name: str = PAIRINGS_CSV) -> list[Problem]:
    problems: list[Problem] = []
    for i, row in enumerate(rows, start=1):
        _required(name, i, row, ("program", "donor_province", "recipient_province"), problems)
        _required(name, i, row, ("source", "confidence"), problems)
        if row["program"] and row["program"] not in PROGRAMS:
            problems.append(
                Problem(
                    name, i, "program", row["program"], f"unknown programme; use one of {PROGRAMS}"
                )
            )
        if row["confidence"] and row["confidence"] not in PAIRING_CONFIDENCE:
            problems.append(
                Problem(
                    name,
                    i,
                    "confidence",
                    row["confidence"],
                    f"unknown confidence; use one of {PAIRING_CONFIDENCE}",
                )
            )
        if row["recipient_county"] and not row["recipient_prefecture"]:
            problems.append(
                Problem(
                    name,
                    i,
                    "recipient_prefecture",
                    "",
                    "a county row needs its prefecture (use 重庆市 for Chongqing counties)",
                )
            )
        start = _year(name, i, row, "start_year", problems)
        end = _year(name, i, row, "end_year", problems)
        _check_span(name, i, ("start_year", "end_year"), (start, end), problems)
    return problems


def parse_unit(unit: str) -> tuple[str, str]:
    """Split 'CNY (lower bound)' into ('CNY', 'lower_bound'); the note stays in the original."""
    match = re.fullmatch(r"(.*?)\s*\((.*)\)\s*", unit)
    if not match:
        return unit.strip(), "exact"
    base, inner = match.group(1).strip(), match.group(2)
    first = inner.split(";")[0].strip().lower()
    if first == "lower bound":
        return base, "lower_bound"
    if first in ("approx.", "approx", "approximately", "about"):
        return base, "approx"
    return base, "exact"


def _number(raw: str) -> float | None:
    if not re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", raw):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def validate_figures(rows: list[dict[str, str]], name: str = FIGURES_CSV) -> list[Problem]:
    problems: list[Problem] = []
    for i, row in enumerate(rows, start=1):
        _required(
            name, i, row, ("recipient", "metric", "value", "unit", "quote", "source"), problems
        )
        if row["metric"] and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", row["metric"]):
            problems.append(
                Problem(
                    name,
                    i,
                    "metric",
                    row["metric"],
                    "use letters, digits and underscores (funds_cny)",
                )
            )
        if row["value"] and _number(row["value"]) is None:
            problems.append(
                Problem(
                    name,
                    i,
                    "value",
                    row["value"],
                    "not a plain number; write it in base units without separators (9030000000)",
                )
            )
        start = _year(name, i, row, "period_start", problems)
        end = _year(name, i, row, "period_end", problems)
        _check_span(name, i, ("period_start", "period_end"), (start, end), problems)
    return problems


# -- place resolution -----------------------------------------------------------------------
def _historical_note(gaz: Gazetteer, text: str, place: Place) -> str | None:
    """What changed, when, and the source, when ``text`` reached ``place`` as a former name."""
    return gaz.former_name_note(text, place)


def _resolve_donor_unit(gaz: Gazetteer, unit: str, province: Place, notes: list[str]) -> str | None:
    """The donor unit's adcode, or its province's with a note saying why."""
    try:
        return gaz.resolve(unit, within=province, suggest=False).adcode
    except PlaceError as exc:
        error = exc
    if not isinstance(error, AmbiguousPlace):
        try:
            place, rest = gaz.resolve_prefix(unit, within=province)
        except PlaceError:
            place, rest = None, ""
        if place is not None and rest.endswith(SUBUNIT_SUFFIXES):
            notes.append(
                f"donor_unit {unit}: {rest} is below the county level and has no adcode; "
                f"resolved to {place.name_zh} ({place.adcode})"
            )
            return place.adcode
    notes.append(
        f"donor_unit {unit} is not an administrative unit with an adcode; the donor is "
        f"placed at its province {province.name_zh} ({province.adcode})"
    )
    return province.adcode


def resolve_pairing(
    gaz: Gazetteer, row: dict[str, str], scopes: ScopeResolver | None = None
) -> dict[str, Any]:
    """Resolve one validated pairing row; never raises for a place that does not resolve.

    An XPCC division (新疆生产建设兵团 / 第十四师) is found in ``scopes`` (the divisions of
    data/reference/xpcc_divisions.csv): ``recipient_division`` = xpcc:<n>, drawn at its seat.
    """
    notes: list[str] = []
    out: dict[str, Any] = {
        "donor_adcode": None,
        "donor_province_adcode": None,
        "recipient_adcode": None,
        "recipient_level": None,
        "recipient_province_adcode": None,
        "recipient_prefecture_adcode": None,
        "unresolved_reason": None,
        "recipient_division": None,
    }
    donor_province, unit = row["donor_province"], row["donor_unit"]
    if donor_province == CENTRAL_SOE:
        notes.append(
            f"donor {unit or CENTRAL_SOE} is a central state-owned enterprise (中央企业): "
            "not a place, so it has no adcode"
        )
    else:
        try:
            province = gaz.resolve(donor_province)
            out["donor_province_adcode"] = province.own_province_adcode
            out["donor_adcode"] = (
                _resolve_donor_unit(gaz, unit, province, notes) if unit else province.adcode
            )
        except PlaceError as exc:
            notes.append(f"donor_province: {exc.message}")

    try:
        place, parent_note = _resolve_recipient(gaz, row)
    except PlaceError as exc:
        out["unresolved_reason"] = f"recipient: {exc.message}"
        place, parent_note = None, None
        try:
            prov = gaz.resolve(row["recipient_province"])
            out["recipient_province_adcode"] = prov.own_province_adcode
        except PlaceError:
            pass
    except _XpccError as exc:
        out["recipient_province_adcode"] = exc.province.adcode
        place, parent_note = None, None
        division = scopes.division(row["recipient_county"] or XPCC) if scopes else None
        if division is None:
            out["unresolved_reason"] = str(exc)
        else:
            out["recipient_division"] = division.key
            notes.append(
                f"recipient {division.name_zh} is a division of the {XPCC} (XPCC), not the "
                f"territory of {division.seat_name}: drawn as a point at its seat "
                f"({division.confidence}; {division.source})"
            )
    if parent_note:
        notes.append(parent_note)
    if place is not None:
        out.update(place.recipient_columns())
    out["resolution_note"] = "; ".join(notes) or None
    return out


class _XpccError(Exception):
    def __init__(self, message: str, province: Place):
        super().__init__(message)
        self.province = province


def _resolve_recipient(gaz: Gazetteer, row: dict[str, str]) -> tuple[Place, str | None]:
    province_text = row["recipient_province"]
    prefecture_text = row["recipient_prefecture"]
    county_text = row["recipient_county"]
    notes = []
    place = gaz.resolve(province_text)
    if prefecture_text == XPCC:
        division = county_text or XPCC
        seat = XPCC_SEATS.get(county_text)
        seat_text = (
            f"NOTES.md gives {seat} as the division's seat city, but that city is not "
            "the same territory, so it is not used"
            if seat
            else "NOTES.md gives no seat city for it"
        )
        raise _XpccError(
            f"{division} of the {XPCC} (XPCC) has no adcode of its own; {seat_text}", place
        )
    if prefecture_text and prefecture_text not in PSEUDO_PREFECTURES:
        prefecture = gaz.resolve(prefecture_text, within=place)
        if note := _historical_note(gaz, prefecture_text, prefecture):
            notes.append(note)
        place = prefecture
    elif prefecture_text:
        notes.append(
            f"recipient_prefecture {prefecture_text} is a statistical grouping, not a unit: "
            f"the county was resolved within {place.name_zh}"
        )
    if county_text:
        county = gaz.resolve(county_text, within=place)
        if note := _historical_note(gaz, county_text, county):
            notes.append(note)
        place = county
    return place, "; ".join(notes) or None


def resolve_pairings(
    gaz: Gazetteer, rows: list[dict[str, str]], scopes: ScopeResolver | None = None
) -> pd.DataFrame:
    records = []
    for i, row in enumerate(rows, start=1):
        record: dict[str, Any] = {
            "row_number": i,
            "program": row["program"],
            "donor_province": row["donor_province"],
            "donor_unit": row["donor_unit"] or None,
            "recipient_province": row["recipient_province"] or None,
            "recipient_prefecture": row["recipient_prefecture"] or None,
            "recipient_county": row["recipient_county"] or None,
            "start_year": int(row["start_year"]) if row["start_year"] else None,
            "end_year": int(row["end_year"]) if row["end_year"] else None,
            "source": row["source"],
            "confidence": row["confidence"],
        }
        record.update(resolve_pairing(gaz, row, scopes))
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for col in ("start_year", "end_year"):
        frame[col] = frame[col].astype("Int64")
    return frame


def resolve_free_text(gaz: Gazetteer, text: str) -> tuple[Place | None, str | None, str | None]:
    """Resolve a free-text donor/recipient cell of figures.csv.

    Returns (place, note, reason): a place when the text names exactly one place (the
    part before " (" is checked), else None with the reason. ``note`` says how a
    place was reached when it was not a plain name (a school in 日喀则市 -> 日喀则市).
    """
    text = text.strip()
    if not text:
        return None, None, "blank: the source names no party"
    head = text.split(" (")[0].strip()
    if not head or head.startswith("("):
        return None, None, f"not a place: {text!r} is a description"
    if any(sep in head for sep in _AGGREGATE_SEPARATORS):
        return None, None, f"aggregate of several places: {head!r}"
    try:
        place = gaz.resolve(head, suggest=False)
        return place, _historical_note(gaz, head, place), None
    except AmbiguousPlace as exc:
        return None, None, f"ambiguous: {exc.message}"
    except PlaceError:
        pass
    try:
        place, rest = gaz.resolve_prefix(head)
    except PlaceError:
        place, rest = None, ""
    inside = place is not None and (
        rest.endswith(SUBUNIT_SUFFIXES + ORGANISATION_SUFFIXES)
        or (rest.endswith(COMPANY_SUFFIXES) and place.level == "province")
    )
    # 喀什地区第二人民医院 is a hospital in one place, though 地区 is a word of aggregates
    if not inside and (re.search(r"\d|个", head) or any(word in head for word in _AGGREGATE_WORDS)):
        return None, None, f"aggregate of several places: {head!r}"
    if place is None:
        return None, None, f"not a place: {head!r} names no administrative unit"
    if rest.endswith(SUBUNIT_SUFFIXES):
        note = f"{rest} is below the county level (no adcode): resolved to {place.name_zh}"
        return place, note, None
    if rest.endswith(ORGANISATION_SUFFIXES) or inside:
        note = f"{head} is an organisation or group in {place.name_zh}, not a unit: resolved to it"
        return place, note, None
    return None, None, f"not a place: {head!r} (an organisation or description, not a unit)"


def figure_confidence(source: str) -> str:
    """Derived confidence: figures.csv has none (see data/reference/README.md)."""
    if source.startswith(PRIMARY_DOCUMENTS):
        return "quoted_translator_note" if "translator" in source else "quoted_primary"
    return "quoted_secondary"


def _infer_program(
    donor: Place | None, recipient: Place | None, pairings: pd.DataFrame
) -> str | None:
    """The programme, when exactly one links the donor and the recipient (or its parents)."""
    if donor is None or recipient is None:
        return None
    targets = {recipient.adcode, recipient.own_province_adcode, recipient.own_prefecture_adcode}
    targets.discard(None)
    mask = (
        (pairings["donor_adcode"] == donor.adcode)
        | (pairings["donor_province_adcode"] == donor.adcode)
    ) & pairings["recipient_adcode"].isin(targets)
    programs = set(pairings.loc[mask, "program"])
    return programs.pop() if len(programs) == 1 else None


def resolve_figures(
    gaz: Gazetteer,
    rows: list[dict[str, str]],
    pairings: pd.DataFrame,
    scopes: ScopeResolver | None = None,
) -> pd.DataFrame:
    scopes = scopes or ScopeResolver(gaz, load_groups(REFERENCE_DIR))
    records = []
    for i, row in enumerate(rows, start=1):
        d_scope = scopes.resolve(row["donor"])
        r_scope = scopes.resolve(row["recipient"])
        donor, donor_note, donor_reason = d_scope.place, d_scope.note, d_scope.reason
        recipient, rec_note, rec_reason = r_scope.place, r_scope.note, r_scope.reason
        unit, qualifier = parse_unit(row["unit"])
        notes = []
        if donor_note:
            notes.append(f"donor: {donor_note}")
        if donor_reason:
            notes.append(f"donor unresolved: {donor_reason}")
        if rec_note:
            notes.append(f"recipient: {rec_note}")
        records.append(
            {
                "row_number": i,
                # A recipient reached through something inside it (德昂族村 -> 云南省) is
                # not the pairing's recipient: do not guess its programme.
                "program": None if rec_note else _infer_program(donor, recipient, pairings),
                "donor": row["donor"],
                "recipient": row["recipient"],
                "donor_adcode": donor.adcode if donor else None,
                "recipient_adcode": recipient.adcode if recipient else None,
                "recipient_level": recipient.level if recipient else None,
                "period_start": int(row["period_start"]) if row["period_start"] else None,
                "period_end": int(row["period_end"]) if row["period_end"] else None,
                "metric": row["metric"],
                "value": float(row["value"]),
                "unit": unit,
                "value_original": row["value"],
                "unit_original": row["unit"],
                "qualifier": qualifier,
                "quote": row["quote"],
                "source": row["source"],
                "confidence": figure_confidence(row["source"]),
                "is_context": row["metric"].startswith("context_"),
                "unresolved_reason": rec_reason,
                "resolution_note": "; ".join(notes) or None,
                **scope_columns(d_scope, r_scope),
            }
        )
    frame = pd.DataFrame.from_records(records)
    for col in ("period_start", "period_end"):
        frame[col] = frame[col].astype("Int64")
    return frame


def scope_columns(donor: Any, recipient: Any) -> dict[str, Any]:
    """The figure columns and scope rows that a donor's and a recipient's ``Scope`` give.

    ``scope_members`` (not a column: the writer passes it to ``derive.write_scopes``) lists
    (side, member, level) for each side that is not its single adcode column."""
    members: list[tuple[str, str, str | None]] = []
    group = recipient.group
    if recipient.place is None and recipient.members:
        members += [("recipient", m.key, m.level) for m in recipient.members]
        if group is None:  # one division
            group = recipient.members[0].key
    if donor.place is None and donor.members:
        members += [("donor", m.key, m.level) for m in donor.members]
    return {
        "scope_group": group,
        "donor_side": bool(recipient.donor_side),
        "scope_members": members,
    }


def load_reference(
    folder: Path | str = REFERENCE_DIR, gazetteer: Gazetteer | None = None
) -> ReferenceData:
    """Validate both CSVs (all problems at once), then resolve their places."""
    folder = Path(folder)
    problems: list[Problem] = []
    pairing_rows = _read_rows(folder / PAIRINGS_CSV, PAIRING_COLUMNS, problems)
    figure_rows = _read_rows(folder / FIGURES_CSV, FIGURE_COLUMNS, problems)
    problems += validate_pairings(pairing_rows)
    problems += validate_figures(figure_rows)
    if problems:
        raise ReferenceDataError(problems)
    gaz = gazetteer or Gazetteer.default()
    scopes = ScopeResolver(gaz, load_groups(folder))
    pairings = resolve_pairings(gaz, pairing_rows, scopes)
    figures = resolve_figures(gaz, figure_rows, pairings, scopes)
    files = {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in (PAIRINGS_CSV, FIGURES_CSV, HISTORICAL_CSV, GROUPS_CSV, DIVISIONS_CSV)
        if (folder / name).exists()
    }
    return ReferenceData(pairings, figures, reference_sha256(folder), folder, files)


# -- command line -------------------------------------------------------------------------
def verify_quotes(source_folder: Path) -> tuple[int, list[str]]:
    """Check that quotes from the two documents are verbatim in ``documents/``."""
    docs = source_folder / "documents"
    texts = {
        d: (docs / d).read_text(encoding="utf-8") for d in PRIMARY_DOCUMENTS if (docs / d).exists()
    }
    checked, missing = 0, []
    with (source_folder / FIGURES_CSV).open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=1):
            for doc, text in texts.items():
                if row["source"].startswith(doc):
                    checked += 1
                    if row["quote"] not in text:
                        missing.append(f"{FIGURES_CSV} row {i}: quote not found in {doc}")
    return checked, missing


def sync(source: Path, dest: Path = REFERENCE_DIR) -> dict[str, Any]:
    """Copy the compiled reference files byte for byte (not documents/), then validate."""
    source, dest = Path(source), Path(dest)
    for name in SYNCED_FILES:
        if not (source / name).exists():
            raise FileNotFoundError(f"{source / name} not found; point --from at the folder")
    dest.mkdir(parents=True, exist_ok=True)
    for name in SYNCED_FILES:
        shutil.copyfile(source / name, dest / name)
    checked, missing = verify_quotes(source)
    data = load_reference(dest)
    return {
        "copied": list(SYNCED_FILES),
        "quotes_checked_against_documents": checked,
        "quotes_not_found": missing,
        "pairings": len(data.pairings),
        "figures": len(data.figures),
        "sha256": data.sha256,
    }


def summary(data: ReferenceData) -> dict[str, Any]:
    p, f = data.pairings, data.figures
    return {
        "pairings": len(p),
        "pairings_unresolved": int(p["recipient_adcode"].isna().sum()),
        "figures": len(f),
        "figures_unresolved": int(f["recipient_adcode"].isna().sum()),
        "figures_from_documents": int(f["source"].str.startswith(PRIMARY_DOCUMENTS).sum()),
        "sha256": data.sha256,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twinning.reference")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sync", help="copy pairings.csv, figures.csv, NOTES.md and check them")
    p.add_argument("--from", dest="source", required=True, help="folder of the compiled files")
    sub.add_parser("check", help="validate and resolve data/reference; print a summary")
    args = parser.parse_args(argv)
    try:
        result = sync(Path(args.source)) if args.cmd == "sync" else summary(load_reference())
    except (ReferenceDataError, FileNotFoundError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
