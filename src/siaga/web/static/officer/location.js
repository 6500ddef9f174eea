// Shares the phone's position while on duty, so dispatch can find the nearest unit.
// - watchPosition is silent while the phone stands still, so the newest fix is re-sent every few seconds as a sign
//   of life (a unit whose position goes stale drops out of recommendations).
// - Fixes taken without signal wait in a queue and go out oldest first when the network is back; the API takes one
//   position per request, so "a batch" is the queue drained in order.
import { api } from "../js/api.js";

const SEND_EVERY_MS = 5000;
// About 40 minutes at one fix per 5 s; beyond that the oldest fixes matter least and are dropped.
const MAX_QUEUE = 500;
const MAX_SPEED_MPS = 100;

async function batteryLevel() {
  try {
    const battery = await navigator.getBattery?.();
    return battery ? Math.round(battery.level * 100) : null;
  } catch {
    return null;
  }
}

export class PositionSharer {
  /**
   * @param {{token: string, onStatus: (s: object) => void, onOffDuty: () => void, onExpired: () => void}} options
   */
  constructor({ token, onStatus, onOffDuty, onExpired }) {
    this.token = token;
    this.onStatus = onStatus;
    this.onOffDuty = onOffDuty;
    this.onExpired = onExpired;
    this.queue = [];
    this.latest = null;
    this.lastQueued = 0;
    this.sending = false;
    this.stopped = false;
    this.battery = null;
    this.status = { state: "waiting", sentAt: null, accuracy: null, queued: 0 };
  }

  start() {
    if (!("geolocation" in navigator)) {
      this.update({ state: "unsupported" });
      return this;
    }
    this.watch = navigator.geolocation.watchPosition(
      (position) => this.onFix(position),
      (error) => this.update({ state: error.code === error.PERMISSION_DENIED ? "denied" : "no_fix" }),
      { enableHighAccuracy: true, maximumAge: 10_000, timeout: 30_000 },
    );
    this.timer = setInterval(() => this.tick(), SEND_EVERY_MS);
    this.online = () => this.flush();
    window.addEventListener("online", this.online);
    batteryLevel().then((level) => (this.battery = level));
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.watch !== undefined) navigator.geolocation.clearWatch(this.watch);
    clearInterval(this.timer);
    window.removeEventListener("online", this.online);
    this.queue = [];
  }

  update(change) {
    this.status = { ...this.status, ...change, queued: this.queue.length };
    this.onStatus(this.status);
  }

  onFix(position) {
    const { latitude, longitude, accuracy, speed } = position.coords;
    this.latest = { lat: latitude, lon: longitude, accuracy_m: accuracy, speed_mps: speed, at: position.timestamp };
    this.update({ accuracy, state: this.status.state === "waiting" ? "sharing" : this.status.state });
    if (Date.now() - this.lastQueued >= SEND_EVERY_MS) {
      this.enqueue(position.timestamp);
      this.flush();
    }
  }

  tick() {
    if (this.latest && Date.now() - this.lastQueued >= SEND_EVERY_MS - 250) this.enqueue(Date.now());
    this.flush();
  }

  enqueue(at) {
    const fix = this.latest;
    this.lastQueued = Date.now();
    this.queue.push({
      lat: fix.lat,
      lon: fix.lon,
      accuracy_m: Number.isFinite(fix.accuracy_m) ? Math.min(fix.accuracy_m, 100_000) : null,
      speed_mps: Number.isFinite(fix.speed_mps) && fix.speed_mps <= MAX_SPEED_MPS ? Math.max(fix.speed_mps, 0) : null,
      battery: this.battery,
      recorded_at: new Date(at).toISOString(),
    });
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
  }

  async flush() {
    if (this.sending || this.stopped) return;
    this.sending = true;
    try {
      while (this.queue.length && !this.stopped) {
        if (!(await this.sendFirst())) return;
      }
    } finally {
      this.sending = false;
      if (!this.stopped) this.update({});
    }
  }

  /** Send the oldest queued fix. False when sending must wait (no network, or the server cannot take it now). */
  async sendFirst() {
    try {
      await api("/officers/me/location", { method: "POST", token: this.token, body: this.queue[0] });
      this.queue.shift();
      this.update({ state: "sharing", sentAt: Date.now() });
      return true;
    } catch (error) {
      if (error.code === "officer.off_duty") {
        this.queue = [];
        this.onOffDuty();
        return false;
      }
      if (error.status === 401) {
        this.onExpired();
        return false;
      }
      if (error.status === 0 || error.status === 429 || error.status >= 500) {
        this.update({ state: "offline" });
        return false;
      }
      // The server refused this fix itself (it says why in the log); the next one may well pass.
      this.queue.shift();
      return true;
    }
  }

  /** Where the phone is now, for "where" in actions and the start of a route; null before the first fix. */
  where() {
    return this.latest ? { lat: this.latest.lat, lon: this.latest.lon } : null;
  }
}
