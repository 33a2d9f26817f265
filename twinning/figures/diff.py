"""What changes between two figures, as assignments: the screen sends a change of a figure
the browser holds as these (a ``dash.Patch``) instead of the whole figure (#7).

A change is ``(path, value)``: set the part of the figure at ``path`` (keys and list
indexes from the figure's top) to ``value``, delete it when ``value`` is ``DELETE`` (a
list's item: the items after it move up), or insert ``value.item`` at that index of a list
when ``value`` is an ``Insert``. Applied in order to ``old`` they give ``new``. Dicts are
compared key by key. Lists of dicts (plotly's ``data``, ``layout.annotations``,
``shapes``) are aligned: items that are the same but for the subplot they are drawn on
(``xaxis``, ``yaxis``: a panel added above them moved them down) are kept and changed
where they differ, items the new list adds are inserted and those it drops deleted, and
items in the same place changed item by item; so a series that gains a panel sends the
panel, not every panel again (#7). Any other value that differs (an array of numbers, a
string) is set whole.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

Path = tuple[str | int, ...]


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()  # the value of a change that removes its part


@dataclass(frozen=True)
class Insert:
    """The value of a change that inserts ``item`` into a list at the path's last index."""

    item: Any


# what does not make two items of a list of dicts different ones: the subplot they are on
_PLACEMENT = ("xaxis", "yaxis")


def figure_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[Path, Any]]:
    """The changes that turn ``old`` into ``new`` (none when they are equal)."""
    out: list[tuple[Path, Any]] = []
    _dicts((), old, new, out)
    return out


def apply_changes(figure: Any, changes: list[tuple[Path, Any]]) -> Any:
    """``figure`` with ``changes`` made in place (what the browser does with them). Any
    nested container will do: on a ``dash.Patch`` they become its operations."""
    for path, value in changes:
        target: Any = figure
        for part in path[:-1]:
            target = target[part]
        if value is DELETE:
            del target[path[-1]]
        elif isinstance(value, Insert):
            target.insert(path[-1], value.item)
        else:
            target[path[-1]] = value
    return figure


def _dicts(path: Path, old: Mapping[str, Any], new: Mapping[str, Any], out: list) -> None:
    for key, value in new.items():
        if key not in old:
            out.append(((*path, key), value))
        elif old[key] != value:
            _values((*path, key), old[key], value, out)
    out.extend(((*path, key), DELETE) for key in old if key not in new)


def _values(path: Path, old: Any, new: Any, out: list) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        _dicts(path, old, new, out)
    elif (
        isinstance(old, list | tuple)
        and isinstance(new, list | tuple)
        and old
        and new
        and all(isinstance(x, Mapping) for x in old)
        and all(isinstance(x, Mapping) for x in new)
    ):
        _aligned(path, old, new, out)
    else:
        out.append((path, new))


def _identity(item: Mapping[str, Any]) -> str:
    """What makes an item of a list of dicts the same item, wherever it is drawn."""
    kept = {k: v for k, v in item.items() if k not in _PLACEMENT}
    return json.dumps(kept, sort_keys=True, default=repr)


def _aligned(path: Path, old: Any, new: Any, out: list) -> None:
    """Lists of dicts: the same items kept (changed where they differ), the rest inserted,
    deleted, or changed in place; or item by item (lists of one length); or whole:
    whichever says least."""
    ways = [[(path, new)]]
    if len(old) == len(new):
        in_place: list = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                _dicts((*path, i), a, b, in_place)
        ways.append(in_place)
    old_ids, new_ids = [_identity(x) for x in old], [_identity(x) for x in new]
    if old_ids != new_ids:  # the same items in the same places: aligned is item by item
        ways.append(_matched(path, old, new, old_ids, new_ids))
    out.extend(min(reversed(ways), key=_size))  # of two the same, the later way


def _matched(
    path: Path, old: Any, new: Any, old_ids: list[str], new_ids: list[str]
) -> list[tuple[Path, Any]]:
    out: list[tuple[Path, Any]] = []
    matcher = SequenceMatcher(None, old_ids, new_ids, autojunk=False)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        # the list is new[:j1] before each block: its items are changed at j1 onwards
        common = min(i2 - i1, j2 - j1)
        for k in range(common):
            if old[i1 + k] != new[j1 + k]:
                _dicts((*path, j1 + k), old[i1 + k], new[j1 + k], out)
        out.extend(((*path, j1 + common), DELETE) for _ in range(i2 - i1 - common))
        out.extend(((*path, j), Insert(new[j])) for j in range(j1 + common, j2))
    return out


def _size(changes: list[tuple[Path, Any]]) -> int:
    """About what ``changes`` take on the wire: their JSON, compressed (the atlas's answers
    are: an array a change sends whole compresses far below its text, #7)."""
    text = json.dumps(
        [[path, value.item if isinstance(value, Insert) else value] for path, value in changes],
        default=repr,
    )
    return len(zlib.compress(text.encode(), 6)) + 24 * len(changes)  # each operation's words
