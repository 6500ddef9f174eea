// Registration: a verified phone number is the resident's identity (it is what makes a prank traceable), so the
// app starts with the number and the one-time code sent to it by SMS.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { ErrorLine, TopBar } from "./widgets.js";

function PhoneStep({ onSent }) {
  const [phone, setPhone] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api("/residents/code", { method: "POST", body: { phone: phone.trim() } });
      onSent(phone.trim(), answer.phone, answer.expires_in);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  return html`<form class="card stack" onSubmit=${submit}>
    <h2>${t("resident.register.title")}</h2>
    <p class="muted">${t("resident.register.why")}</p>
    <label for="phone">${t("resident.register.phone")}</label>
    <input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" required
      placeholder=${t("resident.register.phone_placeholder")} value=${phone}
      onInput=${(e) => setPhone(e.target.value)} />
    <${ErrorLine} error=${error} />
    <button class="primary big" type="submit" disabled=${busy || !phone.trim()}>
      ${busy ? t("common.loading") : t("resident.register.send_code")}
    </button>
  </form>`;
}

function CodeStep({ phone, e164, onVerified, onBack }) {
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api("/residents/verify", { method: "POST", body: { phone, code: code.trim() } });
      onVerified({
        token: answer.access_token,
        expires_at: answer.expires_at,
        resident_id: answer.resident_id,
        phone: e164,
        is_new: answer.is_new,
        sms_key: answer.sms_key,
      });
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }
  return html`<form class="card stack" onSubmit=${submit}>
    <h2>${t("resident.register.code_title")}</h2>
    <p class="muted">${t("resident.register.code_sent", { phone: e164 })}</p>
    <label for="code">${t("resident.register.code")}</label>
    <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6"
      required value=${code} onInput=${(e) => setCode(e.target.value.replace(/\D/g, ""))} />
    <${ErrorLine} error=${error} />
    <button class="primary big" type="submit" disabled=${busy || code.length !== 6}>
      ${busy ? t("common.loading") : t("resident.register.verify")}
    </button>
    <button type="button" class="link" onClick=${onBack}>${t("resident.register.other_number")}</button>
  </form>`;
}

// The code step survives a reload (or the browser dropping the tab while the resident reads the SMS) for as long
// as the code is valid.
const CODE_KEY = "siaga.resident.code_sent";

function codeStillValid() {
  try {
    const sent = JSON.parse(localStorage.getItem(CODE_KEY) || "null");
    return sent && typeof sent.until === "number" && sent.until > Date.now() ? sent : null;
  } catch {
    return null;
  }
}

/** The number, then the code; `onSession` receives the new session. */
export function RegisterScreen({ onSession }) {
  const [sent, setSent] = useState(codeStillValid);
  function remember(next) {
    if (next) localStorage.setItem(CODE_KEY, JSON.stringify(next));
    else localStorage.removeItem(CODE_KEY);
    setSent(next);
  }
  return html`<div class="screen">
    <${TopBar} />
    <main class="content">
      ${sent
        ? html`<${CodeStep} phone=${sent.phone} e164=${sent.e164}
            onVerified=${(session) => {
              localStorage.removeItem(CODE_KEY);
              onSession(session);
            }}
            onBack=${() => remember(null)} />`
        : html`<${PhoneStep}
            onSent=${(phone, e164, seconds) => remember({ phone, e164, until: Date.now() + (seconds || 300) * 1000 })} />`}
    </main>
  </div>`;
}
