// Build assets/vendor/plotly-atlas.min.js the way plotly.js builds its own dist bundles
// (its esbuild-config.js, minus the WebGL shader plugin no included trace needs).
const path = require('path');
const esbuild = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const crypto = require('crypto');

const fs = require('fs');

const version = require('plotly.js/package.json').version;

// Patches of plotly.js's source, made as the bundle is built (each must match exactly once,
// or the build fails: a new plotly.js is checked by hand, not patched blindly).
const PATCHES = [
    // A choropleth's places styled with one style attribute each, from strings made once
    // per colour, line and z (#7): plotly.js set five style properties and worked out the
    // colour scale for each of the map's ~2,900 places (~40 ms of a cold first view). The
    // properties are those plotly.js sets (stroke, stroke-opacity, stroke-dasharray when
    // dashed, stroke-width, opacity when given), and the miter limit plotly.js gives lines
    // (2), for the outlines of China and its islands drawn as choropleths; the selection's
    // style comes after, as before.
    {
        file: /plotly\.js[\\/]src[\\/]traces[\\/]choropleth[\\/]style\.js$/,
        edits: [
            [
                "    locs.each(function(d) {\n" +
                    "        d3.select(this)\n" +
                    "            .attr('fill', sclFunc(d.z))\n" +
                    "            .call(Color.stroke, d.mlc || markerLine.color)\n" +
                    "            .call(Drawing.dashLine, '', d.mlw || markerLine.width || 0)\n" +
                    "            .style('opacity', marker.opacity);\n" +
                    '    });\n',
                '    var fills = new Map();\n' +
                    '    var styles = new Map();\n' +
                    '    var fillOf = function(z) {\n' +
                    '        var fill = fills.get(z);\n' +
                    '        if(fill === undefined) fills.set(z, (fill = sclFunc(z)));\n' +
                    '        return fill;\n' +
                    '    };\n' +
                    '    var styleOf = function(lineColor, lineWidth) {\n' +
                    "        var key = lineColor + '|' + lineWidth;\n" +
                    '        var text = styles.get(key);\n' +
                    '        if(text !== undefined) return text;\n' +
                    '        var width = +lineWidth || 0;\n' +
                    "        var dash = Drawing.dashStyle('', width);\n" +
                    '        // as Color.stroke: a missing colour is black, opaque\n' +
                    '        var alpha = lineColor ? Color.opacity(lineColor) : 1;\n' +
                    "        var parts = ['stroke: ' + Color.rgb(lineColor), 'stroke-opacity: ' + alpha];\n" +
                    "        if(dash) parts.push('stroke-dasharray: ' + dash);\n" +
                    "        parts.push('stroke-width: ' + width + 'px');\n" +
                    "        // corners cut as plotly.js cuts a line's (scatter/plot.js): a tiny island's\n" +
                    "        // sharp ring would otherwise end in miters of up to 4 widths\n" +
                    "        parts.push('stroke-miterlimit: 2');\n" +
                    "        if(marker.opacity !== undefined && marker.opacity !== null && marker.opacity !== '') {\n" +
                    "            parts.push('opacity: ' + marker.opacity);\n" +
                    '        }\n' +
                    "        styles.set(key, (text = parts.join('; ')));\n" +
                    '        return text;\n' +
                    '    };\n' +
                    '    locs.each(function(d) {\n' +
                    "        this.setAttribute('fill', fillOf(d.z));\n" +
                    "        this.setAttribute('style', styleOf(d.mlc || markerLine.color, d.mlw || markerLine.width || 0));\n" +
                    '    });\n',
            ],
        ],
    },
    // A place's hover polygons made when a hover first asks for them, not for each of the
    // map's ~2,900 places while it draws (#7): ~45 ms of a cold first view, moved to the
    // first hover over the map. Hover (choropleth/hover.js) is their only reader.
    // And each place's bounding box only for a map framed by `fitbounds` (the only reader
    // of the extremes they make; the atlas frames its maps by lon/lat ranges): ~30 ms.
    // And an SVG path only for a place the trace draws (a location with a number and a
    // boundary), where plotly.js made one for every location and left those without a
    // number empty: the atlas's map has three layers of the ~2,900 counties (no data, the
    // values, a scope's outline), each place drawn in at most one, so ~5,800 of ~8,700
    // paths were empty, each made, styled, laid out and given its `d` again on every
    // redraw. Hover and selection read the trace's points, not the paths; a path's datum
    // is still its point. And places that all look alike (one fill: the same z or a scale
    // of one colour; the trace's own line and opacity; no selection, no select or lasso
    // drag) are one path, its datum listing them (`locs`, `places`): the county map's
    // no-data layer was ~2,900 paths, each made, styled, laid out and painted (~60 ms of a
    // draw); hover still names each place from the trace's points.
    {
        file: /plotly\.js[\\/]src[\\/]traces[\\/]choropleth[\\/]plot\.js$/,
        edits: [
            [
                "        var paths = sel.selectAll('path.choroplethlocation').data(Lib.identity);",
                "        var paths = sel.selectAll('path.choroplethlocation').data(function (calcTrace) {\n" +
                    '            return drawnPlaces(calcTrace, gd._fullLayout.dragmode);\n' +
                    '        });',
            ],
            [
                'function plot(gd, geo, calcData) {',
                '// the points with a boundary: calcGeoJSON gave one to each location with a number;\n' +
                    '// places that all look alike are one path (their datum lists them)\n' +
                    'function drawnPlaces(calcTrace, dragmode) {\n' +
                    '    var pts = calcTrace.filter(function (pt) {\n' +
                    '        return pt.geojson;\n' +
                    '    });\n' +
                    "    if (pts.length < 2 || dragmode === 'select' || dragmode === 'lasso') return pts;\n" +
                    '    if (!lookAlike(calcTrace[0].trace, pts)) return pts;\n' +
                    '    return [{\n' +
                    "        geojson: { type: 'FeatureCollection', features: pts.map(function (pt) { return pt.geojson; }) },\n" +
                    '        z: pts[0].z,\n' +
                    '        locs: pts.map(function (pt) { return pt.loc; }),\n' +
                    '        places: pts\n' +
                    '    }];\n' +
                    '}\n\n' +
                    '// one fill (the same z, or a scale of one colour), the trace\'s own line and opacity,\n' +
                    '// no selection (which styles places one by one) and no way to make one\n' +
                    'function lookAlike(trace, pts) {\n' +
                    '    var marker = trace.marker || {};\n' +
                    '    var line = marker.line || {};\n' +
                    '    if (trace.selectedpoints || Lib.isArrayOrTypedArray(line.color) ||\n' +
                    '        Lib.isArrayOrTypedArray(line.width) || Lib.isArrayOrTypedArray(marker.opacity)) return false;\n' +
                    '    var z0 = pts[0].z;\n' +
                    '    var sameZ = pts.every(function (pt) { return pt.z === z0; });\n' +
                    '    if (sameZ) return true;\n' +
                    '    var scale = trace.colorscale || [];\n' +
                    '    return scale.length > 0 && scale.every(function (stop) { return stop[1] === scale[0][1]; });\n' +
                    '}\n\n' +
                    'function plot(gd, geo, calcData) {',
            ],
            [
                '            if (!bboxGeojson) {\n                const bboxFeature = geoUtils.computeBbox(feature);',
                '            if (!bboxGeojson && geoLayout.fitbounds) {\n                const bboxFeature = geoUtils.computeBbox(feature);',
            ],
            [
                'calcPt._polygons = geoUtils.feature2polygons(feature);',
                'lazyPolygons(calcPt, feature);',
            ],
            [
                'calcPt.ct = feature.properties.ct;',
                "geoUtils.lazyProperty(calcPt, 'ct', centroidOf, feature);",
            ],
            [
                'function calcGeoJSON(calcTrace, fullLayout) {',
                'function lazyPolygons(pt, feature) {\n' +
                    '    var polygons;\n' +
                    '    Object.defineProperty(pt, "_polygons", {\n' +
                    '        configurable: true,\n' +
                    '        enumerable: false,\n' +
                    '        get: function () {\n' +
                    '            return polygons || (polygons = geoUtils.feature2polygons(feature));\n' +
                    '        },\n' +
                    '        set: function (v) {\n' +
                    '            polygons = v;\n' +
                    '        }\n' +
                    '    });\n' +
                    '}\n\n' +
                    '// a place\'s centroid, read by hover and selection (worked out then)\n' +
                    'function centroidOf(feature) {\n' +
                    '    return feature.properties.ct;\n' +
                    '}\n\n' +
                    'function calcGeoJSON(calcTrace, fullLayout) {',
            ],
        ],
    },
    // A place's centroid worked out when first read (#7): plotly.js worked out each
    // location's centroid as it read a choropleth's GeoJSON, ~2,900 of them for the
    // county map's no-data layer, where only hover and selection (one place at a time)
    // read one. The warning of a place without area comes then.
    {
        file: /plotly\.js[\\/]src[\\/]lib[\\/]geo_location_utils\.js$/,
        edits: [
            [
                '                fOut.properties.ct = findCentroid(fOut);\n' +
                    '\n' +
                    '                if (isNaN(fOut.properties.ct[0])) {\n' +
                    '                    loggers.log(\n' +
                    '                        [\n' +
                    "                            'Location',\n" +
                    '                            cdi.loc,\n' +
                    "                            'has no polygon with positive area.',\n" +
                    "                            'Its centroid could not be computed,',\n" +
                    "                            'so hover and selection will not work for it.'\n" +
                    "                        ].join(' ')\n" +
                    '                    );\n' +
                    '                }\n' +
                    '\n',
                "                lazyProperty(fOut.properties, 'ct', function () {\n" +
                    '                    var ct = findCentroid(fOut);\n' +
                    '                    if (isNaN(ct[0])) {\n' +
                    '                        loggers.log(\n' +
                    "                            ['Location', cdi.loc, 'has no polygon with positive area.',\n" +
                    "                             'Its centroid could not be computed,',\n" +
                    "                             'so hover and selection will not work for it.'].join(' ')\n" +
                    '                        );\n' +
                    '                    }\n' +
                    '                    return ct;\n' +
                    '                });\n\n',
            ],
            [
                'function findCentroid(feature) {',
                '// obj[name] made by make(arg) when first read (and kept); a value set replaces it\n' +
                    'function lazyProperty(obj, name, make, arg) {\n' +
                    '    var value;\n' +
                    '    Object.defineProperty(obj, name, {\n' +
                    '        configurable: true,\n' +
                    '        enumerable: true,\n' +
                    '        get: function () {\n' +
                    '            return value !== undefined ? value : (value = make(arg));\n' +
                    '        },\n' +
                    '        set: function (v) {\n' +
                    '            value = v;\n' +
                    '        }\n' +
                    '    });\n' +
                    '}\n\n' +
                    'function findCentroid(feature) {',
            ],
            [
                '    unwrapLonRange,\n    ANTIMERIDIAN_LON_SHIFT\n};',
                '    unwrapLonRange,\n    ANTIMERIDIAN_LON_SHIFT,\n    lazyProperty\n};',
            ],
        ],
    },
    // The world's base map (world_110m.json) fetched only for a map that uses it (#7):
    // plotly.js asked for it whenever the first trace of a map had a locationmode, which
    // every choropleth drawn from GeoJSON has ('geojson-id'), though it then reads its
    // places from that GeoJSON and the atlas shows none of the base map's layers (land,
    // coasts, countries: needsTopojson also asks for those). The page carried the 137 KB
    // file for that alone. Every trace of the map is looked at, not the first one again.
    // A choropleth's places projected without d3-geo's adaptive resampling (#7), which
    // follows each edge as a great-circle arc to a tenth of a pixel: for the county map's
    // ~63,000 short edges it added ~30 points in all (each off the straight edge by well
    // under a pixel) and cost ~35 ms of each draw, a third of the time spent projecting.
    // Lines (flows, the dashed line, the inset's neighbours) are still resampled: a flow's
    // two ends make one long arc.
    {
        file: /plotly\.js[\\/]src[\\/]plots[\\/]geo[\\/]geo\.js$/,
        edits: [
            [
                '        if (trace.locationmode) {\n' + '            needsTopojson = true;\n' + '        }\n',
                '        var located = geoCalcData[i][0].trace.locationmode;\n' +
                    "        if (located && located !== 'geojson-id') {\n" +
                    '            needsTopojson = true;\n' +
                    '        }\n',
            ],
            [
                '    for (k in this.dataPaths) {\n' +
                    "        this.dataPaths[k].attr('d', function (d) {\n" +
                    '            return pathFn(d.geojson);\n' +
                    '        });\n' +
                    '    }\n',
                '    for (k in this.dataPaths) {\n' +
                    "        if (k === 'choropleth') projection.precision(0);\n" +
                    "        this.dataPaths[k].attr('d', function (d) {\n" +
                    '            return pathFn(d.geojson);\n' +
                    '        });\n' +
                    "        if (k === 'choropleth') projection.precision(constants.precision);\n" +
                    '    }\n',
            ],
        ],
    },
    // Colours parsed once per colour string (#7). plotly.js 4 parses a colour string with
    // culori each time it is used: styling the map's ~2,900 places parsed and formatted the
    // same few strings ~12,000 times (stroke, fill, opacity), ~50 ms of a cold first view.
    // The caches hold the parsed colour (handing out a copy: callers may change what they
    // get) and the rgb() string; strings that are not colours are not kept (each use still
    // warns), nor are more than 2,048 strings in each.
    {
        file: /plotly\.js[\\/]src[\\/]components[\\/]color[\\/]index\.js$/,
        edits: [
            [
                'const parse = (cstr, silent) => {\n    const c = toColor(cstr);',
                'const parsedColours = new Map();\n' +
                    'const toColorCached = (cstr) => {\n' +
                    '    let c = parsedColours.get(cstr);\n' +
                    '    if (c === undefined) {\n' +
                    '        c = toColor(cstr);\n' +
                    '        if (c === undefined) return undefined;\n' +
                    '        if (parsedColours.size >= 2048) parsedColours.clear();\n' +
                    '        parsedColours.set(cstr, c);\n' +
                    '    }\n' +
                    '    return { ...c };\n' +
                    '};\n\n' +
                    'const parse = (cstr, silent) => {\n    const c = toColorCached(cstr);',
            ],
            [
                'const rgb = (cstr) => formatRgb({ ...parse(cstr), alpha: 1 });',
                'const rgbStrings = new Map();\n' +
                    'const rgb = (cstr) => {\n' +
                    '    let out = typeof cstr === "string" ? rgbStrings.get(cstr) : undefined;\n' +
                    '    if (out === undefined) {\n' +
                    '        out = formatRgb({ ...parse(cstr), alpha: 1 });\n' +
                    '        if (typeof cstr === "string" && toColorCached(cstr) !== undefined) {\n' +
                    '            if (rgbStrings.size >= 2048) rgbStrings.clear();\n' +
                    '            rgbStrings.set(cstr, out);\n' +
                    '        }\n' +
                    '    }\n' +
                    '    return out;\n' +
                    '};',
            ],
        ],
    },
    // A cartesian axis's tick labels checked against the edge of the figure once they are
    // all placed (#7), where plotly.js checked every label again after placing each one
    // (n labels: n x n measurements, each a layout of the page). The result is the same:
    // a label's box is final once it is placed, and the last check saw every label placed.
    // An empty chart's two axes cost ~40 ms of a cold first view; a series of four charts,
    // ~50 ms of each redraw.
    {
        file: /plotly\.js[\\/]src[\\/]plots[\\/]cartesian[\\/]axes\.js$/,
        edits: [
            [
                '    function positionLabels(s, angle) {\n        s.each(function(d) {',
                '    function positionLabels(s, angle) {\n        var placedText = false;\n' +
                    '        s.each(function(d) {',
            ],
            [
                "                thisText.style('display', null); // visible\n\n" +
                    '                if(ax._adjustTickLabelsOverflow) {\n' +
                    '                    ax._adjustTickLabelsOverflow();\n' +
                    '                }\n',
                "                thisText.style('display', null); // visible\n" +
                    '                placedText = true;\n',
            ],
            [
                '                mathjaxGroup.attr(\'transform\', transform + strTranslate(mjShift, 0));\n' +
                    '            }\n' +
                    '        });\n' +
                    '    }\n',
                '                mathjaxGroup.attr(\'transform\', transform + strTranslate(mjShift, 0));\n' +
                    '            }\n' +
                    '        });\n' +
                    '        if(placedText && ax._adjustTickLabelsOverflow) {\n' +
                    '            ax._adjustTickLabelsOverflow();\n' +
                    '        }\n' +
                    '    }\n',
            ],
        ],
    },
];

// plotly.js's CSS, put in the page by the bundle as esbuild-plugin-inline-css 0.0.1 did, but
// with an id made from the file's path inside node_modules, not its absolute path: the
// same bytes wherever the repository is checked out.
const inlineCSSPlugin = {
    name: 'atlas-inline-css',
    setup(build) {
        build.onLoad({ filter: /\.(css)$/ }, async (args) => {
            const where = path.relative(__dirname, args.path).split(path.sep).join('/');
            const id = crypto.createHash('sha256').update(where).digest('hex');
            const css = await fs.promises.readFile(args.path, 'utf8');
            const contents =
                '(function(){\n' +
                `    if (!document.getElementById('${id}')) {\n` +
                "        var e = document.createElement('style');\n" +
                `        e.id = '${id}';\n` +
                `        e.textContent = ${JSON.stringify(css)};\n` +
                '        document.head.appendChild(e);\n' +
                '    }\n' +
                '})();';
            return { contents, loader: 'js' };
        });
    },
};

const patchPlugin = {
    name: 'atlas-patches',
    setup(build) {
        for (const patch of PATCHES) {
            build.onLoad({ filter: patch.file }, async (args) => {
                let source = await fs.promises.readFile(args.path, 'utf8');
                for (const [from, to] of patch.edits) {
                    const n = source.split(from).length - 1;
                    if (n !== 1) throw new Error(`patch of ${args.path}: ${n} matches of ${JSON.stringify(from)}`);
                    source = source.replace(from, to);
                }
                return { contents: source, loader: 'js' };
            });
        }
    },
};
const out = path.join(__dirname, '..', '..', 'assets', 'vendor', 'plotly-atlas.min.js');

esbuild
    .build({
        entryPoints: [path.join(__dirname, 'entry.js')],
        outfile: out,
        format: 'iife',
        globalName: 'Plotly',
        bundle: true,
        minify: true,
        sourcemap: false,
        legalComments: 'none',
        // V8's explicit compile hint (Chromium 136+; other engines read a comment): every
        // function of the bundle compiled as it is loaded, off the page's main thread,
        // rather than each on the main thread when first called, as most are for the first
        // map (#7: a cold first view 16-23 ms sooner on this 2-core machine, 807 -> 785-791 ms).
        // It must be the file's first line.
        banner: {
            js:
                '//# allFunctionsCalledOnLoad\n' +
                `/*! plotly.js v${version} partial bundle for Twinning Atlas ` +
                '(traces: scatter, bar, choropleth, scattergeo). ' +
                'Copyright 2012-2026, Plotly, Inc. MIT licence: LICENSE.plotly.txt */',
        },
        plugins: [patchPlugin, inlineCSSPlugin, environmentPlugin({ NODE_DEBUG: false })],
        alias: { stream: 'stream-browserify' },
        define: { global: 'window', 'define.amd': 'false' },
        target: 'es2016',
        logLevel: 'info',
    })
    .catch(() => process.exit(1));
