"""The query layer answers exactly as the legacy pandas path did on the reference data.

``tests/golden/reference_views.json`` was recorded by ``tests/golden/make_golden.py`` from
the data path before issue #7 (``benchmarks/legacy_aggregate.py``), for a matrix of views:
each level, drilled, each main metric, programme, donor, donor unit, years, memory on and
off, both languages. Every view's map values, donors, flows, headlines, series, pairings in
force, place details and table rows must match.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))

from snapshot import VIEWS, menus, snapshot

from twinning import query

GOLDEN = json.loads((Path(__file__).parent / "golden" / "reference_views.json").read_text())


@pytest.fixture(scope="module", params=["sql", "duckdb"])
def data(request, reference_store) -> query.AtlasData:
    """The same answers whichever engine sums the summary (twinning.query.summary)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWINNING_QUERY_ENGINE", request.param)
        atlas = query.AtlasData.from_store(reference_store)
        if request.param == "duckdb":
            assert atlas.summary.wait()
        assert atlas.summary.engine_name == request.param
        yield atlas


def _roundtrip(obj):
    return json.loads(json.dumps(obj, ensure_ascii=False, sort_keys=True))


def test_menus_are_unchanged(data) -> None:
    got, want = _roundtrip(menus(query, data)), dict(GOLDEN["menus"])
    # metrics with as many figures as each other were in storage order; now by name
    assert got.pop("metric_options")[:3] == want["metric_options"][:3]
    assert sorted(query.metric_options(data)) == sorted(want.pop("metric_options"))
    assert got == want


@pytest.mark.parametrize("view", VIEWS)
def test_every_answer_of_a_view_is_unchanged(data, view: str) -> None:
    got = _roundtrip(snapshot(query, data, view))
    want = GOLDEN["views"][view]
    for part in want:
        if part.endswith("_table"):  # an empty cell was None or "" by chance; both blank
            got[part], want[part] = _blank(got[part]), _blank(want[part])
        assert got[part] == want[part], f"{view}: {part} differs"


def _blank(rows: list[list]) -> list[list]:
    # the legacy path wrote "nan" for a figure with no place (a bug, now a blank cell)
    return sorted(([None if v in ("", "nan") else v for v in row] for row in rows), key=repr)


def test_every_confidence_in_the_data_has_words_in_both_languages(data) -> None:
    """The Chinese atlas never shows an English confidence label (issue #8)."""
    from twinning import i18n

    stored = {r[0] for r in data.rows("SELECT DISTINCT confidence FROM figures")}
    stored |= {r[0] for r in data.rows("SELECT DISTINCT confidence FROM pairings")}
    stored.add("office_record")  # every imported row
    for value in stored:
        assert value in i18n.CONFIDENCE, value
        assert i18n.confidence_label(value, "zh") != i18n.confidence_label(value, "en")
