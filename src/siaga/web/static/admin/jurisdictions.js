// Jurisdictions: upload kecamatan polygons (GeoJSON), see them on the map, and set which agencies serve each.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { loadAgencies } from "./agencies.js";
import { JurisdictionMap } from "./jurisdiction-map.js";
import { Loading, Problem, useLoad, useReveal } from "./view.js";

export async function readGeoJSON(file) {
  const text = await file.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    // Not even JSON: the server could only say the same less precisely, so say it here, in the admin's language:
    // the browser's own message is English, so only the place it names (when it names one) is kept.
    const at = /position (\d+)/.exec(error.message);
    const before = at ? text.slice(0, Number(at[1])).split("\n") : null;
    const message = before
      ? t("admin.jurisdictions.not_json_at", { line: before.length, column: before.at(-1).length + 1 })
      : t("admin.jurisdictions.not_json");
    throw Object.assign(new Error(message), { local: true });
  }
}

function Upload({ token, onImported }) {
  const [error, setError] = useState(null);
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const file = event.target.elements.geojson.files[0];
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const doc = await readGeoJSON(file);
      // A city's kecamatan file may take minutes on a slow link: no time limit.
      const imported = await api("/jurisdictions/import", { method: "POST", token, body: doc, waitMs: 0 });
      setResult(imported);
      onImported([...imported.created, ...imported.updated]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card upload" onSubmit=${submit}>
    <h3>${t("admin.jurisdictions.upload")}</h3>
    <p class="hint">${t("admin.jurisdictions.upload_hint")}</p>
    <label for="geojson-file">${t("admin.jurisdictions.file")}</label>
    <input id="geojson-file" name="geojson" type="file" required
      accept=".geojson,.json,application/geo+json,application/json" />
    <button class="primary" type="submit" disabled=${busy}>${t("admin.jurisdictions.upload_button")}</button>
    <${Problem} error=${error} />
    ${result &&
    html`<p class="ok" role="status" data-testid="import-result">
      ${t("admin.jurisdictions.imported", {
        created: result.created.length,
        updated: result.updated.length,
        total: result.total,
      })}
    </p>`}
  </form>`;
}

function AgencyEditor({ token, jurisdiction, agencies, onSaved, onCancel }) {
  const [links, setLinks] = useState(jurisdiction.agencies.map((a) => ({ ...a })));
  const [adding, setAdding] = useState("");
  const [error, setError] = useState(null);
  const reveal = useReveal();
  const unused = agencies.filter((a) => !links.some((l) => l.agency_code === a.code));

  const makePrimary = (code) => setLinks(links.map((l) => ({ ...l, is_primary: l.agency_code === code })));
  const add = () => {
    if (!adding) return;
    setLinks([...links, { agency_code: adding, is_primary: links.length === 0 }]);
    setAdding("");
  };
  const save = async () => {
    setError(null);
    try {
      const body = { agencies: links };
      const path = `/jurisdictions/${encodeURIComponent(jurisdiction.code)}/agencies`;
      onSaved(await api(path, { method: "PUT", token, body }));
    } catch (err) {
      setError(err);
    }
  };

  return html`<div ref=${reveal} class="editor" data-testid="agency-editor">
    <fieldset>
      <legend>${t("admin.jurisdictions.edit_heading", { name: jurisdiction.name })}</legend>
      ${links.map(
        (link) => html`<div class="link-row" key=${link.agency_code}>
          <label class="check">
            <input type="radio" name=${`primary-${jurisdiction.code}`} checked=${link.is_primary}
              onChange=${() => makePrimary(link.agency_code)} />
            ${link.agency_code} <span class="hint">${t("admin.jurisdictions.primary")}</span>
          </label>
          <button type="button" onClick=${() => setLinks(links.filter((l) => l.agency_code !== link.agency_code))}>
            ${t("admin.jurisdictions.remove")}</button>
        </div>`,
      )}
      <div class="link-row">
        <label class="sr-only" for=${`add-${jurisdiction.code}`}>${t("admin.jurisdictions.add_agency")}</label>
        <select id=${`add-${jurisdiction.code}`} value=${adding} onChange=${(e) => setAdding(e.target.value)}>
          <option value="">${t("admin.jurisdictions.choose_agency")}</option>
          ${unused.map((a) => html`<option value=${a.code}>${a.code} — ${a.name}</option>`)}
        </select>
        <button type="button" onClick=${add} disabled=${!adding}>${t("admin.jurisdictions.add")}</button>
      </div>
    </fieldset>
    <${Problem} error=${error} />
    <div class="actions">
      <button type="button" class="primary" onClick=${save} disabled=${!links.length}>${t("common.save")}</button>
      <button type="button" onClick=${onCancel}>${t("common.cancel")}</button>
    </div>
  </div>`;
}

function JurisdictionRow({ token, jurisdiction, agencies, editing, selected, onEdit, onSaved }) {
  return html`<tr class=${selected ? "selected" : ""} data-code=${jurisdiction.code}>
    <td><code>${jurisdiction.code}</code></td>
    <td>${jurisdiction.name}</td>
    <td>
      ${editing
        ? html`<${AgencyEditor} token=${token} jurisdiction=${jurisdiction} agencies=${agencies}
            onSaved=${onSaved} onCancel=${() => onEdit(null)} />`
        : jurisdiction.agencies.length
          ? jurisdiction.agencies.map(
              (a) => html`<span class=${a.is_primary ? "agency primary" : "agency"}>${a.agency_code}</span> `,
            )
          : html`<span class="warn">${t("admin.jurisdictions.none")}</span>`}
    </td>
    <td>
      ${!editing &&
      html`<button type="button" onClick=${() => onEdit(jurisdiction.code)}>${t("admin.jurisdictions.edit")}</button>`}
    </td>
  </tr>`;
}

export function JurisdictionsPage({ me, config }) {
  const jurisdictions = useLoad(() => api("/jurisdictions", { token: me.token }), [me.token]);
  const agencies = useLoad(() => loadAgencies(me.token), [me.token]);
  const [revision, setRevision] = useState(0);
  const [highlight, setHighlight] = useState([]);
  const [editing, setEditing] = useState(null);
  const [filter, setFilter] = useState("");
  const [selected, setSelected] = useState(null);

  const imported = (codes) => {
    setHighlight(codes);
    setRevision((n) => n + 1);
    jurisdictions.reload();
  };
  const saved = () => {
    setEditing(null);
    setRevision((n) => n + 1);
    jurisdictions.reload();
  };
  const needle = filter.trim().toLowerCase();
  const rows = (jurisdictions.data || []).filter(
    (j) => !needle || j.name.toLowerCase().includes(needle) || j.code.includes(needle),
  );

  return html`
    <h2>${t("admin.tab.jurisdictions")}</h2>
    <div class="split">
      <${Upload} token=${me.token} onImported=${imported} />
      <${JurisdictionMap} config=${config} token=${me.token} revision=${revision} highlight=${highlight}
        onSelect=${(code) => {
          setSelected(code);
          setFilter(code);
        }} />
    </div>
    <${Loading} state=${jurisdictions} />
    <label for="jurisdiction-filter">${t("admin.jurisdictions.filter")}</label>
    <input id="jurisdiction-filter" type="search" value=${filter} onInput=${(e) => setFilter(e.target.value)} />
    <div class="table-wrap">
      <table data-testid="jurisdictions">
        <thead><tr>
          <th>${t("admin.jurisdictions.code")}</th><th>${t("admin.jurisdictions.name")}</th>
          <th>${t("admin.jurisdictions.agencies")}</th><th></th>
        </tr></thead>
        <tbody>
          ${rows.map(
            (j) => html`<${JurisdictionRow} key=${j.code} token=${me.token} jurisdiction=${j}
              agencies=${agencies.data || []} editing=${editing === j.code} selected=${selected === j.code}
              onEdit=${setEditing} onSaved=${saved} />`,
          )}
        </tbody>
      </table>
    </div>
    <p class="hint">
      ${t("admin.jurisdictions.count", { shown: rows.length, total: (jurisdictions.data || []).length })}
    </p>
  `;
}
