// The nearest available units for the selected alert, nearest first, each one click (or "d" for the first) from
// being dispatched.
import { html } from "../js/ui.js";
import { clock, t } from "../js/i18n.js";
import { distance } from "./time.js";
import { mayAct } from "./actions.js";

export const UNIT_KINDS = ["patrol_car", "motorbike", "foot", "post", "fire_engine", "ambulance", "rescue_team"];
const KNOWN_KINDS = new Set(UNIT_KINDS);
const DUTY_MODES = new Set(["post", "patrol", "home"]);
// A unit off the alert (released, or its offer ran out unanswered) may be asked to join it again.
const ENDED = ["released", "unanswered"];

export function unitKind(kind) {
  return KNOWN_KINDS.has(kind) ? t(`console.unit_kind.${kind}`) : kind;
}

export function dutyMode(mode) {
  return DUTY_MODES.has(mode) ? t(`console.duty.${mode}`) : "";
}

// Only one type of unit (a fire engine for a kebakaran, an ambulance), or any.
function UnitTypeFilter({ unitType, onUnitType }) {
  return html`<label class="rec-filter">
    ${t("console.recommend.unit_type")}
    <select data-testid="unit-type" value=${unitType} onChange=${(e) => onUnitType(e.target.value)}>
      <option value="">${t("console.recommend.any_type")}</option>
      ${UNIT_KINDS.map((kind) => html`<option value=${kind}>${unitKind(kind)}</option>`)}
    </select>
  </label>`;
}

export function Recommendations({ alert, recommendations, busy, onDispatch, onAddUnit, unitType = "", onUnitType }) {
  if (["resolved", "cancelled"].includes(alert.state)) return null;
  // An informed agency does not send the alert's unit, and on scene the alert keeps its unit: more units join it as
  // backups (an informed agency adds only its own, which are all it is recommended).
  const canDispatch = alert.state !== "on_scene" && mayAct(alert);
  const onAlert = new Set((alert.units || []).filter((u) => !ENDED.includes(u.state)).map((u) => u.unit_id));
  return html`
    <section class="panel-block" aria-labelledby="recommend-title">
      <h3 id="recommend-title">${t("console.recommend.title")}</h3>
      ${onUnitType && html`<${UnitTypeFilter} unitType=${unitType} onUnitType=${onUnitType} />`}
      ${recommendations.length === 0
        ? html`<p class="muted">${t("console.recommend.none")}</p>`
        : html`
            <ol class="recommendations">
              ${recommendations.map(
                (unit, index) => html`
                  <li key=${unit.unit_id}>
                    <span class="rec-unit">
                      <strong>${unit.callsign}</strong>
                      <span class="muted">
                        ${unitKind(unit.kind)}${unit.duty_mode ? ` · ${dutyMode(unit.duty_mode)}` : ""}
                      </span>
                      <span class="rec-distance">
                        ${distance(unit.distance_m)} · ${t("console.recommend.eta", { eta: clock(unit.eta_s) })}
                      </span>
                    </span>
                    ${canDispatch &&
                    html`<button
                      type="button"
                      class="primary"
                      data-action="dispatch-unit"
                      data-unit-id=${unit.unit_id}
                      disabled=${busy || alert.unit_id === unit.unit_id}
                      onClick=${() => onDispatch(unit)}
                    >
                      ${t("console.action.dispatch")}${index === 0 ? html` <kbd>D</kbd>` : ""}
                    </button>`}
                    ${onAddUnit &&
                    html`<button
                      type="button"
                      data-action="add-unit"
                      data-unit-id=${unit.unit_id}
                      disabled=${busy || onAlert.has(unit.unit_id)}
                      onClick=${() => onAddUnit(unit)}
                    >
                      ${t("console.action.add_unit")}
                    </button>`}
                  </li>
                `,
              )}
            </ol>
          `}
    </section>
  `;
}
