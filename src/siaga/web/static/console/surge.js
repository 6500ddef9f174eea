// The surge view's rules: which open alerts the operator's filters keep, how the queue groups them (by kecamatan or
// category, with counts), and which areas are surging (presses per minute past the threshold). Pure (no DOM, no
// i18n), so every console computes the same from the same alerts; unit-tested in tests/js/surge.test.mjs.

import { pressedAt } from "./attention.js";

export const GROUPINGS = ["attention", "kecamatan", "category", "incident"];
// Age filters: alerts younger than these many minutes (or older than the longest).
export const AGES = ["all", "5", "15", "60", "older"];
export const SURGE_WINDOW_MS = 60_000;

/** The kecamatan key of an alert (its jurisdiction id, or "none" for an alert outside every kecamatan). */
export function areaOf(alert) {
  return alert.jurisdiction_id == null ? "none" : String(alert.jurisdiction_id);
}

/**
 * Whether `alert` passes the filters `{category, area, state, age}` ("" or "all" lets everything through) at `now`
 * (ms). Age "older" keeps the alerts older than the longest age choice.
 */
export function passes(alert, { category = "", area = "", state = "", age = "all" } = {}, now = Date.now()) {
  if (category && alert.category !== category) return false;
  if (area && areaOf(alert) !== area) return false;
  if (state && alert.state !== state) return false;
  if (age && age !== "all") {
    const minutes = (now - pressedAt(alert)) / 60_000;
    if (age === "older" ? minutes < Number(AGES[AGES.length - 2]) : minutes > Number(age)) return false;
  }
  return true;
}

/** The alerts (already in queue order) that pass `filters`, still in queue order. */
export function filtered(ordered, filters, now = Date.now()) {
  const active = Object.values(filters || {}).some((value) => value && value !== "all");
  return active ? ordered.filter((alert) => passes(alert, filters, now)) : ordered;
}

/** The key of the group `alert` is in when the queue is grouped `by` ("kecamatan", "category" or "incident"). */
function groupKey(alert, by) {
  if (by === "category") return alert.category;
  if (by === "incident") return alert.incident_id ?? "none"; // alerts linked into one incident (incidents.js)
  return areaOf(alert);
}

/**
 * The queue's groups: `[{key, count, alerts}]`, largest first (then by key), each group's alerts in queue order.
 * `by` is "kecamatan", "category" or "incident".
 */
export function grouped(ordered, by) {
  const groups = new Map();
  for (const alert of ordered) {
    const key = groupKey(alert, by);
    if (!groups.has(key)) groups.set(key, { key, count: 0, alerts: [] });
    const group = groups.get(key);
    group.count += 1;
    group.alerts.push(alert);
  }
  // By incident, the alerts linked into none come last: the incidents are what the operator groups for.
  const last = (group) => Number(by === "incident" && group.key === "none");
  return [...groups.values()].sort(
    (a, b) => last(a) - last(b) || b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

/**
 * The rows to draw: group headings and alerts, flattened for a virtual list. `collapsed` holds the keys of groups
 * shown as their heading only. Without grouping, the rows are the alerts.
 */
export function rowsOf(ordered, by, collapsed = new Set()) {
  if (!GROUPINGS.includes(by) || by === "attention") return ordered.map((alert) => ({ alert }));
  const rows = [];
  for (const group of grouped(ordered, by)) {
    rows.push({ group });
    if (!collapsed.has(group.key)) for (const alert of group.alerts) rows.push({ alert });
  }
  return rows;
}

/**
 * The kecamatan where presses in the last minute reached `threshold`: `[{area, presses, exercise}]`, real surges
 * first, then drills', each most first. A press is an alert created in the window, counted with its repeated presses.
 * Real presses and drills' are counted apart: a drill (a simulated mass event) surges as a drill and never adds to a
 * real area's count. Every console with the same alerts finds the same areas.
 */
export function surgingAreas(alerts, { threshold, now = Date.now(), windowMs = SURGE_WINDOW_MS } = {}) {
  if (!threshold || threshold < 1) return [];
  const counts = new Map();
  for (const alert of alerts) {
    if (alert.jurisdiction_id == null) continue;
    if (now - pressedAt(alert) > windowMs) continue;
    const key = `${alert.is_exercise ? 1 : 0}:${areaOf(alert)}`;
    counts.set(key, (counts.get(key) || 0) + (alert.press_count ?? 1));
  }
  return [...counts]
    .filter(([, presses]) => presses >= threshold)
    .map(([key, presses]) => ({ area: key.slice(2), presses, exercise: key[0] === "1" }))
    .sort((a, b) => Number(a.exercise) - Number(b.exercise) || b.presses - a.presses || (a.area < b.area ? -1 : 1));
}
