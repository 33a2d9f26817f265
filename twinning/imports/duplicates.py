"""Duplicates: a row that repeats an earlier row, a record the store already holds.

Rows are compared by a 64-bit digest kept in a compact index (``DigestIndex``);
records by ``figure_key`` / ``pairing_key``, the same identities ``keep.py`` reads
from the store. ``report_stored_duplicate`` says what a hit in the store means.
"""

from __future__ import annotations

from collections.abc import Iterable

from twinning import i18n
from twinning.imports.cells import cell_text, field_zh
from twinning.imports.headers import ColumnMap
from twinning.imports.numbers import is_blank
from twinning.imports.problems import Report, texts


def row_digest(parts: Iterable[object]) -> int:
    """A 64-bit digest, valid within one process (all comparisons happen in one import).

    Python's tuple hash is fast and 64-bit; 500,000 of them fit in a few tens of MB,
    unlike the rows themselves.
    """
    return hash(tuple(parts))


class DigestIndex:
    """digest -> first row number, in about 16 bytes per row.

    Why not a dict: a dict of 500,000 ints takes ~55 MB, more than the rest of the
    import together. Recent digests sit in a small dict; every ``merge_every`` rows
    they are merged into one sorted numpy array that is searched by bisection.
    """

    def __init__(self, merge_every: int = 16384) -> None:
        self.merge_every = merge_every
        self._recent: dict[int, int] = {}
        self._keys = None  # sorted int64 digests
        self._rows = None  # row numbers in the same order

    def get(self, digest: int) -> int | None:
        row = self._recent.get(digest)
        if row is not None or self._keys is None:
            return row
        import numpy as np

        i = int(np.searchsorted(self._keys, digest))
        if i < len(self._keys) and self._keys[i] == digest:
            return int(self._rows[i])
        return None

    def add(self, digest: int, row: int) -> None:
        self._recent[digest] = row
        if len(self._recent) >= self.merge_every:
            self._merge()

    def _merge(self) -> None:
        import numpy as np

        n = len(self._recent)
        keys = np.fromiter(self._recent.keys(), dtype=np.int64, count=n)
        rows = np.fromiter(self._recent.values(), dtype=np.int64, count=n)
        if self._keys is not None:
            keys = np.concatenate([self._keys, keys])
            rows = np.concatenate([self._rows, rows])
        order = np.argsort(keys, kind="stable")
        self._keys, self._rows = keys[order], rows[order]
        self._recent = {}


def repeats_earlier_row(
    index: DigestIndex,
    report: Report,
    number: int,
    cells: list[object],
    columns: Iterable[ColumnMap],
) -> bool:
    """True (and an error reported) when every mapped cell of row ``number`` is the same as
    in an earlier row of ``index``; otherwise the row is added to ``index``."""
    digest = row_digest(
        cell_text(cells[c.index]) if c.index < len(cells) else "" for c in columns if c.field
    )
    first = index.get(digest)
    if first is None:
        index.add(digest, number)
        return False
    report.error(
        "duplicate_row",
        **texts(
            "problem.duplicate_row.repeats",
            "problem.duplicate_row.repeats.fix",
            row=number,
            first=first,
        ),
        row=number,
        value=" | ".join(cell_text(c) for c in cells if not is_blank(cell_text(c)))[:200],
    )
    return True


def figure_key(rec: dict) -> int:
    """Identity of a stored figure, for duplicates against the store."""
    return row_digest(
        (
            rec.get("recipient_adcode") or rec.get("recipient"),
            rec.get("donor"),
            rec.get("metric"),
            rec.get("period_start"),
            rec.get("period_end"),
            float(rec.get("value")),
            rec.get("unit"),
            rec.get("project") or "",
            rec.get("part") or "",
        )
    )


def pairing_key(rec: dict) -> int:
    """Identity of a stored pairing, for duplicates against the store."""
    return row_digest(
        (
            rec.get("program"),
            rec.get("donor_province"),
            rec.get("donor_unit") or "",
            rec.get("recipient_adcode")
            or rec.get("recipient_county")
            or rec.get("recipient_prefecture")
            or rec.get("recipient_province"),
            rec.get("start_year"),
            rec.get("end_year"),
        )
    )


def report_stored_duplicate(
    report: Report, number: int, rec: dict, hit: tuple[int, int | None, str]
) -> None:
    """A figure of row ``number`` that the store holds already (``hit``: batch, row, kind):
    an error when an import stored it (the row is not kept), a warning for reference data."""
    batch, row, kind = hit
    where = {
        lang: i18n.t(
            "problem.duplicate.batch_row" if row else "problem.duplicate.batch",
            lang,
            batch=batch,
            row=row,
        )
        for lang in ("en", "zh")
    }
    if kind == "import":
        period = f"{rec['period_start'] or ''}-{rec['period_end'] or ''}"
        report.error(
            "duplicate_stored",
            **texts(
                "problem.duplicate_stored.figure",
                "problem.duplicate_stored.figure.fix",
                value=rec["value_original"],
                recipient=rec["recipient"],
                period=period,
                batch=batch,
                en={"metric": rec["metric"], "where": where["en"]},
                zh={"metric": field_zh(rec["metric"]), "where": where["zh"]},
            ),
            row=number,
            value=str(rec["value_original"]),
        )
    else:
        report.warning(
            "duplicate_reference",
            **texts(
                "problem.duplicate_reference.figure",
                "problem.duplicate_reference.figure.fix",
                en={"where": where["en"]},
                zh={"where": where["zh"]},
            ),
            row=number,
            value=str(rec["value_original"]),
        )
