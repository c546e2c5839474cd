/* The outcome page's service worker: /outcomes opens without a connection.
 *
 * Served at /outcomes-sw.js (pages/outcomes.py) so that its scope is the whole site: it
 * must see the navigations to /logout and /login, not only /outcomes. It answers only
 * GET /outcomes and the page's own static files, network first: the server's answer,
 * whatever it is (a redirect to the login page, an error), is what the browser gets,
 * and a copy of a good answer is kept; the kept copy is served only when the network
 * fails. Everything else (the API, every POST, every other page) goes to the network
 * untouched and is never stored.
 *
 * The page names the signed-in agent, so the kept copy is dropped on the way to /logout
 * and on the login page (a shared device must not show one agent's page to the next).
 */
"use strict";

var PREFIX = "standby-outcomes-";
var CACHE = PREFIX + "v1";  // a new version here drops the old copies on activate
var PAGE = "/outcomes";
var FILES = ["/static/outcomes.js", "/static/outcomes.css", "/static/standby.css", "/static/favicon.svg"];
var KEPT = [PAGE].concat(FILES);
var FORGET = ["/logout", "/login"];

function sameOrigin(url) {
  return url.origin === self.location.origin;
}

function usable(response) {
  // Only a plain 200 from this site: never a redirect (to the login page), an error or an opaque answer.
  return response.ok && response.type === "basic" && !response.redirected;
}

function keep(path, response) {
  return caches.open(CACHE).then(function (cache) { return cache.put(path, response); });
}

function fetchInto(cache, path) {
  // A failure (signed out, offline) keeps nothing for that path and is not an error.
  return fetch(path, { credentials: "same-origin", cache: "no-cache" }).then(function (response) {
    return usable(response) ? cache.put(path, response) : undefined;
  }, function () { return undefined; });
}

function keepPage(response) {
  return caches.open(CACHE).then(function (cache) {
    return cache.put(PAGE, response).then(function () {
      // A file the browser took from its memory cache never came through here (after a
      // logout emptied ours, say): fetch what is missing, so that the copy is whole.
      return Promise.all(FILES.map(function (path) {
        return cache.match(path).then(function (found) { return found || fetchInto(cache, path); });
      }));
    });
  });
}

function forPage(event) {
  // Whether the outcome page asked for this file: other pages (the login page among them)
  // share standby.css and the icon, and must not put them back once the copy is dropped.
  if (!event.clientId) { return Promise.resolve(false); }
  return self.clients.get(event.clientId).then(function (client) {
    return !!client && new URL(client.url).pathname === PAGE;
  });
}

function forget() {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf(PREFIX) === 0; })
      .map(function (n) { return caches.delete(n); }));
  });
}

self.addEventListener("install", function (event) {
  // The page that registers us was fetched before we existed: fetch it (and its files)
  // again now, so that it opens offline from the first visit.
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(KEPT.map(function (path) { return fetchInto(cache, path); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf(PREFIX) === 0 && n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (!sameOrigin(url)) { return; }
  if (request.mode === "navigate" && FORGET.indexOf(url.pathname) !== -1) {
    // Logging out (or someone signing in): drop the agent's page. Not answered here:
    // the request itself goes to the network as usual.
    event.waitUntil(forget());
    return;
  }
  if (request.method !== "GET" || KEPT.indexOf(url.pathname) === -1) { return; }
  if (url.pathname === PAGE && request.mode !== "navigate") { return; }
  var path = url.pathname;
  event.respondWith(fetch(request).then(function (response) {
    if (usable(response) && path === PAGE) {
      event.waitUntil(keepPage(response.clone()));
    } else if (usable(response)) {
      var copy = response.clone();
      event.waitUntil(forPage(event).then(function (yes) { return yes ? keep(path, copy) : undefined; }));
    } else if (path === PAGE && response.type === "opaqueredirect") {
      // The server sent the page to the login page: the session is over, so is the copy.
      event.waitUntil(forget());
    }
    return response;
  }, function (failure) {
    // No answer at all (offline, server unreachable): the kept copy, if there is one.
    return caches.match(path, { cacheName: CACHE, ignoreVary: true }).then(function (kept) {
      if (kept) { return kept; }
      throw failure;
    });
  }));
});
