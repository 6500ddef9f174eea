// The console's picture of the world, fed by the console stream: open alerts and units by id, and what needs an
// operator's attention. Views subscribe; changes are announced once per short batch, so a burst of hundreds of
// messages (a mass event) costs one sort and one render, not hundreds.
import { compareAlerts } from "./priority.js";
import { setServerTime } from "./time.js";

export const ACTIVE_STATES = new Set(["new", "acknowledged", "dispatched", "en_route", "on_scene"]);
export const QUEUE_LIMIT = 200;
// A timer, not requestAnimationFrame: a console left in a background tab must still update and ring.
const BATCH_MS = 50;
const SEVERITY = { duress: 0, escalated: 1, delivery_failed: 2, suspended: 3, flagged: 4 };

export class ConsoleStore {
  constructor() {
    this.alerts = new Map();
    this.units = new Map();
    this.callers = new Map(); // alert id -> resident {name, phone}, from the staff alert list
    this.jurisdictions = new Map(); // jurisdiction id -> kecamatan name
    this.attention = new Map(); // `${alertId}:${kind}` -> {key, alertId, kind, reason, at, seen}
    this.deliveryFailed = new Set();
    this.alertVersions = new Map(); // alert id -> changes seen, so an open panel knows when to reload
    this.version = 0;
    this.alertsVersion = 0;
    this.unitsVersion = 0;
    this.streamState = "connecting";
    this.listeners = new Set();
    this.handlers = { event: new Set(), location: new Set(), snapshot: new Set() };
    this.sorted = null;
    this.sortedAt = -1;
    this.pending = null;
  }

  /** Call `listener` after each batch of changes. Returns the unsubscribe function. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Call `handler` at once for each message of `type` (event, location, snapshot): for sound and side panels. */
  on(type, handler) {
    this.handlers[type].add(handler);
    return () => this.handlers[type].delete(handler);
  }

  changed() {
    this.version += 1;
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      for (const listener of this.listeners) listener();
    }, BATCH_MS);
  }

  setStreamState(state) {
    this.streamState = state;
    this.changed();
  }

  apply(message) {
    switch (message.type) {
      case "hello":
        setServerTime(message.server_time);
        break;
      case "heartbeat":
        setServerTime(message.server_time);
        return;
      case "snapshot":
        this.applySnapshot(message);
        break;
      case "alert_event":
        this.applyEvent(message.event, message.alert);
        break;
      case "unit":
        this.applyUnit(message);
        break;
      case "alert_location":
        this.applyLocation(message);
        break;
      default:
        return;
    }
    this.changed();
  }

  applySnapshot({ alerts, units }) {
    this.alerts = new Map(alerts.map((alert) => [alert.id, alert]));
    // The snapshot's units lack kind and duty mode; keep what the board told us.
    this.units = new Map(units.map((unit) => [unit.unit_id, { ...this.units.get(unit.unit_id), ...unit }]));
    for (const alert of alerts) this.raiseFromFlags(alert);
    this.alertsVersion += 1;
    this.unitsVersion += 1;
    for (const handler of this.handlers.snapshot) handler(alerts);
  }

  applyEvent(event, alert) {
    if (ACTIVE_STATES.has(alert.state)) {
      this.alerts.set(alert.id, alert);
    } else {
      this.alerts.delete(alert.id);
      this.callers.delete(alert.id);
      this.settle(alert.id);
    }
    this.raiseFromEvent(event, alert);
    this.alertVersions.set(alert.id, (this.alertVersions.get(alert.id) || 0) + 1);
    this.alertsVersion += 1;
    for (const handler of this.handlers.event) handler(event, alert);
  }

  applyUnit(update) {
    const known = this.units.get(update.unit_id) || {};
    this.units.set(update.unit_id, { ...known, ...update });
    this.unitsVersion += 1;
  }

  applyLocation(location) {
    const alert = this.alerts.get(location.alert_id);
    if (alert) {
      this.alerts.set(alert.id, { ...alert, lat: location.lat, lon: location.lon, accuracy_m: location.accuracy_m });
      this.alertsVersion += 1;
    }
    for (const handler of this.handlers.location) handler(location);
  }

  /** Replace the unit board (from GET /units/board, which knows each unit's kind and duty mode). */
  setBoard(units) {
    for (const unit of units) this.units.set(unit.unit_id, { ...this.units.get(unit.unit_id), ...unit });
    this.unitsVersion += 1;
    this.changed();
  }

  setCallers(alerts) {
    for (const alert of alerts) this.callers.set(alert.id, alert.resident);
    this.changed();
  }

  setJurisdictions(list) {
    this.jurisdictions = new Map(list.map((j) => [j.id, j.name]));
    this.changed();
  }

  /** Open alerts in queue order, and how many there are. Sorted once per change of the alerts, not per render. */
  queue() {
    if (this.sortedAt !== this.alertsVersion) {
      this.sorted = [...this.alerts.values()].sort(compareAlerts);
      this.sortedAt = this.alertsVersion;
    }
    return this.sorted;
  }

  alertVersion(id) {
    return this.alertVersions.get(id) || 0;
  }

  // Attention: escalations, duress, suspended residents and failed deliveries stay in the banner until an operator
  // marks them seen; the row colour stays as long as the alert is open.

  raise(alertId, kind, reason = "", at = null) {
    const key = reason && kind === "flagged" ? `${alertId}:${kind}:${reason}` : `${alertId}:${kind}`;
    this.attention.set(key, { key, alertId, kind, reason, at: at || new Date().toISOString(), seen: false });
  }

  raiseFromFlags(alert) {
    const keep = (kind) => this.attention.has(`${alert.id}:${kind}`);
    if (alert.duress && !keep("duress")) this.raise(alert.id, "duress", "", alert.created_at);
    // A duress PIN also escalates; its own item already says so, louder.
    if (alert.escalated && !alert.duress && !keep("escalated")) this.raise(alert.id, "escalated", "", alert.created_at);
    if (alert.resident_suspended && !keep("suspended")) this.raise(alert.id, "suspended", "", alert.created_at);
    // A failure the console missed (it was closed, or reloaded) is still on the alert.
    if (alert.delivery_failed && !this.deliveryFailed.has(alert.id)) {
      this.deliveryFailed.add(alert.id);
      this.raise(alert.id, "delivery_failed", "", alert.created_at);
    }
  }

  raiseFromEvent(event, alert) {
    const reason = String(event.data?.reason ?? "");
    switch (event.kind) {
      case "duress":
        this.raise(alert.id, "duress", "", event.at);
        break;
      case "escalated":
        // A duress PIN escalates too; its duress item already says it louder.
        if (reason !== "duress") this.raise(alert.id, "escalated", reason, event.at);
        break;
      case "delivery_failed":
        this.deliveryFailed.add(alert.id);
        this.raise(alert.id, "delivery_failed", String(event.data?.channel ?? ""), event.at);
        break;
      case "flagged":
        if (reason === "resident_suspended") this.raise(alert.id, "suspended", "", event.at);
        else this.raise(alert.id, "flagged", reason, event.at);
        break;
      default:
    }
  }

  /** An alert closed: its flags are settled, except failed deliveries (the SMS may still matter). */
  settle(alertId) {
    for (const [key, item] of this.attention) {
      if (item.alertId === alertId && item.kind !== "delivery_failed") this.attention.delete(key);
    }
  }

  markSeen(key) {
    const item = this.attention.get(key);
    if (item) item.seen = true;
    this.changed();
  }

  /** Unseen attention items, most serious first, then newest first. */
  unseen() {
    return [...this.attention.values()]
      .filter((item) => !item.seen)
      .sort((a, b) => SEVERITY[a.kind] - SEVERITY[b.kind] || Date.parse(b.at) - Date.parse(a.at));
  }
}
