"""Problems found while reading and checking a file, and the report built from them.

One ``Problem`` type serves the CLI, the UI and the downloadable CSV, so the three
always say the same thing. Row numbers are the ones the user sees in Excel or a
text editor (1-based, counting title and header rows).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field

ERROR = "error"
WARNING = "warning"

REPORT_COLUMNS = ["severity", "file", "row", "column", "value", "message", "suggestion", "code"]


class ParseError(ValueError):
    """A cell could not be read as what its column needs; ``str()`` says why."""

    def __init__(self, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


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

    def line(self) -> str:
        """One readable line, the form printed to stderr."""
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        text = f"{self.severity.upper()} {where}: {self.message}"
        if self.value:
            text += f" (value: {self.value!r})"
        if self.suggestion:
            text += f" - {self.suggestion}"
        return text

    def as_dict(self) -> dict:
        return asdict(self)


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


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Make a cell safe for spreadsheets: text starting with = + - @ gets a leading '.

    Spreadsheet programs run such cells as formulas (CSV injection). Numbers are
    left alone so negative numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


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

    It goes to the ``twinning.imports`` logger (a server's logging config picks it up)
    and is appended to var/logs/import-errors.log; the path is returned for messages.
    """
    import logging
    import traceback

    from twinning.paths import VAR_DIR

    logging.getLogger("twinning.imports").error("%s", what, exc_info=True)
    path = VAR_DIR / "logs" / "import-errors.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {what}\n{traceback.format_exc()}\n")
    except OSError:
        return ""
    return str(path)
