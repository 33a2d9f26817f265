"""Record tests/golden/reference_views.json from the legacy pandas path (issue #7).

Run from the project root, on the reference store, before changing the data path:

    .venv/bin/python tests/golden/make_golden.py

The legacy path is ``benchmarks/legacy_aggregate.py`` (the module as it was before the
query layer); the test ``tests/test_golden.py`` compares the current path with the file.

When a rule changes on purpose, the legacy path no longer knows the answer. Then check
every difference by hand, explain it in the commit, and record the current path instead:

    .venv/bin/python tests/golden/make_golden.py --current

Rule changes recorded that way:
- issue #10 (scopes of several places): a figure about a list or group of places counts
  at a level only where one unit holds all its members (林芝市 + 昌都市 -> 西藏 at province
  level; never a member); such figures and donor-side ones count as placed, not "no
  place" (n_unresolved -> n_coarse), and their metrics are in the metric menu; the XPCC
  lists reach 新疆 (216-218, 220); 云南英茂集团 (a company named after 云南) resolves to
  云南省 (59, 60).
- issue #10 (XPCC divisions): the seven pairings with a division (第十四师 ...) lie in 新疆:
  they are in its views, details and place_donors at province level, counted as placed;
  at prefecture and county level a flow reaches the division's point (recipient xpcc:<n>).
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
    source = legacy
    if "--current" in sys.argv[1:]:
        from twinning import query as source
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/golden.sqlite")
        data = source.AtlasData.from_store(store)
        out = {"menus": menus(source, data), "views": {q: snapshot(source, data, q) for q in VIEWS}}
        store.dispose()
    path = HERE / "reference_views.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=0, sort_keys=True) + "\n")
    print(f"wrote {path} ({path.stat().st_size:,} bytes, {len(VIEWS)} views)")


if __name__ == "__main__":
    main()
