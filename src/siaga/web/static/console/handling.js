// Handling the selected alert: one command at a time, its open form (note, resolve, escalate), and the notice that
// answers each command and fades.
import { useEffect, useMemo, useState } from "../js/ui.js";
import { makeCommands } from "./commands.js";

function useNotice() {
  const [notice, setNotice] = useState(null);
  useEffect(() => {
    if (!notice) return undefined;
    const timer = setTimeout(() => setNotice(null), notice.kind === "error" ? 12000 : 5000);
    return () => clearTimeout(timer);
  }, [notice]);
  return [notice, setNotice];
}

/** The actions on the alert `selectedId` (shown by `detail`), and whether one is running. */
export function useAlertHandling(token, selectedId, detail) {
  const [form, setForm] = useState(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useNotice();
  const commands = useMemo(() => makeCommands(token, setNotice), [token]);

  async function perform(action, closeForm = false) {
    if (!selectedId || busy) return;
    setBusy(true);
    try {
      const alert = await action(selectedId);
      if (alert) {
        detail.setAlert(alert);
        if (closeForm) setForm(null);
      }
    } finally {
      setBusy(false);
    }
  }

  const actions = {
    acknowledge: () => perform((id) => commands.acknowledge(id)),
    dispatch: (unit) => perform((id) => commands.dispatch(id, unit)),
    addUnit: (unit) => perform((id) => commands.addUnit(id, unit)),
    releaseUnit: (unit) => perform((id) => commands.releaseUnit(id, unit)),
    note: (text) => perform((id) => commands.note(id, text), true),
    message: (text) => perform((id) => commands.message(id, text), true),
    resolve: (outcome, report) => perform((id) => commands.resolve(id, outcome, report), true),
    escalate: (reason) => perform((id) => commands.escalate(id, reason), true),
    // The stream brings the re-routed alert (or, to a console that may no longer see it, its withdrawal): the answer
    // is not shown, so the panel never reads an alert that has just left this console's sight.
    category: (category) =>
      perform(async (id) => {
        if (await commands.category(id, category)) setForm(null);
        return null;
      }),
    priority: (priority, reason) => perform((id) => commands.priority(id, priority, reason), true),
    openForm: (name) => setForm(name),
  };
  return { actions, busy, form, setForm, notice };
}
