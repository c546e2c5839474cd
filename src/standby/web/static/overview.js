// The overview page's script: a file, not inline, so the Content Security Policy can
// forbid inline scripts altogether.
(function () {
  "use strict";
  // The map scrolls sideways rather than shrink past legibility. A style attribute in
  // the markup would be refused by the policy; setting the property from here is not.
  document.querySelectorAll("svg.map[data-min-width]").forEach(function (map) {
    map.style.minWidth = map.getAttribute("data-min-width") + "px";
  });
  // Follow the change stream: reload once things settle after a change, so the page
  // shows an outage within seconds instead of at the next refresh.
  if (!window.EventSource) return;
  var source = new EventSource("/api/v1/stream"), timer = null;
  function changed() { clearTimeout(timer); timer = setTimeout(function () { location.reload(); }, 800); }
  source.addEventListener("component", changed);
  source.addEventListener("outage", changed);
})();
