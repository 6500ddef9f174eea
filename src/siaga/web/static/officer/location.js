// Shares the phone's position while on duty, so dispatch can find the nearest unit.
// - watchPosition is silent while the phone stands still, so the newest fix is re-sent every few seconds as a sign
//   of life (a unit whose position goes stale drops out of recommendations).
// - Fixes wait in a queue and go out oldest first. While the officer stream is open they go over it, up to
//   STREAM_BATCH a message with a `seq` the server's positions_ack repeats: the session was checked once, when the
//   stream connected, so a position costs the server far less than an HTTP request. With the stream down they go
//   one per request to POST /officers/me/location.
// - A fix leaves the queue only when the server took it (an ack that accepted it, or a 202) or refused it (it says
//   why). A message whose ack never comes (the stream dropped, the server was slow) leaves its fixes queued: they are
//   sent again, over HTTP if need be, so a position may arrive twice but is never lost.
import { api } from "../js/api.js";

const SEND_EVERY_MS = 5000;
// About 40 minutes at one fix per 5 s; beyond that the oldest fixes matter least and are dropped.
const MAX_QUEUE = 500;
const MAX_SPEED_MPS = 100;
const STREAM_BATCH = 50; // fixes per stream message (the server takes up to 100)
const ACK_TIMEOUT_MS = 10_000;

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
   * @param {{token: string, link?: object | null, onStatus: (s: object) => void, onOffDuty: () => void,
   *   onExpired: () => void}} options `link` is the officer stream (DispatchFeed.positionLink()), if any.
   */
  constructor({ token, link = null, onStatus, onOffDuty, onExpired }) {
    this.token = token;
    this.link = link;
    this.onStatus = onStatus;
    this.onOffDuty = onOffDuty;
    this.onExpired = onExpired;
    this.seq = 0;
    this.waiting = null; // the stream message waiting for its ack: {seq, resolve, timer}
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
    // The phone knows it lost its network before the stream does: stop waiting for an ack that cannot come.
    this.offline = () => this.answer(null);
    window.addEventListener("online", this.online);
    window.addEventListener("offline", this.offline);
    this.unlisten = this.link?.listen((event) => this.onLink(event));
    batteryLevel().then((level) => (this.battery = level));
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.watch !== undefined) navigator.geolocation.clearWatch(this.watch);
    clearInterval(this.timer);
    window.removeEventListener("online", this.online);
    window.removeEventListener("offline", this.offline);
    this.unlisten?.();
    this.answer(null);
    this.queue = [];
  }

  /** The stream opened (send what waited), went down (no ack will come), or answered a message. */
  onLink(event) {
    if (event.type === "open") return this.flush();
    if (event.type === "down") return this.answer(null);
    // An ack without a seq answers a message the server could not read: only one is ever waiting.
    if (event.type === "positions_ack" && this.waiting && (event.seq === this.waiting.seq || event.seq === null)) {
      this.answer(event);
    }
  }

  answer(ack) {
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) {
      clearTimeout(waiting.timer);
      waiting.resolve(ack);
    }
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
        const viaStream = navigator.onLine !== false && this.link?.isOpen();
        const sent = viaStream ? await this.sendOverStream() : await this.sendFirst();
        if (!sent) return;
      }
    } finally {
      this.sending = false;
      if (!this.stopped) this.update({});
    }
  }

  /** Send the oldest queued fixes in one message on the stream and wait for the ack. False when sending must wait. */
  async sendOverStream() {
    const batch = this.queue.slice(0, STREAM_BATCH);
    const seq = ++this.seq;
    const acked = new Promise((resolve) => {
      this.waiting = { seq, resolve, timer: setTimeout(() => this.answer(null), ACK_TIMEOUT_MS) };
    });
    if (!this.link.send({ type: "positions", seq, points: batch })) this.answer(null);
    const ack = await acked;
    if (this.stopped) return false;
    // No answer (the stream dropped or the server is slow): the fixes are still queued; this time over HTTP.
    if (ack === null) return this.sendFirst();
    if (ack.refused === "officer.off_duty") {
      this.queue = [];
      this.onOffDuty();
      return false;
    }
    // A fix the server cannot read spoils its message: send one at a time over HTTP, where only that one is refused.
    if (ack.refused === "positions.invalid") return this.sendFirst();
    // Taken (or refused for a reason the next fixes share, e.g. no unit): out of the queue.
    const done = new Set(batch);
    this.queue = this.queue.filter((fix) => !done.has(fix));
    if (!ack.refused) this.update({ state: "sharing", sentAt: Date.now() });
    return true;
  }

  /** Send the oldest queued fix over HTTP. False when sending must wait (no network, or the server cannot take it). */
  async sendFirst() {
    const fix = this.queue[0];
    try {
      await api("/officers/me/location", { method: "POST", token: this.token, body: fix });
      this.drop(fix);
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
      this.drop(fix);
      return true;
    }
  }

  /** Out of the queue, by identity: the queue may have been trimmed at its head while the fix was on its way. */
  drop(fix) {
    const at = this.queue.indexOf(fix);
    if (at >= 0) this.queue.splice(at, 1);
  }

  /** Where the phone is now, for "where" in actions and the start of a route; null before the first fix. */
  where() {
    return this.latest ? { lat: this.latest.lat, lon: this.latest.lon } : null;
  }
}
