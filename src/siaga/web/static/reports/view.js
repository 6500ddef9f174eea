// The server's errors in the reader's language: its message says what is wrong, its problems say where.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";

export function errorText(error) {
  if (!error) return "";
  if (error.code === "network") return t("common.error.network");
  if (error.code === "auth.bad_credentials") return t("reports.error.bad_credentials");
  if (error.code === "report.range") return t("reports.error.range");
  if (error.code === "report.range_too_long") return t("reports.error.range_too_long");
  return t("common.error.generic", { message: error.message });
}

export function Problem({ error }) {
  if (!error) return null;
  return html`<div class="error card" role="alert" data-testid="error"><p>${errorText(error)}</p></div>`;
}
