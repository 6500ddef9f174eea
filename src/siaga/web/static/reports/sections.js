// Every report of the chosen view: the headline figures, the kecamatan map, then one section per report with its
// chart, its table where a chart is not enough, and its CSV download.
import { html, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { Chart } from "./charts.js";
import { CsvButton } from "./download.js";
import { KecamatanMap, MAP_FIGURES } from "./kecamatan-map.js";
import { count, day, decimal, duration, percent } from "./format.js";
import { ResponseTable } from "./tables.js";

const CATEGORY_COLOURS = {
  kriminalitas: "#c53030",
  kecelakaan: "#dd6b20",
  kebakaran: "#b7791f",
  kesehatan: "#2f855a",
  kdrt: "#805ad5",
  bencana_alam: "#2b6cb0",
  kerusuhan: "#2d3748",
  lainnya: "#a0aec0",
};
const OUTCOME_COLOURS = {
  genuine: "#2f855a",
  false_alarm: "#d69e2e",
  prank: "#c53030",
  test: "#805ad5",
  duplicate: "#718096",
  cancelled: "#a0aec0",
};
const MODERATION_COLOURS = { strikes: "#c53030", suspensions: "#2d3748", reinstatements: "#2f855a", appeals: "#d69e2e" };
const DUTY_COLOURS = { post: "#2b6cb0", patrol: "#2f855a", home: "#d69e2e" };

function Section({ id, title, hint, query, me, children }) {
  return html`<section class="card report" data-testid=${`report-${id}`} aria-labelledby=${`heading-${id}`}>
    <header>
      <h2 id=${`heading-${id}`}>${title}</h2>
      <${CsvButton} report=${id} query=${query} token=${me.token} />
    </header>
    ${hint && html`<p class="hint">${hint}</p>`}
    ${children}
  </section>`;
}

function Headline({ label, value, detail, testid }) {
  return html`<div class="headline" data-testid=${testid}>
    <span class="label">${label}</span>
    <strong class="value">${value}</strong>
    ${detail && html`<span class="detail">${detail}</span>`}
  </div>`;
}

function days(period) {
  const list = [];
  for (let d = new Date(`${period.from_date}T00:00:00Z`); d <= new Date(`${period.to_date}T00:00:00Z`); ) {
    list.push(d.toISOString().slice(0, 10));
    d = new Date(d.getTime() + 86_400_000);
  }
  return list;
}

function weekly(rows) {
  return rows.filter((r) => r.week !== "all");
}

function Headlines({ data }) {
  const kecamatan = data.kecamatan.rows;
  const total = data["response-times"].rows.find((r) => r.week === "all" && r.agency_code === "all");
  const outcomes = data.outcomes.rows.find((r) => r.week === "all");
  const sum = (key) => kecamatan.reduce((n, r) => n + r[key], 0);
  const p = (step) => t("reports.p90_detail", { value: duration(total[`${step}_p90_s`]) });
  return html`<div class="headlines" data-testid="headlines">
    <${Headline} testid="headline-registered" label=${t("reports.headline.registered")} value=${count(sum("registered"))}
      detail=${t("reports.headline.new", { count: count(sum("new")) })} />
    <${Headline} testid="headline-active" label=${t("reports.headline.active")} value=${count(sum("active"))} />
    <${Headline} testid="headline-alerts" label=${t("reports.headline.alerts")} value=${count(total.alerts)} />
    <${Headline} testid="headline-acknowledge" label=${t("reports.headline.acknowledge")}
      value=${duration(total.acknowledge_p50_s)} detail=${p("acknowledge")} />
    <${Headline} testid="headline-arrive" label=${t("reports.headline.arrive")} value=${duration(total.arrive_p50_s)}
      detail=${p("arrive")} />
    <${Headline} testid="headline-prank" label=${t("reports.headline.prank_rate")} value=${percent(outcomes.prank_share)}
      detail=${t("reports.headline.resolved", { count: count(outcomes.resolved) })} />
  </div>`;
}

function MapSection({ data, query, me, config }) {
  const [figureKey, setFigure] = useState("registered");
  return html`<${Section} id="kecamatan" title=${t("reports.section.kecamatan")} hint=${t("reports.hint.kecamatan")}
    query=${query} me=${me}>
    <div class="field figure-choice">
      <label for="map-figure">${t("reports.map.figure")}</label>
      <select id="map-figure" value=${figureKey} onChange=${(e) => setFigure(e.target.value)}>
        ${Object.keys(MAP_FIGURES).map((key) => html`<option value=${key}>${t(`reports.figure.${key}`)}</option>`)}
      </select>
    </div>
    <${KecamatanMap} config=${config} token=${me.token} rows=${data.kecamatan.rows} figureKey=${figureKey} />
  <//>`;
}

function ResidentsSection({ data, query, me }) {
  const byWeek = new Map();
  for (const r of data.residents.rows) {
    const week = byWeek.get(r.week) || { start: r.week_start, registered: 0, new: 0, active: 0 };
    week.registered += r.registered;
    week.new += r.new;
    week.active += r.active;
    byWeek.set(r.week, week);
  }
  const weeks = [...byWeek.values()];
  const series = (key, colour, dashed = false) => ({
    key, label: t(`reports.figure.${key}`), color: colour, dashed, values: weeks.map((w) => w[key]),
  });
  return html`<${Section} id="residents" title=${t("reports.section.residents")} hint=${t("reports.hint.residents")}
    query=${query} me=${me}>
    <${Chart} id="residents" title=${t("reports.chart.residents")} labels=${weeks.map((w) => day(w.start))}
      lines=${[series("registered", "#1a365d"), series("active", "#2f855a"), series("new", "#d69e2e", true)]}
      format=${count} unit="count" />
  <//>`;
}

function AlertsSection({ data, query, me }) {
  const dates = days(data.alerts.period);
  const categories = Object.keys(CATEGORY_COLOURS);
  const counts = Object.fromEntries(categories.map((c) => [c, dates.map(() => 0)]));
  for (const r of data.alerts.rows) counts[r.category][dates.indexOf(r.day)] += r.alerts;
  const bars = categories
    .filter((c) => counts[c].some((n) => n > 0))
    .map((c) => ({ key: c, label: t(`common.category.${c}`), color: CATEGORY_COLOURS[c], values: counts[c] }));
  return html`<${Section} id="alerts" title=${t("reports.section.alerts")} hint=${t("reports.hint.alerts")}
    query=${query} me=${me}>
    <${Chart} id="alerts" title=${t("reports.chart.alerts")} labels=${dates.map(day)} bars=${bars} format=${count} unit="count" />
  <//>`;
}

function ResponseSection({ data, query, me }) {
  const rows = data["response-times"].rows;
  const weeks = weekly(rows).filter((r) => r.agency_code === "all");
  const line = (step, p, colour) => ({
    key: `${step}_${p}`,
    label: t(`reports.series.${step}_${p}`),
    color: colour,
    dashed: p === "p90",
    values: weeks.map((w) => w[`${step}_${p}_s`]),
  });
  return html`<${Section} id="response-times" title=${t("reports.section.response")} hint=${t("reports.hint.response")}
    query=${query} me=${me}>
    <${Chart} id="response" title=${t("reports.chart.response")} labels=${weeks.map((w) => day(w.week_start))}
      lines=${[
        line("acknowledge", "p50", "#2b6cb0"),
        line("acknowledge", "p90", "#2b6cb0"),
        line("arrive", "p50", "#c05621"),
        line("arrive", "p90", "#c05621"),
      ]}
      format=${duration} unit="seconds" />
    <${ResponseTable} rows=${rows.filter((r) => r.week === "all")} />
  <//>`;
}

function OutcomesSection({ data, query, me }) {
  const rows = weekly(data.outcomes.rows);
  const total = data.outcomes.rows.find((r) => r.week === "all");
  const bars = Object.keys(OUTCOME_COLOURS).map((key) => ({
    key,
    label: key === "cancelled" ? t("common.state.cancelled") : t(`common.outcome.${key}`),
    color: OUTCOME_COLOURS[key],
    values: rows.map((r) => r[key]),
  }));
  return html`<${Section} id="outcomes" title=${t("reports.section.outcomes")} hint=${t("reports.hint.outcomes")}
    query=${query} me=${me}>
    <${Chart} id="outcomes" title=${t("reports.chart.outcomes")} labels=${rows.map((r) => day(r.week_start))}
      bars=${bars} format=${count} unit="count" />
    <ul class="shares" data-testid="outcome-shares">
      ${Object.keys(OUTCOME_COLOURS)
        .filter((key) => key !== "cancelled")
        .map((key) => html`<li><span class="swatch" style=${{ background: OUTCOME_COLOURS[key] }}></span>
          ${t(`common.outcome.${key}`)}: <strong>${percent(total[`${key}_share`])}</strong> (${count(total[key])})</li>`)}
    </ul>
  <//>`;
}

function ModerationSection({ data, query, me }) {
  const rows = weekly(data.moderation.rows);
  const bars = Object.keys(MODERATION_COLOURS).map((key) => ({
    key, label: t(`reports.moderation.${key}`), color: MODERATION_COLOURS[key], values: rows.map((r) => r[key]),
  }));
  const now = data.moderation.now;
  return html`<${Section} id="moderation" title=${t("reports.section.moderation")} hint=${t("reports.hint.moderation")}
    query=${query} me=${me}>
    <p data-testid="moderation-now">${t("reports.moderation.now", { suspended: count(now.suspended), strikes: count(now.with_strikes) })}</p>
    <${Chart} id="moderation" title=${t("reports.chart.moderation")} labels=${rows.map((r) => day(r.week_start))}
      bars=${bars} format=${count} unit="count" />
  <//>`;
}

function DutySection({ data, query, me }) {
  const rows = data.duty.rows;
  const bars = Object.keys(DUTY_COLOURS).map((mode) => ({
    key: mode, label: t(`reports.duty.${mode}`), color: DUTY_COLOURS[mode], values: rows.map((r) => r[`average_${mode}`]),
  }));
  const peak = { key: "peak", label: t("reports.duty.peak"), color: "#1a202c", dashed: true, values: rows.map((r) => r.peak_on_duty) };
  return html`<${Section} id="duty" title=${t("reports.section.duty")} hint=${t("reports.hint.duty")}
    query=${query} me=${me}>
    <${Chart} id="duty" title=${t("reports.chart.duty")} labels=${rows.map((r) => `${String(r.hour).padStart(2, "0")}`)}
      bars=${bars} lines=${[peak]} format=${decimal} unit="decimal" />
  <//>`;
}

export function Reports({ data, query, me, config }) {
  const period = data.kecamatan.period;
  return html`
    ${period.exercise !== "exclude" &&
    html`<p class="exercise-banner" role="status" data-testid="exercise-banner">${t(`reports.banner.${period.exercise}`)}</p>`}
    <p class="period" data-testid="period">
      ${t("reports.period", { from: day(period.from_date), to: day(period.to_date), year: period.to_date.slice(0, 4) })}
    </p>
    <${Headlines} data=${data} />
    <${MapSection} data=${data} query=${query} me=${me} config=${config} />
    <div class="report-grid">
      <${ResidentsSection} data=${data} query=${query} me=${me} />
      <${ResponseSection} data=${data} query=${query} me=${me} />
      <${AlertsSection} data=${data} query=${query} me=${me} />
      <${OutcomesSection} data=${data} query=${query} me=${me} />
      <${ModerationSection} data=${data} query=${query} me=${me} />
      <${DutySection} data=${data} query=${query} me=${me} />
    </div>
  `;
}
