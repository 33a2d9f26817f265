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

An empty set means the side could not be resolved (the figure is listed as not shown).
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


_COLUMNS = "id, recipient_adcode, donor_adcode, donor_key"


def _collect(
    conn: Connection, sql: str, params: dict[str, Any], out: dict[int, FigureScope]
) -> None:
    for fid, recipient, donor_adcode, donor_key in conn.execute(text(sql), params):
        donor = donor_adcode or donor_key
        out[int(fid)] = FigureScope(
            figure_id=int(fid),
            recipient=frozenset([recipient] if recipient else []),
            donor=frozenset([donor] if donor else []),
        )
