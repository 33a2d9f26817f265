"""Twinning Atlas (结对帮扶地图): the data core.

The core never imports dash. Data flows one way:
records -> validation -> place resolution and GeoPandas join -> aggregation -> figures.
The Dash layer (``components/``) calls into this package; it never reads files itself.
"""

import os

__version__ = "0.1.0"

# Arrow (pandas' strings, the parquet boundaries and snapshots) allocates through the C
# library's malloc, not its own mimalloc pool, which kept what a read had used: a worker
# after its first county view held 268 MB with mimalloc, 221 MB with this (#7: the
# target is 300 MB). Read by pyarrow when it makes its first allocation; this package is
# imported before pandas everywhere the atlas starts (app, gunicorn, CLI). A value set in
# the environment wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
