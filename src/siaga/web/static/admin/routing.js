// Routing: which services each category's alerts go to (the first that covers the place is responsible, the others
// informed), and where each agency beside the police serves (its kecamatan, or a polygon of its own).
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { loadAgencies } from "./agencies.js";
import { readGeoJSON } from "./jurisdictions.js";
import { Field, Loading, Problem, useLoad, useReveal, when } from "./view.js";

export const SERVICES = ["police", "damkar", "psc119", "bpbd", "call_centre"];
const SLOTS = 3; // a row names at most this many services here (the API takes all five)
// The kinds of agency placed by service areas (the police are placed by the kecamatan -> agency table).
const AREA_KINDS = new Set(["damkar", "psc119", "bpbd", "call_centre"]);

function RoutingRow({ token, row, onSaved }) {
  const [error, setError] = useState(null);
  const [done, setDone] = useState(false);
  const [chosen, setChosen] = useState(() => Array.from({ length: SLOTS }, (_, slot) => row.services[slot] || ""));
  const choose = (slot, value) => setChosen(chosen.map((old, at) => (at === slot ? value : old)));
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setDone(false);
    const services = chosen.filter(Boolean);
    try {
      await api(`/routing/${encodeURIComponent(row.category)}`, { method: "PUT", token, body: { services } });
      setDone(true);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return html`<tr data-category=${row.category}>
    <th scope="row">${t(`common.category.${row.category}`)}</th>
    <td>
      <form class="route-row" onSubmit=${submit} aria-label=${t("admin.routing.row", { category: row.category })}>
        ${Array.from({ length: SLOTS }, (_, slot) => {
          const id = `route-${row.category}-${slot}`;
          return html`<label class="sr-only" for=${id}>${t("admin.routing.slot", { n: slot + 1 })}</label>
            <select id=${id} name=${`service-${slot}`} value=${chosen[slot]}
              onChange=${(e) => choose(slot, e.target.value)}>
              <option value="">—</option>
              ${SERVICES.map((s) => html`<option value=${s}>${t(`admin.service.${s}`)}</option>`)}
            </select>`;
        })}
        <button type="submit">${t("common.save")}</button>
        ${done && html`<span class="ok" role="status">${t("admin.saved")}</span>`}
        <${Problem} error=${error} />
      </form>
    </td>
  </tr>`;
}

function AreaEditor({ token, agency, area, kecamatan, onSaved, onClose }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const reveal = useReveal();
  const chosen = new Set(area?.kecamatan || []);
  const save = async (body) => {
    setBusy(true);
    setError(null);
    try {
      await api(`/agencies/${encodeURIComponent(agency.code)}/service-area`, { method: "PUT", token, body });
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const saveKecamatan = (event) => {
    event.preventDefault();
    const picked = [...event.target.elements.kecamatan.selectedOptions].map((o) => o.value);
    save({ kecamatan: picked });
  };
  const upload = async (event) => {
    event.preventDefault();
    const file = event.target.elements.area.files[0];
    if (!file) return;
    try {
      save({ geojson: await readGeoJSON(file) });
    } catch (err) {
      setError(err);
    }
  };
  return html`<div ref=${reveal} class="card settings" data-testid="service-area-editor">
    <h3>${t("admin.areas.heading", { agency: agency.name })}</h3>
    <form onSubmit=${saveKecamatan}>
      <${Field} id="area-kecamatan" label=${t("admin.areas.kecamatan")} hint=${t("admin.areas.kecamatan_hint")}>
        <select id="area-kecamatan" name="kecamatan" multiple size="8">
          ${kecamatan.map(
            (k) => html`<option value=${k.code} selected=${chosen.has(k.code)}>${k.code} ${k.name}</option>`,
          )}
        </select>
      <//>
      <button class="primary" type="submit" disabled=${busy}>${t("admin.areas.save_kecamatan")}</button>
    </form>
    <form onSubmit=${upload}>
      <label for="area-file">${t("admin.areas.polygon")}</label>
      <p class="hint">${t("admin.areas.polygon_hint")}</p>
      <input id="area-file" name="area" type="file" required
        accept=".geojson,.json,application/geo+json,application/json" />
      <button type="submit" disabled=${busy}>${t("admin.areas.upload")}</button>
    </form>
    <${Problem} error=${error} />
    <div class="actions"><button type="button" onClick=${onClose}>${t("common.close")}</button></div>
  </div>`;
}

function areaText(area) {
  if (!area) return t("admin.areas.none");
  if (area.polygon) return t("admin.areas.has_polygon");
  return t("admin.areas.kecamatan_count", { count: area.kecamatan.length });
}

export function RoutingPage({ me }) {
  const table = useLoad(() => api("/routing", { token: me.token }), [me.token]);
  const agencies = useLoad(() => loadAgencies(me.token), [me.token]);
  const areas = useLoad(() => api("/service-areas", { token: me.token }), [me.token]);
  const kecamatan = useLoad(() => api("/jurisdictions", { token: me.token }), [me.token]);
  const [editing, setEditing] = useState(null);
  const byCode = new Map((areas.data || []).map((a) => [a.agency_code, a]));
  const served = (agencies.data || []).filter((a) => AREA_KINDS.has(a.kind));
  const editedAgency = served.find((a) => a.code === editing);
  return html`
    <h2>${t("admin.tab.routing")}</h2>
    <p class="hint">${t("admin.routing.intro")}</p>
    <${Loading} state=${table} />
    <div class="table-wrap">
      <table data-testid="routing">
        <thead><tr><th>${t("admin.routing.category")}</th><th>${t("admin.routing.services")}</th></tr></thead>
        <tbody>
          ${(table.data || []).map(
            (row) => html`<${RoutingRow} key=${row.category} token=${me.token} row=${row} onSaved=${table.reload} />`,
          )}
        </tbody>
      </table>
    </div>
    <h3>${t("admin.areas.title")}</h3>
    <p class="hint">${t("admin.areas.intro")}</p>
    <${Loading} state=${areas} />
    ${editedAgency &&
    html`<${AreaEditor} key=${editing} token=${me.token} agency=${editedAgency} area=${byCode.get(editing)}
      kecamatan=${kecamatan.data || []} onSaved=${() => { areas.reload(); setEditing(null); }}
      onClose=${() => setEditing(null)} />`}
    <div class="table-wrap">
      <table data-testid="service-areas">
        <thead><tr>
          <th>${t("admin.agencies.code")}</th><th>${t("admin.agencies.name")}</th><th>${t("admin.agencies.kind")}</th>
          <th>${t("admin.areas.area")}</th><th>${t("admin.areas.updated")}</th><th></th>
        </tr></thead>
        <tbody>
          ${served.map(
            (a) => html`<tr key=${a.id}>
              <td><code>${a.code}</code></td><td>${a.name}</td><td>${t(`admin.kind.${a.kind}`)}</td>
              <td>${areaText(byCode.get(a.code))}</td><td>${when(byCode.get(a.code)?.updated_at)}</td>
              <td><button type="button" onClick=${() => setEditing(a.code)}>${t("admin.areas.edit")}</button></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  `;
}
