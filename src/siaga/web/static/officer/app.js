// The officer app's frame: top bar (language, connection, log out) around the login form or the duty screen.
import { html, useEffect, useState } from "../js/ui.js";
import { api, session } from "../js/api.js";
import { LANGUAGES, lang, setLang, t } from "../js/i18n.js";
import { Login } from "./login.js";
import { Home } from "./home.js";
import { dutyStore } from "./duty.js";

const store = session("officer");

function LanguageSwitch() {
  return html`<label class="lang">
    <span class="sr-only">${t("common.language")}</span>
    <select value=${lang()} onChange=${(event) => setLang(event.target.value)}>
      ${LANGUAGES.map((code) => html`<option value=${code}>${t(`common.lang.${code}`)}</option>`)}
    </select>
  </label>`;
}

export function App({ config }) {
  const [me, setMe] = useState(store.get());
  const [, setRevision] = useState(0);

  useEffect(() => {
    // A language switch reloads the catalogue; re-render everything with the new strings.
    const rerender = () => setRevision((n) => n + 1);
    window.addEventListener("siaga:lang", rerender);
    return () => window.removeEventListener("siaga:lang", rerender);
  }, []);

  const signIn = (who) => {
    store.save(who);
    setMe(who);
  };
  const signOut = async () => {
    // Leaving while on duty would keep the unit "available" with nobody watching the phone: go off duty first.
    const duty = dutyStore(me.staffId);
    try {
      if (duty.get().on) await api("/officers/me/duty", { method: "DELETE", token: me.token });
      await api("/auth/logout", { method: "POST", token: me.token });
    } catch {
      // The session may already be gone; logging out locally is what matters here.
    }
    duty.save({ ...duty.get(), on: false });
    store.clear();
    setMe(null);
  };
  const expired = () => {
    store.clear();
    setMe(null);
  };

  return html`
    <header class="topbar">
      <img src="/static/officer/icon.svg" alt="" width="32" height="32" />
      <h1>${t("officer.title")}</h1>
      <${LanguageSwitch} />
      ${me && html`<button type="button" onClick=${signOut}>${t("common.logout")}</button>`}
    </header>
    <main class="officer">
      ${me
        ? html`<${Home} me=${me} config=${config} onExpired=${expired} />`
        : html`<${Login} onLogin=${signIn} />`}
    </main>
  `;
}
