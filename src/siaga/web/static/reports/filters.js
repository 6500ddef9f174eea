// What the reports cover: the period (WIB days), the agency (one's own and those below it) and which data: real,
// exercise (drills and the demo city) or both.
import { html, useEffect, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";

const DATA = ["exclude", "only", "include"];

/** The agencies a person may narrow the reports to: an administrator's all, a supervisor's own subtree. */
function reachable(agencies, me) {
  if (me.role === "admin") return agencies;
  const below = new Set([me.agencyId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const agency of agencies) {
      if (agency.parent_id !== null && below.has(agency.parent_id) && !below.has(agency.id)) {
        below.add(agency.id);
        grew = true;
      }
    }
  }
  return agencies.filter((agency) => below.has(agency.id));
}

function pick(values, names) {
  return Object.fromEntries(Object.keys(names).map((name) => [name, values[name]]));
}

export function Filters({ me, filters, busy, onApply }) {
  const [draft, setDraft] = useState(filters);
  const [touched, setTouched] = useState({});
  const [agencies, setAgencies] = useState([]);
  // The server's answer fills the form (its default period), except what the person changed in the meantime.
  useEffect(() => setDraft((current) => ({ ...filters, ...pick(current, touched) })), [filters]);
  useEffect(() => {
    api("/agencies", { token: me.token })
      .then((list) => setAgencies(reachable(list, me)))
      .catch(() => setAgencies([]));
  }, []);
  const change = (name) => (event) => {
    setTouched({ ...touched, [name]: true });
    setDraft({ ...draft, [name]: event.target.value });
  };
  const submit = (event) => {
    event.preventDefault();
    setTouched({});
    onApply(draft);
  };

  return html`<form class="card filters" onSubmit=${submit} data-testid="filters">
    <div class="field">
      <label for="report-from">${t("reports.filter.from")}</label>
      <input id="report-from" type="date" value=${draft.from} onInput=${change("from")} />
    </div>
    <div class="field">
      <label for="report-to">${t("reports.filter.to")}</label>
      <input id="report-to" type="date" value=${draft.to} onInput=${change("to")} />
    </div>
    <div class="field">
      <label for="report-agency">${t("reports.filter.agency")}</label>
      <select id="report-agency" value=${draft.agency} onChange=${change("agency")}>
        <option value="">${t("reports.filter.all_agencies")}</option>
        ${agencies.map((a) => html`<option value=${a.code}>${a.name}</option>`)}
      </select>
    </div>
    <fieldset class="data-switch">
      <legend>${t("reports.filter.data")}</legend>
      ${DATA.map(
        (value) => html`<label class=${`choice ${draft.exercise === value ? "chosen" : ""}`}>
          <input type="radio" name="exercise" value=${value} checked=${draft.exercise === value}
            onChange=${change("exercise")} />
          ${t(`reports.data.${value}`)}
        </label>`,
      )}
    </fieldset>
    <button class="primary" type="submit" disabled=${busy}>${t("reports.filter.apply")}</button>
    <p class="hint">${t("reports.filter.hint")}</p>
  </form>`;
}
