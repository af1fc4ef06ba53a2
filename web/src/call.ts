// Voice calls on a ticket page: the call button, the ringing prompt with accept and
// decline, and the call view (mute, hang up) over browser WebRTC, audio only.
//
// The service only relays signalling: StartCall or AnswerCall, then JoinCall (this party's
// stream: the call's changes and the other party's SDP and ICE candidates), and
// SendCallSignal for ours. Media flows between the two browsers, through the STUN and TURN
// servers the service names (GetIceServers, with this party's own TURN credentials); with
// none, host candidates connect parties on one network.

import { calls, describe } from "./api";
import { fill, h, toast } from "./dom";
import { CallOutcome, CallState, SdpType, SenderKind, type Call, type CallSignal } from "./gen/support/v1/common_pb";
import { report } from "./report";

const OUTCOME: Record<number, string> = {
  [CallOutcome.ACCEPTED]: "ended",
  [CallOutcome.DECLINED]: "declined",
  [CallOutcome.MISSED]: "missed",
  [CallOutcome.FAILED]: "failed",
};

/** What the panel knows of the page. */
export interface CallPlace {
  ticketId: bigint;
  /** Whether this side may place a call now (an agent; a customer where allowed). */
  mayCall: () => boolean;
  /** Who the other side is, in words ("the customer", "your agent"). */
  other: string;
  /** This side's kind. */
  me: SenderKind;
}

/** The call panel of one ticket page; `update` takes each CALL_UPDATED event's call. */
export function callPanel(place: CallPlace, signal: AbortSignal): { el: HTMLElement; update: (c: Call) => void; refresh: () => void } {
  const el = h("section", { class: "card call", "aria-label": "Call", "data-connection": "none" });
  let session: Session | null = null;
  let ringing: Call | null = null;

  const draw = () => {
    if (session) return fill(el, session.view);
    if (ringing && ringing.callee?.kind === place.me) {
      const from = ringing.caller?.displayName ?? place.other;
      const id = ringing.id;
      return fill(
        el,
        h(
          "div",
          { role: "alertdialog", "aria-label": "Incoming call", class: "ringing" },
          h("h2", {}, `Incoming call from ${from}`),
          h("button", { type: "button", onclick: () => void accept(id) }, "Accept"),
          h("button", { type: "button", class: "secondary", onclick: () => void decline(id) }, "Decline"),
        ),
      );
    }
    if (ringing) return fill(el, h("p", {}, `Ringing ${place.other}…`));
    fill(el, place.mayCall() ? h("button", { type: "button", onclick: () => void start() }, `Call ${place.other}`) : null);
  };

  const start = async () => {
    try {
      const r = await calls.startCall({ ticketId: place.ticketId });
      ringing = r.call ?? null;
      if (ringing) session = new Session(ringing, "caller", place, el, signal, () => ended());
      draw();
    } catch (e) {
      report(e);
    }
  };
  const accept = async (id: bigint) => {
    try {
      const r = await calls.answerCall({ callId: id, accept: true });
      if (r.call) session = new Session(r.call, "callee", place, el, signal, () => ended());
      ringing = null;
      draw();
    } catch (e) {
      toast(describe(e));
      ringing = null;
      draw();
    }
  };
  const decline = async (id: bigint) => {
    ringing = null;
    draw();
    await calls.answerCall({ callId: id, accept: false }).catch(report);
  };
  const ended = () => {
    session = null;
    ringing = null;
    draw();
  };

  draw();
  return {
    el,
    update: (c) => {
      if (c.ticketId !== place.ticketId || session) return;
      ringing = c.state === CallState.RINGING ? c : null;
      draw();
    },
    refresh: () => {
      if (!session) draw();
    },
  };
}

/** One party's side of a live call: the peer connection and the relay. */
class Session {
  readonly view: HTMLElement;
  private readonly pc: RTCPeerConnection;
  private readonly stop = new AbortController();
  private local: MediaStream | null = null;
  private remoteSet = false;
  private readonly early: RTCIceCandidateInit[] = [];
  private readonly status: HTMLElement;
  private readonly audio: HTMLAudioElement;
  private muted = false;

  constructor(
    private call: Call,
    private readonly side: "caller" | "callee",
    place: CallPlace,
    private readonly panel: HTMLElement,
    page: AbortSignal,
    private readonly done: () => void,
  ) {
    page.addEventListener("abort", () => this.close());
    this.status = h("p", { class: "call-status", "aria-live": "polite" }, side === "caller" ? `Ringing ${place.other}…` : "Connecting…");
    this.audio = h("audio", { autoplay: true });
    const mute = h("button", { type: "button", class: "secondary" }, "Mute");
    mute.addEventListener("click", () => {
      this.muted = !this.muted;
      this.local?.getAudioTracks().forEach((t) => (t.enabled = !this.muted));
      mute.textContent = this.muted ? "Unmute" : "Mute";
      mute.setAttribute("aria-pressed", String(this.muted));
    });
    const hangUp = h("button", { type: "button", class: "danger" }, "Hang up");
    hangUp.addEventListener("click", () => void calls.endCall({ callId: this.call.id }).catch(report));
    this.view = h("div", { class: "in-call" }, h("h2", {}, "Call"), this.status, mute, hangUp, this.audio);
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.pc.onicecandidate = (e) => {
      const c = e.candidate;
      if (!c) return;
      void this.send({ case: "candidate", value: { candidate: c.candidate, sdpMid: c.sdpMid ?? "", sdpMLineIndex: c.sdpMLineIndex ?? 0 } });
    };
    this.pc.ontrack = (e) => {
      this.audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    };
    this.pc.onconnectionstatechange = () => {
      const s = this.pc.connectionState;
      this.panel.dataset.connection = s;
      if (s === "connected") this.status.textContent = "Connected.";
    };
    void this.run();
  }

  private async send(payload: { case: "description"; value: { type: SdpType; sdp: string } } | { case: "candidate"; value: { candidate: string; sdpMid: string; sdpMLineIndex: number } }) {
    try {
      await calls.sendCallSignal({ callId: this.call.id, payload });
    } catch (e) {
      report(e);
    }
  }

  private async run(): Promise<void> {
    try {
      // Before anything is gathered (gathering starts with the local description).
      const { iceServers } = await calls.getIceServers({});
      this.pc.setConfiguration({
        iceServers: iceServers.map((s) => ({ urls: s.urls, username: s.username || undefined, credential: s.credential || undefined })),
      });
      if (this.side === "caller") {
        await this.media();
        const offer = await this.pc.createOffer();
        await this.pc.setLocalDescription(offer);
        await this.send({ case: "description", value: { type: SdpType.OFFER, sdp: offer.sdp ?? "" } });
      }
      for await (const item of calls.joinCall({ callId: this.call.id }, { signal: this.stop.signal })) {
        const i = item.item;
        if (i.case === "call") {
          this.call = i.value;
          if (i.value.state === CallState.ACTIVE && this.side === "caller") this.status.textContent = "Accepted; connecting…";
          if (i.value.state === CallState.ENDED) return this.finish(i.value);
        } else if (i.case === "signal") {
          await this.signal(i.value);
        }
      }
    } catch (e) {
      if (!this.stop.signal.aborted) report(e);
    }
    this.close();
    this.done();
  }

  private async media(): Promise<void> {
    this.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    for (const t of this.local.getTracks()) this.pc.addTrack(t, this.local);
  }

  private async signal(s: CallSignal): Promise<void> {
    const p = s.payload;
    if (p.case === "description") {
      const type = p.value.type === SdpType.OFFER ? "offer" : "answer";
      await this.pc.setRemoteDescription({ type, sdp: p.value.sdp });
      this.remoteSet = true;
      for (const c of this.early.splice(0)) await this.pc.addIceCandidate(c);
      if (type === "offer") {
        await this.media();
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        await this.send({ case: "description", value: { type: SdpType.ANSWER, sdp: answer.sdp ?? "" } });
      }
    } else if (p.case === "candidate" && p.value.candidate) {
      const c = { candidate: p.value.candidate, sdpMid: p.value.sdpMid, sdpMLineIndex: p.value.sdpMLineIndex };
      if (this.remoteSet) await this.pc.addIceCandidate(c);
      else this.early.push(c);
    }
  }

  private finish(c: Call): void {
    const outcome = OUTCOME[c.outcome] ?? "ended";
    const talk = c.durationSeconds ? ` after ${c.durationSeconds} s` : "";
    toast(`The call ${outcome}${talk}${c.endReason && c.outcome === CallOutcome.FAILED ? `: ${c.endReason}` : ""}.`);
    this.panel.dataset.connection = "ended";
    this.close();
    this.done();
  }

  private close(): void {
    this.stop.abort();
    this.local?.getTracks().forEach((t) => t.stop());
    if (this.pc.signalingState !== "closed") this.pc.close();
  }
}
