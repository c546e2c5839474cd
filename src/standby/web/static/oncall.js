// The on-call page: a Copy button beside each calendar address. Without this script the
// address is still there to select and copy by hand; the button stays hidden.
(function () {
  "use strict";
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { button.textContent = "Select and copy"; });
      } else {
        button.textContent = "Selected: copy it";
      }
    });
  });
  // Selecting the whole address at a tap is what a phone user wants before copying it.
  document.querySelectorAll(".copy-field input[readonly]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
