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

// Confirm or correct a position without leaving the page: the panel's and the queue's forms
// are posted as they are (CSRF token included) asking for JSON, and the participant's new
// row (and the thread's tally) replace the old ones. Without this, the forms post and the
// server redirects back, which works the same.
(function () {
  "use strict";
  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("position-action") || !window.fetch) { return; }
    event.preventDefault();
    var row = form.closest("tr");
    var status = row.querySelector(".action-status");
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) {
        throw new Error("Not saved (" + response.status + "): reload the page and try again.");
      }
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) { throw new Error(Object.values(result.data.errors || {}).join(" ") || "Not saved."); }
      var fresh = fragment(result.data.row);
      row.replaceWith(fresh);
      var tally = document.querySelector(".positions-panel .tally-lines");
      if (tally && result.data.tally) { tally.replaceWith(fragment(result.data.tally)); }
      var note = fresh.querySelector(".action-status");
      if (note) {
        note.textContent = result.data.message;
        note.focus();
      }
    }).catch(function (error) {
      buttons.forEach(function (b) { b.disabled = false; });
      if (status) {
        status.textContent = error.message || "Not saved.";
        status.classList.add("error");
        status.focus();
      }
    });
  });
})();
