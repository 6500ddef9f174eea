// What each shortcut key does on the console screen (shortcuts.js routes the key presses and lists them for help).
import { useRef } from "../js/ui.js";
import { mayAcknowledge, mayAct } from "./actions.js";
import { waitingEnds } from "./attention.js";
import { useShortcuts } from "./shortcuts.js";

/** Open the oldest (`which` "oldest") or newest ("newest") real alert nobody has taken. */
export function openWaitingEnd(store, select, which) {
  const alert = waitingEnds(store.alerts.values())[which];
  if (alert) select(alert.id);
}

/**
 * Bind the console's keys. `handling` is useAlertHandling's answer; `select(id)` opens an alert in the panel;
 * `help` and `setHelp` show the shortcut list; `view` is the queue's (its filters decide what j/k move through).
 */
export function useConsoleKeys({ store, siren, detail, handling, selectedId, select, help, setHelp, view }) {
  const { actions, busy, form, setForm } = handling;

  function move(step) {
    const rows = view.shown(store);
    if (rows.length === 0) return;
    const index = rows.findIndex((alert) => alert.id === selectedId);
    const next = index < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, index + step));
    select(rows[next].id);
  }

  const shortcuts = useRef({});
  const withAlert = (fn) => () => detail.alert && !busy && fn(detail.alert);
  shortcuts.current = {
    j: () => move(1),
    k: () => move(-1),
    "[": () => openWaitingEnd(store, select, "oldest"),
    "]": () => openWaitingEnd(store, select, "newest"),
    a: withAlert((alert) => mayAcknowledge(alert) && actions.acknowledge()),
    c: withAlert(() => document.querySelector('[data-action="call-back"]')?.click()),
    d: withAlert((alert) => mayAct(alert) && detail.recommendations[0] && actions.dispatch(detail.recommendations[0])),
    n: withAlert(() => setForm("note")),
    r: withAlert((alert) => mayAct(alert) && alert.state !== "new" && setForm("resolve")),
    e: withAlert((alert) => mayAct(alert) && setForm("escalate")),
    m: () => (siren.ready ? siren.toggleMute() : siren.enable()),
    "?": () => setHelp((shown) => !shown),
    Escape: () => (help ? setHelp(false) : form ? setForm(null) : select(null)),
  };
  useShortcuts(shortcuts);
}
