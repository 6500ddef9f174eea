// The audit log: who did what to whom, when and from where, newest first, with filters and paging.
// The filters live in the URL (see route.js), so "this resident's audit trail" is a link.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { go } from "./route.js";
import { Field, Loading, Problem, useLoad, when } from "./view.js";

const PAGE = 100;
const TEXT_FILTERS = ["action", "actor_id", "target_type", "target_id"];
const OUTCOMES = ["success", "failure", "denied"];

/** datetime-local gives the admin's local time without a zone; the API wants an instant. */
function instant(local) {
  return local ? new Date(local).toISOString() : undefined;
}

function localInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

// The forms here are uncontrolled (defaultValue): a re-render when data arrives must not wipe what is being typed.
function Filters({ params }) {
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const chosen = {};
    for (const name of TEXT_FILTERS) {
      const value = String(form.get(name) || "").trim();
      if (value) chosen[name] = value;
    }
    if (form.get("outcome")) chosen.outcome = form.get("outcome");
    for (const name of ["since", "until"]) {
      const value = instant(form.get(name));
      if (value) chosen[name] = value;
    }
    go("audit", chosen);
  };
  return html`<form class="card filters audit-filters" onSubmit=${submit} role="search" data-testid="audit-filters">
    ${TEXT_FILTERS.map(
      (name) => html`<${Field} id=${`audit-${name}`} label=${t(`admin.audit.${name}`)}>
        <input id=${`audit-${name}`} name=${name} defaultValue=${params[name] || ""} />
      <//>`,
    )}
    <${Field} id="audit-outcome" label=${t("admin.audit.outcome")}>
      <select id="audit-outcome" name="outcome">
        <option value="">${t("admin.audit.any")}</option>
        ${OUTCOMES.map(
          (o) => html`<option value=${o} selected=${params.outcome === o}>${t(`admin.audit.outcome_${o}`)}</option>`,
        )}
      </select>
    <//>
    <${Field} id="audit-since" label=${t("admin.audit.since")}>
      <input id="audit-since" name="since" type="datetime-local" defaultValue=${localInput(params.since)} />
    <//>
    <${Field} id="audit-until" label=${t("admin.audit.until")}>
      <input id="audit-until" name="until" type="datetime-local" defaultValue=${localInput(params.until)} />
    <//>
    <div class="actions">
      <button class="primary" type="submit">${t("admin.audit.apply")}</button>
      <button type="button" onClick=${() => go("audit", { outcome: "denied" })}>${t("admin.audit.only_denied")}</button>
      <button type="button" onClick=${() => go("audit")}>${t("admin.audit.clear")}</button>
    </div>
  </form>`;
}

/** The outcome, and for a refused request a marker that stands out; a summary record says how many it counts. */
function Outcome({ record }) {
  const label = t(`admin.audit.outcome_${record.outcome}`);
  if (record.outcome !== "denied") return label;
  const more = record.action === "access.denied.more" ? record.detail.requests : 0;
  return html`<span class="badge denied" data-testid="denied">${label}</span>
    ${more > 0 && html`<br /><strong data-testid="denied-more">${t("admin.audit.more_denied", { n: more })}</strong>`}`;
}

function detailText(detail) {
  const entries = Object.entries(detail || {});
  const shown = ([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`;
  return entries.map(shown).join(" · ");
}

export function AuditPage({ me, params }) {
  const first = useLoad(() => api("/audit", { token: me.token, query: { ...params, limit: PAGE } }), [me.token]);
  const [older, setOlder] = useState([]);
  const [more, setMore] = useState({ error: null, done: false });
  const rows = [...(first.data || []), ...older];

  const loadOlder = async () => {
    try {
      const query = { ...params, limit: PAGE, before_id: rows.at(-1).id };
      const page = await api("/audit", { token: me.token, query });
      setOlder([...older, ...page]);
      setMore({ error: null, done: page.length < PAGE });
    } catch (error) {
      setMore({ error, done: false });
    }
  };

  return html`
    <h2>${t("admin.tab.audit")}</h2>
    <${Filters} params=${params} />
    <${Loading} state=${first} />
    <div class="table-wrap">
      <table data-testid="audit">
        <thead><tr>
          <th>${t("admin.audit.at")}</th><th>${t("admin.audit.actor")}</th><th>${t("admin.audit.what")}</th>
          <th>${t("admin.audit.target")}</th><th>${t("admin.audit.outcome")}</th><th>${t("admin.audit.detail")}</th>
        </tr></thead>
        <tbody>
          ${rows.map(
            (r) => html`<tr key=${r.id} class=${`outcome-${r.outcome}`}>
              <td>${when(r.at)}</td>
              <td>${r.actor_name} <span class="hint">${r.actor_id}</span></td>
              <td><code>${r.action}</code></td>
              <td>${r.target_type && html`${r.target_type}<br /><span class="hint">${r.target_id}</span>`}</td>
              <td><${Outcome} record=${r} /></td>
              <td class="detail">${detailText(r.detail)} <span class="hint">${r.client_ip}</span></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${first.data && !rows.length && html`<p class="muted">${t("admin.audit.none")}</p>`}
    <${Problem} error=${more.error} />
    ${rows.length >= PAGE &&
    !more.done &&
    html`<button type="button" onClick=${loadOlder}>${t("admin.audit.older")}</button>`}
  `;
}
