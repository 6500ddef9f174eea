// When the page tries the outbox again: at once after a press, at app start, when the phone comes back online or
// to the foreground, and on a timer that backs off (1 s, 2 s, 4 s ... capped at 30 s) while anything waits.
// Where the browser has Background Sync, the service worker is also asked to deliver once the network is back,
// even if every tab was closed meanwhile (see /sw.js).
import { deliverAll } from "./outbox.js";

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
export const SYNC_TAG = "siaga-outbox";

let timer = null;
let failures = 0;
let running = null;
let again = false;
const listeners = [];

function schedule() {
  clearTimeout(timer);
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** failures);
  // A little jitter, so a whole neighbourhood coming back online does not retry in step.
  timer = setTimeout(() => kick(), base * (0.8 + Math.random() * 0.4));
}

/** Deliver now (or right after the delivery already running). */
export async function kick() {
  if (running) {
    again = true;
    return running;
  }
  clearTimeout(timer);
  running = (async () => {
    let result = null;
    try {
      result = await deliverAll();
    } catch (error) {
      // IndexedDB itself failed (private mode, disk full): keep trying; the screen still says "sending".
      console.warn("outbox delivery failed", error);
      result = { pending: 1, pointsLeft: 0 };
    }
    listeners.forEach((listener) => listener(result));
    if (result.pending || result.pointsLeft) {
      failures += 1;
      schedule();
    } else {
      failures = 0;
    }
    return result;
  })();
  try {
    return await running;
  } finally {
    running = null;
    if (again) {
      again = false;
      kick();
    }
  }
}

/** Ask the service worker to deliver when the network returns, where Background Sync exists. */
export async function requestBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.ready;
    if (registration && "sync" in registration) await registration.sync.register(SYNC_TAG);
  } catch {
    // Not supported or not allowed (a permission the browser may withhold): the page's own retries and the next
    // app start still deliver.
  }
}

export function hasBackgroundSync() {
  return typeof ServiceWorkerRegistration !== "undefined" && "sync" in ServiceWorkerRegistration.prototype;
}

/** Start the page's retries. `onResult` hears the outcome of every delivery round. */
export function startDelivery(onResult) {
  if (onResult) listeners.push(onResult);
  window.addEventListener("online", () => {
    failures = 0; // the network is back: no reason to wait
    kick();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") kick();
  });
  kick();
}
