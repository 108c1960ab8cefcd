// Keyboard navigation between messages of a thread: "j" next, "k" previous.
// The pages work without it; it only adds shortcuts.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input, textarea, select") || event.metaKey || event.ctrlKey) {
      return;
    }
    if (event.key !== "j" && event.key !== "k") { return; }
    var messages = Array.prototype.slice.call(document.querySelectorAll("li.message"));
    if (!messages.length) { return; }
    var current = messages.findIndex(function (m) { return m.getBoundingClientRect().top > 5; });
    if (current < 0) { current = messages.length; }
    var target = event.key === "j" ? messages[current] : messages[current - 2];
    if (!target) { target = event.key === "j" ? messages[messages.length - 1] : messages[0]; }
    target.scrollIntoView();
    var link = target.querySelector("a.permalink");
    if (link) { link.focus({ preventScroll: true }); }
  });
})();
