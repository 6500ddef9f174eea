// Staff accounts: find one among hundreds (search, filters, pages), and look after it: edit name, role, agency, unit,
// phone and the language of Siaga's SMS to them; deactivate (its sessions and open screens end at once) or
// reactivate; set a new password. The server audits every change.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { Field, Loading, Problem, useLoad, useReveal } from "./view.js";

export const ROLES = ["operator", "officer", "supervisor", "admin"];
const PAGE = 50;

// Uncontrolled (defaultValue): the list reloading must not wipe what is being typed.
function Filters({ initial, onSearch }) {
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    onSearch({
      q: String(form.get("q")).trim() || undefined,
      role: form.get("role") || undefined,
      active: form.get("active") || undefined,
    });
  };
  return html`<form class="card filters" onSubmit=${submit} role="search">
    <${Field} id="staff-q" label=${t("admin.people.search")} hint=${t("admin.people.search_hint")}>
      <input id="staff-q" name="q" type="search" defaultValue=${initial.q || ""} />
    <//>
    <${Field} id="staff-filter-role" label=${t("admin.people.filter_role")}>
      <select id="staff-filter-role" name="role">
        <option value="">${t("admin.people.any_role")}</option>
        ${ROLES.map((r) => html`<option value=${r} selected=${initial.role === r}>${t(`admin.role.${r}`)}</option>`)}
      </select>
    <//>
    <${Field} id="staff-filter-active" label=${t("admin.people.filter_active")}>
      <select id="staff-filter-active" name="active">
        <option value="">${t("admin.people.any_state")}</option>
        <option value="true" selected=${initial.active === "true"}>${t("admin.people.only_active")}</option>
        <option value="false" selected=${initial.active === "false"}>${t("admin.people.only_inactive")}</option>
      </select>
    <//>
    <button class="primary" type="submit">${t("admin.people.search_button")}</button>
  </form>`;
}

/** The fields that differ from the account as it is (a PATCH sends only what changes). */
function changes(staff, form) {
  const values = Object.fromEntries(new FormData(form));
  const wanted = {
    name: String(values.name).trim(),
    role: values.role,
    agency_id: Number(values.agency_id),
    unit_id: values.unit_id ? Number(values.unit_id) : null,
    phone: String(values.phone || "").trim() || null,
    language: values.language,
  };
  return Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value !== staff[key]));
}

/** What an account without a second factor will be asked: administrators and supervisors must enrol one where the
 * server requires it; officers may enrol in their own app; the others are asked only once they enrolled. */
function factorOff(role, config) {
  const mustEnrol = (role === "admin" || role === "supervisor") && config?.second_factor_required;
  if (mustEnrol) return "admin.people.factor_off_required";
  return role === "officer" ? "admin.people.factor_off_officer" : "admin.people.factor_off_optional";
}

function Editor({ token, config, staff, agencies, units, onChanged, onClose }) {
  const reveal = useReveal();
  const [role, setRole] = useState(staff.role);
  const [agency, setAgency] = useState(String(staff.agency_id));
  const [error, setError] = useState(null);
  const [done, setDone] = useState("");
  const attempt = async (work, message) => {
    setError(null);
    setDone("");
    try {
      const result = await work();
      setDone(message);
      onChanged(result);
    } catch (err) {
      setError(err);
    }
  };
  const save = (event) => {
    event.preventDefault();
    const body = changes(staff, event.target);
    attempt(() => api(`/staff/${staff.id}`, { method: "PATCH", token, body }), t("admin.people.saved"));
  };
  const toggle = () => {
    const verb = staff.active ? "deactivate" : "activate";
    if (staff.active && !window.confirm(t("admin.people.deactivate_confirm", { username: staff.username }))) return;
    const message = t(`admin.people.${verb}d`, { username: staff.username });
    attempt(() => api(`/staff/${staff.id}/${verb}`, { method: "POST", token }), message);
  };
  const setPassword = (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { password: form.elements.password.value };
    attempt(async () => {
      await api(`/staff/${staff.id}/password`, { method: "PUT", token, body });
      form.reset();
      return staff;
    }, t("admin.people.password_set"));
  };
  const resetFactor = () => {
    if (!window.confirm(t("admin.people.reset_factor_confirm", { username: staff.username }))) return;
    attempt(async () => {
      await api(`/staff/${staff.id}/factor`, { method: "DELETE", token });
      return { ...staff, second_factor: false };
    }, t("admin.people.factor_reset", { username: staff.username }));
  };
  const agencyUnits = units.filter((u) => String(u.agency_id) === agency);
  return html`<section ref=${reveal} class="card detail" aria-labelledby="staff-edit-heading"
    data-testid="staff-editor">
    <h3 id="staff-edit-heading">${t("admin.people.edit_heading", { username: staff.username })}</h3>
    <form class="grid-form" onSubmit=${save}>
      <${Field} id="edit-name" label=${t("admin.people.name")}>
        <input id="edit-name" name="name" required maxlength="200" defaultValue=${staff.name} />
      <//>
      <${Field} id="edit-role" label=${t("admin.people.role")}>
        <select id="edit-role" name="role" value=${role} onChange=${(e) => setRole(e.target.value)}>
          ${ROLES.map((r) => html`<option value=${r}>${t(`admin.role.${r}`)}</option>`)}
        </select>
      <//>
      <${Field} id="edit-agency" label=${t("admin.people.agency")}>
        <select id="edit-agency" name="agency_id" required value=${agency} onChange=${(e) => setAgency(e.target.value)}>
          ${agencies.map((a) => html`<option value=${a.id}>${a.code} — ${a.name}</option>`)}
        </select>
      <//>
      <${Field} id="edit-unit" label=${t("admin.people.unit")} hint=${role === "officer" && t("admin.people.unit_hint")}>
        <select id="edit-unit" name="unit_id">
          <option value="">—</option>
          ${agencyUnits.map((u) => html`<option value=${u.id} selected=${u.id === staff.unit_id}>${u.callsign}</option>`)}
        </select>
      <//>
      <${Field} id="edit-phone" label=${t("admin.people.phone")}
        hint=${role === "officer" && t("admin.people.phone_hint")}>
        <input id="edit-phone" name="phone" type="tel" defaultValue=${staff.phone || ""} />
      <//>
      <${Field} id="edit-language" label=${t("admin.people.sms_language")}>
        <select id="edit-language" name="language">
          ${["id", "en"].map((code) => html`<option value=${code} selected=${(staff.language || "id") === code}>
            ${t(`admin.people.sms_language_${code}`)}</option>`)}
        </select>
      <//>
      <p class="hint">${t("admin.people.powers_hint")}</p>
      <button class="primary" type="submit">${t("admin.people.save")}</button>
    </form>
    <form class="grid-form" onSubmit=${setPassword}>
      <${Field} id="edit-password" label=${t("admin.people.new_password")} hint=${t("admin.people.password_hint")}>
        <input id="edit-password" name="password" type="password" required minlength="10" autocomplete="new-password" />
      <//>
      <button type="submit">${t("admin.people.set_password")}</button>
    </form>
    <${Problem} error=${error} />
    ${done && html`<p class="ok" role="status">${done}</p>`}
    <p class="hint" data-testid="second-factor">
      ${staff.second_factor ? t("admin.people.factor_on") : t(factorOff(staff.role, config))}</p>
    <div class="actions">
      ${staff.second_factor &&
      html`<button type="button" onClick=${resetFactor}>${t("admin.people.reset_factor")}</button>`}
      <button type="button" class=${staff.active ? "danger" : "primary"} onClick=${toggle}>
        ${staff.active ? t("admin.people.deactivate") : t("admin.people.activate")}</button>
      <button type="button" onClick=${onClose}>${t("common.close")}</button>
    </div>
  </section>`;
}

/** The staff list: a page at a time (one more row is asked for, to know whether another page follows). */
export function StaffSection({ me, config, agencies, units, reloadKey }) {
  const [filters, setFilters] = useState({});
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState(null);
  const staff = useLoad(
    () => api("/staff", { token: me.token, query: { ...filters, limit: PAGE + 1, offset } }),
    [me.token, JSON.stringify(filters), offset, reloadKey],
  );
  const rows = (staff.data || []).slice(0, PAGE);
  const more = (staff.data || []).length > PAGE;
  const agencyCode = new Map(agencies.map((a) => [a.id, a.code]));
  const callsign = new Map(units.map((u) => [u.id, u.callsign]));
  const isAdmin = me.role === "admin";
  const search = (next) => {
    setFilters(next);
    setOffset(0);
  };
  return html`
    <${Filters} initial=${filters} onSearch=${search} />
    <${Loading} state=${staff} />
    ${open &&
    html`<${Editor} key=${open.id} token=${me.token} config=${config} staff=${open} agencies=${agencies} units=${units}
      onChanged=${(changed) => {
        setOpen(changed);
        staff.reload();
      }}
      onClose=${() => setOpen(null)} />`}
    <div class="table-wrap">
      <table data-testid="staff">
        <thead><tr>
          <th>${t("common.username")}</th><th>${t("admin.people.name")}</th><th>${t("admin.people.role")}</th>
          <th>${t("admin.people.agency")}</th><th>${t("admin.people.unit")}</th><th>${t("admin.people.active")}</th>
          ${isAdmin && html`<th></th>`}
        </tr></thead>
        <tbody>
          ${rows.map(
            (s) => html`<tr key=${s.id} class=${s.active ? "" : "inactive"}>
              <td><code>${s.username}</code></td><td>${s.name}</td><td>${t(`admin.role.${s.role}`)}</td>
              <td>${agencyCode.get(s.agency_id) || s.agency_id}</td>
              <td>${s.unit_id ? callsign.get(s.unit_id) || s.unit_id : ""}</td>
              <td>${s.active ? t("admin.yes") : t("admin.no")}</td>
              ${isAdmin &&
              html`<td><button type="button" onClick=${() => setOpen(s)}>${t("admin.people.edit")}</button></td>`}
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${staff.data && !rows.length && html`<p class="muted">${t("admin.people.none")}</p>`}
    <nav class="pager" aria-label=${t("admin.people.pages")}>
      <button type="button" disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>
        ${t("admin.people.previous")}</button>
      ${rows.length > 0 &&
      html`<span data-testid="staff-range">
        ${t("admin.people.showing", { from: offset + 1, to: offset + rows.length })}</span>`}
      <button type="button" disabled=${!more} onClick=${() => setOffset(offset + PAGE)}>
        ${t("admin.people.next")}</button>
    </nav>
  `;
}
