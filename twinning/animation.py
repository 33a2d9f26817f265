"""Animated exports (issue #9): the time playback of a view as a GIF or an MP4 for a slide.

One frame per year of the view's range, as the atlas's playback steps (``year=`` in mode
*this year* or *cumulative to this year*). Each frame is the PNG export of that year's view
(:func:`twinning.footer.frame_dict`: title with the year, the year's sources line, the notes)
with the year in large type in a corner, and the period figures it shows named on it
("period figure 2006–2010"): a period figure is shown at its full value in every year of its
period, never divided, so a reader must be told which years are really one figure.

Every frame has the same size and the same footer height (shorter footers are padded), and
a metric map keeps one colour scale for the whole animation, so the map does not jump or
change meaning between frames.

Why frames are rendered one by one: kaleido draws a figure's first state only (plotly's
``frames`` need ``Plotly.animate`` in a page), so "render once with plotly frames" is not a
path to images. Each year is one render in the export's long-lived browser; the next year's
figure is built while the browser draws the current one.

Bounded: at most TWINNING_ANIMATION_MAX_FRAMES frames (else a message saying to narrow the
years), at most MAX_WIDTH x MAX_HEIGHT pixels, at most TWINNING_ANIMATION_SECONDS in all
(checked between frames, each render under the renderer's own timeout). Frames stream to
the encoder: an MP4 holds one frame in Python at a time (ffmpeg reads them from a pipe); a
GIF holds its palette frames (1 byte a pixel: 40 frames of 1280x720 are ~37 MB).

Encoders: GIF with Pillow (the ``export`` extra); MP4 with the ffmpeg binary that the
``imageio-ffmpeg`` wheel ships, or an ``ffmpeg`` on PATH (Debian's). When the encoder is
missing the export stops before rendering anything, with a message in the view's language.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlencode, urlsplit

from twinning import i18n, settings
from twinning import query as agg
from twinning.footer import frame_dict, sources_line, wrap_text
from twinning.render import RENDERER, ExportError
from twinning.view import View

FORMATS: tuple[str, ...] = ("gif", "mp4")
MEDIA_TYPES: dict[str, str] = {"gif": "image/gif", "mp4": "video/mp4"}
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1280, 720  # 16:9, a slide
MAX_WIDTH, MAX_HEIGHT = 1920, 1080
MIN_WIDTH, MIN_HEIGHT = 480, 320
DEFAULT_SECONDS_PER_FRAME = 1.2  # the playback's default speed (components/playback.py)
HOLD_LAST = 2  # the last year stays twice as long before the animation loops or ends
MP4_FPS = 10  # the MP4's own frame rate (ffmpeg repeats each year's frame)
MAX_PERIODS_NAMED = 4

# This module's words are the catalog's "animation.<key>" messages (twinning/locale).
I18N_PREFIX = "animation."


def tr(key: str, lang: str, **fmt: object) -> str:
    return i18n.t(I18N_PREFIX + key, lang, **fmt)


class EncoderMissing(ExportError):
    """The GIF or MP4 encoder is not installed; the message says how to install it."""


# ---------------------------------------------------------------------------------------
# Encoders
# ---------------------------------------------------------------------------------------


def ffmpeg_exe() -> str | None:
    """The ffmpeg binary: imageio-ffmpeg's (inside its wheel), else one on PATH."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and os.access(exe, os.X_OK):
            return exe
    except (ImportError, RuntimeError):
        pass
    return shutil.which("ffmpeg")


def check_encoder(fmt: str, lang: str) -> None:
    """Raise :class:`EncoderMissing` (in ``lang``) unless ``fmt`` can be written here."""
    if fmt == "gif":
        try:
            import PIL.GifImagePlugin  # noqa: F401
        except ImportError as exc:
            raise EncoderMissing(tr("no_gif_encoder", lang)) from exc
    elif fmt == "mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError as exc:
            raise EncoderMissing(tr("no_mp4_encoder", lang)) from exc
        if ffmpeg_exe() is None:
            raise EncoderMissing(tr("no_mp4_encoder", lang))
    else:
        raise ExportError(f"format {fmt!r} is not an animation format; use gif or mp4")


def write_gif(frames: Iterator[Any], n: int, out: BinaryIO, seconds: float) -> None:
    """An endlessly looping GIF of ``n`` RGB frames (Pillow), each ``seconds`` long."""
    first = next(frames)
    ms = round(seconds * 1000)
    durations = [ms] * (n - 1) + [ms * HOLD_LAST]
    first.save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames,
        duration=durations if n > 1 else ms * HOLD_LAST,
        loop=0,
        optimize=False,
        disposal=1,
    )


def write_mp4(frames: Iterator[Any], path: Path, size: tuple[int, int], seconds: float) -> None:
    """An H.264 MP4 (yuv420p, plays in PowerPoint and browsers) of RGB frames through
    ffmpeg's stdin: one frame in Python at a time."""
    import imageio_ffmpeg

    exe = ffmpeg_exe()
    if exe is None:  # checked before rendering; here only if it vanished meanwhile
        raise EncoderMissing("ffmpeg")
    os.environ.setdefault("IMAGEIO_FFMPEG_EXE", exe)
    writer = imageio_ffmpeg.write_frames(
        str(path),
        size,
        fps=1.0 / seconds,
        codec="libx264",
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        macro_block_size=2,
        quality=None,
        ffmpeg_log_level="error",
        output_params=["-r", str(MP4_FPS), "-crf", "23", "-movflags", "+faststart", "-f", "mp4"],
    )
    writer.send(None)  # start ffmpeg
    try:
        last = None
        for frame in frames:
            writer.send(frame.tobytes())
            last = frame
        for _ in range(HOLD_LAST - 1):  # hold the last year (a repeated input frame)
            if last is not None:
                writer.send(last.tobytes())
    except (OSError, RuntimeError) as exc:  # ffmpeg stopped: its own words are in exc
        raise ExportError(f"ffmpeg could not write the MP4: {exc}") from exc
    finally:
        writer.close()


# ---------------------------------------------------------------------------------------
# Frames: which years, what each shows
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_frames: int
    seconds: float

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_frames=max(1, settings.get_int("TWINNING_ANIMATION_MAX_FRAMES")),
            seconds=max(1.0, settings.get_float("TWINNING_ANIMATION_SECONDS")),
        )


def _query_part(query: str) -> str:
    if "?" in (query or "") or "://" in (query or ""):
        query = urlsplit(query).query
    return (query or "").lstrip("?")


def range_query(query: str) -> str:
    """The view's query without its single year, mode and playing state: the range to
    play (``from``/``to`` kept)."""
    drop = ("year", "play", "mode")
    return urlencode([(k, v) for k, v in parse_qsl(_query_part(query)) if k not in drop])


def frame_years(data: agg.AtlasData, filters: agg.Filters) -> list[int]:
    """One frame per year of the view's range (``from``/``to``, else the slider's)."""
    lo, hi = agg.year_bounds(data)
    first = filters.year_from or lo
    last = filters.year_to or hi
    first, last = max(first, lo), min(last, hi)
    return list(range(first, last + 1))


def year_mode(query: str) -> str:
    """The playback's mode the view asks for (``mode=cumulative``), else "year"."""
    return agg.Filters.from_query(_query_part(query) + "&year=2000").mode


def year_filters(base: agg.Filters, year: int, mode: str = "year") -> agg.Filters:
    """The view at one year, as the playback shows it: that year, or cumulative to it."""
    return replace(base, year=year, mode=mode, play=False)


def frame_periods(data: agg.AtlasData, filters: agg.Filters) -> list[tuple[int | None, int, int]]:
    """(start, end, figures) of the period (start < end) and cumulative (start None)
    figures a metric map of one year shows: they are marked on the frame."""
    if not filters.metric:
        return []
    from twinning.query.atlas import level_column, where

    cond, params = where(filters, "totals")
    params["metric"] = filters.metric
    col = level_column(filters.level)
    rows = data.summary.rows(
        "SELECT period_start, period_end, SUM(n) FROM figure_totals "
        f"WHERE {cond} AND metric = :metric AND {col} IS NOT NULL AND period_end IS NOT NULL "
        "AND (period_start IS NULL OR period_start <> period_end) "
        "GROUP BY period_start, period_end HAVING SUM(n) > 0",
        params,
    )
    out = [(None if s is None else int(s), int(e), int(n)) for s, e, n in rows]
    return sorted(out, key=lambda r: (r[0] is None, -(r[2]), r[0] or 0, r[1]))


def periods_text(periods: list[tuple[int | None, int, int]], lang: str) -> str:
    """'Period figures on this frame: 2006–2010 (12), to 2022 (3) …' ('' when none)."""
    if not periods:
        return ""
    sep = "，" if lang == "zh" else ", "
    named = []
    for start, end, n in periods[:MAX_PERIODS_NAMED]:
        span = f"{start}–{end}" if start is not None else tr("to_year", lang, year=end)
        named.append(tr("period_item", lang, span=span, n=n))
    text = sep.join(named)
    if len(periods) > MAX_PERIODS_NAMED:
        text += tr("more_periods", lang, n=len(periods) - MAX_PERIODS_NAMED)
    return tr("periods", lang, periods=text)


def badge_text(periods: list[tuple[int | None, int, int]], lang: str) -> str:
    """The small line under the big year: 'period figure 2006–2010' (the first one)."""
    spans = [p for p in periods if p[0] is not None]
    if not spans:
        return tr("badge_cumulative", lang) if periods else ""
    start, end, _ = spans[0]
    return tr(
        "badge_period" if len(spans) == 1 else "badge_periods",
        lang,
        span=f"{start}–{end}",
        n=len(spans) - 1,
    )


@dataclass
class Frame:
    year: int
    view: View
    notes: list[str]
    sources: list[Any]
    periods: list[tuple[int | None, int, int]]


def _frame(view: View, year: int, mode: str) -> Frame:
    fview = view.with_filters(year_filters(view.filters, year, mode))
    periods = frame_periods(fview.data, fview.filters)
    marked = periods_text(periods, fview.lang)
    notes = [n for n in [marked, *fview.notes("map")] if n]
    return Frame(year, fview, notes, fview.sources("map"), periods)


def footer_lines(frame: Frame, width: int) -> int:
    """How many lines :func:`twinning.footer.frame_dict` will write under this frame."""
    font_size = max(10, round(width / 110))
    paras = [sources_line(frame.sources, frame.view.lang, 6), *frame.notes]
    return sum(len(wrap_text(p, max(200, width - 24), font_size)) for p in paras)


# ---------------------------------------------------------------------------------------
# One colour scale for all frames
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    lo: float  # in z units (log10 when log)
    hi: float
    log: bool


def common_scale(frames: list[Frame]) -> Scale | None:
    """The metric map's colour range over all frames, decided as the map decides one
    (log when the largest value is >= 100x the smallest)."""
    if not frames or not frames[0].view.filters.metric:
        return None
    from twinning.figures import geojson as gj

    f0 = frames[0].view.filters
    shown = set(gj.level_locations(f0.level, f0.recipient))
    vals: list[float] = []
    for fr in frames:
        pv = agg.place_values(fr.view.data, fr.view.filters)
        vals.extend(
            float(r.value)
            for r in pv.values.itertuples(index=False)
            if float(r.value) > 0 and str(r.adcode) in shown
        )
    if not vals:
        return None
    vmin, vmax = min(vals), max(vals)
    log = vmax / vmin >= 100
    lo, hi = (math.log10(vmin), math.log10(vmax)) if log else (vmin, vmax)
    if hi - lo < 1e-9:
        lo, hi = (lo - 1, hi) if log else (0.0, hi or 1.0)
    return Scale(lo, hi, log)


def apply_scale(fig: dict[str, Any], scale: Scale, frame: Frame) -> None:
    """Put the frame's metric values on the common colour scale (z, range, ticks)."""
    from twinning.figures.map import NO_DATA_SHARE, _nice_ticks

    meta = (fig.get("layout") or {}).get("meta") or {}
    idx = meta.get("main") if isinstance(meta, dict) else None
    if idx is None or idx >= len(fig.get("data") or []):
        return
    trace = fig["data"][idx]
    from twinning.figures import geojson as gj

    f = frame.view.filters
    pv = agg.place_values(frame.view.data, f)
    by_code = {str(r.adcode): float(r.value) for r in pv.values.itertuples(index=False)}
    locations = gj.level_locations(f.level, f.recipient)
    z: list[float | None] = []
    for code in locations:  # the map's own order and choice of what is drawn
        v = by_code.get(code)
        if v is None or v <= 0:
            z.append(None)
        else:
            z.append(round(math.log10(v), 5) if scale.log else float(f"{v:.6g}"))
    if len(z) != len(trace.get("z") or []):
        return
    gap = (scale.hi - scale.lo) * NO_DATA_SHARE / (1 - NO_DATA_SHARE)
    no_data_z = scale.lo - gap
    ticks = _nice_ticks(scale.lo, scale.hi, scale.log)
    lang = frame.view.lang
    trace["z"] = z
    trace["zmin"], trace["zmax"] = no_data_z, scale.hi
    bar = dict(trace.get("colorbar") or {})
    bar["tickvals"] = [no_data_z + gap / 2, *ticks]
    bar["ticktext"] = [
        i18n.t("map_no_data", lang),
        *[i18n.format_value(10**x if scale.log else x, pv.unit, lang) for x in ticks],
    ]
    trace["colorbar"] = bar
    trace["showscale"] = True


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------


def _badge(fig: dict[str, Any], year_text: str, sub: str, width: int) -> None:
    """The year in large type at the top right (what the audience follows), and under it
    the period figures' mark."""
    layout = fig.setdefault("layout", {})
    size = max(28, round(width / 22))
    notes = list(layout.get("annotations") or [])
    notes.append(
        _top_right(
            f"<b>{i18n_escape(year_text)}</b>",
            "animation-year",
            yshift=-6,
            font={"size": size, "color": "#b3261e"},
        )
    )
    if sub:
        notes.append(
            _top_right(
                i18n_escape(sub),
                "animation-period",
                yshift=-(size * 1.35 + 8),
                font={"size": max(11, round(size * 0.36)), "color": "#b3261e"},
                bgcolor="rgba(255,255,255,0.85)",
            )
        )
    layout["annotations"] = notes


def _top_right(text: str, name: str, **props: Any) -> dict[str, Any]:
    """An annotation at the top right of the image, ``yshift`` pixels down."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "container",
        "x": 1,
        "y": 1,
        "xanchor": "right",
        "yanchor": "top",
        "showarrow": False,
        **props,
        "name": name,
    }


def i18n_escape(text: str) -> str:
    from twinning.figures.markup import esc

    return esc(text)


def frame_dicts(
    view: View, years: list[int], width: int, height: int, mode: str = "year"
) -> tuple[list[Frame], Callable[[Frame], dict[str, Any]]]:
    """The frames and the function that builds one frame's framed figure dict."""
    frames = [_frame(view, y, mode) for y in years]
    n_lines = max(footer_lines(f, width) for f in frames)
    scale = common_scale(frames)

    def build(frame: Frame) -> dict[str, Any]:
        fig = frame.view.figure("map").to_dict()
        if scale is not None:
            apply_scale(fig, scale, frame)
        pad = [" "] * (n_lines - footer_lines(frame, width))  # same footer height on all
        framed, _ = frame_dict(
            fig,
            sources=frame.sources,
            note=[*frame.notes, *pad],
            title=frame.view.title("map"),
            lang=frame.view.lang,
            width=width,
            height=height,
        )
        _badge(framed, frame.view.years(), badge_text(frame.periods, frame.view.lang), width)
        framed["layout"].update(width=width, height=height)
        return framed

    return frames, build


def render_frames(
    view: View,
    years: list[int],
    width: int,
    height: int,
    deadline: float,
    progress: Callable[[int, int], None] | None = None,
    mode: str = "year",
) -> Iterator[Any]:
    """RGB Pillow images, one per year, rendered one at a time; the next frame's figure is
    built while the browser draws this one. Raises ExportError past ``deadline``."""
    from PIL import Image

    frames, build = frame_dicts(view, years, width, height, mode)
    lang = view.lang
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="twinning-frame") as pool:
        pending = pool.submit(build, frames[0])
        for i in range(len(frames)):
            fig = pending.result()
            if i + 1 < len(frames):
                pending = pool.submit(build, frames[i + 1])
            if time.monotonic() > deadline:
                raise ExportError(tr("too_slow", lang, done=i, n=len(frames)))
            png = RENDERER.render(fig, "png", width, height, 1.0)
            del fig
            with Image.open(io.BytesIO(png)) as im:
                rgb = im.convert("RGB")
            if rgb.size != (width, height):
                rgb = rgb.resize((width, height))
            if progress:
                progress(i + 1, len(frames))
            yield rgb


# ---------------------------------------------------------------------------------------
# The export
# ---------------------------------------------------------------------------------------


def _size(width: int | None, height: int | None, lang: str) -> tuple[int, int]:
    w, h = int(width or DEFAULT_WIDTH), int(height or DEFAULT_HEIGHT)
    if not (MIN_WIDTH <= w <= MAX_WIDTH and MIN_HEIGHT <= h <= MAX_HEIGHT):
        raise ExportError(
            tr(
                "bad_size",
                lang,
                w=w,
                h=h,
                min_w=MIN_WIDTH,
                min_h=MIN_HEIGHT,
                max_w=MAX_WIDTH,
                max_h=MAX_HEIGHT,
            )
        )
    return w - w % 2, h - h % 2  # H.264 wants even sides


def plan(
    store: Any,
    query: str,
    *,
    data: agg.AtlasData | None = None,
    limits: Limits | None = None,
    today=None,
) -> tuple[View, list[int]]:
    """The view of the range to play and its years, refused past the frame limit."""
    limits = limits or Limits.from_settings()
    view = View.of(range_query(query), store=store, data=data, today=today)
    years = frame_years(view.data, view.filters)
    if not years:
        raise ExportError(tr("no_years", view.lang))
    if len(years) > limits.max_frames:
        raise ExportError(
            tr(
                "too_many_frames",
                view.lang,
                n=len(years),
                max=limits.max_frames,
                first=years[0],
                last=years[-1],
            )
        )
    return view, years


def export_animation(
    store: Any,
    query: str,
    fmt: str,
    *,
    width: int | None = None,
    height: int | None = None,
    seconds_per_frame: float | None = None,
    data: agg.AtlasData | None = None,
    today: Any = None,
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
    out: Path | None = None,
) -> tuple[bytes | None, str]:
    """A GIF or MP4 of the view's years: bytes (or written to ``out``, then None) and its
    file name. The encoder is checked, the frames counted and the size bounded before any
    frame is drawn."""
    fmt = fmt.lower().lstrip(".")
    limits = limits or Limits.from_settings()
    lang = agg.Filters.from_query(range_query(query)).lang
    if fmt not in FORMATS:
        raise ExportError(f"format {fmt!r} is not an animation format; use gif or mp4")
    check_encoder(fmt, lang)
    w, h = _size(width, height, lang)
    seconds = float(seconds_per_frame or DEFAULT_SECONDS_PER_FRAME)
    if not 0.2 <= seconds <= 10:
        raise ExportError(tr("bad_speed", lang))
    view, years = plan(store, query, data=data, limits=limits, today=today)
    deadline = time.monotonic() + limits.seconds
    frames = render_frames(view, years, w, h, deadline, progress, year_mode(query))
    name = view.filename("map", fmt).replace("_map_", "_animation_", 1)
    try:
        if fmt == "gif":
            if out is not None:
                with open(out, "wb") as fh:
                    write_gif(frames, len(years), fh, seconds)
                return None, name
            buf = io.BytesIO()
            write_gif(frames, len(years), buf, seconds)
            return buf.getvalue(), name
        if out is not None:
            write_mp4(frames, out, (w, h), seconds)
            return None, name
        with tempfile.TemporaryDirectory(prefix="twinning-mp4-") as tmp:
            path = Path(tmp) / "animation.mp4"
            write_mp4(frames, path, (w, h), seconds)
            return path.read_bytes(), name
    finally:
        frames.close()


def cli_export_animation(args: Any) -> int:
    """``twinning export QUERY -o funds.gif|funds.mp4 [--width] [--height] [--seconds]``."""
    output = Path(args.output)
    fmt = output.suffix.lower().lstrip(".")
    query = getattr(args, "query", "") or ""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f"{output.stem}.part{output.suffix}")  # ffmpeg reads the suffix
    started = time.monotonic()

    def progress(i: int, n: int) -> None:
        print(f"\r{i}/{n}", end="", file=sys.stderr, flush=True)

    try:
        export_animation(
            None,
            query,
            fmt,
            width=getattr(args, "width", None),
            height=getattr(args, "height", None),
            seconds_per_frame=getattr(args, "seconds", None),
            progress=progress if sys.stderr.isatty() else None,
            out=tmp,
        )
    except ExportError as exc:
        tmp.unlink(missing_ok=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        RENDERER.stop()
    tmp.replace(output)
    size = output.stat().st_size
    print(f"{output} ({size:,} bytes, {time.monotonic() - started:.1f} s)")
    return 0
