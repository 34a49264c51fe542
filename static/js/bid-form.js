// The bid form: a live word count under each answer, and the draft saved as the supplier types.
// Without JavaScript the form still works: "Save draft" and "Submit bid" post it.
(function () {
  "use strict";
  var form = document.getElementById("bid-form");
  if (!form) { return; }
  var lang = document.documentElement.lang || "en";
  // The words come from the catalogue, in the page's language (data-* of the form: BidForm).
  var text = form.dataset;
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  function wordCount(n, limit) {
    var one = plurals ? plurals.select(n) === "one" : n === 1;
    var pattern = (one ? text.wordsOne : text.wordsOther) || "%(count)s / %(limit)s";
    return pattern.split("%(count)s").join(String(n)).split("%(limit)s").join(String(limit));
  }

  function countWords(value) {
    var trimmed = value.trim();
    return trimmed ? trimmed.split(/\s+/).length : 0;
  }

  // Each answer: a GC Design System text area (gcds-textarea, whose value is the text typed in
  // its shadow tree, and whose input events come out of it) or, the same, a plain one.
  var answers = "gcds-textarea[data-word-limit], textarea[data-word-limit]";
  form.querySelectorAll(answers).forEach(function (area) {
    var limit = parseInt(area.getAttribute("data-word-limit"), 10);
    var id = area.id || area.getAttribute("data-field-id") || area.getAttribute("name");
    var counter = document.createElement("p");
    counter.className = "gc-muted word-count mb-400";  // apart from the next question
    counter.id = id + "-count";
    counter.setAttribute("aria-live", "polite");
    area.insertAdjacentElement("afterend", counter);
    if (area.tagName === "TEXTAREA") {  // a component's control is out of reach of the page's ids
      var described = area.getAttribute("aria-describedby");
      area.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    }
    function update() {
      // A component not drawn yet has no value property: its text is still the attribute.
      var value = area.value;
      if (typeof value !== "string") { value = area.getAttribute("value") || ""; }
      var n = countWords(value);
      counter.textContent = wordCount(n, limit) + (n > limit ? " — " + text.over : "");
      counter.classList.toggle("gc-text-danger", n > limit);
    }
    area.addEventListener("input", update);
    update();
    if (area.tagName !== "TEXTAREA" && window.customElements) {
      customElements.whenDefined(area.localName).then(update);
    }
  });

  var url = form.getAttribute("data-autosave");
  var status = document.getElementById("autosave-status");
  var timer = null;
  function save() {
    var data = new FormData(form);
    data.delete("attachment");  // a chosen file goes with "Upload", not with every keystroke
    status.textContent = text.saving;
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") || "" }
    }).then(function (response) {
      return response.json().then(function (body) {
        status.textContent = body.saved ? body.message : text.failed;
      });
    }).catch(function () { status.textContent = text.failed; });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 1500);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
