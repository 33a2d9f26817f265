"""Animated exports (issue #9): the years of a view as a GIF or an MP4, every frame with its
year, its sources line and its period figures marked; bounded; a clear message when the
encoder is missing.

The renders use one headless Chromium for the module (as tests/test_export.py); the frames'
content is also checked on the figure dicts, without a browser.
"""

from __future__ import annotations

import io
import itertools
import sys
import time
from pathlib import Path

import pytest

from twinning import animation, busy, export, render
from twinning import query as agg
from twinning.cli import main as cli_main
from twinning.view import current_data

# four years with period figures (2006–2010 ...) on the reference data
VIEW = "lang=en&level=province&metric=funds_cny&from=2006&to=2009"
SMALL = {"width": 640, "height": 360}


@pytest.fixture(scope="module")
def renderer():
    assert render.RENDERER.start(), render.RENDERER.failure
    yield render.RENDERER
    render.RENDERER.stop()


@pytest.fixture(scope="module")
def data(reference_store) -> agg.AtlasData:
    return current_data(reference_store)


def _no_render(monkeypatch) -> None:
    def refuse(*a, **k):
        raise AssertionError("nothing may be rendered")

    monkeypatch.setattr(render.RENDERER, "render", refuse)


# ---------------------------------------------------------------------------------------
# what each frame says (no browser)
# ---------------------------------------------------------------------------------------


def test_each_frame_has_its_year_sources_and_period_figures(reference_store, data):
    view, years = animation.plan(reference_store, VIEW, data=data)
    assert years == [2006, 2007, 2008, 2009]
    frames, build = animation.frame_dicts(view, years, 1280, 720)
    footers, heights = [], set()
    for frame in frames:
        fig = build(frame)
        notes = {a.get("name"): a for a in fig["layout"]["annotations"]}
        assert notes["animation-year"]["text"] == f"<b>{frame.year}</b>"
        assert str(frame.year) in fig["layout"]["title"]["text"]
        footer = notes["export-footer"]["text"]
        assert footer.startswith("Sources (")  # the PNG export's own sources line
        assert frame.periods, "the reference data has period figures in 2006–2009"
        assert "Period figures on this frame: " in footer
        assert notes["animation-period"]["text"].startswith("period figure")
        footers.append(footer)
        heights.add(fig["layout"]["margin"]["b"])  # one footer height: the map stays put
    assert len(set(footers)) == len(footers)
    assert len(heights) == 1


def test_period_marks_name_the_periods_and_cumulative_counts():
    periods = [(2006, 2010, 4), (None, 2022, 2)]
    assert animation.periods_text(periods, "en") == (
        "Period figures on this frame: 2006–2010 (4), cumulative to 2022 (2). A period figure "
        "shows at its full value in every year of its period, never divided by year; a "
        "cumulative count shows from its end year."
    )
    assert animation.badge_text(periods, "en") == "period figure 2006–2010"
    assert animation.badge_text(periods, "zh") == "分期数据 2006–2010"
    assert animation.badge_text([], "en") == animation.periods_text([], "en") == ""


def test_a_metric_map_keeps_one_colour_scale_over_the_years(reference_store, data):
    view, years = animation.plan(reference_store, VIEW, data=data)
    frames, build = animation.frame_dicts(view, years, 1280, 720)
    ranges = set()
    for frame in frames:
        fig = build(frame)
        main = fig["data"][fig["layout"]["meta"]["main"]]
        ranges.add((main["zmin"], main["zmax"], tuple(main["colorbar"]["tickvals"])))
    assert len(ranges) == 1


def test_the_playback_mode_and_range_come_from_the_link():
    link = "http://atlas/?lang=zh&year=2008&play=1&mode=cumulative&from=2006&to=2010"
    assert animation.range_query(link) == "lang=zh&from=2006&to=2010"
    assert animation.year_mode(link) == "cumulative"
    assert animation.year_mode("lang=en&from=2006") == "year"


# ---------------------------------------------------------------------------------------
# limits and missing encoders (no browser: refused before anything is drawn)
# ---------------------------------------------------------------------------------------


def test_more_years_than_the_frame_limit_are_refused(reference_store, data, monkeypatch):
    _no_render(monkeypatch)
    monkeypatch.setenv("TWINNING_ANIMATION_MAX_FRAMES", "3")
    with pytest.raises(export.ExportError) as err:
        animation.export_animation(reference_store, VIEW, "gif", data=data)
    assert "2006–2009 is 4 years, more than the animation's limit of 3 frames" in str(err.value)


@pytest.mark.parametrize("size", [(4000, 720), (1280, 3000), (100, 100)])
def test_the_pixel_size_is_bounded(reference_store, data, monkeypatch, size):
    _no_render(monkeypatch)
    with pytest.raises(export.ExportError, match="out of range"):
        animation.export_animation(
            reference_store, VIEW, "gif", width=size[0], height=size[1], data=data
        )


def test_the_time_limit_stops_between_frames(reference_store, data, monkeypatch):
    _no_render(monkeypatch)
    view, years = animation.plan(reference_store, VIEW, data=data)
    frames = animation.render_frames(view, years, 640, 360, time.monotonic() - 1)
    with pytest.raises(export.ExportError, match=r"did not finish in time \(0 of 4"):
        next(frames)


def test_a_missing_mp4_encoder_says_how_to_install_it(reference_store, data, monkeypatch):
    _no_render(monkeypatch)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails
    for lang, words in (("en", "pip install imageio-ffmpeg"), ("zh", "找不到 ffmpeg")):
        with pytest.raises(animation.EncoderMissing) as err:
            animation.export_animation(reference_store, f"lang={lang}&from=2006", "mp4", data=data)
        assert words in str(err.value) and "GIF" in str(err.value)
    monkeypatch.delitem(sys.modules, "imageio_ffmpeg")
    monkeypatch.setattr(animation, "ffmpeg_exe", lambda: None)  # installed, binary gone
    with pytest.raises(animation.EncoderMissing, match="apt-get install ffmpeg"):
        animation.export_animation(reference_store, VIEW, "mp4", data=data)


def test_a_missing_gif_encoder_says_so(reference_store, data, monkeypatch):
    _no_render(monkeypatch)
    monkeypatch.setitem(sys.modules, "PIL.GifImagePlugin", None)
    with pytest.raises(animation.EncoderMissing, match="pip install pillow"):
        animation.export_animation(reference_store, VIEW, "gif", data=data)


def test_the_cli_prints_the_missing_encoder_and_writes_nothing(
    monkeypatch, tmp_path, capsys, reference_store
):
    monkeypatch.setattr(animation, "ffmpeg_exe", lambda: None)
    out = tmp_path / "funds.mp4"
    assert cli_main(["export", "lang=zh&from=2006&to=2008", "-o", str(out)]) == 2
    assert "找不到 ffmpeg" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_the_export_menu_runs_animations_in_their_own_gate(store, monkeypatch):
    import dash

    from components import export_controls

    busy.reset_gates()
    monkeypatch.setenv("TWINNING_ANIMATION_SLOTS", "1")
    monkeypatch.setenv("TWINNING_EXPORT_QUEUE", "0")
    called = []
    monkeypatch.setattr(
        export_controls, "make_download", lambda *a: called.append(a) or ({"x": 1}, "")
    )
    assert {"gif", "mp4"} <= set(export_controls.FORMATS)
    callback = export_controls.register_callbacks(dash.Dash(__name__), lambda: store, "url")
    hold = busy.gate("animation").acquire()
    try:
        data, status = callback(1, "?lang=en", "map", "gif")
        assert data is dash.no_update and status.startswith("The server is busy")
        data, status = callback(1, "?lang=en", "map", "png")  # a still image still runs
        assert data == {"x": 1}
    finally:
        hold()
        busy.reset_gates()
    data, status = callback(1, "?lang=en", "map", "mp4")
    assert data == {"x": 1} and len(called) == 2


# ---------------------------------------------------------------------------------------
# real files (headless Chromium)
# ---------------------------------------------------------------------------------------


def test_a_gif_has_one_frame_per_year_each_different(renderer, reference_store, data):
    from PIL import Image, ImageChops

    payload, name = export.export_view(reference_store, VIEW, "map", "gif", data=data, **SMALL)
    assert payload[:6] == b"GIF89a" and name.endswith(".gif") and "animation" in name
    with Image.open(io.BytesIO(payload)) as im:
        assert im.n_frames == 4 and im.size == (640, 360)
        assert im.info.get("loop") == 0
        frames, durations = [], []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
            frames.append(im.convert("RGB"))
    assert durations == [1200, 1200, 1200, 2400]  # the last year held
    for a, b in itertools.pairwise(frames):
        # the year in large type (top right) differs between every two frames
        corner = (440, 0, 640, 60)
        assert ImageChops.difference(a.crop(corner), b.crop(corner)).getbbox() is not None


def test_an_mp4_is_a_valid_h264_video_of_the_years(renderer, reference_store, data, tmp_path):
    import imageio_ffmpeg

    payload, name = animation.export_animation(
        reference_store, VIEW, "mp4", data=data, seconds_per_frame=0.5, **SMALL
    )
    assert name.endswith(".mp4")
    assert payload[4:8] == b"ftyp"  # an ISO media file
    path = Path(tmp_path / name)
    path.write_bytes(payload)
    n_frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert seconds == pytest.approx((4 + 1) * 0.5, abs=0.15)  # 4 years, the last held
    assert n_frames == pytest.approx(seconds * animation.MP4_FPS, abs=2)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    assert meta["size"] == (640, 360) and meta["codec"] == "h264"
