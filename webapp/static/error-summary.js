// Moves the keyboard focus to the error summary of a refused form (templates/_forms.html,
// error_summary), so screen readers read it first; a link of the summary moves the focus into
// its field (BITV 2.0 / WCAG 3.3.1). Without JavaScript the summary is still announced
// (role="alert") and its links still scroll to the fields.
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (!summary) { return; }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (field && typeof field.focus === "function") {
      event.preventDefault();
      field.scrollIntoView({block: "center"});
      field.focus();
    }
  });
}());
