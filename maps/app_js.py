"""The map page's own script (inlined into every HTML map).

It reads the page data with ``JSON.parse`` and builds every user-derived string into the DOM
with ``textContent`` (text nodes), never ``innerHTML``; the only strings Leaflet receives as
HTML (layer-control labels) go through ``esc`` first. Colours are accepted only as
``#rrggbb``.
"""

APP_JS = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("sinkplan-data").textContent);
  var T = DATA.text;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;", "`": "&#96;"};
  function esc(s) { return String(s).replace(/[&<>"'`]/g, function (c) { return ESC[c]; }); }
  function okColor(c) { return (typeof c === "string" && /^#[0-9a-fA-F]{6}$/.test(c)) ? c : null; }
  function fmt(v) {
    if (typeof v !== "number" || !isFinite(v)) { return ""; }
    var a = Math.abs(v);
    if (a >= 1000) { return v.toLocaleString("en-US", {maximumFractionDigits: 0}); }
    if (a >= 10) { return v.toFixed(1); }
    return v.toPrecision(3);
  }

  // GCJ-02 (for cursor coordinates shown in WGS84 over GaoDe tiles); same formula as maps/gcj02.py
  function gcjDelta(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0, xp = x * Math.PI, yp = y * Math.PI;
    var c = (20 * Math.sin(6 * xp) + 20 * Math.sin(2 * xp)) * 2 / 3;
    var dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x)) + c +
      (20 * Math.sin(yp) + 40 * Math.sin(yp / 3)) * 2 / 3 + (160 * Math.sin(yp / 12) + 320 * Math.sin(yp / 30)) * 2 / 3;
    var dlon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) + c +
      (20 * Math.sin(xp) + 40 * Math.sin(xp / 3)) * 2 / 3 + (150 * Math.sin(xp / 12) + 300 * Math.sin(xp / 30)) * 2 / 3;
    var a = 6378245.0, ee = 0.00669342162296594323, rl = lat / 180 * Math.PI;
    var m = 1 - ee * Math.sin(rl) * Math.sin(rl), sm = Math.sqrt(m);
    return [dlon * 180 / (a / sm * Math.cos(rl) * Math.PI), dlat * 180 / ((a * (1 - ee)) / (m * sm) * Math.PI)];
  }
  function outOfChina(lon, lat) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; }
  function gcjToWgs(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var w = [lon, lat];
    for (var i = 0; i < 6; i++) { var d = gcjDelta(w[0], w[1]); w = [lon - d[0], lat - d[1]]; }
    return w;
  }

  document.getElementById("sp-title").textContent = DATA.title;
  var map = L.map("map", {attributionControl: DATA.basemap !== "none", zoomSnap: 0.25, preferCanvas: false});
  if (map.attributionControl) { map.attributionControl.setPrefix(false); }
  L.Icon.Default.imagePath = "";

  // basemaps: only when asked for (each tile request goes online)
  var bases = {};
  var key = encodeURIComponent(DATA.tiandituKey || "");
  var TL = DATA.tiles || {};
  function tile(url) { return L.tileLayer(url, {subdomains: TL.subdomains, maxZoom: 18, attribution: TL.attribution}); }
  if (DATA.basemap === "tianditu") {
    var tdt = function (layer) { return tile(TL.url.split("{layer}").join(layer) + key); };
    bases[esc(T.tianditu_vec)] = L.layerGroup([tdt("vec"), tdt("cva")]);
    bases[esc(T.tianditu_img)] = L.layerGroup([tdt("img"), tdt("cia")]);
  } else if (DATA.basemap === "gaode") {
    bases[esc(T.gaode)] = tile(TL.url);
  } else if (DATA.basemap === "osm") {
    bases[esc(T.osm)] = tile(TL.url);
  }
  var baseNames = Object.keys(bases);
  bases[esc(T.no_basemap)] = L.layerGroup();
  (baseNames.length ? bases[baseNames[0]] : bases[esc(T.no_basemap)]).addTo(map);

  function popupNode(ft) {
    var box = el("div", "sp-popup");
    var rows = ft.p || [];
    if (rows.length) { box.appendChild(el("div", "sp-popup-title", rows[0][1])); }
    var table = el("table", "sp-table");
    for (var i = 1; i < rows.length; i++) {
      var tr = el("tr");
      tr.appendChild(el("th", null, rows[i][0]));
      tr.appendChild(el("td", null, rows[i][1]));
      table.appendChild(tr);
    }
    box.appendChild(table);
    return box;
  }

  var overlays = {}, legends = [], order = [];
  DATA.layers.forEach(function (spec, idx) {
    var layer;
    if (spec.type === "raster") {
      layer = L.imageOverlay(spec.png, spec.bounds, {opacity: spec.opacity, interactive: false});
    } else {
      var geoms = DATA.geometries[spec.geom] || [];
      var fc = {type: "FeatureCollection", features: []};
      for (var j = 0; j < geoms.length; j++) {
        if (geoms[j] && spec.features[j]) { fc.features.push({type: "Feature", geometry: geoms[j], properties: {i: j}}); }
      }
      var base = spec.style || {};
      layer = L.geoJSON(fc, {
        style: function (f) {
          var s = L.extend({}, base), c = okColor(spec.features[f.properties.i].c);
          if (c) {
            if (/Line/.test(f.geometry.type) || base.line_by_feature) { s.color = c; } else { s.fillColor = c; }
          }
          return s;
        },
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, L.extend({radius: 4}, base)); },
        onEachFeature: function (f, lyr) {
          var ft = spec.features[f.properties.i];
          if (ft.t) { lyr.bindTooltip(function () { return el("span", null, ft.t); }, {sticky: true}); }
          if (ft.p && ft.p.length) { lyr.bindPopup(function () { return popupNode(ft); }, {maxWidth: 460}); }
        }
      });
    }
    if (spec.labels && spec.labels.length) {  // names written on the map, shown with their layer
      var group = [layer];
      spec.labels.forEach(function (lb) {
        group.push(L.tooltip({permanent: true, direction: "center", className: "sp-label", interactive: false})
          .setLatLng([lb[0], lb[1]]).setContent(el("span", null, lb[2])));
      });
      layer = L.featureGroup(group);
    }
    layer._spIndex = idx;
    var label = esc(spec.name);
    while (overlays[label]) { label += " "; }
    overlays[label] = layer;
    order.push(layer);
    legends[idx] = spec.legend;
    if (spec.visible) { layer.addTo(map); }
  });

  // Expanded while it fits; a long list (siting: one toggle per exclusion rule) folds into the layers button.
  L.control.layers(bases, overlays, {collapsed: Object.keys(overlays).length > 8, position: "topright"}).addTo(map);
  L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);

  var Coords = L.Control.extend({
    options: {position: "bottomleft"},
    onAdd: function () { this._div = el("div", "sp-coords", T.coords); return this._div; }
  });
  var coords = new Coords().addTo(map);
  map.on("mousemove", function (e) {
    var lon = e.latlng.lng, lat = e.latlng.lat;
    if (DATA.basemap === "gaode") { var w = gcjToWgs(lon, lat); lon = w[0]; lat = w[1]; }
    coords._div.textContent = T.coords + " " + lon.toFixed(5) + ", " + lat.toFixed(5) + (DATA.basemap === "gaode" ? " (WGS84)" : "");
  });

  var Legend = L.Control.extend({
    options: {position: "bottomright"},
    onAdd: function () { this._div = el("div", "sp-legend"); L.DomEvent.disableScrollPropagation(this._div); return this._div; }
  });
  var legendCtl = new Legend().addTo(map);
  function drawLegends() {
    var box = legendCtl._div;
    while (box.firstChild) { box.removeChild(box.firstChild); }
    var seen = {};
    order.forEach(function (layer) {
      var lg = legends[layer._spIndex];
      if (!lg || !map.hasLayer(layer)) { return; }
      var sig = JSON.stringify(lg);
      if (seen[sig]) { return; }
      seen[sig] = true;
      var item = el("div", "sp-legend-item");
      var items = lg.items || [];
      // one swatch named like its layer needs no heading above it ("候选基地 / 候选基地")
      var single = lg.kind !== "continuous" && items.length === 1 && items[0][1] === lg.title;
      if (lg.title && !single) {
        item.appendChild(el("div", "sp-legend-title", lg.title + (lg.units ? " (" + lg.units + ")" : "")));
      }
      if (lg.kind === "continuous") {
        var cols = (lg.colors || []).map(okColor).filter(Boolean);
        var bar = el("div", "sp-ramp");
        bar.style.background = "linear-gradient(to right, " + (cols.length ? cols.join(", ") : "#ccc, #333") + ")";
        item.appendChild(bar);
        var ticks = el("div", "sp-ticks");
        ticks.appendChild(el("span", null, fmt(lg.vmin)));
        ticks.appendChild(el("span", null, fmt(lg.vmax)));
        item.appendChild(ticks);
      } else {
        (lg.items || []).forEach(function (it) {
          var row = el("div", "sp-class");
          var sw = el("span", "sp-swatch");
          sw.style.background = okColor(it[0]) || "#cccccc";
          row.appendChild(sw);
          row.appendChild(el("span", null, it[1]));
          item.appendChild(row);
        });
      }
      if (lg.note) { item.appendChild(el("div", "sp-note", lg.note)); }
      box.appendChild(item);
    });
    box.style.display = box.firstChild ? "" : "none";
    // a legend taller than its box scrolls, and says so (headless and some systems hide scroll bars)
    var more = box.scrollHeight > box.clientHeight + 2;
    box.classList.toggle("sp-legend-more", more);
    if (more) { box.appendChild(el("div", "sp-more", T.legend_more)); }
  }
  map.on("overlayadd overlayremove", drawLegends);
  legendCtl._div.addEventListener("scroll", function () {
    var box = legendCtl._div, hint = box.querySelector(".sp-more");
    if (hint) { hint.style.visibility = box.scrollTop + box.clientHeight >= box.scrollHeight - 4 ? "hidden" : "visible"; }
  });
  drawLegends();

  if (DATA.notes && DATA.notes.length) {
    var Notes = L.Control.extend({
      options: {position: "topleft"},
      onAdd: function () {
        var d = el("div", "sp-notes");
        DATA.notes.forEach(function (n) { d.appendChild(el("div", null, n)); });
        return d;
      }
    });
    new Notes().addTo(map);
  }

  if (DATA.bounds) { map.fitBounds(DATA.bounds, {padding: [10, 10]}); } else { map.setView([42, 112], 5); }
  window.sinkplanMap = map;
  window.sinkplanLayers = order;
  document.body.setAttribute("data-sinkplan-ready", "1");
})();
"""

APP_CSS = """
html, body { height: 100%; margin: 0; font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei",
  "PingFang SC", "Helvetica Neue", Arial, sans-serif; }
#sp-title { position: absolute; z-index: 1000; top: 8px; left: 54px; right: 260px; font-size: 17px; font-weight: 600;
  color: #222; text-shadow: 0 0 3px #fff, 0 0 3px #fff; pointer-events: none; }
#map { position: absolute; top: 0; bottom: 0; left: 0; right: 0; background: #f2f1ec; }
.leaflet-control-layers-expanded { max-height: 42vh; overflow-y: auto; }
.sp-legend { background: rgba(255,255,255,0.92); padding: 6px 8px; border-radius: 4px; font-size: 12px;
  max-height: calc(100vh - 160px); overflow-y: auto; min-width: 160px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); }
.sp-legend-item { margin: 4px 0 8px; }
.sp-legend-title { font-weight: 600; margin-bottom: 3px; }
.sp-ramp { height: 10px; width: 180px; border: 1px solid #999; }
.sp-ticks { display: flex; justify-content: space-between; width: 182px; }
.sp-class { display: flex; align-items: center; margin: 1px 0; }
.sp-swatch { display: inline-block; width: 14px; height: 10px; margin-right: 6px; border: 1px solid #777; }
.sp-note, .sp-notes { color: #555; font-size: 11px; }
.sp-notes { background: rgba(255,255,255,0.9); padding: 4px 6px; border-radius: 4px; max-width: 320px; }
.sp-coords { background: rgba(255,255,255,0.85); padding: 1px 5px; font-size: 11px; }
.sp-popup-title { font-weight: 700; margin-bottom: 4px; }
.sp-label { background: rgba(255,255,255,0.7); border: none; box-shadow: none; padding: 0 3px; font-size: 12px;
  color: #111; font-weight: 600; }
.sp-label::before { display: none; }
.sp-more { position: sticky; bottom: -6px; background: linear-gradient(rgba(255,255,255,0), #fff 45%);
  text-align: center; color: #555; font-size: 11px; padding-top: 8px; }
.sp-legend-more { overflow-y: scroll; scrollbar-width: thin; }
/* clicking a zone must not draw the browser's rectangular focus box round the SVG path */
.leaflet-container path.leaflet-interactive:focus, .leaflet-container .leaflet-interactive:focus,
.leaflet-container svg:focus, .leaflet-container path:focus { outline: none; }
.sp-table { border-collapse: collapse; font-size: 12px; }
.sp-table th { text-align: left; font-weight: normal; color: #555; padding: 1px 8px 1px 0; }
.sp-table td { text-align: right; padding: 1px 0; }
"""
