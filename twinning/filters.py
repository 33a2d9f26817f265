"""The view, as the URL carries it: ``Filters`` and the words of the vocabulary it uses.

Frozen and made of tuples and scalars so it keys caches; parsing is lenient because a
shared link is user input and must always open (a bad value falls back to the default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from twinning import i18n

LEVELS: tuple[str, ...] = i18n.LEVEL_CODES  # the one list of levels (their words: i18n)
LEVEL_RANK: dict[str, int] = {level: rank for rank, level in enumerate(LEVELS)}
MAIN_METRICS: tuple[str, ...] = ("funds_cny", "projects", "people_lifted")
FROM_MEMORY = "from_memory"
# Years a filter or a record may name (the slider starts at the data's first year): none
# before the People's Republic's first administrative divisions.
YEAR_MIN, YEAR_MAX = 1949, 2100
# The first year a figure of pairing assistance can have: the importer refuses an earlier
# one as a slip of the digits (the first counterpart-support conference was in 1979).
FIRST_PAIRING_YEAR = 1978
# What a single year (``Filters.year``) shows: the figures of that year, or everything up
# to it. The first is the default and stays out of the URL.
YEAR_MODES: tuple[str, ...] = ("year", "cumulative")


@dataclass(frozen=True)
class Filters:
    """The whole view, as carried by the URL (see README, "Permalinks").

    Frozen and made of tuples and scalars so it can key caches.
    """

    lang: str = i18n.DEFAULT_LANG
    level: str = "province"
    metric: str | None = None
    programs: tuple[str, ...] = ()
    donor: str | None = None  # donor province adcode (or its name when it has none)
    donor_unit: str | None = None  # donor city/district adcode (or its name)
    recipient: str | None = None  # recipient province adcode; the map drills into it
    year_from: int | None = None
    year_to: int | None = None
    include_from_memory: bool = True
    place: str | None = None  # selected place adcode (detail panel)
    flows: bool = True
    present: bool = False
    # One year instead of a range (time playback, issue #9). When set it decides the range:
    # mode "year" -> year_from = year_to = year; "cumulative" -> year_from None, year_to =
    # year; ``__post_init__`` derives them, so every query reads the range as before.
    year: int | None = None
    mode: str = "year"
    play: bool = False  # playing through the years (the browser steps ``year``)
    # A figure about several places (issue #10): the map outlines its members
    scope: int | None = None

    # URL parameter -> field. Defaults are left out of the URL to keep links short.
    _PARAMS: ClassVar[dict[str, str]] = {
        "lang": "lang",
        "level": "level",
        "metric": "metric",
        "program": "programs",
        "donor": "donor",
        "unit": "donor_unit",
        "recipient": "recipient",
        "from": "year_from",
        "to": "year_to",
        "memory": "include_from_memory",
        "place": "place",
        "flows": "flows",
        "present": "present",
        "year": "year",
        "mode": "mode",
        "play": "play",
        "scope": "scope",
    }

    def __post_init__(self) -> None:
        # frozen: set the derived fields the way dataclasses do
        if self.mode not in YEAR_MODES or self.year is None:
            object.__setattr__(self, "mode", "year")
        if self.year is not None:
            object.__setattr__(self, "year_from", self.year if self.mode == "year" else None)
            object.__setattr__(self, "year_to", self.year)

    def to_query(self) -> dict[str, str]:
        """URL parameters of this view (defaults omitted)."""
        default = Filters()
        out: dict[str, str] = {}
        for param, name in self._PARAMS.items():
            value = getattr(self, name)
            if name != "lang" and value == getattr(default, name):
                continue
            if self.year is not None and name in ("year_from", "year_to"):
                continue  # derived from year and mode
            if isinstance(value, bool):
                out[param] = "1" if value else "0"
            elif isinstance(value, tuple):
                out[param] = ",".join(value)
            else:
                out[param] = str(value)
        return out

    def to_query_string(self) -> str:
        """'?lang=zh&level=county...' for dcc.Location.search."""
        return "?" + urlencode(self.to_query(), safe=",")

    @classmethod
    def from_query(cls, query: str | Mapping[str, str] | None, **defaults: Any) -> Filters:
        """Parse URL parameters leniently: a bad value falls back to the default.

        A shared link must always open; it is user input, so nothing here raises.
        """
        if isinstance(query, str):
            params: dict[str, str] = dict(parse_qsl(query.lstrip("?"), keep_blank_values=False))
        elif isinstance(query, Mapping):
            params = {str(k): str(v) for k, v in query.items() if v is not None}
        else:  # None, or a value of another type (a forged callback's location): no parameters
            params = {}
        base = cls(**defaults)
        values: dict[str, Any] = {}
        values["lang"] = i18n.normalize_lang(params.get("lang", base.lang))
        level = params.get("level", base.level)
        values["level"] = level if level in LEVELS else base.level
        values["metric"] = _clean_text(params.get("metric")) or base.metric
        if "program" in params:
            values["programs"] = tuple(
                sorted({p.strip() for p in params["program"].split(",") if p.strip()})
            )
        for param, name in (
            ("donor", "donor"),
            ("unit", "donor_unit"),
            ("recipient", "recipient"),
            ("place", "place"),
        ):
            if param in params:
                values[name] = _clean_text(params[param])
        for param, name in (("from", "year_from"), ("to", "year_to"), ("year", "year")):
            if param in params:
                values[name] = _clean_year(params[param])
        if "scope" in params:
            values["scope"] = _clean_id(params["scope"])
        if "mode" in params:
            mode = params["mode"].strip().lower()
            values["mode"] = mode if mode in YEAR_MODES else base.mode
        for param, name in (
            ("memory", "include_from_memory"),
            ("flows", "flows"),
            ("present", "present"),
            ("play", "play"),
        ):
            if param in params:
                values[name] = params[param].strip().lower() in {"1", "true", "yes", "on"}
        return _years_in_order(replace(base, **values))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for a dcc.Store."""
        d = asdict(self)
        d["programs"] = list(self.programs)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Filters:
        """The view a ``dcc.Store`` holds. It arrives in a callback body, which anyone can
        forge: every field is checked as the URL's are (a year outside 1900–2100, a list
        for a string, an unknown level), and a bad one falls back to its default."""
        if not isinstance(d, Mapping):
            return cls()
        base = cls()
        values: dict[str, Any] = {}
        values["lang"] = i18n.normalize_lang(
            d.get("lang") if isinstance(d.get("lang"), str) else None
        )
        level = d.get("level")
        values["level"] = level if isinstance(level, str) and level in LEVELS else base.level
        for name in ("metric", "donor", "donor_unit", "recipient", "place"):
            value = d.get(name)
            values[name] = _clean_text(value) if isinstance(value, str) else None
        programs = d.get("programs")
        if isinstance(programs, (list, tuple)):
            values["programs"] = tuple(
                sorted({p.strip()[:64] for p in programs[:20] if isinstance(p, str) and p.strip()})
            )
        for name in ("year_from", "year_to", "year"):
            value = d.get(name)
            ok = isinstance(value, int) and not isinstance(value, bool)
            values[name] = value if ok and YEAR_MIN <= value <= YEAR_MAX else None
        mode = d.get("mode")
        values["mode"] = mode if isinstance(mode, str) and mode in YEAR_MODES else base.mode
        scope = d.get("scope")
        ok = isinstance(scope, int) and not isinstance(scope, bool)
        values["scope"] = scope if ok and 0 < scope < 2**53 else None
        for name in ("include_from_memory", "flows", "present", "play"):
            value = d.get(name)
            values[name] = value if isinstance(value, bool) else getattr(base, name)
        return _years_in_order(replace(base, **values))

    def cache_key(self) -> Filters:
        """The parts that change what is computed (lang and ``UNCOMPUTED`` do not)."""
        return _derived("cache_key", self)

    def without_map(self) -> Filters:
        """This view without what only the map's drawing depends on (``MAP_ONLY``): what
        the series, the tables and the totals of its rows are worked out from."""
        return _derived("without_map", self)

    def rows_key(self) -> Filters:
        """The parts that choose a view's rows: ``cache_key`` without ``MAP_ONLY`` and the
        metric. Totals of a view's rows (the headline numbers, reconciled totals) are the
        same for every metric and level shown: one answer for them all."""
        return _derived("rows_key", self)

    def timeless(self) -> Filters:
        """This view over all years: what the series draws under its cursor at ``year``."""
        return replace(self, year=None, year_from=None, year_to=None, mode="year", play=False)


# The fields of a view that only say how the map draws it (its level, its flow lines, a
# figure outlined on it): no row of a table, a total or the series depends on them (#7).
MAP_ONLY: tuple[str, ...] = ("level", "flows", "scope")
# The fields that change nothing worked out: the place whose detail is open, the
# presenter's stage, the playback's running.
UNCOMPUTED: tuple[str, ...] = ("place", "present", "play")


@lru_cache(maxsize=8)
def _defaults(names: tuple[str, ...]) -> dict[str, Any]:
    """The default values of Filters' fields ``names``."""
    return {f.name: f.default for f in fields(Filters) if f.name in names}


# Filters derived from a view's (``cache_key``, ``without_map``, ``rows_key``), kept: a
# filter change's callbacks ask for them some sixty times, each a ``dataclasses.replace``
# of ~25 fields (#7). Bounded; cleared when full.
_DERIVED: dict[tuple[str, Filters], Filters] = {}
_DERIVED_MAX = 4096


def _derive(kind: str, f: Filters) -> Filters:
    if kind == "cache_key":
        return replace(f, lang="zh", **_defaults(UNCOMPUTED))
    if kind == "without_map":
        return replace(f, **_defaults(MAP_ONLY))
    return replace(f.without_map().cache_key(), metric=None)  # rows_key


def _derived(kind: str, f: Filters) -> Filters:
    key = (kind, f)
    try:
        found = _DERIVED.get(key)
    except TypeError:  # a field given a list (unhashable): worked out each time
        return _derive(kind, f)
    if found is None:
        if len(_DERIVED) >= _DERIVED_MAX:
            _DERIVED.clear()
        found = _DERIVED[key] = _derive(kind, f)
    return found


def _years_in_order(filters: Filters) -> Filters:
    """``filters`` with a reversed from..to range put the right way round."""
    if (
        filters.year_from is not None
        and filters.year_to is not None
        and filters.year_from > filters.year_to
    ):
        return replace(filters, year_from=filters.year_to, year_to=filters.year_from)
    return filters


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:100] or None


def _clean_id(value: str | None) -> int | None:
    """A figure id from the URL (``scope=``), or None."""
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 15:
        return None
    return int(text) or None


def _clean_year(value: str | None) -> int | None:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return year if YEAR_MIN <= year <= YEAR_MAX else None
