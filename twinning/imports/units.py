"""Units: 元 / 万元 / 亿元 / yuan / 10k yuan / million yuan ... to one canonical unit per metric.

Why Decimal: 1,200 万元 must become exactly 12,000,000 yuan; float arithmetic on
亿-scale values drifts by whole yuan. The original value and unit are kept beside
the canonical ones (``value_original``, ``unit_original``).

A unit is read as [magnitude][base] (万元, million yuan) or [base][magnitude]
(RMB 10k). Canonical units follow data/reference figures.csv: money in ``CNY``
(yuan), people in ``persons`` or ``person-times``, other counts in their noun.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from twinning import i18n
from twinning.imports.numbers import normalise_text
from twinning.imports.problems import ParseError, texts

MONEY, PERSONS, PERSON_TIMES, COUNT, HOUSEHOLDS, PERCENT, LENGTH_KM, AREA_MU = (
    "money",
    "persons",
    "person-times",
    "count",
    "households",
    "percent",
    "km",
    "mu",
)

# dimension -> canonical unit label as stored in figures.unit
CANONICAL_UNIT = {
    MONEY: "CNY",
    PERSONS: "persons",
    PERSON_TIMES: "person-times",
    HOUSEHOLDS: "households",
    PERCENT: "percent",
    LENGTH_KM: "km",
    AREA_MU: "mu",
}

_MAGNITUDES: list[tuple[str, int]] = sorted(
    [
        ("万亿", 10**12),
        ("千亿", 10**11),
        ("百亿", 10**10),
        ("十亿", 10**9),
        ("亿", 10**8),
        ("千万", 10**7),
        ("百万", 10**6),
        ("十万", 10**5),
        ("万", 10**4),
        ("千", 10**3),
        ("100 million", 10**8),
        ("hundred million", 10**8),
        ("100m", 10**8),
        ("ten thousand", 10**4),
        ("10 thousand", 10**4),
        ("10,000", 10**4),
        ("10000", 10**4),
        ("10k", 10**4),
        ("thousand", 10**3),
        ("1000", 10**3),
        ("k", 10**3),
        ("million", 10**6),
        ("mn", 10**6),
        ("mio", 10**6),
        ("billion", 10**9),
        ("bn", 10**9),
    ],
    key=lambda kv: -len(kv[0]),
)

_BASES: dict[str, str | None] = {
    "": None,
    "元": MONEY,
    "元人民币": MONEY,
    "人民币": MONEY,
    "人民币元": MONEY,
    "yuan": MONEY,
    "cny": MONEY,
    "rmb": MONEY,
    "rmb yuan": MONEY,
    "yuan rmb": MONEY,
    "¥": MONEY,
    "￥": MONEY,
    "人": PERSONS,
    "名": PERSONS,
    "位": PERSONS,
    "人口": PERSONS,
    "persons": PERSONS,
    "person": PERSONS,
    "people": PERSONS,
    "人次": PERSON_TIMES,
    "person-times": PERSON_TIMES,
    "person times": PERSON_TIMES,
    "户": HOUSEHOLDS,
    "households": HOUSEHOLDS,
    "household": HOUSEHOLDS,
    "%": PERCENT,
    "percent": PERCENT,
    "百分比": PERCENT,
    "公里": LENGTH_KM,
    "千米": LENGTH_KM,
    "km": LENGTH_KM,
    "亩": AREA_MU,
    "mu": AREA_MU,
    "个": COUNT,
    "项": COUNT,
    "所": COUNT,
    "家": COUNT,
    "座": COUNT,
    "处": COUNT,
    "批": COUNT,
    "projects": COUNT,
    "project": COUNT,
    "items": COUNT,
    "count": COUNT,
}


@dataclass(frozen=True)
class Unit:
    """A parsed unit: multiplier to the base and the base's dimension (None = bare count)."""

    multiplier: int
    dimension: str | None
    text: str


def _strip_brackets(s: str) -> str:
    return s.strip().strip("()[]【】").strip()


@lru_cache(maxsize=4096)
def parse_unit(text: str | None) -> Unit:
    """Read a unit such as 万元, 'million yuan', 'RMB 10k', '万' or ''. Raises ParseError."""
    original = text or ""
    s = _strip_brackets(normalise_text(original).lower())
    s = re.sub(r"^(单位|unit)\s*[:：]\s*", "", s)
    for order in ("mag_base", "base_mag"):
        mult, rest = 1, s
        if order == "mag_base":
            for word, m in _MAGNITUDES:
                if rest.startswith(word):
                    mult, rest = m, rest[len(word) :].strip()
                    break
        else:
            for word, m in _MAGNITUDES:
                if rest.endswith(word) and rest != word:
                    mult, rest = m, rest[: -len(word)].strip()
                    break
        if rest in _BASES:
            return Unit(mult, _BASES[rest], original)
    raise ParseError(**texts("problem.bad_unit.unknown", "problem.bad_unit.units", unit=original))


def combine(cell: Unit | None, header: Unit | None) -> Unit:
    """The unit that applies to a cell: a unit with a base in the cell wins; a bare
    magnitude in the cell (1200万) multiplies the column's unit (元 -> 万元)."""
    if cell is None or (cell.multiplier == 1 and cell.dimension is None):
        return header or Unit(1, None, "")
    if cell.dimension is not None or header is None:
        return cell
    return Unit(cell.multiplier * header.multiplier, header.dimension, cell.text + header.text)


@dataclass(frozen=True)
class Metric:
    """A metric the importer knows: its dimension and canonical unit. Its names are the
    atlas's (``i18n.metric_label``), so the import page and the map never disagree."""

    name: str
    dimension: str
    unit: str  # canonical unit label for counts ("projects"); CANONICAL_UNIT otherwise

    def label(self, lang: str) -> str:
        """The metric's name in ``lang``; a metric outside the vocabulary keeps its code."""
        return i18n.METRICS.label(self.name, lang) or self.name

    @property
    def zh(self) -> str:
        return self.label("zh")

    @property
    def en(self) -> str:
        return self.label("en")


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("funds_cny", MONEY, "CNY"),
        Metric("investment_cny", MONEY, "CNY"),
        Metric("social_donations_cny", MONEY, "CNY"),
        Metric("consumption_support_sales_cny", MONEY, "CNY"),
        Metric("projects", COUNT, "projects"),
        Metric("people_lifted", PERSONS, "persons"),
        Metric("people_benefited", PERSONS, "persons"),
        Metric("people_trained", PERSONS, "persons"),
        Metric("people_employed", PERSONS, "persons"),
        Metric("cadres_dispatched", PERSONS, "persons"),
        Metric("professionals_dispatched", PERSONS, "persons"),
        Metric("households_housed", HOUSEHOLDS, "households"),
        Metric("villages_supported", COUNT, "villages"),
        Metric("schools_assisted", COUNT, "schools"),
        Metric("hospitals_paired", COUNT, "hospital pairs"),
    ]
}


def metric_for_unknown(name: str, unit: Unit) -> Metric:
    """A metric outside the table (names are not a closed list): dimension from its unit."""
    dim = unit.dimension or COUNT
    return Metric(name, dim, CANONICAL_UNIT.get(dim, "count"))


def to_canonical(value: Decimal, unit: Unit, metric: Metric) -> tuple[Decimal, str]:
    """Convert exactly; raise ParseError when the unit does not fit the metric."""
    dim = unit.dimension
    if metric.dimension == MONEY:
        if dim != MONEY:
            if dim is None:
                raise ParseError(
                    **texts(
                        "problem.bad_unit.no_currency",
                        "problem.bad_unit.no_currency.fix",
                        en={"metric": metric.name},
                        zh={"metric": metric.zh},
                    )
                )
            raise _does_not_fit(unit, metric)
        return value * unit.multiplier, "CNY"
    if metric.dimension in (PERSONS, PERSON_TIMES):
        if dim in (None, COUNT, PERSONS):
            return value * unit.multiplier, metric.unit
        if dim == PERSON_TIMES:
            return value * unit.multiplier, "person-times"
        raise ParseError(
            **texts(
                "problem.bad_unit.not_people",
                "problem.bad_unit.not_people.fix",
                unit=unit.text,
                en={"metric": metric.name},
                zh={"metric": metric.zh},
            )
        )
    if dim == MONEY or (dim == PERCENT and metric.dimension != PERCENT):
        raise _does_not_fit(unit, metric)
    if dim in (None, COUNT) or dim == metric.dimension:
        return value * unit.multiplier, metric.unit
    raise _does_not_fit(unit, metric)


def _does_not_fit(unit: Unit, metric: Metric) -> ParseError:
    return ParseError(
        **texts(
            "problem.bad_unit.does_not_fit",
            "problem.bad_unit.units",
            unit=unit.text,
            en={"metric": metric.name},
            zh={"metric": metric.zh},
        )
    )
