// What must not be missed (duress, escalations, suspended residents, failed SMS or push deliveries), in a coloured
// strip under the top bar until an operator marks each one seen. The alerts' rows keep their colour regardless.
//
// The strip always takes the same height, calm or not: if it grew when an alert arrived, everything below would jump
// under the operator's pointer just as they click. The rest of the list opens over the screen on request.
import { html, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { reasonText } from "./timeline.js";
import { timeOfDay } from "./time.js";

function describe(item, store) {
  const alert = store.alerts.get(item.alertId);
  const what = alert ? t(`common.category.${alert.category}`) : t("console.banner.closed_alert");
  const place = alert ? store.jurisdictions.get(alert.jurisdiction_id) : null;
  const reason = item.kind === "delivery_failed" ? item.reason : reasonText(item.reason);
  return [what, place, reason].filter(Boolean).join(" · ");
}

function AttentionItem({ item, store, onOpen }) {
  return html`
    <div class=${`attention-item attention-${item.kind}`} data-attention=${item.kind}>
      <strong class="attention-kind">${t(`console.banner.${item.kind}`)}</strong>
      <span class="attention-what">${describe(item, store)}</span>
      <time class="attention-time" datetime=${item.at}>${timeOfDay(item.at)}</time>
      <button type="button" class="attention-open" onClick=${() => onOpen(item.alertId)}>
        ${t("console.banner.open")}
      </button>
      <button type="button" class="attention-seen" onClick=${() => store.markSeen(item.key)}>
        ${t("console.banner.seen")}
      </button>
    </div>
  `;
}

export function AttentionBanner({ store, onOpen }) {
  const [expanded, setExpanded] = useState(false);
  const items = store.unseen();
  if (items.length === 0) {
    return html`<section class="attention attention-calm"><span>${t("console.banner.clear")}</span></section>`;
  }
  const [first, ...rest] = items;
  const open = (id) => {
    setExpanded(false);
    onOpen(id);
  };
  return html`
    <section class="attention" role="alert" aria-label=${t("console.banner.title")}>
      <${AttentionItem} item=${first} store=${store} onOpen=${open} />
      ${rest.length > 0 &&
      html`
        <button
          type="button"
          class="attention-more"
          aria-expanded=${expanded}
          onClick=${() => setExpanded(!expanded)}
        >
          ${t("console.banner.more", { count: rest.length })}
        </button>
      `}
      ${expanded &&
      rest.length > 0 &&
      html`
        <div class="attention-list">
          ${rest.map((item) => html`<${AttentionItem} key=${item.key} item=${item} store=${store} onOpen=${open} />`)}
        </div>
      `}
    </section>
  `;
}
