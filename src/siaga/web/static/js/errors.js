// Every error a person sees, in their language. The server answers {"error": {"code", "message", "details"}}: the
// code picks the sentence from the catalogue (common.error.<code>, or <app>.error.<code> where an app words it its own
// way) and `details` fills its {placeholders}. The server's English message is shown only for a code no catalogue
// knows yet, inside a translated frame.
import { appName, t, template } from "./i18n.js";

const PLACEHOLDER = /\{([a-z_]+)\}/g;

function fills(text, details) {
  return [...text.matchAll(PLACEHOLDER)].every(([, name]) => details[name] !== undefined && details[name] !== null);
}

/** A field of a refused form as the reader knows it: the server's path ("emergency_contacts.0.phone") becomes the
 * catalogue's labels, a list's position counted from 1 ("Kontak darurat 1 › Nomor telepon"). A name the catalogue
 * does not know stays as it is. */
export function fieldLabel(path) {
  const parts = [];
  for (const segment of String(path).split(".")) {
    if (/^\d+$/.test(segment) && parts.length) parts[parts.length - 1] += ` ${Number(segment) + 1}`;
    else parts.push(template(`common.field.${segment}`) === undefined ? segment : t(`common.field.${segment}`));
  }
  return parts.join(" › ");
}

// A refused form names its fields ({fields}): the server lists them in details.problems.
function withFields(details) {
  const problems = Array.isArray(details.problems) ? details.problems : [];
  const fields = [...new Set(problems.filter((p) => p?.field).map((p) => fieldLabel(p.field)))];
  return fields.length && details.fields === undefined ? { ...details, fields: fields.join(", ") } : details;
}

/** The sentence for an error (an ApiError, a browser error, or a string already in the reader's language). */
export function errorText(error) {
  if (!error) return "";
  if (typeof error === "string") return error;
  if (error.local) return error.message; // written in the reader's language by the app itself
  // A browser's own error (DOMException) has a numeric code that means nothing here.
  const own = typeof error.code === "string" ? error.code : "";
  // A fetch that never reached the server is a TypeError ("Failed to fetch" in Chromium, "Load failed" in Safari).
  const code = own || (error instanceof TypeError || error.status === 0 ? "network" : "");
  const details = withFields(error.details && typeof error.details === "object" ? error.details : {});
  const keys = [`${appName()}.error.${code}`, `common.error.${code}`];
  const key = keys.find((k) => template(k) !== undefined && fills(template(k), details));
  if (code && key) return t(key, details);
  if (error.status === 0) return t("common.error.network");
  // An answer without Siaga's error body (a proxy's page while the server restarts, say): its status, in words, not
  // the proxy's English status text.
  const status = /^http_(\d{3})$/.exec(code)?.[1];
  if (status) return t(Number(status) >= 500 ? "common.error.http_server" : "common.error.http_status", { status });
  return t("common.error.generic", { message: error.message || code || String(error) });
}

/** One entry of a refused form's details.problems, in the reader's language: "field: what is wrong", or a problem
 * with a code and its parameters (a GeoJSON file's: common.problem.geojson.<what>, naming the feature and the
 * coordinate at fault). The server's English text stays only for a problem the catalogue does not know. */
export function problemText(problem) {
  if (typeof problem === "string") return problem;
  if (typeof problem?.code === "string") {
    const key = `common.problem.${problem.code}`;
    const params = problem.params && typeof problem.params === "object" ? problem.params : {};
    const known = template(key) !== undefined && fills(template(key), params);
    return known ? t(key, params) : problem.problem || problem.code;
  }
  const known = template(`common.problem.${problem?.type}`) !== undefined;
  return `${fieldLabel(problem?.field)}: ${known ? t(`common.problem.${problem.type}`) : problem?.problem}`;
}
