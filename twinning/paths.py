"""Where the project's shipped data lives. Paths only: nothing is read at import."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
GEO_DIR = DATA_DIR / "geo"
REFERENCE_DIR = DATA_DIR / "reference"
ASSETS_DIR = PROJECT_ROOT / "assets"
# the atlas's plotly.js bundle (tools/plotly-bundle/): the screen, embeds, offline files
# and exports all draw with it
PLOTLY_BUNDLE = ASSETS_DIR / "vendor" / "plotly-atlas.min.js"
VAR_DIR = PROJECT_ROOT / "var"
