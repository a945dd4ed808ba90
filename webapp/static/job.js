// Progress of a background job (webapp/jobs.py): polls the job's status once a second,
// updates the progress bar and the status line, and reloads the page when the job has
// ended, which then shows its result. Without JavaScript the page's link does the same.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box) { return; }
  var bar = box.querySelector("progress");
  var line = box.querySelector(".job-phase");
  function number(n) { return n.toLocaleString("de-DE"); }
  function poll() {
    fetch(box.getAttribute("data-job-status"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job || job.status !== "running") { window.location.reload(); return; }
        if (job.total > 0) {
          bar.max = job.total;
          bar.value = job.done;
          line.textContent = job.phase + ": " + number(job.done) + " von " + number(job.total);
        } else {
          line.textContent = job.phase;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());
