// API keys: integrators' systems (a device gateway, a dashboard, a partner centre) sign in with a key of one agency,
// limited to its scopes and its own rate. A key is shown once, when it is made; revoking it ends it at once.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { Field, Loading, Problem, formValues, useLoad, when } from "./view.js";

const SCOPES = ["alerts:read", "alerts:raise", "eido:receive"];
const scopeKey = (scope) => `admin.apikeys.scope.${scope.replace(":", "_")}`;

function AddKey({ token, agencies, onAdded }) {
  const [error, setError] = useState(null);
  const [made, setMade] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const values = formValues(event.target);
    const body = {
      name: values.name ?? "",
      agency_id: Number(values.agency_id),
      scopes: SCOPES.filter((scope) => values[`scope_${scope}`]),
      requests_per_minute: Number(values.requests_per_minute),
    };
    try {
      setMade(await api("/apikeys", { method: "POST", token, body }));
      event.target.reset();
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card grid-form" onSubmit=${submit} aria-labelledby="new-key">
    <h3 id="new-key">${t("admin.apikeys.add")}</h3>
    <${Field} id="key-name" label=${t("admin.apikeys.name")} hint=${t("admin.apikeys.name_hint")}>
      <input id="key-name" name="name" required maxlength="100" />
    <//>
    <${Field} id="key-agency" label=${t("admin.apikeys.agency")} hint=${t("admin.apikeys.agency_hint")}>
      <select id="key-agency" name="agency_id" required>
        ${agencies.map((a) => html`<option value=${a.id}>${a.code} · ${a.name}</option>`)}
      </select>
    <//>
    <fieldset class="field">
      <legend>${t("admin.apikeys.scopes")}</legend>
      ${SCOPES.map(
        (scope) => html`<label class="check">
          <input type="checkbox" name=${`scope_${scope}`} /> <code>${scope}</code> · ${t(scopeKey(scope))}
        </label>`,
      )}
    </fieldset>
    <${Field} id="key-rate" label=${t("admin.apikeys.rate")} hint=${t("admin.apikeys.rate_hint")}>
      <input id="key-rate" name="requests_per_minute" type="number" min="1" max="100000" value="600" required />
    <//>
    <${Problem} error=${error} />
    <button class="primary" type="submit">${t("admin.apikeys.add_button")}</button>
    ${made && html`<div class="notice" role="status" data-testid="api-key">
      <p>${t("admin.apikeys.shown_once", { name: made.name })}</p>
      <p><code>${made.key}</code></p>
      <p class="muted">${t("admin.apikeys.how_to_send")}</p>
    </div>`}
  </form>`;
}

export function ApiKeysPage({ me }) {
  const keys = useLoad(() => api("/apikeys", { token: me.token }), [me.token]);
  const agencies = useLoad(() => api("/agencies", { token: me.token }), [me.token]);
  const [error, setError] = useState(null);
  const byId = new Map((agencies.data || []).map((a) => [a.id, a]));
  const revoke = async (key) => {
    if (!window.confirm(t("admin.apikeys.revoke_confirm", { name: key.name }))) return;
    setError(null);
    try {
      await api(`/apikeys/${key.id}/revoke`, { method: "POST", token: me.token });
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };
  const list = keys.data || [];
  return html`
    <h2>${t("admin.tab.apikeys")}</h2>
    <p class="muted">${t("admin.apikeys.intro")}</p>
    <${Loading} state=${keys} />
    <${Problem} error=${error} />
    <div class="table-wrap">
      <table data-testid="apikeys">
        <thead><tr>
          <th>${t("admin.apikeys.name")}</th><th>${t("admin.apikeys.prefix")}</th>
          <th>${t("admin.apikeys.agency")}</th><th>${t("admin.apikeys.scopes")}</th>
          <th>${t("admin.apikeys.rate_short")}</th><th>${t("admin.apikeys.created")}</th>
          <th>${t("admin.apikeys.last_used")}</th><th>${t("admin.apikeys.state")}</th><th></th>
        </tr></thead>
        <tbody>
          ${list.map(
            (k) => html`<tr key=${k.id}>
              <td>${k.name}</td><td><code>${k.prefix}…</code></td>
              <td>${byId.get(k.agency_id)?.code ?? k.agency_id}</td>
              <td>${k.scopes.map((s) => html`<code>${s}</code> `)}</td>
              <td>${k.requests_per_minute}</td>
              <td>${when(k.created_at)} · ${k.created_by}</td>
              <td>${k.last_used_at ? when(k.last_used_at) : t("admin.apikeys.never")}</td>
              <td>${k.revoked_at
                ? t("admin.apikeys.revoked", { at: when(k.revoked_at) })
                : t("admin.apikeys.active")}</td>
              <td class="actions">
                ${!k.revoked_at &&
                html`<button type="button" onClick=${() => revoke(k)}>${t("admin.apikeys.revoke")}</button>`}
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${list.length === 0 && !keys.loading && html`<p class="muted">${t("admin.apikeys.none")}</p>`}
    <${AddKey} token=${me.token} agencies=${agencies.data || []} onAdded=${keys.reload} />
  `;
}
