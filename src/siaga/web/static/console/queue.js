// The live queue, in the attention model's order (attention.js): duress, then real alerts nobody has taken, then the
// handled ones, then drills, each section under its own heading; or grouped by kecamatan or category, with counts
// (surge.js), and filtered by category, kecamatan, state and age. Scrolled down, it offers a way back up while a real
// SOS waits there: the queue never moves under the operator's pointer by itself. Only the rows in view (and a margin)
// are drawn, so 20,000 open alerts scroll as smoothly as 20; the header gives the true counts. Each row has a box to
// pick it for a bulk action (bulk.js).
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { clock, t } from "../js/i18n.js";
import { awaitsOperator, sectionOf, waitingCount } from "./attention.js";
import { flagsOf, level } from "./priority.js";
import { AGES, GROUPINGS, filtered, rowsOf } from "./surge.js";
import { secondsBetween, useTick } from "./time.js";

// Drawn heights (console.css keeps them): a row of the virtual list is one of these.
const ROW_PX = 86;
const HEAD_PX = 30;
const OVERSCAN = 30; // rows drawn above and below the visible ones
const CATEGORIES = ["kriminalitas", "kecelakaan", "kebakaran", "kesehatan", "kdrt", "bencana_alam", "kerusuhan", "lainnya"];
const STATES = ["new", "acknowledged", "dispatched", "en_route", "on_scene"];

/** The queue's view: grouping, filters, collapsed groups and the alerts picked for a bulk action. */
export function useQueueView() {
  const [by, setBy] = useState("attention");
  const [filters, setFilters] = useState({ category: "", area: "", state: "", age: "all" });
  const [collapsed, setCollapsed] = useState(() => new Set());
  const [picked, setPicked] = useState(() => new Set());
  return {
    by,
    setBy,
    filters,
    setFilter: (name, value) => setFilters((current) => ({ ...current, [name]: value })),
    collapsed,
    toggleGroup: (key) =>
      setCollapsed((current) => {
        const next = new Set(current);
        if (next.has(key)) next.delete(key);
        else next.add(key);
        return next;
      }),
    picked,
    setPicked,
    togglePick: (id) =>
      setPicked((current) => {
        const next = new Set(current);
        if (next.has(id)) next.delete(id);
        else next.add(id);
        return next;
      }),
    /** The alerts the queue shows, in its order (filters applied): what j/k move through. */
    shown: (store) => filtered(store.queue(), filters),
  };
}

export function FlagBadges({ flags, alert }) {
  const vars = { count: alert?.press_count ?? 1 };
  return flags.map((flag) => html`<span class=${`flag flag-${flag}`}>${t(`console.flag.${flag}`, vars)}</span>`);
}

function QueueRow({ alert, store, selected, onSelect, picked, onPick }) {
  const flags = flagsOf(alert, store.deliveryFailed);
  const place = store.jurisdictions.get(alert.jurisdiction_id) || t("console.queue.no_jurisdiction");
  const unit = alert.unit_id ? store.units.get(alert.unit_id) : null;
  const age = secondsBetween(alert.created_at);
  const section = sectionOf(alert);
  const quiet = awaitsOperator(alert);
  const classes = ["queue-row", `level-${level(alert)}`, `state-${alert.state}`, ...flags.map((f) => `is-${f}`)];
  if (selected) classes.push("selected");
  return html`
    <li class="queue-item" style=${`height:${ROW_PX}px`}>
      <input
        type="checkbox"
        class="queue-pick"
        aria-label=${t("console.bulk.pick")}
        checked=${picked}
        onChange=${() => onPick(alert.id)}
      />
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

function sectionRows(alerts) {
  const rows = [];
  let current = null;
  for (const alert of alerts) {
    const section = sectionOf(alert);
    if (section !== current) {
      current = section;
      rows.push({ section });
    }
    rows.push({ alert });
  }
  return rows;
}

function groupName(by, key, store) {
  if (by === "category") return t(`common.category.${key}`);
  if (key === "none") return t("console.queue.no_jurisdiction");
  return store.jurisdictions.get(Number(key)) || key;
}

function Heading({ row, view, store }) {
  if (row.section) {
    return html`<li class="queue-section" data-section=${row.section} style=${`height:${HEAD_PX}px`}>
      ${t(`console.queue.section.${row.section}`)}
    </li>`;
  }
  const { group } = row;
  const open = !view.collapsed.has(group.key);
  return html`<li class="queue-group" data-group=${group.key} data-count=${group.count} style=${`height:${HEAD_PX}px`}>
    <button type="button" aria-expanded=${open} onClick=${() => view.toggleGroup(group.key)}>
      ${open ? "▾" : "▸"} ${groupName(view.by, group.key, store)}
      <span class="queue-group-count">${group.count}</span>
    </button>
    <button
      type="button"
      class="queue-group-pick"
      onClick=${() => view.setPicked(new Set([...view.picked, ...group.alerts.map((a) => a.id)]))}
    >
      ${t("console.bulk.pick_group")}
    </button>
  </li>`;
}

function Filters({ view, store }) {
  const areas = [...store.jurisdictions].sort((a, b) => a[1].localeCompare(b[1]));
  const select = (name, label, options) => html`
    <label class="queue-filter">
      <span>${label}</span>
      <select
        data-filter=${name}
        value=${view.filters[name]}
        onChange=${(event) => view.setFilter(name, event.currentTarget.value)}
      >
        ${options.map(([value, text]) => html`<option value=${value}>${text}</option>`)}
      </select>
    </label>
  `;
  return html`
    <div class="queue-filters">
      <label class="queue-filter">
        <span>${t("console.queue.group_by")}</span>
        <select data-group-by value=${view.by} onChange=${(event) => view.setBy(event.currentTarget.value)}>
          ${GROUPINGS.map((by) => html`<option value=${by}>${t(`console.queue.by.${by}`)}</option>`)}
        </select>
      </label>
      ${select("category", t("console.queue.filter.category"), [
        ["", t("console.queue.filter.all")],
        ...CATEGORIES.map((c) => [c, t(`common.category.${c}`)]),
      ])}
      ${select("area", t("console.queue.filter.area"), [
        ["", t("console.queue.filter.all")],
        ...areas.map(([id, name]) => [String(id), name]),
      ])}
      ${select("state", t("console.queue.filter.state"), [
        ["", t("console.queue.filter.all")],
        ...STATES.map((state) => [state, t(`common.state.${state}`)]),
      ])}
      ${select(
        "age",
        t("console.queue.filter.age"),
        AGES.map((age) => [age, t(`console.queue.age_choice.${age}`)]),
      )}
    </div>
  `;
}

// Scrolled further than this, the top rows (where a new real SOS lands) may be out of sight.
const SCROLLED_PX = 40;

/** The first row whose bottom is below `top` (offsets: each row's top, plus the total at the end). */
function firstBelow(offsets, top) {
  let low = 0;
  let high = offsets.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (offsets[middle + 1] <= top) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function Queue({ store, view, selectedId, onSelect, onOldest, onNewest }) {
  useTick(1000);
  const list = useRef(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(800);
  const all = store.queue();
  const shown = filtered(all, view.filters);
  const rows = view.by === "attention" ? sectionRows(shown) : rowsOf(shown, view.by, view.collapsed);
  const waiting = waitingCount(all);
  const scrolled = scrollTop > SCROLLED_PX;

  const offsets = new Array(rows.length + 1);
  offsets[0] = 0;
  for (let i = 0; i < rows.length; i += 1) offsets[i + 1] = offsets[i] + (rows[i].alert ? ROW_PX : HEAD_PX);
  const first = Math.max(0, firstBelow(offsets, scrollTop) - OVERSCAN);
  const last = Math.min(rows.length, firstBelow(offsets, scrollTop + height) + 1 + OVERSCAN);

  useEffect(() => {
    const element = list.current;
    if (!element) return undefined;
    const observer = new ResizeObserver(() => setHeight(element.clientHeight || 800));
    observer.observe(element);
    return () => observer.disconnect();
  }, [list.current]);

  useEffect(() => {
    // Keep the selected row visible when moving with j/k or the oldest/newest keys (drawn or not).
    const index = selectedId ? rows.findIndex((row) => row.alert?.id === selectedId) : -1;
    const element = list.current;
    if (index < 0 || !element) return;
    const top = offsets[index];
    if (top < element.scrollTop) element.scrollTop = top;
    else if (top + ROW_PX > element.scrollTop + element.clientHeight) element.scrollTop = top + ROW_PX - element.clientHeight;
  }, [selectedId]);

  const drawn = [];
  for (let i = first; i < last; i += 1) {
    const row = rows[i];
    if (!row.alert) {
      drawn.push(html`<${Heading} key=${`h-${row.section || row.group.key}`} row=${row} view=${view} store=${store} />`);
      continue;
    }
    const { alert } = row;
    drawn.push(
      html`<${QueueRow}
        key=${alert.id}
        alert=${alert}
        store=${store}
        selected=${alert.id === selectedId}
        onSelect=${onSelect}
        picked=${view.picked.has(alert.id)}
        onPick=${view.togglePick}
      />`,
    );
  }

  return html`
    <section class="queue" aria-labelledby="queue-title">
      <header class="section-head">
        <h2 id="queue-title">${t("console.queue.title")}</h2>
        <span class="queue-count" data-count=${all.length} data-shown=${shown.length}>
          ${shown.length < all.length
            ? t("console.queue.count_filtered", { shown: shown.length, total: all.length })
            : t("console.queue.count", { total: all.length })}
        </span>
        ${waiting > 0 && html`<span class="badge waiting" data-waiting=${waiting}>${t("console.queue.waiting", { count: waiting })}</span>`}
        <${DrillSwitch} store=${store} />
      </header>
      <div class="queue-ends">
        <button type="button" data-action="oldest-waiting" disabled=${waiting === 0} onClick=${onOldest}>
          <kbd>[</kbd> ${t("console.queue.oldest")}
        </button>
        <button type="button" data-action="newest-waiting" disabled=${waiting === 0} onClick=${onNewest}>
          <kbd>]</kbd> ${t("console.queue.newest")}
        </button>
      </div>
      <${Filters} view=${view} store=${store} />
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
              onScroll=${(event) => setScrollTop(event.currentTarget.scrollTop)}
            >
              <li class="queue-spacer" aria-hidden="true" style=${`height:${offsets[first]}px`}></li>
              ${drawn}
              <li
                class="queue-spacer"
                aria-hidden="true"
                style=${`height:${offsets[rows.length] - offsets[last]}px`}
              ></li>
            </ol>
          `}
    </section>
  `;
}
