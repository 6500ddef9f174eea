// The kecamatan on a map (Siaga's own polygons; tiles only if the server configures a tile URL). Imported areas
// are highlighted and the map zooms to them, so the admin sees at once what the file contained.
import { html, useEffect, useRef } from "../js/ui.js";
import { L, addJurisdictions, createMap } from "../js/map.js";

const HIGHLIGHT = { color: "#c05621", weight: 2, fillColor: "#ed8936", fillOpacity: 0.25 };

export function JurisdictionMap({ config, token, revision, highlight, onSelect }) {
  const element = useRef(null);
  const map = useRef(null);

  useEffect(() => {
    map.current = createMap(element.current, config);
    return () => map.current.remove();
  }, []);

  useEffect(() => {
    let layer = null;
    let cancelled = false;
    addJurisdictions(map.current, token).then((added) => {
      if (!added) return;
      if (cancelled) return added.remove();
      layer = added;
      const marked = [];
      layer.eachLayer((item) => {
        item.on("click", () => onSelect(item.feature.properties.code));
        if (highlight.includes(item.feature.properties.code)) {
          item.setStyle(HIGHLIGHT);
          marked.push(item);
        }
      });
      const bounds = marked.length ? L.featureGroup(marked).getBounds() : layer.getBounds();
      if (bounds.isValid()) map.current.fitBounds(bounds, { padding: [16, 16] });
    });
    return () => {
      cancelled = true;
      layer?.remove();
    };
  }, [revision]);

  return html`<div class="map" ref=${element} data-testid="jurisdiction-map"></div>`;
}
