// Where the admin is: the tab and its filters, kept in the URL's hash so a view can be linked to and reloaded.

export function readHash() {
  const [tab, query = ""] = location.hash.replace(/^#/, "").split("?");
  return { tab, params: Object.fromEntries(new URLSearchParams(query)) };
}

/** Open a tab, optionally with its filters (e.g. the audit log of one resident). */
export function go(tab, params = {}) {
  const query = new URLSearchParams(params).toString();
  location.hash = query ? `${tab}?${query}` : tab;
}
