// Turning a press into an outbox row: the id is made here, on the phone, so that however often the row is sent
// the server keeps one alert. The row is written before any network call.
import { api } from "../js/api.js";
import { addPress, allPresses, updatePress } from "./outbox.js";
import { freshFix, lastKnownFix, waitForFix } from "./location.js";

const LOCATE_WAIT_MS = 15000;

/** A random (version 4) UUID, also where crypto.randomUUID is missing (plain http on a local network). */
export function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function batteryLevel() {
  try {
    if (!navigator.getBattery) return null;
    const battery = await Promise.race([navigator.getBattery(), new Promise((r) => setTimeout(() => r(null), 300))]);
    return battery ? Math.round(battery.level * 100) : null;
  } catch {
    return null;
  }
}

/**
 * The body of a new press: its own id (or the one made when the hold ended), the time (or when its countdown
 * ended), the freshest position (or null for now), the battery.
 */
export async function newPress({ category, silent, id = null, pressedAt = null }) {
  const body = {
    id: id || newId(),
    category: category || "lainnya",
    silent: Boolean(silent),
    pressed_at: pressedAt || new Date().toISOString(),
    location: freshFix(),
  };
  const battery = await batteryLevel();
  if (battery !== null) body.battery = battery;
  return body;
}

/** Store a press in the outbox. Resolves with the row, durably written; delivery is the caller's next step. */
export function storePress(body, token) {
  return addPress({ body, token });
}

/** The last resort when the outbox cannot be written: a few direct attempts while the page stays open. */
export async function sendUnstored(body, token, attempts = 5) {
  const known = body.location || lastKnownFix();
  const ready = known ? { ...body, location: known } : body; // no fix at all: the server takes it without one
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    try {
      await api("/alerts", { method: "POST", body: ready, token });
      return true;
    } catch (error) {
      if (error.status >= 400 && error.status < 500 && error.status !== 429) return false;
      await new Promise((resolve) => setTimeout(resolve, 2000 * 2 ** attempt));
    }
  }
  return false;
}

/**
 * Give a press without a position one: a fix if one comes within 15 s, else the last one known (however old). With
 * neither, it goes without one: the server places it with the command centre, flagged "no location", and takes the
 * first point the phone sends. An SOS is never held back for want of a GPS.
 */
export async function locatePress(row) {
  if (row.body.location || row.located) return row;
  const fix = (await waitForFix(LOCATE_WAIT_MS)) || lastKnownFix();
  if (!fix) return updatePress(row.id, (current) => (current.body.location ? {} : { located: true }));
  const body = { ...row.body, location: fix };
  return updatePress(row.id, (current) => (current.body.location ? {} : { body, located: true }));
}

/** Presses stored without a position (the tab was closed while locating): locate them now. */
export async function locateWaiting() {
  const rows = (await allPresses()).filter((row) => row.state === "pending" && !row.body.location && !row.located);
  return Promise.all(rows.map(locatePress));
}
