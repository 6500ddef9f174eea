// The staff login of the console, admin, officer and reports apps: open a session, check that this account may use
// the app (closing the session at once if not), and say what went wrong in the user's language.
import { html, useState } from "./ui.js";
import { api } from "./api.js";
import { t } from "./i18n.js";
import { errorText } from "./errors.js";

/** The account logged in correctly but may not use this app; the message is already in the user's language. */
class LoginRefused extends Error {}

async function closeSession(token) {
  await api("/auth/logout", { method: "POST", token }).catch(() => null);
}

/**
 * Open a staff session for one app. Resolves with { opened, me }: the login answer and, with `profile`, /auth/me.
 * `refuse(opened, me)` returns why this account may not use the app, or "" if it may. A refused session is closed
 * rather than left open.
 */
export async function openStaffSession(username, password, { refuse, profile = false }) {
  const opened = await api("/auth/login", { method: "POST", body: { username, password } });
  const token = opened.access_token;
  let me = null;
  let reason;
  try {
    if (profile) me = await api("/auth/me", { token });
    reason = refuse(opened, me);
  } catch (error) {
    await closeSession(token);
    throw error;
  }
  if (reason) {
    await closeSession(token);
    throw new LoginRefused(reason);
  }
  return { opened, me };
}

function loginErrorText(error) {
  if (error instanceof LoginRefused) return error.message;
  return errorText(error);
}

/**
 * The login form. Element ids start with `idPrefix` (`<prefix>-username`, `<prefix>-password`, `<prefix>-title`).
 * `open(username, password)` resolves with the app's session, which goes to `onLoggedIn`. A `standalone` form is the
 * whole page (no top bar above it), so it carries the logo and the page's h1. `children` come last in the card.
 */
export function StaffLogin({
  idPrefix,
  heading,
  intro = "",
  notice = "",
  standalone = false,
  open,
  onLoggedIn,
  children,
}) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(notice);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      onLoggedIn(await open(username.trim(), password));
    } catch (caught) {
      setError(loginErrorText(caught));
    } finally {
      setBusy(false);
    }
  }

  const title = `${idPrefix}-title`;
  // Each app styles what it needs: the console the card and its full-width button, the officer app a wide button.
  return html`
    <form class="card login-card" onSubmit=${submit} aria-labelledby=${title}>
      ${standalone
        ? html`<div class="login-head">
            <img src="/static/img/siaga.svg" alt="" width="40" height="40" />
            <h1 id=${title}>${heading}</h1>
          </div>`
        : html`<h2 id=${title}>${heading}</h2>`}
      ${intro && html`<p class="muted">${intro}</p>`}
      <label for=${`${idPrefix}-username`}>${t("common.username")}</label>
      <input
        id=${`${idPrefix}-username`}
        name="username"
        autocomplete="username"
        autocapitalize="none"
        required
        value=${username}
        onInput=${(e) => setUsername(e.target.value)}
      />
      <label for=${`${idPrefix}-password`}>${t("common.password")}</label>
      <input
        id=${`${idPrefix}-password`}
        name="password"
        type="password"
        autocomplete="current-password"
        required
        value=${password}
        onInput=${(e) => setPassword(e.target.value)}
      />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary login-submit wide" type="submit" disabled=${busy}>
        ${busy ? t("common.loading") : t("common.login")}
      </button>
      ${children}
    </form>
  `;
}
