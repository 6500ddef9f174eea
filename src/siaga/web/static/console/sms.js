// The SMS on an alert's timeline: each message (`data.message`, "in:<id>" or "out:<id>") is one row, where it was
// first recorded, showing what became of it since (sent, then delivered; failed, tried again, sent after all). Its
// failures stay rows of their own as well (`delivery_failed`, loud: the console must see them).

// The status a later event gives the message it names.
function statusOf(event) {
  const data = event.data || {};
  if (event.kind === "sms") return { status: data.status, error: data.error || "" };
  if (event.kind === "delivery_failed") return { status: data.final ? "failed" : "retrying", error: data.error || "" };
  return null;
}

/** The timeline's events, oldest first, with each SMS's later events folded into its first row. */
export function foldSms(events) {
  const latest = new Map();
  for (const event of events) {
    const key = event.data?.message;
    const status = key && statusOf(event);
    if (status) latest.set(key, status);
  }
  const shown = new Set();
  const rows = [];
  for (const event of events) {
    const key = event.data?.message;
    if (event.kind !== "sms" || !key) {
      rows.push(event);
    } else if (!shown.has(key)) {
      shown.add(key);
      const { status, error } = latest.get(key);
      rows.push({ ...event, data: { ...event.data, status, error } });
    }
  }
  return rows;
}

// What an SMS about an alert is for (notify's purpose going out, the handler's kind coming in), and its states: each
// has its words in the console's catalogues (console.sms.purpose.*, console.sms.status.*).
export const SMS_PURPOSES = new Set([
  "sos",
  "officer_reply",
  "sms_reply",
  "officer_offer",
  "sms_officer_coming",
  "emergency_contact",
  "emergency_contact_all_clear",
]);
export const SMS_STATUSES = new Set(["received", "sent", "delivered", "retrying", "failed", "not_sent"]);
// The limit against SMS pumping that held a reply back (console.sms.limit.*).
export const SMS_LIMITS = new Set(["number", "country", "day", "spend"]);
