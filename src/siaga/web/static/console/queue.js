// The live queue: open alerts by priority and age. At most QUEUE_LIMIT rows are drawn, whatever the number open,
// so a mass event with hundreds of alerts stays responsive; the header says how many there are in all.
import { html, useEffect, useRef } from "../js/ui.js";
import { clock, t } from "../js/i18n.js";
import { flagsOf, level } from "./priority.js";
import { QUEUE_LIMIT } from "./store.js";
import { secondsBetween, useTick } from "./time.js";

export function FlagBadges({ flags }) {
  return flags.map((flag) => html`<span class=${`flag flag-${flag}`}>${t(`console.flag.${flag}`)}</span>`);
}

function QueueRow({ alert, store, selected, onSelect }) {
  const flags = flagsOf(alert, store.deliveryFailed);
  const caller = store.callers.get(alert.id);
  const place = store.jurisdictions.get(alert.jurisdiction_id) || t("console.queue.no_jurisdiction");
  const unit = alert.unit_id ? store.units.get(alert.unit_id) : null;
  const age = secondsBetween(alert.created_at);
  const classes = ["queue-row", `level-${level(alert)}`, `state-${alert.state}`, ...flags.map((f) => `is-${f}`)];
  if (selected) classes.push("selected");
  return html`
    <li>
      <button
        type="button"
        class=${classes.join(" ")}
        data-alert-id=${alert.id}
        data-state=${alert.state}
        data-flags=${flags.join(" ")}
        aria-current=${selected ? "true" : undefined}
        onClick=${() => onSelect(alert.id)}
      >
        <span class="queue-age" title=${t("console.queue.age")}>${clock(age)}</span>
        <span class="queue-main">
          <span class="queue-what">
            <strong>${t(`common.category.${alert.category}`)}</strong>
            <${FlagBadges} flags=${flags} />
          </span>
          <span class="queue-caller">${caller?.name || caller?.phone || ""}</span>
          <span class="queue-sub">
            ${place} · ${t(`common.state.${alert.state}`)}${unit ? ` · ${unit.callsign}` : ""}
          </span>
        </span>
      </button>
    </li>
  `;
}

export function Queue({ store, selectedId, onSelect }) {
  useTick(1000);
  const list = useRef(null);
  const all = store.queue();
  const rows = all.slice(0, QUEUE_LIMIT);
  const waiting = all.filter((a) => a.state === "new").length;

  useEffect(() => {
    // Keep the selected row visible when moving with j/k.
    const row = selectedId && list.current?.querySelector(`[data-alert-id="${selectedId}"]`);
    row?.scrollIntoView({ block: "nearest" });
  }, [selectedId]);

  return html`
    <section class="queue" aria-labelledby="queue-title">
      <header class="section-head">
        <h2 id="queue-title">${t("console.queue.title")}</h2>
        <span class="queue-count" data-count=${all.length}>
          ${all.length > rows.length
            ? t("console.queue.count_limited", { shown: rows.length, total: all.length })
            : t("console.queue.count", { total: all.length })}
        </span>
        ${waiting > 0 && html`<span class="badge waiting">${t("console.queue.waiting", { count: waiting })}</span>`}
      </header>
      ${all.length === 0
        ? html`<p class="empty muted">${t("console.queue.empty")}</p>`
        : html`
            <ol class="queue-list" ref=${list}>
              ${rows.map(
                (alert) =>
                  html`<${QueueRow}
                    key=${alert.id}
                    alert=${alert}
                    store=${store}
                    selected=${alert.id === selectedId}
                    onSelect=${onSelect}
                  />`,
              )}
            </ol>
          `}
    </section>
  `;
}
