// Technique checks: one upload per click, a size check before sending, and a live progress bar.
// Everything works without this file too (plain form post; the progress page refreshes itself).
(function () {
  "use strict";

  function setupUploadForm(form) {
    var pickers = form.querySelectorAll('input[type="file"]');
    var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    var button = form.querySelector('button[type="submit"]');
    var sending = form.querySelector("[data-sending]");
    // Two ways to give a video (camera or file); keep only the latest choice.
    pickers.forEach(function (picker) {
      picker.addEventListener("change", function () {
        pickers.forEach(function (other) {
          if (other !== picker && picker.files && picker.files.length) { other.value = ""; }
        });
      });
    });
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent") === "yes") { event.preventDefault(); return; }
      var chosen = null;
      pickers.forEach(function (picker) { if (picker.files && picker.files.length) { chosen = picker.files[0]; } });
      var problem = null;
      if (!chosen) { problem = "Choose a video file, or record one, before sending."; }
      else if (limit && chosen.size > limit) {
        problem = "That video is larger than the " + Math.round(limit / 1048576) + " MB limit. Trim it to the few seconds of the movement.";
      }
      if (problem) {
        event.preventDefault();
        showError(form, problem);
        return;
      }
      form.setAttribute("data-sent", "yes");
      if (button) { button.disabled = true; button.textContent = "Sending…"; }
      if (sending) { sending.hidden = false; }
    });
  }

  function showError(form, text) {
    var box = document.getElementById("upload-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "upload-error";
      box.className = "notice error";
      box.setAttribute("role", "alert");
      box.appendChild(document.createElement("p"));
      form.parentNode.insertBefore(box, form);
    }
    box.querySelector("p").textContent = text;
  }

  function setupPolling(panel) {
    var url = panel.getAttribute("data-poll");
    var bar = panel.querySelector('[role="progressbar"]');
    var fill = bar ? bar.firstElementChild : null;
    var percent = panel.querySelector("#percent");
    var text = panel.querySelector("#status-text");
    var failures = 0;

    function show(check) {
      var value = Math.round((check.progress || 0) * 100);
      if (fill) { fill.style.width = value + "%"; }
      if (bar) { bar.setAttribute("aria-valuenow", String(value)); }
      if (percent) { percent.textContent = value + "%"; }
      if (text) {
        text.textContent = check.status === "queued"
          ? "Your video is in the queue; the analysis starts in a moment."
          : (value < 80 ? "Finding the joints in every frame, then measuring the angles."
                        : "Drawing the annotated video and the angle chart.");
      }
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.json();
        })
        .then(function (check) {
          failures = 0;
          if (check.status === "done" || check.status === "failed") { window.location.reload(); return; }
          show(check);
          window.setTimeout(poll, 1000);
        })
        .catch(function () {
          failures += 1;
          if (text && failures > 3) { text.textContent = "Lost contact with the server; still trying…"; }
          window.setTimeout(poll, Math.min(10000, 1000 * (failures + 1)));
        });
    }
    window.setTimeout(poll, 700);
  }

  document.querySelectorAll("form.upload-form").forEach(setupUploadForm);
  document.querySelectorAll("[data-check-status]").forEach(setupPolling);
})();
