// Progressive enhancement: a <details data-open-when-wide> (the opportunity list's filters) is
// folded on a phone, so that what matters most comes first, and opened on a wide screen, where
// there is room beside it. Without JavaScript it stays folded and opens with a click or a key.
(function () {
  "use strict";
  if (!window.matchMedia || !window.matchMedia("(min-width: 992px)").matches) { return; }
  document.querySelectorAll("details[data-open-when-wide]").forEach(function (details) {
    details.open = true;
  });
})();
