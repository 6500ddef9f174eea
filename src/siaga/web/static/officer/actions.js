// The officer's actions (accept, en route, on scene, resolve, note) go through the outbox (../js/outbox.js): kept on
// the phone until the server confirms them, sent again on their own when the signal comes back, and never applied
// twice. The panel says truthfully what waits, why, and what the server refused.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";
import { Outbox, failureOf } from "../js/outbox.js";
import { place } from "./format.js";

const DATABASE = "siaga-officer";

/**
 * The outbox of the signed-in officer: its rows (for the screen) and submit, retry and discard. The handlers hear
 * each delivery (with the server's answer, the alert as it is now) and each refusal, whenever they happen.
 */
export function useOutbox(me, handlers) {
  const [rows, setRows] = useState([]);
  const current = useRef(null);
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    const outbox = new Outbox(DATABASE, {
      owner: String(me.staffId),
      token: () => me.token,
      onChange: setRows,
      onDelivered: (row, data) => latest.current.onDelivered(row, data),
      onFailed: (row) => latest.current.onFailed(row),
      onExpired: () => latest.current.onExpired(),
    });
    current.current = { outbox, ready: outbox.start() };
    return () => outbox.stop();
  }, [me.token]);
  const use = async (work) => {
    const { outbox, ready } = current.current;
    await ready;
    return work(outbox);
  };
  return {
    rows,
    submit: (action) => use((outbox) => outbox.submit(action)),
    retry: (id) => use((outbox) => outbox.retry(id)),
    discard: (id) => use((outbox) => outbox.discard(id)),
  };
}

function rowStatus(row) {
  if (row.lastError?.status === 401) return t("officer.outbox.signed_out");
  if (row.attempts) return t("officer.outbox.waiting", { count: row.attempts });
  return t("officer.outbox.sending");
}

/** Every action not yet confirmed by the server, and every one it refused, until the officer dismisses it. */
export function OutboxPanel({ rows, onRetry, onDiscard }) {
  if (!rows.length) return null;
  return html`<section class="card outbox" aria-live="polite" data-testid="outbox">
    ${rows.map((row) => {
      const action = t(`officer.action.${row.kind}`);
      const about = row.alert ? `${t(`common.category.${row.alert.category}`)} · ${place(row.alert)}` : "";
      if (row.state === "failed") {
        return html`<div class="outbox-row failed" role="alert" data-testid="outbox-failed" key=${row.id}>
          <p>${t("officer.outbox.failed", { action, reason: errorText(failureOf(row)) })}</p>
          <p class="muted">${about}</p>
          <button type="button" onClick=${() => onRetry(row.id)}>${t("officer.outbox.retry")}</button>
          <button type="button" onClick=${() => onDiscard(row.id)}>${t("officer.outbox.discard")}</button>
        </div>`;
      }
      return html`<div class="outbox-row pending" data-testid="outbox-pending" key=${row.id}>
        <p>${action}: ${rowStatus(row)}</p>
        <p class="muted">${about}</p>
      </div>`;
    })}
  </section>`;
}
