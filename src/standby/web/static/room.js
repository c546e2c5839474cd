// The incident room: follow changes without a reload while nobody is typing. The page
// works without this script (reload it); a Content-Security-Policy forbids inline scripts,
// so this is the room's only script.
(function () {
  "use strict";
  var room = document.getElementById("room");
  if (!room) return;
  document.querySelectorAll("svg.map[data-min-width]").forEach(function (map) {
    map.style.minWidth = map.getAttribute("data-min-width") + "px";
  });
  var mark = room.getAttribute("data-mark"), url = room.getAttribute("data-mark-url");
  var banner = document.getElementById("room-changed"), timer = null, busy = false;

  function typing() {
    // Someone writing a note, a reason or an update must not lose it to a reload (a drafted
    // update is typing only once edited: its text differs from the one the page came with).
    var fields = room.querySelectorAll("textarea, input[type=text], input:not([type]), input[type=datetime-local]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue || fields[i] === document.activeElement) return true;
    }
    return false;
  }
  function changed() {
    if (typing()) { banner.hidden = false; return; }
    location.replace(location.pathname + location.search.replace(/([?&])done=[^&]*&?/, "$1") + location.hash);
  }
  function look() {
    if (busy) return;
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && body.mark !== mark) changed(); })
      .catch(function () { /* offline for a moment: look again later */ })
      .then(function () { busy = false; });
  }
  function soon() { clearTimeout(timer); timer = setTimeout(look, 400); }
  // Component and outage changes come on the change stream; the incident's own changes
  // (timeline, messages) are noticed by looking at its mark now and then.
  if (window.EventSource) {
    var source = new EventSource("/api/v1/stream");
    source.addEventListener("component", soon);
    source.addEventListener("outage", soon);
  }
  setInterval(look, 5000);
})();
