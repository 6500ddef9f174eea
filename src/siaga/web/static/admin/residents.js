// Residents for moderation: strikes from pranks, suspension and reinstatement, always with a reason (audited).
// A suspended resident's SOS is still delivered, flagged: the screen says so, so nobody thinks it blocks them.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { go } from "./route.js";
import { Field, Loading, Problem, useLoad, useReveal, when } from "./view.js";

// Uncontrolled (defaultValue): the list reloading must not wipe what is being typed.
function Filters({ initial, onSearch }) {
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    onSearch({
      q: String(form.get("q")).trim() || undefined,
      suspended: form.get("suspended") || undefined,
      min_strikes: Number(form.get("min_strikes")) || undefined,
    });
  };
  return html`<form class="card filters" onSubmit=${submit} role="search">
    <${Field} id="resident-q" label=${t("admin.residents.search")}>
      <input id="resident-q" name="q" type="search" defaultValue=${initial.q || ""} />
    <//>
    <${Field} id="resident-suspended" label=${t("admin.residents.suspended")}>
      <select id="resident-suspended" name="suspended">
        <option value="">${t("admin.residents.any")}</option>
        <option value="true" selected=${initial.suspended === "true"}>${t("admin.yes")}</option>
        <option value="false" selected=${initial.suspended === "false"}>${t("admin.no")}</option>
      </select>
    <//>
    <${Field} id="resident-strikes" label=${t("admin.residents.min_strikes")}>
      <input id="resident-strikes" name="min_strikes" type="number" min="0" defaultValue=${initial.min_strikes || ""} />
    <//>
    <button class="primary" type="submit">${t("admin.residents.search_button")}</button>
  </form>`;
}

function Moderate({ token, resident, onChanged }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState(null);
  const verb = resident.suspended ? "reinstate" : "suspend";
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = { reason: reason.trim() };
      onChanged(await api(`/residents/${resident.id}/${verb}`, { method: "POST", token, body }));
      setReason("");
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="moderate" onSubmit=${submit}>
    <${Field} id="moderation-reason" label=${t("admin.residents.reason")} hint=${t("admin.residents.reason_hint")}>
      <textarea id="moderation-reason" required minlength="3" maxlength="2000" rows="2" value=${reason}
        onInput=${(e) => setReason(e.target.value)}></textarea>
    <//>
    <${Problem} error=${error} />
    <button type="submit" class=${resident.suspended ? "primary" : "danger"}>
      ${resident.suspended ? t("admin.residents.reinstate") : t("admin.residents.suspend")}
    </button>
  </form>`;
}

function History({ token, resident }) {
  const history = useLoad(
    () => api(`/residents/${resident.id}/moderation`, { token }),
    [resident.id, resident.suspended],
  );
  return html`<h4>${t("admin.residents.history")}</h4>
    <${Loading} state=${history} />
    ${history.data && !history.data.length && html`<p class="muted">${t("admin.residents.no_history")}</p>`}
    <ul class="history">
      ${(history.data || []).map(
        (entry) => html`<li key=${entry.id}><strong>${t(`admin.moderation.${entry.kind}`)}</strong>
          · ${when(entry.created_at)} — ${entry.reason}</li>`,
      )}
    </ul>`;
}

function Detail({ token, resident, onChanged, onClose }) {
  const reveal = useReveal();
  return html`<section ref=${reveal} class="card detail" aria-labelledby="resident-heading" data-testid="resident-detail">
    <h3 id="resident-heading">${resident.name || t("admin.residents.no_name")}</h3>
    <dl class="facts">
      <dt>${t("admin.residents.phone")}</dt><dd>${resident.phone}</dd>
      <dt>${t("admin.residents.nik")}</dt><dd>${resident.nik || "—"}</dd>
      <dt>${t("admin.residents.strikes")}</dt><dd>${resident.strikes}</dd>
      <dt>${t("admin.residents.status")}</dt>
      <dd>${resident.suspended
        ? html`<span class="badge suspended">${t("admin.residents.is_suspended")}</span> ${resident.suspended_reason}`
        : t("admin.residents.active")}</dd>
    </dl>
    <p class="hint">${t("admin.residents.still_delivered")}</p>
    <${Moderate} token=${token} resident=${resident} onChanged=${onChanged} />
    <${History} token=${token} resident=${resident} />
    <div class="actions">
      <button type="button" onClick=${() => go("audit", { target_type: "resident", target_id: resident.id })}>
        ${t("admin.residents.audit")}</button>
      <button type="button" onClick=${onClose}>${t("common.close")}</button>
    </div>
  </section>`;
}

/** Registering a resident at the counter, without the app: the name, NIK and number, then the code that number
 * received by SMS (read out or shown by its owner). The same code SMS and limits as the app's registration. */
function CounterForm({ token, onRegistered }) {
  const [form, setForm] = useState({ phone: "", name: "", nik: "" });
  const [sent, setSent] = useState(null); // the number the code went to, once sent
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const edit = (field) => (event) => {
    setForm({ ...form, [field]: event.target.value });
    setSent(null); // another number, name or NIK: a new code
  };
  async function run(work) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const ask = (event) => {
    event.preventDefault();
    setDone(null);
    run(async () => {
      const body = { phone: form.phone.trim(), name: form.name.trim(), nik: form.nik.trim() };
      const answer = await api("/residents/counter/code", { method: "POST", token, body });
      setSent(answer.phone);
      setCode("");
    });
  };
  const register = (event) => {
    event.preventDefault();
    run(async () => {
      const body = { phone: form.phone.trim(), name: form.name.trim(), nik: form.nik.trim(), code: code.trim() };
      const resident = await api("/residents/counter", { method: "POST", token, body });
      setDone(resident);
      setSent(null);
      setForm({ phone: "", name: "", nik: "" });
      onRegistered(resident);
    });
  };
  return html`<section class="card counter" aria-labelledby="counter-heading" data-testid="counter-form">
    <h3 id="counter-heading">${t("admin.counter.title")}</h3>
    <p class="hint">${t("admin.counter.hint")}</p>
    <form class="stack" onSubmit=${ask}>
      <${Field} id="counter-name" label=${t("admin.residents.name")}>
        <input id="counter-name" required maxlength="200" value=${form.name} onInput=${edit("name")} />
      <//>
      <${Field} id="counter-nik" label=${t("admin.residents.nik")}>
        <input id="counter-nik" required inputmode="numeric" maxlength="32" value=${form.nik} onInput=${edit("nik")} />
      <//>
      <${Field} id="counter-phone" label=${t("admin.residents.phone")}>
        <input id="counter-phone" required type="tel" maxlength="32" value=${form.phone} onInput=${edit("phone")} />
      <//>
      <button type="submit" disabled=${busy}>${t("admin.counter.send_code")}</button>
    </form>
    ${sent &&
    html`<form class="stack" onSubmit=${register}>
      <p role="status">${t("admin.counter.code_sent", { phone: sent })}</p>
      <${Field} id="counter-code" label=${t("admin.counter.code")}>
        <input id="counter-code" required inputmode="numeric" autocomplete="one-time-code" maxlength="6"
          value=${code} onInput=${(e) => setCode(e.target.value.replace(/\D/g, ""))} />
      <//>
      <button type="submit" class="primary" disabled=${busy || code.length !== 6}>
        ${t("admin.counter.register")}</button>
    </form>`}
    <${Problem} error=${error} />
    ${done && html`<p role="status" class="ok">${t("admin.counter.done", { name: done.name, phone: done.phone })}</p>`}
  </section>`;
}

export function ResidentsPage({ me, params }) {
  const [filters, setFilters] = useState(params);
  const [open, setOpen] = useState(null);
  const residents = useLoad(
    () => api("/residents", { token: me.token, query: filters }),
    [me.token, JSON.stringify(filters)],
  );
  const changed = (resident) => {
    setOpen(resident);
    residents.reload();
  };
  return html`
    <h2>${t("admin.tab.residents")}</h2>
    <${CounterForm} token=${me.token} onRegistered=${() => residents.reload()} />
    <${Filters} initial=${filters} onSearch=${setFilters} />
    <${Loading} state=${residents} />
    ${open &&
    html`<${Detail} key=${open.id} token=${me.token} resident=${open} onChanged=${changed}
      onClose=${() => setOpen(null)} />`}
    <div class="table-wrap">
      <table data-testid="residents">
        <thead><tr>
          <th>${t("admin.residents.name")}</th><th>${t("admin.residents.phone")}</th>
          <th>${t("admin.residents.strikes")}</th><th>${t("admin.residents.status")}</th>
          <th>${t("admin.residents.since")}</th><th></th>
        </tr></thead>
        <tbody>
          ${(residents.data || []).map(
            (r) => html`<tr key=${r.id} class=${r.suspended ? "suspended" : ""}>
              <td>${r.name || t("admin.residents.no_name")}</td><td>${r.phone}</td>
              <td class=${r.strikes ? "strikes" : ""}>${r.strikes}</td>
              <td>${r.suspended ? t("admin.residents.is_suspended") : t("admin.residents.active")}</td>
              <td>${when(r.created_at)}</td>
              <td><button type="button" onClick=${() => setOpen(r)}>${t("admin.residents.open")}</button></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${residents.data && !residents.data.length && html`<p class="muted">${t("admin.residents.none")}</p>`}
  `;
}
