// Search: every role finds the tickets it may see by their words (SearchTickets), most
// relevant first, each with the passage that matched and its words marked.

import { tickets } from "../api";
import { field, fill, h } from "../dom";
import type { TicketSearchResult } from "../gen/support/v1/ticket_service_pb";
import { STATUS, when } from "../format";

/** The search box of the bar: submitting it opens the search page for its words. */
export function searchBox(): HTMLElement {
  const input = h("input", { type: "search", name: "q", placeholder: "Search tickets", "aria-label": "Search tickets", maxlength: "1024" });
  const form = h("form", { class: "search", role: "search" }, input);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
  });
  return form;
}

/** The snippet, its matching words in <mark> (built as nodes: the text is never HTML). */
function passage(hit: TicketSearchResult): HTMLElement {
  const chars = Array.from(hit.snippet);
  const parts: (string | HTMLElement)[] = [];
  let at = 0;
  for (const r of hit.highlights) {
    if (r.start < at || r.end > chars.length) continue;
    parts.push(chars.slice(at, r.start).join(""), h("mark", {}, chars.slice(r.start, r.end).join("")));
    at = r.end;
  }
  parts.push(chars.slice(at).join(""));
  return h("p", { class: "snippet" }, parts);
}

function result(hit: TicketSearchResult): HTMLElement {
  const t = hit.ticket!;
  return h(
    "li",
    { "data-ticket": String(t.id) },
    h("a", { href: `#/ticket/${t.id}` }, `#${t.id} ${t.subject}`),
    " ",
    h("span", { class: `status s${t.status}` }, STATUS[t.status]),
    h("span", { class: "meta" }, ` · opened ${when(t.createTime)}`),
    passage(hit),
  );
}

export async function searchPage(main: HTMLElement, args: string[]): Promise<void> {
  const query = decodeURIComponent(args.join("/"));
  const input = h("input", { type: "search", name: "query", value: query, maxlength: "1024" });
  const form = h("form", { class: "filters", role: "search" }, field("Words", input), h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
  });
  const list = h("ol", { class: "results" });
  const status = h("p", { role: "status" });
  const more = h("button", { type: "button", hidden: true }, "More results");
  fill(main, h("h1", {}, "Search"), form, status, list, more);
  if (!query) return;
  let token = "";
  const load = async () => {
    const r = await tickets.searchTickets({ query, pageSize: 20, pageToken: token });
    list.append(...r.results.map(result));
    token = r.nextPageToken;
    more.hidden = !token;
    const n = list.children.length;
    status.textContent =
      n === 0 ? "No tickets match." : n === 1 && !token ? "1 ticket matches." : `${n}${token ? "+" : ""} tickets match, most relevant first.`;
  };
  more.addEventListener("click", () => void load());
  await load();
}
