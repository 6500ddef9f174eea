// Timers and offer settings. The escalation timers are server settings with no API to read them, so the page says
// where they are set rather than showing numbers it cannot know.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { go } from "./route.js";

const TIMERS = [
  { key: "t1", variable: "SIAGA_ACK_TIMEOUT_SECONDS", fallback: 60 },
  { key: "t2", variable: "SIAGA_DISPATCH_TIMEOUT_SECONDS", fallback: 180 },
];

export function SettingsPage() {
  return html`
    <h2>${t("admin.tab.settings")}</h2>
    <section class="card">
      <h3>${t("admin.settings.timers")}</h3>
      <p class="hint">${t("admin.settings.read_only")}</p>
      <table data-testid="timers">
        <thead><tr>
          <th>${t("admin.settings.timer")}</th><th>${t("admin.settings.variable")}</th>
          <th>${t("admin.settings.default")}</th>
        </tr></thead>
        <tbody>
          ${TIMERS.map(
            (timer) => html`<tr key=${timer.key}>
              <td>${t(`admin.settings.${timer.key}`)}</td>
              <td><code>${timer.variable}</code></td>
              <td>${t("admin.settings.seconds", { seconds: timer.fallback })}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
    <section class="card">
      <h3>${t("admin.settings.offers")}</h3>
      <p>${t("admin.settings.offers_where")}</p>
      <button type="button" onClick=${() => go("agencies")}>${t("admin.tab.agencies")}</button>
    </section>
  `;
}
