// What the officer's phone must show: offers waiting for an answer and the unit's assignment. The stream says
// *that* something changed; the REST API says what is true now, so every event triggers a re-read. A slow poll of
// the offers covers a stream that is down (only the offers: reading alerts is audited, and a reconnecting stream
// re-reads everything anyway). The same stream carries the phone's positions while it is open (positionLink).
import { useEffect, useRef, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { LiveStream } from "../js/stream.js";

const POLL_MS = 20_000;
const WORKING_STATES = new Set(["dispatched", "en_route", "on_scene"]);
const WORKING_UNIT_STATES = new Set(["assigned", "en_route", "on_scene"]);
const CLOSED_STATES = new Set(["resolved", "cancelled"]);

/** This unit's place on the alert (its lead unit, or a backup added to it), if it has one. */
export function myUnitOn(alert, unitId) {
  return (alert.units || []).find((unit) => unit.unit_id === unitId) || null;
}

/** The unit works on the alert: as its lead (the alert's own state), or as a backup (its own state on it). */
export function workingOn(alert, unitId) {
  if (alert.unit_id === unitId) return WORKING_STATES.has(alert.state);
  const mine = myUnitOn(alert, unitId);
  return Boolean(mine && mine.role === "backup" && WORKING_UNIT_STATES.has(mine.state) && !CLOSED_STATES.has(alert.state));
}

/** Why an offer or assignment left this phone, learned from the stream's events. */
function departureReason(event, unitId) {
  const data = event.data || {};
  const names = (data.unit_ids || []).includes(unitId);
  if (event.kind === "offers_withdrawn" && names) return "taken";
  if (event.kind === "offer_expired" && names) return "expired";
  // Declined by this unit: from another officer's phone in the unit, or by going off duty.
  if (event.kind === "offer_declined" && data.unit_id === unitId) {
    return data.reason === "off_duty" ? "off_duty" : "declined";
  }
  if (event.kind === "cancelled" || event.kind === "duress") return "cancelled";
  if (event.kind === "resolved") return "resolved";
  if (event.kind === "dispatched" && data.previous_unit_id === unitId && data.unit_id !== unitId) return "reassigned";
  if (event.kind === "handed_back" && data.unit_id === unitId) return "handed_back";
  return null;
}

export class DispatchFeed {
  constructor(me, onChange, onExpired) {
    this.me = me;
    this.onChange = onChange;
    this.onExpired = onExpired;
    this.offers = []; // [{offer, alert}]
    this.assignments = []; // AlertRead of the unit's working alerts
    this.notices = []; // [{id, reason, alert}]
    this.reasons = new Map(); // alert id -> why it left
    this.answered = new Set(); // offer ids this phone answered itself (no notice when they vanish)
    this.streamState = "connecting";
    this.reads = 0; // how many times offers and assignments have been read (a deep link waits for a fresh read)
    this.linkListeners = new Set();
  }

  start() {
    this.stream = new LiveStream("officer", () => this.me.token, {
      onMessage: (message) => this.onMessage(message),
      onState: (state) => {
        this.streamState = state;
        if (state === "refused") this.onExpired(); // the session ended (revoked or expired): log in again
        this.tellLink({ type: state === "open" ? "open" : "down" });
        this.emit();
      },
    }).start();
    this.poll = setInterval(() => this.pollOffers(), POLL_MS);
    this.refresh();
    return this;
  }

  stop() {
    this.stopped = true;
    this.tellLink({ type: "down" });
    this.linkListeners.clear();
    this.stream?.stop();
    clearInterval(this.poll);
    clearTimeout(this.soon);
  }

  emit() {
    if (!this.stopped) this.onChange(this);
  }

  /**
   * The open stream as the way the position sharer sends its fixes (see location.js): whether it is open, send a
   * message on it, and hear "open", "down" and each positions_ack.
   */
  positionLink() {
    return {
      isOpen: () => this.streamState === "open",
      send: (message) => Boolean(this.stream?.send(message)),
      listen: (listener) => {
        this.linkListeners.add(listener);
        return () => this.linkListeners.delete(listener);
      },
    };
  }

  tellLink(event) {
    for (const listener of [...this.linkListeners]) listener(event);
  }

  onMessage(message) {
    if (message.type === "positions_ack") return this.tellLink(message);
    if (message.type === "snapshot") return this.refreshSoon();
    if (message.type === "alert_event") {
      const reason = departureReason(message.event, this.me.unitId);
      if (reason) this.reasons.set(message.alert.id, reason);
      return this.refreshSoon();
    }
    if (message.type === "alert_location") {
      // The caller moved: the route must lead to where they are now.
      const { lat, lon, accuracy_m } = message;
      this.assignments = this.assignments.map((alert) =>
        alert.id === message.alert_id ? { ...alert, lat, lon, accuracy_m } : alert,
      );
      this.emit();
    }
  }

  /** Several events often arrive together (offered + a ring); read once for all of them. */
  refreshSoon() {
    clearTimeout(this.soon);
    this.soon = setTimeout(() => this.refresh(), 80);
  }

  async refresh() {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      const token = this.me.token;
      const [offers, alerts] = await Promise.all([
        api("/offers", { token }),
        api("/alerts", { token, query: { active: true } }),
      ]);
      const known = new Map(this.offers.map((entry) => [entry.offer.id, entry]));
      const fresh = [];
      for (const offer of offers) {
        const alert = known.get(offer.id)?.alert || (await this.alertOrNull(offer.alert_id));
        if (alert) fresh.push({ offer, alert });
      }
      const working = alerts.filter((a) => workingOn(a, this.me.unitId));
      this.noteDepartures(fresh, working);
      this.offers = fresh;
      this.assignments = working;
      this.reads += 1;
      this.emit();
    } catch (error) {
      if (error.status === 401) this.onExpired();
    } finally {
      this.reading = false;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    }
  }

  async pollOffers() {
    if (this.reading) return;
    try {
      const offers = await api("/offers", { token: this.me.token });
      const shown = new Set(this.offers.map((entry) => entry.offer.id));
      if (offers.length !== shown.size || offers.some((offer) => !shown.has(offer.id))) this.refresh();
    } catch (error) {
      if (error.status === 401) this.onExpired();
    }
  }

  async alertOrNull(id) {
    try {
      return await api(`/alerts/${id}`, { token: this.me.token });
    } catch {
      return null; // gone between the two reads (taken or closed): the next refresh explains it
    }
  }

  /** Offers and assignments that disappeared without this phone's doing become a notice that says why. */
  noteDepartures(offers, working) {
    const stillHere = new Set([...offers.map((e) => e.alert.id), ...working.map((a) => a.id)]);
    const gone = [
      ...this.offers.filter((entry) => !this.answered.has(entry.offer.id)).map((entry) => entry.alert),
      ...this.assignments.filter((alert) => !this.answered.has(alert.id)),
    ].filter((alert) => !stillHere.has(alert.id));
    for (const alert of gone) this.notice(this.reasons.get(alert.id) || "withdrawn", alert);
    // An alert offered or assigned to this unit again (an operator dispatched it after the offer ran out, or after
    // moving it to another unit): a notice that it went away no longer tells the truth.
    this.notices = this.notices.filter((n) => !stillHere.has(n.alert.id));
  }

  notice(reason, alert) {
    const others = this.notices.filter((n) => n.alert.id !== alert.id);
    this.notices = [...others, { id: `${alert.id}:${reason}`, reason, alert }];
  }

  /** The phone answered an offer or closed an alert itself: no "it went away" notice for it. */
  markAnswered(id) {
    this.answered.add(id);
  }

  /** An action's answer is the alert as it is now: show it at once (the stream's event follows). */
  replace(alert) {
    this.assignments = this.assignments
      .map((current) => (current.id === alert.id ? alert : current))
      .filter((current) => workingOn(current, this.me.unitId));
    this.emit();
  }

  /** A notice the phone learned itself (a 409 on accept). */
  addNotice(reason, alert) {
    this.notice(reason, alert);
    this.emit();
  }

  dismiss(id) {
    this.notices = this.notices.filter((n) => n.id !== id);
    this.emit();
  }
}

/** The feed as component state: re-renders whenever offers, assignments, notices or the connection change. */
export function useDispatchFeed(me, onExpired) {
  const [view, setView] = useState({
    offers: [],
    assignments: [],
    notices: [],
    streamState: "connecting",
    reads: 0,
  });
  const feed = useRef(null);
  useEffect(() => {
    const current = new DispatchFeed(
      me,
      (f) =>
        setView({
          offers: f.offers,
          assignments: f.assignments,
          notices: f.notices,
          streamState: f.streamState,
          reads: f.reads,
        }),
      onExpired,
    ).start();
    feed.current = current;
    return () => current.stop();
  }, [me.token]);
  return { ...view, feed };
}
