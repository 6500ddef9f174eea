// Officer login: only officers who belong to a unit can use this app (offers and duty are per unit).
import { html, useState } from "../js/ui.js";
import { api, ApiError } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "./errors.js";

async function officerSession(username, password) {
  const opened = await api("/auth/login", { method: "POST", body: { username, password } });
  const token = opened.access_token;
  const me = await api("/auth/me", { token });
  if (opened.role !== "officer" || me.unit_id === null) {
    // Close the session we just opened: it is of no use here and should not linger.
    await api("/auth/logout", { method: "POST", token }).catch(() => null);
    const code = opened.role !== "officer" ? "officer.not_officer" : "officer.no_unit";
    throw new ApiError(403, code, code);
  }
  return { token, name: me.name, staffId: me.staff_id, unitId: me.unit_id, expiresAt: opened.expires_at };
}

export function Login({ onLogin }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      onLogin(await officerSession(username.trim(), password));
    } catch (err) {
      setError(err.code === "officer.not_officer" ? t("officer.login.not_officer") : errorText(err));
      setBusy(false);
    }
  };

  return html`
    <form class="card login" onSubmit=${submit}>
      <h2>${t("officer.login.heading")}</h2>
      <label for="officer-username">${t("common.username")}</label>
      <input id="officer-username" name="username" autocomplete="username" autocapitalize="none" required
        value=${username} onInput=${(e) => setUsername(e.target.value)} />
      <label for="officer-password">${t("common.password")}</label>
      <input id="officer-password" name="password" type="password" autocomplete="current-password" required
        value=${password} onInput=${(e) => setPassword(e.target.value)} />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary wide" type="submit" disabled=${busy}>${t("common.login")}</button>
    </form>
  `;
}
