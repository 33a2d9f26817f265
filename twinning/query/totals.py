"""The reconciled total of a metric in a view, read from the store (issue #10).

``twinning.query.reconcile`` holds the rule; this module turns a view's figures into its
candidates, without reading millions of rows per click:

* **A store with few figures of the metric** (at most ``RECONCILE_FIGURES_MAX`` counted
  figures, as the summary counts them): the view's figures themselves are read (never
  more than that many rows, whatever index a filter can or cannot use) and reconciled
  figure by figure. The figures of one *imported register* (one import batch) that
  share a box (donor, donor unit, recipient place, period, from memory or not) are one
  candidate, their sum: a register lists each transfer once (its 合计 rows are not
  imported, and exact copies are not counted), so its entries of one box add up. Figures
  of the reference batch are candidates one by one: they come from reports that restate
  each other's totals.
* **A larger store**: the candidates are the summary's boxes (``figure_totals``
  summed per box: tens of thousands of rows at 1 M figures, read by DuckDB or SQL, never
  figure rows), the reference batch's figures are taken out of their boxes and added one
  by one (they are few). The one difference from the figure-by-figure path: the entries
  of *two* registers in one box are added together as if they were one register's.

Both paths give the same answer on a store with one register. Answers are cached per
(data version, view) in ``AtlasData.cached``.

**Scopes.** ``candidate_scopes`` is the one place that says which donors and recipients a
candidate covers: a figure's members from ``twinning.query.scopes.figure_scopes`` (groups,
lists, XPCC divisions), otherwise its own columns: the recipient's roll-up
(``r_province``/``r_prefecture``/``r_county``) and the donor's unit (``donor_unit_key``, a
city or district inside its province) or province (``donor_key``). A donor or recipient
that is no place ("东部省市", "宝钢集团", a recipient nobody could place) is a scope that
is not known: it may overlap anything. The summary's boxes have only the columns: a group
figure's box is the unit that holds all its members, wider than the group, so the box path
never misses an overlap (it may see one the figure path would not).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pandas as pd

from twinning.filters import FROM_MEMORY, Filters
from twinning.query.atlas import AtlasData, _code, in_list, missing, where
from twinning.query.reconcile import (
    Columns,
    Path,
    Reconciled,
    Scope,
    confidence_tier,
    place_path,
    reconcile,
)

# Up to this many counted figures of a metric in the store, its figures are reconciled one
# by one; beyond, by the summary's boxes.
RECONCILE_FIGURES_MAX = 20_000

_ADCODE = re.compile(r"\d{6}")
_BOX = (
    "donor_key",
    "donor_unit_key",
    "r_province",
    "r_prefecture",
    "r_county",
    "period_start",
    "period_end",
)


def _text(x: Any) -> str | None:
    if type(x) is str:  # the common case, without atlas._code's checks
        return x.strip() or None
    return _code(x)


def _year(x: Any) -> int | None:
    return None if missing(x) else int(x)


def _box_text(x: Any) -> str | None:
    """A box's text column as ``_clean`` gives it."""
    return x if x.__class__ is str and x else _text(x)


def _box_key(parts: Iterable[Any], memory: bool) -> str:
    """A box's key from its cleaned fields (``_box_keys`` gives a frame's the same way)."""
    return (
        "box:"
        + "|".join("" if v is None else str(v) for v in parts)
        + ("|memory" if memory else "")
    )


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """The box columns as plain Python values (text or None, int or None), whichever
    engine gave the frame (DuckDB's Arrow-backed columns are slow to walk row by row)."""
    frame = frame.copy()
    for col in _BOX[:5]:
        values = frame[col].astype(object).tolist()
        frame[col] = pd.Series(
            [_box_text(x) for x in values],
            index=frame.index,
            dtype=object,
        )
    for col in _BOX[5:]:
        years = pd.to_numeric(frame[col], errors="coerce").astype("Int64").tolist()
        frame[col] = pd.Series(
            [None if x is pd.NA else int(x) for x in years], index=frame.index, dtype=object
        )
    return frame


def place_paths(data: AtlasData) -> dict[str, Path]:
    """adcode -> its path from the province down, at the unit's default (highest) level,
    built from ``place_levels`` as the figures' ``r_*`` columns are, so that a donor's, a
    member's and a recipient's paths compare alike (重庆市's counties included)."""

    def build() -> dict[str, Path]:
        rows = data.rows(
            "SELECT adcode, r_province, r_prefecture, r_county FROM place_levels WHERE is_default"
        )
        return {str(code): place_path(p, f, c) for code, p, f, c in rows}

    return data.cached("place_paths", build)


def _member_path(member: str, paths: dict[str, Path]) -> Path | None:
    """A scope member's path: an adcode, or an XPCC division (inside 新疆 and the Corps,
    ``xpcc:0``, and in no prefecture or county); None for a name."""
    if member.startswith("xpcc:"):
        return ("650000", "xpcc:0") if member == "xpcc:0" else ("650000", "xpcc:0", member)
    return paths.get(member)


def members_scope(members: Iterable[str], paths: dict[str, Path]) -> Scope:
    """The scope of a set of member keys; not known (None) when it is empty or any member
    is not a place (a donor written as a name covers places nobody listed)."""
    out = set()
    for member in members:
        path = _member_path(str(member), paths)
        if path is None:
            return None
        out.add(path)
    return frozenset(out) if out else None


class _ColumnScopes:
    """Scope sets from a figure's (or a box's) own columns, memoised per key."""

    def __init__(self, data: AtlasData) -> None:
        self.paths = place_paths(data)
        self._donors: dict[tuple[str | None, str | None], Scope] = {}
        self._recipients: dict[tuple[Any, ...], Scope] = {}

    def donors(self, donor_key: Any, donor_unit_key: Any) -> Scope:
        key = (_text(donor_key), _text(donor_unit_key))
        if key not in self._donors:
            key_, unit = key
            if unit and unit in self.paths:
                scope: Scope = frozenset({self.paths[unit]})
            elif key_ and key_ in self.paths:
                scope = frozenset({self.paths[key_]})
            else:  # a name ("东部省市", "宝钢集团"): who it covers is not known
                scope = None
            self._donors[key] = scope
        return self._donors[key]

    def recipients(self, province: Any, prefecture: Any, county: Any) -> Scope:
        key = (_text(province), _text(prefecture), _text(county))
        if key not in self._recipients:
            path = place_path(*key)
            self._recipients[key] = frozenset({path}) if path else None
        return self._recipients[key]


def candidate_scopes(data: AtlasData, rows: pd.DataFrame) -> list[tuple[Scope, Scope]]:
    """(donor scope, recipient scope) of each row of ``rows``, in order: the one function
    that says what a candidate covers.

    Rows are figures (with ``id``) or the summary's boxes. Every row gets the scope of its
    own columns: the recipient's roll-up ``r_province``/``r_prefecture``/``r_county`` (for
    a figure about several places, the unit that holds all of them: wider than the
    figure, so an overlap is never missed) and the donor's unit or province. Figures with
    an id then take their member places from ``twinning.query.scopes.figure_scopes``
    (groups, lists, XPCC divisions, donor groups) when that module is there."""
    cols = _ColumnScopes(data)
    out = [
        (cols.donors(dk, du), cols.recipients(p, f, c))
        for dk, du, p, f, c in zip(
            rows["donor_key"],
            rows["donor_unit_key"],
            rows["r_province"],
            rows["r_prefecture"],
            rows["r_county"],
            strict=True,
        )
    ]
    if "id" not in rows.columns or rows.empty:
        return out
    try:
        from twinning.query.scopes import figure_scopes
    except ImportError:  # pragma: no cover - before the scope table of #10 parts 1-4
        return out
    ids = [int(i) for i in rows["id"]]
    found = figure_scopes(data, ids)
    for i, fid in enumerate(ids):
        scope = found.get(fid)
        if scope is None:
            continue
        out[i] = (
            members_scope(scope.donor, cols.paths) if scope.donor else out[i][0],
            members_scope(scope.recipient, cols.paths) if scope.recipient else out[i][1],
        )
    return out


def _total_key(filters: Filters, metric: str) -> tuple:
    # the map level, the metric on the map and the flows do not change it: one answer for
    # every view with the same rows
    return (
        "reconciled",
        replace(filters.cache_key(), metric=None, level="province", flows=True),
        metric,
    )


def reconciled_total(data: AtlasData, filters: Filters, metric: str) -> Reconciled:
    """ "At least X" for ``metric`` in the view of ``filters``, with N of M and Y."""
    key = _total_key(filters, metric)
    return data.cached(key, lambda: _reconciled(data, key[1], metric))


def reconciled_ready(data: AtlasData, filters: Filters, metric: str) -> Reconciled | None:
    """The reconciled total if this worker has already worked it out, else None."""
    return data.peek(_total_key(filters, metric))


def _stored(data: AtlasData, metric: str) -> int:
    """Counted figures of ``metric`` in the whole store (the summary's count)."""

    def compute() -> int:
        rows = data.summary.rows(
            "SELECT SUM(n) FROM figure_totals WHERE metric = :metric AND NOT is_context",
            {"metric": metric},
        )
        return int(rows[0][0] or 0)

    return data.cached(("stored_figures", metric), compute)


def _reconciled(data: AtlasData, f: Filters, metric: str) -> Reconciled:
    cond, params = where(f, "totals")
    params["metric"] = metric
    n = data.summary.rows(
        f"SELECT SUM(n) FROM figure_totals WHERE {cond} AND metric = :metric", params
    )[0][0]
    if not n:
        return Reconciled(chosen=(), at_least=0.0, n_chosen=0, n_figures=0, sum_all=0.0)
    # Figure by figure only when the whole store holds few of the metric's figures: a
    # filter the indexes cannot serve (a donor, a year) would otherwise make the database
    # walk all of them to find the view's few
    if _stored(data, metric) <= RECONCILE_FIGURES_MAX:
        return reconcile(figure_candidates(data, f, metric))
    return reconcile(box_candidates(data, f, metric))


def _reference_batches(data: AtlasData) -> list[int]:
    """Ids of the active batches that are not imported registers (the reference seed)."""
    return data.cached(
        "reference_batches",
        lambda: [
            int(r[0])
            for r in data.rows(
                "SELECT id FROM batches WHERE kind <> 'import' AND undone_at IS NULL ORDER BY id"
            )
        ],
    )


def _figure_rows(data: AtlasData, f: Filters, metric: str, *, reference_only: bool) -> pd.DataFrame:
    cond, params = where(f, "figures", prefix="fg.")
    params["metric"] = metric
    first, hint = "", ""
    if reference_only:
        # the reference batch's few rows through the batch index, not the metric's
        # millions: its ids first and as values (SQLite takes the first IN it can use)
        first = f"fg.batch_id IN {in_list('rb', _reference_batches(data), params)} AND "
        if data.engine.dialect.name == "sqlite":
            hint = "INDEXED BY ix_figures_batch_id"
    frame = data.frame(
        "SELECT fg.id, fg.value, fg.confidence, fg.source, fg.batch_id, b.kind, "
        "fg.donor_key, fg.donor_unit_key, fg.r_province, fg.r_prefecture, fg.r_county, "
        "fg.period_start, fg.period_end "
        f"FROM figures fg {hint} JOIN batches b ON b.id = fg.batch_id WHERE {first}{cond} "
        "AND fg.metric = :metric AND fg.counted ORDER BY fg.id",
        params,
    )
    frame["memory"] = frame["confidence"] == FROM_MEMORY
    return _clean(frame)


def _columns(
    frame: pd.DataFrame,
    scopes: list[tuple[Scope, Scope]],
    keys: list[int | str],
    out: Columns | None = None,
) -> Columns:
    """Append the rows of a ``_clean`` frame (value, period, confidence, n) to ``out``."""
    out = out if out is not None else Columns()
    size = len(frame)
    n = frame["n"].astype(int).tolist() if "n" in frame.columns else [1] * size
    confidence = (
        [_text(c) for c in frame["confidence"].tolist()]
        if "confidence" in frame.columns
        else [None] * size
    )
    tiers = {c: confidence_tier(c) for c in set(confidence)}
    out.keys.extend(keys)
    out.values.extend(float(v) for v in frame["value"].tolist())
    out.donors.extend(d for d, _ in scopes)
    out.recipients.extend(r for _, r in scopes)
    out.starts.extend(frame["period_start"].tolist())
    out.ends.extend(frame["period_end"].tolist())
    out.tiers.extend(tiers[c] for c in confidence)
    out.ns.extend(n)
    if not len(out.keys) == len(out.values) == len(out.ns) == len(out.starts):
        raise ValueError("candidate columns of different lengths")
    return out


def figure_candidates(data: AtlasData, f: Filters, metric: str) -> Columns:
    """The view's counted figures of ``metric`` as candidates (a register's entries of one
    box as one candidate). Reads the figure rows: call only for a bounded view."""
    rows = _figure_rows(data, f, metric, reference_only=False)
    out = Columns()
    if rows.empty:
        return out
    register = rows["kind"] == "import"
    single = rows[~register].reset_index(drop=True)
    _columns(single, candidate_scopes(data, single), [int(i) for i in single["id"]], out)
    entries = rows[register]
    if len(entries):
        keys = ["batch_id", *_BOX, "memory"]
        grouped = (
            entries.groupby(keys, dropna=False, sort=False)
            .agg(
                id=("id", "min"),
                value=("value", "sum"),
                n=("id", "size"),
                confidence=("confidence", "first"),
            )
            .reset_index()
        )
        grouped = _clean(grouped)
        # a register's rows of one box share their columns: their scope is the box's
        scopes = candidate_scopes(data, grouped.drop(columns="id"))
        _columns(grouped, scopes, [int(i) for i in grouped["id"]], out)
    return out


def _box_keys(frame: pd.DataFrame) -> list[str]:
    """Each box's key, from its fields (a ``_clean`` frame): the same whichever engine
    listed the boxes."""
    columns = [frame[col].tolist() for col in _BOX]
    memory = frame["memory"].astype(bool).tolist()
    return [_box_key(parts, m) for *parts, m in zip(*columns, memory, strict=True)]


def box_candidates(data: AtlasData, f: Filters, metric: str) -> Columns:
    """The view's boxes of ``metric`` from the summary, with the reference batch's figures
    taken out and added one by one (see the module's docstring).

    The boxes are read as tuples, each cleaned, keyed and given its scopes in one pass:
    thousands of boxes a view, and a frame walked column by column cost as much as the
    rule itself (#7)."""
    cond, params = where(f, "totals")
    params["metric"] = metric
    cols = ", ".join(_BOX)
    found = data.summary.rows(
        f"SELECT {cols}, from_memory AS memory, SUM(value) AS value, SUM(n) AS n "
        f"FROM figure_totals WHERE {cond} AND metric = :metric "
        f"GROUP BY {cols}, from_memory HAVING SUM(n) > 0",
        params,
    )
    refs = _figure_rows(data, f, metric, reference_only=True)
    refs["n"] = 1
    taken: dict[str, tuple[float, int]] = {}
    if len(refs):  # the reference figures, to be taken out of their boxes
        for key, value in zip(_box_keys(refs), refs["value"].tolist(), strict=True):
            before, n = taken.get(key, (0.0, 0))
            taken[key] = (before + float(value), n + 1)
    scopes = _ColumnScopes(data)
    out = Columns()
    memory_tier, plain_tier = confidence_tier(FROM_MEMORY), confidence_tier(None)
    for dk, du, rp, rf, rc, start, end, memory, value, n in found:
        texts = (_box_text(dk), _box_text(du), _box_text(rp), _box_text(rf), _box_text(rc))
        years = (None if start is None else int(start), None if end is None else int(end))
        memory = bool(memory)
        key = _box_key((*texts, *years), memory)
        amount = float("nan") if value is None else float(value)
        count = int(n)
        if key in taken:
            less, fewer = taken[key]
            amount, count = amount - less, count - fewer
            if count <= 0:
                continue
        out.keys.append(key)
        out.values.append(amount)
        out.donors.append(scopes.donors(texts[0], texts[1]))
        out.recipients.append(scopes.recipients(*texts[2:]))
        out.starts.append(years[0])
        out.ends.append(years[1])
        out.tiers.append(memory_tier if memory else plain_tier)
        out.ns.append(count)
    return _columns(refs, candidate_scopes(data, refs), [int(i) for i in refs["id"]], out)
