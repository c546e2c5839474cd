/* The agents' outcome page: nothing typed is lost, nothing is stored twice.
 *
 * Each entry gets its own id and is written to localStorage before anything is sent.
 * It leaves localStorage only when Standby answered that it has it ("stored", or
 * "duplicate": stored by an earlier sending whose answer was lost). Entries are sent
 * on load, when the browser comes back online, and every 10 seconds. A refusal (422)
 * keeps the entry, with the reason, for the agent to correct; a lost sign-in (401/403)
 * keeps everything and says to sign in again. No framework, nothing from a CDN.
 *
 * A service worker (outcomes-sw.js) keeps a copy of this page, so that it opens, with
 * its waiting entries, when there is no connection; the copy is dropped at logout. When
 * the browser says it is offline, or the last sending got no answer, the page says so.
 */
(function () {
  "use strict";

  var root = document.getElementById("outcomes");
  if (!root) { return; }
  var API = root.getAttribute("data-api");
  var WORKER = root.getAttribute("data-worker");
  var AGENT = root.getAttribute("data-agent");
  var PENDING = "standby.outcomes.pending";
  var SENT = "standby.outcomes.sent";
  var RETRY_MS = 10000;
  var BATCH = 100;
  var KEEP_SENT = 10;
  var FIELDS = ["customer", "phone", "queue", "reason", "outcome", "call_id"];

  var form = document.getElementById("outcome-form");
  var sending = false;
  var signedOut = false;
  var unreachable = false;  // the last sending got no answer at all (offline, or Standby down)
  var trouble = "";
  var editing = null;

  function load(key) {
    try {
      var value = JSON.parse(window.localStorage.getItem(key) || "[]");
      return Array.isArray(value) ? value : [];
    } catch (e) {
      return [];
    }
  }

  function save(key, list) {
    window.localStorage.setItem(key, JSON.stringify(list));
  }

  function newId() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") { return c.randomUUID(); }
    // randomUUID needs a secure origin (https or localhost); getRandomValues does not.
    var bytes = new Uint8Array(16);
    c.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function entryFromForm(previous) {
    var body = { client_id: previous ? previous.body.client_id : newId(), agent: AGENT };
    FIELDS.forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) { body[name] = value; }
    });
    body.follow_up = form.elements.follow_up.checked;
    var clockWrong = previous && (previous.problems || []).some(function (p) { return p.column === "logged_at"; });
    // The time it was typed, not the time it reached Standby (hours later, perhaps).
    body.logged_at = previous && !clockWrong ? previous.body.logged_at : new Date().toISOString();
    if (previous && previous.body.agent) { body.agent = previous.body.agent; }
    return { body: body, problems: null };
  }

  function onSubmit(event) {
    event.preventDefault();
    var pending = load(PENDING);
    var previous = null;
    var kept = pending.filter(function (e) {
      if (editing && e.body.client_id === editing) { previous = e; return false; }
      return true;
    });
    kept.push(entryFromForm(previous));
    try {
      save(PENDING, kept);
    } catch (e) {
      // The entry is still in the form: say so rather than lose it.
      showTrouble("This device could not keep the entry (its storage is full). It is still in the form.");
      return;
    }
    form.reset();
    setEditing(null);
    form.elements.customer.focus();
    render();
    flush();
  }

  function setEditing(clientId) {
    editing = clientId;
    document.getElementById("editing").hidden = !clientId;
  }

  function edit(entry) {
    FIELDS.forEach(function (name) { form.elements[name].value = entry.body[name] || ""; });
    form.elements.follow_up.checked = !!entry.body.follow_up;
    setEditing(entry.body.client_id);
    form.scrollIntoView({ behavior: "smooth", block: "start" });
    form.elements.customer.focus();
  }

  function discard(entry) {
    if (!window.confirm("Discard this entry? It has not reached Standby and will be lost.")) { return; }
    save(PENDING, load(PENDING).filter(function (e) { return e.body.client_id !== entry.body.client_id; }));
    if (editing === entry.body.client_id) { form.reset(); setEditing(null); }
    render();
  }

  function showTrouble(text) {
    trouble = text;
    render();
  }

  function flush() {
    if (sending) { return; }
    var ready = load(PENDING).filter(function (e) { return !e.problems; });
    if (!ready.length || navigator.onLine === false) { render(); return; }
    var batch = ready.slice(0, BATCH);
    var more = ready.length > batch.length;
    sending = true;
    fetch(API, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(batch.map(function (e) { return e.body; }))
    }).then(function (response) {
      unreachable = false;
      if (response.status === 401 || response.status === 403) {
        signedOut = true;
        return false;
      }
      signedOut = false;
      if (response.status !== 200 && response.status !== 422) {
        trouble = "Standby answered " + response.status + "; the entries are kept and sent again shortly.";
        return false;
      }
      return response.json().then(function (answer) { return settle(batch, answer); });
    }, function () {
      trouble = "";  // no connection (or it dropped): kept, and sent when it is back
      unreachable = true;
      return false;
    }).then(function (settled) {
      sending = false;
      render();
      if (settled && more) { flush(); }
    });
  }

  function settle(batch, answer) {
    if (!answer || !Array.isArray(answer.results)) {
      trouble = "Standby refused the request: " + JSON.stringify(answer && answer.detail);
      return false;
    }
    trouble = "";
    var byId = {};
    answer.results.forEach(function (result) {
      var entry = batch[result.row - 1];
      if (entry) { byId[entry.body.client_id] = result; }
    });
    var sent = load(SENT);
    var pending = load(PENDING).filter(function (e) {
      var result = byId[e.body.client_id];
      if (!result) { return true; }
      if (result.status === "stored" || result.status === "duplicate") {
        sent.unshift({ client_id: e.body.client_id, customer: e.body.customer, queue: e.body.queue,
                       logged_at: e.body.logged_at, status: result.status });
        return false;
      }
      e.problems = result.problems;
      return true;
    });
    save(PENDING, pending);
    save(SENT, sent.slice(0, KEEP_SENT));
    return true;
  }

  function item(entry, when, extra) {
    var li = document.createElement("li");
    li.setAttribute("data-client-id", entry.client_id);
    var head = document.createElement("div");
    head.className = "entry-head";
    head.textContent = entry.customer || "(no customer)";
    var meta = document.createElement("div");
    meta.className = "entry-meta";
    meta.textContent = (entry.queue || "") + " · " + when + (extra ? " · " + extra : "");
    li.appendChild(head);
    li.appendChild(meta);
    return li;
  }

  function shownTime(iso) {
    var moment = new Date(iso);
    return isNaN(moment.getTime()) ? "" : moment.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
  }

  function button(text, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button";
    b.textContent = text;
    b.addEventListener("click", action);
    return b;
  }

  function renderPending(pending) {
    var list = document.getElementById("pending");
    list.textContent = "";
    pending.forEach(function (entry) {
      var li = item(entry.body, shownTime(entry.body.logged_at), entry.problems ? "refused" : "waiting");
      (entry.problems || []).forEach(function (p) {
        var line = document.createElement("p");
        line.className = "entry-problem";
        line.textContent = (p.column ? p.column + ": " : "") + p.message;
        li.appendChild(line);
      });
      if (entry.problems) {
        var actions = document.createElement("div");
        actions.className = "entry-actions";
        actions.appendChild(button("Correct", function () { edit(entry); }));
        actions.appendChild(button("Discard", function () { discard(entry); }));
        li.appendChild(actions);
      }
      list.appendChild(li);
    });
    document.getElementById("pending-none").hidden = pending.length > 0;
  }

  function renderSent(sent) {
    var list = document.getElementById("sent");
    list.textContent = "";
    sent.forEach(function (entry) {
      list.appendChild(item(entry, shownTime(entry.logged_at), entry.status === "duplicate" ? "already there" : "sent"));
    });
    document.getElementById("sent-none").hidden = sent.length > 0;
  }

  function render() {
    var pending = load(PENDING);
    var refused = pending.filter(function (e) { return e.problems; }).length;
    var status = document.getElementById("sync");
    var offline = navigator.onLine === false;
    var text;
    if (!pending.length) {
      text = "All sent";
      if (offline) { text += " · no connection: new entries are kept and sent when it is back"; }
    } else {
      text = pending.length + " waiting to send";
      if (refused) { text += " (" + refused + " to correct)"; }
      if (offline || unreachable) { text += " · no connection: they are kept and sent when it is back"; }
    }
    status.textContent = text;
    status.className = "sync" + (pending.length ? "" : " all-sent") + (offline ? " offline" : "");
    document.getElementById("signin").hidden = !signedOut;
    var troubleBox = document.getElementById("trouble");
    troubleBox.hidden = !trouble;
    troubleBox.textContent = trouble;
    renderPending(pending);
    renderSent(load(SENT));
  }

  function registerWorker() {
    // Feature-detected: without a worker (an old browser, plain http, a refusal) the page still
    // works, only it does not open offline.
    if (!WORKER || !("serviceWorker" in navigator)) { return; }
    try {
      navigator.serviceWorker.register(WORKER, { scope: "/" }).catch(function () {});
    } catch (e) {
      // register() can throw rather than reject (a sandboxed frame): the page goes on without it.
    }
  }

  form.addEventListener("submit", onSubmit);
  window.addEventListener("online", function () { unreachable = false; flush(); });
  window.addEventListener("offline", render);
  window.addEventListener("storage", render);  // another tab of this page changed the lists
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { flush(); }
  });
  window.setInterval(flush, RETRY_MS);
  render();
  flush();
  // After the page's own loading, so the worker's first fetches do not compete with it.
  if (document.readyState === "complete") { registerWorker(); } else { window.addEventListener("load", registerWorker); }
}());
