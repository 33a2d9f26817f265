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

PROGRAMS: dict[str, str] = {
    "east_west_cooperation": "#1d3f8f",
    "counterpart_support_xinjiang": "#0b6e69",
    "counterpart_support_tibet": "#6a1b7a",
    "counterpart_support_qinghai": "#9a6b00",
    "three_gorges": "#2e7d32",
    "other": "#374151",
}

FONT_FAMILY = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif'
)


def donor_colour(index: int) -> str:
    return CATEGORICAL[index % len(CATEGORICAL)]


def program_colour(program: str, index: int = 0) -> str:
    return PROGRAMS.get(program, CATEGORICAL[(index + 3) % len(CATEGORICAL)])
