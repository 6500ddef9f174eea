// Web Push, so an offer rings the phone even when the app is closed. The server decides whether push is on: it
// publishes its key in the web configuration (null means off).
import { html, useEffect, useState } from "../js/ui.js";
import { pushState, subscribePush } from "../js/push.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";

export function PushCard({ config, token }) {
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
