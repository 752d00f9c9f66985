/* wangge service worker (issue 24), served as /maps/sw.js with scope /maps/.
   Pages and data: network first, the last good copy when the network is away (a stairwell,
   a basement). Vendored assets: cache first. Writes are never cached or replayed here: the
   page queues them in IndexedDB with client-made ids (see wangge-field.js). */
"use strict";
var CACHE = "wangge-field-v1";
var ASSETS = [
  "/maps/static/vendor/leaflet/leaflet.js",
  "/maps/static/vendor/leaflet/leaflet.css",
  "/maps/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
  "/maps/static/vendor/leaflet.markercluster/MarkerCluster.css",
  "/maps/static/vendor/leaflet.markercluster/MarkerCluster.Default.css",
  "/maps/static/wangge-field.js",
  "/maps/static/wangge-field.css"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(ASSETS); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function keep(request, response) {
  if (response && response.ok && response.type === "basic") {
    var copy = response.clone();
    caches.open(CACHE).then(function (c) { c.put(request, copy); });
  }
  return response;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/maps/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (r) { return keep(request, r); });
    }));
    return;
  }
  if (url.pathname === "/maps/work" || url.pathname.indexOf("/maps/incident/") === 0 ||
      url.pathname.indexOf("/v1/photos/") === 0 || url.pathname === "/v1/session") {
    var key = url.pathname === "/maps/work" ? "/maps/work" : request;
    event.respondWith(fetch(request).then(function (r) { return keep(key, r); }, function () {
      return caches.match(key).then(function (hit) {
        return hit || new Response("<!doctype html><meta charset=utf-8><title>离线</title><p>离线，且此页尚未缓存。", {
          status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}
        });
      });
    }));
  }
});

self.addEventListener("message", function (event) {
  var urls = (event.data && event.data.cache) || [];
  event.waitUntil(caches.open(CACHE).then(function (c) {
    return Promise.all(urls.map(function (u) {
      return fetch(u, {credentials: "same-origin"}).then(function (r) { if (r.ok) return c.put(u, r); }, function () {});
    }));
  }));
});
