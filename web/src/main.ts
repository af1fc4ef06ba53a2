// The console: a hash router over the pages, the bar with the user's links, and one place
// where errors become words (or the sign-in page).

import "./style.css";
import { agents, current, customers, onSession, resume, signOut, type Who } from "./api";
import { fill, h, toast } from "./dom";
import { report } from "./report";
import { draw as drawRinger, ringFor } from "./ringer";
import { Availability } from "./gen/support/v1/common_pb";
import { adminAgents, adminCustomers, adminDepartments } from "./pages/admin";
import { myTickets, newTicket } from "./pages/customer";
import { dashboard } from "./pages/dashboard";
import { queue } from "./pages/queue";
import { searchBox, searchPage } from "./pages/search";
import { register, signIn } from "./pages/signin";
import { ticketPage } from "./pages/ticket";
import { adminWebhooks } from "./pages/webhooks";

/** A page: it fills `main` and stops its streams when `signal` aborts. */
export type Page = (main: HTMLElement, args: string[], signal: AbortSignal) => Promise<void>;

const STAFF = ["agent", "supervisor", "admin", "service"];
const MANAGERS = ["supervisor", "admin", "service"];
const ADMINS = ["admin", "service"];

const ROUTES: Record<string, { page: Page; roles: string[] | null; title: string }> = {
  signin: { page: signIn, roles: null, title: "Sign in" },
  register: { page: register, roles: null, title: "Sign up" },
  tickets: { page: myTickets, roles: ["customer"], title: "My tickets" },
  new: { page: newTicket, roles: ["customer"], title: "New ticket" },
  ticket: { page: ticketPage, roles: ["customer", ...STAFF], title: "Ticket" },
  queue: { page: queue, roles: STAFF, title: "Queue" },
  search: { page: searchPage, roles: ["customer", ...STAFF], title: "Search" },
  dashboard: { page: dashboard, roles: MANAGERS, title: "Dashboard" },
  departments: { page: adminDepartments, roles: ADMINS, title: "Departments" },
  agents: { page: adminAgents, roles: ADMINS, title: "Agents" },
  customers: { page: adminCustomers, roles: ADMINS, title: "Customers" },
  webhooks: { page: adminWebhooks, roles: ADMINS, title: "Webhooks" },
};

/** Where a user lands. */
function home(w: Who | null): string {
  if (!w) return "signin";
  return w.role === "customer" ? "tickets" : "queue";
}

let running: AbortController | null = null;

async function route(): Promise<void> {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  const [name = "", ...args] = location.hash.replace(/^#\/?/, "").split("/");
  const who = current();
  const target = ROUTES[name];
  if (!target || (target.roles && (!who || !target.roles.includes(who.role)))) {
    const to = home(who);
    if (name === to) return;
    location.hash = `#/${to}`;
    return;
  }
  document.title = `${target.title} · Support console`;
  // Each visit draws into an element of its own: a page still loading when the user moves
  // on (pages await their data, then draw) draws into a detached element, not over the
  // page that replaced it.
  const view = h("div", { class: "page" });
  fill(document.getElementById("main")!, view);
  try {
    await target.page(view, args, controller.signal);
  } catch (e) {
    // A page that failed before it drew says why in its place, not only in the toast.
    const text = report(e);
    if (text !== undefined && !view.hasChildNodes()) fill(view, h("h1", {}, target.title), h("p", { class: "error" }, text));
  }
  bar();
}

function link(to: string, label: string): HTMLElement {
  const here = location.hash.startsWith(`#/${to}`);
  return h("a", { href: `#/${to}`, "aria-current": here ? "page" : null }, label);
}

/** The bar: the user's links, an agent's availability, and sign-out. */
function bar(): void {
  const el = document.getElementById("bar")!;
  const w = current();
  if (!w) {
    fill(el, h("strong", { class: "brand" }, "Support"), h("nav", {}, link("signin", "Sign in"), link("register", "Sign up")));
    return;
  }
  const links =
    w.role === "customer"
      ? [link("tickets", "My tickets"), link("new", "New ticket")]
      : [
          link("queue", "Queue"),
          MANAGERS.includes(w.role) ? link("dashboard", "Dashboard") : null,
          ADMINS.includes(w.role) ? link("departments", "Departments") : null,
          ADMINS.includes(w.role) ? link("agents", "Agents") : null,
          ADMINS.includes(w.role) ? link("customers", "Customers") : null,
          ADMINS.includes(w.role) ? link("webhooks", "Webhooks") : null,
        ];
  const out = h("button", { type: "button", onclick: () => void signOut().then(() => (location.hash = "#/signin")) }, "Sign out");
  const label = h("span", { class: "who" }, w.role);
  const named = (first: string, last: string) => (label.textContent = `${first} ${last} · ${w.role}`);
  if (w.agentId > 0n) void agents.getAgent({ id: w.agentId }).then((r) => r.agent && named(r.agent.firstName, r.agent.lastName), () => {});
  if (w.customerId > 0n) void customers.getCustomer({ id: w.customerId }).then((r) => r.customer && named(r.customer.firstName, r.customer.lastName), () => {});
  const availability = w.agentId > 0n ? availabilitySwitch(w.agentId) : null;
  fill(el, h("strong", { class: "brand" }, "Support"), h("nav", {}, links), searchBox(), label, availability, out);
}

/** An agent's own ACTIVE/OFF switch. */
function availabilitySwitch(id: bigint): HTMLElement {
  const box = h("input", { type: "checkbox", id: "availability", role: "switch" });
  const label = h("label", { for: "availability", class: "switch" }, box, " Active");
  agents.getAgent({ id }).then(
    (r) => (box.checked = r.agent?.availability === Availability.ACTIVE),
    () => {},
  );
  box.addEventListener("change", async () => {
    try {
      const r = await agents.setAgentAvailability({ id, availability: box.checked ? Availability.ACTIVE : Availability.OFF });
      const handed = r.handedOver.map((t) => `#${t.ticketId} ${t.subject} (${t.toAgentId ? "handed to a colleague" : "waited for an agent"})`);
      toast(
        r.agent?.availability === Availability.ACTIVE
          ? `You are active: new tickets come to you.${handed.length ? ` While you were away, customers wrote on ${handed.length} of your tickets: ${handed.join("; ")}.` : ""}`
          : "You are off: no new tickets or calls; customers who write are handed to an active colleague.",
      );
    } catch (e) {
      box.checked = !box.checked;
      report(e);
    }
  });
  return label;
}

onSession((w) => {
  bar();
  ringFor(w);
});
window.addEventListener("hashchange", () => {
  drawRinger();
  void route();
});
void (async () => {
  await resume();
  bar();
  ringFor(current());
  await route();
})();
