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

// --- Error summary (templates/includes/error_summary.html) -------------------------------------
// On a page shown again with errors, focus goes to the summary, so a screen reader reads it
// first and the keyboard starts there. Following one of its links moves focus to the field
// itself (not only the scroll), with its label in view. Without JavaScript the links still
// scroll to the fields.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) { return; }

  function quoted(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : value.replace(/['\\]/g, "\\$&");
  }

  // A GC Design System component (templates/gcds/) keeps its control, and the field's id, in its
  // shadow tree: the component is found by its data-field-id, or, for a choice of a group of
  // radios or checkboxes (id_kind_0), as the group whose options hold that id.
  function component(target) {
    var host = document.querySelector("[data-field-id='" + quoted(target) + "']");
    if (host) { return host; }
    var groups = document.querySelectorAll("gcds-radios[options], gcds-checkboxes[options]");
    for (var i = 0; i < groups.length; i += 1) {
      var options = [];
      try { options = JSON.parse(groups[i].getAttribute("options")) || []; } catch (error) { }
      if (options.some && options.some(function (option) { return option.id === target; })) {
        return groups[i];
      }
    }
    var group = target.replace(/_\d+$/, "");
    return group === target ? null :
      document.querySelector("[data-field-id='" + quoted(group) + "']");
  }

  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-error-target]");
    if (!link) { return; }
    var target = link.getAttribute("data-error-target");
    var field = document.getElementById(target);
    if (!field) {
      var host = component(target);
      if (!host) { return; }
      event.preventDefault();
      host.scrollIntoView();  // its label (or legend) is its top
      // The control itself when the component has drawn it (the first box of a group);
      // otherwise the component, which hands focus to its control (delegatesFocus).
      var inner = host.shadowRoot && (host.shadowRoot.getElementById(target) ||
        host.shadowRoot.querySelector("input, textarea, select"));
      (inner || host).focus({ preventScroll: true });
      return;
    }
    event.preventDefault();
    var label = document.querySelector("label[for='" + field.id + "']");
    var legend = field.closest("fieldset") && field.closest("fieldset").querySelector("legend");
    (label || legend || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
  summary.focus();
})();

// --- Submit once (helper C, issue 23: "Check before you commit") --------------------------------
// A form marked `data-submit-once` (the confirmation pages of irreversible steps) sends once:
// after the first submit its buttons are disabled and say so with aria-disabled. The server
// already does the step once whatever is sent (marketplace/once.py); this only spares a second
// click. Progressive enhancement: without this script the form works the same.
(function () {
  "use strict";
  function submitOnce(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitting") === "true") {
        event.preventDefault();  // a second press: the first is on its way
        return;
      }
      form.setAttribute("data-submitting", "true");
      // Disabled after this turn, so that the pressed button's name and value are still sent.
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]")
          .forEach(function (button) {
            button.disabled = true;
            button.setAttribute("aria-disabled", "true");
          });
      }, 0);
    });
  }
  document.querySelectorAll("form[data-submit-once]").forEach(submitOnce);
  // Back to a page the browser kept as it was left: its buttons work again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      form.querySelectorAll("[aria-disabled=true]").forEach(function (button) {
        button.disabled = false;
        button.removeAttribute("aria-disabled");
      });
    });
  });
})();
