// The console's picture of the world, fed by the console stream: open alerts and units by id, and what needs an
// operator's attention (ordered by attention.js). Views subscribe; changes are announced once per short batch, so a
// burst of hundreds of messages (a mass event) costs one render, not hundreds. What the views ask of thousands of open
// alerts is kept as each alert changes, not worked out again from all of them on every batch: the queue's order
// (order.js), the counts per kecamatan and of drills, which alert each unit has, the presses of the last minutes, and
// which alerts changed since a view last looked (the map redraws only those).
import { bannerGroups, pressedAt } from "./attention.js";
import { QueueIndex } from "./order.js";
import { setServerTime } from "./time.js";

export const ACTIVE_STATES = new Set(["new", "acknowledged", "dispatched", "en_route", "on_scene"]);
// A timer, not requestAnimationFrame: a console left in a background tab must still update and ring.
const BATCH_MS = 50;
// In a surge (thousands open) each batch re-sorts them all: a quarter second keeps the page responsive, and is
// still sooner than a person reads the screen.
const SURGE_OPEN = 2000;
const SURGE_BATCH_MS = 250;
const HIDE_DRILLS_KEY = "siaga.console.hide_drills";
// Alert changes remembered for the views that redraw only what changed; one further behind redraws everything.
const CHANGES_KEPT = 20000;

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
    this.handlers = {
      event: new Set(),
      location: new Set(),
      snapshot: new Set(),
      withdrawn: new Set(),
      trouble: new Set(),
    };
    this.groups = [];
    this.bannerAt = "";
    this.pending = null;
    this.incoming = null; // a snapshot whose pages are still arriving
    this.index = new QueueIndex(); // the queue's order
    this.reindex = new Set(); // alerts whose place in it may have changed since it was last asked for
    this.rebuild = true; // the whole order is to be worked out again (a snapshot)
    this.flagged = new Map(); // alert id -> its attention items not yet marked seen (only ids with some)
    this.attentionOf = new Map(); // alert id -> the keys of its attention items
    this.areas = new Map(); // jurisdiction id (or "none") -> {real, drills, name}: open alerts per kecamatan
    this.drills = 0; // open drills
    this.unitAlerts = new Map(); // unit id -> the open alert it has
    this.unitAlertsVersion = 0;
    this.presses = []; // {at, id} of the open alerts, by press time: the surge banner reads only the last minute's
    this.changes = []; // {version, id}: which alert each change of alertsVersion touched
    this.redrawFrom = 0; // a view that last looked before this alertsVersion redraws everything
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

  changed(soon = false) {
    this.version += 1;
    if (this.pending && !soon) return;
    clearTimeout(this.pending);
    this.pending = setTimeout(
      () => {
        this.pending = null;
        for (const listener of this.listeners) listener();
      },
      soon ? 0 : this.alerts.size > SURGE_OPEN ? SURGE_BATCH_MS : BATCH_MS,
    );
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
        this.changed(true); // a whole new picture: shown at once, not after a surge's batching delay
        return;
      case "alert_event":
        this.applyEvent(message.event, message.alert);
        break;
      case "alert_withdrawn":
        // Re-routed to other agencies (its category changed): no longer this console's to show.
        if (this.alerts.has(message.alert_id)) this.setAlert(message.alert_id, null);
        for (const handler of this.handlers.withdrawn) handler(message.alert_id);
        break;
      case "unit":
        this.applyUnit(message);
        break;
      case "alert_location":
        this.applyLocation(message);
        break;
      case "device_trouble":
        // A panic button's trouble opened or cleared: its own list (troubles.js), not the alerts.
        for (const handler of this.handlers.trouble) handler(message);
        return;
      default:
        return;
    }
    this.changed();
  }

  applySnapshot({ alerts, units }) {
    this.alerts = new Map(alerts.map((alert) => [alert.id, alert]));
    this.areas = new Map();
    this.drills = 0;
    this.unitAlerts = new Map();
    for (const alert of alerts) this.count(alert, 1);
    this.presses = alerts.map((alert) => ({ at: pressedAt(alert), id: alert.id })).sort((a, b) => a.at - b.at);
    this.rebuild = true;
    this.reindex.clear();
    // The snapshot's units lack kind and duty mode; keep what the board told us.
    this.units = new Map(units.map((unit) => [unit.unit_id, { ...this.units.get(unit.unit_id), ...unit }]));
    for (const alert of alerts) this.raiseFromFlags(alert);
    this.alertsVersion += 1;
    this.redrawFrom = this.alertsVersion;
    this.changes = [];
    this.unitsVersion += 1;
    for (const handler of this.handlers.snapshot) handler(alerts);
  }

  applyEvent(event, alert) {
    this.setAlert(alert.id, ACTIVE_STATES.has(alert.state) ? alert : null);
    if (!ACTIVE_STATES.has(alert.state)) this.settle(alert.id);
    this.raiseFromEvent(event, alert);
    this.alertVersions.set(alert.id, (this.alertVersions.get(alert.id) || 0) + 1);
    for (const handler of this.handlers.event) handler(event, alert);
  }

  /** Put the open alert `alert` in place of the alert `id` (null: it closed), keeping every count in step. */
  setAlert(id, alert) {
    const known = this.alerts.get(id);
    if (known) this.count(known, -1);
    if (alert) {
      this.alerts.set(id, alert);
      this.count(alert, 1);
      if (!known) this.addPress(alert);
    } else {
      this.alerts.delete(id);
    }
    this.reindex.add(id);
    this.alertsVersion += 1;
    this.changes.push({ version: this.alertsVersion, id });
    if (this.changes.length > CHANGES_KEPT) {
      const dropped = this.changes.splice(0, this.changes.length - CHANGES_KEPT / 2);
      this.redrawFrom = Math.max(this.redrawFrom, dropped[dropped.length - 1].version);
    }
  }

  count(alert, sign) {
    if (alert.is_exercise) this.drills += sign;
    const key = alert.jurisdiction_id ?? "none";
    const area = this.areas.get(key) || { real: 0, drills: 0, name: alert.jurisdiction_name || "" };
    if (alert.is_exercise) area.drills += sign;
    else area.real += sign;
    if (area.real + area.drills > 0) this.areas.set(key, area);
    else this.areas.delete(key);
    if (alert.unit_id == null) return;
    this.unitAlertsVersion += 1;
    if (sign > 0) this.unitAlerts.set(alert.unit_id, alert);
    else if (this.unitAlerts.get(alert.unit_id)?.id === alert.id) this.unitAlerts.delete(alert.unit_id);
  }

  addPress(alert) {
    const entry = { at: pressedAt(alert), id: alert.id };
    let at = this.presses.length;
    while (at > 0 && this.presses[at - 1].at > entry.at) at -= 1; // new presses come last, or nearly
    this.presses.splice(at, 0, entry);
    // Closed alerts' entries are skipped as they are read, and dropped once they are half of them.
    if (this.presses.length > 2 * this.alerts.size + 1000) {
      this.presses = this.presses.filter((press) => this.alerts.has(press.id));
    }
  }

  /** The open alerts pressed in the last `windowMs` (by this browser's clock, as the surge rules count). */
  pressedWithin(windowMs, now = Date.now()) {
    const recent = new Map(); // by id: an alert closed and opened again has two entries
    for (let i = this.presses.length - 1; i >= 0 && this.presses[i].at >= now - windowMs; i -= 1) {
      const alert = this.alerts.get(this.presses[i].id);
      if (alert) recent.set(alert.id, alert);
    }
    return [...recent.values()];
  }

  /**
   * The ids of the alerts changed after `alertsVersion` `since` (opened, changed or closed), or null when the view
   * must redraw every alert (a new snapshot, the drills shown or hidden, or it is too far behind).
   */
  changedSince(since) {
    if (since < this.redrawFrom) return null;
    const ids = new Set();
    for (let i = this.changes.length - 1; i >= 0 && this.changes[i].version > since; i -= 1) ids.add(this.changes[i].id);
    return ids;
  }

  /** Open alerts per kecamatan name (drills left out while hidden). */
  openByArea() {
    const counts = new Map();
    for (const [key, area] of this.areas) {
      const name = this.jurisdictions.get(key) || area.name;
      const count = area.real + (this.hideDrills ? 0 : area.drills);
      if (name && count) counts.set(name, (counts.get(name) || 0) + count);
    }
    return counts;
  }

  /** The open alert unit `unitId` has, if any. */
  alertOfUnit(unitId) {
    return this.unitAlerts.get(unitId);
  }

  applyUnit(update) {
    const known = this.units.get(update.unit_id) || {};
    this.units.set(update.unit_id, { ...known, ...update });
    this.unitsVersion += 1;
  }

  applyLocation(location) {
    const alert = this.alerts.get(location.alert_id);
    if (alert) {
      this.setAlert(alert.id, { ...alert, lat: location.lat, lon: location.lon, accuracy_m: location.accuracy_m });
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
    this.redrawFrom = this.alertsVersion;
    this.changed();
  }

  /** Open alerts in queue order (attention.js), drills left out while hidden: a new array after each change. */
  queue() {
    if (this.rebuild) {
      this.index.rebuild(this.alerts.values(), this.flagged);
      this.rebuild = false;
    } else {
      for (const id of this.reindex) {
        const alert = this.alerts.get(id);
        if (alert) this.index.put(alert, this.flagged);
        else this.index.remove(id);
      }
    }
    this.reindex.clear();
    return this.index.ordered(this.hideDrills);
  }

  /** Changes whenever the queue's order or its alerts do. */
  queueVersion() {
    this.queue();
    return `${this.index.version}:${this.hideDrills}`;
  }

  /** How many real alerts nobody has taken. */
  waitingCount() {
    this.queue();
    return this.index.waitingCount();
  }

  /** Open alerts per queue section (attention.js SECTIONS), drills included. */
  sectionCounts() {
    this.queue();
    return this.index.sectionCounts();
  }

  /** How many open drills the switch hides (or would hide). */
  drillCount() {
    return this.drills;
  }

  /** The banner's groups (attention.js): what must not be missed, by kind, real before drills. */
  banner() {
    const at = `${this.queueVersion()}:${this.attentionVersion}`;
    if (this.bannerAt !== at) {
      const { byId } = this.index;
      this.groups = bannerGroups(this.alerts, this.unseen(), {
        hideDrills: this.hideDrills,
        ordered: this.queue(),
        waiting: this.index.waiting(),
        placeOf: (id) => byId.get(id)?.key ?? Infinity,
      });
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
    this.forget(key);
    this.attention.set(key, item);
    if (!this.attentionOf.has(alertId)) this.attentionOf.set(alertId, new Set());
    this.attentionOf.get(alertId).add(key);
    this.flagged.set(alertId, (this.flagged.get(alertId) || 0) + 1);
    this.reindex.add(alertId);
    this.attentionVersion += 1;
  }

  /** Drop the attention item `key`, if there is one (its alert no longer counts it as unseen). */
  forget(key) {
    const item = this.attention.get(key);
    if (!item) return;
    this.attention.delete(key);
    this.attentionOf.get(item.alertId)?.delete(key);
    if (!item.seen) this.unflag(item.alertId);
  }

  unflag(alertId) {
    const left = (this.flagged.get(alertId) || 0) - 1;
    if (left > 0) this.flagged.set(alertId, left);
    else this.flagged.delete(alertId);
    this.reindex.add(alertId);
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
      case "resident_replied":
        // The resident's latest word on an open alert (attention.js): one item per alert, the newest reply's.
        if (ACTIVE_STATES.has(alert.state)) this.raise(alert, "reply", String(event.data?.text ?? ""), event.at);
        break;
      default:
    }
  }

  /** An alert closed: its flags are settled, except failed deliveries (the SMS may still matter). */
  settle(alertId) {
    for (const key of [...(this.attentionOf.get(alertId) || [])]) {
      if (this.attention.get(key)?.kind !== "delivery_failed") this.forget(key);
    }
    if (this.attentionOf.get(alertId)?.size === 0) this.attentionOf.delete(alertId);
    this.attentionVersion += 1;
  }

  /** Mark attention items seen (a banner group is dismissed as one). */
  markSeen(keys) {
    for (const key of keys) {
      const item = this.attention.get(key);
      if (item && !item.seen) {
        item.seen = true;
        this.unflag(item.alertId);
      }
    }
    this.attentionVersion += 1;
    this.changed();
  }

  /** Attention items no operator has marked seen yet. */
  unseen() {
    return [...this.attention.values()].filter((item) => !item.seen);
  }
}
