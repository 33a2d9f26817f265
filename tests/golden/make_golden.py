"""Record tests/golden/reference_views.json from the legacy pandas path (issue #7).

Run from the project root, on the reference store, before changing the data path:

    .venv/bin/python tests/golden/make_golden.py

The legacy path is ``benchmarks/legacy_aggregate.py`` (the module as it was before the
query layer); the test ``tests/test_golden.py`` compares the current path with the file.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(HERE)]

import legacy_aggregate as legacy  # noqa: E402
from snapshot import VIEWS, menus, snapshot  # noqa: E402

from twinning.store import open_store  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/golden.sqlite")
        data = legacy.AtlasData.from_store(store)
        out = {"menus": menus(legacy, data), "views": {q: snapshot(legacy, data, q) for q in VIEWS}}
        store.dispose()
    path = HERE / "reference_views.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=0, sort_keys=True) + "\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes, {len(VIEWS)} views)")


if __name__ == "__main__":
    main()
