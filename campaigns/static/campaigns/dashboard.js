// A running campaign's dashboard refreshes itself: every few seconds the page
// asks the admin for the fragment again (data-url) and puts it in place of the
// old one, for as long as the fragment says the campaign runs (data-live="1").
(function () {
  "use strict";
  var EVERY_MS = 5000;

  function live(element) {
    return element && element.getAttribute("data-live") === "1";
  }

  function refresh(element) {
    fetch(element.getAttribute("data-url"), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
      redirect: "error", // signed out: a login page is no dashboard
    })
      .then(function (response) {
        if (!response.ok) throw new Error("dashboard: HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector(".campaign-dashboard");
        if (!fresh) return; // not a dashboard: stop
        element.replaceWith(fresh);
        if (live(fresh)) schedule(fresh);
      })
      .catch(function () {
        schedule(element); // a blip (server restart, network): try again later
      });
  }

  function schedule(element) {
    window.setTimeout(function () {
      if (!document.hidden) refresh(element);
      else schedule(element);
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
