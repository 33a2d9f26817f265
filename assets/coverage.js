// The coverage card (components/coverage.py) is worked out only while it is open (#7):
// its <details> tells the server, through the "coverage-open" store, when it opens or
// closes. "toggle" does not bubble: listen in the capture phase.
document.addEventListener(
  "toggle",
  (event) => {
    const el = event.target;
    if (!el || el.id !== "coverage-details" || !window.dash_clientside) return;
    window.dash_clientside.set_props("coverage-open", { data: el.open === true });
  },
  true,
);
