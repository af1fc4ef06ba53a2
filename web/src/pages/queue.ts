// The live queue: WatchQueue's snapshot, then every change without a reload, with the
// priority level, the SLA countdown (breaches marked) and the assignee, and filters.

import { current } from "../api";
import { agentNames, allDepartments } from "../directory";
import { field, fill, h, select } from "../dom";
import { PriorityLevel, TicketStatus, type Ticket } from "../gen/support/v1/common_pb";
import { LEVEL, STATUS, countdown, millis, options } from "../format";
import { watch, type LiveState } from "../live";
import { signedOut } from "../report";

interface Filters {
  department: bigint;
  minLevel: PriorityLevel;
  status: TicketStatus;
  assignee: "all" | "mine" | "unassigned";
}

export async function queue(main: HTMLElement, _args: string[], signal: AbortSignal): Promise<void> {
  performance.mark("queue-start");
  const who = current()!;
  const [departments, agents] = await Promise.all([allDepartments(), agentNames()]);
  const departmentName = new Map(departments.map((d) => [d.id, d.name]));
  const filters: Filters = { department: 0n, minLevel: PriorityLevel.UNSPECIFIED, status: TicketStatus.UNSPECIFIED, assignee: "all" };

  const status = h("p", { class: "live", role: "status", "data-state": "connecting" }, "Connecting…");
  const count = h("span", { class: "count" });
  const body = h("tbody");
  const table = h(
    "table",
    { class: "queue" },
    h("caption", {}, "Open tickets, most urgent first ", count),
    h("thead", {}, h("tr", {}, ["Ticket", "Priority", "Status", "SLA", "Assignee", "Department"].map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  const controls = h(
    "form",
    { class: "filters", "aria-label": "Filters" },
    field("Department", select("department", [["0", "All I may see"], ...departments.map((d): [string, string] => [String(d.id), d.name])])),
    field("At least", select("level", options(LEVEL, "any level"))),
    field("Status", select("status", options(STATUS, "any status").filter(([v]) => v !== TicketStatus.CLOSED))),
    field(
      "Assignee",
      select("assignee", [
        ["all", "anyone"],
        ["unassigned", "nobody"],
        ...(who.agentId > 0n ? [["mine", "me"] as [string, string]] : []),
      ]),
    ),
  );
  fill(main, h("h1", {}, "Queue"), controls, status, h("div", { class: "scroll" }, table));

  let view = new Map<bigint, Ticket>();
  let scheduled = false;
  let first = true;
  const render = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      const shown = [...view.values()].filter((t) => visible(t, filters, who.agentId)).sort(byUrgency);
      fill(body, shown.map((t) => row(t, agents, departmentName)));
      count.textContent = `(${shown.length})`;
      tick();
      if (first) {
        first = false;
        performance.mark("queue-rendered");
      }
    });
  };
  const tick = () => {
    const now = Date.now();
    for (const cell of body.querySelectorAll<HTMLElement>("td.due[data-due]")) {
      cell.firstChild!.textContent = countdown(Number(cell.dataset.due), now);
    }
  };
  const timer = window.setInterval(tick, 1000);
  signal.addEventListener("abort", () => window.clearInterval(timer));

  let stream: AbortController | null = null;
  const connect = () => {
    stream?.abort();
    stream = new AbortController();
    const both = AbortSignal.any([signal, stream.signal]);
    watch(
      { departmentId: filters.department, minPriorityLevel: filters.minLevel },
      {
        reset: (v) => {
          view = v;
          render();
        },
        event: (_e, v) => {
          view = v;
          render();
        },
        state: (s: LiveState, detail: string) => {
          showState(status, s, detail);
          if (s === "signed-out") signedOut();
        },
      },
      both,
    );
  };
  controls.addEventListener("change", (ev) => {
    const target = ev.target as HTMLSelectElement;
    if (target.name === "department" || target.name === "level") {
      filters.department = BigInt(pick(controls, "department"));
      filters.minLevel = Number(pick(controls, "level"));
      connect();
    } else {
      filters.status = Number(pick(controls, "status"));
      filters.assignee = pick(controls, "assignee") as Filters["assignee"];
      render();
    }
  });
  connect();
}

function pick(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLSelectElement).value;
}

function showState(el: HTMLElement, s: LiveState, detail: string): void {
  el.dataset.state = s;
  const words: Record<LiveState, string> = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Connection lost; reconnecting",
    "signed-out": "Signed out; sign in again to see the queue",
  };
  el.textContent = detail ? `${words[s]} (${detail})` : words[s];
}

function visible(t: Ticket, f: Filters, me: bigint): boolean {
  if (f.status && t.status !== f.status) return false;
  if (f.assignee === "mine" && t.assignedAgentId !== me) return false;
  if (f.assignee === "unassigned" && t.assignedAgentId !== undefined) return false;
  return true;
}

function byUrgency(a: Ticket, b: Ticket): number {
  const d = (b.priority?.score ?? 0) - (a.priority?.score ?? 0);
  return d !== 0 ? d : (millis(a.createTime) ?? 0) - (millis(b.createTime) ?? 0);
}

/** The due time that matters now: the first response until there is one, then resolution. */
function due(t: Ticket): { at: number | null; breached: boolean; what: string } {
  if (!t.firstResponseTime) {
    return { at: millis(t.sla?.firstResponseDueTime), breached: !!t.sla?.firstResponseBreached, what: "first response" };
  }
  return { at: millis(t.sla?.resolutionDueTime), breached: !!t.sla?.resolutionBreached, what: "resolution" };
}

function row(t: Ticket, agents: Map<bigint, string>, departments: Map<bigint, string>): HTMLElement {
  const d = due(t);
  const level = t.priority?.level ?? 0;
  const sla =
    d.at === null || t.status === TicketStatus.RESOLVED
      ? h("td", {}, "—")
      : h(
          "td",
          { class: `due${d.breached ? " breached" : ""}`, "data-due": String(d.at) },
          h("span", {}, ""),
          h("span", { class: "what" }, ` ${d.what}`),
          d.breached ? h("strong", { class: "flag" }, " breached") : null,
        );
  return h(
    "tr",
    { "data-ticket": String(t.id) },
    h("td", {}, h("a", { href: `#/ticket/${t.id}` }, `#${t.id} ${t.subject}`)),
    h("td", {}, h("span", { class: `level l${level}` }, LEVEL[level]), ` ${t.priority?.score ?? 0}`),
    h("td", {}, h("span", { class: `status s${t.status}` }, STATUS[t.status])),
    sla,
    h("td", {}, t.assignedAgentId !== undefined ? (agents.get(t.assignedAgentId) ?? `#${t.assignedAgentId}`) : h("em", {}, "unassigned")),
    h("td", {}, departments.get(t.departmentId) ?? ""),
  );
}
