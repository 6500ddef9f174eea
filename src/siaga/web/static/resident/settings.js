// Settings: the profile, the PINs, the language, and leaving this phone.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { ProfileForm } from "./profile.js";
import { PinsForm } from "./pins.js";
import { hasBackgroundSync } from "./delivery.js";
import { LanguageSwitch, TopBar } from "./widgets.js";

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
    </main>
  </div>`;
}
