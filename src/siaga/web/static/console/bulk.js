// Bulk actions on the alerts picked in the queue or by clicking a map cluster: acknowledge, hand to the parent agency,
// hand to another agency (BPBD in a disaster), assign one unit, or close as one mass event with one note. One request (POST /alerts/bulk) per 500 alerts; each
// alert is acted on as it would be alone, and the bar reports how many took the action and why the others did not.
import { html, useEffect, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";
import { splitPicked } from "./handles.js";
import { LinkPicked } from "./incidents.js";

const PER_REQUEST = 500; // the server's limit per request

async function sendInChunks(token, body, ids) {
  let applied = 0;
  const refused = new Map(); // error code -> how many
  for (let start = 0; start < ids.length; start += PER_REQUEST) {
    const answer = await api("/alerts/bulk", {
      method: "POST",
      token,
      body: { ...body, alert_ids: ids.slice(start, start + PER_REQUEST) },
      waitMs: 120_000, // each alert of the chunk in its own transaction: slower than one action
    });
    applied += answer.applied;
    for (const result of answer.results) {
      if (!result.ok) refused.set(result.code, (refused.get(result.code) || 0) + 1);
    }
  }
  return { applied, refused };
}

function outcomeText({ applied, refused }) {
  const reasons = [...refused].map(([code, count]) => `${count} × ${errorText({ code, message: code })}`);
  return [t("console.bulk.applied", { count: applied }), ...reasons].join(" · ");
}

/**
 * The agencies the picked alerts may be handed to: every agency but the operator's own (the server takes any), by
 * name, read when the form opens.
 */
function useAgencies(open, token, ownId) {
  const [agencies, setAgencies] = useState([]);
  useEffect(() => {
    if (!open) return undefined;
    let current = true;
    api("/agencies", { token }).then(
      (all) => {
        if (!current) return;
        setAgencies(all.filter((a) => a.id !== ownId).sort((a, b) => String(a.name).localeCompare(String(b.name))));
      },
      () => {},
    );
    return () => {
      current = false;
    };
  }, [open, token, ownId]);
  return agencies;
}

export function BulkBar({ view, store, token, account }) {
  const [form, setForm] = useState(null); // "hand_to_agency" | "transfer" | "assign" | "close"
  const [note, setNote] = useState("");
  const [unitId, setUnitId] = useState("");
  const [agencyId, setAgencyId] = useState("");
  const agencies = useAgencies(form === "transfer", token, account?.agency_id);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const picked = [...view.picked].filter((id) => store.alerts.has(id));
  // Bulk actions go to the alerts the agency handles; those it is only informed of are named and left out.
  const { handled: ids, informedOnly } = splitPicked(picked, store.alerts);
  if (picked.length === 0 && !result) return null;

  async function run(action) {
    setBusy(true);
    try {
      const body = { action };
      if (action === "hand_to_agency" || action === "transfer" || action === "close") body.note = note;
      if (action === "assign") body.unit_id = Number(unitId);
      if (action === "transfer") body.agency_id = Number(agencyId);
      setResult({ kind: "ok", text: outcomeText(await sendInChunks(token, body, ids)) });
      view.setPicked(new Set());
      setForm(null);
      setNote("");
    } catch (error) {
      setResult({ kind: "error", text: errorText(error) });
    } finally {
      setBusy(false);
    }
  }

  const units = [...store.units.values()]
    .filter((unit) => unit.state !== "off_duty")
    .sort((a, b) => String(a.callsign).localeCompare(String(b.callsign)));
  return html`
    <div class="bulk-bar" role="region" aria-label=${t("console.bulk.title")} data-picked=${ids.length}>
      ${informedOnly.length > 0 &&
      html`<span class="bulk-informed" role="status" data-testid="bulk-informed-only">
        ${t("console.bulk.informed_only", { count: informedOnly.length })}</span>`}
      ${ids.length > 0 &&
      html`
        <strong>${t("console.bulk.picked", { count: ids.length })}</strong>
        <button type="button" data-bulk="acknowledge" disabled=${busy} onClick=${() => run("acknowledge")}>
          ${t("console.bulk.acknowledge")}
        </button>
        <button type="button" data-bulk-form="hand_to_agency" disabled=${busy} onClick=${() => setForm("hand_to_agency")}>
          ${t("console.bulk.hand_to_agency")}
        </button>
        <button type="button" data-bulk-form="transfer" disabled=${busy} onClick=${() => setForm("transfer")}>
          ${t("console.bulk.transfer")}
        </button>
        <button type="button" data-bulk-form="assign" disabled=${busy} onClick=${() => setForm("assign")}>
          ${t("console.bulk.assign")}
        </button>
        <button type="button" data-bulk-form="close" disabled=${busy} onClick=${() => setForm("close")}>
          ${t("console.bulk.close")}
        </button>
      `}
      ${picked.length > 0 &&
      html`<button type="button" data-bulk="clear" onClick=${() => view.setPicked(new Set())}>
        ${t("console.bulk.clear")}</button>`}
      <${LinkPicked} ids=${ids} store=${store} token=${token} onDone=${() => view.setPicked(new Set())} />
      ${form &&
      html`
        <form
          class="bulk-form"
          onSubmit=${(event) => {
            event.preventDefault();
            run(form);
          }}
        >
          ${form === "assign" &&
          html`<select data-bulk-unit value=${unitId} onChange=${(e) => setUnitId(e.currentTarget.value)} required>
            <option value="">${t("console.bulk.choose_unit")}</option>
            ${units.map((unit) => html`<option value=${unit.unit_id}>${unit.callsign}</option>`)}
          </select>`}
          ${form === "transfer" &&
          html`<select
            data-bulk-agency
            aria-label=${t("console.bulk.choose_agency")}
            value=${agencyId}
            onChange=${(e) => setAgencyId(e.currentTarget.value)}
            required
          >
            <option value="">${t("console.bulk.choose_agency")}</option>
            ${agencies.map((agency) => html`<option value=${agency.id}>${agency.name}</option>`)}
          </select>`}
          ${form !== "assign" &&
          html`<input
            data-bulk-note
            value=${note}
            maxlength="1000"
            placeholder=${t(`console.bulk.note_${form}`)}
            onInput=${(e) => setNote(e.currentTarget.value)}
          />`}
          <button type="submit" class="primary" data-bulk-submit disabled=${busy}>
            ${t("console.bulk.apply", { count: ids.length })}
          </button>
          <button type="button" onClick=${() => setForm(null)}>${t("common.cancel")}</button>
        </form>
      `}
      ${result &&
      html`<span class=${`bulk-result notice-${result.kind}`} role="status">
        ${result.text}
        <button type="button" aria-label=${t("common.close")} onClick=${() => setResult(null)}>×</button>
      </span>`}
    </div>
  `;
}
