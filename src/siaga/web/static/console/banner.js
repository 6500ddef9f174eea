// What must not be missed, in a coloured strip under the top bar, grouped by kind (attention.js): real alerts nobody
// has taken ("SOS baru"), duress, escalations, residents' replies, suspended residents, failed SMS or push deliveries,
// real before drills.
// Each group opens its most urgent alert and is marked seen as one; the real waiting alerts leave the strip only when
// someone takes them. The alerts' rows keep their colour regardless.
//
// The strip always takes the same height, calm or not: if it grew when an alert arrived, everything below would jump
// under the operator's pointer just as they click. The first groups share it; the rest open over the screen on request.
import { html, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { reasonText } from "./timeline.js";
import { timeOfDay } from "./time.js";

// Groups side by side in the strip; at 1280 px wide each still shows its words and buttons.
const IN_STRIP = 2;

function describe(item, store) {
  const alert = store.alerts.get(item.alertId);
  const what = alert ? t(`common.category.${alert.category}`) : t("console.banner.closed_alert");
  const place = alert ? store.jurisdictions.get(alert.jurisdiction_id) || alert.jurisdiction_name : null;
  const who = item.kind === "new" || item.kind === "reply" ? alert?.resident_name : null;
  const reason = item.kind === "delivery_failed" ? item.reason : reasonText(item.reason);
  return [what, place, who, reason].filter(Boolean).join(" · ");
}

function AttentionGroup({ group, store, onOpen }) {
  const { first, count } = group;
  const label = t(`console.banner.${group.kind}`);
  return html`
    <div
      class=${`attention-item attention-${group.kind}${group.exercise ? " attention-drill" : ""}`}
      data-attention=${group.kind}
      data-exercise=${group.exercise ? "true" : "false"}
      data-count=${count}
    >
      <strong class="attention-kind">${group.exercise ? `${t("console.banner.drill")} · ${label}` : label}</strong>
      ${count > 1 && html`<span class="attention-count">${count}</span>`}
      <span class="attention-what">${describe(first, store)}</span>
      <time class="attention-time" datetime=${first.at}>${timeOfDay(first.at)}</time>
      <button type="button" class="attention-open" data-alert-id=${first.alertId} onClick=${() => onOpen(first.alertId)}>
        ${t("console.banner.open")}
      </button>
      ${group.dismissible &&
      html`
        <button
          type="button"
          class="attention-seen"
          onClick=${() => store.markSeen(group.items.map((item) => item.key))}
        >
          ${count > 1 ? t("console.banner.seen_all", { count }) : t("console.banner.seen")}
        </button>
      `}
    </div>
  `;
}

export function AttentionBanner({ store, onOpen }) {
  const [expanded, setExpanded] = useState(false);
  const groups = store.banner();
  if (groups.length === 0) {
    return html`<section class="attention attention-calm"><span>${t("console.banner.clear")}</span></section>`;
  }
  const shown = groups.slice(0, IN_STRIP);
  const rest = groups.slice(IN_STRIP);
  const open = (id) => {
    setExpanded(false);
    onOpen(id);
  };
  const draw = (group) => html`<${AttentionGroup} key=${group.key} group=${group} store=${store} onOpen=${open} />`;
  return html`
    <section class="attention" role="alert" aria-label=${t("console.banner.title")}>
      ${shown.map(draw)}
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
      ${expanded && rest.length > 0 && html`<div class="attention-list">${rest.map(draw)}</div>`}
    </section>
  `;
}
