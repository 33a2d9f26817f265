"""One palette for the whole atlas, chosen to stay readable on a projector.

Sequential colours run from a pale sand to a deep red (high contrast at both ends, no
light yellow that washes out on a beamer); donor and programme colours are saturated and
distinct; places without data are a light grey that still shows against the white page.
"""

from __future__ import annotations

INK = "#1f2933"
MUTED = "#6b7280"
PRIMARY = "#b3261e"
NO_DATA = "#e5e7eb"
BORDER = "#ffffff"
OUTLINE = "#4b5563"
NEIGHBOUR = "#fafafa"
WATER = "#f8fafc"
MULTIPLE = "#b8bfcc"

SEQUENTIAL: tuple[str, ...] = ("#fbe3c6", "#f6b27a", "#e87a4c", "#c8432f", "#8a1c14")

# Donor provinces, most frequent first (D3 category20 order: dark then light of each hue).
CATEGORICAL: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#9edae5",
    "#dbdb8d",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
)

# Programme colours of the flow lines: mid-dark (L* 30-62, >= 3:1 on white, WCAG 1.4.11),
# away from the map's reds, and at least ΔE00 10 apart from each other with normal vision
# and simulated protanopia, deuteranopia and tritanopia (tests/test_colour_vision.py;
# the 2024 set fell to ΔE00 3.8 under deuteranopia). Never colour alone: each programme
# also has its own dash pattern, and the legend names it.
PROGRAMS: dict[str, str] = {
    "east_west_cooperation": "#1447e6",
    "counterpart_support_xinjiang": "#007050",
    "counterpart_support_tibet": "#5b3a8c",
    "counterpart_support_qinghai": "#5c4a00",
    "three_gorges": "#0891b2",
    "other": "#3f4752",
}
# Line pattern of each programme's flows (plotly ``line.dash``); "dot" is kept for the
# flows with no reported figure, whatever their programme.
PROGRAM_DASHES: dict[str, str] = {
    "east_west_cooperation": "solid",
    "counterpart_support_xinjiang": "dash",
    "counterpart_support_tibet": "dashdot",
    "counterpart_support_qinghai": "longdash",
    "three_gorges": "longdashdot",
    "other": "8px,3px,2px,3px,2px,3px",
}
NO_FIGURE_DASH = "dot"

FONT_FAMILY = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif'
)


def donor_colour(index: int) -> str:
    return CATEGORICAL[index % len(CATEGORICAL)]


def program_colour(program: str, index: int = 0) -> str:
    return PROGRAMS.get(program, CATEGORICAL[(index + 3) % len(CATEGORICAL)])


def program_dash(program: str, index: int = 0) -> str:
    """The line pattern of a programme's flows; programmes from imports take the
    patterns in turn."""
    if program in PROGRAM_DASHES:
        return PROGRAM_DASHES[program]
    patterns = list(PROGRAM_DASHES.values())
    return patterns[index % len(patterns)]
