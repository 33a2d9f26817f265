"""Find every message id the code uses and rebuild the gettext template and catalogs.

    .venv/bin/python tools/i18n_extract.py          # rewrite messages.pot, add new ids to
                                                    # zh/en messages.po (empty, to translate)
    .venv/bin/python tools/i18n_extract.py --check  # exit 1 if anything is out of date

Why a script and not ``pybabel extract``: the atlas's message ids are keys
(``i18n.t("col_program", lang)``), not English source strings, and some are built from
the vocabulary (``metric.<code>``) or held in variables. The script reads the code with
``ast`` and adds what it cannot see there from the lists that define it:

* ``i18n.t("id", ...)`` anywhere (also ``t("id")`` inside twinning/i18n.py);
* a module's own ``t("key")`` / ``tr("key")`` where the module sets ``I18N_PREFIX``: the
  id is the prefix plus the key (``tr("stamp")`` in twinning/export.py is ``export.stamp``);
* a conditional first argument (``t("a" if x else "b")``) gives both ids;
* ``texts("problem.<code>.<what>", "problem.<code>.<what>.fix", ...)`` in the importer
  (twinning/imports/problems.py): its first two arguments, a message and its suggestion;
* the vocabulary's ids from ``twinning.i18n.vocabulary_ids()`` (metrics, programmes,
  confidences, qualifiers, units, levels, grid words, named donors);
* the ids in ``DYNAMIC`` below, each with the place that builds it.

A first argument that is none of these is listed as dynamic: add its ids to ``DYNAMIC``.
The tests (tests/test_i18n.py) run ``check()``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from twinning import i18n  # noqa: E402

SOURCES = ("twinning", "components", "app.py")
POT = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"
PROJECT = "twinning-atlas"
HEADER = """\
# The words of the Twinning Atlas (结对帮扶地图). Ids are keys, not English text.
# Rebuild the template and add new ids with: .venv/bin/python tools/i18n_extract.py
# See twinning/locale/README.md. Licence: MIT, as the project."""


def _dynamic() -> dict[str, list[str]]:
    """Ids the code builds at run time, by the place that builds them."""
    from components import export_controls, import_page
    from twinning import tours
    from twinning.imports import guard, headers, problems
    from twinning.query import tables

    return {
        # Headline(key) in query/views.py, shown by components/callbacks.py headline_cards
        "twinning/query/views.py": [
            "headline_funds",
            "headline_projects",
            "headline_people",
            "headline_pairings",
            "headline_donors",
            "headline_recipients",
        ],
        # Column(id, label, ...) in query/tables.py, headers() translates the label
        "twinning/query/tables.py": sorted({c.label for cs in tables.COLUMNS.values() for c in cs}),
        # export.py Frame.filters_text: tr(memory) with memory one of these
        "twinning/view.py": ["export.from_memory_shown", "export.from_memory_hidden"],
        # export_controls.py: the format menu, t(f"format_{fmt}")
        "components/export_controls.py": [
            f"export_ui.format_{fmt}" for fmt in export_controls.FORMATS
        ],
        # import_page.py: t(f"col_{c}") over the report and batch columns; progress_text
        "components/import_page.py": [
            *(
                f"import.col_{c}"
                for c in (*import_page.REPORT_TABLE_COLUMNS, *import_page.BATCH_COLUMNS)
            ),
            "import.progress_check",
            "import.progress_check_of",
            "import.progress_import",
            "import.progress_import_of",
        ],
        # headers.field_label: the import's fields
        "twinning/imports/headers.py": [f"field.{name}" for name in headers.FIELDS],
        # problems.py: code_hint and severity_label
        "twinning/imports/problems.py": [
            *(f"problem.{code}" for code in problems.PROBLEM_CODES),
            *(f"severity.{level}" for level in (problems.ERROR, problems.WARNING)),
        ],
        # guard.py: problem(code, key, fix, ...) over the limits' and faults' messages
        "twinning/imports/guard.py": [f"guard.{key}" for key in guard.MESSAGES],
        # tours.py: TourError(key).message, "tour.error_<key>" (#9)
        "twinning/tours.py": [f"tour.error_{key}" for key in tours.ERROR_KEYS],
    }


def _literals(node: ast.expr) -> list[str] | None:
    """The strings a first argument can be: a literal or a conditional of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        if body is not None and orelse is not None:
            return body + orelse
    return None


def _module_prefix(tree: ast.Module) -> str | None:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and any(
                isinstance(target, ast.Name) and target.id == "I18N_PREFIX"
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    return None


# Calls whose id is a variable, by file and enclosing function; their ids are listed in
# _dynamic() or come from the vocabulary.
KNOWN_DYNAMIC = {
    # the modules' own t / tr, which add I18N_PREFIX
    ("twinning/view.py", "tr"),
    ("components/export_controls.py", "t"),
    ("components/import_page.py", "t"),
    # the format menu, the report and batch tables' headers
    ("components/export_controls.py", "layout"),
    ("components/import_page.py", "_report_table"),
    ("components/import_page.py", "layout"),
    ("twinning/view.py", "filters_text"),
    ("components/import_page.py", "progress_text"),
    ("twinning/imports/headers.py", "field_label"),
    ("twinning/imports/guard.py", "t"),
    ("twinning/imports/guard.py", "problem"),
    ("twinning/i18n.py", "level_label"),
    ("twinning/query/tables.py", "headers"),
    ("components/callbacks.py", "headline_cards"),
    ("twinning/figures/describe.py", "headline_lines"),  # Headline(key) labels (#10)
    # share menu, embeds and the offline file (#9): their own tr, headline labels
    ("twinning/embed.py", "tr"),
    ("components/share.py", "tr"),
    ("twinning/embed.py", "headline_items"),
    ("twinning/place_search.py", "tr"),
    ("twinning/tours.py", "message"),  # tours (#9): TourError's message, listed in _dynamic
    ("twinning/tour_page.py", "tr"),
    ("components/tours.py", "tr"),
    ("twinning/animation.py", "tr"),  # animated exports (#9): its own tr
}


def scan(path: Path) -> tuple[dict[str, set[str]], list[str]]:
    """(id -> {file}, [file:line of unlisted calls whose id is not a literal]) of one file."""
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    prefix = _module_prefix(tree)
    own = rel == "twinning/i18n.py"
    found: dict[str, set[str]] = {}
    dynamic: list[str] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Call) and node.args:
            pre = _call_prefix(node.func, own, prefix)
            # problems.texts("problem.<code>.<what>", "...fix", ...): two ids, no prefix
            args = node.args[:2] if _is_texts(node.func) else node.args[:1]
            if _is_texts(node.func):
                pre = ""
            for arg in args if pre is not None else ():
                keys = _literals(arg)
                if keys is None:
                    if (rel, function) not in KNOWN_DYNAMIC:
                        dynamic.append(f"{rel}:{node.lineno} ({function})")
                else:
                    for key in keys:
                        found.setdefault(pre + key, set()).add(rel)
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")
    return found, dynamic


def _is_texts(func: ast.expr) -> bool:
    """``texts(...)`` / ``problems.texts(...)``: the importer's problems (imports/problems.py)."""
    if isinstance(func, ast.Name):
        return func.id == "texts"
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "texts"
        and isinstance(func.value, ast.Name)
        and func.value.id == "problems"
    )


def _call_prefix(func: ast.expr, own: bool, prefix: str | None) -> str | None:
    """The id prefix of a translating call (``i18n.t``, a module's ``t`` / ``tr``), or None."""
    if (
        isinstance(func, ast.Attribute)
        and func.attr == "t"
        and isinstance(func.value, ast.Name)
        and func.value.id == "i18n"
    ):
        return ""
    if isinstance(func, ast.Name) and func.id in ("t", "tr") and (own or prefix):
        return "" if own else str(prefix)
    return None


def _files() -> Iterable[Path]:
    for name in SOURCES:
        path = ROOT / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def used_ids() -> tuple[dict[str, set[str]], list[str]]:
    """Every message id the code needs -> the files that use it; and the dynamic calls."""
    ids: dict[str, set[str]] = {}
    dynamic: list[str] = []
    for path in _files():
        found, dyn = scan(path)
        dynamic += dyn
        for key, where in found.items():
            ids.setdefault(key, set()).update(where)
    for key in i18n.vocabulary_ids():
        ids.setdefault(key, set()).add("twinning/i18n.py")
    for where, keys in _dynamic().items():
        for key in keys:
            ids.setdefault(key, set()).add(where)
    return ids, dynamic


def _read(path: Path, lang: str | None = None):
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        return read_po(fh, locale=lang, domain=i18n.DOMAIN)


def _write(catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True, include_lineno=False)


def _new_catalog(lang: str | None, created: datetime | None):
    from babel.messages.catalog import Catalog

    return Catalog(
        locale=lang,
        domain=i18n.DOMAIN,
        project=PROJECT,
        version="0.1.0",
        copyright_holder="Twinning Atlas contributors",
        msgid_bugs_address="the project issue tracker (issues)",
        last_translator="Twinning Atlas contributors",
        language_team="Twinning Atlas contributors",
        header_comment=HEADER,
        creation_date=created or datetime.now(UTC),
        revision_date=created or datetime.now(UTC),
        fuzzy=False,
    )


def template(ids: dict[str, set[str]], created: datetime | None = None):
    """The .pot: every id, with the files that use it, and no text."""
    pot = _new_catalog(None, created)
    for key in sorted(ids):
        pot.add(key, "", locations=[(where, None) for where in sorted(ids[key])])
    return pot


def _signature(catalog) -> list[tuple]:
    return sorted(
        (str(m.id), str(m.string or ""), tuple(sorted(loc[0] for loc in m.locations)))
        for m in catalog
        if m.id
    )


def problems() -> list[str]:
    """What is out of date: ids missing from the .pot or a .po, untranslated, or unused."""
    ids, dynamic = used_ids()
    out = [f"{where}: message id is not a literal: add its ids to DYNAMIC" for where in dynamic]
    pot = {str(m.id) for m in _read(POT) if m.id} if POT.is_file() else set()
    out += [f"{POT.name}: no {key!r} (run tools/i18n_extract.py)" for key in sorted(set(ids) - pot)]
    out += [
        f"{POT.name}: {key!r} is not used (run tools/i18n_extract.py)"
        for key in sorted(pot - set(ids))
    ]
    for lang in i18n.LANGS:
        words = i18n.catalog.__wrapped__(lang)
        out += [f"{lang}/messages.po: no text for {key!r}" for key in sorted(set(ids) - set(words))]
        out += [f"{lang}/messages.po: {key!r} is not used" for key in sorted(set(words) - set(ids))]
    return out


def extract() -> list[str]:
    """Rewrite the .pot and add new ids to each .po; returns what changed."""
    ids, _ = used_ids()
    old = _read(POT) if POT.is_file() else None
    pot = template(ids, old.creation_date if old else None)
    changed = []
    if old is None or _signature(old) != _signature(pot):
        _write(pot, POT)
        changed.append(str(POT.relative_to(ROOT)))
    for lang in i18n.LANGS:
        path = i18n.po_path(lang)
        po = _read(path, lang) if path.is_file() else _new_catalog(lang, None)
        before = _signature(po)
        po.update(pot, no_fuzzy_matching=True, update_creation_date=False)
        dropped = sorted(str(m.id) for m in po.obsolete.values())
        po.obsolete.clear()
        if dropped:
            print(f"{lang}: dropped unused ids {dropped}", file=sys.stderr)
        if _signature(po) != before or not path.is_file():
            _write(po, path)
            changed.append(str(path.relative_to(ROOT)))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        print("\n".join(found) or "catalogs up to date")
        return 1 if found else 0
    for path in extract():
        print(f"wrote {path}")
    for line in problems():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
