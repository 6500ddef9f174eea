// The unit board: every unit of the agency, busiest first, coloured as on the map. A click centres the map on it.
import { html, useMemo } from "../js/ui.js";
import { clock, lang, t } from "../js/i18n.js";
import { UNIT_COLOURS } from "../js/map.js";
import { dutyMode, unitKind } from "./recommend.js";
import { secondsBetween, useTick } from "./time.js";

const STATE_ORDER = ["on_scene", "en_route", "assigned", "offered", "available", "off_duty"];
const BOARD_LIMIT = 200;

function order(a, b) {
  return STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || a.callsign.localeCompare(b.callsign);
}

function UnitRows({ units, store, onCentre }) {
  return units.slice(0, BOARD_LIMIT).map((unit) => {
    const alert = store.alertOfUnit(unit.unit_id);
    const placed = unit.lat != null && unit.lon != null;
    return html`
      <tr
        key=${unit.unit_id}
        data-unit-id=${unit.unit_id}
        data-unit-state=${unit.state}
        class=${placed ? "clickable" : ""}
        onClick=${() => placed && onCentre({ lat: unit.lat, lon: unit.lon })}
      >
        <td>
          <strong>${unit.callsign}</strong>
          ${unit.kind && html`<span class="muted"> · ${unitKind(unit.kind)}</span>`}
        </td>
        <td class="unit-state">
          <span class="unit-dot" style=${{ background: UNIT_COLOURS[unit.state] }}></span>
          ${t(`common.unit.${unit.state}`)}
        </td>
        <td>${dutyMode(unit.duty_mode)}</td>
        <td class="muted">${unit.at ? t("console.units.ago", { time: clock(secondsBetween(unit.at)) }) : ""}</td>
        <td>${alert ? t(`common.category.${alert.category}`) : ""}</td>
      </tr>
    `;
  });
}

export function UnitBoard({ store, onCentre }) {
  const tick = useTick(5000);
  const units = useMemo(() => [...store.units.values()].sort(order), [store.unitsVersion]);
  const onDuty = units.filter((u) => u.state !== "off_duty").length;
  // The rows are drawn again when a unit, the alert a unit has, the clock or the language changes, not on every
  // batch of presses (in a surge, thousands of alerts change while the board stays as it was).
  const rows = useMemo(
    () => html`<${UnitRows} units=${units} store=${store} onCentre=${onCentre} />`,
    [units, store.unitAlertsVersion, tick, lang()],
  );

  return html`
    <section class="unit-board" aria-labelledby="units-title">
      <header class="section-head">
        <h2 id="units-title">${t("console.units.title")}</h2>
        <span class="muted">${t("console.units.count", { on_duty: onDuty, total: units.length })}</span>
      </header>
      ${units.length === 0
        ? html`<p class="muted empty">${t("console.units.none")}</p>`
        : html`
            <div class="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">${t("console.units.callsign")}</th>
                    <th scope="col">${t("console.units.state")}</th>
                    <th scope="col">${t("console.units.duty")}</th>
                    <th scope="col">${t("console.units.seen")}</th>
                    <th scope="col">${t("console.units.alert")}</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows}
                </tbody>
              </table>
            </div>
          `}
    </section>
  `;
}
