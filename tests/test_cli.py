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


def test_app_py_answers_help_and_bad_options_without_starting_a_server(tmp_path) -> None:
    """``python app.py --help`` prints its options and ends; it used to start the server."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {"PATH": "/usr/bin:/bin", "TWINNING_DATABASE_URL": f"sqlite:///{tmp_path}/s.sqlite"}
    out = subprocess.run(
        [sys.executable, "app.py", "--help"], cwd=root, capture_output=True, text=True,
        timeout=120, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "usage: python app.py" in out.stdout and "--port" in out.stdout
    assert not (tmp_path / "s.sqlite").exists()  # nothing was built: no store made
    bad = subprocess.run(
        [sys.executable, "app.py", "--port", "eighty"], cwd=root, capture_output=True,
        text=True, timeout=120, env=env,
    )  # fmt: skip
    assert bad.returncode == 2 and "invalid int value: 'eighty'" in bad.stderr
