/* The page's first view (#7).
 *
 * 1. The request for the layout names the page's address. Dash's renderer asks for
 *    /_dash-layout without it; with it the server sends the page of this URL with its
 *    first map, title, notes and headline numbers in it (components/callbacks.py
 *    serve_layout), so the map waits for no callback.
 * 2. While that map draws, the page's first callback requests wait (at most HOLD_MS):
 *    the series, tables, sources and lists they fill are below the map, and answered
 *    at once they took the browser's one main thread from plotly while it drew the
 *    map's ~2,900 places. A page without the map (the import page, or a shell that a
 *    callback fills) holds nothing; later requests are never held.
 */
(function () {
  "use strict";
  var fetch0 = window.fetch;
  if (!fetch0) { return; }
  var HOLD_MS = 2500;
  var holding = null;  // a promise while the first callbacks wait; null before and after
  var done = false;

  var drawn = false;  // set by the map's first "plotly_afterplot"
  function mapDrawn() {
    if (drawn) { return true; }
    var gd = document.querySelector("#map-graph .js-plotly-plot");
    if (gd && gd.on && !gd.__atlasFirstView) {
      gd.__atlasFirstView = true;
      gd.on("plotly_afterplot", function () { drawn = true; });
    }
    return false;
  }

  function hold() {
    if (done) { return null; }
    if (holding) { return holding; }
    if (!document.getElementById("map-card")) { done = true; return null; }
    var started = Date.now();
    holding = new Promise(function (resolve) {
      (function poll() {
        if (mapDrawn() || Date.now() - started > HOLD_MS) {
          done = true;
          holding = null;
          resolve();
        } else {
          setTimeout(poll, 30);
        }
      })();
    });
    return holding;
  }

  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    var path = url.split("?")[0];
    var self = this;
    if (/\/_dash-layout$/.test(path)) {
      init = Object.assign({}, init);
      var headers = new Headers(init.headers || {});
      headers.set("X-Atlas-Location", window.location.pathname + window.location.search);
      init.headers = headers;
    } else if (/\/_dash-update-component$/.test(path)) {
      var wait = hold();
      if (wait) {
        return wait.then(function () { return fetch0.call(self, input, init); });
      }
    }
    return fetch0.call(this, input, init);
  };
})();
