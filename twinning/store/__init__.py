"""The store: SQLAlchemy tables (``schema``), migrations (``migrate``) and ``open_store``.

Public API (kept small and stable; other parts build on it)::

    from twinning.store import open_store
    store = open_store()            # TWINNING_DATABASE_URL, created and seeded if needed
    store.pairings_frame(); store.figures_frame(); store.places_frame(); store.batches_frame()
    store.stats(); store.data_version(); store.engine
"""

from twinning.store.db import Store, bump_revision, cli_stats, create_store_engine, open_store

__all__ = ["Store", "bump_revision", "cli_stats", "create_store_engine", "open_store"]
