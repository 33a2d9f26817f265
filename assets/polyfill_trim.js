/* The browser's own String.prototype.trim, parseInt and parseFloat back in place after
 * Dash's Babel polyfill replaced them with slower ones (components/app.py
 * _keep_native_trim, #7). */
(function () {
  "use strict";
  var kept = window.__atlasNative;
  if (!kept) { return; }
  function restore(owner, name, native) {
    if (typeof native === "function" && owner[name] !== native) {
      Object.defineProperty(owner, name, {
        value: native, writable: true, configurable: true, enumerable: false
      });
    }
  }
  restore(String.prototype, "trim", kept.trim);
  restore(window, "parseInt", kept.parseInt);
  restore(window, "parseFloat", kept.parseFloat);
  restore(Number, "parseInt", kept.parseInt);  // the same functions (ES2015)
  restore(Number, "parseFloat", kept.parseFloat);
})();
