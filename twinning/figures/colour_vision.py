"""How the atlas's colours look to readers with a colour-vision deficiency (issue #13).

About one man in twelve in China sees red and green less apart than the palette's author.
This module simulates the three dichromacies with the matrices of Machado, Oliveira &
Fernandes (2009), "A Physiologically-based Model for Simulation of Color Vision
Deficiency", IEEE TVCG 15(6) — severity 1.0, applied to linear sRGB — and measures how far
apart two colours are with CIEDE2000 (Sharma, Wu & Dalal 2005), so a test can hold the
palette (``twinning.figures.palette``) to a minimum distance under each of them.

Plain numpy, no dash, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import combinations

import numpy as np

# Machado et al. (2009), Table 1 at severity 1.0: linear RGB -> linear RGB.
MACHADO: dict[str, np.ndarray] = {
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}
VISIONS: tuple[str, ...] = ("normal", *MACHADO)

# sRGB (D65) -> XYZ, and the D65 white point (IEC 61966-2-1)
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_WHITE = _RGB_TO_XYZ @ np.ones(3)


def hex_to_rgb(colour: str) -> np.ndarray:
    """'#1d3f8f' -> sRGB in [0, 1]."""
    text = colour.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected a colour as #rrggbb, got {colour!r}")
    return np.array([int(text[i : i + 2], 16) / 255 for i in (0, 2, 4)])


def to_linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def simulate(colour: str, vision: str) -> np.ndarray:
    """sRGB in [0, 1] of ``colour`` as seen with ``vision`` ('normal' or a dichromacy)."""
    rgb = hex_to_rgb(colour)
    if vision == "normal":
        return rgb
    if vision not in MACHADO:
        raise ValueError(f"unknown vision {vision!r}; expected one of {VISIONS}")
    return to_srgb(MACHADO[vision] @ to_linear(rgb))


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB colour in [0, 1]."""
    xyz = (_RGB_TO_XYZ @ to_linear(rgb)) / _WHITE
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def ciede2000(lab1: Sequence[float], lab2: Sequence[float]) -> float:
    """The CIEDE2000 colour difference ΔE00 (kL = kC = kH = 1)."""
    l1, a1, b1 = (float(x) for x in lab1)
    l2, a2, b2 = (float(x) for x in lab2)
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    c_bar7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - math.sqrt(c_bar7 / (c_bar7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dlp, dcp = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dhp = 0.0
    elif abs(h2p - h1p) <= 180:
        dhp = h2p - h1p
    else:
        dhp = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dhp_big = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dhp / 2))
    lbp, cbp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    else:
        hbp = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(hbp - 30))
        + 0.24 * math.cos(math.radians(2 * hbp))
        + 0.32 * math.cos(math.radians(3 * hbp + 6))
        - 0.20 * math.cos(math.radians(4 * hbp - 63))
    )
    d_theta = 30 * math.exp(-(((hbp - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cbp**7 / (cbp**7 + 25**7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / math.sqrt(20 + (lbp - 50) ** 2)
    sc = 1 + 0.045 * cbp
    sh = 1 + 0.015 * cbp * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt(
        (dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp_big / sh) ** 2 + rt * (dcp / sc) * (dhp_big / sh)
    )


def distance(colour1: str, colour2: str, vision: str = "normal") -> float:
    """ΔE00 between two colours as seen with ``vision``."""
    return ciede2000(lab(simulate(colour1, vision)), lab(simulate(colour2, vision)))


def closest_pair(colours: Iterable[str], vision: str = "normal") -> tuple[float, str, str]:
    """(ΔE00, colour, colour) of the two colours that look most alike with ``vision``."""
    pairs = [(distance(a, b, vision), a, b) for a, b in combinations(list(colours), 2)]
    if not pairs:
        raise ValueError("need at least two colours")
    return min(pairs)


def lightness(colour: str, vision: str = "normal") -> float:
    """L* of ``colour`` as seen with ``vision`` (a sequential scale must keep its order)."""
    return float(lab(simulate(colour, vision))[0])


def contrast_ratio(colour1: str, colour2: str) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (1 to 21)."""

    def luminance(colour: str) -> float:
        return float(np.array([0.2126, 0.7152, 0.0722]) @ to_linear(hex_to_rgb(colour)))

    hi, lo = sorted((luminance(colour1), luminance(colour2)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
