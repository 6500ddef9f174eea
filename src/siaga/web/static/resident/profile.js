// The resident's profile: who they are (name, NIK) and what responders should know (medical notes, whom to
// tell). The server checks the NIK's region and birth date; this form only passes on what it says.
import { html, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { ErrorLine } from "./widgets.js";

const MAX_CONTACTS = 5; // the API's limit

function ContactRow({ contact, index, onChange, onRemove }) {
  const set = (field) => (e) => onChange(index, { ...contact, [field]: e.target.value });
  return html`<fieldset class="contact">
    <legend>${t("resident.profile.contact_n", { n: index + 1 })}</legend>
    <label for=${`contact-name-${index}`}>${t("resident.profile.contact_name")}</label>
    <input id=${`contact-name-${index}`} value=${contact.name} onInput=${set("name")} required />
    <label for=${`contact-phone-${index}`}>${t("resident.profile.contact_phone")}</label>
    <input id=${`contact-phone-${index}`} type="tel" inputmode="tel" value=${contact.phone} onInput=${set("phone")}
      required />
    <label for=${`contact-relation-${index}`}>${t("resident.profile.contact_relation")}</label>
    <input id=${`contact-relation-${index}`} value=${contact.relation} onInput=${set("relation")}
      placeholder=${t("resident.profile.contact_relation_hint")} />
    ${contact.consent &&
    contact.phone === contact.savedPhone &&
    html`<p class="hint contact-consent" data-consent=${contact.consent}>
      ${t(`resident.profile.consent.${contact.consent}`)}
    </p>`}
    <button type="button" class="link danger-text" onClick=${() => onRemove(index)}>
      ${t("resident.profile.contact_remove")}
    </button>
  </fieldset>`;
}

/** Edit the profile; `onSaved` receives the profile the server stored. */
export function ProfileForm({ profile, token, onSaved, submitLabel }) {
  const [name, setName] = useState(profile?.name || "");
  const [nik, setNik] = useState(profile?.nik || "");
  const [address, setAddress] = useState(profile?.address || "");
  const [medical, setMedical] = useState(profile?.medical_notes || "");
  const [contacts, setContacts] = useState(
    // Each saved contact's answer to the SMS asking their consent, shown until their number is changed.
    (profile?.emergency_contacts || []).map(({ name: n, phone, relation, consent }) => ({
      name: n,
      phone,
      relation,
      consent,
      savedPhone: phone,
    })),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    const body = {
      name: name.trim(),
      address: address.trim(),
      medical_notes: medical.trim(),
      emergency_contacts: contacts.map((c) => ({
        name: c.name.trim(),
        phone: c.phone.trim(),
        relation: c.relation.trim(),
      })),
    };
    const cleanNik = nik.replace(/[\s.-]/g, "");
    if (cleanNik && cleanNik !== profile?.nik) body.nik = cleanNik;
    try {
      const stored = await api("/residents/me", { method: "PATCH", body, token });
      setSaved(true);
      onSaved(stored);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  const change = (index, value) => setContacts(contacts.map((c, i) => (i === index ? value : c)));
  const removeAt = (index) => setContacts(contacts.filter((_, i) => i !== index));
  return html`<form class="card stack" onSubmit=${submit}>
    <h2>${t("resident.profile.title")}</h2>
    <label for="name">${t("resident.profile.name")}</label>
    <input id="name" autocomplete="name" required value=${name} onInput=${(e) => setName(e.target.value)} />
    <label for="nik">${t("resident.profile.nik")}</label>
    <input id="nik" inputmode="numeric" maxlength="20" value=${nik} onInput=${(e) => setNik(e.target.value)}
      aria-describedby="nik-hint" />
    <p id="nik-hint" class="hint">${t("resident.profile.nik_hint")}</p>
    <label for="address">${t("resident.profile.address")}</label>
    <textarea id="address" rows="2" value=${address} onInput=${(e) => setAddress(e.target.value)}></textarea>
    <label for="medical">${t("resident.profile.medical")}</label>
    <textarea id="medical" rows="3" value=${medical} onInput=${(e) => setMedical(e.target.value)}
      placeholder=${t("resident.profile.medical_hint")}></textarea>
    <h3>${t("resident.profile.contacts")}</h3>
    <p class="hint">${t("resident.profile.contacts_hint")}</p>
    ${contacts.map(
      (c, i) => html`<${ContactRow} key=${i} contact=${c} index=${i} onChange=${change} onRemove=${removeAt} />`,
    )}
    ${contacts.length < MAX_CONTACTS &&
    html`<button type="button" onClick=${() => setContacts([...contacts, { name: "", phone: "", relation: "" }])}>
      ${t("resident.profile.contact_add")}
    </button>`}
    <${ErrorLine} error=${error} />
    ${saved && html`<p class="ok-text" role="status">${t("resident.saved")}</p>`}
    <button class="primary big" type="submit" disabled=${busy || !name.trim()}>
      ${busy ? t("common.loading") : submitLabel || t("common.save")}
    </button>
  </form>`;
}
