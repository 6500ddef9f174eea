// The SOS as one SMS, for a phone with signal but no data. The message is the press the outbox keeps (its own alert
// id, position, time and category), signed with the resident's SMS key (HMAC-SHA256), so the command centre can tell
// it came from this resident's app. The format is the server's (src/siaga/sms/sos_message.py):
//   SIAGA1 <id base32> <lat> <lon> <acc> <unix time> <category code, S after it if silent> <mac>
// The press stays in the outbox: whichever arrives first, over data or by SMS, makes the one alert. Without a key
// (or where the browser cannot sign: plain http) the message still goes, and the server raises it flagged
// "unverified": an SOS is never held back.

const KEY_STORE = "siaga.resident.smskey";
const NUMBER_STORE = "siaga.resident.smsnumber";
const PREFIX = "SIAGA1";
const NO_FIX = "-";
const UNSIGNED = "A".repeat(16); // the MAC's length in base32: read as a message that does not verify
const MAC_BYTES = 10;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export const CATEGORY_CODES = {
  kriminalitas: "KRI",
  kecelakaan: "KEC",
  kebakaran: "KEB",
  kesehatan: "KES",
  kdrt: "KDR",
  bencana_alam: "BEN",
  kerusuhan: "RUS",
  lainnya: "LAI",
};

/** Keep the resident's SMS key (from the sign-in, or the profile that issued it) on this phone. */
export function keepSmsKey(residentId, key) {
  if (residentId && key) localStorage.setItem(KEY_STORE, JSON.stringify({ resident_id: residentId, key }));
}

/** The resident's SMS key kept on this phone, or null. */
export function smsKey(residentId) {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY_STORE) || "null");
    return kept && kept.resident_id === residentId ? kept.key : null;
  } catch {
    return null;
  }
}

export function forgetSmsKey() {
  localStorage.removeItem(KEY_STORE);
}

/** Keep the command centre's SMS number from the web configuration (read while there is data, used when not). */
export function keepSmsNumber(number) {
  if (number) localStorage.setItem(NUMBER_STORE, number);
  else localStorage.removeItem(NUMBER_STORE);
}

/** The command centre's SMS number, or null where the deployment offers no SMS. */
export function smsNumber() {
  return localStorage.getItem(NUMBER_STORE) || null;
}

function base32(bytes) {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function uuidBytes(id) {
  const hex = id.replace(/-/g, "");
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

function degrees(value) {
  return String(Number(value.toFixed(5)));
}

/** The fields the MAC covers, from an outbox press body. */
export function smsBody(press) {
  const where = press.location;
  const located = where && Number.isFinite(where.lat) && Number.isFinite(where.lon);
  const accuracy = located && Number.isFinite(where.accuracy_m) ? Math.min(99999, Math.round(where.accuracy_m)) : null;
  const pressed = Date.parse(press.pressed_at);
  return [
    PREFIX,
    base32(uuidBytes(press.id)),
    located ? degrees(where.lat) : NO_FIX,
    located ? degrees(where.lon) : NO_FIX,
    accuracy === null ? NO_FIX : String(accuracy),
    String(Math.floor((Number.isFinite(pressed) ? pressed : Date.now()) / 1000)),
    (CATEGORY_CODES[press.category] || CATEGORY_CODES.lainnya) + (press.silent ? "S" : ""),
  ].join(" ");
}

async function mac(body, key) {
  const subtle = globalThis.crypto?.subtle;
  if (!key || !subtle) return UNSIGNED;
  const encoder = new TextEncoder();
  const hmacKey = await subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const digest = new Uint8Array(await subtle.sign("HMAC", hmacKey, encoder.encode(body)));
  return base32(digest.slice(0, MAC_BYTES));
}

/** The SMS for a press (an outbox row's body), signed with `key` (unsigned without one). */
export async function composeSms(press, key) {
  const body = smsBody(press);
  return `${body} ${await mac(body, key)}`;
}

/**
 * The link that opens the phone's SMS composer on `number` with `text`, in the one form every phone the app runs on
 * reads: `sms:<number>?&body=<text>`. Android's messaging apps read RFC 5724's query (`?body=`; the empty parameter
 * before it is skipped), iOS 8 to 10 read `&body=` after the number, and later iOS either. (iOS 7 and earlier read
 * only `;body=`, but they cannot run this app: it needs service workers, iOS 11.3 and later.)
 */
export function smsLink(number, text) {
  return `sms:${number.replace(/[^\d+]/g, "")}?&body=${encodeURIComponent(text)}`;
}
