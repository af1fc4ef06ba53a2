// A ticket's history (GetTicketHistory): what happened, when, in words. Staff see every
// entry; customers the opening, status moves and public messages.

import { tickets } from "../api";
import { fill, h } from "../dom";
import { SenderKind, Visibility, type Priority } from "../gen/support/v1/common_pb";
import { SlaTarget, type TicketHistoryEntry } from "../gen/support/v1/ticket_service_pb";
import { LEVEL, REASON, STATUS, when } from "../format";

/** The most entries the page reads (the newest are lost past it; a note says so). */
const MAX_ENTRIES = 2000;

function priority(p: Priority | undefined): string {
  const b = p?.breakdown;
  return `${LEVEL[p?.level ?? 0]} (score ${p?.score ?? 0}: severity ${b?.severityPoints ?? 0} + tier ${b?.tierPoints ?? 0} + impact ${b?.impactPoints ?? 0} + waiting ${b?.agingPoints ?? 0})`;
}

function agent(id: bigint, names: Map<bigint, string>): string {
  return id === 0n ? "nobody" : (names.get(id) ?? `agent #${id}`);
}

/** One entry in words, and whether it is staff-only. */
function words(e: TicketHistoryEntry, names: Map<bigint, string>, staff: boolean): [string, boolean] {
  const c = e.change;
  switch (c.case) {
    case "opened":
      return [`Opened (${STATUS[c.value.status]})`, false];
    case "statusChanged":
      return [`Status: ${STATUS[c.value.before]} → ${STATUS[c.value.after]}`, false];
    case "departmentChanged":
      return [`Moved from department #${c.value.before} to #${c.value.after}`, true];
    case "assignmentChanged": {
      const reason = REASON[c.value.reason];
      const to = agent(c.value.afterAgentId, names);
      return [`Assigned to ${to}${reason ? ` (${reason})` : ""}${c.value.beforeAgentId ? `, from ${agent(c.value.beforeAgentId, names)}` : ""}`, true];
    }
    case "priorityChanged":
      return [`Priority ${priority(c.value.before)} → ${priority(c.value.after)}`, true];
    case "slaBreached":
      return [`${c.value.target === SlaTarget.FIRST_RESPONSE ? "First response" : "Resolution"} target missed (due ${when(c.value.dueTime)})`, true];
    case "messageAdded": {
      const internal = c.value.visibility === Visibility.INTERNAL;
      const from =
        c.value.senderKind === SenderKind.CUSTOMER
          ? staff ? "the customer" : "you"
          : c.value.senderKind === SenderKind.AGENT
            ? staff ? agent(c.value.senderId, names) : "support"
            : "the service";
      return [`${internal ? "Internal note" : "Message"} from ${from}`, internal];
    }
    default:
      return ["A change this console does not know", true];
  }
}

/** Reads the whole history of `ticketId` and draws it into `el`. */
export async function drawTimeline(el: HTMLElement, ticketId: bigint, names: Map<bigint, string>, staff: boolean): Promise<void> {
  const entries: TicketHistoryEntry[] = [];
  let pageToken = "";
  do {
    const page = await tickets.getTicketHistory({ ticketId, pageSize: 500, pageToken });
    entries.push(...page.entries);
    pageToken = page.nextPageToken;
  } while (pageToken && entries.length < MAX_ENTRIES);
  const key = `${entries.length}:${entries.at(-1)?.id ?? ""}`;
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  fill(
    el,
    h("h2", {}, "History"),
    h(
      "ol",
      { class: "timeline", "aria-label": "History" },
      entries.map((e) => {
        const [text, staffOnly] = words(e, names, staff);
        return h("li", { "data-kind": e.change.case ?? "", class: staffOnly ? "staff-only" : "" }, h("time", {}, when(e.time)), " ", text);
      }),
    ),
    pageToken ? h("p", { class: "hint" }, `Showing the first ${entries.length} entries.`) : null,
  );
}
