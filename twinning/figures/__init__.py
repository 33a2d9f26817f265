"""Plotly figures of the atlas (no dash): the map with flows and inset, and the series.

Builders take prepared data (``twinning.aggregate``) and boundaries (GeoDataFrames) as
arguments, so tests can feed them tiny hand-made shapes; ``twinning.figures.geojson``
turns boundaries into GeoJSON once and caches it.
"""

from twinning.figures.map import MapFigureKey, map_figure, map_patch_values
from twinning.figures.series import series_dict, series_figure

__all__ = ["MapFigureKey", "map_figure", "map_patch_values", "series_dict", "series_figure"]
