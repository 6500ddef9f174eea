// Leaflet maps that work without the internet: tiles only if a tile URL is configured; kecamatan, alerts and
// units are always drawn from Siaga's own data.
import * as L from "leaflet";
import { authHeaders } from "./api.js";

export { L };

/** Text for a tooltip or popup, as text: Leaflet reads a string as HTML, and names come from imported files. */
export function plainText(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

export function createMap(element, config) {
  const map = L.map(element, { zoomControl: true, preferCanvas: true }).setView(config.map_center, config.map_zoom);
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { attribution: config.tile_attribution, maxZoom: 19 }).addTo(map);
  }
  return map;
}

export async function addJurisdictions(map, token) {
  // The page may remove the map (a logout) while the kecamatan are on their way: then there is nothing to draw on.
  let removed = false;
  map.once("unload", () => {
    removed = true;
  });
  const response = await fetch("/api/v1/jurisdictions.geojson", { headers: authHeaders(token) });
  if (!response.ok) return null;
  const shapes = await response.json();
  if (removed) return null;
  const layer = L.geoJSON(shapes, {
    style: { color: "#4a5568", weight: 1, fillColor: "#a0aec0", fillOpacity: 0.08 },
    onEachFeature: (feature, item) => item.bindTooltip(plainText(feature.properties.name), { sticky: true }),
  }).addTo(map);
  return layer;
}

export const UNIT_COLOURS = {
  off_duty: "#718096",
  available: "#2f855a",
  offered: "#d69e2e",
  assigned: "#dd6b20",
  en_route: "#3182ce",
  on_scene: "#805ad5",
};
