// Character counters, as progressive enhancement (every form works without them; the server
// checks every limit). Any <textarea> or <input> with a `data-counter` attribute and a
// `maxlength` gets, right after it, "1,950 characters left" / « 1 950 caractères restants »:
// shown at once as the person types, and told to screen readers in a polite live region a
// moment after they pause (not at every key). No inline script (Content Security Policy): the
// words come from the catalogue, in the data-counter-labels attribute of this script's tag
// (marketplace/templatetags/counter_tags.py).
// A GC Design System text area (gcds-textarea, drawn by the crispy pack templates/gcds/) with
// `data-counter` is given `hide-limit` by the pack, so this counter is the only one: it reads
// the component's `value` and its input events (they cross the shadow boundary), and its
// words go after the component. Its own box cannot be described from here (aria-describedby
// does not reach into a shadow tree); the live region still speaks.
(function () {
  "use strict";
  var script = document.currentScript;
  var lang = (document.documentElement.lang || "en").slice(0, 2);
  var labels = null;
  try {
    labels = JSON.parse(script && script.getAttribute("data-counter-labels") || "null");
  } catch (error) { labels = null; }
  if (!labels || !labels.left || !labels.over) { return; }
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  var numbers = window.Intl && Intl.NumberFormat ? new Intl.NumberFormat(lang + "-CA") : null;
  var PAUSE_MS = 1000;
  var made = 0;

  function phrase(forms, count) {
    var form = plurals ? plurals.select(count) : (count === 1 ? "one" : "other");
    var pattern = forms[form] || forms.other;
    return pattern.split("%(count)s").join(numbers ? numbers.format(count) : String(count));
  }

  function attach(field) {
    var limit = parseInt(field.getAttribute("maxlength"), 10);
    if (!(limit > 0) || field.hasAttribute("data-counter-attached")) { return; }
    field.setAttribute("data-counter-attached", "");
    made += 1;
    var shown = document.createElement("span");
    shown.className = "char-counter";
    shown.setAttribute("aria-hidden", "true");
    var spoken = document.createElement("span");
    spoken.className = "char-counter-spoken";
    spoken.id = (field.id || field.getAttribute("data-field-id") || "field-" + made) + "-counter";
    spoken.setAttribute("aria-live", "polite");
    var timer = null;

    // A component not yet defined (its module loads after this script) has no `value`
    // property: its attribute holds the text until then.
    function current() {
      var value = field.value;
      return typeof value === "string" ? value : (field.getAttribute("value") || "");
    }

    function text() {
      var left = limit - current().length;
      return left >= 0 ? phrase(labels.left, left) : phrase(labels.over, -left);
    }
    function update(now) {
      var words = text();
      shown.textContent = words;
      shown.classList.toggle("char-counter-over", current().length > limit);
      window.clearTimeout(timer);
      if (now) { spoken.textContent = words; return; }
      timer = window.setTimeout(function () { spoken.textContent = words; }, PAUSE_MS);
    }
    update(true);  // filled before it is in the page, so that loading it announces nothing
    field.insertAdjacentElement("afterend", shown);
    shown.insertAdjacentElement("afterend", spoken);
    if (field.localName !== "gcds-textarea") {
      var described = field.getAttribute("aria-describedby");
      field.setAttribute("aria-describedby", (described ? described + " " : "") + spoken.id);
    }
    field.addEventListener("input", function () { update(false); });
  }

  document.querySelectorAll(
    "textarea[data-counter][maxlength], input[data-counter][maxlength], " +
    "gcds-textarea[data-counter][maxlength]"
  ).forEach(attach);
})();
