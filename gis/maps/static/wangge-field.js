/* wangge field pages (issue 24): "my work" and the incident page on a phone.
   No inline scripts: the pages carry their data in JSON blocks and data-* attributes.
   Writes go through one queue kept in IndexedDB: each action has a client-made id, is sent
   at once when the phone is online and kept on the phone when not, and is resent when the
   connection returns; the server stores an id once, and a conflict is shown, not lost. */
(function () {
  "use strict";
  var STATES = {reported: "待派遣", assigned: "已派遣", in_progress: "处置中", resolved: "已办结",
    closed: "已结案", returned: "已回退", reopened: "重新处置", suspended: "挂账", extended: "延期处置"};
  var DB = "wangge-field", STORE = "queue";
  var page = document.body.getAttribute("data-page");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function csrf() { var m = $('meta[name="csrf-token"]'); return m ? m.content : ""; }
  function newId() {
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function status(text, kind) {
    var line = $("#net"); if (!line) return;
    line.textContent = text || ""; line.className = "status-line" + (text ? " show " + (kind || "") : "");
  }
  function notice(text, kind) {
    var box = $("#notice");
    if (!box) { status(text, kind); return; }
    box.hidden = !text; box.textContent = text || ""; box.className = "notice " + (kind || "");
  }

  /* ---- the queue (IndexedDB) ---- */
  function db() {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open(DB, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE, {keyPath: "client_id"}); };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
  }
  function tx(mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(STORE, mode), out = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function enqueue(item) { return tx("readwrite", function (s) { return s.put(item); }); }
  function dequeue(id) { return tx("readwrite", function (s) { return s.delete(id); }); }
  function queued() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (all) {
      return (all || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  /* ---- sending ---- */
  function request(item, token) {
    var url, init = {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": token}};
    if (item.kind === "photos") {
      var form = new FormData();
      item.files.forEach(function (f) { form.append("photo", f.blob, f.name); });
      form.append("stage", item.stage); form.append("client_id", item.client_id);
      url = "/v1/incidents/" + item.incident + "/photos"; init.body = form;
    } else {
      url = "/v1/incidents/" + item.incident + "/" + item.kind;
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(item.body);
    }
    return fetch(url, init);
  }
  function freshToken() {
    return fetch("/v1/session", {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error("signed out");
      return r.json();
    }).then(function (s) {
      var m = $('meta[name="csrf-token"]'); if (m) m.content = s.csrf_token;
      return s.csrf_token;
    });
  }
  function sendOne(item) {
    return request(item, csrf()).then(function (r) {
      if (r.status === 403 && csrf()) {  // a page kept offline may hold an older session's token
        return freshToken().then(function (t) { return request(item, t); });
      }
      return r;
    });
  }
  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    flushing = queued().then(function (items) {
      var results = [];
      var chain = Promise.resolve();
      items.forEach(function (item) {
        chain = chain.then(function () {
          return sendOne(item).then(function (r) {
            return r.json().catch(function () { return {}; }).then(function (body) {
              results.push({item: item, status: r.status, body: body});
              return dequeue(item.client_id);
            });
          });
        });
      });
      return chain.then(function () { return results; }, function () { results.offline = true; return results; });
    }).then(function (results) {
      flushing = null; report(results); return results;
    }, function (e) { flushing = null; throw e; });
    return flushing;
  }
  function report(results) {
    var conflicts = results.filter(function (x) { return x.status === 409; });
    var failed = results.filter(function (x) { return x.status >= 400 && x.status !== 409; });
    var done = results.filter(function (x) { return x.status < 300; });
    queued().then(function (left) {
      if (conflicts.length) {
        var c = conflicts[0], now = c.body.current ? (STATES[c.body.current] || c.body.current) : "";
        notice("冲突：事件 #" + c.item.incident + " 在您离线期间已被更改" + (now ? "，当前状态为「" + now + "」" : "") +
          "，您的操作「" + (c.item.label || "") + "」未执行。请查看最新情况后重新处理。", "conflict");
        var note = $("#note"); if (note && c.item.body && c.item.body.note) note.value = c.item.body.note;
      } else if (failed.length) {
        var f = failed[0];
        notice("未能完成「" + (f.item.label || "") + "」：" + (f.body.detail || f.status), "failed");
      } else if (left.length) {
        notice("已离线保存 " + left.length + " 项操作，联网后自动发送。", "queued");
      } else if (done.length) {
        notice("已提交。", "");
        if (page === "incident") setTimeout(function () { location.reload(); }, 400);
      }
      status(navigator.onLine ? (left.length ? "有 " + left.length + " 项待发送" : "") : "离线：操作将保存在手机上", "");
    });
  }
  var seq = Date.now();
  function act(items) {
    var saves = items.map(function (item) { item.seq = seq++; return enqueue(item); });
    return Promise.all(saves).then(function () {
      if (!navigator.onLine) { report([]); return; }
      return flush();
    });
  }
  window.addEventListener("online", function () { status(""); flush(); });
  window.addEventListener("offline", function () { status("离线：操作将保存在手机上", ""); });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/maps/sw.js", {scope: "/maps/"}).catch(function () {});
  }

  /* ---- maps (local only: the area outline and the points; no tiles from elsewhere) ---- */
  function data(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }
  function baseMap(outline) {
    var map = L.map("map", {zoomControl: true, attributionControl: false, maxZoom: 20, minZoom: 3});
    var shape = outline ? L.geoJSON(outline, {style: {color: "#ff7f00", weight: 3, fillOpacity: 0.05}, interactive: false}) : null;
    // layers are added once the map has a view (Leaflet cannot place them before)
    return {map: map, bounds: shape ? shape.getBounds() : null, show: function () { if (shape) shape.addTo(map); }};
  }

  /* ---- my work ---- */
  function workPage() {
    var items = $all("#list > li[data-incident-id]");
    var m = baseMap(data("outline")), map = m.map;
    var cluster = L.markerClusterGroup({spiderfyOnMaxZoom: true, showCoverageOnHover: false, maxClusterRadius: 40});
    function draw() {
      cluster.clearLayers();
      items.forEach(function (li) {
        if (li.hidden || !li.hasAttribute("data-lon")) return;
        var ll = [parseFloat(li.getAttribute("data-lat")), parseFloat(li.getAttribute("data-lon"))];
        var late = li.getAttribute("data-overdue") === "true";
        var marker = L.circleMarker(ll, {radius: 9, color: "#fff", weight: 2, fillOpacity: 0.9,
          fillColor: late ? "#b3261e" : "#0b57d0"});
        var link = document.createElement("a");
        link.href = "/maps/incident/" + li.getAttribute("data-incident-id");
        link.textContent = li.getAttribute("data-title");
        marker.bindPopup(link);
        cluster.addLayer(marker);
      });
    }
    var points = items.filter(function (li) { return li.hasAttribute("data-lon"); }).map(function (li) {
      return [parseFloat(li.getAttribute("data-lat")), parseFloat(li.getAttribute("data-lon"))];
    });
    if (m.bounds) map.fitBounds(m.bounds, {padding: [10, 10]});
    else if (points.length) map.fitBounds(L.latLngBounds(points), {padding: [20, 20], maxZoom: 17});
    else map.setView([31.25, 121.40], 13);
    m.show();
    map.addLayer(cluster);
    function filter() {
      var form = $("#filters");
      var st = form.status.value, cat = form.category.value, late = form.overdue.checked, shown = 0;
      items.forEach(function (li) {
        var hide = (st && li.getAttribute("data-status") !== st) || (cat && li.getAttribute("data-category") !== cat) ||
          (late && li.getAttribute("data-overdue") !== "true");
        li.hidden = !!hide; if (!hide) shown++;
      });
      $("#none-shown").hidden = shown > 0 || items.length === 0;
      var q = new URLSearchParams();
      if (st) q.set("status", st); if (cat) q.set("category", cat); if (late) q.set("overdue", "true");
      history.replaceState(null, "", "/maps/work" + (q.toString() ? "?" + q : ""));
      draw();
    }
    $("#filters").addEventListener("change", filter);
    $("#filters").addEventListener("submit", function (e) { e.preventDefault(); filter(); });
    draw();
    // her scope's incident pages, kept by the service worker for a stairwell without signal
    if (navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (reg) {
        var urls = items.slice(0, 50).map(function (li) { return "/maps/incident/" + li.getAttribute("data-incident-id"); });
        if (reg.active) reg.active.postMessage({cache: ["/maps/work"].concat(urls)});
      });
    }
    flush().catch(function () {});
  }

  /* ---- one incident ---- */
  function incidentPage() {
    var id = document.body.getAttribute("data-incident-id");
    var seen = document.body.getAttribute("data-status");
    var info = data("point") || {};
    var m = baseMap(info.outline), map = m.map, pending = null, pendingMarker = null;
    if (info.lonlat) {
      var ll = [info.lonlat[1], info.lonlat[0]];
      map.setView(ll, 18);
      m.show();
      L.circleMarker(ll, {radius: 10, color: "#fff", weight: 2, fillColor: "#b3261e", fillOpacity: 0.95}).addTo(map);
    } else {
      if (m.bounds) map.fitBounds(m.bounds); else map.setView([31.25, 121.40], 13);
      m.show();
    }
    if (info.may_fix) {
      map.on("click", function (e) {
        pending = e.latlng;
        if (pendingMarker) pendingMarker.setLatLng(pending);
        else pendingMarker = L.marker(pending).addTo(map);
        $("#fix-confirm").hidden = false;
      });
      var fix = $("#fix-send");
      if (fix) fix.addEventListener("click", function () {
        if (!pending) return;
        act([{client_id: newId(), incident: id, kind: "location", label: "更正位置",
          body: {lon: +pending.lng.toFixed(7), lat: +pending.lat.toFixed(7)}}]);
      });
    }
    var form = $("#act");
    if (form) {
      var hours = $("#extend-fields");
      $all("button[data-transition]").forEach(function (b) {
        b.addEventListener("focus", function () { hours.hidden = b.getAttribute("data-transition") !== "extended"; });
        b.addEventListener("click", function () { step(b.getAttribute("data-transition"), b.textContent); });
      });
      $("#only-photos").addEventListener("click", function () { step(null, "上传照片"); });
    }
    function step(to, label) {
      var note = form.note.value.trim();
      if ((to === "returned" || to === "extended" || to === "suspended") && !note) {
        if (to === "extended") hours.hidden = false;
        notice("请填写「" + label + "」的原因。", "failed"); form.note.focus(); return;
      }
      var files = Array.prototype.slice.call(form.photo.files || []);
      if (!to && !files.length) { notice("请先选择照片。", "failed"); return; }
      var items = [];
      if (to) {
        var body = {to: to, note: note, client_id: newId(), expect_status: seen};
        if (to === "extended") body.hours = parseFloat(form.hours.value) || 24;
        items.push({client_id: body.client_id, incident: id, kind: "transitions", label: label, body: body});
      }
      if (files.length) {
        items.push({client_id: newId(), incident: id, kind: "photos", label: "上传照片", stage: form.stage.value,
          files: files.map(function (f) { return {blob: f, name: f.name}; })});
      }
      $all("button", form).forEach(function (b) { b.disabled = true; });
      act(items).then(function () {
        $all("button", form).forEach(function (b) { b.disabled = false; });
      });
    }
    $all("button[data-duplicate-of]").forEach(function (b) {
      b.addEventListener("click", function () {
        act([{client_id: newId(), incident: id, kind: "duplicate", label: "关联重复",
          body: {of: parseInt(b.getAttribute("data-duplicate-of"), 10)}}]);
      });
    });
    flush().catch(function () {});
  }

  if (page === "work") workPage();
  else if (page === "incident") incidentPage();
})();
