"""One view, many renderers (issue #8).

A view is a permalink's parameters (``Filters``: level, metric, years, programmes, donor,
place, year of the playback, language) over the store's data at one version. ``View``
turns it, once, into everything a renderer needs:

- the map: its structure (cached per ``MapFigureKey``), the values a filter change sets
  (``map_patch_values``), the framing of a drilled province; the boundaries inline (a
  file) or by a cacheable address (the screen, ``Boundaries``);
- the series, the title, the note, the headline numbers, the text alternatives;
- the sources and their confidences, the footer's notes, the stamp;
- one page of a table, the CSV (one file for the screen's button and ``twinning
  export``), the workbook, the file name.

The Dash page (``components/callbacks.py``), ``twinning export`` (PNG, SVG, PDF, PPTX,
CSV, XLSX; ``twinning/export.py``), the interactive files and embeds
(``twinning/embed.py``), the tours (``twinning/tour_page.py``, the deck) and the
animation (``twinning/animation.py``) render from a ``View`` and from nothing else. Parts
are worked out on first use and kept in the data's cache (keyed on the data version and
the filters), so the renderers of one view in a worker compute each part once.

The data itself comes from ``current_data(store)``: one ``AtlasData`` per store and data
version in a process, shared by the screen and every export.

No dash here.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import plotly.graph_objects as go

from twinning import i18n
from twinning import query as agg
from twinning.sources import SourceRef, source_refs

CHARTS: tuple[str, ...] = ("map", "series")
TABLE_FORMATS: tuple[str, ...] = ("csv", "xlsx")

# The words of a view that are not the screen's own are the catalog's "export.<key>".
I18N_PREFIX = "export."


def tr(key: str, lang: str, **fmt: object) -> str:
    """A view's word for ``key`` (``export.<key>``); a typo raises KeyError."""
    return i18n.t(I18N_PREFIX + key, lang, **fmt)


# ---------------------------------------------------------------------------------------
# The data of a store, once per process and data version
# ---------------------------------------------------------------------------------------

_DATA: dict[int, tuple[weakref.ref, agg.AtlasData]] = {}  # id(store) -> (store, data)
_DATA_LOCK = threading.Lock()


def _known(store: Any) -> agg.AtlasData | None:
    entry = _DATA.get(id(store))
    return entry[1] if entry is not None and entry[0]() is store else None


def current_data(store: Any) -> agg.AtlasData:
    """The prepared data of ``store`` at its current version: one per store in a process,
    used by the screen and every export alike; made again after an import."""
    version = str(store.data_version())
    data = _known(store)
    if data is not None and data.version == version:
        return data
    with _DATA_LOCK:
        data = _known(store)
        if data is None or data.version != version:
            data = agg.AtlasData.from_store(store)
            for key in [k for k, (ref, _d) in _DATA.items() if ref() is None]:
                del _DATA[key]  # stores that are gone
            _DATA[id(store)] = (weakref.ref(store), data)
    return data


# ---------------------------------------------------------------------------------------
# Where a map's boundaries come from
# ---------------------------------------------------------------------------------------


def _inline_geojson(level: str, province: str | None) -> dict[str, Any]:
    from twinning.figures.geojson import level_geojson

    return level_geojson(level, province)[0]


def _nothing(_fig: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class Boundaries:
    """How a renderer gets a map's boundaries: ``geojson(level, province)`` gives the
    choropleths' ``geojson`` (the GeoJSON itself, or the address of a content-hashed
    copy the browser caches); ``finish(fig)`` does the same for the overlays. ``keep``:
    whether the base figure is worth keeping in the data's cache (small when the
    boundaries are addresses; a file's inline boundaries are not kept twice)."""

    name: str
    geojson: Callable[[str, str | None], Any]
    finish: Callable[[dict[str, Any]], None] = _nothing
    keep: bool = False


INLINE = Boundaries("inline", _inline_geojson)


# ---------------------------------------------------------------------------------------
# The view
# ---------------------------------------------------------------------------------------


# the data's cache keeps a view's map values under this part name (``map_values``; the
# values of the view a screen shows are looked up there, ``map_values_shown``)
MAP_VALUES = "map-values"


@dataclass(frozen=True)
class View:
    """Everything a renderer of one view needs, worked out once (see the module's text)."""

    data: agg.AtlasData
    filters: agg.Filters
    today: date = field(default_factory=date.today)
    link: str | None = None  # the view's address in the atlas: a QR code on the deck
    query: str = ""  # the permalink's query as given (the workbook's "about" sheet)

    @classmethod
    def of(
        cls,
        query: str = "",
        *,
        store: Any = None,
        data: agg.AtlasData | None = None,
        today: date | None = None,
        link: str | None = None,
    ) -> View:
        """The view of a permalink query over the store (or over ``data`` in tests).
        ``query`` may be the whole link (``http://host/?lang=en&...``): then it is the
        ``link`` the deck's QR code opens, unless one is given."""
        query = query if isinstance(query, str) else ""
        if "://" in query and link is None:
            link = query
        if "?" in query:
            query = urlsplit(query).query
        if data is None:
            if store is None:
                from twinning.store import open_store

                store = open_store()
            data = current_data(store)
        query = query.lstrip("?")
        return cls(
            data=data,
            filters=agg.Filters.from_query(query),
            today=today or date.today(),
            link=link,
            query=query,
        )

    def with_filters(self, filters: agg.Filters) -> View:
        """The same data, date and link for other filters (a tour's stop, a frame)."""
        return replace(self, filters=filters, query="")

    @property
    def lang(self) -> str:
        return self.filters.lang

    def _cached(self, part: str, build: Callable[[], Any], *extra: Any) -> Any:
        return self.data.cached(self._part_key(part, *extra), build)

    def _part_key(self, part: str, *extra: Any) -> tuple:
        return (part, self.filters.cache_key(), self.filters.lang, *extra)

    # -- the map --------------------------------------------------------------------

    def map_key(self) -> list:
        """What fixes the map's structure: the same key needs new values only."""
        from twinning.figures import MapFigureKey

        return MapFigureKey.of(self.filters, self.data.version).as_list()

    def view_key(self) -> str:
        """The whole view at this data version (every filter, the language, the place, the
        presenter's stage): a screen that shows this key has nothing to update. A short
        hash: it travels with every change."""
        text = f"{self.data.version}|{json.dumps(self.filters.as_dict(), sort_keys=True)}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def locations(self) -> tuple[str, ...]:
        from twinning.figures.geojson import level_locations

        return level_locations(self.filters.level, self.filters.recipient)

    def map_values(self) -> dict[str, Any]:
        """What a filter change sets on the map: numbers, the title and the note."""
        from twinning.figures import map_patch_values

        return self.data.cached(
            self._part_key(MAP_VALUES),
            lambda: map_patch_values(self.data, self.filters, self.locations()),
        )

    def map_base(self, boundaries: Boundaries = INLINE) -> dict[str, Any]:
        """The map's structure as a plain dict, framed on a drilled province. Kept per
        structure key and data version when ``boundaries.keep``; never mutated: callers
        get copies with their values set (``map``)."""
        from twinning.figures import MapFigureKey, map_figure
        from twinning.figures.map import frame_drilled, load_overlays
        from twinning.figures.template import figure_dict, slim_template

        f = self.filters

        def build() -> dict[str, Any]:
            geojson = boundaries.geojson(f.level, f.recipient)
            fig = map_figure(self.data, f, geojson, self.locations(), load_overlays())
            out = slim_template(figure_dict(fig))  # the figure is dropped: no copy
            boundaries.finish(out)
            return frame_drilled(out, f.recipient)

        if not boundaries.keep:
            return build()
        key = ("map-figure", boundaries.name, MapFigureKey.of(f, self.data.version))
        return self.data.cached(key, build)

    def map(self, boundaries: Boundaries = INLINE) -> dict[str, Any]:
        """The whole map of the view (a dict): structure and values."""
        from twinning.figures.map import with_values

        return with_values(self.map_base(boundaries), self.map_values())

    def map_title(self) -> str:
        """The map's title as the screen sets it over the map."""
        return self.map_values()["title"]

    def map_note(self) -> str:
        return self.map_values()["note"]

    def map_summary(self) -> str:
        from twinning.figures.describe import map_summary

        return map_summary(self.data, self.filters)

    # -- the series -----------------------------------------------------------------

    def _series_filters(self) -> agg.Filters:
        """The filters the series depends on: it shows the main metrics, and the chosen
        one only when it is another, so a change between main metrics keeps the series
        (the same figure, key and words: the browser keeps what it has, #7); nor do the
        map's level, its flows or an outlined figure (``scope``) change it."""
        f = self.filters.without_map()
        return replace(f, metric=None) if f.metric in agg.MAIN_METRICS else f

    def series(self) -> dict[str, Any]:
        """The time series as a plain figure dict (shared: copy before changing it)."""
        from twinning.figures import series_dict

        f = self._series_filters()
        return self.data.cached(self._series_part_key(), lambda: series_dict(self.data, f))

    def _series_part_key(self) -> tuple:
        """Where the data's cache keeps this view's series (``series``)."""
        f = self._series_filters()
        return self.with_filters(f)._part_key("series", f.present)

    def series_key(self) -> str:
        """What fixes the series apart from its cursor: a step of the playback keeps it.
        A short hash: it travels with every step."""
        f = self._series_filters()
        text = f"{self.data.version}|{f.timeless().cache_key()!r}|{f.lang}|{f.present}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def series_state(self) -> dict[str, Any]:
        """What the screen keeps of the series it shows: its key, and the filters it was
        drawn for (the next change is sent as what differs from that figure)."""
        return {"key": self.series_key(), "view": _kept(self._series_filters())}

    def view_state(self) -> dict[str, Any]:
        """What the screen keeps of the map's view: its key (``view_key``) and its
        filters (the next change of the map's values sends only those that differ)."""
        return {"key": self.view_key(), "view": _kept(self.filters)}

    def _shown(self, shown: Any, key: Callable[[View], str]) -> View | None:
        """The view of a state the screen kept (``series_state``, ``view_state``), or None
        when it is of another data version or not a state this atlas wrote: its key must
        be the one ``key`` gives its filters."""
        if not isinstance(shown, dict) or not isinstance(shown.get("view"), dict):
            return None
        before = self.with_filters(agg.Filters.from_dict(shown["view"]))
        return before if key(before) == shown.get("key") else None

    def map_values_shown(self, shown: Any) -> dict[str, Any] | None:
        """The map's values of the view the screen shows (its ``view_state``) if this
        worker or the shared cache still has them (never worked out again for this), and
        if that view has this one's structure (the same figure, other values)."""
        before = self._shown(shown, View.view_key)
        if before is None or before.map_key() != self.map_key():
            return None
        return self.data.peek(before._part_key(MAP_VALUES))

    def series_changes(self, shown: Any) -> list[tuple[tuple, Any]] | None:
        """What turns the series of ``shown`` (a ``series_state`` the screen kept) into
        this one (``twinning.figures.diff``), or None when that series is not known here:
        not in this worker's or the shared cache (it is never worked out again for this),
        of another data version, or ``shown`` is not a state this atlas wrote."""
        from twinning.figures.diff import figure_changes

        before = self._shown(shown, View.series_key)
        if before is None:
            return None
        old = self.data.peek(before._series_part_key())
        if old is None:
            # a change of the years that kept the series (its key) moved only its cursor,
            # and was worked out over all years: that figure, but for its cursor (which
            # the caller sets whatever it was). Without it the next change sent the whole
            # series (7.6 KB at 10 M figures, the largest metric change's quarter, #7).
            whole = before.with_filters(before.filters.timeless())
            old = self.data.peek(whole._series_part_key())
        if old is None:
            return None
        return figure_changes(old, self.series())

    def series_summary(self) -> str:
        from twinning.figures.describe import series_summary

        return series_summary(self.data, self._series_filters())

    def figure(self, chart: str) -> go.Figure:
        """The chart as a renderer draws it in a file: the boundaries inline."""
        if chart == "series":
            return go.Figure(self.series(), _validate=False)
        if chart != "map":
            raise ValueError(f"chart {chart!r} is not one of {CHARTS}")
        return go.Figure(self.map(INLINE))

    # -- numbers and words -----------------------------------------------------------

    def headlines(self, *, complete: bool = False) -> list[agg.Headline]:
        return agg.headlines(self.data, self.filters, complete=complete)

    def headline_lines(self, chart: str | None = None) -> list[str]:
        """The view's headline numbers, one line each, as the atlas shows them ("at least
        X", N of M figures, the plain sum Y; issue #10): the map of a main metric carries
        its own; a deck and a workbook all of them (worked out in full, however long)."""
        from twinning.figures.describe import headline_lines

        lines = headline_lines(self.data, self.filters)
        if chart is None:
            return lines
        keys = dict(zip(agg.MAIN_METRICS, lines, strict=False))
        metric = self.filters.metric
        return [keys[metric]] if chart == "map" and metric in keys else []

    def years(self) -> str:
        from twinning.figures.map import years_label

        return years_label(self.data, self.filters)

    def title(self, chart: str = "map") -> str:
        """A chart's title in a file: the screen's title and, drilled, where."""
        from twinning.figures.map import map_title

        if chart == "series":
            text = tr("series_title", self.lang, years=self.years())
        else:
            text = map_title(self.data, self.filters)
        where = self.data.place_label(self.filters.recipient, self.lang)
        return f"{text} · {where}" if self.filters.recipient else text

    def source_counts(self, chart: str | None = None) -> list[agg.SourceCount]:
        """Sources and confidences of the pairings and figures the chart shows (``None``:
        both charts), counted in SQL: a view of 10 M figures reads no rows."""
        f = self.filters
        if chart == "map":
            metrics: list[str] | None = [f.metric or ("funds_cny" if f.flows else "")]
        elif chart == "series":
            metrics = list(agg.series_metrics(f))
        else:
            metrics = sorted({*agg.series_metrics(f), f.metric or ""}) if f.metric else None
        if metrics is not None:
            metrics = [m for m in metrics if m]
        return agg.source_counts(self.data, replace(f, metric=None), metrics)

    def sources(self, chart: str | None = None) -> list[SourceRef]:
        return source_refs(self.source_counts(chart))

    def source_tally(self) -> agg.ViewSources:
        """The sources of the rows in view for the line under the map: all of them, or a
        view's first rows' when it is too large to read whole for one line."""
        return agg.view_sources(self.data, self.filters)

    def filters_text(self) -> str:
        """The filters in words: 'Level: county · Metric: funds · Years: 2006–2010 · ...'."""
        f, lang, data = self.filters, self.lang, self.data
        sep = "；" if lang == "zh" else " · "
        colon = "：" if lang == "zh" else ": "
        all_ = tr("all", lang)
        parts = [
            (i18n.t("level", lang), i18n.level_label(f.level, lang)),
            (i18n.t("metric", lang), i18n.metric_label(f.metric, lang)),
            (i18n.t("years", lang), self.years()),
            (
                i18n.t("program", lang),
                "、".join(i18n.program_label(p, lang) for p in f.programs) if f.programs else all_,
            ),
            (i18n.t("donor", lang), agg.donor_label(data, f.donor, lang) if f.donor else all_),
        ]
        if f.donor_unit:
            parts.append(
                (i18n.t("donor_unit", lang), data.place_label(f.donor_unit, lang, f.donor_unit))
            )
        recipient = data.place_label(f.recipient, lang) if f.recipient else all_
        parts.append((i18n.t("recipient", lang), recipient))
        if f.place:
            parts.append((i18n.t("detail_title", lang), data.place_label(f.place, lang)))
        memory = "from_memory_shown" if f.include_from_memory else "from_memory_hidden"
        text = sep.join(f"{k}{colon}{v}" for k, v in parts) + sep + tr(memory, lang)
        return tr("filters", lang) + text

    def confidence_text(self, chart: str | None = None) -> str:
        counts = self.source_counts(chart)
        n = sum(c.rows for c in counts)
        m = sum(c.rows for c in counts if c.confidence == agg.FROM_MEMORY)
        if m == 0:
            return tr("confidence_all", self.lang, n=n)
        return tr("confidence_some", self.lang, n=n, m=m)

    def stamp(self) -> str:
        return tr(
            "stamp",
            self.lang,
            title=i18n.t("title", self.lang),
            version=self.data.version,
            date=self.today.isoformat(),
        )

    def flows_note(self) -> str:
        """What the map leaves out of its flow lines ("the 400 largest of 1,443"), or ""."""
        from twinning.figures.map import flows_note

        return flows_note(self.data, self.filters)

    def notes(self, chart: str | None = None) -> list[str]:
        """The lines under a chart in a file: its headline, how sure its rows are, that
        period figures stay periods, what a map leaves out of its flow lines, the filters
        in words and the stamp."""
        flows = self.flows_note() if chart == "map" else ""
        return [
            *self.headline_lines(chart if chart is not None else "none"),
            self.confidence_text(chart),
            tr("period_note", self.lang),
            *([flows] if flows else []),
            self.filters_text(),
            self.stamp(),
        ]

    def filename(self, chart: str, fmt: str) -> str:
        """The file name of a download of the view, the same from every renderer."""
        f = self.filters
        parts = ["twinning-atlas"]
        if fmt not in ("pptx", *TABLE_FORMATS):
            parts.append(chart)
        parts += [f.level, f.metric or "pairings"]
        if f.recipient:
            parts.append(f.recipient)
        parts.append(self.years().replace("–", "-"))
        parts.append(f.lang)
        name = "_".join(re.sub(r"[^A-Za-z0-9._-]+", "-", p).strip("-") for p in parts if p)
        return f"{name}.{fmt}"

    # -- rows ------------------------------------------------------------------------

    def table_page(
        self,
        kind: str,
        start: int,
        end: int,
        sort_model: Any = None,
        filter_model: Any = None,
    ) -> agg.TablePage:
        """One page of a table, sorted and filtered in SQL."""
        return agg.table_page(self.data, self.filters, kind, start, end, sort_model, filter_model)

    def csv(self) -> Iterator[bytes]:
        """The view's one CSV (the table's button and ``twinning export``), in chunks."""
        return agg.iter_csv(self.data, self.filters)

    def detail(self) -> agg.PlaceDetail | None:
        """The detail of the place the view has open, if it is a place."""
        if not self.filters.place:
            return None
        return agg.place_detail(self.data, self.filters, self.filters.place)


__all__ = [
    "CHARTS",
    "INLINE",
    "Boundaries",
    "View",
    "current_data",
]


def _kept(filters: agg.Filters) -> dict[str, Any]:
    """``filters`` as a screen keeps them: the language and what is not the default."""
    shown, default = filters.as_dict(), agg.Filters().as_dict()
    return {k: v for k, v in shown.items() if k == "lang" or v != default[k]}
