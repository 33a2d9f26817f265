/* The page's own address on the request for its layout (#7). Dash's renderer asks for
 * /_dash-layout without it; with it the server sends the page of this URL with its first
 * map, title, notes and headline numbers already in it (components/callbacks.py
 * serve_layout), so the first view waits for no callback. Other requests are untouched. */
(function () {
  "use strict";
  var fetch0 = window.fetch;
  if (!fetch0) { return; }
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    if (/\/_dash-layout$/.test(url.split("?")[0])) {
      init = Object.assign({}, init);
      var headers = new Headers(init.headers || {});
      headers.set("X-Atlas-Location", window.location.pathname + window.location.search);
      init.headers = headers;
    }
    return fetch0.call(this, input, init);
  };
})();
