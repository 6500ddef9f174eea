// Which alerts the reader's agency handles, pure (no DOM, no i18n), unit-tested in tests/js/handles.test.mjs.

/**
 * Whether the reader's agency handles the alert (the server's `may_act`): an agency only informed of it (the police
 * of a kebakaran Damkar handles) reads it, adds notes and writes to the resident, and is refused everything else.
 */
export function mayAct(alert) {
  return alert.may_act !== false;
}

/**
 * The picked alerts (ids, those still in `alerts`, a Map id -> alert) split into those the reader's agency handles,
 * which bulk actions go to, and those it is only informed of, which the bar names and leaves out.
 */
export function splitPicked(ids, alerts) {
  const handled = [];
  const informedOnly = [];
  for (const id of ids) {
    const alert = alerts.get(id);
    if (!alert) continue;
    (mayAct(alert) ? handled : informedOnly).push(id);
  }
  return { handled, informedOnly };
}
