// The surge banner: the kecamatan where real presses in the last minute passed the threshold (a server setting, so
// every console raises the same banner from the same alerts; surge.js counts them). It names each area and lets the
// operator pick its alerts for a bulk action, filter the queue to it, or send its residents one message from the
// command centre (POST /areas/message), shown on their status screen.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";
import { SURGE_WINDOW_MS, areaOf, surgingAreas } from "./surge.js";
import { useTick } from "./time.js";

function AreaMessage({ area, name, token, onDone }) {
  const [text, setText] = useState(t("console.surge.message_default"));
  const [answer, setAnswer] = useState(null);
  async function send(event) {
    event.preventDefault();
    try {
      const sent = await api("/areas/message", {
        method: "POST",
        token,
        body: { jurisdiction_id: Number(area), text },
      });
      setAnswer({ kind: "ok", text: t("console.surge.message_sent", { count: sent.reached, area: name }) });
      onDone();
    } catch (error) {
      setAnswer({ kind: "error", text: errorText(error) });
    }
  }
  return html`
    <form class="surge-message" onSubmit=${send}>
      <input data-area-message value=${text} maxlength="1000" onInput=${(e) => setText(e.currentTarget.value)} />
      <button type="submit" class="primary" data-action="send-area-message">${t("console.surge.send")}</button>
      ${answer && html`<span class=${`notice-${answer.kind}`} role="status">${answer.text}</span>`}
    </form>
  `;
}

export function SurgeBanner({ store, config, view, token }) {
  useTick(5000);
  const [writing, setWriting] = useState(null);
  const threshold = config?.surge_presses_per_minute;
  // Only the last minute's presses can surge: the store keeps them apart from the thousands already waiting.
  const areas = surgingAreas(store.pressedWithin(SURGE_WINDOW_MS), { threshold });
  if (areas.length === 0) return null;
  const name = (area) => store.jurisdictions.get(Number(area)) || area;
  const pick = (area) => {
    const ids = [...store.alerts.values()].filter((a) => areaOf(a) === area && !a.is_exercise).map((a) => a.id);
    view.setPicked(new Set(ids));
  };
  return html`
    <section class="surge-banner" role="alert" aria-label=${t("console.surge.title")}>
      ${areas.map(
        ({ area, presses }) => html`
          <div class="surge-area" data-surge-area=${area} data-presses=${presses}>
            <strong>${t("console.surge.area", { area: name(area), count: presses })}</strong>
            <button type="button" data-action="filter-area" onClick=${() => view.setFilter("area", area)}>
              ${t("console.surge.show")}
            </button>
            <button type="button" data-action="pick-area" onClick=${() => pick(area)}>${t("console.surge.pick")}</button>
            <button type="button" data-action="message-area" onClick=${() => setWriting(writing === area ? null : area)}>
              ${t("console.surge.message")}
            </button>
            ${writing === area &&
            html`<${AreaMessage} area=${area} name=${name(area)} token=${token} onDone=${() => null} />`}
          </div>
        `,
      )}
    </section>
  `;
}
