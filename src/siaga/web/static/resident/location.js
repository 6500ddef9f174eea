// The phone's position: one fix for the press itself, then a watch that keeps sending while an alert is active.
// Points go to the outbox first (IndexedDB), so a stretch without signal is sent as one batch afterwards.
import { addPoint } from "./outbox.js";

const LAST_FIX_KEY = "siaga.resident.lastFix";
const FRESH_MS = 60000; // a fix younger than this is good enough for a press
const MIN_INTERVAL_MS = 5000; // at most one trail point per 5 s: enough for a moving person, light on battery

let lastFix = readSavedFix();
let watchId = null;
let tracked = [];
let lastPointAt = 0;
let onPoint = () => {};

function readSavedFix() {
  try {
    return JSON.parse(localStorage.getItem(LAST_FIX_KEY) || "null");
  } catch {
    return null;
  }
}

function toFix(position) {
  const { latitude, longitude, accuracy } = position.coords;
  return {
    lat: latitude,
    lon: longitude,
    accuracy_m: Number.isFinite(accuracy) ? Math.min(accuracy, 100000) : null,
    recorded_at: new Date(position.timestamp || Date.now()).toISOString(),
  };
}

function remember(fix) {
  lastFix = fix;
  try {
    localStorage.setItem(LAST_FIX_KEY, JSON.stringify(fix));
  } catch {
    // Storage full: the fix is still in memory.
  }
}

function age(fix) {
  return fix ? Date.now() - Date.parse(fix.recorded_at) : Infinity;
}

export function supported() {
  return "geolocation" in navigator;
}

/** Ask for a fresh fix now (while the button is held), so the press does not wait for the GPS. */
export function warmUp() {
  if (!supported() || age(lastFix) < 10000) return;
  navigator.geolocation.getCurrentPosition((p) => remember(toFix(p)), () => {}, {
    enableHighAccuracy: true,
    maximumAge: 10000,
    timeout: 20000,
  });
}

/** A fix recent enough for the press, or null. */
export function freshFix() {
  return age(lastFix) < FRESH_MS ? lastFix : null;
}

/** The best position known, however old (null if the phone never had one). */
export function lastKnownFix() {
  return lastFix;
}

/** Wait up to `ms` for a fix. Resolves with it, or null. */
export function waitForFix(ms) {
  return new Promise((resolve) => {
    if (!supported()) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => {
        const fix = toFix(p);
        remember(fix);
        resolve(fix);
      },
      () => resolve(null),
      { enableHighAccuracy: true, maximumAge: FRESH_MS, timeout: ms },
    );
  });
}

let held = null; // a fix measured too soon after the last point, sent when the interval is over

async function record(fix) {
  remember(fix);
  if (!tracked.length) return;
  const wait = lastPointAt + MIN_INTERVAL_MS - Date.now();
  if (wait > 0) {
    // Not dropped: the watch may stay silent for a long time if the person then stands still.
    if (!held) {
      setTimeout(() => {
        const latest = held;
        held = null;
        if (latest) record(latest);
      }, wait + 20);
    }
    held = fix;
    return;
  }
  held = null;
  lastPointAt = Date.now();
  for (const alertId of tracked) await addPoint(alertId, fix);
  onPoint();
}

/**
 * Share the position of these alerts (ids) until the list is empty. The watch runs only while there is something
 * to share: the position is never sent when no alert is active.
 */
export function track(alertIds, { whenPoint } = {}) {
  if (whenPoint) onPoint = whenPoint;
  const before = tracked.join();
  tracked = [...alertIds];
  if (!supported()) return;
  if (tracked.length && watchId === null) {
    watchId = navigator.geolocation.watchPosition(
      (p) => record(toFix(p)),
      () => {}, // no fix now; the watch keeps trying and the last one sent still stands
      { enableHighAccuracy: true, maximumAge: 5000 },
    );
  } else if (!tracked.length && watchId !== null) {
    navigator.geolocation.clearWatch(watchId);
    watchId = null;
  }
  if (tracked.join() !== before) lastPointAt = 0; // a newly tracked alert gets the next fix at once
}

/**
 * Queue the last fix once more for an alert, e.g. right after a cancel: the server takes it while the alert is
 * still active for staff (a duress PIN) and refuses it once the alert is really closed, which ends the sharing.
 */
export async function probe(alertId) {
  if (!lastFix) return;
  await addPoint(alertId, lastFix);
  onPoint();
}
