/* wangge map helpers (no build step, no CDN). Every user-supplied text reaches the page
   through wg.esc or textContent: names, addresses and descriptions render as text. */
(function () {
  "use strict";
  // Leaflet 1.8+ dropped DomEvent.fakeStop, which Leaflet.VectorGrid 1.3 still calls on click.
  if (L.DomEvent && !L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }
  var wg = (window.wg = window.wg || {});
  wg.layers = {};  // name -> {count, kind, center: [lat, lon] of embedded data}: for the tests
  wg.index = [];   // search entries: {label, code, lat, lon, layer, id}
  wg.objects = {}; // name -> the Leaflet layer of embedded data (not for JSON: see wg.layers)

  wg.esc = function (value) {
    if (value === null || value === undefined) return "";
    return String(value).replace(/[&<>"'`=\/]/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  };

  // fields: [[property, label], ...]; the first is the bold title.
  wg.html = function (props, fields) {
    var out = [];
    fields.forEach(function (f, i) {
      var v = props[f[0]];
      if (v === null || v === undefined || v === "") return;
      if (f[2] === "link") out.push('<a href="' + wg.esc(v) + '">' + wg.esc(f[1]) + "</a>");
      else if (i === 0) out.push("<b>" + wg.esc(v) + "</b>");
      else out.push('<span class="wg-k">' + wg.esc(f[1]) + "</span> " + wg.esc(v));
    });
    return out.join("<br>");
  };

  function styleFor(opts, props) {
    var s = Object.assign({}, opts.style || {});
    if (opts.colorBy) {
      var c = opts.colorBy.values[String(props[opts.colorBy.property])];
      c = c || opts.colorBy.other;
      if (c) {
        s.fillColor = c;
        if (!opts.colorBy.fillOnly) s.color = c;
      }
    }
    if (opts.outlineBy && props[opts.outlineBy.property]) Object.assign(s, opts.outlineBy.style);
    return s;
  }

  function bindInfo(layer, props, opts) {
    if (opts.tooltip) layer.bindTooltip(wg.html(props, opts.tooltip), { sticky: true });
    if (opts.popup) layer.bindPopup(wg.html(props, opts.popup), { maxWidth: 320 });
  }

  // Bounds of a layer group that may hold circles not yet on the map (whose own getBounds
  // needs the map): points count by their centre.
  function boundsOf(group) {
    var b = L.latLngBounds([]);
    group.eachLayer(function (l) { b.extend(l.getLatLng ? l.getLatLng() : l.getBounds()); });
    return b;
  }

  function register(map, name, layer, count, kind, opts) {
    wg.layers[name] = { count: count, kind: kind };
    if (opts.show !== false) layer.addTo(map);
    if (wg.control) wg.control.addOverlay(layer, name);
  }

  function addLabels(map, layer, labels, opts) {
    if (!opts.label) return;
    var group = L.layerGroup(labels);
    function update() {
      var z = map.getZoom();
      var on = map.hasLayer(layer) && z >= opts.label.minZoom && z <= (opts.label.maxZoom || 30);
      if (on && !map.hasLayer(group)) group.addTo(map);
      if (!on && map.hasLayer(group)) map.removeLayer(group);
    }
    map.on("zoomend overlayadd overlayremove", update);
    update();
  }

  wg.geojson = function (map, name, data, opts) {
    var labels = [];
    var layer = L.geoJSON(data, {
      style: function (f) { return styleFor(opts, f.properties); },
      pointToLayer: function (f, latlng) {
        if (opts.radiusProperty && f.properties[opts.radiusProperty]) {
          return L.circle(latlng, Object.assign(styleFor(opts, f.properties),
            { radius: f.properties[opts.radiusProperty] }));
        }
        return L.circleMarker(latlng, Object.assign({ radius: 6 }, styleFor(opts, f.properties)));
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        bindInfo(l, p, opts);
        if (opts.label && p[opts.label.property]) {
          var at = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
          labels.push(L.tooltip({ permanent: true, direction: "center", className: "wg-label",
            interactive: false }).setLatLng(at).setContent(wg.esc(p[opts.label.property])));
        }
        if (opts.search) {
          var c = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
          wg.index.push({ label: p[opts.search[0]], code: p[opts.search[1]],
            extra: opts.search[2] ? p[opts.search[2]] : null, lat: c.lat, lon: c.lng, layer: l,
            group: layer });
        }
      },
    });
    var shown = layer;
    if (opts.cluster && L.markerClusterGroup) {
      shown = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });
      shown.addLayer(layer);
    }
    register(map, name, shown, data.features.length, "geojson", opts);
    wg.objects[name] = layer;
    if (data.features.length) {
      var c = boundsOf(layer).getCenter();
      wg.layers[name].center = [c.lat, c.lng];
    }
    addLabels(map, layer, labels, opts);
    if (opts.fit && data.features.length) map.fitBounds(boundsOf(layer), { padding: [8, 8] });
    return layer;
  };

  wg.tiles = function (map, name, url, layerName, count, opts) {
    var style = {};
    style[layerName] = function (props) { return Object.assign(styleFor(opts, props),
      { fill: true }); };
    var layer = L.vectorGrid.protobuf(url, {
      vectorTileLayerStyles: style, interactive: true, maxNativeZoom: 18,
      getFeatureId: function (f) { return f.properties.code || f.properties.id; },
    });
    layer.on("mouseover", function (e) {
      if (opts.tooltip) {
        L.popup({ closeButton: false, className: "wg-tilepop", autoPan: false })
          .setLatLng(e.latlng).setContent(wg.html(e.layer.properties, opts.tooltip)).openOn(map);
      }
    });
    layer.on("click", function (e) {
      L.popup().setLatLng(e.latlng)
        .setContent(wg.html(e.layer.properties, opts.popup || opts.tooltip)).openOn(map);
    });
    register(map, name, layer, count, "tiles", opts);
    return layer;
  };

  wg.heat = function (map, name, points, opts) {
    var layer = L.heatLayer(points, opts.heat || { radius: 18 });
    var total = points.reduce(function (n, p) { return n + (p.length > 2 ? p[2] : 1); }, 0);
    register(map, name, layer, total, "heat", opts);
    return layer;
  };

  wg.legend = function (map, title, items, notes) {
    var c = L.control({ position: "bottomright" });
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "wg-legend");
      var h = document.createElement("b");
      h.textContent = title;
      div.appendChild(h);
      items.forEach(function (it) {
        var row = document.createElement("div");
        var sw = document.createElement("span");
        sw.className = "wg-swatch";
        sw.style.background = it.fill || "transparent";
        sw.style.borderColor = it.color || it.fill;
        row.appendChild(sw);
        row.appendChild(document.createTextNode(it.label));
        div.appendChild(row);
      });
      (notes || []).forEach(function (n) {
        var p = document.createElement("div");
        p.className = "wg-note";
        p.textContent = n;
        div.appendChild(p);
      });
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    c.addTo(map);
  };

  function showResults(box, list, map) {
    box.innerHTML = "";
    list.slice(0, 8).forEach(function (r) {
      var a = document.createElement("a");
      a.href = "#";
      a.className = "wg-hit";
      a.textContent = r.label + (r.code ? " · " + r.code : "") + (r.extra ? " · " + r.extra : "");
      a.onclick = function (ev) { ev.preventDefault(); wg.goto(map, r); };
      box.appendChild(a);
    });
    if (!list.length) {
      var none = document.createElement("div");
      none.className = "wg-note";
      none.textContent = "no match";
      box.appendChild(none);
    }
  }

  wg.goto = function (map, r) {
    if (r.group && !map.hasLayer(r.group)) r.group.addTo(map);
    if (r.layer && r.layer.getLatLng) map.setView(r.layer.getLatLng(), 18);
    else if (r.layer) map.fitBounds(r.layer.getBounds(), { maxZoom: 18 });
    else map.setView([r.lat, r.lon], 18);
    if (r.layer) r.layer.openPopup();
    else L.popup().setLatLng([r.lat, r.lon]).setContent(wg.esc(r.label)).openOn(map);
    wg.lastFound = r.code || r.label;
  };

  wg.search = function (map, geocodeUrl) {
    var c = L.control({ position: "topleft" });
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "wg-search");
      var input = document.createElement("input");
      input.type = "search";
      input.placeholder = geocodeUrl ? "code, name or address" : "area code or name";
      input.setAttribute("aria-label", "search");
      var box = document.createElement("div");
      box.className = "wg-hits";
      div.appendChild(input);
      div.appendChild(box);
      L.DomEvent.disableClickPropagation(div);
      input.addEventListener("keydown", function (ev) {
        if (ev.key !== "Enter") return;
        var q = input.value.trim().toLowerCase();
        if (!q) return;
        var hits = wg.index.filter(function (r) {
          return [r.label, r.code, r.extra].some(function (v) {
            return v && String(v).toLowerCase().indexOf(q) >= 0;
          });
        });
        hits.sort(function (a, b) { return (a.code === q ? -1 : 0) - (b.code === q ? -1 : 0); });
        if (hits.length || !geocodeUrl) { showResults(box, hits, map); return; }
        fetch(geocodeUrl + "?address=" + encodeURIComponent(input.value.trim()))
          .then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (body) { showResults(box, wg.geocodeHits(body), map); })
          .catch(function () { showResults(box, [], map); });
      });
      return div;
    };
    c.addTo(map);
  };

  // The geocoder's answer: its best match (when located) and its located candidates.
  wg.geocodeHits = function (body) {
    var items = [body].concat(body.candidates || []);
    return items.filter(function (it) {
      return it && typeof it.lon === "number" && typeof it.lat === "number";
    }).map(function (it) {
      var owner = it.owner ? it.owner.code : "";
      return { label: it.standard_address || it.normalized || "", code: it.code || "",
        extra: owner, lat: it.lat, lon: it.lon };
    });
  };

  // What the page could not show (a missing table, a missing key), as text.
  wg.banner = function (map, notes) {
    var div = document.createElement("div");
    div.className = "wg-banner";
    notes.forEach(function (n) {
      var p = document.createElement("div");
      p.className = "wg-missing";
      p.textContent = n;
      div.appendChild(p);
    });
    map.getContainer().appendChild(div);
  };

  // The heat page's filters: a form that reloads the page with new query parameters.
  wg.filters = function (map, state) {
    var c = L.control({ position: "topright" });
    c.onAdd = function () {
      var form = L.DomUtil.create("form", "wg-legend wg-filters");
      form.method = "get";
      [["from", "起始", "datetime-local"], ["to", "截止", "datetime-local"],
       ["category", "事件类别", "select"], ["res", "H3 精度", "number"]].forEach(function (f) {
        var label = document.createElement("label");
        label.textContent = f[1] + " ";
        if (f[2] === "select") {
          var sel = document.createElement("select");
          sel.name = f[0];
          var chosen = String(state[f[0]] || "");
          [["", "全部类别"]].concat(state.categories || []).forEach(function (o) {
            var opt = document.createElement("option");
            opt.value = o[0];
            opt.textContent = o[1];
            if (o[0] === chosen) opt.selected = true;
            sel.appendChild(opt);
          });
          label.appendChild(sel);
          form.appendChild(label);
          form.appendChild(document.createElement("br"));
          return;
        }
        var input = document.createElement("input");
        input.name = f[0]; input.type = f[2];
        input.value = String(state[f[0]] || "").slice(0, f[2] === "datetime-local" ? 16 : 100);
        if (f[0] === "res") { input.min = 5; input.max = 12; }
        label.appendChild(input);
        form.appendChild(label);
        form.appendChild(document.createElement("br"));
      });
      var norm = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox"; box.name = "normalize"; box.value = "households";
      box.checked = state.normalize === "households";
      norm.appendChild(box);
      norm.appendChild(document.createTextNode(" 按每千户计"));
      form.appendChild(norm);
      var go = document.createElement("button");
      go.type = "submit"; go.textContent = "应用";
      form.appendChild(go);
      form.addEventListener("submit", function () {
        // empty fields would be sent as empty strings: drop them
        Array.prototype.forEach.call(form.elements, function (el) {
          if (el.name && !el.value) el.disabled = true;
          if (el.name === "category" && el.value) el.disabled = false;
        });
      });
      L.DomEvent.disableClickPropagation(form);
      return form;
    };
    c.addTo(map);
  };

  // Staff to call on the grid page: a collapsible list with tel: links.
  wg.contacts = function (map, people) {
    var c = L.control({ position: "bottomleft" });
    c.onAdd = function () {
      var div = L.DomUtil.create("details", "wg-legend wg-contacts");
      var summary = document.createElement("summary");
      summary.textContent = "联系人 staff (" + people.length + ")";
      div.appendChild(summary);
      people.forEach(function (p) {
        var row = document.createElement("div");
        row.className = "wg-person";
        row.appendChild(document.createTextNode(p.role + " " + p.name + " "));
        if (p.phone) {
          var a = document.createElement("a");
          a.href = "tel:" + String(p.phone).replace(/[^0-9+]/g, "");
          a.textContent = p.phone;
          row.appendChild(a);
        }
        div.appendChild(row);
      });
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    c.addTo(map);
  };

  // An incident's timeline: one line per event, every value as text.
  wg.timeline = function (map, events) {
    var c = L.control({ position: "bottomleft" });
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "wg-legend wg-timeline");
      var h = document.createElement("b");
      h.textContent = "处置记录";
      div.appendChild(h);
      if (!events.length) {
        var none = document.createElement("div");
        none.className = "wg-note";
        none.textContent = "暂无记录";
        div.appendChild(none);
      }
      events.forEach(function (e) {
        var row = document.createElement("div");
        row.textContent = Object.keys(e).map(function (k) {
          return e[k] === null ? "" : String(e[k]);
        }).filter(Boolean).join(" · ");
        div.appendChild(row);
      });
      return div;
    };
    c.addTo(map);
  };

  // The coverage findings panel: summary counts, filters by severity and check, one entry
  // per finding (click: zoom to it), and a halo at the centre of every error so that a
  // small one (a 60 m² sliver) shows at street zoom.
  wg.findings = function (map, name, meta) {
    var group = wg.objects[name];
    if (!group) return;
    var items = [];
    group.eachLayer(function (l) { items.push({ layer: l, p: l.feature.properties }); });
    var halos = L.layerGroup();
    items.forEach(function (it) {
      if (it.p.severity !== "error" || !it.p.centre) return;
      it.halo = L.circleMarker(it.p.centre, { radius: 11, color: meta.colors.error, weight: 3,
        fill: true, fillOpacity: 0.15, interactive: true });
      it.halo.bindTooltip(wg.html(it.p, [["check_name", ""], ["area_name", "区域"],
        ["measure_text", "量"]]));
      it.halo.on("click", function () { zoomTo(it); });
      halos.addLayer(it.halo);
    });
    register(map, "错误位置 error halos", halos, halos.getLayers().length, "halos", {});

    function zoomTo(it) {
      var b = it.layer.getBounds ? it.layer.getBounds() : null;
      if (b && b.isValid() && !b.getNorthEast().equals(b.getSouthWest())) {
        map.fitBounds(b, { maxZoom: 19, padding: [40, 40] });
      } else {
        map.setView(it.p.centre, 18);
      }
      it.layer.openPopup(it.p.centre);
      wg.zoomedTo = it.p.check;
    }

    var c = L.control({ position: "topright" });
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "wg-legend wg-findings");
      var counts = {};
      items.forEach(function (it) { counts[it.p.severity] = (counts[it.p.severity] || 0) + 1; });
      var head = document.createElement("div");
      head.className = "wg-findings-summary";
      head.textContent = meta.severities.map(function (s) {
        return s[1] + " " + (counts[s[0]] || 0);
      }).join(" · ");
      div.appendChild(head);
      function select(label, options) {
        var sel = document.createElement("select");
        sel.setAttribute("aria-label", label);
        var all = document.createElement("option");
        all.value = "";
        all.textContent = label;
        sel.appendChild(all);
        options.forEach(function (o) {
          var opt = document.createElement("option");
          opt.value = o[0];
          opt.textContent = o[1];
          sel.appendChild(opt);
        });
        div.appendChild(sel);
        return sel;
      }
      var bySeverity = select("全部级别", meta.severities);
      bySeverity.className = "wg-filter-severity";
      var byCheck = select("全部检查项", meta.checks);
      byCheck.className = "wg-filter-check";
      var list = document.createElement("ol");
      list.className = "wg-findings-list";
      div.appendChild(list);
      var order = { error: 0, warning: 1, info: 2 };
      items.sort(function (a, b) { return order[a.p.severity] - order[b.p.severity]; });
      items.forEach(function (it) {
        var li = document.createElement("li");
        li.className = "wg-finding wg-" + it.p.severity;
        li.innerHTML = '<span class="wg-sev" style="background:' +
          wg.esc(meta.colors[it.p.severity]) + '">' + wg.esc(it.p.severity_name) + "</span> <b>" +
          wg.esc(it.p.check_name) + "</b> " + wg.esc(it.p.area_name) +
          (it.p.measure_text ? " · " + wg.esc(it.p.measure_text) : "") +
          '<div class="wg-msg">' + wg.esc(it.p.message_zh) + "</div>";
        li.addEventListener("click", function () { zoomTo(it); });
        it.li = li;
        list.appendChild(li);
      });
      function apply() {
        var shown = 0;
        items.forEach(function (it) {
          var on = (!bySeverity.value || it.p.severity === bySeverity.value) &&
            (!byCheck.value || it.p.check === byCheck.value);
          it.li.hidden = !on;
          if (on) { shown += 1; if (!group.hasLayer(it.layer)) group.addLayer(it.layer); }
          else if (group.hasLayer(it.layer)) group.removeLayer(it.layer);
          if (it.halo) {
            if (on && !halos.hasLayer(it.halo)) halos.addLayer(it.halo);
            if (!on && halos.hasLayer(it.halo)) halos.removeLayer(it.halo);
          }
        });
        wg.findingsShown = shown;
      }
      bySeverity.addEventListener("change", apply);
      byCheck.addEventListener("change", apply);
      apply();
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    c.addTo(map);
  };

  // Zoom to the area with this code (a link from the dashboard's ranking).
  wg.focus = function (map, code) {
    var hit = wg.index.filter(function (e) { return e.code === code; })[0];
    if (!hit) return;
    var b = hit.layer.getBounds ? hit.layer.getBounds() : null;
    if (b && b.isValid()) map.fitBounds(b, { padding: [10, 10] });
    else map.setView([hit.lat, hit.lon], 17);
    wg.focused = code;
  };

  // Basemap tiles that cannot load (no internet, a blocked tile server): say so once,
  // instead of a silently grey map; the overlays are drawn from this server and still work.
  wg.watchTiles = function (map) {
    var failed = 0, told = false;
    map.eachLayer(function (l) {
      if (!(l instanceof L.TileLayer)) return;
      l.on("tileerror", function () {
        failed += 1;
        if (told || failed < 3) return;
        told = true;
        var div = document.createElement("div");
        div.className = "wg-banner wg-tiles-down";
        div.setAttribute("role", "status");
        div.textContent = "底图无法加载（可能没有联网，或底图服务不可达）；网格、楼栋和事件图层仍然可用。";
        map.getContainer().appendChild(div);
        wg.tilesDown = true;
      });
    });
  };

  // Signing out needs the session's anti-CSRF token: a cached page cannot hold it, so the
  // form asks /v1/session for it on submit (a key in a header has no session: sent as is).
  function signoutWithToken(form) {
    form.addEventListener("submit", function (e) {
      if (form.elements.csrf_token) return;
      e.preventDefault();
      fetch("/v1/session", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; })
        .then(function (s) {
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = "csrf_token";
          input.value = s && s.csrf_token ? s.csrf_token : "";
          form.appendChild(input);
          form.submit();
        });
    });
  }

  // Links back to the index and the dashboard, and signing out (a form POST to /signout).
  wg.account = function (map, links) {
    var c = L.control({ position: "bottomright" });
    c.onAdd = function () {
      var div = L.DomUtil.create("div", "wg-account");
      links.forEach(function (l) {
        var a = document.createElement("a");
        a.href = l[0];
        a.textContent = l[1];
        div.appendChild(a);
        div.appendChild(document.createTextNode(" "));
      });
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/signout";
      form.style.display = "inline";
      var b = document.createElement("button");
      b.type = "submit";
      b.textContent = "退出登录";
      form.appendChild(b);
      signoutWithToken(form);
      div.appendChild(form);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    c.addTo(map);
  };

  wg.done = function () {
    wg.readyAt = performance.now();  // ms since navigation started (bench/maps.py reads it)
    document.body.setAttribute("data-wg-ready", "1");
  };
})();
