"""The import page's sentences about a file and a run, in the reader's language.

How a file was read (``read_lines``: header rows and joined names, the unit, year and donor
taken from the title or given on the page, the rows not read as data) and what a check
or import counted (``totals_text``), from the summaries of ``ImportResult.as_json()`` and
``Layout.read_summary()``. The words themselves are the catalog's ``import.*`` messages
(twinning/locale), named here by literal ids. No dash.
"""

from __future__ import annotations

from twinning import i18n


def source_word(source: str | None, lang: str, *, cli: bool = False) -> str:
    """Where a unit, year or donor was read: the title, the sheet's name, this page (the
    command line when ``cli``)."""
    if source == "title":
        return i18n.t("import.src_title", lang)
    if source == "sheet":
        return i18n.t("import.src_sheet", lang)
    if source == "header":
        return i18n.t("import.src_header", lang)
    if cli:
        return i18n.t("import.src_cli", lang)
    return i18n.t("import.src_option", lang)


def skip_word(kind: str, lang: str) -> str:
    """A kind of row not read as data (小计, 合计, 其中, a note, a heading), in words."""
    words = {
        "subtotal": i18n.t("import.skip_subtotal", lang),
        "total": i18n.t("import.skip_total", lang),
        "breakdown": i18n.t("import.skip_breakdown", lang),
        "note": i18n.t("import.skip_note", lang),
        "heading": i18n.t("import.skip_heading", lang),
    }
    return words.get(kind, kind)


def read_lines(
    read: dict | None, lang: str, skipped: dict | None = None, *, cli: bool = False
) -> list[str]:
    """How the file was read, in words: the header rows and their joined names, the unit,
    year and donor taken from the title (or given here), the rows not read as data.

    ``cli``: the command line's shorter account (twinning/imports/cli.py), only the unit,
    year and donor, given on "the command line" rather than "this page"."""
    if not read:
        return []
    if "header_rows" not in read:  # --sheet all: one summary per sheet
        lines = []
        for sheet, one in read.items():
            lines += [f"[{sheet}] {line}" for line in read_lines(one, lang, cli=cli)]
        return lines + skipped_lines(skipped, lang)
    lines = [] if cli else _header_lines(read, lang)
    if read.get("unit"):
        source = source_word(read["unit_from"], lang, cli=cli)
        lines.append(i18n.t("import.read_unit", lang, unit=read["unit"], source=source))
    if read.get("year"):
        source = source_word(read["year_from"], lang, cli=cli)
        lines.append(i18n.t("import.read_year", lang, year=read["year"], source=source))
    if read.get("donor"):
        source = source_word(read["donor_from"], lang, cli=cli)
        lines.append(i18n.t("import.read_donor", lang, donor=read["donor"], source=source))
    return lines + skipped_lines(skipped, lang)


def _header_lines(read: dict, lang: str) -> list[str]:
    """The sheets of a workbook (when several) and the header rows with their joined names."""
    rows = read["header_rows"]
    joined = [c["name"] for c in read.get("columns", []) if "/" in c["name"]]
    lines = []
    if len(read.get("sheets") or []) > 1:
        lines.append(i18n.t("import.read_sheets", lang, sheets=", ".join(read["sheets"])))
    lines.append(
        i18n.t(
            "import.read_header",
            lang,
            rows=", ".join(str(r) for r in rows),
            n=len(rows),
            joined="; ".join(joined) if joined else "-",
        )
    )
    return lines


def skipped_lines(skipped: dict | None, lang: str) -> list[str]:
    """The rows not read as data, one line per kind (by sheet when several were read)."""
    out = []
    for kind, rows in (skipped or {}).items():
        if isinstance(rows, dict):  # by sheet
            out += [f"[{kind}] {line}" for line in skipped_lines(rows, lang)]
            continue
        rows_text = ", ".join(map(str, rows))
        out.append(i18n.t("import.read_skipped", lang, kind=skip_word(kind, lang), rows=rows_text))
    return out


def totals_text(result: dict | None, lang: str = "en") -> str:
    """One line per metric; in Chinese with the metric's and unit's Chinese names."""
    if not result or not result.get("totals"):
        return ""
    lines = []
    for k, v in result["totals"].items():
        value = f"{v['value']:,}" if isinstance(v["value"], int | float) else f"{v['value']}"
        if lang == "zh":
            metric = k.split(" [")[0]  # "metric [unit]" when one metric has two units
            label = i18n.metric_label(metric, "zh")
            lines.append(f"{label}（{k}）：{value} {i18n.unit_label(v['unit'], 'zh')}")
        else:
            lines.append(f"{k}: {value} {v['unit']}")
    return "\n".join(lines)
