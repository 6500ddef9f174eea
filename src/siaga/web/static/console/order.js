// The queue's order, kept up to date one alert at a time: in a surge a batch of fifty presses moves fifty entries by
// binary search instead of sorting twenty thousand again. The order itself is the attention model's (attention.js
// orderKey); this only keeps it. Pure (no DOM), unit-tested in tests/js/order.test.mjs against a full sort.
import { SECTIONS, compareEntries, orderKey, sectionOfKey } from "./attention.js";

const DRILLS = SECTIONS.indexOf("drills");
const WAITING = SECTIONS.indexOf("waiting"); // duress and waiting come before it: the real alerts nobody has taken

/** The first index in `entries` (sorted by compareEntries) not before `entry`. */
function lowerBound(entries, entry) {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (compareEntries(entries[middle], entry) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class QueueIndex {
  constructor() {
    this.entries = []; // {id, key, alert}, in queue order
    this.byId = new Map();
    this.sections = SECTIONS.map(() => 0); // open alerts per section
    this.version = 0;
    this.cache = { at: -1, hideDrills: false, alerts: [] };
  }

  /** Start again from `alerts` (an iterable of open alerts); `flagged.has(id)`: the alert has an unseen flag. */
  rebuild(alerts, flagged) {
    this.entries = [...alerts].map((alert) => ({ id: alert.id, key: orderKey(alert, flagged), alert }));
    this.entries.sort(compareEntries);
    this.byId = new Map(this.entries.map((entry) => [entry.id, entry]));
    this.sections = SECTIONS.map(() => 0);
    for (const entry of this.entries) this.sections[sectionOfKey(entry.key)] += 1;
    this.version += 1;
  }

  /** Place `alert` (new, or changed, or its flags changed) where it now belongs. */
  put(alert, flagged) {
    const key = orderKey(alert, flagged);
    const known = this.byId.get(alert.id);
    if (known && known.key === key) {
      if (known.alert !== alert) {
        known.alert = alert;
        this.version += 1;
      }
      return;
    }
    if (known) this.take(known);
    const entry = { id: alert.id, key, alert };
    this.entries.splice(lowerBound(this.entries, entry), 0, entry);
    this.byId.set(entry.id, entry);
    this.sections[sectionOfKey(key)] += 1;
    this.version += 1;
  }

  /** Leave out the alert `id` (closed). */
  remove(id) {
    const known = this.byId.get(id);
    if (known) this.take(known);
  }

  take(entry) {
    const at = lowerBound(this.entries, entry);
    if (this.entries[at] !== entry) throw new Error(`queue index lost alert ${entry.id}`);
    this.entries.splice(at, 1);
    this.byId.delete(entry.id);
    this.sections[sectionOfKey(entry.key)] -= 1;
    this.version += 1;
  }

  get size() {
    return this.entries.length;
  }

  /** The open alerts in queue order (without the drills if `hideDrills`): a new array after each change. */
  ordered(hideDrills = false) {
    const cache = this.cache;
    if (cache.at !== this.version || cache.hideDrills !== hideDrills) {
      // Drills are the last section: hiding them is a shorter prefix.
      const end = this.entries.length - (hideDrills ? this.sections[DRILLS] : 0);
      const alerts = new Array(end);
      for (let i = 0; i < end; i += 1) alerts[i] = this.entries[i].alert;
      this.cache = { at: this.version, hideDrills, alerts };
    }
    return this.cache.alerts;
  }

  /** How many real alerts nobody has taken (the duress and waiting sections, the front of the queue). */
  waitingCount() {
    return this.sections.slice(0, WAITING + 1).reduce((sum, count) => sum + count, 0);
  }

  /** The real alerts nobody has taken, in queue order (a prefix of `ordered`). */
  waiting() {
    return this.ordered(false).slice(0, this.waitingCount());
  }

  /** How many open alerts each section holds, in SECTIONS order. */
  sectionCounts() {
    return [...this.sections];
  }
}
