"""Run the atlas: ``python app.py`` (development server) or ``gunicorn app:server``."""

from __future__ import annotations

import argparse

from twinning import settings


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """``python app.py``'s options (``--help`` answers before anything is built)."""
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Twinning Atlas (结对帮扶地图): the development server on the store at "
        "TWINNING_DATABASE_URL (the embedded reference data by default). For many users: "
        "gunicorn app:server (README, Deploying).",
    )
    parser.add_argument("--host", default=settings.get("TWINNING_HOST"), help="TWINNING_HOST")
    parser.add_argument(
        "--port", type=int, default=settings.get_int("TWINNING_PORT"), help="TWINNING_PORT"
    )
    parser.add_argument(
        "--debug",
        action=argparse.BooleanOptionalAction,
        default=settings.get_bool("TWINNING_DEBUG"),
        help="Dash's debug mode (TWINNING_DEBUG)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _arguments()
    from components.app import create_app

    create_app().run(host=args.host, port=args.port, debug=args.debug)
else:  # gunicorn app:server, and tests that import the app
    from components.app import create_app

    app = create_app()
    server = app.server
