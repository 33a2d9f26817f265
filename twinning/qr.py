"""QR codes of a view's link, made offline with segno (issue #9): the share menu shows one
as SVG, the PowerPoint deck's title slide carries one as PNG, so an audience can open the
view on their phones. No network, no dash."""

from __future__ import annotations

import io

# "M" recovers from ~15 % damage: a code on a projected slide or a printout still reads.
ERROR_LEVEL = "m"


def _code(link: str):
    import segno

    if not link:
        raise ValueError("a QR code needs a link")
    return segno.make(link, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_svg(link: str, scale: int = 4, title: str | None = None) -> str:
    """The QR code of ``link`` as an inline ``<svg>`` (black on white, quiet zone of 4)."""
    return _code(link).svg_inline(
        scale=scale, border=4, dark="#000", light="#fff", title=title, svgclass="qr-code"
    )


def qr_svg_data_uri(link: str, scale: int = 4) -> str:
    """The same SVG as a ``data:`` URI (for an ``<img>``)."""
    return _code(link).svg_data_uri(scale=scale, border=4, dark="#000", light="#fff")


def qr_png(link: str, scale: int = 10) -> bytes:
    """The QR code of ``link`` as PNG bytes (``scale`` pixels a module)."""
    buf = io.BytesIO()
    _code(link).save(buf, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    return buf.getvalue()
