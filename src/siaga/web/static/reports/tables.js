// The response times per agency over the whole period: how many alerts reached each step, and p50 / p90.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { count, duration } from "./format.js";

const STEPS = ["acknowledge", "dispatch", "arrive", "resolve"];

export function ResponseTable({ rows }) {
  return html`<div class="table-wrap">
    <table data-testid="response-table">
      <thead>
        <tr>
          <th>${t("reports.agency")}</th>
          <th class="num">${t("reports.alerts")}</th>
          ${STEPS.map((step) => html`<th class="num">${t(`reports.step.${step}`)}<br /><span class="muted">p50 / p90 (n)</span></th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) => html`<tr class=${r.agency_code === "all" ? "total" : ""} data-agency=${r.agency_code}>
            <td>${r.agency_code === "all" ? t("reports.all_agencies") : r.agency_name}</td>
            <td class="num">${count(r.alerts)}</td>
            ${STEPS.map(
              (step) => html`<td class="num">${duration(r[`${step}_p50_s`])} / ${duration(r[`${step}_p90_s`])}
                <span class="muted">(${count(r[`${step}_n`])})</span></td>`,
            )}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
