// The live queue, in the attention model's order (attention.js): duress, then real alerts nobody has taken, then the
// handled ones, then drills, each section under its own heading; or grouped by kecamatan or category, with counts
// (surge.js), and filtered by category, kecamatan, state and age. Scrolled down, it offers a way back up while a real
// SOS waits there: the queue never moves under the operator's pointer by itself. Only the rows in view (and a margin)
// are drawn, so 20,000 open alerts scroll as smoothly as 20; the header gives the true counts. Each row has a box to
// pick it for a bulk action (bulk.js).
import { html, useEffect, useMemo, useRef, useState } from "../js/ui.js";
import { clock, t } from "../js/i18n.js";
import { SECTIONS, awaitsOperator, sectionOf } from "./attention.js";
import { flagsOf, level } from "./priority.js";
import { IncidentChip } from "./incidents.js";
import { incidentSizes } from "./linked.js";
import { AGES, GROUPINGS, filtered, grouped } from "./surge.js";
import { secondsBetween, useTick } from "./time.js";

// Drawn heights (console.css keeps them): a row of the virtual list is one of these.
const ROW_PX = 86;
const HEAD_PX = 30;
const OVERSCAN = 30; // rows drawn above and below the visible ones
// With an age filter on, the rows it keeps are worked out again this often (ages move; alerts need not).
const AGE_FILTER_MS = 15000;
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

function QueueRow({ alert, store, selected, onSelect, picked, onPick, sizes }) {
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
            <${IncidentChip} alert=${alert} sizes=${sizes} />
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

/**
 * The queue as segments, each a heading and the alerts under it (`list[start]` to `list[start + count - 1]`): a
 * virtual list draws from them without listing thousands of rows. In attention order without filters the sections'
 * sizes come from the store's index and nothing is copied; a filter or a grouping goes through the alerts once.
 */
function segmentsOf(store, view) {
  const all = store.queue();
  const shown = filtered(all, view.filters);
  const segments = [];
  if (view.by === "attention") {
    // Sections are contiguous in queue order; without a filter their sizes are known.
    const counts = shown === all ? store.sectionCounts() : SECTIONS.map(() => 0);
    if (shown !== all) for (const alert of shown) counts[SECTIONS.indexOf(sectionOf(alert))] += 1;
    let start = 0;
    SECTIONS.forEach((section, n) => {
      const count = Math.min(counts[n], shown.length - start);
      if (count > 0) segments.push({ key: `s-${section}`, section, list: shown, start, count });
      start += Math.max(0, count);
    });
  } else {
    for (const group of grouped(shown, view.by)) {
      const count = view.collapsed.has(group.key) ? 0 : group.count;
      segments.push({ key: `g-${group.key}`, group, list: group.alerts, start: 0, count });
    }
  }
  let row = 0;
  let top = 0;
  for (const segment of segments) {
    Object.assign(segment, { row, top });
    row += 1 + segment.count;
    top += HEAD_PX + segment.count * ROW_PX;
  }
  return { all, shown, segments, rows: row, height: top };
}

/** The segment holding row `row` of the virtual list. */
function segmentOfRow(segments, row) {
  let found = segments[0];
  for (const segment of segments) {
    if (segment.row > row) break;
    found = segment;
  }
  return found;
}

/** Where row `row` starts, in pixels from the top of the list. */
function topOfRow(segments, row) {
  const segment = segmentOfRow(segments, row);
  const inside = row - segment.row;
  return segment.top + (inside === 0 ? 0 : HEAD_PX + (inside - 1) * ROW_PX);
}

/** The row drawn at `y` pixels from the top of the list (the last one past its end). */
function rowAt(segments, rows, y) {
  let found = null;
  for (const segment of segments) {
    if (segment.top > y) break;
    found = segment;
  }
  if (!found) return 0;
  const inside = y - found.top < HEAD_PX ? 0 : 1 + Math.floor((y - found.top - HEAD_PX) / ROW_PX);
  return Math.min(rows - 1, found.row + Math.min(inside, found.count));
}

/** The row of alert `id` in the list, or -1 when it is not drawn (filtered out or in a collapsed group). */
function rowOfAlert(segments, id) {
  for (const segment of segments) {
    for (let i = 0; i < segment.count; i += 1) {
      if (segment.list[segment.start + i].id === id) return segment.row + 1 + i;
    }
  }
  return -1;
}

function groupName(by, key, store) {
  if (by === "category") return t(`common.category.${key}`);
  if (by === "incident") return key === "none" ? t("console.queue.no_incident") : t("console.queue.incident_group");
  if (key === "none") return t("console.queue.no_jurisdiction");
  return store.jurisdictions.get(Number(key)) || key;
}

function Heading({ segment, view, store }) {
  if (segment.section) {
    return html`<li class="queue-section" data-section=${segment.section} style=${`height:${HEAD_PX}px`}>
      ${t(`console.queue.section.${segment.section}`)}
    </li>`;
  }
  const { group } = segment;
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

export function Queue({ store, view, selectedId, onSelect, onOldest, onNewest }) {
  useTick(1000);
  const list = useRef(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(800);
  const ageTick = view.filters.age !== "all" ? Math.floor(Date.now() / AGE_FILTER_MS) : 0;
  // Worked out again only when the queue or the view changes, not on every tick of the age clocks.
  const { all, shown, segments, rows, height: total } = useMemo(
    () => segmentsOf(store, view),
    [store.queueVersion(), view.by, view.filters, view.collapsed, ageTick],
  );
  const sizes = useMemo(() => incidentSizes(all), [all]); // open alerts per incident, for the rows' chips
  const waiting = store.waitingCount();
  const scrolled = scrollTop > SCROLLED_PX;
  const first = rows === 0 ? 0 : Math.max(0, rowAt(segments, rows, scrollTop) - OVERSCAN);
  const last = rows === 0 ? 0 : Math.min(rows, rowAt(segments, rows, scrollTop + height) + 1 + OVERSCAN);

  useEffect(() => {
    const element = list.current;
    if (!element) return undefined;
    const observer = new ResizeObserver(() => setHeight(element.clientHeight || 800));
    observer.observe(element);
    return () => observer.disconnect();
  }, [list.current]);

  useEffect(() => {
    // Keep the selected row visible when moving with j/k or the oldest/newest keys (drawn or not).
    const row = selectedId ? rowOfAlert(segments, selectedId) : -1;
    const element = list.current;
    if (row < 0 || !element) return;
    const top = topOfRow(segments, row);
    if (top < element.scrollTop) element.scrollTop = top;
    else if (top + ROW_PX > element.scrollTop + element.clientHeight) element.scrollTop = top + ROW_PX - element.clientHeight;
  }, [selectedId]);

  const drawn = [];
  let segment = null;
  for (let row = first; row < last; row += 1) {
    if (!segment || row >= segment.row + 1 + segment.count) segment = segmentOfRow(segments, row);
    if (row === segment.row) {
      drawn.push(html`<${Heading} key=${segment.key} segment=${segment} view=${view} store=${store} />`);
      continue;
    }
    const alert = segment.list[segment.start + row - segment.row - 1];
    drawn.push(
      html`<${QueueRow}
        key=${alert.id}
        alert=${alert}
        store=${store}
        selected=${alert.id === selectedId}
        onSelect=${onSelect}
        picked=${view.picked.has(alert.id)}
        onPick=${view.togglePick}
        sizes=${sizes}
      />`,
    );
  }
  const above = rows === 0 ? 0 : topOfRow(segments, first);
  const below = rows === 0 || last >= rows ? 0 : total - topOfRow(segments, last);

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
              <li class="queue-spacer" aria-hidden="true" style=${`height:${above}px`}></li>
              ${drawn}
              <li class="queue-spacer" aria-hidden="true" style=${`height:${below}px`}></li>
            </ol>
          `}
    </section>
  `;
}
