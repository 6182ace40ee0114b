/* The page of an import that runs in the background: ask for its progress every second and a half, move the bar,
   and reload the page (with its report) once the job is no longer running. No library, no network beyond the
   portal. */
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector(".progress-bar");
  function poll() {
    window.fetch(box.getAttribute("data-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        var percent = job.total ? Math.floor(100 * job.done / job.total) : 0;
        bar.style.width = percent + "%";
        bar.setAttribute("aria-valuenow", job.done);
        bar.textContent = job.done + " / " + job.total;
        if (job.running) { window.setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
