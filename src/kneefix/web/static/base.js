// Loaded by every page, in <head> before the page is drawn. The Content-Security-Policy allows no
// inline script or event-handler attribute, so what pages used to do inline lives here:
// - mark the page as scripted at once (the stylesheet shows .js-only parts and hides .no-js-only ones
//   by it, so nothing flickers);
// - ask before a form marked data-confirm="question" is sent (deleting a log entry, a check...);
// - show a "Go back" button (data-history-back) only where there is a page to go back to.
(function () {
  "use strict";
  document.documentElement.classList.add("has-js");

  function wire() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    if (window.history.length > 1) {
      document.querySelectorAll("[data-history-back]").forEach(function (button) {
        button.hidden = false;
        button.addEventListener("click", function () { window.history.back(); });
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
