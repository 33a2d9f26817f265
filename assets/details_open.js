// Panels worked out only while they are open (#7): each <details> below tells the server,
// through its store, when it opens or closes: the coverage card (components/coverage.py)
// and the Share menu's QR code (components/share.py). "toggle" does not bubble: listen in
// the capture phase.
(function () {
  "use strict";

  var STORES = { "coverage-details": "coverage-open", "share-menu": "share-open" };

  document.addEventListener(
    "toggle",
    function (event) {
      var el = event.target;
      var store = el && STORES[el.id];
      if (!store || !window.dash_clientside) return;
      window.dash_clientside.set_props(store, { data: el.open === true });
    },
    true,
  );
})();
