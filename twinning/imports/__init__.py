"""Bring your own records: read, check and keep a cooperation office's files (issue 4).

The public entry points (nothing is read at import time):
- ``keep.run_import(path, store, ...) -> ImportResult``: read, check, store as a batch;
- ``keep.list_batches(store)``, ``keep.undo_batch(store, id, user)``;
- ``keep.layout_preview(path)``: header, mapping and first rows for the UI;
- ``template.write_template(path)``: the bilingual template;
- ``numbers.parse_number``, ``units.parse_unit``, ``units.to_canonical``: the parsers.
"""

import logging

# Tracebacks are for the log, never for the user: without a configured handler,
# Python's last-resort handler would print them to stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())
