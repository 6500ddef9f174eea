// What needs a person now, and in what order: the one place the console decides it. Pure (no DOM, no i18n), so its
// rules are unit-tested with Node's own test runner (tests/js/attention.test.mjs).
//
// The queue, in sections:
//   1. duress: a real alert whose resident entered the duress PIN, while no one has taken it;
//   2. waiting: real alerts no one has taken (no operator acknowledged it, no officer accepted it): those an operator
//      made critical, then high priority, then the injured (kesehatan), then those pressed again and again, then
//      oldest first;
//   3. handled: real alerts someone has, those with a duress PIN first, then by the priority an operator set, then
//      those with a flag not yet marked seen, then oldest;
//   4. drills: exercise alerts, ordered by the same rules among themselves, below every real alert; one switch hides
//      them from the queue, the map and the banner.
// An escalation, a flag or an operator's priority never lifts an alert above one that nobody has taken: the drills of
// a living city escalate all day, and a real press must not sink under them. Once its banner item is marked seen, a flag stops lifting its
// alert within its section ("merely seen").
//
// The banner groups what must not be missed by kind, real before drills: the real alerts waiting for someone ("SOS
// baru") are always a group of their own while any waits, and each group is dismissed as one. A resident who writes
// back in the chat of an open alert ("reply") is a person telling the command centre something now: below the
// escalations, above the resident's account and the delivery flags, and like a flag it lifts its alert within its
// section until marked seen, never above an alert nobody has taken. A reply to a closed alert is on its timeline only.

export const SECTIONS = ["duress", "waiting", "handled", "drills"];
// Banner kinds, most serious first. "new" is the real alerts no one has taken; it is not dismissed, it is taken.
export const KINDS = ["duress", "new", "escalated", "reply", "suspended", "delivery_failed", "flagged"];

/** A person has the alert: an operator acknowledged it, or an officer accepted it for their unit. */
export function taken(alert) {
  return Boolean(alert.acknowledged_at) || alert.unit_id != null;
}

/**
 * An officer has the alert but no operator has acknowledged it: marked quietly, it needs no one urgently. The stream
 * says so (`awaiting_operator`); an alert from elsewhere without the field is judged by the same rule.
 */
export function awaitsOperator(alert) {
  if (typeof alert.awaiting_operator === "boolean") return alert.awaiting_operator;
  return !alert.acknowledged_at && alert.unit_id != null;
}

function drill(alert) {
  return Boolean(alert.is_exercise);
}

/** The queue section of an open alert (one of SECTIONS). */
export function sectionOf(alert) {
  if (drill(alert)) return "drills";
  if (taken(alert)) return "handled";
  return alert.duress ? "duress" : "waiting";
}

// Each alert's press time, parsed once per alert object (the store replaces an alert's object when it changes): in a
// surge every sort and count would otherwise parse 20,000 timestamps again.
const PRESSED_AT = new WeakMap();

/** When the alert was pressed, in milliseconds since the epoch. */
export function pressedAt(alert) {
  let at = PRESSED_AT.get(alert);
  if (at === undefined) {
    at = Date.parse(alert.created_at);
    PRESSED_AT.set(alert, at);
  }
  return at;
}

/** Whether the alert is about someone hurt or ill: in a disaster they wait least. */
export function injured(alert) {
  return alert.category === "kesehatan";
}

/** Whether the resident pressed again while waiting: someone still in trouble, or more people with them. */
export function pressedAgain(alert) {
  return (alert.press_count ?? 1) > 1;
}

// One sort key per alert, a single number computed once (not per comparison): a surge sorts 20,000 alerts in a few
// milliseconds, and the console's queue index (order.js) places one changed alert by binary search. Within a section
// (and among drills, whose sub-order is the real one's): not taken before taken, duress first, then the priority an
// operator set (critical, high, normal), then the injured, then presses repeated, then an alert with a flag not yet
// seen, then the oldest. The rules are the high bits, the press time (milliseconds since the epoch, good until 2109)
// the low ones: the sum stays an exact integer (under 2^51).
const TIME_SPAN = 2 ** 42;
const RULE_BITS = 7; // taken, duress, injured, pressed again, flagged: one bit each; priority: two; below the section
const PRIORITY_RANK = { critical: 0, high: 1, normal: 2 };

/** How urgent an operator made the alert, for the order: 0 critical, 1 high, 2 normal (or unknown). */
export function priorityRank(alert) {
  return PRIORITY_RANK[alert.priority] ?? PRIORITY_RANK.normal;
}
const NOTHING_FLAGGED = new Set();

/** The alert's place in queue order as one number (smaller first; equal keys are ordered by id). */
export function orderKey(alert, flagged = NOTHING_FLAGGED, withSection = true) {
  let rank = withSection ? SECTIONS.indexOf(sectionOf(alert)) : 0;
  rank = rank * 2 + Number(taken(alert));
  rank = rank * 2 + Number(!alert.duress);
  rank = rank * 4 + priorityRank(alert);
  rank = rank * 2 + Number(!injured(alert));
  rank = rank * 2 + Number(!pressedAgain(alert));
  rank = rank * 2 + Number(!flagged.has(alert.id));
  const at = pressedAt(alert);
  return rank * TIME_SPAN + (at > 0 && at < TIME_SPAN ? at : 0);
}

/** The section (an index of SECTIONS) an order key was made in. */
export function sectionOfKey(key) {
  return Math.floor(key / TIME_SPAN) >> RULE_BITS;
}

/** Queue order of two `{key, id}` entries: by key, then by id. */
export function compareEntries(a, b) {
  if (a.key !== b.key) return a.key - b.key;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function sortedBy(alerts, flagged, withSection) {
  const keyed = [...alerts].map((alert) => ({ alert, id: alert.id, key: orderKey(alert, flagged, withSection) }));
  keyed.sort(compareEntries);
  return keyed.map((entry) => entry.alert);
}

/**
 * Real alerts no one has taken, in the order a person must take them (duress, the priority an operator set, injured,
 * pressed again, oldest).
 */
export function waitingReal(alerts) {
  return sortedBy(
    [...alerts].filter((alert) => !drill(alert) && !taken(alert)),
    new Set(),
    false,
  );
}

/** How many real alerts no one has taken (a count, without the sort: the header and tab title ask every second). */
export function waitingCount(alerts) {
  let count = 0;
  for (const alert of alerts) if (!drill(alert) && !taken(alert)) count += 1;
  return count;
}

/**
 * The newest and the oldest real alert no one has taken (`{newest, oldest}`, null when none waits): one key apart on
 * the console, so in a surge the operator reaches either end of the waiting line at once.
 */
export function waitingEnds(alerts) {
  let newest = null;
  let oldest = null;
  for (const alert of alerts) {
    if (drill(alert) || taken(alert)) continue;
    const at = pressedAt(alert);
    if (!newest || at > newest.at) newest = { at, alert };
    if (!oldest || at < oldest.at) oldest = { at, alert };
  }
  return { newest: newest?.alert ?? null, oldest: oldest?.alert ?? null };
}

/**
 * Open alerts in queue order. `flagged` holds the ids of alerts with a banner item not yet marked seen;
 * `hideDrills` leaves exercise alerts out.
 */
export function queueOrder(alerts, { flagged = new Set(), hideDrills = false } = {}) {
  return sortedBy(
    [...alerts].filter((alert) => !(hideDrills && drill(alert))),
    flagged,
    true,
  );
}

// The "new" banner item of each waiting alert object, made once: in a surge the banner is worked out again for every
// batch of presses, and thousands of fresh items each time would keep the garbage collector busy.
const NEW_ITEMS = new WeakMap();

function newItem(alert) {
  let item = NEW_ITEMS.get(alert);
  if (!item) {
    item = { key: `${alert.id}:new`, alertId: alert.id, kind: "new", reason: "", at: alert.created_at, exercise: false };
    NEW_ITEMS.set(alert, item);
  }
  return item;
}

/** The "new" group: the waiting alerts but those a duress item announces; its items made only if asked for. */
function freshGroup(waiting, duress) {
  let first = null;
  let count = 0;
  if (duress.size === 0) {
    [first = null] = waiting;
    count = waiting.length;
  } else {
    for (const alert of waiting) {
      if (duress.has(alert.id)) continue;
      first ??= alert;
      count += 1;
    }
  }
  if (count === 0) return null;
  let items = null;
  return {
    key: "real:new",
    kind: "new",
    exercise: false,
    dismissible: false,
    count,
    first: newItem(first),
    // In a surge thousands wait: the strip shows the first and the count, and nothing dismisses this group.
    get items() {
      items ??= waiting.filter((alert) => !duress.has(alert.id)).map(newItem);
      return items;
    },
  };
}

/**
 * The banner's groups, most serious first: `{key, kind, exercise, items, count, first, dismissible}`. `items` are
 * the unseen attention items (`{key, alertId, kind, reason, at, exercise}`), `first` the one to open and `count` how
 * many; `alerts` maps id -> open alert. Within a group the items follow the queue's order (so "open" opens the one
 * the queue puts first); items of closed alerts come last, newest first.
 */
export function bannerGroups(alerts, items, { hideDrills = false, ordered = null, waiting = null, placeOf = null } = {}) {
  // `ordered`: the open alerts already in queue order (the store's), so a surge of thousands is not sorted again;
  // `waiting`: the real alerts nobody has taken, in that order (the front of the store's queue), so they are not
  // looked for among all the others either; `placeOf(id)`: a number that orders an open alert as the queue does
  // (Infinity when closed), so no table of positions is made.
  const inOrder = ordered ?? queueOrder(alerts.values());
  let place = null; // alert id -> queue position, built only when a flag's group needs ordering
  const position =
    placeOf ??
    ((id) => {
      place ??= new Map(inOrder.map((alert, index) => [alert.id, index]));
      return place.get(id) ?? Infinity;
    });
  // A waiting duress alert is announced by its own, louder item; once that is marked seen it waits like the rest.
  const duress = new Set(items.filter((item) => item.kind === "duress").map((item) => item.alertId));
  const groups = [];
  // Every waiting alert is real and of kind "new": their group is made at once, not item by item.
  const fresh = freshGroup(waiting ?? inOrder.filter((alert) => !drill(alert) && !taken(alert)), duress);
  if (fresh) groups.push(fresh);
  const flagged = new Map();
  for (const item of items) {
    const alert = alerts.get(item.alertId);
    const exercise = alert ? drill(alert) : Boolean(item.exercise);
    if (hideDrills && exercise) continue;
    const key = `${exercise ? "drill" : "real"}:${item.kind}`;
    if (!flagged.has(key)) flagged.set(key, { key, kind: item.kind, exercise, items: [], dismissible: true });
    flagged.get(key).items.push(item);
  }
  const order = (a, b) => {
    const pa = position(a.alertId);
    const pb = position(b.alertId);
    if (pa !== pb) return pa < pb ? -1 : 1;
    if (pa !== Infinity && a.alertId !== b.alertId) return a.alertId < b.alertId ? -1 : 1;
    return Date.parse(b.at) - Date.parse(a.at);
  };
  for (const { items: unordered, ...group } of flagged.values()) {
    // The strip shows a group's first item and its count: in a surge of escalations, thousands are not sorted for
    // that on every batch of presses, only if the items are asked for.
    let first = unordered[0];
    for (const item of unordered) if (order(item, first) < 0) first = item;
    let sorted = null;
    groups.push({
      ...group,
      count: unordered.length,
      first,
      get items() {
        sorted ??= [...unordered].sort(order);
        return sorted;
      },
    });
  }
  const rank = (group) => Number(group.exercise) * KINDS.length + KINDS.indexOf(group.kind);
  return groups.sort((a, b) => rank(a) - rank(b));
}

/**
 * What the tab title should say: `{waiting}` (the real alerts no one has taken) while the tab is hidden and any
 * waits, else null (the page's own title).
 */
export function backgroundTitle(alerts, hidden) {
  if (!hidden) return null;
  const waiting = waitingCount(alerts);
  return waiting > 0 ? { waiting } : null;
}

/** Whether a stream event should raise a browser notification: a real press or duress PIN while the tab is hidden. */
export function notifies(event, alert, hidden) {
  if (!hidden || drill(alert)) return false;
  return event.kind === "created" || event.kind === "duress";
}
