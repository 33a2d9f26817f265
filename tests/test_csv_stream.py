"""The view's CSV streams: its memory stays bounded whatever the number of rows (#7)."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pandas as pd
import pytest
from test_aggregate import figure, pairing, places_frame

from twinning import query as agg

N_FIGURES = 12_000
CHUNK = 200


@pytest.fixture(scope="module")
def big() -> agg.AtlasData:
    """12,000 figures over the test places (in memory), a quote and a source each."""
    counties = [("653125", "莎车县"), ("653126", "叶城县"), ("532621", "文山市")]
    figures = pd.DataFrame(
        [
            figure(
                recipient=counties[i % 3][1],
                recipient_adcode=counties[i % 3][0],
                recipient_level="county",
                period_start=1996 + i % 28,
                period_end=1996 + i % 28,
                metric=("funds_cny", "projects", "cadres")[i % 3],
                value=float(i),
                quote=f"quote {i}: 援助资金 {i} 万元 " + "x" * 80,
                source=f"https://example.org/report/{i}.html",
            )
            for i in range(N_FIGURES)
        ]
    )
    pairings = pd.DataFrame(
        [pairing(recipient_adcode=code, recipient_level="county") for code, _ in counties]
    )
    return agg.AtlasData.build(pairings, figures, places_frame(), version="big")


def _peak(chunks) -> tuple[int, int, list[bytes]]:
    """(bytes streamed, peak traced memory, first chunks) of consuming ``chunks``."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        total, head = 0, []
        for chunk in chunks:
            total += len(chunk)
            if len(head) < 2:
                head.append(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return total, peak, head


def test_the_view_csv_streams_in_chunks_with_bounded_memory(big) -> None:
    everything = agg.Filters(lang="en", level="county")
    a_third = agg.Filters(lang="en", level="county", metric="funds_cny")
    # one whole stream first: places' caches and the word catalogs load on first use,
    # once per process, and would be counted in whichever stream came first
    for _ in agg.iter_csv(big, a_third, chunk_rows=CHUNK):
        pass
    total, peak, head = _peak(agg.iter_csv(big, everything, chunk_rows=CHUNK))
    third_total, third_peak, _ = _peak(agg.iter_csv(big, a_third, chunk_rows=CHUNK))
    assert total > 2.5 * third_total > 1_000_000  # every row was written
    # One chunk of rows is held at a time, never the view: the peak is a small part of
    # the file and does not grow with the number of rows.
    assert peak < total / 2, (peak, total)
    assert peak < 1.5 * third_peak, (peak, third_peak)
    assert b"".join(head).decode("utf-8-sig").startswith("Batch,")


def test_the_streamed_csv_has_every_row(big) -> None:
    filters = agg.Filters(lang="en", level="county")
    text = b"".join(agg.iter_csv(big, filters, chunk_rows=CHUNK + 7)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    figures = [r for r in rows if r["Batch"] == "Figures"]
    assert len(figures) == N_FIGURES == agg.table_count(big, filters, "figures")
    assert len(rows) - len(figures) == agg.table_count(big, filters, "pairings")
