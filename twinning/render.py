"""Offline rendering of figures to PNG, SVG and PDF with one long-lived headless Chromium.

plotly.js is the atlas's own bundle (``assets/vendor/plotly-atlas.min.js``, the one the
screen draws with), so an export draws what the screen draws, patches and all: the
``plotly`` package's copy ended the outlines of tiny islets, drawn as shapes, in spikes
(#7). A map that needs plotly's base map would load ``world_110m.json`` from the
project's ``assets/vendor/`` folder (a ``file://`` URL; the atlas's maps do not); MathJax
is off. One browser (kaleido's) is kept alive for the process, because starting a browser
per image costs seconds. Used by ``twinning.export`` (images, decks) and
``twinning.animation`` (frames). No dash here.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from typing import Any

import plotly.graph_objects as go

from twinning.paths import ASSETS_DIR, PLOTLY_BUNDLE

TOPOJSON_FILE = "world_110m.json"


class ExportError(ValueError):
    """An export that cannot be made, with a message a person can act on."""


def topojson_url() -> str:
    """``file://.../assets/vendor/`` (the folder plotly.js reads world_110m.json from)."""
    folder = ASSETS_DIR / "vendor"
    if not (folder / TOPOJSON_FILE).is_file():
        raise ExportError(
            f"{folder / TOPOJSON_FILE} is missing: plotly's map needs it and must not fetch "
            "it from the internet. Restore it (see assets/vendor/README.md)."
        )
    return folder.as_uri() + "/"


def configure_offline() -> str:
    """Point plotly's own image export at the shipped topojson too (``plotly.io.to_image``
    and ``write_image`` in the same process then work offline). Returns the URL."""
    import plotly.io as pio

    url = topojson_url()
    pio.defaults.topojson = url
    return url


class Renderer:
    """One headless Chromium (a ``kaleido.Kaleido``), started on first use, kept alive.

    Not ``kaleido.start_sync_server``: that singleton blocks forever when the browser
    cannot start (its worker thread dies and the caller waits on a queue), has no
    timeout, and mixes up results when two threads call it (Dash serves callbacks from
    several threads). Here the browser lives on an event loop in its own thread; every
    render is a future with a timeout; a failed browser is dropped and the image falls
    back to a one-off browser, then to a clear error.
    """

    def __init__(self, timeout: float = 90.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: Any = None
        self._failed: str | None = None
        self._atexit = False

    @property
    def running(self) -> bool:
        return self._kaleido is not None

    def start(self) -> bool:
        """Start the browser; False (reason in ``failure``) if it cannot start."""
        import kaleido

        with self._lock:
            if self._kaleido is not None:
                return True
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="twinning-export-browser", daemon=True
            )
            thread.start()

            async def _open() -> Any:
                k = kaleido.Kaleido(
                    n=1, mathjax=False, timeout=self.timeout, plotlyjs=PLOTLY_BUNDLE.as_uri()
                )
                await k.open()
                return k

            try:
                k = asyncio.run_coroutine_threadsafe(_open(), loop).result(self.timeout)
            except Exception as exc:
                self._failed = f"{type(exc).__name__}: {exc}"
                loop.call_soon_threadsafe(loop.stop)
                thread.join(5)
                return False
            self._loop, self._thread, self._kaleido, self._failed = loop, thread, k, None
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
            return True

    @property
    def failure(self) -> str | None:
        return self._failed

    def stop(self) -> None:
        """Close the browser (the CLI does this before it exits; tests at session end)."""
        with self._lock:
            k, loop, thread = self._kaleido, self._loop, self._thread
            self._kaleido = self._loop = self._thread = None
        if k is None or loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(k.close(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)

    def render(
        self, fig: go.Figure | dict, fmt: str, width: int, height: int, scale: float
    ) -> bytes:
        """Image bytes; offline (the atlas's plotly.js and base map, no MathJax)."""
        import kaleido

        topojson = configure_offline()
        fig_dict = fig.to_dict() if isinstance(fig, go.Figure) else fig
        opts = {"format": fmt, "width": int(width), "height": int(height), "scale": scale}
        if self.running or self.start():
            k, loop = self._kaleido, self._loop
            try:
                future = asyncio.run_coroutine_threadsafe(
                    k.calc_fig(fig_dict, opts=opts, topojson=topojson), loop
                )
                return future.result(self.timeout + 10)
            except Exception as exc:
                self._failed = f"{type(exc).__name__}: {exc}"
                self.stop()
        try:
            return kaleido.calc_fig_sync(
                fig_dict,
                opts=opts,
                topojson=topojson,
                kopts={"mathjax": False, "plotlyjs": PLOTLY_BUNDLE.as_uri()},
            )
        except Exception as exc:
            raise ExportError(
                f"could not render the {fmt.upper()} image with headless Chromium "
                f"({type(exc).__name__}: {exc}). Install Debian's chromium "
                "(apt-get install chromium) or point BROWSER_PATH at a Chrome/Chromium."
            ) from exc


RENDERER = Renderer()
