"""Text that goes into plotly labels, hovers and legends.

Plotly renders a subset of HTML in those strings (``<b>``, ``<br>``, ``<a href>``), so any
text that came from a record — a donor's name, a place typed into an imported file — is
escaped before it is put next to markup: it is shown, never interpreted.
"""

from __future__ import annotations


def esc(text: object) -> str:
    """``text`` as plain text in a plotly string: ``&``, ``<`` and ``>`` escaped."""
    s = "" if text is None else str(text)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
