// A live view of the queue through WatchQueue: the snapshot, then every event once and in
// order. When the stream breaks (a network drop, a server restart), it reconnects with
// `resume_after` set to the last sequence it applied, so no event is lost; only when the
// service no longer holds that history (OUT_OF_RANGE) does it start over from a snapshot.

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { isSignedOut, renew, tickets } from "./api";
import type { Log, Ticket, TypingIndicator } from "./gen/support/v1/common_pb";
import { type QueueEvent, WatchQueueRequestSchema } from "./gen/support/v1/ticket_service_pb";

export type LiveState = "connecting" | "live" | "reconnecting" | "signed-out";

export interface LiveHandlers {
  /** The whole view changed (a snapshot arrived). */
  reset(tickets: Map<bigint, Ticket>): void;
  /** One event was applied to the view. */
  event(e: QueueEvent, view: Map<bigint, Ticket>): void;
  /** A message arrived (with `include_messages`). */
  message?(log: Log): void;
  /** The other party is typing (with `include_messages`). */
  typing?(t: TypingIndicator): void;
  /** The connection changed state; `detail` says why. */
  state(s: LiveState, detail: string): void;
}

/** Opens the live view; it runs until `signal` aborts. */
export function watch(
  filter: MessageInitShape<typeof WatchQueueRequestSchema>,
  on: LiveHandlers,
  signal: AbortSignal,
): { resumedFrom: () => bigint } {
  const view = new Map<bigint, Ticket>();
  let last = 0n;
  let resumedFrom = 0n;
  let backoff = 250;

  const run = async (): Promise<void> => {
    while (!signal.aborted) {
      const from = last;
      const resuming = from > 0n;
      let heard = false;
      on.state(resuming ? "reconnecting" : "connecting", resuming ? `resuming after event ${from}` : "");
      try {
        const request = create(WatchQueueRequestSchema, { ...filter, resumeAfter: last });
        let pending: Map<bigint, Ticket> | null = resuming ? null : new Map();
        for await (const answer of tickets.watchQueue(request, { signal })) {
          backoff = 250;
          if (resuming && !heard) {
            resumedFrom = from;
            on.state("live", `resumed after event ${from}`);
          }
          heard = true;
          const item = answer.item;
          switch (item.case) {
            case "snapshotTicket":
              pending?.set(item.value.id, item.value);
              break;
            case "snapshotEnd":
              last = item.value.sequence;
              view.clear();
              for (const [id, t] of pending ?? []) view.set(id, t);
              pending = null;
              on.reset(view);
              on.state("live", "");
              break;
            case "event":
              if (item.value.sequence <= last) break;
              last = item.value.sequence;
              apply(view, item.value);
              if (item.value.log && on.message) on.message(item.value.log);
              on.event(item.value, view);
              break;
            case "heartbeat":
              break;
            case "typing":
              on.typing?.(item.value);
              break;
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        if (isSignedOut(e) && !(await renew())) {
          on.state("signed-out", "");
          return;
        }
        // The history we would resume from is gone: start over with a snapshot.
        if (ConnectError.from(e).code === Code.OutOfRange) last = 0n;
      }
      if (signal.aborted) return;
      on.state("reconnecting", last > 0n ? `will resume after event ${last}` : "");
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 5000);
    }
  };
  void run();
  return { resumedFrom: () => resumedFrom };
}

/** Applies an event to the view: the ticket as it is now, or its leaving the view. */
function apply(view: Map<bigint, Ticket>, e: QueueEvent): void {
  const t = e.ticket;
  if (!t) return;
  if (e.removed) view.delete(t.id);
  else view.set(t.id, t);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      window.clearTimeout(timer);
      resolve();
    });
  });
}
