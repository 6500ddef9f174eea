// The reports app's frame: login, then the filters and every report for the chosen period, agency and data.
import { html, useEffect, useState } from "../js/ui.js";
import { api, session } from "../js/api.js";
import { t } from "../js/i18n.js";
import { LanguageSelect, useStaffSession } from "../js/frame.js";
import { Login } from "./login.js";
import { Filters } from "./filters.js";
import { Reports } from "./sections.js";
import { Problem } from "./view.js";

const store = session("reports");
const REPORTS = ["kecamatan", "residents", "alerts", "response-times", "outcomes", "moderation", "duty"];

/** The query every report and CSV download of the current view uses. */
function queryOf(filters) {
  const query = { exercise: filters.exercise };
  if (filters.from) query.from = filters.from;
  if (filters.to) query.to = filters.to;
  if (filters.agency) query.agency = filters.agency;
  return query;
}

function Screen({ me, config, onExpired }) {
  const [filters, setFilters] = useState({ from: "", to: "", agency: "", exercise: "exclude" });
  const [state, setState] = useState({ data: null, error: null, loading: true });

  const load = async (wanted) => {
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const query = queryOf(wanted);
      const answers = await Promise.all(REPORTS.map((name) => api(`/reports/${name}`, { token: me.token, query, waitMs: 120_000 })));
      const data = Object.fromEntries(REPORTS.map((name, i) => [name, answers[i]]));
      const period = data.kecamatan.period;
      // The server fills in a default period: show it in the form, so the downloads name the same days.
      const shown = { ...wanted, from: period.from_date, to: period.to_date };
      setFilters(shown);
      setState({ data, error: null, loading: false, query: queryOf(shown) });
    } catch (error) {
      if (error.status === 401) return onExpired();
      setState((s) => ({ ...s, error, loading: false }));
    }
  };
  useEffect(() => {
    load(filters);
  }, []);

  return html`<main class="reports">
    <${Filters} me=${me} filters=${filters} busy=${state.loading} onApply=${load} />
    <${Problem} error=${state.error} />
    ${state.loading && !state.data && html`<p class="muted">${t("common.loading")}</p>`}
    ${state.data && html`<${Reports} data=${state.data} query=${state.query} me=${me} config=${config} />`}
  </main>`;
}

export function App({ config }) {
  const { me, signIn, signOut, expired } = useStaffSession(store);

  return html`
    <header class="topbar">
      <h1>${t("reports.title")}</h1>
      ${me && html`<span class="who">${me.name} · ${t(`reports.role.${me.role}`)}</span>`}
      <${LanguageSelect} />
      ${me && html`<button type="button" onClick=${signOut}>${t("common.logout")}</button>`}
    </header>
    ${me ? html`<${Screen} me=${me} config=${config} onExpired=${expired} />` : html`<${Login} onLogin=${signIn} />`}
  `;
}
