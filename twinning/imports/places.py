"""Places named in rows: resolving donor and recipient names through the gazetteer.

``PlaceLookup`` resolves each name once per import (a small cache), reports a name that
is ambiguous or unknown with its candidates, and notes how a former name reached
today's unit. A cell naming several places, a group or an XPCC division resolves to a
``Scope`` (twinning/groups.py); ``scope_fields`` and ``recipient_columns`` are the
stored columns of what was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twinning import i18n
from twinning.imports.cells import Resolver
from twinning.imports.problems import Report, texts


def _who(role: str, name: str, within: str | None, lang: str) -> str:
    """The place a message is about: donor 'x' in y / 帮扶方“x”（在“y”范围内）."""
    word = {
        "donor": i18n.t("problem.place.donor", lang),
        "recipient": i18n.t("problem.place.recipient", lang),
    }.get(role, role)
    inside = i18n.t("problem.place.within", lang, place=within) if within else ""
    return i18n.t("problem.place.who", lang, role=word, name=name, within=inside)


def try_resolve(resolver: Resolver, name: str, **within: object) -> object:
    """The place ``name`` means, or the ``PlaceError`` saying why none (any other
    exception propagates)."""
    try:
        return resolver(name, **within)
    except Exception as exc:  # PlaceError (AmbiguousPlace / PlaceNotFound)
        if not hasattr(exc, "candidates"):
            raise
        return exc


@dataclass
class PlaceLookup:
    """Resolves the places of rows, once per name; reports what does not resolve."""

    resolver: Resolver | None
    report: Report
    form: str  # the layout's form: a pairing names single places only
    _cache: dict[tuple[str, str | None], object] = field(default_factory=dict)

    def quietly(self, name: str, within: str) -> object | None:
        """The place ``name`` means inside ``within``, or None (no problem reported)."""
        if self.resolver is None:
            return None
        key = (name, "\x00" + within)
        if key not in self._cache:
            found = try_resolve(self.resolver, name, within=within)
            self._cache[key] = None if isinstance(found, Exception) else found
        return self._cache[key]

    def former_note(self, role: str, name: str, within: str | None, place: object) -> str | None:
        """What the record keeps when ``name`` reached ``place`` as a former name (or through
        the parent it had then): the change, its year and its source (issue #11)."""
        gazetteer = getattr(self.resolver, "__self__", None)
        if not hasattr(gazetteer, "former_name_note") or not hasattr(place, "adcode"):
            return None
        try:
            note = gazetteer.former_name_note(name, place, within=within)
        except Exception:  # PlaceError of an odd ``within``: no note rather than no import
            return None
        return f"{role} {name}: {note}" if note else None

    def resolve(self, name: str, within: str | None, row: int, column: str, role: str) -> object:
        """Resolve through the gazetteer; report ambiguity or absence with candidates.

        Returns the place (or ``Scope``), None for nothing to resolve with or a donor kept
        as text, and False when the row cannot be stored (an error was reported)."""
        if self.resolver is None:
            return None
        key = (name, within)
        if key in self._cache:
            result = self._cache[key]
        else:
            result = self._cache[key] = try_resolve(self.resolver, name, within=within)
        if isinstance(result, Exception) and self.form != "pairings":
            scope = scope_of(self.resolver, name)  # a list, a group, a division (#10)
            if scope is not None:
                return scope
        if isinstance(result, Exception):
            return self._unresolved(result, name, within, row, column, role)
        return result

    def _unresolved(
        self, exc: Exception, name: str, within: str | None, row: int, column: str, role: str
    ) -> bool | None:
        cands = list(getattr(exc, "candidates", []) or [])[:8]
        shown = "; ".join(place_label(c) for c in cands)
        shown_zh = "；".join(place_label_zh(c) for c in cands)
        ambiguous = any(k.__name__ == "AmbiguousPlace" for k in type(exc).__mro__)
        listed = {"en": shown, "zh": shown_zh}
        who = {lang: _who(role, name, within, lang) for lang in ("en", "zh")}
        if ambiguous:
            code = "ambiguous_place"
            words = texts(
                "problem.ambiguous_place.several",
                "problem.ambiguous_place.several.fix",
                en={"who": who["en"], "shown": shown},
                zh={"who": who["zh"], "shown": shown_zh},
            )
        else:
            code = "unknown_place"
            guess = {
                lang: i18n.t("problem.unknown_place.did_you_mean", lang, shown=listed[lang])
                if shown
                else ""
                for lang in ("en", "zh")
            }
            words = texts(
                "problem.unknown_place.unknown",
                "problem.unknown_place.unknown.fix",
                en={"who": who["en"], "guess": guess["en"]},
                zh={"who": who["zh"], "guess": guess["zh"]},
            )
        if role == "donor" and not ambiguous:
            kept = texts(
                "problem.unknown_place.kept_as_text",
                en={"message": words["message"]},
                zh={"message": words["message_zh"]},
            )
            self.report.warning(code, **{**words, **kept}, row=row, column=column, value=name)
            return None
        self.report.error(code, **words, row=row, column=column, value=name)
        return False


_SCOPE_RESOLVERS: dict[int, object] = {}


def scope_of(resolver: object, name: str) -> object | None:
    """The ``Scope`` a cell names when it is no single place: a list of places, a named
    group of data/reference/groups.csv, an XPCC division or a donor-side description, as
    the reference data resolves them (twinning/groups.py); None when it is none of these."""
    gaz = getattr(resolver, "__self__", None)
    if gaz is None or not hasattr(gaz, "get"):
        return None
    from twinning.groups import ScopeResolver

    scopes = _SCOPE_RESOLVERS.get(id(gaz))
    if scopes is None:
        scopes = _SCOPE_RESOLVERS.setdefault(id(gaz), ScopeResolver(gaz))
    scope = scopes.resolve(name)
    if scope.reason is None and (scope.members or scope.donor_side) and scope.place is None:
        return scope
    return None


def scope_fields(donor: object, recipient: object) -> dict:
    """``scope_group``, ``donor_side`` and the ``scope_members`` the writer stores."""
    from twinning.groups import Scope
    from twinning.reference import scope_columns

    def as_scope(x: object) -> Scope:
        return x if isinstance(x, Scope) else Scope(place=x or None)

    return scope_columns(as_scope(donor), as_scope(recipient))


def place_label_zh(place: object) -> str:
    """富宁县（文山壮族苗族自治州，532628）: the Chinese form of ``Place.label()``."""
    name = getattr(place, "name_zh", None)
    if name is None:
        return place_label(place)
    parent = getattr(place, "parent_name_zh", None)
    adcode = getattr(place, "adcode", "")
    inside = "，".join(x for x in (parent, adcode) if x)
    return f"{name}（{inside}）" if inside else name


def place_label(place: object) -> str:
    """Funing County (532628, county): ``Place.label()``, or a label made of its fields."""
    if hasattr(place, "label"):
        return place.label()
    name = getattr(place, "name_zh", None) or str(place)
    adcode = getattr(place, "adcode", "")
    level = getattr(place, "level", "")
    return f"{name} ({adcode}{', ' + level if level else ''})"


def recipient_columns(place: object | None) -> dict[str, str | None]:
    """The stored recipient columns of a resolved place (``Place.recipient_columns``)."""
    if place is None or not hasattr(place, "recipient_columns"):
        return dict.fromkeys(
            (
                "recipient_adcode",
                "recipient_level",
                "recipient_province_adcode",
                "recipient_prefecture_adcode",
            )
        )
    return place.recipient_columns()
