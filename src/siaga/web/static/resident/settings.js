// Settings: the profile, the PINs, the language, leaving this phone, and deleting the account.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { ProfileForm } from "./profile.js";
import { PinsForm } from "./pins.js";
import { hasBackgroundSync } from "./delivery.js";
import { ErrorLine, LanguageSwitch, TopBar } from "./widgets.js";

/** Delete the account, after a second, explicit confirmation. The server refuses while an alert is active. */
function DeleteAccount({ token, onDeleted }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await api("/residents/me", { method: "DELETE", token });
      onDeleted();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return html`<section class="card stack delete-account">
    <h2>${t("resident.delete.title")}</h2>
    <p class="hint">${t("resident.delete.explain")}</p>
    ${asking
      ? html`<p role="alert"><strong>${t("resident.delete.confirm")}</strong></p>
          <button type="button" class="big danger" disabled=${busy} onClick=${remove}>${t("resident.delete.yes")}</button>
          <button type="button" class="big" disabled=${busy} onClick=${() => { setAsking(false); setError(null); }}>
            ${t("resident.delete.no")}
          </button>`
      : html`<button type="button" class="link danger-text" onClick=${() => setAsking(true)}>
          ${t("resident.delete.open")}
        </button>`}
    <${ErrorLine} error=${error} />
  </section>`;
}

export function SettingsScreen({ profile, token, onProfile, onPins, onBack, onLogout }) {
  return html`<div class="screen settings-screen">
    <${TopBar} onBack=${onBack} />
    <main class="content">
      ${profile?.phone && html`<p class="muted">${t("resident.settings.phone", { phone: profile.phone })}</p>`}
      <${ProfileForm} profile=${profile} token=${token} onSaved=${onProfile} />
      <${PinsForm} token=${token} hasPins=${Boolean(profile?.has_pins)} onSaved=${onPins} />
      <section class="card stack">
        <h2>${t("common.language")}</h2>
        <${LanguageSwitch} />
      </section>
      <section class="card stack">
        <h2>${t("resident.settings.delivery")}</h2>
        <p class="hint">
          ${hasBackgroundSync() ? t("resident.settings.background_sync") : t("resident.settings.no_background_sync")}
        </p>
      </section>
      <button type="button" class="big" onClick=${onLogout}>${t("common.logout")}</button>
      <${DeleteAccount} token=${token} onDeleted=${onLogout} />
    </main>
  </div>`;
}
