// Panic buttons: sites (a bank, a shop, a school) with buttons that publish over MQTT. Register sites and buttons
// (a button's broker password is shown once), disable and enable them, and read the broker's generated files.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { Field, Loading, Problem, formValues, useLoad, when } from "./view.js";

function AddSite({ token, agencies, onAdded }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const { contact_name, contact_phone, contact_role, ...values } = formValues(event.target);
    const body = { ...values, lat: Number(values.lat), lon: Number(values.lon), agency_id: Number(values.agency_id) };
    body.contacts = contact_name && contact_phone
      ? [{ name: contact_name, phone: contact_phone, role: contact_role || "" }]
      : [];
    try {
      await api("/devices/sites", { method: "POST", token, body });
      event.target.reset();
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card grid-form" onSubmit=${submit} aria-labelledby="new-site">
    <h3 id="new-site">${t("admin.devices.add_site")}</h3>
    <${Field} id="site-name" label=${t("admin.devices.site_name")}>
      <input id="site-name" name="name" required minlength="2" maxlength="200" />
    <//>
    <${Field} id="site-address" label=${t("admin.devices.address")}>
      <input id="site-address" name="address" maxlength="4000" />
    <//>
    <${Field} id="site-lat" label=${t("admin.devices.lat")}>
      <input id="site-lat" name="lat" type="number" step="any" min="-90" max="90" required />
    <//>
    <${Field} id="site-lon" label=${t("admin.devices.lon")}>
      <input id="site-lon" name="lon" type="number" step="any" min="-180" max="180" required />
    <//>
    <${Field} id="site-floor" label=${t("admin.devices.floor_notes")} hint=${t("admin.devices.floor_hint")}>
      <input id="site-floor" name="floor_notes" maxlength="4000" />
    <//>
    <${Field} id="site-agency" label=${t("admin.devices.agency")}>
      <select id="site-agency" name="agency_id" required>
        ${agencies.map((a) => html`<option value=${a.id}>${a.code} · ${a.name}</option>`)}
      </select>
    <//>
    <${Field} id="site-contact-name" label=${t("admin.devices.contact_name")}>
      <input id="site-contact-name" name="contact_name" maxlength="200" />
    <//>
    <${Field} id="site-contact-phone" label=${t("admin.devices.contact_phone")}>
      <input id="site-contact-phone" name="contact_phone" type="tel" maxlength="32" />
    <//>
    <${Field} id="site-contact-role" label=${t("admin.devices.contact_role")}>
      <input id="site-contact-role" name="contact_role" maxlength="200" />
    <//>
    <${Problem} error=${error} />
    <button class="primary" type="submit">${t("admin.devices.add_site_button")}</button>
  </form>`;
}

function AddDevice({ token, sites, onAdded }) {
  const [error, setError] = useState(null);
  const [added, setAdded] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const values = formValues(event.target);
    const body = { ...values, site_id: Number(values.site_id), heartbeat_interval_s: Number(values.heartbeat_interval_s) };
    try {
      setAdded(await api("/devices", { method: "POST", token, body }));
      event.target.reset();
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card grid-form" onSubmit=${submit} aria-labelledby="new-device">
    <h3 id="new-device">${t("admin.devices.add_device")}</h3>
    <${Field} id="device-site" label=${t("admin.devices.site")}>
      <select id="device-site" name="site_id" required>
        ${sites.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
      </select>
    <//>
    <${Field} id="device-name" label=${t("admin.devices.name")} hint=${t("admin.devices.name_hint")}>
      <input id="device-name" name="name" required maxlength="63" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{1,62}" />
    <//>
    <${Field} id="device-protocol" label=${t("admin.devices.protocol")}>
      <select id="device-protocol" name="protocol">
        <option value="siaga">Siaga (siaga/devices/…/event)</option>
        <option value="zigbee2mqtt">Zigbee2MQTT</option>
        <option value="shelly">Shelly Gen1</option>
        <option value="shelly2">Shelly Gen2 (Plus, Pro: …/events/rpc)</option>
      </select>
    <//>
    <${Field} id="device-label" label=${t("admin.devices.label")}>
      <input id="device-label" name="label" maxlength="200" />
    <//>
    <${Field} id="device-heartbeat" label=${t("admin.devices.heartbeat")}>
      <input id="device-heartbeat" name="heartbeat_interval_s" type="number" min="5" max="86400" value="300" />
    <//>
    <${Problem} error=${error} />
    <button class="primary" type="submit">${t("admin.devices.add_device_button")}</button>
    ${added && html`<p class="notice" role="status" data-testid="device-password">
      ${t("admin.devices.password_once", { name: added.name })} <code>${added.password}</code></p>`}
  </form>`;
}

function BrokerFiles({ token }) {
  const [files, setFiles] = useState(null);
  const [error, setError] = useState(null);
  const show = async () => {
    setError(null);
    try {
      setFiles(await api("/devices/mosquitto-config", { token }));
    } catch (err) {
      setError(err);
    }
  };
  return html`<section class="card" aria-labelledby="broker-files">
    <h3 id="broker-files">${t("admin.devices.broker_files")}</h3>
    <p class="muted">${t("admin.devices.broker_intro")}</p>
    <button type="button" onClick=${show}>${t("admin.devices.show_files")}</button>
    <${Problem} error=${error} />
    ${files && html`
      <h4>password_file</h4><pre data-testid="password-file">${files.password_file}</pre>
      <h4>acl_file</h4><pre data-testid="acl-file">${files.acl_file}</pre>
      <p>${t("admin.devices.reload")} <code>${files.reload_command}</code></p>`}
  </section>`;
}

export function DevicesPage({ me }) {
  const sites = useLoad(() => api("/devices/sites", { token: me.token }), [me.token]);
  const devices = useLoad(() => api("/devices", { token: me.token }), [me.token]);
  const agencies = useLoad(() => api("/agencies", { token: me.token }), [me.token]);
  const [error, setError] = useState(null);
  const toggle = async (device) => {
    setError(null);
    try {
      await api(`/devices/${device.id}`, { method: "PATCH", token: me.token, body: { enabled: !device.enabled } });
      devices.reload();
    } catch (err) {
      setError(err);
    }
  };
  const list = devices.data || [];
  return html`
    <h2>${t("admin.tab.devices")}</h2>
    <p class="muted">${t("admin.devices.intro")}</p>
    <${Loading} state=${devices} />
    <${Problem} error=${error} />
    <div class="table-wrap">
      <table data-testid="devices">
        <thead><tr>
          <th>${t("admin.devices.name")}</th><th>${t("admin.devices.site")}</th>
          <th>${t("admin.devices.protocol")}</th><th>${t("admin.devices.state")}</th>
          <th>${t("admin.devices.last_seen")}</th><th>${t("admin.devices.battery")}</th><th></th>
        </tr></thead>
        <tbody>
          ${list.map(
            (d) => html`<tr key=${d.id}>
              <td><code>${d.name}</code>${d.label && html` · ${d.label}`}</td><td>${d.site_name}</td>
              <td><code>${d.topics.join(" ")}</code></td>
              <td>${t(d.enabled ? "admin.devices.enabled" : "admin.devices.disabled")}</td>
              <td>${d.last_seen_at ? when(d.last_seen_at) : t("admin.devices.never")}</td>
              <td>${d.battery == null ? "—" : `${d.battery}%`}</td>
              <td class="actions">
                <button type="button" onClick=${() => toggle(d)}>
                  ${t(d.enabled ? "admin.devices.disable" : "admin.devices.enable")}</button>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${list.length === 0 && !devices.loading && html`<p class="muted">${t("admin.devices.none")}</p>`}
    <${AddSite} token=${me.token} agencies=${agencies.data || []} onAdded=${sites.reload} />
    ${(sites.data || []).length > 0 &&
    html`<${AddDevice} token=${me.token} sites=${sites.data} onAdded=${devices.reload} />`}
    <${BrokerFiles} token=${me.token} />
  `;
}
