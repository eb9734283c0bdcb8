// sluice dashboard: live updates. Every element with data-live is re-rendered
// from the server (its data-live URL answers the element's new content) when
// the API's event stream (data-events) reports something, and every
// data-every seconds. Pages work without this script; it only saves reloads.
"use strict";
(function () {
  function follow(el) {
    var timer = null;
    var busy = false;
    function refresh() {
      if (busy || document.hidden) { if (busy) { soon(); } return; } // a change during a fetch: fetch again after it
      busy = true;
      fetch(el.dataset.live, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.redirected || r.status === 401) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html === null) { return; }
          var focused = document.activeElement && el.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
          el.innerHTML = html;
          if (focused) {
            var again = el.querySelector('[href="' + focused + '"]');
            if (again) { again.focus(); }
          }
        })
        .catch(function () {})
        .then(function () { busy = false; });
    }
    function soon() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    }
    if (el.dataset.events && window.EventSource) {
      var es = new EventSource(el.dataset.events);
      es.addEventListener("event", soon);
    }
    if (el.dataset.every) {
      setInterval(refresh, Number(el.dataset.every) * 1000);
    }
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { soon(); } });
  }
  document.querySelectorAll("[data-live]").forEach(follow);
})();
