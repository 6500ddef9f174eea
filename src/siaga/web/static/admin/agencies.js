// Agencies: the hierarchy (command centre -> Polda -> Polres -> Polsek; Damkar, PSC 119, BPBD, the city call centre),
// new agencies, and each agency's direct offers.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { Field, Loading, Problem, formValues, useLoad, useReveal } from "./view.js";

const KINDS = ["command_centre", "polda", "polres", "polsek", "damkar", "psc119", "bpbd", "call_centre"];

export function loadAgencies(token) {
  return api("/agencies", { token });
}

function CreateAgency({ token, agencies, onCreated }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const created = await api("/agencies", { method: "POST", token, body: formValues(event.target) });
      event.target.reset();
      onCreated(created);
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card grid-form" onSubmit=${submit} aria-labelledby="new-agency">
    <h3 id="new-agency">${t("admin.agencies.create")}</h3>
    <${Field} id="agency-code" label=${t("admin.agencies.code")} hint=${t("admin.agencies.code_hint")}>
      <input id="agency-code" name="code" required pattern="[A-Za-z0-9._\\-]{2,64}" />
    <//>
    <${Field} id="agency-name" label=${t("admin.agencies.name")}>
      <input id="agency-name" name="name" required minlength="2" />
    <//>
    <${Field} id="agency-kind" label=${t("admin.agencies.kind")}>
      <select id="agency-kind" name="kind">
        ${KINDS.map((k) => html`<option value=${k}>${t(`admin.kind.${k}`)}</option>`)}
      </select>
    <//>
    <${Field} id="agency-parent" label=${t("admin.agencies.parent")}>
      <select id="agency-parent" name="parent_code">
        <option value="">${t("admin.agencies.no_parent")}</option>
        ${agencies.map((a) => html`<option value=${a.code}>${a.code} — ${a.name}</option>`)}
      </select>
    <//>
    <${Field} id="agency-phone" label=${t("admin.agencies.phone")}>
      <input id="agency-phone" name="phone" type="tel" />
    <//>
    <${Problem} error=${error} />
    <button class="primary" type="submit">${t("admin.agencies.create_button")}</button>
  </form>`;
}

// `server` is the web configuration: it holds the server's escalation timers, which an agency follows unless it
// sets its own.
function DispatchSettings({ token, agency, server, onSaved, onClose }) {
  const [error, setError] = useState(null);
  const [done, setDone] = useState(false);
  const values = agency;
  const reveal = useReveal();
  const timer = (value) => (value === undefined || value === "" ? null : Number(value));

  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setDone(false);
    const form = formValues(event.target);
    const body = {
      direct_offers: form.direct_offers,
      offer_size: Number(form.offer_size),
      offer_timeout_seconds: Number(form.offer_timeout_seconds),
      offer_radius_m: Number(form.offer_radius_m),
      ack_timeout_seconds: timer(form.ack_timeout_seconds),
      dispatch_timeout_seconds: timer(form.dispatch_timeout_seconds),
    };
    try {
      await api(`/agencies/${encodeURIComponent(agency.code)}/dispatch-settings`, { method: "PUT", token, body });
      setDone(true);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };

  const fallback = (key) => t("admin.dispatch.server_default", { seconds: server[key] });
  return html`<form ref=${reveal} class="card settings" onSubmit=${submit} aria-labelledby="settings-heading"
    data-testid="dispatch-settings">
    <h3 id="settings-heading">${t("admin.dispatch.heading", { agency: agency.name })}</h3>
    <label class="check"><input type="checkbox" name="direct_offers" defaultChecked=${values.direct_offers} />
      ${t("admin.dispatch.direct_offers")}</label>
    <${Field} id="offer-size" label=${t("admin.dispatch.offer_size")}>
      <input id="offer-size" name="offer_size" type="number" min="1" max="20" required
        defaultValue=${values.offer_size} />
    <//>
    <${Field} id="offer-timeout" label=${t("admin.dispatch.offer_timeout")}>
      <input id="offer-timeout" name="offer_timeout_seconds" type="number" min="10" max="600" required
        defaultValue=${values.offer_timeout_seconds} />
    <//>
    <${Field} id="offer-radius" label=${t("admin.dispatch.offer_radius")} hint=${t("admin.dispatch.radius_hint")}>
      <input id="offer-radius" name="offer_radius_m" type="number" min="100" max="50000" step="100" required
        defaultValue=${values.offer_radius_m} />
    <//>
    <${Field} id="ack-timeout" label=${t("admin.dispatch.t1")} hint=${fallback("ack_timeout_seconds")}>
      <input id="ack-timeout" name="ack_timeout_seconds" type="number" min="10" max="3600"
        defaultValue=${values.ack_timeout_seconds ?? ""} placeholder=${server.ack_timeout_seconds} />
    <//>
    <${Field} id="dispatch-timeout" label=${t("admin.dispatch.t2")} hint=${fallback("dispatch_timeout_seconds")}>
      <input id="dispatch-timeout" name="dispatch_timeout_seconds" type="number" min="10" max="3600"
        defaultValue=${values.dispatch_timeout_seconds ?? ""}
        placeholder=${server.dispatch_timeout_seconds} />
    <//>
    <${Problem} error=${error} />
    ${done && html`<p class="ok" role="status">${t("admin.saved")}</p>`}
    <div class="actions">
      <button class="primary" type="submit">${t("common.save")}</button>
      <button type="button" onClick=${onClose}>${t("common.close")}</button>
    </div>
  </form>`;
}

export function AgenciesPage({ me, config }) {
  const agencies = useLoad(() => loadAgencies(me.token), [me.token]);
  const [editing, setEditing] = useState(null);
  const list = agencies.data || [];
  const byId = new Map(list.map((a) => [a.id, a]));
  const byCode = new Map(list.map((a) => [a.code, a]));
  return html`
    <h2>${t("admin.tab.agencies")}</h2>
    <${Loading} state=${agencies} />
    ${editing &&
    html`<${DispatchSettings} key=${editing} token=${me.token} agency=${byCode.get(editing) || {}} server=${config}
      onSaved=${agencies.reload} onClose=${() => setEditing(null)} />`}
    <div class="table-wrap">
      <table data-testid="agencies">
        <thead><tr>
          <th>${t("admin.agencies.code")}</th><th>${t("admin.agencies.name")}</th><th>${t("admin.agencies.kind")}</th>
          <th>${t("admin.agencies.parent")}</th><th>${t("admin.agencies.phone")}</th><th></th>
        </tr></thead>
        <tbody>
          ${list.map(
            (a) => html`<tr key=${a.id}>
              <td><code>${a.code}</code></td><td>${a.name}</td><td>${t(`admin.kind.${a.kind}`)}</td>
              <td>${byId.get(a.parent_id)?.code || "—"}</td><td>${a.phone || ""}</td>
              <td><button type="button" onClick=${() => setEditing(a.code)}>${t("admin.dispatch.open")}</button></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <${CreateAgency} token=${me.token} agencies=${list} onCreated=${() => agencies.reload()} />
  `;
}
