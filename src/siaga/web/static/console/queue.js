// The live queue, in the attention model's order (attention.js): duress, then real alerts nobody has taken, then the
// handled ones, then drills, each section under its own heading. Scrolled down, it offers a way back up while a real
// SOS waits there: the queue never moves under the operator's pointer by itself. At most QUEUE_LIMIT rows are drawn, whatever the
// number open, so a mass event with hundreds of alerts stays responsive; the header says how many there are in all.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { clock, t } from "../js/i18n.js";
import { awaitsOperator, sectionOf, waitingReal } from "./attention.js";
import { flagsOf, level } from "./priority.js";
import { QUEUE_LIMIT } from "./store.js";
import { secondsBetween, useTick } from "./time.js";

export function FlagBadges({ flags, alert }) {
  const vars = { count: alert?.press_count ?? 1 };
  return flags.map((flag) => html`<span class=${`flag flag-${flag}`}>${t(`console.flag.${flag}`, vars)}</span>`);
}

function QueueRow({ alert, store, selected, onSelect }) {
  const flags = flagsOf(alert, store.deliveryFailed);
  const place = store.jurisdictions.get(alert.jurisdiction_id) || t("console.queue.no_jurisdiction");
  const unit = alert.unit_id ? store.units.get(alert.unit_id) : null;
  const age = secondsBetween(alert.created_at);
  const section = sectionOf(alert);
  const quiet = awaitsOperator(alert);
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
        data-section=${section}
        data-awaits-operator=${quiet ? "true" : undefined}
        aria-current=${selected ? "true" : undefined}
        onClick=${() => onSelect(alert.id)}
      >
        <span class="queue-age" title=${t("console.queue.age")}>${clock(age)}</span>
        <span class="queue-main">
          <span class="queue-what">
            <strong>${t(`common.category.${alert.category}`)}</strong>
            <${FlagBadges} flags=${flags} alert=${alert} />
          </span>
          <span class="queue-caller">${alert.resident_name || ""}</span>
          <span class="queue-sub">
            ${place} · ${t(`common.state.${alert.state}`)}${unit ? ` · ${unit.callsign}` : ""}
          </span>
          ${quiet && html`<span class="queue-quiet">${t("console.queue.awaits_operator")}</span>`}
        </span>
      </button>
    </li>
  `;
}

function DrillSwitch({ store }) {
  const count = store.drillCount();
  if (count === 0 && !store.hideDrills) return null;
  return html`
    <button
      type="button"
      class="drill-switch"
      data-action="toggle-drills"
      aria-pressed=${store.hideDrills}
      onClick=${() => store.setHideDrills(!store.hideDrills)}
    >
      ${store.hideDrills ? t("console.queue.drills_hidden", { count }) : t("console.queue.hide_drills", { count })}
    </button>
  `;
}

function rowsWithHeadings(rows, render) {
  const drawn = [];
  let current = null;
  for (const alert of rows) {
    const section = sectionOf(alert);
    if (section !== current) {
      current = section;
      drawn.push(html`<li key=${`section-${section}`} class="queue-section" data-section=${section}>
        ${t(`console.queue.section.${section}`)}
      </li>`);
    }
    drawn.push(render(alert));
  }
  return drawn;
}

// Scrolled further than this, the top rows (where a new real SOS lands) may be out of sight.
const SCROLLED_PX = 40;

export function Queue({ store, selectedId, onSelect }) {
  useTick(1000);
  const list = useRef(null);
  const [scrolled, setScrolled] = useState(false);
  const all = store.queue();
  const rows = all.slice(0, QUEUE_LIMIT);
  const waiting = waitingReal(all).length;

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
        <${DrillSwitch} store=${store} />
      </header>
      ${all.length === 0
        ? html`<p class="empty muted">${t("console.queue.empty")}</p>`
        : html`
            ${scrolled &&
            waiting > 0 &&
            html`
              <button
                type="button"
                class="queue-jump"
                data-action="queue-top"
                onClick=${() => list.current?.scrollTo({ top: 0 })}
              >
                ${t("console.queue.jump", { count: waiting })}
              </button>
            `}
            <ol
              class="queue-list"
              ref=${list}
              onScroll=${(event) => setScrolled(event.currentTarget.scrollTop > SCROLLED_PX)}
            >
              ${rowsWithHeadings(
                rows,
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
