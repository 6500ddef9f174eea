// The officer app's frame: top bar (language, connection, log out) around the login form or the duty screen.
import { html } from "../js/ui.js";
import { api, session } from "../js/api.js";
import { t } from "../js/i18n.js";
import { LanguageSelect, useStaffSession } from "../js/frame.js";
import { Login } from "./login.js";
import { Home } from "./home.js";
import { dutyStore } from "./duty.js";

const store = session("officer");

export function App({ config }) {
  // Leaving while on duty would keep the unit "available" with nobody watching the phone: go off duty first.
  const goOffDuty = async (me) => {
    const duty = dutyStore(me.staffId);
    const wasOn = duty.get().on;
    duty.save({ ...duty.get(), on: false });
    if (!wasOn) return;
    try {
      await api("/officers/me/duty", { method: "DELETE", token: me.token });
    } catch (err) {
      // The unit is on an SOS: leaving hands it back only if the officer says so; otherwise the unit stays on it.
      if (err.code !== "officer.on_alert" || !window.confirm(t("officer.duty.on_alert"))) throw err;
      await api("/officers/me/duty", { method: "DELETE", token: me.token, query: { hand_back: true } });
    }
  };
  const { me, signIn, signOut, expired } = useStaffSession(store, { beforeLogout: goOffDuty });

  return html`
    <header class="topbar">
      <img src="/static/officer/icon.svg" alt="" width="32" height="32" />
      <h1>${t("officer.title")}</h1>
      <${LanguageSelect} />
      ${me && html`<button type="button" onClick=${signOut}>${t("common.logout")}</button>`}
    </header>
    <main class="officer">
      ${me
        ? html`<${Home} me=${me} config=${config} onExpired=${expired} />`
        : html`<${Login} onLogin=${signIn} />`}
    </main>
  `;
}
