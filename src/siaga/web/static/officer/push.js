// Web Push, so an offer rings the phone even when the app is closed. The server decides whether push is on: it
// publishes its key in the web configuration (null means off).
import { html } from "../js/ui.js";
import { usePush } from "../js/push.js";
import { t } from "../js/i18n.js";

export function PushCard({ config, token }) {
  const { state, error, enable } = usePush(config, token);

  return html`<section class="card push" data-testid="push">
    <h2>${t("officer.push.heading")}</h2>
    <p class="push-${state}">${t(`officer.push.${state}`)}</p>
    ${state === "ask" &&
    html`<button type="button" class="primary wide" onClick=${enable}>${t("officer.push.enable")}</button>`}
    ${error && html`<p class="error">${error}</p>`}
  </section>`;
}
