// Staff accounts and units: who can log in to which app, and the units officers ride in.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { loadAgencies } from "./agencies.js";
import { ROLES, StaffSection } from "./staff.js";
import { Field, Loading, Problem, formValues, useLoad } from "./view.js";

const UNIT_KINDS = ["patrol_car", "motorbike", "foot", "post", "fire_engine", "ambulance", "rescue_team"];

function AgencySelect({ id, agencies, value, onChange }) {
  return html`<select id=${id} name="agency_id" required value=${value} onChange=${onChange}>
    <option value="">${t("admin.people.choose_agency")}</option>
    ${agencies.map((a) => html`<option value=${a.id}>${a.code} — ${a.name}</option>`)}
  </select>`;
}

function CreateStaff({ token, agencies, units, onCreated }) {
  const [agency, setAgency] = useState("");
  const [role, setRole] = useState("officer");
  const [error, setError] = useState(null);
  const [done, setDone] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setDone("");
    const values = formValues(event.target);
    const unit = values.unit_id ? Number(values.unit_id) : null;
    const body = { ...values, agency_id: Number(values.agency_id), unit_id: unit };
    try {
      const created = await api("/staff", { method: "POST", token, body });
      event.target.reset();
      setAgency("");
      setDone(t("admin.people.staff_created", { username: created.username }));
      onCreated();
    } catch (err) {
      setError(err);
    }
  };
  const agencyUnits = units.filter((u) => String(u.agency_id) === agency);
  return html`<form class="card grid-form" onSubmit=${submit}>
    <h3>${t("admin.people.create_staff")}</h3>
    <${Field} id="staff-username" label=${t("common.username")} hint=${t("admin.people.username_hint")}>
      <input id="staff-username" name="username" required pattern="[a-z0-9._\\-]{3,64}" autocomplete="off" />
    <//>
    <${Field} id="staff-name" label=${t("admin.people.name")}><input id="staff-name" name="name" required /><//>
    <${Field} id="staff-role" label=${t("admin.people.role")}>
      <select id="staff-role" name="role" value=${role} onChange=${(e) => setRole(e.target.value)}>
        ${ROLES.map((r) => html`<option value=${r}>${t(`admin.role.${r}`)}</option>`)}
      </select>
    <//>
    <${Field} id="staff-agency" label=${t("admin.people.agency")}>
      <${AgencySelect} id="staff-agency" agencies=${agencies} value=${agency}
        onChange=${(e) => setAgency(e.target.value)} />
    <//>
    ${role === "officer" &&
    html`<${Field} id="staff-unit" label=${t("admin.people.unit")} hint=${t("admin.people.unit_hint")}>
      <select id="staff-unit" name="unit_id">
        <option value="">—</option>
        ${agencyUnits.map((u) => html`<option value=${u.id}>${u.callsign}</option>`)}
      </select>
    <//>`}
    <${Field} id="staff-phone" label=${t("admin.people.phone")}><input id="staff-phone" name="phone" type="tel" /><//>
    <${Field} id="staff-password" label=${t("common.password")} hint=${t("admin.people.password_hint")}>
      <input id="staff-password" name="password" type="password" required minlength="10" autocomplete="new-password" />
    <//>
    <${Problem} error=${error} />
    ${done && html`<p class="ok" role="status">${done}</p>`}
    <button class="primary" type="submit">${t("admin.people.create_staff_button")}</button>
  </form>`;
}

function CreateUnit({ token, agencies, onCreated }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const values = formValues(event.target);
    try {
      await api("/units", { method: "POST", token, body: { ...values, agency_id: Number(values.agency_id) } });
      event.target.reset();
      onCreated();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card grid-form" onSubmit=${submit}>
    <h3>${t("admin.people.create_unit")}</h3>
    <${Field} id="unit-agency" label=${t("admin.people.agency")}>
      <${AgencySelect} id="unit-agency" agencies=${agencies} />
    <//>
    <${Field} id="unit-callsign" label=${t("admin.people.callsign")}>
      <input id="unit-callsign" name="callsign" required maxlength="64" />
    <//>
    <${Field} id="unit-kind" label=${t("admin.people.kind")}>
      <select id="unit-kind" name="kind">
        ${UNIT_KINDS.map((k) => html`<option value=${k}>${t(`admin.unit_kind.${k}`)}</option>`)}
      </select>
    <//>
    <${Problem} error=${error} />
    <button class="primary" type="submit">${t("admin.people.create_unit_button")}</button>
  </form>`;
}

export function PeoplePage({ me, config }) {
  const [created, setCreated] = useState(0); // a new account: the list reads again
  const units = useLoad(() => api("/units", { token: me.token }), [me.token]);
  const agencies = useLoad(() => loadAgencies(me.token), [me.token]);
  const agencyCode = new Map((agencies.data || []).map((a) => [a.id, a.code]));
  const isAdmin = me.role === "admin";
  return html`
    <h2>${t("admin.people.staff")}</h2>
    <${StaffSection} me=${me} config=${config} agencies=${agencies.data || []} units=${units.data || []}
      reloadKey=${created} />
    ${isAdmin &&
    html`<${CreateStaff} token=${me.token} agencies=${agencies.data || []} units=${units.data || []}
      onCreated=${() => setCreated(created + 1)} />`}
    <h2>${t("admin.people.units")}</h2>
    <${Loading} state=${units} />
    <div class="table-wrap">
      <table data-testid="units">
        <thead><tr>
          <th>${t("admin.people.callsign")}</th><th>${t("admin.people.kind")}</th><th>${t("admin.people.agency")}</th>
        </tr></thead>
        <tbody>
          ${(units.data || []).map(
            (u) => html`<tr key=${u.id}>
              <td><code>${u.callsign}</code></td><td>${t(`admin.unit_kind.${u.kind}`)}</td>
              <td>${agencyCode.get(u.agency_id) || u.agency_id}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${isAdmin &&
    html`<${CreateUnit} token=${me.token} agencies=${agencies.data || []} onCreated=${() => units.reload()} />`}
  `;
}
