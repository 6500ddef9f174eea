// Timers and offer settings: the escalation timers each agency's new alerts run with (its own, or the server's),
// and where to change them.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { loadAgencies } from "./agencies.js";
import { go } from "./route.js";
import { Loading, useLoad } from "./view.js";

function Seconds({ own, server }) {
  if (own != null) return html`<strong>${t("admin.settings.seconds", { seconds: own })}</strong>`;
  if (server == null) return "—";
  return html`${t("admin.settings.seconds", { seconds: server })} <span class="muted">${t("admin.settings.from_server")}</span>`;
}

export function SettingsPage({ me, config }) {
  const agencies = useLoad(() => loadAgencies(me.token), [me.token]);
  const list = agencies.data || [];
  return html`
    <h2>${t("admin.tab.settings")}</h2>
    <section class="card">
      <h3>${t("admin.settings.timers")}</h3>
      <p class="hint">${t("admin.settings.timers_where")}</p>
      <${Loading} state=${agencies} />
      <div class="table-wrap">
        <table data-testid="timers">
          <thead><tr>
            <th>${t("admin.agencies.code")}</th><th>${t("admin.settings.t1")}</th><th>${t("admin.settings.t2")}</th>
            <th>${t("admin.settings.offers")}</th>
          </tr></thead>
          <tbody>
            ${list.map(
              (a) => html`<tr key=${a.id} data-agency=${a.code}>
                <td><code>${a.code}</code></td>
                <td><${Seconds} own=${a.ack_timeout_seconds} server=${config.ack_timeout_seconds} /></td>
                <td><${Seconds} own=${a.dispatch_timeout_seconds} server=${config.dispatch_timeout_seconds} /></td>
                <td>${a.direct_offers ? t("admin.settings.offers_on", { size: a.offer_size }) : t("admin.settings.offers_off")}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <button type="button" onClick=${() => go("agencies")}>${t("admin.tab.agencies")}</button>
    </section>
  `;
}
