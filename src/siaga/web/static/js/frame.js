// What the staff apps' frames share: the language select of their top bar, and the session of the logged-in
// person (log in, log out, a session the server no longer knows), re-rendered when the language changes.
import { html, useEffect, useState } from "./ui.js";
import { api } from "./api.js";
import { LANGUAGES, lang, setLang, t } from "./i18n.js";

export function LanguageSelect() {
  return html`<label class="lang">
    <span class="sr-only">${t("common.language")}</span>
    <select value=${lang()} onChange=${(event) => setLang(event.target.value)}>
      ${LANGUAGES.map((code) => html`<option value=${code}>${t(`common.lang.${code}`)}</option>`)}
    </select>
  </label>`;
}

/**
 * The logged-in staff member of one app, kept in `store` (see api.js `session`). `beforeLogout(me)` runs first on
 * logging out (the officer app goes off duty); a failure there or in the logout call does not keep anyone logged in.
 */
export function useStaffSession(store, { beforeLogout } = {}) {
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
  const expired = () => {
    store.clear();
    setMe(null);
  };
  const signOut = async () => {
    try {
      if (beforeLogout) await beforeLogout(me);
      await api("/auth/logout", { method: "POST", token: me.token });
    } catch {
      // The session may already be gone; logging out here is what matters.
    }
    expired();
  };
  return { me, signIn, signOut, expired };
}
