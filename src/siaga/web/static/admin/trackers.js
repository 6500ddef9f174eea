// Trackers: GPS trackers and Traccar Client phones reporting over OsmAnd to /osmand, each held by a resident (its
// alarm=sos raises their SOS) or by a unit (its positions move the unit). Register, disable, enable and remove them.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { Field, Loading, Problem, formValues, useLoad, when } from "./view.js";

function AddTracker({ token, onAdded }) {
  const [error, setError] = useState(null);
  const [holder, setHolder] = useState("resident");
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const { kind, ...body } = formValues(event.target);
    try {
      await api("/trackers", { method: "POST", token, body });
      event.target.reset();
      setHolder("resident");
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card grid-form" onSubmit=${submit} aria-labelledby="new-tracker">
    <h3 id="new-tracker">${t("admin.trackers.add")}</h3>
    <${Field} id="tracker-device" label=${t("admin.trackers.device_id")} hint=${t("admin.trackers.device_hint")}>
      <input id="tracker-device" name="device_id" required maxlength="64" pattern="[A-Za-z0-9._:\\-]+" />
    <//>
    <${Field} id="tracker-label" label=${t("admin.trackers.label")}>
      <input id="tracker-label" name="label" maxlength="200" />
    <//>
    <${Field} id="tracker-kind" label=${t("admin.trackers.holder")}>
      <select id="tracker-kind" name="kind" value=${holder} onChange=${(e) => setHolder(e.target.value)}>
        <option value="resident">${t("admin.trackers.for_resident")}</option>
        <option value="unit">${t("admin.trackers.for_unit")}</option>
      </select>
    <//>
    ${holder === "resident"
      ? html`<${Field} id="tracker-phone" label=${t("admin.trackers.resident_phone")}>
          <input id="tracker-phone" name="resident_phone" type="tel" required />
        <//>`
      : html`<${Field} id="tracker-unit" label=${t("admin.trackers.unit_callsign")}>
          <input id="tracker-unit" name="unit_callsign" required />
        <//>`}
    <${Problem} error=${error} />
    <button class="primary" type="submit">${t("admin.trackers.add_button")}</button>
  </form>`;
}

export function TrackersPage({ me }) {
  const trackers = useLoad(() => api("/trackers", { token: me.token }), [me.token]);
  const [error, setError] = useState(null);
  const change = async (tracker, request) => {
    setError(null);
    try {
      await api(`/trackers/${tracker.id}`, { token: me.token, ...request });
      trackers.reload();
    } catch (err) {
      setError(err);
    }
  };
  const remove = (tracker) => {
    if (window.confirm(t("admin.trackers.remove_confirm", { device: tracker.device_id }))) {
      change(tracker, { method: "DELETE" });
    }
  };
  const list = trackers.data || [];
  return html`
    <h2>${t("admin.tab.trackers")}</h2>
    <p class="muted">${t("admin.trackers.intro", { url: `${location.origin}/osmand` })}</p>
    <${Loading} state=${trackers} />
    <${Problem} error=${error} />
    <div class="table-wrap">
      <table data-testid="trackers">
        <thead><tr>
          <th>${t("admin.trackers.device_id")}</th><th>${t("admin.trackers.label")}</th>
          <th>${t("admin.trackers.holder")}</th><th>${t("admin.trackers.state")}</th>
          <th>${t("admin.trackers.added")}</th><th></th>
        </tr></thead>
        <tbody>
          ${list.map(
            (tr) => html`<tr key=${tr.id}>
              <td><code>${tr.device_id}</code></td><td>${tr.label}</td>
              <td>${tr.unit_callsign
                ? t("admin.trackers.unit", { callsign: tr.unit_callsign })
                : t("admin.trackers.resident", { name: tr.resident_name || "—", phone: tr.resident_phone })}</td>
              <td>${t(tr.enabled ? "admin.trackers.enabled" : "admin.trackers.disabled")}</td>
              <td>${when(tr.created_at)}</td>
              <td class="actions">
                <button type="button" onClick=${() => change(tr, { method: "PATCH", body: { enabled: !tr.enabled } })}>
                  ${t(tr.enabled ? "admin.trackers.disable" : "admin.trackers.enable")}</button>
                <button type="button" onClick=${() => remove(tr)}>${t("admin.trackers.remove")}</button>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${list.length === 0 && !trackers.loading && html`<p class="muted">${t("admin.trackers.none")}</p>`}
    <${AddTracker} token=${me.token} onAdded=${trackers.reload} />
  `;
}
