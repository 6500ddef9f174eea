// The apps' one way to show an error (src/siaga/web/static/js/errors.js): the code picks the sentence from the
// catalogue, `details` fill it, and a request that never reached the server says so. Run with `node --test tests/js/`;
// tests/unit/test_js.py runs it under pytest. The catalogues are the real files, read from disk.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { beforeEach, describe, test } from "node:test";

const STATIC = new URL("../../src/siaga/web/static/", import.meta.url);

globalThis.fetch = async (path) => {
  const text = await readFile(new URL(path.replace(/^\/static\//, ""), STATIC), "utf-8");
  return { ok: true, json: async () => JSON.parse(text) };
};
globalThis.localStorage = { getItem: () => null, setItem: () => {} };
globalThis.document = { documentElement: {} };

const { loadI18n } = await import("../../src/siaga/web/static/js/i18n.js");
const { ApiError } = await import("../../src/siaga/web/static/js/api.js");
const { errorText } = await import("../../src/siaga/web/static/js/errors.js");

describe("in the console, in Bahasa Indonesia", () => {
  beforeEach(() => loadI18n("console", "id"));

  test("a lost race names who won, from the details", () => {
    const message = "already acknowledged by Operator Budi (operator)";
    const details = { holder: "Operator Budi", holder_role: "operator" };
    const error = new ApiError(409, "alert.already_acknowledged", message, details);
    assert.equal(errorText(error), "Sudah diterima oleh Operator Budi.");
  });

  test("a request that never reached the server says there is no connection", () => {
    assert.match(errorText(new ApiError(0, "network", "Failed to fetch")), /^Tidak ada koneksi ke server/);
    assert.match(errorText(new TypeError("Failed to fetch")), /^Tidak ada koneksi ke server/);
  });

  test("an answer without Siaga's error body (a proxy's page) says its status in words, not the proxy's English", () => {
    assert.equal(
      errorText(new ApiError(502, "http_502", "Bad Gateway")),
      "Server sedang bermasalah atau tidak terjangkau (kode 502). Coba lagi sebentar lagi.",
    );
    assert.equal(errorText(new ApiError(413, "http_413", "Request Entity Too Large")), "Server menolak permintaan ini (kode 413).");
    // The resident's outbox keeps a refusal as {code, message: ""} (outbox-core.js).
    assert.equal(errorText({ status: 504, code: "http_504", message: "" }).includes("kode 504"), true);
  });

  test("a code no catalogue knows yet still says something, in a translated frame", () => {
    const error = new ApiError(418, "teapot.full", "the teapot is full");
    assert.equal(errorText(error), "Terjadi kesalahan: the teapot is full");
  });

  test("text the app already wrote in the reader's language passes unchanged", () => {
    assert.equal(errorText(Object.assign(new Error("Berkas bukan JSON"), { local: true })), "Berkas bukan JSON");
    assert.equal(errorText("Sudah ditulis"), "Sudah ditulis");
    assert.equal(errorText(null), "");
  });
});

describe("in the resident app", () => {
  test("an app's own wording is used when the details fill it, else the common one", async () => {
    await loadI18n("resident", "id");
    const left = new ApiError(422, "pin.wrong", "wrong PIN; 2 attempt(s) left", { attempts_left: 2 });
    assert.equal(errorText(left), "PIN salah. Sisa percobaan: 2.");
    assert.equal(errorText(new ApiError(422, "pin.wrong", "wrong PIN")), "PIN salah.");
  });

  test("in English on request", async () => {
    await loadI18n("resident", "en");
    const taken = new ApiError(409, "resident.nik_taken", "this NIK is registered to another account");
    assert.equal(errorText(taken), "This NIK is already registered to another account.");
    assert.match(errorText(new ApiError(0, "network", "Failed to fetch")), /^No connection to the server/);
  });
});

describe("a refused form", () => {
  test("names the fields the server listed, by their labels in the reader's language", async () => {
    await loadI18n("admin", "id");
    const problems = [
      { field: "username", problem: "String should have at least 3 characters", type: "string_too_short" },
      { field: "password", problem: "Field required", type: "missing" },
    ];
    const error = new ApiError(422, "request.invalid", "invalid input: ...", { problems });
    assert.equal(errorText(error), "Isian tidak valid: Nama pengguna, Kata sandi.");
  });

  test("a field inside a list is named with its position, counted from 1", async () => {
    await loadI18n("resident", "id");
    const problem = { field: "emergency_contacts.0.phone", problem: "String should have at least 4 characters" };
    const error = new ApiError(422, "request.invalid", "invalid input: ...", {
      problems: [{ ...problem, type: "string_too_short" }],
    });
    assert.equal(errorText(error), "Isian tidak valid: Kontak darurat 1 › Nomor telepon.");
    await loadI18n("resident", "en");
    assert.equal(errorText(error), "Invalid input: Emergency contact 1 › Phone number.");
  });
});

test("a browser's own error is framed, never looked up by its numeric code", async () => {
  await loadI18n("officer", "id");
  const refused = Object.assign(new Error("Registration failed - permission denied"), { name: "NotAllowedError", code: 0 });
  assert.equal(errorText(refused), "Terjadi kesalahan: Registration failed - permission denied");
});

test("each problem of a refused form says what is wrong in the reader's language", async () => {
  await loadI18n("admin", "id");
  const { problemText } = await import("../../src/siaga/web/static/js/errors.js");
  assert.equal(problemText({ field: "password", problem: "Field required", type: "missing" }), "Kata sandi: wajib diisi");
  assert.equal(problemText({ field: "x", problem: "Odd thing", type: "odd_thing" }), "x: Odd thing");
  assert.equal(problemText("feature 3: property 'kode' is missing"), "feature 3: property 'kode' is missing");
});

test("a GeoJSON file's problem is worded from its code and parameters, in Indonesian and English", async () => {
  const { problemText } = await import("../../src/siaga/web/static/js/errors.js");
  const problem = {
    code: "geojson.property_missing",
    params: { where: "features[0]", property: "'kode'", names: "nama" },
    problem: "features[0]: property 'kode' is missing (it has: nama)",
  };
  await loadI18n("admin", "id");
  assert.equal(problemText(problem), "features[0]: properti 'kode' tidak ada (yang ada: nama).");
  await loadI18n("admin", "en");
  assert.equal(problemText(problem), "features[0]: property 'kode' is missing (it has: nama).");
  // A code this page does not know yet (an older app, a newer server): the server's English sentence.
  await loadI18n("admin", "id");
  assert.equal(problemText({ ...problem, code: "geojson.something_new" }), problem.problem);
});
