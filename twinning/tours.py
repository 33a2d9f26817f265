"""Presenter tours (issue #9): a sequence of views, each with a title and a note in both
languages, kept in the store and presented at ``/tour/<id>``.

A stop is a view's permalink query (``Filters.to_query_string`` without ``lang``,
``present`` and ``play``): the tour opens in the reader's language, and every stop is an
ordinary view of the atlas, so "open this view in the atlas" is its own link. Tours are
written by signed-in users with the ``importer`` role or above (an importer changes or
deletes the tours it created, an admin any), with who and when kept on the row; anyone
reads them. No dash here: ``components/tours.py`` wires this into the page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from twinning import i18n
from twinning.filters import Filters
from twinning.store.schema import tour_stops, tours

log = logging.getLogger("twinning.tours")

MAX_STOPS = 60
MAX_TITLE = 200
MAX_NOTE = 4000
MAX_QUERY = 2000
# Auto-advance intervals a tour offers (seconds); 0 is off.
INTERVALS: tuple[int, ...] = (0, 5, 10, 20, 30, 60)
# Why a tour cannot be saved or changed: the catalog's "tour.error_<key>".
ERROR_KEYS: tuple[str, ...] = (
    "empty", "too_many", "stop_title", "title", "bad_stop", "signin", "role", "not_yours",
    "missing",
)  # fmt: skip


class TourError(ValueError):
    """A tour that cannot be saved or changed. ``key`` names the catalog's message
    (``tour.error_<key>``), so the page says why in the reader's language."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields

    def message(self, lang: str) -> str:
        msgid = f"tour.error_{self.key}"  # one of ERROR_KEYS (tools/i18n_extract.py)
        return i18n.t(msgid, lang, **self.fields)


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def clean_query(query: Any) -> str:
    """A view's permalink query, as a stop keeps it: parsed as the atlas parses a link
    (a bad value falls back to its default) and written back without ``lang``,
    ``present`` and ``play``."""
    text = query if isinstance(query, str) else ""
    if "?" in text:
        text = text.split("?", 1)[1]
    filters = Filters.from_query(text[:MAX_QUERY])
    filters = replace(filters, present=False, play=False)
    params = filters.to_query()
    params.pop("lang", None)
    from urllib.parse import urlencode

    return urlencode(params, safe=",")


@dataclass(frozen=True)
class Stop:
    """One view of a tour: its permalink query, a title and a note in each language."""

    query: str
    title_zh: str = ""
    title_en: str = ""
    note_zh: str = ""
    note_en: str = ""

    def filters(self, lang: str) -> Filters:
        """The view in ``lang`` (never on the presenter's stage or playing)."""
        filters = Filters.from_query(self.query, lang=i18n.normalize_lang(lang))
        return replace(filters, present=False, play=False)

    def title(self, lang: str) -> str:
        """The title in ``lang``; the other language's when this one was left empty."""
        return _pick(self.title_zh, self.title_en, lang)

    def note(self, lang: str) -> str:
        return _pick(self.note_zh, self.note_en, lang)

    def link(self, base: str, lang: str) -> str:
        """The view's address in the atlas (``base``: scheme, host and path prefix)."""
        return base.rstrip("/") + "/" + self.filters(lang).to_query_string()

    def as_dict(self) -> dict[str, str]:
        return {
            "query": self.query,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "note_zh": self.note_zh,
            "note_en": self.note_en,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Stop:
        """A stop from the page (anyone can forge it): every field checked and bounded."""
        if not isinstance(d, Mapping):
            raise TourError("bad_stop")
        return cls(
            query=clean_query(d.get("query")),
            title_zh=_text(d.get("title_zh"), MAX_TITLE),
            title_en=_text(d.get("title_en"), MAX_TITLE),
            note_zh=_text(d.get("note_zh"), MAX_NOTE),
            note_en=_text(d.get("note_en"), MAX_NOTE),
        )


def _pick(zh: str, en: str, lang: str) -> str:
    first, second = (zh, en) if i18n.normalize_lang(lang) == "zh" else (en, zh)
    return first or second


@dataclass(frozen=True)
class Tour:
    """A tour as stored (``id`` None until it is saved)."""

    title_zh: str
    title_en: str
    stops: tuple[Stop, ...] = ()
    id: int | None = None
    created_by: str = ""
    created_at: datetime | None = None
    updated_by: str = ""
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def title(self, lang: str) -> str:
        return _pick(self.title_zh, self.title_en, lang) or i18n.t("tour.untitled", lang)

    def path(self, lang: str | None = None) -> str:
        """``/tour/<id>`` (with ``?lang=`` when given)."""
        return f"/tour/{self.id}" + (f"?lang={i18n.normalize_lang(lang)}" if lang else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "stops": [s.as_dict() for s in self.stops],
        }

    @classmethod
    def from_dict(cls, d: Any) -> Tour:
        """A draft from the page: checked (a title in at least one language, 1 to
        MAX_STOPS stops, each with a title in at least one language)."""
        if not isinstance(d, Mapping):
            raise TourError("empty")
        raw = d.get("stops")
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise TourError("empty")
        if len(raw) > MAX_STOPS:
            raise TourError("too_many", n=MAX_STOPS)
        stops = tuple(Stop.from_dict(s) for s in raw)
        for i, stop in enumerate(stops, start=1):
            if not (stop.title_zh or stop.title_en):
                raise TourError("stop_title", i=i)
        tour = cls(
            title_zh=_text(d.get("title_zh"), MAX_TITLE),
            title_en=_text(d.get("title_en"), MAX_TITLE),
            stops=stops,
        )
        if not (tour.title_zh or tour.title_en):
            raise TourError("title")
        return tour


def view_titles(data: Any, query: str) -> tuple[str, str]:
    """A view's map title in Chinese and English: the first title a stop gets."""
    from twinning.view import View

    out = []
    for lang in i18n.LANGS:
        filters = Filters.from_query(clean_query(query), lang=lang)
        out.append(View(data, filters).title("map"))
    zh, en = out
    return zh, en


def new_stop(data: Any, query: str) -> Stop:
    """ "Add this view to the tour": the view with its map title in both languages."""
    clean = clean_query(query)
    zh, en = view_titles(data, clean)
    return Stop(query=clean, title_zh=zh, title_en=en)


# --- permission ------------------------------------------------------------------------


def may_write(user: Any) -> bool:
    """Signed in with the importer role or above."""
    return user is not None and bool(user.can("importer"))


def _check_writer(user: Any) -> None:
    if user is None:
        raise TourError("signin")
    if not may_write(user):
        raise TourError("role", user=user.name)


def _check_owner(user: Any, row: Any) -> None:
    if not user.can("admin") and row.created_by != user.name:
        raise TourError("not_yours", user=row.created_by)


# --- the store ---------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _stop_rows(tour_id: int, stops: Iterable[Stop]) -> list[dict[str, Any]]:
    return [{"tour_id": tour_id, "position": i, **s.as_dict()} for i, s in enumerate(stops)]


def save_tour(store: Any, user: Any, tour: Tour, tour_id: int | None = None) -> Tour:
    """Create a tour (``tour_id`` None) or replace a stored one's titles and stops, as
    ``user`` (importer or admin; an importer changes only its own). Who and when are kept
    on the row and logged. Returns the tour as stored."""
    _check_writer(user)
    if not tour.stops:
        raise TourError("empty")
    now = _now()
    with store.engine.begin() as conn:
        if tour_id is None:
            tour_id = conn.execute(
                insert(tours).values(
                    title_zh=tour.title_zh,
                    title_en=tour.title_en,
                    created_by=user.name,
                    created_at=now,
                    updated_by=user.name,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            action = "created"
        else:
            row = conn.execute(select(tours).where(tours.c.id == tour_id)).first()
            if row is None:
                raise TourError("missing", id=tour_id)
            _check_owner(user, row)
            conn.execute(
                update(tours)
                .where(tours.c.id == tour_id)
                .values(
                    title_zh=tour.title_zh,
                    title_en=tour.title_en,
                    updated_by=user.name,
                    updated_at=now,
                )
            )
            conn.execute(delete(tour_stops).where(tour_stops.c.tour_id == tour_id))
            action = "changed"
        conn.execute(insert(tour_stops), _stop_rows(tour_id, tour.stops))
    log.info("tour %s %s by %r (%d stops)", tour_id, action, user.name, len(tour.stops))
    found = get_tour(store, tour_id)
    assert found is not None
    return found


def delete_tour(store: Any, user: Any, tour_id: int) -> bool:
    """Delete a tour (its author, or an admin). False when there was none."""
    _check_writer(user)
    with store.engine.begin() as conn:
        row = conn.execute(select(tours).where(tours.c.id == tour_id)).first()
        if row is None:
            return False
        _check_owner(user, row)
        conn.execute(delete(tour_stops).where(tour_stops.c.tour_id == tour_id))
        conn.execute(delete(tours).where(tours.c.id == tour_id))
    log.info("tour %s deleted by %r", tour_id, user.name)
    return True


def get_tour(store: Any, tour_id: Any) -> Tour | None:
    """The stored tour with its stops in order, or None (anyone may read)."""
    try:
        tour_id = int(tour_id)
    except (TypeError, ValueError):
        return None
    if not 0 < tour_id < 2**53:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(select(tours).where(tours.c.id == tour_id)).first()
        if row is None:
            return None
        stops = conn.execute(
            select(tour_stops)
            .where(tour_stops.c.tour_id == tour_id)
            .order_by(tour_stops.c.position)
        ).all()
    return Tour(
        id=row.id,
        title_zh=row.title_zh,
        title_en=row.title_en,
        stops=tuple(
            Stop(
                query=s.query,
                title_zh=s.title_zh,
                title_en=s.title_en,
                note_zh=s.note_zh or "",
                note_en=s.note_en or "",
            )
            for s in stops
        ),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def list_tours(store: Any, limit: int = 100) -> list[dict[str, Any]]:
    """The newest tours first: id, titles, author, when, number of stops."""
    n = (
        select(tour_stops.c.tour_id, func.count().label("n"))
        .group_by(tour_stops.c.tour_id)
        .subquery()
    )
    sql = (
        select(tours, func.coalesce(n.c.n, 0).label("stops"))
        .select_from(tours.outerjoin(n, n.c.tour_id == tours.c.id))
        .order_by(tours.c.updated_at.desc(), tours.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sql)]


def same_geography(a: Stop, b: Stop) -> bool:
    """Two stops drawn on the same boundaries (level and province): the change between
    them keeps the map in place and only recolours it."""
    fa, fb = a.filters("zh"), b.filters("zh")
    return (fa.level, fa.recipient) == (fb.level, fb.recipient)


def cli_tour(args: Any) -> int:
    """``twinning tour list`` and ``twinning tour export ID -o tour.pptx|tour.html``."""
    import json
    import sys
    from pathlib import Path

    from twinning import settings
    from twinning.store import open_store

    store = open_store()
    if args.tour_cmd == "list":
        rows = list_tours(store)
        print(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
        return 0
    tour = get_tour(store, args.tour_id)
    if tour is None:
        print(f"error: no tour {args.tour_id}", file=sys.stderr)
        return 2
    output = Path(args.output)
    fmt = output.suffix.lower().lstrip(".")
    lang = i18n.normalize_lang(args.lang or settings.get("TWINNING_LANG"))
    from twinning.deck import export_tour_pptx
    from twinning.render import RENDERER
    from twinning.view import current_data

    data = current_data(store)
    if fmt == "pptx":
        try:
            payload = export_tour_pptx(data, tour, lang, base=args.base or "")
        finally:
            RENDERER.stop()
    elif fmt in ("html", "htm"):
        from twinning.tour_page import offline_tour

        payload = offline_tour(data, tour, lang, base=args.base or "").encode("utf-8")
    else:
        print(f"error: {output}: use .pptx or .html", file=sys.stderr)
        return 2
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    print(f"{output} ({len(payload):,} bytes)")
    return 0
