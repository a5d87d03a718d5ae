/* Behaviour our templates declare with data attributes, instead of inline handlers (the CSP runs
   no inline script of ours): a form with data-confirm asks before it is sent; a button with
   data-print prints the page; a panel with data-reload-after reloads the page after that many seconds. FAB's date pickers speak Chinese (its own start-up script, which runs
   when the page is ready, picks up this default). */
(function () {
  "use strict";
  if (window.jQuery && jQuery.fn.datepicker && jQuery.fn.datepicker.dates["zh-CN"]) {
    jQuery.fn.datepicker.defaults.language = "zh-CN";
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  // a panel waiting for something the server learns later (a plug's confirmation) reloads the page
  var waiting = document.querySelector("[data-reload-after]");
  if (waiting) {
    window.setTimeout(function () { window.location.reload(); }, 1000 * Number(waiting.dataset.reloadAfter));
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
}());
