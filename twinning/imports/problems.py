"""Problems found while reading and checking a file, and the report built from them.

One ``Problem`` type serves the CLI, the UI and the downloadable CSV, so the three
always say the same thing. Row numbers are the ones the user sees in Excel or a
text editor (1-based, counting title and header rows).

Every problem is written twice (issue 4): ``message`` / ``suggestion`` in English and
``message_zh`` / ``suggestion_zh`` in Chinese, with the same specifics (rows, values,
candidates, limits). ``Problem.text(lang)`` and ``Problem.suggestion_for(lang)`` pick
one; the Chinese text falls back to the English one only if it is missing.

The words come from the catalog (twinning/locale, issue #8): a site names a message id and
its suggestion's id, literally, with the message's parameters, and ``texts`` fills in the
four fields: ``report.error("negative", **texts("problem.negative.figure",
"problem.negative.figure.fix", metric=..., value=...), row=...)``. The ids are
``problem.<code>.<what>`` and ``problem.<code>.<what>.fix``; ``problem.<code>`` alone is
the kind's short gloss (``code_hint``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field

from twinning import i18n
from twinning.spreadsheet import neutralise

ERROR = "error"
WARNING = "warning"

REPORT_COLUMNS = [
    "severity",
    "file",
    "row",
    "column",
    "value",
    "message",
    "message_zh",
    "suggestion",
    "suggestion_zh",
    "code",
    "hint_zh",
]


def pick(lang: str | None, en: str, zh: str) -> str:
    """The Chinese text when ``lang`` is zh and there is one, else the English text."""
    return zh if zh and str(lang or "").lower().startswith("zh") else en


def texts(
    key: str,
    fix: str = "",
    /,
    *,
    en: dict[str, object] | None = None,
    zh: dict[str, object] | None = None,
    **params: object,
) -> dict[str, str]:
    """The catalog message ``key`` (and the suggestion ``fix``) in English and Chinese, as
    the keywords ``message``, ``message_zh`` (``suggestion``, ``suggestion_zh``) that
    ``Problem``, ``Report.error`` / ``warning`` and ``ParseError`` take.

    ``params`` fill the ``{placeholders}`` of both languages; ``en`` / ``zh`` give the
    ones whose value differs by language (a list joined with ", " or "、", a word).
    A list or tuple value is joined the language's way. Pass the ids as literals, so
    tools/i18n_extract.py finds them. The texts are always formatted: a brace meant
    literally is written ``{{`` in the catalog.
    """
    out: dict[str, str] = {}
    for lang, own, suffix in (("en", en, ""), ("zh", zh, "_zh")):
        fields = {name: _joined(v, lang) for name, v in {**params, **(own or {})}.items()}
        words = i18n.catalog(lang)
        out["message" + suffix] = words[key].format(**fields)
        if fix:
            out["suggestion" + suffix] = words[fix].format(**fields)
    return out


def _joined(value: object, lang: str) -> object:
    if isinstance(value, list | tuple):
        return ("、" if lang == "zh" else ", ").join(str(v) for v in value)
    return value


# The kinds of problem (``Problem.code``). Each has a short gloss in the catalog,
# "problem.<code>", kept beside the detailed message in the CLI JSON, the UI and the CSV
# report (``hint_zh``).
PROBLEM_CODES: tuple[str, ...] = (
    "too_large",
    "not_found",
    "empty",
    "binary",
    "xls",
    "bad_xlsx",
    "sheet",
    "encoding",
    "no_header",
    "title_rows",
    "merged_header",
    "duplicate_field",
    "unmapped_column",
    "mapping_unused",
    "missing_column",
    "missing_value",
    "no_rows",
    "no_years",
    "bad_year",
    "period_order",
    "not_a_number",
    "bad_unit",
    "negative",
    "unknown_place",
    "ambiguous_place",
    "bad_program",
    "unknown_metric",
    "new_metric",
    "no_figures",
    "duplicate_row",
    "duplicate_stored",
    "duplicate_reference",
    "duplicate_file",
    "total_mismatch",
    "parts_mismatch",
    "note_row",
    "heading_row",
    "breakdown_row",
    "title_year",
    "year_option_unused",
    "sheet_skipped",
    "example_row",
    "upload",
    "internal",
    # limits and faults (twinning/imports/guard.py)
    "wrong_kind",
    "long_line",
    "too_wide",
    "too_many_rows",
    "xlsx_limits",
    "xml_dtd",
    "keep_failed",
    "busy",
)


def severity_label(severity: str, lang: str | None) -> str:
    """错误 / 警告 in Chinese; the code itself (error / warning) in English."""
    return i18n.catalog(i18n.normalize_lang(lang)).get(f"severity.{severity}", severity)


def code_hint(code: str, lang: str | None = "zh") -> str:
    """The short gloss of a problem kind in ``lang``; "" for an unknown code."""
    return i18n.catalog(i18n.normalize_lang(lang)).get(f"problem.{code}", "")


class ParseError(ValueError):
    """A cell could not be read as what its column needs; ``str()`` says why (in English).

    ``message_zh`` / ``suggestion_zh`` say the same in Chinese. They default to "" only so
    that old positional calls keep working; every raise in this package passes all four
    from the catalog (``ParseError(**texts(...))``), and
    ``tests/test_import_zh.py`` checks that statically (see there why not a required arg).
    """

    def __init__(
        self, message: str, suggestion: str = "", message_zh: str = "", suggestion_zh: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion
        self.message_zh = message_zh
        self.suggestion_zh = suggestion_zh

    def text(self, lang: str | None = "en") -> str:
        return pick(lang, self.message, self.message_zh)

    def suggestion_for(self, lang: str | None = "en") -> str:
        return pick(lang, self.suggestion, self.suggestion_zh)

    def words(self) -> dict[str, str]:
        """The message and suggestion in both languages, as a ``Problem``'s keywords."""
        return {
            "message": self.message,
            "message_zh": self.message_zh,
            "suggestion": self.suggestion,
            "suggestion_zh": self.suggestion_zh,
        }


class ImportRefused(Exception):
    """The whole file cannot be imported (too big, unreadable, duplicate batch ...).

    Carries the problems to report; raised by the pipeline, caught at the boundary.
    """

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    severity: str  # error | warning
    code: str  # stable machine name, e.g. "unknown_place"
    message: str
    file: str = ""
    row: int | None = None
    column: str = ""
    value: str = ""
    suggestion: str = ""
    # After the English fields so positional callers keep working; "" only for rows
    # rebuilt from old reports. Every site in this package passes a Chinese text, from the
    # catalog (``**texts(...)``).
    message_zh: str = ""
    suggestion_zh: str = ""

    def text(self, lang: str | None = "en") -> str:
        """The message in ``lang`` (zh or en); English when no Chinese text is set."""
        return pick(lang, self.message, self.message_zh)

    def suggestion_for(self, lang: str | None = "en") -> str:
        return pick(lang, self.suggestion, self.suggestion_zh)

    def line(self, lang: str | None = "en") -> str:
        """One readable line, the form printed to stderr (English unless lang is zh); its
        frame is the catalog's problem.line.* (", row 3" / "，第 3 行" ...)."""
        zh = pick(lang, "en", "zh") == "zh" and bool(self.message_zh)
        out = "zh" if zh else "en"
        where = self.file
        if self.row is not None:
            where += i18n.t("problem.line.row", out, row=self.row)
        if self.column:
            where += i18n.t("problem.line.column", out, column=self.column)
        severity = severity_label(self.severity, "zh") if zh else self.severity.upper()
        text = i18n.t(
            "problem.line.text", out, severity=severity, where=where, message=self.text(out)
        )
        if self.value:
            text += i18n.t("problem.line.value", out, value=self.value)
        if self.suggestion_for(out):
            text += i18n.t("problem.line.fix", out, fix=self.suggestion_for(out))
        return text

    def as_dict(self) -> dict:
        """Every field (both languages) plus the per-code gloss ``hint_zh``."""
        return {**asdict(self), "hint_zh": code_hint(self.code, "zh")}


@dataclass
class Report:
    """Problems of one file, capped so a 500,000-row file of errors stays small."""

    file: str
    max_problems: int = 1000
    problems: list[Problem] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0

    def add(self, problem: Problem) -> None:
        if problem.severity == ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)

    def error(self, code: str, message: str, **kw) -> None:
        """Add an error; its words as keywords, ``**texts("problem.<code>.<what>", ...)``."""
        self.add(Problem(ERROR, code, message, file=self.file, **kw))

    def warning(self, code: str, message: str, **kw) -> None:
        self.add(Problem(WARNING, code, message, file=self.file, **kw))

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def truncated(self) -> int:
        """How many problems were counted but not kept."""
        return self.errors + self.warnings - len(self.problems)

    def as_rows(self) -> list[dict]:
        return [p.as_dict() for p in self.problems]

    def to_csv(self) -> str:
        """The report as CSV text (formula-safe), the same file the CLI and UI offer."""
        return report_csv(self.problems)


def report_csv(problems: list[Problem]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(REPORT_COLUMNS)
    for p in problems:
        d = p.as_dict()
        writer.writerow([neutralise("" if d[c] is None else str(d[c])) for c in REPORT_COLUMNS])
    return buf.getvalue()


def log_internal(what: str) -> str:
    """Keep the traceback of the exception being handled out of the user's sight.

    It always goes to the ``twinning.imports`` logger (a server's logging config picks it
    up). It is appended to a file only when the setting TWINNING_ERROR_LOG names one
    (e.g. var/logs/import-errors.log; empty by default). Returns that file's path for
    messages, or "" when no file was written.
    """
    import logging
    import traceback
    from pathlib import Path

    from twinning import settings

    logging.getLogger("twinning.imports").error("%s", what, exc_info=True)
    target = settings.get("TWINNING_ERROR_LOG").strip()
    if not target:
        return ""
    path = Path(target).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {what}\n{traceback.format_exc()}\n")
    except OSError:
        return ""
    return str(path)
