/* The agents' home check: measure in this browser, let Standby judge, show what to do.
 *
 * Round trips: small no-store fetches of /readiness/ping, one at a time, for the page's
 * data-seconds. Throughput: a download of data-payload bytes and an upload of data-upload
 * bytes. The platform's login addresses (data-platform): a no-cors fetch each, with a
 * timeout; an answer of any kind means reached (the browser shows nothing more). The
 * microphone: the permission's state, or "granted" once it could be opened. The figures
 * go to /readiness/results, which judges them against the plan and stores the check; the
 * browser and its version are read there from the request. No framework, nothing from a CDN.
 */
(function () {
  "use strict";

  var root = document.getElementById("readiness");
  var start = document.getElementById("start");
  if (!root || !start) { return; }
  var TOKEN = root.getAttribute("data-token");
  var SECONDS = Number(root.getAttribute("data-seconds")) || 30;
  var PLATFORM = JSON.parse(root.getAttribute("data-platform") || "[]");
  var PAYLOAD = Number(root.getAttribute("data-payload"));
  var UPLOAD = Number(root.getAttribute("data-upload"));
  var GAP_MS = 250;
  var MAX_SAMPLES = 200;
  var REACH_TIMEOUT_MS = 8000;
  var progress = document.getElementById("progress");
  var trouble = document.getElementById("trouble");
  var microphoneButton = document.getElementById("microphone");
  var microphoneOpened = false;

  function headers(extra) {
    var found = extra || {};
    if (TOKEN) { found["X-Readiness-Token"] = TOKEN; }
    return found;
  }

  function say(text) { progress.textContent = text; }

  function wait(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }

  function roundTrips() {
    var samples = [];
    var until = performance.now() + SECONDS * 1000;
    function next() {
      if (performance.now() >= until || samples.length >= MAX_SAMPLES) { return Promise.resolve(samples); }
      var began = performance.now();
      return fetch("/readiness/ping?n=" + samples.length, { cache: "no-store" }).then(function () {
        samples.push(performance.now() - began);
        say("Timing round trips to Standby: " + samples.length + " so far…");
        return wait(GAP_MS).then(next);
      }, function () {
        return wait(GAP_MS).then(next);  // a lost round trip is left out; too few fail the check
      });
    }
    return next();
  }

  function download() {
    say("Measuring download speed…");
    var began = performance.now();
    return fetch("/readiness/payload?bytes=" + PAYLOAD, { cache: "no-store", headers: headers() })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("download refused (" + answer.status + ")"); }
        return answer.arrayBuffer();
      })
      .then(function (body) { return { bytes: body.byteLength, ms: performance.now() - began }; });
  }

  function upload() {
    say("Measuring upload speed…");
    var body = new Uint8Array(UPLOAD);
    for (var i = 0; i < body.length; i += 1) { body[i] = i % 251; }
    var began = performance.now();
    return fetch("/readiness/upload", {
      method: "POST", body: body, cache: "no-store",
      headers: headers({ "Content-Type": "application/octet-stream" })
    }).then(function (answer) {
      if (!answer.ok) { throw new Error("upload refused (" + answer.status + ")"); }
      return { bytes: UPLOAD, ms: performance.now() - began };
    });
  }

  function reach(address) {
    var control = new AbortController();
    var timer = setTimeout(function () { control.abort(); }, REACH_TIMEOUT_MS);
    return fetch(address, { mode: "no-cors", cache: "no-store", credentials: "omit", signal: control.signal })
      .then(function () { return true; }, function () { return false; })
      .then(function (reached) { clearTimeout(timer); return { address: address, reached: reached }; });
  }

  function platform() {
    if (!PLATFORM.length) { return Promise.resolve([]); }
    say("Reaching the contact-centre platform's login…");
    return Promise.all(PLATFORM.map(reach));
  }

  function microphone() {
    if (microphoneOpened) { return Promise.resolve("granted"); }
    if (!navigator.permissions || !navigator.permissions.query) { return Promise.resolve("unknown"); }
    return navigator.permissions.query({ name: "microphone" }).then(
      function (status) { return status.state; },
      function () { return "unknown"; }  // Firefox before 131 cannot be asked
    );
  }

  function openMicrophone() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show(trouble, "This browser cannot use a microphone here (it needs https).");
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      microphoneOpened = true;
      microphoneButton.textContent = "Microphone works";
    }, function (error) {
      show(trouble, "The microphone could not be opened (" + error.name + "): allow it for this site.");
    });
  }

  function show(element, text) { element.textContent = text; element.hidden = false; }

  function render(verdict) {
    var list = document.getElementById("results");
    list.textContent = "";
    verdict.checks.forEach(function (check) {
      var item = document.createElement("li");
      item.setAttribute("data-measure", check.measure);
      item.setAttribute("data-passed", check.passed ? "yes" : "no");
      var name = document.createElement("span");
      name.className = "measure-name";
      name.textContent = check.measure + ": ";
      var mark = document.createElement("span");
      mark.className = check.passed ? "pass" : "fail";
      mark.textContent = check.passed ? "passed" : "failed";
      var figures = document.createTextNode(" (" + check.value + "; " + check.limit + ")");
      item.appendChild(name);
      item.appendChild(mark);
      item.appendChild(figures);
      if (!check.passed && check.advice) {
        var advice = document.createElement("span");
        advice.className = "advice";
        advice.textContent = check.advice;
        item.appendChild(advice);
      }
      list.appendChild(item);
    });
    document.getElementById("verdict").textContent = verdict.passed
      ? "Ready to work from home"
      : "Not ready yet: see what failed below";
    document.getElementById("outcome").hidden = false;
  }

  function run() {
    start.disabled = true;
    trouble.hidden = true;
    var found = {};
    roundTrips()
      .then(function (samples) { found.round_trips_ms = samples; return download(); })
      .then(function (down) { found.download = down; return upload(); })
      .then(function (up) { found.upload = up; return platform(); })
      .then(function (reached) { found.platform = reached; return microphone(); })
      .then(function (state) {
        found.microphone = state;
        say("Sending the results to Standby…");
        return fetch("/readiness/results", {
          method: "POST", cache: "no-store",
          headers: headers({ "Content-Type": "application/json" }),
          body: JSON.stringify(found)
        });
      })
      .then(function (answer) {
        return answer.json().then(function (body) {
          if (!answer.ok) { throw new Error(body.detail || ("refused (" + answer.status + ")")); }
          return body;
        });
      })
      .then(function (verdict) {
        render(verdict);
        say("Checked. You can run it again after changing something.");
      })
      .catch(function (error) {
        show(trouble, "The check could not finish: " + error.message);
        say("Not finished.");
      })
      .then(function () { start.disabled = false; });
  }

  start.addEventListener("click", run);
  microphoneButton.addEventListener("click", openMicrophone);
}());
