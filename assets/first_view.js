/* The page's first view (#7).
 *
 * 0. The page's head asked for the layout and the callbacks' list already (an inline
 *    script, components/app.py _early_requests): Dash's renderer gets those answers, once
 *    each; one that failed is asked for again here.
 * 1. The request for the layout names the page's address. Dash's renderer asks for
 *    /_dash-layout without it; with it the server sends the page of this URL with its
 *    first map, title, notes and headline numbers in it (components/callbacks.py
 *    serve_layout), so the map waits for no callback. dcc's Graph, a lazy component,
 *    has its lazy part started at DOMContentLoaded (1b, below): React's first render
 *    draws the map with the page instead of a placeholder first.
 * 2. While that map draws, the page's first callback requests wait (at most HOLD_MS):
 *    the series, tables, sources and lists they fill are below the map, and answered
 *    at once they took the browser's one main thread from plotly while it drew the
 *    map's ~2,900 places. A page without the map (the import page, or a shell that a
 *    callback fills) holds nothing; later requests are never held. The other charts'
 *    draws wait the same way: React mounts the time series (a blank chart until its
 *    callback answers) with the map, and its draw took ~40 ms of the main thread before
 *    the map was done; held, plotly.js draws it once the map has drawn, in order.
 * 3. The scripts of the component libraries no first view draws (dash-ag-grid's tables;
 *    window.__atlasLater, from the page's head: components/app.py DEFERRED_LIBRARIES) are
 *    loaded once the map has drawn and the browser is idle, at once on a page without
 *    the map, and always before an answer (the layout, a callback's) that puts one of
 *    their components on the page reaches Dash's renderer, which would not know it.
 */
(function () {
  "use strict";
  var fetch0 = window.fetch;
  if (!fetch0) { return; }
  var HOLD_MS = 2500;
  var LATEST_MS = 4000;
  var holding = null;  // a promise while the first callbacks wait; null before and after
  var done = false;

  // set once the map's first Plotly.react is done (2, below), or without that wrapper by
  // the map's first "plotly_afterplot"
  var drawn = false;
  var wrapped = false;
  function mapDrawn() {
    if (drawn) { return true; }
    var gd = document.querySelector("#map-graph .js-plotly-plot");
    if (!wrapped && gd && gd.on && !gd.__atlasFirstView) {
      gd.__atlasFirstView = true;
      gd.on("plotly_afterplot", function () {
        drawn = true;
        whenIdle(loadIdle);
      });
    }
    return false;
  }

  function hold() {
    if (done) { return null; }
    if (holding) { return holding; }
    if (!document.getElementById("map-card")) { done = true; loadIdle(); return null; }
    var started = Date.now();
    holding = new Promise(function (resolve) {
      release = function () {
        done = true;
        holding = null;
        release = null;
        resolve();
      };
      (function poll() {
        if (!release) { return; }
        if (mapDrawn() || Date.now() - started > HOLD_MS) {
          release();
        } else {
          setTimeout(poll, 30);
        }
      })();
    });
    return holding;
  }
  var release = null;  // ends the hold at once (the map's first draw done)

  // 2. the charts other than the map drawn once the map's first draw is done (its
  //    Plotly.react's promise: its "plotly_afterplot" can come before every layer is
  //    drawn), or HOLD_MS has passed; each in the order asked for
  document.addEventListener("DOMContentLoaded", function () {
    graphInFirstRender();
    var P = window.Plotly;
    if (!P || !P.react) { return; }
    var react0 = P.react;
    var started = false;
    wrapped = true;
    P.react = function (gd) {
      var el = typeof gd === "string" ? document.getElementById(gd) : gd;
      var inMap = !!(el && el.closest && el.closest("#map-graph"));
      if (inMap && !started) {
        started = true;
        var first = react0.apply(this, arguments);
        var over = function () {  // once the browser has painted the map
          afterPaint(function () {
            drawn = true;
            if (release) { release(); }
            whenIdle(loadIdle);
          });
        };
        Promise.resolve(first).then(over, over);
        return first;
      }
      var wait = inMap ? null : hold();
      if (wait) {
        var self = this, args = arguments;
        return wait.then(function () { return react0.apply(self, args); });
      }
      return react0.apply(this, arguments);
    };
  });

  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    var path = url.split("?")[0];
    var self = this;
    var early = takeEarly(path);
    if (early) {
      return early.then(function (response) {
        return response && response.ok ? response : fetch0.call(self, input, withLocation(path, init));
      }).then(afterLater);
    }
    if (/\/_dash-layout$/.test(path)) {
      return fetch0.call(this, input, withLocation(path, init)).then(afterLater);
    }
    if (/\/_dash-update-component$/.test(path)) {
      var wait = hold();
      if (wait) {
        return wait.then(function () { return fetch0.call(self, input, init); }).then(afterLater);
      }
      return fetch0.call(this, input, init).then(afterLater);
    }
    return fetch0.call(this, input, init);
  };

  // --- 3. the scripts that come later -------------------------------------------------
  var later = window.__atlasLater || {};
  var libraries = Object.keys(later);
  var loading = {};  // library -> a promise once asked for

  // the libraries named (all when none is), each loaded once
  function loadLater(names) {
    return Promise.all((names || libraries).map(function (lib) {
      if (!loading[lib]) {
        loading[lib] = later[lib].src.reduce(function (previous, src) {  // in order
          return previous.then(function () {
            return new Promise(function (resolve) {
              var script = document.createElement("script");
              script.src = src;
              script.async = false;
              // a script that fails: Dash reports the component it cannot draw, as before
              script.onload = script.onerror = function () { resolve(); };
              document.head.appendChild(script);
            });
          });
        }, Promise.resolve());
      }
      return loading[lib];
    }));
  }

  // what a page loads once its map has drawn (or without one): the libraries marked so
  function loadIdle() {
    return loadLater(libraries.filter(function (lib) { return later[lib].idle; }));
  }
  // whatever the map does (an error, a page that never draws it): loaded by then
  window.setTimeout(function () { whenIdle(loadIdle); }, LATEST_MS);

  // 1b. dcc's Graph is a lazy component: React's first render left the map out, drew the
  //     page, ran Dash's first callbacks' bookkeeping (~60 ms), then rendered the map once
  //     its chunk had come. Its lazy part started here, on a page that preloads the chunk
  //     (a first view with a map), resolves before that first render, which then draws
  //     the map with the page. Anything not as expected: nothing is done (as before).
  function graphInFirstRender() {
    if (!document.querySelector('link[rel="preload"][href*="/dcc/async-graph"]')) { return; }
    var lazy;
    try {
      var Graph = window.dash_core_components && window.dash_core_components.Graph;
      var outer = new Graph({ id: "atlas-first-view", figure: {} }).render();
      var inner = outer.type && outer.type.type;  // React.memo(function)
      var suspense = typeof inner === "function" ? inner(outer.props) : null;
      lazy = suspense && suspense.props && suspense.props.children && suspense.props.children.type;
    } catch (e) {
      return;
    }
    if (!lazy || typeof lazy._init !== "function" || !lazy._payload) { return; }
    try {
      lazy._init(lazy._payload);  // starts the chunk's import; throws it while it is pending
    } catch (pending) { /* expected */ }
  }

  function afterPaint(fn) {
    if (!window.requestAnimationFrame) { window.setTimeout(fn, 0); return; }
    window.requestAnimationFrame(function () { window.setTimeout(fn, 0); });
  }

  function whenIdle(fn) {
    if (window.requestIdleCallback) {
      window.requestIdleCallback(fn, { timeout: 1000 });
    } else {
      window.setTimeout(fn, 50);
    }
  }

  function missing() {
    return libraries.filter(function (lib) { return !window[lib]; });
  }

  // an answer that names a component of a library still to come waits for its scripts
  function afterLater(response) {
    var absent = missing();
    if (!response || !absent.length) { return response; }
    return response.clone().text().then(function (text) {
      var needed = absent.filter(function (lib) {
        return text.indexOf('"namespace":"' + lib + '"') !== -1
          || text.indexOf('"namespace": "' + lib + '"') !== -1;
      });
      return needed.length ? loadLater(needed).then(function () { return response; }) : response;
    }, function () { return response; });
  }

  // the answers the page's head asked for (components/app.py _early_requests), once each
  function takeEarly(path) {
    var early = window.__atlasEarly;
    var name = path.slice(path.lastIndexOf("/") + 1);
    if (!early || !early[name]) { return null; }
    var promise = early[name];
    early[name] = null;
    return promise;
  }

  function withLocation(path, init) {
    if (!/\/_dash-layout$/.test(path)) { return init; }
    init = Object.assign({}, init);
    var headers = new Headers(init.headers || {});
    headers.set("X-Atlas-Location", window.location.pathname + window.location.search);
    init.headers = headers;
    return init;
  }
})();
