/* kneefix: after a form comes back with an error, show the message next to the field it is about and
   put the focus on the first invalid field, so a person on a phone does not have to find either.
   Without scripts the page still works: the message stays at the top with a link to the field, and a
   field the page marks itself (aria-invalid, autofocus) takes the focus. */
(function () {
  "use strict";

  function describe(element, id) {
    var ids = (element.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (ids.indexOf(id) < 0) ids.push(id);
    element.setAttribute("aria-describedby", ids.join(" "));
  }

  // Marks the field the message names and moves the message to it; returns what to scroll into view
  // (the message with its field), or null when the page has no such field.
  function markNamedField(notice) {
    var name = notice.getAttribute("data-error-for");
    var form = notice.ownerDocument.forms;
    var control = null;
    for (var i = 0; i < form.length && !control; i += 1) {
      var found = form[i].elements.namedItem(name);
      if (found) control = found.length !== undefined && !found.tagName ? found[0] : found;
    }
    if (!control) return null;
    var group = control.closest('[role="radiogroup"]');
    var marked = group || control;
    if (marked.getAttribute("aria-invalid") !== "true") marked.setAttribute("aria-invalid", "true");
    describe(marked, notice.id);
    // The message goes just before the controls: under a scale's question, above a list of ticks,
    // between a field's label and its box.
    var choices = control.closest(".choices");
    var before = group || choices || control;
    before.parentNode.insertBefore(notice, before);
    var link = notice.querySelector("[data-error-link]");
    if (link) link.parentNode.removeChild(link);
    return notice.parentNode.closest("fieldset, .field") || notice;
  }

  // Focuses the first invalid field (its chosen radio, or its first control) and scrolls it into view.
  function focusFirstInvalid(shown) {
    var first = document.querySelector('[aria-invalid="true"]');
    if (!first) return;
    var control = /^(INPUT|SELECT|TEXTAREA)$/.test(first.tagName)
      ? first
      : first.querySelector("input:checked") || first.querySelector("input, select, textarea");
    if (!control) return;
    if (document.activeElement !== control) control.focus({ preventScroll: true });
    // Keep the moved message in view with its field: it sits in the field's box or just above it.
    var top = first.closest("fieldset, .field, .choice") || first;
    var next = shown && shown.nextElementSibling;
    if (shown && (shown.contains(first) || (next && next.contains(first)))) top = shown;
    top.scrollIntoView({ block: "start" });
  }

  var notice = document.querySelector("#form-error[data-error-for]");
  focusFirstInvalid(notice ? markNamedField(notice) : null);
})();
