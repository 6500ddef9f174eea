// Partner centres (a city's 112 centre, another Siaga) that operators hand alerts over to, as NENA EIDO signed with
// Standard Webhooks secrets. Each partner's two secrets are shown once, when it is added: the administrator gives
// them to the partner then. Editing changes its label, address, agencies, whether the caller goes with a handover,
// and whether it may be handed alerts at all; every change is audited by the server.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { Field, Loading, Problem, formValues, useLoad, useReveal, when } from "./view.js";

/** The agencies a partner takes alerts of: a multiple select of codes (none chosen: every agency). */
function AgencyChoice({ id, agencies, chosen = [] }) {
  return html`<${Field} id=${id} label=${t("admin.partners.agencies")} hint=${t("admin.partners.agencies_hint")}>
    <select id=${id} name="agencies" multiple size="6">
      ${agencies.map(
        (a) => html`<option key=${a.code} value=${a.code} selected=${chosen.includes(a.code)}>
          ${a.code} · ${a.name}</option>`,
      )}
    </select>
  <//>`;
}

function chosenAgencies(form) {
  return [...form.elements.agencies.selectedOptions].map((option) => option.value);
}

function CopyButton({ text, label }) {
  const [copied, setCopied] = useState(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("admin.partners.copied");
    } catch {
      setCopied("admin.partners.copy_failed");
    }
  };
  return html`<button type="button" aria-label=${label} onClick=${copy}>${t("admin.partners.copy")}</button>
    ${copied && html`<span class="hint" role="status">${t(copied)}</span>`}`;
}

/** The secrets of a partner just added: shown this once, each with what the partner does with it. */
function SecretsOnce({ made, onDone }) {
  const reveal = useReveal();
  const secrets = [
    ["outgoing_secret", "admin.partners.outgoing_secret", "admin.partners.outgoing_hint"],
    ["incoming_secret", "admin.partners.incoming_secret", "admin.partners.incoming_hint"],
  ];
  return html`<section ref=${reveal} class="card notice" role="status" data-testid="partner-secrets"
    aria-labelledby="partner-secrets-title">
    <h3 id="partner-secrets-title">${t("admin.partners.secrets_title", { name: made.label || made.name })}</h3>
    <p class="warn">${t("admin.partners.secrets_warning")}</p>
    <dl class="facts">
      ${secrets.map(
        ([key, label, hint]) => html`
          <dt key=${`${key}-label`}>${t(label)}</dt>
          <dd key=${key}>
            <code data-testid=${key}>${made[key]}</code>
            <${CopyButton} text=${made[key]} label=${t("admin.partners.copy_named", { secret: t(label) })} />
            <p class="hint">${t(hint)}</p>
          </dd>
        `,
      )}
    </dl>
    <button type="button" onClick=${onDone}>${t("admin.partners.secrets_kept")}</button>
  </section>`;
}

function AddPartner({ token, agencies, onAdded }) {
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const form = event.target;
    const values = formValues(form);
    const body = {
      name: values.name ?? "",
      label: values.label ?? "",
      url: values.url ?? "",
      agencies: chosenAgencies(form),
      share_caller: values.share_caller,
    };
    // Secrets the partner already made (another Siaga that added this one first): used instead of new ones.
    if (values.outgoing_secret) body.outgoing_secret = values.outgoing_secret;
    if (values.incoming_secret) body.incoming_secret = values.incoming_secret;
    try {
      const made = await api("/partners", { method: "POST", token, body });
      form.reset();
      onAdded(made);
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card grid-form" onSubmit=${submit} aria-labelledby="new-partner">
    <h3 id="new-partner">${t("admin.partners.add")}</h3>
    <${Field} id="partner-name" label=${t("admin.partners.name")} hint=${t("admin.partners.name_hint")}>
      <input id="partner-name" name="name" required minlength="2" maxlength="64" pattern="[a-z0-9][a-z0-9\\-]*" />
    <//>
    <${Field} id="partner-label" label=${t("admin.partners.label")} hint=${t("admin.partners.label_hint")}>
      <input id="partner-label" name="label" maxlength="200" />
    <//>
    <${Field} id="partner-url" label=${t("admin.partners.url")} hint=${t("admin.partners.url_hint")}>
      <input id="partner-url" name="url" type="url" required minlength="8" maxlength="500" placeholder="https://" />
    <//>
    <${AgencyChoice} id="partner-agencies" agencies=${agencies} />
    <label class="check"><input type="checkbox" name="share_caller" defaultChecked=${true} />
      ${t("admin.partners.share_caller")}</label>
    <details>
      <summary>${t("admin.partners.given_secrets")}</summary>
      <${Field} id="partner-outgoing" label=${t("admin.partners.outgoing_secret")}
        hint=${t("admin.partners.given_outgoing_hint")}>
        <input id="partner-outgoing" name="outgoing_secret" maxlength="200" autocomplete="off" placeholder="whsec_" />
      <//>
      <${Field} id="partner-incoming" label=${t("admin.partners.incoming_secret")}
        hint=${t("admin.partners.given_incoming_hint")}>
        <input id="partner-incoming" name="incoming_secret" maxlength="200" autocomplete="off" placeholder="whsec_" />
      <//>
    </details>
    <${Problem} error=${error} />
    <button class="primary" type="submit">${t("admin.partners.add_button")}</button>
  </form>`;
}

function EditPartner({ token, partner, agencies, onSaved, onClose }) {
  const [error, setError] = useState(null);
  const [done, setDone] = useState(false);
  const reveal = useReveal();
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setDone(false);
    const form = event.target;
    const values = formValues(form);
    const body = {
      label: values.label ?? "",
      url: values.url ?? "",
      agencies: chosenAgencies(form),
      share_caller: values.share_caller,
      enabled: values.enabled,
    };
    try {
      await api(`/partners/${encodeURIComponent(partner.name)}`, { method: "PATCH", token, body });
      setDone(true);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form ref=${reveal} class="card grid-form" onSubmit=${submit} aria-labelledby="edit-partner"
    data-testid="partner-editor">
    <h3 id="edit-partner">${t("admin.partners.edit_title", { name: partner.name })}</h3>
    <${Field} id="edit-partner-label" label=${t("admin.partners.label")}>
      <input id="edit-partner-label" name="label" maxlength="200" defaultValue=${partner.label} />
    <//>
    <${Field} id="edit-partner-url" label=${t("admin.partners.url")} hint=${t("admin.partners.url_hint")}>
      <input id="edit-partner-url" name="url" type="url" required minlength="8" maxlength="500"
        defaultValue=${partner.url} />
    <//>
    <${AgencyChoice} id="edit-partner-agencies" agencies=${agencies} chosen=${partner.agencies} />
    <label class="check"><input type="checkbox" name="share_caller" defaultChecked=${partner.share_caller} />
      ${t("admin.partners.share_caller")}</label>
    <label class="check"><input type="checkbox" name="enabled" defaultChecked=${partner.enabled} />
      ${t("admin.partners.enabled_check")}</label>
    <${Problem} error=${error} />
    ${done && html`<p class="ok" role="status">${t("admin.saved")}</p>`}
    <div class="actions">
      <button class="primary" type="submit">${t("common.save")}</button>
      <button type="button" onClick=${onClose}>${t("common.close")}</button>
    </div>
  </form>`;
}

function lastHandover(p) {
  if (!p.last_handover_status) return t("admin.partners.never");
  return `${t(`admin.partners.handover.${p.last_handover_status}`)} · ${when(p.last_handover_at)}`;
}

export function PartnersPage({ me }) {
  const partners = useLoad(() => api("/partners", { token: me.token }), [me.token]);
  const agencies = useLoad(() => api("/agencies", { token: me.token }), [me.token]);
  const [error, setError] = useState(null);
  const [made, setMade] = useState(null);
  const [editing, setEditing] = useState(null);
  const setEnabled = async (p, enabled) => {
    setError(null);
    if (editing === p.name) setEditing(null); // its editor would show the state before this change
    try {
      await api(`/partners/${encodeURIComponent(p.name)}`, { method: "PATCH", token: me.token, body: { enabled } });
      partners.reload();
    } catch (err) {
      setError(err);
    }
  };
  const list = partners.data || [];
  const editable = list.find((p) => p.name === editing);
  return html`
    <h2>${t("admin.tab.partners")}</h2>
    <p class="muted">${t("admin.partners.intro")}</p>
    ${made && html`<${SecretsOnce} made=${made} onDone=${() => setMade(null)} />`}
    <${Loading} state=${partners} />
    <${Problem} error=${error} />
    <div class="table-wrap">
      <table data-testid="partners">
        <thead><tr>
          <th>${t("admin.partners.name")}</th><th>${t("admin.partners.label")}</th><th>${t("admin.partners.url")}</th>
          <th>${t("admin.partners.agencies")}</th><th>${t("admin.partners.caller")}</th>
          <th>${t("admin.partners.state")}</th><th>${t("admin.partners.last_handover")}</th><th></th>
        </tr></thead>
        <tbody>
          ${list.map(
            (p) => html`<tr key=${p.name} data-partner=${p.name}>
              <td><code>${p.name}</code></td><td>${p.label}</td><td><code>${p.url}</code></td>
              <td>${p.agencies.length ? p.agencies.join(", ") : t("admin.partners.every_agency")}</td>
              <td>${t(p.share_caller ? "admin.partners.caller_shared" : "admin.partners.caller_withheld")}</td>
              <td>${t(p.enabled ? "admin.partners.enabled" : "admin.partners.disabled")}</td>
              <td>${lastHandover(p)}</td>
              <td class="actions">
                <button type="button" aria-expanded=${editing === p.name ? "true" : "false"}
                  onClick=${() => setEditing(editing === p.name ? null : p.name)}>${t("admin.partners.edit")}</button>
                <button type="button" onClick=${() => setEnabled(p, !p.enabled)}>
                  ${t(p.enabled ? "admin.partners.disable" : "admin.partners.enable")}</button>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${list.length === 0 && !partners.loading && html`<p class="muted">${t("admin.partners.none")}</p>`}
    ${editable &&
    html`<${EditPartner} key=${editable.name} token=${me.token} partner=${editable}
      agencies=${agencies.data || []} onSaved=${partners.reload} onClose=${() => setEditing(null)} />`}
    <${AddPartner} token=${me.token} agencies=${agencies.data || []}
      onAdded=${(added) => { setMade(added); partners.reload(); }} />
  `;
}
