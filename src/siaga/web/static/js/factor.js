// Two-step login from inside a staff app (the officer app's home, the console's and the admin app's own account), for
// every staff role (administrators and supervisors must also enrol at login where a deployment requires it; the card
// then shows it on): whether it is on, and turning it on: a secret and QR code for an authenticator app, a code from
// that app to confirm, then the recovery codes, shown this once. From then on each login asks for the app's code. `token` is the app's session (a bearer token or its cookie's name).
import { html, useEffect, useState } from "./ui.js";
import { api } from "./api.js";
import { t } from "./i18n.js";
import { errorText } from "./errors.js";
import { QrCode } from "./login.js";

export function SecondFactorCard({ token, idPrefix = "factor" }) {
  const [enrolled, setEnrolled] = useState(null); // null: not known yet
  const [setup, setSetup] = useState(null);
  const [codes, setCodes] = useState(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api("/auth/me", { token })
      .then((me) => setEnrolled(Boolean(me.second_factor)))
      .catch(() => null);
  }, [token]);

  async function begin() {
    setBusy(true);
    setError("");
    try {
      setSetup(await api("/auth/factor", { method: "POST", token }));
    } catch (caught) {
      if (caught.code === "auth.factor_enrolled") setEnrolled(true);
      else setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }

  async function confirm(event) {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      const answer = await api("/auth/factor/confirm", { method: "POST", token, body: { code: code.trim() } });
      setCodes(answer.recovery_codes);
      setSetup(null);
      setEnrolled(true);
    } catch (caught) {
      setError(errorText(caught));
      setCode("");
    } finally {
      setBusy(false);
    }
  }

  function cancel() {
    setSetup(null);
    setCode("");
    setError("");
  }

  if (enrolled === null) return null;
  const title = `${idPrefix}-heading`;
  return html`<section class="card factor" aria-labelledby=${title} data-testid="second-factor">
    <h2 id=${title}>${t("common.factor.heading")}</h2>
    ${codes &&
    html`<h3>${t("common.login.recovery_title")}</h3>
      <p class="muted">${t("common.login.recovery_intro")}</p>
      <ol class="recovery-codes" id=${`${idPrefix}-recovery-codes`}>
        ${codes.map((c) => html`<li><code>${c}</code></li>`)}
      </ol>
      <button type="button" class="primary wide" onClick=${() => setCodes(null)}>
        ${t("common.login.recovery_done")}
      </button>`}
    ${!codes && enrolled && html`<p class="factor-on">${t("common.factor.on")}</p>`}
    ${!codes && !enrolled && !setup && html`<p class="muted">${t("common.factor.off")}</p>`}
    ${!codes &&
    !enrolled &&
    !setup &&
    html`<button type="button" class="primary wide" disabled=${busy} onClick=${begin}>
      ${t("common.factor.enable")}
    </button>`}
    ${setup &&
    html`<form class="stack" onSubmit=${confirm}>
      <p class="muted">${t("common.factor.intro")}</p>
      <${QrCode} svg=${setup.qr_svg} />
      <p class="muted">${t("common.login.enrol_secret")}</p>
      <p><code class="totp-secret" id=${`${idPrefix}-secret`}>${setup.secret}</code></p>
      <label for=${`${idPrefix}-code`}>${t("common.login.code_label")}</label>
      <input id=${`${idPrefix}-code`} name="code" autocomplete="one-time-code" inputmode="numeric" required
        value=${code} onInput=${(e) => setCode(e.target.value)} />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" class="primary wide" disabled=${busy}>${t("common.factor.confirm")}</button>
      <button type="button" onClick=${cancel}>${t("common.cancel")}</button>
    </form>`}
    ${!setup && error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}
