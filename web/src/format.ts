// Words and numbers for the contract's enums, times and durations.

import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import {
  AssignmentReason,
  ConversationMode,
  CustomerTier,
  PriorityLevel,
  Severity,
  TicketCategory,
  TicketStatus,
} from "./gen/support/v1/common_pb";
import { QueueEventKind } from "./gen/support/v1/ticket_service_pb";
import { DeliveryState } from "./gen/support/v1/webhook_service_pb";

export const STATUS: Record<TicketStatus, string> = {
  [TicketStatus.UNSPECIFIED]: "any",
  [TicketStatus.OPEN]: "Open",
  [TicketStatus.IN_PROGRESS]: "In progress",
  [TicketStatus.RESOLVED]: "Resolved",
  [TicketStatus.CLOSED]: "Closed",
};

export const LEVEL: Record<PriorityLevel, string> = {
  [PriorityLevel.UNSPECIFIED]: "any",
  [PriorityLevel.P0]: "P0",
  [PriorityLevel.P1]: "P1",
  [PriorityLevel.P2]: "P2",
  [PriorityLevel.P3]: "P3",
};

export const SEVERITY: Record<Severity, string> = {
  [Severity.UNSPECIFIED]: "—",
  [Severity.CRITICAL]: "Critical: it blocks me entirely",
  [Severity.MAJOR]: "Major: serious, with a workaround",
  [Severity.MINOR]: "Minor: an annoyance",
};

export const CATEGORY: Record<TicketCategory, string> = {
  [TicketCategory.UNSPECIFIED]: "—",
  [TicketCategory.ACCOUNT_ACCESS]: "Account access",
  [TicketCategory.BUG_REPORT]: "Bug report",
  [TicketCategory.ORDER_CANCELLATION]: "Order cancellation",
  [TicketCategory.OVERCHARGED_TRANSACTION]: "Overcharged transaction",
  [TicketCategory.UNDELIVERED_GOODS]: "Undelivered goods",
  [TicketCategory.WRONG_ORDER]: "Wrong order",
  [TicketCategory.OTHER]: "Other",
};

export const TIER: Record<CustomerTier, string> = {
  [CustomerTier.UNSPECIFIED]: "—",
  [CustomerTier.FREE]: "Free",
  [CustomerTier.PAID]: "Paid",
  [CustomerTier.ENTERPRISE]: "Enterprise",
};

export const MODE: Record<ConversationMode, string> = {
  [ConversationMode.UNSPECIFIED]: "—",
  [ConversationMode.TICKET]: "Ticket (taking turns)",
  [ConversationMode.CHAT]: "Chat (free exchange)",
};

export const REASON: Record<AssignmentReason, string> = {
  [AssignmentReason.UNSPECIFIED]: "",
  [AssignmentReason.MANUAL]: "chosen",
  [AssignmentReason.AUTO_LEAST_LOADED]: "least loaded",
  [AssignmentReason.BACKLOG_DRAIN]: "from the backlog",
  [AssignmentReason.HANDOVER]: "taken over: the agent was off",
};

export const KIND: Record<QueueEventKind, string> = {
  [QueueEventKind.UNSPECIFIED]: "",
  [QueueEventKind.TICKET_CREATED]: "Ticket created",
  [QueueEventKind.TICKET_UPDATED]: "Ticket updated",
  [QueueEventKind.PRIORITY_CHANGED]: "Priority changed",
  [QueueEventKind.ASSIGNED]: "Assigned",
  [QueueEventKind.STATUS_CHANGED]: "Status changed",
  [QueueEventKind.SLA_BREACHED]: "Service level missed",
  [QueueEventKind.MESSAGE_ADDED]: "Message added",
  [QueueEventKind.CALL_UPDATED]: "Call updated",
  [QueueEventKind.MESSAGE_UPDATED]: "Message updated",
};

export const DELIVERY: Record<DeliveryState, string> = {
  [DeliveryState.UNSPECIFIED]: "",
  [DeliveryState.RETRYING]: "retrying",
  [DeliveryState.SUCCEEDED]: "delivered",
  [DeliveryState.FAILED]: "failed",
};

/** The options of an enum's labels, without UNSPECIFIED unless `any` is given. */
export function options<E extends number>(labels: Record<E, string>, any?: string): [number, string][] {
  const out = Object.entries(labels)
    .map(([v, l]) => [Number(v), l as string] as [number, string])
    .filter(([v]) => v !== 0);
  return any === undefined ? out : [[0, any], ...out];
}

export function millis(t: Timestamp | undefined): number | null {
  return t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : null;
}

export function when(t: Timestamp | undefined): string {
  const ms = millis(t);
  return ms === null ? "—" : new Date(ms).toLocaleString();
}

/** A duration in the largest units that matter: "2 d 3 h", "5 h 12 min", "45 s". */
export function span(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

export function seconds(d: Duration | undefined): number {
  return d ? Number(d.seconds) + d.nanos / 1e9 : 0;
}

/** Hours, to one decimal. */
export function hours(d: Duration | undefined): number {
  return Math.round((seconds(d) / 3600) * 10) / 10;
}

/** "in 2 h 5 min" or "3 min late". */
export function countdown(due: number, now: number): string {
  return due >= now ? `in ${span(due - now)}` : `${span(now - due)} late`;
}

/**
 * The number that ends a page's address, such as 12 in `#/ticket/12`; anything else is
 * an address that names nothing, said in words (BigInt's own error would not be).
 */
export function idArg(arg: string | undefined, what: string): bigint {
  if (arg !== undefined && /^[1-9][0-9]{0,17}$/.test(arg)) return BigInt(arg);
  throw new Error(`There is no ${what} "${arg ?? ""}": the address should end in its number.`);
}
