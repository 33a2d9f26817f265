/* Esc closes an open Share or Tour menu (a <details>) and puts the focus back on its
   button (issue #9, #13: every panel closes with Esc). Other uses of Esc (the place's
   detail, the phone's drawer, presenter mode) are left alone when no menu is open. */
(function () {
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    var open = document.querySelector("details.share-menu[open]");
    if (!open) return;
    event.preventDefault();
    open.open = false;
    var summary = open.querySelector("summary");
    if (summary) summary.focus();
  }, true);  // before the other Esc handlers: the menu on top closes first
})();
