// Small pieces every resident screen shares: the top bar with the language switch, and errors in plain words.
import { html } from "../js/ui.js";
import { lang, setLang, t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";

export function ErrorLine({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${errorText(error)}</p>`;
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
