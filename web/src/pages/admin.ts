// An admin's pages: departments, agents (create, set a password) and customers (tier).

import { agents, all, auth, customers, departments, describe, requestId } from "../api";
import { allAgents, allDepartments } from "../directory";
import { field, fill, h, select, toast, values } from "../dom";
import { AgentRole, ConversationMode, CustomerTier, type Customer } from "../gen/support/v1/common_pb";
import { MODE, TIER, options } from "../format";

export function listTable(caption: string, head: string[], rows: (Node | string)[][]): HTMLElement {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))),
    ),
  );
}

/** A form that calls `submit` with its values, shows errors by field, and then `done`. */
export function form(title: string, controls: HTMLElement[], button: string, submit: (v: Record<string, string>) => Promise<unknown>, done: () => void): HTMLElement {
  const errors = h("div", { "aria-live": "assertive" });
  const el = h("form", { class: "card" }, h("h2", {}, title), controls, errors, h("button", { type: "submit" }, button));
  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await submit(values(el));
      el.reset();
      fill(errors);
      done();
    } catch (e) {
      fill(errors, h("p", { class: "error", role: "alert" }, describe(e)));
    }
  });
  return el;
}

export async function adminDepartments(main: HTMLElement): Promise<void> {
  const list = await allDepartments(true);
  fill(
    main,
    h("h1", {}, "Departments"),
    listTable("Departments", ["Id", "Name", "Conversation", "Description"], list.map((d) => [String(d.id), d.name, MODE[d.conversationMode], d.description])),
    form(
      "New department",
      [
        field("Name", h("input", { name: "name", required: true, maxlength: 100 })),
        field("Conversation", select("mode", options(MODE), ConversationMode.TICKET)),
        field("Description", h("input", { name: "description", maxlength: 1000 })),
      ],
      "Create department",
      (v) =>
        departments.createDepartment({
          department: { name: v.name, conversationMode: Number(v.mode), description: v.description },
          requestId: requestId(),
        }),
      () => void adminDepartments(main).then(() => toast("Department created.")),
    ),
  );
}

export async function adminAgents(main: HTMLElement): Promise<void> {
  const [list, depts] = await Promise.all([allAgents(true), allDepartments()]);
  const deptName = new Map(depts.map((d) => [d.id, d.name]));
  const deptOptions = depts.map((d): [string, string] => [String(d.id), d.name]);
  const agentOptions = list.map((a): [string, string] => [String(a.id), `${a.firstName} ${a.lastName} <${a.email}>`]);
  const role = (r: AgentRole) => (r === AgentRole.SUPERVISOR ? "Supervisor" : "Agent");
  fill(
    main,
    h("h1", {}, "Agents"),
    listTable("Agents", ["Id", "Name", "Email", "Department", "Role"], list.map((a) => [String(a.id), `${a.firstName} ${a.lastName}`, a.email, deptName.get(a.departmentId) ?? "", role(a.role)])),
    h(
      "div",
      { class: "columns" },
      form(
        "New agent",
        [
          field("First name", h("input", { name: "first", required: true })),
          field("Last name", h("input", { name: "last", required: true })),
          field("Email", h("input", { name: "email", type: "email", required: true })),
          field("Department", select("department", deptOptions)),
          field("Role", select("role", [[AgentRole.AGENT, "Agent"], [AgentRole.SUPERVISOR, "Supervisor"]])),
        ],
        "Create agent",
        (v) =>
          agents.createAgent({
            agent: { firstName: v.first, lastName: v.last, email: v.email, departmentId: BigInt(v.department || "0"), role: Number(v.role) },
            requestId: requestId(),
          }),
        () => void adminAgents(main).then(() => toast("Agent created.")),
      ),
      form(
        "Set an agent's password",
        [
          field("Agent", select("agent", agentOptions)),
          field("New password (12 characters or more)", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 12 })),
        ],
        "Set password",
        (v) => auth.setAgentPassword({ agentId: BigInt(v.agent || "0"), password: v.password }),
        () => toast("Password set: the agent can sign in with it."),
      ),
    ),
  );
}

export async function adminCustomers(main: HTMLElement): Promise<void> {
  const list = await all(async (pageToken) => {
    const r = await customers.listCustomers({ pageSize: 100, pageToken });
    return { items: r.customers, next: r.nextPageToken };
  }, 500);
  const tierControl = (c: Customer) => {
    const s = select(`tier-${c.id}`, options(TIER), c.tier);
    s.setAttribute("aria-label", `Tier of ${c.firstName} ${c.lastName}`);
    s.addEventListener("change", async () => {
      try {
        await customers.updateCustomer({ customer: { id: c.id, tier: Number(s.value) as CustomerTier, etag: c.etag }, updateMask: { paths: ["tier"] } });
        toast(`${c.firstName} ${c.lastName} is now ${TIER[Number(s.value) as CustomerTier]}; their open tickets are re-scored.`);
        void adminCustomers(main);
      } catch (e) {
        toast(describe(e));
        s.value = String(c.tier);
      }
    });
    return s;
  };
  fill(
    main,
    h("h1", {}, "Customers"),
    listTable("Customers (first 500)", ["Id", "Name", "Email", "Tier"], list.map((c) => [String(c.id), `${c.firstName} ${c.lastName}`, c.email, tierControl(c)])),
  );
}
