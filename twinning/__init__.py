"""Twinning Atlas (结对帮扶地图): the data core.

The core never imports dash. Data flows one way:
records -> validation -> place resolution and GeoPandas join -> aggregation -> figures.
The Dash layer (``components/``) calls into this package; it never reads files itself.
"""

__version__ = "0.1.0"
