// The console's picture of the world, fed by the console stream: open alerts and units by id, and what needs an
// operator's attention (ordered by attention.js). Views subscribe; changes are announced once per short batch, so a
// burst of hundreds of messages (a mass event) costs one sort and one render, not hundreds.
import { bannerGroups, queueOrder } from "./attention.js";
import { setServerTime } from "./time.js";

export const ACTIVE_STATES = new Set(["new", "acknowledged", "dispatched", "en_route", "on_scene"]);
// A timer, not requestAnimationFrame: a console left in a background tab must still update and ring.
const BATCH_MS = 50;
// In a surge (thousands open) each batch re-sorts them all: a quarter second keeps the page responsive, and is
// still sooner than a person reads the screen.
const SURGE_OPEN = 2000;
const SURGE_BATCH_MS = 250;
const HIDE_DRILLS_KEY = "siaga.console.hide_drills";

function savedHideDrills() {
  try {
    return localStorage.getItem(HIDE_DRILLS_KEY) === "1";
  } catch {
    return false;
  }
}

export class ConsoleStore {
  constructor() {
    this.alerts = new Map();
    this.units = new Map();
    this.jurisdictions = new Map(); // jurisdiction id -> kecamatan name
    this.attention = new Map(); // `${alertId}:${kind}` -> {key, alertId, kind, reason, at, exercise, seen}
    this.attentionVersion = 0;
    this.hideDrills = savedHideDrills();
    this.deliveryFailed = new Set();
    this.alertVersions = new Map(); // alert id -> changes seen, so an open panel knows when to reload
    this.version = 0;
    this.alertsVersion = 0;
    this.unitsVersion = 0;
    this.streamState = "connecting";
    this.listeners = new Set();
    this.handlers = { event: new Set(), location: new Set(), snapshot: new Set() };
    this.sorted = null;
    this.sortedAt = "";
    this.groups = [];
    this.bannerAt = "";
    this.pending = null;
    this.incoming = null; // a snapshot whose pages are still arriving
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
    }, this.alerts.size > SURGE_OPEN ? SURGE_BATCH_MS : BATCH_MS);
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
      case "snapshot_page":
        // Every open alert comes, in pages (`more` until the last): the picture is replaced once it is whole.
        if (message.type === "snapshot") this.incoming = { ...message, alerts: [...message.alerts] };
        else if (this.incoming) this.incoming.alerts.push(...message.alerts);
        if (message.more || !this.incoming) return;
        this.applySnapshot(this.incoming);
        this.incoming = null;
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

  setJurisdictions(list) {
    this.jurisdictions = new Map(list.map((j) => [j.id, j.name]));
    this.changed();
  }

  /** Show or hide the drills (exercise alerts) in the queue, on the map and in the banner; remembered here. */
  setHideDrills(hide) {
    this.hideDrills = hide;
    try {
      localStorage.setItem(HIDE_DRILLS_KEY, hide ? "1" : "0");
    } catch {
      // Private mode: the switch still works for this session.
    }
    this.alertsVersion += 1;
    this.changed();
  }

  /** Open alerts in queue order (attention.js). Sorted once per change of the alerts or flags, not per render. */
  queue() {
    const at = `${this.alertsVersion}:${this.attentionVersion}:${this.hideDrills}`;
    if (this.sortedAt !== at) {
      const flagged = new Set(this.unseen().map((item) => item.alertId));
      this.sorted = queueOrder(this.alerts.values(), { flagged, hideDrills: this.hideDrills });
      this.sortedAt = at;
    }
    return this.sorted;
  }

  /** How many open drills the switch hides (or would hide). */
  drillCount() {
    let count = 0;
    for (const alert of this.alerts.values()) if (alert.is_exercise) count += 1;
    return count;
  }

  /** The banner's groups (attention.js): what must not be missed, by kind, real before drills. */
  banner() {
    const at = `${this.alertsVersion}:${this.attentionVersion}:${this.hideDrills}`;
    if (this.bannerAt !== at) {
      this.groups = bannerGroups(this.alerts, this.unseen(), { hideDrills: this.hideDrills, ordered: this.queue() });
      this.bannerAt = at;
    }
    return this.groups;
  }

  alertVersion(id) {
    return this.alertVersions.get(id) || 0;
  }

  // Attention: escalations, duress, suspended residents and failed deliveries stay in the banner until an operator
  // marks them seen; the row colour stays as long as the alert is open.

  raise(alert, kind, reason = "", at = null) {
    const alertId = alert.id;
    const key = reason && kind === "flagged" ? `${alertId}:${kind}:${reason}` : `${alertId}:${kind}`;
    // Whether it is a drill is kept with the item: a failed delivery outlives its alert in the banner.
    const exercise = Boolean(alert.is_exercise);
    const item = { key, alertId, kind, reason, at: at || new Date().toISOString(), exercise, seen: false };
    this.attention.set(key, item);
    this.attentionVersion += 1;
  }

  raiseFromFlags(alert) {
    const keep = (kind) => this.attention.has(`${alert.id}:${kind}`);
    if (alert.duress && !keep("duress")) this.raise(alert, "duress", "", alert.created_at);
    // A duress PIN also escalates; its own item already says so, louder.
    if (alert.escalated && !alert.duress && !keep("escalated")) this.raise(alert, "escalated", "", alert.created_at);
    if (alert.resident_suspended && !keep("suspended")) this.raise(alert, "suspended", "", alert.created_at);
    // A failure the console missed (it was closed, or reloaded) is still on the alert.
    if (alert.delivery_failed && !this.deliveryFailed.has(alert.id)) {
      this.deliveryFailed.add(alert.id);
      this.raise(alert, "delivery_failed", "", alert.created_at);
    }
  }

  raiseFromEvent(event, alert) {
    const reason = String(event.data?.reason ?? "");
    switch (event.kind) {
      case "duress":
        this.raise(alert, "duress", "", event.at);
        break;
      case "escalated":
        // A duress PIN escalates too; its duress item already says it louder.
        if (reason !== "duress") this.raise(alert, "escalated", reason, event.at);
        break;
      case "delivery_failed":
        this.deliveryFailed.add(alert.id);
        this.raise(alert, "delivery_failed", String(event.data?.channel ?? ""), event.at);
        break;
      case "flagged":
        if (reason === "resident_suspended") this.raise(alert, "suspended", "", event.at);
        else this.raise(alert, "flagged", reason, event.at);
        break;
      default:
    }
  }

  /** An alert closed: its flags are settled, except failed deliveries (the SMS may still matter). */
  settle(alertId) {
    for (const [key, item] of this.attention) {
      if (item.alertId === alertId && item.kind !== "delivery_failed") this.attention.delete(key);
    }
    this.attentionVersion += 1;
  }

  /** Mark attention items seen (a banner group is dismissed as one). */
  markSeen(keys) {
    for (const key of keys) {
      const item = this.attention.get(key);
      if (item) item.seen = true;
    }
    this.attentionVersion += 1;
    this.changed();
  }

  /** Attention items no operator has marked seen yet. */
  unseen() {
    return [...this.attention.values()].filter((item) => !item.seen);
  }
}
