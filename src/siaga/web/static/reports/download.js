// CSV downloads, under the name the server gives them (report, period, agency, data).
import { html, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { download } from "../js/api.js";

export function CsvButton({ report, query, token }) {
  const [state, setState] = useState("idle");
  const run = async () => {
    setState("busy");
    try {
      await download(`/reports/${report}.csv`, { token, query, accept: "text/csv", filename: `siaga-${report}.csv` });
      setState("idle");
    } catch {
      setState("failed");
    }
  };
  return html`<span class="csv">
    <button type="button" class="csv-button" onClick=${run} disabled=${state === "busy"}
      data-testid=${`csv-${report}`}>${t("reports.csv")}</button>
    ${state === "failed" && html`<span class="error" role="alert">${t("reports.csv_failed")}</span>`}
  </span>`;
}
