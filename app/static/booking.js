/* An instrument's booking calendar (vendored FullCalendar, MIT packages only).
   The server sends Beijing wall-clock times without an offset and FullCalendar runs in its "UTC"
   mode, so it shows them exactly as sent, whatever the browser's own time zone: the calendar is in
   Beijing time for a user abroad too. Dragging over a free time fills the booking form's start and
   end; the form shows only the fields of the kind of booking chosen. */
(function () {
  "use strict";
  var element = document.getElementById("calendar");
  if (!element || !window.FullCalendar) {
    return;
  }
  var data = element.dataset;
  var minMinutes = parseInt(data.min, 10) || 30;
  var maxMinutes = parseInt(data.max, 10) || 480;

  // Beijing's wall clock as this calendar's dates hold it (UTC fields), whatever the browser's zone
  function beijingNow() {
    return new Date(Date.now() + 8 * 3600 * 1000);
  }

  function wallClock(date) {
    return date.toISOString().slice(0, 16); // "YYYY-MM-DDTHH:MM", the form's datetime-local value
  }

  var calendar = new FullCalendar.Calendar(element, {
    locale: "zh-cn",
    timeZone: "UTC",
    now: beijingNow,
    initialView: window.innerWidth < 768 ? "timeGridDay" : "timeGridWeek",
    headerToolbar: { left: "prev,next today", center: "title", right: "timeGridWeek,timeGridDay,listWeek" },
    allDaySlot: false,
    nowIndicator: true,
    slotMinTime: "07:00:00",
    slotMaxTime: "23:00:00",
    slotDuration: "00:30:00",
    height: "auto",
    businessHours: JSON.parse(data.businessHours || "[]"),
    selectable: data.selectable === "true",
    selectMirror: true,
    // a busy slot, a closure or a fault cannot be picked; a holiday can, and the server says whether it is open
    selectOverlap: function (event) { return event.classNames.indexOf("calendar-holiday") >= 0; },
    selectAllow: function (span) {
      var minutes = (span.end - span.start) / 60000;
      return span.start >= beijingNow() && minutes >= minMinutes && minutes <= maxMinutes;
    },
    select: function (info) {
      var start = document.getElementById("start");
      var end = document.getElementById("end");
      var mode = document.getElementById("mode");
      if (mode && mode.querySelector("option[value=self_operated]")) {
        mode.value = "self_operated";
        showMode();
      }
      if (start && end) {
        start.value = wallClock(info.start);
        end.value = wallClock(info.end);
        start.dispatchEvent(new Event("change"));
        start.focus();
      }
    },
    eventSources: [{ url: data.events }]
  });
  calendar.render();

  var mode = document.getElementById("mode");
  function showMode() {
    var chosen = mode ? mode.value : "";
    var kind = { self_operated: "mode-self_operated", sample: "mode-sample", service: "mode-service" }[chosen];
    document.querySelectorAll(".booking-form [class*=mode-]").forEach(function (block) {
      block.hidden = !block.classList.contains(kind);
    });
  }
  if (mode) {
    mode.addEventListener("change", showMode);
    showMode();
  }
}());
