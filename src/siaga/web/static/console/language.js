// The language switch: Bahasa Indonesia by default, English on request; the whole console re-renders on change.
import { html } from "../js/ui.js";
import { LANGUAGES, lang, setLang, t } from "../js/i18n.js";

export function LanguageSwitch() {
  return html`
    <div class="lang-switch" role="group" aria-label=${t("common.language")}>
      ${LANGUAGES.map(
        (code) => html`
          <button
            type="button"
            lang=${code}
            data-lang=${code}
            aria-pressed=${lang() === code}
            onClick=${() => setLang(code)}
          >
            ${t(`common.lang.${code}`)}
          </button>
        `,
      )}
    </div>
  `;
}
