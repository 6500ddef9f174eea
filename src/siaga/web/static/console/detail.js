// Everything the panel shows about the selected alert: loaded when it is selected, reloaded when the stream says it
// changed, its trail extended live, and its recommended units refreshed as units move (at most every few seconds:
// positions arrive often and each recommendation is a request).
import { useEffect, useRef, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { ACTIVE_STATES } from "./store.js";

const RECOMMEND_EVERY_MS = 3000;
const HISTORY_LIMIT = 20;
const EMPTY = { alert: null, timeline: [], trail: [], history: [], moderation: [], error: null, loading: false };

function useThrottledLoad(load, keys, alertId) {
  const last = useRef({ id: null, at: 0, timer: null });
  useEffect(() => {
    const state = last.current;
    const run = () => {
      state.timer = null;
      state.at = Date.now();
      load();
    };
    if (state.id !== alertId) {
      clearTimeout(state.timer);
      state.id = alertId;
      run();
    } else if (!state.timer) {
      state.timer = setTimeout(run, Math.max(0, state.at + RECOMMEND_EVERY_MS - Date.now()));
    }
  }, keys);
  useEffect(() => () => clearTimeout(last.current.timer), []);
}

export function useAlertDetail(alertId, store, token) {
  const [detail, setDetail] = useState(EMPTY);
  const [recommendations, setRecommendations] = useState([]);
  const [unitType, setUnitType] = useState(""); // recommend only units of this type ("": any)
  const current = useRef(alertId);
  current.current = alertId;
  const version = alertId ? store.alertVersion(alertId) : 0;
  const residentId = detail.alert?.id === alertId ? detail.alert.resident.id : null;

  useEffect(() => {
    if (!alertId) return setDetail(EMPTY);
    const controller = new AbortController();
    const options = { token, signal: controller.signal };
    setDetail((previous) => (previous.alert?.id === alertId ? previous : { ...EMPTY, loading: true }));
    Promise.all([
      api(`/alerts/${alertId}`, options),
      api(`/alerts/${alertId}/timeline`, options),
      api(`/alerts/${alertId}/trail`, options),
    ])
      .then(([alert, timeline, trail]) => {
        // A newer load has replaced this one: its answers must not overwrite the panel.
        if (controller.signal.aborted) return;
        setDetail((previous) => ({ ...previous, alert, timeline, trail, error: null, loading: false }));
      })
      .catch((error) => {
        if (!controller.signal.aborted) setDetail((previous) => ({ ...previous, error, loading: false }));
      });
    return () => controller.abort();
  }, [alertId, version, token]);

  useEffect(() => {
    // The caller's earlier alerts and strikes: reloaded with the alert, since closing it as a prank adds a strike.
    if (!residentId) return undefined;
    const controller = new AbortController();
    const options = { token, signal: controller.signal };
    Promise.all([
      api("/alerts", { ...options, query: { resident_id: residentId, limit: HISTORY_LIMIT } }),
      api(`/residents/${residentId}/moderation`, options).catch(() => []),
    ])
      .then(([history, moderation]) => {
        if (!controller.signal.aborted) setDetail((previous) => ({ ...previous, history, moderation }));
      })
      .catch(() => {});
    return () => controller.abort();
  }, [residentId, version, token]);

  useEffect(
    () =>
      store.on("location", (point) => {
        if (point.alert_id !== current.current) return;
        const added = { lat: point.lat, lon: point.lon, accuracy_m: point.accuracy_m, recorded_at: point.at };
        setDetail((previous) => ({ ...previous, trail: [...previous.trail, added] }));
      }),
    [store],
  );

  useThrottledLoad(
    () => {
      const id = alertId;
      const alert = id && store.alerts.get(id);
      // On scene too: more units may join it as backups.
      if (!alert || !ACTIVE_STATES.has(alert.state)) {
        setRecommendations([]);
        return;
      }
      api(`/alerts/${id}/recommendations`, { token, query: unitType ? { unit_type: unitType } : undefined })
        .then((found) => {
          if (current.current === id) setRecommendations(found);
        })
        .catch(() => {
          if (current.current === id) setRecommendations([]);
        });
    },
    [alertId, version, store.unitsVersion, unitType],
    alertId,
  );

  const matching = detail.alert?.id === alertId || !detail.alert ? detail : { ...EMPTY, loading: true };
  // An action's answer is the alert as it is now; ignored if the operator has meanwhile moved to another alert.
  const setAlert = (alert) => {
    if (alert.id === current.current) setDetail((previous) => ({ ...previous, alert }));
  };
  return { ...matching, recommendations, setAlert, unitType, setUnitType };
}
