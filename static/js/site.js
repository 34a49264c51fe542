// Progressive enhancements; every page works without them. No inline scripts (CSP).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var french = lang.slice(0, 2) === "fr";
  var labels = {
    en: { local: "Your time:" },
    fr: { local: "Votre heure\u00a0:" }  // a no-break space before the colon, as in French
  }[lang.slice(0, 2)] || {};
  // The countdown's words, from the catalogue (formats.countdown_labels, in the data-countdown
  // attribute of this script's tag): each unit's singular and plural, the "left" phrases and
  // "Closed". Without them, the server's text stays as it is.
  var source = document.currentScript && document.currentScript.getAttribute("data-countdown");
  var words = null;
  try { words = source ? JSON.parse(source) : null; } catch (error) { words = null; }
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  function isOne(count) {
    return plurals ? plurals.select(count) === "one" : count === 1;
  }

  function fill(pattern, name, value) {
    return pattern.split("%(" + name + ")" + (name === "count" ? "d" : "s")).join(value);
  }

  // As formats.remaining writes it on the server: the largest unit and the one below it,
  // leaving out a zero, rounded up to the minute ("9 days 19 hours left").
  function remaining(ms) {
    var seconds = Math.ceil(ms / 60000) * 60;
    var counts = words.units.map(function (unit) {
      var count = Math.floor(seconds / unit[1]);
      seconds -= count * unit[1];
      return [unit, count];
    });
    var first = 0;
    while (first < counts.length - 1 && !counts[first][1]) { first += 1; }
    var shown = counts.slice(first, first + 2).filter(function (part, index) {
      return index === 0 || part[1];
    });
    var text = shown.map(function (part) {
      return fill(isOne(part[1]) ? part[0][2] : part[0][3], "count", part[1]);
    }).join(" ");
    var form = shown.length > 1 || !isOne(shown[0][1]) ? "other" : "one";
    return fill(words.left[shown[0][0][0]][form], "duration", text);
  }

  function countdown(el) {
    var end = new Date(el.getAttribute("data-deadline"));
    if (!words || isNaN(end)) { return; }  // the server's text stays
    function tick() {
      var ms = end - new Date();
      el.textContent = ms <= 0 ? words.closed : remaining(ms);
    }
    tick();
    window.setInterval(tick, 30000);
  }

  // As formats.datetime writes it: "December 21, 2026, 2:00 p.m." / "21 décembre 2026 à 14 h".
  function written(when) {
    var date = when.toLocaleDateString(french ? "fr-CA" : "en-CA", { dateStyle: "long" });
    if (!french) {
      return date + ", " + when.toLocaleTimeString("en-CA", { hour: "numeric", minute: "2-digit" });
    }
    if (when.getDate() === 1) { date = date.replace(/^1 /, "1er "); }  // "1er juin 2025"
    var minutes = when.getMinutes();
    return date + " à " + when.getHours() + "\u00a0h" +
      (minutes ? "\u00a0" + (minutes < 10 ? "0" : "") + minutes : "");
  }

  function localTime(el) {
    var when = new Date(el.getAttribute("datetime"));
    el.textContent = labels.local + " " + written(when);
    el.hidden = false;
  }

  document.querySelectorAll("[data-deadline]").forEach(countdown);
  document.querySelectorAll("time[data-local-time]").forEach(localTime);
})();
