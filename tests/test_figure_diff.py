"""What changes between two figures (``twinning.figures.diff``): applied in order to the
old figure, the changes give the new one, and they name only what differs."""

from __future__ import annotations

import copy
import random

from twinning.figures.diff import DELETE, apply_changes, figure_changes


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


def test_a_list_of_another_length_is_set_whole() -> None:
    old = {"data": [{"x": [1]}], "layout": {"shapes": [{"x0": 1}]}}
    new = {"data": [{"x": [1]}, {"x": [2]}], "layout": {"shapes": []}}
    changes = figure_changes(old, new)
    assert changes == [(("data",), new["data"]), (("layout", "shapes"), [])]
    assert apply_changes(copy.deepcopy(old), changes) == new


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
