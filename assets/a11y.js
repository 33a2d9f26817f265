/* Accessibility repairs for Dash 4's own widgets, and the keyboard's Esc (issue #13).
 *
 * Dash 4 draws its controls with ARIA that axe-core (and screen readers) trip over, and
 * its components take no aria-* props, so the page repairs them after React draws them,
 * reading the names from the labels the layout puts beside them (<label for=...>):
 *
 *  - RadioItems / Checklist: a role=listbox of role=option labels that wrap native radio
 *    buttons and checkboxes (nested interactive controls; a listbox without a name). The
 *    native inputs are accessible in their labels already: the options lose the roles,
 *    the list becomes a radiogroup / group named by its label (or a plain box without one).
 *  - Dropdown: Tab lands on a read-only input that is aria-hidden yet focusable, which
 *    hands focus on to the real button (tabindex=-1), named by its value only. The button
 *    takes Tab itself, the hidden input leaves the tab order, and the button's name
 *    starts with its label ("Metric, Funds").
 *  - RangeSlider: its thumbs are "Minimum"/"Maximum" in English whatever the page's
 *    language; they and the number boxes get "Years from year" / "Years to year".
 *  - Upload: the file input has no name; it takes the label of its drop zone.
 *
 * React sets an attribute again only when its prop changes (aria-selected on a choice),
 * so a MutationObserver repeats the repair after each change; setting what is already
 * set is skipped, so the repairs settle at once.
 *
 * Esc closes the place's detail panel (unless a dropdown is open: then Esc closes that),
 * and focus goes back to the place search, so a keyboard user is never left on <body>.
 */
(function () {
  "use strict";

  var SEARCH_ID = "place-search";
  var DETAIL_ID = "detail-panel";
  var returnFocus = false;

  function setAttr(el, name, value) {
    if (value === null) {
      if (el.hasAttribute(name)) el.removeAttribute(name);
    } else if (el.getAttribute(name) !== value) {
      el.setAttribute(name, value);
    }
  }

  function labelFor(id) {
    if (!id) return null;
    var label = document.querySelector('label[for="' + CSS.escape(id) + '"]');
    if (label && !label.id) label.id = id + "-label";
    return label;
  }

  function fixOptionsList(list) {
    var label = labelFor(list.id);
    if (label) {
      setAttr(list, "role", list.classList.contains("dash-radioitems") ? "radiogroup" : "group");
      setAttr(list, "aria-labelledby", label.id);
    } else {
      setAttr(list, "role", null);
    }
    list.querySelectorAll(".dash-options-list-option").forEach(function (option) {
      setAttr(option, "role", null);
      setAttr(option, "aria-selected", null);
    });
  }

  function fixDropdown(button) {
    var target = button.previousElementSibling;
    if (target && target.classList.contains("dash-dropdown-focus-target")) {
      setAttr(target, "tabindex", "-1");
    }
    setAttr(button, "tabindex", button.disabled ? "-1" : "0");
    var label = labelFor(button.id);
    if (label) {
      var own = (button.getAttribute("aria-labelledby") || "").split(/\s+/).filter(function (x) {
        return x && x !== label.id && document.getElementById(x);
      });
      setAttr(button, "aria-labelledby", [label.id].concat(own).join(" "));
    }
  }

  function fixSlider(root) {
    var label = labelFor(root.id);
    if (!label) return;
    var name = label.textContent.trim();
    var parts = (label.getAttribute("data-a11y-parts") || "").split("|");
    function named(i) {
      return parts[i] ? name + " " + parts[i] : name;
    }
    root.querySelectorAll("[role=slider]").forEach(function (thumb, i) {
      setAttr(thumb, "aria-label", named(i));
    });
    root.querySelectorAll("input.dash-range-slider-input").forEach(function (box, i) {
      setAttr(box, "aria-label", named(i));
    });
  }

  function fixFileInputs(label) {
    var zone = document.getElementById(label.getAttribute("for"));
    if (!zone || zone.matches("input, select, textarea, button")) return;
    zone.querySelectorAll("input[type=file]").forEach(function (input) {
      labelFor(zone.id);
      setAttr(input, "aria-labelledby", label.id);
    });
  }

  function searchButton() {
    return document.getElementById(SEARCH_ID);
  }

  function closeButton() {
    return document.querySelector("#" + DETAIL_ID + ' button[id*="detail-close"]');
  }

  function repair() {
    scheduled = false;
    document.querySelectorAll(".dash-options-list[id]").forEach(fixOptionsList);
    document.querySelectorAll("button.dash-dropdown[id]").forEach(fixDropdown);
    document.querySelectorAll(".dash-slider-container[id]").forEach(fixSlider);
    document.querySelectorAll("label[for]").forEach(fixFileInputs);
    if (returnFocus && !closeButton()) {
      returnFocus = false;
      var active = document.activeElement;
      var lost = !active || active === document.body || !document.contains(active);
      var search = searchButton();
      if (search && (lost || (active.closest && active.closest("#" + DETAIL_ID)))) search.focus();
    }
  }

  var scheduled = false;
  function schedule() {
    if (!scheduled) {
      scheduled = true;
      Promise.resolve().then(repair);
    }
  }

  new MutationObserver(schedule).observe(document.documentElement, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["role", "aria-selected", "tabindex", "aria-labelledby", "aria-label"],
  });
  schedule();

  function dropdownOpen(event) {
    return (
      (event.target && event.target.closest && event.target.closest(".dash-dropdown-content")) ||
      document.querySelector('button.dash-dropdown[aria-expanded="true"]')
    );
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented || dropdownOpen(event)) return;
    var close = closeButton();
    // a panel that is not shown (presenter mode's stage hides it) is left to other uses of Esc
    if (!close || !close.getClientRects().length) return;
    event.preventDefault();
    returnFocus = true;
    close.click();
  });

  // The close button, pressed with Enter or Space, is drawn away with the panel: focus
  // goes back to the search rather than to <body>.
  document.addEventListener("click", function (event) {
    if (event.target && event.target.closest && event.target.closest('button[id*="detail-close"]')) {
      returnFocus = true;
    }
  });

  // The place search lists the places in view when it takes focus (by Tab, a click, or
  // focus given back after Esc), not with every filter change (#7): the server answers
  // only when the list differs from the one the box holds.
  document.addEventListener("focusin", function (event) {
    var box = searchButton();
    if (!box || !event.target || !box.contains(event.target)) return;
    if (event.relatedTarget && box.contains(event.relatedTarget)) return;  // within the box
    var dc = window.dash_clientside;
    if (dc && dc.set_props) dc.set_props("place-search-ask-store", {data: Date.now()});
  });
})();
