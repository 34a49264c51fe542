// Progressive enhancements; every page works without them. No inline scripts (CSP).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var labels = {
    en: { closed: "Closed", left: "left", d: "d", h: "h", min: "min", local: "Your time:" },
    fr: { closed: "Fermé", left: "restant", d: "j", h: "h", min: "min", local: "Votre heure :" }
  }[lang.slice(0, 2)] || {};

  function countdown(el) {
    var end = new Date(el.getAttribute("data-deadline"));
    function tick() {
      var ms = end - new Date();
      if (ms <= 0) { el.textContent = labels.closed; return; }
      var m = Math.floor(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
      el.textContent = (d ? d + " " + labels.d + " " : "") + h + " " + labels.h + " " +
        (m % 60) + " " + labels.min + " " + labels.left;
    }
    tick();
    window.setInterval(tick, 30000);
  }

  function localTime(el) {
    var when = new Date(el.getAttribute("datetime"));
    el.textContent = labels.local + " " + when.toLocaleString(lang, {
      dateStyle: "long", timeStyle: "short"
    });
    el.hidden = false;
  }

  document.querySelectorAll("[data-deadline]").forEach(countdown);
  document.querySelectorAll("time[data-local-time]").forEach(localTime);
})();
