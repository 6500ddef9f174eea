// Two PINs: the cancel PIN stops a mistaken SOS; the duress PIN, typed when someone forces the resident to cancel,
// shows exactly the same "cancelled" screen while the command centre is told the person is in danger.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { ErrorLine } from "./widgets.js";

const PIN = /^[0-9]{4,8}$/;

function PinInput({ id, label, value, onInput }) {
  return html`<label for=${id}>${label}</label>
    <input id=${id} type="password" inputmode="numeric" autocomplete="off" maxlength="8" value=${value}
      onInput=${(e) => onInput(e.target.value.replace(/\D/g, ""))} />`;
}

/** Set (or change) both PINs; `onSaved` is called once the server stored them. */
export function PinsForm({ token, hasPins, onSaved, submitLabel }) {
  const [current, setCurrent] = useState("");
  const [cancelPin, setCancelPin] = useState("");
  const [duressPin, setDuressPin] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);

  function problem() {
    if (!PIN.test(cancelPin) || !PIN.test(duressPin)) return t("resident.pins.rule");
    if (cancelPin === duressPin) return t("resident.pins.must_differ");
    if (hasPins && !PIN.test(current)) return t("resident.pins.current_needed");
    return null;
  }

  async function submit(event) {
    event.preventDefault();
    const local = problem();
    if (local) return setError(local);
    setBusy(true);
    setError(null);
    setSaved(false);
    const body = { cancel_pin: cancelPin, duress_pin: duressPin };
    if (hasPins) body.current_cancel_pin = current;
    try {
      await api("/residents/me/pins", { method: "PUT", body, token });
      setSaved(true);
      setCurrent("");
      setCancelPin("");
      setDuressPin("");
      onSaved();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return html`<form class="card stack" onSubmit=${submit}>
    <h2>${t("resident.pins.title")}</h2>
    <p class="hint">${t("resident.pins.explain")}</p>
    ${hasPins &&
    html`<${PinInput} id="current-pin" label=${t("resident.pins.current")} value=${current} onInput=${setCurrent} />`}
    <${PinInput} id="cancel-pin" label=${t("resident.pins.cancel")} value=${cancelPin} onInput=${setCancelPin} />
    <${PinInput} id="duress-pin" label=${t("resident.pins.duress")} value=${duressPin} onInput=${setDuressPin} />
    <p class="hint">${t("resident.pins.duress_explain")}</p>
    <${ErrorLine} error=${error} />
    ${saved && html`<p class="ok-text" role="status">${t("resident.saved")}</p>`}
    <button class="primary big" type="submit" disabled=${busy}>
      ${busy ? t("common.loading") : submitLabel || t("common.save")}
    </button>
  </form>`;
}
