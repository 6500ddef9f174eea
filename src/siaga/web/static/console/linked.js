// Which alerts are linked with which, and what linking a pick does: the rules of the console's incidents
// (incidents.js), pure (no DOM, no i18n), unit-tested in tests/js/incidents.test.mjs.

export const PRIORITIES = ["normal", "high", "critical"];

/** How many open alerts each incident holds: incident id -> count (alerts in none are left out). */
export function incidentSizes(alerts) {
  const sizes = new Map();
  for (const alert of alerts) {
    if (alert.incident_id) sizes.set(alert.incident_id, (sizes.get(alert.incident_id) || 0) + 1);
  }
  return sizes;
}

/**
 * What linking the picked alerts does: `{incidentId, alertIds}` (incidentId null: a new incident of them all; else
 * the one incident some of them are in, which the others join), or `{error}` with the code the server would answer.
 */
export function linkPlan(picked) {
  const incidents = new Set(picked.map((alert) => alert.incident_id).filter(Boolean));
  if (incidents.size > 1) return { error: "incident.already_linked" };
  if (incidents.size === 1) {
    const [incidentId] = incidents;
    const alertIds = picked.filter((alert) => alert.incident_id !== incidentId).map((alert) => alert.id);
    return alertIds.length ? { incidentId, alertIds } : { error: "incident.too_few" };
  }
  if (picked.length < 2) return { error: "incident.too_few" };
  return { incidentId: null, alertIds: picked.map((alert) => alert.id) };
}
