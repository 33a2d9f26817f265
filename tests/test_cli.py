"""The command line parses what the README documents."""

import subprocess
import sys

import pytest

from twinning.cli import build_parser


@pytest.mark.parametrize(
    "argv",
    [
        ["geo", "build"],
        ["places", "resolve", "莎车", "--within", "喀什"],
        ["stats", "--json"],
        ["serve", "--host", "0.0.0.0", "--port", "8080"],
        ["template", "-o", "t.xlsx"],
        ["import", "f.csv", "--dry-run", "--sheet", "S", "--mapping", "m.json"],
        ["batches", "list"],
        ["export", "lang=en&level=province", "-o", "map.png", "--chart", "series"],
        ["batches", "undo", "3"],
    ],
)
def test_documented_commands_parse(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert callable(args.func)


def test_console_script_help_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "twinning.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert "places" in out.stdout and "import" in out.stdout
