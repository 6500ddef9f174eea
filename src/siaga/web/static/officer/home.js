// The officer's screen once logged in: a ringing offer above everything, then the assignment, duty and push.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { OutboxPanel, useOutbox } from "./actions.js";
import { AssignmentCard } from "./assignment.js";
import { DutyCard, useDuty } from "./duty.js";
import { errorText } from "../js/errors.js";
import { failureOf } from "../js/outbox.js";
import { myUnitOn, useDispatchFeed } from "./feed.js";
import { useAlertLink } from "./link.js";
import { PositionSharer } from "./location.js";
import { PushCard } from "./push.js";
import { SecondFactorCard } from "../js/factor.js";
import { Ringer } from "./ringer.js";
import { RingingCard } from "./ringing.js";
import { Notices } from "./notices.js";

// The unit's state as the board shows it, derived from what this phone knows (the server has no "my unit" read).
const UNIT_STATE_OF_ALERT = { dispatched: "assigned", en_route: "en_route", on_scene: "on_scene" };

function unitState(duty, offers, assignments, unitId) {
  if (!duty.duty.on) return "off_duty";
  if (assignments.length) {
    const mine = myUnitOn(assignments[0], unitId);
    return mine?.role === "backup" ? mine.state : UNIT_STATE_OF_ALERT[assignments[0].state];
  }
  if (offers.length) return "offered";
  return "available";
}

const CONFLICT_REASONS = { "offer.taken": "taken", "alert.taken": "taken", "offer.expired": "expired" };

/** Assignments this phone has already answered, so a reload does not ring for them again. */
function seenStore(staffId) {
  const key = `siaga.officer.seen.${staffId}`;
  return {
    get: () => JSON.parse(localStorage.getItem(key) || "[]"),
    add(id) {
      const next = [id, ...this.get().filter((x) => x !== id)].slice(0, 50);
      localStorage.setItem(key, JSON.stringify(next));
      return next;
    },
  };
}

/**
 * Position sharing while on duty, over the dispatch feed's stream while it is open; returns its status for the
 * screen and a way to read the newest position.
 */
function useSharing(me, duty, feed, onExpired) {
  const [status, setStatus] = useState(null);
  const sharer = useRef(null);
  useEffect(() => {
    if (!duty.duty.on) {
      setStatus(null);
      return undefined;
    }
    const current = new PositionSharer({
      token: me.token,
      link: feed.current?.positionLink() ?? null,
      onStatus: setStatus,
      onOffDuty: duty.offDutyOnServer,
      onExpired,
    }).start();
    sharer.current = current;
    return () => {
      current.stop();
      sharer.current = null;
    };
  }, [duty.duty.on, me.token]);
  return { status, where: () => sharer.current?.where() ?? null };
}

function useRinging(active) {
  const ringer = useRef(new Ringer());
  useEffect(() => {
    if (active) ringer.current.start();
    else ringer.current.stop();
  }, [active]);
  useEffect(() => () => ringer.current.stop(), []);
}

export function Home({ me, config, onExpired }) {
  const duty = useDuty(me, onExpired);
  // The feed first: its stream (opened in its effect) is the one the position sharing uses.
  const { offers, assignments, notices, streamState, reads, feed } = useDispatchFeed(me, onExpired);
  const sharing = useSharing(me, duty, feed, onExpired);
  const link = useAlertLink({ offers, assignments, reads, refresh: () => feed.current?.refresh() });
  const seen = seenStore(me.staffId);
  const [answered, setAnswered] = useState(seen.get);
  const [busy, setBusy] = useState(false);
  const [ringError, setRingError] = useState("");
  const [resolved, setResolved] = useState(null);

  useEffect(() => {
    // The shared service worker keeps the app shell for starting without signal; a missing one is no reason to fail.
    navigator.serviceWorker?.register("/sw.js").catch(() => null);
  }, []);

  // Every action the officer takes goes through the outbox; its answers arrive here, however late.
  const outbox = useOutbox(me, {
    onDelivered: (row, alert) => {
      const current = feed.current;
      if (row.kind === "accept") {
        current?.markAnswered(row.ref);
        setAnswered(seen.add(alert.id));
        current?.refresh();
        return;
      }
      current?.replace(alert);
      if (row.kind === "resolve") setResolved(alert);
    },
    onFailed: (row) => {
      if (row.kind !== "accept") return; // stays in the outbox panel with the reason
      feed.current?.markAnswered(row.ref);
      if (row.lastError?.status === 409) {
        // Someone else was quicker, or the offer ran out: say so plainly and stop ringing.
        feed.current?.addNotice(CONFLICT_REASONS[row.lastError.code] || "withdrawn", row.alert);
        outbox.discard(row.id);
      }
      feed.current?.refresh();
    },
    onExpired,
  });
  const accepting = new Set(outbox.rows.filter((r) => r.kind === "accept" && r.state === "pending").map((r) => r.ref));
  const waitingOffers = offers.filter((e) => !accepting.has(e.offer.id));

  // The alert a notification opened comes first, whether it is an offer or a new assignment.
  const entry = waitingOffers.find((e) => e.alert.id === link.id) || waitingOffers[0];
  const unanswered = assignments.filter(
    (a) => a.unit_id === me.unitId && a.state === "dispatched" && !answered.includes(a.id),
  );
  const newAssignment = unanswered.find((a) => a.id === link.id) || unanswered[0];
  useRinging(Boolean(entry || newAssignment));

  const answer = async (verb) => {
    setBusy(true);
    setRingError("");
    try {
      if (verb === "accept") {
        const path = `/offers/${entry.offer.id}/accept`;
        const row = await outbox.submit({ kind: "accept", path, alert: entry.alert, ref: entry.offer.id });
        if (row.state === "failed" && row.lastError?.status !== 409) setRingError(errorText(failureOf(row)));
        return;
      }
      await api(`/offers/${entry.offer.id}/decline`, { method: "POST", token: me.token });
      feed.current.markAnswered(entry.offer.id);
    } catch (err) {
      if (err.status === 401) return onExpired();
      if (err.status !== 409) return setRingError(errorText(err));
      feed.current.markAnswered(entry.offer.id);
      feed.current.addNotice(CONFLICT_REASONS[err.code] || "withdrawn", entry.alert);
    } finally {
      setBusy(false);
      feed.current.refresh();
    }
  };
  const act = (alert) => (kind, path, body) => {
    // A resolve made here must not later read as "closed by the command centre" when the alert leaves the list.
    if (kind === "resolve") feed.current?.markAnswered(alert.id);
    return outbox.submit({ kind, path, body, alertId: alert.id, alert });
  };

  return html`
    <p class="connection connection-${streamState}" data-testid="connection">${t(`common.stream.${streamState}`)}</p>
    ${entry &&
    html`<${RingingCard} entry=${entry} more=${waitingOffers.length - 1} busy=${busy} error=${ringError}
      onAccept=${() => answer("accept")} onDecline=${() => answer("decline")} />`}
    ${!entry &&
    newAssignment &&
    html`<${RingingCard} assignment=${newAssignment} more=${0} busy=${false} error=""
      onAccept=${() => setAnswered(seen.add(newAssignment.id))} />`}
    <${Notices} notices=${notices} onDismiss=${(id) => feed.current.dismiss(id)} />
    <${OutboxPanel} rows=${outbox.rows} onRetry=${outbox.retry} onDiscard=${outbox.discard} />
    ${link.gone &&
    html`<p class="banner notice" role="status" data-testid="link-gone">
      <span>${t("officer.link.gone")}</span>
      <button type="button" onClick=${link.dismiss}>${t("common.close")}</button>
    </p>`}
    ${resolved &&
    html`<p class="banner ok" role="status">
      ${t("officer.resolve.done")}
      <button type="button" onClick=${() => setResolved(null)}>${t("common.close")}</button>
    </p>`}
    ${assignments.map(
      (alert) => html`<${AssignmentCard} key=${alert.id} alert=${alert} unitId=${me.unitId} where=${sharing.where}
        linked=${alert.id === link.id} queued=${outbox.rows.filter((row) => row.alertId === alert.id)}
        onAct=${act(alert)} />`,
    )}
    ${!assignments.length && duty.duty.on && html`<p class="card quiet">${t("officer.waiting")}</p>`}
    <${DutyCard} state=${duty} sharing=${sharing.status} unitState=${unitState(duty, offers, assignments, me.unitId)} />
    <${PushCard} config=${config} token=${me.token} />
    <${SecondFactorCard} token=${me.token} idPrefix="officer-factor" />
  `;
}
