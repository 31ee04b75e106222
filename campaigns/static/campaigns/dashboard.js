// A running campaign's dashboard refreshes itself: every few seconds the page
// asks the admin for the fragment again (data-url) and puts it in place of the
// old one, for as long as the fragment says the campaign runs (data-live="1").
// A hidden tab does not ask; after a few failures in a row (signed out, no
// permission any more, server gone) the page stops asking.
(function () {
  "use strict";
  var EVERY_MS = 5000;
  var GIVE_UP_AFTER = 3;
  var failures = 0;

  function live(element) {
    return element && element.getAttribute("data-live") === "1";
  }

  function refresh(element) {
    fetch(element.getAttribute("data-url"), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
      redirect: "error", // signed out: the login page is no dashboard
    })
      .then(function (response) {
        if (!response.ok) throw new Error("dashboard: HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector(".campaign-dashboard");
        if (!fresh) throw new Error("dashboard: not a dashboard");
        failures = 0;
        element.replaceWith(fresh);
        if (live(fresh)) schedule(fresh);
      })
      .catch(function () {
        failures += 1;
        if (failures < GIVE_UP_AFTER) schedule(element);
      });
  }

  function schedule(element) {
    window.setTimeout(function () {
      if (document.hidden) schedule(element);
      else refresh(element);
    }, EVERY_MS);
  }

  function start() {
    document.querySelectorAll(".campaign-dashboard").forEach(function (element) {
      if (live(element)) schedule(element);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
