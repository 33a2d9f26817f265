"""Where data is and is not (issue #10): for the current filters, how many figures each
programme has in each recipient province and in each year, so an empty cell reads "no
figures reported", never zero.

One ``GROUP BY`` on ``figure_totals`` (never the figure rows), answered by the same engine
as the map (``AtlasData.summary``). A period figure (2006–2010) counts in every year of its
period, a count "to 2022" in its end year; a figure about several provinces together counts
in the row "several provinces", never in one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twinning.query.atlas import AtlasData, where
from twinning.query.views import program_options, year_bounds

NO_PROGRAM = ""  # figures whose programme the source does not give
SEVERAL = ""  # figures about several provinces together (no single province)
MAX_SPAN = 200  # years; a longer period is a data error, not a reason to loop


@dataclass(frozen=True)
class Coverage:
    """Counts of figures in view by (province, programme) and by (year, programme)."""

    programs: tuple[str, ...]  # the programmes of the data (NO_PROGRAM last, if any)
    provinces: tuple[str, ...]  # every province adcode of the boundaries
    years: tuple[int, ...]  # the data's years
    by_province: dict[tuple[str, str], int] = field(default_factory=dict)
    by_year: dict[tuple[int, str], int] = field(default_factory=dict)
    n_figures: int = 0
    n_several: int = 0  # of them: about several provinces together
    n_undated: int = 0  # of them: no year at all

    def province_count(self, province: str, program: str) -> int:
        return self.by_province.get((province, program), 0)

    def year_count(self, year: int, program: str) -> int:
        return self.by_year.get((year, program), 0)

    def empty_provinces(self) -> list[str]:
        """Provinces with no figure in view at all (absence, not zero)."""
        have = {p for (p, _), n in self.by_province.items() if n}
        return [p for p in self.provinces if p not in have]


def coverage(data: AtlasData, filters) -> Coverage:
    """The coverage of the view ``filters`` (all its filters apply)."""
    return data.cached(("coverage", filters.cache_key()), lambda: _coverage(data, filters))


def _coverage(data: AtlasData, f) -> Coverage:
    cond, params = where(f, "totals")
    rows = data.summary.rows(
        "SELECT program, r_province, period_start, period_end, SUM(n) FROM figure_totals "
        f"WHERE {cond} GROUP BY program, r_province, period_start, period_end "
        "HAVING SUM(n) > 0",
        params,
    )
    lo, hi = year_bounds(data)
    by_province: dict[tuple[str, str], int] = {}
    by_year: dict[tuple[int, str], int] = {}
    n_all = n_several = n_undated = 0
    for program, province, start, end, n in rows:
        n = int(n or 0)
        program = program or NO_PROGRAM
        province = province or SEVERAL
        n_all += n
        n_several += n if province == SEVERAL else 0
        key = (province, program)
        by_province[key] = by_province.get(key, 0) + n
        if start is None and end is None:
            n_undated += n
            continue
        first, last = (int(end), int(end)) if start is None else (int(start), int(end or start))
        for year in range(max(first, last - MAX_SPAN), last + 1):
            by_year[(year, program)] = by_year.get((year, program), 0) + n
    programs = list(program_options(data))
    if any(p == NO_PROGRAM for _, p in by_province):
        programs.append(NO_PROGRAM)
    places = data.places
    provinces = sorted(set(places.loc[places["level"] == "province", "adcode"].astype(str)))
    years = sorted({lo, hi, *(y for y, _ in by_year)})
    return Coverage(
        programs=tuple(programs),
        provinces=tuple(provinces),
        years=tuple(range(years[0], years[-1] + 1)) if years else (),
        by_province=by_province,
        by_year=by_year,
        n_figures=n_all,
        n_several=n_several,
        n_undated=n_undated,
    )
