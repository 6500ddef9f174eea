// Small pieces every resident screen shares: the top bar with the language switch, and errors in plain words.
import { html } from "../js/ui.js";
import { lang, setLang, t } from "../js/i18n.js";

// Error codes the resident can meet, each with its own sentence in the catalogue (resident.error.<code>).
const EXPLAINED = new Set([
  "network",
  "phone.invalid",
  "phone.not_mobile",
  "phone.region",
  "otp.wrong",
  "otp.used",
  "otp.expired",
  "otp.not_requested",
  "otp.attempts",
  "otp.cooldown",
  "otp.number_limit",
  "otp.client_limit",
  "nik.format",
  "nik.region",
  "nik.birth_date",
  "nik.serial",
  "resident.nik_taken",
  "resident.contact_is_self",
  "pin.wrong",
  "pin.locked",
  "pin.not_set",
  "pin.changed",
  "pin.current_required",
  "alert.closed",
]);

/** An API error as a sentence the resident understands, in their language. */
export function explain(error) {
  if (!error) return "";
  const code = error.code || "";
  if (code === "pin.wrong" && error.details?.attempts_left === undefined) return t("resident.error.pin.wrong_plain");
  if (EXPLAINED.has(code)) return t(`resident.error.${code}`, { left: error.details?.attempts_left ?? "" });
  if (error.status === 0) return t("common.error.network");
  return t("common.error.generic", { message: error.message || code });
}

export function ErrorLine({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${typeof error === "string" ? error : explain(error)}</p>`;
}

export function LanguageSwitch() {
  const other = lang() === "id" ? "en" : "id";
  return html`<button type="button" class="lang-switch" lang=${other} onClick=${() => setLang(other)}
    aria-label=${t("resident.switch_language")}>${t(`common.lang.${other}`)}</button>`;
}

export function TopBar({ onSettings, onBack }) {
  return html`<header class="topbar resident-topbar">
    ${onBack && html`<button type="button" onClick=${onBack} aria-label=${t("resident.back")}>←</button>`}
    <h1>${t("common.app_name")}</h1>
    <${LanguageSwitch} />
    ${onSettings && html`<button type="button" onClick=${onSettings}>${t("resident.settings.open")}</button>`}
  </header>`;
}

/** A call to the national emergency number: always offered, whatever Siaga's own state. */
export function Call112() {
  return html`<a class="call-112" href="tel:112">${t("resident.call_112")}</a>`;
}
