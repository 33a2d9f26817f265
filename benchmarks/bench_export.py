"""Benchmark of the static export: one long-lived browser against a browser per image.

Prints, from one run on this machine, for a PNG of the national county map (the heaviest
figure the atlas draws: ~2,900 county shapes, flows, inset) with the export footer:
  (a) baseline: a cold export per image, the way ``plotly.io.write_image`` works when no
      kaleido server runs (a Chromium is started and stopped for every image; MathJax
      off so that it stays offline);
  (b) ``twinning.export``: the first image on a fresh long-lived browser (includes the
      start), then steady-state images on the same browser;
  (c) for scale, building the figure itself (``twinning.figures.map_figure``), and an SVG
      and a PPTX deck on the warm browser.

No pass/fail thresholds: the numbers go into the README.
Run: ``.venv/bin/python benchmarks/bench_export.py [--reps 3] [--query "lang=en&..."]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import plotly.io as pio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from twinning import deck, footer, render
from twinning.view import View

QUERY = "lang=zh&level=county&metric=funds_cny"
WIDTH, HEIGHT = 1400, 1000


def _time(fn, reps: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--query", default=QUERY)
    args = parser.parse_args(argv)

    import kaleido

    t0 = time.perf_counter()
    view = View.of(args.query)
    t_data = time.perf_counter() - t0
    fig_times, fig = _time(lambda: view.figure("map"), 1)
    fig_dict, _ = footer.frame_dict(
        fig.to_dict(),
        sources=view.sources("map"),
        note=view.notes("map"),
        title=view.title("map"),
        lang=view.lang,
        width=WIDTH,
        height=HEIGHT,
    )
    fig_dict["layout"].update(width=WIDTH, height=HEIGHT)
    topojson = render.configure_offline()
    opts = {"format": "png", "width": WIDTH, "height": HEIGHT, "scale": 1}
    size_mb = len(pio.to_json(fig_dict, validate=False)) / 1e6

    # (a) baseline: a browser per image (no server running yet)
    assert not kaleido._global_server.is_running()
    cold, png_cold = _time(
        lambda: kaleido.calc_fig_sync(
            fig_dict, opts=opts, topojson=topojson, kopts={"mathjax": False}
        ),
        args.reps,
    )

    # (b) the long-lived browser
    renderer = render.RENDERER
    t0 = time.perf_counter()
    first_png = renderer.render(fig_dict, "png", WIDTH, HEIGHT, 1)
    first = time.perf_counter() - t0
    warm, png_warm = _time(lambda: renderer.render(fig_dict, "png", WIDTH, HEIGHT, 1), args.reps)
    svg_times, svg = _time(lambda: renderer.render(fig_dict, "svg", WIDTH, HEIGHT, 1), 1)
    pptx_times, pptx = _time(lambda: deck.export_pptx(view), 1)
    renderer.stop()
    assert png_cold[:8] == png_warm[:8] == first_png[:8] == b"\x89PNG\r\n\x1a\n"

    med_cold, med_warm = statistics.median(cold), statistics.median(warm)
    rows = [
        ("load data (store -> AtlasData)", t_data, ""),
        ("build county map figure", fig_times[0], f"{size_mb:.1f} MB figure JSON"),
        (f"PNG, cold browser per image (baseline, median of {args.reps})", med_cold, "1.00x"),
        ("PNG, long-lived browser: first image (incl. start)", first, f"{med_cold / first:.2f}x"),
        (
            f"PNG, long-lived browser: next images (median of {args.reps})",
            med_warm,
            f"{med_cold / med_warm:.2f}x",
        ),
        ("SVG, long-lived browser", svg_times[0], f"{len(svg) / 1e6:.1f} MB"),
        ("PPTX deck (map + series PNG, sources)", pptx_times[0], f"{len(pptx) / 1e6:.1f} MB"),
    ]
    print(f"view: {args.query}  image {WIDTH}x{HEIGHT} px, PNG {len(png_warm) / 1e3:.0f} KB")
    print(f"{'step':<62} {'seconds':>8}  {'note / speed-up vs baseline'}")
    for name, secs, note in rows:
        print(f"{name:<62} {secs:8.2f}  {note}")
    print(f"cold runs: {', '.join(f'{x:.2f}' for x in cold)}")
    print(f"warm runs: {', '.join(f'{x:.2f}' for x in warm)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
