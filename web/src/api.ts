// The service over gRPC-Web: one transport, the signed-in session, and errors in words.
//
// The access token lives in memory only; the refresh token lives in sessionStorage, so it
// lasts as long as the tab. Every call carries the access token, refreshed (with rotation)
// shortly before it expires, or once after an UNAUTHENTICATED answer. A read (a method
// the contract marks NO_SIDE_EFFECTS) answered UNAVAILABLE is asked again a few times.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb";
import { AgentService } from "./gen/support/v1/agent_service_pb";
import { AuthService, type TokenPair } from "./gen/support/v1/auth_service_pb";
import { CallService } from "./gen/support/v1/call_service_pb";
import { CustomerService } from "./gen/support/v1/customer_service_pb";
import { DepartmentService } from "./gen/support/v1/department_service_pb";
import { LogService } from "./gen/support/v1/log_service_pb";
import { ReplyService } from "./gen/support/v1/reply_service_pb";
import { ReportService } from "./gen/support/v1/report_service_pb";
import { TicketService } from "./gen/support/v1/ticket_service_pb";
import { WebhookService } from "./gen/support/v1/webhook_service_pb";

export type Role = "customer" | "agent" | "supervisor" | "admin" | "service";

/** Who is signed in, read from the access token's claims. */
export interface Who {
  role: Role;
  subject: string;
  customerId: bigint;
  agentId: bigint;
  departmentId: bigint;
  /** Seconds since the epoch when the access token expires. */
  exp: number;
}

const REFRESH_KEY = "support.refresh";
/** Refresh this long before the access token expires. */
const MARGIN_SECONDS = 5;
/** Calls that carry no token. */
const OPEN = new Set(["Register", "Login", "Refresh", "Logout", "SetPasswordWithToken"]);

let access: string | null = null;
let who: Who | null = null;
let refreshing: Promise<void> | null = null;
const listeners: ((w: Who | null) => void)[] = [];

/** The signed-in user, if any. */
export function current(): Who | null {
  return who;
}

/** Calls `f` whenever the user signs in or out. */
export function onSession(f: (w: Who | null) => void): void {
  listeners.push(f);
}

function claims(token: string): Who {
  const part = token.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  const c = JSON.parse(json) as Record<string, unknown>;
  const id = (v: unknown) => BigInt(typeof v === "number" ? v : 0);
  return {
    role: c.role as Role,
    subject: String(c.sub ?? ""),
    customerId: id(c.customer_id),
    agentId: id(c.agent_id),
    departmentId: id(c.department_id),
    exp: Number(c.exp ?? 0),
  };
}

/** Starts a session from a token pair (sign-in, sign-up, refresh). */
export function begin(tokens: TokenPair | undefined): void {
  if (!tokens) throw new Error("the service sent no tokens");
  access = tokens.accessToken;
  who = claims(access);
  if (tokens.refreshToken) sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  listeners.forEach((f) => f(who));
}

/** Starts a session from an operator's token (minted with `support-service token`). */
export function beginWithToken(token: string): void {
  const w = claims(token.trim());
  if (!w.role) throw new Error("this is not a Support Service token");
  access = token.trim();
  who = w;
  sessionStorage.removeItem(REFRESH_KEY);
  listeners.forEach((f) => f(who));
}

/** Ends the session here (the refresh token is revoked by `signOut`). */
export function end(): void {
  access = null;
  who = null;
  sessionStorage.removeItem(REFRESH_KEY);
  listeners.forEach((f) => f(null));
}

/** Resumes the tab's session with its refresh token, if it has one. */
export async function resume(): Promise<boolean> {
  if (!sessionStorage.getItem(REFRESH_KEY)) return false;
  try {
    await refresh();
    return true;
  } catch {
    end();
    return false;
  }
}

/** After a stream was refused UNAUTHENTICATED: whether a refreshed token may try again. */
export async function renew(): Promise<boolean> {
  if (!sessionStorage.getItem(REFRESH_KEY)) return false;
  try {
    await refresh();
    return true;
  } catch {
    return false;
  }
}

/** Revokes the refresh token and ends the session. */
export async function signOut(): Promise<void> {
  const token = sessionStorage.getItem(REFRESH_KEY);
  try {
    if (token) await auth.logout({ refreshToken: token });
  } finally {
    end();
  }
}

/** Trades the refresh token for a new pair, once at a time. */
function refresh(): Promise<void> {
  refreshing ??= (async () => {
    try {
      const token = sessionStorage.getItem(REFRESH_KEY);
      if (!token) throw new ConnectError("signed out", Code.Unauthenticated);
      const answer = await auth.refresh({ refreshToken: token });
      begin(answer.tokens);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** The access token to send, refreshed first when it is about to expire. */
async function token(): Promise<string | null> {
  if (access && who && who.exp - Date.now() / 1000 < MARGIN_SECONDS && sessionStorage.getItem(REFRESH_KEY)) {
    await refresh();
  }
  return access;
}

const bearer: Interceptor = (next) => async (req) => {
  if (OPEN.has(req.method.name)) return next(req);
  const t = await token();
  if (t) req.header.set("authorization", `Bearer ${t}`);
  try {
    return await next(req);
  } catch (e) {
    const err = ConnectError.from(e);
    // A token the service no longer takes (a clock skew, a restart with a new secret):
    // refresh once and repeat a unary call; streams reconnect on their own.
    if (err.code !== Code.Unauthenticated || req.stream || !sessionStorage.getItem(REFRESH_KEY)) throw e;
    await refresh();
    req.header.set("authorization", `Bearer ${access}`);
    return next(req);
  }
};

/** Milliseconds before each new try of a read answered UNAVAILABLE. */
const RETRY_AFTER_MS = [250, 750, 2000];

/**
 * A unary read answered UNAVAILABLE (the database busy or unreachable for a moment, a
 * replica starting or stopping: "retry shortly") is asked again, up to three times over
 * three seconds; a write is never repeated here (it carries its own request id).
 */
const retryReads: Interceptor = (next) => async (req) => {
  if (req.stream || req.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) return next(req);
  for (const wait of RETRY_AFTER_MS) {
    try {
      return await next(req);
    } catch (e) {
      if (ConnectError.from(e).code !== Code.Unavailable || req.signal.aborted) throw e;
      await new Promise((ok) => setTimeout(ok, wait));
    }
  }
  return next(req);
};

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  useBinaryFormat: true,
  // The first is outermost: each try gets the current token.
  interceptors: [retryReads, bearer],
});

export const auth = createClient(AuthService, transport);
export const tickets = createClient(TicketService, transport);
export const logs = createClient(LogService, transport);
export const departments = createClient(DepartmentService, transport);
export const agents = createClient(AgentService, transport);
export const customers = createClient(CustomerService, transport);
export const reports = createClient(ReportService, transport);
export const replies = createClient(ReplyService, transport);
export const calls = createClient(CallService, transport);
export const webhooks = createClient(WebhookService, transport);

/** An error in words: each field named with its reason, or what the status means. */
export function describe(e: unknown): string {
  const err = ConnectError.from(e);
  const bad = err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
  if (bad.length > 0) return bad.map((v) => `${v.field}: ${v.description}`).join("\n");
  switch (err.code) {
    case Code.PermissionDenied:
      return `You are not allowed to do this. ${err.rawMessage}`;
    case Code.Unauthenticated:
      return "Please sign in again.";
    case Code.Unavailable:
      return "The service is not reachable right now; try again in a moment.";
    case Code.NotFound:
      return `Not found: ${err.rawMessage}`;
    default:
      return err.rawMessage || String(e);
  }
}

/** Whether `e` means the session is over. */
export function isSignedOut(e: unknown): boolean {
  return ConnectError.from(e).code === Code.Unauthenticated;
}

/** Every page of a paged list (bounded: at most `max` items). */
export async function all<T>(
  page: (token: string) => Promise<{ items: T[]; next: string }>,
  max = 1000,
): Promise<T[]> {
  const out: T[] = [];
  let token = "";
  do {
    const p = await page(token);
    out.push(...p.items);
    token = p.next;
  } while (token && out.length < max);
  return out;
}

/** A fresh idempotency key (works outside secure contexts too, unlike randomUUID). */
export function requestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
