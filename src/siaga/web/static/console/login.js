// The staff login. Only command-centre roles may use the console; officers have their own app.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { LanguageSwitch } from "./language.js";

const CONSOLE_ROLES = new Set(["operator", "supervisor", "admin"]);

function loginError(error) {
  if (error.status === 401) return t("console.login.bad_credentials");
  if (error.status === 429) return t("console.login.throttled");
  if (error.status === 0) return t("common.error.network");
  return t("common.error.generic", { message: error.message });
}

export function Login({ onLoggedIn, notice }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(notice || "");
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      const answer = await api("/auth/login", { method: "POST", body: { username, password } });
      if (!CONSOLE_ROLES.has(answer.role)) {
        setError(t("console.login.wrong_role"));
        return;
      }
      onLoggedIn({
        token: answer.access_token,
        expires_at: answer.expires_at,
        role: answer.role,
        staff_id: answer.staff_id,
        agency_id: answer.agency_id,
        username,
      });
    } catch (caught) {
      setError(loginError(caught));
    } finally {
      setBusy(false);
    }
  }

  return html`
    <main class="login">
      <form class="card login-card" onSubmit=${submit} aria-labelledby="login-title">
        <div class="login-head">
          <img src="/static/img/siaga.svg" alt="" width="40" height="40" />
          <h1 id="login-title">${t("console.login.title")}</h1>
        </div>
        <p class="muted">${t("console.login.intro")}</p>
        <label for="login-username">${t("common.username")}</label>
        <input
          id="login-username"
          name="username"
          autocomplete="username"
          autocapitalize="none"
          required
          value=${username}
          onInput=${(e) => setUsername(e.target.value)}
        />
        <label for="login-password">${t("common.password")}</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value=${password}
          onInput=${(e) => setPassword(e.target.value)}
        />
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button class="primary login-submit" type="submit" disabled=${busy}>
          ${busy ? t("common.loading") : t("common.login")}
        </button>
        <${LanguageSwitch} />
      </form>
    </main>
  `;
}
