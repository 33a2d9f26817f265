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

from twinning.imports.problems import ParseError, log_internal, pick, texts


def _lang() -> str:
    """zh or en, from the TWINNING_LANG setting (read when asked, like every setting)."""
    from twinning import i18n, settings

    return i18n.normalize_lang(settings.get("TWINNING_LANG"))


def _say(en: str, zh: str) -> str:
    return pick(_lang(), en, zh)


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
        print(_say(f"error: {exc}", f"错误：{exc}"), file=sys.stderr)
        return 1
    print(_say(f"wrote {path}", f"已写入 {path}"), file=sys.stderr)
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
            print(
                pick(
                    self.lang,
                    f"… {rows:,} rows checked, {stored:,} records written",
                    f"… 已检查 {rows:,} 行，已写入 {stored:,} 条记录",
                ),
                file=sys.stderr,
            )


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
            sug = exc.suggestion_for(lang)
            if lang == "zh":
                print(f"错误：{exc.text(lang)}" + (f"。{sug}" if sug else ""), file=sys.stderr)
            else:
                print(f"error: {exc.message}" + (f" - {sug}" if sug else ""), file=sys.stderr)
            return 1
    try:
        options = read_options(args)
    except ParseError as exc:
        sug = exc.suggestion_for(lang)
        if lang == "zh":
            print(f"错误：{exc.text(lang)}" + (f"。{sug}" if sug else ""), file=sys.stderr)
        else:
            print(f"error: {exc.message}" + (f" - {sug}" if sug else ""), file=sys.stderr)
        return 1
    try:
        store = _open_store()
    except Exception as exc:
        log_internal("cannot open the store")
        print(
            pick(lang, f"error: cannot open the store: {exc}", f"错误：无法打开数据库：{exc}"),
            file=sys.stderr,
        )
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
        print(pick(lang, f"… and {n} more problems", f"… 另有 {n} 个问题未列出"), file=sys.stderr)
    if not result.ok:
        print(
            pick(
                lang,
                f"{result.file}: {result.report.errors} error(s); nothing was stored",
                f"{result.file}：{result.report.errors} 个错误；未保存任何数据",
            ),
            file=sys.stderr,
        )
        return 1
    verb = (
        "checked (dry run, nothing stored)"
        if result.dry_run
        else (f"stored as batch {result.batch_id}")
    )
    verb_zh = "已检查（试运行，未保存）" if result.dry_run else f"已保存为批次 {result.batch_id}"
    print(
        pick(
            lang,
            f"{result.file}: {result.records:,} records from {result.rows:,} rows {verb}",
            f"{result.file}：{result.rows:,} 行，{result.records:,} 条记录{verb_zh}",
        ),
        file=sys.stderr,
    )
    return 0


def cli_batches_list(args: argparse.Namespace) -> int:
    from twinning.imports.keep import list_batches

    try:
        _print_json(list_batches(_open_store()))
    except Exception as exc:
        log_internal("batches list failed")
        print(_say(f"error: {exc}", f"错误：{exc}"), file=sys.stderr)
        return 1
    return 0


def cli_batches_undo(args: argparse.Namespace) -> int:
    from twinning.imports.keep import UndoError, undo_batch

    try:
        _print_json(undo_batch(_open_store(), args.batch_id, getattr(args, "user", None)))
    except UndoError as exc:
        print(_say(f"error: {exc}", f"错误：{exc.text('zh')}"), file=sys.stderr)
        return 1
    except Exception as exc:
        log_internal("batches undo failed")
        print(_say(f"error: {exc}", f"错误：{exc}"), file=sys.stderr)
        return 1
    return 0
