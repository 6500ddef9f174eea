// The unit's current assignment: who called and where, a route to the scene (links to the phone's own map apps:
// no map SDK), and the steps en route -> on scene -> resolved with a short report.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { reportProblem } from "../js/report.js";
import { place } from "./format.js";

const OUTCOMES = ["genuine", "false_alarm", "prank", "test", "duplicate"];

function coordinate(value) {
  return Number(value).toFixed(6);
}

/** geo: opens whichever map app the phone has; the OpenStreetMap link works in any browser. */
export function routeLinks(alert, from) {
  const to = `${coordinate(alert.lat)},${coordinate(alert.lon)}`;
  const start = from ? `${coordinate(from.lat)},${coordinate(from.lon)}` : "";
  const route = encodeURIComponent(`${start};${to}`);
  return {
    geo: `geo:${to}?q=${to}`,
    osm: `https://www.openstreetmap.org/directions?engine=fossgis_osrm_car&route=${route}`,
  };
}

function Caller({ alert }) {
  const resident = alert.resident;
  return html`<dl class="caller">
    <dt>${t("officer.assignment.caller")}</dt>
    <dd>${resident.name || t("officer.assignment.no_name")}${resident.phone && ` · ${resident.phone}`}</dd>
    ${resident.medical_notes &&
    html`<dt>${t("officer.assignment.medical")}</dt><dd>${resident.medical_notes}</dd>`}
    ${alert.description && html`<dt>${t("officer.assignment.description")}</dt><dd>${alert.description}</dd>`}
  </dl>`;
}

// A report the server would refuse is said here, before anything is sent or kept in the outbox; what was typed stays.
function ResolveForm({ busy, onResolve }) {
  const [outcome, setOutcome] = useState("genuine");
  const [report, setReport] = useState("");
  const [tried, setTried] = useState(false); // said only once a resolve was tried, then as the report changes
  const problem = tried ? reportProblem(report) : "";
  const submit = (event) => {
    event.preventDefault();
    setTried(true);
    if (!reportProblem(report)) onResolve(outcome, report.trim());
  };
  return html`<form class="resolve" onSubmit=${submit}>
    <h3>${t("officer.resolve.heading")}</h3>
    <label for="resolve-outcome">${t("officer.resolve.outcome")}</label>
    <select id="resolve-outcome" value=${outcome} onChange=${(e) => setOutcome(e.target.value)}>
      ${OUTCOMES.map((o) => html`<option value=${o}>${t(`common.outcome.${o}`)}</option>`)}
    </select>
    <label for="resolve-report">${t("officer.resolve.report")}</label>
    <textarea id="resolve-report" rows="3" maxlength="4000" placeholder=${t("officer.resolve.placeholder")}
      aria-invalid=${problem ? "true" : undefined} aria-describedby=${problem ? "resolve-problem" : undefined}
      value=${report} onInput=${(e) => setReport(e.target.value)}></textarea>
    ${problem && html`<p class="error" id="resolve-problem" role="alert">${problem}</p>`}
    <button type="submit" class="primary wide" disabled=${busy}>${t("officer.resolve.submit")}</button>
  </form>`;
}

function NoteForm({ busy, onNote }) {
  const [text, setText] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    if (text.trim() && (await onNote(text.trim()))) setText("");
  };
  return html`<form class="note" onSubmit=${submit}>
    <label for="note-text" class="sr-only">${t("officer.note.label")}</label>
    <input id="note-text" maxlength="4000" placeholder=${t("officer.note.label")} value=${text}
      onInput=${(e) => setText(e.target.value)} />
    <button type="submit" disabled=${busy || !text.trim()}>${t("officer.note.add")}</button>
  </form>`;
}

/**
 * `linked`: the alert a notification opened; the card scrolls into view and is marked. `queued`: this alert's
 * actions still waiting in the outbox (their buttons stay off; a waiting resolve replaces the form). `onAct(kind,
 * path, body)` hands an action to the outbox and resolves with its row once it is stored and first tried.
 */
export function AssignmentCard({ alert, where, linked = false, queued = [], onAct }) {
  const [busy, setBusy] = useState(false);
  const card = useRef(null);
  const links = routeLinks(alert, where());
  useEffect(() => {
    if (linked) card.current?.scrollIntoView({ block: "start" });
  }, [linked]);
  const waiting = new Set(queued.filter((row) => row.state === "pending").map((row) => row.kind));

  const act = async (kind, path, body = {}) => {
    setBusy(true);
    try {
      const position = where();
      const row = await onAct(kind, `/alerts/${alert.id}/${path}`, position ? { ...body, where: position } : body);
      return row.state !== "failed"; // kept or delivered; a refusal shows in the outbox panel
    } finally {
      setBusy(false);
    }
  };

  return html`
    <section class="card assignment ${linked ? "linked" : ""}" ref=${card} aria-labelledby="assignment-heading"
      data-testid="assignment" data-alert-id=${alert.id} aria-current=${linked ? "true" : undefined}>
      <div class="assignment-head">
        <h2 id="assignment-heading">${t(`common.category.${alert.category}`)}</h2>
        <span class="badge state-${alert.state}" data-testid="alert-state">${t(`common.state.${alert.state}`)}</span>
      </div>
      <p class="place">
        ${place(alert)} · <span class="muted">${coordinate(alert.lat)}, ${coordinate(alert.lon)}</span>
      </p>
      <${Caller} alert=${alert} />
      <div class="navigate">
        <a class="button primary" href=${links.geo} data-testid="nav-geo">${t("officer.navigate.app")}</a>
        <a class="button" href=${links.osm} target="_blank" rel="noopener noreferrer" data-testid="nav-osm">
          ${t("officer.navigate.osm")}</a>
        ${alert.resident.phone &&
        html`<a class="button call" href=${`tel:${alert.resident.phone}`}>${t("officer.assignment.call")}</a>`}
      </div>
      <div class="steps">
        <button type="button" class="step"
          disabled=${busy || alert.state !== "dispatched" || waiting.has("en_route") || waiting.has("on_scene")}
          onClick=${() => act("en_route", "en-route")}>${t("officer.step.en_route")}</button>
        <button type="button" class="step" disabled=${busy || alert.state === "on_scene" || waiting.has("on_scene")}
          onClick=${() => act("on_scene", "on-scene")}>${t("officer.step.on_scene")}</button>
      </div>
      ${waiting.has("resolve")
        ? html`<p class="queued" role="status" data-testid="resolve-queued">${t("officer.resolve.queued")}</p>`
        : html`<${ResolveForm} busy=${busy}
            onResolve=${(outcome, report) => act("resolve", "resolve", { outcome, report })} />`}
      <${NoteForm} busy=${busy} onNote=${(text) => act("note", "notes", { text })} />
    </section>
  `;
}
