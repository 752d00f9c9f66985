/* The dashboard: fetches /v1/dashboard with the page's query string and draws the headline
   cards, the trend chart (ECharts, vendored), the two ranking tables and the formula.
   Every text from the data is escaped where it becomes HTML. */
(function () {
  "use strict";

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }
  function duration(s) {
    if (s === null || s === undefined) { return "–"; }
    var m = Math.floor(Math.abs(s) / 60), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    var mm = m % 60;
    if (d) { return h ? d + "天" + h + "小时" : d + "天"; }
    if (h) { return mm ? h + "小时" + mm + "分钟" : h + "小时"; }
    return mm + "分钟";
  }
  var RATES = { resolution_rate: 1, on_time_rate: 1 };
  var TIMES = { assign_median_s: 1, resolve_median_s: 1 };
  // lower is better for these: a fall is shown in green
  var LOWER_BETTER = { assign_median_s: 1, resolve_median_s: 1, overdue_now: 1, needs_review: 1 };
  function show(key, v) {
    if (RATES[key]) { return pct(v); }
    if (TIMES[key]) { return duration(v); }
    return v === null || v === undefined ? "–" : String(v);
  }

  var statusEl = document.getElementById("status");
  function fail(text) {
    statusEl.textContent = text;
    statusEl.className = "status error";
  }

  function headline(items) {
    items.forEach(function (h) {
      var card = document.querySelector('.card[data-key="' + h.key + '"]');
      if (!card) { return; }
      card.querySelector(".value").textContent = show(h.key, h.value);
      var prev = card.querySelector(".prev");
      if (h.previous === null || h.previous === undefined) {
        prev.textContent = h.key === "overdue_now" ? "截至现在" : "上期 –";
        return;
      }
      var text = "上期 " + show(h.key, h.previous);
      if (typeof h.value === "number" && typeof h.previous === "number" && h.value !== h.previous) {
        var better = (h.value > h.previous) !== !!LOWER_BETTER[h.key];
        prev.innerHTML = esc(text) + ' <span class="' + (better ? "up" : "down") + '">' +
          (h.value > h.previous ? "↑" : "↓") + "</span>";
      } else {
        prev.textContent = text;
      }
    });
  }

  var chart = null;
  function trend(t) {
    var el = document.getElementById("trend");
    chart = chart || window.echarts.init(el, null, { renderer: "canvas" });
    var series = t.categories.map(function (c, i) {
      return { name: t.category_names[i], type: "bar", stack: "reported", data: t.reported[i] };
    });
    var resolved = t.keys.map(function (_, j) {
      return t.resolved.reduce(function (sum, row) { return sum + row[j]; }, 0);
    });
    series.push({ name: "办结", type: "line", data: resolved, smooth: true });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 40, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: t.keys },
      yAxis: { type: "value", minInterval: 1 },
      series: series,
    }, true);
    el.setAttribute("data-drawn", String(t.keys.length));
  }

  function rows(tableId, items, drillLabel, withPatrols) {
    var body = document.querySelector("#" + tableId + " tbody");
    body.innerHTML = items.map(function (r) {
      var links = '<a class="drill" href="' + esc(r.drill) + '">' + esc(drillLabel) + "</a>";
      if (r.map) { links += ' <a class="map" href="' + esc(r.map) + '">地图</a>'; }
      return "<tr data-key=\"" + esc(r.key) + "\">" +
        '<td data-v="' + (r.rank === null ? "" : r.rank) + '">' + (r.rank === null ? "–" : r.rank) + "</td>" +
        '<td data-v="' + esc(r.name) + '">' + esc(r.name) + "</td>" +
        '<td data-v="' + r.count + '">' + r.count + "</td>" +
        '<td data-v="' + r.resolved + '">' + r.resolved + "</td>" +
        '<td data-v="' + r.resolution_rate + '">' + pct(r.resolution_rate) + "</td>" +
        '<td data-v="' + r.on_time_rate + '">' + pct(r.on_time_rate) + "</td>" +
        '<td data-v="' + (r.assign_median_s === null ? "" : r.assign_median_s) + '">' +
          duration(r.assign_median_s) + "</td>" +
        '<td data-v="' + r.overdue + '">' + r.overdue + "</td>" +
        '<td data-v="' + (r.index === null ? "" : r.index) + '">' +
          (r.index === null ? "–" : r.index.toFixed(2)) + "</td>" +
        (withPatrols ? '<td data-v="' + (r.patrol_visited_share == null ? "" : r.patrol_visited_share) +
          '" title="' + (r.patrols || 0) + " 次巡查，" + (r.patrol_distance_km || 0) + ' 公里">' +
          pct(r.patrol_visited_share) + "</td>" : "") +
        "<td>" + links + "</td></tr>";
    }).join("") || '<tr><td colspan="' + (withPatrols ? 11 : 10) + '">本期无事件</td></tr>';
  }

  function sortable(table) {
    var heads = table.querySelectorAll("th[data-sort]");
    heads.forEach(function (th, col) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("asc");
        heads.forEach(function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        var num = th.getAttribute("data-type") === "num";
        var body = table.querySelector("tbody");
        var trs = Array.prototype.slice.call(body.querySelectorAll("tr[data-key]"));
        trs.sort(function (a, b) {
          var x = a.children[col].getAttribute("data-v"), y = b.children[col].getAttribute("data-v");
          var c = num ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y, "zh");
          return asc ? c : -c;
        });
        trs.forEach(function (tr) { body.appendChild(tr); });
      });
    });
  }

  function downloads(id, by, data, query) {
    var q = new URLSearchParams();
    q.set("by", by);
    q.set("from", data.period.from);
    q.set("to", data.period.to);
    if (data.area.code) { q.set("area", data.area.code); }
    ["category", "source"].forEach(function (k) { if (query.get(k)) { q.set(k, query.get(k)); } });
    var s = q.toString();
    document.getElementById(id).innerHTML =
      '下载：<a href="/v1/evaluation.xlsx?' + esc(s) + '">Excel (.xlsx)</a>' +
      '<a href="/v1/evaluation.csv?' + esc(s) + '">CSV</a>';
  }

  function draw(data, query) {
    var crumbs = document.getElementById("crumbs");
    crumbs.innerHTML = (data.breadcrumbs.length ? data.breadcrumbs : [{ name: data.area.name, href: "" }])
      .map(function (c) { return '<li><a href="/dashboard' + esc(c.href) + '">' + esc(c.name) + "</a></li>"; })
      .join("");
    document.getElementById("period").textContent =
      data.view.period_name + "：" + data.period.from_local + " 至 " + data.period.to_local +
      "（上期 " + data.previous.from_local + " 至 " + data.previous.to_local + "）";
    var select = document.getElementById("category-filter");
    var chosen = select.getAttribute("data-selected");
    data.filters.categories.forEach(function (c) {
      var o = document.createElement("option");
      o.value = c.code;
      o.textContent = c.name;
      if (c.code === chosen) { o.selected = true; }
      select.appendChild(o);
    });
    headline(data.headline);
    trend(data.trend);
    var level = data.ranking.level_name || "下级区域";
    document.getElementById("ranking-title").textContent = level + "排名";
    rows("ranking", data.ranking.rows, "下钻", true);
    rows("departments", data.departments, "查看");
    if (data.ranking.level) { downloads("ranking-downloads", data.ranking.level, data, query); }
    downloads("department-downloads", "department", data, query);
    document.getElementById("formula").textContent = data.formula;
    statusEl.textContent = "";
    document.body.setAttribute("data-ready", "1");
  }

  sortable(document.getElementById("ranking"));
  sortable(document.getElementById("departments"));
  var query = new URLSearchParams(window.location.search);
  fetch("/v1/dashboard?" + query.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) {
        return r.json().then(function (p) { throw new Error(p.detail || p.title || r.status); },
          function () { throw new Error("HTTP " + r.status); });
      }
      return r.json();
    })
    .then(function (data) { draw(data, query); })
    .catch(function (e) { fail("无法加载数据：" + e.message); });
  window.addEventListener("resize", function () { if (chart) { chart.resize(); } });
})();
