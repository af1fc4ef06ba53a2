// A customer's pages: her tickets, her email preference, and opening a ticket.

import { current, customers, describe, requestId, tickets } from "../api";
import { departmentNames, allDepartments } from "../directory";
import { field, fill, h, select, toast, values } from "../dom";
import { Severity, TicketCategory } from "../gen/support/v1/common_pb";
import { TicketOrder } from "../gen/support/v1/ticket_service_pb";
import { CATEGORY, LEVEL, SEVERITY, STATUS, options, when } from "../format";

export async function myTickets(main: HTMLElement): Promise<void> {
  const who = current()!;
  const [list, names, me] = await Promise.all([
    tickets.listTickets({ customerId: who.customerId, pageSize: 100, orderBy: TicketOrder.CREATE_TIME }),
    departmentNames(),
    customers.getCustomer({ id: who.customerId }),
  ]);
  const rows = list.tickets.map((t) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/ticket/${t.id}` }, `#${t.id} ${t.subject}`)),
      h("td", {}, names.get(t.departmentId) ?? ""),
      h("td", {}, h("span", { class: `status s${t.status}` }, STATUS[t.status])),
      h("td", {}, LEVEL[t.priority?.level ?? 0]),
      h("td", {}, when(t.updateTime)),
    ),
  );
  fill(
    main,
    h("h1", {}, "My tickets"),
    h("p", {}, h("a", { class: "button", href: "#/new" }, "Open a new ticket")),
    emailPreference(who.customerId, !(me.customer?.emailOptOut ?? false)),
    rows.length === 0
      ? h("p", {}, "You have no tickets yet.")
      : h(
          "div",
          { class: "scroll" },
          h(
            "table",
            {},
            h("caption", { class: "sr-only" }, "Your tickets, newest first"),
            h("thead", {}, h("tr", {}, ["Ticket", "Department", "Status", "Priority", "Updated"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, rows),
          ),
        ),
  );
}

/** "Email me": off sets email_opt_out, so replies and resolutions stay in the console. */
function emailPreference(id: bigint, on: boolean): HTMLElement {
  const box = h("input", { type: "checkbox", id: "email-me", checked: on });
  box.addEventListener("change", async () => {
    try {
      await customers.updateCustomer({ customer: { id, emailOptOut: !box.checked }, updateMask: { paths: ["email_opt_out"] } });
      toast(box.checked ? "You will get email when support replies or resolves a ticket." : "No more email: find replies here.");
    } catch (e) {
      box.checked = !box.checked;
      toast(describe(e));
    }
  });
  return h("div", { class: "check" }, box, h("label", { for: "email-me" }, "Email me when support replies or resolves a ticket"));
}

export async function newTicket(main: HTMLElement): Promise<void> {
  const departments = await allDepartments(true);
  const errors = h("div", { "aria-live": "assertive" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-title" },
    h("h1", { id: "new-title" }, "Open a ticket"),
    field("Department", select("department", departments.map((d) => [String(d.id), d.name]))),
    field("Category", select("category", options(CATEGORY), TicketCategory.OTHER)),
    field("Severity", select("severity", options(SEVERITY), Severity.MAJOR)),
    field(
      "Impact: how many people it hurts, 1 (only me) to 5 (everyone)",
      h("input", { name: "impact", type: "number", min: 1, max: 5, value: 1, required: true }),
    ),
    field("Subject", h("input", { name: "subject", maxlength: 200, required: true })),
    field("Description", h("textarea", { name: "description", rows: 6, maxlength: 10000, required: true })),
    errors,
    h("button", { type: "submit" }, "Open the ticket"),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    try {
      const r = await tickets.createTicket({
        customerId: current()!.customerId,
        departmentId: BigInt(v.department || "0"),
        category: Number(v.category),
        severity: Number(v.severity),
        impact: Number(v.impact),
        subject: v.subject,
        description: v.description,
        requestId: requestId(),
      });
      location.hash = `#/ticket/${r.ticket?.id}`;
    } catch (e) {
      fill(errors, h("p", { class: "error", role: "alert" }, describe(e)));
    }
  });
  fill(main, form);
}
