"""Presenter tours (issue #9): stored by signed-in importers and admins, read by anyone."""

from __future__ import annotations

import pytest

from twinning import tours
from twinning.auth import User
from twinning.tours import Stop, Tour, TourError
from twinning.view import View, current_data

ALICE = User("alice", "importer")
BOB = User("bob", "importer")
ADMIN = User("root", "admin")
VIEWER = User("vera", "viewer")


def _draft(n: int = 2) -> Tour:
    return Tour.from_dict(
        {
            "title_zh": "东西部协作",
            "title_en": "East-west cooperation",
            "stops": [
                {
                    "query": f"?lang=en&level=province&metric=funds_cny&from={2010 + i}&present=1",
                    "title_zh": f"第{i + 1}站",
                    "title_en": f"Stop {i + 1}",
                    "note_zh": "说明",
                    "note_en": "A note",
                }
                for i in range(n)
            ],
        }
    )


def test_a_stop_keeps_the_view_without_language_stage_or_playback() -> None:
    stop = Stop.from_dict({"query": "http://x/?lang=en&level=county&present=1&play=1&year=2015"})
    assert stop.query == "level=county&year=2015"
    assert stop.filters("en").lang == "en" and not stop.filters("en").present
    assert stop.link("http://h:1/", "zh") == "http://h:1/?lang=zh&level=county&year=2015"


def test_a_title_falls_back_to_the_other_language() -> None:
    stop = Stop(query="", title_zh="只有中文")
    assert stop.title("en") == "只有中文"
    assert Tour(title_zh="", title_en="").title("en") == "Untitled tour"


@pytest.mark.parametrize(
    ("draft", "key"),
    [
        ({}, "empty"),
        ({"title_zh": "x", "stops": []}, "empty"),
        ({"title_zh": "", "stops": [{"query": "", "title_zh": "a"}]}, "title"),
        ({"title_zh": "x", "stops": [{"query": ""}]}, "stop_title"),
        ({"title_zh": "x", "stops": ["not a stop"]}, "bad_stop"),
        ({"title_zh": "x", "stops": [{"title_zh": "a"}] * (tours.MAX_STOPS + 1)}, "too_many"),
    ],
)
def test_a_bad_draft_is_refused_with_a_reason_in_both_languages(draft, key) -> None:
    with pytest.raises(TourError) as err:
        Tour.from_dict(draft)
    assert err.value.key == key
    assert err.value.message("zh") and err.value.message("en")


def test_save_read_change_and_delete(store) -> None:
    saved = tours.save_tour(store, ALICE, _draft(3))
    assert saved.id and saved.created_by == "alice" and saved.created_at is not None
    assert [s.title_en for s in saved.stops] == ["Stop 1", "Stop 2", "Stop 3"]
    assert tours.get_tour(store, saved.id) == saved
    assert tours.get_tour(store, "nope") is None and tours.get_tour(store, 10**6) is None

    reordered = Tour(
        title_zh=saved.title_zh, title_en="Renamed", stops=tuple(reversed(saved.stops))
    )
    changed = tours.save_tour(store, ALICE, reordered, saved.id)
    assert changed.title_en == "Renamed" and changed.updated_by == "alice"
    assert [s.title_en for s in changed.stops] == ["Stop 3", "Stop 2", "Stop 1"]
    assert tours.list_tours(store)[0]["stops"] == 3

    with pytest.raises(TourError) as err:  # another importer's tour
        tours.save_tour(store, BOB, reordered, saved.id)
    assert err.value.key == "not_yours"
    assert tours.save_tour(store, ADMIN, reordered, saved.id).updated_by == "root"
    assert tours.delete_tour(store, ALICE, saved.id)
    assert tours.get_tour(store, saved.id) is None


def test_only_signed_in_importers_and_admins_write(store) -> None:
    for user, key in ((None, "signin"), (VIEWER, "role")):
        with pytest.raises(TourError) as err:
            tours.save_tour(store, user, _draft())
        assert err.value.key == key
    assert tours.list_tours(store) == []


def test_tours_leave_the_data_version_alone(store) -> None:
    before = store.data_version()
    tours.save_tour(store, ALICE, _draft())
    assert store.data_version() == before


def test_new_stop_is_titled_with_the_view_in_both_languages(reference_store) -> None:

    stop = tours.new_stop(
        current_data(reference_store), "?lang=en&metric=funds_cny&from=2010&to=2015"
    )
    assert stop.query == "metric=funds_cny&from=2010&to=2015"
    assert "2010" in stop.title_zh and "2010" in stop.title_en
    assert stop.title_zh != stop.title_en


def test_same_geography() -> None:
    a, b = Stop("level=county&recipient=650000"), Stop("level=county&recipient=650000&year=2015")
    assert tours.same_geography(a, b)
    assert not tours.same_geography(a, Stop("level=county"))


# -- the pages -------------------------------------------------------------------------------


@pytest.fixture
def client(store):
    from components.app import create_app

    app = create_app(store)
    saved = tours.save_tour(store, ALICE, _draft(3))
    return app.server.test_client(), saved


def test_the_tour_page_presents_every_stop_in_both_languages(client) -> None:
    import re

    http, saved = client
    for lang, word in (("en", "Stop 1 of 3"), ("zh", "第 1 站，共 3 站")):
        response = http.get(f"/tour/{saved.id}?lang={lang}")
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert word in body
        assert body.count('class="tour-stop"') == 3
        assert "East-west cooperation" in body if lang == "en" else "东西部协作" in body
        # the player runs by the response's nonce, nothing else inline
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        assert nonce and f'<script nonce="{nonce.group(1)}">' in body
        # each stop: a QR code of its view's link, the source line, the way to the atlas
        assert body.count('data-qr="data:image/svg+xml') == 3
        assert "metric=funds_cny&amp;from=2010" in body and 'class="sources"' in body
        assert f"/tour/{saved.id}/tour.pptx?lang={lang}" in body
    assert http.get("/tour/999").status_code == 404
    assert http.get("/tour/abc").status_code == 404


def test_the_offline_tour_holds_everything(client) -> None:
    http, saved = client
    response = http.get(f"/tour/{saved.id}/tour.html?lang=en")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert "<script src=" not in body and "/geo/" not in body
    # three stops at one level: each set of boundaries once, the stops point at it
    import json
    import re

    payload = json.loads(
        re.search(r'<script type="application/json" id="tour-figures">(.*?)</script>', body, re.S)
        .group(1)
        .replace("<\\/", "</")
    )
    keys = [
        [t["geojson"]["$geo"] for t in stop["fig"]["data"] if "geojson" in t]
        for stop in payload["stops"]
    ]
    assert keys[0] and keys[0] == keys[1] == keys[2]
    assert set(payload["geo"]) == set(keys[0])
    assert "Stop 3" in body and "Sources" in body


def test_the_tour_deck_has_a_slide_per_stop_with_its_note_and_sources(reference_store) -> None:
    import io

    import zxingcpp
    from PIL import Image
    from pptx import Presentation

    from twinning import deck, render

    data = current_data(reference_store)
    tour = Tour(
        id=7,
        title_zh="东西部协作",
        title_en="East-west cooperation",
        stops=(
            Stop("metric=funds_cny&from=2006&to=2010", "资金", "Funds", "资金说明", "About funds"),
            Stop("level=county&recipient=650000", "新疆", "Xinjiang"),
        ),
    )
    assert render.RENDERER.start(), render.RENDERER.failure
    try:
        payload = deck.export_tour_pptx(data, tour, "en", base="http://atlas.example:8050")
    finally:
        render.RENDERER.stop()
    slides = list(Presentation(io.BytesIO(payload)).slides)
    assert len(slides) == 1 + 2
    texts = ["\n".join(s.text_frame.text for s in sl.shapes if s.has_text_frame) for sl in slides]
    assert "East-west cooperation" in texts[0] and "1. Funds" in texts[0]
    assert "1/2 · Funds" in texts[1] and "About funds" in texts[1]
    for slide, stop in zip(slides[1:], tour.stops, strict=True):
        view = View(data, stop.filters("en"))
        notes = slide.notes_slide.notes_text_frame.text
        assert all(r.label in notes for r in view.sources("map"))  # every source
        pictures = [s for s in slide.shapes if s.shape_type == 13]
        assert len(pictures) == 2  # the map (its footer names the sources) and the QR code
        with Image.open(io.BytesIO(pictures[1].image.blob)) as image:
            (code,) = zxingcpp.read_barcodes(image)
        assert code.text == stop.link("http://atlas.example:8050", "en")
    assert "About funds" in slides[1].notes_slide.notes_text_frame.text
    with Image.open(
        io.BytesIO(next(s for s in slides[0].shapes if s.shape_type == 13).image.blob)
    ) as im:
        assert zxingcpp.read_barcodes(im)[0].text == "http://atlas.example:8050/tour/7?lang=en"
