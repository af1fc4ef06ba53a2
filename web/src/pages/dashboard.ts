// The supervisor's dashboard: every report as a chart and, with the same numbers, a table,
// for a date range and a department.

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { reports } from "../api";
import { agentNames, allDepartments } from "../directory";
import { field, fill, h, select, values } from "../dom";
import { ReportScopeSchema, type ReportScope } from "../gen/support/v1/report_service_pb";
import { hours, LEVEL } from "../format";
import { report } from "../report";

interface Series {
  label: string;
  values: number[];
  color: string;
  /** Bars side by side: -1 left of the tick, 1 right, 0 centred. */
  align?: -1 | 0 | 1;
  line?: boolean;
}

const COLORS = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed"];

/** A bar (or line) chart over categories. */
function chart(el: HTMLElement, title: string, labels: string[], series: Series[], unit: string): void {
  const width = Math.max(260, Math.min(el.clientWidth || 600, 1100));
  const data: uPlot.AlignedData = [labels.map((_, i) => i), ...series.map((s) => s.values)];
  const opts: uPlot.Options = {
    title,
    width,
    height: 240,
    scales: { x: { time: false, range: [-0.6, Math.max(labels.length - 0.4, 0.6)] } },
    axes: [
      { values: (_u, ticks) => ticks.map((i) => (Number.isInteger(i) ? (labels[i] ?? "") : "")), gap: 4 },
      { label: unit, size: 56 },
    ],
    legend: { show: false },
    cursor: { show: false },
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        fill: s.line ? undefined : `${s.color}cc`,
        width: s.line ? 2 : 1,
        points: { show: !!s.line },
        paths: s.line ? undefined : uPlot.paths.bars!({ size: [series.length > 1 ? 0.4 : 0.7, 60], align: s.align ?? 0 }),
      })),
    ],
  };
  fill(el);
  new uPlot(opts, data, el);
  if (series.length > 1) {
    el.appendChild(h("p", { class: "legend" }, series.map((s) => h("span", {}, h("i", { style: `background:${s.color}` }), s.label))));
  }
}

function table(caption: string, head: string[], rows: (string | number)[][]): HTMLElement {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "numbers" },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, String(c)) : h("td", {}, String(c))))))),
    ),
  );
}

function panel(id: string, title: string, wide = false): { el: HTMLElement; chart: HTMLElement; numbers: HTMLElement } {
  const chartEl = h("div", { class: "chart", role: "img", "aria-label": `${title} (chart; the table below has the numbers)` });
  const numbers = h("div", {});
  const el = h("section", { class: wide ? "card panel wide" : "card panel", id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), chartEl, numbers);
  return { el, chart: chartEl, numbers };
}

export async function dashboard(main: HTMLElement): Promise<void> {
  const departments = await allDepartments();
  const today = new Date().toISOString().slice(0, 10);
  const form = h(
    "form",
    { class: "filters", "aria-label": "Report range" },
    field("From", h("input", { type: "date", name: "from" })),
    field("To", h("input", { type: "date", name: "to", max: today })),
    field("Department", select("department", [["0", "All departments"], ...departments.map((d): [string, string] => [String(d.id), d.name])])),
    h("button", { type: "submit" }, "Show"),
  );
  const panels = {
    resolution: panel("resolution", "Resolution time by month", true),
    agentsPer: panel("agents-per-ticket", "Agents per ticket"),
    agents: panel("per-agent", "Tickets and ratings per agent", true),
    first: panel("first-response", "First response"),
    backlog: panel("backlog", "Backlog by department and level", true),
  };
  fill(main, h("h1", {}, "Dashboard"), form, h("div", { class: "panels" }, Object.values(panels).map((p) => p.el)));

  const load = async () => {
    const v = values(form);
    const scope = create(ReportScopeSchema, { departmentId: BigInt(v.department || "0") });
    if (v.from) scope.startTime = timestampFromDate(new Date(`${v.from}T00:00:00Z`));
    if (v.to) scope.endTime = timestampFromDate(new Date(Date.parse(`${v.to}T00:00:00Z`) + 86_400_000));
    try {
      await draw(panels, { scope }, await agentNames(), new Map(departments.map((d) => [d.id, d.name])));
    } catch (e) {
      report(e, panels.resolution.numbers);
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void load();
  });
  await load();
}

type Panels = Record<"resolution" | "agentsPer" | "agents" | "first" | "backlog", ReturnType<typeof panel>>;

async function draw(p: Panels, req: { scope: ReportScope }, agents: Map<bigint, string>, departments: Map<bigint, string>): Promise<void> {
  const [resolution, perTicket, perAgent, first, backlog] = await Promise.all([
    reports.getResolutionTimeReport(req),
    reports.getAgentsPerTicketReport(req),
    reports.getAgentReport(req),
    reports.getFirstResponseReport(req),
    reports.getBacklogReport(req),
  ]);

  const months = resolution.months;
  chart(p.resolution.chart, "Average hours", months.map((m) => m.month), [
    { label: "Created → resolved", values: months.map((m) => hours(m.createToResolve?.average)), color: COLORS[0], line: true },
    { label: "First → last message", values: months.map((m) => hours(m.firstToLastMessage?.average)), color: COLORS[1], line: true },
  ], "hours");
  fill(
    p.resolution.numbers,
    table("Resolution time by month (hours)", ["Month", "Resolved", "Avg created → resolved", "Max", "Avg first → last message"], [
      ...months.map((m) => [m.month, Number(m.createToResolve?.count ?? 0n), hours(m.createToResolve?.average), hours(m.createToResolve?.max), hours(m.firstToLastMessage?.average)]),
      ["All", Number(resolution.createToResolve?.count ?? 0n), hours(resolution.createToResolve?.average), hours(resolution.createToResolve?.max), hours(resolution.firstToLastMessage?.average)],
    ]),
  );

  const buckets = perTicket.buckets;
  chart(p.agentsPer.chart, "Tickets", buckets.map((b) => `${b.agentCount}`), [{ label: "Tickets", values: buckets.map((b) => Number(b.ticketCount)), color: COLORS[2] }], "tickets");
  fill(p.agentsPer.numbers, table("Tickets by how many agents worked them", ["Agents", "Tickets"], buckets.map((b) => [b.agentCount, Number(b.ticketCount)])));

  const rows = perAgent.rows;
  const name = (id: bigint) => agents.get(id) ?? `#${id}`;
  chart(p.agents.chart, "Tickets handled and average rating", rows.map((r) => name(r.agentId).split(" ")[0]), [
    { label: "Tickets handled", values: rows.map((r) => Number(r.ticketsHandled)), color: COLORS[0], align: -1 },
    { label: "Ratings", values: rows.map((r) => Number(r.ratingCount)), color: COLORS[1], align: 1 },
  ], "tickets");
  fill(
    p.agents.numbers,
    table("Tickets and ratings per agent", ["Agent", "Tickets handled", "Ratings", "Min", "Average", "Max"], rows.map((r) => [
      name(r.agentId),
      Number(r.ticketsHandled),
      Number(r.ratingCount),
      r.ratingCount > 0n ? r.ratingMin : "—",
      r.ratingCount > 0n ? r.ratingAverage.toFixed(2) : "—",
      r.ratingCount > 0n ? r.ratingMax : "—",
    ])),
  );

  const f = first.firstResponse;
  chart(p.first.chart, "Hours to the first agent reply", ["min", "average", "max"], [
    { label: "Hours", values: [hours(f?.min), hours(f?.average), hours(f?.max)], color: COLORS[4] },
  ], "hours");
  fill(p.first.numbers, table("First response (hours)", ["Tickets", "Min", "Average", "Max"], [[Number(f?.count ?? 0n), hours(f?.min), hours(f?.average), hours(f?.max)]]));

  const b = backlog.rows;
  const label = (r: (typeof b)[number]) => `${departments.get(r.departmentId) ?? `#${r.departmentId}`} ${LEVEL[r.priorityLevel]}`;
  chart(p.backlog.chart, "Open tickets and SLA breaches", b.map(label), [
    { label: "Open", values: b.map((r) => Number(r.openCount)), color: COLORS[0], align: -1 },
    { label: "Breached", values: b.map((r) => Number(r.breachedCount)), color: COLORS[3], align: 1 },
  ], "tickets");
  fill(p.backlog.numbers, table("Backlog by department and level", ["Department and level", "Open", "SLA breached"], b.map((r) => [label(r), Number(r.openCount), Number(r.breachedCount)])));
}
