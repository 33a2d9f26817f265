/* Phone layout (issue #9): below 640 CSS px the filters fold into a drawer.
 *
 * The header's "Filters" button opens it (body.filters-open, assets/phone.css), its
 * "Close" button, Esc or a tap beside it closes it, and focus goes into the drawer and
 * back to the button. Elsewhere the button is hidden and the filters stay in their column.
 * Delegated listeners: Dash redraws the page, the listeners stay. Also: the map's
 * programme legend on a narrow screen (below).
 */
(function () {
  "use strict";

  var OPEN = "filters-open";

  function toggleButton() {
    return document.getElementById("filters-toggle");
  }

  function setOpen(open, focusBack) {
    var body = document.body;
    if (body.classList.contains(OPEN) === open) return;
    body.classList.toggle(OPEN, open);
    var button = toggleButton();
    if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
    var panel = document.getElementById("filters-panel");
    if (open && panel) {
      var close = panel.querySelector(".filters-close");
      window.setTimeout(function () { (close || panel).focus(); }, 0);
    } else if (!open && focusBack && button) {
      button.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest(".filters-toggle")) {
      setOpen(!document.body.classList.contains(OPEN), false);
      return;
    }
    if (target.closest(".filters-close")) {
      setOpen(false, true);
      return;
    }
    if (document.body.classList.contains(OPEN) && !target.closest(".filters")
        && !target.closest(".dash-dropdown-content")) {
      setOpen(false, false);  // a tap beside the drawer
    }
  });

  // Esc closes the drawer first (before assets/a11y.js closes a place's detail)
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !document.body.classList.contains(OPEN)) return;
    if (document.querySelector(".dash-dropdown-content[data-state=open]")) return;
    event.stopImmediatePropagation();
    setOpen(false, true);
  }, true);

  // A narrow map (a phone): the programme legend in columns as wide as its longest name,
  // its title above them. Left to itself plotly wraps the entries as if the title beside
  // them took no room and the symbols had no width, and the row's last names run off the
  // map. Done after each draw; a no-op once set.
  var NARROW = 700;
  function fitLegend(gd) {
    var lg = gd && gd.layout && gd.layout.legend;
    var full = gd && gd._fullLayout;
    if (!lg || lg.orientation !== "h" || !window.Plotly || !full || !full.width) return;
    // plotly's own width of the graph, not gd.clientWidth: reading the page's layout here,
    // inside plotly's draw, made the browser lay the whole page out once more (~30 ms of a
    // cold first view, #7)
    var narrow = full.width < NARROW;
    var update = {};
    if (lg.title && lg.title.side !== (narrow ? "top left" : "left")) {
      update["legend.title.side"] = narrow ? "top left" : "left";
    }
    if (narrow) {
      var widest = 0;
      gd.querySelectorAll(".infolayer > g.legend .legendtext").forEach(function (t) {
        widest = Math.max(widest, t.getComputedTextLength ? t.getComputedTextLength() : 0);
      });
      var entry = Math.ceil(widest + 10);  // plotly adds the symbol's width itself
      if (widest > 0 && lg.entrywidth !== entry) update["legend.entrywidth"] = entry;
    } else if (lg.entrywidth) {
      update["legend.entrywidth"] = null;
    }
    if (Object.keys(update).length) window.Plotly.relayout(gd, update);
  }
  function watchMap() {
    var gd = document.querySelector("#map-graph .js-plotly-plot");
    if (!gd || gd.__atlasLegendWatch || !gd.on) return;
    gd.__atlasLegendWatch = true;
    gd.on("plotly_afterplot", function () { fitLegend(gd); });
    fitLegend(gd);
  }
  new MutationObserver(watchMap).observe(document.documentElement, { childList: true, subtree: true });

  // the drawer is a phone's: leaving the width closes it
  window.addEventListener("resize", function () {
    var button = toggleButton();
    if (button && button.offsetParent === null) setOpen(false, false);
  });
})();
