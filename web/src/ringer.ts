// Incoming calls on every page. While a customer or an agent is signed in, one WatchQueue
// stream with calls (the customer's own tickets, the agent's assigned ones) rings a banner
// for each call to this user, on whatever page is open, and takes it down when the call is
// answered or ends. The banner links to the ticket, whose call panel accepts or declines;
// on that ticket's own page the panel rings instead, so the banner stays away.

import type { Who } from "./api";
import { fill, h } from "./dom";
import { CallState, SenderKind, type Call } from "./gen/support/v1/common_pb";
import { watch } from "./live";

let running: { key: string; stop: AbortController } | null = null;
/** Calls ringing for this user, by id. */
const ringing = new Map<bigint, Call>();

/** Starts ringing for `w` (stopping it for whoever was signed in before), or stops. */
export function ringFor(w: Who | null): void {
  const key = w ? `${w.customerId}:${w.agentId}` : "";
  if (running?.key === key) return;
  running?.stop.abort();
  running = null;
  ringing.clear();
  draw();
  delete banner().dataset.state;
  if (!w || (w.customerId === 0n && w.agentId === 0n)) return;
  const stop = new AbortController();
  running = { key, stop };
  const me = w.agentId > 0n ? { kind: SenderKind.AGENT, id: w.agentId } : { kind: SenderKind.CUSTOMER, id: w.customerId };
  const filter = w.agentId > 0n ? { assignedAgentId: w.agentId, includeCalls: true } : { includeCalls: true };
  watch(
    filter,
    {
      reset: () => {},
      event: (e) => {
        const call = e.call;
        if (!call) return;
        const mine = call.callee?.kind === me.kind && call.callee.id === me.id;
        if (mine && call.state === CallState.RINGING) ringing.set(call.id, call);
        else ringing.delete(call.id);
        draw();
      },
      // For tests and the curious: whether the stream is live.
      state: (s) => (banner().dataset.state = s),
    },
    stop.signal,
  );
}

function banner(): HTMLElement {
  let el = document.getElementById("ringer");
  if (!el) {
    el = h("div", { id: "ringer", role: "alert", "aria-label": "Incoming calls", hidden: true });
    document.body.prepend(el);
  }
  return el;
}

/** Draws the banner for the calls ringing now, but not for the ticket whose page is open. */
export function draw(): void {
  const el = banner();
  const open = /^#\/ticket\/(\d+)/.exec(location.hash)?.[1];
  const shown = [...ringing.values()].filter((c) => String(c.ticketId) !== open);
  el.hidden = shown.length === 0;
  fill(
    el,
    shown.map((c) =>
      h(
        "p",
        { class: "ringing" },
        `${c.caller?.displayName || "Someone"} is calling about ticket #${c.ticketId}. `,
        h("a", { href: `#/ticket/${c.ticketId}` }, "Answer"),
      ),
    ),
  );
}
