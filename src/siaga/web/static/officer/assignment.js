// The unit's current assignment: who called and where, a route to the scene (links to the phone's own map apps:
// no map SDK), and the steps en route -> on scene -> resolved with a short report.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { reportProblem } from "../js/report.js";
import { place } from "./format.js";
import { myUnitOn } from "./feed.js";

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

// A unit that has taken its place on the alert and not left it: its officers add notes, as the lead's do.
const WORKING = ["assigned", "en_route", "on_scene"];
const WORKING_OR_ASKED = ["offered", ...WORKING];

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

// The lead's steps move the alert itself; a backup's move only its own unit on the alert, and it leaves instead of
// resolving (the lead or the command centre closes the alert).
function Steps({ alert, mine, busy, waiting, act }) {
  if (mine?.role !== "backup") {
    return html`<div class="steps">
      <button type="button" class="step"
        disabled=${busy || alert.state !== "dispatched" || waiting.has("en_route") || waiting.has("on_scene")}
        onClick=${() => act("en_route", "en-route")}>${t("officer.step.en_route")}</button>
      <button type="button" class="step" disabled=${busy || alert.state === "on_scene" || waiting.has("on_scene")}
        onClick=${() => act("on_scene", "on-scene")}>${t("officer.step.on_scene")}</button>
    </div>`;
  }
  const path = `units/${mine.unit_id}/state`;
  const pending = waiting.has("unit_en_route") || waiting.has("unit_on_scene") || waiting.has("unit_released");
  return html`<div class="steps" data-testid="backup-steps">
    <button type="button" class="step" disabled=${busy || pending || mine.state !== "assigned"}
      onClick=${() => act("unit_en_route", path, { state: "en_route" })}>${t("officer.step.en_route")}</button>
    <button type="button" class="step" disabled=${busy || pending || mine.state === "on_scene"}
      onClick=${() => act("unit_on_scene", path, { state: "on_scene" })}>${t("officer.step.on_scene")}</button>
    <button type="button" class="step" data-testid="backup-release" disabled=${busy || pending}
      onClick=${() => act("unit_released", path, { state: "released" })}>${t("officer.backup.release")}</button>
  </div>`;
}

// Other units on the alert, and the officers' open requests for more: every crew on scene sees who else is coming.
function OtherUnits({ alert, mine }) {
  const others = (alert.units || []).filter((u) => u.unit_id !== mine?.unit_id && WORKING_OR_ASKED.includes(u.state));
  const requests = alert.unit_requests || [];
  if (!others.length && !requests.length) return null;
  return html`<div class="other-units" data-testid="other-units">
    ${others.length > 0 &&
    html`<p>${t("officer.units.others")}:
      ${others.map((u) => `${u.callsign} (${t(`common.unit.${u.state}`)})`).join(", ")}</p>`}
    ${requests.map(
      (r) => html`<p class="muted" data-testid="open-request">
        ${t("officer.request.open", { kind: t(`officer.request.kind.${r.kind}`), agencies: r.agencies.join(", ") })}
      </p>`,
    )}
  </div>`;
}

// On scene, the crew asks for more: backup of its own type, or an ambulance (PSC 119 that covers the place is told).
function Requests({ alert, mine, busy, waiting, act }) {
  const onScene = mine?.role === "backup" ? mine.state === "on_scene" : alert.state === "on_scene";
  if (!onScene) return null;
  const asked = new Set((alert.unit_requests || []).map((r) => r.kind));
  const button = (kind) => html`<button type="button" data-testid=${`request-${kind}`}
      disabled=${busy || asked.has(kind) || waiting.has(`request_${kind}`)}
      onClick=${() => act(`request_${kind}`, "unit-requests", { kind })}>${t(`officer.request.${kind}`)}</button>`;
  return html`<div class="steps requests">${button("backup")}${button("ambulance")}</div>`;
}

/**
 * `linked`: the alert a notification opened; the card scrolls into view and is marked. `queued`: this alert's
 * actions still waiting in the outbox (their buttons stay off; a waiting resolve replaces the form). `onAct(kind,
 * path, body)` hands an action to the outbox and resolves with its row once it is stored and first tried.
 */
export function AssignmentCard({ alert, unitId, where, linked = false, queued = [], onAct }) {
  const [busy, setBusy] = useState(false);
  const mine = myUnitOn(alert, unitId);
  const backup = mine?.role === "backup";
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
        ${backup && html`<span class="badge" data-testid="backup-state">
          ${t("officer.backup.role")}: ${t(`common.unit.${mine.state}`)}</span>`}
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
      <${Steps} alert=${alert} mine=${mine} busy=${busy} waiting=${waiting} act=${act} />
      <${OtherUnits} alert=${alert} mine=${mine} />
      <${Requests} alert=${alert} mine=${mine} busy=${busy} waiting=${waiting} act=${act} />
      ${backup
        ? null
        : waiting.has("resolve")
          ? html`<p class="queued" role="status" data-testid="resolve-queued">${t("officer.resolve.queued")}</p>`
          : html`<${ResolveForm} busy=${busy}
              onResolve=${(outcome, report) => act("resolve", "resolve", { outcome, report })} />`}
      ${(!backup || WORKING.includes(mine.state)) &&
      html`<${NoteForm} busy=${busy} onNote=${(text) => act("note", "notes", { text })} />`}
    </section>
  `;
}
