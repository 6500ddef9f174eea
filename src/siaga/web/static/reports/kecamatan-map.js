// The kecamatan map: Siaga's own polygons (tiles only if the server configures a tile URL), each shaded by the
// chosen figure in five classes, with a legend and the same figures as a ranked table.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { L, createMap, plainText } from "../js/map.js";
import { lang, t } from "../js/i18n.js";
import { figure } from "./format.js";
import { authHeaders } from "../js/api.js";

// Each figure the map can show, and how it reads (see format.js).
export const MAP_FIGURES = {
  registered: "count",
  active: "count",
  new: "count",
  alerts: "count",
  prank_rate: "rate",
  acknowledge_p50_s: "seconds",
  arrive_p50_s: "seconds",
};
const PALETTE = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
const NO_DATA = "#edf2f7";

/**
 * Up to five equal classes from the smallest to the largest value (whole numbers for counts), each with its shade:
 * the smallest value always gets the lightest shade and the largest the darkest, however few classes there are.
 */
export function classes(values, kind) {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (!present.length) return [];
  const low = Math.min(...present);
  const high = Math.max(...present);
  let step = (high - low) / PALETTE.length;
  if (kind === "count") step = Math.max(1, Math.ceil(step));
  if (step === 0) return [{ low, high, shade: PALETTE.length - 1 }];
  const bins = [];
  for (let i = 0; i < PALETTE.length && low + step * i <= high; i += 1) bins.push({ low: low + step * i });
  return bins.map((bin, i) => ({
    low: bin.low,
    high: i === bins.length - 1 ? high : bin.low + step,
    shade: bins.length === 1 ? PALETTE.length - 1 : Math.round((i * (PALETTE.length - 1)) / (bins.length - 1)),
  }));
}

/** The shade of a value (an index into PALETTE), or -1 for no value. */
function shadeOf(value, bins) {
  if (value === null || value === undefined || !bins.length) return -1;
  const bin = bins.find((c, i) => value < c.high || i === bins.length - 1);
  return bin.shade;
}

export function KecamatanMap({ config, token, rows, figureKey }) {
  const element = useRef(null);
  const map = useRef(null);
  const layer = useRef(null);
  const [loaded, setLoaded] = useState(false);
  const kind = MAP_FIGURES[figureKey];
  const values = Object.fromEntries(rows.map((r) => [r.kecamatan_code, r[figureKey]]));
  const bins = classes(Object.values(values), kind);

  useEffect(() => {
    map.current = createMap(element.current, config);
    let cancelled = false;
    fetch("/api/v1/jurisdictions.geojson", { headers: authHeaders(token) })
      .then((response) => (response.ok ? response.json() : null))
      .then((geojson) => {
        if (!geojson || cancelled) return;
        // SVG, not the canvas the other maps use: every kecamatan is an element that says how it is shaded.
        layer.current = L.geoJSON(geojson, {
          renderer: L.svg(),
          style: { color: "#2d3748", weight: 1, fillColor: NO_DATA, fillOpacity: 0.8 },
          onEachFeature: (feature, item) => item.bindTooltip(plainText(feature.properties.name), { sticky: true }),
        }).addTo(map.current);
        const bounds = layer.current.getBounds();
        if (bounds.isValid()) map.current.fitBounds(bounds, { padding: [8, 8] });
        setLoaded(true);
      });
    return () => {
      cancelled = true;
      map.current.remove();
    };
  }, []);

  useEffect(() => {
    if (!layer.current) return;
    layer.current.eachLayer((item) => {
      const { code, name } = item.feature.properties;
      const value = values[code];
      const shade = code in values ? shadeOf(value, bins) : -1;
      item.setStyle({ fillColor: shade < 0 ? NO_DATA : PALETTE[shade] });
      const text = code in values ? figure(kind, value) : t("reports.map.outside");
      item.setTooltipContent(plainText(`${name}: ${text}`));
      const path = item.getElement();
      if (path) {
        path.setAttribute("data-code", code);
        path.setAttribute("data-shade", String(shade));
      }
    });
  }, [loaded, rows, figureKey, lang()]);

  const ranked = [...rows].sort((a, b) => (b[figureKey] ?? -Infinity) - (a[figureKey] ?? -Infinity));
  return html`<div class="map-area">
    <div class="map-wrap">
      <div class="map" ref=${element} data-testid="kecamatan-map" role="img"
        aria-label=${t("reports.map.label", { figure: t(`reports.figure.${figureKey}`) })}></div>
      <ul class="map-legend" data-testid="map-legend">
        <li class="legend-title">${t(`reports.figure.${figureKey}`)}</li>
        ${bins.map(
          (c) => html`<li><span class="swatch" style=${{ background: PALETTE[c.shade] }}></span>
            ${c.low === c.high ? figure(kind, c.low) : `${figure(kind, c.low)} – ${figure(kind, c.high)}`}</li>`,
        )}
        <li><span class="swatch" style=${{ background: NO_DATA }}></span>${t("reports.map.no_data")}</li>
      </ul>
    </div>
    <div class="table-wrap ranked">
      <table data-testid="kecamatan-table">
        <thead><tr><th>${t("reports.kecamatan")}</th><th class="num">${t(`reports.figure.${figureKey}`)}</th></tr></thead>
        <tbody>
          ${ranked.map(
            (r) => html`<tr data-code=${r.kecamatan_code}>
              <td>${r.kecamatan_code === "unknown" ? t("reports.unknown_kecamatan") : r.kecamatan_name}</td>
              <td class="num">${figure(kind, r[figureKey])}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </div>`;
}
