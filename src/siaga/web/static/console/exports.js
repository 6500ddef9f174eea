// The alert as other systems read it, downloaded with the console's session: CAP 1.2 (XML), which names the caller
// (name, number, words) only when the operator ticks "Sertakan data pribadi" (the server allows it to the command
// centre's roles only, and audits who asked), and NENA EIDO (JSON), which always names the caller, as a handover does.
import { html, useState } from "../js/ui.js";
import { download } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";

export function Exports({ alert, token }) {
  const [personal, setPersonal] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function save(path, options) {
    setBusy(true);
    setError(null);
    try {
      await download(path, { token, ...options });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  const cap = () =>
    save(`/alerts/${alert.id}/cap`, {
      query: personal ? { personal: "true" } : undefined,
      accept: "application/cap+xml",
      filename: `siaga-${alert.id}.cap.xml`,
    });
  const eido = () =>
    save(`/alerts/${alert.id}/eido`, { accept: "application/json", filename: `siaga-${alert.id}.eido.json` });

  return html`
    <section class="panel-block exports" aria-labelledby="exports-title">
      <h3 id="exports-title">${t("console.exports.title")}</h3>
      <label class="check">
        <input
          type="checkbox"
          data-testid="export-personal"
          checked=${personal}
          onChange=${(event) => setPersonal(event.currentTarget.checked)}
        />
        ${t("console.exports.personal")}
      </label>
      <div class="form-buttons">
        <button type="button" data-action="download-cap" disabled=${busy} onClick=${cap}>
          ${t("console.exports.cap")}
        </button>
        <button type="button" data-action="download-eido" disabled=${busy} onClick=${eido}>
          ${t("console.exports.eido")}
        </button>
      </div>
      <p class="hint">${t("console.exports.hint")}</p>
      ${error && html`<p class="error" role="alert">${errorText(error)}</p>`}
    </section>
  `;
}
