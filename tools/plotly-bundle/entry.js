'use strict';
// The trace types Twinning Atlas draws (see twinning/figures/): scatter comes with the
// core; bar for period figures in the time series; choropleth and scattergeo for the map.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/choropleth'),
    require('plotly.js/lib/scattergeo'),
]);

module.exports = Plotly;
