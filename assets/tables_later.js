/* The tables come after the map (#7).
 *
 * The page starts with an empty slot for each table's grid (components/layout.py
 * table_slot): started with the page, dash-ag-grid took ~0.3-0.5 s of a cold page's one
 * main thread before plotly could draw the map above it. The grids are asked for
 * (the store "tables-mount", answered by the callback mount_tables) once:
 *   - the map has drawn and the browser is idle, or
 *   - the table card comes within 300 px of the screen (NEAR: a reader who scrolls, or the
 *     "skip to the table" link), or
 *   - LATEST_MS after the page was drawn, whatever the map did.
 *
 * After that, a filter change that changes a table's rows reloads its grid
 * (window.atlasTables.reload(id), called by the clientside callback RELOAD_GRIDS_JS in
 * components/callbacks.py) at once only while the table is on or near the screen;
 * otherwise the grid is marked stale and reloads when the table comes near the screen.
 */
(function () {
  "use strict";

  var STORE = "tables-mount";
  var CARD = "table-card";
  var LATEST_MS = 4000;
  var NEAR = "300px 0px";
  var asked = false;
  var watched = false;
  var inView = false;
  var staleGrids = {};

  // A grid drops its blocks and asks again from the first row, for the filters of now:
  // at once while the table is in or near sight, else once it comes near (a grid not
  // put in yet gets the filters of its time anyway).
  function reload(id, now) {
    if (!now && !inView) {
      staleGrids[id] = true;
      return;
    }
    var api = null;
    try { api = window.dash_ag_grid.getApi(id); } catch (e) { api = null; }
    if (api && !api.isDestroyed()) {
      api.ensureIndexVisible(0, "top");
      api.purgeInfiniteCache();
    }
  }

  function reloadStale() {
    var ids = Object.keys(staleGrids);
    staleGrids = {};
    ids.forEach(function (id) { reload(id, true); });
  }

  window.atlasTables = {
    reload: reload,
    inView: function () { return inView; }  // whether the table is in or near sight
  };

  function ask() {
    if (asked) { return; }
    var dc = window.dash_clientside;
    if (!dc || !dc.set_props || !document.getElementById(CARD)) { return; }
    asked = true;
    dc.set_props(STORE, { data: true });
  }

  function whenIdle() {
    if (asked) { return; }
    if (window.requestIdleCallback) {
      window.requestIdleCallback(ask, { timeout: 1000 });
    } else {
      window.setTimeout(ask, 100);
    }
  }

  function onMapDrawn() {
    var started = Date.now();
    (function poll() {
      if (asked) { return; }
      var gd = document.querySelector("#map-graph .js-plotly-plot");
      if (gd && gd.on) {
        gd.on("plotly_afterplot", whenIdle);
        if (gd._fullLayout && gd.querySelector(".choroplethlocation")) { whenIdle(); }
      } else if (Date.now() - started < LATEST_MS) {
        window.setTimeout(poll, 50);
      }
    })();
  }

  function watch() {
    var card = document.getElementById(CARD);
    if (!card || watched) { return; }
    watched = true;
    observer.disconnect();
    if (window.IntersectionObserver) {
      new IntersectionObserver(function (entries) {
        inView = entries[entries.length - 1].isIntersecting;
        if (inView) {
          ask();
          reloadStale();
        }
      }, { rootMargin: NEAR }).observe(card);
    } else {
      inView = true;  // no way to know: reload at once, as before
    }
    onMapDrawn();
    window.setTimeout(whenIdle, LATEST_MS);
  }

  var observer = new MutationObserver(watch);
  observer.observe(document.documentElement, { childList: true, subtree: true });
})();
