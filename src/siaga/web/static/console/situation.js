// The situation map: kecamatan (shaded by their open alerts, and named with their counts in the map's legend), open
// alerts clustered (Leaflet.markercluster: a surge of thousands is a few numbered circles, not a carpet of dots), units
// coloured by state, and the selected alert's accuracy circle and trail. Clicking a cluster selects its alerts for a
// bulk action and zooms in. Leaflet is driven directly rather than re-rendered: only the markers whose look changed are
// touched. Without a tile URL the map still draws all of this on a plain background.
import { html, useEffect, useRef } from "../js/ui.js";
import { L, UNIT_COLOURS, addJurisdictions, createMap } from "../js/map.js";
import { lang, t } from "../js/i18n.js";
import { markerClusterGroup } from "./cluster.js";
import { level } from "./priority.js";

const ALERT_COLOURS = { critical: "#c53030", high: "#dd6b20", normal: "#2b6cb0" };
// Drills are grey on the map as in the queue: red is kept for what is real.
const DRILL_COLOUR = "#718096";
// Permanent call-sign labels help at a glance but become noise when the board is large.
const LABELLED_UNITS = 40;
const LEVELS = ["normal", "high", "critical"];
// Markers made in one go when every alert is drawn (a snapshot): the page draws frames between slices.
const MARKERS_PER_SLICE = 2000;
// Kecamatan shaded by their open alerts: the colour, and how many the legend names (the most first).
const SHADE_COLOUR = "#c53030";
const SHADE_RGB = "197, 48, 48";
const LEGEND_AREAS = 8;
const NO_SHADE = { fillColor: "#a0aec0", fillOpacity: 0.08 };

/** The kecamatan's fill for `count` open alerts when the most in one is `most`: the darker, the more. */
function areaFill(count, most) {
  return count ? { fillColor: SHADE_COLOUR, fillOpacity: 0.1 + 0.35 * (count / most) } : NO_SHADE;
}

/**
 * The map's legend: the kecamatan shaded, each with its open alerts and its shade, the most first, as text a reader
 * (and a screen reader) can follow. Names come from imported files: set as text, never as HTML.
 */
function drawShadingLegend(box, shaded) {
  box.replaceChildren();
  box.hidden = shaded.length === 0;
  if (shaded.length === 0) return;
  const title = document.createElement("h3");
  title.id = "area-shading-title";
  title.textContent = t("console.map.shading_title");
  const list = document.createElement("ol");
  list.setAttribute("aria-labelledby", title.id);
  list.dataset.testid = "area-shading";
  for (const { name, count, fillOpacity } of shaded.slice(0, LEGEND_AREAS)) {
    const item = document.createElement("li");
    item.dataset.area = name;
    item.dataset.openAlerts = String(count);
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = `rgba(${SHADE_RGB}, ${fillOpacity.toFixed(2)})`;
    const label = document.createElement("span");
    label.textContent = t("console.map.shading_area", { area: name, count });
    item.append(swatch, label);
    list.append(item);
  }
  box.append(title, list);
  if (shaded.length > LEGEND_AREAS) {
    const more = document.createElement("p");
    more.className = "muted";
    more.textContent = t("console.map.shading_more", { count: shaded.length - LEGEND_AREAS });
    box.append(more);
  }
}

/**
 * The most urgent level in a cluster, worked out from its own markers and its child clusters and remembered on it.
 * Leaflet.markercluster recalculates the bounds of every cluster whose markers changed (and of theirs above it) before
 * it redraws their icons; cluster.js forgets the remembered level there, so a press joining a cluster of thousands
 * reads only the clusters on its own path. Leaflet.markercluster keeps these in `_markers` and `_childClusters`;
 * without them, every child marker is read.
 */
function worstIn(cluster) {
  if (cluster.siagaWorst !== undefined) return cluster.siagaWorst;
  let worst = 0;
  if (Array.isArray(cluster._markers) && Array.isArray(cluster._childClusters)) {
    for (const marker of cluster._markers) worst = Math.max(worst, marker.options.level);
    for (const child of cluster._childClusters) worst = Math.max(worst, worstIn(child));
  } else {
    for (const marker of cluster.getAllChildMarkers()) worst = Math.max(worst, marker.options.level);
  }
  cluster.siagaWorst = worst;
  return worst;
}

/** A cluster's icon: its count, coloured by the most urgent alert in it. */
function clusterIcon(cluster) {
  const count = cluster.getChildCount();
  const worst = worstIn(cluster);
  const size = count < 100 ? 36 : count < 1000 ? 44 : 52;
  return L.divIcon({
    className: `alert-cluster level-${LEVELS[worst]}`,
    html: `<span data-count="${count}">${count}</span>`,
    iconSize: [size, size],
  });
}

class SituationView {
  constructor(element, config, token, onSelect, onCluster) {
    this.map = createMap(element, config);
    L.control.scale({ imperial: false }).addTo(this.map);
    this.onSelect = onSelect;
    this.alerts = new Map(); // alert id -> {dot, look, alert, selected, language}
    this.drawn = null; // {version, language, selectedId} of the store as last drawn
    this.shade = ""; // the kecamatan counts last shaded
    this.icons = new Map(); // one icon per look, shared by every marker drawn that way
    this.units = new Map(); // unit id -> {dot, look}
    this.trail = L.layerGroup().addTo(this.map);
    this.accuracy = L.layerGroup().addTo(this.map); // the selected alert's circle only: 20,000 circles would crawl
    this.alertLayer = null; // the cluster group, once the plugin has loaded
    this.unitLayer = L.layerGroup().addTo(this.map);
    this.focused = null;
    this.areas = null;
    this.legend = L.control({ position: "bottomleft" });
    this.legend.onAdd = () => {
      const box = L.DomUtil.create("section", "area-shading");
      box.hidden = true;
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    this.legend.addTo(this.map);
    this.last = null;
    addJurisdictions(this.map, token).then((layer) => {
      this.areas = layer?.bringToBack() || null;
      if (this.last) this.shadeAreas(this.last.store);
    });
    markerClusterGroup().then((Group) => {
      if (!this.map) return;
      // The cluster group needs the map's deepest zoom; without a tile layer (no tile URL) none set it.
      if (!Number.isFinite(this.map.getMaxZoom())) this.map.setMaxZoom(19);
      this.alertLayer = new Group({
        // Thousands of markers (a snapshot) go in in slices short enough that the page keeps drawing between them.
        chunkedLoading: true,
        chunkInterval: 40,
        chunkDelay: 10,
        animate: false, // re-clustering on every batch of a surge must not animate thousands of icons
        showCoverageOnHover: false,
        zoomToBoundsOnClick: false,
        maxClusterRadius: 50,
        iconCreateFunction: (cluster) => clusterIcon(cluster),
      }).addTo(this.map);
      this.alertLayer.on("click", (event) => this.onSelect(event.layer.options.alertId));
      this.alertLayer.on("clusterclick", (event) => {
        const ids = event.layer.getAllChildMarkers().map((marker) => marker.options.alertId);
        onCluster(ids);
        event.layer.zoomToBounds({ padding: [20, 20] });
      });
      if (this.last) this.syncAlerts(this.last.store, this.last.selectedId);
    });
    this.resize = new ResizeObserver(() => this.map.invalidateSize());
    this.resize.observe(element);
  }

  /**
   * Draw the store's open alerts: only those changed since the last call (store.changedSince), and the selection's
   * old and new alert; everything when the store says so, the language changed, or the cluster group just arrived.
   */
  syncAlerts(store, selectedId) {
    this.last = { store, selectedId };
    this.shadeAreas(store);
    if (!this.alertLayer) return;
    const language = lang();
    const changed = language === this.drawn?.language ? store.changedSince(this.drawn.version) : null;
    const previous = this.drawn?.selectedId;
    this.drawn = { version: store.alertsVersion, language, selectedId };
    if (changed === null) {
      this.drawEverything(store, language);
    } else {
      if (previous !== selectedId) changed.add(previous).add(selectedId);
      const gone = [];
      const added = [];
      for (const id of changed) if (id) this.place(store, id, selectedId, language, gone, added);
      this.apply(gone, added);
    }
    this.showSelected(store, selectedId);
  }

  /** Markers off and on the cluster group, in bulk: it re-clusters once per call, not once per marker. */
  apply(gone, added) {
    if (gone.length) this.alertLayer.removeLayers(gone);
    if (added.length) this.alertLayer.addLayers(added);
  }

  /**
   * Draw every open alert, a slice at a time: twenty thousand markers made in one go would hold the page for a
   * second. Changes that arrive meanwhile are drawn as they come (each alert is read from the store when its turn
   * comes, so a slice never draws an alert as it was).
   */
  drawEverything(store, language) {
    clearTimeout(this.slicing);
    const gone = [];
    for (const [id, drawn] of this.alerts) {
      if (!this.shown(store, store.alerts.get(id))) {
        gone.push(drawn.dot);
        this.alerts.delete(id);
      }
    }
    this.apply(gone, []);
    const ids = [...store.alerts.keys()];
    let at = 0;
    const slice = () => {
      if (!this.map || this.drawn.language !== language) return;
      const end = Math.min(ids.length, at + MARKERS_PER_SLICE);
      const taken = [];
      const added = [];
      for (; at < end; at += 1) this.place(store, ids[at], this.drawn.selectedId, language, taken, added);
      this.apply(taken, added);
      this.slicing = at < ids.length ? setTimeout(slice, 0) : null;
    };
    slice();
  }

  showSelected(store, selectedId) {
    this.accuracy.clearLayers();
    const selected = store.alerts.get(selectedId);
    if (selected?.accuracy_m) {
      const colour = selected.is_exercise ? DRILL_COLOUR : ALERT_COLOURS[level(selected)];
      L.circle([selected.lat, selected.lon], {
        radius: selected.accuracy_m,
        color: colour,
        weight: 1,
        fillOpacity: 0.12,
        interactive: false,
      }).addTo(this.accuracy);
    }
    if (selected && this.focused !== selectedId) {
      this.focused = selectedId;
      const where = L.latLng(selected.lat, selected.lon);
      if (!this.map.getBounds().pad(-0.1).contains(where)) this.map.panTo(where);
    }
  }

  shown(store, alert) {
    return Boolean(alert) && !(store.hideDrills && alert.is_exercise);
  }

  /** Bring alert `id`'s marker in step with the store: markers to take off go to `gone`, new ones to `added`. */
  place(store, id, selectedId, language, gone, added) {
    const alert = store.alerts.get(id);
    const drawn = this.alerts.get(id);
    if (!this.shown(store, alert)) {
      if (drawn) {
        gone.push(drawn.dot);
        this.alerts.delete(id);
      }
      return;
    }
    const selected = id === selectedId;
    // The store replaces an alert's object when it changes: the same object, drawn the same way, is untouched.
    if (drawn && drawn.alert === alert && drawn.selected === selected && drawn.language === language) return;
    const look = [level(alert), alert.state, alert.is_exercise, selected, alert.lat, alert.lon, language].join("|");
    if (drawn?.look === look) {
      Object.assign(drawn, { alert, selected, language });
      return;
    }
    if (drawn) gone.push(drawn.dot);
    const dot = this.drawAlert(alert, selected);
    added.push(dot);
    this.alerts.set(id, { dot, look, alert, selected, language });
  }

  /**
   * Shade each kecamatan by its open (shown) alerts, the darker the more, and name those shaded in the legend. Only
   * when the counts (or the language) changed.
   */
  shadeAreas(store) {
    if (!this.areas) return;
    const counts = store.openByArea();
    const shade = JSON.stringify([lang(), ...counts]);
    if (shade === this.shade) return;
    this.shade = shade;
    const most = Math.max(1, ...counts.values());
    const shaded = new Map(); // name -> {name, count, fillOpacity}: a kecamatan drawn in several parts is named once
    this.areas.eachLayer((layer) => {
      const name = layer.feature?.properties?.name;
      const count = counts.get(name) || 0;
      const fill = areaFill(count, most);
      layer.setStyle(fill);
      if (count) shaded.set(name, { name, count, fillOpacity: fill.fillOpacity });
    });
    const byCount = (a, b) => b.count - a.count || String(a.name).localeCompare(String(b.name));
    drawShadingLegend(this.legend.getContainer(), [...shaded.values()].sort(byCount));
  }

  drawAlert(alert, selected) {
    const colour = alert.is_exercise ? DRILL_COLOUR : ALERT_COLOURS[level(alert)];
    const key = `${colour}|${selected}|${alert.state === "new"}`;
    let icon = this.icons.get(key);
    if (!icon) {
      const size = selected ? 24 : 16;
      icon = L.divIcon({
        className: `alert-pin${selected ? " selected" : ""}${alert.state === "new" ? " is-new" : ""}`,
        html: `<span style="background:${colour}"></span>`,
        iconSize: [size, size],
      });
      this.icons.set(key, icon);
    }
    // A native title, not a Leaflet tooltip per marker: 20,000 tooltip objects would slow the first draw.
    const title = `${t(`common.category.${alert.category}`)} · ${t(`common.state.${alert.state}`)}`;
    const rank = LEVELS.indexOf(level(alert));
    return L.marker([alert.lat, alert.lon], { icon, title, alertId: alert.id, level: rank, keyboard: false });
  }

  syncUnits(store) {
    const language = lang();
    // As the unit board shows them: a drill's units hide with the drills.
    const placed = [...store.units.values()].filter(
      (u) => u.lat != null && u.lon != null && u.state !== "off_duty" && !(store.hideDrills && u.is_exercise),
    );
    const labelled = placed.length <= LABELLED_UNITS;
    const seen = new Set();
    for (const unit of placed) {
      seen.add(unit.unit_id);
      const look = [unit.state, unit.lat, unit.lon, labelled, language].join("|");
      const drawn = this.units.get(unit.unit_id);
      if (drawn?.look === look) continue;
      if (drawn) this.unitLayer.removeLayer(drawn.dot);
      const dot = L.circleMarker([unit.lat, unit.lon], {
        radius: 8,
        color: "#1a202c",
        weight: 2,
        fillColor: UNIT_COLOURS[unit.state] || UNIT_COLOURS.off_duty,
        fillOpacity: 1,
      })
        .bindTooltip(`${unit.callsign} · ${t(`common.unit.${unit.state}`)}`, {
          permanent: labelled,
          direction: "right",
          className: "unit-label",
        })
        .addTo(this.unitLayer);
      this.units.set(unit.unit_id, { dot, look });
    }
    for (const [id, drawn] of this.units) {
      if (!seen.has(id)) {
        this.unitLayer.removeLayer(drawn.dot);
        this.units.delete(id);
      }
    }
  }

  showTrail(points) {
    this.trail.clearLayers();
    if (!points || points.length < 2) return;
    const line = points.map((p) => [p.lat, p.lon]);
    L.polyline(line, { color: "#6b46c1", weight: 4, dashArray: "6 6", interactive: false }).addTo(this.trail);
    L.circleMarker(line[0], { radius: 5, color: "#6b46c1", fillColor: "#ffffff", fillOpacity: 1 })
      .bindTooltip(t("console.map.trail_start"))
      .addTo(this.trail);
  }

  centreOn(lat, lon) {
    this.map.panTo([lat, lon]);
  }

  destroy() {
    clearTimeout(this.slicing);
    this.resize.disconnect();
    this.map.remove();
    this.map = null;
  }
}

export function SituationMap({ store, config, token, selectedId, trail, onSelect, onCluster, centre }) {
  const element = useRef(null);
  const view = useRef(null);
  const select = useRef(onSelect);
  select.current = onSelect;
  const cluster = useRef(onCluster);
  cluster.current = onCluster;

  useEffect(() => {
    view.current = new SituationView(
      element.current,
      config,
      token,
      (id) => select.current(id),
      (ids) => cluster.current?.(ids),
    );
    return () => view.current.destroy();
  }, []);
  useEffect(() => view.current.syncAlerts(store, selectedId), [store.alertsVersion, selectedId, lang()]);
  useEffect(() => view.current.syncUnits(store), [store.unitsVersion, store.hideDrills, lang()]);
  useEffect(() => view.current.showTrail(trail), [trail, lang()]);
  useEffect(() => {
    if (centre) view.current.centreOn(centre.lat, centre.lon);
  }, [centre]);

  return html`<div class="situation-map" ref=${element} role="region" aria-label=${t("console.map.title")}></div>`;
}
