// Leaflet.markercluster (from npm, copied into the vendor folder by the Makefile) for the situation map. It is a
// classic script that extends a global, mutable `L`; Siaga imports Leaflet as an ES module, whose namespace is frozen,
// so the plugin gets a plain copy of it to extend. Its additions to Leaflet's classes (the prototypes) are shared.
//
// The map remembers on each cluster the most urgent level of the alerts in it (situation.js). The plugin recalculates
// the bounds of every cluster whose markers changed, and of every cluster above it, before redrawing their icons:
// that is where the remembered level is forgotten, so only the clusters a change touched work it out again.
import { L } from "../js/map.js";

const SCRIPT = "/static/vendor/leaflet.markercluster/leaflet.markercluster.js";
const STYLE = "/static/vendor/leaflet.markercluster/MarkerCluster.css";
let loading = null;

/** Resolve to Leaflet.markercluster's MarkerClusterGroup class, loading the plugin once per page. */
export function markerClusterGroup() {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      globalThis.L = { ...L };
      const style = document.createElement("link");
      style.rel = "stylesheet";
      style.href = STYLE;
      document.head.append(style);
      const script = document.createElement("script");
      script.src = SCRIPT;
      script.onload = () => {
        const cluster = globalThis.L.MarkerCluster.prototype;
        const recalculate = cluster._recalculateBounds;
        cluster._recalculateBounds = function forgetWorst(...args) {
          this.siagaWorst = undefined;
          return recalculate.apply(this, args);
        };
        resolve(globalThis.L.MarkerClusterGroup);
      };
      script.onerror = () => reject(new Error("Leaflet.markercluster did not load"));
      document.head.append(script);
    });
  }
  return loading;
}
