"""Web previews, checks and imports in a child process with a memory and a time limit (#12).

Why a child: the guards (``guard``) refuse the hostile files we know of before and while
parsing, but a file can still need more memory or time than the server can give one
request (openpyxl, a parser bug, a file shape nobody thought of). In the server process such
a file takes every user down with it; in a child it fails its own job. The child is a fresh
``python -m twinning.imports.jobs`` (not a fork of a server that holds sockets, threads and
a Dash app): it sets ``RLIMIT_AS`` (TWINNING_IMPORT_MEMORY_MB) and ``RLIMIT_CPU`` on itself
before it imports anything heavy, reads one JSON request on stdin and writes one JSON answer
on stdout. The parent waits at most TWINNING_IMPORT_SECONDS of wall time, then kills it.

What a failed child leaves: nothing in the store. An import is one SQLite transaction
(``keep``), rolled back by the child on a MemoryError and by the next opener of the store
when the child is killed (the journal of an uncommitted transaction is discarded). The
progress file names the child's process id, so it is stale as soon as the child is gone
(``progress.is_stale``), and the caller removes it.

The limit is on address space, not resident memory: the child's libraries map about
0.5 GB before it reads a byte (pandas, the gazetteer), so the child runs with the thread
and allocator settings in ``CHILD_ENV`` that keep that small. What a failed job tells the
person is one ``Problem`` in both languages that names the limit and its setting, its words
in the catalog under ``job.``.

    run_job({"job": "preview", "path": "...", "n": 10})   # -> the preview as JSON
    run_job({"job": "import", "path": "...", "url": "sqlite:///...", ...})
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from twinning import settings
from twinning.imports.problems import ERROR, ImportRefused, Problem, texts

# Exit codes of the child besides 0 (answered): the answer could not be written.
EXIT_MEMORY = 3
EXIT_FAILED = 4

# The child's environment on top of the server's: one allocator arena per thread type and
# Arrow on the system allocator (jemalloc and glibc's per-thread arenas reserve gigabytes
# of address space that RLIMIT_AS would count), one thread for the numeric libraries.
CHILD_ENV = {
    "MALLOC_ARENA_MAX": "2",
    "ARROW_DEFAULT_MEMORY_POOL": "system",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONUNBUFFERED": "1",
    # no summary snapshot after the commit: the parent writes it (keep.run_import would,
    # and a child killed while writing it would report a stored import as failed)
    "TWINNING_QUERY_ENGINE": "sql",
}
STDERR_KEPT = 4000  # characters of a failed child's stderr kept for the log


@dataclass(frozen=True)
class Limits:
    """What one child may use: address space in MB, and seconds (wall time, and CPU)."""

    memory_mb: int
    seconds: float

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            settings.get_int("TWINNING_IMPORT_MEMORY_MB"),
            settings.get_float("TWINNING_IMPORT_SECONDS"),
        )


def in_child() -> bool:
    """Whether the web page runs its file work in a child (TWINNING_IMPORT_CHILD)."""
    return settings.get_bool("TWINNING_IMPORT_CHILD")


# --- what a failed job says --------------------------------------------------------------


def memory_problem(file: str, limits: Limits) -> Problem:
    mb = limits.memory_mb
    return Problem(
        ERROR,
        "memory_limit",
        file=file,
        **texts("job.memory", "job.memory_fix", mb=mb),
    )


def time_problem(file: str, limits: Limits) -> Problem:
    seconds = f"{limits.seconds:g}"
    return Problem(
        ERROR,
        "time_limit",
        file=file,
        **texts("job.time", "job.time_fix", seconds=seconds),
    )


def failed_problem(file: str, ref: str) -> Problem:
    return Problem(
        ERROR,
        "internal",
        file=file,
        **texts("job.failed", "job.failed_fix", ref=ref),
    )


def problem_from_dict(data: dict) -> Problem:
    """A ``Problem`` back from its ``as_dict()`` (the extra ``hint_zh`` dropped)."""
    names = {f.name for f in fields(Problem)}
    return Problem(**{k: v for k, v in data.items() if k in names})


# --- the parent's side -------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = {**os.environ, **CHILD_ENV}
    # the child imports the code the server runs (a source tree, an installed package)
    path = [p for p in sys.path if p and Path(p).exists()]
    env["PYTHONPATH"] = os.pathsep.join(path)
    return env


def _log_failure(what: str, ref: str, detail: str) -> None:
    import logging

    logging.getLogger("twinning.imports").error("%s [%s]\n%s", what, ref, detail)
    target = settings.get("TWINNING_ERROR_LOG").strip()
    if target:
        try:
            path = Path(target).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(f"--- {what} [{ref}]\n{detail}\n")
        except OSError:
            pass


def run_job(
    request: dict[str, Any], limits: Limits | None = None, stats: dict | None = None
) -> Any:
    """Run one job in a child under ``limits`` (default: the settings); its answer.

    Raises ``ImportRefused`` with the file's problems when the job refused the file, and
    with one ``memory_limit``, ``time_limit`` or ``internal`` problem when the child ran out
    of memory or time, or died (the latter logged with a reference id and its stderr).
    ``stats``, when given, receives the child's ``peak_mb`` (address space) and ``seconds``.
    """
    limits = limits or Limits.from_settings()
    name = str(request.get("name") or Path(str(request.get("path", ""))).name)
    payload = json.dumps({**request, "limits": [limits.memory_mb, limits.seconds]}).encode()
    proc = subprocess.Popen(
        [sys.executable, "-m", "twinning.imports.jobs"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
        start_new_session=True,  # a signal to the server's group does not reach it
    )
    killed = False
    started = time.monotonic()
    try:
        out, err = proc.communicate(payload, timeout=limits.seconds)
    except subprocess.TimeoutExpired:
        killed = True
        proc.kill()
        out, err = proc.communicate()
    except BaseException:  # the server is stopping this request: the child goes too
        proc.kill()
        proc.wait()
        raise
    answer: dict | None = None
    try:
        answer = json.loads(out) if out else None
    except ValueError:
        answer = None
    code = proc.returncode
    if stats is not None:
        stats["seconds"] = round(time.monotonic() - started, 3)
        stats["peak_mb"] = answer.get("peak_mb") if isinstance(answer, dict) else None
    if killed or code == -signal.SIGXCPU:
        raise ImportRefused([time_problem(name, limits)])
    status = answer.get("status") if isinstance(answer, dict) else None
    if status == "ok":
        return answer["result"]
    if status == "refused":
        raise ImportRefused([problem_from_dict(p) for p in answer["problems"]])
    stderr = err.decode("utf-8", "replace")[-STDERR_KEPT:]
    # MemoryError caught, or unanswered because memory ran out, or the kernel's OOM killer
    if (
        status == "memory"
        or code in (EXIT_MEMORY, -signal.SIGKILL)
        or (status is None and "MemoryError" in stderr)
    ):
        raise ImportRefused([memory_problem(name, limits)])
    ref = (answer or {}).get("ref") or uuid.uuid4().hex[:8]
    _log_failure(f"{request.get('job')} of {name} failed (exit {code})", ref, stderr)
    raise ImportRefused([failed_problem(name, ref)])


# --- the child's side --------------------------------------------------------------------


def _set_limits(memory_mb: int, seconds: float) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would write a core file
    if memory_mb > 0:
        size = int(memory_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if seconds > 0:
        cpu = max(1, int(seconds + 0.999))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def _options(data: dict | None) -> Any:
    from twinning.imports.validate import ReadOptions

    data = dict(data or {})
    for key in ("year", "sheet_year"):
        if isinstance(data.get(key), list):
            data[key] = tuple(data[key])
    return ReadOptions(**data)


def resolver_from(spec: str | None) -> Any:
    """None: the gazetteer's (``keep.default_resolver``); "module:function": what that
    function returns (tests name a small gazetteer this way)."""
    if not spec:
        return None
    import importlib

    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)()


def preview_json(path: str | Path, n: int = 10) -> dict[str, Any]:
    """The header, mapping and first ``n`` rows as JSON (the page's preview step)."""
    from twinning.imports.keep import layout_preview

    layout, rows, report = layout_preview(Path(path), n=n)
    out: dict[str, Any] = {
        "layout": None,
        "rows": [],
        "problems": [p.as_dict() for p in report.problems],
    }
    if layout is None:
        return out
    cols = layout.mapping.columns
    out["layout"] = {
        "sheets": list(layout.sheets),
        "read": json.loads(json.dumps(layout.read_summary(), default=str)),
        "columns": [
            {"index": c.index, "label": c.label, "field": c.field, "unit": c.unit} for c in cols
        ],
    }
    out["rows"] = [[None if v is None else str(v) for v in r] for r in rows]
    return out


def import_json(request: dict[str, Any]) -> dict[str, Any]:
    """``keep.run_import`` of a request, its result as JSON (``ImportResult.as_json``)."""
    from twinning.imports import progress
    from twinning.imports.keep import run_import
    from twinning.store.db import create_store_engine

    writer = None
    if request.get("progress"):
        p = request["progress"]
        writer = progress.ProgressWriter(Path(p["path"]), p["phase"], p.get("total"), p["every"])
    engine = create_store_engine(request["url"])
    try:
        result = run_import(
            Path(request["path"]),
            engine,
            name=request.get("name"),
            sheet=request.get("sheet"),
            user=request.get("user"),
            overrides=request.get("overrides"),
            dry_run=bool(request.get("dry_run")),
            resolver=resolver_from(request.get("resolver")),
            progress=writer,
            options=_options(request.get("options")),
        )
    finally:
        engine.dispose()
    return result.as_json()


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("job") == "preview":
        return preview_json(request["path"], int(request.get("n", 10)))
    if request.get("job") == "import":
        return import_json(request)
    raise ValueError(f"unknown job {request.get('job')!r}")


def _peak_mb() -> int | None:
    """The most address space this process has had (VmPeak), in MB; None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return None


def main() -> int:
    """The child: limits first, then one request from stdin, one answer to stdout."""
    answer_to = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever the libraries print goes to stderr, not into the answer
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.buffer.read())
    memory_mb, seconds = request.get("limits") or (0, 0)
    _set_limits(memory_mb, seconds)
    try:
        answer: dict[str, Any] = {"status": "ok", "result": _answer(request)}
    except MemoryError:
        answer = {"status": "memory"}
    except ImportRefused as exc:
        answer = {"status": "refused", "problems": [p.as_dict() for p in exc.problems]}
    except Exception:
        import traceback

        traceback.print_exc()
        answer = {"status": "failed", "ref": uuid.uuid4().hex[:8]}
    answer["peak_mb"] = _peak_mb()
    try:
        answer_to.write(json.dumps(answer, default=str))
        answer_to.flush()
    except MemoryError:
        return EXIT_MEMORY
    except Exception:
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
