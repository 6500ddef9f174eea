// The signed-in administrator's or supervisor's own account: who they are, and their two-step login (the card the
// other staff apps show too).
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { SecondFactorCard } from "../js/factor.js";

export function AccountPage({ me }) {
  return html`
    <h2>${t("admin.tab.account")}</h2>
    <section class="card detail">
      <dl class="facts">
        <dt>${t("admin.account.name")}</dt>
        <dd>${me.name}</dd>
        <dt>${t("admin.account.role")}</dt>
        <dd>${t(`admin.role.${me.role}`)}</dd>
      </dl>
    </section>
    <${SecondFactorCard} token=${me.token} idPrefix="admin-factor" />
  `;
}
