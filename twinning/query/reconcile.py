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
   figures, then a translator's note, then figures from memory), then the larger value,
   then the longer period, then the lower id. Keep a candidate if it overlaps none kept
   so far.
2. Give way: go through the kept candidates in the same order. The candidates that only
   this one shuts out (and that are no less confident) are taken by step 1 among
   themselves; if they add up to more than it, they replace it.
3. Keep, in the same order, any candidate that no longer overlaps a kept one.

An enclosing figure (a province for 1996–2014 around a county in 2010) normally reports
at least as much as what it encloses, so it comes first and stands for it. When it
reports less than one of its parts, the part comes first and is kept: both are true lower
bounds and the larger one says more. Step 2 stops a large vague figure ("8 eastern
provinces → 10 western provinces, to 2024") from standing for many figures that together
say more. Greedy keeps the rule explainable and the result a valid lower bound; it is not
promised to be the largest possible one.

A candidate may stand for several figures (``n``): the caller groups the entries of one
register that share a box (see ``twinning/query/totals.py``). Everything here is plain
Python on small records: no SQL, no dash, no pandas.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

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


# A total worked out in the background (``twinning.query.views.reconciled_soon``) shares
# the interpreter with the worker's requests. Python hands it from a thread that wants it
# back only every switch interval (5 ms): a request beside half a second of this rule's
# loops ran at a fraction of its speed (#7: a map answer at 10 M figures took 250 ms of
# which 70 were its own). In the background the loops hand the interpreter over every
# YIELD_EVERY steps instead; a request waiting for it runs at once.
YIELD_EVERY = 64
_here = threading.local()
_T = TypeVar("_T")


@contextmanager
def in_background() -> Iterator[None]:
    """Inside this block (a background thread's work), ``courteous`` loops yield."""
    before = getattr(_here, "background", False)
    _here.background = True
    try:
        yield
    finally:
        _here.background = before


def courteous(items: Iterable[_T]) -> Iterable[_T]:
    """``items``; in the background, yielding the interpreter every YIELD_EVERY of them
    (a ``time.sleep(0)``: nothing when no other thread waits for it)."""
    if not getattr(_here, "background", False):
        return items
    return _yielding(items)


def _yielding(items: Iterable[_T]) -> Iterator[_T]:
    for n, item in enumerate(items):
        if n % YIELD_EVERY == 0:
            time.sleep(0)
        yield item


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


@dataclass(frozen=True, slots=True)
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
    lo: float = field(init=False, repr=False, compare=False)  # first year (-inf: open)
    hi: float = field(init=False, repr=False, compare=False)  # last year (inf: open)

    def __post_init__(self) -> None:
        undated = self.start is None and self.end is None
        lo = -math.inf if self.start is None else float(self.start)
        hi = math.inf if self.end is None or undated else float(self.end)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    @property
    def years(self) -> tuple[float, float]:
        """(first, last) year as numbers; open ends are infinite."""
        return (self.lo, self.hi)

    @property
    def span(self) -> float:
        return self.hi - self.lo

    def order(self) -> tuple:
        """The rule's order: confidence tier, value, period length (desc), then key."""
        return (-confidence_tier(self.confidence), -self.value, -self.span, _key_order(self.key))


@dataclass(frozen=True)
class Reconciled:
    """The reconciled set of one metric's figures."""

    chosen: tuple[int | str, ...]  # keys of the candidates kept, in the rule's order
    at_least: float  # X: the sum of the kept candidates
    n_chosen: int  # N: figures they stand for
    n_figures: int  # M: figures of all candidates
    sum_all: float  # Y: the plain sum of all M
    excluded: dict[int | str, int | str] = field(default_factory=dict)  # key -> key kept first

    def total(self) -> ReconciledTotal:
        """Its numbers, without the keys of what was kept and left out."""
        return ReconciledTotal(self.at_least, self.n_chosen, self.n_figures, self.sum_all)


@dataclass(frozen=True)
class ReconciledTotal:
    """What a headline shows of a reconciled set: "at least X", N of M figures, and the
    plain sum Y. Views keep this, not the set: at 10 M figures the default view's sets
    pickled to 6-10 MB each, and a worker's first change read three of them (~300 ms, #7)."""

    at_least: float  # X
    n_chosen: int  # N
    n_figures: int  # M
    sum_all: float  # Y


def _paths_meet(a: Path, b: Path) -> bool:
    """One place contains the other (or they are the same)."""
    return a[: len(b)] == b or b[: len(a)] == a


def scopes_meet(a: Scope, b: Scope) -> bool:
    """Two scopes share a place (hierarchies included); an unknown scope meets any."""
    if a is None or b is None or a is b:
        return True
    return any(_paths_meet(x, y) for x in a for y in b)


def periods_meet(a: Candidate, b: Candidate) -> bool:
    return a.lo <= b.hi and b.lo <= a.hi


def overlaps(a: Candidate, b: Candidate) -> bool:
    """Donors, recipients and years all intersect: the two may count the same thing."""
    return (
        a.lo <= b.hi
        and b.lo <= a.hi
        and scopes_meet(a.recipients, b.recipients)
        and scopes_meet(a.donors, b.donors)
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


@dataclass
class Columns:
    """Candidates as columns (one list per field, same length): what ``reconcile`` walks.

    Built from ``Candidate`` objects by ``from_candidates``, or directly by a caller with
    many candidates (``twinning.query.totals``), which saves an object per candidate."""

    keys: list[int | str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    donors: list[Scope] = field(default_factory=list)
    recipients: list[Scope] = field(default_factory=list)
    starts: list[int | None] = field(default_factory=list)
    ends: list[int | None] = field(default_factory=list)
    tiers: list[int] = field(default_factory=list)
    ns: list[int] = field(default_factory=list)

    @classmethod
    def from_candidates(cls, candidates: Sequence[Candidate]) -> Columns:
        out = cls()
        for c in candidates:
            out.append(c.key, c.value, c.donors, c.recipients, c.start, c.end, c.confidence, c.n)
        return out

    def append(
        self,
        key: int | str,
        value: float,
        donors: Scope,
        recipients: Scope,
        start: int | None,
        end: int | None,
        confidence: str | None = None,
        n: int = 1,
    ) -> None:
        self.keys.append(key)
        self.values.append(float(value))
        self.donors.append(donors)
        self.recipients.append(recipients)
        self.starts.append(start)
        self.ends.append(end)
        self.tiers.append(confidence_tier(confidence))
        self.ns.append(int(n))

    def __len__(self) -> int:
        return len(self.keys)


def _prefixes(path: Path) -> tuple[Path, ...]:
    return tuple(path[:i] for i in range(1, len(path) + 1))


class _Greedy:
    """The kept candidates, indexed by recipient place (and year) so that a candidate is
    checked only against kept ones that can share a recipient and a year with it. A kept
    candidate can be let go (``alive``), for the give-way pass."""

    def __init__(self, cols: Columns) -> None:
        inf = math.inf
        self.cols = cols
        self.lo = [-inf if s is None else float(s) for s in cols.starts]
        self.hi = [
            inf if e is None or (s is None and e is None) else float(e)
            for s, e in zip(cols.starts, cols.ends, strict=True)
        ]
        self.single = [
            s is not None and s == e for s, e in zip(cols.starts, cols.ends, strict=True)
        ]
        self.alive = [False] * len(cols)
        self.kept: list[int] = []  # in the order kept (let-go ones included)
        self.anywhere: list[int] = []  # kept with a recipient not known
        self.at_year: dict[tuple[Path, float], list[int]] = defaultdict(list)
        self.at_long: dict[Path, list[int]] = defaultdict(list)  # kept not of one year
        self.at_any: dict[Path, list[int]] = defaultdict(list)
        # kept strictly inside a place: all of them, those of one year by (place, year),
        # and those of a longer period. A province's figure of one year looks only at
        # that year's figures inside it, not at every figure of every year in the
        # province (at 1 M figures 2,600 kept ones a province's candidate, #7)
        self.below: dict[Path, list[int]] = defaultdict(list)
        self.below_year: dict[tuple[Path, float], list[int]] = defaultdict(list)
        self.below_long: dict[Path, list[int]] = defaultdict(list)
        self.meet: dict[tuple[Scope, Scope], bool] = {}  # scopes are shared: few pairs
        self.ups: dict[int, tuple[tuple[Path, ...], tuple[Path, ...]]] = {}

    def _places(self, rec: frozenset[Path]) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
        """Every place a kept candidate meeting ``rec`` may be registered at (its places
        and all that contain them), and its own places."""
        found = self.ups.get(id(rec))
        if found is None:  # sorted: a set's order changes with the process's string hashes
            own = tuple(sorted(rec))
            above = tuple(dict.fromkeys(up for path in own for up in _prefixes(path)))
            found = self.ups[id(rec)] = (above, own)
        return found

    def near(self, i: int) -> list[int]:
        """Kept candidates (alive or not) that may share a recipient and a year with
        ``i``; one may be listed twice."""
        rec = self.cols.recipients[i]
        if rec is None:
            return self.kept
        ilo, ihi = self.lo[i], self.hi[i]
        above, own = self._places(rec)
        near = self.anywhere[:]
        # a place's kept ones in a list, or looked up by year: whichever is shorter
        years = ihi - ilo + 1.0  # inf for an open period
        for places, every, longer, of_year in (
            (above, self.at_any, self.at_long, self.at_year),
            (own, self.below, self.below_long, self.below_year),
        ):
            for place in places:
                found = every.get(place)
                if not found:
                    continue
                if len(found) <= years or years > _YEAR_BUCKETS_MAX:
                    near += found
                    continue
                near += longer.get(place, ())
                y = ilo
                while y <= ihi:
                    near += of_year.get((place, y), ())
                    y += 1.0
        return near

    def blockers(self, i: int, limit: int = 1) -> list[int]:
        """Alive kept candidates that overlap ``i``: the first ``limit`` of them."""
        lo, hi, alive, meet = self.lo, self.hi, self.alive, self.meet
        recipients, donors = self.cols.recipients, self.cols.donors
        ilo, ihi, rec, don = lo[i], hi[i], recipients[i], donors[i]
        out: list[int] = []
        for k in self.near(i):
            if not alive[k] or lo[k] > ihi or ilo > hi[k] or k == i:
                continue
            b = recipients[k]
            if not (rec is None or b is None or rec is b):
                found = meet.get((rec, b))
                if found is None:
                    found = meet[(rec, b)] = scopes_meet(rec, b)
                if not found:
                    continue
            b = donors[k]
            if not (don is None or b is None or don is b):
                found = meet.get((don, b))
                if found is None:
                    found = meet[(don, b)] = scopes_meet(don, b)
                if not found:
                    continue
            if k not in out:
                out.append(k)
                if len(out) >= limit:
                    break
        return out

    def keep(self, i: int) -> None:
        self.alive[i] = True
        self.kept.append(i)
        rec = self.cols.recipients[i]
        if rec is None:
            self.anywhere.append(i)
            return
        for path in rec:
            self.at_any[path].append(i)
            if self.single[i]:
                self.at_year[(path, self.lo[i])].append(i)
            else:
                self.at_long[path].append(i)
            for up in _prefixes(path)[:-1]:
                self.below[up].append(i)
                if self.single[i]:
                    self.below_year[(up, self.lo[i])].append(i)
                else:
                    self.below_long[up].append(i)


def reconcile(candidates: Sequence[Candidate] | Columns) -> Reconciled:
    """The reconciled set of ``candidates`` (all of one metric, in one unit): see the
    module's docstring for the rule. Deterministic: the same candidates in any order give
    the same result."""
    cols = candidates if isinstance(candidates, Columns) else Columns.from_candidates(candidates)
    g = _Greedy(cols)
    values, tiers, keys = cols.values, cols.tiers, cols.keys
    rank = {k: i for i, k in enumerate(sorted(set(keys), key=_key_order))}
    lo, hi = g.lo, g.hi
    position = sorted(
        range(len(cols)), key=lambda i: (-tiers[i], -values[i], lo[i] - hi[i], rank[keys[i]])
    )
    # 1. greedy: keep each candidate that overlaps none kept so far
    for i in courteous(position):
        if not g.blockers(i):
            g.keep(i)
    # 2. give way: a kept candidate (in the same order) is let go when the candidates
    #    that only it shuts out, kept by the same greedy among themselves, add up to more
    first_kept = list(g.kept)
    only: dict[int, list[int]] = defaultdict(list)
    first_blocker: dict[int, int] = {}
    for i in courteous(position):
        if not g.alive[i]:
            found = g.blockers(i, limit=2)  # shut out by exactly one?
            first_blocker[i] = found[0]
            if len(found) == 1:
                only[found[0]].append(i)
    for k in courteous(first_kept):
        if not g.alive[k] or not only.get(k):
            continue
        g.alive[k] = False
        trial = []
        for i in only[k]:  # already in the rule's order; never a less confident one
            if tiers[i] >= tiers[k] and not g.alive[i] and not g.blockers(i):
                g.keep(i)
                trial.append(i)
        if sum(values[i] for i in trial) > values[k]:
            continue
        for i in trial:  # not worth it: back as it was
            g.alive[i] = False
        g.alive[k] = True
    # 3. anything no kept candidate overlaps any more is kept, in the same order. One still
    #    shut out by the kept candidate step 2 found first stays out, named by it: only
    #    those whose blocker was let go are looked at again (#7)
    excluded = {}
    for i in courteous(position):
        if not g.alive[i]:
            first = first_blocker.get(i)  # none for one let go in step 2
            found = [first] if first is not None and g.alive[first] else g.blockers(i)
            if found:
                excluded[keys[i]] = keys[found[0]]
            else:
                g.keep(i)
    chosen = [i for i in position if g.alive[i]]
    return Reconciled(
        chosen=tuple(keys[i] for i in chosen),
        at_least=float(sum(values[i] for i in chosen)),
        n_chosen=sum(cols.ns[i] for i in chosen),
        n_figures=sum(cols.ns),
        sum_all=float(sum(values)),
        excluded=excluded,
    )


def _key_order(key: int | str) -> tuple:
    return (0, key, "") if isinstance(key, int) else (1, 0, str(key))
