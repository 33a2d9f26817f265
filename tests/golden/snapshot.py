"""What a view shows, as plain JSON: the answers the query layer must keep (issue #7).

``snapshot(module, data, filters)`` calls the public functions of an aggregation module
(the legacy pandas path in ``benchmarks/legacy_aggregate.py`` when the golden files were
recorded, ``twinning.aggregate`` in the test) and turns their answers into sorted,
rounded JSON so two paths can be compared value by value.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

CURRENT_YEAR = 2026

# The matrix of views: each level, drilled, each metric, programme, donor, unit, years,
# memory on/off, and both languages for the tables.
VIEWS: list[str] = [
    "level=province",
    "level=prefecture",
    "level=county",
    "level=province&metric=funds_cny",
    "level=prefecture&metric=funds_cny",
    "level=county&metric=funds_cny",
    "level=province&metric=projects",
    "level=county&metric=projects",
    "level=province&metric=people_lifted",
    "level=county&metric=people_lifted",
    "level=province&metric=people_trained",
    "level=county&recipient=650000",
    "level=county&recipient=650000&metric=funds_cny",
    "level=county&recipient=540000&metric=funds_cny&lang=en",
    "level=province&program=counterpart_support_xinjiang&metric=funds_cny",
    "level=county&program=east_west_cooperation,three_gorges",
    "level=province&donor=310000&metric=funds_cny",
    "level=prefecture&donor=310000&unit=310117",
    "level=province&from=2006&to=2010&metric=funds_cny",
    "level=county&from=2016&to=2020&metric=people_lifted",
    "level=province&memory=0",
    "level=county&memory=0&metric=funds_cny",
    "level=province&metric=funds_cny&lang=en",
    "level=prefecture&from=2021&to=2021&lang=en",
]

# Places whose detail panel is compared (a province, a prefecture, a county, a donor).
DETAIL_PLACES = ["650000", "653100", "653125", "530000", "310000", "522700"]


def _num(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)):
        if isinstance(x, float) and math.isnan(x):
            return None
        return round(float(x), 4)
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return str(x)


def _rows(df: pd.DataFrame, cols: list[str] | None = None, sort: bool = True) -> list[list]:
    if cols is not None:
        df = df[[c for c in cols if c in df.columns]]
    rows = [[_num(v) for v in row] for row in df.itertuples(index=False)]
    return sorted(rows, key=repr) if sort else rows


def snapshot(agg: Any, data: Any, query: str) -> dict[str, Any]:
    f = agg.Filters.from_query(query)
    out: dict[str, Any] = {}
    pv = agg.place_values(data, f)
    out["place_values"] = {
        "values": _rows(pv.values, ["adcode", "value", "n_figures"]),
        "unit": pv.unit,
        "n_figures": pv.n_figures,
        "n_coarse": pv.n_coarse,
        "n_unresolved": pv.n_unresolved,
    }
    pdn = agg.place_donors(data, f)
    out["place_donors"] = {
        "places": sorted(
            [str(a), sorted(d), sorted(p), int(n)]
            for a, d, p, n in pdn.places[["adcode", "donors", "programs", "n_pairings"]].itertuples(
                index=False
            )
        ),
        "donors": list(pdn.donors),
        "n_coarse": pdn.n_coarse,
        "n_unresolved": pdn.n_unresolved,
    }
    out["flows"] = sorted(
        [fl.program, fl.donor_key, fl.donor_point, fl.recipient, fl.n_pairings, _num(fl.value)]
        for fl in agg.flows(data, f)
    )
    out["headlines"] = [[h.key, _num(h.value), h.n_figures, h.unit] for h in agg.headlines(data, f)]
    out["series"] = {}
    for metric in agg.series_metrics(f):
        s = agg.series(data, f, metric)
        out["series"][metric] = {
            "unit": s.unit,
            "yearly": _rows(s.yearly, ["year", "value", "n_figures"]),
            "periods": _rows(s.periods, ["start", "end", "value", "qualifier"]),
            "cumulative": _rows(s.cumulative, ["start", "end", "value", "qualifier"]),
            "n_undated": s.n_undated,
        }
    force = agg.pairings_in_force(data, f, current_year=CURRENT_YEAR)
    out["in_force"] = _rows(force, ["year", "n"])
    out["details"] = {}
    for code in DETAIL_PLACES:
        d = agg.place_detail(data, f, code)
        if d is None:
            out["details"][code] = None
            continue
        out["details"][code] = {
            "level": d.level,
            "parents": [list(p) for p in d.parents],
            "pairings": sorted(int(i) for i in d.pairings["id"]),
            "parent_pairings": sorted(int(i) for i in d.parent_pairings["id"]),
            "donor_pairings": sorted(int(i) for i in d.donor_pairings["id"]),
            "figures": sorted(int(i) for i in d.figures["id"]),
        }
    out["pairings_table"] = _rows(agg.pairings_table(data, f))
    out["figures_table"] = _rows(agg.figures_table(data, f))
    return out


def menus(agg: Any, data: Any) -> dict[str, Any]:
    return {
        "year_bounds": list(agg.year_bounds(data, CURRENT_YEAR)),
        "metric_options": agg.metric_options(data),
        "program_options": agg.program_options(data),
        "donor_unit_options": [list(x) for x in agg.donor_unit_options(data, None)],
        "donor_unit_options_310000": [list(x) for x in agg.donor_unit_options(data, "310000")],
        "recipient_province_options": agg.recipient_province_options(data),
        "all_donor_keys": list(agg.all_donor_keys(data)),
    }
