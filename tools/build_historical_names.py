"""Build data/reference/historical_names.csv from the MCA's yearly division-code lists.

    # 1. once, from a checkout of github.com/yescallop/areacodes (CC0) at the pinned commit:
    .venv/bin/python tools/build_historical_names.py extract --codes-json areacodes/codes.json
    # 2. offline, from the committed extract (data/reference/mca_division_*.csv):
    .venv/bin/python tools/build_historical_names.py build [--since 1992]
    .venv/bin/python tools/build_historical_names.py build --check   # exit 1 if out of date

``build`` keeps the rows of data/reference/historical_names_from_memory.csv (the table
as the maintainers first wrote it, from memory) that the list does not confirm (marked
"not found in the MCA lists") and prints a JSON summary: how many former names, how many
split, which from_memory rows were confirmed, kept or contradicted.
The rules are in twinning/geo/former_names.py and data/reference/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twinning.geo import former_names as fn


def _from_memory(path: Path):
    from twinning.gazetteer import read_historical_names

    table = read_historical_names(path)
    return table[table["source"].str.startswith("from_memory")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="codes.json -> data/reference/mca_division_*.csv")
    ex.add_argument("--codes-json", type=Path, required=True)
    ex.add_argument("--out", type=Path, default=fn.REFERENCE_DIR)
    bd = sub.add_parser("build", help="the extract -> data/reference/historical_names.csv")
    bd.add_argument("--since", type=int, default=fn.DEFAULT_SINCE)
    bd.add_argument("--out", type=Path, default=fn.HISTORICAL_NAMES_CSV)
    bd.add_argument("--from-memory", type=Path, default=fn.FROM_MEMORY_CSV)
    bd.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = parser.parse_args(argv)

    if args.command == "extract":
        for path in fn.extract_file(args.codes_json, args.out):
            print(f"wrote {path}")
        return 0

    from twinning.geo.boundaries import places_table

    records, documents = fn.read_inputs()
    divisions = fn.Divisions(records, documents)
    frame, report = fn.build_crosswalk(
        divisions,
        places_table(),
        fn.UPSTREAM_COMMIT,
        since=args.since,
        from_memory=_from_memory(args.from_memory),
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    text = buffer.getvalue()
    print(json.dumps(report.summary(), ensure_ascii=False, indent=2))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run tools/build_historical_names.py build")
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(frame)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
