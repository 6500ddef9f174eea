// The alert's running timers and its timeline: every change, who made it, and when.
import { html } from "../js/ui.js";
import { clock, t } from "../js/i18n.js";
import { ACTIVE_STATES } from "./store.js";
import { secondsBetween, timeOfDay, useTick } from "./time.js";
import { SMS_LIMITS, SMS_PURPOSES, SMS_STATUSES, foldSms } from "./sms.js";

// Reasons Siaga itself writes; anything else is an operator's own words and is shown as written.
const KNOWN_REASONS = new Set([
  "not_acknowledged",
  "no_officer",
  "duress",
  "resident_suspended",
  "session_expired",
  "unregistered_number",
  "unverified_sms",
  "officer_emergency",
  "pin_wrong",
  "pin_locked",
  "no_location",
  "repeated_presses",
  "handed_back",
  "off_duty",
]);
const LOUD_EVENTS = new Set([
  "duress",
  "escalated",
  "delivery_failed",
  "flagged",
  "cancel_ignored",
  "handed_back",
  "resident_replied",
]);
// Seconds after which a still-running step is shown as late (amber), then very late (red).
const LATE = { acknowledge: [30, 60], dispatch: [90, 180], arrive: [600, 900] };

export function reasonText(reason) {
  if (!reason) return "";
  return KNOWN_REASONS.has(reason) ? t(`console.reason.${reason}`) : reason;
}

// With `due` (the agency's escalation deadline, from the server), late means past half of it and very late past it.
// `quiet` replaces a running count that is not a matter of urgency (an officer has the alert; no operator saw it yet).
function Timer({ name, label, from, until, running, due, quiet }) {
  let value = t("console.timer.not_yet");
  let tone = "";
  let escalates = null;
  if (until) {
    value = clock(secondsBetween(from, until));
    tone = "done";
  } else if (quiet) {
    value = quiet;
    tone = "quiet";
  } else if (running) {
    const seconds = secondsBetween(from);
    value = clock(seconds);
    let [late, veryLate] = LATE[name] || [Infinity, Infinity];
    if (due) {
      veryLate = secondsBetween(from, due);
      late = veryLate / 2;
      const left = veryLate - seconds;
      if (left > 0) escalates = t("console.timer.escalates_in", { time: clock(left) });
    }
    tone = seconds >= veryLate ? "very-late" : seconds >= late ? "late" : "running";
  }
  return html`
    <div class=${`timer timer-${tone}`} data-timer=${name}>
      <span class="timer-label">${label}</span>
      <span class="timer-value">${value}</span>
      ${escalates && html`<span class="timer-due" data-testid=${`due-${name}`}>${escalates}</span>`}
    </div>
  `;
}

export function Timers({ alert }) {
  useTick(1000);
  const open = ACTIVE_STATES.has(alert.state);
  // An officer took it from a direct offer: T1 is over (no escalation), but no operator has seen it yet.
  const unseen = open && !alert.acknowledged_at && alert.unit_id != null;
  // Handed back by its unit: it waits for a unit again, and T2 runs again until the server's new deadline.
  const handedBack = open && alert.unit_id == null && Boolean(alert.dispatched_at);
  return html`
    <div class="timers" role="group" aria-label=${t("console.timer.title")}>
      <${Timer}
        name="press"
        label=${t("console.timer.since_press")}
        from=${alert.created_at}
        until=${alert.closed_at}
        running=${true}
      />
      <${Timer}
        name="acknowledge"
        label=${t("console.timer.to_acknowledge")}
        from=${alert.created_at}
        until=${alert.acknowledged_at}
        running=${open}
        due=${alert.ack_due_at}
        quiet=${unseen ? t("console.timer.not_seen") : null}
      />
      <${Timer}
        name="dispatch"
        label=${t(handedBack ? "console.timer.to_dispatch_again" : "console.timer.to_dispatch")}
        from=${alert.created_at}
        until=${handedBack ? null : alert.dispatched_at}
        running=${open}
        due=${alert.dispatch_due_at}
      />
      <${Timer}
        name="arrive"
        label=${t("console.timer.to_arrive")}
        from=${alert.created_at}
        until=${alert.on_scene_at}
        running=${open && alert.unit_id != null}
      />
    </div>
  `;
}

function eventDetail(event) {
  const data = event.data || {};
  switch (event.kind) {
    case "note":
    case "resident_messaged":
    case "resident_replied":
      return data.text;
    case "dispatched":
    case "unit_added":
    case "unit_accepted":
    case "unit_en_route":
    case "unit_on_scene":
    case "unit_released":
      return data.unit_name;
    case "units_requested":
      return [data.unit_name, data.requested_kind, (data.agencies || []).join(", ")].filter(Boolean).join(" · ");
    case "resolved":
      return [t(`common.outcome.${data.outcome}`), data.report].filter(Boolean).join(" · ");
    case "escalated":
    case "flagged":
    case "cancel_ignored":
    case "handed_back":
      return reasonText(String(data.reason ?? ""));
    case "delivery_failed":
      return t("console.event.delivery_detail", {
        channel: [data.channel, data.number].filter(Boolean).join(" "),
        attempt: data.attempt ?? "",
        error: data.error ?? "",
      });
    case "sms":
      return [
        t(data.direction === "in" ? "console.sms.in" : "console.sms.out", { number: data.number ?? "" }),
        SMS_PURPOSES.has(data.purpose) ? t(`console.sms.purpose.${data.purpose}`) : "",
        SMS_STATUSES.has(data.status) ? t(`console.sms.status.${data.status}`) : "",
        SMS_LIMITS.has(data.limit) ? t(`console.sms.limit.${data.limit}`) : "",
        data.error,
      ]
        .filter(Boolean)
        .join(" · ");
    case "created":
      return data.category ? t(`common.category.${data.category}`) : "";
    case "priority_changed":
      return t("console.event.priority_detail", {
        from: t(`console.priority.${data.from}`),
        to: t(`console.priority.${data.to}`),
        reason: data.reason ?? "",
      });
    case "linked":
    case "unlinked":
      return t("console.event.incident_detail", { count: (data.alert_ids || []).length });
    case "category_changed":
      return t("console.event.category_detail", {
        from: t(`common.category.${data.from}`),
        to: t(`common.category.${data.to}`),
        agency: data.agency ?? "",
      });
    case "transferred":
      return t("console.event.transfer_detail", {
        from: data.previous_agency ?? "",
        agency: data.agency ?? "",
        reason: data.reason ?? "",
      });
    default:
      return "";
  }
}

export function Timeline({ events }) {
  const newestFirst = foldSms(events).reverse(); // an SMS is one row, showing what became of it
  return html`
    <section class="panel-block" aria-labelledby="timeline-title">
      <h3 id="timeline-title">${t("console.timeline.title")}</h3>
      <ol class="timeline">
        ${newestFirst.map(
          (event) => html`
            <li
              key=${event.id}
              class=${LOUD_EVENTS.has(event.kind) ? `loud event-${event.kind}` : `event-${event.kind}`}
              data-kind=${event.kind}
            >
              <time datetime=${event.at}>${timeOfDay(event.at)}</time>
              <span class="event-what">
                <strong>${t(`console.event.${event.kind}`)}</strong>
                <span class="muted"> · ${event.actor_name}</span>
                ${eventDetail(event) && html`<span class="event-detail">${eventDetail(event)}</span>`}
              </span>
            </li>
          `,
        )}
      </ol>
    </section>
  `;
}
