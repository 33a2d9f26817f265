"""Where the project's shipped data lives. Paths only: nothing is read at import."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
GEO_DIR = DATA_DIR / "geo"
REFERENCE_DIR = DATA_DIR / "reference"
ASSETS_DIR = PROJECT_ROOT / "assets"
VAR_DIR = PROJECT_ROOT / "var"
