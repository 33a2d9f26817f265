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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

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
    rows = list(conn.execute(text(sql), params))
    # the scope table holds only the figures given several places (or a division)
    listed = [int(r[0]) for r in rows if r[4] is not None]
    members: dict[tuple[int, str], set[str]] = {}
    for chunk in _chunks(listed):
        names = {f"s{i}": v for i, v in enumerate(chunk)}
        keys = ", ".join(f":{k}" for k in names)
        for fid, side, member in conn.execute(
            text(f"SELECT figure_id, side, member FROM figure_scopes WHERE figure_id IN ({keys})"),
            names,
        ):
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
