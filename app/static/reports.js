/* The 报表 page: a workbook is built in the background (POST /reports/exports), and a panel
   follows it — the stage, the share done, the seconds spent — until the file is ready, then the
   browser downloads it under its Chinese name. Without fetch the plain form submit (a direct
   download) still works. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var panel = document.getElementById("report-progress");
  if (!form || !panel || !window.fetch || !window.FormData) { return; }
  var bar = panel.querySelector(".progress-bar");
  var text = panel.querySelector(".report-progress-text");
  var button = form.querySelector("button[type=submit]");
  var POLL_MS = 500;

  function show(message, percent, kind) {
    text.textContent = message;
    bar.style.width = Math.max(percent, 2) + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    bar.className = "progress-bar" + (kind ? " progress-bar-" + kind : " progress-bar-striped active");
  }

  function stop(message, kind) {
    show(message, 100, kind);
    button.disabled = false;
  }

  function follow(job, started) {
    fetch(job.status_url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (resp) { if (!resp.ok) { throw new Error(String(resp.status)); } return resp.json(); })
      .then(function (status) {
        var seconds = Math.round((Date.now() - started) / 1000);
        if (status.state === "done") {
          stop(panel.dataset.done.replace("%s", status.file_name), "success");
          window.location.assign(job.file_url);
        } else if (status.state === "failed") {
          stop(status.stage || panel.dataset.failed, "danger");
        } else {
          show(panel.dataset.running.replace("%s", status.stage).replace("%s", seconds), status.percent);
          setTimeout(function () { follow(job, started); }, POLL_MS);
        }
      })
      .catch(function () { stop(panel.dataset.failed, "danger"); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    panel.hidden = false;
    button.disabled = true;
    show(panel.dataset.starting, 0);
    var started = Date.now();
    fetch(form.dataset.exportUrl, {method: "POST", credentials: "same-origin", body: new FormData(form),
                                   headers: {"Accept": "application/json", "X-CSRFToken": form.dataset.csrf}})
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (body) {
          if (resp.status !== 202) { throw new Error(body.message || panel.dataset.failed); }
          return body;
        });
      })
      .then(function (job) { follow(job, started); })
      .catch(function (error) { stop(error.message || panel.dataset.failed, "danger"); });
  });
}());
