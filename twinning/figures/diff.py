"""What changes between two figures, as assignments: the screen sends a change of a figure
the browser holds as these (a ``dash.Patch``) instead of the whole figure (#7).

A change is ``(path, value)``: set the part of the figure at ``path`` (keys and list
indexes from the figure's top) to ``value``, or delete it when ``value`` is ``DELETE``.
Applied in order to ``old`` they give ``new``. Dicts are compared key by key and lists of
dicts of the same length (plotly's ``data``, ``layout.annotations``, ``shapes``) item by
item; any other value that differs (an array of numbers, a string) is set whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Path = tuple[str | int, ...]


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()  # the value of a change that removes its part


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
        and len(old) == len(new)
        and all(isinstance(x, Mapping) for x in old)
        and all(isinstance(x, Mapping) for x in new)
    ):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                _dicts((*path, i), a, b, out)
    else:
        out.append((path, new))
