// CSV downloads: the API wants the session token, so the file is fetched and handed to the browser as a blob,
// under the name the server gives it (report, period, agency, data).
import { html, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { authHeaders } from "../js/api.js";

function filenameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const match = header.match(/filename="([^"]+)"/);
  return match ? match[1] : fallback;
}

async function download(path, query, token) {
  const response = await fetch(`/api/v1/reports/${path}.csv?${new URLSearchParams(query)}`, {
    headers: { ...authHeaders(token), Accept: "text/csv" },
  });
  if (!response.ok) throw new Error(String(response.status));
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filenameOf(response, `siaga-${path}.csv`);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function CsvButton({ report, query, token }) {
  const [state, setState] = useState("idle");
  const run = async () => {
    setState("busy");
    try {
      await download(report, query, token);
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
