/* The patient's ticket page: number, status, how many ahead and the estimated wait, live.
 * Needs live.js. The stream sends this ticket's summary only (never other patients' data). */
(function () {
  "use strict";

  var card = document.querySelector("[data-ticket-stream]");
  if (!card) return;
  var called = document.querySelector("[data-testid=ticket-called]");
  var wasCalled = called && !called.hidden;

  function set(name, value) {
    var nodes = document.querySelectorAll("[data-field=" + name + "]");
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = value === null || value === undefined || value === "" ? "—" : String(value);
    }
  }

  window.SmartClinicLive.connect(card.getAttribute("data-ticket-stream"), {
    lastId: parseInt(card.getAttribute("data-last-id") || "0", 10),
    onState: window.SmartClinicLive.stateBadge(document.getElementById("live-state")),
    onMessage: function (data) {
      if (data.kind !== "ticket") return;
      set("status_display", data.status_display);
      set("ahead", data.ahead);
      set("eta_minutes", data.eta_minutes);
      set("room", data.room);
      if (called) called.hidden = !data.called;
      if (data.called && !wasCalled && navigator.vibrate) navigator.vibrate([300, 150, 300]);
      wasCalled = data.called;
    },
  });
})();
