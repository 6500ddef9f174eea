// Webhooks: integrators' URLs and the events sent to each, signed (Standard Webhooks). A subscription Siaga disabled
// because its receiver kept failing is shown first, in a banner, until an administrator enables it again. The signing
// secret is shown once, when the subscription is added and when it is rotated.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { Field, Loading, Problem, useLoad, when } from "./view.js";

const EVENTS = ["alert.created", "alert.state_changed", "alert.escalated", "alert.updated", "device.trouble"];

function Secret({ shown }) {
  if (!shown) return null;
  return html`<div class="notice" role="status" data-testid="webhook-secret">
    <p>${t("admin.webhooks.secret_once", { name: shown.name })}</p>
    <code>${shown.secret}</code>
  </div>`;
}

function AddWebhook({ token, agencies, onAdded }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const form = event.target;
    const body = {
      name: form.elements.name.value,
      url: form.elements.url.value,
      events: EVENTS.filter((name) => form.elements[`event-${name}`].checked),
      include_exercise: form.elements.include_exercise.checked,
    };
    if (form.elements.agency_id.value) body.agency_id = Number(form.elements.agency_id.value);
    try {
      const added = await api("/webhooks", { method: "POST", token, body });
      form.reset();
      onAdded(added);
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card grid-form" onSubmit=${submit} aria-labelledby="new-webhook">
    <h3 id="new-webhook">${t("admin.webhooks.add")}</h3>
    <${Field} id="webhook-name" label=${t("admin.webhooks.name")}>
      <input id="webhook-name" name="name" required minlength="2" maxlength="200" />
    <//>
    <${Field} id="webhook-url" label=${t("admin.webhooks.url")} hint=${t("admin.webhooks.url_hint")}>
      <input id="webhook-url" name="url" type="url" required maxlength="1000" placeholder="https://" />
    <//>
    <fieldset class="field">
      <legend>${t("admin.webhooks.events")}</legend>
      ${EVENTS.map(
        (name) => html`<label key=${name}>
          <input type="checkbox" name=${`event-${name}`} checked=${name !== "device.trouble"} />
          ${t(`admin.webhooks.event.${name}`)} <code>${name}</code></label>`,
      )}
    </fieldset>
    <${Field} id="webhook-agency" label=${t("admin.webhooks.agency")}>
      <select id="webhook-agency" name="agency_id">
        <option value="">${t("admin.webhooks.every_agency")}</option>
        ${agencies.map((a) => html`<option value=${a.id}>${a.code} · ${a.name}</option>`)}
      </select>
    <//>
    <label><input type="checkbox" name="include_exercise" /> ${t("admin.webhooks.include_exercise")}</label>
    <${Problem} error=${error} />
    <button class="primary" type="submit">${t("admin.webhooks.add_button")}</button>
  </form>`;
}

function Deliveries({ token, webhook }) {
  const deliveries = useLoad(() => api(`/webhooks/${webhook.id}/deliveries`, { token }), [token, webhook.id]);
  const list = deliveries.data || [];
  return html`<section class="card" aria-label=${t("admin.webhooks.deliveries_of", { name: webhook.name })}>
    <h4>${t("admin.webhooks.deliveries_of", { name: webhook.name })}</h4>
    <${Loading} state=${deliveries} />
    <div class="table-wrap">
      <table data-testid="webhook-deliveries">
        <thead><tr>
          <th>${t("admin.webhooks.at")}</th><th>${t("admin.webhooks.event_type")}</th>
          <th>${t("admin.webhooks.state")}</th><th>${t("admin.webhooks.tries")}</th>
        </tr></thead>
        <tbody>
          ${list.map(
            (d) => html`<tr key=${d.id}>
              <td>${when(d.created_at)}</td><td><code>${d.event_type}</code></td>
              <td>${t(`admin.webhooks.delivery.${d.status}`)}</td>
              <td>${d.tries.map(
                (a) => html`<div>${when(a.at)} · ${a.status_code ?? "—"} · ${a.duration_ms} ms
                  ${a.error && html` · <span class="muted">${a.error}</span>`}</div>`,
              )}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${list.length === 0 && !deliveries.loading && html`<p class="muted">${t("admin.webhooks.no_deliveries")}</p>`}
  </section>`;
}

function Failing({ list, onEnable }) {
  const failing = list.filter((w) => !w.enabled && w.disabled_reason);
  if (failing.length === 0) return null;
  return html`<div class="error" role="alert" data-testid="webhooks-failing">
    <p><strong>${t("admin.webhooks.failing_title", { count: failing.length })}</strong></p>
    <ul>
      ${failing.map(
        (w) => html`<li key=${w.id}>
          <strong>${w.name}</strong> (${w.url}) · ${when(w.disabled_at)} · ${w.disabled_reason}
          · ${t("admin.webhooks.waiting", { count: w.pending })}
          <button type="button" onClick=${() => onEnable(w)}>${t("admin.webhooks.enable")}</button>
        </li>`,
      )}
    </ul>
  </div>`;
}

export function WebhooksPage({ me }) {
  const webhooks = useLoad(() => api("/webhooks", { token: me.token }), [me.token]);
  const agencies = useLoad(() => api("/agencies", { token: me.token }), [me.token]);
  const [error, setError] = useState(null);
  const [secret, setSecret] = useState(null);
  const [open, setOpen] = useState(null);
  const act = async (path, request) => {
    setError(null);
    try {
      const answer = await api(path, { token: me.token, ...request });
      webhooks.reload();
      return answer;
    } catch (err) {
      setError(err);
      return null;
    }
  };
  const setEnabled = (w, enabled) => act(`/webhooks/${w.id}`, { method: "PATCH", body: { enabled } });
  const rotate = async (w) => {
    if (!window.confirm(t("admin.webhooks.rotate_confirm", { name: w.name }))) return;
    const rotated = await act(`/webhooks/${w.id}/rotate`, { method: "POST", body: {} });
    if (rotated) setSecret(rotated);
  };
  const remove = (w) => {
    if (window.confirm(t("admin.webhooks.remove_confirm", { name: w.name }))) {
      act(`/webhooks/${w.id}`, { method: "DELETE" });
    }
  };
  const list = webhooks.data || [];
  return html`
    <h2>${t("admin.tab.webhooks")}</h2>
    <p class="muted">${t("admin.webhooks.intro")}</p>
    <${Failing} list=${list} onEnable=${(w) => setEnabled(w, true)} />
    <${Loading} state=${webhooks} />
    <${Problem} error=${error} />
    <${Secret} shown=${secret} />
    <div class="table-wrap">
      <table data-testid="webhooks">
        <thead><tr>
          <th>${t("admin.webhooks.name")}</th><th>${t("admin.webhooks.url")}</th>
          <th>${t("admin.webhooks.events")}</th><th>${t("admin.webhooks.state")}</th>
          <th>${t("admin.webhooks.last_success")}</th><th>${t("admin.webhooks.pending")}</th><th></th>
        </tr></thead>
        <tbody>
          ${list.map(
            (w) => html`<tr key=${w.id}>
              <td>${w.name}${w.include_exercise && html` · ${t("admin.webhooks.with_exercise")}`}</td>
              <td><code>${w.url}</code></td>
              <td>${w.events.map((e) => html`<code key=${e}>${e}</code> `)}</td>
              <td>${w.enabled
                ? t(w.consecutive_failures ? "admin.webhooks.failing" : "admin.webhooks.enabled",
                  { count: w.consecutive_failures })
                : t("admin.webhooks.disabled")}
                ${w.last_error && html`<div class="muted">${w.last_error}</div>`}</td>
              <td>${w.last_success_at ? when(w.last_success_at) : t("admin.webhooks.never")}</td>
              <td>${w.pending}</td>
              <td class="actions">
                <button type="button" onClick=${() => setEnabled(w, !w.enabled)}>
                  ${t(w.enabled ? "admin.webhooks.disable" : "admin.webhooks.enable")}</button>
                <button type="button" disabled=${!w.enabled}
                  onClick=${() => act(`/webhooks/${w.id}/test`, { method: "POST" })}>
                  ${t("admin.webhooks.test")}</button>
                <button type="button" onClick=${() => rotate(w)}>${t("admin.webhooks.rotate")}</button>
                <button type="button" onClick=${() => setOpen(open === w.id ? null : w.id)}>
                  ${t("admin.webhooks.deliveries")}</button>
                <button type="button" onClick=${() => remove(w)}>${t("admin.webhooks.remove")}</button>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${list.length === 0 && !webhooks.loading && html`<p class="muted">${t("admin.webhooks.none")}</p>`}
    ${open && list.some((w) => w.id === open) &&
    html`<${Deliveries} key=${open} token=${me.token} webhook=${list.find((w) => w.id === open)} />`}
    <${AddWebhook} token=${me.token} agencies=${agencies.data || []}
      onAdded=${(added) => { setSecret(added); webhooks.reload(); }} />
  `;
}
