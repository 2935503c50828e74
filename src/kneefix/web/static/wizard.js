/* Screening wizard: shows one step at a time when scripts run; without them the form is one long page.
   Also hides the warning-sign questions that do not apply to the age entered (the server ignores
   answers to questions that do not apply, so hiding them changes nothing it decides). */
(function () {
  "use strict";
  var form = document.querySelector("[data-wizard]");
  if (!form) return;
  var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
  var back = form.querySelector("[data-wizard-back]");
  var next = form.querySelector("[data-wizard-next]");
  var submit = form.querySelector("[data-wizard-submit]");
  var progress = form.querySelector("[data-wizard-progress]");
  var age = form.querySelector("[data-age]");
  var current = 0;

  function applies(fieldset, years) {
    if (isNaN(years)) return true;
    var min = parseInt(fieldset.getAttribute("data-min-age"), 10);
    var max = parseInt(fieldset.getAttribute("data-max-age"), 10);
    return (isNaN(min) || years >= min) && (isNaN(max) || years <= max);
  }

  function filterByAge() {
    var years = age ? parseInt(age.value, 10) : NaN;
    form.querySelectorAll(".red-flag").forEach(function (fieldset) {
      var show = applies(fieldset, years);
      fieldset.hidden = !show;
      fieldset.querySelectorAll("input").forEach(function (input) { input.disabled = !show; });
    });
  }

  function unanswered(step) {
    // A visible radio group with no choice, or a required field left empty.
    var groups = {};
    var missing = null;
    step.querySelectorAll("input[type=radio]").forEach(function (input) {
      if (input.disabled || input.closest("[hidden]")) return;
      groups[input.name] = groups[input.name] || input.checked;
    });
    Object.keys(groups).forEach(function (name) {
      if (!groups[name] && !missing) missing = step.querySelector("input[name='" + name + "']");
    });
    step.querySelectorAll("input[required]").forEach(function (input) {
      if (!missing && !input.value) missing = input;
    });
    return missing;
  }

  function show(index, focus) {
    current = index;
    steps.forEach(function (step, i) { step.hidden = i !== index; });
    back.hidden = index === 0;
    next.hidden = index === steps.length - 1;
    submit.hidden = index !== steps.length - 1;
    progress.textContent = "Step " + (index + 1) + " of " + steps.length;
    if (focus) {
      var heading = steps[index].querySelector("h2");
      heading.setAttribute("tabindex", "-1");
      heading.focus();
      window.scrollTo(0, form.offsetTop - 8);
    }
  }

  var note = document.createElement("p");
  note.className = "notice warn";
  note.setAttribute("role", "alert");
  note.hidden = true;
  form.insertBefore(note, form.querySelector(".actions"));

  next.addEventListener("click", function () {
    var missing = unanswered(steps[current]);
    if (missing) {
      var legend = missing.closest("fieldset");
      var label = legend && legend.querySelector("legend") ? legend.querySelector("legend").textContent : "this question";
      if (missing.type !== "radio" && missing.labels && missing.labels.length) label = missing.labels[0].textContent;
      note.textContent = "Please answer: " + label.trim().replace(/\s+/g, " ");
      note.hidden = false;
      missing.focus();
      return;
    }
    note.hidden = true;
    if (current === 0) filterByAge();
    show(current + 1, true);
  });
  back.addEventListener("click", function () { note.hidden = true; show(current - 1, true); });
  if (age) age.addEventListener("change", filterByAge);

  // After a server-side error, open the step that holds the first unanswered question.
  filterByAge();
  var start = 0;
  if (document.getElementById("form-error")) {
    for (var i = 0; i < steps.length; i++) { if (unanswered(steps[i])) { start = i; break; } }
  }
  show(start, false);
})();
