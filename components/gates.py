"""The view handed on to a panel's callback only while the panel is open (#7).

Why: a panel that is closed (the coverage card, the Share menu) shows nothing, yet a
callback on the filters store was sent to the server on every filter change, to answer
that there was nothing to show: two of the eight requests of a change. A clientside
callback copies the filters into the panel's own store while the panel is open (or, for
the Share menu, while the presenter's stage shows its QR code); the panel's server
callback listens to that store, so a closed panel costs no request. Opening it hands the
current view on at once.
"""

from __future__ import annotations

from typing import Any

from dash import Input, Output

from components import ids

# filters, open -> filters while open (or on the presenter's stage, if asked), else nothing
_GATE_JS = """
function (filters, open) {
    var stage = %s && filters && filters.present === true;
    return (open === true || stage) ? filters : window.dash_clientside.no_update;
}
"""


def gate(app: Any, store: str, open_store: str, *, on_stage: bool = False) -> None:
    """Copy ``ids.FILTERS`` into ``store`` while ``open_store`` holds True (and, with
    ``on_stage``, while the view is on the presenter's stage)."""
    app.clientside_callback(
        _GATE_JS % ("true" if on_stage else "false"),
        Output(store, "data"),
        Input(ids.FILTERS, "data"),
        Input(open_store, "data"),
    )
