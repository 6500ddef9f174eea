// The staff login of the console, admin, officer and reports apps: open a session (password, then the second
// factor's code, or its enrolment where the role requires one), check that this account may use the app (closing the
// session at once if not), and say what went wrong in the user's language.
import { html, useEffect, useState } from "./ui.js";
import { api, cookieSession } from "./api.js";
import { appName, t } from "./i18n.js";
import { errorText } from "./errors.js";

/** The account logged in correctly but may not use this app; the message is already in the user's language. */
class LoginRefused extends Error {}

/** The person left the code step or the enrolment; nothing to show. */
class LoginCancelled extends Error {}

// A login on a stalled network (the request sent, no answer) gives up after this long and says there is no
// connection, so the form can be tried again instead of showing "Memuat…" for ever.
const LOGIN_WAIT_MS = 15_000;

function patience() {
  return AbortSignal.timeout ? AbortSignal.timeout(LOGIN_WAIT_MS) : undefined;
}

async function closeSession(token) {
  await api("/auth/logout", { method: "POST", token }).catch(() => null);
}

// The mounted login form's way of asking for the login's next step (its code, or an enrolment): given the login's
// answer, it resolves with the whole session. One login form is on a page at a time.
let askNextStep = null;

/** The login's answer as the app keeps it: a session in the app's cookie is known by `cookieSession`. */
function kept(opened) {
  return opened.access_token ? opened : { ...opened, access_token: cookieSession(appName()) };
}

/**
 * Open a staff session for one app. Resolves with { opened, me }: the login answer and, with `profile`, /auth/me.
 * `refuse(opened, me)` returns why this account may not use the app, or "" if it may. A refused session is closed
 * rather than left open. With `cookie` (the default), the session's token is an HttpOnly cookie the page cannot read
 * (the officer app, whose offline outbox sends its own requests, keeps a token).
 */
export async function openStaffSession(username, password, { refuse, profile = false, cookie = true }) {
  // The app asks for its whole session as its own HttpOnly cookie, not as a token in the answer.
  const headers = cookie ? { "X-Siaga-Session": appName() } : {};
  let opened = await api("/auth/login", { method: "POST", body: { username, password }, headers, signal: patience() });
  if (opened.login_step) {
    if (!askNextStep) throw new LoginRefused(t("common.error.auth.login_step"));
    opened = await askNextStep({ ...opened, headers });
  }
  opened = kept(opened);
  const token = opened.access_token;
  let me = null;
  let reason;
  try {
    if (profile) me = await api("/auth/me", { token, signal: patience() });
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
  if (error instanceof LoginCancelled) return "";
  if (error instanceof LoginRefused) return error.message;
  return errorText(error);
}

/** The QR code the server drew (segno's SVG: one path), rebuilt as elements: nothing from the server is parsed as
 * markup into the page. */
export function QrCode({ svg }) {
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
  const root = doc.documentElement;
  const path = doc.querySelector("path");
  if (!path) return null;
  const width = root.getAttribute("width");
  const height = root.getAttribute("height");
  return html`<svg class="totp-qr" xmlns="http://www.w3.org/2000/svg" width=${width} height=${height}
    viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${t("common.login.qr")}>
    <rect width=${width} height=${height} fill="#fff" />
    <path transform=${path.getAttribute("transform") || ""} stroke="#000" d=${path.getAttribute("d") || ""} />
  </svg>`;
}

/** The second step of a login: the authenticator's code (or a recovery code), or enrolling a factor first. */
function NextStep({ idPrefix, step, onDone, onCancel }) {
  const [code, setCode] = useState("");
  const [setup, setSetup] = useState(null);
  const [enrolled, setEnrolled] = useState(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const enrolling = step.login_step === "enrol";

  useEffect(() => {
    if (!enrolling) return;
    api("/auth/factor", { method: "POST", token: step.access_token })
      .then(setSetup)
      .catch((caught) => setError(errorText(caught)));
  }, [step]);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      const body = { code: code.trim() };
      const request = { method: "POST", token: step.access_token, body, headers: step.headers };
      if (enrolling) {
        setEnrolled(await api("/auth/factor/confirm", request));
      } else {
        onDone(await api("/auth/code", request));
      }
    } catch (caught) {
      setError(errorText(caught));
      setCode("");
    } finally {
      setBusy(false);
    }
  }

  const title = `${idPrefix}-step-title`;
  if (enrolled) {
    return html`<div class="login-step" aria-labelledby=${title}>
      <h2 id=${title}>${t("common.login.recovery_title")}</h2>
      <p class="muted">${t("common.login.recovery_intro")}</p>
      <ol class="recovery-codes" id=${`${idPrefix}-recovery-codes`}>
        ${enrolled.recovery_codes.map((c) => html`<li><code>${c}</code></li>`)}
      </ol>
      <button class="primary login-submit wide" type="button" onClick=${() => onDone(enrolled.session)}>
        ${t("common.login.recovery_done")}
      </button>
    </div>`;
  }
  return html`<form class="login-step" onSubmit=${submit} aria-labelledby=${title}>
    <h2 id=${title}>${enrolling ? t("common.login.enrol_title") : t("common.login.code_title")}</h2>
    <p class="muted">${enrolling ? t("common.login.enrol_intro") : t("common.login.code_intro")}</p>
    ${enrolling &&
    setup &&
    html`<${QrCode} svg=${setup.qr_svg} />
      <p class="muted">${t("common.login.enrol_secret")}</p>
      <p><code class="totp-secret" id=${`${idPrefix}-secret`}>${setup.secret}</code></p>`}
    <label for=${`${idPrefix}-code`}>${t("common.login.code_label")}</label>
    <input
      id=${`${idPrefix}-code`}
      name="code"
      autocomplete="one-time-code"
      autocapitalize="none"
      inputmode=${enrolling ? "numeric" : "text"}
      required
      value=${code}
      onInput=${(e) => setCode(e.target.value)}
    />
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <button class="primary login-submit wide" type="submit" disabled=${busy || (enrolling && !setup)}>
      ${busy ? t("common.loading") : t("common.login.verify")}
    </button>
    <button class="login-cancel" type="button" onClick=${onCancel}>${t("common.cancel")}</button>
  </form>`;
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
  // The login's second step, while it is asked for: the login's answer, and how to go on from it.
  const [step, setStep] = useState(null);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    askNextStep = (opened) => new Promise((resolve, reject) => setStep({ opened, resolve, reject }));
    try {
      onLoggedIn(await open(username.trim(), password));
    } catch (caught) {
      setError(loginErrorText(caught));
      setPassword("");
    } finally {
      askNextStep = null;
      setStep(null);
      setBusy(false);
    }
  }

  function cancelStep() {
    closeSession(step.opened.access_token);
    step.reject(new LoginCancelled());
  }

  const title = `${idPrefix}-title`;
  const head = standalone
    ? html`<div class="login-head">
        <img src="/static/img/siaga.svg" alt="" width="40" height="40" />
        <h1 id=${title}>${heading}</h1>
      </div>`
    : html`<h2 id=${title}>${heading}</h2>`;
  if (step) {
    return html`<div class="card login-card">
      ${head}
      <${NextStep} idPrefix=${idPrefix} step=${step.opened} onDone=${step.resolve} onCancel=${cancelStep} />
      ${children}
    </div>`;
  }
  // Each app styles what it needs: the console the card and its full-width button, the officer app a wide button.
  return html`
    <form class="card login-card" onSubmit=${submit} aria-labelledby=${title}>
      ${head}
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
