/* wangge patrol page (巡查): GPS fixes from navigator.geolocation.watchPosition, buffered and
   sent in batches to /v1/patrols/{id}/fixes; every batch is first written to IndexedDB and
   deleted only once the server has stored it, so a phone offline keeps its track and sends
   it when back online. Batch ids make a resend harmless (the server stores a batch once).
   Writes carry the session's anti-CSRF token from the page (meta csrf-token). */
(function () {
  "use strict";
  var BATCH_SIZE = 10;          // fixes per batch
  var BATCH_SECONDS = 15;       // or this long since the first buffered fix
  var RETRY_SECONDS = 10;       // how often a waiting queue is tried again
  var STATE_KEY = "wangge-patrol";
  var $ = function (id) { return document.getElementById(id); };
  var state = load() || {id: null, seq: 0, fixes: 0, ending: false};
  var buffer = [];
  var firstAt = 0;
  var watchId = null;
  var wakeLock = null;
  var sending = false;
  var dbPromise = null;

  function load() {
    try { return JSON.parse(localStorage.getItem(STATE_KEY)); } catch (e) { return null; }
  }
  function save() { localStorage.setItem(STATE_KEY, JSON.stringify(state)); }
  function say(text) { $("message").textContent = text || ""; }

  // --- IndexedDB queue of batches ------------------------------------------------------
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var open = indexedDB.open("wangge-patrol", 1);
        open.onupgradeneeded = function () {
          open.result.createObjectStore("batches", {keyPath: "key", autoIncrement: true});
        };
        open.onsuccess = function () { resolve(open.result); };
        open.onerror = function () { reject(open.error); };
      });
    }
    return dbPromise;
  }
  function store(mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction("batches", mode);
        var result = work(tx.objectStore("batches"));
        tx.oncomplete = function () { resolve(result && result.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function enqueue(batch) { return store("readwrite", function (s) { return s.add(batch); }); }
  function queued() { return store("readonly", function (s) { return s.getAll(); }); }
  function forget(key) { return store("readwrite", function (s) { return s.delete(key); }); }

  // --- HTTP ----------------------------------------------------------------------------
  function csrf() {  // the session's token, put in the page by the server (none with a key)
    var m = document.querySelector('meta[name="csrf-token"]');
    return Promise.resolve(m ? m.content : "");
  }
  function post(url, body) {
    return csrf().then(function (token) {
      var headers = {"Content-Type": "application/json"};
      if (token) headers["X-CSRF-Token"] = token;
      return fetch(url, {
        method: "POST", credentials: "same-origin", headers: headers,
        body: body === undefined ? "{}" : JSON.stringify(body)
      });
    });
  }

  // --- sending the queue ---------------------------------------------------------------
  function refresh() {
    $("fixes").textContent = String(state.fixes);
    return queued().then(function (items) {
      var n = buffer.length;
      items.forEach(function (b) { n += b.points.length; });
      $("queued").textContent = String(n);
      return items;
    });
  }
  function flush() {
    if (sending) return Promise.resolve();
    sending = true;
    return queued().then(function (items) {
      var chain = Promise.resolve(true);
      items.forEach(function (b) {
        chain = chain.then(function (ok) {
          if (!ok) return false;
          return post("/v1/patrols/" + b.patrol + "/fixes", {batch_id: b.batch_id, points: b.points})
            .then(function (r) {
              if (r.ok) return forget(b.key).then(function () { return true; });
              if (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 403
                  && r.status !== 429) {
                say("一批定位被拒绝（" + r.status + "），已丢弃");
                return forget(b.key).then(function () { return true; });
              }
              return false;
            }, function () { return false; });  // offline: keep it for later
        });
      });
      return chain;
    }).then(function (allSent) {
      sending = false;
      return refresh().then(function (items) {
        if (allSent && items.length === 0 && state.ending && state.id) return finish();
      });
    }, function () { sending = false; });
  }
  function cut() {
    if (!buffer.length || !state.id) return Promise.resolve();
    state.seq += 1;
    save();
    var batch = {patrol: state.id, batch_id: state.id + "-" + state.seq, points: buffer};
    buffer = [];
    firstAt = 0;
    return enqueue(batch).then(refresh);
  }

  // --- geolocation and the screen ------------------------------------------------------
  function onFix(pos) {
    var c = pos.coords;
    buffer.push({
      lon: c.longitude, lat: c.latitude,
      t: new Date(pos.timestamp || Date.now()).toISOString(),
      accuracy_m: typeof c.accuracy === "number" ? Math.min(c.accuracy, 1e6) : null
    });
    state.fixes += 1;
    save();
    $("accuracy").textContent = Math.round(c.accuracy) + " 米";
    if (!firstAt) firstAt = Date.now();
    if (buffer.length >= BATCH_SIZE || Date.now() - firstAt >= BATCH_SECONDS * 1000) {
      cut().then(flush);
    } else {
      refresh();
    }
  }
  function onError(err) {
    say(err.code === 1 ? "请允许本页使用定位" : "暂时无法定位，继续尝试…");
  }
  function keepAwake() {
    if (!("wakeLock" in navigator)) {
      $("wake").textContent = "请保持屏幕常亮（此浏览器不支持自动常亮）";
      return;
    }
    navigator.wakeLock.request("screen").then(function (lock) {
      wakeLock = lock;
      $("wake").textContent = "屏幕保持常亮";
    }, function () { $("wake").textContent = "请保持屏幕常亮"; });
  }
  function watch() {
    if (!("geolocation" in navigator)) { say("此浏览器不支持定位"); return; }
    watchId = navigator.geolocation.watchPosition(onFix, onError, {
      enableHighAccuracy: true, maximumAge: 0, timeout: 30000
    });
    keepAwake();
  }
  function stopWatching() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    if (wakeLock) { wakeLock.release(); wakeLock = null; }
  }

  // --- start and end -------------------------------------------------------------------
  function showRunning() {
    $("state").textContent = state.ending ? "正在结束…（等待网络）" : "巡查中";
    $("start").disabled = true;
    $("end").disabled = state.ending;
  }
  function start() {
    say("");
    $("start").disabled = true;
    post("/v1/patrols/start").then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (p) {
      state = {id: p.id, seq: 0, fixes: 0, ending: false};
      save();
      $("result").hidden = true;
      showRunning();
      watch();
    }, function () {
      $("start").disabled = false;
      say("无法开始巡查：请检查网络后重试");
    });
  }
  function end() {
    stopWatching();
    state.ending = true;
    save();
    showRunning();
    cut().then(flush);
  }
  function finish() {
    return post("/v1/patrols/" + state.id + "/end").then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (p) {
      state = {id: null, seq: 0, fixes: 0, ending: false};
      save();
      show(p);
    }, function () { say("结束巡查未发送，联网后自动重试"); });
  }
  function show(p) {
    $("state").textContent = "巡查已结束";
    $("start").disabled = false;
    $("end").disabled = true;
    $("result").hidden = false;
    var km = (p.distance_m / 1000).toFixed(2);
    var minutes = Math.round(p.duration_s / 60);
    var dropped = (p.dropped.accuracy || 0) + (p.dropped.speed || 0);
    $("summary").textContent = "步行 " + km + " 公里，用时 " + minutes + " 分钟；定位 "
      + p.fixes_kept + " 个" + (dropped ? "（剔除 " + dropped + " 个不准的）" : "");
    $("visited-count").textContent = String(p.visits.length);
    var list = $("visits");
    list.textContent = "";
    p.visits.forEach(function (v) {
      var li = document.createElement("li");
      var code = document.createElement("span");
      code.className = "building";
      code.textContent = v.building_code;
      var at = document.createElement("span");
      at.textContent = v.visited_at_local || v.visited_at;
      li.appendChild(code);
      li.appendChild(at);
      list.appendChild(li);
    });
  }

  function online() {
    var on = navigator.onLine;
    $("net").textContent = on ? "在线" : "离线";
    $("net").className = on ? "net" : "net offline";
    if (on) flush();
  }

  $("start").addEventListener("click", start);
  $("end").addEventListener("click", end);
  window.addEventListener("online", online);
  window.addEventListener("offline", online);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && watchId !== null && !wakeLock) keepAwake();
  });
  setInterval(function () {
    if (buffer.length && Date.now() - firstAt >= BATCH_SECONDS * 1000) cut();
    flush();
  }, RETRY_SECONDS * 1000);
  if (state.id) {  // a patrol from before a reload: carry on
    showRunning();
    if (!state.ending) watch();
  }
  online();
  refresh();
})();
