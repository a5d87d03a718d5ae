/* The 报表 page: a workbook is built on the server, which can take seconds for a whole school.
   Instead of a page that looks frozen, the download runs through fetch() and a panel shows the
   phase, the seconds spent building, then the share of the file received; the file is saved
   under the server's Chinese name. Without fetch/streams the plain form submit still works. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var panel = document.getElementById("report-progress");
  if (!form || !panel || !window.fetch || !window.URL || !window.ReadableStream) { return; }
  var bar = panel.querySelector(".progress-bar");
  var text = panel.querySelector(".report-progress-text");
  var button = form.querySelector("button[type=submit]");

  function say(template, value) { text.textContent = template.replace("%s", value); }

  function fileName(disposition) {
    var m = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
    return m ? decodeURIComponent(m[1]) : "report.xlsx";
  }

  function finish(ok) {
    button.disabled = false;
    bar.classList.remove("active", "progress-bar-striped");
    bar.classList.add(ok ? "progress-bar-success" : "progress-bar-danger");
    bar.style.width = "100%";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
    var started = Date.now();
    panel.hidden = false;
    button.disabled = true;
    bar.className = "progress-bar progress-bar-striped active";
    bar.style.width = "100%";
    say(panel.dataset.building, 0);
    var timer = setInterval(function () { say(panel.dataset.building, Math.round((Date.now() - started) / 1000)); }, 500);
    fetch(url, {credentials: "same-origin"}).then(function (resp) {
      clearInterval(timer);
      var type = resp.headers.get("Content-Type") || "";
      if (!resp.ok || type.indexOf("spreadsheetml") < 0) {
        // a refusal or a message for the user: let the browser show it as a page
        window.location.assign(url);
        return null;
      }
      var total = Number(resp.headers.get("Content-Length")) || 0;
      var received = 0, chunks = [], reader = resp.body.getReader();
      bar.className = "progress-bar";
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) { return null; }
          chunks.push(step.value);
          received += step.value.length;
          if (total) {
            var percent = Math.round(received * 100 / total);
            bar.style.width = percent + "%";
            say(panel.dataset.downloading, percent);
          }
          return pump();
        });
      }
      return pump().then(function () {
        var name = fileName(resp.headers.get("Content-Disposition"));
        var link = document.createElement("a");
        link.href = URL.createObjectURL(new Blob(chunks, {type: type}));
        link.download = name;
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
        say(panel.dataset.done, name + "（" + Math.round((Date.now() - started) / 100) / 10 + " s）");
        finish(true);
      });
    }).catch(function () {
      clearInterval(timer);
      say(panel.dataset.failed, "");
      finish(false);
    });
  });
}());
