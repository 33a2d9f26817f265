/* Presenter mode (issue #9): the header's QR button shows the view's QR code large on the
 * stage (body.stage-qr-shown, assets/share.css); the button again, a click on the code's
 * backdrop or Esc hides it, and Esc then no longer leaves presenter mode. */
(function () {
  "use strict";

  var SHOWN = "stage-qr-shown";

  function show(on) {
    document.body.classList.toggle(SHOWN, on);
    var button = document.getElementById("stage-qr-button");
    if (button) button.setAttribute("aria-expanded", on ? "true" : "false");
    var box = document.getElementById("stage-qr");
    if (box) {
      if (on) {
        box.setAttribute("role", "dialog");
        box.setAttribute("aria-label", box.getAttribute("data-label") || "");
      } else {
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest("#stage-qr-button")) {
      show(!document.body.classList.contains(SHOWN));
    } else if (document.body.classList.contains(SHOWN) && target.closest("#stage-qr")) {
      show(false);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !document.body.classList.contains(SHOWN)) return;
    event.stopImmediatePropagation();
    show(false);
  }, true);
})();
