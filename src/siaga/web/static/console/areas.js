// The surge banner: the kecamatan where presses in the last minute passed the threshold (a server setting, so
// every console raises the same banner from the same alerts; surge.js counts them). It names each area and lets the
// operator pick its alerts for a bulk action, filter the queue to it, or send its residents one message from the
// command centre (POST /areas/message), shown on their status screen. A drill's mass event (`siaga simulate
// --mass-event`) surges as a drill: marked "Latihan", below every real surge, hidden with the drills, and its picks
// and message reach only the drill's alerts.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";
import { SURGE_WINDOW_MS, areaOf, surgingAreas } from "./surge.js";
import { useTick } from "./time.js";

function AreaMessage({ area, exercise, name, token, onDone }) {
  const [text, setText] = useState(t("console.surge.message_default"));
  const [answer, setAnswer] = useState(null);
  async function send(event) {
    event.preventDefault();
    try {
      const sent = await api("/areas/message", {
        method: "POST",
        token,
        body: { jurisdiction_id: Number(area), text, exercise },
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
  const areas = surgingAreas(store.pressedWithin(SURGE_WINDOW_MS), { threshold }).filter(
    (surge) => !(surge.exercise && store.hideDrills),
  );
  if (areas.length === 0) return null;
  const name = (area) => store.jurisdictions.get(Number(area)) || area;
  const pick = (area, exercise) => {
    const ids = [...store.alerts.values()]
      .filter((a) => areaOf(a) === area && Boolean(a.is_exercise) === exercise)
      .map((a) => a.id);
    view.setPicked(new Set(ids));
  };
  return html`
    <section class="surge-banner" role="alert" aria-label=${t("console.surge.title")}>
      ${areas.map(({ area, presses, exercise }) => {
        const key = `${exercise ? "drill" : "real"}:${area}`;
        return html`
          <div class="surge-area" data-surge-area=${area} data-presses=${presses} data-exercise=${String(exercise)}>
            <strong>
              ${exercise ? `${t("console.banner.drill")} · ` : ""}${t("console.surge.area", { area: name(area), count: presses })}
            </strong>
            <button type="button" data-action="filter-area" onClick=${() => view.setFilter("area", area)}>
              ${t("console.surge.show")}
            </button>
            <button type="button" data-action="pick-area" onClick=${() => pick(area, exercise)}>
              ${t("console.surge.pick")}
            </button>
            <button type="button" data-action="message-area" onClick=${() => setWriting(writing === key ? null : key)}>
              ${t("console.surge.message")}
            </button>
            ${writing === key &&
            html`<${AreaMessage}
              area=${area}
              exercise=${exercise}
              name=${name(area)}
              token=${token}
              onDone=${() => null}
            />`}
          </div>
        `;
      })}
    </section>
  `;
}
