// Preselect the browser's own time zone in a time zone picker that has none chosen yet, so a person
// signing up on their phone does not have to find "Europe/London" in a list of 400. They can still
// change it; without scripts the picker keeps "Same as this server".
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  if (!zone) return;
  document.querySelectorAll("select[data-browser-zone][data-zone-unset]").forEach(function (select) {
    for (var i = 0; i < select.options.length; i += 1) {
      if (select.options[i].value === zone) {
        select.value = zone;
        select.removeAttribute("data-zone-unset");
        var note = select.parentNode.querySelector("[data-zone-note]");
        if (note) note.hidden = false;
        return;
      }
    }
  });
})();
