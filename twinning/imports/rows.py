"""The row checker: data rows in, store records (figures or pairings) out.

Why one streaming pass: a register can hold 500,000 rows, so ``Checker`` works row by
row with small running state (duplicate digests, section sums for 合计 rows, a place
cache) instead of loading the file into a DataFrame. Rows that are not data (notes,
headings, the template's example row, 其中 rows, 合计 / 小计 rows) are passed over and
said; a data row is read in named steps (its period, donor, recipient, places,
programme), then becomes one pairing or its figures (figures.py). A row with an
error gives no record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from twinning.imports import register
from twinning.imports.cells import (
    DataRow,
    Resolver,
    cell_text,
    is_blank_row,
    is_figure_column,
    report_blank,
    report_unreadable,
)
from twinning.imports.duplicates import (
    DigestIndex,
    figure_key,
    repeats_earlier_row,
    report_stored_duplicate,
)
from twinning.imports.figures import FigureReader
from twinning.imports.headers import ColumnMap
from twinning.imports.layout import Layout
from twinning.imports.numbers import is_blank
from twinning.imports.places import PlaceLookup, recipient_columns, scope_fields
from twinning.imports.problems import ParseError, Report, texts
from twinning.imports.sums import TotalRows, Totals
from twinning.imports.years import parse_year

DEFAULT_CONFIDENCE = "office_record"
EXAMPLE_MARK = "示例行 EXAMPLE ROW"

PROGRAMS: dict[str, str] = {
    "east_west_cooperation": "east_west_cooperation",
    "东西部协作": "east_west_cooperation",
    "东西部扶贫协作": "east_west_cooperation",
    "东西协作": "east_west_cooperation",
    "携手奔小康": "east_west_cooperation",
    "east-west cooperation": "east_west_cooperation",
    "counterpart_support_xinjiang": "counterpart_support_xinjiang",
    "对口支援新疆": "counterpart_support_xinjiang",
    "援疆": "counterpart_support_xinjiang",
    "counterpart_support_tibet": "counterpart_support_tibet",
    "对口支援西藏": "counterpart_support_tibet",
    "援藏": "counterpart_support_tibet",
    "counterpart_support_qinghai": "counterpart_support_qinghai",
    "对口支援青海": "counterpart_support_qinghai",
    "援青": "counterpart_support_qinghai",
    "three_gorges": "three_gorges",
    "三峡": "three_gorges",
    "对口支援三峡库区": "three_gorges",
    "三峡库区对口支援": "three_gorges",
    "other": "other",
    "其他": "other",
}

_RECIPIENT_FIELDS = ("recipient_province", "recipient_prefecture", "recipient_county", "recipient")


@dataclass
class Checker:
    """Checks rows one at a time and yields records; state stays small."""

    layout: Layout
    report: Report
    resolver: Resolver | None
    source_label: str
    stored_keys: dict[int, tuple[int, int | None, str]] = field(default_factory=dict)
    this_year: int = field(default_factory=lambda: dt.date.today().year)
    totals: Totals = field(default_factory=Totals)
    rows_seen: int = 0
    rows_used: int = 0
    records: int = 0
    skipped_total_rows: list[int] = field(default_factory=list)
    # rows not read as data, by kind: subtotal, total, breakdown (其中), note, heading
    skipped: dict[str, list[int]] = field(default_factory=dict)
    merges: list = field(default_factory=list)  # xlsx merged ranges (min_row, min_col, ...)
    quote_prefix: str = ""  # "[2021年] " for one sheet of several
    _row_digests: DigestIndex = field(default_factory=DigestIndex)
    _carry: dict[str, tuple[str, int]] = field(default_factory=dict)  # filled-down places
    _places: PlaceLookup = field(init=False)
    _sums: TotalRows = field(init=False)
    _figures: FigureReader = field(init=False)

    def __post_init__(self) -> None:
        self._places = PlaceLookup(self.resolver, self.report, self.layout.form)
        self._sums = TotalRows(self.layout, self.report)
        self._figures = FigureReader(self.layout, self.report, self._sums.add, self.quote_prefix)

    # the pass ----------------------------------------------------------------------------
    def check(self, rows: Iterable[tuple[int, list[object]]]) -> Iterator[dict]:
        """The records of ``rows`` (numbered as the person sees them), problems reported."""
        m = self.layout.mapping
        cols = {c.field: c for c in m.columns if c.field}
        if self.merges:
            rows = self._merged_down(rows)
        for number, cells in rows:
            if is_blank_row(cells) or self._note_or_heading(number, cells):
                continue
            self.rows_seen += 1
            if self._example(number, cells):
                continue
            kind = self._sums.kind(cells)
            if kind == "breakdown":
                self._breakdown(number, cells)
                continue
            if kind:
                self._total_row(number, cells, kind)
                continue
            self._fill_places(cells, cols)
            if repeats_earlier_row(self._row_digests, self.report, number, cells, m.columns):
                continue
            produced = list(self._row_records(DataRow(number, cells, cols)))
            if produced:
                self.rows_used += 1
                self._sums.note_data_row(number)
            for rec in produced:
                self.records += 1
                yield rec

    def finish(self) -> None:
        """Check the totals that sat above their rows, now that the rows are read."""
        self._sums.finish()

    # rows that are not data --------------------------------------------------------------
    def _skip(self, kind: str, number: int) -> None:
        self.skipped.setdefault(kind, []).append(number)

    def _pass_over(self, kind: str, number: int, value: str, words: dict[str, str]) -> None:
        """A row not read as data: listed under ``kind`` and said as a ``<kind>_row`` warning
        (``words``: its ``texts(...)``, literal ids for tools/i18n_extract.py)."""
        self._skip(kind, number)
        self.report.warning(f"{kind}_row", **words, row=number, value=value)

    def _note_or_heading(self, number: int, cells: list[object]) -> bool:
        """A note under the table or a heading between its rows: said, and passed over."""
        note = register.note_text(cells)
        if note is not None:
            words = texts("problem.note_row.under_table", "problem.note_row.under_table.fix")
            self._pass_over("note", number, note, words)
            return True
        heading = register.section_heading(cells)
        if heading is None and self.rows_seen == 0:
            heading = register.column_numbers(cells)  # 甲 | 乙 | 1 | 2 | 3 under the header
        if heading is not None:
            words = texts("problem.heading_row.group", "problem.heading_row.group.fix")
            self._pass_over("heading", number, heading, words)
            return True
        return False

    def _example(self, number: int, cells: list[object]) -> bool:
        """The template's example row (``EXAMPLE_MARK``): said, and passed over."""
        if not any(isinstance(c, str) and EXAMPLE_MARK in c for c in cells):
            return False
        self.report.warning(
            "example_row",
            **texts("problem.example_row.template", "problem.example_row.template.fix"),
            row=number,
        )
        return True

    def _breakdown(self, number: int, cells: list[object]) -> None:
        value = " | ".join(cell_text(c) for c in cells if cell_text(c))[:200]
        words = texts("problem.breakdown_row.of_which", "problem.breakdown_row.of_which.fix")
        self._pass_over("breakdown", number, value, words)

    def _total_row(self, number: int, cells: list[object], kind: str) -> None:
        """Skip a 小计 / 合计 row (it ends the filled-down places) and check its sums."""
        self.skipped_total_rows.append(number)
        self._skip(kind, number)
        self._carry.clear()
        self._sums.check(number, cells, kind)

    # cells filled in from elsewhere ------------------------------------------------------
    def _merged_down(
        self, rows: Iterable[tuple[int, list[object]]]
    ) -> Iterator[tuple[int, list[object]]]:
        """Rows with vertically merged cells filled down (an xlsx 州 or 年度 cell merged
        over several rows), except in figure columns, where a merged value is one figure."""
        figure_cols = {c.index for c in self.layout.mapping.columns if is_figure_column(c)}
        starts: dict[int, list] = {}
        for r0, c0, r1, c1 in self.merges:
            if r1 > r0:
                starts.setdefault(r0, []).append((c0 - 1, c1, r1))
        active: list[tuple[int, int, int, object]] = []  # (first col, end col, last row, value)
        for number, cells in rows:
            if active or number in starts:
                cells = list(cells)
                active = [a for a in active if a[2] >= number]
                for c0, c1, _r1, value in active:
                    for c in range(c0, c1):
                        if c not in figure_cols:
                            while len(cells) <= c:
                                cells.append(None)
                            if register.is_blank_cell(cells[c]):
                                cells[c] = value
                for c0, c1, r1 in starts.get(number, ()):
                    if c0 < len(cells) and not register.is_blank_cell(cells[c0]):
                        active.append((c0, c1, r1, cells[c0]))
            yield number, cells

    def _fill_places(self, cells: list[object], cols: dict[str, ColumnMap]) -> None:
        """A 州（市） cell left blank under its first row (merged, or written once) is the
        one above, as the context of the county named in the row; never the row's place."""
        present = [f for f in _RECIPIENT_FIELDS if f in cols]
        for i, f in enumerate(present[:-1]):
            col = cols[f]
            text = cell_text(cells[col.index]) if col.index < len(cells) else ""
            if text:
                self._carry[f] = (text, 0)
                continue
            lower = any(
                cols[g].index < len(cells) and cell_text(cells[cols[g].index])
                for g in present[i + 1 :]
            )
            if lower and f in self._carry:
                while len(cells) <= col.index:
                    cells.append(None)
                cells[col.index] = self._carry[f][0]

    # one data row, step by step ----------------------------------------------------------
    def _row_records(self, row: DataRow) -> Iterator[dict]:
        """The records of a data row: one pairing, or its figures; none when a
        step reported an error (every step runs, so that every problem is said)."""
        start, end, period_ok = self._period(row)
        donor_text, donor_prov_text, donor_ok = self._donor_text(row)
        rec_parts, recipient_ok = self._recipient_parts(row)
        donor_place, recip_place, notes, places_ok = self._resolve_places(
            row, donor_text, donor_prov_text, rec_parts
        )
        program, program_ok = self._program(row)
        ok = period_ok and donor_ok and recipient_ok and places_ok and program_ok
        common = {
            "row_number": row.number,
            "source": row.text("source") or self.source_label,
            "confidence": row.text("confidence") or DEFAULT_CONFIDENCE,
            "resolution_note": "; ".join(n for n in notes if n) or None,
        }
        if self.layout.form == "pairings":
            if ok:
                yield _pairing_record(
                    common,
                    program,
                    donor_text,
                    donor_prov_text,
                    donor_place,
                    rec_parts,
                    recip_place,
                    start,
                    end,
                )
            return
        base = {
            **common,
            "program": program,
            "donor": donor_text,
            "recipient": rec_parts[-1][1] if rec_parts else "",
            "donor_adcode": getattr(donor_place, "adcode", None),
            "recipient_adcode": getattr(recip_place, "adcode", None),
            "recipient_level": getattr(recip_place, "level", None),
            "period_start": start,
            "period_end": end,
            "unresolved_reason": None,
            **scope_fields(donor_place, recip_place),
            "project": row.text("project") or None,
            "part": None,
        }
        yield from self._figure_records(row, base, ok)

    def _period(self, row: DataRow) -> tuple[int | None, int | None, bool]:
        """The row's start and end year: its year columns, else the layout's period."""
        start, end, ok = self._years(row)
        if ok and start is not None and end is not None and start > end:
            self.report.error(
                "period_order",
                **texts(
                    "problem.period_order.reversed",
                    "problem.period_order.swap_columns",
                    start=start,
                    end=end,
                ),
                row=row.number,
                column=row.cols.get("start_year", row.cols.get("year")).label,
                value=f"{start}-{end}",
            )
            ok = False
        period = self.layout.period
        if start is None and end is None and period is not None:
            start, end = period if isinstance(period, tuple) else (period, period)
        figures = self.layout.form != "pairings"
        header_years = self.layout.period_from == "header"
        if figures and ok and start is None and end is None and not header_years:
            col = row.cols.get("year") or row.cols.get("end_year") or row.cols.get("start_year")
            report_blank(
                self.report,
                row.number,
                col,
                **texts("problem.missing_value.year", "problem.missing_value.year.fix"),
            )
            ok = False
        if figures and start is None:
            start = end if "year" in row.cols else start
        return start, end, ok

    def _years(self, row: DataRow) -> tuple[int | None, int | None, bool]:
        """The years the row's 年度 / 起始年 / 结束年 cells give (a 年度 period sets both)."""
        start = end = None
        ok = True
        for fld in ("year", "start_year", "end_year"):
            raw = row.cell(fld)
            if raw is None or (isinstance(raw, str) and is_blank(raw)):
                continue
            try:
                y = parse_year(raw, self.this_year)
            except ParseError as exc:
                report_unreadable(
                    self.report,
                    "bad_year",
                    exc,
                    row=row.number,
                    column=row.cols[fld].label,
                    value=cell_text(raw),
                )
                ok = False
                continue
            if isinstance(y, tuple):
                if fld == "year" or start is None:
                    start, end = y
                continue
            if fld == "year":
                start = end = y
            elif fld == "start_year":
                start = y
            else:
                end = y
        return start, end, ok

    def _donor_text(self, row: DataRow) -> tuple[str, str, bool]:
        """The donor as written (or the layout's donor) and its province column's text."""
        donor_text = row.text("donor") or row.text("donor_province") or self.layout.donor
        donor_prov_text = row.text("donor_province")
        if donor_text:
            return donor_text, donor_prov_text, True
        col = row.cols.get("donor") or row.cols.get("donor_province")
        report_blank(
            self.report,
            row.number,
            col,
            **texts("problem.missing_value.donor", "problem.missing_value.donor.fix"),
        )
        return donor_text, donor_prov_text, False

    def _recipient_parts(self, row: DataRow) -> tuple[list[tuple[str, str]], bool]:
        """The recipient's place cells that are filled, from the province down."""
        rec_parts = [(f, row.text(f)) for f in _RECIPIENT_FIELDS]
        rec_parts = [(f, t) for f, t in rec_parts if t]
        if rec_parts:
            return rec_parts, True
        col = next((row.cols[f] for f in reversed(_RECIPIENT_FIELDS) if f in row.cols), None)
        report_blank(
            self.report,
            row.number,
            col,
            **texts("problem.missing_value.recipient", "problem.missing_value.recipient.fix"),
        )
        return rec_parts, False

    def _resolve_places(
        self,
        row: DataRow,
        donor_text: str,
        donor_prov_text: str,
        rec_parts: list[tuple[str, str]],
    ) -> tuple[object, object, list[str | None], bool]:
        """The donor's and the recipient's places, the notes of former names, and ok."""
        donor_place = recip_place = None
        notes: list[str | None] = []  # how a former name reached today's unit (#11)
        ok = True
        if donor_text:
            within = donor_prov_text if donor_prov_text and donor_prov_text != donor_text else None
            donor_place = self._places.resolve(
                donor_text,
                within,
                row.number,
                getattr(row.cols.get("donor") or row.cols.get("donor_province"), "label", "")
                or self.layout.donor_from,
                "donor",
            )
            if donor_place is False:
                ok = False
            notes.append(self._places.former_note("donor", donor_text, within, donor_place))
        if rec_parts:
            fld, name = rec_parts[-1]
            within = rec_parts[-2][1] if len(rec_parts) > 1 else None
            if within is None and self.layout.within:
                recip_place = self._places.quietly(name, self.layout.within)
            if recip_place is None:
                recip_place = self._places.resolve(
                    name, within, row.number, row.cols[fld].label, "recipient"
                )
            else:
                within = self.layout.within
            if recip_place is False:
                ok = False
            notes.append(self._places.former_note("recipient", name, within, recip_place))
        return donor_place, recip_place, notes, ok

    def _program(self, row: DataRow) -> tuple[str | None, bool]:
        """The programme code of the row's 帮扶类型 cell (None when blank)."""
        raw_prog = row.text("program")
        if not raw_prog:
            return None, True
        program = PROGRAMS.get(raw_prog.lower()) or PROGRAMS.get(raw_prog)
        if program is not None:
            return program, True
        self.report.error(
            "bad_program",
            **texts(
                "problem.bad_program.unknown", "problem.bad_program.unknown.fix", value=raw_prog
            ),
            row=row.number,
            column=row.cols["program"].label,
            value=raw_prog,
        )
        return None, False

    def _figure_records(self, row: DataRow, base: dict, ok: bool) -> Iterator[dict]:
        """The row's figures as records (when ``ok``), less those the store holds already."""
        context = [
            f"{row.cols[f].label}: {row.text(f)}"
            for f in ("township", "village", "project", "note")
            if f in row.cols and row.text(f)
        ]
        errors_before = self.report.errors
        figures = list(self._figures.figures(row, context))
        if not ok:
            return
        if not figures and self.report.errors == errors_before:
            self.report.warning(
                "no_figures",
                **texts("problem.no_figures.row", "problem.no_figures.row.fix"),
                row=row.number,
            )
        for fig in figures:
            rec = {**base, **fig}
            hit = self.stored_keys.get(figure_key(rec))
            if hit is not None:
                report_stored_duplicate(self.report, row.number, rec, hit)
                if hit[2] == "import":
                    continue
            exact = rec.pop("_exact")
            self.totals.add(rec["metric"], rec["unit"], exact)
            yield rec


def _pairing_record(
    common: dict,
    program: str | None,
    donor_text: str,
    donor_prov_text: str,
    donor_place: object,
    rec_parts: list[tuple[str, str]],
    recip_place: object,
    start: int | None,
    end: int | None,
) -> dict:
    """The stored pairing of a row: the donor's province and unit, the recipient's columns."""
    parts = dict(rec_parts)
    prov_adcode = getattr(donor_place, "province_adcode", None) or (
        getattr(donor_place, "adcode", None)
        if getattr(donor_place, "level", None) == "province"
        else None
    )
    level = getattr(donor_place, "level", None)
    donor_province = donor_prov_text or donor_text
    donor_unit = donor_text if donor_prov_text and donor_text != donor_prov_text else None
    if not donor_prov_text and level not in (None, "province"):
        donor_province = getattr(donor_place, "province_name_zh", None) or donor_text
        donor_unit = donor_text
    return {
        **common,
        "program": program or "other",
        "donor_province": donor_province,
        "donor_unit": donor_unit,
        "donor_adcode": getattr(donor_place, "adcode", None),
        "donor_province_adcode": prov_adcode,
        "recipient_province": parts.get("recipient_province"),
        "recipient_prefecture": parts.get("recipient_prefecture"),
        "recipient_county": parts.get("recipient_county") or parts.get("recipient"),
        **recipient_columns(recip_place),
        "start_year": start,
        "end_year": end,
        "unresolved_reason": None,
    }
