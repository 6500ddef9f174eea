// Why an offer or assignment left the phone ("taken by another unit", "expired", ...), until the officer has read it.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { place } from "./format.js";

export function Notices({ notices, onDismiss }) {
  return notices.map((notice) => {
    const category = t(`common.category.${notice.alert.category}`);
    return html`<p class="banner notice notice-${notice.reason}" role="status" data-testid="notice">
      <span>${t(`officer.notice.${notice.reason}`, { category, place: place(notice.alert) })}</span>
      <button type="button" onClick=${() => onDismiss(notice.id)}>${t("common.close")}</button>
    </p>`;
  });
}
