// Linked alerts and operator-set priority on the console. Several presses about one event (a fight seen by five
// people, one fire) are linked into one incident from the bulk bar, shown together (a "Terkait" chip on each row,
// the queue grouped by incident, and the incident's other alerts in the panel, each a link), split again from the
// panel, and closed together through the bulk path (POST /alerts/bulk). Every alert keeps its own state and actions.
// The rules (which alerts are linked with which, what linking a pick does) are linked.js's.
import { html, useEffect, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";
import { ACTIVE_STATES } from "./store.js";
import { mayAct } from "./actions.js";
import { PRIORITIES, linkPlan } from "./linked.js";

/** The chip on a queue row of an alert linked into an incident: how many open alerts the incident holds. */
export function IncidentChip({ alert, sizes }) {
  if (!alert.incident_id) return null;
  return html`<span class="flag flag-incident" data-incident-id=${alert.incident_id}>
    ${t("console.incident.chip", { count: sizes?.get(alert.incident_id) || 1 })}
  </span>`;
}

/** The bulk bar's button: link the picked alerts into one incident (or into the one some of them are in). */
export function LinkPicked({ ids, store, token, onDone }) {
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(null);
  async function link() {
    const plan = linkPlan(ids.map((id) => store.alerts.get(id)).filter(Boolean));
    if (plan.error) {
      setNotice({ kind: "error", text: errorText({ code: plan.error, message: plan.error }) });
      return;
    }
    setBusy(true);
    try {
      const path = plan.incidentId ? `/incidents/${plan.incidentId}/alerts` : "/incidents";
      const incident = await api(path, { method: "POST", token, body: { alert_ids: plan.alertIds } });
      setNotice({ kind: "ok", text: t("console.incident.linked", { count: incident.alerts.length }) });
      onDone();
    } catch (error) {
      setNotice({ kind: "error", text: errorText(error) });
    } finally {
      setBusy(false);
    }
  }
  return html`
    ${ids.length > 0 &&
    html`<button type="button" data-bulk="link" disabled=${busy} onClick=${link}>${t("console.incident.link")}</button>`}
    ${notice &&
    html`<span class=${`bulk-result notice-${notice.kind}`} role="status" data-testid="link-result">
      ${notice.text}
      <button type="button" aria-label=${t("common.close")} onClick=${() => setNotice(null)}>×</button>
    </span>`}
  `;
}

/** The incident of `alertId` as the server has it (every alert in it one may see), reloaded as the alert changes. */
function useIncident(incidentId, version, token) {
  const [incident, setIncident] = useState(null);
  useEffect(() => {
    if (!incidentId) {
      setIncident(null);
      return undefined;
    }
    const controller = new AbortController();
    api(`/incidents/${incidentId}`, { token, signal: controller.signal })
      .then((found) => {
        if (!controller.signal.aborted) setIncident(found);
      })
      .catch(() => {
        if (!controller.signal.aborted) setIncident(null);
      });
    return () => controller.abort();
  }, [incidentId, version, token]);
  return incident?.id === incidentId ? incident : null;
}

/**
 * The panel's block for an alert linked into an incident: "Terkait: N SOS" and the others, each opening that alert;
 * splitting this alert off; and closing every open alert of the incident as one mass event (the bulk path).
 */
export function IncidentBlock({ alert, store, token, onSelect }) {
  const incident = useIncident(alert.incident_id, store.alertVersion(alert.id), token);
  const [busy, setBusy] = useState(false);
  const [closing, setClosing] = useState(false);
  const [note, setNote] = useState("");
  const [notice, setNotice] = useState(null);
  if (!alert.incident_id || !incident) return null;
  const others = incident.alerts.filter((other) => other.id !== alert.id);
  const open = incident.alerts.filter((other) => ACTIVE_STATES.has(other.state)).map((other) => other.id);

  async function run(work) {
    setBusy(true);
    try {
      setNotice({ kind: "ok", text: await work() });
    } catch (error) {
      setNotice({ kind: "error", text: errorText(error) });
    } finally {
      setBusy(false);
    }
  }
  const split = () =>
    run(async () => {
      await api(`/incidents/${incident.id}/alerts/${alert.id}`, { method: "DELETE", token });
      return t("console.incident.unlinked");
    });
  const closeAll = () =>
    run(async () => {
      const body = { action: "close", note: note.trim(), outcome: "genuine", alert_ids: open };
      const answer = await api("/alerts/bulk", { method: "POST", token, body, waitMs: 120_000 });
      setClosing(false);
      return t("console.bulk.applied", { count: answer.applied });
    });

  return html`
    <section class="panel-block incident" aria-labelledby="incident-title" data-incident-id=${incident.id}>
      <h3 id="incident-title" data-testid="incident-title">
        ${t("console.incident.title", { count: others.length })}${incident.title ? ` · ${incident.title}` : ""}
      </h3>
      <ul class="incident-alerts">
        ${others.map(
          (other) => html`
            <li key=${other.id}>
              <button type="button" class="link" data-linked-alert=${other.id} onClick=${() => onSelect(other.id)}>
                ${t(`common.category.${other.category}`)} · ${other.resident?.name || other.resident?.phone || ""} ·
                ${t(`common.state.${other.state}`)}
              </button>
            </li>
          `,
        )}
      </ul>
      ${mayAct(alert) &&
      html`<div class="form-buttons">
        <button type="button" data-action="unlink" disabled=${busy} onClick=${split}>${t("console.incident.unlink")}</button>
        ${open.length > 0 &&
        html`<button type="button" data-action="close-incident" disabled=${busy} onClick=${() => setClosing(true)}>
          ${t("console.incident.resolve_all", { count: open.length })}
        </button>`}
      </div>`}
      ${closing &&
      html`<form
        class="action-form"
        onSubmit=${(event) => {
          event.preventDefault();
          if (note.trim()) closeAll();
        }}
      >
        <label for="incident-note">${t("console.incident.resolve_note")}</label>
        <input id="incident-note" value=${note} maxlength="1000" onInput=${(e) => setNote(e.currentTarget.value)} />
        <div class="form-buttons">
          <button type="submit" class="primary" disabled=${busy || !note.trim()}>
            ${t("console.incident.resolve_all", { count: open.length })}
          </button>
          <button type="button" onClick=${() => setClosing(false)}>${t("common.cancel")}</button>
        </div>
      </form>`}
      ${notice && html`<p class=${`notice-${notice.kind}`} role="status">${notice.text}</p>`}
    </section>
  `;
}

/** The form that sets the alert's priority, with the reason the timeline keeps. A duress alert stays critical. */
export function PriorityForm({ alert, busy, onSubmit, onClose, Frame }) {
  const [priority, setPriority] = useState(alert.priority);
  const [reason, setReason] = useState("");
  const choices = alert.duress ? ["critical"] : PRIORITIES;
  return html`
    <${Frame}
      name="priority"
      title=${t("console.priority.title")}
      busy=${busy}
      canSubmit=${priority !== alert.priority && reason.trim().length > 0}
      submitLabel=${t("console.priority.save")}
      onSubmit=${() => onSubmit(priority, reason.trim())}
      onClose=${onClose}
    >
      <label for="priority-choice">${t("console.priority.choice")}</label>
      <select id="priority-choice" name="priority" value=${priority} onChange=${(e) => setPriority(e.target.value)}>
        ${choices.map((name) => html`<option value=${name}>${t(`console.priority.${name}`)}</option>`)}
      </select>
      <label for="priority-reason">${t("console.priority.reason")}</label>
      <input id="priority-reason" name="reason" maxlength="500" value=${reason} onInput=${(e) => setReason(e.target.value)} />
      ${alert.duress && html`<p class="hint">${t("console.priority.duress_hint")}</p>`}
    <//>
  `;
}
