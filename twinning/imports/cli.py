"""CLI handlers for `twinning template`, `twinning import`, `twinning batches list|undo`.

Thin: parse, call keep.py / template.py, print. JSON goes to stdout (for scripts; every
problem with both languages' fields), readable lines and progress to stderr (for people,
in the language of the TWINNING_LANG setting: Chinese by default, English with
TWINNING_LANG=en). No traceback reaches the user: unexpected failures are logged and
reported as one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from twinning import i18n
from twinning.imports.problems import ParseError, log_internal, texts


def _lang() -> str:
    """zh or en, from the TWINNING_LANG setting (read when asked, like every setting)."""
    from twinning import settings

    return i18n.normalize_lang(settings.get("TWINNING_LANG"))


def _error_line(exc: ParseError, lang: str) -> str:
    """error: why - fix / 错误：原因。建议 (the catalog's cli.error_fix)"""
    fix = exc.suggestion_for(lang)
    if fix:
        return i18n.t("cli.error_fix", lang, why=exc.text(lang), fix=fix)
    return i18n.t("cli.error", lang, why=exc.text(lang))


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n")


def _open_store():
    from twinning.store import open_store

    return open_store()


def cli_template(args: argparse.Namespace) -> int:
    from twinning.imports.template import write_template

    try:
        path = write_template(args.output)
    except (ValueError, OSError) as exc:
        print(i18n.t("cli.error", _lang(), why=exc), file=sys.stderr)
        return 1
    print(i18n.t("cli.wrote", _lang(), path=path), file=sys.stderr)
    return 0


class _StderrProgress:
    """At most one line a second: rows checked and records stored so far."""

    def __init__(self, lang: str = "en") -> None:
        self.last = time.monotonic()  # quiet for files that take under a second
        self.lang = lang

    def __call__(self, rows: int, stored: int) -> None:
        now = time.monotonic()
        if now - self.last >= 1.0:
            self.last = now
            print(i18n.t("cli.progress", self.lang, rows=rows, stored=stored), file=sys.stderr)


def read_options(args: argparse.Namespace):
    """--year / --unit / --donor as ``ReadOptions``; ParseError for a bad year or unit."""
    from twinning.imports.units import MONEY, parse_unit
    from twinning.imports.validate import ReadOptions, parse_year

    year = getattr(args, "year", None)
    unit = (getattr(args, "unit", None) or "").strip()
    parsed_year = parse_year(str(year).strip()) if year not in (None, "") else None
    if unit and parse_unit(unit).dimension != MONEY:
        raise ParseError(
            **texts("problem.bad_unit.option_not_money", "problem.bad_unit.money_fix", unit=unit)
        )
    return ReadOptions(
        year=parsed_year, unit=unit, donor=(getattr(args, "donor", None) or "").strip()
    )


def cli_import(args: argparse.Namespace) -> int:
    from twinning.imports.headers import load_mapping_file
    from twinning.imports.keep import run_import
    from twinning.imports.problems import report_csv

    lang = _lang()
    overrides = None
    if getattr(args, "mapping", None):
        try:
            overrides = load_mapping_file(args.mapping)
        except ParseError as exc:
            print(_error_line(exc, lang), file=sys.stderr)
            return 1
    try:
        options = read_options(args)
    except ParseError as exc:
        print(_error_line(exc, lang), file=sys.stderr)
        return 1
    try:
        store = _open_store()
    except Exception as exc:
        log_internal("cannot open the store")
        print(i18n.t("cli.no_store", lang, error=exc), file=sys.stderr)
        return 1
    result = run_import(
        Path(args.file),
        store,
        name=Path(args.file).name,
        user=getattr(args, "user", None),
        sheet=getattr(args, "sheet", None),
        overrides=overrides,
        dry_run=bool(getattr(args, "dry_run", False)),
        progress=_StderrProgress(lang),
        options=options,
    )
    if getattr(args, "report", None):
        Path(args.report).write_text(report_csv(result.report.problems), encoding="utf-8-sig")
    _print_json(result.as_json())
    for p in result.report.problems:
        print(p.line(lang), file=sys.stderr)
    summary = result.as_json()
    from twinning.imports import words

    for line in words.read_lines(summary.get("read"), lang, cli=True) + words.skipped_lines(
        summary.get("skipped_rows"), lang
    ):
        print(line, file=sys.stderr)
    if result.report.truncated:
        n = result.report.truncated
        print(i18n.t("cli.more", lang, n=n), file=sys.stderr)
    if not result.ok:
        print(
            i18n.t("cli.failed", lang, file=result.file, errors=result.report.errors),
            file=sys.stderr,
        )
        return 1
    done = i18n.t(
        "cli.checked" if result.dry_run else "cli.stored",
        lang,
        file=result.file,
        records=result.records,
        rows=result.rows,
        batch=result.batch_id,
    )
    print(done, file=sys.stderr)
    return 0


def cli_batches_list(args: argparse.Namespace) -> int:
    from twinning.imports.keep import list_batches

    try:
        _print_json(list_batches(_open_store()))
    except Exception as exc:
        log_internal("batches list failed")
        print(i18n.t("cli.error", _lang(), why=exc), file=sys.stderr)
        return 1
    return 0


def cli_batches_undo(args: argparse.Namespace) -> int:
    from twinning.imports.keep import UndoError, undo_batch

    try:
        _print_json(undo_batch(_open_store(), args.batch_id, getattr(args, "user", None)))
    except UndoError as exc:
        print(i18n.t("cli.error", _lang(), why=exc.text(_lang())), file=sys.stderr)
        return 1
    except Exception as exc:
        log_internal("batches undo failed")
        print(i18n.t("cli.error", _lang(), why=exc), file=sys.stderr)
        return 1
    return 0
