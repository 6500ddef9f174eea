// Whether each partner centre the alert was handed over to has it (a city's 112 centre, another Siaga): the newest
// `handover` event of the timeline per partner, which the stream brings live as the partner acknowledges.
import { html } from "../js/ui.js";
import { lang, t } from "../js/i18n.js";

const STATUSES = new Set(["requested", "acknowledged", "retrying", "failed"]);

function hourMinute(iso) {
  return new Date(iso).toLocaleTimeString(lang() === "en" ? "en-GB" : "id-ID", { hour: "2-digit", minute: "2-digit" });
}

/** The newest handover event per partner, in the order the partners were first handed the alert. */
export function handoverStates(timeline) {
  const newest = new Map();
  for (const event of timeline || []) {
    if (event.kind === "handover" && STATUSES.has(event.data?.status)) newest.set(event.data.partner, event);
  }
  return [...newest.values()];
}

export function Handovers({ timeline }) {
  const states = handoverStates(timeline);
  if (!states.length) return null;
  return html`
    <section class="panel-block handovers" aria-labelledby="handovers-title">
      <h3 id="handovers-title">${t("console.handover.title")}</h3>
      <ul>
        ${states.map(
          (event) => html`
            <li key=${event.data.partner} data-testid="handover" data-status=${event.data.status}>
              ${t(`console.handover.${event.data.status}`, {
                partner: event.data.partner_label || event.data.partner,
                time: hourMinute(event.at),
              })}
            </li>
          `,
        )}
      </ul>
    </section>
  `;
}
