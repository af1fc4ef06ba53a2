// One ticket: its priority and the breakdown behind it, its SLA, the conversation (live),
// replies with attachments (agents get quick replies and suggestions), internal notes for
// staff, the moves the workflow allows, assigning, a customer's close with a rating, and
// the ticket's history.

import { calls, current, departments, describe, logs, requestId, tickets, type Who } from "../api";
import { callPanel } from "../call";
import { agentNames, allAgents } from "../directory";
import { field, fill, h, select, toast, values } from "../dom";
import {
  ConversationMode,
  DeliveryStatus,
  Feedback,
  SenderKind,
  TicketStatus,
  Visibility,
  type Attachment,
  type Log,
  type Ticket,
} from "../gen/support/v1/common_pb";
import { CATEGORY, LEVEL, REASON, STATUS, countdown, idArg, millis, when } from "../format";
import { watch } from "../live";
import { report, signedOut } from "../report";
import { answers } from "./answers";
import { drawTimeline } from "./timeline";

interface Context {
  who: Who;
  staff: boolean;
  mode: ConversationMode;
  agents: Map<bigint, string>;
}

export async function ticketPage(main: HTMLElement, args: string[], signal: AbortSignal): Promise<void> {
  const id = idArg(args[0], "ticket");
  const who = current()!;
  const staff = who.role !== "customer";
  const ticket = (await tickets.getTicket({ id })).ticket!;
  const [department, agents] = await Promise.all([departments.getDepartment({ id: ticket.departmentId }), agentNames()]);
  const ctx: Context = { who, staff, mode: department.department?.conversationMode ?? ConversationMode.TICKET, agents };

  const header = h("section", { class: "card", "aria-label": "Ticket" });
  const actions = h("section", { class: "card", "aria-label": "Actions" });
  const conversation = h("ol", { class: "conversation", "aria-label": "Conversation" });
  const turn = h("p", { class: "turn", "aria-live": "polite" });
  const typingNote = h("p", { class: "typing", "aria-live": "polite" });
  let typingTimer = 0;
  const composer = h("section", { class: "card", "aria-label": "Reply" });
  const history = h("section", { class: "card", "aria-label": "Ticket history" });
  let current_ = ticket;
  const customerCalls = department.department?.customerCalls ?? false;
  const call = callPanel(
    {
      ticketId: id,
      me: staff ? SenderKind.AGENT : SenderKind.CUSTOMER,
      other: staff ? "the customer" : "your agent",
      mayCall: () =>
        current_.status !== TicketStatus.CLOSED &&
        (staff ? who.agentId > 0n : customerCalls && current_.assignedAgentId !== undefined),
    },
    signal,
  );
  fill(main, header, call.el, h("section", { class: "card" }, h("h2", {}, "Conversation"), turn, conversation, typingNote), composer, actions, history);
  conversation.appendChild(
    h(
      "li",
      { class: "message k1" },
      h("p", { class: "from" }, h("strong", {}, staff ? "Customer" : "You"), ` · ${when(ticket.createTime)} · the description`),
      h("p", { class: "body" }, ticket.description),
    ),
  );

  const seen = new Map<bigint, Log>();
  const latest = () => current_;
  const draw = async () => {
    drawHeader(header, current_, ctx);
    call.refresh();
    drawTurn(turn, current_, [...seen.values()], ctx);
    drawComposer(composer, latest, [...seen.values()], ctx, add);
    await drawActions(actions, latest, ctx);
    await drawTimeline(history, id, ctx.agents, staff).catch(report);
  };
  // Messages from the other side are read once shown (debounced): their sender sees it.
  let readTimer = 0;
  const markRead = () => {
    const reader = staff ? SenderKind.AGENT : SenderKind.CUSTOMER;
    if (staff && current_.assignedAgentId !== who.agentId) return;
    window.clearTimeout(readTimer);
    readTimer = window.setTimeout(() => void logs.markRead({ ticketId: id, readerKind: reader }).catch(() => {}), 300);
  };
  const add = (log: Log) => {
    const known = seen.get(log.id);
    if (known) {
      // A receipt: the status moved on.
      seen.set(log.id, log);
      conversation.querySelector(`[data-log="${log.id}"] .tick`)?.replaceWith(tick(log));
      return;
    }
    seen.set(log.id, log);
    conversation.appendChild(message(log, ctx));
    if (!mine(log, ctx) && log.senderKind !== SenderKind.SYSTEM && document.visibilityState === "visible") markRead();
  };

  let pageToken = "";
  do {
    const page = await logs.listLogs({ ticketId: id, pageSize: 200, pageToken, includeInternal: staff });
    page.logs.forEach(add);
    pageToken = page.nextPageToken;
  } while (pageToken && seen.size < 5000);
  await draw();
  // A call that started ringing before the page opened.
  const latestCall = (await calls.listCalls({ ticketId: id, pageSize: 1 }).catch(() => null))?.calls[0];
  if (latestCall) call.update(latestCall);

  watch(
    { ticketId: id, includeMessages: true, includeCalls: true },
    {
      reset: (view) => {
        const t = view.get(id);
        if (t) current_ = t;
        void draw();
      },
      event: (e) => {
        if (e.call) return call.update(e.call);
        if (e.ticket && e.ticket.id === id) current_ = e.ticket;
        void draw();
      },
      message: (log) => {
        if (log.ticketId !== id) return;
        add(log);
        if (!mine(log, ctx)) typingNote.textContent = "";
      },
      typing: (t) => {
        if (t.ticketId !== id) return;
        typingNote.textContent = `${t.senderName || (staff ? "The customer" : "Your agent")} is typing…`;
        window.clearTimeout(typingTimer);
        typingTimer = window.setTimeout(() => (typingNote.textContent = ""), 4000);
      },
      state: (s) => s === "signed-out" && signedOut(),
    },
    signal,
  );
}

function drawHeader(el: HTMLElement, t: Ticket, ctx: Context): void {
  const p = t.priority;
  const b = p?.breakdown;
  const now = Date.now();
  const due = (label: string, at: number | null, breached: boolean, done: boolean) =>
    h(
      "li",
      { class: breached ? "breached" : "" },
      `${label}: `,
      at === null ? "—" : done ? `met (due ${new Date(at).toLocaleString()})` : countdown(at, now),
      breached ? h("strong", {}, " · breached") : null,
    );
  const assignee = t.assignedAgentId
    ? ctx.staff
      ? `${ctx.agents.get(t.assignedAgentId) ?? `agent #${t.assignedAgentId}`} (${REASON[t.assignmentReason]})`
      : "an agent"
    : "nobody yet";
  fill(
    el,
    h("h1", {}, `#${t.id} ${t.subject}`),
    h(
      "p",
      { class: "meta" },
      h("span", { class: `status s${t.status}` }, STATUS[t.status]),
      ` · ${CATEGORY[t.category]} · opened ${when(t.createTime)} · assigned to ${assignee}`,
      t.rating !== undefined ? ` · rated ${t.rating}/5` : null,
    ),
    h(
      "div",
      { class: "priority", "aria-label": "Priority" },
      h("span", { class: `level l${p?.level ?? 0}` }, LEVEL[p?.level ?? 0]),
      h("span", {}, ` score ${p?.score ?? 0} = `),
      h(
        "span",
        { class: "breakdown" },
        `severity ${b?.severityPoints ?? 0} + tier ${b?.tierPoints ?? 0} + impact ${b?.impactPoints ?? 0} + waiting ${b?.agingPoints ?? 0}`,
      ),
    ),
    h(
      "ul",
      { class: "sla", "aria-label": "Service level" },
      due("First response", millis(t.sla?.firstResponseDueTime), !!t.sla?.firstResponseBreached, !!t.firstResponseTime),
      due("Resolution", millis(t.sla?.resolutionDueTime), !!t.sla?.resolutionBreached, !!t.resolveTime),
    ),
  );
}

/** The last public turn: who spoke last, customer or agent (the description is the customer's). */
function lastPublic(messages: Log[]): SenderKind {
  const spoken = messages.filter((m) => m.visibility !== Visibility.INTERNAL && m.senderKind !== SenderKind.SYSTEM);
  return spoken.length ? spoken[spoken.length - 1].senderKind : SenderKind.CUSTOMER;
}

function customerMayWrite(t: Ticket, messages: Log[], ctx: Context): boolean {
  if (t.status === TicketStatus.CLOSED) return false;
  return ctx.mode === ConversationMode.CHAT || lastPublic(messages) === SenderKind.AGENT;
}

function drawTurn(el: HTMLElement, t: Ticket, messages: Log[], ctx: Context): void {
  if (t.status === TicketStatus.CLOSED) {
    el.textContent = "This ticket is closed.";
  } else if (ctx.mode === ConversationMode.CHAT) {
    el.textContent = "Chat: either side may write at any time.";
  } else {
    const agentsTurn = lastPublic(messages) !== SenderKind.AGENT;
    el.textContent = ctx.staff
      ? agentsTurn
        ? "Ticket mode: the customer is waiting for an agent's reply."
        : "Ticket mode: waiting for the customer."
      : agentsTurn
        ? "Ticket mode: it is the agent's turn; you can write again after their reply."
        : "Ticket mode: it is your turn; you may reply once.";
  }
  el.dataset.turn = t.status === TicketStatus.CLOSED ? "closed" : customerMayWrite(t, messages, ctx) ? "customer" : "agent";
}

function sender(log: Log, ctx: Context): string {
  switch (log.senderKind) {
    case SenderKind.CUSTOMER:
      return ctx.staff ? "Customer" : "You";
    case SenderKind.AGENT:
      return ctx.staff ? (ctx.agents.get(log.senderId) ?? `Agent #${log.senderId}`) : log.senderName || "Support agent";
    default:
      return "System";
  }
}

function message(log: Log, ctx: Context): HTMLElement {
  const internal = log.visibility === Visibility.INTERNAL;
  return h(
    "li",
    { class: `message k${log.senderKind}${internal ? " internal" : ""}`, "data-log": String(log.id) },
    h(
      "p",
      { class: "from" },
      h("strong", {}, sender(log, ctx)),
      ` · ${when(log.createTime)}`,
      internal ? h("span", { class: "tag" }, "Internal note: not visible to the customer") : null,
      mine(log, ctx) && !internal ? tick(log) : null,
    ),
    h("p", { class: "body" }, log.body),
    log.attachments.length ? h("ul", { class: "files" }, log.attachments.map((a) => h("li", {}, download(a)))) : null,
  );
}

/** Whether this side wrote `log`. */
function mine(log: Log, ctx: Context): boolean {
  return ctx.staff ? log.senderKind === SenderKind.AGENT && log.senderId === ctx.who.agentId : log.senderKind === SenderKind.CUSTOMER;
}

/** Sent, delivered or read: the read ticks of one's own message. */
function tick(log: Log): HTMLElement {
  const [mark, words] =
    log.deliveryStatus === DeliveryStatus.READ
      ? ["✓✓", "read"]
      : log.deliveryStatus === DeliveryStatus.RECEIVED
        ? ["✓✓", "delivered"]
        : ["✓", "sent"];
  return h("span", { class: `tick d${log.deliveryStatus}`, "data-status": words, title: words }, ` ${mark} ${words}`);
}

function download(a: Attachment): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: "link",
      onclick: async () => {
        try {
          const r = await logs.getAttachment({ id: a.id });
          const blob = new Blob([r.content as Uint8Array<ArrayBuffer>], { type: a.contentType || "application/octet-stream" });
          const link = h("a", { href: URL.createObjectURL(blob), download: a.fileName });
          link.click();
          window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
        } catch (e) {
          report(e);
        }
      },
    },
    `${a.fileName} (${Math.ceil(Number(a.sizeBytes) / 1024)} KB)`,
  );
}

/**
 * Draws a section again only when what it offers changed, so that an event arriving while
 * someone fills a form does not wipe it.
 */
function unchanged(el: HTMLElement, key: string): boolean {
  if (el.dataset.key === key) return true;
  el.dataset.key = key;
  return false;
}

function drawComposer(el: HTMLElement, latest: () => Ticket, messages: Log[], ctx: Context, add: (l: Log) => void): void {
  const t = latest();
  const mayWrite = ctx.staff ? ctx.who.agentId > 0n && t.status !== TicketStatus.CLOSED : customerMayWrite(t, messages, ctx);
  if (unchanged(el, String(mayWrite))) return;
  if (!mayWrite) {
    fill(el, ctx.staff && ctx.who.agentId === 0n ? h("p", { class: "hint" }, "Operators read conversations; agents write them.") : null);
    return;
  }
  const errors = h("div", { "aria-live": "assertive" });
  const box = h("textarea", { name: "body", rows: 4, maxlength: 10000, required: true });
  // The other side sees "… is typing": one indicator every 2 seconds while typing.
  let lastTyping = 0;
  box.addEventListener("input", () => {
    if (Date.now() - lastTyping < 2000) return;
    lastTyping = Date.now();
    void logs.sendTyping({ ticketId: t.id }).catch(() => {});
  });
  const heading = h("h2", {}, ctx.staff ? "Reply or note" : "Reply");
  const form = h(
    "form",
    {},
    heading,
    field("Message", box),
    field("Attachments", h("input", { name: "files", type: "file", multiple: true })),
    ctx.staff
      ? h("div", { class: "check" }, h("input", { type: "checkbox", name: "internal", id: "internal" }), h("label", { for: "internal" }, "Internal note (staff only)"))
      : null,
    errors,
    h("button", { type: "submit" }, "Send"),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = values(form);
    const files = (form.elements.namedItem("files") as HTMLInputElement).files;
    try {
      const attachments = await Promise.all(
        [...(files ?? [])].map(async (f) => ({
          fileName: f.name,
          contentType: f.type || "application/octet-stream",
          content: new Uint8Array(await f.arrayBuffer()),
        })),
      );
      const r = await logs.addLog({
        ticketId: t.id,
        senderKind: ctx.staff ? SenderKind.AGENT : SenderKind.CUSTOMER,
        senderId: ctx.staff ? ctx.who.agentId : ctx.who.customerId,
        body: v.body,
        visibility: v.internal ? Visibility.INTERNAL : Visibility.PUBLIC,
        attachments,
        requestId: requestId(),
      });
      if (r.log) add(r.log);
      form.reset();
      toast(v.internal ? "Internal note saved." : "Sent.");
    } catch (e) {
      fill(errors, h("p", { class: "error", role: "alert" }, describe(e)));
    }
  });
  fill(el, form);
  if (ctx.staff) void answers(t, box, errors).then((a) => heading.after(a));
}

async function drawActions(el: HTMLElement, latest: () => Ticket, ctx: Context): Promise<void> {
  const t = latest();
  const allowed = await tickets.getAllowedTransitions({ id: t.id });
  const moves = allowed.transitions.filter((m) => m.method.endsWith("/UpdateTicketStatus"));
  const closing = allowed.transitions.some((m) => m.method.endsWith("/CloseTicket"));
  const offer = allowed.transitions.map((m) => `${m.status}:${m.method}`).join(",");
  const closeShown = closing && (t.status === TicketStatus.RESOLVED || !ctx.staff);
  // Not the status itself: a customer's close form stays as she fills it while the ticket
  // moves from in progress to resolved.
  if (unchanged(el, `${offer}|${t.assignedAgentId ?? ""}|${closeShown}|${ctx.staff && t.status}`)) return;
  const parts: (HTMLElement | null)[] = [];
  if (moves.length) {
    parts.push(
      h(
        "div",
        { class: "moves", role: "group", "aria-label": "Move the ticket" },
        h("h2", {}, "Move"),
        moves.map((m) =>
          h(
            "button",
            {
              type: "button",
              onclick: () => act(() => tickets.updateTicketStatus({ id: t.id, status: m.status, etag: latest().etag }), `Moved to ${STATUS[m.status]}.`),
            },
            `Move to ${STATUS[m.status]}`,
          ),
        ),
      ),
    );
  }
  if (ctx.staff && t.status !== TicketStatus.CLOSED) parts.push(await assignForm(t));
  if (closeShown) parts.push(closeForm(t));
  fill(el, parts.length ? parts : h("p", { class: "hint" }, "Nothing to do here."));
}

async function act(call: () => Promise<unknown>, done: string): Promise<void> {
  try {
    await call();
    toast(done);
  } catch (e) {
    report(e);
  }
}

async function assignForm(t: Ticket): Promise<HTMLElement> {
  const agents = (await allAgents()).filter((a) => a.departmentId === t.departmentId);
  const form = h(
    "form",
    { class: "inline" },
    h("h2", {}, "Assign"),
    field("Agent", select("agent", agents.map((a) => [String(a.id), `${a.firstName} ${a.lastName}`]), String(t.assignedAgentId ?? ""))),
    h("button", { type: "submit" }, "Assign"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void act(() => tickets.assignTicket({ id: t.id, agentId: BigInt(values(form).agent || "0") }), "Assigned.");
  });
  return form;
}

function closeForm(t: Ticket): HTMLElement {
  const form = h(
    "form",
    { class: "inline" },
    h("h2", {}, "Close the ticket"),
    field("Rating", select("rating", [[5, "5: excellent"], [4, "4"], [3, "3"], [2, "2"], [1, "1: poor"]], 5)),
    field("Were you satisfied?", select("feedback", [[Feedback.SATISFIED, "Yes"], [Feedback.NOT_SATISFIED, "No"]])),
    h("button", { type: "submit" }, "Close with this rating"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = values(form);
    void act(() => tickets.closeTicket({ id: t.id, rating: Number(v.rating), feedback: Number(v.feedback) }), "Closed. Thank you!");
  });
  return form;
}
