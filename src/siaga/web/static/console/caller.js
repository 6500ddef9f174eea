// Who pressed: identity (the deterrent against pranks is that the caller is known), a call-back link, medical notes,
// and their history: earlier alerts and strikes.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { dateAndTime } from "./time.js";

export function CallerCard({ alert }) {
  const resident = alert.resident;
  return html`
    <section class="panel-block caller" aria-labelledby="caller-title">
      <h3 id="caller-title">${t("console.caller.title")}</h3>
      <dl class="facts">
        <dt>${t("console.caller.name")}</dt>
        <dd class="caller-name">${resident.name || t("console.caller.unnamed")}</dd>
        <dt>${t("console.caller.phone")}</dt>
        <dd>
          <a class="tel" href=${`tel:${resident.phone}`} data-action="call">${resident.phone}</a>
        </dd>
        <dt>${t("console.caller.nik")}</dt>
        <dd>${resident.nik || t("console.caller.nik_missing")}</dd>
        <dt>${t("console.caller.medical")}</dt>
        <dd class=${resident.medical_notes ? "medical" : "muted"}>
          ${resident.medical_notes || t("console.caller.none")}
        </dd>
        <dt>${t("console.caller.strikes")}</dt>
        <dd data-strikes=${resident.strikes}>
          ${resident.strikes}
          ${resident.suspended && html` <span class="flag flag-suspended">${t("console.flag.suspended")}</span>`}
        </dd>
      </dl>
    </section>
  `;
}

export function CallerHistory({ alert, history, moderation }) {
  const earlier = history.filter((item) => item.id !== alert.id);
  return html`
    <section class="panel-block history" aria-labelledby="history-title">
      <h3 id="history-title">${t("console.history.title")}</h3>
      ${earlier.length === 0
        ? html`<p class="muted">${t("console.history.none")}</p>`
        : html`
            <ul class="plain-list">
              ${earlier.map(
                (item) => html`
                  <li>
                    <span class="muted">${dateAndTime(item.created_at)}</span>
                    ${" "}${t(`common.category.${item.category}`)} ·
                    ${item.outcome ? t(`common.outcome.${item.outcome}`) : t(`common.state.${item.state}`)}
                  </li>
                `,
              )}
            </ul>
          `}
      ${moderation.length > 0 &&
      html`
        <h4>${t("console.history.moderation")}</h4>
        <ul class="plain-list">
          ${moderation.map(
            (record) => html`
              <li class=${`moderation-${record.kind}`}>
                <span class="muted">${dateAndTime(record.created_at)}</span>
                ${" "}<strong>${t(`console.moderation.${record.kind}`)}</strong>
                ${record.reason ? ` · ${record.reason}` : ""}
              </li>
            `,
          )}
        </ul>
      `}
    </section>
  `;
}
