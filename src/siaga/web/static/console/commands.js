// The operator's actions on an alert, through the public API. Each resolves with the alert as the server now sees it,
// or reports why not in the operator's language (e.g. "Sudah diterima oleh Operator Ani") and resolves with null.
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";

export function makeCommands(token, report) {
  async function act(path, body, done) {
    try {
      const alert = await api(path, { method: "POST", body: body ?? {}, token });
      report({ kind: "ok", text: done });
      return alert;
    } catch (error) {
      report({ kind: "error", text: errorText(error), code: error.code });
      return null;
    }
  }

  return {
    acknowledge: (id) => act(`/alerts/${id}/acknowledge`, {}, t("console.action.acknowledged")),
    dispatch: (id, unit) =>
      act(`/alerts/${id}/dispatch`, { unit_id: unit.unit_id }, t("console.action.dispatched", { unit: unit.callsign })),
    addUnit: (id, unit) =>
      act(`/alerts/${id}/units`, { unit_ids: [unit.unit_id] }, t("console.action.unit_added", { unit: unit.callsign })),
    releaseUnit: (id, unit) =>
      act(
        `/alerts/${id}/units/${unit.unit_id}/state`,
        { state: "released" },
        t("console.action.unit_released", { unit: unit.callsign }),
      ),
    note: (id, text) => act(`/alerts/${id}/notes`, { text }, t("console.action.noted")),
    message: (id, text) => act(`/alerts/${id}/messages`, { text }, t("console.action.messaged")),
    resolve: (id, outcome, report) =>
      act(
        `/alerts/${id}/resolve`,
        { outcome, report },
        t("console.action.resolved", { outcome: t(`common.outcome.${outcome}`) }),
      ),
    escalate: (id, reason) => act(`/alerts/${id}/escalate`, { reason }, t("console.action.escalated")),
    priority: (id, priority, reason) =>
      act(
        `/alerts/${id}/priority`,
        { priority, reason },
        t("console.action.priority_changed", { priority: t(`console.priority.${priority}`) }),
      ),
    category: (id, category) =>
      act(
        `/alerts/${id}/category`,
        { category },
        t("console.action.category_changed", { category: t(`common.category.${category}`) }),
      ),
  };
}
