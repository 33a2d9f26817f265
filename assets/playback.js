/* Twinning Atlas, issue #9: the keyboard of time playback and presenter mode.
 *
 * Space plays or pauses, Left/Right step a year, Esc leaves presenter mode. Each key
 * presses the button a mouse would (so a step is the same filter change as a click),
 * and nothing happens while focus is in something that takes these keys itself: a text
 * box, a dropdown, a slider's thumb, a radio group, a button (Space presses it already).
 */
(function () {
  "use strict";

  var TYPING = "input, textarea, select, [contenteditable=''], [contenteditable='true']";
  var OWN_ARROWS = TYPING + ", [role=slider], [role=listbox], [role=option], [role=combobox]," +
    " [role=radiogroup], [role=radio], [role=tab], [role=grid], [role=gridcell], .ag-root-wrapper";
  var OWN_SPACE = OWN_ARROWS + ", button, a[href], summary, [role=button], [role=checkbox]";

  function inside(target, selector) {
    return !!(target && target.closest && target.closest(selector));
  }

  function press(id) {
    var el = document.getElementById(id);
    if (!el) { return false; }
    el.click();
    return true;
  }

  function openMenu() {
    return !!document.querySelector(".dash-dropdown-content[data-state=open], [role=dialog]");
  }

  function leavePresenter() {
    var params = new URLSearchParams(window.location.search);
    if (params.get("present") !== "1") { return false; }
    return press("present-button");  // the header's button: the same navigation as a click
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    if (event.key === "Escape") {
      // also when assets/a11y.js has taken the key to close a place's detail: the stage
      // does not show that panel, so Esc there means "leave"
      if (inside(target, TYPING) || openMenu()) { return; }
      if (leavePresenter()) { event.preventDefault(); }
      return;
    }
    if (event.defaultPrevented) { return; }
    if (event.key === " " || event.key === "Spacebar") {
      if (inside(target, OWN_SPACE) || openMenu()) { return; }
      if (press("play-button")) { event.preventDefault(); }
      return;
    }
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      if (event.shiftKey || inside(target, OWN_ARROWS) || openMenu()) { return; }
      var id = event.key === "ArrowLeft" ? "step-back-button" : "step-forward-button";
      if (press(id)) { event.preventDefault(); }
    }
  });
})();
