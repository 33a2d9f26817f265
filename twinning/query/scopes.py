"""Which places a figure is about, on each side: its scopes (issue #10).

A figure's recipient (and donor) may be one place, a list of places ("林芝市, 昌都市") or a
named group ("上海对口帮扶地区", defined in ``data/reference/groups.csv``). ``figure_scopes``
answers, for any set of figures, the places on each side as sets, so that a reader that
must know which figures overlap (``twinning.query.reconcile``) never parses the text.

Member keys:

* an adcode of ``data/geo`` (any level: "310000", "310117", "653125"); containment
  follows the place hierarchy (``place_levels``);
* ``xpcc:<n>`` for a division of the Xinjiang Production and Construction Corps
  ("xpcc:14" for 第十四师) and ``xpcc:0`` for the Corps itself;
* for a donor with no adcode, its ``donor_key`` text (e.g. "中央企业").

An empty set means the side could not be resolved (the figure is listed as not shown), or,
for the recipient of a donor-side figure (``donor_side``), that it has no recipient place.
``group`` is the figure's ``scope_group``: a key of groups.csv, "list", or xpcc:<n>.

Donor scopes: a figure whose donor cell names several places (东部省市, 6 provinces/
municipalities) has them as members; a donor group's figure is only in views of all donors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from twinning.filters import LEVELS

RECIPIENT = "recipient"
DONOR = "donor"
SIDES: tuple[str, ...] = (RECIPIENT, DONOR)


@dataclass(frozen=True)
class FigureScope:
    """The places one figure is about, on each side."""

    figure_id: int
    recipient: frozenset[str]
    donor: frozenset[str]
    group: str | None = None  # the named group or list the recipient was given as
    donor_side: bool = False  # reported in or by the donor (training in Shanghai, awards)

    @property
    def is_group(self) -> bool:
        """A figure about several places together: never given to any one of them."""
        return len(self.recipient) > 1 or self.group is not None


def _engine_of(source: Any) -> Engine | Connection:
    return getattr(source, "engine", source)


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def figure_scopes(
    source: Any,
    figures: Sequence[int] | tuple[str, Mapping[str, Any]],
) -> dict[int, FigureScope]:
    """The scopes of the given figures, keyed by figure id.

    ``source`` is an ``AtlasData``, a ``Store``, an ``Engine`` or a ``Connection``.
    ``figures`` is a sequence of figure ids, or ``(where_sql, params)`` over the
    ``figures`` table (unprefixed columns), as ``twinning.query.where(filters, "figures")``
    returns. Figures of undone batches are answered too when named by id.
    """
    bind = _engine_of(source)
    if isinstance(figures, tuple) and len(figures) == 2 and isinstance(figures[0], str):
        where_sql, params = figures
        queries = [(f"SELECT {_COLUMNS} FROM figures WHERE {where_sql}", dict(params))]
    else:
        ids = [int(i) for i in figures]
        queries = []
        for chunk in _chunks(ids):
            names = {f"fid{i}": v for i, v in enumerate(chunk)}
            keys = ", ".join(f":{k}" for k in names)
            queries.append((f"SELECT {_COLUMNS} FROM figures WHERE id IN ({keys})", names))
    out: dict[int, FigureScope] = {}
    if isinstance(bind, Connection):
        for sql, params in queries:
            _collect(bind, sql, params, out)
    else:
        with bind.connect() as conn:
            for sql, params in queries:
                _collect(conn, sql, params, out)
    return out


_COLUMNS = "id, recipient_adcode, donor_adcode, donor_key, scope_group, donor_side"


def _collect(
    conn: Connection, sql: str, params: dict[str, Any], out: dict[int, FigureScope]
) -> None:
    from twinning.query.atlas import execute

    rows = execute(conn, sql, params).fetchall()
    # the scope table holds only the figures given several places (or a division)
    listed = [int(r[0]) for r in rows if r[4] is not None]
    members: dict[tuple[int, str], set[str]] = {}
    for chunk in _chunks(listed):
        names = {f"s{i}": v for i, v in enumerate(chunk)}
        keys = ", ".join(f":{k}" for k in names)
        sql = f"SELECT figure_id, side, member FROM figure_scopes WHERE figure_id IN ({keys})"
        for fid, side, member in execute(conn, sql, names):
            members.setdefault((int(fid), str(side)), set()).add(str(member))
    for fid, recipient, donor_adcode, donor_key, group, donor_side in rows:
        fid = int(fid)
        donor = members.get((fid, DONOR)) or ({donor_adcode or donor_key} - {None})
        recipients: set[str] = set()
        if not donor_side:
            recipients = members.get((fid, RECIPIENT)) or ({recipient} - {None})
        out[fid] = FigureScope(
            figure_id=fid,
            recipient=frozenset(recipients),
            donor=frozenset(donor),
            group=group,
            donor_side=bool(donor_side),
        )


# -- what a view shows of scopes ------------------------------------------------------------
SHARED_FIGURES_MAX = 200
_FIGURE_COLUMNS = (
    "f.id, f.scope_group, f.metric, f.value, f.unit, f.qualifier, f.period_start, "
    "f.period_end, f.donor, f.recipient, f.donor_key, f.donor_adcode, f.quote, f.source, "
    "f.confidence, f.donor_side, b.kind AS batch_kind"
)


def group_label(group: str | None, lang: str, n_members: int = 0) -> str:
    """A group's name in ``lang`` ("上海对口帮扶地区"), or "N places" for a list in a cell."""
    from twinning import i18n
    from twinning.groups import LIST_GROUP, XPCC_PREFIX, default_groups

    data = default_groups()
    if group in data.groups:
        g = data.groups[group]
        return g.name_zh if lang == "zh" else g.name_en
    if group and group.startswith(XPCC_PREFIX) and group in data.divisions:
        return division_label(group, lang)
    if group == LIST_GROUP or group is None:
        return i18n.t("scope_list", lang, n=n_members)
    return str(group)


def division_label(key: str, lang: str) -> str:
    """ "第十四师 (新疆生产建设兵团)" / "14th Division (XPCC)"."""
    from twinning.groups import default_groups

    d = default_groups().divisions.get(key)
    if d is None:
        return key
    if d.number == 0:
        return d.name_zh if lang == "zh" else d.name_en
    return f"{d.name_zh}（新疆生产建设兵团）" if lang == "zh" else f"{d.name_en} (XPCC)"


def _place_codes(data: Any, adcode: str) -> tuple[str, str, list[str]]:
    row = data.place_row(adcode)
    level = str(row["level"]) if row else "county"
    row = row or {}
    parents = [row.get("province_adcode"), row.get("prefecture_adcode")]
    return level, str(adcode), [str(c) for c in parents if c and str(c) != str(adcode)]


def shared_figures(data: Any, filters: Any, adcode: str) -> pd.DataFrame:
    """Figures about several places together, one of which is ``adcode``, an area it lies in,
    or a place inside it ("figures that cover this place together with others").

    Within the view's filters except the drilled province. Never the figures already listed
    as the place's own (a list inside one province is that province's figure). Columns of
    the figure plus ``n_members``; at most SHARED_FIGURES_MAX rows."""
    from twinning.query.atlas import in_list, level_column, where

    f = replace(filters, recipient=None)
    level, code, parents = _place_codes(data, adcode)
    col = level_column(level)
    cond, params = where(f, "figures", prefix="f.")
    params.update(place=code, limit=SHARED_FIGURES_MAX)
    members = in_list("member", [code, *parents], params)
    xpcc = " OR s.member LIKE 'xpcc:%'" if code == "650000" else ""
    sql = f"""
        SELECT {_FIGURE_COLUMNS},
               (SELECT COUNT(*) FROM figure_scopes c
                 WHERE c.figure_id = f.id AND c.side = 'recipient') AS n_members
        FROM figures f JOIN batches b ON b.id = f.batch_id
        WHERE {cond} AND f.scope_group IS NOT NULL AND NOT f.donor_side
          AND (f.{col} IS NULL OR f.{col} <> :place)
          AND f.id IN (
            SELECT s.figure_id FROM figure_scopes s
            WHERE s.side = 'recipient' AND (s.member IN {members}
              OR s.member IN (SELECT pl.adcode FROM place_levels pl
                              WHERE pl.{col} = :place AND pl.adcode = s.member){xpcc}))
        ORDER BY f.scope_group, f.metric, (f.period_end IS NOT NULL), f.period_end, f.id
        LIMIT :limit
    """
    return data.frame(sql, params)


def donor_side_figures(data: Any, filters: Any, adcode: str) -> pd.DataFrame:
    """Figures the donor ``adcode`` reported about itself (training in Shanghai, awards,
    its consumption-support outlets), within the view's filters except the drilled
    province: the donor province's own, and its cities' or districts' own."""
    from twinning.query.atlas import where

    f = replace(filters, recipient=None)
    cond, params = where(f, "figures", prefix="f.")
    params.update(place=str(adcode), limit=SHARED_FIGURES_MAX)
    sqlite = data.engine.dialect.name == "sqlite"

    def hint(index: str) -> str:  # SQLite would walk the batch index of every figure
        return f"INDEXED BY {index}" if sqlite else ""

    sql = f"""
        SELECT {_FIGURE_COLUMNS}, 0 AS n_members
        FROM figures f JOIN batches b ON b.id = f.batch_id
        WHERE {cond} AND f.id IN (
            SELECT id FROM figures {hint("ix_figures_donor_side")}
            WHERE donor_side AND donor_key = :place
            UNION
            SELECT id FROM figures {hint("ix_figures_donor_side_unit")}
            WHERE donor_side AND donor_unit_key = :place)
        ORDER BY f.metric, (f.period_end IS NOT NULL), f.period_end, f.id
        LIMIT :limit
    """
    return data.frame(sql, params)


@dataclass(frozen=True)
class ScopeOutline:
    """What the map draws for ``scope=<figure id>``: its members at the map's level."""

    figure_id: int
    group: str | None
    members: tuple[str, ...]  # as stored (adcodes, xpcc:<n>)
    locations: frozenset[str]  # the map level's places that make up the members
    points: tuple[tuple[float, float, str], ...]  # (lon, lat, key) of XPCC members
    metric: str
    value: float
    unit: str | None
    period_start: int | None
    period_end: int | None


def scope_outline(data: Any, figure_id: int | None, level: str) -> ScopeOutline | None:
    """The members of a figure's recipient scope, as the places of ``level`` (a member
    coarser than the level is all its places there; a finer one, the place holding it)."""
    if figure_id is None:
        return None
    from twinning.query.atlas import level_column

    col = level_column(level)
    rows = data.rows(
        "SELECT id, scope_group, recipient_adcode, recipient_level, metric, value, unit, "
        "period_start, period_end FROM figures WHERE id = :id",
        {"id": int(figure_id)},
    )
    if not rows:
        return None
    fid, group, recipient, rlevel, metric, value, unit, start, end = rows[0]
    members = [
        (str(m), lv)
        for m, lv in data.rows(
            "SELECT member, member_level FROM figure_scopes "
            "WHERE figure_id = :id AND side = 'recipient' ORDER BY member",
            {"id": int(fid)},
        )
    ]
    if not members and recipient:
        members = [(str(recipient), rlevel)]
    locations: set[str] = set()
    points = []
    from twinning.groups import XPCC_PREFIX, default_groups

    divisions = default_groups().divisions
    for member, mlevel in members:
        if member.startswith(XPCC_PREFIX):
            d = divisions.get(member)
            seat = data.place_points().get(d.seat_adcode) if d else None
            if seat:
                points.append((seat[0], seat[1], member))
            continue
        own = "pl.level = :lv" if mlevel else "pl.is_default"
        inside = f" OR pl.r_{mlevel} = :m" if mlevel in LEVELS else ""
        for (code,) in data.rows(
            f"SELECT DISTINCT pl.{col} FROM place_levels pl WHERE pl.{col} IS NOT NULL AND "
            f"((pl.adcode = :m AND {own}){inside})",
            {"m": member, "lv": mlevel},
        ):
            locations.add(str(code))
    return ScopeOutline(
        figure_id=int(fid),
        group=group,
        members=tuple(m for m, _ in members),
        locations=frozenset(locations),
        points=tuple(points),
        metric=str(metric),
        value=float(value),
        unit=unit,
        period_start=start,
        period_end=end,
    )


def divisions_in_view(data: Any, filters: Any) -> list[str]:
    """The XPCC divisions (xpcc:<n>) that a pairing in view is paired with: the map draws
    each as a point at its seat, labelled as a division and not the seat's territory."""
    from twinning.query.atlas import where

    cond, params = where(filters, "pairings")

    def compute() -> list[str]:
        rows = data.rows(
            f"SELECT DISTINCT recipient_division FROM pairings WHERE {cond} "
            "AND recipient_division IS NOT NULL ORDER BY recipient_division",
            params,
        )
        return [str(r[0]) for r in rows]

    return data.cached(("divisions", filters.cache_key()), compute)


def division_pairings(data: Any, filters: Any, key: str) -> pd.DataFrame:
    """The pairings in view whose recipient is the XPCC division ``key`` (its detail)."""
    from twinning.query.atlas import where

    cond, params = where(replace(filters, recipient=None), "pairings", prefix="p.")
    params["division"] = str(key)
    return data.frame(
        "SELECT p.*, b.kind AS batch_kind FROM pairings p JOIN batches b ON b.id = p.batch_id "
        f"WHERE {cond} AND p.recipient_division = :division "
        "ORDER BY (p.start_year IS NOT NULL), p.start_year, p.program, p.id",
        params,
    )


def division_figures(data: Any, filters: Any, key: str) -> pd.DataFrame:
    """Figures in view whose scope includes the XPCC division ``key``."""
    from twinning.query.atlas import where

    cond, params = where(replace(filters, recipient=None), "figures", prefix="f.")
    params.update(division=str(key), limit=SHARED_FIGURES_MAX)
    return data.frame(
        f"SELECT {_FIGURE_COLUMNS}, (SELECT COUNT(*) FROM figure_scopes c "
        "WHERE c.figure_id = f.id AND c.side = 'recipient') AS n_members "
        "FROM figures f JOIN batches b ON b.id = f.batch_id "
        f"WHERE {cond} AND f.id IN (SELECT s.figure_id FROM figure_scopes s "
        "WHERE s.member = :division AND s.side = 'recipient') "
        "ORDER BY f.metric, f.period_end, f.id LIMIT :limit",
        params,
    )
