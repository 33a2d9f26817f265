"""Find a place by what people type (issue #9): 莎车, 莎车县, Shache, shache, 喀什, a former
name, an adcode. The gazetteer (``twinning.gazetteer``) decides what a whole name means;
the start of a name (莎, Sha) lists the places whose name begins so; a name that matches
nothing lists the closest names. An ambiguous name lists all its candidates, each with the
places it lies in, so the person picks the right one.

The atlas's search box (``components/a11y.py``) shows the candidates and opens the chosen
place: it drills into the place's province and opens its detail (``view_of``). No dash.
"""

from __future__ import annotations

from dataclasses import dataclass

from twinning import i18n
from twinning.filters import LEVEL_RANK
from twinning.gazetteer import AmbiguousPlace, Gazetteer, Place, PlaceError

MAX_TEXT = 40  # characters of a search that are read (it is user input)
LIMIT = 12  # candidates listed

# This module's words are the catalog's "search.<key>" messages (twinning/locale).
I18N_PREFIX = "search."


def tr(key: str, lang: str, **fmt: object) -> str:
    return i18n.t(I18N_PREFIX + key, lang, **fmt)


@dataclass(frozen=True)
class Found:
    """The candidates for a search, best first, and how they were found: ``one`` (the
    name means one place), ``several`` (it names several: pick one), ``start`` (names
    that begin with the text), ``close`` (no such name: the closest ones), ``none``."""

    places: tuple[Place, ...]
    kind: str
    former: str | None = None  # what the text says about a former name (historical_notes)


def _order(place: Place) -> tuple[int, str]:
    return (LEVEL_RANK.get(place.level, 9), place.adcode)


def find_places(text: str | None, gazetteer: Gazetteer | None = None, limit: int = LIMIT) -> Found:
    """The places ``text`` may mean (see the module's docstring)."""
    g = gazetteer or Gazetteer.default()
    text = (text or "").strip()[:MAX_TEXT]
    if not text:
        return Found((), "none")
    former = g.historical_notes.get(text)
    exact: list[Place] = []
    kind = "none"
    try:
        exact = [g.resolve(text, suggest=False)]
        kind = "one"
    except AmbiguousPlace as exc:
        exact = sorted(exc.candidates, key=_order)
        kind = "several"
    except PlaceError:
        exact = []
    start = sorted((p for p in g if _begins(p, text) and p not in exact), key=_order)
    if not exact and start:
        kind = "start"
    found = [*exact, *start]
    if not found:
        found = list(g.suggestions(text, n=limit))
        kind = "close" if found else "none"
    return Found(tuple(found[:limit]), kind, former)


def _begins(place: Place, text: str) -> bool:
    if text.isdigit():
        return place.adcode.startswith(text) and len(text) >= 2
    low = text.lower()
    return place.name_zh.startswith(text) or place.name_en.lower().startswith(low)


def label(place: Place, lang: str, gazetteer: Gazetteer | None = None) -> str:
    """'莎车县 · 喀什地区 · 新疆维吾尔自治区 (653125)': the name and where it lies."""
    g = gazetteer or Gazetteer.default()
    names = [i18n.place_name(place.name_zh, place.name_en, lang)]
    for code in (place.prefecture_adcode, place.province_adcode):
        parent = g.get(code) if code and code != place.adcode else None
        if parent is not None:
            names.append(i18n.place_name(parent.name_zh, parent.name_en, lang))
    return f"{' · '.join(names)} ({place.adcode})"


def options(text: str | None, lang: str, gazetteer: Gazetteer | None = None) -> list[dict]:
    """The search box's options for ``text``: value the adcode, label the place and where
    it lies (and, for a former name, what it became). ``search`` holds the typed text, so
    the box's own filter keeps every candidate the gazetteer found."""
    g = gazetteer or Gazetteer.default()
    found = find_places(text, g)
    typed = (text or "").strip()[:MAX_TEXT]
    out = []
    for place in found.places:
        text_label = label(place, lang, g)
        if found.kind == "close":
            text_label = tr("close", lang, place=text_label)
        elif found.former and found.kind in ("one", "several"):
            text_label = tr("former", lang, place=text_label, name=typed)
        out.append(
            {
                "label": text_label,
                "value": place.adcode,
                "search": f"{typed} {place.name_zh} {place.name_en} {place.adcode}",
            }
        )
    return out


def view_of(place: Place) -> tuple[str, str, str]:
    """(recipient province, map level, place) that open ``place``: its province drilled
    into at the place's own level (a province's counties), with its detail."""
    level = "county" if place.level in ("province", "county") else place.level
    return place.province_adcode or place.adcode, level, place.adcode
