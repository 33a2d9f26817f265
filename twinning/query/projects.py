"""A place's projects (issue #11): the rows of imported project lists, with their funds.

A project list (a register with a 项目名称 column) stores each row's figures with the
row's project name (``figures.project``) and one ``projects`` figure of 1. The detail
panel lists a place's projects from those rows: one SQL GROUP BY over the place's
figures (the place's derived level column, the view's filters), counted figures only,
so a project imported twice is listed once and its funds are not doubled.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from twinning.filters import Filters
from twinning.query.atlas import AtlasData, level_column, where

PROJECTS_MAX = 50  # listed in the panel; the rest are counted


@dataclass(frozen=True)
class PlaceProjects:
    rows: pd.DataFrame  # project, donor, recipient, period_start, period_end, funds, ...
    n: int  # every project of the place in the view


def place_projects(data: AtlasData, filters: Filters, adcode: str) -> PlaceProjects:
    """The projects in or under ``adcode`` within the view's filters, most funds first."""
    row = data.place_row(adcode)
    if row is None:
        return PlaceProjects(pd.DataFrame(), 0)
    col = level_column(str(row["level"]))
    cond, params = where(filters, "figures", recipient=False, prefix="f.")
    params["place"] = str(adcode)
    base = f"FROM figures f WHERE {cond} AND f.{col} = :place AND f.project IS NOT NULL"
    base += " AND f.counted"
    group = "f.project, f.donor, f.recipient"
    n = data.rows(f"SELECT COUNT(*) FROM (SELECT 1 AS one {base} GROUP BY {group}) AS g", params)
    params["limit"] = PROJECTS_MAX

    def total(metric: str) -> str:
        return f"SUM(CASE WHEN f.metric = '{metric}' THEN f.value END)"

    frame = data.frame(
        f"SELECT f.project AS project, f.donor AS donor, f.recipient AS recipient, "
        f"MIN(f.period_start) AS period_start, MAX(f.period_end) AS period_end, "
        f"{total('funds_cny')} AS funds, {total('people_benefited')} AS benefited, "
        f"{total('people_lifted')} AS lifted, MIN(f.source) AS source "
        f"{base} GROUP BY {group} "
        f"ORDER BY ({total('funds_cny')} IS NULL), {total('funds_cny')} DESC, f.project "
        "LIMIT :limit",
        params,
    )
    return PlaceProjects(frame, int(n[0][0]) if n else 0)
