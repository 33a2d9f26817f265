// Build assets/vendor/plotly-atlas.min.js the way plotly.js builds its own dist bundles
// (its esbuild-config.js, minus the WebGL shader plugin no included trace needs).
const path = require('path');
const esbuild = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');

const version = require('plotly.js/package.json').version;
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
        banner: {
            js:
                `/*! plotly.js v${version} partial bundle for Twinning Atlas ` +
                '(traces: scatter, bar, choropleth, scattergeo). ' +
                'Copyright 2012-2026, Plotly, Inc. MIT licence: LICENSE.plotly.txt */',
        },
        plugins: [InlineCSSPlugin(), environmentPlugin({ NODE_DEBUG: false })],
        alias: { stream: 'stream-browserify' },
        define: { global: 'window', 'define.amd': 'false' },
        target: 'es2016',
        logLevel: 'info',
    })
    .catch(() => process.exit(1));
