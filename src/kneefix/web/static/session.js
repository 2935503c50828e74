/* The guided session: each exercise card walks through its sets, each side in turn, and each rep's
   hold, with rests that start by themselves. Progress (set, side, reps) is kept in the browser's
   localStorage under the session's key, so a reload or a lost connection loses nothing; it is cleared
   once the session is logged. The screen is kept awake while a session is under way (Screen Wake Lock,
   where the browser has it). Without scripts the page is a plain form: tick the exercises done, give
   the pain, save. */
(function () {
  "use strict";
  var form = document.querySelector("[data-session]");
  if (!form) return;
  var scale = parseFloat(form.getAttribute("data-timer-scale") || "1") || 1;
  var storeKey = "kneefix-session:" + (form.getAttribute("data-session-key") || location.pathname);
  var SWITCH_S = 5; // seconds to change sides
  var RELAX_S = 2; // seconds to relax between held reps
  var audio = null;
  var wakeLock = null;
  var active = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { return {}; }
  }
  var saved = load();
  if (form.getAttribute("data-logged") === "1") {
    try { localStorage.removeItem(storeKey); } catch (e) { /* private mode */ }
    saved = {};
  }
  function save(id, state) {
    saved[id] = state;
    try { localStorage.setItem(storeKey, JSON.stringify(saved)); } catch (e) { /* storage full or off */ }
  }
  form.addEventListener("submit", function () { active = false; releaseWake(); });

  function keepAwake() {
    active = true;
    if (wakeLock || !("wakeLock" in navigator)) return;
    navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      lock.addEventListener("release", function () { wakeLock = null; });
    }).catch(function () { /* refused (battery saver, hidden tab): the session still works */ });
  }
  function releaseWake() {
    if (wakeLock) { wakeLock.release(); wakeLock = null; }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && active) keepAwake();
  });

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

  var cards = Array.prototype.slice.call(form.querySelectorAll("[data-exercise]"));
  cards.forEach(function (card) {
    var id = card.getAttribute("data-exercise");
    var sets = parseInt(card.getAttribute("data-sets"), 10) || 1;
    var rest = parseInt(card.getAttribute("data-rest"), 10) || 0;
    var seconds = parseInt(card.getAttribute("data-seconds"), 10) || 0;
    var reps = parseInt(card.getAttribute("data-reps"), 10) || 0;
    var hold = parseInt(card.getAttribute("data-hold"), 10) || 0;
    var sides = card.getAttribute("data-per-side") === "1" ? ["left side", "right side"] : [""];
    var timerEl = card.querySelector("[data-timer]");
    var bar = card.querySelector("[data-bar]");
    var announce = card.querySelector("[data-announce]");
    var status = card.querySelector("[data-status]");
    var setCount = card.querySelector("[data-set-count]");
    var setButton = card.querySelector("[data-set-done]");
    var repButton = card.querySelector("[data-rep]");
    var repCount = card.querySelector("[data-rep-count]");
    var startButton = card.querySelector("[data-timer-start]");
    var done = card.querySelector("[data-done]");
    var state = saved[id] || { set: 1, side: 0, reps: 0, complete: false };
    var ticking = null;
    var busy = false; // a hold, timer, switch or rest is running

    function say(text) { if (announce) announce.textContent = text; }
    function persist() { save(id, state); }

    function stop() {
      if (ticking) { clearInterval(ticking); ticking = null; }
      busy = false;
    }

    function countdown(total, label, kind, after) {
      stop();
      busy = true;
      keepAwake();
      var started = Date.now();
      var length = Math.max(total * scale * 1000, 1);
      timerEl.className = "timer " + kind;
      say(label + ", " + total + " seconds");
      render();
      function tick() {
        var left = Math.max(0, length - (Date.now() - started));
        timerEl.textContent = label + " " + format(left / 1000 / scale);
        bar.style.width = (100 * (1 - left / length)) + "%";
        if (left <= 0) {
          stop();
          beep();
          timerEl.textContent = "";
          timerEl.className = "timer";
          if (after) after();
          render();
        }
      }
      tick();
      ticking = setInterval(tick, 100);
    }

    function sideName() { return sides[state.side] || ""; }

    function render() {
      var where = sides.length > 1 ? " - " + sideName() : "";
      var allDone = sets > 1 ? "All " + sets + " sets done" : "Done";
      status.textContent = state.complete ? allDone : "Set " + state.set + " of " + sets + where;
      setCount.textContent = state.complete ? allDone : "Set " + state.set + " of " + sets;
      if (repCount) repCount.textContent = state.reps + " / " + reps + " reps";
      var finished = state.complete;
      if (repButton) repButton.disabled = finished || busy || state.reps >= reps;
      if (startButton) startButton.disabled = finished || busy;
      setButton.disabled = finished;
      card.classList.toggle("done", finished);
    }

    function finish() {
      state.complete = true;
      persist();
      timerEl.textContent = "";
      bar.style.width = "100%";
      if (done) done.checked = true;
      say("Exercise complete");
      render();
      if (cards.every(function (c) { return c.classList.contains("done"); })) { active = false; releaseWake(); }
    }

    function setDone() {
      state.set += 1;
      state.side = 0;
      state.reps = 0;
      persist();
      if (state.set > sets) { stop(); finish(); return; }
      if (rest > 0) countdown(rest, "Rest", "resting", function () { say("Rest over: set " + state.set); });
      render();
    }

    function sideDone() {
      if (state.side < sides.length - 1) {
        state.side += 1;
        state.reps = 0;
        persist();
        countdown(SWITCH_S, "Switch sides", "switching", function () {
          say("Now the " + sideName());
          if (seconds) work();
        });
        return;
      }
      setDone();
    }

    function work() { // one timed effort (rolling, a stretch hold) on the current side
      countdown(seconds, sides.length > 1 ? "Go, " + sideName() : "Go", "working", sideDone);
    }

    function rep() {
      if (busy || state.reps >= reps) return;
      keepAwake();
      function counted() {
        state.reps += 1;
        persist();
        if (state.reps >= reps) { say("Side done"); sideDone(); return; }
        if (hold) countdown(RELAX_S, "Relax", "resting", null);
      }
      if (hold) countdown(hold, "Hold", "working", counted);
      else { counted(); render(); }
    }

    if (repButton) repButton.addEventListener("click", rep);
    if (startButton) startButton.addEventListener("click", function () { keepAwake(); work(); });
    setButton.addEventListener("click", function () { stop(); keepAwake(); setDone(); });
    if (state.complete && done) done.checked = true;
    render();
  });
})();
