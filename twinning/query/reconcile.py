"""Totals that count each thing once: the reconciled set of a metric's figures (issue #10).

Why: the figures of a view often overlap. A province total for 1996–2014 and a county
figure inside it for 2010 describe the same money twice, and their plain sum is a number
nobody can quote. This module picks a set of figures of which no two overlap and adds
them: the sum is then a true lower bound, "at least X", shown beside "N of M figures;
sum of all M: Y".

A figure is a *box*: donors × recipients × years.

* **Donors** and **recipients** are sets of places, each a path from the province down
  (``("530000",)`` is 云南省, ``("530000", "532600", "532627")`` is 富宁县 in 文山州).
  Two places intersect when one path is a prefix of the other (云南省 contains 富宁县;
  上海市 contains 松江区). ``None`` is a scope that is not known (a donor written as
  "东部省市", a recipient no place could be found for): it may be anything, so it
  intersects every scope, and it is never known to contain one.
* **Years**: ``start``–``end``; a single year has ``start == end``; a count "to 2022"
  (no start) reaches back indefinitely; an undated figure may be any year.

Two figures **overlap** when their donors intersect, their recipients intersect and their
years intersect. The **rule** that picks the set (greedy, deterministic):

1. Go through the candidates in this order: higher confidence tier first (recorded
   figures before those from memory), then the larger value, then the longer period, then
   the lower id.
2. Keep a candidate if it overlaps none kept so far; otherwise leave it out.

An enclosing figure (a province for 1996–2014 around a county in 2010) normally reports
at least as much as what it encloses, so it comes first and stands for it. When it
reports less than one of its parts, the part comes first and is kept: both are true lower
bounds and the larger one says more. Greedy keeps the rule explainable and the result a
valid lower bound; it is not promised to be the largest possible one.

A candidate may stand for several figures (``n``): the caller groups the entries of one
register that share a box (see ``twinning/query/totals.py``). Everything here is plain
Python on small records: no SQL, no dash, no pandas.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Path = tuple[str, ...]
Scope = frozenset[Path] | None  # None: not known, may be anything

# Confidence tiers: a figure recorded from a source or an office's register comes before a
# translator's note, which comes before a figure recorded from memory.
CONFIDENCE_TIER: dict[str, int] = {
    "from_memory": 0,
    "quoted_translator_note": 1,
}
DEFAULT_TIER = 2
# A period this long or shorter is looked up year by year in the index of kept figures.
_YEAR_BUCKETS_MAX = 40


def confidence_tier(confidence: str | None) -> int:
    """0 for figures from memory, 1 for a translator's note, 2 for everything recorded."""
    if not confidence:
        return DEFAULT_TIER
    return CONFIDENCE_TIER.get(str(confidence), DEFAULT_TIER)


def place_path(*codes: object) -> Path:
    """A place's path from its province down, from codes given province first (None and
    repeats dropped: 重庆市's county is ``("500000", "500101")``, not
    ``("500000", "500000", "500101")``)."""
    out: list[str] = []
    for code in codes:
        if code is None or (isinstance(code, float) and math.isnan(code)):
            continue
        text = str(code).strip()
        if text and text not in out:
            out.append(text)
    return tuple(out)


@dataclass(frozen=True)
class Candidate:
    """One figure (or a register's entries of one box, ``n`` of them) of one metric."""

    key: int | str  # the figure's id (or a group's key): the last tie-breaker
    value: float  # in the metric's canonical unit (yuan, persons, ...)
    donors: Scope
    recipients: Scope
    start: int | None = None
    end: int | None = None
    confidence: str | None = None
    source: str | None = None
    n: int = 1  # figures it stands for

    @property
    def years(self) -> tuple[float, float]:
        """(first, last) year as numbers; open ends are infinite."""
        if self.start is None and self.end is None:
            return (-math.inf, math.inf)
        lo = -math.inf if self.start is None else float(self.start)
        hi = math.inf if self.end is None else float(self.end)
        return (lo, hi)

    @property
    def span(self) -> float:
        lo, hi = self.years
        return hi - lo

    def order(self) -> tuple:
        """The rule's order: confidence tier, value, period length (desc), then key."""
        key = (0, self.key, "") if isinstance(self.key, int) else (1, 0, str(self.key))
        return (-confidence_tier(self.confidence), -self.value, -self.span, key)


@dataclass(frozen=True)
class Reconciled:
    """The reconciled set of one metric's figures."""

    chosen: tuple[int | str, ...]  # keys of the candidates kept, in the rule's order
    at_least: float  # X: the sum of the kept candidates
    n_chosen: int  # N: figures they stand for
    n_figures: int  # M: figures of all candidates
    sum_all: float  # Y: the plain sum of all M
    excluded: dict[int | str, int | str] = field(default_factory=dict)  # key -> key kept first


def _paths_meet(a: Path, b: Path) -> bool:
    """One place contains the other (or they are the same)."""
    return a[: len(b)] == b or b[: len(a)] == a


def scopes_meet(a: Scope, b: Scope) -> bool:
    """Two scopes share a place (hierarchies included); an unknown scope meets any."""
    if a is None or b is None:
        return True
    return any(_paths_meet(x, y) for x in a for y in b)


def periods_meet(a: Candidate, b: Candidate) -> bool:
    alo, ahi = a.years
    blo, bhi = b.years
    return max(alo, blo) <= min(ahi, bhi)


def overlaps(a: Candidate, b: Candidate) -> bool:
    """Donors, recipients and years all intersect: the two may count the same thing."""
    return (
        periods_meet(a, b)
        and scopes_meet(a.recipients, b.recipients)
        and (scopes_meet(a.donors, b.donors))
    )


def contains(a: Candidate, b: Candidate) -> bool:
    """``a``'s box holds ``b``'s (known scopes only): every donor, recipient and year of
    ``b`` lies inside ``a``. Used to explain a result, not by the rule itself."""
    if a.donors is None or a.recipients is None or b.donors is None or b.recipients is None:
        return False

    def inside(inner: frozenset[Path], outer: frozenset[Path]) -> bool:
        return all(any(x[: len(o)] == o for o in outer) for x in inner)

    alo, ahi = a.years
    blo, bhi = b.years
    return (
        alo <= blo
        and bhi <= ahi
        and inside(b.donors, a.donors)
        and inside(b.recipients, a.recipients)
    )


class _Kept:
    """The candidates kept so far, indexed by recipient place (and year), so checking a
    candidate looks only at kept ones that can share a recipient with it."""

    def __init__(self) -> None:
        self.all: list[Candidate] = []
        self.anywhere: list[Candidate] = []  # recipient not known
        self.at_year: dict[tuple[Path, int], list[Candidate]] = defaultdict(list)
        self.at_long: dict[Path, list[Candidate]] = defaultdict(list)  # not one year
        self.at_any: dict[Path, list[Candidate]] = defaultdict(list)
        self.below: dict[Path, list[Candidate]] = defaultdict(list)  # strictly inside

    def add(self, c: Candidate) -> None:
        self.all.append(c)
        if c.recipients is None:
            self.anywhere.append(c)
            return
        single = c.start is not None and c.start == c.end
        for path in c.recipients:
            self.at_any[path].append(c)
            if single:
                self.at_year[(path, int(c.start))].append(c)  # type: ignore[arg-type]
            else:
                self.at_long[path].append(c)
            for i in range(1, len(path)):
                self.below[path[:i]].append(c)

    def near(self, c: Candidate) -> Iterable[Candidate]:
        """Kept candidates that may share a recipient and a year with ``c``."""
        yield from self.anywhere
        if c.recipients is None:
            yield from (k for k in self.all if k.recipients is not None)
            return
        lo, hi = c.years
        by_year = hi - lo <= _YEAR_BUCKETS_MAX
        seen: set[int] = set()
        for path in c.recipients:
            for i in range(1, len(path) + 1):
                up = path[:i]
                if by_year:
                    groups: list[list[Candidate]] = [self.at_long.get(up, [])]
                    groups += [self.at_year.get((up, y), []) for y in range(int(lo), int(hi) + 1)]
                else:
                    groups = [self.at_any.get(up, [])]
                for group in groups:
                    for k in group:
                        if id(k) not in seen:
                            seen.add(id(k))
                            yield k
            for k in self.below.get(path, []):
                if id(k) not in seen:
                    seen.add(id(k))
                    yield k


def reconcile(candidates: Sequence[Candidate]) -> Reconciled:
    """The reconciled set of ``candidates`` (all of one metric, in one unit): see the
    module's docstring for the rule. Deterministic: the same candidates in any order give
    the same result."""
    ordered = sorted(candidates, key=Candidate.order)
    kept = _Kept()
    chosen: list[int | str] = []
    excluded: dict[int | str, int | str] = {}
    at_least = 0.0
    n_chosen = 0
    for c in ordered:
        blocker = next((k for k in kept.near(c) if overlaps(c, k)), None)
        if blocker is not None:
            excluded[c.key] = blocker.key
            continue
        kept.add(c)
        chosen.append(c.key)
        at_least += c.value
        n_chosen += c.n
    return Reconciled(
        chosen=tuple(chosen),
        at_least=at_least,
        n_chosen=n_chosen,
        n_figures=sum(c.n for c in candidates),
        sum_all=float(sum(c.value for c in candidates)),
        excluded=excluded,
    )
