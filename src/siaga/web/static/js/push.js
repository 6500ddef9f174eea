// Web Push for staff: the officer app (offers and assignments ring the phone) and the console (supervisors and
// operators hear of an escalation with the console closed). The server decides whether push is on: it publishes
// its key in the web configuration (null means off).
import { api } from "./api.js";
import { errorText } from "./errors.js";
import { useEffect, useState } from "./ui.js";

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(base64url.length / 4) * 4, "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

/** Subscribe this browser and register it for whoever is logged in on it (`path`: the app's registration route). */
export async function subscribePush(key, token, path = "/staff/me/push-subscription") {
  // /sw.js is served from the root so it controls every app; its push handler shows the notification.
  const registration = await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  const subscription =
    (await registration.pushManager.getSubscription()) ||
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }));
  await api(path, { method: "POST", token, body: subscription.toJSON() });
}

/** Where a key and this browser allow push: "off", "unsupported", "denied", "registering" (granted) or "ask". */
export function pushState(key) {
  if (!key) return "off";
  if (!pushSupported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  return Notification.permission === "granted" ? "registering" : "ask";
}

/** The push state of this browser for whoever is logged in (`token`), and `enable` to ask and subscribe: one path
 * for every app's push control. Permission given earlier renews the subscription for the person logged in now. */
export function usePush(config, token) {
  const key = config.vapid_public_key;
  const [state, setState] = useState(() => pushState(key));
  const [error, setError] = useState("");

  const enable = async () => {
    setError("");
    try {
      if ((await Notification.requestPermission()) !== "granted") return setState("denied");
      setState("registering");
      await subscribePush(key, token);
      setState("on");
    } catch (err) {
      setState("ask");
      setError(errorText(err));
    }
  };

  useEffect(() => {
    if (state === "registering") enable();
  }, [token]);

  return { state, error, enable };
}
