// The unit board: every unit the console may see, busiest first, coloured as on the map, with counts that match its
// rows (roster.js: a drill's units hide with the drills; units on drills say "latihan"). A click centres the map.
import { html, useMemo } from "../js/ui.js";
import { clock, lang, t } from "../js/i18n.js";
import { UNIT_COLOURS } from "../js/map.js";
import { dutyMode, unitKind } from "./recommend.js";
import { GROUPS, roster } from "./roster.js";
import { secondsBetween, useTick } from "./time.js";

const BOARD_LIMIT = 200;

function UnitRows({ rows, onCentre }) {
  return rows.slice(0, BOARD_LIMIT).map(({ unit, alert, group }) => {
    const placed = unit.lat != null && unit.lon != null;
    const drill = group === "drill";
    return html`
      <tr
        key=${unit.unit_id}
        data-unit-id=${unit.unit_id}
        data-unit-state=${unit.state}
        data-unit-group=${group}
        class=${`${placed ? "clickable" : ""}${drill ? " unit-drill" : ""}`}
        onClick=${() => placed && onCentre({ lat: unit.lat, lon: unit.lon })}
      >
        <td>
          <strong>${unit.callsign}</strong>
          ${unit.kind && html`<span class="muted"> · ${unitKind(unit.kind)}</span>`}
        </td>
        <td class="unit-state">
          <span class="unit-dot" style=${{ background: UNIT_COLOURS[unit.state] }}></span>
          ${t(`common.unit.${unit.state}`)}
          ${drill && html` <span class="badge badge-drill">${t("console.units.drill")}</span>`}
        </td>
        <td>${dutyMode(unit.duty_mode)}</td>
        <td class="muted">${unit.at ? t("console.units.ago", { time: clock(secondsBetween(unit.at)) }) : ""}</td>
        <td>${alert ? t(`common.category.${alert.category}`) : ""}</td>
      </tr>
    `;
  });
}

function Counts({ counts }) {
  return html`<span class="unit-counts muted" data-testid="unit-counts">
    ${GROUPS.map(
      (group, i) => html`${i > 0 ? " · " : ""}<span data-group=${group} data-count=${counts[group]}
        >${t(`console.units.count_${group}`, { count: counts[group] })}</span>`,
    )}
  </span>`;
}

export function UnitBoard({ store, onCentre }) {
  const tick = useTick(5000);
  // The board is worked out again when a unit, the alert a unit has or the drill switch changes, and drawn again
  // also on the clock or the language, not on every batch of presses (in a surge, thousands of alerts change while
  // the board stays as it was).
  const board = useMemo(
    () => roster(store.units.values(), (id) => store.alertOfUnit(id), { hideDrills: store.hideDrills }),
    [store.unitsVersion, store.unitAlertsVersion, store.hideDrills],
  );
  const rows = useMemo(
    () => html`<${UnitRows} rows=${board.rows} onCentre=${onCentre} />`,
    [board, tick, lang()],
  );
  const units = board.rows;

  return html`
    <section class="unit-board" aria-labelledby="units-title">
      <header class="section-head">
        <h2 id="units-title">${t("console.units.title")}</h2>
        <${Counts} counts=${board.counts} />
      </header>
      ${units.length > BOARD_LIMIT &&
      html`<p class="muted">${t("console.units.first", { shown: BOARD_LIMIT, total: units.length })}</p>`}
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
