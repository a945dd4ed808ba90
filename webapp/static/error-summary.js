// Moves the keyboard focus to the error summary of a refused form (templates/_forms.html,
// error_summary), so screen readers read it first and its links lead to the fields
// (BITV 2.0 / WCAG 3.3.1). Without JavaScript the summary is still announced (role="alert").
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
}());
