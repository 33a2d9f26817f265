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

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from twinning.filters import FROM_MEMORY, Filters
from twinning.query.atlas import AtlasData, _code, in_list, missing, where
from twinning.query.reconcile import (
    Columns,
    Path,
    Reconciled,
    ReconciledTotal,
    Scope,
    confidence_tier,
    courteous,
    place_path,
    reconcile,
)

# Up to this many counted figures of a metric in the store, its figures are reconciled one
# by one; beyond, by the summary's boxes.
RECONCILE_FIGURES_MAX = 20_000
# A view of at most this many figures of a metric, reconciled figure by figure, is worked
# out at once on a click (a few milliseconds): handing it to the background thread and
# waiting for it cost more than the work (the reference data's map change: 5-8 ms, #7)
RECONCILE_AT_ONCE_FIGURES = 1_000

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


def _box_text(x: Any) -> str | None:
    """A box's text column, cleaned: text or None."""
    return x if x.__class__ is str and x else _text(x)


def _box_key(parts: Iterable[Any], memory: bool) -> str:
    """A box's key from its cleaned fields (a summary box's and a figure's alike)."""
    return (
        "box:"
        + "|".join("" if v is None else str(v) for v in parts)
        + ("|memory" if memory else "")
    )


def _box_year(x: Any) -> int | None:
    """A box's year column as the figure and box paths give it."""
    return None if x is None else int(x)


class _Figure(NamedTuple):
    """One counted figure of a view, its box columns cleaned (``_box_text``, ``_box_year``)."""

    id: int
    value: float
    confidence: Any  # as stored: its tier is ``confidence_tier(_text(confidence))``
    batch_id: int
    register: bool  # of an imported register (an import batch)
    box: tuple[Any, ...]  # the ``_BOX`` columns
    memory: bool


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


# figures whose places a worker keeps per data version (``_kept_scopes``)
SCOPES_KEPT = 100_000
_UNKNOWN = object()


def _kept_scopes(data: AtlasData, ids: Sequence[int]) -> dict[Any, Any]:
    """``twinning.query.scopes.figure_scopes`` of ``ids``, each figure read once per data
    version (its places do not change with the view): a view's reconciled totals read them
    for each of its three metrics on every change, two queries each (~5 ms of a reference
    data's change of ~36 ms, #7). At most SCOPES_KEPT figures kept, then read again."""
    from twinning.query.scopes import figure_scopes

    kept: dict[int, Any] = data.__dict__.setdefault("_figure_scopes", {})
    out: dict[Any, Any] = {}
    unknown = []
    for fid in ids:
        scope = kept.get(fid, _UNKNOWN)
        if scope is _UNKNOWN:
            unknown.append(fid)
        elif scope is not None:
            out[fid] = scope
    if unknown:
        found = figure_scopes(data, unknown)
        if len(kept) + len(unknown) > SCOPES_KEPT:
            kept.clear()
        for fid in unknown:
            kept[fid] = scope = found.get(int(fid))
            if scope is not None:
                out[fid] = scope
    return out


def candidate_scopes(
    data: AtlasData, boxes: Iterable[Sequence[Any]], ids: Sequence[int] | None = None
) -> list[tuple[Scope, Scope]]:
    """(donor scope, recipient scope) of each candidate, in order: the one function that
    says what a candidate covers.

    ``boxes`` are each candidate's ``_BOX`` columns (donor key, donor unit, recipient
    province, prefecture, county, ...). Every candidate gets the scope of its own columns:
    the recipient's roll-up (for a figure about several places, the unit that holds all of
    them: wider than the figure, so an overlap is never missed) and the donor's unit or
    province. Figures (``ids`` given, one per box) then take their member places from
    ``twinning.query.scopes.figure_scopes`` (groups, lists, XPCC divisions, donor groups)."""
    cols = _ColumnScopes(data)
    out = [(cols.donors(b[0], b[1]), cols.recipients(b[2], b[3], b[4])) for b in boxes]
    if not ids:
        return out
    if len(ids) != len(out):
        raise ValueError("one figure id per box")
    found = _kept_scopes(data, ids)
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
    return ("reconciled", filters.rows_key(), metric)


def reconciled_total(data: AtlasData, filters: Filters, metric: str) -> ReconciledTotal:
    """ "At least X" for ``metric`` in the view of ``filters``, with N of M and Y (kept
    per view; the figures kept and left out are ``_reconciled``'s, not kept)."""
    key = _total_key(filters, metric)
    return data.cached(key, lambda: _reconciled(data, key[1], metric).total())


def reconciled_ready(data: AtlasData, filters: Filters, metric: str) -> ReconciledTotal | None:
    """The reconciled total if this worker has already worked it out, else None."""
    return data.peek(_total_key(filters, metric))


def quick_to_reconcile(data: AtlasData, metric: str, n_figures: int) -> bool:
    """Whether a view's ``n_figures`` figures of ``metric`` are reconciled quickly enough
    to be worked out at once on a click: few, and read figure by figure (a store of few
    figures of the metric; the summary's boxes of a large store are read otherwise)."""
    return n_figures <= RECONCILE_AT_ONCE_FIGURES and _stored(data, metric) <= (
        RECONCILE_FIGURES_MAX
    )


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


def _figure_rows(
    data: AtlasData, f: Filters, metric: str, *, reference_only: bool
) -> list[_Figure]:
    """The view's counted figures of ``metric``, in id order, as plain tuples: a view of a
    few hundred figures read through a frame cost more than the rule itself (#7)."""
    cond, params = where(f, "figures", prefix="fg.")
    params["metric"] = metric
    first, hint = "", ""
    if reference_only:
        # the reference batch's few rows through the batch index, not the metric's
        # millions: its ids first and as values (SQLite takes the first IN it can use)
        first = f"fg.batch_id IN {in_list('rb', _reference_batches(data), params)} AND "
        if data.engine.dialect.name == "sqlite":
            hint = "INDEXED BY ix_figures_batch_id"
    found = data.rows(
        "SELECT fg.id, fg.value, fg.confidence, fg.batch_id, b.kind, "
        "fg.donor_key, fg.donor_unit_key, fg.r_province, fg.r_prefecture, fg.r_county, "
        "fg.period_start, fg.period_end "
        f"FROM figures fg {hint} JOIN batches b ON b.id = fg.batch_id WHERE {first}{cond} "
        "AND fg.metric = :metric AND fg.counted ORDER BY fg.id",
        params,
    )
    return [
        _Figure(
            int(fid),
            float(value),
            confidence,
            int(batch),
            kind == "import",
            (
                _box_text(dk),
                _box_text(du),
                _box_text(rp),
                _box_text(rf),
                _box_text(rc),
                _box_year(start),
                _box_year(end),
            ),
            confidence == FROM_MEMORY,
        )
        for fid, value, confidence, batch, kind, dk, du, rp, rf, rc, start, end in found
    ]


def _append(
    out: Columns,
    key: int | str,
    value: float,
    box: tuple[Any, ...],
    confidence: Any,
    n: int,
    scope: tuple[Scope, Scope],
) -> None:
    out.keys.append(key)
    out.values.append(value)
    out.donors.append(scope[0])
    out.recipients.append(scope[1])
    out.starts.append(box[5])
    out.ends.append(box[6])
    out.tiers.append(confidence_tier(_text(confidence)))
    out.ns.append(n)


def _add_figures(data: AtlasData, figures: list[_Figure], out: Columns) -> Columns:
    """Append ``figures`` to ``out`` one candidate each, with their member scopes."""
    scopes = candidate_scopes(data, [r.box for r in figures], [r.id for r in figures])
    for r, scope in zip(figures, scopes, strict=True):
        _append(out, r.id, r.value, r.box, r.confidence, 1, scope)
    return out


def figure_candidates(data: AtlasData, f: Filters, metric: str) -> Columns:
    """The view's counted figures of ``metric`` as candidates (a register's entries of one
    box as one candidate: its lowest id, their sum and count, the first confidence given).
    Reads the figure rows: call only for a bounded view."""
    rows = _figure_rows(data, f, metric, reference_only=False)
    out = _add_figures(data, [r for r in rows if not r.register], Columns())
    boxes: dict[tuple[Any, ...], list[Any]] = {}  # in order of first appearance
    for r in rows:
        if not r.register:
            continue
        group = boxes.get((r.batch_id, *r.box, r.memory))
        if group is None:
            boxes[(r.batch_id, *r.box, r.memory)] = [r.id, [r.value], r.confidence, r.box]
            continue
        group[0] = min(group[0], r.id)
        group[1].append(r.value)
        if missing(group[2]):
            group[2] = r.confidence
    # a register's rows of one box share their columns: their scope is the box's
    scopes = candidate_scopes(data, [g[3] for g in boxes.values()])
    for (fid, values, confidence, box), scope in zip(boxes.values(), scopes, strict=True):
        _append(out, fid, math.fsum(values), box, confidence, len(values), scope)
    return out


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
    taken: dict[str, tuple[float, int]] = {}
    for r in refs:  # the reference figures, to be taken out of their boxes
        key = _box_key(r.box, r.memory)
        before, n = taken.get(key, (0.0, 0))
        taken[key] = (before + r.value, n + 1)
    scopes = _ColumnScopes(data)
    out = Columns()
    memory_tier, plain_tier = confidence_tier(FROM_MEMORY), confidence_tier(None)
    for dk, du, rp, rf, rc, start, end, memory, value, n in courteous(found):
        texts = (_box_text(dk), _box_text(du), _box_text(rp), _box_text(rf), _box_text(rc))
        years = (_box_year(start), _box_year(end))
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
    return _add_figures(data, refs, out)
