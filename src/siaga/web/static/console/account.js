// The signed-in staff member's own account, opened from the top bar: who they are, and their two-step login (the
// card the other staff apps show too). A dialog over the console: Escape or the close button leaves it, and no key
// pressed while it is open reaches the console's shortcuts (the queue behind it stays as it was).
import { html, useEffect } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { SecondFactorCard } from "../js/factor.js";

export function AccountDialog({ account, onClose }) {
  useEffect(() => {
    // Caught on the way down, before the shortcuts' listener: focus may be anywhere, even on nothing once a button
    // of the card went away.
    function onKey(event) {
      event.stopPropagation();
      if (event.key === "Escape") {
        event.preventDefault();
        onClose();
      }
    }
    document.addEventListener("keydown", onKey, true);
    return () => document.removeEventListener("keydown", onKey, true);
  }, [onClose]);
  return html`
    <div class="overlay" onClick=${onClose}>
      <div
        class="card account"
        role="dialog"
        aria-modal="true"
        aria-labelledby="account-title"
        data-testid="account"
        tabindex="-1"
        onClick=${(event) => event.stopPropagation()}
      >
        <h2 id="account-title">${t("console.account.title")}</h2>
        <dl class="facts compact">
          <dt>${t("console.account.username")}</dt>
          <dd>${account.username}</dd>
          <dt>${t("console.account.role")}</dt>
          <dd>${t(`console.role.${account.role}`)}</dd>
        </dl>
        <${SecondFactorCard} token=${account.token} idPrefix="console-factor" />
        <button type="button" class="primary" onClick=${onClose} autofocus>${t("common.close")}</button>
      </div>
    </div>
  `;
}
