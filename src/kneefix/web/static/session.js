/* Guided session: countdown timers for rolling and holds, set and rep counters, rest timers.
   Without scripts the page is a plain form: tick the exercises done, give the pain, save. */
(function () {
  "use strict";
  var form = document.querySelector("[data-session]");
  if (!form) return;
  var scale = parseFloat(form.getAttribute("data-timer-scale") || "1") || 1;
  var audio = null;

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.25);
    } catch (e) { /* sound is a nicety */ }
    if (navigator.vibrate) navigator.vibrate(200);
  }

  function format(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    var m = Math.floor(s / 60);
    return m + ":" + ("0" + (s % 60)).slice(-2);
  }

  form.querySelectorAll("[data-exercise]").forEach(function (card) {
    var sets = parseInt(card.getAttribute("data-sets"), 10) || 1;
    var rest = parseInt(card.getAttribute("data-rest"), 10) || 0;
    var seconds = parseInt(card.getAttribute("data-seconds"), 10) || 0;
    var reps = parseInt(card.getAttribute("data-reps"), 10) || 0;
    var timerEl = card.querySelector("[data-timer]");
    var bar = card.querySelector("[data-bar]");
    var announce = card.querySelector("[data-announce]");
    var setCount = card.querySelector("[data-set-count]");
    var setButton = card.querySelector("[data-set-done]");
    var repButton = card.querySelector("[data-rep]");
    var repCount = card.querySelector("[data-rep-count]");
    var startButton = card.querySelector("[data-timer-start]");
    var done = card.querySelector("[data-done]");
    var set = 1;
    var repsDone = 0;
    var ticking = null;

    function say(text) { if (announce) announce.textContent = text; }

    function stop() {
      if (ticking) { clearInterval(ticking); ticking = null; }
    }

    function countdown(total, resting, after) {
      stop();
      var started = Date.now();
      var length = total * scale * 1000;
      timerEl.classList.toggle("resting", resting);
      say(resting ? "Rest " + total + " seconds" : "Go: " + total + " seconds");
      function tick() {
        var left = Math.max(0, length - (Date.now() - started));
        timerEl.textContent = (resting ? "Rest " : "") + format(left / 1000 / scale);
        bar.style.width = (100 * (1 - left / length)) + "%";
        if (left <= 0) {
          stop();
          beep();
          timerEl.textContent = resting ? "Go" : "Done";
          say(resting ? "Rest over, next set" : "Time");
          if (after) after();
        }
      }
      tick();
      ticking = setInterval(tick, 200);
    }

    function updateSets() {
      setCount.textContent = set > sets ? "All " + sets + " sets done" : "Set " + set + " of " + sets;
    }

    function finish() {
      timerEl.textContent = "";
      timerEl.classList.remove("resting");
      bar.style.width = "100%";
      card.classList.add("done");
      if (done) done.checked = true;
      setButton.disabled = true;
      if (startButton) startButton.disabled = true;
      if (repButton) repButton.disabled = true;
      say("Exercise complete");
    }

    if (startButton) {
      startButton.addEventListener("click", function () { countdown(seconds, false, null); });
    }
    if (repButton) {
      repButton.addEventListener("click", function () {
        repsDone += 1;
        repCount.textContent = repsDone + " / " + reps + " reps";
        if (repsDone === reps) { beep(); say("Set complete"); }
      });
    }
    setButton.addEventListener("click", function () {
      set += 1;
      repsDone = 0;
      if (repCount) repCount.textContent = "0 / " + reps + " reps";
      updateSets();
      if (set > sets) { stop(); finish(); return; }
      if (rest > 0) countdown(rest, true, null);
    });
    updateSets();
  });
})();
