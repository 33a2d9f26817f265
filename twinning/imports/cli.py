"""CLI handlers for `twinning template`, `twinning import`, `twinning batches list|undo`.

Thin: parse, call keep.py / template.py, print. JSON goes to stdout (for scripts),
readable lines and progress to stderr (for people). No traceback reaches the user:
unexpected failures are logged and reported as one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from twinning.imports.problems import ParseError, log_internal


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
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}", file=sys.stderr)
    return 0


class _StderrProgress:
    """At most one line a second: rows checked and records stored so far."""

    def __init__(self) -> None:
        self.last = time.monotonic()  # quiet for files that take under a second

    def __call__(self, rows: int, stored: int) -> None:
        now = time.monotonic()
        if now - self.last >= 1.0:
            self.last = now
            print(f"… {rows:,} rows checked, {stored:,} records written", file=sys.stderr)


def cli_import(args: argparse.Namespace) -> int:
    from twinning.imports.headers import load_mapping_file
    from twinning.imports.keep import run_import
    from twinning.imports.problems import report_csv

    overrides = None
    if getattr(args, "mapping", None):
        try:
            overrides = load_mapping_file(args.mapping)
        except ParseError as exc:
            print(
                f"error: {exc.message}" + (f" - {exc.suggestion}" if exc.suggestion else ""),
                file=sys.stderr,
            )
            return 1
    try:
        store = _open_store()
    except Exception as exc:
        log_internal("cannot open the store")
        print(f"error: cannot open the store: {exc}", file=sys.stderr)
        return 1
    result = run_import(
        Path(args.file),
        store,
        name=Path(args.file).name,
        user=getattr(args, "user", None),
        sheet=getattr(args, "sheet", None),
        overrides=overrides,
        dry_run=bool(getattr(args, "dry_run", False)),
        progress=_StderrProgress(),
    )
    if getattr(args, "report", None):
        Path(args.report).write_text(report_csv(result.report.problems), encoding="utf-8-sig")
    _print_json(result.as_json())
    for p in result.report.problems:
        print(p.line(), file=sys.stderr)
    if result.report.truncated:
        print(f"… and {result.report.truncated} more problems", file=sys.stderr)
    if not result.ok:
        print(
            f"{result.file}: {result.report.errors} error(s); nothing was stored", file=sys.stderr
        )
        return 1
    verb = (
        "checked (dry run, nothing stored)"
        if result.dry_run
        else (f"stored as batch {result.batch_id}")
    )
    print(
        f"{result.file}: {result.records:,} records from {result.rows:,} rows {verb}",
        file=sys.stderr,
    )
    return 0


def cli_batches_list(args: argparse.Namespace) -> int:
    from twinning.imports.keep import list_batches

    try:
        _print_json(list_batches(_open_store()))
    except Exception as exc:
        log_internal("batches list failed")
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cli_batches_undo(args: argparse.Namespace) -> int:
    from twinning.imports.keep import UndoError, undo_batch

    try:
        _print_json(undo_batch(_open_store(), args.batch_id, getattr(args, "user", None)))
    except UndoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        log_internal("batches undo failed")
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
