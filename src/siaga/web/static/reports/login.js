// Log in to the reports: supervisors (their agency and those below it) and administrators (everything).
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "./view.js";

const ALLOWED = new Set(["admin", "supervisor"]);

export function Login({ onLogin }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    setBusy(true);
    setError("");
    try {
      const opened = await api("/auth/login", {
        method: "POST",
        body: { username: String(form.get("username")).trim(), password: String(form.get("password")) },
      });
      if (!ALLOWED.has(opened.role)) {
        // Not an account for this app: close the session rather than leave it open.
        await api("/auth/logout", { method: "POST", token: opened.access_token }).catch(() => null);
        setError(t("reports.login.not_allowed"));
        return;
      }
      const me = await api("/auth/me", { token: opened.access_token });
      onLogin({ token: opened.access_token, role: opened.role, name: me.name, agencyId: me.agency_id });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return html`<main class="reports narrow">
    <form class="card" onSubmit=${submit}>
      <h2>${t("reports.login.heading")}</h2>
      <label for="reports-username">${t("common.username")}</label>
      <input id="reports-username" name="username" autocomplete="username" autocapitalize="none" required />
      <label for="reports-password">${t("common.password")}</label>
      <input id="reports-password" name="password" type="password" autocomplete="current-password" required />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary" type="submit" disabled=${busy}>${t("common.login")}</button>
    </form>
  </main>`;
}
