"""The sources of a view, counted and named: every renderer cites them the same way.

``source_refs`` turns the view's source counts (``query.source_counts``: source, kind,
confidence, rows, quotes; counted in SQL) into distinct documents, most cited first;
``short_source`` shortens one for a footer or a line under the map (the full address
stays in the deck, the tables and the link's title).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from twinning import i18n
from twinning import query as agg


@dataclass
class SourceRef:
    """One source document or URL and what in view cites it."""

    label: str  # as stored (a URL or a document name)
    url: str | None
    n_figures: int = 0
    n_quotes: int = 0  # figures with a non-empty quote
    n_pairings: int = 0
    confidences: dict[str, int] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return short_source(self.label, self.url)

    def confidence_text(self, lang: str) -> str:
        parts = sorted(self.confidences.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{i18n.confidence_label(c, lang) or '?'} {n}" for c, n in parts)


def short_source(label: str, url: str | None = None, limit: int = 42) -> str:
    """'https://www.example.gov.cn/a/b/c.html' -> 'example.gov.cn/a/b/c.html' (cut to fit).

    Long URLs make an image's footer unreadable; the host and the start of the path are
    enough to find the page again, and the full URL is in the deck and the tables.
    """
    text = str(label).strip()
    target = url if url and not re.match(r"https?://", text) else text
    if re.match(r"https?://", target):
        parts = urlsplit(target.split()[0])
        text = _host(parts) + parts.path.rstrip("/")
        if not re.match(r"https?://", str(label).strip()):
            # a document known by name: keep the name, show where it lives
            text = f"{label} ({_host(parts)})"
    return _cut(text, limit)


def short_url(url: str, limit: int = 44) -> str:
    """'example.org/a/very/long/path?x=1' for a table cell: the address without its scheme,
    query kept, cut to fit (the link keeps it all)."""
    parts = urlsplit(url)
    text = _host(parts) + parts.path.rstrip("/")
    return _cut(text + ("?" + parts.query if parts.query else ""), limit)


def _host(parts: SplitResult) -> str:
    return parts.netloc.removeprefix("www.")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def source_refs(counts: Iterable[agg.SourceCount]) -> list[SourceRef]:
    """Distinct sources of the rows, most cited first. A ' ; '-separated cell counts for
    each of its sources."""
    refs: dict[str, SourceRef] = {}
    for c in counts:
        conf = c.confidence if isinstance(c.confidence, str) and c.confidence else "?"
        for label, url in agg.source_links(c.source if isinstance(c.source, str) else None):
            ref = refs.setdefault(label, SourceRef(label=label, url=url))
            ref.confidences[conf] = ref.confidences.get(conf, 0) + c.rows
            if c.kind == "pairings":
                ref.n_pairings += c.rows
            else:
                ref.n_figures += c.rows
                ref.n_quotes += c.quotes
    return sorted(refs.values(), key=lambda r: (-(r.n_figures + r.n_pairings), r.label.lower()))
