// The situation map: kecamatan, open alerts (a dot and the accuracy circle), units coloured by state, and the
// selected alert's trail. Leaflet is driven directly rather than re-rendered: with hundreds of markers, only the
// markers whose look changed are touched. Without a tile URL the map still draws all of this on a plain background.
import { html, useEffect, useRef } from "../js/ui.js";
import { L, UNIT_COLOURS, addJurisdictions, createMap } from "../js/map.js";
import { lang, t } from "../js/i18n.js";
import { level } from "./priority.js";

const ALERT_COLOURS = { critical: "#c53030", high: "#dd6b20", normal: "#2b6cb0" };
// Drills are grey on the map as in the queue: red is kept for what is real.
const DRILL_COLOUR = "#718096";
// Permanent call-sign labels help at a glance but become noise when the board is large.
const LABELLED_UNITS = 40;

class SituationView {
  constructor(element, config, token, onSelect) {
    this.map = createMap(element, config);
    L.control.scale({ imperial: false }).addTo(this.map);
    this.onSelect = onSelect;
    this.alerts = new Map(); // alert id -> {dot, circle, look}
    this.units = new Map(); // unit id -> {dot, look}
    this.trail = L.layerGroup().addTo(this.map);
    this.alertLayer = L.layerGroup().addTo(this.map);
    this.unitLayer = L.layerGroup().addTo(this.map);
    this.focused = null;
    addJurisdictions(this.map, token).then((layer) => layer?.bringToBack());
    this.resize = new ResizeObserver(() => this.map.invalidateSize());
    this.resize.observe(element);
  }

  syncAlerts(store, selectedId) {
    const language = lang();
    const shown = (alert) => alert && !(store.hideDrills && alert.is_exercise);
    for (const [id, drawn] of this.alerts) {
      if (!shown(store.alerts.get(id))) {
        this.alertLayer.removeLayer(drawn.dot);
        if (drawn.circle) this.alertLayer.removeLayer(drawn.circle);
        this.alerts.delete(id);
      }
    }
    for (const alert of store.alerts.values()) {
      if (!shown(alert)) continue;
      const selected = alert.id === selectedId;
      const look = [level(alert), alert.state, selected, alert.lat, alert.lon, alert.accuracy_m, language].join("|");
      const drawn = this.alerts.get(alert.id);
      if (drawn?.look === look) continue;
      if (drawn) {
        this.alertLayer.removeLayer(drawn.dot);
        if (drawn.circle) this.alertLayer.removeLayer(drawn.circle);
      }
      this.alerts.set(alert.id, { ...this.drawAlert(alert, selected), look });
    }
    const selected = store.alerts.get(selectedId);
    if (selected && this.focused !== selectedId) {
      this.focused = selectedId;
      const where = L.latLng(selected.lat, selected.lon);
      if (!this.map.getBounds().pad(-0.1).contains(where)) this.map.panTo(where);
    }
  }

  drawAlert(alert, selected) {
    const colour = alert.is_exercise ? DRILL_COLOUR : ALERT_COLOURS[level(alert)];
    const where = [alert.lat, alert.lon];
    const circle = alert.accuracy_m
      ? L.circle(where, {
          radius: alert.accuracy_m,
          color: colour,
          weight: 1,
          fillOpacity: 0.12,
          interactive: false,
        }).addTo(this.alertLayer)
      : null;
    const dot = L.circleMarker(where, {
      radius: selected ? 13 : 9,
      color: selected ? "#f6ad55" : "#ffffff",
      weight: selected ? 4 : 2,
      fillColor: colour,
      fillOpacity: alert.state === "new" ? 1 : 0.7,
    })
      .bindTooltip(`${t(`common.category.${alert.category}`)} · ${t(`common.state.${alert.state}`)}`)
      .on("click", () => this.onSelect(alert.id))
      .addTo(this.alertLayer);
    return { dot, circle };
  }

  syncUnits(store) {
    const language = lang();
    const placed = [...store.units.values()].filter((u) => u.lat != null && u.lon != null && u.state !== "off_duty");
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
    this.resize.disconnect();
    this.map.remove();
  }
}

export function SituationMap({ store, config, token, selectedId, trail, onSelect, centre }) {
  const element = useRef(null);
  const view = useRef(null);
  const select = useRef(onSelect);
  select.current = onSelect;

  useEffect(() => {
    view.current = new SituationView(element.current, config, token, (id) => select.current(id));
    return () => view.current.destroy();
  }, []);
  useEffect(() => view.current.syncAlerts(store, selectedId), [store.alertsVersion, selectedId, lang()]);
  useEffect(() => view.current.syncUnits(store), [store.unitsVersion, lang()]);
  useEffect(() => view.current.showTrail(trail), [trail, lang()]);
  useEffect(() => {
    if (centre) view.current.centreOn(centre.lat, centre.lon);
  }, [centre]);

  return html`<div class="situation-map" ref=${element} role="region" aria-label=${t("console.map.title")}></div>`;
}
