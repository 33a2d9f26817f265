"""The palette under colour-vision deficiencies (issue #13), by simulation.

Machado, Oliveira & Fernandes (2009) at severity 1.0 simulate protanopia, deuteranopia and
tritanopia (the strongest forms; anomalous trichromats see more than this); CIEDE2000
measures the difference. Thresholds, and why:

- Programme colours (flow lines, 1-5 px wide) at least ΔE00 10 apart with normal vision
  and with each dichromacy. ΔE00 ~2.3 is the just-noticeable difference for large
  patches; for thin marks the difference needed grows several-fold (Stone, Szafir &
  Setlur 2014; Szafir 2017), and ~10 is where two thin lines read as different at a
  glance. Colour is not alone there: each programme also has its own dash pattern.
- The sequential scale keeps its order of lightness (L*) with every vision, and
  neighbouring steps stay ΔE00 >= 10 apart: a reader who sees no hue still reads
  "darker = more".
- Flow lines are graphical objects that carry meaning: >= 3:1 against the white page
  (WCAG 2.1, 1.4.11), and at least ΔE00 12 from every step of the map's red scale, so a
  line stays visible over the places it crosses.
"""

from __future__ import annotations

import pytest

from twinning.figures import colour_vision as cv
from twinning.figures import palette

PROGRAMME_MIN_DE = 10.0
SEQUENTIAL_STEP_MIN_DE = 10.0
LINE_VS_SCALE_MIN_DE = 12.0

# Sharma, Wu & Dalal (2005), Table 1: pairs 1, 7, 13, 17, 25, 34 and their ΔE00
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0011), 7.2195),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_ciede2000_matches_sharmas_test_data(lab1, lab2, expected):
    assert cv.ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert cv.ciede2000(lab2, lab1) == pytest.approx(expected, abs=1e-4)


def test_simulation_keeps_greys_and_merges_red_and_green_for_protanopes():
    for vision in cv.VISIONS:
        grey = cv.simulate("#777777", vision)
        assert max(grey) - min(grey) < 0.02, f"{vision} tints grey"
    # the textbook confusion: a red and a green of similar lightness
    assert cv.distance("#d62728", "#2ca02c") > 50
    assert cv.distance("#d62728", "#2ca02c", "deuteranopia") < 30
    with pytest.raises(ValueError, match="unknown vision"):
        cv.simulate("#000000", "monochromacy")


def test_wcag_contrast_ratio():
    assert cv.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert cv.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("vision", cv.VISIONS)
def test_programme_colours_stay_apart(vision):
    distance, a, b = cv.closest_pair(palette.PROGRAMS.values(), vision)
    assert distance >= PROGRAMME_MIN_DE, (
        f"with {vision}, programme colours {a} and {b} are only ΔE00 {distance:.1f} apart "
        f"(need {PROGRAMME_MIN_DE})"
    )


def test_programme_lines_stand_out_on_the_page_and_the_map():
    for program, colour in palette.PROGRAMS.items():
        ratio = cv.contrast_ratio(colour, "#ffffff")
        assert ratio >= 3.0, f"{program} {colour}: {ratio:.2f}:1 on white"
        nearest = min(cv.distance(colour, step) for step in palette.SEQUENTIAL)
        assert nearest >= LINE_VS_SCALE_MIN_DE, f"{program} {colour} is lost on the red scale"


def test_each_programme_has_its_own_line_pattern():
    assert set(palette.PROGRAM_DASHES) == set(palette.PROGRAMS)
    patterns = list(palette.PROGRAM_DASHES.values())
    assert len(set(patterns)) == len(patterns)
    assert palette.NO_FIGURE_DASH not in patterns  # dotted means "no figure", nothing else
    assert palette.program_dash("an_imported_programme", 2) in patterns


@pytest.mark.parametrize("vision", cv.VISIONS)
def test_sequential_scale_keeps_its_order_and_steps(vision):
    lightness = [cv.lightness(c, vision) for c in palette.SEQUENTIAL]
    assert lightness == sorted(lightness, reverse=True), f"{vision}: {lightness}"
    for a, b in zip(palette.SEQUENTIAL, palette.SEQUENTIAL[1:], strict=False):
        step = cv.distance(a, b, vision)
        assert step >= SEQUENTIAL_STEP_MIN_DE, f"{vision}: {a} -> {b} only ΔE00 {step:.1f}"


def test_no_data_grey_is_told_from_the_palest_step():
    for vision in cv.VISIONS:
        assert cv.distance(palette.NO_DATA, palette.SEQUENTIAL[0], vision) >= 5


def test_closest_pair_needs_two_colours():
    with pytest.raises(ValueError):
        cv.closest_pair(["#000000"])
