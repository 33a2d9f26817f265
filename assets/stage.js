/* Twinning Atlas, issue #9: presenter mode on a fixed stage.
 *
 * In presenter mode (?present=1) the page is laid out once on a logical 1280x720 stage
 * (assets/stage.css) and scaled to the window with a CSS transform, letterboxed: it looks
 * the same on a laptop, a projector and a wall screen, never scrolls and clips nothing.
 * This script only computes the scale and the offsets, on load, on resize and when the
 * page (drawn by a Dash callback) appears.
 */
(function () {
  "use strict";

  var WIDTH = 1280;
  var HEIGHT = 720;
  var pending = false;

  function fit() {
    pending = false;
    var stage = document.querySelector(".atlas.present");
    document.documentElement.classList.toggle("presenting", !!stage);
    if (!stage) { return; }
    var vw = document.documentElement.clientWidth || window.innerWidth;
    var vh = document.documentElement.clientHeight || window.innerHeight;
    var scale = Math.min(vw / WIDTH, vh / HEIGHT);
    // whole pixels for the offsets, and a hair less scale: never a pixel past the window
    var left = Math.floor((vw - WIDTH * scale) / 2);
    var top = Math.floor((vh - HEIGHT * scale) / 2);
    scale = Math.floor(scale * 10000) / 10000;
    var transform = "translate(" + left + "px, " + top + "px) scale(" + scale + ")";
    if (stage.style.transform !== transform) {
      stage.style.transform = transform;
      stage.dataset.scale = String(scale);
    }
  }

  function schedule() {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(fit);
    }
  }

  window.addEventListener("resize", schedule);
  window.addEventListener("load", schedule);
  document.addEventListener("DOMContentLoaded", function () {
    schedule();
    // Dash draws the page after load (a callback fills #page): watch for the stage
    new MutationObserver(function () {
      var stage = document.querySelector(".atlas.present");
      if (stage ? !stage.style.transform : document.documentElement.classList.contains("presenting")) {
        schedule();
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
