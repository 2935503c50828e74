/* Exercise demonstrations: each shows a still of its animation; while one is on the screen it plays,
   and it goes back to the still when it scrolls away, so only what the person is looking at moves (a
   page of looping animations keeps a phone busy). Still and animation are the same size, so nothing
   on the page jumps. With reduced motion asked for, the page shows the key poses side by side and
   nothing plays; without scripts, the stills stay. */
(function () {
  "use strict";
  var images = document.querySelectorAll("figure.demo img[data-animated]");
  if (!images.length || !("IntersectionObserver" in window)) return;
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)");
  function show(image, animate) {
    var wanted = image.getAttribute(animate ? "data-animated" : "data-still");
    if (image.getAttribute("src") !== wanted) image.setAttribute("src", wanted);
  }
  var watcher = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      show(entry.target, entry.isIntersecting && !(still && still.matches));
    });
  }, { threshold: 0.6 });
  images.forEach(function (image) { watcher.observe(image); });
  if (still && still.addEventListener) {
    still.addEventListener("change", function () { images.forEach(function (image) { if (still.matches) show(image, false); }); });
  }
})();
