/* Screening wizard: shows one step at a time when scripts run; without them the form is one long page.
   Also hides the warning-sign questions that do not apply to the age entered, and disables them so they
   are not sent (the server ignores a "no" to a question for other ages and refuses a "yes").
   A "yes" to a warning sign ends the wizard at that step (stopOnYes): the questions after it are hidden,
   everything later is left out, and the only way on is to see the referral. A Kujala answer marked
   data-raises (age ranges for which it raises a warning sign) ends it at the Kujala step the same way. */
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
  var stopped = false;
  var submitLabel = submit.textContent;

  function applies(fieldset, years) {
    if (isNaN(years)) return true;
    var min = parseInt(fieldset.getAttribute("data-min-age"), 10);
    var max = parseInt(fieldset.getAttribute("data-max-age"), 10);
    return (isNaN(min) || years >= min) && (isNaN(max) || years <= max);
  }

  function ageNow() {
    return age ? parseInt(age.value, 10) : NaN;
  }

  function filterByAge() {
    var years = ageNow();
    form.querySelectorAll(".red-flag").forEach(function (fieldset) {
      var show = applies(fieldset, years);
      fieldset.hidden = !show;
      fieldset.querySelectorAll("input").forEach(function (input) { input.disabled = !show; });
    });
  }

  function raisesForAge(input, years) {
    // data-raises="9-16 0-120": the age ranges for which this Kujala answer raises a warning sign.
    return (input.getAttribute("data-raises") || "").split(" ").some(function (range) {
      var ends = range.split("-");
      if (ends.length !== 2) return false;
      return isNaN(years) || (years >= parseInt(ends[0], 10) && years <= parseInt(ends[1], 10));
    });
  }

  // Whether the step ends the wizard: a "yes" to a visible warning sign, or a Kujala answer that raises one.
  function stopOnYes(step) {
    if (step.hasAttribute("data-stop-on-yes")) {
      var flags = Array.prototype.slice.call(step.querySelectorAll(".red-flag"));
      var first = -1;
      flags.forEach(function (fieldset, i) {
        var yes = fieldset.querySelector("input[value=yes]");
        if (first < 0 && !fieldset.hidden && yes && yes.checked) first = i;
      });
      // Hide (and leave out) the questions after the first yes; bring them back if it becomes a no.
      flags.forEach(function (fieldset, i) {
        var after = first >= 0 && i > first;
        if (!applies(fieldset, ageNow())) return;
        fieldset.hidden = after;
        fieldset.querySelectorAll("input").forEach(function (input) { input.disabled = after; });
      });
      return first >= 0;
    }
    if (step.hasAttribute("data-stop-on-raise")) {
      var years = ageNow();
      return Array.prototype.slice.call(step.querySelectorAll("input[data-raises]")).some(function (input) {
        return input.checked && raisesForAge(input, years);
      });
    }
    return false;
  }

  function setStopped(stop) {
    stopped = stop;
    // Everything after this step is left out of what is sent.
    steps.forEach(function (step, i) {
      if (i <= current) return;
      step.querySelectorAll("input, select").forEach(function (input) {
        var question = input.closest(".red-flag");
        input.disabled = stop || (question !== null && !applies(question, ageNow()));
      });
    });
    if (stop) {
      note.className = "notice stop";
      note.textContent = "This answer means a clinician should look at your knee before you start, so the " +
        "questions stop here. Press \"See what to do\" to see whom to see and how soon.";
      note.hidden = false;
      submit.textContent = "See what to do";
    } else {
      note.className = "notice warn";
      note.hidden = true;
      submit.textContent = submitLabel;
    }
    next.hidden = stop || current === steps.length - 1;
    submit.hidden = !stop && current !== steps.length - 1;
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
    setStopped(stopOnYes(steps[index]));
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

  form.addEventListener("change", function () {
    var stop = stopOnYes(steps[current]);
    if (stop !== stopped) setStopped(stop);
  });

  next.addEventListener("click", function () {
    if (stopped) return;
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
