"""What changes between two figures (``twinning.figures.diff``): applied in order to the
old figure, the changes give the new one, and they name only what differs."""

from __future__ import annotations

import copy
import random

from twinning.figures.diff import DELETE, Insert, apply_changes, figure_changes


def test_only_what_differs_is_named() -> None:
    old = {
        "data": [{"x": [1, 2], "y": [3, 4], "name": "a"}, {"x": [1], "y": [5], "name": "b"}],
        "layout": {"title": {"text": "T"}, "annotations": [{"text": "p"}, {"text": "q"}]},
    }
    new = copy.deepcopy(old)
    new["data"][1]["y"] = [6]
    new["layout"]["annotations"][0]["text"] = "r"
    del new["layout"]["title"]
    new["layout"]["meta"] = {"cursor": 1}
    changes = figure_changes(old, new)
    assert changes == [
        (("data", 1, "y"), [6]),
        (("layout", "annotations", 0, "text"), "r"),
        (("layout", "meta"), {"cursor": 1}),
        (("layout", "title"), DELETE),
    ]
    assert apply_changes(copy.deepcopy(old), changes) == new
    assert figure_changes(new, copy.deepcopy(new)) == []


def test_a_list_of_another_length_keeps_its_items_and_sends_only_the_new_ones() -> None:
    """A series that gains a panel (#7): its traces are inserted, the panels below it keep
    their traces and change only the subplot they are drawn on; the panel a series drops is
    deleted. Nothing else is sent again."""

    def panel(name: str, axis: int) -> list[dict]:
        out = []
        for kind in ("period", "yearly", "cumulative"):
            numbers = random.Random(name + kind)  # its own, on whichever panel
            out.append({"name": f"{name} {kind}", "x": list(range(1990, 2026)),
                        "y": [numbers.randint(0, 10**9) for _ in range(36)],
                        "xaxis": f"x{axis}", "yaxis": f"y{axis}"})  # fmt: skip
        return out

    old = {"data": [*panel("funds", 1), *panel("projects", 2), *panel("people", 3)]}
    new = {"data": [*panel("funds", 1), *panel("trained", 2), *panel("projects", 3)]}
    changes = figure_changes(old, new)
    assert apply_changes(copy.deepcopy(old), changes) == new
    inserted = [value.item["name"] for _, value in changes if isinstance(value, Insert)]
    assert inserted == ["trained period", "trained yearly", "trained cumulative"]
    assert [path for path, value in changes if value is DELETE] == [("data", 9)] * 3  # people
    moved = {path[-1] for path, value in changes if len(path) == 3}
    assert moved == {"xaxis", "yaxis"}  # the projects panel: only where it is drawn
    assert not any(path == ("data",) for path, _ in changes)  # never the whole list


def test_a_list_is_set_whole_when_that_says_less() -> None:
    old = {"data": [{"x": [1]}], "layout": {"shapes": [{"x0": 1}]}}
    new = {"data": [{"x": [2]}, {"x": [3]}, {"x": [4]}], "layout": {"shapes": []}}
    changes = figure_changes(old, new)
    assert changes == [(("data",), new["data"]), (("layout", "shapes"), [])]
    assert apply_changes(copy.deepcopy(old), changes) == new


def test_lists_of_items_added_dropped_and_moved_turn_into_each_other() -> None:
    rng = random.Random(5)
    pool = [{"name": n, "y": [i, i + 1]} for i, n in enumerate("abcdefghij")]
    for _ in range(400):
        old = [dict(x, xaxis=f"x{rng.randint(1, 3)}") for x in rng.sample(pool, rng.randint(1, 8))]
        new = [dict(x, xaxis=f"x{rng.randint(1, 3)}") for x in rng.sample(pool, rng.randint(1, 8))]
        for item in new:
            if rng.random() < 0.2:
                item["y"] = [9]
        changes = figure_changes({"data": old}, {"data": new})
        assert apply_changes(copy.deepcopy({"data": old}), changes) == {"data": new}


def _random_figure(rng: random.Random, depth: int = 0) -> dict:
    out: dict = {}
    for key in rng.sample("abcdefgh", rng.randint(1, 6)):
        kind = rng.random()
        if kind < 0.3 and depth < 3:
            out[key] = _random_figure(rng, depth + 1)
        elif kind < 0.5 and depth < 3:
            out[key] = [_random_figure(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        elif kind < 0.7:
            out[key] = [rng.choice([None, 1, 2.5, "x"]) for _ in range(rng.randint(0, 4))]
        else:
            out[key] = rng.choice([None, 0, 1, "s", "t", True])
    return out


def _mutated(rng: random.Random, fig: dict) -> dict:
    """``fig`` with a few parts, anywhere in it, changed, added or taken out."""
    out = {}
    for key, value in fig.items():
        roll = rng.random()
        if roll < 0.1:
            continue  # taken out
        if isinstance(value, dict):
            value = _mutated(rng, value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            value = [_mutated(rng, v) for v in value]
        elif roll < 0.3:
            value = rng.choice([None, 7, "u", [1, 2]])
        out[key] = value
    if rng.random() < 0.2:
        out["z"] = rng.choice([1, {"k": 2}])
    return out


def test_the_changes_turn_any_figure_into_any_other() -> None:
    rng = random.Random(3)
    for i in range(600):
        old = _random_figure(rng)
        new = _mutated(rng, old) if i % 2 else _random_figure(rng)
        assert apply_changes(copy.deepcopy(old), figure_changes(old, new)) == new
        assert figure_changes(old, old) == []
