// The selected alert: its flags, timers, actions, recommended units, caller, history and timeline.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";
import { ActionBar, CategoryForm, EscalateForm, FormFrame, MessageForm, NoteForm, ResolveForm } from "./actions.js";
import { CallerCard, CallerHistory } from "./caller.js";
import { Exports } from "./exports.js";
import { flagsOf, level } from "./priority.js";
import { Handovers } from "./handover.js";
import { IncidentBlock, PriorityForm } from "./incidents.js";
import { FlagBadges } from "./queue.js";
import { Recommendations, unitKind } from "./recommend.js";
import { Timeline, Timers } from "./timeline.js";

function placeText(alert) {
  // The phone had no fix when it pressed: the pin is the city centre until its first point arrives.
  if (alert.placement === "no_location" && alert.accuracy_m == null) return t("console.panel.no_location");
  const near = alert.placement !== "inside" ? ` (${t("console.panel.placement_near")})` : "";
  const parts = [
    `${alert.jurisdiction_name || t("console.queue.no_jurisdiction")}${near}`,
    `${alert.lat.toFixed(5)}, ${alert.lon.toFixed(5)}`,
  ];
  if (alert.accuracy_m != null) parts.push(t("console.panel.accuracy", { metres: Math.round(alert.accuracy_m) }));
  return parts.join(" · ");
}

// Who has an open alert: the operator who acknowledged it and the unit that holds it, with how far it got. An officer
// who took a direct offer handles it before any operator has looked: that is said, never "nobody".
function handledBy(alert) {
  const unit = alert.unit_callsign ? `${alert.unit_callsign} (${t(`common.state.${alert.state}`)})` : "";
  if (alert.acknowledged_by) return unit ? `${alert.acknowledged_by} · ${unit}` : alert.acknowledged_by;
  if (unit) return `${unit} · ${t("console.timer.not_seen")}`;
  return t("console.panel.nobody");
}

// How a closed alert ended and by whom: the resident cancelled it, or a person resolved it (named by the timeline's
// closing event, an officer with their unit). Never "handled by" a unit next to "cancelled".
function endedBy(alert, timeline) {
  if (alert.state === "cancelled") return t("console.panel.cancelled_by_resident");
  const closing = [...(timeline || [])].reverse().find((event) => event.kind === "resolved");
  if (!closing) return t("common.state.resolved");
  const unit = closing.actor_kind === "officer" && alert.unit_callsign ? ` (${alert.unit_callsign})` : "";
  return t("console.panel.resolved_by", { name: `${closing.actor_name}${unit}` });
}

function Custody({ alert, timeline }) {
  if (alert.state === "cancelled" || alert.state === "resolved") {
    return html`<dt>${t("console.panel.ended")}</dt>
      <dd data-testid="custody" data-ended=${alert.state}>${endedBy(alert, timeline)}</dd>`;
  }
  return html`<dt>${t("console.panel.handled_by")}</dt>
    <dd data-testid="custody" data-acknowledged-by=${alert.acknowledged_by || ""}>${handledBy(alert)}</dd>`;
}

// Who gets the alert: the responsible agency and those informed, as the newest routing event (raised, re-routed by a
// category change, or handed to another agency) names them.
const ROUTING_EVENTS = new Set(["created", "category_changed", "transferred"]);

function routingOf(alert, timeline) {
  const routed = [...(timeline || [])].reverse().find((e) => ROUTING_EVENTS.has(e.kind));
  return { responsible: alert.agency_name || alert.agency_code, informed: routed?.data?.informed || [] };
}

function AlertHeading({ alert, flags, timeline }) {
  const routing = routingOf(alert, timeline);
  return html`
    <header class=${`panel-head level-${level(alert)} ${flags.map((f) => `is-${f}`).join(" ")}`}>
      <div class="panel-title">
        <h2 id="panel-title">${t(`common.category.${alert.category}`)}</h2>
        <span class=${`badge state-badge state-${alert.state}`} data-state=${alert.state}>
          ${t(`common.state.${alert.state}`)}
        </span>
      </div>
      ${flags.length > 0 && html`<div class="panel-flags"><${FlagBadges} flags=${flags} alert=${alert} /></div>`}
      <dl class="facts compact">
        <dt>${t("console.panel.where")}</dt>
        <dd>${placeText(alert)}</dd>
        ${alert.battery != null &&
        html`<dt>${t("console.panel.battery")}</dt>
          <dd>${t("console.panel.battery_level", { level: alert.battery })}</dd>`}
        ${alert.description && html`<dt>${t("console.panel.description")}</dt><dd>${alert.description}</dd>`}
        <dt>${t("console.panel.priority")}</dt>
        <dd data-testid="priority" data-priority=${alert.priority}>${t(`console.priority.${alert.priority}`)}</dd>
        <dt>${t("console.panel.agency")}</dt>
        <dd data-testid="responsible-agency">${routing.responsible}</dd>
        ${routing.informed.length > 0 &&
        html`<dt>${t("console.panel.informed")}</dt>
          <dd data-testid="informed-agencies">${routing.informed.join(", ")}</dd>`}
        <${Custody} alert=${alert} timeline=${timeline} />
        ${alert.outcome &&
        html`<dt>${t("console.panel.outcome")}</dt>
          <dd>${t(`common.outcome.${alert.outcome}`)}</dd>`}
      </dl>
    </header>
  `;
}

function ActionForm({ alert, form, busy, onNote, onMessage, onResolve, onEscalate, onCategory, onPriority, onClose }) {
  if (form === "note") return html`<${NoteForm} busy=${busy} onSubmit=${onNote} onClose=${onClose} />`;
  if (form === "message") return html`<${MessageForm} busy=${busy} onSubmit=${onMessage} onClose=${onClose} />`;
  if (form === "resolve") return html`<${ResolveForm} busy=${busy} onSubmit=${onResolve} onClose=${onClose} />`;
  if (form === "escalate") return html`<${EscalateForm} busy=${busy} onSubmit=${onEscalate} onClose=${onClose} />`;
  if (form === "priority") {
    return html`<${PriorityForm} alert=${alert} busy=${busy} onSubmit=${onPriority} onClose=${onClose} Frame=${FormFrame} />`;
  }
  if (form === "category") {
    return html`<${CategoryForm} alert=${alert} busy=${busy} onSubmit=${onCategory} onClose=${onClose} />`;
  }
  return null;
}

// Every unit on the alert with its own state, the officers' open requests for more (each one click from listing the
// units of the type asked for), and a backup's release.
function UnitsOnAlert({ alert, busy, onRelease, onUnitType }) {
  const units = alert.units || [];
  const requests = alert.unit_requests || [];
  if (!units.length && !requests.length) return null;
  const open = !["resolved", "cancelled"].includes(alert.state);
  return html`<section class="panel-block" aria-labelledby="units-title" data-testid="units-on-alert">
    <h3 id="units-title">${t("console.units_on_alert.title")}</h3>
    ${requests.map(
      (r) => html`<p class="flag flag-units_requested" role="status" data-testid="unit-request">
        ${t("console.units_on_alert.request", { by: r.by_unit, kind: unitKind(r.unit_kind) })}
        ${onUnitType &&
        html` <button type="button" data-action="show-requested" onClick=${() => onUnitType(r.unit_kind)}>
          ${t("console.units_on_alert.show", { kind: unitKind(r.unit_kind) })}</button>`}
      </p>`,
    )}
    <ul class="units-on-alert">
      ${units.map(
        (u) => html`<li key=${u.unit_id} data-testid="unit-on-alert" data-callsign=${u.callsign}
          data-state=${u.state}>
          <strong>${u.callsign}</strong>
          <span class="muted"> ${unitKind(u.kind)} · ${u.agency_code} · ${t(`console.units_on_alert.${u.role}`)}</span>
          <span> · ${t(`console.units_on_alert.state.${u.state}`)}</span>
          ${open &&
          u.role === "backup" &&
          !["released", "unanswered"].includes(u.state) &&
          html` <button type="button" disabled=${busy} onClick=${() => onRelease(u)}>
            ${t("console.units_on_alert.release")}</button>`}
        </li>`,
      )}
    </ul>
  </section>`;
}

export function AlertPanel({ detail, store, busy, form, actions, onClose, token, onSelect }) {
  const { alert } = detail;
  if (!alert) {
    return html`
      <aside class="panel empty-panel" aria-live="polite">
        ${detail.loading
          ? html`<p class="muted">${t("common.loading")}</p>`
          : detail.error
            ? html`<p class="error">${errorText(detail.error)}</p>`
            : html`<p class="muted">${t("console.panel.choose")}</p>`}
      </aside>
    `;
  }
  const flags = flagsOf(alert, store.deliveryFailed);
  return html`
    <aside class="panel" aria-labelledby="panel-title" data-alert-id=${alert.id}>
      <button type="button" class="panel-close" aria-label=${t("common.close")} onClick=${onClose}>×</button>
      <${AlertHeading} alert=${alert} flags=${flags} timeline=${detail.timeline} />
      <${Timers} alert=${alert} />
      <${Handovers} alert=${alert} timeline=${detail.timeline} token=${token} />
      <${IncidentBlock} alert=${alert} store=${store} token=${token} onSelect=${onSelect} />
      <${ActionBar} alert=${alert} busy=${busy} onAcknowledge=${actions.acknowledge} onForm=${actions.openForm} />
      <${ActionForm}
        alert=${alert}
        form=${form}
        busy=${busy}
        onNote=${actions.note}
        onMessage=${actions.message}
        onResolve=${actions.resolve}
        onEscalate=${actions.escalate}
        onCategory=${actions.category}
        onPriority=${actions.priority}
        onClose=${() => actions.openForm(null)}
      />
      <${UnitsOnAlert}
        alert=${alert}
        busy=${busy}
        onRelease=${(unit) => actions.releaseUnit({ unit_id: unit.unit_id, callsign: unit.callsign })}
        onUnitType=${detail.setUnitType}
      />
      <${Recommendations}
        alert=${alert}
        recommendations=${detail.recommendations}
        busy=${busy}
        onDispatch=${actions.dispatch}
        onAddUnit=${actions.addUnit}
        unitType=${detail.unitType}
        onUnitType=${detail.setUnitType}
      />
      <${CallerCard} alert=${alert} />
      <${CallerHistory} alert=${alert} history=${detail.history} moderation=${detail.moderation} />
      <${Exports} alert=${alert} token=${token} />
      <${Timeline} events=${detail.timeline} />
    </aside>
  `;
}
