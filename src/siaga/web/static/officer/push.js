// Web Push, so an offer rings the phone even when the app is closed. The server decides whether push is on: it
// publishes its key in the web configuration (null means off).
import { html, useEffect, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(base64url.length / 4) * 4, "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function supported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

async function subscribe(key, token) {
  // /sw.js is served from the root so it controls /officer too; its push handler shows the notification.
  const registration = await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  const subscription =
    (await registration.pushManager.getSubscription()) ||
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }));
  await api("/officers/me/push-subscription", { method: "POST", token, body: subscription.toJSON() });
}

function initialState(key) {
  if (!key) return "off";
  if (!supported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  return Notification.permission === "granted" ? "registering" : "ask";
}

export function PushCard({ config, token }) {
  const key = config.vapid_public_key;
  const [state, setState] = useState(() => initialState(key));
  const [error, setError] = useState("");

  const enable = async () => {
    setError("");
    try {
      if ((await Notification.requestPermission()) !== "granted") return setState("denied");
      setState("registering");
      await subscribe(key, token);
      setState("on");
    } catch (err) {
      setState("ask");
      setError(errorText(err));
    }
  };

  useEffect(() => {
    // Permission given earlier: renew the subscription for whoever is logged in on this phone now.
    if (state === "registering") enable();
  }, [token]);

  return html`<section class="card push" data-testid="push">
    <h2>${t("officer.push.heading")}</h2>
    <p class="push-${state}">${t(`officer.push.${state}`)}</p>
    ${state === "ask" &&
    html`<button type="button" class="primary wide" onClick=${enable}>${t("officer.push.enable")}</button>`}
    ${error && html`<p class="error">${error}</p>`}
  </section>`;
}
